"""What the import tests share: ``ImportTestCase`` (the personas and a small web site on
127.0.0.1 serving an article, an HTML page, an image, a redirect and an empty page), the
``LOCAL``/``NO_HOSTS`` settings for the fetcher, and the autouse ``_loopback_only`` guard,
which each module imports so that no test sends a packet beyond 127.0.0.1.

Every fetch goes to that site; nothing here reaches beyond this machine. The fetcher
refuses loopback addresses unless WORKBENCH_FETCH_ALLOWED_HOSTS names them, which the
tests switch on and off. Used by ``tests/services/test_importing.py``,
``tests/services/test_sources.py``, ``tests/ui/test_importing.py``,
``tests/api/test_imports.py`` and ``tests/commands/test_import_documents.py``.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.test import TestCase, override_settings
from django.urls import reverse

from annotations.models import Document, DocumentRevision, Event
from tests.factories import Personas

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE = (FIXTURES / "seed" / "sample_article.txt").read_text(encoding="utf-8")
SAMPLE_TITLE = "The contrasting Russian/Chinese vs. US models for geo-economic diplomacy"
JUNK = ("@media", "adsbygoogle", "appeared first on")
LOCAL = override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"])
NO_HOSTS = override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=[])

ARTICLE_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Bridge costs doubled | The Daily Test</title>
  <meta property="og:title" content="Bridge costs doubled, council admits">
  <meta property="og:site_name" content="The Daily Test">
  <meta name="author" content="Ada Reporter">
  <meta property="article:published_time" content="2024-03-05T09:00:00Z">
  <link rel="canonical" href="https://news.example.org/bridge-costs">
  <style>.ad { display: block; }</style>
  <script>(adsbygoogle = window.adsbygoogle || []).push({});</script>
</head>
<body>
  <nav><a href="/">Home</a> <a href="/politics">Politics</a> <a href="/sport">Sport</a></nav>
  <header><p>Subscribe to our newsletter for daily updates!</p></header>
  <main>
    <article>
      <h1>Bridge costs doubled, council admits</h1>
      <p>The council said on Monday that the new bridge over the river cost twice the
      original estimate, blaming a sharp rise in steel prices during construction.</p>
      <p>Officials told reporters the final bill came to 41 million euros, against the
      20 million euros approved by the assembly three years ago.</p>
      <p>Opposition members demanded an independent audit of the project before any
      further payments are made to the contractor.</p>
    </article>
  </main>
  <aside><h2>Most read</h2><ul><li>Ten things to do this weekend</li></ul></aside>
  <footer><p>Copyright 2024 The Daily Test. All rights reserved.</p></footer>
</body>
</html>
"""
ARTICLE_SENTENCE = "the final bill came to 41 million euros"
PAGE_FURNITURE = ("Subscribe to our newsletter", "Most read", "Copyright 2024", "Politics")
# A page with a title and no main text: a landing page or a data portal.
EMPTY_HTML = (
    "<!doctype html><html><head><title>Statistics portal | Stats Office</title>"
    '<meta property="og:site_name" content="Stats Office"></head><body></body></html>'
)
REAL_CONNECT = socket.socket.connect


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here sends a packet beyond 127.0.0.1: other connects are refused without
    touching the network, and DNS lookups fail (every URL here is a literal address)."""

    def connect(sock: socket.socket, address: tuple) -> None:  # type: ignore[type-arg]
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"test guard: no traffic to {address[0]}")
        REAL_CONNECT(sock, address)

    def no_dns(*args: object, **kwargs: object) -> list[object]:
        raise OSError(f"test guard: no DNS lookups ({args[0]!r})")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)


class _Handler(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.pages.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LocalSite:
    """A tiny web site on 127.0.0.1 (port chosen by the OS) serving fixed pages."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def start(self) -> None:
        _Handler.pages = {
            "/article.txt": (200, {"Content-Type": "text/plain; charset=utf-8"}, SAMPLE.encode()),
            "/page.html": (
                200,
                {"Content-Type": "text/html; charset=utf-8"},
                ARTICLE_HTML.encode(),
            ),
            "/image.png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n"),
            "/moved": (302, {"Location": "/page.html"}, b""),
            "/empty.html": (200, {"Content-Type": "text/html"}, EMPTY_HTML.encode()),
        }
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ImportTestCase(Personas, TestCase):
    site: LocalSite

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.site = LocalSite()
        cls.site.start()
        cls.addClassCleanup(cls.site.stop)

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def import_url(self) -> str:
        return reverse("workbench:document-import", kwargs={"slug": self.project.slug})

    def counts(self) -> tuple[int, int, int]:
        return Document.objects.count(), Event.objects.count(), DocumentRevision.objects.count()

    def preview(self, data: dict[str, object], **extra: object):  # -> HttpResponse
        return self.client.post(self.import_url(), {"action": "preview", **data}, **extra)
