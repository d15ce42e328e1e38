"""A long document's text chunks (``DocumentTextChunk``, ``core.textchunks``): written on
every path that stores a document's text, read for windows (``selectors.
document_text_window``, the locked read of claim creation), never exported, rebuilt on
import and restore, checked by ``check_integrity``. On SQLite and PostgreSQL alike."""

from __future__ import annotations

import importlib
import random
from io import StringIO

from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import TestCase, TransactionTestCase

from annotations import access, selectors, services
from annotations.core import spans, textchunks
from annotations.core.textchunks import CHUNK
from annotations.models import Document, DocumentTextChunk
from annotations.selectors import integrity
from tests.api.base import ApiTestCase
from tests.factories import Personas, make_document, make_project, make_user

# Astral (non-BMP) characters among the words: one code point each, in Python and in SQL.
WORDS = ["fact", "check", "😀", "👍🏽", "日本語", "שלום", "évidence", "claim\n", "𝄞🎉"]


def long_text(length: int = 3 * CHUNK + 5_000, seed: int = 1) -> str:
    """A canonical text of ``length`` code points (default three chunks and a bit)."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(WORDS) + " "
        parts.append(word)
        size += len(word)
    text = ("Start " + "".join(parts))[: length - 1] + "."
    assert spans.canonicalize(text) == text and len(text) == length
    return text


def chunks_of(document: Document) -> list[str]:
    return list(
        DocumentTextChunk.objects.filter(document=document)
        .order_by("seq")
        .values_list("text", flat=True)
    )


def expected_chunks(text: str) -> list[str]:
    return textchunks.split(text) if textchunks.chunked(len(text)) else []


def windows(length: int, seed: int = 7) -> list[tuple[int, int]]:
    """The start, the end, empty windows, windows across one and two chunk boundaries,
    past the end, and random ones."""
    rng = random.Random(seed)
    fixed = [
        (0, 0),
        (0, 1),
        (0, 400),
        (length - 400, length),
        (length - 1, length),
        (length, length),
        (length - 10, length + 50),
        (CHUNK - 1, CHUNK + 1),
        (CHUNK, CHUNK),
        (CHUNK, CHUNK + 1),
        (CHUNK - 200, 2 * CHUNK + 200),
        (2 * CHUNK - 3, 2 * CHUNK + 3),
        (CHUNK - 1, 3 * CHUNK + 1),
    ]
    random_ones = []
    for _ in range(60):
        start = rng.randrange(0, length)
        end = min(length, start + rng.choice([1, 33, 400, 5_000, CHUNK, 2 * CHUNK + 7]))
        random_ones.append((start, end))
    return [(max(0, start), max(0, end)) for start, end in fixed + random_ones]


class ChunkWritingTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def test_a_long_document_gets_its_chunks_a_short_one_none(self) -> None:
        text = long_text()
        document = make_document(project=self.project, actor=self.editor, text=text)
        self.assertEqual(chunks_of(document), textchunks.split(text))
        self.assertEqual(len(chunks_of(document)), 4)
        self.assertEqual(chunks_of(self.document), [])  # the sample article is short
        exactly = make_document(project=self.project, actor=self.editor, text=long_text(CHUNK))
        self.assertEqual(chunks_of(exactly), [])

    def test_a_bulk_import_writes_every_long_documents_chunks(self) -> None:
        texts = [long_text(seed=2), "A short one.", long_text(CHUNK + 1, seed=3)]
        created = services.document_create_many(
            project=self.project,
            items=[
                services.DocumentInput(title=f"T{index}", text=text)
                for index, text in enumerate(texts)
            ],
            actor=self.editor,
        )
        for document, text in zip(created, texts, strict=True):
            self.assertEqual(chunks_of(document), expected_chunks(text))
        self.assertEqual(len(chunks_of(created[2])), 2)

    def test_a_revision_rewrites_the_chunks(self) -> None:
        document = make_document(project=self.project, actor=self.editor, text=long_text())
        longer = "Updated: " + long_text(4 * CHUNK + 9)
        services.document_revise(document=document, text=longer, actor=self.editor)
        self.assertEqual(chunks_of(document), textchunks.split(longer))
        services.document_revise(document=document, text="Now short.", actor=self.editor)
        self.assertEqual(chunks_of(document), [])
        again = long_text(2 * CHUNK, seed=4)
        services.document_revise(document=document, text=again, actor=self.editor)
        self.assertEqual(chunks_of(document), textchunks.split(again))
        self.assertEqual(list(integrity.document_text_chunks()), [])

    def test_a_native_import_rebuilds_the_chunks_the_export_leaves_out(self) -> None:
        text = long_text()
        document = make_document(project=self.project, actor=self.editor, text=text)
        payload = selectors.document_native(document=document, user=self.admin)
        self.assertFalse(any("chunk" in key for key in payload))
        self.assertNotIn("text_chunks", payload["document"])
        importer = make_user("importer")
        target = make_project(creator=importer, name="Other newsroom")
        imported = services.document_import_native(project=target, payload=payload, actor=importer)
        self.assertEqual(chunks_of(imported), textchunks.split(text))

    def test_the_data_migration_writes_missing_chunks(self) -> None:
        text = long_text()
        document = make_document(project=self.project, actor=self.editor, text=text)
        DocumentTextChunk.objects.all().delete()
        migration = importlib.import_module(
            "annotations.migrations.0027_document_text_chunks_existing"
        )
        self.assertEqual(migration.CHUNK, CHUNK)
        migration.forward(apps, None)
        self.assertEqual(chunks_of(document), textchunks.split(text))
        self.assertEqual(chunks_of(self.document), [])
        migration.forward(apps, None)  # documents that have chunks are left alone
        self.assertEqual(chunks_of(document), textchunks.split(text))

    def test_check_integrity_finds_chunks_that_do_not_join_to_the_text(self) -> None:
        document = make_document(project=self.project, actor=self.editor, text=long_text())
        self.assertEqual(list(integrity.document_text_chunks()), [])
        DocumentTextChunk.objects.filter(document=document, seq=2).update(text="changed")
        [violation] = integrity.document_text_chunks()
        self.assertIn(f"document {document.pk}", violation.line())
        self.assertIn("chunk 2 differs", violation.line())
        DocumentTextChunk.objects.filter(document=document).delete()
        [violation] = integrity.document_text_chunks(self.project.pk)
        self.assertIn("0 chunk(s)", violation.line())
        DocumentTextChunk.objects.create(document=self.document, seq=0, text="stray")
        self.assertEqual(len(list(integrity.document_text_chunks())), 2)
        names = [name for name, _ in integrity.integrity_violations()]
        self.assertEqual(names.count("document text chunks"), 2)
        out, err = StringIO(), StringIO()
        with self.assertRaises(CommandError):
            call_command("check_integrity", stdout=out, stderr=err)
        self.assertIn(f"document {document.pk}: text chunks join to its text", out.getvalue())
        self.assertIn("document text chunks: 2 problem(s)", err.getvalue())


class WindowReadTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.text = long_text(3 * CHUNK + 777)
        cls.long = make_document(project=cls.project, actor=cls.editor, text=cls.text)

    def deferred(self, document: Document) -> Document:
        return Document.objects.defer("text", "raw_text").get(pk=document.pk)

    def assert_windows(self, document: Document, text: str) -> None:
        for start, end in windows(len(text)):
            with self.subTest(start=start, end=end):
                expected = text[start:end]
                self.assertEqual(
                    selectors.document_text_window(
                        document=self.deferred(document), start=start, end=end
                    ),
                    expected,
                )
                with transaction.atomic():
                    self.assertEqual(
                        selectors.document_text_window(
                            document=self.deferred(document), start=start, end=end, for_update=True
                        ),
                        expected,
                    )
                    locked, _ = access.document_get_for_user(
                        user=self.reviewer_a,
                        pk=document.pk,
                        with_text=False,
                        locked_window=(start, end),
                    )
                    self.assertEqual(locked.locked_window, (start, expected))  # type: ignore[attr-defined]

    def test_windows_of_a_long_document_equal_slices_of_its_text(self) -> None:
        self.assertEqual(len(chunks_of(self.long)), 4)
        self.assert_windows(self.long, self.text)

    def test_windows_of_a_short_document_read_its_text(self) -> None:
        self.assert_windows(self.document, self.document.text)

    def test_a_long_document_without_chunks_still_reads_its_text(self) -> None:
        DocumentTextChunk.objects.filter(document=self.long).delete()
        self.assert_windows(self.long, self.text)

    def test_a_long_documents_windows_are_read_from_its_chunks(self) -> None:
        # The chunks are what is read (the text is not touched): a stand-in of the same
        # length for every chunk shows through every read path, the text's substr would
        # not. A read that ignored the chunks would still pass the slice tests above.
        stand_in = "".join(
            "x" * len(chunk) if seq % 2 else "y" * len(chunk)
            for seq, chunk in enumerate(textchunks.split(self.text))
        )
        for seq, chunk in enumerate(textchunks.split(stand_in)):
            DocumentTextChunk.objects.filter(document=self.long, seq=seq).update(text=chunk)
        self.assert_windows(self.long, stand_in)

    def test_a_window_starting_before_0_reads_from_0(self) -> None:
        document = self.deferred(self.long)
        self.assertEqual(
            selectors.document_text_window(document=document, start=-5, end=3), self.text[:3]
        )

    def test_the_reader_window_at_the_end_of_a_book(self) -> None:
        document = self.deferred(self.long)
        end = len(self.text)
        self.assertEqual(
            selectors.document_text_window(document=document, start=end - 2, end=end),
            self.text[-2:],
        )


class LongDocumentClaimTests(ApiTestCase):
    def test_a_claim_deep_in_a_long_document_quotes_the_right_text(self) -> None:
        text = long_text(4 * CHUNK + 123, seed=11)
        document = make_document(project=self.project, actor=self.editor, text=text)
        for start in (3 * CHUNK + 40, 2 * CHUNK - 10, CHUNK - 20, len(text) - 30):
            with self.subTest(start=start):
                end = start + 25
                response = self.post(
                    self.reviewer_a,
                    "/claims/",
                    {"document": document.pk, "start": start, "end": end, "exact": text[start:end]},
                )
                self.assertEqual(response.status_code, 201, response.content)
                body = response.json()
                self.assertEqual(body["exact"], text[start:end])
                self.assertEqual(body["prefix"], text[start - spans.CONTEXT_LENGTH : start])
                self.assertEqual(body["suffix"], text[end : end + spans.CONTEXT_LENGTH])


class RestoreRebuildsChunksTests(TransactionTestCase):
    def test_a_restore_writes_the_chunks_of_its_long_documents(self) -> None:
        admin = make_user("admin")
        project = make_project(creator=admin, name="Books")
        text = long_text(2 * CHUNK + 5)
        document = make_document(project=project, actor=admin, text=text)
        payload = selectors.project_native(project=project, user=admin)
        self.assertFalse(any("chunk" in key for key in payload))
        call_command("flush", interactive=False, verbosity=0)
        self.assertEqual(DocumentTextChunk.objects.count(), 0)
        restored = services.project_restore_native(payload=payload)
        restored_document = Document.objects.get(project=restored)
        self.assertEqual(restored_document.pk, document.pk)
        self.assertEqual(chunks_of(restored_document), textchunks.split(text))
        self.assertEqual(list(integrity.document_text_chunks()), [])


class BenchDataChunksTests(TestCase):
    """bench/generate.py inserts documents around the services (COPY): it writes their
    chunks too, and its set-based wipe deletes them before the documents."""

    def test_generated_documents_have_chunks_and_the_wipe_removes_them(self) -> None:
        from bench import generate

        cast = generate.ensure_cast(reviewers=1)
        project = generate._project("book", "bench-chunks", 1, {}, cast)
        text = long_text(2 * CHUNK + 3)
        [document_id, short_id] = generate._documents(
            project, cast, [("Book", text, ""), ("News", "Short.", "")]
        )
        self.assertEqual(chunks_of(Document.objects.get(pk=document_id)), textchunks.split(text))
        self.assertEqual(chunks_of(Document.objects.get(pk=short_id)), [])
        self.assertEqual(list(integrity.document_text_chunks()), [])
        generate.wipe_project("bench-chunks")
        self.assertFalse(Document.objects.filter(pk=document_id).exists())
        self.assertEqual(DocumentTextChunk.objects.count(), 0)
