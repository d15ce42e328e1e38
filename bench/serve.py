"""Start the workbench under gunicorn on 127.0.0.1 for HTTP benchmarks, and measure it.

    .venv/bin/python -m bench.serve --db sqlite:///var/wb_peer.sqlite3 --port 8765
    .venv/bin/python -m bench.serve --db postgres://postgres@127.0.0.1:5432/wb_peer --fresh

The server runs as in production (``DEBUG=0``, a random ``SECRET_KEY``,
``ALLOWED_HOSTS=127.0.0.1``), with two differences from ``bin/serve`` that a benchmark
needs: ``gthread`` workers, because gunicorn's default sync workers close the connection
after every response (no HTTP keep-alive), and no access log. ``prepare`` migrates the
database and creates the benchmark user; ``start`` returns once the API answers.
Imported by bench/bench_peer.py; Django is only imported by the server process, so one
client can drive SQLite and PostgreSQL servers in turn.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
BENCH_USER = "peer-bench"
BENCH_PASSWORD = "peer-bench-password-0123"  # a local benchmark account only


def server_env(db_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "DATABASE_URL")
    }
    env.update(
        DATABASE_URL=db_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        DJANGO_SETTINGS_MODULE="workbench.settings",
        LOG_LEVEL="ERROR",
        # plain http on loopback: no HTTPS redirect, cookies are not used by token clients
        SECURE_SSL_REDIRECT="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def reset_database(db_url: str) -> None:
    """Drop and re-create the benchmark database (a file for SQLite)."""
    if db_url.startswith("sqlite:///"):
        path = Path(db_url.removeprefix("sqlite:///"))
        if not path.name.startswith(("wb_", "peer", "bench")) or path.name.startswith("workbench"):
            raise SystemExit(
                f"refusing to delete {path}: benchmark files are named wb_*, peer* or bench*"
            )
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg
    from psycopg import sql

    base, _, name = db_url.replace("postgres://", "postgresql://", 1).rpartition("/")
    if not name.replace("_", "").isalnum() or not name.startswith("wb_"):
        raise SystemExit(f"refusing to reset database {name!r}: benchmark names start with wb_")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare(db_url: str) -> None:
    """Migrate and create the benchmark user (idempotent), in a child process."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0, interactive=False)\n"
        "from django.contrib.auth import get_user_model\n"
        "U = get_user_model()\n"
        f"u = U.objects.filter(username={BENCH_USER!r}).first() or U(username={BENCH_USER!r})\n"
        f"u.set_password({BENCH_PASSWORD!r}); u.is_active = True; u.save()\n"
        "from django.contrib.auth.models import Permission\n"
        "u.user_permissions.add(Permission.objects.get(\n"
        "    content_type__app_label='annotations', codename='add_project'))\n"
    )
    subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=server_env(db_url), check=True)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    db_url: str

    @property
    def pid(self) -> int:
        return self.process.pid


def start(
    db_url: str,
    *,
    port: int,
    workers: int = 1,
    threads: int = 2,
    worker_tmp_dir: str | None = "/dev/shm",
    bin_serve: bool = False,
) -> Server:
    """gunicorn on 127.0.0.1:``port``; returns when ``/api/v1/`` answers (401 = up).

    ``bin_serve``: run ``bin/serve`` itself with its defaults (uvicorn workers, one per two
    CPUs, a pool of ``DB_POOL_MAX`` connections each, keep-alive 75 s, an access log,
    no worker recycling), as a user deploys it; ``workers``, ``threads``
    and ``worker_tmp_dir`` are then bin/serve's business. The deploy check, collectstatic
    and migrate it would run first are skipped (``prepare`` migrated; the API needs no
    static files), and plain http on loopback would fail the deploy check anyway.

    ``worker_tmp_dir``: where workers touch their heartbeat file, which gthread workers
    do on every loop; py-spy attributed ~15% of a span POST's busy samples to it with a
    disk-backed /tmp, so tmpfs, as gunicorn advises for containers (the A/B difference
    in req/s was within this machine's noise)."""
    if bin_serve:
        return _start_bin_serve(db_url, port=port)
    command = [
        PYTHON, "-m", "gunicorn", "workbench.wsgi:application",
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--keep-alive", "30",
        "--timeout", "120",
        "--error-logfile", "-",
        "--log-level", "warning",
    ]  # fmt: skip
    if worker_tmp_dir and Path(worker_tmp_dir).is_dir():
        command += ["--worker-tmp-dir", worker_tmp_dir]
    return _wait_until_up(_launch(command, server_env(db_url)), port, db_url, workers)


