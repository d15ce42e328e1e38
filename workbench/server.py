"""The gunicorn worker ``bin/serve`` runs: uvicorn's, on uvloop with httptools, with bounds
on each request's head (its size, the time it takes) and on the gaps in its body.

uvicorn's h11 parser, which the worker used while httptools was not installed, refuses a
request line and headers of more than 16 KiB (h11's own bound) with a 400. uvicorn sets no
such bound for httptools: a client could send headers without end and the worker would
buffer them all (160 MB of headers were taken whole and answered, bench/bare_asgi.py, issue
20 round 10). ``BoundedHttpToolsProtocol`` answers uvicorn's 400 and closes the connection
once a request's line and headers pass ``MAX_HEAD_BYTES``; a reverse proxy in front
(docs/deployment.md) bounds them too. What the worker buffers of one head is at most that
plus one read from the socket.

uvicorn bounds no time either, but the idle time between two requests on a connection
(``timeout_keep_alive``, ``--keep-alive``): a client could open many connections and send
each head a byte every few seconds, or a body a byte at a time (slowloris), and hold them
all. ``BoundedHttpToolsProtocol`` gives a request's head ``HEAD_TIMEOUT_SECONDS`` from its
first byte (from the connection's start for the first request) and a request's body
``BODY_TIMEOUT_SECONDS`` between two reads, as nginx's ``client_header_timeout`` and
``client_body_timeout`` do: past them it answers 408 and closes the connection, or only
closes it when part of a response was already sent.

No Django here: gunicorn imports this module to find the worker class.
"""

from __future__ import annotations

import math
import os
from asyncio import TimerHandle
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
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


