"""The app tests/test_server_limits.py serves: ``bench.bare_asgi``'s 401 to every request but
``/answers-first``, answered at once without reading the request's body."""

from __future__ import annotations

from typing import Any

from bench import bare_asgi


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/answers-first":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await bare_asgi.app(scope, receive, send)
