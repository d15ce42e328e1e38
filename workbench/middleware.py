"""Security glue between Django, django-axes and DRF.

``RequestSizeLimitMiddleware`` caps every request body (413); ``NulQueryMiddleware``
refuses a NUL in the query string (400); ``PrivateResponseMiddleware`` keeps signed-in
pages out of caches.

``LoginRateLimitBackend`` is django-axes' lockout check as the first authentication
backend. Every HTTP login path (the login page, the admin login, the API token endpoint)
passes the request to ``authenticate()``, so a locked-out username + address pair is
refused there before any password is checked. Calls without a request (the test client's
``login()``, management commands) are not HTTP logins and are not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers


class LoginRateLimitBackend(AxesStandaloneBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# Room for multipart boundaries and the small fields next to an upload of the full size.
MULTIPART_SLACK = 1024 * 1024


def max_request_bytes(content_type: str = "multipart/form-data") -> int:
    """The largest request body accepted: ``WORKBENCH_MAX_REQUEST_BYTES`` if set; by
    default ``DATA_UPLOAD_MAX_MEMORY_SIZE`` for JSON and form bodies (so a body Django
    would refuse as too big is a 413 here, not a 400 later) plus room for boundaries and
    small fields next to an uploaded file for multipart bodies."""
    configured = getattr(settings, "WORKBENCH_MAX_REQUEST_BYTES", 0)
    if configured:
        return configured
    if content_type.lower().startswith("multipart/"):
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MULTIPART_SLACK
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestSizeLimitMiddleware:
    """Refuse a body larger than ``max_request_bytes()`` with 413, before anything reads it.

    Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when form data is parsed; DRF's
    JSON parser reads the raw stream, so without this a JSON body of any size would be
    read into memory. The declared Content-Length is checked (the WSGI server never
    hands a view more than that)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _too_large_or_bad(request, 400, "Content-Length is not a number.")
        limit = max_request_bytes(request.META.get("CONTENT_TYPE", ""))
        if length > limit:
            return _too_large_or_bad(
                request, 413, f"The request body is {length:,} bytes; the limit is {limit:,}."
            )
        return self.get_response(request)


NUL_MESSAGE = "Null characters are not allowed."


class NulQueryMiddleware:
    """Refuse a query parameter (name or value) holding NUL with 400, naming it, before any
    view reads it.

    PostgreSQL cannot take NUL in a text value: ``?q=%00`` on the document search reached
    the query and made a ``DataError`` (500). Nothing stored holds NUL (the services refuse
    it), so no search or filter could match it; one check here covers every page, htmx
    fragment, API list filter and admin search, now and for parameters added later.
    Bodies need no such check: every form and serializer field refuses NUL itself
    (Django's and DRF's ``ProhibitNullCharactersValidator``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        names = sorted(
            name.replace("\x00", "\\0")[:100]
            for name, values in request.GET.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        )[:20]
        if not names:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({name: [NUL_MESSAGE] for name in names}, status=400)
        return HttpResponse(
            f"{', '.join(names)}: {NUL_MESSAGE}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )


def _too_large_or_bad(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class PrivateResponseMiddleware:
    """Responses to signed-in users may hold unpublished verdicts: no shared or back-button
    cache keeps them (``Cache-Control: private, no-store``, unless a view chose its own),
    and a URL that answers htmx with a fragment never shares a cache slot with its page
    (``Vary: HX-Request``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        if response.get("Content-Type", "").startswith("text/html"):
            patch_vary_headers(response, ("HX-Request",))
        return response
