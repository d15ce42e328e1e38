"""The guards of the ``db_independent`` marker (tests/db_independent.py): a test the
PostgreSQL pass of ``./wb test`` skips must not depend on the database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django import test as django_test
from django.db import connection

from tests import db_independent

pytestmark = pytest.mark.db_independent

TESTS = Path(__file__).resolve().parent
MARK = re.compile(r"^pytestmark = .*pytest\.mark\.db_independent", re.MULTILINE)
# Names in a marked module's source that point at the database, a server or a process that
# reads DATABASE_URL.
DB_SHAPED = re.compile(
    r"django\.db|django_db|tests\.factories|from tests import factories|DATABASE_URL"
    r"|live_server|LiveServer|manage\.py|call_command|TestCase\b|\.objects\b"
)


def marked_modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if MARK.search(p.read_text()))


def test_a_database_fixture_marker_or_test_case_is_a_problem() -> None:
    assert db_independent.problems(["tmp_path", "monkeypatch"], ["parametrize"], None) == []
    assert db_independent.problems(["db"], [], None) == ["requests the fixture 'db'"]
    assert db_independent.problems(["live_server", "client"], [], None) == [
        "requests the fixture 'client'",
        "requests the fixture 'live_server'",
    ]
    assert db_independent.problems([], ["django_db"], None) == ["is marked 'django_db'"]
    assert db_independent.problems([], ["postgres"], None) == ["is marked 'postgres'"]
    assert db_independent.problems([], [], django_test.TestCase) != []
    assert db_independent.problems([], [], django_test.TransactionTestCase) != []

    class Pure(django_test.SimpleTestCase):
        pass

    class WithDatabase(django_test.SimpleTestCase):
        databases = {"default"}

    assert db_independent.problems([], [], Pure) == []
    assert db_independent.problems([], [], WithDatabase) != []


def test_only_a_postgresql_run_asked_to_skips_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db_independent.SKIP_ENV, "1")
    assert db_independent.skip_requested("postgresql")
    assert not db_independent.skip_requested("sqlite")  # the SQLite pass runs everything
    monkeypatch.delenv(db_independent.SKIP_ENV)
    assert not db_independent.skip_requested("postgresql")  # a plain pytest runs everything


def test_a_marked_test_cannot_even_ask_the_engine() -> None:
    # This test is marked, so the guard is on: connection.vendor opens no connection (so
    # pytest-django lets it through) but would make the result engine-dependent.
    with pytest.raises(db_independent.DatabaseTouched, match="db_independent"):
        _ = connection.vendor


def test_marked_modules_name_nothing_database_shaped() -> None:
    modules = marked_modules()
    assert len(modules) >= 20, modules  # the pattern still finds the marks
    found = {
        str(path.relative_to(TESTS)): sorted(set(DB_SHAPED.findall(path.read_text())))
        for path in modules
        if path.name != "test_db_independent.py"
    }
    assert {name: hits for name, hits in found.items() if hits} == {}
