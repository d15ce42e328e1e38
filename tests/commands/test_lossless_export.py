"""The lossless project export through the operator's commands (issue 14, deliverable 7):
``export_project --format json`` writes ``workbench-export/2``; ``import_documents
--format workbench`` restores it into an empty database (a SQLite file or a new
PostgreSQL database, in its own process, as tests/test_backup.py does), where
``check_integrity`` and ``verify_audit`` exit 0 and a second export is byte-identical
to the first but for ``exported_at``. A tampered file, a populated database and a
reviewer's export are refused.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotations.core import export_mapping
from tests import test_backup
from tests.services.test_native_restore import build_history, without_time
from tests.test_backup import manage, run

# The empty database fixtures of the backup tests (a SQLite file or a new PostgreSQL one).
empty_postgres = test_backup.empty_postgres
empty_database = test_backup.empty_database

pytestmark = pytest.mark.django_db


def export(path: Path, *extra: str) -> None:
    call_command(
        "export_project", "--project", "demo", "--format", "json", "--output", str(path),
        "--no-progress", *extra, stderr=io.StringIO(),
    )  # fmt: skip


def restore(path: Path, database_url: str) -> tuple[int, str]:
    result = run(
        [sys.executable, "manage.py", "import_documents", "--project", "demo", "--format",
         "workbench", "--no-progress", str(path)],
        database_url,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_a_lossless_export_restores_with_its_audit_chain_and_exports_the_same(
    tmp_path: Path, empty_database: str
) -> None:
    build_history()
    exported = tmp_path / "demo.json"
    export(exported)
    payload = json.loads(exported.read_text(encoding="utf-8"))
    assert payload["schema"] == "workbench-export/2"
    assert export_mapping.native_errors(payload, version=2) == []
    assert payload["document_revisions"] and payload["claim_versions"]
    assert payload["claim_anchors"] and payload["audit"]["events"]
    assert any(verdict["post_reveal"] for verdict in payload["verdicts"])

    manage("migrate", "--no-input", "-v", "0", database_url=empty_database)
    code, out = restore(exported, empty_database)
    assert code == 0, out
    events = len(payload["audit"]["events"])
    assert f"Restored project 'demo' (id {payload['project']['id']})" in out
    assert f"audit chain of {events} events verified" in out
    assert "No event records the restore" in out

    assert "every invariant holds" in manage("check_integrity", database_url=empty_database)
    head = payload["audit"]["head"]
    assert f"{events} events, head seq {head['seq']} hash {head['hash']}" in manage(
        "verify_audit", database_url=empty_database
    )
    again = tmp_path / "again.json"
    manage(
        "export_project", "--project", "demo", "--format", "json", "--output", str(again),
        "--no-progress", database_url=empty_database,
    )  # fmt: skip
    first, second = exported.read_text(encoding="utf-8"), again.read_text(encoding="utf-8")
    assert without_time(second) == without_time(first)
    assert json.loads(second)["exported_at"] > payload["exported_at"]

    # The database is no longer empty: a second restore is refused and changes nothing.
    code, out = restore(exported, empty_database)
    assert code == 1
    assert "The database is not empty (1 projects" in out
    manage(
        "export_project", "--project", "demo", "--format", "json", "--output", str(again),
        "--no-progress", database_url=empty_database,
    )  # fmt: skip
    assert without_time(again.read_text(encoding="utf-8")) == without_time(first)


def test_a_file_whose_audit_chain_was_edited_is_refused(
    tmp_path: Path, empty_database: str
) -> None:
    build_history()
    exported = tmp_path / "demo.json"
    export(exported)
    payload = json.loads(exported.read_text(encoding="utf-8"))
    event = payload["audit"]["events"][10]
    event["verb"] = "claim.delete"  # the content changed, the stored hash did not
    exported.write_text(json.dumps(payload), encoding="utf-8")

    manage("migrate", "--no-input", "-v", "0", database_url=empty_database)
    code, out = restore(exported, empty_database)
    assert code == 1
    assert "/audit/events/10: The audit chain in the file does not verify" in out
    assert f"event {event['id']} (seq {event['seq']}" in out and "was edited" in out
    code, out = restore(tmp_path / "missing.json", empty_database)
    assert "No project with slug 'demo'" in out  # nothing was restored


def test_the_lossless_export_is_for_editors_and_admins() -> None:
    build_history()
    with pytest.raises(CommandError, match="not an editor or admin"):
        export(Path("/dev/null"), "--user", "reviewer1")
