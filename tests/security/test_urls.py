"""Dangerous URL schemes (B.6 #10).

Only absolute http(s) URLs are accepted anywhere a user gives one: citation sources (API
and UI), archive URLs, a document's ``source_url``, a project's ``organization_url``.
``javascript:``, ``data:``, ``vbscript:``, mixed case, leading whitespace and control
characters, entities and percent-encoding are refused at input with nothing written. A
row that got in some other way is still never rendered as an active link.
"""

from __future__ import annotations

import lxml.html
from django.core.exceptions import ValidationError
from django.test import TestCase

from annotations import services
from annotations.models import Citation, Document, Project, Source, Verdict
from tests.security.world import API, World

BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "\njavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\x00script:alert(1)",
    "javascript://example.org/%0Aalert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "%6Aavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.org/file",
    "//evil.example/",
    "/relative/path",
    "https:evil.example",
    "https://user:pass@example.org/",
    "https://exa mple.org/",
    "https://example.org\\@evil.example/",
]
SAFE_SCHEMES = ("http://", "https://", "/", "#", "?", "mailto:")


def hrefs(content: bytes) -> list[str]:
    tree = lxml.html.fromstring(content)
    return [value for value in tree.xpath("//@href | //@src | //@action | //@formaction")]


class UrlInputTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def counts(self) -> tuple[int, ...]:
        return tuple(m.objects.count() for m in (Source, Citation, Verdict, Document, Project))

    def test_api_citations_refuse_every_bad_url(self) -> None:
        client = self.api(self.reviewer_a)
        before = self.counts()
        for url in BAD_URLS:
            with self.subTest(url=url):
                body = {
                    "rating": "true",
                    "confidence": "low",
                    "citations": [{"url": url, "stance": "supports"}],
                }
                response = client.post(
                    f"{API}/claims/{self.blind.pk}/verdicts/", body, format="json"
                )
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn("citations", response.json())
        self.assertEqual(self.counts(), before)

    def test_ui_citations_refuse_every_bad_url(self) -> None:
        client = self.browser(self.reviewer_a)
        before = self.counts()
        for url in BAD_URLS:
            with self.subTest(url=url):
                response = client.post(
                    f"/claims/{self.blind.pk}/verdict/",
                    {
                        "rating": "true",
                        "confidence": "low",
                        "rationale": "",
                        "citations-TOTAL_FORMS": "1",
                        "citations-INITIAL_FORMS": "0",
                        "citations-0-url": url,
                        "citations-0-stance": "supports",
                    },
                )
                self.assertEqual(response.status_code, 422)
        self.assertEqual(self.counts(), before)

    def test_document_and_project_urls_refuse_every_bad_url(self) -> None:
        client = self.api(self.admin)
        before = self.counts()
        for index, url in enumerate(BAD_URLS):
            with self.subTest(url=url):
                document = {
                    "project": self.project.pk,
                    "title": "T",
                    "text": f"Text number {index}.",
                    "source_url": url,
                }
                response = client.post(f"{API}/documents/", document, format="json")
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn("source_url", response.json())
                response = client.post(
                    f"{API}/projects/",
                    {"name": f"P{index}", "organization_url": url},
                    format="json",
                )
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn("organization_url", response.json())
                response = client.patch(
                    f"{API}/projects/{self.project.pk}/", {"organization_url": url}, format="json"
                )
                self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(self.counts(), before)
        self.project.refresh_from_db()
        self.assertEqual(self.project.organization_url, "")

    def test_the_source_service_refuses_bad_urls_and_archive_urls(self) -> None:
        for url in BAD_URLS:
            with self.subTest(url=url):
                with self.assertRaises(ValidationError):
                    services.source_get_or_create(url=url, actor=self.admin, project=self.project)
                with self.assertRaises(ValidationError):
                    services.source_get_or_create(
                        url="https://ok.example/",
                        actor=self.admin,
                        project=self.project,
                        archive_url=url,
                    )
        self.assertFalse(Source.objects.filter(url__icontains="ok.example").exists())


class UrlRenderingTests(World, TestCase):
    """Rows written around the services (an old import, a database edit) never link."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()
        cls.root = type(cls.admin).objects.create_superuser("root", password="pw-root")

    def test_stored_bad_urls_are_never_rendered_as_links(self) -> None:
        for url in ("javascript:alert(1)", " JAVASCRIPT:alert(1)", "data:text/html,x"):
            with self.subTest(url=url):
                Document.objects.filter(pk=self.document.pk).update(source_url=url)
                Source.objects.filter(pk=self.b_source.pk).update(url=url)
                pages = [
                    self.browser(self.editor).get(self.document.get_absolute_url()),
                    self.browser(self.editor).get(f"/claims/{self.blind.pk}/"),
                    self.browser(self.editor).get(
                        f"/claims/{self.blind.pk}/", HTTP_HX_REQUEST="true"
                    ),
                    self.browser(self.root).get("/admin/annotations/source/"),
                ]
                for response in pages:
                    self.assertEqual(response.status_code, 200)
                    for link in hrefs(response.content):
                        self.assertTrue(
                            link.startswith(SAFE_SCHEMES) or link == "", f"unsafe link {link!r}"
                        )
                # The source is still named, as text.
                self.assertContains(pages[1], "Verdicts")

    def test_a_bad_organization_url_never_reaches_the_claimreview_export(self) -> None:
        Project.objects.filter(pk=self.project.pk).update(organization_url="javascript:alert(1)")
        services.verdict_submit(
            claim=self.blind, reviewer=self.reviewer_a, rating="false", confidence="low"
        )
        services.claim_adjudicate(claim=self.blind, editor=self.editor, rating="false", note="n")
        services.claim_publish(claim=self.blind, editor=self.editor, summary="Checked.")
        response = self.api(self.editor).get(
            f"{API}/documents/{self.document.pk}/export/", {"format": "claimreview"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn(b'"ClaimReview"', response.content)
        self.assertNotIn(b"javascript", response.content)
