"""Live updates under load: do 50 open event streams starve ordinary requests, and how fast
does one change reach all 50? Run for each gunicorn worker class ``bin/serve`` could use.

    .venv/bin/python -m bench.bench_live                       # PostgreSQL wb_live, all classes
    .venv/bin/python -m bench.bench_live --db sqlite:///var/wb_live.sqlite3 --classes uvicorn
    .venv/bin/python -m bench.bench_live --quick               # 10 streams, fewer requests

For each worker class (``sync`` = gunicorn's default, what bin/serve ran before issue 19;
``gthread``; ``uvicorn`` = ``workbench.server.UvicornWorker`` on workbench.asgi, bin/serve's
default now) it starts gunicorn on 127.0.0.1 with the same flags as bin/serve
(``WEB_CONCURRENCY`` workers, default 5 = 2 × 2 CPUs + 1), then:

1. ordinary requests alone: the reader page of a document with 20 claims, fetched by 4
   client threads, p50/p95 (ms);
2. opens ``--streams`` event streams (one session, as 50 tabs would) and waits until every
   one has answered (a stream the server cannot serve yet is counted as starved);
3. the same ordinary requests with the streams open;
4. ``--changes`` claims created through the API, one at a time: for each, the time from the
   API's answer (committed) until the last stream has the change (ms);
5. the server's memory: summed RSS of gunicorn's process tree (MB), idle and with streams.

Everything listens on 127.0.0.1 only and ends within a bounded time (client timeouts of
``--timeout`` seconds; a starved request counts as a failure, not a wait forever).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import common
from bench.serve import (
    BENCH_PASSWORD,
    BENCH_USER,
    HOST,
    PYTHON,
    ROOT,
    prepare,
    reset_database,
    server_env,
    stop,
    tree_pids,
    tree_rss_mb,
)

CLASSES = {
    "sync": ("sync", "workbench.wsgi:application"),
    "gthread": ("gthread", "workbench.wsgi:application"),
    "uvicorn": ("workbench.server.UvicornWorker", "workbench.asgi:application"),
}
SEED_TEXT = "\n".join(
    f"Paragraph {n}: the council said spending rose {n}% in {2000 + n}, and taxes fell."
    for n in range(60)
)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int


def start(env: dict[str, str], worker_class: str, *, port: int, workers: int) -> Server:
    klass, app = CLASSES[worker_class]
    env = env | {"LIVE_STREAM": "1"}
    if worker_class == "uvicorn":
        env["DB_POOL_MAX"] = os.environ.get("DB_POOL_MAX", "8")  # as bin/serve sets it
    command = [
        PYTHON, "-m", "gunicorn", app,
        "--worker-class", klass,
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        "--timeout", "60",
        "--error-logfile", "-",
        "--log-level", "warning",
    ]  # fmt: skip
    if klass == "gthread":
        command += ["--threads", "4"]
    log_path = ROOT / "var" / "bench_live_server.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    server = Server(process, port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            status, _ = request(port, "GET", "/api/v1/projects/", timeout=5)
            if status in (401, 403) and len(tree_pids(process.pid)) >= 1 + workers:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop(server)  # type: ignore[arg-type]
    raise SystemExit("gunicorn did not answer within 60 s")


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: object = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if data else {}
        conn.request(method, path, body=data, headers=all_headers | (headers or {}))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Desk:
    token: str
    session: str
    slug: str
    document: int
    project: int


def make_desk(env: dict[str, str], port: int) -> Desk:
    """A project with one document and 20 claims (through the API), the bench user's API
    token, and a session for the event streams (made in a child process: the UI signs in
    by form, which a benchmark need not drive)."""
    status, body = request(
        port,
        "POST",
        "/api/v1/auth/token/",
        body={"username": BENCH_USER, "password": BENCH_PASSWORD},
    )
    assert status == 200, (status, body)
    token = json.loads(body)["token"]
    auth = {"Authorization": f"Token {token}"}
    name = f"Live bench {secrets.token_hex(3)}"
    status, body = request(
        port, "POST", "/api/v1/projects/", body={"name": name, "required_reviews": 2}, headers=auth
    )
    assert status == 201, (status, body)
    project = json.loads(body)
    status, body = request(
        port,
        "POST",
        "/api/v1/documents/",
        body={"project": project["id"], "title": "Council", "text": SEED_TEXT},
        headers=auth,
    )
    assert status == 201, (status, body)
    document = json.loads(body)["id"]
    for n in range(20):
        create_claim(port, token, document, n)
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.contrib.auth import get_user_model, HASH_SESSION_KEY, SESSION_KEY, BACKEND_SESSION_KEY\n"
        "from importlib import import_module\n"
        f"u = get_user_model().objects.get(username={BENCH_USER!r})\n"
        "store = import_module(settings.SESSION_ENGINE).SessionStore()\n"
        "store[SESSION_KEY] = str(u.pk)\n"
        "store[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
        "store[HASH_SESSION_KEY] = u.get_session_auth_hash()\n"
        "store.create()\n"
        "print(settings.SESSION_COOKIE_NAME + '=' + store.session_key)\n"
    )
    cookie = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env=env,  # the server's SECRET_KEY: the session must verify there
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Desk(token, cookie, project["slug"], document, project["id"])


def create_claim(port: int, token: str, document: int, n: int) -> int:
    start = SEED_TEXT.index(f"Paragraph {n % 60}:")
    status, body = request(
        port,
        "POST",
        "/api/v1/claims/",
        body={
            "document": document,
            "start": start,
            "end": start + len(f"Paragraph {n % 60}:") + 10,
            "statement": f"Claim {n} {secrets.token_hex(2)}",
        },
        headers={"Authorization": f"Token {token}"},
    )
    assert status == 201, (status, body)
    return json.loads(body)["id"]


@dataclass
class Stream:
    """One EventSource-like client: reads the stream on its own thread, notes each
    change's arrival time by claim id."""

    port: int
    path: str
    cookie: str
    opened: threading.Event = field(default_factory=threading.Event)
    arrivals: dict[int, float] = field(default_factory=dict)
    error: str = ""
    conn: http.client.HTTPConnection | None = None

    def start(self, timeout: float) -> None:
        threading.Thread(target=self._run, args=(timeout,), daemon=True).start()

    def _run(self, timeout: float) -> None:
        try:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
            self.conn.request("GET", self.path, headers={"Cookie": self.cookie})
            response = self.conn.getresponse()
            if response.status != 200:
                self.error = f"HTTP {response.status}"
                return
            self.opened.set()
            while True:
                line = response.fp.readline()
                if not line:
                    return
                if line.startswith(b"data: "):
                    claim = json.loads(line[6:]).get("claim")
                    if claim is not None:
                        self.arrivals.setdefault(claim, time.monotonic())
        except OSError as exc:
            self.error = self.error or type(exc).__name__

    def close(self) -> None:
        if self.conn is not None and self.conn.sock is not None:
            self.conn.sock.close()


