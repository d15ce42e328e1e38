"""Error answers that never touch the database and never show a traceback.

``not_found`` is Django's ``handler404`` (``DEBUG`` off): a path no route matches (an API
path with a non-numeric id, ``/api/v1/claims/abc/``, or a mistyped one) answers in the API's
error shape on API paths, as the API's own 404s do, and Django's page elsewhere.

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
from django.views import defaults

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The service is briefly unavailable (database unreachable); retry shortly."
ERROR_DETAIL = "Server error. It has been logged."
NOT_FOUND_DETAIL = "Not found."  # DRF's NotFound, the API's own 404s


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
        return JsonResponse({"detail": NOT_FOUND_DETAIL}, status=404)
    return defaults.page_not_found(request, exception)
