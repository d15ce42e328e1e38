"""A webhook receiver on 127.0.0.1 for the tests (an http.server thread): it answers the
scripted statuses in turn (then 200), or holds a request open (``HANG``) until it is
released, and records every request (path, headers, body). Used by
``tests/services/test_webhooks.py``, ``tests/api/test_webhooks.py`` and
``tests/test_worker.py``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = -1  # hold the request open until release() (a worker killed mid-delivery)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.arrived:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    receiver.arrived.notify_all()
                if status == HANG:
                    receiver.released.wait(30)
                    return  # close without an answer
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """The requests once ``count`` have arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} requests arrived")
                self.arrived.wait(left)
            return list(self.received)
