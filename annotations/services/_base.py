"""Shared pieces of the services: the audit event, storable-text checks, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

# Services act for an account of the user model: Django's own (the project sets no
# AUTH_USER_MODEL), which the models' foreign keys to it are typed with.
from django.conf import settings
from django.contrib.auth.models import User as User
from django.core.exceptions import ValidationError
from django.db import DataError, NotSupportedError, connections, router, transaction
from django.db.models import BigIntegerField, BooleanField, Func, Model, QuerySet, Value
from django.db.models.signals import pre_save
from django.db.models.sql import InsertQuery, UpdateQuery
from django.tasks import Task
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import normalize_json
from django_tasks_db.models import DBTaskResult

from annotations.compiled import Bound, CompiledModels
from annotations.core import auditchain, spans, urlnorm
from annotations.models import (
    AuditHead,
    Event,
    Project,
)

# Writers queue for a chain on an advisory lock (PostgreSQL), then lock its head row: the
# lock in PostgreSQL's two-key space (this class, the chain's id modulo 2^31, computed by
# the database from the id as a bigint on every path, so one chain has one key), which
# nothing else in the app takes, held to the transaction's end as the row's is. A writer
# that waited on the row itself woke at every commit ahead of it and cost its backend about
# as much CPU as the rest of a review (bench/README.md, "Issue 20, round 16"); one that
# waits on the advisory lock wakes once, and then finds the row free. Every lock of a head
# takes it first (the statement's condition below, ``_HeadQueued`` in the ORM, and before a
# missing head is made), so no writer holds the row while waiting for the advisory lock (a
# deadlock).
CHAIN_LOCK_CLASS = 1463943169  # "WB" 0x5742, 0x0001


def chain_queue_sql(chain: str) -> str:
    """A condition (always true) that waits for, then holds, the advisory lock of the chain
    whose id the SQL expression ``chain`` gives (PostgreSQL): put it on the head row's
    scan, before its ``FOR NO KEY UPDATE``. The row found is the version of the
    statement's snapshot; the row lock that follows reads the one the last writer
    committed (READ COMMITTED), as it did after waiting on the row. The planner may test it
    on another chain's head row too (a scan of the small table): the same lock, taken a
    little early, never one without its row's lock to follow (``_chain_head``)."""
    return (
        f"pg_advisory_xact_lock({CHAIN_LOCK_CLASS}, mod(({chain})::bigint, 2147483648)::int4) "
        "IS NOT NULL"
    )


