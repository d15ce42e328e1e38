"""``workbench.server``: the worker ``bin/serve`` runs bounds a request's line and headers
(``MAX_HEAD_BYTES``) as uvicorn's h11 parser did; uvicorn sets no bound with httptools.
It also bounds the time a head takes (``HEAD_TIMEOUT``) and the gaps in a body
(``BODY_TIMEOUT``), here 1 s each, with a keep-alive of 3 s.
A real worker on a free loopback port, serving ``bench.bare_asgi`` (no Django: it starts in
a fraction of a second and answers every request with a 401) through tests/server_app.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.server import MAX_HEAD_BYTES, MAX_HEADERS, seconds_from_env

pytestmark = pytest.mark.db_independent

ROOT = Path(__file__).resolve().parent.parent
# The server's read timeouts and keep-alive in these tests.
TIMEOUT = 1.0
KEEP_ALIVE = 3
SERVED = b"HTTP/1.1 401 Unauthorized"
TIMED_OUT = b"HTTP/1.1 408 Request Timeout"


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server") / "error.log"


@pytest.fixture(scope="module")
def port(server_log: Path) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "gunicorn", "tests.server_app:app",
        "--worker-class", "workbench.server.UvicornWorker",
        "--bind", f"127.0.0.1:{free}", "--workers", "1",
        "--keep-alive", str(KEEP_ALIVE), "--error-logfile", str(server_log),
    ]  # fmt: skip
    env = {**os.environ, "HEAD_TIMEOUT": str(TIMEOUT), "BODY_TIMEOUT": str(TIMEOUT)}
    server = subprocess.Popen(  # noqa: S603 - our own worker, on loopback
        command,
        cwd=ROOT,
        env=env,
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


def test_a_client_leaving_a_stream_with_a_request_pipelined_behind_it_ends_the_stream(
    port: int, server_log: Path
) -> None:
    # uvicorn told only the pipelined request that the client had left: the stream's app
    # went on writing to the closed connection ("Exception in ASGI application").
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
        assert conn.recv(4096).startswith(b"HTTP/1.1 200 OK")
    time.sleep(0.6)  # six ticks' time after the close
    assert b"Exception in ASGI application" not in server_log.read_bytes()


# --- Read timeouts (slowloris) -------------------------------------------------------------


def until_closed(conn: socket.socket, since: float) -> tuple[bytes, float]:
    """All the server sends until it closes the connection, and the seconds from ``since``
    to the close; the test fails if it is still open 5 s after ``since``."""
    received = b""
    while True:
        conn.settimeout(max(0.01, since + 5 - time.monotonic()))
        try:
            data = conn.recv(4096)
        except ConnectionResetError:
            data = b""
        except TimeoutError:
            pytest.fail(f"still open after 5 s, having sent {received!r}")
        if not data:
            return received, time.monotonic() - since
        received += data


def status(answer: bytes) -> bytes:
    return answer.split(b"\r\n")[0]


def answer_to(conn: socket.socket, request: bytes) -> bytes:
    """The status line of the answer to ``request`` on the open connection ``conn``."""
    conn.sendall(request)
    conn.settimeout(5)
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = conn.recv(4096)
        assert data, f"closed after {answer!r}"
        answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += conn.recv(4096)
    return status(answer)


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_a_stalled_head_is_answered_408_and_closed(port: int, server_log: Path) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # no blank line: the head goes on
        answer, took = until_closed(conn, time.monotonic())
    assert status(answer) == TIMED_OUT
    assert b"connection: close" in answer
    assert TIMEOUT - 0.1 < took < TIMEOUT + 2
    # One warning line in the server's log, naming the client.
    deadline = time.monotonic() + 5
    while b"Request head not received within 1 s" not in server_log.read_bytes():
        assert time.monotonic() < deadline, server_log.read_text()
        time.sleep(0.05)


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        answer, took = until_closed(conn, time.monotonic())
    assert status(answer) == TIMED_OUT
    assert took < TIMEOUT + 2


def test_a_head_trickled_a_byte_at_a_time_is_cut_at_the_limit(port: int) -> None:
    # A read does not restart the head's time: each byte within the limit, the head not.
    with socket.create_connection(("127.0.0.1", port)) as conn:
        start = time.monotonic()
        try:
            for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghij\r\n":
                conn.sendall(bytes([byte]))
                time.sleep(0.1)  # 44 bytes: the head would be whole after 4.4 s
                if time.monotonic() - start > TIMEOUT + 2:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed under the client, as it should be
        answer, took = until_closed(conn, start)
    assert status(answer) in (TIMED_OUT, b"")  # b"": reset, the client still writing
    assert took < TIMEOUT + 2


def test_a_slow_head_finished_within_the_limit_is_served(port: int) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as conn:
        for at in range(0, len(request), 8):  # 5 reads over 0.4 s
            conn.sendall(request[at : at + 8])
            time.sleep(0.1)
        assert answer_to(conn, b"") == SERVED


def test_a_prompt_request_is_served(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert answer_to(conn, GET) == SERVED


def test_a_keep_alive_connection_idle_past_the_head_limit_serves_the_next_request(
    port: int,
) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert answer_to(conn, GET) == SERVED
        time.sleep(TIMEOUT * 2)  # idle: the keep-alive's time (3 s), not the head's
        assert answer_to(conn, GET) == SERVED


def test_an_idle_keep_alive_connection_is_closed_by_keep_alive_without_a_408(
    port: int,
) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert answer_to(conn, GET) == SERVED
        answer, took = until_closed(conn, time.monotonic())
    assert answer == b""
    assert took > KEEP_ALIVE - 0.5


def test_blank_lines_after_a_request_do_not_hold_the_connection(port: int) -> None:
    # uvicorn stops its keep-alive timer at any read and restarts it only when a response
    # ends: blank lines, which begin no request, would hold the connection for good.
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert answer_to(conn, GET) == SERVED
        conn.sendall(b"\r\n")
        answer, took = until_closed(conn, time.monotonic())
    assert status(answer) == TIMED_OUT
    assert took < TIMEOUT + 2


def post(length: int) -> bytes:
    return b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % length


def test_a_stalled_body_is_answered_408_and_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(post(10) + b"abc")
        answer, took = until_closed(conn, time.monotonic())
    assert status(answer) == TIMED_OUT
    assert TIMEOUT - 0.1 < took < TIMEOUT + 2


def test_a_body_sent_slowly_with_short_gaps_is_served(port: int) -> None:
    # 8 reads 0.25 s apart: 2 s in all, past the limit, which bounds each gap.
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(post(8))
        for _ in range(8):
            time.sleep(0.25)
            conn.sendall(b"x")
        assert answer_to(conn, b"") == SERVED


def test_a_body_read_after_its_answer_leaves_the_connection_to_keep_alive(port: int) -> None:
    # The app answers before it reads the body; the body's reads stop uvicorn's keep-alive
    # timer, which it armed when the response ended: the worker arms it again.
    with socket.create_connection(("127.0.0.1", port)) as conn:
        request = b"POST /answers-first HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"
        assert answer_to(conn, request) == b"HTTP/1.1 200 OK"
        conn.sendall(b"cd")
        answer, took = until_closed(conn, time.monotonic())
    assert answer == b""
    assert took > KEEP_ALIVE - 0.5


def test_the_timeouts_are_seconds_above_zero_named_when_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HEAD_TIMEOUT", raising=False)
    assert seconds_from_env("HEAD_TIMEOUT", 15.0) == 15.0
    monkeypatch.setenv("HEAD_TIMEOUT", " 2.5 ")
    assert seconds_from_env("HEAD_TIMEOUT", 15.0) == 2.5
    for wrong in ("0", "-1", "ten", "nan", "inf"):
        monkeypatch.setenv("HEAD_TIMEOUT", wrong)
        with pytest.raises(
            ValueError, match=f"^HEAD_TIMEOUT: seconds, a number above 0, not '{wrong}'"
        ):
            seconds_from_env("HEAD_TIMEOUT", 15.0)
