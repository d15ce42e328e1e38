"""Load and fault test: the production server under 50 reviewers, readers and an exporter.

    .venv/bin/python -m bench.load                        # one node: bin/serve, 4 workers
    .venv/bin/python -m bench.load --workers 0            # bin/serve's default worker count
    .venv/bin/python -m bench.load --nodes 2              # two servers on two ports, one DB
    .venv/bin/python -m bench.load --fault pg-restart     # restart PostgreSQL mid-load
    .venv/bin/python -m bench.load --quick                # 20 s smoke run

What runs: ``bin/serve`` (gunicorn, ``WEB_CONCURRENCY`` workers, DEBUG off, migrations
and static files as in production) on 127.0.0.1, once per node, all on one PostgreSQL
database (``--db``, a ``wb_*`` database of its own). The QUEUE generator seeds a project
of ``--claims`` claims in review (3 reviews each) and 50 reviewers. Then, for at most
``--duration`` seconds and ``--max-requests`` requests:

* each of ``--reviewers`` threads (one reviewer each, an API token) loops lease
  (``POST /queue/next/``) → read (claim, then its document) → submit a verdict with a
  citation, alternating nodes between calls, until the queue has nothing for them
  (closed loop by default: the next request leaves as soon as the answer arrives, so
  the server is saturated; ``--think S`` adds a reading pause of S seconds on average);
* ``--readers`` threads read: document lists, a document with its claims, claim lists,
  and the HTML reader and dashboard through a signed-in session;
* one exporter streams the whole project export again and again.

With ``--fault pg-restart`` PostgreSQL is restarted (``pg_ctlcluster … restart``) at
``--fault-at`` seconds. After the load (unless ``--no-disconnect-export``) a client reads
16 KB of an ~11 MB export (a second seeded project, far larger than the socket buffers,
so the server is still streaming) and resets the connection; the server must log that
the client stopped the export, and ``pg_stat_activity`` must show no transaction left
open, while it streamed or after.

Pass/fail (exit status 1 on any failure), checked against the database afterwards:

* no 5xx, except 503 answers during a fault window; no body ever carries a traceback;
* no duplicate lease: no reviewer leased a claim twice, no claim was leased (completed or
  held) beyond its required reviews, no claim has more verdicts than required;
* no lost verdict: every verdict the API accepted (201, its id) is in the database, and the
  database holds no verdict the clients did not send; without a fault the counts are
  equal, with one the only extra rows may come from requests whose answer was lost in
  the outage (counted as "unknown");
* no partial write: every verdict has its citation and its ``verdict.submit`` event;
* after a fault: the first request to succeed after PostgreSQL is back does so within
  ``--recovery-limit`` seconds, without restarting the app;
* the dropped export: the server saw the client go (its log line), and no connection of
  the database was idle in a transaction while it streamed or after.

Where the machine's CPU went (``cpu``): the CPU seconds of each node's process tree, of
the PostgreSQL server the load uses (its postmaster and every process it started, counted
through what it reaped; no figure after a restart), of this
process (the clients' threads) and of the whole machine (``/proc/stat``) over the load,
each per request, with the machine's busy share. A closed loop saturates the machine, so
its requests a second are its CPUs' seconds over the CPU a request costs all three; the
part the clients and PostgreSQL take is what a faster server could not remove.

The server's memory is sampled every half second: the summed RSS (and PSS) of each node's
process tree (the gunicorn master and its workers) once every worker has booted, its peak
under the load, and at the end of the load (``server_memory``).

Latency percentiles per operation and the invariants go to ``--out`` (default
``bench/results/load-<mode>.json``) and one summary line to ``bench/results/load.jsonl``.
Everything targets 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench import common
from bench.serve import HOST, ROOT, proc_stat, server_env, tree_pids, tree_pss_mb, tree_rss_mb

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/wb_load"
SLUG = "load-queue"
DROP_EXPORT_VERDICTS = 12_000
TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b'File "/', b"OperationalError")


# --- HTTP client ---------------------------------------------------------------------------------


@dataclass
class Sample:
    op: str
    node: int
    status: int  # 0: the connection failed or was cut before an answer
    started: float  # seconds since the run began
    ms: float
    body: bytes = b""


class Recorder:
    """Every request's outcome, shared by the client threads."""

    def __init__(self, t0: float, max_requests: int) -> None:
        self.t0 = t0
        self.max_requests = max_requests
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)
            if len(self.samples) >= self.max_requests:
                self.stop.set()

    def now(self) -> float:
        return time.monotonic() - self.t0


