"""What the evidence tests share (issue 16): a web site on 127.0.0.1 whose pages a test
can change while it runs (``EvidenceSite``), the ``EvidenceTestCase`` (personas, a claim,
the site, the fetcher allowed to reach 127.0.0.1 and WARC files in a temporary folder),
and ``cite``, which submits a verdict citing a page and runs what the worker would.

Nothing here reaches beyond 127.0.0.1 (the ``_loopback_only`` guard of the import tests
is imported by each module that uses this)."""

from __future__ import annotations

import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.conf import settings
from django.test import TestCase, override_settings
from django_tasks_db.models import DBTaskResult

from annotations import services
from annotations.models import Claim, Verdict
from tests.factories import Personas, judge, make_claim

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Steel prices | The Daily Test</title>
<meta property="og:title" content="Steel prices rose 40% in a year">
<meta property="og:site_name" content="The Daily Test">
<meta property="article:published_time" content="2024-03-05T09:00:00Z">
</head><body><nav><a href="/">Home</a></nav>
<main><article><h1>Steel prices rose 40% in a year</h1>
<p>The ministry said on Monday that steel prices rose by 40 per cent over the year,
the sharpest rise since records began &mdash; a figure disputed by the builders\u2019 union.</p>
<p>Economists expect prices to settle in the coming months as supply recovers from
the disruption of the spring, according to the central bank\u2019s quarterly bulletin.</p>
</article></main><footer>Copyright 2024</footer></body></html>
"""
QUOTE = "the sharpest rise since records began - a figure disputed by the builders' union"


class EvidenceSite:
    """A web site on 127.0.0.1 (port chosen by the OS); ``pages`` maps a path to
    (status, headers, body) and may be changed while it runs."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = site.pages.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, path: str, body: str | bytes, *, status: int = 200, **headers: str) -> bytes:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = (
            status,
            {"Content-Type": "text/html; charset=utf-8", **headers},
            data,
        )
        return data

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class EvidenceTestCase(Personas, TestCase):
    site: EvidenceSite
    claim: Claim

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.site = EvidenceSite()
        cls.site.start()
        cls.addClassCleanup(cls.site.stop)
        folder = tempfile.mkdtemp(prefix="wb-evidence-")
        cls.addClassCleanup(shutil.rmtree, folder, True)
        storages = {
            **settings.STORAGES,
            "evidence": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": folder, "base_url": None},
            },
        }
        overrides = override_settings(
            WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"], STORAGES=storages
        )
        overrides.enable()
        cls.addClassCleanup(overrides.disable)

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.claim = make_claim(
            document=cls.document,
            actor=cls.creator,
            exact="The mayor said crime fell 20% last year.",
        )

    def setUp(self) -> None:
        self.site.pages.clear()
        self.page = self.site.serve("/steel", PAGE)

    def cite(
        self,
        reviewer: Any,
        *,
        path: str = "/steel",
        quote: str = QUOTE,
        run: bool = True,
        rating: str = "true",
    ) -> Verdict:
        """``reviewer`` judges the claim citing ``path`` with ``quote``; with ``run`` the
        enqueued evidence task runs as the worker would (checked to be queued)."""
        with self.captureOnCommitCallbacks(execute=True):
            verdict = judge(
                self.claim,
                reviewer,
                rating,
                citations=[
                    services.CitationInput(stance="supports", url=self.site.url(path), quote=quote)
                ],
            )
        task = DBTaskResult.objects.filter(
            task_path="annotations.services.evidence.verdict_evidence_task"
        ).last()
        assert task is not None and task.args_kwargs["args"] == [verdict.pk], task
        if run:
            services.verdict_evidence(verdict_id=verdict.pk)
        return verdict
