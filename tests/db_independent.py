"""The ``db_independent`` marker: tests whose result cannot depend on the database.

``./wb test`` runs the suite on SQLite and then on PostgreSQL. A test that never reaches
the database (pure logic in ``annotations.core``, property tests, template checks) gives
the same result on both, so the PostgreSQL pass deselects the tests marked
``db_independent`` (``WB_SKIP_DB_INDEPENDENT=1``, set by ``./wb test``, and only when the
run really is on PostgreSQL); the SQLite pass and a plain ``pytest`` run them all.

The marker is opt-in, put on whole modules (``pytestmark = pytest.mark.db_independent``),
never inferred: a test without a database fixture can still depend on the engine (code that
reads ``connection.vendor`` or ``connection.features`` does not open a connection, so
pytest-django's block on database access does not see it; a subprocess or a live server
reads ``DATABASE_URL``). These guards keep a wrong mark from silently dropping a
database-dependent test from the PostgreSQL pass; all of them act on the SQLite pass:

* at collection (``problems``): a marked test that requests a database fixture, carries
  ``django_db`` or ``postgres``, or is a Django ``TransactionTestCase``/``TestCase`` (or a
  ``SimpleTestCase`` allowed databases) stops the run with a usage error;
* while it and its fixtures run (``connections_refused``): any use of
  ``django.db.connections`` - the ORM, a cursor, and also ``connection.vendor``,
  ``features`` or ``ops``, which pytest-django lets through - fails the test;
* pytest-django itself refuses database access to a test without the ``django_db`` mark
  or a ``db`` fixture, so a marked test that queries fails on SQLite too;
* ``tests/test_db_independent.py`` reads the marked modules' source for database-shaped
  names (``django.db``, factories, ``DATABASE_URL``, live servers, ``manage.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from unittest import mock

from django.db.utils import ConnectionHandler

MARKER = "db_independent"
SKIP_ENV = "WB_SKIP_DB_INDEPENDENT"

# Fixtures that give a test the database, a live server, or a request path that reaches
# the database (the test client's request signals touch every connection). Not
# django_db_blocker: pytest-django's autouse fixtures request it for every test (a test that
# unblocks the database with it still meets connections_refused).
DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "django_db_setup",
        "django_db_keepdb",
        "django_db_createdb",
        "django_db_modify_db_settings",
        "live_server",
        "client",
        "async_client",
        "admin_client",
        "admin_user",
        "django_user_model",
        "django_username_field",
        "settings",
    }
)
DB_MARKERS = frozenset({"django_db", "postgres"})


class DatabaseTouched(AssertionError):
    """A test marked ``db_independent`` reached ``django.db.connections``."""


def problems(fixturenames: Iterable[str], markers: Iterable[str], cls: type | None) -> list[str]:
    """Why a test cannot be ``db_independent`` (empty when it may be)."""
    found = [f"requests the fixture {name!r}" for name in sorted(set(fixturenames) & DB_FIXTURES)]
    found += [f"is marked {name!r}" for name in sorted(set(markers) & DB_MARKERS)]
    if cls is not None:
        from django.test import SimpleTestCase, TransactionTestCase

        if issubclass(cls, TransactionTestCase):
            found.append(f"is a {cls.__name__} (a Django test case with a database)")
        elif issubclass(cls, SimpleTestCase) and cls.databases:
            found.append(f"is a SimpleTestCase allowed databases {cls.databases!r}")
    return found


def skip_requested(vendor: str) -> bool:
    """Deselect marked tests only on request and only on PostgreSQL: SQLite runs them all."""
    return os.environ.get(SKIP_ENV) == "1" and vendor == "postgresql"


@contextmanager
def connections_refused(nodeid: str) -> Iterator[None]:
    """Any ``connections[alias]`` (the ORM, ``connection.cursor()``, ``connection.vendor``)
    raises ``DatabaseTouched`` while the block runs."""

    def refuse(self: ConnectionHandler, alias: str) -> object:
        raise DatabaseTouched(
            f"{nodeid} is marked {MARKER} but used django.db.connections[{alias!r}]; "
            f"its result may depend on the database, so remove the mark (the PostgreSQL "
            f"pass of ./wb test skips marked tests)"
        )

    with mock.patch.object(ConnectionHandler, "__getitem__", refuse):
        yield
