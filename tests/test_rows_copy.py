"""``services._base.rows_copy``: a bulk import's documents and a large append's events go in
with one ``COPY`` on PostgreSQL, in the binary format where every column's type is one
psycopg knows (issue 20: a text is sent as its bytes, not escaped and parsed again). What
is stored is what the ORM's insert stores, by either format."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.apps import apps
from django.db import DataError, connection, models, transaction
from django.test import TestCase

from annotations.core import spans
from annotations.models import Document, Event
from annotations.services import _base
from tests.factories import make_project, make_user

# Characters a text COPY must escape (tab, newline, carriage return, backslash, the
# "\N" that spells NULL there) and some it must not mangle.
TRICKY = "Tab\there, a line\nbreak, \\N and \\\\ backslashes, \u00e9t\u00e9, \U0001f30d, \u2028."


def document_values(document: Document) -> dict[str, Any]:
    skip = {"id", "project", "created_at"}
    return {
        field.attname: getattr(document, field.attname)
        for field in Document._meta.concrete_fields
        if field.name not in skip
    }


@pytest.mark.postgres("COPY (services._base.rows_copy)")
class RowsCopyTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.editor = make_user("copy_editor")
        cls.by_copy = make_project(creator=cls.editor, name="By COPY")
        cls.by_insert = make_project(creator=cls.editor, name="By INSERT")

    def documents(self, project) -> list[Document]:
        made = []
        for n, (raw, published) in enumerate(
            [(TRICKY + "\r\n", dt.date(2024, 5, 1)), (TRICKY, None), ("Plain.", None)]
        ):
            text = spans.canonicalize(raw)
            made.append(
                Document(
                    project=project,
                    title=f"Doc {n}\twith a tab",
                    text=text,
                    text_sha256=spans.text_sha256(text),
                    length=len(text),
                    raw_text=raw,
                    source_url="https://example.org/a" if n else "",
                    publisher="Gazette \\ Daily",
                    author="",
                    published_date=published,
                    language="en",
                    direction="ltr",
                    created_by=self.editor if n != 1 else None,
                )
            )
        return made

    def copied(self, objs: list[models.Model]) -> list[str]:
        """Run ``rows_copy(objs)`` and return the COPY statements it sent."""
        sent: list[str] = []
        copy = psycopg.Cursor.copy

        def spy(cursor, statement, *args, **kwargs):
            sent.append(str(statement))
            return copy(cursor, statement, *args, **kwargs)

        with mock.patch.object(psycopg.Cursor, "copy", spy):
            self.assertTrue(_base.rows_copy(objs))
        return sent

    def test_every_column_of_every_model_has_a_binary_type(self) -> None:
        # A model whose column had no type in psycopg's registry would fall back to text
        # quietly; every model the project has is binary-ready.
        for model in apps.get_models():
            with self.subTest(model=model.__name__):
                self.assertIsNotNone(
                    _base._copy_types(connection, model._meta.concrete_fields),
                    [f.db_type(connection) for f in model._meta.concrete_fields],
                )

    def test_a_column_of_an_unknown_type_falls_back_to_text(self) -> None:
        field = mock.Mock()
        field.db_type.return_value = "geometry(Point, 4326)"
        self.assertIsNone(_base._copy_types(connection, [Document._meta.pk, field]))

    def test_binary_copy_stores_what_the_orm_inserts(self) -> None:
        copied = self.documents(self.by_copy)
        sent = self.copied(copied)
        self.assertEqual(len(sent), 1)
        self.assertIn("(FORMAT BINARY)", sent[0])
        inserted = Document.objects.bulk_create(self.documents(self.by_insert))
        stored = {d.pk: d for d in Document.objects.filter(project=self.by_copy)}
        self.assertEqual(sorted(stored), [d.pk for d in copied])
        for made, other in zip(copied, inserted, strict=True):
            fresh = stored[made.pk]
            self.assertEqual(document_values(fresh), document_values(made))
            self.assertEqual(
                document_values(fresh),
                document_values(Document.objects.get(pk=other.pk)),
            )
        self.assertEqual(stored[copied[0].pk].raw_text, TRICKY + "\r\n")
        self.assertEqual(stored[copied[0].pk].published_date, dt.date(2024, 5, 1))
        self.assertIsNone(stored[copied[1].pk].created_by_id)

    def test_text_copy_stores_the_same(self) -> None:
        copied = self.documents(self.by_copy)
        with mock.patch.object(_base, "_copy_types", return_value=None):
            sent = self.copied(copied)
        self.assertNotIn("BINARY", sent[0])
        for made in copied:
            self.assertEqual(
                document_values(Document.objects.get(pk=made.pk)), document_values(made)
            )

    def test_events_keep_their_json_and_times(self) -> None:
        at = dt.datetime(2026, 12, 7, 18, 0, 0, 123456, tzinfo=dt.UTC)
        events = [
            Event(
                verb="document.create",
                object_type="document",
                object_id=n,
                project_id=self.by_copy.pk,
                actor=self.editor,
                before=None if n else {"nested": [1, {"deep": "\u00e9\t\\"}], "none": None},
                after={"title": TRICKY, "n": n, "ok": True},
                created_at=at,
                seq=10_000 + n,
                prev_hash="0" * 64,
                hash=f"{n:064x}",
            )
            for n in range(3)
        ]
        self.assertIn("(FORMAT BINARY)", self.copied(events)[0])
        stored = list(Event.objects.filter(pk__in=[e.pk for e in events]).order_by("seq"))
        self.assertEqual([e.before for e in stored], [e.before for e in events])
        self.assertEqual([e.after for e in stored], [e.after for e in events])
        self.assertEqual({e.created_at for e in stored}, {at})
        self.assertEqual([e.seq for e in stored], [10_000, 10_001, 10_002])

    def test_a_too_long_value_is_refused_by_the_column(self) -> None:
        # Binary input still goes through the column's type modifier (varchar(500)).
        documents = self.documents(self.by_copy)
        documents[2].title = "x" * 501
        with self.assertRaises(DataError), transaction.atomic():
            _base.rows_copy(documents)
        self.assertFalse(Document.objects.filter(project=self.by_copy).exists())

    def test_an_integer_past_its_column_is_refused_not_wrapped(self) -> None:
        # psycopg packs a binary int4 to 4 bytes and wraps 2**31 to -2**31 where the
        # server refuses it in text: rows_copy checks the range as the server would.
        for length in (2**31, -(2**31) - 1):
            with self.subTest(length=length):
                documents = self.documents(self.by_copy)
                documents[1].length = length
                with self.assertRaisesMessage(DataError, "out of range"), transaction.atomic():
                    _base.rows_copy(documents)
                self.assertFalse(Document.objects.filter(project=self.by_copy).exists())
        documents = self.documents(self.by_copy)
        documents[1].length = 2**31 - 1  # the largest an int4 holds goes in as it is
        self.assertTrue(_base.rows_copy(documents))
        self.assertEqual(Document.objects.get(pk=documents[1].pk).length, 2**31 - 1)

    def test_an_array_column_is_copied_as_text(self) -> None:
        field = mock.Mock()
        field.db_type.return_value = "varchar(20)[]"
        self.assertIsNone(_base._copy_types(connection, [Document._meta.pk, field]))
