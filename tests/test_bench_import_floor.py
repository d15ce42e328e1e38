"""``bench.bench_peer.import_floor`` on PostgreSQL: the least an import of the peer
workload's bodies costs the database (one COPY of the texts into a scratch table with the
document table's storage settings), measured from its own connection to the test
database, which it leaves as it found it."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import connection
from django.test import TransactionTestCase

from bench.bench_peer import import_floor


@pytest.mark.postgres("COPY into a scratch table (bench.bench_peer.import_floor)")
class ImportFloorTests(TransactionTestCase):
    def test_it_copies_the_texts_and_drops_its_table(self) -> None:
        conf = connection.settings_dict
        url = (
            f"postgres://{conf['USER']}:{conf['PASSWORD'] or ''}@{conf['HOST'] or '127.0.0.1'}"
            f":{conf['PORT'] or 5432}/{conf['NAME']}"
        )
        bodies = [json.dumps([{"project": 1, "text": "mot " * 3000}] * 40).encode()]
        copied: list[str] = []
        real_copy = psycopg.Cursor.copy

        def counting_copy(cursor: psycopg.Cursor, statement: str, *args, **kwargs):  # type: ignore[no-untyped-def]
            copied.append(str(statement))
            return real_copy(cursor, statement, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(psycopg.Cursor, "copy", counting_copy)
            figures = import_floor(url, bodies, repeats=2)
        # one COPY per repeat, binary as the app's bulk import sends its documents
        assert copied == ["COPY bench_import_floor FROM STDIN (FORMAT BINARY)"] * 2
        assert figures["floor_import_parse_ms"] > 0 and figures["floor_import_store_ms"] > 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_import_floor')")
            assert cursor.fetchone() == (None,)
