"""Services: importing (``annotations/services/importing.py``): control characters in
uploads and JSONL records, and ``document_import_url`` (fetch, extract, create).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from annotations.core import fetching
from annotations.models import Event
from annotations.services import importing
from tests.services.import_base import (
    LOCAL,
    NO_HOSTS,
    ImportTestCase,
    _loopback_only,  # noqa: F401  (autouse: loopback only)
)


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
