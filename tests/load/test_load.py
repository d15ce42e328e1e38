"""The load and fault runs of ``bench/load.py``, small enough for every CI run.

Each test starts the production server (``bin/serve``, 4 gunicorn workers per node) on
127.0.0.1 against PostgreSQL, drives reviewers, readers and an exporter for a few seconds,
and asserts the invariants the script checks in the database afterwards. The full-size
runs and their figures are in bench/README.md (``python -m bench.load``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from bench.load import free_port

ROOT = Path(__file__).resolve().parents[2]
# Under pytest-xdist (./wb test) these run one after the other on one worker: each starts
# bin/serve, which collects static files into the one shared STATIC_ROOT, and each
# saturates the machine with gunicorn workers on its own.
pytestmark = pytest.mark.xdist_group("load")
SMALL = ["--claims", "300", "--documents", "10", "--reviewers", "30", "--readers", "2"]


def run_load(db_url: str, out: Path, *args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.load", "--db", db_url, "--out", str(out), "--no-save"]
    process = subprocess.Popen(
        [*command, *SMALL, *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        # SIGTERM first: bench.load then stops the gunicorn servers it started.
        process.terminate()
        stdout, stderr = process.communicate(timeout=60)
        pytest.fail(f"bench.load did not finish in 300 s:\n{stderr[-4000:]}")
    assert out.exists(), stdout[-2000:] + stderr[-4000:]
    result = json.loads(out.read_text())
    assert process.returncode == (0 if result["passed"] else 1), stderr[-2000:]
    return result


@pytest.fixture
def load_db() -> Any:
    """A database name of this run's own on the test server, dropped afterwards."""
    name = f"wb_test_load_{secrets.token_hex(4)}"
    yield server_url(name)
    drop_database(server_url(name))


def drop_database(url: str) -> None:
    import psycopg

    base, _, name = url.replace("postgres://", "postgresql://", 1).rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_url(name: str) -> str:
    """A database of the test's own PostgreSQL server, by name."""
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    return f"postgres://{settings['USER']}{password}@{host}:{settings.get('PORT') or 5432}/{name}"


def assert_held(result: dict[str, Any]) -> None:
    inv = result["invariants"]
    assert result["failures"] == [], json.dumps(result, indent=1)[:4000]
    assert inv["accepted_submissions"] > 0
    assert inv["lost_verdicts"] == 0
    assert inv["claims_leased_beyond_required"] == 0
    assert inv["reviewer_leased_same_claim_twice_db"] == 0
    assert inv["reviewer_leased_same_claim_twice_client"] == 0
    assert result["errors"]["bodies_with_traceback"] == 0
    for op in ("lease", "read_claim", "verdict", "export", "reader_page"):
        seen = result["latency"].get(op, {})
        assert seen.get("ok", 0) > 0, (op, result["latency"])
        assert seen["p95_ms"] > 0, op


@pytest.mark.postgres("a production server on PostgreSQL")
def test_two_nodes_on_one_database_hold_the_invariants(tmp_path: Path, load_db: str) -> None:
    result = run_load(load_db, tmp_path / "load.json", "--nodes", "2",
                      "--duration", "12")  # fmt: skip
    assert_held(result)
    inv = result["invariants"]
    assert inv["verdicts_in_db"] == inv["accepted_submissions"]
    assert result["errors"]["5xx_outside_fault"] == 0
    assert result["workers_per_node"] >= 4 and result["nodes"] == 2
    # where the CPU went: the servers, PostgreSQL and the clients each spent some, and the
    # machine at least what the three did (other processes may add to it)
    cpu = result["cpu"]["per_request"]
    assert cpu["server_ms"] > 0 and cpu["postgres_ms"] > 0 and cpu["clients_ms"] > 0, cpu
    spent = result["cpu"]["seconds"]
    assert spent["machine_busy"] >= 0.9 * (spent["server"] + spent["postgres"] + spent["clients"])
    assert 0 < result["cpu"]["machine_busy_share"] <= 1
    dropped = result["export_disconnect"]
    assert dropped["status_line"].endswith("200 OK") and dropped["stream_was_cut"]
    # The server closed the export's generator when the client left (its log says so)...
    assert dropped["server_saw_disconnect"], dropped
    # ...and PostgreSQL held no transaction for it, while it streamed or after.
    assert dropped["open_transactions_while_streaming"] == 0
    assert dropped["open_transactions_after_drop"] == 0


@pytest.fixture
def scratch_cluster() -> Any:
    """A PostgreSQL cluster of this test's own (Debian's pg_createcluster), so restarting it
    disturbs nothing else; dropped afterwards."""
    if not shutil.which("pg_createcluster") or os.geteuid() != 0:
        pytest.skip("needs root and Debian's pg_createcluster to restart a scratch cluster")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    # A name of this run's own: never another run's cluster.
    name, port = f"wbfault{secrets.token_hex(3)}", free_port()

    def drop() -> None:
        if (Path("/etc/postgresql") / version / name).exists():
            subprocess.run(["pg_dropcluster", "--stop", version, name], check=False,
                           capture_output=True)  # fmt: skip

    drop()
    subprocess.run(
        ["pg_createcluster", version, name, "--port", str(port), "--",
         "--auth-local=trust", "--auth-host=trust"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"],
                       check=True, capture_output=True)  # fmt: skip
        yield name, f"postgres://postgres@127.0.0.1:{port}/wb_load_fault"
    finally:
        drop()


@pytest.mark.postgres("restarting a PostgreSQL server under load")
def test_a_postgres_restart_mid_load_fails_cleanly_and_loses_nothing(
    tmp_path: Path, scratch_cluster: tuple[str, str]
) -> None:
    cluster, db_url = scratch_cluster
    result = run_load(db_url, tmp_path / "fault.json", "--fault", "pg-restart", "--cluster",
                      cluster, "--fault-at", "5", "--duration", "16")  # fmt: skip
    assert_held(result)
    fault = result["fault"]
    assert fault["restarted"] is True
    # Requests during the outage got 503 (or a refused connection), never a 500.
    assert set(fault["errors_in_window"]) <= {"503", "0"}, fault
    assert fault["recovered_after_s"] is not None and fault["recovered_after_s"] <= 10
    inv = result["invariants"]
    # Nothing accepted is lost; extra rows only from answers lost in the outage.
    assert inv["accepted_submissions"] <= inv["verdicts_in_db"]
    assert inv["verdicts_in_db"] <= inv["accepted_submissions"] + inv["unknown_outcomes"]
