"""``workbench.server``: the worker ``bin/serve`` runs bounds a request's line and headers
(``MAX_HEAD_BYTES``) as uvicorn's h11 parser did; uvicorn sets no bound with httptools.
A real worker on a free loopback port, serving ``bench.bare_asgi`` (no Django: it starts in
a fraction of a second and answers every request with a 401)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.server import MAX_HEAD_BYTES, MAX_HEADERS

pytestmark = pytest.mark.db_independent

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "gunicorn", "bench.bare_asgi:app",
        "--worker-class", "workbench.server.UvicornWorker",
        "--bind", f"127.0.0.1:{free}", "--workers", "1",
    ]  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 - our own worker, on loopback
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", free), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield free
    finally:
        server.terminate()
        server.wait(timeout=30)


def send(port: int, head_bytes: int, body: bytes = b"", *, one_header: bool = False) -> bytes:
    """A POST whose padding headers make the request line and headers ``head_bytes`` long
    or more (as the parser counts them: names and values), sent in 4 KiB writes; the status
    line of the answer, or b"" when the server closed the connection first."""
    start = b"POST /api/v1/projects/ HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    pad = max(0, head_bytes - len("/api/v1/projects/hostxcontent-length") - len(str(len(body))))
    if one_header:
        padding = b"x-pad: " + b"a" * pad + b"\r\n"
    else:
        lines, rest = divmod(pad, 1005)
        padding = b"".join(b"x-pad: " + b"a" * 1000 + b"\r\n" for _ in range(lines))
        padding += b"x-pad: " + b"a" * max(0, rest - 5) + b"\r\n" if rest > 5 else b""
    request = start + padding + b"\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            for at in range(0, len(request), 4096):
                conn.sendall(request[at : at + 4096])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end: what was answered is read below
        try:
            return conn.recv(200).split(b"\r\n")[0]
        except ConnectionResetError:
            return b""


def test_a_head_within_the_bound_is_served(port: int) -> None:
    assert send(port, MAX_HEAD_BYTES - 1024) == b"HTTP/1.1 401 Unauthorized"


def test_a_head_past_the_bound_is_a_400(port: int) -> None:
    assert send(port, MAX_HEAD_BYTES + 1024) == b"HTTP/1.1 400 Bad Request"


def test_the_bound_is_the_head_as_sent_to_the_byte(port: int) -> None:
    # The outside probe's measure: the whole head, its final blank line included.
    def head(size: int, method: bytes = b"GET") -> bytes:
        start = method + b" / HTTP/1.1\r\nHost: x\r\nx-pad: "
        return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"

    for method in (b"GET", b"DELETE"):
        assert len(head(MAX_HEAD_BYTES, method)) == MAX_HEAD_BYTES
        assert raw(port, head(MAX_HEAD_BYTES, method)) == b"HTTP/1.1 401 Unauthorized"
        assert raw(port, head(MAX_HEAD_BYTES + 1, method)) == b"HTTP/1.1 400 Bad Request"


def test_one_endless_header_is_cut_off_not_read_whole(port: int) -> None:
    # 8 MiB in one header: httptools holds a header until its value ends, so only the
    # count of bytes read stops it; the answer is the 400, or a reset if it came while
    # the client was still writing.
    assert send(port, 8 * 1024 * 1024, one_header=True) in (b"HTTP/1.1 400 Bad Request", b"")


def test_a_large_body_is_not_counted_as_head(port: int) -> None:
    assert send(port, 200, body=b"x" * 2_000_000) == b"HTTP/1.1 401 Unauthorized"


def raw(port: int, request: bytes) -> bytes:
    """The status line of the answer to ``request``, sent as it is."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(200).split(b"\r\n")[0]


def test_the_bound_counts_the_bytes_around_each_header(port: int) -> None:
    # 5,000 empty headers are 20 KB on the wire though their names are 5 KB (the probe).
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"a:\r\n" * 5000 + b"\r\n"
    assert raw(port, head) == b"HTTP/1.1 400 Bad Request"


def test_at_most_the_header_count_bin_serve_names(port: int) -> None:
    def with_headers(count: int) -> bytes:
        extra = b"".join(b"x-%d: 1\r\n" % n for n in range(count - 1))
        return b"GET / HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n"

    assert raw(port, with_headers(MAX_HEADERS)) == b"HTTP/1.1 401 Unauthorized"
    assert raw(port, with_headers(MAX_HEADERS + 1)) == b"HTTP/1.1 400 Bad Request"


def test_http_1_1_without_host_is_a_400(port: int) -> None:
    assert raw(port, b"GET / HTTP/1.1\r\n\r\n") == b"HTTP/1.1 400 Bad Request"
    assert raw(port, b"GET / HTTP/1.0\r\n\r\n").endswith(b" 401 Unauthorized")


def test_only_chunked_alone_is_a_transfer_coding(port: int) -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n"
    for coding, status in (
        (b"chunked", b"HTTP/1.1 401 Unauthorized"),
        (b"gzip, chunked", b"HTTP/1.1 400 Bad Request"),
        (b"chunked, identity", b"HTTP/1.1 400 Bad Request"),
    ):
        request = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding
        assert raw(port, request + b"\r\n\r\n" + body) == status, coding


def test_pipelined_requests_each_get_an_answer(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
        answers = b""
        deadline = time.monotonic() + 5
        while answers.count(b"HTTP/1.1 401") < 2 and time.monotonic() < deadline:
            answers += conn.recv(4096)
    assert answers.count(b"HTTP/1.1 401") == 2
