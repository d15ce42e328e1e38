"""The check the PostgreSQL connection pool runs on a connection before it hands it to a
request (``settings``: ``DB_POOL_MAX``; ``psycopg_pool.ConnectionPool(check=…)``).

Django gives the pool psycopg's own check when health checks are on: an empty query, one
round trip to the server for every request, before the request's first statement
(``bench/README.md``, "Issue 20, round 11"). A connection lying idle in the pool has
nothing to read: the server speaks only when asked, except to say it is going away. A
server that stops, restarts or ends the session (``pg_terminate_backend``, an idle
timeout, a pooler in front closing it) sends its last message and closes the socket, which
makes the socket readable. So the check asks the operating system whether the socket has
anything to read, without waiting, and only then runs psycopg's check, which fails on such
a connection: the pool throws it away and hands out another (or opens one).
"""

from __future__ import annotations

import select

from psycopg import Connection, OperationalError
from psycopg_pool import ConnectionPool


def check_connection(connection: Connection) -> None:
    """Raise ``OperationalError`` unless ``connection`` can serve a request: a quiet socket
    passes at once; anything to read (the server's goodbye, the end of the stream) or an
    error on the socket sends it through psycopg's check, a round trip."""
    if connection.closed or connection.broken:
        raise OperationalError("the connection is closed")
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        quiet = not poller.poll(0)
    except (AttributeError, OSError, ValueError):  # no poll() (Windows) or no socket to ask
        quiet = False  # about: let psycopg find out
    if not quiet:
        ConnectionPool.check_connection(connection)
