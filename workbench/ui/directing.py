"""Reviewer web UI, directing the review of one claim: take it from its page ("Review this
claim"), and for editors its priority and deadline and the reviewers assigned to it.

Each view answers as the other claim-page views do (``reviewing``): a plain POST
redirects, an htmx POST gets the review panel back; a refused form comes back with its
errors, a QueueConflict as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from annotations import access, services
from annotations.models import Role
from workbench.ui.claim_page import render_claim_page
from workbench.ui.forms import AssignForm, ClaimScheduleForm
from workbench.ui.htmx import HtmxHttpRequest, attach_errors, redirect_to


def _done(
    request: HtmxHttpRequest, pk: int, notice: str, *, level: int = messages.SUCCESS
) -> HttpResponse:
    if request.htmx:
        return render_claim_page(request, pk, notice=notice, level=level)
    messages.add_message(request, level, notice)
    return redirect("workbench:claim-detail", pk=pk)


@login_required
@require_POST
def claim_take(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Lease this claim (the queue's rules); from the reader's list htmx follows to the page."""
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    try:
        services.lease_claim(reviewer=request.user, claim=claim)
    except services.QueueConflict as exc:
        return _done(request, pk, str(exc), level=messages.ERROR)
    if request.POST.get("origin") == "reader":
        messages.success(request, "The claim is yours to judge.")
        return redirect_to(request, claim.get_absolute_url())
    return _done(request, pk, "The claim is yours to judge.")


@login_required
@require_POST
def claim_schedule(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = ClaimScheduleForm(request.POST, auto_id="schedule-%s")
    if form.is_valid():
        try:
            services.claim_schedule(
                claim=claim,
                actor=request.user,
                priority=form.cleaned_data["priority"],
                due_at=form.cleaned_data["due_at"],
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _done(request, pk, "Priority and deadline saved.")
    return render_claim_page(request, pk, status=422, schedule_form=form)


@login_required
@require_POST
def claim_assign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = AssignForm(request.POST, auto_id="assign-%s")
    if form.is_valid():
        try:
            services.claim_assign(claim=claim, editor=request.user, usernames=form.usernames())
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            return _done(request, pk, str(exc), level=messages.ERROR)
        else:
            return _done(request, pk, "Assigned: the slots are held for them.")
    return render_claim_page(request, pk, status=422, assign_form=form)


@login_required
@require_POST
def claim_unassign(request: HtmxHttpRequest, pk: int, username: str) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    try:
        services.claim_unassign(claim=claim, editor=request.user, username=username)
    except services.QueueConflict as exc:
        return _done(request, pk, str(exc), level=messages.ERROR)
    except Http404:
        return _done(
            request, pk, f"{username} is not assigned to this claim.", level=messages.ERROR
        )
    return _done(request, pk, f"Unassigned {username}: the slot is free again.")
