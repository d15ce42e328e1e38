"""Query parameters: the ones each API view takes, and a 400 naming any other.

A view names what each of its methods reads from the query string in ``query_params``
(``{"GET": ("include",)}``; HEAD reads what GET reads). A list's GET (``ListModelMixin``)
takes, besides, its filters (``StrictFilterBackend.query_param_names``) and its
paginator's parameters (``cursor``, ``page_size``). Every parameter takes one value.

Anything else is refused by name, never ignored: a name the method does not take (a typo,
an ORM lookup, ``?ordering=``, DRF's ``?format=``, which picks no renderer here since
``URL_FORMAT_OVERRIDE`` is off) is a 400 ``{name: ["Unknown query parameter."]}``, and a
parameter given twice (``?page_size=5&page_size=10``, where the last one used to win) is a
400 ``{name: ["Give this parameter once."]}``. A parameter of ``VALUE_REQUIRED`` given
empty (``?cursor=``, ``?include=``, or ``?include`` alone) is a 400
``{name: ["Give a value or leave the parameter out."]}``, not read as left out. A filter
given empty (``?project=``) is still no filter, django-filter's convention, and
``page_size`` words its own 400 (``pagination.IdCursorPagination.get_page_size``).

A boolean parameter (``?history=``, ``?all=``, the notifications' ``?unread=``) has one
rule, ``boolean_value``: ``true`` or ``1`` is true, ``false`` or ``0`` is false, ``true``
and ``false`` in any case (``True``, ``FALSE``), and nothing else, no spaces around it:
``yes``, ``on``, ``2`` or ``maybe`` is a 400 ``{name: ["Enter true or false (or 1 or
0)."]}``, never read as false. Empty (``?history=``) is left out, as a filter given empty
is: none of them is in ``VALUE_REQUIRED``. Views read one with ``bool_param``, a filter with
``filters.StrictBooleanFilter``; the schema declares them ``boolean`` with
``BOOLEAN_VALUES`` in the description.

``KnownQueryParams`` checks this for every API view (it is in ``DEFAULT_PERMISSION_CLASSES``
after ``IsActiveUser`` and ``NoNulInQuery``, so an anonymous caller still gets 401 first).
Permissions run before the handler, so before any object is looked up and before anything
is written. The answer depends only on the view, the method and the names sent (and
whether a value is empty), never on an object, so it leaks nothing: a non-member who sends
an unknown parameter gets this 400, not the 404 the same request without it would get. A
method the view does not handle is left to DRF's 405.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

UNKNOWN = "Unknown query parameter."
REPEATED = "Give this parameter once."
EMPTY = "Give a value or leave the parameter out."
NOT_BOOLEAN = "Enter true or false (or 1 or 0)."

# What a boolean query parameter takes, for its schema description.
BOOLEAN_VALUES = (
    "`true` or `1`, `false` or `0` (true and false in any case; anything else is a 400)"
)
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

# The parameters whose empty value is refused (``EMPTY``) where a view takes them: each
# means something only with a value (a cursor the list handed out, ``include=claims``).
VALUE_REQUIRED = frozenset({"cursor", "include"})

# Names and how many are quoted back in a 400 (as ``permissions.nul_query_names``).
_MAX_NAME = 100
_MAX_NAMES = 20

PAGINATION_PARAMS = (
    "cursor_query_param",
    "page_query_param",
    "page_size_query_param",
    "limit_query_param",
    "offset_query_param",
)


def boolean_value(text: str) -> bool | None:
    """The boolean ``text`` spells as a query value (``true``/``1``, ``false``/``0``, true
    and false in any ASCII case), or None for anything else."""
    return _BOOLEANS.get(text.lower()) if text.isascii() else None


def bool_param(request: Request, name: str) -> bool | None:
    """The boolean in query parameter ``name`` (``boolean_value``): None if absent or
    empty, a 400 naming it (``NOT_BOOLEAN``) for any other spelling."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = boolean_value(raw)
    if value is None:
        raise ValidationError({name: [NOT_BOOLEAN]})
    return value


def query_params_taken(view: Any, method: str) -> frozenset[str]:
    """The query parameters ``view`` takes for the HTTP ``method``."""
    method = "GET" if method.upper() == "HEAD" else method.upper()
    declared: Mapping[str, tuple[str, ...]] = getattr(view, "query_params", {})
    names = set(declared.get(method, ()))
    if method == "GET" and isinstance(view, ListModelMixin):
        for backend_class in view.filter_backends:
            # A backend that does not say what it reads takes nothing (refused, not ignored).
            named = getattr(backend_class(), "query_param_names", None)
            if named is not None:
                names |= named(view)
        paginator = view.paginator
        names |= {
            name for attribute in PAGINATION_PARAMS if (name := getattr(paginator, attribute, None))
        }
    return frozenset(names)


def query_params_check(request: Request, view: Any) -> None:
    """Raise the 400 for each parameter the request's method does not take, takes once but
    was given more than once, or takes only with a value (``VALUE_REQUIRED``) but was given
    empty."""
    taken = query_params_taken(view, request.method or "GET")
    errors: dict[str, list[str]] = {}
    for name, values in request.query_params.lists():
        if name not in taken:
            errors[name[:_MAX_NAME]] = [UNKNOWN]
        elif len(values) > 1:
            errors[name] = [REPEATED]
        elif name in VALUE_REQUIRED and values == [""]:
            errors[name] = [EMPTY]
    if errors:
        raise ValidationError(dict(sorted(errors.items())[:_MAX_NAMES]))


class KnownQueryParams(BasePermission):
    """Every API view refuses a query parameter it does not take (``query_params_check``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        method = (request.method or "GET").lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True  # DRF answers 405 before it calls anything
        query_params_check(request, view)
        return True
