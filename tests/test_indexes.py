"""No index of the app's tables begins with the whole of another, full one (docs/design.md,
"Indexes"): the shorter one costs every insert an index entry and serves no lookup the
longer one does not, and on PostgreSQL it tempts the generic plan of a prepared per-project
statement into reading a project's rows in the wrong order and sorting them all (migration
0032). Read from the database itself, on SQLite and on PostgreSQL."""

from __future__ import annotations

from django.apps import apps
from django.db import connection
from django.test import TestCase

# Django's own join table for Consensus.verdicts: its index and unique pair are made by
# the many-to-many field, which has no option to leave the index out.
MADE_BY_DJANGO = {"annotations_consensus_verdicts"}


def _indexes(table: str) -> list[tuple[str, tuple[str, ...], bool, bool]]:
    """``(name, columns, unique, partial)`` of each index of ``table``."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.relname, ix.indisunique, ix.indpred IS NOT NULL, "
                "array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(n, o) "
                "JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n "
                "ORDER BY k.o) FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
                "WHERE ix.indrelid = %s::regclass",
                [table],
            )
            return [(name, tuple(cols), uniq, part) for name, uniq, part, cols in cursor]
        cursor.execute(f'PRAGMA index_list("{table}")')
        listed = [(row[1], bool(row[2]), bool(row[4])) for row in cursor.fetchall()]
        found = []
        for name, unique, partial in listed:
            cursor.execute(f'PRAGMA index_info("{name}")')
            columns = tuple(row[2] for row in sorted(cursor.fetchall()))
            found.append((name, columns, unique, partial))
        return found


def redundant() -> list[str]:
    """Each index of the app's tables that begins another, full index of its table."""
    found = []
    for model in apps.get_app_config("annotations").get_models(include_auto_created=True):
        table = model._meta.db_table
        if table in MADE_BY_DJANGO:
            continue
        indexes = _indexes(table)
        for name, columns, unique, partial in indexes:
            if unique or partial:
                continue  # a rule of its own, or a part of the table
            for other, longer, _unique, other_partial in indexes:
                begins = len(longer) > len(columns) and longer[: len(columns)] == columns
                if other != name and not other_partial and begins:
                    found.append(f"{table}.{name} {columns} begins {other} {longer}")
                    break
    return found


class IndexTests(TestCase):
    def test_no_index_begins_another(self) -> None:
        self.assertEqual(redundant(), [])

    def test_the_check_finds_one(self) -> None:
        # The same check sees a redundant index when there is one.
        with connection.cursor() as cursor:
            cursor.execute(
                'CREATE INDEX "wb_test_event_project" ON "annotations_event" ("project_id")'
            )
        (found,) = redundant()
        # The unique (project_id, seq) of the chain: a constraint's own index on SQLite.
        self.assertRegex(
            found,
            r"^annotations_event\.wb_test_event_project \('project_id',\) begins "
            r"\S+ \('project_id', 'seq'\)$",
        )