def ordinary_requests(port: int, desk: Desk, count: int, timeout: float) -> dict[str, object]:
    """``count`` reader-page requests over 4 client threads: p50/p95 ms and failures."""
    times: list[float] = []
    failures = 0
    lock = threading.Lock()
    path = f"/documents/{desk.document}/"

    def worker(n: int) -> None:
        nonlocal failures
        for _ in range(n):
            if failures >= 8:  # starved: more would only wait out the timeouts
                return
            started = time.perf_counter()
            try:
                status, _ = request(
                    port, "GET", path, headers={"Cookie": desk.session}, timeout=timeout
                )
                ok = status == 200
            except OSError:
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    times.append(elapsed)
                else:
                    failures += 1

    threads = [threading.Thread(target=worker, args=(count // 4,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = common.summary_ms(times) if times else {}
    return {"requests": count, "failures": failures, **summary}


def run_class(args, worker_class: str) -> None:
    common.log(f"{worker_class}: starting gunicorn ({args.workers} workers) …")
    env = server_env(args.db)  # one SECRET_KEY for the server and the session made for it
    server = start(env, worker_class, port=args.port, workers=args.workers)
    streams: list[Stream] = []
    try:
        desk = make_desk(env, args.port)
        request(args.port, "GET", f"/documents/{desk.document}/", headers={"Cookie": desk.session})
        idle_rss = tree_rss_mb(server.process.pid)
        alone = ordinary_requests(args.port, desk, args.requests, args.timeout)
        common.log(f"  alone: {alone}")
        # The stream's cursor: the project's chain position now (the page would carry it).
        _status, body = request(
            args.port,
            "GET",
            f"/projects/{desk.slug}/live/changes/?after=0",
            headers={"Cookie": desk.session},
        )
        cursor = json.loads(body)["cursor"]
        path = f"/projects/{desk.slug}/live/events/?after={cursor}"
        streams = [Stream(args.port, path, desk.session) for _ in range(args.streams)]
        for stream in streams:
            stream.start(args.stream_timeout)
        deadline = time.monotonic() + args.timeout
        for stream in streams:
            stream.opened.wait(max(0.0, deadline - time.monotonic()))
        open_streams = sum(stream.opened.is_set() for stream in streams)
        common.log(f"  {open_streams}/{len(streams)} streams open")
        with_streams = ordinary_requests(args.port, desk, args.requests, args.timeout)
        common.log(f"  with streams: {with_streams}")
        latencies: list[float] = []
        missed = 0
        write_failures = 0
        for n in range(args.changes):
            try:
                claim = create_claim(args.port, desk.token, desk.document, 100 + n)
            except (OSError, AssertionError):  # a starved server: the write itself failed
                write_failures += 1
                if write_failures >= 3:
                    break
                continue
            committed = time.monotonic()
            wait_until = committed + 5
            live = [s for s in streams if s.opened.is_set()]
            while time.monotonic() < wait_until and not all(claim in s.arrivals for s in live):
                time.sleep(0.005)
            arrived = [s.arrivals[claim] for s in live if claim in s.arrivals]
            missed += len(live) - len(arrived)
            if arrived:
                latencies.append((max(arrived) - committed) * 1000)
            time.sleep(0.2)
        busy_rss = tree_rss_mb(server.process.pid)
        common.emit(
            "bench_live",
            dataset=f"{args.streams} streams",
            db=args.db,
            metric=f"worker class {worker_class}",
            save=not args.no_save,
            label=args.label,
            workers=args.workers,
            streams_open=open_streams,
            streams_wanted=len(streams),
            ordinary_alone=alone,
            ordinary_with_streams=with_streams,
            delivery_to_all_ms=common.summary_ms(latencies) if latencies else None,
            deliveries_missed=missed,
            writes_failed=write_failures,
            rss_mb_idle=idle_rss,
            rss_mb_with_streams=busy_rss,
        )
    finally:
        for stream in streams:
            stream.close()
        stop(server)  # type: ignore[arg-type]


def notify_cost(args) -> None:
    """What the NOTIFY costs a write, on PostgreSQL: single-event transactions (as a
    service writes them) with the trigger, without it, and with the alternative the trigger
    replaced (a ``pg_notify`` query from Python in the same transaction, one more round
    trip per write). Raw inserts into the event table of a benchmark project."""
    import psycopg

    url = common.psycopg_url(args.db)
    runs = 30 if args.quick else 300
    with psycopg.connect(url, autocommit=True) as conn:
        project = conn.execute("SELECT max(id) FROM annotations_project").fetchone()[0]
        seq = conn.execute(
            "SELECT coalesce(max(seq), 0) + 1000000 FROM annotations_event WHERE project_id = %s",
            [project],
        ).fetchone()[0]
        insert = (
            "INSERT INTO annotations_event (project_id, verb, object_type, object_id, created_at,"
            " seq, prev_hash, hash) VALUES (%s, 'bench.notify', 'bench', 1, now(), %s, '', '')"
        )
        figures = {}
        for mode in ("trigger", "no trigger", "pg_notify query"):
            if mode == "trigger":
                conn.execute(
                    "ALTER TABLE annotations_event ENABLE TRIGGER annotations_event_notify"
                )
            else:
                conn.execute(
                    "ALTER TABLE annotations_event DISABLE TRIGGER annotations_event_notify"
                )
            samples = []
            for _ in range(runs):
                seq += 1
                started = time.perf_counter()
                with conn.transaction():
                    conn.execute(insert, [project, seq])
                    if mode == "pg_notify query":
                        conn.execute(
                            "SELECT pg_notify('workbench_events', %s)", [f"{project}:{seq}"]
                        )
                samples.append((time.perf_counter() - started) * 1000)
            figures[mode] = common.summary_ms(samples)
        conn.execute("ALTER TABLE annotations_event ENABLE TRIGGER annotations_event_notify")
        conn.execute("DELETE FROM annotations_event WHERE verb = 'bench.notify'")
    common.emit(
        "bench_live",
        dataset="single-event transactions",
        db=args.db,
        metric="notify cost",
        save=not args.no_save,
        label=args.label,
        **figures,
    )


def main() -> None:
    p = common.parser("bench_live", __doc__.split("\n\n")[0])
    p.set_defaults(
        db=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wb_live")
    )
    p.add_argument(
        "--classes", default="uvicorn,gthread,sync", help="comma-separated: sync, gthread, uvicorn"
    )
    p.add_argument("--streams", type=int, default=50)
    p.add_argument("--requests", type=int, default=200, help="ordinary requests per measurement")
    p.add_argument(
        "--changes", type=int, default=20, help="claims created, each timed to all streams"
    )
    p.add_argument(
        "--workers", type=int, default=5, help="gunicorn workers (bin/serve: 2 x CPUs + 1)"
    )
    p.add_argument("--port", type=int, default=8791)
    p.add_argument(
        "--timeout", type=float, default=10, help="seconds before a request is a failure"
    )
    p.add_argument("--stream-timeout", type=float, default=60)
    p.add_argument("--fresh", action="store_true", help="drop and re-create the database")
    p.add_argument(
        "--notify-cost", action="store_true", help="only: what the NOTIFY trigger costs a write"
    )
    args = p.parse_args()
    if args.quick:
        args.streams, args.requests, args.changes = 10, 40, 5
    if args.fresh:
        reset_database(args.db)
    elif args.db.startswith("postgres"):
        common._create_pg_database(args.db)
    else:
        Path(args.db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    prepare(args.db)
    if args.notify_cost:
        notify_cost(args)
        return
    for worker_class in args.classes.split(","):
        run_class(args, worker_class.strip())


if __name__ == "__main__":
    main()
