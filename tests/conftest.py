"""Suite-wide test setup: fast password hashing, the PostgreSQL and db_independent markers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests import db_independent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _check_db_independent(items)
    if connection.vendor == "postgresql":
        _deselect_db_independent(config, items)
        return
    for item in items:
        marker = item.get_closest_marker("postgres")
        if marker is None:
            continue
        needs = marker.args[0] if marker.args else "row locks, SKIP LOCKED, real concurrency"
        reason = (
            f"needs PostgreSQL ({needs}); this run uses {connection.vendor} - "
            "set DATABASE_URL=postgres://... or run ./wb test with PostgreSQL up"
        )
        item.add_marker(pytest.mark.skip(reason=reason))


# --- db_independent: run once, on SQLite (see tests/db_independent.py) ----------------------

_DESELECTED = pytest.StashKey[int]()


def _check_db_independent(items: list[pytest.Item]) -> None:
    # On every run, SQLite included: a marked test that asks for the database stops the run.
    found: list[str] = []
    for item in items:
        if item.get_closest_marker(db_independent.MARKER) is None:
            continue
        markers = [mark.name for mark in item.iter_markers()]
        cls = getattr(item, "cls", None)
        for problem in db_independent.problems(getattr(item, "fixturenames", ()), markers, cls):
            found.append(f"  {item.nodeid} {problem}")
    if found:
        raise pytest.UsageError(
            f"tests marked {db_independent.MARKER} that depend on the database:\n"
            + "\n".join(found)
        )


def _deselect_db_independent(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not db_independent.skip_requested(connection.vendor):
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marked = item.get_closest_marker(db_independent.MARKER) is not None
        (dropped if marked else kept).append(item)
    if not dropped:
        return
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept
    config.stash[_DESELECTED] = len(dropped)
    workeroutput = getattr(config, "workeroutput", None)  # an xdist worker: tell the controller
    if workeroutput is not None:
        workeroutput["db_independent_deselected"] = len(dropped)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    # xdist controller: every worker collects (and deselects) the same tests.
    count = getattr(node, "workeroutput", {}).get("db_independent_deselected")
    if count:
        node.config.stash[_DESELECTED] = count


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    count = config.stash.get(_DESELECTED, 0)
    if count and not hasattr(config, "workeroutput"):
        terminalreporter.write_line(
            f"{count} tests marked {db_independent.MARKER} ran once, on SQLite, and are not "
            f"repeated on PostgreSQL ({db_independent.SKIP_ENV}=1)",
            yellow=True,
            bold=True,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _connections_guard(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _connections_guard(item):
        return (yield)


def _connections_guard(item: pytest.Item) -> AbstractContextManager[None]:
    # A marked test and its fixtures may not reach django.db.connections at all, not even
    # connection.vendor (which pytest-django's block on database access lets through).
    if item.get_closest_marker(db_independent.MARKER) is None:
        return nullcontext()
    return db_independent.connections_refused(item.nodeid)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher() -> None:
    # Test-only speed-up; production hashing is untouched.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _evidence_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Archived copies (WARC files) written by tests go to a temporary folder, never var/.
    from django.test import override_settings

    folder = tmp_path_factory.mktemp("evidence")
    storages = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    with override_settings(STORAGES=storages):
        yield