class _HeadQueued(Func):
    """``chain_queue_sql`` as an ORM condition on PostgreSQL (the id sent as a bigint: an
    ``int4`` parameter would wrap past 2^31 and give the chain a second key); true on
    SQLite, which has one writer at a time."""

    output_field = BooleanField()

    def __init__(self, chain: Any) -> None:
        super().__init__(Value(chain, output_field=BigIntegerField()))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        raise NotSupportedError(f"_HeadQueued is not written for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[()]]:
        return "1", ()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        chain, params = compiler.compile(self.source_expressions[0])
        return chain_queue_sql(chain), params


def _chain_head(chain: int) -> AuditHead:
    """The head row of audit chain ``chain`` (a project's id, 0 for events without a
    project), locked until the transaction ends (after the chain's advisory lock:
    ``chain_queue_sql``): one row read, however long the chain. A chain's first event
    makes its head row (from the chain's last event, should a head ever be missing), under
    the advisory lock: a writer that made it first and then waited for the lock would wait
    on one that holds the lock and waits for that row's insert to commit."""
    head = _HEAD_LOCKED.first(chain=chain)
    if head is None:
        connection = connections[router.db_for_write(AuditHead)]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {chain_queue_sql('%s')}", [chain])
        last = (
            Event.objects.filter(**({"project_id": chain} if chain else {"project__isnull": True}))
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        seq, hash_ = last if last is not None else (0, auditchain.GENESIS)
        AuditHead.objects.bulk_create(
            [AuditHead(chain=chain, seq=seq, hash=hash_)], ignore_conflicts=True
        )
        head = AuditHead.objects.select_for_update(no_key=True).get(chain=chain)
    return head


# A chain's head row, locked: read by every append not made in one statement (SQLite, a
# batch larger than ``_IN_SQL_MAX``), compiled once.
_HEAD_LOCKED = CompiledModels(
    AuditHead,
    lambda chain: (
        AuditHead.objects.select_for_update(no_key=True)
        .filter(_HeadQueued(chain), chain=chain)
        .order_by("pk")[:1]
    ),
    chain=int,
)


def chain_lock(project_id: int | None) -> None:
    """Lock the audit chain head of ``project_id`` (None: the chain of events without a
    project) now, before this transaction's events are appended, until it ends: the one
    step of the lock order of a write that deletes a row or changes a unique key of it
    (docs/design.md, "Lock order"). Such a write locks the row ``FOR UPDATE``
    (``select_for_update(no_key=False)``), which conflicts with the ``FOR KEY SHARE`` a
    writer's deferred foreign key check takes at COMMIT, while that writer holds the
    head: so it takes its ``FOR NO KEY UPDATE`` locks as every write does, then this
    lock, and only then the ``FOR UPDATE`` one (waiting for that commit instead of
    deadlocking with it). Its own append then finds the head already locked."""
    _chain_head(project_id or 0)


def _event_build(
    *,
    actor: User | None,
    verb: str,
    obj: Model | None = None,
    object_type: str = "",
    project_id: int | None,
    object_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    if not object_type and obj is not None:
        object_type = obj._meta.model_name or ""
    return Event(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=object_type,
        object_id=obj.pk if obj is not None else object_id,
        project_id=project_id,
        before=before,
        after=after,
    )


def _chain_of(events: Sequence[Event]) -> int:
    """The one chain ``events`` belong to (a project's id, 0 for events without one)."""
    chain = events[0].project_id or 0
    assert all((event.project_id or 0) == chain for event in events)
    return chain


def _in_one_statement(connection: Any, events: Sequence[Event]) -> bool:
    """Whether ``events`` are appended by one statement (``_append_statement``: PostgreSQL,
    up to ``_IN_SQL_MAX``); if so they get their time now, before the statement that may
    wait for the head's lock: under contention an event can carry a time a few milliseconds
    before the one sealed ahead of it. The chain's order is ``seq``; the time is what the
    writer saw."""
    if len(events) > _IN_SQL_MAX or connection.vendor != "postgresql":
        return False
    created_at = timezone.now()
    for event in events:
        event.created_at = created_at
    return True


def _events_append(
    events: Sequence[Event], following: Sequence[tuple[int, AfterAppend]] = ()
) -> list[Event]:
    """Chain ``events`` (all of one project, or all without one) after their chain's head
    and insert them: the head row is locked, read and moved on, so concurrent writers
    append one after another, each in one order. Three queries, whatever the chain's
    length: lock the head, insert, move the head. On PostgreSQL up to ``_IN_SQL_MAX``
    events are one statement (``_events_append_in_sql``): the database locks the head,
    seals the events one after another against it, inserts them and moves the head.

    Takes the head lock, held until the transaction commits: call it after the service
    has taken every other row lock it needs, or two writers could wait on each other
    (a ``FOR UPDATE`` lock comes after the head: ``chain_lock``).

    ``following``: ``(index of an event, AfterAppend)``, written by the appending statement
    (then ``done``) where it is one, else ``run`` once the events are in."""
    if not events:
        return []
    chain = _chain_of(events)
    connection = connections[router.db_for_write(Event)]
    with transaction.atomic(savepoint=False):
        if _in_one_statement(connection, events):
            if not _events_append_in_sql(connection, events, chain=chain, following=following):
                # The chain's first event: make its head row (locked), then append.
                _chain_head(chain)
                appended = _events_append_in_sql(
                    connection, events, chain=chain, following=following
                )
                assert appended, f"audit chain {chain} has no head row"
            for index, after in following:
                after.done(events[index])
            return list(events)
        head = _chain_head(chain)
        seq, prev_hash = head.seq, head.hash
        # Microseconds are what both databases keep: the hash covers the value as stored.
        # Taken once the head is locked, so the times follow the chain's order.
        created_at = timezone.now()
        for event in events:
            seq += 1
            entry = auditchain.seal(
                **_event_content(event), seq=seq, created_at=created_at, prev_hash=prev_hash
            )
            event.created_at, event.seq = created_at, seq
            event.before, event.after = entry.before, entry.after
            event.prev_hash, event.hash = prev_hash, entry.hash
            prev_hash = entry.hash
        if len(events) == 1:
            events[0].save(force_insert=True)
        elif not rows_copy(events):
            Event.objects.bulk_create(events, batch_size=500)
        AuditHead.objects.filter(chain=chain).update(seq=seq, hash=prev_hash)
        for index, after in following:
            after.run(events[index])
    return list(events)


def rows_copy(objs: Sequence[Model]) -> bool:
    """Insert the unsaved ``objs`` (all of one model) with one ``COPY`` on PostgreSQL,
    their ids taken from the table's sequence first (one query) and set in list order,
    each field's value prepared as the ORM's insert prepares it (``pre_save``,
    ``get_db_prep_save``). ``COPY`` streams the rows instead of quoting them into an
    INSERT: a 500-document import's rows in a fraction of the time, its 500 events in a
    third. The rows go in PostgreSQL's binary format where every column's type is one
    psycopg knows (``_copy_types``): a text is sent as its bytes, not escaped character
    by character and parsed again by the server (a 500-document import: the client's CPU
    for the rows 40 -> 9 ms). Returns False, writing nothing, on other databases and for
    fewer than two rows: the caller inserts them itself."""
    if len(objs) < 2:
        return False
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return False
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in [meta.pk, *fields])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        types = _copy_types(connection, [meta.pk, *fields])
        binary = " (FORMAT BINARY)" if types else ""
        # Binary integers are packed to the column's width, and psycopg wraps a value past
        # it (2**31 in an int4 column would be stored as -2**31) where the text format and
        # the ORM are refused by the server: check the range here, as the server would.
        ranged = (
            [
                (index, field.column, _INT_RANGES[oid])
                for index, (field, oid) in enumerate(zip(fields, types[1:], strict=True))
                if oid in _INT_RANGES
            ]
            if types
            else []
        )
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(
                f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN{binary}"
            ) as copy,
        ):
            if types:
                copy.set_types(types)
            for pk, obj in zip(ids, objs, strict=True):
                obj.pk = pk
                values = [
                    field.get_db_prep_save(field.pre_save(obj, True), connection)
                    for field in fields
                ]
                for index, column, (low, high) in ranged:
                    value = values[index]
                    if value is not None and not low <= value <= high:
                        raise DataError(f"{value} is out of range for the column {column}")
                copy.write_row([pk, *values])
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return True


# The integer types' ranges by oid (int2, int4, int8), for values a binary COPY would wrap.
_INT_RANGES = {21: (-(2**15), 2**15 - 1), 23: (-(2**31), 2**31 - 1), 20: (-(2**63), 2**63 - 1)}


def _copy_types(connection: Any, fields: Sequence[Any]) -> list[int] | None:
    """The type oids of ``fields``' columns for a binary ``COPY``, read from the fields'
    declared database types (``varchar(200)`` is ``varchar``) in psycopg's registry of
    the connection; None, for a text ``COPY``, when one is not there (a type of an
    extension, say): binary input must name each column's exact type."""
    registry = connection.connection.adapters.types
    oids: list[int] = []
    for field in fields:
        declared = field.db_type(connection) or ""
        if "[" in declared:  # an array: its element type is not the column's
            return None
        info = registry.get(declared.split("(", 1)[0].strip())
        if info is None:
            return None
        oids.append(info.oid)
    return oids


def _insert_values(
    connection: Any, obj: Model, *, given: dict[str, str] | None = None, cast: bool = False
) -> tuple[list[str], list[str], list[Any]]:
    """The quoted columns, value placeholders and parameters of an ``INSERT`` of the unsaved
    ``obj`` (its auto primary key left to the database), as Django's own insert compiles
    them (``pre_save``: ``auto_now_add`` and the like), for a statement written around them.
    ``given`` maps a field's column to the SQL expression that supplies it instead. With
    ``cast`` each parameter's placeholder is cast to its column's type, for rows joined by
    a UNION ALL (whose branches settle their types before the INSERT sees them: an untyped
    NULL would be text there)."""
    given = given or {}
    qn = connection.ops.quote_name
    compiler = InsertQuery(type(obj)).get_compiler(connection=connection)
    columns: list[str] = []
    values: list[str] = []
    params: list[Any] = []
    for field in type(obj)._meta.local_concrete_fields:
        if field.primary_key and getattr(obj, field.attname) is None:
            continue
        column = str(field.column)
        columns.append(qn(column))
        if column in given:
            values.append(given[column])
            continue
        value = compiler.prepare_value(field, field.pre_save(obj, add=True))
        sql, field_params = compiler.field_as_sql(
            field, getattr(field, "get_placeholder_sql", None), value
        )
        values.append(f"CAST({sql} AS {field.cast_db_type(connection)})" if cast else sql)
        params.extend(field_params)
    return columns, values, params


@dataclasses.dataclass(frozen=True)
class AfterAppend:
    """What follows an event's append and needs its id (a notice keyed by it), for
    ``PendingEvents.add(then=…)``, in two forms. ``run(event)``: its own statements, once
    the event is in the chain. ``queries(name, rows, event_id)``: the same writes as WITH
    queries (names from ``name``) of the statement that appends the event with a row
    (PostgreSQL, ``_row_insert``), reading the new event's id as the SQL ``event_id`` from
    the rows ``rows`` names (none when that statement did not append the event: then
    ``run`` runs instead); ``done(event)``: what remains once that statement has run
    (work after the commit)."""

    run: Callable[[Event], object]
    queries: Callable[[str, str, str], list[tuple[str, str, list[Any]]]]
    done: Callable[[Event], object]


@dataclasses.dataclass(frozen=True)
class RowInsert:
    """One row's insert and the data-modifying queries written around it, for one statement
    on PostgreSQL (``_row_insert``). ``sql``/``params``: an ``INSERT … RETURNING <pk> AS id``
    of the row (an ``INSERT … SELECT … WHERE`` when it is conditional), the WITH query
    ``ins``. ``before``: WITH queries ``(name, sql, params)`` ahead of it (an ``UPDATE …
    RETURNING`` whose rows the insert's condition asks for); ``after``: WITH queries that
    read ``ins`` (rows that need the new id). ``answer``: SQL expressions answered with the
    new id (read from the ``after`` queries; they take no parameters: their values come
    from the queries). A single-row insert with nothing around it is
    also a plain statement, where the database has no data-modifying WITH (SQLite)."""

    sql: str
    params: list[Any]
    before: tuple[tuple[str, str, list[Any]], ...] = ()
    after: tuple[tuple[str, str, list[Any]], ...] = ()
    answer: tuple[str, ...] = ()

    def queries(self) -> list[str]:
        return [
            *(f"{name} AS ({sql})" for name, sql, _ in self.before),
            f"ins AS ({self.sql})",
            *(f"{name} AS ({sql})" for name, sql, _ in self.after),
        ]

    def all_params(self) -> list[Any]:
        return [
            *(p for _, _, params in self.before for p in params),
            *self.params,
            *(p for _, _, params in self.after for p in params),
        ]

    def answer_columns(self) -> str:
        return ", ".join(["ins.id", *self.answer])

    def statement(self) -> tuple[str, list[Any]]:
        """The statement without events."""
        if not (self.before or self.after or self.answer):
            return self.sql, list(self.params)
        return (
            f"WITH {', '.join(self.queries())} SELECT {self.answer_columns()} FROM ins",  # noqa: S608
            self.all_params(),
        )


def _insert_select(
    connection: Any, obj: Model, *, where: str, where_params: Sequence[Any] = ()
) -> tuple[str, list[Any]]:
    """``INSERT … SELECT <obj's values> WHERE <where> RETURNING <pk> AS id``: the unsaved
    ``obj`` inserted only if ``where`` holds (quoted names from the model's metadata; every
    value a parameter)."""
    pk = connection.ops.quote_name(str(type(obj)._meta.pk.column))
    return _rows_insert_select(connection, [(obj, where, where_params)], returning=f"{pk} AS id")


def _rows_insert_select(
    connection: Any,
    rows: Sequence[tuple[Model, str, Sequence[Any]]],
    *,
    returning: str,
    conflict: Sequence[str] = (),
) -> tuple[str, list[Any]]:
    """``INSERT … SELECT <values> WHERE <where> [UNION ALL SELECT …] [ON CONFLICT (<conflict>)
    DO NOTHING] RETURNING <returning>``: each unsaved object of ``rows`` (``(obj, where,
    where's parameters)``, all of one model) inserted only if its ``where`` holds. With
    ``conflict`` (the columns of a unique constraint) an object whose row is there by the
    time it is written (a concurrent transaction's, committed while this one waited for
    it) is skipped, not an error, and not returned. Quoted names from the model's metadata;
    every value a parameter. PostgreSQL and SQLite (there each ``where`` also keeps the
    ``ON`` of the conflict clause from reading as a join's)."""
    qn = connection.ops.quote_name
    model = type(rows[0][0])
    # A UNION ALL's branches settle their types before the INSERT sees them on PostgreSQL:
    # each value is cast to its column's type (SQLite keeps each value's own).
    cast = len(rows) > 1 and connection.vendor == "postgresql"
    names: list[str] | None = None
    selects: list[str] = []
    params: list[Any] = []
    for obj, where, where_params in rows:
        columns, values, value_params = _insert_values(connection, obj, cast=cast)
        assert names is None or columns == names, "rows of one model, with the same columns"
        names = columns
        selects.append(f"SELECT {', '.join(values)} WHERE {where}")
        params.extend([*value_params, *where_params])
    assert names is not None, "at least one row"
    on_conflict = (
        f" ON CONFLICT ({', '.join(qn(column) for column in conflict)}) DO NOTHING"
        if conflict
        else ""
    )
    return (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(names)}) "
        f"{' UNION ALL '.join(selects)}{on_conflict} RETURNING {returning}",
        params,
    )


