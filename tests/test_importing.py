"""Importing documents: the UI (preview, then confirm), the API, the import_documents command
with HTML files and URLs, and filling in a source's title through the safe fetcher.

Every fetch goes to a small web server on 127.0.0.1 started by the tests; nothing here
reaches beyond this machine. The fetcher refuses loopback addresses unless
WORKBENCH_FETCH_ALLOWED_HOSTS names them, which the tests switch on and off.
"""

from __future__ import annotations

import json
import re
import socket
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from annotations import services
from annotations.core import fetching
from annotations.models import Document, DocumentRevision, Event, Source
from annotations.services import importing
from tests.factories import Personas, make_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SAMPLE = (FIXTURES / "seed" / "sample_article.txt").read_text(encoding="utf-8")
SAMPLE_TITLE = "The contrasting Russian/Chinese vs. US models for geo-economic diplomacy"
JUNK = ("@media", "adsbygoogle", "appeared first on")
HX = {"HTTP_HX_REQUEST": "true"}
LOCAL = override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"])
NO_HOSTS = override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=[])

ARTICLE_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Bridge costs doubled | The Daily Test</title>
  <meta property="og:title" content="Bridge costs doubled, council admits">
  <meta property="og:site_name" content="The Daily Test">
  <meta name="author" content="Ada Reporter">
  <meta property="article:published_time" content="2024-03-05T09:00:00Z">
  <link rel="canonical" href="https://news.example.org/bridge-costs">
  <style>.ad { display: block; }</style>
  <script>(adsbygoogle = window.adsbygoogle || []).push({});</script>
</head>
<body>
  <nav><a href="/">Home</a> <a href="/politics">Politics</a> <a href="/sport">Sport</a></nav>
  <header><p>Subscribe to our newsletter for daily updates!</p></header>
  <main>
    <article>
      <h1>Bridge costs doubled, council admits</h1>
      <p>The council said on Monday that the new bridge over the river cost twice the
      original estimate, blaming a sharp rise in steel prices during construction.</p>
      <p>Officials told reporters the final bill came to 41 million euros, against the
      20 million euros approved by the assembly three years ago.</p>
      <p>Opposition members demanded an independent audit of the project before any
      further payments are made to the contractor.</p>
    </article>
  </main>
  <aside><h2>Most read</h2><ul><li>Ten things to do this weekend</li></ul></aside>
  <footer><p>Copyright 2024 The Daily Test. All rights reserved.</p></footer>
</body>
</html>
"""
ARTICLE_SENTENCE = "the final bill came to 41 million euros"
PAGE_FURNITURE = ("Subscribe to our newsletter", "Most read", "Copyright 2024", "Politics")
# A page with a title and no main text: a landing page or a data portal.
EMPTY_HTML = (
    "<!doctype html><html><head><title>Statistics portal | Stats Office</title>"
    '<meta property="og:site_name" content="Stats Office"></head><body></body></html>'
)
REAL_CONNECT = socket.socket.connect


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here sends a packet beyond 127.0.0.1: other connects are refused without
    touching the network, and DNS lookups fail (every URL here is a literal address)."""

    def connect(sock: socket.socket, address: tuple) -> None:  # type: ignore[type-arg]
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"test guard: no traffic to {address[0]}")
        REAL_CONNECT(sock, address)

    def no_dns(*args: object, **kwargs: object) -> list[object]:
        raise OSError(f"test guard: no DNS lookups ({args[0]!r})")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)