def bin_serve_workers() -> int:
    """The number of workers ``bin/serve`` starts by default (uvicorn: one per two CPUs,
    1 to 8), unless ``WEB_CONCURRENCY`` says otherwise."""
    if os.environ.get("WEB_CONCURRENCY"):
        return int(os.environ["WEB_CONCURRENCY"])
    return min(8, max(1, (os.cpu_count() or 1) // 2))


def _start_bin_serve(db_url: str, *, port: int) -> Server:
    env = server_env(db_url)
    env.update(
        PYTHON=PYTHON,
        BIND=f"{HOST}:{port}",
        SKIP_DEPLOY_CHECK="1",
        SKIP_COLLECTSTATIC="1",
        SKIP_MIGRATE="1",
    )
    process = _launch([str(ROOT / "bin" / "serve")], env)
    return _wait_until_up(process, port, db_url, bin_serve_workers())


def start_bare(*, port: int) -> Server:
    """``bench.bare_asgi`` (no Django) under the worker class and options ``bin/serve``
    gives the app (``workbench.server.UvicornWorker``, keep-alive 75 s, the access log on
    stdout), one worker; returns when it answers."""
    command = [
        PYTHON, "-m", "gunicorn", "bench.bare_asgi:app",
        "--bind", f"{HOST}:{port}",
        "--workers", "1",
        "--worker-class", "workbench.server.UvicornWorker",
        "--keep-alive", "75",
        "--access-logfile", "-",
        "--error-logfile", "-",
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return _wait_until_up(_launch(command, env), port, "", 1)


def _launch(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log_path = ROOT / "var" / "bench_serve.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("ab") as log:  # the server's warnings (e.g. every 401), not the console
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_until_up(
    process: subprocess.Popen[bytes], port: int, db_url: str, workers: int
) -> Server:
    server = Server(process=process, port=port, db_url=db_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/api/v1/projects/")
            status = conn.getresponse().status
            conn.close()
            # up (401: no token), and every worker booted (one request reached one of them)
            if status in (401, 403) and len(tree_pids(process.pid)) >= 1 + workers:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    stop(server)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# --- the server's process tree ------------------------------------------------------------------


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command's name (state first)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_rss_mb(root: int) -> float:
    """Summed VmRSS of the tree, in MB."""
    total_kb = 0
    for pid in tree_pids(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    break
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def tree_pss_mb(root: int) -> float:
    """Summed proportional set size (``Pss`` of ``/proc/<pid>/smaps_rollup``) of the tree,
    in MB: each shared page counts once in all, split between the processes sharing it
    (after ``--preload``, the app's pages the workers inherited from the master), where
    summed RSS counts it once per process."""
    total_kb = 0
    for pid in tree_pids(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds used so far by the live processes of the tree."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in tree_pids(root):
        fields = proc_stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.serve", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", required=True, help="sqlite:///path or postgres://…/wb_name")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="drop and re-create the database")
    args = parser.parse_args()
    if args.fresh:
        reset_database(args.db)
    prepare(args.db)
    server = start(args.db, port=args.port, workers=args.workers, threads=args.threads)
    print(
        f"gunicorn pid {server.pid} on http://{HOST}:{args.port}/ "
        f"(user {BENCH_USER} / {BENCH_PASSWORD}); Ctrl-C stops it",
        flush=True,
    )

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(server)


if __name__ == "__main__":
    main()
