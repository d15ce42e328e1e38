"""The peer workload of shared/research/peer-bench.md, against a real server over HTTP.

One sequential client on one keep-alive connection drives the server on 127.0.0.1 as a user
deploys it (``bin/serve`` with its defaults, started by bench/serve.py; ``--server gthread``
for gunicorn WSGI workers instead), on SQLite and on PostgreSQL, through the public API
with a token:

a. create a project;
b. import N documents, each the sample article (fixtures/seed/sample_article.txt,
   11,983 code points) followed by ``\\n\\n[doc 000123]``, as bulk POSTs of at most
   1,000 documents (``POST /api/v1/documents/`` with a JSON list);
c. create K span claims per document, one ``POST /api/v1/claims/`` each: deterministic
   offsets 20-200 code points long, every third span starting inside the previous one;
d. read the middle document with its claims (``GET /documents/{id}/?include=claims``),
   repeated, median;
e. export the project (``GET /projects/{id}/export/?format=jsonl``), checking the
   claim count;
f. the server's memory: peak summed VmRSS of the gunicorn tree sampled every 0.25 s,
   and its CPU time.

    .venv/bin/python -m bench.bench_peer --quick                  # N=50, K=6, both databases
    .venv/bin/python -m bench.bench_peer                          # N=500 with K=20 and K=6
    .venv/bin/python -m bench.bench_peer --dbs postgresql -n 500 -k 6 --repeats 3

With the peers (doccano 1.8.4 and Label Studio 1.23.2 installed outside the repository,
see bench/peers.py for how), the same run also starts each of them on a free loopback
port, drives the same workload through its API (the same documents, spans, repeats and
checks), stops it, and prints per phase Workbench's figures (PostgreSQL, SQLite), each
peer's, and Workbench's ratio against the faster peer with the 5x target:

    WB_PEERS=/work/peers .venv/bin/python -m bench.bench_peer -n 500 -k 6,20
    .venv/bin/python -m bench.bench_peer --peers /work/peers -n 500 -k 6 --only-peers doccano

Label Studio runs only the K values of ``--label-studio-k`` (6: its span POSTs take
~90 ms, so K=20 at N=500 is ~15 minutes); every system's run is cut off after
``--budget`` seconds (1,200); a peer not installed, not started or cut off is reported
as not run, with the reason, and Workbench's run goes on as without peers.

Each phase prints one JSON line (and appends it to bench/results/peer.jsonl); a summary
line per (db, N, K) compares with the targets and the peer-bench.md figures; with peers,
each peer's run is a ``peer_run`` line (``system`` names it) and a ``peer_compare`` line
per K holds the same-run ratios, which also go to stderr as one line per phase.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common, peers, serve  # noqa: E402

BENCH = "peer"
DB_URLS = {
    "sqlite": f"sqlite:///{ROOT / 'var' / 'wb_peer.sqlite3'}",
    "postgresql": "postgres://postgres@127.0.0.1:5432/wb_peer",
}
# The targets (5x the best peer, and a memory cap).
TARGETS = {
    "import_500_docs_s": 0.044,
    "span_req_per_s": 465.0,
    "span_p50_ms": 2.0,
    "fetch_one_ms": 3.6,
    "export_3000_spans_s": 0.26,
    "server_rss_mb": 150.0,
}
# peer-bench.md: Label Studio 1.23.2 (Django dev server, SQLite) and doccano 1.8.4
# (gunicorn 5 workers + Celery, SQLite), same workload, same machine type.
PEERS: dict[tuple[int, int], dict[str, dict[str, float]]] = {
    (50, 20): {
        "label_studio": {"import_s": 0.107, "span_req_per_s": 10.9, "span_p50_ms": 91.8,
                         "fetch_one_ms": 128.0, "export_s": 0.275, "peak_rss_mb": 349.5},
        "doccano": {"import_s": 0.668, "span_req_per_s": 84.1, "span_p50_ms": 11.6,
                    "fetch_one_ms": 15.1, "export_s": 0.969, "peak_rss_mb": 1344.7},
    },
    (500, 6): {
        "label_studio": {"import_s": 0.220, "span_req_per_s": 11.3, "span_p50_ms": 87.7,
                         "fetch_one_ms": 100.0, "export_s": 1.545, "peak_rss_mb": 400.0},
        "doccano": {"import_s": 2.076, "span_req_per_s": 93.0, "span_p50_ms": 10.4,
                    "fetch_one_ms": 18.0, "export_s": 1.312, "peak_rss_mb": 1500.9},
    },
    (500, 20): {
        "doccano": {"import_s": 2.744, "span_req_per_s": 84.2, "span_p50_ms": 11.3,
                    "fetch_one_ms": 19.0, "export_s": 1.679, "peak_rss_mb": 1763.2},
    },
}  # fmt: skip


# --- workload ---------------------------------------------------------------------------------


def article() -> str:
    return (ROOT / "fixtures/seed/sample_article.txt").read_text(encoding="utf-8")


def document_texts(n: int) -> list[str]:
    base = article()
    return [f"{base}\n\n[doc {i:06d}]" for i in range(n)]


def span_offsets(length: int, k: int, doc_index: int) -> list[tuple[int, int]]:
    """K deterministic spans 20-200 code points long; every third starts inside the
    previous one (overlapping pairs)."""
    rng = random.Random(f"peer-{doc_index}")
    spans: list[tuple[int, int]] = []
    for j in range(k):
        size = rng.randint(20, 200)
        if j % 3 == 2 and spans:
            prev_start, prev_end = spans[-1]
            start = rng.randint(prev_start + 1, prev_end - 1)
        else:
            start = rng.randint(0, length - 201)
        spans.append((start, min(length, start + size)))
    return spans


class Client:
    """One keep-alive HTTP/1.1 connection (http.client), JSON in and out, a token."""

    def __init__(self, port: int, timeout: float = 300) -> None:
        self.conn = http.client.HTTPConnection(serve.HOST, port, timeout=timeout)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.reconnects = 0

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        all_headers = {**self.headers, **(headers or {})}
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the kept-alive connection between two requests (a worker
            # recycled with MAX_REQUESTS, or the keep-alive timeout): a browser or client library opens a
            # new one and sends again; so does this client, once. The request had not been
            # answered; were it a POST the server had processed, the retry would get a 409.
            self.conn.close()
            self.reconnects += 1
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        data = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()  # reconnects on the next request; counted by `reconnects`
            self.reconnects += 1
        return response.status, data

    def json(self, method: str, path: str, payload: Any = None, *, expect: int = 200) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = self.request(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} {data[:500]!r}")
        return json.loads(data) if data else None

    def login(self) -> None:
        token = self.json(
            "POST",
            "/api/v1/auth/token/",
            {"username": serve.BENCH_USER, "password": serve.BENCH_PASSWORD},
        )["token"]
        self.headers["Authorization"] = f"Token {token}"


def trees_rss_mb(roots: list[int]) -> float:
    """Summed VmRSS of the process trees under ``roots`` (a server and, for doccano, its
    Celery worker), in MB."""
    return round(sum(serve.tree_rss_mb(root) for root in roots), 1)


def trees_cpu_s(roots: list[int]) -> float:
    return sum(serve.tree_cpu_s(root) for root in roots)


class RssSampler(threading.Thread):
    """Peak summed VmRSS of the server trees, sampled every ``interval`` seconds."""

    def __init__(self, roots: list[int], interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.roots, self.interval = roots, interval
        self.peak = 0.0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, trees_rss_mb(self.roots))
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, trees_rss_mb(self.roots))
        return self.peak


class SpyProfile:
    """py-spy sampling the gunicorn worker during one phase (raw collapsed stacks)."""

    def __init__(self, pid: int, label: str, directory: Path, *, wall: bool = False) -> None:
        import subprocess

        directory.mkdir(parents=True, exist_ok=True)
        self.wall = wall
        self.path = directory / f"{label}{'_wall' if wall else ''}.txt"
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(pid), "--rate", str(SPY_RATE),
             "--format", "raw", "--output", str(self.path), "--nonblocking",
             *(["--idle"] if wall else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)  # attached

    def stop(self, requests: int) -> dict[str, Any]:
        import signal

        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        if self.wall:
            return summarize_wall(self.path, requests)
        return summarize_stacks(self.path)


SPY_RATE = 250  # samples per second and thread


# Where a request thread's wall time goes (``--profile-wall``: py-spy --idle, which also
# samples threads blocked in a system call). A leaf frame in the database driver: the
# driver's own Python, or, for ``Connection.wait``, the thread blocked on PostgreSQL's
# answer (the server parsing, planning and executing the statement, and the round trip);
# on SQLite the engine runs inside the cursor's ``execute`` (and the commit), in process.
DATABASE_WAIT = "psycopg/connection.py:wait"
DATABASE_LEAVES = (
    "psycopg/",
    "psycopg_pool/",
    "django/db/backends/sqlite3/base.py:execute",
    "django/db/backends/sqlite3/base.py:executemany",
    "django/db/backends/base/base.py:_commit",
    "django/db/backends/base/base.py:_rollback",
)


def summarize_wall(path: Path, requests: int) -> dict[str, Any]:
    """Milliseconds per request of wall time inside Django's handler (every sample of a
    thread under ``get_response``, blocked or not), split into waiting on PostgreSQL,
    the database driver otherwise (SQLite's engine included) and the rest (Python)."""
    if not path.exists():
        return {"error": "no profile written"}
    django = database = waiting = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = [_frame_key(f) for f in stack.split(";")]
        if not any(_matches(key, "django/core/handlers/base.py:get_response") for key in frames):
            continue
        count = int(count_text)
        django += count
        leaf = frames[-1]
        if _matches(leaf, DATABASE_WAIT):
            waiting += count
        elif leaf.startswith(DATABASE_LEAVES[:2]) or any(
            _matches(leaf, needle) for needle in DATABASE_LEAVES[2:]
        ):
            database += count
    per_request = 1000 / SPY_RATE / max(requests, 1)
    return {
        "requests": requests,
        "django_ms": round(django * per_request, 3),
        "database_wait_ms": round(waiting * per_request, 3),
        "database_driver_ms": round(database * per_request, 3),
        "python_ms": round((django - waiting - database) * per_request, 3),
        "raw": _shown(path),
    }


# Inclusive share of the worker's busy samples spent under each of these frames. Django's
# sync handler runs every request under WSGI (gthread) and under bin/serve's ASGI handler
# alike (workbench.handlers: the middleware chain and the view in one hop).
BUCKETS = {
    "server_outside_django": None,  # computed: busy - Django's handler
    "django_middleware_outside_drf": None,  # computed: Django's handler - DRF dispatch
    "django_handler": "django/core/handlers/base.py:get_response",
    "drf_dispatch": "rest_framework/views.py:dispatch",
    "token_auth": "knox/auth.py:authenticate_credentials",
    "permissions_throttles": "rest_framework/views.py:check_permissions",
    "request_parse_validate": "annotations/api/views/_common.py:parse_body",
    "document_lookup": "annotations/access.py:document_get_for_user",
    "claim_create_service": "annotations/services/claims.py:_claim_create",
    "event_record": "annotations/services/_base.py:event_record",
    "claims_presented": "annotations/selectors/review.py:claims_presented",
    "serializer_to_representation": "rest_framework/serializers.py:data",
    "modelserializer_get_fields": "rest_framework/serializers.py:get_fields",
    "json_render": "rest_framework/renderers.py:render",
    "orm_sql_compile": "django/db/models/sql/compiler.py:as_sql",
    "db_driver_execute": "django/db/backends/utils.py:_execute",
    "transaction_commit": "django/db/transaction.py:__exit__",
    "export_rows": "annotations/selectors/export.py:project_rows",
}


def summarize_stacks(path: Path) -> dict[str, Any]:
    """Shares (%) of busy samples: inclusive per bucket, and the top self frames."""
    total = 0
    inclusive = dict.fromkeys(BUCKETS, 0)
    self_time: dict[str, int] = {}
    if not path.exists():
        return {"error": "no profile written"}
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        # gunicorn's idle loop is not work
        if "select (selectors.py" in frames[-1] or "wait_for_and_dispatch_events" in frames[-1]:
            continue
        total += count
        normalized = [_frame_key(f) for f in frames]
        for name, needle in BUCKETS.items():
            if needle and any(_matches(key, needle) for key in normalized):
                inclusive[name] += count
        leaf = normalized[-1]
        self_time[leaf] = self_time.get(leaf, 0) + count
    if not total:
        return {"busy_samples": 0}
    inclusive["server_outside_django"] = total - inclusive["django_handler"]
    inclusive["django_middleware_outside_drf"] = (
        inclusive["django_handler"] - inclusive["drf_dispatch"]
    )
    top = sorted(self_time.items(), key=lambda kv: -kv[1])[:12]
    return {
        "busy_samples": total,
        "inclusive_pct": {k: round(100 * v / total, 1) for k, v in inclusive.items()},
        "top_self_pct": {k: round(100 * v / total, 1) for k, v in top},
        "raw": _shown(path),
    }


def _shown(path: Path) -> str:
    """The profile's path, relative to the repository when it is inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _matches(key: str, needle: str) -> bool:
    """'file.py:Class.method' matches the needle 'file.py:method' (or 'file.py:function')."""
    file, _, function = key.rpartition(":")
    want_file, _, want_function = needle.rpartition(":")
    return file.endswith(want_file) and (
        function == want_function or function.endswith("." + want_function)
    )


def _frame_key(frame: str) -> str:
    """'function (path/to/file.py:123)' -> 'path/to/file.py:function' (site-packages trimmed)."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    for marker in ("site-packages/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{file}:{name}"


def db_version(db: str) -> str:
    if db == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(DB_URLS[db].replace("postgres://", "postgresql://", 1)) as conn:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]


