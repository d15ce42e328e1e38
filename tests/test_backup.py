"""Backup and restore, the way docs/deployment.md tells an operator to do them.

* ``bin/backup dump`` then ``bin/backup restore`` into a new, empty PostgreSQL database
  gives back every row of every table and every sequence position (PostgreSQL only:
  pg_dump reads committed rows, so the test is transactional).
* ``bin/backup restore`` refuses a database that is not empty; ``bin/backup export``
  writes one native export file per project.
* The per-document native exports of a whole project (``export_project --format
  json-v1``, version 1 files) imported
  with ``import_documents --format workbench --create-project`` into a freshly migrated,
  empty database (SQLite file or PostgreSQL), then exported again there, gives the same
  export up to database ids and the export time. tests/services/test_native_import.py checks
  the same promise one document at a time through the services; this runs the commands in
  their own processes against a second database, as a restore does. The lossless
  export (``--format json``, version 2) keeps ids and the audit chain:
  tests/commands/test_lossless_export.py.

The commands run in subprocesses with this test run's environment (SECRET_KEY and
DEBUG come from pytest-env) and a DATABASE_URL of their own; only the first export of
the round trip runs in this process, since the SQLite test database is in memory.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from annotations import services
from annotations.core import export_mapping
from annotations.models import Claim, Project, Rating, Role
from annotations.services import CitationInput
from tests.factories import (
    make_claim,
    make_document,
    make_member,
    make_members,
    make_project,
    make_user,
)

ROOT = Path(settings.BASE_DIR)
BACKUP = ROOT / "bin" / "backup"

TEXT_A = (
    "Crime fell 20% last year, the mayor said.\n"
    "Critics call the record low of 3.1% a myth.\n"
    "\n"
    "The bridge 🌉 cost $2 billion, officials claim."
)
TEXT_B = "Turnout hit 99%\u2028according to @id officials. Spending rose by a third."
STATS_URL = "https://stats.example.gov/crime?utm_source=feed"
# Per claim: (reviewer_a's rating, reviewer_b's rating); equal ratings resolve it.
RATINGS = {
    "Crime fell 20% last year": ("false", "false"),
    "record low of 3.1%": ("half_true", "misleading"),
    "The bridge 🌉 cost $2 billion": ("satire", "satire"),
    "Turnout hit 99%": ("true", "mostly_true"),
    "Spending rose by a third": ("mostly_true", "mostly_true"),
}


# --- the desk ----------------------------------------------------------------------------------


def build_desk() -> Project:
    """A project with two documents, five claims, verdicts with citations, a revision,
    consensus (unanimous, adjudicated, reopened), a published claim, events and a token."""
    admin = make_user("admin", is_staff=True, is_superuser=True)
    project = make_project(creator=admin, name="Desk", organization="Example Fact Desk")
    services.token_create(user=admin)
    Rating.objects.create(project=project, key="satire", label="Satire", ordinal=None, position=8)
    # The desk's own scale: a default relabelled and renumbered, one removed. A restore
    # that rebuilt the default scale would change the exports' scale and ClaimReview.
    Rating.objects.filter(project=project, key="mostly_true").update(
        label="Largely true", ordinal=6
    )
    Rating.objects.filter(project=project, key="not_checkable").delete()
    editor = make_member(project, "editor", Role.EDITOR)
    reviewer_a, reviewer_b = make_members(project, "reviewer_a", "reviewer_b")
    claims: dict[int, str] = {}
    for title, text in (("City hall", TEXT_A), ("Turnout", TEXT_B)):
        document = make_document(project=project, actor=editor, text=text, title=title)
        for exact in RATINGS:
            if exact in text:
                claim = make_claim(document=document, actor=editor, exact=exact)
                claims[claim.pk] = exact
    for index, reviewer in enumerate((reviewer_a, reviewer_b)):
        while (lease := services.lease_next(reviewer=reviewer, project=project)) is not None:
            exact = claims[lease.claim_id]
            services.verdict_submit(
                claim=Claim.objects.get(pk=lease.claim_id),
                reviewer=reviewer,
                rating=RATINGS[exact][index],
                confidence="medium",
                rationale=f"{reviewer.get_username()} on {exact}",
                # By URL: a reviewer may not name by id a source that only another
                # reviewer's (still blind) verdict cites.
                citations=[
                    CitationInput(stance="refutes", url=STATS_URL, quote="3%"),
                    CitationInput(stance="context", url=f"https://news.example.com/{index}"),
                ],
            )
    by_exact = {exact: Claim.objects.get(pk=pk) for pk, exact in claims.items()}
    services.claim_adjudicate(
        claim=by_exact["record low of 3.1%"], editor=editor, rating="misleading", note="Series."
    )
    services.claim_adjudicate(
        claim=by_exact["Turnout hit 99%"], editor=editor, rating="mostly_true", note="Close."
    )
    crime = by_exact["Crime fell 20% last year"]
    services.claim_reopen(claim=crime, editor=editor, note="New figures came in.")
    services.verdict_submit(
        claim=crime, reviewer=reviewer_a, rating="mostly_false", confidence="high",
        rationale="Revised: 17% by the new series.",
    )  # fmt: skip
    services.claim_adjudicate(claim=crime, editor=editor, rating="mostly_false", note="17%.")
    services.claim_publish(
        claim=crime, editor=editor, summary="Checked against the official figures."
    )
    return project


# --- databases ---------------------------------------------------------------------------------


def run(args: list[str], database_url: str, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, **extra_env}
    return subprocess.run(  # noqa: S603 - our own scripts and interpreter
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def manage(*args: str, database_url: str, **extra_env: str) -> str:
    result = run([sys.executable, "manage.py", *args], database_url, **extra_env)
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def postgres_url(name: str) -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{quote(db['USER'] or '', safe='')}{password}@{db['HOST']}{port}/{name}"


def _maintenance() -> Any:
    import psycopg

    return psycopg.connect(postgres_url("postgres"), autocommit=True)


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (wb_test_restore_*), dropped afterwards."""
    from psycopg import sql

    name = f"wb_test_restore_{secrets.token_hex(6)}"
    with _maintenance() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_url(name)
    finally:
        with _maintenance() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of this run's kind: a SQLite file, or a new PostgreSQL database."""
    if connection.vendor == "postgresql":
        return request.getfixturevalue("empty_postgres")
    return f"sqlite:///{tmp_path / 'restored.sqlite3'}"


