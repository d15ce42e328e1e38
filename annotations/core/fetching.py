"""Safe fetching of user-supplied URLs (import by URL, a cited source's title).

Whoever can type a URL here can make the server send a request, so every request is
treated as an SSRF attempt until proven otherwise:

* only http and https (``urlnorm.check_url``), on every hop of a redirect chain;
* the host is resolved ONCE and every address it resolves to must be public; the
  connection then goes to that vetted address (pinned), with the original ``Host`` header
  and, for https, SNI and certificate checks against the host name.  A second lookup
  could answer differently (DNS rebinding), so there is none;
* numeric host spellings that libc reads as IPv4 ("2130706433", "0177.0.0.1", "0x7f.1")
  and ``localhost`` are refused before any lookup;
* a total deadline over connect, TLS, headers and body; a size cap checked against
  Content-Length up front and against what actually arrives; the content type checked
  before the body is read; no decompression (``Accept-Encoding: identity``);
* upstream error bodies are never read, so they cannot be echoed to the user.

``FetchPolicy.allowed_hosts`` names hosts (or literal IPs) exempt from the address check,
for intranet sources and tests; everything else still applies to them. Which addresses are
refused (``address_refusal``) and which spellings are numeric shorthand is decided in
``urlnorm``, where the same rule refuses such a URL at input (``check_public_url``).

Pure Python: standard library only, no Django.
"""

from __future__ import annotations

import codecs
import http
import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Buffer, Callable, Collection
from dataclasses import dataclass
from email.message import Message
from typing import cast
from urllib.parse import quote, urljoin, urlsplit

from annotations.core.urlnorm import (
    NUMERIC_HOST,
    IPAddress,
    UrlError,
    address_refusal,
    check_url,
)

__all__ = [
    "FetchError",
    "FetchPolicy",
    "Fetched",
    "Posted",
    "address_refusal",
    "check_target",
    "fetch",
    "post",
]

Resolver = Callable[[str, int], list[str]]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_MEDIA_TYPE = re.compile(r"^[a-z0-9][-\w.+]*/[a-z0-9][-\w.+]*$")


class FetchError(Exception):
    """The fetch was refused or failed; ``message`` is safe to show to the user.

    ``code`` is one of: "scheme", "host", "blocked-address", "dns", "timeout",
    "too-large", "content-type", "redirects", "status", "connection".
    """

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The answer's HTTP status when the server answered one (code "status"), so a
        # caller can tell a page that is gone (404, 410) from one that failed.
        self.status = status

    def __repr__(self) -> str:
        return f"FetchError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    timeout: float = 10.0  # seconds, for the whole fetch including redirects
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    content_types: Collection[str] = ("text/html", "application/xhtml+xml", "text/plain")
    user_agent: str = "Workbench/1 (+fact-check import)"


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects
    status: int
    content_type: str  # media type only, lower case: "text/html"
    charset: str | None  # from the Content-Type header, if Python knows the codec
    body: bytes
    # The final answer's status line and headers as received (for an archived copy).
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        """The body decoded with the declared charset, else UTF-8; bad bytes become U+FFFD."""
        return self.body.decode(self.charset or "utf-8", errors="replace")


# --- addresses -------------------------------------------------------------------------


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _addresses(
    host: str, port: int, policy: FetchPolicy, resolve: Resolver | None
) -> list[IPAddress]:
    """The vetted addresses to connect to for ``host``; raises FetchError. Without
    ``resolve`` a host name is checked as far as it can be without a lookup (its
    spelling), and no address is returned."""
    allowed_hosts = {name.strip("[]").rstrip(".").lower() for name in policy.allowed_hosts}
    allowed = host in allowed_hosts
    literal = _parse_address(host)
    if literal is not None:
        allowed = allowed or str(literal) in allowed_hosts
        candidates = [literal]
    else:
        if NUMERIC_HOST.match(host):
            raise FetchError(
                "host",
                f"{host!r} is not a normal IP address or host name "
                "(numeric shorthand like this can reach internal addresses).",
            )
        if not allowed and (host == "localhost" or host.endswith(".localhost")):
            raise FetchError("host", "Fetching from this server itself is not allowed.")
        if resolve is None:
            return []
        try:
            answers = resolve(host, port)
        except (OSError, UnicodeError):
            raise FetchError("dns", f"The host name {host!r} could not be resolved.") from None
        candidates = []
        for answer in answers:
            address = _parse_address(str(answer).split("%", 1)[0])
            if address is None:
                raise FetchError("dns", f"The host name {host!r} resolved to an invalid address.")
            if address not in candidates:
                candidates.append(address)
        if not candidates:
            raise FetchError("dns", f"The host name {host!r} did not resolve to any address.")
    if not allowed:
        # ANY bad answer refuses the host: a round-robin of one public and one internal
        # address would otherwise be a coin toss away from the internal one.
        for address in candidates:
            reason = address_refusal(address)
            if reason is not None:
                # The resolved address is not echoed: the message reaches users, and it
                # would map internal names to internal addresses for them.
                if literal is not None:
                    message = f"The address {host}, which is {reason}, cannot be fetched"
                else:
                    message = f"{host} resolves to an address which is {reason}"
                raise FetchError("blocked-address", f"{message}; only public sites can be.")
    # An IPv4-mapped answer is connected to as plain IPv4, the address that was vetted.
    return [
        address.ipv4_mapped
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped
        else address
        for address in candidates
    ]


