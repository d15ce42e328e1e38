"""0028: the document's ``text`` and ``raw_text`` are its last columns on SQLite, so reading
its other columns does not walk the texts' overflow pages (migration's docstring)."""

from __future__ import annotations

import unittest
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase, TransactionTestCase

from tests import test_migrations

BEFORE = [("annotations", "0027_document_text_chunks_existing")]
AFTER = [("annotations", "0028_document_text_columns_last")]
TEXTS = ("text", "raw_text")


def table_columns() -> list[str]:
    with connection.cursor() as cursor:
        return [
            column.name
            for column in connection.introspection.get_table_description(
                cursor, "annotations_document"
            )
        ]


class MigrationStateTests(TestCase):
    def test_the_texts_are_the_last_fields_of_the_state(self) -> None:
        """What a later rebuild of the table on SQLite takes its column order from."""
        executor = MigrationExecutor(connection)
        state = executor.loader.project_state(executor.loader.graph.leaf_nodes())
        fields = list(state.models["annotations", "document"].fields)
        self.assertEqual(fields[-2:], list(TEXTS))
        before = list(
            executor.loader.project_state(BEFORE).models["annotations", "document"].fields
        )
        self.assertEqual(sorted(before), sorted(fields))  # moved, none added or lost
        self.assertLess(before.index("text"), before.index("source_url"))


@unittest.skipUnless(connection.vendor == "sqlite", "column order only matters on SQLite")
class SqliteColumnOrderTests(TestCase):
    def test_the_texts_are_the_tables_last_columns(self) -> None:
        """Fails when a field added to Document lands after the texts: move them again."""
        self.assertEqual(table_columns()[-2:], list(TEXTS))


class MoveTextsLastMigrationTests(TransactionTestCase):
    """The rebuild keeps every row, the unique constraint and the chunks' foreign key, and
    reverses; on PostgreSQL it changes nothing."""

    migrate = test_migrations.SourcesPerProjectAndCiterMigrationTests.migrate
    tearDown = test_migrations.SourcesPerProjectAndCiterMigrationTests.tearDown

    def make_rows(self, apps: Any) -> dict[str, Any]:
        Project = apps.get_model("annotations", "Project")
        Document = apps.get_model("annotations", "Document")
        DocumentTextChunk = apps.get_model("annotations", "DocumentTextChunk")
        project = Project.objects.create(name="Old", slug="old")
        text = "Le conseil a voté le budget. 😀 " * 1_000
        document = Document.objects.create(
            project=project,
            title="Budget",
            text=text,
            raw_text=text.replace("\n", "\r\n") + "raw",
            text_sha256="a" * 64,
            length=len(text),
            source_url="https://example.org/budget",
            language="fr",
            revision=2,
        )
        DocumentTextChunk.objects.create(document=document, seq=0, text=text[:10])
        return {"project": project.pk, "document": document.pk, "text": text}

    def stored(self, apps: Any, pk: int) -> dict[str, Any]:
        Document = apps.get_model("annotations", "Document")
        return Document.objects.filter(pk=pk).values().get()

    def test_rows_survive_the_move_both_ways(self) -> None:
        apps = self.migrate(BEFORE)
        if connection.vendor == "sqlite":
            self.assertLess(table_columns().index("text"), table_columns().index("source_url"))
        rows = self.make_rows(apps)
        before = self.stored(apps, rows["document"])
        before_columns = table_columns()

        apps = self.migrate(AFTER)
        self.assertEqual(self.stored(apps, rows["document"]), before)
        if connection.vendor == "sqlite":
            self.assertEqual(table_columns()[-2:], list(TEXTS))
        else:
            self.assertEqual(table_columns(), before_columns)
        Document = apps.get_model("annotations", "Document")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Document.objects.create(
                project_id=rows["project"], title="Again", text="x", text_sha256="a" * 64, length=1
            )
        DocumentTextChunk = apps.get_model("annotations", "DocumentTextChunk")
        self.assertEqual(
            list(DocumentTextChunk.objects.values_list("document_id", flat=True)),
            [rows["document"]],
        )

        apps = self.migrate(BEFORE)
        self.assertEqual(self.stored(apps, rows["document"]), before)
        self.assertEqual(table_columns(), before_columns)
