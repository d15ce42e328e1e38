"""``workbench.handlers.SyncChainASGIHandler`` (the app bin/serve runs): a synchronous
view and every middleware run in one hop to the request's thread, and everything the
stock handler served still comes out the same. No database."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

from asgiref.sync import AsyncToSync, SyncToAsync
from django.test import SimpleTestCase

from tests.aio import run_in_own_loop
from workbench.handlers import SyncChainASGIHandler


async def call(
    app: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await __import__("asyncio").sleep(3600)  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {
        "status": start["status"],
        "headers": {k.lower(): v for k, v in start["headers"]},
        "body": body,
    }


class SyncChainASGIHandlerTests(SimpleTestCase):
    def test_the_middleware_and_a_sync_view_run_in_one_hop_to_a_thread(self) -> None:
        app = SyncChainASGIHandler()
        hops: list[str] = []
        threads: set[int] = set()
        to_thread, to_loop = SyncToAsync.__call__, AsyncToSync.__call__

        async def counted_to_thread(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
            hops.append(getattr(self.func, "__name__", repr(self.func)))

            def on_thread(*a: Any, **k: Any) -> Any:
                threads.add(threading.get_ident())
                return self.func(*a, **k)

            return await to_thread(SyncToAsync(on_thread, thread_sensitive=True), *args, **kwargs)

        def counted_to_loop(self: AsyncToSync, *args: Any, **kwargs: Any) -> Any:
            hops.append("back to the event loop")
            return to_loop(self, *args, **kwargs)

        with (
            mock.patch.object(SyncToAsync, "__call__", counted_to_thread),
            mock.patch.object(AsyncToSync, "__call__", counted_to_loop),
        ):
            # An API call without credentials: every middleware, DRF's view, a 401.
            response = run_in_own_loop(call(app, "/api/v1/projects/"))
        self.assertEqual(response["status"], 401)
        self.assertIn(b"credentials", response["body"])
        # request_started's receivers, the whole chain with the view, response.close():
        # never back to the event loop in between (Django's own handler hops per sync
        # middleware and per MiddlewareMixin hook).
        self.assertNotIn("back to the event loop", hops)
        self.assertEqual(len(hops), 3, hops)
        self.assertIn("get_response", hops)
        self.assertEqual(len(threads), 1)  # ThreadSensitiveContext: one thread per request

    def test_responses_keep_the_headers_the_middleware_sets(self) -> None:
        response = run_in_own_loop(call(SyncChainASGIHandler(), "/accounts/login/"))
        self.assertEqual(response["status"], 200)
        headers = response["headers"]
        self.assertIn(b"content-security-policy", headers)  # Django's CSP middleware
        self.assertEqual(headers[b"x-frame-options"], b"DENY")
        self.assertIn(b"csrftoken", headers.get(b"set-cookie", b""))
