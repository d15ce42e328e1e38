"""Tests for annotations.core.fetching: pure Python, no database; fetching from local
servers.

No test sends a packet beyond 127.0.0.1: an autouse guard (``tests/core/fetching_guard.py``)
replaces socket connects (any address other than 127.0.0.1 is recorded and refused
without touching the network) and the system resolver (any call fails the test), so DNS
answers come only from the ``resolve`` functions the tests pass in.  The "remote"
servers are http.server instances on 127.0.0.1, admitted through ``allowed_hosts``:
redirects, limits, content types, timeouts, error statuses, and TLS (SNI and the
certificate checked against the host name, not the pinned address). Which addresses are
refused, and the refusals before any connection, are in ``test_fetching_addresses.py``.
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from annotations.core.fetching import Fetched, FetchPolicy, fetch
from tests.core import fetching_guard
from tests.core.fetching_guard import Network, answers, no_lookup, refused

pytestmark = pytest.mark.db_independent

network = fetching_guard.network  # the autouse network guard, for this module too
LOCAL = frozenset({"127.0.0.1"})
SECRET = "SECRET-INTERNAL-STACKTRACE"


# --- local test server ------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def _send(
        self, status: int, body: bytes, content_type: str | None = "text/html; charset=utf-8"
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str | None, status: int = 302) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        path = self.path
        try:
            if path == "/page":
                host = self.headers.get("Host", "")
                page = f"<html><head><title>Local page</title></head><body><p>café</p><p>Host: {host}</p></body></html>"
                self._send(200, page.encode("utf-8"))
            elif path == "/latin1":
                self._send(200, "café".encode("latin-1"), "text/plain; charset=ISO-8859-1")
            elif path == "/unknown-charset":
                self._send(200, b"plain", "text/plain; charset=no-such-codec")
            elif path.startswith("/redirect/"):
                left = int(path.rsplit("/", 1)[1])
                self._redirect("/page" if left == 0 else f"/redirect/{left - 1}")
            elif path == "/loop":
                self._redirect("/loop", 301)
            elif path == "/absolute":
                self._redirect(f"http://127.0.0.1:{self.server.server_port}/page", 308)
            elif path == "/to-private":
                self._redirect("http://10.0.0.1/")
            elif path == "/to-metadata":
                self._redirect("http://169.254.169.254/latest/meta-data/", 307)
            elif path == "/to-named":
                self._redirect("http://internal.example/admin")
            elif path == "/to-file":
                self._redirect("file:///etc/passwd")
            elif path == "/to-gopher":
                self._redirect(f"gopher://127.0.0.1:{self.server.server_port}/_stats")
            elif path == "/no-location":
                self._redirect(None)
            elif path == "/huge-declared":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "10000000")
                self.end_headers()
                self.wfile.write(b"<p>" * 10)  # the rest never comes
            elif path == "/huge-streamed":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()  # no Content-Length: read until the server closes
                for _ in range(200):
                    self.wfile.write(b"x" * 10_000)
            elif path == "/image":
                self._send(200, b"\x89PNG....", "image/png")
            elif path == "/no-type":
                self._send(200, b"<p>hello</p>", None)
            elif path == "/bad-type":
                self._send(200, b"<p>hello</p>", "garbage")
            elif path == "/gzip":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"\x1f\x8b\x08\x00")
            elif path == "/slow":
                time.sleep(2)
                self._send(200, b"<p>too late</p>")
            elif path == "/drip":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):  # each byte well inside any per-read timeout
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif path == "/error":
                self.send_response(500, f"{SECRET} reason")
                self.send_header("Content-Type", "text/html")
                body = f"<pre>{SECRET}: db password=hunter2</pre>".encode()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self._send(404, f"<p>{SECRET} not here</p>".encode())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client hung up on purpose (size or time limit)


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, str]]

    def server_bind(self) -> None:
        # Skip HTTPServer's getfqdn(): no name lookups, not even reverse ones.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]  # type: ignore[misc]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    httpd = LocalServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server: LocalServer) -> str:
    server.requests.clear()
    return f"http://127.0.0.1:{server.server_port}"


# --- against the local server --------------------------------------------------------------


def test_it_fetches_an_allowed_local_page(base: str) -> None:
    fetched = fetch(f"{base}/page", policy=FetchPolicy(allowed_hosts=LOCAL), resolve=no_lookup)
    assert isinstance(fetched, Fetched)
    assert (fetched.status, fetched.content_type, fetched.charset) == (200, "text/html", "utf-8")
    assert fetched.url == f"{base}/page"
    assert "<p>café</p>" in fetched.text()


def test_a_local_address_is_refused_unless_allowed(base: str, network: Network) -> None:
    assert refused(f"{base}/page", resolve=no_lookup).code == "blocked-address"
    assert network.connects == []


def test_it_decodes_with_the_declared_charset(base: str) -> None:
    fetched = fetch(f"{base}/latin1", policy=FetchPolicy(allowed_hosts=LOCAL))
    assert (fetched.content_type, fetched.charset) == ("text/plain", "iso-8859-1")
    assert fetched.text() == "café"


def test_an_unknown_charset_falls_back_to_utf8(base: str) -> None:
    fetched = fetch(f"{base}/unknown-charset", policy=FetchPolicy(allowed_hosts=LOCAL))
    assert fetched.charset is None
    assert fetched.text() == "plain"


def test_it_pins_the_address_and_sends_the_original_host_header(
    server: LocalServer, base: str, network: Network
) -> None:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.1"]

    policy = FetchPolicy(allowed_hosts=frozenset({"pinned.test"}))
    url = f"http://pinned.test:{server.server_port}/page"
    fetched = fetch(url, policy=policy, resolve=resolve)
    assert calls == ["pinned.test"]
    assert network.connects == [("127.0.0.1", server.server_port)]
    assert server.requests == [("/page", f"pinned.test:{server.server_port}")]
    assert f"Host: pinned.test:{server.server_port}" in fetched.text()


def test_it_follows_a_redirect_chain(server: LocalServer, base: str) -> None:
    fetched = fetch(f"{base}/redirect/3", policy=FetchPolicy(allowed_hosts=LOCAL))
    assert fetched.url == f"{base}/page"
    assert [path for path, _ in server.requests] == [
        "/redirect/3",
        "/redirect/2",
        "/redirect/1",
        "/redirect/0",
        "/page",
    ]


def test_it_follows_an_absolute_308(base: str) -> None:
    fetched = fetch(f"{base}/absolute", policy=FetchPolicy(allowed_hosts=LOCAL))
    assert fetched.url == f"{base}/page"


def test_it_stops_after_max_redirects(server: LocalServer, base: str) -> None:
    policy = FetchPolicy(allowed_hosts=LOCAL, max_redirects=5)
    assert fetch(f"{base}/redirect/4", policy=policy).status == 200  # 5 redirects
    server.requests.clear()
    assert refused(f"{base}/redirect/5", policy=policy).code == "redirects"  # 6 redirects
    assert len(server.requests) == 6
    assert refused(f"{base}/loop", policy=policy).code == "redirects"
    assert (
        refused(f"{base}/redirect/0", policy=FetchPolicy(allowed_hosts=LOCAL, max_redirects=0)).code
        == "redirects"
    )


@pytest.mark.parametrize("path", ["/to-private", "/to-metadata"])
def test_a_redirect_into_private_space_is_refused_before_connecting(
    path: str, base: str, network: Network
) -> None:
    error = refused(f"{base}{path}", policy=FetchPolicy(allowed_hosts=LOCAL), resolve=no_lookup)
    assert error.code == "blocked-address"
    assert network.remote_connects == []


def test_a_redirect_to_a_name_is_resolved_and_checked_again(base: str, network: Network) -> None:
    resolve = answers({"internal.example": ["10.0.0.1"]})
    error = refused(f"{base}/to-named", policy=FetchPolicy(allowed_hosts=LOCAL), resolve=resolve)
    assert error.code == "blocked-address"
    assert network.remote_connects == []


@pytest.mark.parametrize("path", ["/to-file", "/to-gopher"])
def test_a_redirect_to_another_scheme_is_refused(path: str, base: str, network: Network) -> None:
    error = refused(f"{base}{path}", policy=FetchPolicy(allowed_hosts=LOCAL))
    assert error.code == "scheme"
    assert len(network.connects) == 1  # the first hop only


def test_a_redirect_without_location_is_a_status_error(base: str) -> None:
    assert refused(f"{base}/no-location", policy=FetchPolicy(allowed_hosts=LOCAL)).code == "status"


def test_a_declared_length_over_the_limit_is_refused_up_front(base: str) -> None:
    began = time.monotonic()
    error = refused(f"{base}/huge-declared", policy=FetchPolicy(allowed_hosts=LOCAL, timeout=5))
    assert error.code == "too-large"
    assert time.monotonic() - began < 1  # did not wait for 10 MB that never come


def test_a_streamed_body_over_the_limit_is_cut_off(base: str) -> None:
    policy = FetchPolicy(allowed_hosts=LOCAL, max_bytes=100_000)
    assert refused(f"{base}/huge-streamed", policy=policy).code == "too-large"
    # The same body is fine under a limit it fits in.
    assert (
        len(fetch(f"{base}/huge-streamed", policy=FetchPolicy(allowed_hosts=LOCAL)).body)
        == 2_000_000
    )


@pytest.mark.parametrize("path", ["/image", "/no-type", "/bad-type", "/gzip"])
def test_content_types_outside_the_policy_are_refused(path: str, base: str) -> None:
    assert refused(f"{base}{path}", policy=FetchPolicy(allowed_hosts=LOCAL)).code == "content-type"


def test_the_policy_decides_which_content_types_are_accepted(base: str) -> None:
    html_only = FetchPolicy(allowed_hosts=LOCAL, content_types=("text/html",))
    assert refused(f"{base}/latin1", policy=html_only).code == "content-type"
    images = FetchPolicy(allowed_hosts=LOCAL, content_types=("image/png",))
    assert fetch(f"{base}/image", policy=images).content_type == "image/png"


def test_a_slow_server_times_out(base: str) -> None:
    began = time.monotonic()
    error = refused(f"{base}/slow", policy=FetchPolicy(allowed_hosts=LOCAL, timeout=0.5))
    assert error.code == "timeout"
    assert time.monotonic() - began < 1.5


def test_a_dripping_server_hits_the_total_deadline(base: str) -> None:
    # Every byte arrives well within the timeout; only a deadline over the whole fetch
    # stops a response that takes 5 s to trickle in.
    began = time.monotonic()
    error = refused(f"{base}/drip", policy=FetchPolicy(allowed_hosts=LOCAL, timeout=0.5))
    assert error.code == "timeout"
    assert time.monotonic() - began < 1.5


@pytest.mark.parametrize("path", ["/error", "/missing"])
def test_an_error_status_does_not_echo_the_upstream_body(path: str, base: str) -> None:
    error = refused(f"{base}{path}", policy=FetchPolicy(allowed_hosts=LOCAL))
    assert error.code == "status"
    assert SECRET not in error.message
    assert "hunter2" not in error.message
    assert SECRET not in repr(error)


def test_a_refused_connection_is_a_connection_error(network: Network) -> None:
    # A port nobody listens on (bound, then closed).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = refused(f"http://127.0.0.1:{port}/", policy=FetchPolicy(allowed_hosts=LOCAL))
    assert error.code == "connection"


# --- TLS: SNI and certificate checked against the host name, not the pinned address ----------


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: S603, S607


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for "pinned.test" signed by it: (ca, cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = folder / "ca.key", folder / "ca.pem"
    key, request, cert = folder / "leaf.key", folder / "leaf.csr", folder / "leaf.pem"
    extensions = folder / "leaf.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:pinned.test\n"
        "authorityKeyIdentifier=keyid\n"
        "subjectKeyIdentifier=hash\n"
    )
    _openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-subj", "/CN=Workbench Test CA", "-keyout", str(ca_key), "-out", str(ca_cert)),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    )
    _openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pinned.test"),
        *("-keyout", str(key), "-out", str(request)),
    )
    _openssl(
        *("x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key)),
        *("-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert)),
    )
    return ca_cert, cert, key


@pytest.fixture(scope="module")
def tls_server(tls_files: tuple[Path, Path, Path]) -> Iterator[tuple[LocalServer, list[str]]]:
    _, cert, key = tls_files
    server_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)  # type: ignore[assignment, misc]
    httpd = LocalServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, server_names
    httpd.shutdown()
    httpd.server_close()


def test_https_sends_sni_and_verifies_the_certificate_for_the_host_name(
    tls_files: tuple[Path, Path, Path],
    tls_server: tuple[LocalServer, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    network: Network,
) -> None:
    ca_cert, _, _ = tls_files
    httpd, server_names = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_cert))  # trust the test CA only
    policy = FetchPolicy(allowed_hosts=frozenset({"pinned.test", "other.test"}))
    resolve = answers({"pinned.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})

    fetched = fetch(f"https://pinned.test:{httpd.server_port}/page", policy=policy, resolve=resolve)
    assert f"Host: pinned.test:{httpd.server_port}" in fetched.text()
    assert server_names[-1] == "pinned.test"
    assert network.connects == [("127.0.0.1", httpd.server_port)]

    # Same address, another name: the certificate does not cover it.
    error = refused(f"https://other.test:{httpd.server_port}/page", policy=policy, resolve=resolve)
    assert error.code == "connection"
    assert "certificate" in error.message


def test_https_refuses_an_untrusted_certificate(
    tls_server: tuple[LocalServer, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    httpd, _ = tls_server
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    policy = FetchPolicy(allowed_hosts=frozenset({"pinned.test"}))
    error = refused(
        f"https://pinned.test:{httpd.server_port}/page",
        policy=policy,
        resolve=answers({"pinned.test": ["127.0.0.1"]}),
    )
    assert error.code == "connection"