class Client:
    """One simulated user: a keep-alive connection per node, a token or a session."""

    def __init__(self, ports: list[int], recorder: Recorder, token: str | None = None) -> None:
        self.ports = ports
        self.recorder = recorder
        self.token = token
        self.cookies: dict[str, str] = {}
        self.conns: dict[int, http.client.HTTPConnection] = {}

    def _conn(self, node: int) -> http.client.HTTPConnection:
        if node not in self.conns:
            self.conns[node] = http.client.HTTPConnection(HOST, self.ports[node], timeout=60)
        return self.conns[node]

    def request(
        self,
        op: str,
        method: str,
        path: str,
        *,
        node: int = 0,
        body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        record: bool = True,
    ) -> tuple[int, bytes, dict[str, str]]:
        node %= len(self.ports)
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            data = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            sent["Authorization"] = f"Token {self.token}"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = self.recorder.now()
        t = time.perf_counter()
        status, payload, answer = 0, b"", {}
        try:
            conn = self._conn(node)
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
            answer = {k.lower(): v for k, v in response.getheaders()}
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    cookie = SimpleCookie()
                    cookie.load(value)
                    self.cookies.update({k: m.value for k, m in cookie.items()})
            if response.will_close:
                conn.close()
        except (OSError, http.client.HTTPException):
            self.conns.pop(node, None)
        ms = (time.perf_counter() - t) * 1000
        keep = payload[:400] if status >= 500 or status == 0 else b""
        if any(marker in payload for marker in TRACEBACK_MARKERS):
            keep = payload[:2000]
        if record:
            self.recorder.add(Sample(op, node, status, started, ms, keep))
        return status, payload, answer

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()


# --- the simulated people --------------------------------------------------------------------------


@dataclass
class Outcomes:
    """What the reviewers were told: accepted verdict ids, leases, unknown outcomes."""

    accepted: dict[int, tuple[int, int]] = field(default_factory=dict)  # verdict id -> pair
    leases: list[tuple[int, int]] = field(default_factory=list)  # (reviewer, claim) per grant
    unknown: list[tuple[int, int]] = field(default_factory=list)  # submit with no clean answer
    rejected: list[tuple[int, int, int]] = field(default_factory=list)  # 4xx on submit
    lock: threading.Lock = field(default_factory=threading.Lock)


def reviewer(
    client: Client,
    user_id: int,
    index: int,
    project_id: int,
    ratings: list[str],
    outcomes: Outcomes,
    stop: threading.Event,
    think: float = 0.0,
) -> None:
    rng = random.Random(index)
    node = index
    held: int | None = None
    while not stop.is_set():
        node += 1
        status, payload, _ = client.request(
            "lease", "POST", "/api/v1/queue/next/", node=node, body={"project": project_id}
        )
        if status == 204:
            return  # nothing left for this reviewer
        if status != 200:
            time.sleep(0.5)  # an outage: back off, then ask again (the lease is kept)
            continue
        lease = json.loads(payload)
        claim = lease["claim"]
        if claim["id"] != held:
            with outcomes.lock:
                outcomes.leases.append((user_id, claim["id"]))
        held = claim["id"]
        node += 1
        client.request("read_claim", "GET", f"/api/v1/claims/{claim['id']}/", node=node)
        client.request("read_document", "GET", f"/api/v1/documents/{claim['document']}/", node=node)
        if think and stop.wait(rng.expovariate(1 / think)):
            break  # reading time is over for this run; the lease expires unused
        verdict = {
            "rating": rng.choice(ratings),
            "confidence": rng.choice(["low", "medium", "high"]),
            "rationale": f"Load run: reviewer {index} read claim {claim['id']}.",
            "citations": [
                {
                    "stance": rng.choice(["supports", "refutes", "context"]),
                    "url": f"https://sources.load.example/{rng.randrange(200)}",
                    "quote": "a quoted passage",
                }
            ],
        }
        node += 1
        status, payload, _ = client.request(
            "verdict", "POST", f"/api/v1/claims/{claim['id']}/verdicts/", node=node, body=verdict
        )
        with outcomes.lock:
            if status == 201:
                outcomes.accepted[json.loads(payload)["id"]] = (user_id, claim["id"])
                held = None
            elif status >= 500 or status == 0:
                outcomes.unknown.append((user_id, claim["id"]))
            else:
                outcomes.rejected.append((user_id, claim["id"], status))
        if status != 201:
            time.sleep(0.5)


def api_reader(
    client: Client, index: int, project_id: int, document_ids: list[int], stop: threading.Event
) -> None:
    rng = random.Random(1000 + index)
    node = index
    while not stop.is_set():
        node += 1
        document = rng.choice(document_ids)
        client.request(
            "list_documents", "GET", f"/api/v1/documents/?project={project_id}", node=node
        )
        client.request(
            "read_document_claims",
            "GET",
            f"/api/v1/documents/{document}/?include=claims",
            node=node,
        )
        status = rng.choice(["in_review", "resolved", "disputed"])
        client.request(
            "list_claims", "GET", f"/api/v1/claims/?project={project_id}&status={status}", node=node
        )
        time.sleep(0.2)


def sign_in(client: Client, username: str, password: str, *, node: int = 0) -> None:
    """A browser's session, made before the load starts: signing in (a password hash that
    takes a second on purpose) is not what the run measures, and a reader still signing in
    when the fault strikes would read nothing at all. Its requests are not recorded."""
    deadline = time.monotonic() + 60
    while "sessionid" not in client.cookies:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{username} could not sign in within 60 s")
        client.request("login_page", "GET", "/accounts/login/", node=node, record=False)
        status, _, _ = client.request(
            "login",
            "POST",
            "/accounts/login/",
            node=node,
            form={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": client.cookies.get("csrftoken", ""),
            },
            headers={"Referer": f"http://{HOST}:{client.ports[node % len(client.ports)]}/"},
            record=False,
        )
        if status not in (200, 302):
            time.sleep(0.5)


