"""A check-worthiness provider on 127.0.0.1 for the tests (an http.server thread): each
POST is answered by ``answer(request_json) -> (status, body bytes)``, and recorded. Used by
``tests/api/test_suggestions.py`` and ``tests/services/test_suggestions.py``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], tuple[int, bytes]]


def scores_by_length(request: dict[str, Any]) -> tuple[int, bytes]:
    """A provider that follows the contract: longer sentences score higher."""
    scores = [float(len(sentence["text"])) for sentence in request["sentences"]]
    return 200, json.dumps({"scores": scores}).encode()


class Provider:
    def __init__(self, answer: Answer = scores_by_length) -> None:
        self.answer = answer
        self.received: list[dict[str, Any]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length))
                provider.received.append(request)
                status, body = provider.answer(request)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/rank"

    def __enter__(self) -> Provider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