class _Handler(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.pages.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LocalSite:
    """A tiny web site on 127.0.0.1 (port chosen by the OS) serving fixed pages."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def start(self) -> None:
        _Handler.pages = {
            "/article.txt": (200, {"Content-Type": "text/plain; charset=utf-8"}, SAMPLE.encode()),
            "/page.html": (
                200,
                {"Content-Type": "text/html; charset=utf-8"},
                ARTICLE_HTML.encode(),
            ),
            "/image.png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n"),
            "/moved": (302, {"Location": "/page.html"}, b""),
            "/empty.html": (200, {"Content-Type": "text/html"}, EMPTY_HTML.encode()),
        }
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ImportTestCase(Personas, TestCase):
    site: LocalSite

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.site = LocalSite()
        cls.site.start()
        cls.addClassCleanup(cls.site.stop)

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def import_url(self) -> str:
        return reverse("workbench:document-import", kwargs={"slug": self.project.slug})

    def counts(self) -> tuple[int, int, int]:
        return Document.objects.count(), Event.objects.count(), DocumentRevision.objects.count()

    def preview(self, data: dict[str, object], **extra: object):  # -> HttpResponse
        return self.client.post(self.import_url(), {"action": "preview", **data}, **extra)


# --- UI ------------------------------------------------------------------------------------------


class ImportPageTests(ImportTestCase):
    def test_access(self) -> None:
        url = self.import_url()
        with self.subTest("anonymous"):
            self.assertEqual(self.client.get(url).status_code, 302)
        for user, code in (
            (self.editor, 200),
            (self.admin, 200),
            (self.reviewer_a, 403),
            (self.outsider, 404),
        ):
            with self.subTest(user=user.get_username()):
                self.client.force_login(user)
                self.assertEqual(self.client.get(url).status_code, code)
                if code != 200:
                    response = self.preview({"text": SAMPLE, "remove_junk": "on"})
                    self.assertEqual(response.status_code, code)

    def test_the_dashboard_links_to_import_for_editors_only(self) -> None:
        dashboard = self.project.get_absolute_url()
        self.client.force_login(self.editor)
        self.assertContains(self.client.get(dashboard), self.import_url())
        self.client.force_login(self.reviewer_a)
        self.assertNotContains(self.client.get(dashboard), self.import_url())

    def test_the_sample_article_imports_through_preview_and_confirm(self) -> None:
        self.client.force_login(self.editor)
        before = self.counts()
        preview = self.preview({"text": SAMPLE, "remove_junk": "on"}, **HX)
        self.assertEqual(self.counts(), before, "a preview writes nothing")
        html = preview.content.decode()
        self.assertNotIn("<html", html)
        self.assertIn(f'value="{SAMPLE_TITLE}"', html)
        self.assertIn('value="The Duran"', html)
        for kind in ("css", "script", "feed-footer", "related-headline"):
            self.assertIn(f'<span class="badge removed-kind">{kind}</span>', html)
        response = self.client.post(
            self.import_url(),
            {
                "action": "import",
                "text": SAMPLE,
                "remove_junk": "on",
                "title": SAMPLE_TITLE,
                "publisher": "The Duran",
            },
        )
        document = Document.objects.get(project=self.project, title=SAMPLE_TITLE)
        self.assertRedirects(response, document.get_absolute_url(), fetch_redirect_response=False)
        for junk in JUNK:
            self.assertNotIn(junk, document.text)
        self.assertIn("adsbygoogle", document.raw_text)
        self.assertEqual(document.publisher, "The Duran")
        self.assertTrue(document.text.startswith("Russia\u2019s"))

    def test_reimporting_the_sample_article_is_a_duplicate(self) -> None:
        existing = importing.document_import(
            project=self.project,
            preview=importing.import_preview(source=importing.source_from_paste(text=SAMPLE)),
            actor=self.editor,
        )
        self.client.force_login(self.editor)
        preview = self.preview({"text": SAMPLE, "remove_junk": "on"}, **HX)
        self.assertContains(preview, "This text is already in the project")
        self.assertContains(preview, existing.get_absolute_url())
        self.assertNotContains(preview, 'value="import"')
        before = self.counts()
        response = self.client.post(
            self.import_url(), {"action": "import", "text": SAMPLE, "remove_junk": "on"}
        )
        self.assertContains(response, "already has a document with the same text", status_code=422)
        self.assertContains(response, existing.get_absolute_url(), status_code=422)
        self.assertEqual(self.counts(), before)

    def test_a_plain_preview_is_the_whole_page_and_htmx_gets_the_fragment(self) -> None:
        self.client.force_login(self.editor)
        page = self.preview({"text": SAMPLE, "remove_junk": "on"})
        self.assertEqual(page.status_code, 200)
        self.assertIn("<html", page.content.decode())
        self.assertContains(page, 'id="import-preview"')
        fragment = self.preview({"text": SAMPLE, "remove_junk": "on"}, **HX)
        self.assertNotIn("<html", fragment.content.decode())
        self.assertTrue(fragment.content.decode().lstrip().startswith("<section"))

    def test_pages_escape_the_input_and_keep_to_the_csp(self) -> None:
        hostile = "<img src=x onerror=alert(1)>\nBody with <script>alert(2)</script> in it.\n"
        self.client.force_login(self.editor)
        for response in (
            self.client.get(self.import_url()),
            self.preview({"text": hostile, "kind": "text", "remove_junk": "on"}),
        ):
            html = response.content.decode()
            self.assertNotIn("<img src=x", html)
            self.assertNotIn("<script>alert", html)
            self.assertIsNone(re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I))
            self.assertIsNone(re.search(r"<[^>]+\sstyle\s*=", html, re.I))
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)

    def test_without_cleaning_the_text_is_kept_as_it_is(self) -> None:
        self.client.force_login(self.editor)
        response = self.preview({"text": SAMPLE}, **HX)
        self.assertContains(response, "Removed by the cleaner (0)")
        self.assertContains(response, "adsbygoogle")

    def test_an_empty_form_and_two_inputs_are_refused(self) -> None:
        self.client.force_login(self.editor)
        self.assertContains(
            self.preview({}), "Paste a text, upload a file or give a URL.", status_code=422
        )
        both = self.preview({"text": "Some text", "url": self.site.url("/article.txt")})
        self.assertContains(both, "Use one way at a time", status_code=422)

    def test_an_uploaded_text_file_travels_with_the_preview(self) -> None:
        self.client.force_login(self.editor)
        upload = SimpleUploadedFile("article.txt", SAMPLE.encode(), content_type="text/plain")
        page = self.preview({"file": upload, "remove_junk": "on"})
        form = page.context["form"]
        self.assertEqual(form["raw_format"].value(), "text")
        self.assertEqual(form["raw_name"].value(), "article.txt")
        # Import sends what the preview carried; the browser does not upload again.
        response = self.client.post(
            self.import_url(),
            {
                "action": "import",
                "remove_junk": "on",
                "raw": form["raw"].value(),
                "raw_format": "text",
                "raw_name": "article.txt",
                "title": form["title"].value(),
            },
        )
        self.assertEqual(response.status_code, 302)
        document = Document.objects.get(title=SAMPLE_TITLE)
        for junk in JUNK:
            self.assertNotIn(junk, document.text)

    def test_an_uploaded_file_with_nul_imports_through_the_page(self) -> None:
        # The preview carries the upload in a hidden field, which cannot hold NUL: the page
        # drops it when reading the file, so preview and import agree (was a 422).
        self.client.force_login(self.editor)
        for remove_junk, name in (("on", "Bridge"), ("", "Harbour")):
            with self.subTest(remove_junk=remove_junk):
                data = f"{name}\x00 report\r\nThe {name.lower()}\x00 council said so.\r\n"
                upload = SimpleUploadedFile("report.txt", data.encode(), content_type="text/plain")
                form = self.preview({"file": upload, "remove_junk": remove_junk}).context["form"]
                self.assertNotIn("\x00", form["raw"].value())
                response = self.client.post(
                    self.import_url(),
                    {
                        "action": "import",
                        "remove_junk": remove_junk,
                        "raw": form["raw"].value(),
                        "raw_format": "text",
                        "raw_name": "report.txt",
                        "title": form["title"].value(),
                    },
                )
                self.assertEqual(response.status_code, 302, getattr(response, "context", None))
                document = Document.objects.get(
                    project=self.project, text__contains=f"The {name.lower()} council"
                )
                self.assertIn(f"The {name.lower()} council said so.", document.text)
                self.assertNotIn("\x00", document.text + document.raw_text)

    def test_a_new_preview_replaces_what_an_earlier_one_carried(self) -> None:
        self.client.force_login(self.editor)
        upload = SimpleUploadedFile("bridge.html", ARTICLE_HTML.encode())
        first = self.preview({"file": upload, "remove_junk": "on"}).context["form"]
        self.assertEqual(first["raw_format"].value(), "html")
        # The user then pastes a text instead; the page still holds the file's hidden copy.
        carried = {name: first[name].value() for name in ("raw", "raw_format", "raw_name")}
        second = self.preview({**carried, "text": SAMPLE, "remove_junk": "on"}).context["form"]
        self.assertEqual((second["raw"].value(), second["raw_format"].value()), ("", ""))
        data = {name: second[name].value() or "" for name in second.fields if name != "file"}
        self.client.post(self.import_url(), {**data, "remove_junk": "on", "action": "import"})
        self.assertTrue(Document.objects.filter(title=SAMPLE_TITLE).exists())
        self.assertFalse(Document.objects.filter(author="Ada Reporter").exists())

    def test_other_file_types_are_refused(self) -> None:
        self.client.force_login(self.editor)
        upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.7", content_type="application/pdf")
        response = self.preview({"file": upload})
        self.assertContains(response, "Upload a .txt, .html/.htm or .jsonl file.", status_code=422)

    def test_a_jsonl_upload_imports_every_line_and_reports_each_problem(self) -> None:
        make_document(project=self.project, text="Already here.", title="Old")
        lines = [
            json.dumps({"title": "One", "text": "First document text."}),
            json.dumps({"title": "Two", "text": "Second document text.", "publisher": "Desk"}),
            "{not json",
            json.dumps({"title": "Dup", "text": "Already here."}),
        ]
        content = ("\n".join(lines) + "\n").encode()
        self.client.force_login(self.editor)
        preview = self.preview(
            {"file": SimpleUploadedFile("batch.jsonl", content), "remove_junk": "on"}, **HX
        )
        self.assertContains(preview, "3 documents to import; 1 line refused")
        self.assertContains(preview, "Line 3: invalid JSON")
        before = Document.objects.count()
        response = self.client.post(
            self.import_url(),
            {
                "action": "import",
                "remove_junk": "on",
                "raw": content.decode(),
                "raw_format": "jsonl",
                "raw_name": "batch.jsonl",
            },
        )
        self.assertRedirects(response, self.import_url(), fetch_redirect_response=False)
        self.assertEqual(Document.objects.count(), before + 2)
        notes = [str(message) for message in get_messages(response.wsgi_request)]
        self.assertIn("Imported 2, skipped 1 duplicate(s), failed 1.", notes)
        self.assertTrue(any(note.startswith("Line 3 failed: invalid JSON") for note in notes))
        self.assertTrue(any(note.startswith("Line 4 duplicate:") for note in notes))

    def test_an_html_upload_imports_the_main_text_and_the_metadata(self) -> None:
        self.client.force_login(self.editor)
        upload = SimpleUploadedFile("bridge.html", ARTICLE_HTML.encode(), content_type="text/html")
        preview = self.preview({"file": upload, "remove_junk": "on"}, **HX)
        self.assertContains(preview, 'value="Bridge costs doubled, council admits"')
        self.assertContains(preview, 'value="Ada Reporter"')
        self.assertContains(preview, 'value="The Daily Test"')
        self.assertContains(preview, 'value="2024-03-05"')
        self.assertContains(preview, 'value="https://news.example.org/bridge-costs"')
        self.assertContains(preview, "page-furniture")
        self.assertContains(preview, ARTICLE_SENTENCE)
        form = preview.context["form"]
        self.assertEqual(form["raw_format"].value(), "html")
        data = {name: form[name].value() or "" for name in form.fields if name != "file"}
        response = self.client.post(self.import_url(), {**data, "action": "import"})
        document = Document.objects.get(title="Bridge costs doubled, council admits")
        self.assertRedirects(response, document.get_absolute_url(), fetch_redirect_response=False)
        self.assertIn(ARTICLE_SENTENCE, document.text)
        self.assertEqual(len(document.text.splitlines()), 3, "one line per paragraph")
        for furniture in PAGE_FURNITURE:
            self.assertNotIn(furniture, document.text)
        self.assertEqual(
            (document.author, document.publisher, str(document.published_date), document.language),
            ("Ada Reporter", "The Daily Test", "2024-03-05", "en"),
        )
        self.assertEqual(document.source_url, "https://news.example.org/bridge-costs")
        self.assertEqual(document.raw_text, ARTICLE_HTML)

    def test_pasted_html_is_recognised(self) -> None:
        self.client.force_login(self.editor)
        preview = self.preview({"text": ARTICLE_HTML, "kind": "auto", "remove_junk": "on"}, **HX)
        self.assertContains(preview, 'value="Bridge costs doubled, council admits"')
        self.assertNotContains(preview, "Subscribe to our newsletter")
        as_text = self.preview({"text": ARTICLE_HTML, "kind": "text"}, **HX)
        self.assertContains(as_text, "Subscribe to our newsletter")

    def test_a_page_without_main_text_is_refused_with_a_reason(self) -> None:
        self.client.force_login(self.editor)
        upload = SimpleUploadedFile("portal.html", EMPTY_HTML.encode(), content_type="text/html")
        response = self.preview({"file": upload})
        self.assertContains(response, "No main text found in the page", status_code=422)

    @LOCAL
    def test_import_by_url_works_for_an_allowed_host(self) -> None:
        url = self.site.url("/article.txt")
        self.client.force_login(self.editor)
        before = self.counts()
        preview = self.preview({"url": url, "remove_junk": "on"}, **HX)
        self.assertEqual(self.counts(), before)
        self.assertContains(preview, f'value="{SAMPLE_TITLE}"')
        self.assertContains(preview, f'name="raw_url" value="{url}"')
        form = preview.context["form"]
        response = self.client.post(
            self.import_url(),
            {
                "action": "import",
                "url": url,
                "remove_junk": "on",
                "raw": form["raw"].value(),
                "raw_format": form["raw_format"].value(),
                "raw_url": url,
            },
            **HX,
        )
        document = Document.objects.get(title=SAMPLE_TITLE)
        self.assertEqual(response["HX-Redirect"], document.get_absolute_url())
        self.assertEqual(document.source_url, url)
        for junk in JUNK:
            self.assertNotIn(junk, document.text)

    @NO_HOSTS
    def test_import_by_url_is_refused_without_the_setting(self) -> None:
        self.client.force_login(self.editor)
        before = self.counts()
        response = self.preview({"url": self.site.url("/article.txt")})
        self.assertContains(response, "which is a loopback address", status_code=422)
        fragment = self.preview({"url": self.site.url("/article.txt")}, **HX)
        self.assertContains(fragment, "which is a loopback address")
        self.assertEqual(self.counts(), before)

    @LOCAL
    def test_a_refused_content_type_shows_the_fetchers_message(self) -> None:
        self.client.force_login(self.editor)
        response = self.preview({"url": self.site.url("/image.png")})
        self.assertContains(response, "Content type image/png is not accepted.", status_code=422)

    def test_csrf_is_enforced(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.editor)
        response = client.post(self.import_url(), {"action": "import", "text": SAMPLE})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Document.objects.filter(title=SAMPLE_TITLE).exists())

    def test_a_malformed_date_is_shown_with_the_preview_and_blocks_the_import(self) -> None:
        self.client.force_login(self.editor)
        data = {"text": SAMPLE, "remove_junk": "on", "published_date": "30 Nov"}
        preview = self.preview(data, **HX)
        self.assertContains(preview, "Enter a valid date.")
        self.assertContains(preview, f'value="{SAMPLE_TITLE}"')
        before = self.counts()
        response = self.client.post(self.import_url(), {**data, "action": "import"})
        self.assertContains(response, "Enter a valid date.", status_code=422)
        self.assertEqual(self.counts(), before)

    def test_edited_metadata_replaces_what_was_extracted(self) -> None:
        self.client.force_login(self.editor)
        self.client.post(
            self.import_url(),
            {
                "action": "import",
                "text": SAMPLE,
                "remove_junk": "on",
                "title": "My title",
                "author": "A. Writer",
                "published_date": "2017-11-30",
            },
        )
        document = Document.objects.get(title="My title")
        self.assertEqual(
            (document.author, str(document.published_date)), ("A. Writer", "2017-11-30")
        )
        self.assertEqual(document.publisher, "The Duran")


# --- API -------------------------------------------------------------------------------------------


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
        self.assertEqual(self.post(self.preview_url, body).json()["duplicate_of"], document.pk)

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


# --- service --------------------------------------------------------------------------------------


class UploadedControlCharactersTests(ImportTestCase):
    def test_an_upload_with_nul_imports_cleaned_and_unclean_it_is_refused(self) -> None:
        # Regression: the NUL reached PostgreSQL (DataError, a 500). Cleaning drops C0
        # controls, provenance drops only NUL; the text as it is is refused on the field.
        data = b"Bridge\x00 report\r\nThe council\x0csaid so.\r\n"
        source = importing.source_from_upload(name="report.txt", data=data)
        before = self.counts()
        with self.assertRaises(ValidationError) as caught:
            importing.document_import(
                project=self.project,
                preview=importing.import_preview(source=source, clean=False),
                actor=self.editor,
            )
        self.assertIn("Contains a NUL character", caught.exception.message_dict["text"][0])
        self.assertEqual(self.counts(), before)

        document = importing.document_import(
            project=self.project, preview=importing.import_preview(source=source), actor=self.editor
        )
        self.assertEqual((document.title, document.text), ("Bridge report", "The council said so."))
        self.assertEqual(document.raw_text, data.decode().replace("\x00", ""))

    def test_a_jsonl_record_with_nul_imports_cleaned_and_unclean_fails_on_the_field(self) -> None:
        # As an upload: cleaning drops NUL from the text and the title, and the raw text
        # keeps all but NUL; uncleaned, the line fails naming the field, the rest imports.
        # JSON escapes spell the NUL, so the upload itself is plain UTF-8.
        data = (
            b'{"title": "Bridge\\u0000 report", "text": "The council\\u0000 said so."}\n'
            b'{"title": "Other", "text": "Another text."}\n'
        )
        source = importing.source_from_upload(name="batch.jsonl", data=data)
        preview = importing.import_preview(source=source)
        self.assertEqual([record.line for record in preview.records], [1, 2])
        self.assertEqual(preview.errors, ())

        before = self.counts()
        result = importing.documents_import_jsonl(
            project=self.project, preview=preview, actor=self.editor, clean=False
        )
        self.assertEqual(
            result.failed,
            [
                (
                    1,
                    "title: Contains a NUL character (U+0000) at position 6.; "
                    "text: Contains a NUL character (U+0000) at position 11.",
                )
            ],
        )
        self.assertEqual([document.title for document in result.imported], ["Other"])
        self.assertEqual(self.counts()[0], before[0] + 1)

        result = importing.documents_import_jsonl(
            project=self.project, preview=preview, actor=self.editor
        )
        self.assertEqual((result.failed, len(result.duplicates)), ([], 1))
        [document] = result.imported
        self.assertEqual(
            (document.title, document.text, document.raw_text),
            ("Bridge report", "The council said so.", "The council said so."),
        )


class DocumentImportUrlTests(ImportTestCase):
    @LOCAL
    def test_it_fetches_extracts_and_creates(self) -> None:
        document = importing.document_import_url(
            project=self.project, url=self.site.url("/page.html"), actor=self.editor
        )
        self.assertEqual(document.title, "Bridge costs doubled, council admits")
        self.assertIn("<html", document.raw_text)
        event = Event.objects.get(verb="document.create", object_id=document.pk)
        self.assertEqual(event.actor, self.editor)

    @NO_HOSTS
    def test_it_raises_the_fetchers_refusal_and_writes_nothing(self) -> None:
        before = self.counts()
        with self.assertRaises(fetching.FetchError) as caught:
            importing.document_import_url(
                project=self.project, url=self.site.url("/page.html"), actor=self.editor
            )
        self.assertEqual(caught.exception.code, "blocked-address")
        self.assertEqual(self.counts(), before)


# --- command ----------------------------------------------------------------------------------------


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import_documents", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


class ImportCommandTests(ImportTestCase):
    def test_it_imports_an_html_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bridge.htm"
            path.write_text(ARTICLE_HTML, encoding="utf-8")
            output = run_import("--project", self.project.slug, str(path))
            again = run_import("--project", self.project.slug, str(path))
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        self.assertIn("Imported 0, skipped 1 duplicate(s), failed 0", again)
        document = Document.objects.get(title="Bridge costs doubled, council admits")
        self.assertEqual((document.publisher, document.author), ("The Daily Test", "Ada Reporter"))
        for furniture in PAGE_FURNITURE:
            self.assertNotIn(furniture, document.text)

    def test_format_html_reads_any_file_as_a_page(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "saved-page.txt"
            path.write_text(ARTICLE_HTML, encoding="utf-8")
            output = run_import("--project", self.project.slug, "--format", "html", str(path))
        self.assertIn("Imported 1,", output)
        self.assertTrue(Document.objects.filter(author="Ada Reporter").exists())

    @LOCAL
    def test_it_imports_an_html_url(self) -> None:
        output = run_import("--project", self.project.slug, self.site.url("/page.html"))
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        document = Document.objects.get(title="Bridge costs doubled, council admits")
        self.assertIn(ARTICLE_SENTENCE, document.text)

    @LOCAL
    def test_it_imports_a_url(self) -> None:
        output = run_import("--project", self.project.slug, self.site.url("/article.txt"))
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        document = Document.objects.get(title=SAMPLE_TITLE)
        self.assertEqual(document.source_url, self.site.url("/article.txt"))

    @NO_HOSTS
    def test_a_refused_url_is_a_failure_that_does_not_stop_the_batch(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "article.txt"
            path.write_text(SAMPLE, encoding="utf-8")
            output = run_import(
                "--project", self.project.slug, self.site.url("/article.txt"), str(path)
            )
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 1", output)
        self.assertIn("fetch refused (blocked-address)", output)
        self.assertIn("loopback", output)


# --- sources --------------------------------------------------------------------------------------


class SourceFetchMetadataTests(ImportTestCase):
    def make_source(self, path: str = "/page.html", **fields: object) -> Source:
        return services.source_get_or_create(url=self.site.url(path), actor=self.creator, **fields)

    @LOCAL
    def test_it_fills_the_title_and_publisher_from_the_page(self) -> None:
        source = self.make_source()
        source = services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(
            (source.title, source.publisher, str(source.published_date)),
            ("Bridge costs doubled, council admits", "The Daily Test", "2024-03-05"),
        )
        event = Event.objects.get(verb="source.fetch_metadata", object_id=source.pk)
        self.assertEqual(event.after["title"], "Bridge costs doubled, council admits")

    @LOCAL
    def test_it_keeps_what_a_person_wrote(self) -> None:
        source = self.make_source(title="Council report on the bridge")
        source = services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(
            (source.title, source.publisher), ("Council report on the bridge", "The Daily Test")
        )

    @LOCAL
    def test_a_page_without_main_text_still_gives_its_title(self) -> None:
        source = self.make_source("/empty.html")
        source = services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual((source.title, source.publisher), ("Statistics portal", "Stats Office"))

    @LOCAL
    def test_the_api_fills_the_title(self) -> None:
        source = self.make_source()
        self.client.force_login(self.creator)
        response = self.client.post(reverse("api:source-fetch-metadata", kwargs={"pk": source.pk}))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["title"], "Bridge costs doubled, council admits")

    @LOCAL
    def test_the_admin_action_fetches_titles(self) -> None:
        source = self.make_source()
        blocked = services.source_get_or_create(url="http://10.9.8.7/report", actor=self.creator)
        superuser = get_user_model().objects.create_superuser("root", password="pw-root")
        self.client.force_login(superuser)
        response = self.client.post(
            reverse("admin:annotations_source_changelist"),
            {"action": "fetch_titles", "_selected_action": [source.pk, blocked.pk]},
            follow=True,
        )
        self.assertContains(response, "Fetched 1 page(s); filled in 1 source(s).")
        self.assertContains(response, "Not fetched: http://10.9.8.7/report")
        source.refresh_from_db()
        self.assertEqual(source.title, "Bridge costs doubled, council admits")

    @NO_HOSTS
    def test_it_refuses_loopback_without_the_setting(self) -> None:
        source = self.make_source()
        with self.assertRaises(ValidationError) as caught:
            services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(caught.exception.error_dict["url"][0].code, "blocked-address")
        source.refresh_from_db()
        self.assertEqual(source.title, "")

    @LOCAL
    def test_a_plain_text_page_is_refused_by_content_type(self) -> None:
        source = self.make_source("/article.txt")
        with self.assertRaises(ValidationError) as caught:
            services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(caught.exception.error_dict["url"][0].code, "content-type")

    def test_the_api_is_scoped_to_visible_sources(self) -> None:
        source = self.make_source()
        url = reverse("api:source-fetch-metadata", kwargs={"pk": source.pk})
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.post(url).status_code, 404)
        self.client.force_login(self.creator)
        with NO_HOSTS:
            response = self.client.post(url)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["code"], "blocked-address")
