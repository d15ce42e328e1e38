"""``workbench.handlers.SyncChainASGIHandler`` (the app bin/serve runs): a synchronous
view and every middleware run in one hop to the request's thread, and everything the
stock handler served still comes out the same. No database."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any
from unittest import mock

from asgiref.sync import AsyncToSync, SyncToAsync
from django.test import SimpleTestCase, override_settings

from tests.aio import run_in_own_loop
from workbench.handlers import SyncChainASGIHandler


def http_scope(
    path: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    """An ASGI HTTP scope for ``path`` on the test server."""
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip


async def exchange(
    app: Any,
    path: str,
    method: str = "GET",
    chunks: Sequence[bytes] = (b"",),
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[dict[str, Any], bytes, int]:
    """One request whose body comes in ``chunks``, the client staying connected after
    them: (the response's start message, its body, how many chunks the app read)."""
    import asyncio

    scope = http_scope(path, method, headers)
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(chunks):
            read += 1
            return {
                "type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)
            }  # fmt: skip
        await asyncio.sleep(3600)  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body, read


async def call(
    app: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    start, body, _ = await exchange(app, path, headers=headers)
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
        # request_started's receivers, the whole chain with the view and response.close()
        # in one hop, never back to the event loop in between (Django's own handler hops
        # for each of the three, per sync middleware and per MiddlewareMixin hook).
        self.assertNotIn("back to the event loop", hops)
        self.assertEqual(hops, ["_respond"])
        self.assertEqual(len(threads), 1)

    def test_responses_keep_the_headers_the_middleware_sets(self) -> None:
        response = run_in_own_loop(call(SyncChainASGIHandler(), "/accounts/login/"))
        self.assertEqual(response["status"], 200)
        headers = response["headers"]
        self.assertIn(b"content-security-policy", headers)  # Django's CSP middleware
        self.assertEqual(headers[b"x-frame-options"], b"DENY")
        self.assertIn(b"csrftoken", headers.get(b"set-cookie", b""))


class RequestThreadTests(SimpleTestCase):
    """Requests reuse the threads of requests that ended; requests at the same time each
    have their own; a request's thread is not reused after an error."""

    def test_a_request_after_another_runs_on_its_thread(self) -> None:
        app = SyncChainASGIHandler()
        seen: list[tuple[int, str]] = []
        respond = app._respond

        def recorded(*args: Any) -> Any:
            seen.append((threading.get_ident(), threading.current_thread().name))
            return respond(*args)

        async def two_in_turn() -> list[dict[str, Any]]:
            return [await call(app, "/api/v1/projects/"), await call(app, "/accounts/login/")]

        with mock.patch.object(app, "_respond", recorded):
            first, second = run_in_own_loop(two_in_turn())
        self.assertEqual((first["status"], second["status"]), (401, 200))
        self.assertEqual(len(seen), 2)
        self.assertEqual(seen[0], seen[1])
        self.assertNotEqual(seen[0][0], threading.get_ident())  # not the event loop's
        self.assertTrue(seen[0][1].startswith("request"))
        self.assertEqual(len(app._idle), 1)

    def test_requests_at_the_same_time_have_threads_of_their_own(self) -> None:
        app = SyncChainASGIHandler()
        seen: list[int] = []
        both = threading.Barrier(2, timeout=10)
        respond = app._respond

        def together(*args: Any) -> Any:
            seen.append(threading.get_ident())
            both.wait()  # each waits for the other: on one thread this would time out
            return respond(*args)

        async def at_once() -> list[dict[str, Any]]:
            import asyncio

            return list(
                await asyncio.gather(call(app, "/api/v1/projects/"), call(app, "/api/v1/projects/"))
            )

        with mock.patch.object(app, "_respond", together):
            answers = run_in_own_loop(at_once())
        self.assertEqual([a["status"] for a in answers], [401, 401])
        self.assertEqual(len(set(seen)), 2)
        self.assertEqual(len(app._idle), 2)

    def test_a_thread_is_not_reused_after_an_error(self) -> None:
        app = SyncChainASGIHandler()

        def broken(*args: Any) -> Any:
            raise RuntimeError("the handler broke")

        with (
            mock.patch.object(app, "_respond", broken),
            self.assertRaisesMessage(RuntimeError, "the handler broke"),
        ):
            run_in_own_loop(call(app, "/api/v1/projects/"))
        self.assertEqual(app._idle, [])

    def test_a_response_not_streamed_is_closed_before_it_is_sent(self) -> None:
        # request_finished (the database connection back to the pool) in the one hop,
        # before the answer goes out; once.
        from django.core import signals

        app = SyncChainASGIHandler()
        order: list[str] = []
        original = app.send_response

        def finished(**kwargs: Any) -> None:
            order.append("request_finished")

        async def send_response(response: Any, send: Any) -> None:
            order.append("send")
            await original(response, send)

        signals.request_finished.connect(finished)
        try:
            with mock.patch.object(app, "send_response", send_response):
                answer = run_in_own_loop(call(app, "/accounts/login/"))
        finally:
            signals.request_finished.disconnect(finished)
        self.assertEqual(answer["status"], 200)
        self.assertEqual(order, ["request_finished", "send"])

    def test_a_streamed_response_runs_and_closes_on_the_views_thread_after_it_is_sent(
        self,
    ) -> None:
        from django.http import StreamingHttpResponse

        from workbench.middleware import _pulled

        app = SyncChainASGIHandler()
        order: list[str] = []
        threads: dict[str, set[int]] = {"view": set(), "chunks": set(), "close": set()}
        original = app.send_response

        def lines() -> Any:
            for number in range(3):
                threads["chunks"].add(threading.get_ident())
                yield f"line {number}\n".encode()

        def get_response(request: Any) -> Any:
            threads["view"].add(threading.get_ident())
            response = StreamingHttpResponse(_pulled(lines()))

            def closed() -> None:
                threads["close"].add(threading.get_ident())
                order.append("closed")

            response._resource_closers.append(closed)
            return response

        async def send_response(response: Any, send: Any) -> None:
            await original(response, send)
            order.append("sent")

        with (
            mock.patch.object(app, "get_response", get_response),
            mock.patch.object(app, "send_response", send_response),
        ):
            answer = run_in_own_loop(call(app, "/export"))
        self.assertEqual(answer["body"], b"line 0\nline 1\nline 2\n")
        self.assertEqual(order, ["sent", "closed"])
        self.assertEqual(len(threads["view"]), 1)
        self.assertEqual(threads["chunks"], threads["view"])
        self.assertEqual(threads["close"], threads["view"])


async def left_during_the_view(app: Any, started: threading.Event) -> None:
    """A GET whose client goes away once the view has started."""
    import asyncio

    scope = http_scope("/api/v1/projects/")
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, Any]:
        first = next(messages, None)
        if first is not None:
            return first
        while not started.is_set():
            await asyncio.sleep(0.005)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError(f"nothing is sent to a client that left: {message}")

    await app(scope, receive, send)


class ClientLeftTests(SimpleTestCase):
    """A client that leaves while its view runs: the view runs to its end on its thread,
    and the thread serves no other request before that."""

    def run_left(self, *, finished_waits: bool) -> tuple[SyncChainASGIHandler, threading.Event]:
        app = SyncChainASGIHandler()
        started, release, ended = threading.Event(), threading.Event(), threading.Event()
        respond = app._respond_on_thread

        def slow(*args: Any) -> Any:
            started.set()
            release.wait(10)
            try:
                return respond(*args)
            finally:
                ended.set()

        async def nothing(**kwargs: Any) -> list[Any]:
            return []

        patches = [mock.patch.object(app, "_respond_on_thread", slow)]
        if not finished_waits:
            # request_finished with no sync receiver: nothing queues behind the view.
            patches.append(mock.patch("django.core.signals.request_finished.asend", nothing))
        else:
            threading.Timer(0.2, release.set).start()
        with contextlib.ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            run_in_own_loop(left_during_the_view(app, started))
        release.set()
        ended.wait(10)
        return app, ended

    def test_its_thread_is_reused_once_the_view_has_ended(self) -> None:
        app, ended = self.run_left(finished_waits=True)
        self.assertTrue(ended.is_set())
        self.assertEqual(len(app._idle), 1)

    def test_a_thread_still_running_the_view_is_not_reused(self) -> None:
        app, ended = self.run_left(finished_waits=False)
        self.assertTrue(ended.is_set())
        self.assertEqual(app._idle, [])


async def post(
    app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes, int]:
    """A POST whose body comes in ``chunks``: (status, body, how many chunks were read)."""
    start, body, read = await exchange(app, "/api/v1/auth/token/", "POST", chunks, headers)
    return start["status"], body, read


@override_settings(WORKBENCH_MAX_REQUEST_BYTES=1000)
class RequestBodyTests(SimpleTestCase):
    """The body is read only up to the size a request may have; one sent without a length
    (chunked) is read, and refused when it is too big."""

    JSON = [(b"content-type", b"application/json")]

    def echo(self, app: SyncChainASGIHandler) -> Any:
        def get_response(request: Any) -> Any:
            from django.http import HttpResponse

            return HttpResponse(request.body)

        return mock.patch.object(app, "get_response", get_response)

    def test_a_chunked_body_reaches_the_view(self) -> None:
        app = SyncChainASGIHandler()
        with self.echo(app):
            status, body, _ = run_in_own_loop(post(app, [b'{"a": ', b"1}"], self.JSON))
        self.assertEqual((status, body), (200, b'{"a": 1}'))

    def test_a_chunked_body_past_the_limit_is_413_and_not_kept(self) -> None:
        app = SyncChainASGIHandler()
        kept: list[int] = []
        read_capped = app._read_body_capped

        async def capped(scope: Any, receive: Any) -> Any:
            scope, body_file = await read_capped(scope, receive)
            kept.append(len(body_file.read()))
            body_file.seek(0)
            return scope, body_file

        with mock.patch.object(app, "_read_body_capped", capped):
            status, body, _ = run_in_own_loop(post(app, [b"x" * 400] * 10, self.JSON))
        self.assertEqual(status, 413)
        # Its size is not known (reading stopped one byte past the limit): not "1,001".
        self.assertIn(b"The request body is more than 1,000 bytes; the limit is 1,000.", body)
        self.assertEqual(kept, [1001])  # the rest was received and dropped

    def test_a_body_declared_too_large_is_not_read_before_the_413(self) -> None:
        app = SyncChainASGIHandler()
        headers = [*self.JSON, (b"content-length", b"4000")]
        with mock.patch.object(app, "read_body", side_effect=AssertionError("read")):
            status, body, _ = run_in_own_loop(post(app, [b"x" * 400] * 10, headers))
        self.assertEqual(status, 413)
        self.assertIn(b"4,000 bytes", body)

    def test_a_client_waiting_to_send_a_body_declared_too_large_is_not_asked_for_it(
        self,
    ) -> None:
        # Expect: 100-continue: the server sends "100 Continue" at the app's first receive,
        # and the disconnect listener used to make one (the outside probe: 100, then 413).
        app = SyncChainASGIHandler()
        headers = [*self.JSON, (b"content-length", b"99999999"), (b"expect", b"100-continue")]
        start, body, read = run_in_own_loop(
            exchange(app, "/api/v1/auth/token/", "POST", [b"x" * 400], headers)
        )
        self.assertEqual((start["status"], read), (413, 0))
        self.assertIn((b"Connection", b"close"), start["headers"])
        self.assertIn(b"99,999,999 bytes", body)

    def test_a_body_within_its_declared_length_is_read_as_django_reads_it(self) -> None:
        app = SyncChainASGIHandler()
        headers = [*self.JSON, (b"content-length", b"8")]
        with self.echo(app):
            status, body, _ = run_in_own_loop(post(app, [b'{"a": ', b"1}"], headers))
        self.assertEqual((status, body), (200, b'{"a": 1}'))