def table_contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in the public schema (ordered by the row's text), and the
    position of every sequence, keyed by name."""
    import psycopg
    from psycopg import sql

    contents: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(url) as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT * FROM {t} ORDER BY {t}::text").format(t=sql.Identifier(table))
            contents[table] = db.execute(query).fetchall()
        sequences = db.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
        for name, last_value in sequences:
            contents[f"sequence {name}"] = [(last_value,)]
    return contents


# --- pg_dump / pg_restore ------------------------------------------------------------------------


@pytest.mark.postgres("pg_dump and pg_restore")
@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_an_empty_database_has_every_row(
    tmp_path: Path, empty_postgres: str
) -> None:
    build_desk()
    source = postgres_url(connection.settings_dict["NAME"])
    dump = tmp_path / "workbench.dump"

    result = run([str(BACKUP), "dump", str(dump)], source)
    assert result.returncode == 0, result.stderr
    assert dump.stat().st_size > 0 and not dump.with_suffix(".dump.partial").exists()
    result = run([str(BACKUP), "restore", str(dump)], empty_postgres)
    assert result.returncode == 0, result.stderr

    original, restored = table_contents(source), table_contents(empty_postgres)
    assert sorted(restored) == sorted(original)
    for table in (
        "auth_user", "knox_authtoken", "annotations_project", "annotations_membership",
        "annotations_rating", "annotations_document", "annotations_claim",
        "annotations_verdict", "annotations_citation", "annotations_source",
        "annotations_consensus", "annotations_consensus_verdicts", "annotations_assignment",
        "annotations_event",
    ):  # fmt: skip
        assert original[table], f"{table} is empty: the comparison would prove nothing"
    for name, rows in original.items():
        assert restored[name] == rows, f"{name} differs after the restore"

    # A second restore into the now populated database is refused, and changes nothing.
    result = run([str(BACKUP), "restore", str(dump)], empty_postgres)
    assert result.returncode == 1
    assert "the target database is not empty" in result.stderr
    assert table_contents(empty_postgres) == restored

    # The portable backup: one native export per project.
    result = run([str(BACKUP), "export", str(tmp_path / "exports")], source)
    assert result.returncode == 0, result.stderr
    assert [path.name for path in (tmp_path / "exports").iterdir()] == ["desk.json"]
    lossless = json.loads((tmp_path / "exports" / "desk.json").read_text(encoding="utf-8"))
    assert lossless["schema"] == "workbench-export/2"
    assert export_mapping.native_errors(lossless, version=2) == []
    assert len(lossless["documents"]) == 2 and lossless["audit"]["events"]


def test_dump_and_restore_refuse_sqlite_and_point_to_its_backup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    for command in ("dump", "restore"):
        result = run([str(BACKUP), command, str(tmp_path / "x.dump")], url)
        assert result.returncode == 1
        assert "needs PostgreSQL" in result.stderr
        assert ".backup" in result.stderr  # the sqlite3 command to use instead
    assert not (tmp_path / "x.dump").exists()


# --- the native export round trip ----------------------------------------------------------------


def canonical(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A project export without what a restore legitimately changes: the export time and
    database ids (renumbered 1, 2, … per kind in order of appearance, links kept)."""
    data = copy.deepcopy(documents)
    ids: dict[str, dict[int, int]] = {"claim": {}, "verdict": {}, "source": {}}

    def renumber(kind: str, old: int) -> int:
        return ids[kind].setdefault(old, len(ids[kind]) + 1)

    for document in data:
        document.pop("exported_at")
        for source in document["sources"]:
            source["id"] = renumber("source", source["id"])
        for claim in document["claims"]:
            claim["id"] = renumber("claim", claim["id"])
            for verdict in claim["verdicts"]:
                verdict["id"] = renumber("verdict", verdict["id"])
                for citation in verdict["citations"]:
                    citation["source"] = ids["source"][citation["source"]]
            for record in claim["consensus"]:
                record["verdicts"] = [ids["verdict"][v] for v in record["verdicts"]]
    return data


@pytest.mark.django_db
def test_a_project_export_restores_into_an_empty_database(
    tmp_path: Path, empty_database: str
) -> None:
    project = build_desk()
    exported = tmp_path / "desk.json"
    call_command(
        "export_project", "--project", project.slug, "--format", "json-v1",
        "--output", str(exported), "--no-progress", stderr=io.StringIO(),
    )  # fmt: skip
    original = json.loads(exported.read_text(encoding="utf-8"))
    assert {document["schema"] for document in original} == {"workbench-export/1"}
    assert len(original) == 2
    # The compared exports carry the desk's own scale (build_desk), not the default one.
    scale = {entry["key"]: entry for entry in original[0]["project"]["scale"]}
    assert (scale["mostly_true"]["label"], scale["mostly_true"]["ordinal"]) == ("Largely true", 6)
    assert "not_checkable" not in scale and "satire" in scale

    manage("migrate", "--no-input", "-v", "0", database_url=empty_database)
    # Into the empty database as it is, without --create-project: refused, the project
    # does not exist there, and the message says how to restore it.
    result = run(
        [sys.executable, "manage.py", "import_documents", "--project", project.slug,
         "--format", "workbench", "--no-progress", str(exported)],
        empty_database,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"No project with slug '{project.slug}'" in result.stderr
    assert "--create-project" in result.stderr

    result = run(
        [sys.executable, "manage.py", "createsuperuser", "--no-input", "--username", "restorer",
         "--email", "ops@example.org"],
        empty_database, DJANGO_SUPERUSER_PASSWORD=secrets.token_urlsafe(16),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = manage(
        "import_documents", "--project", project.slug, "--format", "workbench",
        "--create-project", "--user", "restorer", "--no-progress", str(exported),
        database_url=empty_database,
    )  # fmt: skip
    assert (
        f"Created project '{project.slug}' (Desk) from {exported}[0]; restorer is its admin" in out
    )
    assert "Imported 2, skipped 0 duplicate(s), failed 0" in out
    again_path = tmp_path / "again.json"
    manage(
        "export_project", "--project", project.slug, "--format", "json-v1", "--user", "restorer",
        "--output", str(again_path), "--no-progress", database_url=empty_database,
    )  # fmt: skip
    again = json.loads(again_path.read_text(encoding="utf-8"))

    assert canonical(again) == canonical(original)
    # The comparison covers what matters: every revision, citation and consensus record.
    claims = [claim for document in original for claim in document["claims"]]
    assert sum(len(claim["verdicts"]) for claim in claims) == 11
    assert sum(len(claim["consensus"]) for claim in claims) == 6
    assert {claim["status"] for claim in claims} == {"published", "resolved"}
    assert dt.datetime.fromisoformat(again[0]["exported_at"]) > dt.datetime.fromisoformat(
        original[0]["exported_at"]
    )
