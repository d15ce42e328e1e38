"""The peer workload of shared/research/peer-bench.md, against a real server over HTTP.

One sequential client on one keep-alive connection drives gunicorn (bench/serve.py) on
127.0.0.1, on SQLite and on PostgreSQL, through the public API with a token:

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

Each phase prints one JSON line (and appends it to bench/results/peer.jsonl); a summary
line per (db, N, K) compares with the targets and the peers' figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common, serve  # noqa: E402

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

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(serve.HOST, port, timeout=300)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.reconnects = 0

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers=self.headers)
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


class RssSampler(threading.Thread):
    """Peak summed VmRSS of the server tree, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0.0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, serve.tree_rss_mb(self.pid))
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, serve.tree_rss_mb(self.pid))
        return self.peak


class SpyProfile:
    """py-spy sampling the gunicorn worker during one phase (raw collapsed stacks)."""

    def __init__(self, pid: int, label: str, directory: Path) -> None:
        import subprocess

        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{label}.txt"
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(pid), "--rate", "250",
             "--format", "raw", "--output", str(self.path), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)  # attached

    def stop(self) -> dict[str, Any]:
        import signal

        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        return summarize_stacks(self.path)


# Inclusive share of the worker's busy samples spent under each of these frames.
BUCKETS = {
    "gunicorn_outside_django": None,  # computed: busy - Django's WSGI handler
    "django_middleware_outside_drf": None,  # computed: WSGI handler - DRF dispatch
    "wsgi_handler": "django/core/handlers/wsgi.py:__call__",
    "drf_dispatch": "rest_framework/views.py:dispatch",
    "token_auth": "knox/auth.py:authenticate_credentials",
    "permissions_throttles": "rest_framework/views.py:check_permissions",
    "request_parse_validate": "annotations/api/views/_common.py:parse_body",
    "document_lookup": "annotations/selectors.py:document_get_for_user",
    "claim_create_service": "annotations/services/claims.py:claim_create",
    "event_record": "annotations/services/_base.py:event_record",
    "claims_with_consensus": "annotations/selectors.py:claims_with_consensus",
    "serializer_to_representation": "rest_framework/serializers.py:data",
    "modelserializer_get_fields": "rest_framework/serializers.py:get_fields",
    "json_render": "rest_framework/renderers.py:render",
    "orm_sql_compile": "django/db/models/sql/compiler.py:as_sql",
    "db_driver_execute": "django/db/backends/utils.py:_execute",
    "transaction_commit": "django/db/transaction.py:__exit__",
    "export_rows": "annotations/selectors.py:project_rows",
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
    inclusive["gunicorn_outside_django"] = total - inclusive["wsgi_handler"]
    inclusive["django_middleware_outside_drf"] = (
        inclusive["wsgi_handler"] - inclusive["drf_dispatch"]
    )
    top = sorted(self_time.items(), key=lambda kv: -kv[1])[:12]
    return {
        "busy_samples": total,
        "inclusive_pct": {k: round(100 * v / total, 1) for k, v in inclusive.items()},
        "top_self_pct": {k: round(100 * v / total, 1) for k, v in top},
        "raw": str(path.resolve().relative_to(ROOT)),
    }


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


def run_workload(db: str, n: int, k: int, args: argparse.Namespace) -> dict[str, Any]:
    """One full run on a fresh database and a fresh server; returns the phase figures."""
    db_url = DB_URLS[db]
    serve.reset_database(db_url)
    serve.prepare(db_url)
    server = serve.start(
        db_url,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        worker_tmp_dir=args.worker_tmp_dir or None,
    )
    out: dict[str, Any] = {"n": n, "k": k, "db_version": db_version(db)}
    out["loadavg_start"] = os.getloadavg()[0]  # the machine is shared: note how busy it was
    profiles: dict[str, Any] = {}
    profile_dir = common.RESULTS / "profiles"
    worker = next(pid for pid in serve.tree_pids(server.pid) if pid != server.pid)

    def profiled(label: str) -> SpyProfile | None:
        return (
            SpyProfile(worker, f"peer_{db}_n{n}_k{k}_{label}", profile_dir)
            if args.profile
            else None
        )

    try:
        client = Client(args.port)
        client.login()
        # warm the worker (first request imports and compiles lazily) outside the timings
        client.json("GET", "/api/v1/projects/")
        out["idle_rss_mb"] = serve.tree_rss_mb(server.pid)
        cpu0 = serve.tree_cpu_s(server.pid)
        sampler = RssSampler(server.pid)
        sampler.start()
        run_started = time.perf_counter()

        # a. project
        t0 = time.perf_counter()
        project = client.json(
            "POST", "/api/v1/projects/", {"name": f"Peer {db} {n}x{k}"}, expect=201
        )
        out["create_project_s"] = round(time.perf_counter() - t0, 4)

        # b. import, bodies encoded before the clock starts
        texts = document_texts(n)
        batches = [
            json.dumps(
                [
                    {"project": project["id"], "title": f"Peer doc {i:06d}", "text": texts[i]}
                    for i in range(lo, min(n, lo + args.batch))
                ]
            ).encode()
            for lo in range(0, n, args.batch)
        ]
        documents: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        for body in batches:
            status, data = client.request("POST", "/api/v1/documents/", body)
            if status != 201:
                raise RuntimeError(f"import: {status} {data[:500]!r}")
            documents.extend(json.loads(data))
        out["import_s"] = round(time.perf_counter() - t0, 4)
        out["import_docs_per_s"] = round(n / out["import_s"], 1)
        out["import_requests"] = len(batches)
        out["import_body_mb"] = round(sum(len(b) for b in batches) / 1e6, 2)
        assert len(documents) == n, len(documents)

        # c. spans, one request each
        latencies: list[float] = []
        bodies = [
            json.dumps({"document": doc["id"], "start": s, "end": e}).encode()
            for index, doc in enumerate(documents)
            for s, e in span_offsets(doc["length"], k, index)
        ]
        spy = profiled("spans")
        t0 = time.perf_counter()
        for body in bodies:
            t1 = time.perf_counter()
            status, data = client.request("POST", "/api/v1/claims/", body)
            latencies.append(time.perf_counter() - t1)
            if status != 201:
                raise RuntimeError(f"span: {status} {data[:500]!r}")
        spans_s = time.perf_counter() - t0
        if spy:
            profiles["spans"] = spy.stop()
        ms = [v * 1000 for v in latencies]
        out.update(
            spans=len(bodies),
            spans_s=round(spans_s, 3),
            span_req_per_s=round(len(bodies) / spans_s, 1),
            span_p50_ms=round(statistics.median(ms), 3),
            span_p95_ms=round(common.percentile(ms, 95), 3),
            span_p99_ms=round(common.percentile(ms, 99), 3),
            span_max_ms=round(max(ms), 3),
            span_first100_p50_ms=round(statistics.median(ms[:100]), 3),
            span_last100_p50_ms=round(statistics.median(ms[-100:]), 3),
        )

        # d. one document with its claims
        middle = documents[n // 2]["id"]
        path = f"/api/v1/documents/{middle}/?include=claims"
        for _ in range(3):
            client.json("GET", path)
        fetch: list[float] = []
        spy = profiled("fetch")
        for _ in range(args.fetch_repeats * (4 if spy else 1)):
            t1 = time.perf_counter()
            status, data = client.request("GET", path)
            fetch.append((time.perf_counter() - t1) * 1000)
            if status != 200:
                raise RuntimeError(f"fetch: {status}")
        if spy:
            profiles["fetch"] = spy.stop()
        fetched = json.loads(data)
        assert len(fetched["claims"]) == k, len(fetched["claims"])
        out.update(
            fetch_one_ms=round(statistics.median(fetch), 3),
            fetch_one_first15_ms=round(statistics.median(fetch[:15]), 3),
            fetch_one_p95_ms=round(common.percentile(fetch, 95), 3),
            fetch_repeats=len(fetch),
            fetch_bytes=len(data),
        )

        # e. export (streamed JSONL), median of a few
        export_s: list[float] = []
        spy = profiled("export")
        for _ in range(args.export_repeats):
            t1 = time.perf_counter()
            status, data = client.request(
                "GET", f"/api/v1/projects/{project['id']}/export/?format=jsonl"
            )
            export_s.append(time.perf_counter() - t1)
            if status != 200:
                raise RuntimeError(f"export: {status} {data[:300]!r}")
        if spy:
            profiles["export"] = spy.stop()
        lines = data.decode().splitlines()
        exported = len(lines)
        out.update(
            export_s=round(statistics.median(export_s), 4),
            export_first_s=round(export_s[0], 4),
            export_bytes=len(data),
            export_claims=exported,
            export_ok=exported == n * k,
        )

        # the per-request floor: a 401 (middleware + DRF, no database) and a project read
        # (token lookup + one membership query + a small serializer)
        out.update(floor(client, project["id"], args.floor_repeats))

        # f. memory and CPU
        out["run_s"] = round(time.perf_counter() - run_started, 2)
        out["loadavg_end"] = os.getloadavg()[0]
        out["peak_rss_mb"] = sampler.stop()
        out["rss_samples"] = sampler.samples
        out["server_cpu_s"] = round(serve.tree_cpu_s(server.pid) - cpu0, 2)
        out["server_processes"] = len(serve.tree_pids(server.pid))
        out["reconnects"] = client.reconnects
        if profiles:
            out["profile"] = profiles
        client.conn.close()
    finally:
        serve.stop(server)
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


def main() -> None:
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
        "--worker-tmp-dir", default="/dev/shm", help="gunicorn heartbeat dir ('' = its default)"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (1)")
    parser.add_argument("--threads", type=int, default=2, help="gthread threads per worker (2)")
    parser.set_defaults(db=None)
    args = parser.parse_args()
    if args.db:  # one database instead of the two defaults (it is dropped and re-created)
        vendor = common.db_vendor(args.db)
        DB_URLS[vendor] = args.db
        args.dbs = vendor
    n = args.n or (50 if args.quick else 500)
    ks = [int(v) for v in (args.k or ("6" if args.quick else "20,6")).split(",")]
    dbs = [d.strip() for d in args.dbs.split(",") if d.strip()]
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1..1000 (the API's bulk limit)")

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
                    server=f"gunicorn gthread {args.workers}x{args.threads}"
                    f" tmp={args.worker_tmp_dir or 'default'}", **run,
                )  # fmt: skip
            keys = [
                "create_project_s", "import_s", "import_docs_per_s", "span_req_per_s",
                "span_p50_ms", "span_p95_ms", "span_p99_ms", "fetch_one_ms", "export_s",
                "export_bytes", "export_claims", "idle_rss_mb", "peak_rss_mb", "server_cpu_s",
                "floor_401_ms", "floor_project_get_ms",
            ]  # fmt: skip
            median = {key: statistics.median(r[key] for r in runs) for key in keys}
            median.update(n=n, k=k, export_ok=all(r["export_ok"] for r in runs))
            common.emit(
                BENCH, dataset=f"PEER-N{n}-K{k}", db=db, metric="peer_summary",
                save=not args.no_save, label=args.label, repeats=args.repeats,
                targets=TARGETS, **median, **compare(median),
            )  # fmt: skip


if __name__ == "__main__":
    main()
