"""The app tests/test_server_limits.py serves: ``bench.bare_asgi``'s 401 to every request but
``/answers-first``, answered at once without reading the request's body, and ``/stream``, a
line every 0.1 s until the client leaves (as an event stream's heartbeat)."""

from __future__ import annotations

import asyncio
from typing import Any

from bench import bare_asgi


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/answers-first":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["type"] == "http" and scope["path"] == "/stream":
        await _stream(receive, send)
        return
    await bare_asgi.app(scope, receive, send)


async def _stream(receive: Any, send: Any) -> None:
    left = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        left.set()

    watcher = asyncio.create_task(watch())
    await send({"type": "http.response.start", "status": 200, "headers": []})
    while not left.is_set():
        await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
        await asyncio.sleep(0.1)
    watcher.cancel()