def _update_returning(
    connection: Any, queryset: QuerySet[Any], values: dict[str, Any]
) -> tuple[str, list[Any]]:
    """The SQL of ``queryset.update(**values)`` as Django compiles it, answering the updated
    rows' ids (``RETURNING``): for a WITH query whose rows another one asks for."""
    query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
    query.add_update_values(values)
    sql, params = query.get_compiler(connection=connection).as_sql()
    pk = connection.ops.quote_name(str(queryset.model._meta.pk.column))
    return f"{sql} RETURNING {pk}", list(params)


def _row_insert(
    connection: Any,
    write: RowInsert,
    events: Sequence[Event] = (),
    following: Sequence[tuple[int, AfterAppend]] = (),
) -> tuple[Any, ...] | None:
    """Run ``write`` and append ``events`` (unsaved, of one chain): on PostgreSQL in the same
    statement (``_append_statement``; up to ``_IN_SQL_MAX`` events, where the chain has its
    head row), elsewhere right after it. The events without an object id name the new row.
    ``following``: ``(index of an event, AfterAppend)``, written by the same statement when
    it appends the events (then ``done``), else ``run`` once they are appended.
    Returns ``(new id, *write.answer)``, or None when nothing was inserted (nothing of the
    events is written then). As for any append, the chain's head lock is the last lock the
    caller takes. Call it inside a transaction."""
    naming = [event for event in events if event.object_id is None]
    in_one = bool(events) and _in_one_statement(connection, events)
    if in_one:
        statement, params = _append_statement(
            connection, events, chain=_chain_of(events), inserted=write, following=following
        )
    else:
        statement, params = write.statement()
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    width = 1 + len(write.answer)
    for event in naming:
        event.object_id = rows[0][0]
    if events and (not in_one or rows[0][width] is None):
        # Not appended with the row: another database, a long batch, or the chain's
        # first events (no head row yet, which the append makes).
        _events_append(events)
        for index, after in following:
            after.run(events[index])
    elif events:
        _appended(connection, events, [row[width:] for row in rows])
        for index, after in following:
            after.done(events[index])
    return tuple(rows[0][:width])


