"""``bin/serve``'s default worker count (issue 20, server memory): one uvicorn worker per
two CPUs (each runs many requests at once on threads, with a pool of 8 connections), 2 x
CPUs + 1 sync workers; both at most 8, and ``WEB_CONCURRENCY`` wins. The script runs with a stand-in ``PYTHON`` that
prints the gunicorn command instead of starting it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def gunicorn_args(tmp_path: Path, **env: str) -> list[str]:
    fake = tmp_path / "python"
    fake.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" "DB_POOL_MAX=$DB_POOL_MAX" "MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX"\n'
    )
    fake.chmod(0o755)
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WEB_CONCURRENCY", "WORKER_CLASS", "MAX_REQUESTS", "MALLOC_ARENA_MAX")
    }
    result = subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "bin" / "serve")],
        env={
            **clean,
            "PYTHON": str(fake),
            "DEBUG": "0",
            "SKIP_DEPLOY_CHECK": "1",
            "SKIP_COLLECTSTATIC": "1",
            "SKIP_MIGRATE": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.splitlines()


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.fixture
def cpus() -> int:
    return len(os.sched_getaffinity(0))  # what nproc counts


def test_uvicorn_workers_default_to_one_per_two_cpus(tmp_path: Path, cpus: int) -> None:
    args = gunicorn_args(tmp_path)
    assert args[:3] == ["-m", "gunicorn", "workbench.asgi:application"]
    assert option(args, "--worker-class") == "workbench.server.UvicornWorker"
    assert option(args, "--workers") == str(min(8, max(1, cpus // 2)))
    assert "DB_POOL_MAX=8" in args  # a pool per worker


def test_workers_allocate_in_two_malloc_arenas_unless_told(tmp_path: Path) -> None:
    # glibc's per-thread arenas kept ~15 MB more of a threaded worker (bench.load)
    assert "MALLOC_ARENA_MAX=2" in gunicorn_args(tmp_path)
    assert "MALLOC_ARENA_MAX=4" in gunicorn_args(tmp_path, MALLOC_ARENA_MAX="4")


def test_sync_workers_default_to_two_per_cpu_plus_one(tmp_path: Path, cpus: int) -> None:
    args = gunicorn_args(tmp_path, WORKER_CLASS="sync")
    assert args[2] == "workbench.wsgi:application"
    assert option(args, "--workers") == str(min(8, 2 * cpus + 1))


def test_web_concurrency_sets_the_count(tmp_path: Path) -> None:
    assert option(gunicorn_args(tmp_path, WEB_CONCURRENCY="3"), "--workers") == "3"
    args = gunicorn_args(tmp_path, WEB_CONCURRENCY="3", WORKER_CLASS="sync")
    assert option(args, "--workers") == "3"


def test_workers_are_not_recycled_unless_asked(tmp_path: Path) -> None:
    # A worker's recycling closed its clients' keep-alive connections, mid-request for some
    # (bench.load: 55 dropped requests in a minute with one worker, 83 with two).
    for count in ("1", "2", "4"):
        args = gunicorn_args(tmp_path, WEB_CONCURRENCY=count)
        assert (option(args, "--max-requests"), option(args, "--max-requests-jitter")) == (
            "0",
            "0",
        ), count
    args = gunicorn_args(tmp_path, MAX_REQUESTS="5000", WEB_CONCURRENCY="1")
    assert (option(args, "--max-requests"), option(args, "--max-requests-jitter")) == (
        "5000",
        "500",
    )


def test_uvicorn_workers_parse_with_bounded_httptools_on_uvloop() -> None:
    """``workbench.server.UvicornWorker`` names its loop and parser: uvicorn's "auto" picks
    uvloop and httptools when they are installed and falls back, without a word, to the
    pure-Python asyncio loop and h11 parser (about a quarter of an unauthenticated request's
    time over loopback; bench/README.md, round 10); and uvicorn's own httptools protocol
    sets no bound on a request's head (tests/test_server_limits.py)."""
    import asyncio

    import uvloop
    from uvicorn.config import Config

    from workbench.server import BoundedHttpToolsProtocol, UvicornWorker

    config = Config(app="workbench.asgi:application", **UvicornWorker.CONFIG_KWARGS)
    config.load()
    assert config.http_protocol_class is BoundedHttpToolsProtocol
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()


def test_the_unbounded_uvicorn_worker_is_refused(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        gunicorn_args(tmp_path, WORKER_CLASS="uvicorn_worker.UvicornWorker")
    assert "use workbench.server.UvicornWorker" in refused.value.stderr