# --- connections -----------------------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline exceeded")
        return left


class _DeadlineSocket(socket.socket):
    """A socket whose every blocking call gets only the time left before the deadline,
    so a server dripping a byte at a time cannot stretch the fetch."""

    deadline: _Deadline

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(self.deadline.remaining())
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        self.settimeout(self.deadline.remaining())
        super().sendall(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    deadline: _Deadline

    def recv_into(self, buffer: Buffer, nbytes: int | None = None, flags: int = 0) -> int:
        self.settimeout(self.deadline.remaining())
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Buffer, flags: int = 0) -> None:
        self.settimeout(self.deadline.remaining())
        super().sendall(data, flags)


def _open_socket(address: IPAddress, port: int, deadline: _Deadline) -> _DeadlineSocket:
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = _DeadlineSocket(family, socket.SOCK_STREAM)
    sock.deadline = deadline
    try:
        sock.settimeout(deadline.remaining())
        sock.connect((str(address), port))
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a vetted address; ``host`` is only used for the Host header."""

    def __init__(
        self, host: str, port: int, *, addresses: list[IPAddress], deadline: _Deadline
    ) -> None:
        super().__init__(host, port, timeout=deadline.remaining())
        self._addresses = addresses
        self._deadline = deadline

    def _connect_pinned(self) -> _DeadlineSocket:
        error: OSError | None = None
        for address in self._addresses:
            try:
                return _open_socket(address, self.port, self._deadline)
            except TimeoutError:
                raise
            except OSError as exc:
                error = exc
        assert error is not None
        raise error

    def connect(self) -> None:
        self.sock = self._connect_pinned()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        raw = self._connect_pinned()
        context = ssl.create_default_context()
        context.sslsocket_class = _DeadlineSSLSocket
        try:
            raw.settimeout(self._deadline.remaining())
            # Certificate and SNI are checked against the name the user asked for, not
            # the address connected to.
            # A _DeadlineSSLSocket: the context's sslsocket_class, set above.
            tls = cast(_DeadlineSSLSocket, context.wrap_socket(raw, server_hostname=self.host))
        except BaseException:
            raw.close()
            raise
        tls.deadline = self._deadline
        self.sock = tls


# --- fetching ---------------------------------------------------------------------------


def _request_target(path: str, query: str) -> str:
    # http.client sends the target as ASCII; encode anything else, keep existing escapes.
    safe = "/%:@!$&'()*+,;=~-._"
    target = quote(path or "/", safe=safe)
    if query:
        target += "?" + quote(query, safe=safe + "?")
    return target


def _host_of(url: str) -> tuple[str, str, int, str]:
    """(scheme, host for lookup and headers, port, request target) of a checked URL."""
    try:
        checked = check_url(url)
    except UrlError as exc:
        code = "scheme" if "scheme" in str(exc) else "host"
        raise FetchError(code, str(exc)) from None
    parts = urlsplit(checked)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise FetchError("host", "The URL needs a host name.")
    if _parse_address(host) is None:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise FetchError("host", f"{host!r} is not a valid host name.") from None
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, host, port, _request_target(parts.path, parts.query)


def _content_type(response: http.client.HTTPResponse) -> tuple[str, str | None]:
    raw = response.getheader("Content-Type") or ""
    media_type = raw.split(";", 1)[0].strip().lower()
    if not _MEDIA_TYPE.match(media_type):
        # email.message would read a malformed type as text/plain; here it is refused.
        return "", None
    message = Message()
    message["Content-Type"] = raw
    charset = message.get_content_charset()
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None
    return media_type, charset


def _status_text(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _read_body(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    body = bytearray()
    while True:
        chunk = response.read(min(_CHUNK, max_bytes + 1 - len(body)))
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise FetchError("too-large", f"The page is larger than {max_bytes:,} bytes.")


def _fetch_once(
    url: str, policy: FetchPolicy, resolve: Resolver, deadline: _Deadline
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    scheme, host, port, target = _host_of(url)
    addresses = _addresses(host, port, policy, resolve)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, addresses=addresses, deadline=deadline)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.putheader("User-Agent", policy.user_agent)
        connection.putheader("Accept", ", ".join(policy.content_types) or "*/*")
        connection.putheader("Accept-Encoding", "identity")
        connection.putheader("Connection", "close")
        connection.endheaders()
        return connection, connection.getresponse()
    except BaseException:
        connection.close()
        raise


def _fetch(url: str, policy: FetchPolicy, resolve: Resolver, deadline: _Deadline) -> Fetched:
    accepted = {media_type.lower() for media_type in policy.content_types}
    for hop in range(policy.max_redirects + 1):
        connection, response = _fetch_once(url, policy, resolve, deadline)
        try:
            status = response.status
            if status in _REDIRECT_STATUSES:
                location = response.getheader("Location")
                if not location:
                    raise FetchError(
                        "status", f"The server answered {status} without a target.", status=status
                    )
                if hop == policy.max_redirects:
                    raise FetchError(
                        "redirects", f"More than {policy.max_redirects} redirects; stopped."
                    )
                # The next hop is checked from scratch (scheme, host, addresses).
                url = urljoin(url, location.strip())
                continue
            if not 200 <= status < 300:
                # The body is never read: an internal error page must not reach the user.
                # Nor its reason phrase, which is just as much the upstream's text.
                raise FetchError(
                    "status", f"The server answered {_status_text(status)}.", status=status
                )
            media_type, charset = _content_type(response)
            if media_type not in accepted:
                shown = media_type or "none"
                raise FetchError("content-type", f"Content type {shown} is not accepted.")
            encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
            if encoding != "identity":
                raise FetchError(
                    "content-type", f"Compressed responses ({encoding}) are not accepted."
                )
            declared = response.getheader("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > policy.max_bytes:
                raise FetchError(
                    "too-large", f"The page is larger than {policy.max_bytes:,} bytes."
                )
            body = _read_body(response, policy.max_bytes)
            return Fetched(
                url=url,
                status=status,
                content_type=media_type,
                charset=charset,
                body=body,
                reason=response.reason or "",
                headers=tuple((name, value) for name, value in response.getheaders()),
            )
        finally:
            connection.close()
    raise AssertionError("unreachable")  # pragma: no cover


_DEFAULT_POLICY = FetchPolicy()


def fetch(
    url: str, *, policy: FetchPolicy = _DEFAULT_POLICY, resolve: Resolver | None = None
) -> Fetched:
    """GET ``url`` under ``policy``; raises FetchError (``code``, user-safe ``message``).

    ``resolve(host, port)`` returns the host's addresses as strings; by default
    ``socket.getaddrinfo``.  It is called once per hop and its answer is what gets
    connected to.  Tests pass their own to simulate DNS without a network.
    """
    deadline = _Deadline(policy.timeout)
    try:
        return _fetch(url, policy, resolve or _system_resolve, deadline)
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(
            "timeout", f"No complete answer within {policy.timeout:g} seconds."
        ) from None
    except ssl.SSLCertVerificationError:
        raise FetchError(
            "connection", "The site's TLS certificate could not be verified."
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError("connection", f"The connection failed ({type(exc).__name__}).") from None


# --- posting (webhook deliveries) -------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """A POST's answer: its status code, and its body only when the caller asked for it
    (``read_body``; webhook deliveries never read it: a receiver's error page must not end
    up in a delivery log that project admins read)."""

    status: int
    body: bytes = b""


def check_target(
    url: str, *, policy: FetchPolicy = _DEFAULT_POLICY, resolve: Resolver | None = None
) -> str:
    """Check ``url`` for storing now and contacting later (webhook endpoints): http(s),
    a host name or address ``fetch`` and ``post`` would accept (no loopback, private,
    link-local or other non-public literal address, no ``localhost``, no numeric
    shorthand, unless ``policy.allowed_hosts`` names the host). A host name is looked up
    only with ``resolve``: ``post`` resolves and vets it again at every send (what it
    resolves to then is what counts). Returns the checked URL or raises FetchError."""
    _, host, port, _ = _host_of(url)
    _addresses(host, port, policy, resolve)
    return check_url(url)


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    policy: FetchPolicy = _DEFAULT_POLICY,
    resolve: Resolver | None = None,
    read_body: bool = False,
) -> Posted:
    """POST ``body`` to ``url`` under ``policy``: the same checks as ``fetch`` (http(s)
    only, the host resolved once and every address vetted, the connection pinned to it,
    one deadline over everything), and no redirect is followed (a 3xx is the answer).
    Returns the status code whatever it is (and with ``read_body`` the answer's body, at
    most ``policy.max_bytes``, within the same deadline); raises FetchError for a refused
    address, DNS, a timeout, a failed connection or (``read_body``) a body too large."""
    deadline = _Deadline(policy.timeout)
    resolve = resolve or _system_resolve
    try:
        scheme, host, port, target = _host_of(url)
        addresses = _addresses(host, port, policy, resolve)
        connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(host, port, addresses=addresses, deadline=deadline)
        try:
            connection.putrequest("POST", target, skip_accept_encoding=True)
            connection.putheader("User-Agent", policy.user_agent)
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Accept-Encoding", "identity")
            connection.putheader("Connection", "close")
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            if read_body:
                return Posted(status=response.status, body=_read_body(response, policy.max_bytes))
            return Posted(status=response.status)
        finally:
            connection.close()
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError("timeout", f"No answer within {policy.timeout:g} seconds.") from None
    except ssl.SSLCertVerificationError:
        raise FetchError(
            "connection", "The site's TLS certificate could not be verified."
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError("connection", f"The connection failed ({type(exc).__name__}).") from None
