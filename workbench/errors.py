"""Error answers that never touch the database and never show a traceback.

``server_error`` is Django's ``handler500``: it runs only with ``DEBUG`` off, for any
exception a view or middleware let through. When the exception says the database is out of
reach (PostgreSQL restarting, a failover, the connection limit, a statement timeout), the
answer is ``503 Service Unavailable`` with ``Retry-After``, because retrying shortly is
the right thing for a client to do; anything else stays a plain 500. API paths get JSON in
the API's error shape (``{"detail": …}``), pages a static HTML page. Neither loads the
user or the session, so the answer itself cannot fail on the database again.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The service is briefly unavailable (database unreachable); retry shortly."
ERROR_DETAIL = "Server error. It has been logged."


def database_unavailable(exc: BaseException | None) -> bool:
    """True for errors that mean "the database cannot answer now", not "the query is wrong".

    psycopg's connection failures, admin shutdowns and statement timeouts arrive as
    Django's ``OperationalError``; a connection that died under Django arrives as
    ``InterfaceError`` ("connection already closed")."""
    return isinstance(exc, (OperationalError, InterfaceError))


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
