"""doccano and Label Studio, installed outside the repository, started and driven by
bench/bench_peer.py with the same workload as Workbench (shared/research/peer-bench.md).

The peers live in one folder (``--peers DIR`` or ``$WB_PEERS``), never in the project's
dependencies: ``doccano-venv`` (doccano 1.8.4) and ``ls-venv`` (Label Studio 1.23.2), each a
CPython 3.11 virtualenv, with their data in ``doccano-data`` and ``ls-data`` and their
logs in ``logs``. Installing them (once, a few minutes each)::

    cd DIR && python3.11 -m venv ls-venv && ls-venv/bin/pip install label-studio==1.23.2
    python3.11 -m venv doccano-venv && doccano-venv/bin/pip install doccano==1.8.4 \\
        "marshmallow<4" "numpy<2"

A peer that is not installed is skipped. Each is started on a free 127.0.0.1 port with
its telemetry off, as peer-bench.md describes, and stopped afterwards:

* doccano: ``doccano init`` and ``createuser`` on the first start; then the gunicorn
  application ``doccano webserver`` runs (5 sync workers), bound to loopback (the CLI
  binds every interface), and ``doccano task`` (Celery, which imports and exports go
  through). Its memory is both trees. Stopping Celery: SIGTERM to its main process, then
  to its group (the group at once can leave the main process hanging).
* Label Studio: ``label-studio start`` (Django's dev server, one process) with
  ``--internal-host 127.0.0.1``; the first start migrates and creates the user, the
  organization and a legacy API token.

The adapters speak each peer's public HTTP API over one keep-alive ``Client`` (doccano's
sync workers close the connection after every response; the client reconnects), in the
shape WorkbenchSystem has in bench/bench_peer.py.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from bench.serve import HOST

PEERS_ENV = "WB_PEERS"
PASSWORD = "benchpass123"  # local benchmark accounts on loopback only
LS_USER = "admin@example.com"
LS_TOKEN = "benchtoken0123456789abcdef"
DOCCANO_USER = "admin"
LABEL = "CLAIM"


class OverBudget(RuntimeError):
    """A system took longer than the run's time budget."""