def page_reader(client: Client, index: int, document_ids: list[int], stop: threading.Event) -> None:
    """A signed-in browser (``sign_in`` made its session): the HTML reader and the dashboard."""
    rng = random.Random(2000 + index)
    node = index
    while not stop.is_set():
        node += 1
        client.request("reader_page", "GET", f"/documents/{rng.choice(document_ids)}/", node=node)
        client.request("dashboard_page", "GET", f"/projects/{SLUG}/", node=node)
        time.sleep(0.3)


def exporter(client: Client, project_id: int, stop: threading.Event, lines: list[int]) -> None:
    node = 0
    while not stop.is_set():
        node += 1
        status, payload, _ = client.request(
            "export", "GET", f"/api/v1/projects/{project_id}/export/", node=node
        )
        if status == 200:
            lines.append(payload.count(b"\n"))
        stop.wait(1.0)


# --- servers -------------------------------------------------------------------------------------


@dataclass
class Node:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


def start_nodes(db_url: str, ports: list[int], workers: int, nodes: list[Node]) -> None:
    """``bin/serve`` per port: one shared SECRET_KEY (sessions work on either node);
    the first node migrates and collects static files, the others skip both. Each node
    is appended to ``nodes`` as soon as it is started, so the caller stops every node
    that was started even if a later one fails."""
    secret = secrets.token_urlsafe(50)
    for index, port in enumerate(ports):
        env = server_env(db_url)
        env.pop("WEB_CONCURRENCY", None)
        if workers:  # else bin/serve's default
            env["WEB_CONCURRENCY"] = str(workers)
        env.update(
            SECRET_KEY=secret,
            BIND=f"{HOST}:{port}",
            SKIP_DEPLOY_CHECK="1",  # plain http on loopback; everything else as in production
            SECURE_SSL_REDIRECT="0",
            SECURE_COOKIES="0",
            LOG_LEVEL="WARNING",
        )
        if index:
            env.update(SKIP_MIGRATE="1", SKIP_COLLECTSTATIC="1")
        log = ROOT / "var" / f"load-node{index + 1}-{port}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [str(ROOT / "bin" / "serve")],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        nodes.append(Node(process, port, log))
        wait_ready(nodes[-1], workers)


def wait_ready(node: Node, workers: int, timeout: float = 120) -> None:
    """Until the node answers and ``workers`` workers run (``0``: bin/serve's default
    count, taken as reached when the process tree has stopped growing for a second)."""
    deadline = time.monotonic() + timeout
    seen, since = 0, time.monotonic()
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise SystemExit(f"bin/serve on port {node.port} exited; see {node.log}")
        try:
            conn = http.client.HTTPConnection(HOST, node.port, timeout=5)
            conn.request("GET", "/api/v1/projects/")
            status = conn.getresponse().status
            conn.close()
            count = len(tree_pids(node.process.pid))
            if count != seen:
                seen, since = count, time.monotonic()
            if status == 401 and (
                count >= 1 + workers if workers else count >= 2 and time.monotonic() - since >= 1
            ):
                return
        except OSError:
            pass
        time.sleep(0.2)
    stop_nodes([node])
    raise SystemExit(f"bin/serve on port {node.port} did not answer in {timeout:.0f} s")


def stop_nodes(nodes: list[Node]) -> None:
    for node in nodes:
        if node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGTERM)
    for node in nodes:
        try:
            node.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait()


class MemorySampler:
    """The summed RSS and PSS of every node's process tree, sampled every ``interval`` s
    in a thread of its own while the load runs; ``idle`` is taken when it starts."""

    def __init__(self, nodes: list[Node], interval: float = 0.5) -> None:
        self.nodes = nodes
        self.interval = interval
        self.stop = threading.Event()
        self.idle = self.sample()
        self.peak = dict(self.idle)
        self.last = dict(self.idle)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> dict[str, float]:
        roots = [node.process.pid for node in self.nodes]
        return {
            "rss_mb": round(sum(tree_rss_mb(root) for root in roots), 1),
            "pss_mb": round(sum(tree_pss_mb(root) for root in roots), 1),
            "processes": sum(len(tree_pids(root)) for root in roots),
        }

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self.last = self.sample()
            for key, value in self.last.items():
                self.peak[key] = max(self.peak[key], value)

    def report(self) -> dict[str, Any]:
        return {"idle": self.idle, "peak": self.peak, "end": self.last}


@dataclass(frozen=True)
class Family:
    """A parent process and its children at one moment: each live member's CPU seconds
    (user + system) by pid with its start time, and what the parent has reaped (its
    children's counters: the whole life of each child that ended and was waited for)."""

    parent: int
    members: dict[int, tuple[int, float]]  # pid -> (start time in ticks, CPU seconds)
    reaped: float


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def family(
    parent: int,
    *,
    read: Callable[[int], list[str] | None] = proc_stat,
    pids: Callable[[], list[int]] = _pids,
) -> Family | None:
    """``parent`` and its children now (None once ``parent`` has ended). ``read``: the
    fields of a pid's ``/proc/<pid>/stat`` after its name; ``pids``: the live pids (both
    stand-ins in tests). Fields (0-based after the name): 1 the parent's pid, 11 and 12
    user and system ticks, 13 and 14 those of the reaped children, 19 the start time."""
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu(fields: list[str]) -> tuple[int, float]:
        return int(fields[19]), (int(fields[11]) + int(fields[12])) / ticks

    fields = read(parent)
    if fields is None:
        return None
    members = {parent: cpu(fields)}
    for pid in pids():
        if pid != parent and (child := read(pid)) is not None and int(child[1]) == parent:
            members[pid] = cpu(child)
    return Family(parent, members, (int(fields[13]) + int(fields[14])) / ticks)