def _event_content(event: Event) -> dict[str, Any]:
    """What the chain seals of an event besides its time and its place in the chain."""
    return {
        "project": event.project_id,
        "actor": event.actor_id,
        "verb": event.verb,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
    }


# The columns the chain gives an event; the database fills them in ``_events_append_in_sql``.
_CHAINED = ("seq", "prev_hash", "hash")
# The most events ``_events_append_in_sql`` seals in one statement (one WITH query per
# event); a larger batch (an import) takes the three statements, whose cost does not grow.
_IN_SQL_MAX = 16


def _events_append_in_sql(
    connection: Any,
    events: Sequence[Event],
    *,
    chain: int,
    following: Sequence[tuple[int, AfterAppend]] = (),
) -> bool:
    """Append ``events`` (unsaved, ``created_at`` set; at most ``_IN_SQL_MAX``) to chain
    ``chain`` in one statement (PostgreSQL): lock the head row, seal the first event at
    the head's seq + 1 after the head's hash, each next one at the seq after it and after
    its hash (``sha256`` over the parts of ``auditchain.canonical_template`` joined around
    them: one WITH query per event, ``e1`` from the locked head, ``e2`` from ``e1``, …),
    insert them all and move the head to the last. Sets each event's id, seq, prev_hash
    and hash from the rows inserted. False, with nothing written, when the chain has no
    head row yet.

    Under READ COMMITTED a ``FOR NO KEY UPDATE`` that waited for another writer's lock returns
    the row as that writer committed it, in a WITH as in a plain SELECT; the seals start
    from that version and the UPDATE moves it (it is locked by this statement), so
    concurrent appends queue on the row lock and each seals after the one before it
    (``tests/test_audit_concurrency``). ``following``: what the same statement writes after
    the append (``_append_statement``), nothing when it appends nothing.
    """
    statement, params = _append_statement(connection, events, chain=chain, following=following)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    return _appended(connection, events, rows)


