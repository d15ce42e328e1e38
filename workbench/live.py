"""Live updates: the server-sent-event stream of a project's change feed.

The feed itself (what a member may be told) is ``annotations.selectors.live``; this module
only carries it. A message is ``id: <chain seq>`` plus a JSON ``data:`` naming the claim
and document that changed and the pages that show it, never content: the page re-fetches
its ordinary views, which apply every access rule.

How a stream learns that something happened:

* **ASGI** (``bin/serve``: gunicorn with uvicorn workers): the stream is an async
  generator, so a waiting client holds no thread and no database connection. On PostgreSQL
  one connection per process ``LISTEN``s on ``workbench_events``: a trigger on the event
  table (migration ``0024_live_event_notify``) sends ``NOTIFY`` with ``<project>:<seq>``,
  which PostgreSQL delivers when the writing transaction commits, to every app server;
  the listener wakes only the streams of that project, and each reads its member's
  changes (one query). Without PostgreSQL, or while the listener reconnects, streams poll
  every ``LIVE_POLL_SECONDS``.
* **WSGI** (``manage.py runserver`` in ``./wb demo``, the test live server): a plain
  generator that polls every ``LIVE_POLL_SECONDS``; each stream holds a server thread.

Every stream ends after ``LIVE_STREAM_SECONDS`` (the browser's EventSource reconnects with
``Last-Event-ID``, so nothing is lost and a removed member or a signed-out session stops
receiving within that time) and sends a comment every ``LIVE_HEARTBEAT_SECONDS`` so that
proxies keep it open and a closed client is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

from annotations import selectors
from annotations.access import User
from annotations.models import Membership
from annotations.selectors.live import BATCH

logger = logging.getLogger(__name__)

CHANNEL = "workbench_events"
RETRY_MS = 2000  # the EventSource's reconnection delay after a stream ends


def message(change: selectors.Change) -> bytes:
    data = json.dumps(change.as_json(), separators=(",", ":"))
    return f"id: {change.seq}\ndata: {data}\n\n".encode()


def _opening() -> bytes:
    # The first bytes flush the headers through buffering proxies; "retry" sets the delay.
    return f"retry: {RETRY_MS}\n: live\n\n".encode()


def _closing(cursor: int) -> bytes:
    # An id without data moves the client's Last-Event-ID on without an event: the next
    # stream starts from here, not from the last change this member was shown.
    return f"id: {cursor}\n\n".encode()


HEARTBEAT = b": keep-alive\n\n"


def _read(user: User, membership: Membership, cursor: int) -> tuple[list[bytes], int, bool]:
    """The messages after ``cursor``, the new cursor, and whether more are waiting."""
    changes, new_cursor = selectors.live_changes(user=user, membership=membership, after=cursor)
    return [message(change) for change in changes], new_cursor, new_cursor - cursor >= BATCH


# --- WSGI: a polling generator --------------------------------------------------------------


def stream_sync(
    *, user: User, membership: Membership, cursor: int, clock: Callable[[], float] = time.monotonic
) -> Iterator[bytes]:
    yield _opening()
    deadline = clock() + settings.LIVE_STREAM_SECONDS
    last_beat = clock()
    while clock() < deadline:
        messages, cursor, more = _read(user, membership, cursor)
        yield from messages
        if messages:
            last_beat = clock()
        elif clock() - last_beat >= settings.LIVE_HEARTBEAT_SECONDS:
            last_beat = clock()
            yield HEARTBEAT
        if not more:
            time.sleep(settings.LIVE_POLL_SECONDS)
    yield _closing(cursor)


# --- ASGI: an async generator woken by LISTEN/NOTIFY ---------------------------------------


class Listener:
    """One ``LISTEN`` connection per process (per event loop) that wakes the streams of
    the project a notification names."""

    def __init__(self) -> None:
        self.waiters: dict[int, set[asyncio.Event]] = {}
        self.listening = False
        self.task: asyncio.Task[None] | None = None

    def subscribe(self, project_id: int) -> asyncio.Event:
        event = asyncio.Event()
        self.waiters.setdefault(project_id, set()).add(event)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return event

    def unsubscribe(self, project_id: int, event: asyncio.Event) -> None:
        waiting = self.waiters.get(project_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self.waiters[project_id]

    def _wake(self, project_id: int | None) -> None:
        groups = self.waiters.values() if project_id is None else [self.waiters.get(project_id)]
        for group in groups:
            for event in group or ():
                event.set()

    async def _run(self) -> None:
        import psycopg

        params = {
            key: value
            for key, value in connections["default"].get_connection_params().items()
            if key in ("dbname", "user", "password", "host", "port", "sslmode", "options")
            or key.startswith("ssl")
        }
        backoff = 1.0
        while self.waiters:
            try:
                conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening, backoff = True, 1.0
                    self._wake(None)  # whatever committed while nobody listened
                    async for note in conn.notifies():
                        project, _, _seq = note.payload.partition(":")
                        if project.isdigit():
                            self._wake(int(project))
                        if not self.waiters:
                            break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("live updates: LISTEN connection lost; streams poll", exc_info=True)
            self.listening = False
            self._wake(None)
            if self.waiters:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
        self.listening = False


_listeners: dict[asyncio.AbstractEventLoop, Listener] = {}


def _listener() -> Listener | None:
    if connections["default"].vendor != "postgresql" or not settings.LIVE_LISTEN:
        return None
    loop = asyncio.get_running_loop()
    listener = _listeners.get(loop)
    if listener is None:
        listener = _listeners[loop] = Listener()
    return listener


def _read_in_pool(user: User, membership: Membership, cursor: int) -> tuple[list[bytes], int, bool]:
    """``_read`` on a thread of the executor, outside any request. On PostgreSQL the
    connection goes back at once (to the pool, ``DB_POOL_MAX``): a thread of the executor
    must not keep one of its own for every stream it served. Elsewhere (SQLite) the thread
    keeps its connection unless it is broken or past CONN_MAX_AGE."""
    close_old_connections()
    try:
        return _read(user, membership, cursor)
    finally:
        if connections["default"].vendor == "postgresql":
            connections["default"].close()


async def stream_async(*, user: User, membership: Membership, cursor: int) -> AsyncIterator[bytes]:
    read = sync_to_async(_read_in_pool, thread_sensitive=False)
    loop = asyncio.get_running_loop()
    listener = _listener()
    wake = listener.subscribe(membership.project_id) if listener is not None else None
    yield _opening()
    deadline = loop.time() + settings.LIVE_STREAM_SECONDS
    last_beat = loop.time()
    try:
        while (left := deadline - loop.time()) > 0:
            if wake is not None:
                wake.clear()  # a notification during the read below wakes the next wait
            messages, cursor, more = await read(user, membership, cursor)
            for chunk in messages:
                yield chunk
            now = loop.time()
            if messages:
                last_beat = now
            elif now - last_beat >= settings.LIVE_HEARTBEAT_SECONDS:
                last_beat = now
                yield HEARTBEAT
            if more:
                continue
            listening = listener is not None and listener.listening
            # Listening, a stream still reads once a heartbeat: a lost notification costs
            # at most that delay.
            wait = settings.LIVE_HEARTBEAT_SECONDS if listening else settings.LIVE_POLL_SECONDS
            if wake is not None and listening:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=min(wait, left))
            else:
                await asyncio.sleep(min(wait, left))
        yield _closing(cursor)
    finally:
        if listener is not None and wake is not None:
            listener.unsubscribe(membership.project_id, wake)
