"""Live updates: a project's change feed as server-sent events, and as JSON for polling.

Both answer only a project's members (404 otherwise, 401 when signed out) and carry what
``selectors.live_changes`` lets the member be told: which claim and document changed and
which pages show it, never content. Pages include ``_live.html`` (``live_context``), and
``static/workbench/live.js`` shows a "3 new — show" bar and re-fetches the ordinary views.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from annotations import access, selectors
from annotations.models import Document, Membership, Project
from workbench import live
from workbench.ui.htmx import HtmxHttpRequest

# At most this many changes in one polling answer (the next poll reads on from its cursor).
POLL_LIMIT = 200


def live_context(
    project: Project, page: str, *, document: Document | None = None
) -> dict[str, object]:
    """What ``_live.html`` needs: the endpoints, the page kind and the cursor the page was
    rendered at (one query), so a change made while the page loads is not missed."""
    return {
        "live": {
            "page": page,
            "document": document.pk if document is not None else "",
            "cursor": selectors.live_cursor(project_id=project.pk),
            "events_url": reverse("workbench:live-events", kwargs={"slug": project.slug}),
            "changes_url": reverse("workbench:live-changes", kwargs={"slug": project.slug}),
        }
    }


def _cursor(raw: str | None) -> int | None:
    """A cursor from ``Last-Event-ID`` or ``?after=``: a chain position, or None if bad."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        return None
    return int(raw)


def _not_past_head(cursor: int, project_id: int) -> int:
    """A cursor past the project's chain head (one from before a restore to an older
    backup, or made up) would wait for positions the chain has already given to other
    changes and miss them: it reads from the head instead (one query)."""
    return min(cursor, selectors.live_cursor(project_id=project_id))


def _membership(request: HtmxHttpRequest, slug: str) -> Membership | None:
    """The caller's membership of the project (Http404 for non-members); None when signed
    out: a stream or a poll cannot follow a redirect to the sign-in page, so it gets 401."""
    if not request.user.is_authenticated:
        return None
    return access.project_get_for_user(user=request.user, slug=slug)[1]


def _signed_out() -> HttpResponse:
    return HttpResponse("Sign in to follow live updates.", status=401, content_type="text/plain")


@require_GET
def live_events(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """``text/event-stream`` of the project's changes after ``Last-Event-ID`` (a reconnect)
    or ``?after=`` (the cursor the page was rendered at; without either, from now on)."""
    membership = _membership(request, slug)
    if membership is None:
        return _signed_out()
    is_asgi = isinstance(request, ASGIRequest)
    if not settings.LIVE_STREAM or not (is_asgi or settings.LIVE_STREAM_WSGI):
        # EventSource stops and live.js polls instead: streams are off, or this is a WSGI
        # server, where an open stream would hold a worker for minutes.
        return HttpResponse(status=204)
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after")
    cursor = _cursor(raw) if raw else selectors.live_cursor(project_id=membership.project_id)
    if cursor is None:
        return HttpResponseBadRequest("after: a chain position (a whole number) is expected.")
    if raw:
        cursor = _not_past_head(cursor, membership.project_id)
    if is_asgi:
        # The stream reads on other threads; this request's connection would otherwise be
        # given back only when the stream ends (request_finished), minutes from now.
        connections["default"].close()
        stream = live.stream_async(user=request.user, membership=membership, cursor=cursor)
    else:
        stream = live.stream_sync(user=request.user, membership=membership, cursor=cursor)
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each message on at once
    return response


@require_GET
def live_changes(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The polling fallback: ``{"cursor": n, "changes": [...]}`` after ``?after=``."""
    membership = _membership(request, slug)
    if membership is None:
        return _signed_out()
    cursor = _cursor(request.GET.get("after"))
    if cursor is None:
        return JsonResponse(
            {"after": ["A chain position (a whole number) is expected."]}, status=400
        )
    changes, cursor = selectors.live_changes(
        user=request.user,
        membership=membership,
        after=_not_past_head(cursor, membership.project_id),
        limit=POLL_LIMIT,
    )
    return JsonResponse(
        {"cursor": cursor, "changes": [change.as_json() for change in changes]},
        headers={"Cache-Control": "no-store"},
    )
