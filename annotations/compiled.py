"""Querysets compiled to SQL once and run many times with other values.

Django builds and compiles a queryset's SQL on every execution. For a read with many
subqueries on a hot path (the facts a verdict is checked against) that costs more CPU
than the database spends answering it. ``CompiledValues`` keeps the ORM as the one place
the query is written: it builds the queryset once per database with a stand-in value for
each argument, compiles it, finds where each stand-in landed among the statement's
parameters, and on each call runs the same SQL with the real values in those places.

The query's shape must not depend on the values (a value may be a parameter, never a
choice between two querysets, nor a list whose length changes the SQL): each argument is
declared with its type, and building fails at once if a stand-in never reaches the
parameters (say, because the ORM wrote it into the SQL text).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from inspect import getattr_static
from typing import Any, cast

from django.db import connections, router, transaction
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute

# The ORM's own steps from a row to an instance (ModelIterable), private to Django 6.1.
from django.db.models.query import (  # type: ignore[attr-defined]
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
    _get_from_db,
    get_related_populators,
)
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.db.transaction import TransactionManagementError

# Stand-ins no real argument takes, in two sets (the query is compiled with each; see
# ``_compile``): odd positive numbers near the top of a 32-bit column (positive, as a string
# position must be; in range, or the ORM would answer "no rows" without a parameter),
# strings that escaping, case-folding or trimming would change, instants in 1903.
_INT_BASES = (2_146_000_000, 2_145_000_000)
# The range of the stand-ins' column types: an int argument outside it runs through the ORM,
# which knows each column's range (a value past it is "no rows", never sent to the driver).
_INT_RANGE = range(-(2**31), 2**31)


def _stand_in(kind: type, index: int, variant: int) -> Any:
    if kind is int:
        return _INT_BASES[variant] + 9973 * (index + 1)
    if kind is str:
        return f" Stand-In_%\\{variant}-{index}\u2063 "
    if kind is dt.datetime:
        return dt.datetime(1903, 4, 5 + variant, 6, 7, 8, 100_000 + index, tzinfo=dt.UTC)
    raise TypeError(f"annotations.compiled: no stand-in for {kind.__name__}")


def _db_value(connection: Any, kind: type, value: Any) -> Any:
    """``value`` as the ORM passes a field's value of ``kind`` to the driver. None is refused
    (the SQL for "is null" is not the SQL for "equals"), and so is a value of another type
    or a naive time (the ORM would read it in the current time zone)."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"annotations.compiled: {value!r} is not a {kind.__name__}")
    if kind is dt.datetime:
        if cast(dt.datetime, value).tzinfo is None:
            raise TypeError(f"annotations.compiled: {value!r} is a naive time")
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _wrapped(value: Any, wrapper: type) -> Any:
    """``value`` in the driver's int wrapper the compiled parameter had (psycopg's Int4)."""
    if wrapper is object or type(value) is wrapper:
        return value
    return wrapper(value)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # For each parameter: the argument it takes and the int wrapper it is passed in (object
    # for none), or None for a constant of the query.
    slots: tuple[tuple[str, type] | None, ...]
    constants: tuple[Any, ...]
    # Column index -> (converters, expression), as the ORM applies them to each row.
    converters: dict[int, tuple[list[Any], Any]]
    for_update: bool
    # How many columns each row has.
    width: int
    # .values(): the keys of each row.
    names: tuple[str, ...] = ()
    # Model instances: how the ORM's ModelIterable builds them from a row.
    from_db: Callable[..., Model] | None = None
    init_list: tuple[str, ...] = ()
    # When ``from_db`` would only set each column's value as the instance's attribute
    # (``_plain_init``): the model and the fetch mode to make the instance without it.
    plain_model: type[Model] | None = None
    fetch_mode: Any = None
    model_columns: slice = slice(0)
    related_populators: tuple[Any, ...] = ()
    annotation_col_map: dict[str, int] | None = None


class _CompiledQuery:
    """The compilation, the parameters and the converted rows, shared by the two kinds."""

    # The ORM's iterable for the queryset ``build`` returns (its rows' kind).
    iterable_class: type

    def __init__(
        self, model: type[Model], build: Callable[..., QuerySet[Any]], **arguments: type
    ) -> None:
        self.model = model
        self.build = build
        self.arguments = arguments
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile_with(self, alias: str, variant: int) -> tuple[QuerySet[Any], Any, str, list[Any]]:
        """The queryset built with stand-in set ``variant``, its compiler, SQL and parameters."""
        connection = connections[alias]
        stand_ins = {
            name: _stand_in(kind, index, variant)
            for index, (name, kind) in enumerate(self.arguments.items())
        }
        queryset = self.build(**stand_ins)
        query = queryset.query
        if (
            queryset._iterable_class is not self.iterable_class
            or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            or queryset._known_related_objects  # type: ignore[attr-defined]
            or query.extra_select
            or query.combinator
        ):
            raise ValueError(
                f"{type(self).__name__}: a queryset with prefetches, extra columns, a "
                "combination or another kind of row is not supported"
            )
        compiler = query.get_compiler(using=alias)
        # Outside a transaction the ORM refuses to compile a FOR UPDATE where the database
        # has it; ``_rows`` checks that each run is inside one. Inside one (no savepoint,
        # so no query) it compiles as it is.
        locking = query.select_for_update and connection.features.has_select_for_update
        if locking and connection.get_autocommit():
            with transaction.atomic(using=alias, savepoint=False):
                sql, params = compiler.as_sql()
        else:
            sql, params = compiler.as_sql()
        slots: list[str | None] = []
        for param in params:
            as_db = (
                (name, _db_value(connection, self.arguments[name], value))
                for name, value in stand_ins.items()
            )
            slots.append(
                next(
                    (
                        name
                        for name, value in as_db
                        if isinstance(param, type(value)) and param == value
                    ),
                    None,
                )
            )
        return queryset, compiler, sql, [slots, params]

    def _compile(self, alias: str) -> _Compiled:
        """Compile with two sets of stand-ins: the SQL must be the same text, each argument
        found in the same places, and every other parameter the same constant. So a value
        that reaches the SQL changed (escaped, shifted, cast) or only in some of its places
        is refused when the query is first used, not answered wrongly."""
        queryset, compiler, sql, (slots, params) = self._compile_with(alias, 0)
        _, _, other_sql, (other_slots, other_params) = self._compile_with(alias, 1)
        missing = set(self.arguments) - {slot for slot in slots if slot is not None}
        differs = (
            sql != other_sql
            or slots != other_slots
            or any(
                slot is None and a != b
                for slot, a, b in zip(slots, params, other_params, strict=True)
            )
        )
        if missing or differs:
            reason = (
                f"{', '.join(sorted(missing))} did not reach the SQL as a parameter"
                if missing
                else "an argument reached the SQL changed, or the SQL depends on one"
            )
            raise ValueError(
                f"{type(self).__name__}: {reason}; the query's shape must not depend on "
                "its arguments"
            )
        columns = [s[0] for s in compiler.select[: compiler.col_count]]
        return _Compiled(
            sql=sql,
            # A parameter may come wrapped (on PostgreSQL an int of an expression is
            # psycopg's Int4, so that the server knows its type): the wrapper is kept.
            slots=tuple(
                None if slot is None else (slot, type(param) if isinstance(param, int) else object)
                for slot, param in zip(slots, params, strict=True)
            ),
            constants=tuple(params),
            converters=compiler.get_converters(columns),
            for_update=bool(queryset.query.select_for_update),
            width=compiler.col_count,
            **self._shape(queryset, compiler, alias),
        )

    def _shape(self, queryset: QuerySet[Any], compiler: Any, alias: str) -> dict[str, Any]:
        raise NotImplementedError

    def compiled(self, alias: str) -> _Compiled:
        found = self._compiled.get(alias)
        if found is None:
            with self._lock:
                found = self._compiled.get(alias)
                if found is None:
                    found = self._compiled[alias] = self._compile(alias)
        return found

    def _params(
        self, alias: str, compiled: _Compiled, arguments: dict[str, Any]
    ) -> list[Any] | None:
        """The compiled statement's parameters for ``arguments``, or None when an argument
        is one the compiled SQL must not take (an int past a 32-bit column): the caller
        then uses the ORM's queryset."""
        if set(arguments) != set(self.arguments):
            raise TypeError(f"{type(self).__name__} takes exactly {', '.join(self.arguments)}")
        connection = connections[alias]
        as_db = {
            name: _db_value(connection, self.arguments[name], value)
            for name, value in arguments.items()
        }
        if any(
            self.arguments[name] is int and value not in _INT_RANGE
            for name, value in arguments.items()
        ):
            return None
        return [
            constant if slot is None else _wrapped(as_db[slot[0]], slot[1])
            for slot, constant in zip(compiled.slots, compiled.constants, strict=True)
        ]

    def bind(self, **arguments: Any) -> Bound:
        """The query with ``arguments``, to be written into a statement of one's own
        (``Bound.as_sql``: a subquery) instead of run."""
        return Bound(self, arguments)

    def _rows(self, arguments: dict[str, Any]) -> tuple[str, _Compiled, list[list[Any]] | None]:
        """The converted rows, or None when an argument is one the compiled SQL must not
        take (an int past a 32-bit column): the caller then runs the ORM's queryset."""
        alias = router.db_for_read(self.model)
        compiled = self.compiled(alias)
        if compiled.for_update and router.db_for_write(self.model) != alias:
            alias = router.db_for_write(self.model)
            compiled = self.compiled(alias)
        connection = connections[alias]
        params = self._params(alias, compiled, arguments)
        if params is None:
            return alias, compiled, None
        if (
            compiled.for_update
            and connection.features.has_select_for_update
            and connection.get_autocommit()
        ):
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        return alias, compiled, _converted(connection, compiled, fetched)