def family_spent(start: Family | None, end: Family | None) -> float | None:
    """CPU seconds the family spent between two moments: each member alive at the end by
    its own counters (all of them for one that started since), plus what the parent reaped
    since, minus what the members that ended in between had already spent at the start
    (the reaped counters hold their whole lives). None when the parent itself was
    replaced (a restarted PostgreSQL: what its old processes spent is gone)."""
    if start is None or end is None or start.parent != end.parent:
        return None
    if start.members[start.parent][0] != end.members[end.parent][0]:
        return None  # the pid was reused by another process
    spent = end.reaped - start.reaped
    for pid, (started, cpu) in end.members.items():
        before = start.members.get(pid)
        spent += cpu - (before[1] if before is not None and before[0] == started else 0.0)
    for pid, (started, cpu) in start.members.items():
        after = end.members.get(pid)
        if after is None or after[0] != started:
            spent -= cpu  # ended: its whole life is in the reaped counters
    return spent


def postmaster_pid(db_url: str) -> int | None:
    """The pid of the PostgreSQL server ``db_url`` reaches on this machine: the parent of
    a backend serving a connection of ours (None when it cannot be read)."""
    import psycopg

    try:
        with psycopg.connect(db_url.replace("postgres://", "postgresql://", 1)) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
    except psycopg.Error:
        return None
    fields = proc_stat(int(row[0])) if row else None
    return int(fields[1]) if fields else None


def machine_cpu_s() -> dict[str, float]:
    """CPU seconds of the whole machine so far, from the first line of ``/proc/stat``:
    ``busy`` (user, nice, system, interrupts), ``steal`` (time the hypervisor gave another
    guest) and ``all`` (those with idle and iowait; guest time is already inside user)."""
    ticks = os.sysconf("SC_CLK_TCK")
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    values += [0] * (8 - len(values))
    user, nice, system, idle, iowait, irq, softirq, steal = values[:8]
    busy = user + nice + system + irq + softirq
    return {
        "busy": busy / ticks,
        "steal": steal / ticks,
        "all": (busy + idle + iowait + steal) / ticks,
    }


class CpuAccount:
    """CPU seconds over the load, by who spent them: each node's gunicorn master and its
    workers, the PostgreSQL server ``db_url`` reaches (its postmaster and every process it
    started: other clients of the same cluster count too), this process (the clients'
    threads, and the memory sampler's reads of ``/proc``) and the machine."""

    def __init__(self, nodes: list[Node], db_url: str) -> None:
        self.nodes = nodes
        self.postmaster = postmaster_pid(db_url)
        self.start = self._now()

    def _now(self) -> dict[str, Any]:
        usage = os.times()
        return {
            "servers": [family(node.process.pid) for node in self.nodes],
            "postgres": family(self.postmaster) if self.postmaster else None,
            "clients": usage.user + usage.system,
            "machine": machine_cpu_s(),
        }

    def report(self, requests: int) -> dict[str, Any]:
        end = self._now()
        servers = [
            family_spent(before, after)
            for before, after in zip(self.start["servers"], end["servers"], strict=True)
        ]
        spent: dict[str, float | None] = {
            "server": None if None in servers else sum(s for s in servers if s is not None),
            "postgres": family_spent(self.start["postgres"], end["postgres"]),
            "clients": end["clients"] - self.start["clients"],
            **{
                f"machine_{key}": end["machine"][key] - self.start["machine"][key]
                for key in ("busy", "steal", "all")
            },
        }
        per_request = {
            f"{key}_ms": None
            if spent[key] is None
            else round(1000 * spent[key] / max(requests, 1), 3)
            for key in ("server", "postgres", "clients", "machine_busy")
        }
        every = spent["machine_all"]
        return {
            "seconds": {k: None if v is None else round(v, 2) for k, v in spent.items()},
            "per_request": per_request,
            "machine_busy_share": round(spent["machine_busy"] / every, 3) if every else None,
            "cpus": os.cpu_count(),
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- faults -------------------------------------------------------------------------------------


def pg_cluster(db_url: str, name: str) -> tuple[str, str]:
    """(version, cluster) of the Debian cluster ``name`` (``--cluster``, default main),
    checked to be the one ``db_url`` points at, so the restart hits the right server."""
    port = str(int(urlsplit(db_url).port or 5432))
    for version in sorted(os.listdir("/etc/postgresql"), reverse=True):
        conf = Path("/etc/postgresql") / version / name / "postgresql.conf"
        if conf.exists():
            found = next(
                (
                    line.split("=", 1)[1].split("#", 1)[0].strip()
                    for line in conf.read_text().splitlines()
                    if line.strip().startswith("port")
                ),
                "5432",
            )
            if found != port:
                raise SystemExit(f"cluster {version}/{name} listens on {found}, --db on {port}")
            return version, name
    raise SystemExit(f"no PostgreSQL cluster named {name!r} under /etc/postgresql")


def restart_postgres(
    recorder: Recorder, at: float, window: dict[str, float], cluster: tuple[str, str]
) -> None:
    """Restart the cluster at ``at`` seconds into the run; record when it went down and up."""
    if recorder.stop.wait(at):
        return
    version, cluster_name = cluster
    window["down"] = recorder.now()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster_name, "restart"],
        check=True,
        capture_output=True,
    )
    window["up"] = recorder.now()
    common.log(
        f"  PostgreSQL restarted: down at {window['down']:.1f} s, up at {window['up']:.1f} s"
    )


