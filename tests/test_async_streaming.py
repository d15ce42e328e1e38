"""``AsyncStreamingMiddleware``: under ASGI (bin/serve's uvicorn workers) a streamed
response with a plain iterator (the exports) stays streamed, batch by batch, and its
generator is closed when the client leaves, as under WSGI. No database."""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.core import signals
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import StreamingHttpResponse
from django.test import RequestFactory, SimpleTestCase

from tests.aio import run_in_own_loop
from workbench.middleware import AsyncStreamingMiddleware


def asgi_request() -> ASGIRequest:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    return ASGIRequest(scope, io.BytesIO())


class AsyncStreamingMiddlewareTests(SimpleTestCase):
    def setUp(self) -> None:
        self.produced = 0
        self.closed = False

    def lines(self) -> Iterator[str]:
        try:
            for n in range(2000):
                self.produced += 1
                yield f"line {n}\n"
        except GeneratorExit:
            self.closed = True
            raise

    def respond(self, request) -> StreamingHttpResponse:
        middleware = AsyncStreamingMiddleware(lambda r: StreamingHttpResponse(self.lines()))
        return middleware(request)  # type: ignore[return-value]

    def test_under_asgi_it_streams_everything_asynchronously(self) -> None:
        response = self.respond(asgi_request())
        self.assertTrue(response.is_async)

        async def read() -> bytes:
            return b"".join([part async for part in response])

        body = run_in_own_loop(read())
        self.assertEqual(body.count(b"\n"), 2000)
        self.assertTrue(body.startswith(b"line 0\nline 1\n"))

    def test_a_client_that_leaves_closes_the_generator_without_reading_it_all(self) -> None:
        response = self.respond(asgi_request())

        async def read_a_little() -> None:
            stream = response.streaming_content
            await anext(stream)  # type: ignore[call-overload]
            await stream.aclose()  # type: ignore[union-attr]

        run_in_own_loop(read_a_little())
        self.assertFalse(self.closed)
        # What Django's ASGI handler does when the client has gone. close() also sends
        # request_finished, whose database clean-up this test (no database) leaves out,
        # as Django's test client does.
        signals.request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            signals.request_finished.connect(close_old_connections)

        self.assertTrue(self.closed)
        self.assertLess(self.produced, 2000)  # pulled in batches, not read whole

    def test_under_wsgi_it_does_nothing(self) -> None:
        response = self.respond(RequestFactory().get("/"))
        self.assertFalse(response.is_async)