def _converted(
    connection: Any, compiled: _Compiled, fetched: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """``fetched`` rows with the ORM's converters applied to the query's columns (any
    columns after them are left as they came)."""
    rows = []
    for fetched_row in fetched:
        row = list(fetched_row)
        for index, (converters, expression) in compiled.converters.items():
            value = row[index]
            for converter in converters:
                value = converter(value, expression, connection)
            row[index] = value
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Bound:
    """A compiled query and the values of its arguments (``_CompiledQuery.bind``)."""

    query: _CompiledQuery
    arguments: dict[str, Any]

    def as_sql(self, alias: str) -> tuple[str, list[Any]]:
        """The SQL and parameters of the query for database ``alias``, as the ORM would
        compile its queryset, for a statement written around it: compiled once; the ORM
        compiles it now for a value the compiled SQL must not take."""
        compiled = self.query.compiled(alias)
        params = self.query._params(alias, compiled, self.arguments)
        if params is None:
            queryset = self.query.build(**self.arguments)
            sql, orm_params = queryset.query.get_compiler(using=alias).as_sql()
            return sql, list(orm_params)
        return compiled.sql, params

    def width(self, alias: str) -> int:
        """How many columns the query answers on database ``alias`` (its rows' width, for
        a statement that gives rows of its own beside them: ``UNION ALL``)."""
        return self.query.compiled(alias).width


class CompiledValues(_CompiledQuery):
    """``build(**arguments)`` returns a ``.values()`` queryset of ``model``; ``rows`` and
    ``one`` run it as the ORM would, compiled once per database alias. ``arguments`` maps
    each argument's name to its type (``int``, ``str`` or ``datetime.datetime``)."""

    iterable_class = ValuesIterable

    def _shape(self, queryset: QuerySet[Any], compiler: Any, alias: str) -> dict[str, Any]:
        query = queryset.query
        return {"names": (*query.extra_select, *query.values_select, *query.annotation_select)}

    def rows(self, **arguments: Any) -> list[dict[str, Any]]:
        """The queryset's rows for ``arguments``, as ``.values()`` gives them."""
        _, compiled, rows = self._rows(arguments)
        if rows is None:
            return list(self.build(**arguments))
        return [dict(zip(compiled.names, row, strict=True)) for row in rows]

    def one(self, **arguments: Any) -> dict[str, Any] | None:
        """The first row, or None."""
        found = self.rows(**arguments)
        return found[0] if found else None


class CompiledValuesList(_CompiledQuery):
    """``build(**arguments)`` returns a ``.values_list()`` queryset of ``model`` (tuples, not
    flat, not named); ``rows`` runs it as the ORM would, compiled once per database alias.
    ``arguments`` as for ``CompiledValues``."""

    iterable_class = ValuesListIterable

    def _shape(self, queryset: QuerySet[Any], compiler: Any, alias: str) -> dict[str, Any]:
        names = tuple(queryset._fields)  # type: ignore[attr-defined]
        if not names or compiler.col_count != len(names):
            raise ValueError("CompiledValuesList: name each column in values_list()")
        return {"names": names}

    def rows(self, **arguments: Any) -> list[tuple[Any, ...]]:
        """The queryset's rows for ``arguments``, as ``.values_list()`` gives them."""
        _, _, rows = self._rows(arguments)
        if rows is None:
            return list(self.build(**arguments))
        return [tuple(row) for row in rows]


# The descriptors through which Model.__init__ sets a column's value: into the instance's
# __dict__, no more (a foreign key's also drops a cached related object, which a new
# instance has none of).
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _plain_init(model: type[Model], init_list: tuple[str, ...]) -> bool:
    """Whether ``model.from_db`` for rows of every concrete field, in ``init_list``'s order,
    does no more than put each value in the new instance's ``__dict__`` and mark its state
    as read from the database: neither ``__init__``, ``from_db`` nor attribute setting is
    the model's own, and each field's attribute is one of Django's plain descriptors. Then
    ``CompiledModels`` makes the instances itself, without ``Model.__init__``'s loop over
    the fields: 113 → 27 µs for the 20 claims of a document read (bench/README.md, "Issue
    20, round 11"). A pre_init or post_init receiver sends each read back to ``from_db``."""
    fields = model._meta.concrete_fields
    return (
        model.__init__ is Model.__init__
        and getattr(model.from_db, "__func__", None) is Model.from_db.__func__  # type: ignore[attr-defined]
        and model.__setattr__ is Model.__setattr__
        and init_list == tuple(field.attname for field in fields)
        and all(
            type(getattr_static(model, field.attname, None)) in _PLAIN_DESCRIPTORS
            for field in fields
        )
    )


class CompiledModels[M: Model](_CompiledQuery):
    """``build(**arguments)`` returns a queryset of ``model`` instances (``select_related``,
    ``defer``, annotations and ``select_for_update`` as the ORM builds them); ``objects``
    and ``first`` run it, compiled once per database alias. Instances are made as the
    ORM's own iterable makes them (``from_db``, the related objects' populators, the
    annotations set as attributes); a queryset that tracks peers is not supported."""

    iterable_class = ModelIterable

    def __init__(
        self, model: type[M], build: Callable[..., QuerySet[M]], **arguments: type
    ) -> None:
        super().__init__(model, build, **arguments)

    def _shape(self, queryset: QuerySet[Any], compiler: Any, alias: str) -> dict[str, Any]:
        fetch_mode = queryset._fetch_mode  # type: ignore[attr-defined]
        if fetch_mode.track_peers:
            raise ValueError("CompiledModels: a fetch mode that tracks peers is not supported")
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        columns = slice(fields[0], fields[-1] + 1)
        model, init_list = klass_info["model"], tuple(f[0].target.attname for f in select[columns])
        return {
            "from_db": _get_from_db(model, fetch_mode),
            "init_list": init_list,
            "plain_model": model if _plain_init(model, init_list) else None,
            "fetch_mode": fetch_mode,
            "model_columns": columns,
            "related_populators": tuple(
                get_related_populators(klass_info, select, alias, fetch_mode)
            ),
            "annotation_col_map": compiler.annotation_col_map,
        }

    def objects(self, **arguments: Any) -> list[M]:
        """The queryset's instances for ``arguments``."""
        alias, compiled, rows = self._rows(arguments)
        if rows is None:
            return list(self.build(**arguments))
        return self._instances(alias, compiled, rows)

    def instances(self, alias: str, fetched: Sequence[Sequence[Any]]) -> list[M]:
        """The instances of rows the query answered inside a statement written around it
        (``bind``) on database ``alias``: each row's first ``Bound.width`` columns are the
        query's (converted here, as ``objects`` converts them); any after them are not
        read."""
        compiled = self.compiled(alias)
        return self._instances(alias, compiled, _converted(connections[alias], compiled, fetched))

    def _instances(self, alias: str, compiled: _Compiled, rows: list[list[Any]]) -> list[M]:
        assert compiled.from_db is not None
        model = compiled.plain_model
        if model is not None and (pre_init.has_listeners(model) or post_init.has_listeners(model)):
            model = None  # a receiver (connected since) must see each instance made
        found = []
        for row in rows:
            if model is None:
                obj = compiled.from_db(alias, list(compiled.init_list), row[compiled.model_columns])
            else:  # what from_db leaves, without Model.__init__'s loop over the fields
                obj = model.__new__(model)
                state = obj._state = ModelState()
                state.adding, state.db, state.fetch_mode = False, alias, compiled.fetch_mode
                obj.__dict__.update(
                    zip(compiled.init_list, row[compiled.model_columns], strict=True)
                )
            for populator in compiled.related_populators:
                populator.populate(row, obj)
            for name, position in (compiled.annotation_col_map or {}).items():
                setattr(obj, name, row[position])
            found.append(cast(M, obj))
        return found

    def first(self, **arguments: Any) -> M | None:
        """The first instance, or None."""
        found = self.objects(**arguments)
        return found[0] if found else None
