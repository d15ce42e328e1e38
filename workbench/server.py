"""The gunicorn worker ``bin/serve`` runs: uvicorn's, on uvloop with httptools, with a bound
on each request's head.

uvicorn's h11 parser, which the worker used while httptools was not installed, refuses a
request line and headers of more than 16 KiB (h11's own bound) with a 400. uvicorn sets no
such bound for httptools: a client could send headers without end and the worker would
buffer them all (160 MB of headers were taken whole and answered, bench/bare_asgi.py, issue
20 round 10). ``BoundedHttpToolsProtocol`` answers uvicorn's 400 and closes the connection
once a request's line and headers pass ``MAX_HEAD_BYTES``; a reverse proxy in front
(docs/deployment.md) bounds them too. What the worker buffers of one head is at most that
plus one read from the socket.

No Django here: gunicorn imports this module to find the worker class.
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker as _UvicornWorker

# A request line and its headers together, at most: h11's bound, as before httptools.
MAX_HEAD_BYTES = 16 * 1024
# Headers in one request, at most: the count bin/serve gives gunicorn (--limit-request-fields),
# which its own parser enforces for sync workers and uvicorn's does not.
MAX_HEADERS = 100
HEAD_TOO_LARGE = "Request line and headers too large."
# The bytes around what the parser hands over: " " and " HTTP/1.1\r\n" of the request
# line (its method is counted as the parser read it) with the blank line that ends the
# head, and ": " with "\r\n" of each header.
_LINE_FRAMING = 1 + 11 + 2
_HEADER_FRAMING = 4


class BadHead(Exception):
    """Raised from a parser callback: httptools stops and uvicorn answers its 400."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing with the 400 and closed connection uvicorn
    gives a request it cannot parse (as h11 did for each of these) a request whose line
    and headers pass ``MAX_HEAD_BYTES``, one with more than ``MAX_HEADERS`` headers, an
    HTTP/1.1 request without Host, and a transfer coding other than ``chunked`` alone.

    Two counts of the head: its bytes as the parser hands them over, with the framing
    around them (the request line, then each header), and, for the memory, the bytes read
    while a head is incomplete (httptools holds a header until its value ends, so one
    endless header would otherwise be read whole before it is counted)."""

    _in_head = True
    _read_in_head = 0
    _head_size = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        if not self._head_size:  # the request line's first piece: its method is read
            self._head_size = len(self.parser.get_method()) + _LINE_FRAMING
        self._head_size += len(url)
        if self._head_size > MAX_HEAD_BYTES:
            raise BadHead
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + _HEADER_FRAMING
        if self._head_size > MAX_HEAD_BYTES or len(self.headers) >= MAX_HEADERS:
            raise BadHead
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._read_in_head = 0
        host = False
        for name, value in self.headers:
            host = host or name == b"host"
            if name == b"transfer-encoding" and value.strip().lower() != b"chunked":
                raise BadHead  # a coding other than chunked alone: not ours to guess
        if not host and self.parser.get_http_version() == "1.1":
            raise BadHead  # HTTP/1.1 requires Host (h11 refused such a request too)
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._read_in_head += len(data)
        super().data_received(data)
        if (
            self._in_head
            and self._read_in_head > MAX_HEAD_BYTES
            and not self.transport.is_closing()
        ):
            self.logger.warning(HEAD_TOO_LARGE)
            self.send_400_response(HEAD_TOO_LARGE)


class UvicornWorker(_UvicornWorker):  # type: ignore[misc]
    """``uvicorn_worker.UvicornWorker`` on uvloop, parsing with ``BoundedHttpToolsProtocol``
    (the class, not uvicorn's choice by what is installed: without httptools or uvloop the
    worker does not start, rather than fall back to slower parts without a word)."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "uvloop",
        "http": BoundedHttpToolsProtocol,
    }