def _append_statement(
    connection: Any,
    events: Sequence[Event],
    *,
    chain: int,
    inserted: RowInsert | None = None,
    following: Sequence[tuple[int, AfterAppend]] = (),
) -> tuple[str, list[Any]]:
    """The statement of ``_events_append_in_sql``. With ``inserted`` (``RowInsert``: an
    ``INSERT … RETURNING`` of one row's id and the data-modifying queries around it) the
    statement first runs those, the row's insert as the WITH query ``ins``, and the events
    without an object id name it: their object id is the new row's, sealed with its digits
    (``auditchain.object_cut``); the head is locked and the events appended only if the row
    was inserted. It then answers ``(row id, *inserted.answer, event id, seq, prev_hash,
    hash)`` per event, the event's part null when the chain has no head row, and no row when
    nothing was inserted. ``following``: ``AfterAppend.queries`` of the events at those
    indexes, after the append, reading each one's new id (with or without a row)."""
    assert 0 < len(events) <= _IN_SQL_MAX
    qn = connection.ops.quote_name
    head = qn(AuditHead._meta.db_table)
    key, seq, prev_hash, hash_ = (
        qn(AuditHead._meta.pk.column),
        qn("seq"),
        qn("prev_hash"),
        qn("hash"),
    )
    event_pk = qn(Event._meta.pk.column)
    # Quoted names from the models' metadata; every value is a parameter.
    queries = [] if inserted is None else inserted.queries()
    params: list[Any] = [] if inserted is None else inserted.all_params()
    gate = "" if inserted is None else " AND EXISTS (SELECT 1 FROM ins)"
    queries.append(
        f"old AS (SELECT {key}, {seq}, {hash_} FROM {head} WHERE {key} = %s{gate} "  # noqa: S608
        f"AND {chain_queue_sql('%s')} FOR NO KEY UPDATE)"
    )
    params.extend([chain, chain])
    selects: list[str] = []
    select_params: list[Any] = []
    columns: list[str] = []
    before = "old"
    for number, event in enumerate(events, start=1):
        names_row = inserted is not None and event.object_id is None
        template = auditchain.canonical_template(
            **{
                **_event_content(event),
                **({"object_id": auditchain.OBJECT_ID_SLOT} if names_row else {}),
            },
            created_at=auditchain.timestamp(event.created_at),
        )
        event.before = auditchain.normal(event.before)
        event.after = auditchain.normal(event.after)
        sealed = f"e{number}"
        sources = before if inserted is None else f"{before}, ins"
        if names_row:
            content, content_params = (
                "%s || ins.id::text || %s",
                list(auditchain.object_cut(template)),
            )
        else:
            content, content_params = "%s", [template.prefix]
        queries.append(
            f"{sealed} AS (SELECT {before}.{seq} + 1 AS {seq}, {before}.{hash_} AS {prev_hash}, "  # noqa: S608
            f"encode(sha256(convert_to({content} || {before}.{hash_} || %s || "
            f"({before}.{seq} + 1)::text || %s, 'UTF8')), 'hex') AS {hash_} FROM {sources})"
        )
        params.extend([*content_params, template.middle, template.suffix])
        given = {name: f"{sealed}.{qn(name)}" for name in _CHAINED}
        if names_row:
            given["object_id"] = "ins.id"
        columns, values, value_params = _insert_values(connection, event, given=given, cast=True)
        # From ``moved`` too: nothing is inserted unless the head moved.
        selects.append(
            f"SELECT {', '.join(values)} FROM {sealed}, moved"  # noqa: S608
            + ("" if inserted is None else ", ins")
        )
        select_params.extend(value_params)
        before = sealed
    queries.append(
        f"moved AS (UPDATE {head} SET {seq} = {before}.{seq}, {hash_} = {before}.{hash_} "  # noqa: S608
        f"FROM old, {before} WHERE {head}.{key} = old.{key} RETURNING {head}.{key})"
    )
    append = (
        f"INSERT INTO {qn(Event._meta.db_table)} ({', '.join(columns)}) "
        f"{' UNION ALL '.join(selects)} "
        f"RETURNING {event_pk}, {seq}, {prev_hash}, {hash_}"
    )
    if inserted is None and not following:
        return f"WITH {', '.join(queries)} {append}", [*params, *select_params]
    queries.append(f"appended AS ({append})")
    follow_params: list[Any] = []
    for number, (index, after) in enumerate(following, start=1):
        # The event's new id: the appended row sealed at its seq.
        rows = f"appended JOIN e{index + 1} ON appended.{seq} = e{index + 1}.{seq}"
        for name, sql, follow in after.queries(f"f{number}", rows, f"appended.{event_pk}"):
            queries.append(f"{name} AS ({sql})")
            follow_params.extend(follow)
    if inserted is None:
        return (
            f"WITH {', '.join(queries)} SELECT appended.* FROM appended",  # noqa: S608
            [*params, *select_params, *follow_params],
        )
    return (
        f"WITH {', '.join(queries)} SELECT {inserted.answer_columns()}, appended.* FROM ins "  # noqa: S608
        "LEFT JOIN appended ON true",
        [*params, *select_params, *follow_params],
    )


def _appended(connection: Any, events: Sequence[Event], rows: list[tuple[Any, ...]]) -> bool:
    """Set ``events``' id, seq, prev_hash and hash from the ``(id, seq, prev_hash, hash)``
    rows an append returned (in any order): True, or False when it returned none."""
    if not rows:
        return False
    assert len(rows) == len(events), "every event or none is appended"
    for event, row in zip(events, sorted(rows, key=lambda row: row[1]), strict=True):
        event.pk, event.seq, event.prev_hash, event.hash = row
        event._state.adding = False
        event._state.db = connection.alias
    return True