def seconds_from_env(name: str, default: float) -> float:
    """The number of seconds in environment variable ``name`` (``default`` when unset or
    empty); a ValueError naming it for anything but a finite number above 0."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 < value < math.inf):
        raise ValueError(f"{name}: seconds, a number above 0, not {raw!r}.")
    return value


# From a request's first byte (the connection's start, for its first request) until its
# line and headers are all read, at most (nginx's client_header_timeout is 60 s, Apache's
# mod_reqtimeout 20 s to 40 s; a proxy in front sends a head at once).
HEAD_TIMEOUT_SECONDS = seconds_from_env("HEAD_TIMEOUT", 15.0)
# Between two reads of a request's body, at most (nginx's client_body_timeout is 60 s).
# A gap, not a rate: a client sending a byte within each gap is not stopped by it.
BODY_TIMEOUT_SECONDS = seconds_from_env("BODY_TIMEOUT", 30.0)
REQUEST_TIMEOUT = "Request not received in time."


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
    endless header would otherwise be read whole before it is counted).

    Two timers, each armed once per request (none per read) and cancelled when what it
    waits for is read, or the connection is lost: the head's, from a request's first byte
    (the first read while no request is under way: blank lines before a request count) or
    the connection's start, to the head's end; the body's, from the head's end to the
    message's end, which a read moves on without re-arming it (when it fires early it
    re-arms for what is left). Neither runs while the connection is idle between requests
    (uvicorn's keep-alive timer is the bound there, restarted here when a body ends after
    its response, which uvicorn does not do), nor blames the client while the worker
    does not read (flow control: the app has not taken the body yet, an earlier pipelined
    request is being answered) or while a client waits for ``100 Continue``."""

    _in_head = True
    _in_message = False
    _read_in_head = 0
    _head_size = 0
    _head_timer: TimerHandle | None = None
    _body_timer: TimerHandle | None = None
    _body_read_at = 0.0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._cycles: list[Any] = []
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()
        # uvicorn tells only the connection's latest request (``self.cycle``) that the
        # client left: with a request pipelined behind a response still being sent (an
        # event stream), the response's app was never told, went on writing to the closed
        # transport and died with "Exception in ASGI application". Every request still
        # answering is told.
        for cycle in self._cycles:
            if not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._in_message = True
        self._head_size = 0
        if self._head_timer is None:  # a pipelined request, begun in an earlier one's read
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

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
        self._cancel_head_timer()
        self._read_in_head = 0
        host = False
        for name, value in self.headers:
            host = host or name == b"host"
            if name == b"transfer-encoding" and value.strip().lower() != b"chunked":
                raise BadHead  # a coding other than chunked alone: not ours to guess
        if not host and self.parser.get_http_version() == "1.1":
            raise BadHead  # HTTP/1.1 requires Host (h11 refused such a request too)
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and not any(known is cycle for known in self._cycles):
            self._cycles = [known for known in self._cycles if not known.response_complete]
            self._cycles.append(cycle)

    def handle_websocket_upgrade(self) -> None:
        # The connection is the WebSocket protocol's from here: no more requests to time.
        self._in_message = False
        self._cancel_head_timer()
        self._cancel_body_timer()
        super().handle_websocket_upgrade()

    def on_message_complete(self) -> None:
        self._in_message = False
        self._cancel_body_timer()
        super().on_message_complete()
        cycle = self.cycle
        if (
            cycle is not None
            and cycle.response_complete
            and not self.pipeline
            and self.timeout_keep_alive_task is None
            and not self.transport.is_closing()
        ):
            # Answered before its body was all read: uvicorn armed the keep-alive timer when
            # the response ended, the body's reads stopped it, and it would not restart it
            # (the connection idle for good).
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def data_received(self, data: bytes) -> None:
        if not self._in_message and self._head_timer is None:
            # A request's first byte after an idle keep-alive connection (uvicorn has just
            # stopped its keep-alive timer, and does not restart it until a response ends).
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)
        if self._in_head:
            self._read_in_head += len(data)
        else:
            self._body_read_at = self.loop.time()
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._in_head and self._read_in_head > MAX_HEAD_BYTES:
            self.logger.warning(HEAD_TOO_LARGE)
            self.send_400_response(HEAD_TOO_LARGE)
        elif self._in_message and not self._in_head and self._body_timer is None:
            self._body_read_at = self.loop.time()
            self._body_timer = self.loop.call_later(BODY_TIMEOUT_SECONDS, self._body_timed_out)

    # The timers.

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _not_the_clients_turn(self) -> bool:
        """The worker is not reading, or the client waits for ``100 Continue``."""
        cycle = self.cycle
        return self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._not_the_clients_turn():
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)
            return
        # A 408 unless a response is under way (an earlier request's, pipelined before
        # this head): it would be taken for that response.
        cycle = self.cycle
        self._time_out("head", HEAD_TIMEOUT_SECONDS, cycle is None or cycle.response_complete)

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        if self._not_the_clients_turn():
            self._body_read_at = now
        left = self._body_read_at + BODY_TIMEOUT_SECONDS - now
        if left > 0:
            self._body_timer = self.loop.call_later(left, self._body_timed_out)
            return
        # A 408 unless this request's response has begun (or an earlier one's is under way).
        self._time_out(
            "body", BODY_TIMEOUT_SECONDS, not self.pipeline and not self.cycle.response_started
        )

    def _time_out(self, part: str, seconds: float, answer: bool) -> None:
        """Log one line, answer 408 when ``answer`` (nothing of a response sent yet), close."""
        client = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        self.logger.warning(
            "%sRequest %s not received within %g s: closing.", client, part, seconds
        )
        if not answer:
            self.transport.close()
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The app waiting for this body gets http.disconnect, and what it sends is dropped.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        content = [STATUS_LINE[408]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(REQUEST_TIMEOUT),
                b"connection: close\r\n",
                b"\r\n",
                REQUEST_TIMEOUT.encode("ascii"),
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


class UvicornWorker(_UvicornWorker):  # type: ignore[misc]
    """``uvicorn_worker.UvicornWorker`` on uvloop, parsing with ``BoundedHttpToolsProtocol``
    (the class, not uvicorn's choice by what is installed: without httptools or uvloop the
    worker does not start, rather than fall back to slower parts without a word)."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "uvloop",
        "http": BoundedHttpToolsProtocol,
    }
