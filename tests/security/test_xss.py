"""Stored and reflected XSS (B.6 #8, #9, #19).

A polyglot (script tags, attribute breakouts, comment and textarea breakouts, injected
htmx attributes, a ``javascript:`` link, U+2028, template syntax) goes into every field a
user writes: project name and organization, document title, text, publisher and author,
claim statement and claimant, verdict rationale, citation quote, source title and URL,
adjudication and reopen notes, skip reason, and the reflected query parameters. Every
page, htmx fragment and admin page that shows them is parsed: no element gains an event
handler, a script, an ``hx-*`` attribute or a ``javascript:`` link from user data, and each
marker is shown (escaped) somewhere, so no field is skipped by accident. Exports go
through ``json_dumps_safe``: ``</script>``, ``<!--`` and U+2028 never appear raw, and the
JSON parses back to the exact strings.
"""

from __future__ import annotations

import json
from typing import Any

import lxml.html
from django.contrib.auth import get_user_model
from django.test import TestCase

from annotations import services
from annotations.models import Claim, Document, Role
from tests.factories import judge, make_member, make_members, make_project, make_user, take
from tests.security.world import API, World

POLYGLOT = (
    '<script>alert(1)</script>"><img src=x onerror=alert(1)><svg/onload=alert(1)>\'"-->'
    '</textarea></title></style><div hx-post="/evil" hx-trigger="load" data-hx-get="/evil" '
    'hx-on:click="alert(1)">x</div><a href="javascript:alert(1)">j</a><!--\u2028{{ 7|add:7 }}'
)
SHORT = "<svg/onload=alert(1)>\"'><img src=x onerror=alert(1)>"
URL = 'https://xss.example/"><svg/onload=alert(1)><script>alert(1)</script>'
# Markup that exists only if a payload was not escaped ("onerror=alert" as *text* is fine).
RAW_DANGERS = ("<script>alert", "<svg/onload", "<img src=x", '<div hx-post="/evil', "<!--\u2028")


URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster"})


def x(field: str, text: str = POLYGLOT) -> str:
    return f"XSS-{field} {text}"


class XssTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        user_model = get_user_model()
        cls.root = user_model.objects.create_superuser("root", password="pw-root")
        cls.admin = make_user("x_admin")
        cls.project = make_project(
            creator=cls.admin,
            name=x("project", SHORT),
            slug="xss-desk",
            organization=x("org", SHORT),
            required_reviews=2,
        )
        cls.editor = make_member(cls.project, "x_editor", Role.EDITOR)
        cls.reviewers = make_members(cls.project, *(f"x_rev{i}" for i in range(3)))
        claimed = x("span")
        text = f"Intro line.\n{claimed}\n{x('text')}\nOutro."
        cls.document = services.document_create(
            project=cls.project,
            data=services.DocumentInput(
                title=x("title"),
                text=text,
                publisher=x("publisher", SHORT),
                author=x("author", SHORT),
                source_url="https://news.example/article",
            ),
            actor=cls.editor,
        )
        start = cls.document.text.index(claimed)
        cls.claim = services.claim_create(
            document=cls.document,
            start=start,
            end=start + len(claimed),
            actor=cls.editor,
            statement=x("statement"),
            claimant=x("claimant", SHORT),
        )
        services.source_get_or_create(
            url=URL, actor=cls.editor, project=cls.project, title=x("source-title")
        )
        judge(
            cls.claim,
            cls.reviewers[0],
            "true",
            rationale=x("rationale"),
            citations=[services.CitationInput(stance="supports", url=URL, quote=x("quote"))],
        )
        judge(cls.claim, cls.reviewers[1], "false", rationale=x("rationale2"))
        services.claim_adjudicate(
            claim=cls.claim, editor=cls.editor, rating="false", note=x("adjudication")
        )
        services.claim_reopen(claim=cls.claim, editor=cls.editor, note=x("reopen"))
        second = services.claim_create(
            document=cls.document, start=0, end=5, actor=cls.editor, statement="Intro"
        )
        take(second, cls.reviewers[2])
        services.claim_skip(claim=second, reviewer=cls.reviewers[2], reason=x("skip"))

    def pages(self) -> dict[str, bytes]:
        editor, root = self.browser(self.editor), self.browser(self.root)
        reviewer = self.browser(self.reviewers[0])
        c, d, slug = self.claim.pk, self.document.pk, self.project.slug
        plain = {
            "dashboard": "/",
            "project": f"/projects/{slug}/",
            "documents": f"/projects/{slug}/documents/",
            "documents-search": f"/projects/{slug}/documents/?q={POLYGLOT}",
            "reader": f"/documents/{d}/",
            "claim-form": f"/documents/{d}/claims/new/?start=0&end=5",
            "claim": f"/claims/{c}/",
            "disputes": f"/projects/{slug}/disputes/",
            "source-search": f"/claims/{c}/sources/?q=XSS",
            "source-search-reflected": f"/claims/{c}/sources/?q={POLYGLOT}",
        }
        out: dict[str, bytes] = {}
        for name, path in plain.items():
            for htmx in (False, True):
                headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
                response = editor.get(path, **headers)
                self.assertEqual(response.status_code, 200, (name, htmx))
                out[f"{name}{' (htmx)' if htmx else ''}"] = response.content
        out["claim (judging reviewer)"] = reviewer.get(f"/claims/{c}/").content
        out["login"] = self.browser().get(f"/accounts/login/?next={POLYGLOT}").content
        models = ["project", "document", "claim", "verdict", "citation", "source", "consensus"]
        models += ["event", "assignment", "membership"]
        for model in models:
            response = root.get(f"/admin/annotations/{model}/")
            self.assertEqual(response.status_code, 200, model)
            out[f"admin {model} list"] = response.content
            first = self._first_change_link(response.content, model)
            if first:
                out[f"admin {model} change"] = root.get(first).content
        out["admin search"] = root.get(f"/admin/annotations/claim/?q={POLYGLOT[:40]}").content
        return out

    @staticmethod
    def _first_change_link(content: bytes, model: str) -> str | None:
        tree = lxml.html.fromstring(content)
        for href in tree.xpath("//table[@id='result_list']//a/@href"):
            if f"/admin/annotations/{model}/" in href and href.endswith("/change/"):
                return href
        return None

    def assertInert(self, name: str, content: bytes) -> None:
        text = content.decode()
        for danger in RAW_DANGERS:
            self.assertNotIn(danger, text, f"{name}: raw {danger!r}")
        if not text.strip():
            return
        tree = lxml.html.fromstring(text)
        for element in tree.iter():
            if not isinstance(element.tag, str):
                continue
            for attribute, value in element.attrib.items():
                self.assertFalse(attribute.startswith("on"), f"{name}: {attribute}={value}")
                if attribute in URL_ATTRIBUTES or attribute.startswith(("hx-", "data-hx-")):
                    self.assertNotIn("/evil", value, f"{name}: {attribute}={value}")
                self.assertFalse(
                    value.strip().lower().startswith(("javascript:", "vbscript:", "data:text")),
                    f"{name}: {attribute}={value}",
                )
                if attribute.startswith(("hx-", "data-hx-")):
                    self.assertNotIn("alert", value, f"{name}: {attribute}")
            if element.tag == "script" and element.get("type") != "application/json":
                self.assertTrue(element.get("src"), f"{name}: inline script {element.text!r}")

    def test_every_page_fragment_and_admin_page_shows_user_text_inert(self) -> None:
        pages = self.pages()
        self.assertGreaterEqual(len(pages), 35)
        for name, content in pages.items():
            with self.subTest(page=name):
                self.assertInert(name, content)
        shown = b"\n".join(pages.values()).decode()
        fields = [
            "project", "org", "title", "text", "span", "publisher", "author", "statement",
            "claimant", "rationale", "rationale2", "quote", "source-title", "adjudication",
            "skip",
        ]  # fmt: skip
        for field in fields:
            with self.subTest(field=field):
                self.assertIn(f"XSS-{field} &lt;", shown, f"XSS-{field} is never rendered")
        # The source URL is rendered (escaped) as a link.
        self.assertIn('href="https://xss.example/&quot;&gt;&lt;svg', shown)

    def test_exports_keep_markup_inert_and_round_trip(self) -> None:
        client = self.api(self.editor)
        d, p = self.document.pk, self.project.pk
        for path in (
            *(
                f"/documents/{d}/export/?format={f}"
                for f in ("json", "claimreview", "webannotation")
            ),
            f"/projects/{p}/export/",
        ):
            with self.subTest(path=path):
                response = client.get(f"{API}{path}")
                self.assertEqual(response.status_code, 200)
                raw = b"".join(response).decode("utf-8")
                for danger in ("</script", "<!--", "<script", "\u2028", "<svg", "<img"):
                    self.assertNotIn(danger, raw)
                payloads = (
                    [json.loads(line) for line in raw.splitlines()]
                    if path.endswith("/export/")
                    else [json.loads(raw)]
                )
                if "claimreview" not in path:  # the claim is disputed: no ClaimReview yet
                    self.assertIn(POLYGLOT, _strings(payloads))

    def test_the_admin_highlighted_text_escapes_the_document(self) -> None:
        response = self.browser(self.root).get(
            f"/admin/annotations/document/{self.document.pk}/change/"
        )
        self.assertContains(response, "<mark title=")
        self.assertInert("admin highlighted text", response.content)


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value.split(" ", 1)[-1]}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


__all__ = ["Claim", "Document"]
