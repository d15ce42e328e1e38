"""API access defaults: deny unless an authenticated, active user calls.

``IsActiveUser`` is the project-wide default (``DEFAULT_PERMISSION_CLASSES``) and guards
the OpenAPI schema and docs too. Views never loosen it except the token endpoint's POST, which
authenticates by password. Object and role checks are not done here: they live in the
``selectors.*_get_for_user`` helpers, which every view calls, so a list or detail can only
ever reach rows of the caller's projects. The query string is checked here too, before
any lookup: ``NoNulInQuery`` below, then ``annotations.api.query.KnownQueryParams`` (a
parameter the view does not take, or one given twice, is a 400 naming it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle


class IsActiveUser(BasePermission):
    """Authenticated by any configured authenticator and still active.

    Token and session authentication already refuse inactive users; checking again here
    keeps that true for any authenticator added later (CVAT CVE-2025-54573 bypassed a
    check through Basic auth)."""

    message = "Authentication credentials were not provided or the account is inactive."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


NUL_MESSAGE = "Null characters are not allowed."


def nul_query_names(query: Any) -> list[str]:
    """Names of the query parameters (a ``QueryDict``) whose name or a value holds NUL,
    printable and bounded, for a 400 that names them."""
    return sorted(
        name.replace("\x00", "\\0")[:100]
        for name, values in query.lists()
        if "\x00" in name or any("\x00" in value for value in values)
    )[:20]


class NoNulInQuery(BasePermission):
    """A query parameter holding NUL is a 400 naming it, checked after ``IsActiveUser`` so
    an anonymous caller still gets 401 first (``DEFAULT_PERMISSION_CLASSES``).

    PostgreSQL cannot take NUL in a text value: ``?q=%00`` reached a filter and made a
    ``DataError`` (500). Nothing stored holds NUL, so no filter could match it. The pages
    outside the API get the same check from ``workbench.middleware.NulQueryMiddleware``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        names = nul_query_names(request.query_params)
        if names:
            raise ValidationError({name: [NUL_MESSAGE] for name in names})
        return True


class TokenRateThrottle(AnonRateThrottle):
    """Throttle for the password → token exchange, per client address.

    The rate is read from ``settings.WORKBENCH_TOKEN_RATE`` when a request arrives (DRF
    binds its own rates at import time). Failed passwords are limited separately, across
    processes, by django-axes (``AXES_FAILURE_LIMIT``)."""

    scope = "token"

    def get_rate(self) -> str | None:
        return settings.WORKBENCH_TOKEN_RATE or None