def open_transactions(db_url: str) -> list[tuple[Any, ...]]:
    """Connections to the load database idle in a transaction (or aborted in one)."""
    import psycopg

    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(common.psycopg_url(db_url).rsplit("/", 1)[0] + "/postgres") as conn:
        return conn.execute(
            "SELECT pid, state, now() - xact_start, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = %s AND state LIKE 'idle in transaction%%'",
            [name],
        ).fetchall()


def drop_export_midway(db_url: str, node: Node, token: str, project_id: int) -> dict[str, Any]:
    """Read the first 16 KB of a streamed export, then reset the connection; report what
    PostgreSQL holds open while it streams and after the drop, and whether the server
    saw the client go (the export view logs "… stopped by the client after N lines" when
    its generator is closed early: proof the stream was cut on the server's side, not
    merely unread by the client)."""
    port = node.port
    log_start = node.log.stat().st_size
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server fills it fast
    sock.connect((HOST, port))
    request = (
        f"GET /api/v1/projects/{project_id}/export/ HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Token {token}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(request.encode())
    received = b""
    while len(received) < 16384:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    complete = received.endswith(b"\n0\r\n\r\n")
    time.sleep(0.5)
    during = open_transactions(db_url)
    # RST instead of FIN: the server's next write fails at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    after: list[tuple[Any, ...]] = []
    marker = f"export of project {project_id} stopped by the client after "
    seen = ""
    for _ in range(10):
        time.sleep(0.5)
        after = open_transactions(db_url)
        with node.log.open("rb") as handle:
            handle.seek(log_start)
            seen = next(
                (line for line in handle.read().decode(errors="replace").splitlines()
                 if marker in line),
                seen,
            )  # fmt: skip
    status_line = received.split(b"\r\n", 1)[0].decode(errors="replace")
    return {
        "status_line": status_line,
        "bytes_read": len(received),
        "stream_was_cut": not complete,
        "server_saw_disconnect": bool(seen),
        "server_log": seen.strip()[-200:],
        "open_transactions_while_streaming": len(during),
        "open_transactions_after_drop": len(after),
        "after_detail": [str(row) for row in after],
    }


# --- the run -------------------------------------------------------------------------------------


@dataclass
class World:
    project_id: int
    export_project_id: int
    required: int
    ratings: list[str]
    document_ids: list[int]
    reviewer_tokens: list[tuple[int, str]]
    reader_tokens: list[str]
    page_user: str
    page_password: str


def seed(db_url: str, claims: int, documents: int, reviewers: int) -> World:
    from bench import generate

    common.setup_django(db_url)
    from django.contrib.auth import get_user_model

    from annotations import services
    from annotations.models import Document, Project, Rating

    dataset = generate.ensure("queue", claims=claims, documents=documents, slug=SLUG)
    generate.queue_reset(dataset)
    # The dropped export needs one far larger than the kernel's socket buffers (up to
    # ~4 MB on the sending side here): ~11 MB, 4,000 claims with 3 verdicts each.
    big_export = generate.ensure("export", verdicts=DROP_EXPORT_VERDICTS, slug="load-export")
    cast = generate.ensure_cast()
    project = Project.objects.get(pk=dataset.project_id)
    # A new token per user and run (stored hashed: an earlier run's key cannot be read back).
    users = get_user_model().objects.in_bulk(
        [cast.admin_id, cast.editor_id, cast.creator_id, *cast.reviewer_ids]
    )
    tokens = {uid: services.token_create(user=user).secret for uid, user in users.items()}
    from django.db import connections

    world = World(
        project_id=project.pk,
        export_project_id=big_export.project_id,
        required=project.required_reviews,
        ratings=list(Rating.objects.filter(project=project).values_list("key", flat=True)),
        document_ids=list(Document.objects.filter(project=project).values_list("pk", flat=True)),
        reviewer_tokens=[(uid, tokens[uid]) for uid in cast.reviewer_ids[:reviewers]],
        reader_tokens=[tokens[cast.admin_id], tokens[cast.editor_id], tokens[cast.creator_id]],
        page_user="bench-editor",
        page_password=generate.BENCH_PASSWORD,
    )
    connections.close_all()
    return world


def check_database(world: World, outcomes: Outcomes, faulted: bool) -> dict[str, Any]:
    """The invariants, read from the database after the run."""
    from django.db import connections
    from django.db.models import Count, Q

    from annotations.models import Assignment, AssignmentState, Citation, Event, Verdict

    connections.close_all()  # the restart may have broken the old connection
    verdicts = Verdict.objects.filter(claim__project_id=world.project_id)
    in_db = dict(verdicts.values_list("pk", "reviewer_id"))
    accepted = set(outcomes.accepted)
    lost = sorted(accepted - set(in_db))
    extra = sorted(set(in_db) - accepted)
    per_claim_verdicts = (
        verdicts.values("claim_id")
        .annotate(n=Count("reviewer_id", distinct=True))
        .filter(n__gt=world.required)
    )
    pairs = verdicts.values("claim_id", "reviewer_id").annotate(n=Count("pk")).filter(n__gt=1)
    live = Q(state__in=[AssignmentState.LEASED, AssignmentState.SUBMITTED])
    assignments = Assignment.objects.filter(project_id=world.project_id)
    over_leased = (
        assignments.filter(live)
        .values("claim_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=world.required)
    )
    repeat_pairs = (
        assignments.filter(live)
        .values("claim_id", "reviewer_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    client_repeats = len(outcomes.leases) - len(set(outcomes.leases))
    without_citation = verdicts.exclude(pk__in=Citation.objects.values("verdict_id")).count()
    events = set(
        Event.objects.filter(project_id=world.project_id, verb="verdict.submit").values_list(
            "object_id", flat=True
        )
    )
    without_event = [pk for pk in in_db if pk not in events]
    report = {
        "verdicts_in_db": len(in_db),
        "accepted_submissions": len(accepted),
        "unknown_outcomes": len(outcomes.unknown),
        "rejected_submissions": len(outcomes.rejected),
        "lost_verdicts": len(lost),
        "unexpected_verdicts": len(extra),
        "claims_over_required_verdicts": per_claim_verdicts.count(),
        "duplicate_verdict_pairs": pairs.count(),
        "claims_leased_beyond_required": over_leased.count(),
        "reviewer_leased_same_claim_twice_db": repeat_pairs.count(),
        "reviewer_leased_same_claim_twice_client": client_repeats,
        "verdicts_without_citation": without_citation,
        "verdicts_without_event": len(without_event),
    }
    failures = [
        name
        for name in (
            "lost_verdicts",
            "claims_over_required_verdicts",
            "duplicate_verdict_pairs",
            "claims_leased_beyond_required",
            "reviewer_leased_same_claim_twice_db",
            "reviewer_leased_same_claim_twice_client",
            "verdicts_without_citation",
            "verdicts_without_event",
        )
        if report[name]
    ]
    # Without a fault every accepted verdict and nothing else; with one, only requests
    # whose answer was lost may have committed.
    if len(extra) > (len(outcomes.unknown) if faulted else 0):
        failures.append("unexpected_verdicts")
    report["failures"] = failures
    return report


def latency_report(samples: list[Sample]) -> dict[str, Any]:
    by_op: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in samples:
        statuses[s.op][str(s.status)] += 1
        if 200 <= s.status < 400:
            by_op[s.op].append(s.ms)
    report = {}
    for op in sorted(statuses):
        values = by_op.get(op, [])
        report[op] = {
            "ok": len(values),
            "statuses": dict(sorted(statuses[op].items())),
            **(
                {
                    "p50_ms": round(common.percentile(values, 50), 1),
                    "p95_ms": round(common.percentile(values, 95), 1),
                    "p99_ms": round(common.percentile(values, 99), 1),
                    "max_ms": round(max(values), 1),
                }
                if values
                else {}
            ),
        }
    return report


def in_fault_window(sample: Sample, window: dict[str, float], limit: float) -> bool:
    """Did ``sample`` overlap the outage: from PostgreSQL going down until ``limit``
    seconds after it was back up?"""
    return (
        "down" in window
        and window["down"] <= sample.started + sample.ms / 1000
        and sample.started <= window.get("up", 0) + limit
    )


def fault_report(
    samples: list[Sample], window: dict[str, float], limit: float
) -> tuple[dict[str, Any], list[str]]:
    failures = []
    if "up" not in window:
        return {"restarted": False}, ["fault_not_injected"]
    down, up = window["down"], window["up"]
    during = [s for s in samples if in_fault_window(s, window, limit)]
    first_ok = min(
        (s.started + s.ms / 1000 for s in samples if s.started >= up and 200 <= s.status < 300),
        default=None,
    )
    recovery = None if first_ok is None else round(first_ok - up, 2)
    if recovery is None or recovery > limit:
        failures.append("no_recovery_within_limit")
    errors = [s for s in during if s.status >= 500 or s.status == 0]
    report = {
        "restarted": True,
        "down_at_s": round(down, 2),
        "up_at_s": round(up, 2),
        "restart_took_s": round(up - down, 2),
        "recovered_after_s": recovery,
        "errors_in_window": {
            str(code): sum(1 for s in errors if s.status == code)
            for code in sorted({s.status for s in errors})
        },
    }
    return report, failures


def summarize_errors(
    samples: list[Sample], window: dict[str, float], limit: float
) -> tuple[dict[str, Any], list[str]]:
    failures = []
    leaked = [s for s in samples if any(m in s.body for m in TRACEBACK_MARKERS)]
    if leaked:
        failures.append("traceback_in_body")

    def in_window(s: Sample) -> bool:
        return in_fault_window(s, window, limit)

    bad = [s for s in samples if s.status >= 500 and not (s.status == 503 and in_window(s))]
    dropped = [s for s in samples if s.status == 0 and not in_window(s)]
    if bad:
        failures.append("server_errors")
    if dropped:
        failures.append("dropped_connections")
    examples = [
        {
            "op": s.op,
            "status": s.status,
            "at_s": round(s.started, 2),
            "body": s.body[:300].decode(errors="replace"),
        }
        for s in (leaked + bad + dropped)[:5]
    ]
    return {
        "5xx_outside_fault": len(bad),
        "dropped_outside_fault": len(dropped),
        "bodies_with_traceback": len(leaked),
        "examples": examples,
    }, failures


def run(args: argparse.Namespace) -> int:
    if not args.db.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the load test runs on PostgreSQL (--db postgres://…/wb_name)")
    name = args.db.rsplit("/", 1)[1]
    if not name.startswith("wb_"):
        raise SystemExit("use a database of its own, named wb_* (it is re-seeded)")
    cluster = pg_cluster(args.db, args.cluster) if args.fault == "pg-restart" else None
    mode = f"{args.nodes}node" + (f"-{args.fault}" if args.fault != "none" else "")
    mode += f"-think{args.think:g}s" if args.think else ""
    common.log(f"seeding {args.claims} claims over {args.documents} documents …")
    world = seed(args.db, args.claims, args.documents, args.reviewers)
    ports = [free_port() for _ in range(args.nodes)]
    nodes: list[Node] = []
    recorder = Recorder(time.monotonic(), args.max_requests)
    outcomes = Outcomes()
    export_lines: list[int] = []
    window: dict[str, float] = {}
    threads: list[threading.Thread] = []
    clients: list[Client] = []

    def spawn(target: Callable[..., None], *a: Any, client: Client) -> None:
        clients.append(client)
        threads.append(threading.Thread(target=target, args=(client, *a), daemon=True))

    for index, (user_id, token) in enumerate(world.reviewer_tokens):
        spawn(
            reviewer, user_id, index, world.project_id, world.ratings, outcomes, recorder.stop,
            args.think, client=Client(ports, recorder, token),
        )  # fmt: skip
    browsers: list[Client] = []
    for index in range(args.readers):
        if index % 2:
            browsers.append(Client(ports, recorder))
            spawn(page_reader, index, world.document_ids, recorder.stop, client=browsers[-1])
        else:
            token = world.reader_tokens[index % len(world.reader_tokens)]
            spawn(
                api_reader, index, world.project_id, world.document_ids, recorder.stop,
                client=Client(ports, recorder, token),
            )  # fmt: skip
    spawn(exporter, world.project_id, recorder.stop, export_lines,
          client=Client(ports, recorder, world.reader_tokens[0]))  # fmt: skip
    fault_thread = None
    if args.fault == "pg-restart":
        fault_thread = threading.Thread(
            target=restart_postgres, args=(recorder, args.fault_at, window, cluster), daemon=True
        )
    reviewers = threads[: len(world.reviewer_tokens)]
    common.log(
        f"load: {len(reviewers)} reviewers, {args.readers} readers, 1 exporter; "
        f"≤ {args.duration} s, ≤ {args.max_requests} requests …"
    )
    try:
        common.log(f"starting {args.nodes} × bin/serve ({args.workers} workers) on ports {ports} …")
        start_nodes(args.db, ports, args.workers, nodes)
        for index, browser in enumerate(browsers):
            sign_in(browser, world.page_user, world.page_password, node=index)
        memory = MemorySampler(nodes)
        memory.thread.start()
        cpu = CpuAccount(nodes, args.db)
        recorder.t0 = time.monotonic()
        for thread in threads:
            thread.start()
        if fault_thread:
            fault_thread.start()
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline and not recorder.stop.is_set():
            if not any(t.is_alive() for t in reviewers):
                break  # the queue is done
            time.sleep(0.2)
        recorder.stop.set()
        for thread in threads:
            thread.join(timeout=90)
        cpu_report = cpu.report(len(recorder.samples))
        memory.stop.set()
        memory.thread.join(timeout=10)
        if fault_thread:
            fault_thread.join(timeout=120)
        elapsed = recorder.now()
        disconnect = None
        if args.disconnect_export:
            common.log("dropping an export mid-stream …")
            disconnect = drop_export_midway(
                args.db, nodes[0], world.reader_tokens[0], world.export_project_id
            )
    finally:
        for client in clients:
            client.close()
        stop_nodes(nodes)

    samples = list(recorder.samples)
    database = check_database(world, outcomes, faulted=args.fault != "none")
    errors, error_failures = summarize_errors(samples, window, args.recovery_limit)
    failures = database.pop("failures") + error_failures
    result: dict[str, Any] = {
        "mode": mode,
        "nodes": args.nodes,
        "workers_per_node": args.workers or memory.idle["processes"] // args.nodes - 1,
        "reviewers": len(world.reviewer_tokens),
        "readers": args.readers,
        "think_s": args.think,
        "claims": args.claims,
        "required_reviews": world.required,
        "seconds": round(elapsed, 1),
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 1) if elapsed else 0,
        "verdicts_per_s": round(len(outcomes.accepted) / elapsed, 1) if elapsed else 0,
        "exports_completed": len(export_lines),
        "export_lines_last": export_lines[-1] if export_lines else 0,
        "latency": latency_report(samples),
        "server_memory": memory.report(),
        "cpu": cpu_report,
        "invariants": database,
        "errors": errors,
    }
    if args.fault != "none":
        result["fault"], fault_failures = fault_report(samples, window, args.recovery_limit)
        failures += fault_failures
    if disconnect is not None:
        result["export_disconnect"] = disconnect
        if (
            disconnect["open_transactions_while_streaming"]
            or disconnect["open_transactions_after_drop"]
            or not disconnect["stream_was_cut"]
            or not disconnect["server_saw_disconnect"]
        ):
            failures.append("export_disconnect")
    result["failures"] = failures
    result["passed"] = not failures
    # --no-save keeps the results folder untouched: the details go under var/ instead.
    folder = ROOT / "var" if args.no_save else common.RESULTS
    out = Path(args.out or folder / f"load-{mode}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**result, "machine": common.machine()}, indent=2) + "\n")
    common.emit(
        "load",
        dataset=f"QUEUE {args.claims}",
        db=args.db,
        metric=mode,
        save=not args.no_save,
        label=args.label,
        passed=result["passed"],
        failures=failures,
        seconds=result["seconds"],
        requests=result["requests"],
        requests_per_s=result["requests_per_s"],
        verdicts=database["verdicts_in_db"],
        accepted=database["accepted_submissions"],
        workers_per_node=result["workers_per_node"],
        server_rss_idle_mb=memory.idle["rss_mb"],
        server_rss_peak_mb=memory.peak["rss_mb"],
        server_pss_peak_mb=memory.peak["pss_mb"],
        cpu_per_request_ms=cpu_report["per_request"],
        machine_busy_share=cpu_report["machine_busy_share"],
        lease_p50_ms=result["latency"].get("lease", {}).get("p50_ms"),
        lease_p95_ms=result["latency"].get("lease", {}).get("p95_ms"),
        verdict_p50_ms=result["latency"].get("verdict", {}).get("p50_ms"),
        verdict_p95_ms=result["latency"].get("verdict", {}).get("p95_ms"),
        **(
            {"recovered_after_s": result["fault"].get("recovered_after_s")}
            if "fault" in result
            else {}
        ),
    )
    shares = cpu_report["per_request"]
    busy = cpu_report["machine_busy_share"]
    common.log(
        f"{result['requests_per_s']} req/s; CPU a request: server {shares['server_ms']} ms, "
        f"PostgreSQL {shares['postgres_ms']} ms, clients {shares['clients_ms']} ms "
        f"(the machine {shares['machine_busy_ms']} ms, "
        f"{'?' if busy is None else f'{busy:.0%}'} of its {cpu_report['cpus']} CPUs busy)"
    )
    common.log(
        f"{'PASS' if result['passed'] else 'FAIL ' + ', '.join(failures)} — details in {out}"
    )
    return 0 if result["passed"] else 1


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--nodes", type=int, default=1, choices=[1, 2, 3])
    p.add_argument(
        "--workers", type=int, default=4,
        help="gunicorn workers per node (0: bin/serve's default, WEB_CONCURRENCY unset)",
    )  # fmt: skip
    p.add_argument("--reviewers", type=int, default=50)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--claims", type=int, default=3000)
    p.add_argument("--documents", type=int, default=60)
    p.add_argument(
        "--think", type=float, default=0.0,
        help="mean seconds a reviewer reads before judging (exponential; 0: closed loop)",
    )  # fmt: skip
    p.add_argument("--duration", type=float, default=90, help="seconds of load at most")
    p.add_argument("--max-requests", type=int, default=40_000)
    p.add_argument("--fault", choices=["none", "pg-restart"], default="none")
    p.add_argument(
        "--cluster", default="main", help="Debian cluster name for pg_ctlcluster (--fault)"
    )
    p.add_argument("--fault-at", type=float, default=20, help="seconds into the load")
    p.add_argument("--recovery-limit", type=float, default=10, help="seconds")
    p.add_argument(
        "--no-disconnect-export", dest="disconnect_export", action="store_false",
        help="skip the mid-export disconnect check",
    )  # fmt: skip
    p.add_argument("--quick", action="store_true", help="20 s, 600 claims")
    p.add_argument("--out", default="")
    p.add_argument("--no-save", action="store_true")
    p.add_argument("--label", default="")
    args = p.parse_args(argv)
    # A SIGTERM (a test's timeout, Ctrl-C from a supervisor) unwinds through run()'s
    # finally, which stops every gunicorn started, instead of leaving them orphaned.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    if args.quick:
        args.duration, args.claims, args.documents = min(args.duration, 20), 600, 20
        args.fault_at = min(args.fault_at, 8)
    raise SystemExit(run(args))


if __name__ == "__main__":
    main()
