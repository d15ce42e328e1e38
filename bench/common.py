"""Shared helpers of the benchmarks: Django set-up against a benchmark database, timing,
percentiles, peak RSS, and the one-JSON-line-per-measurement result format.

Every bench script does::

    args = common.parser("reader").parse_args()
    common.setup_django(args.db)          # before importing any model
    ...
    common.emit("reader", dataset="BOOK", db=args.db, metric="first_window", **figures)

``emit`` prints the line and appends it to ``bench/results/<bench>.jsonl``. A line is
``{"bench", "dataset", "db", "metric", ..., "date", "machine"}``; times are in
milliseconds (``*_ms``), sizes in bytes or MB as the key says.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DB = f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
# A key only for the benchmark process; never a deployment's.
BENCH_SECRET_KEY = "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


# --- command line and Django ------------------------------------------------------------------


def parser(bench: str, description: str = "") -> argparse.ArgumentParser:
    """The options every bench script takes: ``--db``, ``--quick``, ``--runs``, ``--seed``,
    ``--no-save`` (print only) and ``--label`` (a free note stored with each line)."""
    p = argparse.ArgumentParser(prog=f"python -m bench.{bench}", description=description)
    p.add_argument(
        "--db",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        help="Benchmark database URL (postgres://… or sqlite:///…); "
        "default $BENCH_DATABASE_URL or var/bench.sqlite3. Never point it at real data.",
    )
    p.add_argument("--quick", action="store_true", help="Small smoke sizes, few runs.")
    p.add_argument("--runs", type=int, default=None, help="Timed runs per measurement (≥ 30).")
    p.add_argument("--seed", type=int, default=1, help="Generator seed.")
    p.add_argument("--no-save", action="store_true", help="Print the lines, don't append them.")
    p.add_argument("--label", default="", help="A note stored with every line (e.g. a commit).")
    return p


def setup_django(db_url: str, *, migrate: bool = True) -> None:
    """Configure Django for ``db_url`` (DEBUG off, a bench-only SECRET_KEY), create the
    PostgreSQL database if it does not exist, and migrate it."""
    if db_url.startswith(("postgres://", "postgresql://")):
        _create_pg_database(db_url)
    os.environ["DATABASE_URL"] = db_url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    # The client speaks plain http; secure cookies would still be sent by the test client,
    # but keep the process honest about what it measures.
    os.environ.setdefault("SECURE_COOKIES", "0")
    # Long runs (generation, 1M-row export) must not hit the app's 30 s statement timeout.
    os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _create_pg_database(db_url: str) -> None:
    import psycopg

    url = db_url.replace("postgres://", "postgresql://", 1)
    base, _, rest = url.rpartition("/")
    name = rest.split("?", 1)[0]
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"benchmark database name must be [A-Za-z0-9_]+, got {name!r}")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def db_vendor(db_url: str) -> str:
    return "postgresql" if db_url.startswith(("postgres://", "postgresql://")) else "sqlite"


def psycopg_url(db_url: str) -> str:
    return db_url.replace("postgres://", "postgresql://", 1)


# --- timing -----------------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0–100) with linear interpolation between closest ranks."""
    data = sorted(values)
    if not data:
        raise ValueError("percentile of no values")
    if len(data) == 1:
        return data[0]
    rank = (len(data) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def summary_ms(samples_ms: list[float]) -> dict[str, float | int]:
    """median, p95, p99, min, max and the number of runs, rounded to 0.01 ms."""
    return {
        "runs": len(samples_ms),
        "median_ms": round(statistics.median(samples_ms), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "p99_ms": round(percentile(samples_ms, 99), 2),
        "min_ms": round(min(samples_ms), 2),
        "max_ms": round(max(samples_ms), 2),
    }


def time_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(elapsed milliseconds, fn's result), by ``time.perf_counter``."""
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def repeat_ms(fn: Callable[[], Any], *, runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    return [time_ms(fn)[0] for _ in range(runs)]


def count_queries(fn: Callable[[], Any]) -> tuple[int, Any, list[str]]:
    """(number of queries, fn's result, their SQL) under ``CaptureQueriesContext``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result, [q["sql"] for q in ctx.captured_queries]


# --- memory -----------------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_mb() -> float:
    """Current resident set size (VmRSS) in MB."""
    return round(_status_kb("VmRSS") / 1024, 1)


def peak_rss_mb() -> float:
    """Peak resident set size (VmHWM; falls back to ru_maxrss) in MB."""
    try:
        return round(_status_kb("VmHWM") / 1024, 1)
    except (OSError, RuntimeError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5); False where unsupported,
    in which case measure in a fresh subprocess instead."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


# --- results ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="ascii") as handle:
            info["mem_gb"] = round(int(handle.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        import django
        from django.db import connection

        info["django"] = django.get_version()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                info["postgresql"] = cursor.fetchone()[0]
        elif connection.vendor == "sqlite":
            import sqlite3

            info["sqlite"] = sqlite3.sqlite_version
    except Exception:
        pass
    return info


_MACHINE: dict[str, Any] | None = None


def emit(
    bench: str,
    *,
    dataset: str,
    db: str,
    metric: str,
    save: bool = True,
    label: str = "",
    **figures: Any,
) -> dict[str, Any]:
    """Print one JSON line and (unless ``save`` is False) append it to
    ``bench/results/<bench>.jsonl``. ``db`` may be a URL: only the vendor is stored."""
    global _MACHINE
    if _MACHINE is None:
        _MACHINE = machine()
    line: dict[str, Any] = {
        "bench": bench,
        "dataset": dataset,
        "db": db if db in ("sqlite", "postgresql", "none") else db_vendor(db),
        "metric": metric,
        **figures,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": _MACHINE,
    }
    if label:
        line["label"] = label
    text = json.dumps(line, ensure_ascii=False, sort_keys=False)
    print(text, flush=True)
    if save:
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / f"{bench}.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return line


def runs_for(args: argparse.Namespace, default: int = 30, quick: int = 5) -> int:
    if args.runs:
        return args.runs
    return quick if args.quick else default


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the JSON lines."""
    print(message, file=sys.stderr, flush=True)