@dataclasses.dataclass(frozen=True)
class TaskRow:
    """A task's row in the database queue, unsaved (``task_row``): written by the caller's
    own statement, in its transaction, so the task is queued exactly when the change it
    follows commits (no window between the commit and the enqueue in which a crash or an
    outage loses it). ``committed`` tells the tasks framework (its ``task_enqueued``
    signal) once it is in."""

    row: Model
    backend: Any

    def given(self, *args: Any) -> None:
        """Set the task's arguments (the writer's, known once its row is written)."""
        self.row.args_kwargs = {**self.row.args_kwargs, "args": list(args)}  # type: ignore[attr-defined]

    def committed(self) -> None:
        task_enqueued.send(type(self.backend), task_result=self.row.task_result)  # type: ignore[attr-defined]


def task_row(task: Task[Any, Any], *args: Any, alias: str) -> TaskRow | None:
    """The row ``task.enqueue(*args)`` would write, unsaved, when the task's backend is the
    database queue (``django_tasks_db``) on the connection ``alias`` (the caller's): made
    as its ``enqueue`` makes it (its id, the arguments as JSON, priority, queue, run after;
    the model's ``pre_save`` receivers sent, as a save sends them). None for another
    backend, whose ``enqueue`` the caller runs once its transaction commits.
    ``tests/test_task_row.py`` holds the two rows to each other."""
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend) or router.db_for_write(DBTaskResult) != alias:
        return None
    backend.validate_task(task)
    row: DBTaskResult[Any, Any] = DBTaskResult(
        id=backend._get_id(),
        args_kwargs=normalize_json({"args": list(args), "kwargs": {}}),
        priority=task.priority,
        task_path=task.module_path,
        queue_name=task.queue_name,
        run_after=task.run_after,  # type: ignore[misc]  # None: the model's pre_save sets it
        backend_name=backend.alias,
    )
    pre_save.send(DBTaskResult, instance=row, raw=False, using=alias, update_fields=None)
    return TaskRow(row=row, backend=backend)


def task_enqueue_with_transaction(task: Task[Any, Any], *args: Any, alias: str) -> None:
    """Inside a transaction on the connection ``alias``: queue ``task(*args)`` with it. On
    the database queue its row is written now (``task_row``: it commits with the
    transaction or not at all); another backend's task is enqueued once the transaction
    commits."""
    tasks_enqueue_with_transaction([(task, args)], alias=alias)


def tasks_enqueue_with_transaction(
    calls: Sequence[tuple[Task[Any, Any], Sequence[Any]]], *, alias: str
) -> None:
    """``task_enqueue_with_transaction`` for several ``(task, args)``: the database queue's
    rows written by one INSERT (a 500-document import's eleven tasks: one statement in its
    transaction, where queueing them once it had committed took a transaction of its own
    with eleven), each announced (``task_enqueued``) once the transaction commits."""
    rows: list[TaskRow] = []
    for task, args in calls:
        row = task_row(task, *args, alias=alias)
        if row is None:
            transaction.on_commit(functools.partial(task.enqueue, *args), using=alias, robust=True)
        else:
            rows.append(row)
    if rows:
        DBTaskResult.objects.using(alias).bulk_create([row.row for row in rows])  # type: ignore[misc]
    for row in rows:
        transaction.on_commit(row.committed, using=alias, robust=True)


