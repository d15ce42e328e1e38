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
HEAD_TOO_LARGE = "Request line and headers too large."


class HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops and uvicorn answers its 400."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose line and headers pass
    ``MAX_HEAD_BYTES``, with the 400 and closed connection uvicorn gives a request it
    cannot parse (as h11 did for such a head).

    Two counts: the request line's and the headers' bytes as the parser hands them over
    (exact: the request line, then each header's name and value), and, for the memory,
    the bytes read while a head is incomplete (httptools holds a header until its value
    ends, so one endless header would otherwise be read whole before it is counted)."""

    _in_head = True
    _read_in_head = 0
    _head_size = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        if self._head_size > MAX_HEAD_BYTES:
            raise HeadTooLarge
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value)
        if self._head_size > MAX_HEAD_BYTES:
            raise HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._read_in_head = 0
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
