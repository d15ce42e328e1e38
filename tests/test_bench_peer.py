"""The same-run peer comparison of bench/bench_peer.py: ratios against the faster peer and
the lines it prints (pure: no Workbench or peer server is started here; the bare floor's
test starts a server without Django on a free loopback port)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench import peers
from bench.bench_peer import commit_floor, format_floors, format_ratios, phase_ratios, ratio

pytestmark = pytest.mark.db_independent

OURS = {
    "PostgreSQL": {"import_s": 0.6, "span_req_per_s": 600.0, "fetch_one_ms": 2.0},
    "SQLite": {"import_s": 0.05, "span_req_per_s": 150.0, "fetch_one_ms": 8.0},
}
PEERS = {
    "doccano": {"import_s": 2.7, "span_req_per_s": 115.0, "fetch_one_ms": 10.0},
    "label_studio": {"import_s": 0.3, "span_req_per_s": 11.5},  # no read figure
}


def row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


def test_ratio_is_how_many_times_better_ours_is() -> None:
    assert ratio(500.0, 100.0, "higher") == 5.0  # requests per second: more is better
    assert ratio(2.0, 10.0, "lower") == 5.0  # times: less is better
    assert ratio(20.0, 10.0, "lower") == 0.5


def test_it_compares_with_the_faster_peer_of_each_phase() -> None:
    rows = phase_ratios(OURS, PEERS)
    imports = row(rows, "import_s")
    assert imports["best_peer"] == "label_studio"  # 0.3 s beats doccano's 2.7 s
    assert imports["ratio"] == {"PostgreSQL": 0.5, "SQLite": 6.0}
    assert imports["met"] == {"PostgreSQL": False, "SQLite": True}
    spans = row(rows, "span_req_per_s")
    assert spans["best_peer"] == "doccano"  # 115 req/s beats Label Studio's 11.5
    assert spans["ratio"] == {"PostgreSQL": 5.22, "SQLite": 1.3}
    assert spans["met"] == {"PostgreSQL": True, "SQLite": False}


def test_a_peer_without_a_figure_is_left_out_of_that_phase() -> None:
    fetch = row(phase_ratios(OURS, PEERS), "fetch_one_ms")
    assert fetch["peers"] == {"doccano": 10.0}
    assert fetch["ratio"] == {"PostgreSQL": 5.0, "SQLite": 1.25}
    export = row(phase_ratios(OURS, PEERS), "export_s")  # nobody has it
    assert export["best_peer"] is None and export["ratio"] == {}


def test_the_lines_name_the_peer_the_ratio_and_the_skipped_peers() -> None:
    lines = format_ratios("N=500 K=6", phase_ratios(OURS, PEERS), {"label_studio": "K=20 skipped"})
    assert lines[0] == "N=500 K=6"
    spans = next(line for line in lines if line.lstrip().startswith("span POSTs"))
    assert "doccano 115.0 req/s" in spans and "Label Studio 11.5 req/s" in spans
    assert "vs doccano: PostgreSQL 5.22x (5x met), SQLite 1.30x" in spans
    assert lines[-1] == "  Label Studio not run: K=20 skipped"


def test_without_peers_there_are_no_ratios() -> None:
    rows = phase_ratios(OURS, {})
    assert all(r["best_peer"] is None and not r["ratio"] for r in rows)
    assert "vs" not in "".join(format_ratios("t", rows, {}))


def test_peers_are_found_only_where_installed(tmp_path: Path) -> None:
    assert peers.installed(None) == {}
    assert peers.installed(tmp_path) == {}
    (tmp_path / "doccano-venv/bin").mkdir(parents=True)
    (tmp_path / "doccano-venv/bin/doccano").touch()
    assert peers.installed(tmp_path) == {"doccano": tmp_path}


def test_the_floors_line_sets_each_floor_against_the_time_5x_leaves() -> None:
    ours = {
        "PostgreSQL": {"floor_401_ms": 1.1, "floor_commit_ms": 3.3},
        "SQLite": {"floor_401_ms": 1.2, "floor_commit_ms": 0.02},
    }
    line = format_floors(ours, PEERS)
    assert "PostgreSQL: a 401 1.10 ms, a durable commit 3.30 ms" in line
    assert "SQLite: a 401 1.20 ms, a durable commit 0.02 ms" in line
    # doccano's 115 req/s is the faster peer: 5x of it is 575 req/s, 1.74 ms a request
    assert line.endswith("5x the faster peer's span POSTs leaves 1.74 ms a request")
    assert "leaves" not in format_floors(ours, {})
    assert "no Django" not in line
    with_bare = format_floors(ours, PEERS, 0.151)
    assert with_bare.startswith("  floors        no Django (bench.bare_asgi): a 401 0.15 ms; ")


def test_the_bare_floor_times_a_401_from_an_app_without_django() -> None:
    # A real server on a free loopback port (bench.bare_asgi under bin/serve's worker
    # class), started, timed and stopped: it must answer every request with the 401.
    from bench.bench_peer import bare_floor
    from bench.serve import tree_pids

    before = set(tree_pids(os.getpid()))
    assert 0 < bare_floor(20) < 1000
    assert set(tree_pids(os.getpid())) <= before  # the server is gone


def test_the_commit_floor_writes_commits_and_cleans_up(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "floor.sqlite3"
    assert commit_floor(f"sqlite:///{path}", 20) > 0
    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert tables == [] and mode == "wal"  # the scratch table is gone; WAL as the app runs


def test_the_wall_profile_splits_a_request_threads_time(tmp_path: Path) -> None:
    from bench.bench_peer import SPY_RATE, summarize_wall

    handler = (
        "Thread.run (threading.py:1);BaseHandler.get_response (django/core/handlers/base.py:140)"
    )
    execute = "CursorWrapper._execute (django/db/backends/utils.py:105)"
    lines = [
        # blocked on PostgreSQL's answer
        f"{handler};{execute};Cursor.execute (psycopg/cursor.py:113);Connection.wait (psycopg/connection.py:495) 50",
        # the driver's own Python
        f"{handler};{execute};Cursor.execute (psycopg/cursor.py:113);BaseCursor._execute_gen (psycopg/_cursor_base.py:206) 10",
        # SQLite's engine, in process; and a commit
        f"{handler};{execute};SQLiteCursorWrapper.execute (django/db/backends/sqlite3/base.py:354) 20",
        f"{handler};BaseDatabaseWrapper._commit (django/db/backends/base/base.py:306) 5",
        # Python
        f"{handler};SQLCompiler.as_sql (django/db/models/sql/compiler.py:700) 15",
        # not under Django's handler: the event loop, an idle thread
        "Server.serve (uvicorn/server.py:70);select (selectors.py:468) 400",
        "Thread.run (threading.py:1);Condition.wait (threading.py:355) 300",
        "a line that is not a sample",
    ]
    path = tmp_path / "wall.txt"
    path.write_text("\n".join(lines) + "\n")
    requests = 4
    ms = 1000 / SPY_RATE / requests  # one sample of one request's thread
    wall = summarize_wall(path, requests)
    assert wall["django_ms"] == round(100 * ms, 3)
    assert wall["database_wait_ms"] == round(50 * ms, 3)
    assert wall["database_driver_ms"] == round(35 * ms, 3)
    assert wall["python_ms"] == round(15 * ms, 3)
    assert wall["raw"] == str(path.resolve())
    assert summarize_wall(tmp_path / "missing.txt", 1) == {"error": "no profile written"}


def test_a_budget_sets_each_phase_against_the_time_5x_the_faster_peer_leaves() -> None:
    from bench.bench_peer import format_budgets, phase_budgets

    ours = {
        "PostgreSQL": {
            "span_req_per_s": 160.0, "fetch_one_ms": 2.8, "import_s": 0.3,
            "floor_401_ms": 1.1, "floor_commit_ms": 0.45,
            "spans_database_wait_ms": 1.2, "fetch_database_wait_ms": 0.8,
            "floor_import_parse_ms": 13.0, "floor_import_store_ms": 65.0,
        },
        "SQLite": {
            "span_req_per_s": 250.0, "fetch_one_ms": 2.0, "import_s": 0.35,
            "floor_401_ms": 1.1, "floor_commit_ms": 0.02,
            "fetch_database_wait_ms": 0.0, "fetch_database_driver_ms": 0.3,
        },
    }  # fmt: skip
    peers = {
        "doccano": {"span_req_per_s": 100.0, "fetch_one_ms": 12.5, "import_s": 1.8},
        "label_studio": {"span_req_per_s": 11.0, "fetch_one_ms": 130.0, "import_s": 0.2},
    }
    rows = {r["phase"]: r for r in phase_budgets(ours, peers)}
    spans = rows["span POSTs"]
    # doccano's 100 req/s is 10 ms a POST; 5x of it leaves 2 ms
    assert (spans["best_peer"], spans["budget_ms"]) == ("doccano", 2.0)
    assert spans["ours_ms"] == {"PostgreSQL": 6.25, "SQLite": 4.0}
    # the profiled wait on PostgreSQL is taken over the commit; SQLite has no profile
    assert spans["floor_parts"]["PostgreSQL"] == {"a 401": 1.1, "waiting on the database": 1.2}
    assert spans["floor_parts"]["SQLite"] == {"a 401": 1.1, "a durable commit": 0.02}
    assert spans["floor_over_budget"] == {"PostgreSQL": True, "SQLite": False}
    read = rows["read one doc"]
    assert (read["best_peer"], read["budget_ms"]) == ("doccano", 2.5)
    # no commit for a read; SQLite's engine runs in the request's thread, in the driver
    assert read["floor_parts"]["SQLite"] == {"a 401": 1.1, "SQLite's engine": 0.3}
    assert read["floor_ms"] == {"PostgreSQL": 1.9, "SQLite": 1.4}
    assert read["floor_over_budget"] == {"PostgreSQL": False, "SQLite": False}
    imports = rows["import N docs"]
    assert (imports["best_peer"], imports["budget_ms"]) == ("label_studio", 40.0)
    assert imports["floor_ms"] == {"PostgreSQL": 78.0}  # SQLite's floor was not measured
    assert imports["floor_over_budget"] == {"PostgreSQL": True}
    lines = format_budgets(list(rows.values()))
    assert lines[0] == (
        "  span POSTs    5x doccano leaves 2 ms; PostgreSQL 6.25 ms, at least 2.3 (a 401 1.1 + "
        "waiting on the database 1.2): over the budget before any of our Python | SQLite 4 ms, "
        "at least 1.12 (a 401 1.1 + a durable commit 0.02)"
    )
    assert lines[2].startswith("  import N docs 5x Label Studio leaves 40 ms; PostgreSQL 300 ms")
    # without peers: ours and the floors, no budget
    alone = phase_budgets(ours, {})
    assert all(r["budget_ms"] is None and not r["floor_over_budget"] for r in alone)
    assert format_budgets(alone)[0].startswith("  span POSTs    PostgreSQL 6.25 ms, at least 2.3")


def test_the_import_floor_parses_the_bodies_stores_the_texts_and_cleans_up(
    tmp_path: Path,
) -> None:
    import json
    import sqlite3

    from bench.bench_peer import import_floor

    path = tmp_path / "floor.sqlite3"
    bodies = [json.dumps([{"project": 1, "text": "word " * 2000}] * 50).encode()] * 2
    figures = import_floor(f"sqlite:///{path}", bodies, repeats=2)
    assert set(figures) == {"floor_import_parse_ms", "floor_import_store_ms"}
    assert all(ms > 0 for ms in figures.values())
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []
    # a failed store leaves no scratch table behind: the next call measures again
    with pytest.raises(sqlite3.Error):
        import_floor(f"sqlite:///{path}", [json.dumps([{"text": ["not", "a", "text"]}]).encode()])
    assert import_floor(f"sqlite:///{path}", bodies, repeats=1)["floor_import_store_ms"] > 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []
