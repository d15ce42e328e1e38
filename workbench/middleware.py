"""Security glue between Django, django-axes and DRF.

``RequestSizeLimitMiddleware`` caps every request body (413); ``NulQueryMiddleware``
refuses a NUL in the query string (400); ``PrivateResponseMiddleware`` keeps signed-in
pages out of caches.

``LoginRateLimitBackend`` is django-axes' lockout check as the first authentication
backend. Every HTTP login path (the login page, the admin login, the API token endpoint)
passes the request to ``authenticate()``, so a locked-out username + address pair is
refused there before any password is checked. Calls without a request (the test client's
``login()``, management commands) are not HTTP logins and are not counted.

``LoginRateLimitHandler`` is django-axes' database handler with a second budget: failed
logins from one client address across every username (``LOGIN_FAILURES_PER_ADDRESS``
within ``AXES_COOLOFF_TIME``), so spraying many usernames from one address is locked out
like guessing one. It counts axes' own attempt rows in the database, so every worker and
node shares it.

``client_address`` is the client address every login limit counts (``AXES_CLIENT_IP_CALLABLE``):
``REMOTE_ADDR``, or behind ``AXES_IPWARE_PROXY_COUNT`` proxies the address the outermost
of them appended to ``X-Forwarded-For`` (the N-th from the right; what a client writes
further left is ignored). django-ipware is not installed, so without this axes would count
every client behind a proxy as the proxy's one address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_header_parameters

from annotations.api.permissions import NUL_MESSAGE, nul_query_names
from annotations.services import storable_text_errors


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


def client_address(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None) or 0
    if proxies:
        forwarded = [
            part.strip()
            for part in str(request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")
            if part.strip()
        ]
        if forwarded:
            return forwarded[-min(proxies, len(forwarded))]
    return remote


def address_failures(request: HttpRequest) -> int:
    """Failed logins from the request's client address (as axes found it) within the
    cool-off window, whatever the username: the sum of axes' attempt rows for the address
    whose last failure is in the window (axes' own way of counting one username)."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    attempts = AccessAttempt.objects.filter(ip_address=address)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    total = attempts.aggregate(total=Sum("failures_since_start"))["total"]
    return int(total or 0)


def address_budget_spent(request: HttpRequest) -> bool:
    limit = settings.LOGIN_FAILURES_PER_ADDRESS
    return bool(limit) and address_failures(request) >= limit


class LoginRateLimitHandler(AxesDatabaseHandler):
    """Axes' database handler, also locking out a client address that has spent its
    budget of failed logins across usernames (see the module docstring)."""

    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        return super().is_locked(request, credentials) or address_budget_spent(request)

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        # The failure that spends the budget is answered with the lockout, as axes answers
        # the one that reaches AXES_FAILURE_LIMIT.
        if (
            request is not None
            and not getattr(request, "axes_locked_out", False)
            and not self.is_whitelisted(request, credentials)
            and address_budget_spent(request)
        ):
            request.axes_locked_out = True
            request.axes_credentials = credentials


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
            # One byte past the limit is also where the ASGI handler stops reading a body
            # sent without a length (workbench.handlers): its size is not known then.
            size = f"more than {limit:,}" if length == limit + 1 else f"{length:,}"
            return _too_large_or_bad(
                request, 413, f"The request body is {size} bytes; the limit is {limit:,}."
            )
        return self.get_response(request)


class NulQueryMiddleware:
    """Refuse a query parameter (name or value) holding NUL with 400, naming it, before any
    view reads it.

    PostgreSQL cannot take NUL in a text value: ``?q=%00`` on the document search reached
    the query and made a ``DataError`` (500). Nothing stored holds NUL (the services refuse
    it), so no search or filter could match it; one check here covers every page, htmx
    fragment and admin search, now and for parameters added later. The API is left to its
    own check (``annotations.api.permissions.NoNulInQuery``), which runs after
    authentication so an anonymous caller still gets 401 first. Bodies need no such check:
    every form and serializer field refuses NUL itself (Django's and DRF's
    ``ProhibitNullCharactersValidator``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return self.get_response(request)
        names = nul_query_names(request.GET)
        if not names:
            return self.get_response(request)
        return HttpResponse(
            f"{', '.join(names)}: {NUL_MESSAGE}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class UndecodableFormMiddleware:
    """Refuse a form body (URL-encoded or multipart) whose bytes are not UTF-8 text with
    400, naming each field and why, before any view reads it.

    Django reads such bytes as U+FFFD, so a value the API refuses (a JSON ``"\\ud800"``:
    400 on the field) was stored by a form as if typed. Only a crafted body has them (a
    browser sends U+FFFD itself for a lone surrogate, which is text like any other). The
    reason is the services' own (``storable_text_errors``: "Byte 0xFF at position 4 is
    not UTF-8.", or for the bytes ED A0 80 "Is not valid Unicode text: lone surrogate
    U+D800 at position 4." as the API says of a JSON ``"\\ud800"``), so every page, htmx
    fragment and the admin answer alike, and nothing is written. A form body declared in
    another charset is a 400 too (Django refuses it when the form is read; with ``DEBUG``
    its error page then failed with a 500). Uploaded files are their importers' to judge
    (they name a file that is not UTF-8). The API takes JSON only (its parser refuses undecodable bytes itself; a form
    body is a 415 there). A body that decodes (the usual case) costs one strict decode."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method not in ("POST", "PUT", "PATCH")
            or request.content_type not in FORM_CONTENT_TYPES
            or request.path.startswith("/api/")
        ):
            return self.get_response(request)
        charset = request.content_params.get("charset")
        if charset is not None and charset.strip().lower() not in ("utf-8", "utf8"):
            return _too_large_or_bad(
                request, 400, f"A form body is UTF-8 text; this one says charset={charset}."
            )
        problems = undecodable_form_fields(request)
        if not problems:
            return self.get_response(request)
        lines = (f"{name}: {' '.join(reasons)}" for name, reasons in problems.items())
        return _too_large_or_bad(request, 400, "\n".join(lines))


def undecodable_form_fields(request: HttpRequest) -> dict[str, list[str]]:
    """Each field of ``request``'s form body whose name or value is not UTF-8 text, with the
    services' reasons (empty when the body decodes). The body is read again with each
    name and value as the bytes it spells: ED A0 80 (how a lone surrogate is written as
    UTF-8-like bytes) is that surrogate, any other undecodable byte is named with its
    position ("Byte 0xFF at position 3 is not UTF-8."). An undecodable field name is
    reported as ``name``. A multipart body's files are left out, and so is a multipart body too big to hold in memory
    (``DATA_UPLOAD_MAX_MEMORY_SIZE``: one carrying a large file, which Django streams)."""
    if request.content_type == "multipart/form-data":
        boundary = request.content_params.get("boundary", "")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return {}  # RequestSizeLimitMiddleware answers it
        if not boundary or length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return {}
        body = request.body
        try:
            body.decode()
            return {}  # the usual case: the whole body is UTF-8 text
        except UnicodeDecodeError:
            return _problems(_multipart_fields(body, boundary.encode("latin-1")))
    body = request.body
    try:
        # The usual case: the body and what its percent-escapes spell are UTF-8 text.
        parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
        return {}
    except UnicodeDecodeError:
        # Latin-1 maps every byte to the code point of its value, so each name and value
        # spells exactly its bytes (as a percent-escape or raw).
        return _problems(
            parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
        )


def _multipart_fields(body: bytes, boundary: bytes) -> Iterator[tuple[str, str]]:
    """The (name, value) of each part of a multipart ``body`` that is not a file, each
    spelling its bytes (Latin-1, as above)."""
    for part in body.split(b"--" + boundary):
        head, blank, payload = part.partition(b"\r\n\r\n")
        if not blank:
            continue  # the preamble, or the closing "--"
        disposition = next(
            (
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition:")
            ),
            None,
        )
        if disposition is None:
            continue
        _, params = parse_header_parameters(disposition.decode("latin-1"))
        if "filename" in params:
            continue
        yield params.get("name", ""), payload.removesuffix(b"\r\n").decode("latin-1")


def _problems(fields: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The services' reasons for each (name, value) spelling its bytes (one code point per
    byte): ``storable_text_errors`` reads bytes as UTF-8 and names the first byte that is
    not ("Byte 0xFF at position 0 is not UTF-8."), or the lone surrogate that ED A0 80
    spells, as the API names a JSON ``"\\ud800"``."""
    problems: dict[str, list[str]] = {}
    for key, value in fields:
        found = storable_text_errors(name=key.encode("latin-1"), value=value.encode("latin-1"))
        if not found:
            continue
        field = "name" if "name" in found else key.encode("latin-1").decode()
        problems.setdefault(field, []).extend(
            reason for reasons in found.values() for reason in reasons
        )
    return problems


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


# --- streaming under ASGI ------------------------------------------------------------------------

_END = object()
# One hop to the request's thread pulls chunks until about this many bytes (or items).
_HOP_BYTES = 64 * 1024
_HOP_ITEMS = 256


async def _pulled(iterator: Iterator[Any]) -> AsyncIterator[Any]:
    """``iterator`` (a sync generator, e.g. an export reading the database) as an async
    one, advanced on the request's thread (``thread_sensitive``: the thread, and so the
    database connection, the view used) in batches of chunks. When the client goes away,
    the ASGI handler (``workbench.handlers``) calls ``response.close()`` on that thread,
    which closes the generator (registered when the response was made): it sees
    GeneratorExit as under WSGI."""

    def batch() -> list[Any]:
        chunks: list[Any] = []
        size = 0
        while size < _HOP_BYTES and len(chunks) < _HOP_ITEMS:
            chunk = next(iterator, _END)
            if chunk is _END:
                chunks.append(_END)
                break
            chunks.append(chunk)
            size += len(chunk)
        return chunks

    while True:
        for chunk in await sync_to_async(batch)():
            if chunk is _END:
                return
            yield chunk


class AsyncStreamingMiddleware:
    """Under ASGI, Django serves a streaming response whose content is a plain (sync)
    iterator by reading it whole into memory first (``StreamingHttpResponse.__aiter__``):
    a million-row export would be buffered, and a client that leaves would not stop it.
    This gives such responses an async iterator that pulls the sync one chunk batch by
    chunk batch on the request's thread. Under WSGI it does nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            isinstance(request, ASGIRequest)
            and isinstance(response, StreamingHttpResponse)
            and not response.is_async
        ):
            response.streaming_content = _pulled(iter(response.streaming_content))
        return response