class System(Protocol):
    """What ``drive`` needs of a system: WorkbenchSystem and bench/peers.py's adapters."""

    name: str
    client: Any  # a started system's Client

    def roots(self) -> list[int]: ...
    def version(self) -> str: ...
    def create_project(self, title: str) -> int: ...
    def import_bodies(self, project: int, texts: list[str]) -> list[bytes]: ...
    def import_documents(self, project: int, bodies: list[bytes]) -> list[tuple[int, int]]: ...
    def span_requests(
        self, project: int, document: int, spans: list[tuple[int, int]], text: str
    ) -> list[tuple[str, str, bytes]]: ...
    def fetch(self, project: int, document: int) -> tuple[int, int]: ...
    def export(self, project: int) -> tuple[int, int]: ...
    def profile(self, label: str) -> SpyProfile | None: ...
    def extras(self, project: int) -> dict[str, Any]: ...


class WorkbenchSystem:
    """Workbench under gunicorn (bench/serve.py) on a fresh database: the system the
    generic driver (``drive``) measures, like the peers' adapters in bench/peers.py."""

    def __init__(self, db: str, args: argparse.Namespace) -> None:
        self.db, self.args = db, args
        self.name = f"workbench_{db}"
        self.server: serve.Server | None = None
        self.client: Client | None = None
        self.worker = 0

    # lifecycle

    def start(self) -> None:
        db_url = DB_URLS[self.db]
        self.args.port = self.args.port or peers.free_port()
        serve.reset_database(db_url)
        serve.prepare(db_url)
        self.server = serve.start(
            db_url,
            port=self.args.port,
            workers=self.args.workers,
            threads=self.args.threads,
            worker_tmp_dir=self.args.worker_tmp_dir or None,
            bin_serve=self.args.server == "bin-serve",
        )
        self.worker = next(p for p in serve.tree_pids(self.server.pid) if p != self.server.pid)
        self.client = Client(self.args.port)
        self.client.login()
        # warm the worker (first request imports and compiles lazily) outside the timings
        self.client.json("GET", "/api/v1/projects/")

    def stop(self) -> None:
        if self.client:
            self.client.conn.close()
        if self.server:
            serve.stop(self.server)

    def roots(self) -> list[int]:
        assert self.server
        return [self.server.pid]

    def version(self) -> str:
        return db_version(self.db)

    # the workload

    def create_project(self, title: str) -> int:
        assert self.client
        return int(self.client.json("POST", "/api/v1/projects/", {"name": title}, expect=201)["id"])

    def import_bodies(self, project: int, texts: list[str]) -> list[bytes]:
        batch = self.args.batch
        return [
            json.dumps(
                [
                    {"project": project, "title": f"Peer doc {i:06d}", "text": texts[i]}
                    for i in range(lo, min(len(texts), lo + batch))
                ]
            ).encode()
            for lo in range(0, len(texts), batch)
        ]

    def import_documents(self, project: int, bodies: list[bytes]) -> list[tuple[int, int]]:
        assert self.client
        documents: list[tuple[int, int]] = []
        for body in bodies:
            status, data = self.client.request("POST", "/api/v1/documents/", body)
            if status != 201:
                raise RuntimeError(f"import: {status} {data[:500]!r}")
            documents.extend((doc["id"], doc["length"]) for doc in json.loads(data))
        return documents

    def span_requests(
        self, project: int, document: int, spans: list[tuple[int, int]], text: str
    ) -> list[tuple[str, str, bytes]]:
        return [
            (
                "POST",
                "/api/v1/claims/",
                json.dumps({"document": document, "start": s, "end": e}).encode(),
            )
            for s, e in spans
        ]

    def fetch(self, project: int, document: int) -> tuple[int, int]:
        assert self.client
        status, data = self.client.request("GET", f"/api/v1/documents/{document}/?include=claims")
        if status != 200:
            raise RuntimeError(f"fetch: {status}")
        return len(json.loads(data)["claims"]), len(data)

    def export(self, project: int) -> tuple[int, int]:
        assert self.client
        status, data = self.client.request(
            "GET", f"/api/v1/projects/{project}/export/?format=jsonl"
        )
        if status != 200:
            raise RuntimeError(f"export: {status} {data[:300]!r}")
        return len(data.decode().splitlines()), len(data)

    # Workbench only

    def profile(self, label: str) -> SpyProfile | None:
        if not (self.args.profile or self.args.profile_wall):
            return None
        return SpyProfile(
            self.worker, label, common.RESULTS / "profiles", wall=self.args.profile_wall
        )

    def extras(self, project: int) -> dict[str, Any]:
        # the per-request floor: a 401 (middleware + DRF, no database) and a project read
        # (token lookup + one membership query + a small serializer)
        assert self.client
        figures: dict[str, Any] = floor(self.client, project, self.args.floor_repeats)
        figures["floor_commit_ms"] = commit_floor(DB_URLS[self.db], self.args.floor_repeats)
        figures["reconnects"] = self.client.reconnects
        return figures


