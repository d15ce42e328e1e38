"""Reviewer web UI: the reader's "Suggested claims" panel (check-worthiness suggestions).

The reader pulls the panel in with htmx once it comes into view (``_suggestions_panel.html``);
without JavaScript it links to the same view as a page, a plain list with forms. Accept
creates a claim on the sentence's exact span (``services.suggestion_accept``) and, in the
reader, re-renders it with the new claim; dismiss (editors) records a reason and re-renders
the panel. Offsets are code points (see ``annotations.core.spans``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from annotations import access, services
from annotations.models import Document, Membership
from workbench.ui.forms import SuggestionAcceptForm, SuggestionDismissForm
from workbench.ui.htmx import HtmxHttpRequest, wants_fragment
from workbench.ui.reading import claim_created

PAGE = "workbench/document_suggestions.html"


def _error_text(exc: ValidationError) -> str:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    return " ".join(
        f"{name}: {message}" if name and name != "__all__" else message
        for name, field_messages in errors.items()
        for message in field_messages
    )


def _panel(
    request: HtmxHttpRequest,
    document: Document,
    membership: Membership,
    *,
    notice: str = "",
    level: str = "info",
    status: int = 200,
) -> HttpResponse:
    """The panel (htmx: the fragment, always 200; else the page with ``status``)."""
    context: dict[str, Any] = {
        "document": document,
        "project": document.project,
        "suggestions": services.suggestions_list(document=document),
        "can_dismiss": access.is_editor(membership),
        "in_reader": wants_fragment(request),
        "notice": notice,
        "notice_level": level,
    }
    if wants_fragment(request):
        response = render(request, f"{PAGE}#suggestion-panel", context)
        if request.method == "POST":
            reswap(retarget(response, "#suggestions"), "outerHTML")
        return response
    return render(request, PAGE, context, status=status)


@login_required
@require_GET
def document_suggestions(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    return _panel(request, document, membership)


@login_required
@require_POST
def suggestion_accept(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    form = SuggestionAcceptForm(request.POST)
    if not form.is_valid():
        return _panel(
            request,
            document,
            membership,
            notice="Choose a suggested sentence.",
            level="error",
            status=422,
        )
    try:
        _, claim = services.suggestion_accept(
            document=document, actor=request.user, **form.cleaned_data
        )
    except ValidationError as exc:
        return _panel(
            request, document, membership, notice=_error_text(exc), level="error", status=422
        )
    except services.QueueConflict as exc:
        return _panel(request, document, membership, notice=str(exc), level="error", status=409)
    return claim_created(
        request,
        document,
        membership,
        claim,
        "Claim created from the suggestion; it is in the review queue.",
    )


@login_required
@require_POST
def suggestion_dismiss(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    form = SuggestionDismissForm(request.POST)
    if not form.is_valid():
        problems = " ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
        return _panel(request, document, membership, notice=problems, level="error", status=422)
    try:
        services.suggestion_dismiss(document=document, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _panel(
            request, document, membership, notice=_error_text(exc), level="error", status=422
        )
    except services.QueueConflict as exc:
        return _panel(request, document, membership, notice=str(exc), level="error", status=409)
    if wants_fragment(request):
        return _panel(request, document, membership, notice="Dismissed.")
    messages.success(request, "Suggestion dismissed.")
    return redirect(reverse("workbench:document-suggestions", kwargs={"pk": document.pk}))
