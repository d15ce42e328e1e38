"""The pool's check of a connection before a request gets it (workbench/dbpool.py): no
round trip while the socket is quiet, and a connection the server has ended is never
handed out."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from tests.test_prepared_statements import database_options
from workbench.dbpool import check_connection

PG = pytest.mark.postgres("a PostgreSQL server that ends sessions")


def _params() -> dict[str, Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return {**params, "dbname": "postgres", "autocommit": True}


@pytest.fixture
def admin() -> Iterator[psycopg.Connection]:
    """A second session, to watch and end the one under test."""
    with psycopg.connect(**_params()) as session:
        yield session


def _last_statement(admin: psycopg.Connection, pid: int) -> str:
    row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    assert row is not None
    return str(row[0])


def _end(admin: psycopg.Connection, conn: psycopg.Connection) -> None:
    """End ``conn``'s session on the server and wait (bounded) until its goodbye arrives."""
    admin.execute("SELECT pg_terminate_backend(%s, 5000)", [conn.info.backend_pid])
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    deadline = time.monotonic() + 5
    while not poller.poll(50):
        assert time.monotonic() < deadline, "the server never closed the session"


@PG
def test_a_quiet_connection_passes_without_a_statement(admin: psycopg.Connection) -> None:
    with psycopg.connect(**_params()) as conn:
        conn.execute("SELECT 'the last words'")
        pid = conn.info.backend_pid
        check_connection(conn)
        check_connection(conn)
        assert _last_statement(admin, pid) == "SELECT 'the last words'"
        # psycopg's own check (Django's default) talks to the server every time
        ConnectionPool.check_connection(conn)
        assert _last_statement(admin, pid) == ""


@PG
def test_without_poll_the_check_asks_the_server(
    admin: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(select, "poll")  # as on Windows
    with psycopg.connect(**_params()) as conn:
        conn.execute("SELECT 'the last words'")
        check_connection(conn)
        assert _last_statement(admin, conn.info.backend_pid) == ""


@PG
def test_a_connection_the_server_ended_fails_the_check(admin: psycopg.Connection) -> None:
    with psycopg.connect(**_params()) as conn:
        conn.execute("SELECT 1")
        _end(admin, conn)
        with pytest.raises(psycopg.OperationalError):
            check_connection(conn)


@PG
def test_a_closed_connection_fails_the_check() -> None:
    conn = psycopg.connect(**_params())
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        check_connection(conn)


@PG
@pytest.mark.parametrize("checked", [True, False], ids=["with the check", "without a check"])
def test_the_pool_replaces_a_connection_the_server_ended(
    admin: psycopg.Connection, checked: bool
) -> None:
    params = _params()
    autocommit = params.pop("autocommit")
    pool = ConnectionPool(
        kwargs={**params, "autocommit": autocommit},
        min_size=1,
        max_size=1,
        check=check_connection if checked else None,
        open=True,
    )
    try:
        with pool.connection() as conn:
            first = conn.info.backend_pid
            _end(admin, conn)
        if not checked:  # the control: the ended session is handed out and fails its request
            with pytest.raises(psycopg.OperationalError), pool.connection() as conn:
                conn.execute("SELECT 1")
            return
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid != first
    finally:
        pool.close()


@pytest.mark.db_independent
def test_the_pool_checks_connections_with_it() -> None:
    assert database_options(DB_POOL_MAX="8")["pool_check"] == "workbench.dbpool.check_connection"
    assert "pool_check" not in database_options()  # no pool unless asked for (bin/serve asks)
