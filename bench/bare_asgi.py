"""The cheapest answer an ASGI server can give: the floor under every request of the peer
workload's server, without Django.

``bench_peer`` runs this app under the worker class ``bin/serve`` uses (gunicorn with
``workbench.server.UvicornWorker``, one worker, keep-alive 75 s, the access log on) and times
the same unauthenticated ``GET /api/v1/projects/`` as its 401 floor, with the same client
(``floor_bare_asgi_ms``): what the HTTP server, the loopback and the client cost together.
The Workbench 401 above it is Django's work (the middleware, DRF's authentication) and the
hop to the request's thread. Benchmarks only; the app is never deployed.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"detail":"Authentication credentials were not provided."}'
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"www-authenticate", b"Token"),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass  # the body, read and dropped, as a server must before it answers
    await send({"type": "http.response.start", "status": 401, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