def installed(peers_dir: Path | None) -> dict[str, Path]:
    """The peers found under ``peers_dir``: name -> their folder."""
    if not peers_dir:
        return {}
    found = {}
    if (peers_dir / "doccano-venv/bin/doccano").exists():
        found["doccano"] = peers_dir
    if (peers_dir / "ls-venv/bin/label-studio").exists():
        found["label_studio"] = peers_dir
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def peer_env(venv: Path, **extra: str) -> dict[str, str]:
    """A clean environment: none of Workbench's variables (doccano reads ``DATABASE_URL``)."""
    env = {key: os.environ[key] for key in ("HOME", "LANG", "LC_ALL", "TZ") if key in os.environ}
    env["PATH"] = f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def spawn(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """A process in a session (and group) of its own, its output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        handle.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        handle.flush()
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


def terminate(process: subprocess.Popen[bytes], *, grace: float = 20) -> None:
    """SIGTERM to the main process, wait; then SIGTERM to its group; then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)  # the session's leftovers (workers, pool children)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(process.pid):
            time.sleep(0.1)
        if not _group_alive(process.pid):
            break
    if process.poll() is None:
        process.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_http(
    port: int, path: str, process: subprocess.Popen[bytes], *, timeout: float, ok: tuple[int, ...]
) -> None:
    """Until GET ``path`` answers one of ``ok``; raises if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before answering")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status in ok:
                return
            last = f"HTTP {status}"
        except OSError as error:
            last = str(error)
        time.sleep(0.25)
    raise RuntimeError(f"no answer on {HOST}:{port}{path} within {timeout:.0f} s ({last})")


def wait_log(
    log: Path, needle: str, offset: int, process: subprocess.Popen[bytes], timeout: float
) -> None:
    """Until ``needle`` appears in ``log`` past ``offset`` (e.g. Celery's "ready.")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}; see {log}")
        with log.open("rb") as handle:
            handle.seek(offset)
            if needle.encode() in handle.read():
                return
        time.sleep(0.25)
    raise RuntimeError(f"{needle!r} not in {log} within {timeout:.0f} s")


def poll(fetch: Any, *, timeout: float, interval: float = 0.1) -> Any:
    """Call ``fetch()`` until it returns something other than None, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fetch()
        if result is not None:
            return result
        time.sleep(interval)
    raise OverBudget(f"no result within {timeout:.0f} s")


def multipart(field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    """One file field as multipart/form-data: (body, content type)."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


# --- doccano ------------------------------------------------------------------------------------


class Doccano:
    """doccano 1.8.4: gunicorn (5 sync workers) + Celery, SQLite, token auth."""

    name = "doccano"

    def __init__(self, folder: Path, client_factory: Any, *, workers: int = 5) -> None:
        self.folder = folder
        self.venv = folder / "doccano-venv"
        self.home = folder / "doccano-data"
        self.logs = folder / "logs"
        self.client_factory = client_factory
        self.workers = workers
        self.port = 0
        self.web: subprocess.Popen[bytes] | None = None
        self.celery: subprocess.Popen[bytes] | None = None
        self.client: Any = None
        self.label = 0

    def env(self) -> dict[str, str]:
        return peer_env(
            self.venv,
            DOCCANO_HOME=str(self.home),
            STANDALONE="True",
            DJANGO_SETTINGS_MODULE="config.settings.production",
            DATABASE_URL=f"sqlite:///{self.home}/db.sqlite3",
            MEDIA_ROOT=str(self.home / "media"),
            DEBUG="False",
        )

    def start(self) -> None:
        env = self.env()
        if not (self.home / "db.sqlite3").exists():
            self.home.mkdir(parents=True, exist_ok=True)
            doccano = str(self.venv / "bin/doccano")
            for command in (
                [doccano, "init"],
                [doccano, "createuser", "--username", DOCCANO_USER, "--password", PASSWORD],
            ):
                subprocess.run(
                    command, cwd=self.folder, env=env, check=True, timeout=600,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
        backend = next((self.venv / "lib").glob("python3*/site-packages/backend"))
        self.port = free_port()
        self.web = spawn(
            [str(self.venv / "bin/gunicorn"), "--bind", f"{HOST}:{self.port}",
             "--workers", str(self.workers), "--chdir", str(backend), "--capture-output",
             "--log-level", "warning", "config.wsgi"],
            env, self.logs / "doccano-web.log", self.folder,
        )  # fmt: skip
        celery_log = self.logs / "doccano-task.log"
        offset = celery_log.stat().st_size if celery_log.exists() else 0
        self.celery = spawn([str(self.venv / "bin/doccano"), "task"], env, celery_log, self.folder)
        # anonymous: 403 once Django answers (/v1/health/ also waits for Celery)
        wait_http(self.port, "/v1/projects", self.web, timeout=120, ok=(401, 403))
        wait_log(celery_log, " ready.", offset, self.celery, timeout=120)
        self.client = self.client_factory(self.port)
        # no cookies are kept, so the session cookie login sets never triggers DRF's CSRF check
        key = self.client.json(
            "POST", "/v1/auth/login/", {"username": DOCCANO_USER, "password": PASSWORD}
        )["key"]
        self.client.headers["Authorization"] = f"Token {key}"

    def stop(self) -> None:
        if self.client:
            self.client.conn.close()
        for process in (self.celery, self.web):
            if process:
                terminate(process)

    def roots(self) -> list[int]:
        assert self.web and self.celery
        return [self.web.pid, self.celery.pid]

    def version(self) -> str:
        return "doccano 1.8.4 (gunicorn, Celery, SQLite)"

    def create_project(self, title: str) -> int:
        project = self.client.json(
            "POST",
            "/v1/projects",
            {
                "name": title,
                "description": "peer workload",
                "project_type": "SequenceLabeling",
                "resourcetype": "SequenceLabelingProject",
                "allow_overlapping": True,  # not the default: the workload overlaps spans
                "guideline": "",
                "random_order": False,
                "collaborative_annotation": False,
                "single_class_classification": False,
                "grapheme_mode": False,
                "use_relation": False,
                "tags": [],
            },
            expect=201,
        )
        self.label = self.client.json(
            "POST",
            f"/v1/projects/{project['id']}/span-types",
            {"text": LABEL, "prefix_key": None, "suffix_key": "c", "background_color": "#209cee",
             "text_color": "#ffffff"},
            expect=201,
        )["id"]  # fmt: skip
        return int(project["id"])

    def import_bodies(self, project: int, texts: list[str]) -> list[bytes]:
        # an empty label column: without it the import reports every line
        rows = ({"text": t, "label": []} for t in texts)
        jsonl = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        body, self._content_type = multipart("filepond", "peer.jsonl", jsonl.encode())
        return [body]

    def import_documents(self, project: int, bodies: list[bytes]) -> list[tuple[int, int]]:
        status, data = self.client.request(
            "POST",
            "/v1/fp/process/",
            bodies[0],
            {"Content-Type": self._content_type, "Accept": "*/*"},  # it answers text/plain
        )
        if status not in (200, 201):
            raise RuntimeError(f"upload: {status} {data[:300]!r}")
        upload = data.decode().strip()
        task = self.client.json(
            "POST",
            f"/v1/projects/{project}/upload",
            {"uploadIds": [upload], "format": "JSONL", "task": "SequenceLabeling",
             "column_data": "text", "column_label": "label", "delimiter": "",
             "encoding": "utf_8"},
        )["task_id"]  # fmt: skip
        self._wait_task(task)
        documents: list[tuple[int, int]] = []
        offset = 0
        while True:  # bounded: stops at a short page, and at most 1,000 pages
            page = self.client.json(
                "GET", f"/v1/projects/{project}/examples?limit=1000&offset={offset}"
            )
            documents.extend((row["id"], len(row["text"])) for row in page["results"])
            offset += len(page["results"])
            if not page["next"] or not page["results"] or offset > 1_000_000:
                break
        # doccano orders examples by creation; the document index fixes the offsets
        documents.sort(key=lambda doc: doc[0])
        return documents

    def _wait_task(self, task: str) -> None:
        """Poll the Celery task every 0.1 s until it is done; its errors are raised (an
        import reports rejected lines in its result)."""

        def ready() -> bool | None:
            status = self.client.json("GET", f"/v1/tasks/status/{task}")
            if not status.get("ready"):
                return None
            result = status.get("result")
            errors = status.get("error") or (isinstance(result, dict) and result.get("error"))
            if errors:
                raise RuntimeError(f"doccano task {task}: {str(errors)[:500]}")
            return True

        poll(ready, timeout=600)

    def span_requests(
        self, project: int, document: int, spans: list[tuple[int, int]], text: str
    ) -> list[tuple[str, str, bytes]]:
        path = f"/v1/projects/{project}/examples/{document}/spans"
        return [
            (
                "POST",
                path,
                json.dumps({"label": self.label, "start_offset": s, "end_offset": e}).encode(),
            )
            for s, e in spans
        ]

    def fetch(self, project: int, document: int) -> tuple[int, int]:
        """Two requests, as doccano's UI does: the example, then its spans."""
        status, example = self.client.request("GET", f"/v1/projects/{project}/examples/{document}")
        if status != 200:
            raise RuntimeError(f"fetch: {status}")
        status, spans = self.client.request(
            "GET", f"/v1/projects/{project}/examples/{document}/spans"
        )
        if status != 200:
            raise RuntimeError(f"fetch spans: {status}")
        return len(json.loads(spans)), len(example) + len(spans)

    def export(self, project: int) -> tuple[int, int]:
        """A Celery task: start it, poll, download the zip of JSONL; count the spans."""
        task = self.client.json(
            "POST", f"/v1/projects/{project}/download", {"format": "JSONL", "exportApproved": False},
            expect=200,
        )["task_id"]  # fmt: skip
        self._wait_task(task)
        status, data = self.client.request("GET", f"/v1/projects/{project}/download?taskId={task}")
        if status != 200:
            raise RuntimeError(f"download: {status} {data[:300]!r}")
        spans = 0
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                for line in archive.read(member).decode().splitlines():
                    if line.strip():
                        spans += len(json.loads(line).get("label", []))
        return spans, len(data)

    def profile(self, label: str) -> None:
        return None

    def extras(self, project: int) -> dict[str, Any]:
        return {"reconnects": self.client.reconnects}


# --- Label Studio -------------------------------------------------------------------------------

LS_CONFIG = (
    '<View><Labels name="label" toName="text"><Label value="CLAIM"/></Labels>'
    '<Text name="text" value="$text"/></View>'
)


class LabelStudio:
    """Label Studio 1.23.2: ``label-studio start`` (Django dev server), SQLite, a legacy token."""

    name = "label_studio"

    def __init__(self, folder: Path, client_factory: Any) -> None:
        self.folder = folder
        self.venv = folder / "ls-venv"
        self.data = folder / "ls-data"
        self.logs = folder / "logs"
        self.client_factory = client_factory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.client: Any = None

    def start(self) -> None:
        env = peer_env(
            self.venv,
            LABEL_STUDIO_BASE_DATA_DIR=str(self.data),
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            # telemetry off: error reports, the version check and analytics
            SENTRY_DSN="",
            FRONTEND_SENTRY_DSN="",
            LATEST_VERSION_CHECK="false",
            COLLECT_ANALYTICS="false",
        )
        self.port = free_port()
        self.process = spawn(
            [str(self.venv / "bin/label-studio"), "start", "--no-browser",
             "--internal-host", HOST, "--port", str(self.port), "--data-dir", str(self.data),
             "--username", LS_USER, "--password", PASSWORD, "--user-token", LS_TOKEN,
             "--enable-legacy-api-token"],
            env, self.logs / "label-studio.log", self.folder,
        )  # fmt: skip
        # the first start migrates (about a minute)
        wait_http(self.port, "/health", self.process, timeout=600, ok=(200,))
        self.client = self.client_factory(self.port)
        self.client.headers["Authorization"] = f"Token {LS_TOKEN}"
        self.client.json("GET", "/api/projects/?page_size=1")  # the token works

    def stop(self) -> None:
        if self.client:
            self.client.conn.close()
        if self.process:
            terminate(self.process)

    def roots(self) -> list[int]:
        assert self.process
        return [self.process.pid]

    def version(self) -> str:
        release = self.client.json("GET", "/api/version").get("release", "?")
        return f"Label Studio {release} (Django dev server, SQLite)"

    def create_project(self, title: str) -> int:
        project = self.client.json(
            "POST", "/api/projects/", {"title": title, "label_config": LS_CONFIG}, expect=201
        )
        return int(project["id"])

    def import_bodies(self, project: int, texts: list[str]) -> list[bytes]:
        return [json.dumps([{"text": t} for t in texts]).encode()]

    def import_documents(self, project: int, bodies: list[bytes]) -> list[tuple[int, int]]:
        """One synchronous import request (no Redis: the Community edition imports in it)."""
        status, data = self.client.request(
            "POST", f"/api/projects/{project}/import?return_task_ids=true", bodies[0]
        )
        if status != 201:
            raise RuntimeError(f"import: {status} {data[:300]!r}")
        ids = json.loads(data)["task_ids"]
        # the ids come in the order of the list; every text has the same length but the last
        # digits, so the length is the text's
        texts = json.loads(bodies[0])
        return [(int(i), len(row["text"])) for i, row in zip(ids, texts, strict=True)]

    def span_requests(
        self, project: int, document: int, spans: list[tuple[int, int]], text: str
    ) -> list[tuple[str, str, bytes]]:
        """One Annotation per span (a "submission" holding one region)."""
        path = f"/api/tasks/{document}/annotations/"
        return [
            ("POST", path, json.dumps({"result": [{
                "id": f"r{j}", "from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": s, "end": e, "text": text[s:e], "labels": [LABEL]},
            }]}).encode())
            for j, (s, e) in enumerate(spans)
        ]  # fmt: skip

    def fetch(self, project: int, document: int) -> tuple[int, int]:
        status, data = self.client.request("GET", f"/api/tasks/{document}/")
        if status != 200:
            raise RuntimeError(f"fetch: {status}")
        task = json.loads(data)
        return sum(len(a["result"]) for a in task["annotations"]), len(data)

    def export(self, project: int) -> tuple[int, int]:
        status, data = self.client.request(
            "GET", f"/api/projects/{project}/export?exportType=JSON&download_all_tasks=true"
        )
        if status != 200:
            raise RuntimeError(f"export: {status} {data[:300]!r}")
        tasks = json.loads(data)
        spans = sum(len(a["result"]) for t in tasks for a in t.get("annotations", []))
        return spans, len(data)

    def profile(self, label: str) -> None:
        return None

    def extras(self, project: int) -> dict[str, Any]:
        return {"reconnects": self.client.reconnects}
