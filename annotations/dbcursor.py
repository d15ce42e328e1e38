"""The PostgreSQL cursor of Workbench's connections (``workbench/settings.py`` sets it with
server-side binding): Django's, except that SQL text marked ``Unprepared`` is never made a
prepared statement.

psycopg prepares a statement its connection has run ``DB_PREPARE_THRESHOLD`` times, and
PostgreSQL may then keep one generic plan for it, chosen without the parameters' values.
For most statements that saves the planning and costs nothing. For the queue's pick
(``services.leases``) it can cost a great deal: the generic plan is costed for an average
project, so in a database of many small projects it sorts the whole queue of a big one
instead of walking its index to the first free claim (21 to 26 ms a pick against 2 to 6 ms,
bench/README.md, "Issue 20, round 15"). Such a statement is sent unnamed, and PostgreSQL
plans it for the values of each run.

An ORM read with the same trouble runs inside ``unprepared()``: the claims list filtered by
status (a generic plan walked the queue's index and sorted a big project's claims of that
status, 0.2 -> 130-430 ms), a user's notifications, their page and their unread count (a
generic plan sorted all of a user's notifications, 0.2 -> 590 ms), the documents list (it
sorted a project's documents) and the claims a live update names (it sorted a project's
claims for a few ids, 0.07 -> 89-137 ms; bench/README.md, "Issue 20, round 16"). Reads
whose good plan an index settles whatever the values (a project's events after a seq, its
claims after an id) are prepared as before (docs/design.md, "Indexes").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import ServerBindingCursor


class Unprepared(str):
    """SQL text that ``Cursor`` sends unprepared: planned for its values on every run."""

    __slots__ = ()


class Cursor(ServerBindingCursor):
    """Django's server-binding cursor; ``Unprepared`` text is never prepared."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if type(query) is Unprepared and kwargs.get("prepare") is None:
            kwargs["prepare"] = False
        return super().execute(query, params, **kwargs)  # type: ignore[misc]


@contextmanager
def unprepared(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Every statement run on connection ``using`` inside is sent as ``Unprepared`` text:
    for an ORM read whose good plan depends on its values. Elsewhere than on PostgreSQL
    the mark changes nothing."""

    def mark(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute(Unprepared(sql), params, many, context)

    with connections[using].execute_wrapper(mark):
        yield
