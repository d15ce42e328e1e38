"""Real-browser tests: Playwright for Python driving Debian's Chromium, headless.

Playwright's own browser download does not work on our machines, so the tests launch
``/usr/bin/chromium`` (``WB_CHROMIUM`` overrides). Without it they are skipped with the
reason shown; ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# there (fixtures, assertions on the database) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("WB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"browser test: {CHROMIUM} not found (apt-get install chromium)")
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


# Held by the SQLite live server while it answers a request, and by a test that writes
# through the ORM while its pages are open (``server_paused``).
_SERVER_TURN = threading.RLock()


@contextmanager
def server_paused() -> Iterator[None]:
    """Run the body between two requests of the live server. On SQLite the test's writes
    and the server's requests share one in-memory connection, and a write that lands while
    a request reads (a page's poll, a panel loading) fails that request with "database
    table is locked", which no deployment sees; on PostgreSQL this waits for nothing."""
    with _SERVER_TURN:
        yield


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time_on_sqlite() -> Iterator[None]:
    """On SQLite the test database is in memory, and the live server's request threads
    all share the test's one connection (Django's LiveServerThread): two requests at once
    (the reader loads its repeat and suggestion panels side by side) can then read each
    other's half-done queries, a 404 or a "database is locked" that no deployment has
    (each thread there has its own connection). So the live server takes one request at a
    time here; on PostgreSQL it stays threaded, as deployed."""
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test.testcases import LiveServerThread

    if connection.vendor != "sqlite":
        yield
        return

    class SerialWSGIServer(WSGIServer):
        # Not threaded, so Django answers with "Connection: close": the browser's other
        # connections wait in the listen queue, none is starved by a kept-alive one.
        def __init__(self, *args: object, connections_override: object = None, **kwargs: object):
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self.connections_override = connections_override

        def process_request(self, request: object, client_address: object) -> None:
            with _SERVER_TURN:
                super().process_request(request, client_address)  # type: ignore[arg-type]

    original = LiveServerThread.server_class
    LiveServerThread.server_class = SerialWSGIServer  # type: ignore[assignment]
    try:
        yield
    finally:
        LiveServerThread.server_class = original


@pytest.fixture(autouse=True)
def _live_streams_fit_the_test_server(settings) -> None:
    """Pages open a live-update stream (README "Live updates"). On SQLite the test server
    answers one request at a time (above), so an open stream would hold it: streams are off
    there and pages poll, as behind any server that cannot stream. On PostgreSQL streams
    are short and beat every second, so a closed page frees its server thread and database
    connection quickly (the test database is dropped at the end)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        settings.LIVE_STREAM = False
    else:
        settings.LIVE_STREAM_WSGI = True  # the test server is WSGI, threaded on PostgreSQL
        settings.LIVE_STREAM_SECONDS = 10
        settings.LIVE_HEARTBEAT_SECONDS = 1


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (``new_page``: 10 s) rather than Playwright's
    # 5 s: on two shared cores running the suite in parallel, a page's answer to a submit
    # took longer than 5 s now and then (the PostgreSQL run, 2026-12-07). Each module is
    # also in the load tests' xdist group, so they never run beside those 50 reviewers: a
    # verdict's submit waited past 10 s once while they ran (2026-12-08).
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# Every page a test opens is watched: a JavaScript error, any console error (a CSP
# violation, a resource that failed to load) or a failed request (status >= 400, or no
# answer at all) fails the test after its body ran. A test that provokes an error on
# purpose names it: ``@pytest.mark.browser_allows(r"regex", ...)``, each pattern searched
# in the problem's text ("console: …", "pageerror: …", "http 404 GET https://…",
# "requestfailed net::ERR_… GET https://…").
_PROBLEMS = pytest.StashKey[list[str]]()
# A request the page itself gave up (a navigation away during an htmx request, a search
# request replaced by a newer keystroke, a download handed to the download manager) is not
# a failure of the server's.
_ABORTED = "net::ERR_ABORTED"


def _allowed(request: pytest.FixtureRequest) -> list[re.Pattern[str]]:
    return [
        re.compile(pattern)
        for marker in request.node.iter_markers("browser_allows")
        for pattern in marker.args
    ]


def watch_page(page, problems: list[str], allowed: list[re.Pattern[str]]) -> None:
    """Collect ``page``'s errors into ``problems`` (and ``page.js_errors``, which tests
    check mid-way) unless one of ``allowed`` matches."""
    errors: list[str] = []

    def note(text: str, *, js: bool = False) -> None:
        if any(pattern.search(text) for pattern in allowed):
            return
        problems.append(text)
        if js:
            errors.append(text)

    page.on("pageerror", lambda exc: note(f"pageerror: {exc}", js=True))
    page.on(
        "console",
        lambda message: (
            note(f"console: {message.text} ({message.location.get('url', '')})", js=True)
            if message.type == "error"
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            note(f"http {response.status} {response.request.method} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    page.on(
        "requestfailed",
        lambda req: (
            note(f"requestfailed {req.failure} {req.method} {req.url}")
            if req.failure and _ABORTED not in req.failure
            else None
        ),
    )
    page.js_errors = errors


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    problems = item.stash.get(_PROBLEMS, None)
    if problems:
        pytest.fail(
            "The browser reported errors (mark the test with @pytest.mark.browser_allows "
            "if it provokes them on purpose):\n  " + "\n  ".join(problems),
            pytrace=False,
        )
    return result


@pytest.fixture
def new_page(browser, request: pytest.FixtureRequest) -> Iterator:
    """A factory of pages, each in its own browser context (its own cookies: one per user).
    ``new_page(width=360)`` gives a phone-sized one."""
    contexts = []
    problems: list[str] = []
    request.node.stash[_PROBLEMS] = problems
    allowed = _allowed(request)

    def make(width: int = 1280, height: int = 900, **options):
        context = browser.new_context(
            viewport={"width": width, "height": height}, locale="en-US", **options
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watch_page(page, problems, allowed)
        return page

    yield make
    for context in contexts:
        context.close()
    # A request a closed page sent may still be answered by the SQLite live server: let it
    # finish before the test's database is flushed, or the flush meets "database table is
    # locked" and the next test finds this one's rows (on PostgreSQL nothing holds this).
    with server_paused():
        pass


def screenshot(page, name: str) -> Path | None:
    """Save a README screenshot under docs/screenshots/ when WB_SCREENSHOTS=1."""
    if os.environ.get("WB_SCREENSHOTS") != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def login(page, live_server_url: str, username: str, password: str) -> None:
    page.goto(f"{live_server_url}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server_url}/")