def run_workload(db: str, n: int, k: int, args: argparse.Namespace) -> dict[str, Any]:
    """One full run of Workbench on a fresh database and a fresh server."""
    system = WorkbenchSystem(db, args)
    system.start()
    try:
        return drive(system, n, k, args, title=f"Peer {db} {n}x{k}")
    finally:
        system.stop()


def drive(
    system: System, n: int, k: int, args: argparse.Namespace, *, title: str
) -> dict[str, Any]:
    """The workload against a started system (WorkbenchSystem or a bench/peers.py adapter):
    the same documents, spans, repeats and checks for every system; each request body is
    encoded before its phase's clock starts. Every loop is bounded by ``args.budget``
    seconds; a system over it raises ``peers.OverBudget``."""
    deadline = time.monotonic() + args.budget

    def check_budget(phase: str) -> None:
        if time.monotonic() > deadline:
            raise peers.OverBudget(f"{system.name}: over the {args.budget:.0f} s budget in {phase}")

    roots = system.roots()
    out: dict[str, Any] = {"n": n, "k": k, "system": system.name, "db_version": system.version()}
    out["loadavg_start"] = os.getloadavg()[0]  # the machine is shared: note how busy it was
    profiles: dict[str, Any] = {}

    def profiled(phase: str) -> SpyProfile | None:
        return system.profile(f"peer_{system.name}_n{n}_k{k}_{phase}")

    out["idle_rss_mb"] = trees_rss_mb(roots)
    cpu0 = trees_cpu_s(roots)
    sampler = RssSampler(roots)
    sampler.start()
    try:
        run_started = time.perf_counter()

        # a. project
        t0 = time.perf_counter()
        project = system.create_project(title)
        out["create_project_s"] = round(time.perf_counter() - t0, 4)

        # b. import, bodies encoded before the clock starts
        texts = document_texts(n)
        bodies = system.import_bodies(project, texts)
        spy = profiled("import")
        t0 = time.perf_counter()
        documents = system.import_documents(project, bodies)
        out["import_s"] = round(time.perf_counter() - t0, 4)
        if spy:
            profiles["import"] = spy.stop(len(bodies))
        out["import_docs_per_s"] = round(n / out["import_s"], 1)
        out["import_requests"] = len(bodies)
        out["import_body_mb"] = round(sum(len(b) for b in bodies) / 1e6, 2)
        assert len(documents) == n, len(documents)

        # c. spans, one request each
        requests = [
            request
            for index, (doc, length) in enumerate(documents)
            for request in system.span_requests(
                project, doc, span_offsets(length, k, index), texts[index]
            )
        ]
        client = system.client
        latencies: list[float] = []
        spy = profiled("spans")
        t0 = time.perf_counter()
        for count, (method, path, body) in enumerate(requests):
            t1 = time.perf_counter()
            status, data = client.request(method, path, body)
            latencies.append(time.perf_counter() - t1)
            if status != 201:
                raise RuntimeError(f"span: {status} {data[:500]!r}")
            if count % 100 == 99:
                check_budget("spans")
        spans_s = time.perf_counter() - t0
        if spy:
            profiles["spans"] = spy.stop(len(requests))
        ms = [v * 1000 for v in latencies]
        out.update(
            spans=len(requests),
            spans_s=round(spans_s, 3),
            span_req_per_s=round(len(requests) / spans_s, 1),
            span_p50_ms=round(statistics.median(ms), 3),
            span_p95_ms=round(common.percentile(ms, 95), 3),
            span_p99_ms=round(common.percentile(ms, 99), 3),
            span_max_ms=round(max(ms), 3),
            span_first100_p50_ms=round(statistics.median(ms[:100]), 3),
            span_last100_p50_ms=round(statistics.median(ms[-100:]), 3),
        )

        # d. one document with its spans
        middle = documents[n // 2][0]
        for _ in range(3):
            system.fetch(project, middle)
        fetch: list[float] = []
        spy = profiled("fetch")
        for _ in range(args.fetch_repeats * (4 if spy else 1)):
            t1 = time.perf_counter()
            fetched, fetch_bytes = system.fetch(project, middle)
            fetch.append((time.perf_counter() - t1) * 1000)
            check_budget("fetch")
        if spy:
            profiles["fetch"] = spy.stop(len(fetch))
        assert fetched == k, fetched
        out.update(
            fetch_one_ms=round(statistics.median(fetch), 3),
            fetch_one_first15_ms=round(statistics.median(fetch[:15]), 3),
            fetch_one_p95_ms=round(common.percentile(fetch, 95), 3),
            fetch_repeats=len(fetch),
            fetch_bytes=fetch_bytes,
        )

        # e. export, median of a few
        export_s: list[float] = []
        spy = profiled("export")
        for _ in range(args.export_repeats):
            t1 = time.perf_counter()
            exported, export_bytes = system.export(project)
            export_s.append(time.perf_counter() - t1)
            check_budget("export")
        if spy:
            profiles["export"] = spy.stop(len(export_s))
        out.update(
            export_s=round(statistics.median(export_s), 4),
            export_first_s=round(export_s[0], 4),
            export_bytes=export_bytes,
            export_claims=exported,
            export_ok=exported == n * k,
        )
        out.update(system.extras(project))

        # f. memory and CPU
        out["run_s"] = round(time.perf_counter() - run_started, 2)
        out["loadavg_end"] = os.getloadavg()[0]
    finally:
        out["peak_rss_mb"] = sampler.stop()
    out["rss_samples"] = sampler.samples
    out["server_cpu_s"] = round(trees_cpu_s(roots) - cpu0, 2)
    out["server_processes"] = sum(len(serve.tree_pids(root)) for root in roots)
    if profiles:
        out["profile"] = profiles
    return out


def floor(client: Client, project_id: int, repeats: int) -> dict[str, float]:
    """Median latency of the cheapest requests: what every API call pays before its work."""
    figures = {}
    anonymous = Client(client.conn.port)
    for name, who, path in (
        ("floor_401_ms", anonymous, "/api/v1/projects/"),
        ("floor_project_get_ms", client, f"/api/v1/projects/{project_id}/"),
    ):
        samples = []
        for _ in range(repeats + 5):
            t0 = time.perf_counter()
            status, _ = who.request("GET", path)
            samples.append((time.perf_counter() - t0) * 1000)
            assert status in (200, 401), status
        figures[name] = round(statistics.median(samples[5:]), 3)
    anonymous.conn.close()
    return figures


def bare_floor(repeats: int) -> float:
    """Median milliseconds of the 401 of ``floor`` from an ASGI app without Django
    (``bench.bare_asgi``) under the server ``bin/serve`` runs, with the same client: what
    the HTTP server, loopback and client cost a request before any of Workbench's work."""
    server = serve.start_bare(port=peers.free_port())
    try:
        client = Client(server.port)
        samples = []
        for _ in range(repeats + 5):
            t0 = time.perf_counter()
            status, _ = client.request("GET", "/api/v1/projects/")
            samples.append((time.perf_counter() - t0) * 1000)
            assert status == 401, status
        client.conn.close()
        return round(statistics.median(samples[5:]), 3)
    finally:
        serve.stop(server)


def commit_floor(db_url: str, repeats: int) -> float:
    """Median milliseconds of the cheapest durable write on the server's database: insert
    one row into a scratch table and commit, from this process. Every writing request pays
    at least this once (its transaction's COMMIT). PostgreSQL as configured (the WAL is
    flushed at COMMIT: ``synchronous_commit`` on); SQLite with the app's PRAGMAs (WAL,
    ``synchronous=NORMAL``: workbench/settings.py), which syncs at checkpoints only."""
    import sqlite3

    import psycopg

    conn: Any
    if db_url.startswith("sqlite:///"):
        # autocommit mode: each statement below is its own transaction, as COMMIT makes it
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        write = ("BEGIN IMMEDIATE", "INSERT INTO bench_commit_floor VALUES (1)", "COMMIT")
    else:
        conn = psycopg.connect(db_url.replace("postgres://", "postgresql://", 1), autocommit=True)
        write = ("BEGIN", "INSERT INTO bench_commit_floor VALUES (1)", "COMMIT")
    samples = []
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_floor (x integer)")
        for _ in range(repeats + 5):
            t0 = time.perf_counter()
            for statement in write:
                conn.execute(statement)
            samples.append((time.perf_counter() - t0) * 1000)
        conn.execute("DROP TABLE bench_commit_floor")
    finally:
        conn.close()
    return round(statistics.median(samples[5:]), 3)


FLOOR_TABLE = "bench_import_floor"


def import_floor(db_url: str, bodies: list[bytes], repeats: int = 3) -> dict[str, float]:
    """Median milliseconds of the least an import of these request bodies costs on the
    server's database, from this process: parsing the bodies (``json.loads``, the C
    decoder) and storing their texts as a document row does, each text twice (canonical
    and raw: identical here), in one transaction, into a scratch table without indexes.
    PostgreSQL: one binary ``COPY`` (as ``services._base.rows_copy`` sends a bulk import's
    documents), the text column ``STORAGE EXTERNAL`` and the raw text compressed with LZ4
    where the server has it, as migration 0025 sets the document table, and a durable
    commit (``synchronous_commit`` on). SQLite: one ``executemany`` with the app's PRAGMAs
    (WAL, ``synchronous=NORMAL``: no sync at the commit). No HTTP, no per-document Python,
    no hash, event or task: any server storing these texts pays it. The scratch table is
    dropped, also after a failure."""
    import sqlite3

    import psycopg

    parse: list[float] = []
    store: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        texts = [item["text"] for body in bodies for item in json.loads(body)]
        parse.append((time.perf_counter() - t0) * 1000)
        rows = [(index, text, text) for index, text in enumerate(texts)]
        if db_url.startswith("sqlite:///"):
            conn: Any = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
                conn.execute(f"CREATE TABLE {FLOOR_TABLE} (id integer, text text, raw_text text)")
                t0 = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(f"INSERT INTO {FLOOR_TABLE} VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
                store.append((time.perf_counter() - t0) * 1000)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
                conn.close()
            continue
        conn = psycopg.connect(db_url.replace("postgres://", "postgresql://", 1), autocommit=True)
        try:
            conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
            conn.execute(f"CREATE TABLE {FLOOR_TABLE} (id integer, text text, raw_text text)")
            conn.execute(f"ALTER TABLE {FLOOR_TABLE} ALTER COLUMN text SET STORAGE EXTERNAL")
            lz4 = conn.execute(
                "SELECT 'lz4' = ANY (enumvals) FROM pg_settings"
                " WHERE name = 'default_toast_compression'"
            ).fetchone()
            if lz4 and lz4[0]:
                conn.execute(f"ALTER TABLE {FLOOR_TABLE} ALTER COLUMN raw_text SET COMPRESSION lz4")
            t0 = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cursor,
                cursor.copy(f"COPY {FLOOR_TABLE} FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(["int4", "text", "text"])
                for row in rows:
                    copy.write_row(row)
            store.append((time.perf_counter() - t0) * 1000)
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
            conn.close()
    return {
        "floor_import_parse_ms": round(statistics.median(parse), 2),
        "floor_import_store_ms": round(statistics.median(store), 2),
    }


def compare(run: dict[str, Any]) -> dict[str, Any]:
    n, k = run["n"], run["k"]
    checks: dict[str, Any] = {
        "span_req_per_s": run["span_req_per_s"] >= TARGETS["span_req_per_s"],
        "span_p50_ms": run["span_p50_ms"] <= TARGETS["span_p50_ms"],
        "fetch_one_ms": run["fetch_one_ms"] <= TARGETS["fetch_one_ms"],
        "server_rss_mb": run["peak_rss_mb"] <= TARGETS["server_rss_mb"],
    }
    if n == 500:
        checks["import_500_docs_s"] = run["import_s"] <= TARGETS["import_500_docs_s"]
    if n * k == 3000:
        checks["export_3000_spans_s"] = run["export_s"] <= TARGETS["export_3000_spans_s"]
    peers = PEERS.get((n, k), {})
    ratios = {}
    for name, figures in peers.items():
        ratios[name] = {
            # > 1 means we are better (faster, smaller)
            "import": round(figures["import_s"] / run["import_s"], 2),
            "span_req_per_s": round(run["span_req_per_s"] / figures["span_req_per_s"], 2),
            "span_p50": round(figures["span_p50_ms"] / run["span_p50_ms"], 2),
            "fetch_one": round(figures["fetch_one_ms"] / run["fetch_one_ms"], 2),
            "export": round(figures["export_s"] / run["export_s"], 2),
            "peak_rss": round(figures["peak_rss_mb"] / run["peak_rss_mb"], 2),
        }
    return {"targets_met": checks, "peers": peers, "ours_vs_peer": ratios}


# --- same-run comparison with the peers (pure) ---------------------------------------------

# (phase, figure, which way is better, unit); the target: 5x the faster peer on each
PHASES = [
    ("import N docs", "import_s", "lower", "s"),
    ("span POSTs", "span_req_per_s", "higher", "req/s"),
    ("span p50", "span_p50_ms", "lower", "ms"),
    ("read one doc", "fetch_one_ms", "lower", "ms"),
    ("export", "export_s", "lower", "s"),
    ("peak RSS", "peak_rss_mb", "lower", "MB"),
    ("server CPU", "server_cpu_s", "lower", "s"),
]
TARGET_RATIO = 5.0
PEER_NAMES = {"doccano": "doccano", "label_studio": "Label Studio"}


def ratio(ours: float, peer: float, better: str) -> float:
    """How many times better ours is than ``peer`` (> 1: ours is faster or smaller)."""
    if better == "higher":
        return ours / peer if peer else float("inf")
    return peer / ours if ours else float("inf")


def phase_ratios(
    ours: dict[str, dict[str, float]], peers: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """Per phase: each system's figure, the faster peer, and each of ours' ratio against it.

    ``ours``: {"PostgreSQL": figures, "SQLite": figures}; ``peers``: {"doccano": figures, …};
    a peer without the figure (not run at this N, K) is left out of that phase."""
    rows = []
    for phase, key, better, unit in PHASES:
        have = {name: figures[key] for name, figures in peers.items() if key in figures}
        row: dict[str, Any] = {
            "phase": phase, "key": key, "unit": unit,
            "ours": {name: figures[key] for name, figures in ours.items() if key in figures},
            "peers": have, "best_peer": None, "ratio": {}, "met": {},
        }  # fmt: skip
        if have:
            pick = max if better == "higher" else min
            best = pick(have, key=lambda name: have[name])
            row["best_peer"] = best
            for name, value in row["ours"].items():
                row["ratio"][name] = round(ratio(value, have[best], better), 2)
                row["met"][name] = row["ratio"][name] >= TARGET_RATIO
        rows.append(row)
    return rows


def _figure(value: float, unit: str) -> str:
    if unit == "req/s" or value >= 100:
        return f"{value:,.1f} {unit}"
    return f"{value:.3g} {unit}" if value < 10 else f"{value:.1f} {unit}"


def format_ratios(title: str, rows: list[dict[str, Any]], skipped: dict[str, str]) -> list[str]:
    """Plain-text lines, one per phase: ours, each peer, the ratio against the faster peer
    and whether the 5x target is met; then the peers that were not run, and why."""
    lines = [title]
    for row in rows:
        parts = [f"{name} {_figure(v, row['unit'])}" for name, v in row["ours"].items()]
        parts += [
            f"{PEER_NAMES.get(n, n)} {_figure(v, row['unit'])}" for n, v in row["peers"].items()
        ]
        line = f"  {row['phase']:<13} " + " | ".join(parts)
        if row["ratio"]:
            verdicts = ", ".join(
                f"{name} {r:.2f}x{' (5x met)' if row['met'][name] else ''}"
                for name, r in row["ratio"].items()
            )
            line += f" || vs {PEER_NAMES.get(row['best_peer'], row['best_peer'])}: {verdicts}"
        lines.append(line)
    lines += [f"  {PEER_NAMES.get(n, n)} not run: {why}" for n, why in skipped.items()]
    return lines


def format_floors(
    ours: dict[str, dict[str, float]],
    peers: dict[str, dict[str, Any]],
    bare_ms: float | None = None,
) -> str:
    """One line: what each of our requests pays before its work (a 401, a durable commit
    on its database; ``bare_ms``: the same 401 from an app without Django under the same
    server) against the time per span POST that 5x the faster peer leaves."""
    parts = [] if bare_ms is None else [f"no Django (bench.bare_asgi): a 401 {bare_ms:.2f} ms"]
    parts += [
        f"{name}: a 401 {figures['floor_401_ms']:.2f} ms, a durable commit "
        f"{figures['floor_commit_ms']:.2f} ms"
        for name, figures in ours.items()
        if "floor_commit_ms" in figures
    ]
    rates = [figures["span_req_per_s"] for figures in peers.values() if "span_req_per_s" in figures]
    if rates:
        budget = 1000 / (TARGET_RATIO * max(rates))
        parts.append(f"5x the faster peer's span POSTs leaves {budget:.2f} ms a request")
    return "  floors        " + "; ".join(parts)


# The request phases' time per operation against what 5x the faster peer leaves, and the
# least of it that no change to Workbench's own Python can remove (``phase_budgets``):
# (phase, our figure, that figure as ms per operation, the profiled phase it is timed in).
def _per_second(value: float) -> float:
    return 1000 / value


def _ms(value: float) -> float:
    return value


def _seconds(value: float) -> float:
    return value * 1000


BUDGET_PHASES: list[tuple[str, str, Callable[[float], float], str]] = [
    ("span POSTs", "span_req_per_s", _per_second, "spans"),
    ("read one doc", "fetch_one_ms", _ms, "fetch"),
    ("import N docs", "import_s", _seconds, "import"),
]


def phase_budgets(
    ours: dict[str, dict[str, float]], peers: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """Per request phase: the milliseconds per operation that 5x the faster peer leaves
    (its figure, to ms per operation, / 5), ours, and the floor under ours, each part
    measured in the same run:

    * a span POST or a read: a 401 (the HTTP server and Django's handler, no database)
      plus the time the request's thread waited on PostgreSQL, or spent in SQLite's
      engine (``--profile-wall``), or, without a profile, plus a durable commit for a
      write;
    * an import: parsing its bodies and storing their texts (``import_floor``).

    A floor above the budget means no change to Workbench's Python, its framework or its
    queries' number can meet the target on this machine: the server, Django and the
    database's own work alone take longer."""
    rows = []
    for phase, key, per_op, profiled in BUDGET_PHASES:
        have = {name: per_op(figures[key]) for name, figures in peers.items() if key in figures}
        row: dict[str, Any] = {
            "phase": phase, "best_peer": None, "budget_ms": None, "ours_ms": {}, "floor_ms": {},
            "floor_parts": {}, "floor_over_budget": {},
        }  # fmt: skip
        if have:
            row["best_peer"] = min(have, key=lambda name: have[name])
            row["budget_ms"] = round(have[row["best_peer"]] / TARGET_RATIO, 3)
        for name, figures in ours.items():
            if key not in figures:
                continue
            row["ours_ms"][name] = round(per_op(figures[key]), 3)
            parts: dict[str, float] = {}
            if phase == "import N docs":
                if "floor_import_store_ms" in figures:
                    parts = {
                        "parsing the bodies": figures["floor_import_parse_ms"],
                        "storing the texts": figures["floor_import_store_ms"],
                    }
            elif "floor_401_ms" in figures:
                parts = {"a 401": figures["floor_401_ms"]}
                # PostgreSQL works in its own processes, the thread waits for it; SQLite's
                # engine runs in the thread, inside the driver's calls (summarize_wall)
                wait, what = (
                    (figures.get(f"{profiled}_database_driver_ms"), "SQLite's engine")
                    if name == "SQLite"
                    else (figures.get(f"{profiled}_database_wait_ms"), "waiting on the database")
                )
                if wait is not None:
                    parts[what] = wait
                elif phase == "span POSTs" and "floor_commit_ms" in figures:
                    parts["a durable commit"] = figures["floor_commit_ms"]
            if parts:
                row["floor_parts"][name] = parts
                row["floor_ms"][name] = round(sum(parts.values()), 3)
                if row["budget_ms"] is not None:
                    row["floor_over_budget"][name] = row["floor_ms"][name] > row["budget_ms"]
        rows.append(row)
    return rows


def format_budgets(rows: list[dict[str, Any]]) -> list[str]:
    """One line per request phase: the budget 5x the faster peer leaves, and for each of
    our databases its time per operation and the floor under it, part by part."""
    lines = []
    for row in rows:
        if not row["ours_ms"]:
            continue
        head = f"  {row['phase']:<13} "
        if row["budget_ms"] is not None:
            peer = PEER_NAMES.get(row["best_peer"], row["best_peer"])
            head += f"5x {peer} leaves {row['budget_ms']:.3g} ms; "
        parts = []
        for name, ours_ms in row["ours_ms"].items():
            text = f"{name} {ours_ms:.3g} ms"
            if name in row["floor_ms"]:
                pieces = " + ".join(
                    f"{what} {ms:.3g}" for what, ms in row["floor_parts"][name].items()
                )
                text += f", at least {row['floor_ms'][name]:.3g} ({pieces})"
                if row["floor_over_budget"].get(name):
                    text += ": over the budget before any of our Python"
            parts.append(text)
        lines.append(head + " | ".join(parts))
    return lines


def run_peer(
    name: str, folder: Path, n: int, ks: list[int], args: argparse.Namespace
) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """Start one peer, drive the workload once per K, stop it: ({K: figures}, {K: why not})."""

    def client(port: int) -> Client:
        return Client(port, timeout=120)

    system = (peers.Doccano if name == "doccano" else peers.LabelStudio)(folder, client)
    runs: dict[int, dict[str, Any]] = {}
    failed: dict[int, str] = {}
    common.log(f"starting {name} from {folder}")
    try:
        system.start()
        for k in ks:
            common.log(f"peer workload: {name}, N={n}, K={k}")
            try:
                runs[k] = drive(system, n, k, args, title=f"Peer {n}x{k} {time.time():.0f}")
            except (peers.OverBudget, RuntimeError, AssertionError, OSError) as error:
                failed[k] = f"{type(error).__name__}: {error}"
                common.log(f"{name} K={k} failed: {failed[k]}")
                break  # a broken or slow server: the next K would not fare better
    except (RuntimeError, OSError, subprocess.SubprocessError, StopIteration) as error:
        failed.update({k: f"did not start: {error}" for k in ks if k not in runs})
        common.log(f"{name} did not start: {error}")
    finally:
        system.stop()
    failed.update({k: "not reached" for k in ks if k not in runs and k not in failed})
    return runs, failed


def server_label(args: argparse.Namespace) -> str:
    if args.server == "bin-serve":
        return f"bin/serve defaults ({serve.bin_serve_workers()} uvicorn worker(s))"
    return f"gunicorn gthread {args.workers}x{args.threads} tmp={args.worker_tmp_dir or 'default'}"


def main() -> None:
    import sqlite3

    import psycopg

    parser = common.parser("bench_peer", __doc__.split("\n\n")[0])
    parser.add_argument("--dbs", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("-n", type=int, default=None, help="documents (500; --quick 50)")
    parser.add_argument(
        "-k", default=None, help="spans per document, comma-separated (20,6; --quick 6)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="full runs per (db, N, K); medians")
    parser.add_argument(
        "--batch", type=int, default=1000, help="documents per import request (≤1000)"
    )
    parser.add_argument("--fetch-repeats", type=int, default=50)
    parser.add_argument("--export-repeats", type=int, default=3)
    parser.add_argument("--floor-repeats", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="py-spy the worker per phase")
    parser.add_argument(
        "--profile-wall",
        action="store_true",
        help="py-spy --idle the worker per phase: wall ms per request inside Django, split "
        "into waiting on PostgreSQL, the database driver and Python",
    )
    parser.add_argument(
        "--worker-tmp-dir", default="/dev/shm", help="gunicorn heartbeat dir ('' = its default)"
    )
    parser.add_argument("--port", type=int, default=0, help="Workbench's port (0: a free one)")
    parser.add_argument(
        "--server",
        choices=("bin-serve", "gthread"),
        default="bin-serve",
        help="bin-serve: bin/serve with its defaults, as deployed (uvicorn workers); "
        "gthread: gunicorn WSGI with --workers x --threads",
    )
    parser.add_argument("--workers", type=int, default=1, help="gthread: gunicorn workers (1)")
    parser.add_argument("--threads", type=int, default=2, help="gthread threads per worker (2)")
    parser.add_argument(
        "--peers",
        default=os.environ.get("WB_PEERS", ""),
        help="folder with doccano-venv / ls-venv (bench/peers.py); default $WB_PEERS; "
        "'' = no peers",
    )
    parser.add_argument(
        "--only-peers", default="doccano,label_studio", help="which installed peers to run"
    )
    parser.add_argument(
        "--label-studio-k",
        default="6",
        help="the K values Label Studio runs (~90 ms a span POST: K=20 at N=500 is ~15 min)",
    )
    parser.add_argument(
        "--budget", type=float, default=1200, help="seconds one system's run may take"
    )
    parser.add_argument(
        "--pg-name", default="wb_peer", help="PostgreSQL database (dropped first; wb_*)"
    )
    parser.set_defaults(db=None)
    args = parser.parse_args()
    DB_URLS["postgresql"] = DB_URLS["postgresql"].rsplit("/", 1)[0] + "/" + args.pg_name
    if args.db:  # one database instead of the two defaults (it is dropped and re-created)
        vendor = common.db_vendor(args.db)
        DB_URLS[vendor] = args.db
        args.dbs = vendor
    n = args.n or (50 if args.quick else 500)
    ks = [int(v) for v in (args.k or ("6" if args.quick else "20,6")).split(",")]
    dbs = [d.strip() for d in args.dbs.split(",") if d.strip()]
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1..1000 (the API's bulk limit)")

    bare_ms = bare_floor(args.floor_repeats)
    common.emit(
        BENCH, dataset="PEER-FLOOR", db="none", metric="peer_floor_bare",
        save=not args.no_save, label=args.label, client="http.client keep-alive",
        server="bench.bare_asgi under workbench.server.UvicornWorker", floor_bare_asgi_ms=bare_ms,
    )  # fmt: skip
    found = peers.installed(Path(args.peers).resolve() if args.peers else None)
    wanted = [name for name in args.only_peers.split(",") if name.strip()]
    ours: dict[int, dict[str, dict[str, float]]] = {k: {} for k in ks}

    for db in dbs:
        for k in ks:
            runs = []
            for repeat in range(args.repeats):
                common.log(f"peer workload: {db}, N={n}, K={k}, run {repeat + 1}/{args.repeats}")
                run = run_workload(db, n, k, args)
                run["repeat"] = repeat
                runs.append(run)
                common.emit(
                    BENCH, dataset=f"PEER-N{n}-K{k}", db=db, metric="peer_run",
                    save=not args.no_save, label=args.label, client="http.client keep-alive",
                    server=server_label(args), **run,
                )  # fmt: skip
            keys = [
                "create_project_s", "import_s", "import_docs_per_s", "span_req_per_s",
                "span_p50_ms", "span_p95_ms", "span_p99_ms", "fetch_one_ms", "export_s",
                "export_bytes", "export_claims", "idle_rss_mb", "peak_rss_mb", "server_cpu_s",
                "floor_401_ms", "floor_project_get_ms", "floor_commit_ms",
            ]  # fmt: skip
            median = {key: statistics.median(r[key] for r in runs) for key in keys}
            for phase in ("spans", "fetch", "import"):  # --profile-wall: each request's split
                for part in ("django_ms", "database_wait_ms", "database_driver_ms", "python_ms"):
                    values = [r.get("profile", {}).get(phase, {}).get(part) for r in runs]
                    if values and None not in values:
                        median[f"{phase}_{part}"] = statistics.median(values)
            try:  # a floor that cannot be measured leaves the summary and the peers be
                median.update(
                    import_floor(
                        DB_URLS[db], WorkbenchSystem(db, args).import_bodies(0, document_texts(n))
                    )
                )
            except (OSError, sqlite3.Error, psycopg.Error) as error:
                common.log(f"import floor on {db} not measured: {type(error).__name__}: {error}")
            median.update(n=n, k=k, export_ok=all(r["export_ok"] for r in runs))
            ours[k]["PostgreSQL" if db == "postgresql" else "SQLite"] = median
            common.emit(
                BENCH, dataset=f"PEER-N{n}-K{k}", db=db, metric="peer_summary",
                save=not args.no_save, label=args.label, repeats=args.repeats,
                targets=TARGETS, **median, **compare(median),
            )  # fmt: skip

    # the peers, in the same run: each started once, one run per K, stopped
    measured: dict[int, dict[str, dict[str, Any]]] = {k: {} for k in ks}
    skipped: dict[int, dict[str, str]] = {k: {} for k in ks}
    for name in ("doccano", "label_studio"):
        if name not in found or name not in wanted:
            why = (
                "not installed" + (f" under {args.peers}" if args.peers else " (no --peers)")
                if name not in found
                else "not selected (--only-peers)"
            )
            for k in ks:
                skipped[k][name] = why
            continue
        peer_ks = ks
        if name == "label_studio":
            allowed = {int(v) for v in args.label_studio_k.split(",") if v.strip()}
            peer_ks = [k for k in ks if k in allowed]
            for k in ks:
                if k not in allowed:
                    skipped[k][name] = f"K={k} skipped (--label-studio-k {args.label_studio_k})"
        runs_by_k, failed = run_peer(name, found[name], n, peer_ks, args)
        for k, run in runs_by_k.items():
            measured[k][name] = run
            common.emit(
                BENCH, dataset=f"PEER-N{n}-K{k}", db="sqlite", metric="peer_run",
                save=not args.no_save, label=args.label, client="http.client keep-alive",
                server=name, **run,
            )  # fmt: skip
        for k, why in failed.items():
            skipped[k][name] = why

    for k in ks:
        rows = phase_ratios(ours[k], measured[k])
        title = f"N={n} K={k}: Workbench against the faster peer, same run"
        if not measured[k]:
            title += " (peers skipped: no same-run figures)"
        print("\n".join(format_ratios(title, rows, skipped[k])), file=sys.stderr, flush=True)
        print(format_floors(ours[k], measured[k], bare_ms), file=sys.stderr, flush=True)
        budgets = phase_budgets(ours[k], measured[k])
        print("\n".join(format_budgets(budgets)), file=sys.stderr, flush=True)
        if measured[k]:
            common.emit(
                BENCH, dataset=f"PEER-N{n}-K{k}", db="none", metric="peer_compare",
                save=not args.no_save, label=args.label, target_ratio=TARGET_RATIO,
                rows=rows, skipped=skipped[k], budgets=budgets,
            )  # fmt: skip


if __name__ == "__main__":
    main()
