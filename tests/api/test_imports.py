"""The import endpoints of the API (annotations/api/views/imports.py): preview and import of
text, HTML and URLs, permissions, and the fetcher's refusals as 400s with their code.
"""

from __future__ import annotations

from annotations.models import Document
from tests.services.import_base import (
    ARTICLE_HTML,
    ARTICLE_SENTENCE,
    JUNK,
    LOCAL,
    NO_HOSTS,
    PAGE_FURNITURE,
    SAMPLE,
    SAMPLE_TITLE,
    ImportTestCase,
    _loopback_only,  # noqa: F401  (autouse: loopback only)
)


class ImportApiTests(ImportTestCase):
    preview_url = "/api/v1/documents/preview/"
    import_api = "/api/v1/documents/import/"

    def post(self, url: str, body: dict[str, object]):  # -> HttpResponse
        return self.client.post(url, body, content_type="application/json")

    def test_preview_returns_the_cleaned_text_and_what_was_removed(self) -> None:
        self.client.force_login(self.editor)
        before = self.counts()
        response = self.post(self.preview_url, {"project": self.project.pk, "text": SAMPLE})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.counts(), before)
        body = response.json()
        self.assertEqual((body["title"], body["publisher"]), (SAMPLE_TITLE, "The Duran"))
        for junk in JUNK:
            self.assertNotIn(junk, body["text"])
        self.assertIn(
            {
                "kind": "script",
                "text": "(adsbygoogle = window.adsbygoogle || []).push({});",
                "line": 8,
            },
            body["removed"],
        )
        self.assertEqual(body["length"], len(body["text"]))
        self.assertIsNone(body["duplicate_of"])

    def test_preview_without_cleaning(self) -> None:
        self.client.force_login(self.editor)
        body = self.post(
            self.preview_url, {"project": self.project.pk, "text": SAMPLE, "clean": False}
        ).json()
        self.assertEqual(body["removed"], [])
        self.assertIn("adsbygoogle", body["text"])

    def test_permissions(self) -> None:
        body = {"project": self.project.pk, "text": SAMPLE}
        self.assertEqual(self.post(self.preview_url, body).status_code, 401)
        self.client.force_login(self.reviewer_a)
        self.assertEqual(self.post(self.preview_url, body).status_code, 403)
        self.assertEqual(self.post(self.import_api, body).status_code, 403)
        self.client.force_login(self.outsider)
        for url in (self.preview_url, self.import_api):
            response = self.post(url, body)
            self.assertEqual(response.status_code, 400)
            self.assertIn("project", response.json())
        self.assertFalse(Document.objects.filter(title=SAMPLE_TITLE).exists())

    def test_exactly_one_input_is_required(self) -> None:
        self.client.force_login(self.editor)
        for body in ({}, {"text": "a", "html": "<p>b</p>"}):
            with self.subTest(body=body):
                response = self.post(self.preview_url, {"project": self.project.pk, **body})
                self.assertEqual(response.status_code, 400)

    def test_import_creates_the_document_and_a_second_time_is_a_duplicate(self) -> None:
        self.client.force_login(self.editor)
        body = {"project": self.project.pk, "text": SAMPLE, "author": "Staff"}
        created = self.post(self.import_api, body)
        self.assertEqual(created.status_code, 201)
        document = Document.objects.get(pk=created.json()["id"])
        self.assertEqual((document.title, document.author), (SAMPLE_TITLE, "Staff"))
        for junk in JUNK:
            self.assertNotIn(junk, document.text)
        again = self.post(self.import_api, body)
        self.assertEqual(again.status_code, 400)
        self.assertEqual(again.json()["code"], "duplicate")
        self.assertEqual(again.json()["duplicate_of"], document.pk)
        preview = {"project": self.project.pk, "text": SAMPLE}  # the preview takes no metadata
        self.assertEqual(self.post(self.preview_url, preview).json()["duplicate_of"], document.pk)
        refused = self.post(self.preview_url, body)
        self.assertEqual(refused.status_code, 400)
        self.assertIn("Unknown or read-only field", refused.json()["author"][0])

    @LOCAL
    def test_import_by_url(self) -> None:
        self.client.force_login(self.editor)
        url = self.site.url("/article.txt")
        response = self.post(self.import_api, {"project": self.project.pk, "url": url})
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["source_url"], url)

    def test_preview_of_html(self) -> None:
        self.client.force_login(self.editor)
        response = self.post(self.preview_url, {"project": self.project.pk, "html": ARTICLE_HTML})
        body = response.json()
        self.assertEqual(
            (body["format"], body["title"], body["author"], body["publisher"], body["published"]),
            (
                "html",
                "Bridge costs doubled, council admits",
                "Ada Reporter",
                "The Daily Test",
                "2024-03-05",
            ),
        )
        self.assertEqual(body["removed"][0]["kind"], "page-furniture")
        self.assertIsNone(body["removed"][0]["line"])
        for furniture in PAGE_FURNITURE:
            self.assertNotIn(furniture, body["text"])

    @LOCAL
    def test_import_by_url_follows_a_redirect_on_the_allowed_host(self) -> None:
        self.client.force_login(self.editor)
        response = self.post(
            self.import_api,
            {"project": self.project.pk, "url": self.site.url("/moved"), "title": "Bridges"},
        )
        self.assertEqual(response.status_code, 201)
        document = Document.objects.get(pk=response.json()["id"])
        self.assertEqual((document.title, document.author), ("Bridges", "Ada Reporter"))
        self.assertIn(ARTICLE_SENTENCE, document.text)

    @NO_HOSTS
    def test_a_refused_url_is_a_400_with_the_fetchers_code(self) -> None:
        self.client.force_login(self.editor)
        for url, code in (
            (self.site.url("/article.txt"), "blocked-address"),
            ("http://10.1.2.3/", "blocked-address"),
            ("http://169.254.169.254/latest/meta-data/", "blocked-address"),
            ("http://2130706433/", "host"),
        ):
            with self.subTest(url=url):
                response = self.post(self.import_api, {"project": self.project.pk, "url": url})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["code"], code)
                self.assertTrue(response.json()["url"][0])
        response = self.post(self.preview_url, {"project": self.project.pk, "url": "ftp://x.org/"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("url", response.json())