def _saved(obj: Model, pk: int, connection: Any) -> None:
    """Mark the unsaved ``obj`` as the row ``pk`` that a statement written by hand inserted."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def _insert_with(
    obj: Model,
    *,
    events: Sequence[Event] = (),
    after: tuple[tuple[str, str, list[Any]], ...] = (),
) -> None:
    """Insert the unsaved ``obj`` and append ``events`` (of one chain; those without an
    object id name the new row), in one statement on PostgreSQL (``_row_insert``), with
    ``after``: WITH queries that read ``ins`` (PostgreSQL only: SQLite has no
    data-modifying WITH). Elsewhere the insert, then the append."""
    connection = connections[router.db_for_write(type(obj))]
    assert not after or connection.vendor == "postgresql", "data-modifying WITH queries"
    with transaction.atomic(using=connection.alias, savepoint=False):
        row = _row_insert(connection, _row_write(connection, obj, after=after), events)
    assert row is not None, "an unconditional insert"
    _saved(obj, row[0], connection)


def _row_write(
    connection: Any, obj: Model, *, after: tuple[tuple[str, str, list[Any]], ...] = ()
) -> RowInsert:
    """The unconditional insert of the unsaved ``obj`` with the WITH queries ``after`` it
    (``RowInsert``)."""
    statement, params = _insert_select(connection, obj, where="true")
    return RowInsert(statement, params, after=after)


def _insert_unless_exists(
    obj: Model, clash: QuerySet[Any] | Bound, *, events: Sequence[Event] = ()
) -> bool:
    """Insert the unsaved ``obj`` unless ``clash`` (a queryset, or a compiled query with
    its values, ``CompiledValues.bind``, for a hot path) finds a row, in one
    statement (``INSERT … SELECT … WHERE NOT EXISTS (…) RETURNING``, PostgreSQL and SQLite):
    True with ``obj`` saved (its id set), False with nothing written. For a check-then-insert
    that runs under a lock the caller holds, where the check usually finds nothing: one
    round trip instead of two. No save signals are sent (none is connected for such models).

    ``events``: unsaved events of one chain (``event_build``) appended with the row
    (``_row_insert``: in the same statement on PostgreSQL); those without an object id name
    the new row. Nothing of them is written when the row is not."""
    connection = connections[router.db_for_write(type(obj))]
    if isinstance(clash, Bound):
        clash_sql, clash_params = clash.as_sql(connection.alias)
    else:
        clash_sql, clash_params = (
            clash.order_by().values("pk").query.get_compiler(connection=connection).as_sql()
        )
    return _insert_if(obj, f"NOT EXISTS ({clash_sql})", clash_params, events=events)


def _insert_if(
    obj: Model, where: str, where_params: Sequence[Any], *, events: Sequence[Event] = ()
) -> bool:
    """Insert the unsaved ``obj`` only if the SQL condition ``where`` holds when the insert
    runs, in one statement (``INSERT … SELECT … WHERE <where> RETURNING``, PostgreSQL and
    SQLite; on PostgreSQL a fresh snapshot, so it sees what committed while the caller
    waited for its locks), with ``events`` appended as ``_insert_unless_exists`` appends
    them: True with ``obj`` saved, False with nothing written."""
    connection = connections[router.db_for_write(type(obj))]
    statement, params = _insert_select(connection, obj, where=where, where_params=where_params)
    with transaction.atomic(using=connection.alias, savepoint=False):
        row = _row_insert(connection, RowInsert(statement, params), events)
    if row is None:
        return False
    _saved(obj, row[0], connection)
    return True


def event_record(
    *,
    actor: User | None,
    verb: str,
    obj: Model | None = None,
    object_type: str = "",
    object_id: int | None = None,
    project: Project | None = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    """Append an audit event to its project's hash chain. Call inside the writing
    service's transaction, after its other row locks (see ``_events_append``). The event
    names ``obj``, or ``object_type`` and ``object_id`` (a deleted row's)."""
    event = _event_build(
        actor=actor,
        verb=verb,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        project_id=project.pk if project is not None else project_id,
        before=before,
        after=after,
    )
    return _events_append([event])[0]


def events_record(
    events: Sequence[Event], following: Sequence[tuple[int, AfterAppend]] = ()
) -> list[Event]:
    """Append many unsaved events of one project (built with ``event_build``) at once, in
    their order: one statement on PostgreSQL (up to ``_IN_SQL_MAX`` events), else one
    lock, one insert, one head update (``_events_append``; ``following`` as there)."""
    return _events_append(events, following)


@dataclasses.dataclass
class PendingEvents:
    """The audit events of one write, built as it goes (``event_build``) and appended to
    the chain together when it ends (``record``: one ``events_record``, one statement on
    PostgreSQL), which also takes the chain's head lock after every other row lock the
    write took. What needs an event's id (a notice keyed by it) is handed to ``add`` as
    ``then`` and runs once the event is in the chain."""

    events: list[Event] = dataclasses.field(default_factory=list)
    _then: list[tuple[Event, Callable[[Event], object] | AfterAppend]] = dataclasses.field(
        default_factory=list
    )
    # A row inserted by the statement that appends the events (``insert_with``), and what
    # runs once it is.
    _row: tuple[Model, RowInsert] | None = None
    _saved: Callable[[Model], object] | None = None

    def insert_with(
        self,
        obj: Model,
        *,
        after: tuple[tuple[str, str, list[Any]], ...] = (),
        then: Callable[[Model], object] | None = None,
    ) -> None:
        """Insert the unsaved ``obj`` (with the WITH queries ``after`` it, which read its
        id from ``ins``) in the statement that appends the events, when they are recorded
        (``_row_insert``; PostgreSQL): one round trip for the row, what goes with it and
        the chain. Until then ``obj`` has no id: the events that name it have none either
        (they are sealed with the new row's), and a change that needs it is added with
        ``update_with``; ``then(obj)`` runs once it has its id. The caller has taken every
        other row lock it needs."""
        connection = connections[router.db_for_write(type(obj))]
        assert connection.vendor == "postgresql", "data-modifying WITH queries"
        assert self._row is None, "one row per append"
        self._row = (obj, _row_write(connection, obj, after=after))
        self._saved = then

    def inserts(self, obj: Model | None) -> bool:
        """Whether ``obj`` is the row ``insert_with`` holds for the append."""
        return obj is not None and self._row is not None and self._row[0] is obj

    def update_with(self, queryset: QuerySet[Any], values: dict[str, Any]) -> None:
        """``queryset.update(**values)`` in the statement of ``insert_with``'s row, whose new
        id a value may read (``RawSQL("SELECT ins.id FROM ins", ())``)."""
        assert self._row is not None, "a row to go with"
        obj, write = self._row
        connection = connections[router.db_for_write(type(obj))]
        sql, params = _update_returning(connection, queryset, values)
        name = f"w{len(write.after) + 1}"
        self._row = (obj, dataclasses.replace(write, after=(*write.after, (name, sql, params))))

    def add(
        self, event: Event, *, then: Callable[[Event], object] | AfterAppend | None = None
    ) -> None:
        self.events.append(event)
        if then is not None:
            self._then.append((event, then))

    def take(self) -> list[Event]:
        """The events added so far, handed to the caller to append (none has a ``then``)
        and no longer pending."""
        assert not self._then, "an event with a ``then`` is appended by ``record``"
        assert self._row is None, "the events of a row are appended with it by ``record``"
        taken, self.events = self.events, []
        return taken

    def record(self) -> list[Event]:
        """Append the events, in the order added (with ``insert_with``'s row, and what
        follows them written by the same statement where it can be: ``AfterAppend``), then
        run their ``then``."""
        # What follows an event (``AfterAppend``) goes with the statement that appends it, or
        # runs right after it; the rest runs once the events are in.
        following: list[tuple[int, AfterAppend]] = []
        plain: list[tuple[Event, Callable[[Event], object]]] = []
        for event, then in self._then:
            if isinstance(then, AfterAppend):
                index = next(i for i, pending in enumerate(self.events) if pending is event)
                following.append((index, then))
            else:
                plain.append((event, then))
        if self._row is None:
            recorded = events_record(self.events, following)
        else:
            (obj, write), self._row = self._row, None
            connection = connections[router.db_for_write(type(obj))]
            with transaction.atomic(using=connection.alias, savepoint=False):
                row = _row_insert(connection, write, self.events, following)
            assert row is not None, "an unconditional insert"
            _saved(obj, row[0], connection)
            if self._saved is not None:
                self._saved(obj)
                self._saved = None
            recorded = list(self.events)
        for event, then in plain:
            then(event)
        self.events, self._then = [], []
        return recorded


def event_append(
    event: Event,
    *,
    pending: PendingEvents | None,
    then: Callable[[Event], object] | AfterAppend | None = None,
) -> None:
    """Append the unsaved ``event`` to its chain now, or, given the caller's ``pending``
    events, add it to them (appended when the caller records them): a step that several
    services share records its event either way. ``then`` as ``PendingEvents.add``."""
    if pending is not None:
        pending.add(event, then=then)
        return
    alone = PendingEvents()
    alone.add(event, then=then)
    alone.record()


def events_add_or_record(events: Sequence[Event], *, pending: PendingEvents | None) -> None:
    """``event_append`` for several unsaved events (none with a ``then``): added to the
    caller's ``pending`` events, or appended now, together (one ``events_record``; nothing
    when there are none)."""
    if pending is not None:
        for event in events:
            pending.add(event)
    elif events:
        events_record(events)


def event_build(
    *,
    actor: User | None,
    verb: str,
    object_type: str,
    object_id: int | None,
    project_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    """An unsaved event for ``events_record``."""
    return _event_build(
        actor=actor,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        project_id=project_id,
        before=before,
        after=after,
    )


def _storable_text_errors(**fields: object) -> dict[str, list[str]]:
    """Messages for each of ``fields`` (name=value) whose text no database column can
    hold: NUL, which PostgreSQL refuses, or a lone surrogate, which is not Unicode text.
    A value given as bytes (a form body's field) is read as UTF-8, and a byte that is not
    UTF-8 is named as such (``spans.byte_storage_problems``). Values of other types are
    left to the service's own checks."""
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        if isinstance(value, (str, bytes)):
            problems = (
                spans.storage_problems(value)
                if isinstance(value, str)
                else spans.byte_storage_problems(value)
            )
            if problems:
                errors[name] = [f"{problem[0].upper()}{problem[1:]}." for problem in problems]
    return errors


def public_url(url: str) -> str:
    """``url`` checked as the URL of a public source (``urlnorm.check_public_url``: http(s),
    and no loopback, private, link-local or other non-public address, ``localhost`` or
    numeric shorthand as its host), except a host ``WORKBENCH_FETCH_ALLOWED_HOSTS`` names
    (an intranet's own sites, which the fetcher may reach too). No DNS lookup here: the
    fetcher vets the addresses a name resolves to when it fetches. Returns the URL
    stripped; raises ``urlnorm.UrlError`` with the reason."""
    return urlnorm.check_public_url(url, allowed_hosts=settings.WORKBENCH_FETCH_ALLOWED_HOSTS)


def _require_storable_text(**fields: object) -> None:
    """Raise ValidationError keyed by field for text no database column can hold (see
    ``_storable_text_errors``). Call it before the first query that uses the values: on
    PostgreSQL even a lookup with NUL fails (DataError), and SQLite would store what
    PostgreSQL refuses, so both backends refuse the same input, and nothing is written."""
    errors = _storable_text_errors(**fields)
    if errors:
        raise ValidationError(errors)


def _clean_and_save(obj: Model) -> None:
    obj.full_clean()
    obj.save()


class QueueConflict(Exception):
    """The request conflicts with the claim's or lease's current state (HTTP 409)."""


def jsonable(value: object) -> object:
    """``value`` as an event's before/after can hold it (dates as ISO 8601 text)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def fields_update(
    locked: Model,
    changes: dict[str, Any],
    *,
    actor: User | None,
    verb: str,
    project_id: int | None = None,
) -> list[str]:
    """Write the ``changes`` (field name -> value) that differ from ``locked``, a row the
    caller holds the lock of: each changed field is checked against its column
    (``full_clean`` on those fields only), only they are saved, and one ``verb`` event
    records their values before and after. Returns the changed names; none changed, it
    writes nothing at all. Raises ValidationError on a field its column refuses."""
    before = {name: getattr(locked, name) for name in changes}
    changed = [name for name, value in changes.items() if before[name] != value]
    if not changed:
        return []
    for name in changed:
        setattr(locked, name, changes[name])
    locked.full_clean(
        exclude=[field.name for field in type(locked)._meta.fields if field.name not in changed],
        validate_unique=False,
        validate_constraints=False,
    )
    locked.save(update_fields=changed)
    event_record(
        actor=actor,
        verb=verb,
        obj=locked,
        project_id=project_id,
        before={name: jsonable(before[name]) for name in changed},
        after={name: jsonable(getattr(locked, name)) for name in changed},
    )
    return changed


def now() -> dt.datetime:
    return timezone.now()
