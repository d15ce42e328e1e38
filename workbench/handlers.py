"""The ASGI handler ``bin/serve`` runs: Django's, with a request's synchronous work done in
one hop to a thread that requests reuse.

Every Workbench view is synchronous (the live-update stream is a sync view returning an
async iterator, which the ASGI server then drives in its event loop). Django's own ASGI
handler builds its middleware chain for async: each middleware that can only run sync
(WhiteNoise, Workbench's own) and each ``MiddlewareMixin`` hook is adapted with its own
hop between the event loop and a thread, and the view is one more. Measured on the peer
workload, that cost ~4 ms a request over gunicorn's threaded WSGI worker (bench/README.md,
"Request path under ASGI"). Here the chain is built for sync, as under WSGI, and:

* ``request_started``, the request's construction, the chain with the view and, for a
  response that is not streamed, ``response.close()`` (``request_finished``: the database
  connection goes back to the pool) are one call on the request's thread; Django's
  handler makes three hops of them. A streamed response is closed on the same thread once
  it has been sent, as Django does.
* The request's thread comes from a pool of single-thread executors that requests reuse
  (``ThreadSensitiveContext(executor=…)``), instead of a new thread per request: the
  view, a streamed response's generator (``AsyncStreamingMiddleware``) and
  ``request_finished`` still share one thread, and so one database connection.

Reading the body, sending the response and streaming stay in the event loop, as before.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from contextvars import ContextVar
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

from workbench.middleware import max_request_bytes

# Idle request threads kept for the next requests; more at once get threads of their own,
# which end when their request does.
IDLE_THREADS = 32


# Set while a request's ``_respond`` runs on its thread (the request's context reaches the
# thread): a view the client left may still be running when its request has ended.
_RESPONDING: ContextVar[threading.Event] = ContextVar("responding")


class _Processed(Exception):
    """The response went out: ends the task group that listens for a disconnect."""


class _Unread(io.BytesIO):
    """The body of a request declared too large: not read (``RequestSizeLimitMiddleware``
    answers 413 from its Content-Length)."""


def _expects_continue(scope: dict[str, Any]) -> bool:
    return any(
        name.lower() == b"expect" and value.strip().lower() == b"100-continue"
        for name, value in scope.get("headers") or ()
    )


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = (
            self._idle.pop()
            if self._idle
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        )
        responding = threading.Event()
        token = _RESPONDING.set(responding)
        done = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
            done = True
        finally:
            _RESPONDING.reset(token)
            # A request that ended normally has had every hop return, and its thread is idle
            # unless its view is still running for a client that left (``request_finished``
            # queues behind it only while that signal has a sync receiver); after an error
            # it may not be idle either. Such a thread finishes its work and ends.
            if done and not responding.is_set() and len(self._idle) < IDLE_THREADS:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's ``ASGIHandler.handle`` with the request's sync steps in one hop
        (``_respond``), and the body read only up to the size the request may have
        (``_read_body_capped``)."""
        try:
            scope, body_file = await self._read_body_capped(scope, receive)
        except RequestAborted:
            return
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            response = None
            if isinstance(body_file, _Unread) and _expects_continue(scope):
                # The client waits for "100 Continue" before it sends the body, which will
                # not be read (the 413): listening for a disconnect would ask for it (the
                # server sends the 100 at the first receive). Answer, then close.
                response = await sync_to_async(self._respond, thread_sensitive=True)(
                    scope, body_file
                )
                response["Connection"] = "close"
                await self.send_response(response, send)
                return
            try:
                try:
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self.listen_for_disconnect(receive))
                        response = await sync_to_async(self._respond, thread_sensitive=True)(
                            scope, body_file
                        )
                        await self.send_response(response, send)
                        raise _Processed
                except* (_Processed, RequestAborted):
                    pass
            except BaseExceptionGroup as group_error:
                if len(group_error.exceptions) == 1:
                    raise group_error.exceptions[0]  # noqa: B904 (as Django's handler)
                raise
            if response is None:
                # The client left before the answer was made.
                await signals.request_finished.asend(sender=self.__class__)
            elif response.streaming:
                await sync_to_async(response.close, thread_sensitive=True)()

    async def listen_for_disconnect(self, receive: Any) -> None:
        """Django's, except that what is left of a body the handler did not read (one
        refused for its size) is received and dropped while the answer is made."""
        while (await receive())["type"] != "http.disconnect":
            pass
        raise RequestAborted

    async def _read_body_capped(
        self, scope: dict[str, Any], receive: Any
    ) -> tuple[dict[str, Any], IO[bytes]]:
        """The body, as Django's ``read_body`` reads it, but never more than
        ``max_request_bytes`` of the request's type plus one byte: a body declared larger
        is not read at all (``RequestSizeLimitMiddleware`` answers 413 from its
        Content-Length), and one sent without a length (``Transfer-Encoding: chunked``,
        which the server has taken apart) is read until it ends or passes the limit. Django
        reads only as many bytes of the body as the Content-Length header says, none
        without it, so the scope comes back with the length of what was read: a small
        chunked body reaches the view, and a big one gets the middleware's 413 (its length
        then counts what was read, one byte past the limit)."""
        headers = dict(scope.get("headers") or ())
        limit = max_request_bytes(headers.get(b"content-type", b"").decode("latin-1"))
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = True  # the middleware answers 400 for a length that is no number
            if too_large:
                return scope, _Unread()
            return scope, await self.read_body(receive)
        # Closed by ``handle`` (``closing``), as Django's ``read_body``'s file is.
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        size = 0
        while size <= limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted
            chunk = message.get("body", b"")[: limit + 1 - size]
            body_file.write(chunk)  # at most the limit: in memory or a small file
            size += len(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        if not size:
            return scope, body_file
        length = (b"content-length", str(size).encode())
        return {**scope, "headers": [*scope["headers"], length]}, body_file

    def _respond(self, scope: dict[str, Any], body_file: IO[bytes]) -> HttpResponseBase:
        """On the request's thread: ``request_started``, the request, the middleware chain
        with the view, and the response closed unless it is streamed."""
        responding = _RESPONDING.get()
        responding.set()
        try:
            return self._respond_on_thread(scope, body_file)
        finally:
            responding.clear()

    def _respond_on_thread(self, scope: dict[str, Any], body_file: IO[bytes]) -> HttpResponseBase:
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response: HttpResponseBase
        if request is None:
            assert error_response is not None, "no request without an error response"
            response = error_response
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                # The ASGI server chunks the body itself.
                response.block_size = self.chunk_size
        if not response.streaming:
            # Its content is in memory: what closing does (``request_finished``, the
            # database connection back to the pool) need not wait for the send.
            response.close()
        return response
