"""Reviewer web UI: revising a document's text, its earlier revisions, re-anchoring claims.

Every view looks its object up through ``annotations.access`` (404 for non-members, 403
below the role an action needs), binds a form, calls one service or selector, and renders.
A plain POST that succeeds redirects (post/redirect/get); htmx gets the fragment back
(``template#partial``), or a client redirect when the whole page changes. Fragments answer
200 even with form errors; a plain POST with errors gets 422 and the full page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import access, selectors, services
from annotations.core import passages
from annotations.models import Claim, ClaimAnchor, Document, Role
from workbench.ui.claim_page import render_claim_page
from workbench.ui.forms import DocumentReviseForm, ReanchorFindForm, ReanchorForm
from workbench.ui.htmx import HtmxHttpRequest, attach_errors, redirect_to, render_page_or_partial

REVISE_PAGE = "workbench/document_revise.html"
REVISIONS_PAGE = "workbench/document_revisions.html"
REVISION_PAGE = "workbench/document_revision.html"
REANCHOR_PANEL = "workbench/_reanchor_panel.html"


# --- revisions ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def document_revise(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: the current text in a box to correct. POST: store the corrected text as a new
    revision (services.document_revise) and show what happened to each claim."""
    document, _ = access.document_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    if request.method == "GET":
        form = DocumentReviseForm(initial={"text": document.text})
    else:
        form = DocumentReviseForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = services.document_revise(
                    document=document,
                    text=form.cleaned_data["text"],
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                counts = ", ".join(f"{n} {outcome}" for outcome, n in report.counts.items())
                messages.success(request, f"Revision {report.revision} saved. Claims: {counts}.")
                url = reverse(
                    "workbench:document-revision", kwargs={"pk": pk, "number": report.revision - 1}
                )
                return redirect_to(request, url)
    context = {"document": document, "project": document.project, "form": form}
    return render_page_or_partial(
        request, REVISE_PAGE, "revise-form", context, status=422 if form.errors else 200
    )


def _revision_lists(document: Document) -> dict[str, Any]:
    orphans = list(selectors.claims_orphaned(document=document))
    needs_review = list(selectors.claims_needing_review(document=document))
    return {
        "orphans": orphans,
        "needs_review": needs_review,
        "reanchor_count": len(orphans) + len(needs_review),
    }


@login_required
@require_GET
def document_revisions(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Earlier texts of the document, and the claims waiting to be re-anchored."""
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    context = {
        "document": document,
        "project": document.project,
        "revisions": list(selectors.document_revisions_list(document=document)),
        "can_revise": access.is_editor(membership),
        **_revision_lists(document),
    }
    return render(request, REVISIONS_PAGE, context)


@login_required
@require_GET
def document_orphans(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The document page's list of claims to re-anchor (loaded by htmx); the revisions page
    without JavaScript."""
    document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    if not request.htmx:
        return redirect(reverse("workbench:document-revisions", kwargs={"pk": pk}) + "#orphans")
    context = {"document": document, **_revision_lists(document)}
    return render(request, "workbench/_orphan_list.html", context)


@login_required
@require_GET
def document_revision(request: HtmxHttpRequest, pk: int, number: int) -> HttpResponse:
    """An earlier text, read-only, with what happened to its claims when it was replaced."""
    document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    if number == document.revision:
        return redirect(document.get_absolute_url())
    revision = selectors.document_revision_get(document=document, number=number)
    rows = selectors.revision_placements(document=document, number=number)
    context = {
        "document": document,
        "project": document.project,
        "revision": revision,
        "rows": rows,
        "counts": Counter(row.outcome for row in rows),
    }
    return render(request, REVISION_PAGE, context)


# --- re-anchoring ------------------------------------------------------------------------------


@dataclass
class ReanchorPanel:
    """The re-anchor panel's state on the claim page: a search and its results, or a
    refused re-anchoring (``form`` with errors)."""

    query: str = ""
    searched: bool = False
    passages: list[passages.Passage] = field(default_factory=list)
    previous: ClaimAnchor | None = None
    find_form: ReanchorFindForm | None = None
    form: ReanchorForm | None = None

    @property
    def exact_found(self) -> bool:
        return bool(self.passages) and self.passages[0].is_exact


def _claim_for_reanchor(request: HtmxHttpRequest, pk: int) -> Claim:
    claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
    access.claim_edit_require(
        claim=claim, membership=membership, user=request.user, action="re-anchor"
    )
    return claim


def _panel_response(
    request: HtmxHttpRequest, claim: Claim, panel: ReanchorPanel, partial: str, status: int = 200
) -> HttpResponse:
    """For htmx the panel's ``partial`` alone; else the whole claim page with the panel."""
    if request.htmx:
        context = {"claim": claim, "reanchor": panel, "can_reanchor": True}
        return render(request, f"{REANCHOR_PANEL}#{partial}", context)
    return render_claim_page(request, claim.pk, status=status, reanchor=panel)


@login_required
@require_GET
def reanchor_find(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """``?q=``: where the quote occurs in the current text (exact, else the nearest
    passages). Without ``q``, the claim's quote from before the last revision."""
    claim = _claim_for_reanchor(request, pk)
    previous = selectors.claim_previous_anchor(claim=claim)
    default = previous.exact if previous is not None else claim.exact
    form = ReanchorFindForm(request.GET if "q" in request.GET else {"q": default})
    panel = ReanchorPanel(previous=previous, find_form=form, searched=True)
    if form.is_valid():
        document, _ = access.document_get_for_user(user=request.user, pk=claim.document_id)
        panel.query = form.cleaned_data["q"]
        panel.passages = passages.find_passages(document.text, panel.query)
    return _panel_response(request, claim, panel, "reanchor-results")


@login_required
@require_POST
def claim_reanchor(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Anchor the claim to ``[start, end)`` of the current text (services.claim_reanchor)."""
    claim = _claim_for_reanchor(request, pk)
    form = ReanchorForm(request.POST)
    if form.is_valid():
        try:
            claim = services.claim_reanchor(claim=claim, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            # Published, withdrawn, or a judged claim moved to other words: say why.
            form.add_error(None, str(exc))
            panel = ReanchorPanel(form=form, previous=selectors.claim_previous_anchor(claim=claim))
            if request.htmx:
                return _panel_response(request, claim, panel, "reanchor-panel")
            return render_claim_page(
                request, claim.pk, notice=str(exc), level=messages.ERROR, status=409, reanchor=panel
            )
        else:
            messages.success(
                request,
                f"Re-anchored to characters {claim.start} to {claim.end} of the current text.",
            )
            return redirect_to(request, claim.get_absolute_url())
    panel = ReanchorPanel(form=form, previous=selectors.claim_previous_anchor(claim=claim))
    return _panel_response(request, claim, panel, "reanchor-panel", status=422)
