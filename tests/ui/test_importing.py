"""The import page of the web UI (workbench/ui/importing.py): preview, then confirm; pasted
text, uploaded text, JSONL and HTML files, and import by URL through the safe fetcher.
"""

from __future__ import annotations

import json
import re

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotations.models import Document
from annotations.services import importing
from tests.factories import make_document
from tests.services.import_base import (
    ARTICLE_HTML,
    ARTICLE_SENTENCE,
    EMPTY_HTML,
    JUNK,
    LOCAL,
    NO_HOSTS,
    PAGE_FURNITURE,
    SAMPLE,
    SAMPLE_TITLE,
    ImportTestCase,
    _loopback_only,  # noqa: F401  (autouse: loopback only)
)

HX = {"HTTP_HX_REQUEST": "true"}


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

    def test_deeply_nested_json_in_an_upload_is_reported_not_a_500(self) -> None:
        """Issue 13, finding 3: a JSONL line or a page's JSON-LD nested 100,000 deep is the
        line's failure (or an ignored hint), never a RecursionError."""
        deep = "[" * 100_000 + "]" * 100_000
        lines = [
            '{"title": "Deep", "text": ' + deep + "}",
            json.dumps({"title": "Fine", "text": "Body."}),
        ]
        self.client.force_login(self.editor)
        upload = SimpleUploadedFile("deep.jsonl", "\n".join(lines).encode())
        preview = self.preview({"file": upload, "remove_junk": "on"}, **HX)
        self.assertContains(preview, "Line 1: invalid JSON: nested too deeply")
        self.assertContains(preview, "1 document to import; 1 line refused")
        page = ARTICLE_HTML.replace(
            "</head>", f'<script type="application/ld+json">{deep}</script></head>'
        )
        upload = SimpleUploadedFile("deep.html", page.encode(), content_type="text/html")
        preview = self.preview({"file": upload, "remove_junk": "on"}, **HX)
        self.assertContains(preview, ARTICLE_SENTENCE)

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
