"""Error answers that never touch the database and never show a traceback.

``api_not_found`` is the last route under ``/api/``: a path no endpoint matches (a
non-numeric id, ``/api/v1/claims/abc/``, a mistyped name, a missing trailing slash) answers
in the API's error shape, as the API's own 404s do, with ``DEBUG`` on or off, and is never
redirected (Django's ``APPEND_SLASH`` would send a POST's client to a GET, its body lost,
or fail under ``DEBUG``). ``not_found`` is Django's ``handler404`` (``DEBUG`` off): the same
JSON on API paths, Django's page elsewhere.

``server_error`` is Django's ``handler500``: it runs only with ``DEBUG`` off, for any
exception a view or middleware let through. When the exception says the database is out of
reach (PostgreSQL restarting, a failover, the connection limit, a statement timeout), the
answer is ``503 Service Unavailable`` with ``Retry-After``, because retrying shortly is
the right thing for a client to do; anything else stays a plain 500. API paths get JSON in
the API's error shape (``{"detail": …}``), pages a static HTML page. Neither loads the
user or the session, so the answer itself cannot fail on the database again.
"""

from __future__ import annotations

import sqlite3
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The service is briefly unavailable (database unreachable); retry shortly."
ERROR_DETAIL = "Server error. It has been logged."
NOT_FOUND_DETAIL = "Not found."  # DRF's NotFound, the API's own 404s
# The API's JSON as its renderer writes it (no spaces): the same bytes as its own 404s.
_COMPACT = {"separators": (",", ":")}


# SQLSTATE classes that mean "not now" rather than "never": connection exceptions (08),
# insufficient resources such as too many connections (53), operator intervention such
# as admin shutdown or a statement timeout (57), transaction rollbacks such as deadlocks
# and serialization failures (40); and lock_not_available (55P03).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})
TRANSIENT_SQLSTATES = frozenset({"55P03"})


def database_unavailable(exc: BaseException | None) -> bool:
    """True for errors that mean "the database cannot answer now, retry shortly", not
    "the query is wrong" (a missing table or column stays a 500).

    A connection that died under Django arrives as ``InterfaceError`` ("connection
    already closed"). psycopg's errors arrive as Django's ``OperationalError`` with the
    psycopg exception as ``__cause__``: judged by its SQLSTATE when it has one; a failure
    to connect at all (server down or restarting) has none. SQLite's only transient
    error is a locked or busy database."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
    if isinstance(cause, sqlite3.Error):
        message = str(cause).lower()
        return "locked" in message or "busy" in message
    return True


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        response: HttpResponse = JsonResponse({"detail": UNAVAILABLE_DETAIL}, status=503)
    else:
        html = loader.get_template("workbench/503.html").render({"retry": RETRY_AFTER_SECONDS})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    if database_unavailable(sys.exception()):
        return unavailable_response(request)
    if _wants_json(request):
        return JsonResponse({"detail": ERROR_DETAIL}, status=500)
    return HttpResponse(loader.get_template("workbench/500.html").render({}), status=500)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": NOT_FOUND_DETAIL}, status=404, json_dumps_params=_COMPACT)
    return defaults.page_not_found(request, exception)


# The name of ``api_not_found``'s route (workbench/urls.py).
API_NOT_FOUND = "api-not-found"


def routed(path: str) -> bool:
    """Whether ``path`` names a view of its own: a route matches it, and not only the
    last route under ``/api/`` (``api_not_found``)."""
    try:
        return resolve(path).url_name != API_NOT_FOUND
    except Resolver404:
        return False


@csrf_exempt  # writes nothing, whoever asks: a 404, never a CSRF 403 in its place
def api_not_found(request: HttpRequest) -> HttpResponse:
    detail = NOT_FOUND_DETAIL
    if not request.path.endswith("/") and routed(request.path + "/"):
        detail = f"{NOT_FOUND_DETAIL} API paths end with a slash: {request.path}/"
    return JsonResponse({"detail": detail}, status=404, json_dumps_params=_COMPACT)
