"""Reviewer web UI: a claim's discussion, the notifications page and its settings, and the
header's unread count (issue 18).

A comment is posted from the claim page: with htmx the thread fragment comes back; a plain
form post redirects to the claim page (post/redirect/get), so the thread works without
JavaScript. The bell's count is read once per page, only where the header shows it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import access, selectors, services
from annotations.dbcursor import unprepared
from annotations.models import NotificationKind
from workbench.ui.claim_page import render_claim_page
from workbench.ui.forms import CommentForm, NotificationSettingsForm
from workbench.ui.htmx import HtmxHttpRequest, attach_errors

NOTIFICATIONS_PAGE = "workbench/notification_list.html"
# The newest shown on the page; the API pages through all of them.
NOTIFICATIONS_SHOWN = 100
SETTINGS_PAGE = "workbench/notification_settings.html"
THREAD = "comment-thread"


def unread_count(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the header's unread count, read lazily (only pages that render
    the header for a signed-in user pay its one query)."""
    return {
        "unread_notifications": SimpleLazyObject(
            lambda: selectors.notifications_unread_count(user=request.user)
        )
    }


def _thread_done(request: HtmxHttpRequest, pk: int, notice: str, level: int) -> HttpResponse:
    if request.htmx:
        return render_claim_page(request, pk, partial=THREAD, notice=notice, level=level)
    messages.add_message(request, level, notice)
    return redirect(f"{redirect('workbench:claim-detail', pk=pk).url}#comment-thread")


@login_required
@require_POST
def comment_create(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    form = CommentForm(request.POST, auto_id="comment-%s")
    if form.is_valid():
        try:
            services.comment_create(
                claim=claim,
                author=request.user,
                body=form.cleaned_data["body"],
                visibility=form.cleaned_data["visibility"],
            )
        except ValidationError as exc:
            # Reviewers have no visibility field on the page: its error goes above the form.
            attach_errors(form, exc, non_field=("visibility",))
        else:
            return _thread_done(request, pk, "Comment posted.", messages.SUCCESS)
    return render_claim_page(request, pk, partial=THREAD, status=422, comment_form=form)


@login_required
@require_POST
def comment_withdraw(request: HtmxHttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    _, _, comment = access.comment_get_for_user(user=request.user, claim_pk=pk, pk=comment_pk)
    try:
        services.comment_withdraw(comment=comment, actor=request.user)
    except services.QueueConflict as exc:
        return _thread_done(request, pk, str(exc), messages.ERROR)
    return _thread_done(request, pk, "Comment withdrawn.", messages.SUCCESS)


@login_required
@require_GET
def notification_list(request: HtmxHttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    with unprepared():  # a generic plan sorts all of a user's notifications
        rows = list(
            selectors.notifications_for_user(user=request.user, unread=unread_only)[
                : NOTIFICATIONS_SHOWN + 1
            ]
        )
    items = [(row, services.notification_text(row)) for row in rows[:NOTIFICATIONS_SHOWN]]
    context = {"items": items, "unread_only": unread_only, "more": len(rows) > len(items)}
    return render(request, NOTIFICATIONS_PAGE, context)


@login_required
@require_POST
def notification_read(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    notification = access.notification_get_for_user(user=request.user, pk=pk)
    services.notification_read(notification=notification, user=request.user)
    if request.POST.get("next") == "claim" and notification.claim_id:
        return redirect("workbench:claim-detail", pk=notification.claim_id)
    return redirect("workbench:notification-list")


@login_required
@require_POST
def notifications_read_all(request: HtmxHttpRequest) -> HttpResponse:
    marked = services.notifications_read_all(user=request.user)
    messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect("workbench:notification-list")


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HtmxHttpRequest) -> HttpResponse:
    current = services.notification_settings_get(user=request.user)
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.notification_settings_update(
                    user=request.user,
                    email_enabled=form.cleaned_data["email_enabled"],
                    email_kinds=form.cleaned_data["email_kinds"],
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, "Notification settings saved.")
                return redirect("workbench:notification-settings")
        return render(request, SETTINGS_PAGE, {"form": form}, status=422)
    form = NotificationSettingsForm(
        initial={"email_enabled": current.email_enabled, "email_kinds": current.email_kinds}
    )
    return render(request, SETTINGS_PAGE, {"form": form, "kinds": NotificationKind.choices})
