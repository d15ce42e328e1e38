"""Reviewer web UI, finding claims (issue 17): the references page, the matches shown while
a claim is created and on its page ("Possibly already checked"), linking a claim to an
earlier fact check, and the repeat suggestions of a document (reader) and a project
(dashboard). The fragments are loaded by htmx when they scroll into view
(``hx-trigger="revealed"``), so the reader, the claim page and the dashboard pay nothing
for them until then; each has a plain page behind its URL for browsers without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotations import access, services
from annotations.core import matching
from annotations.models import LinkState
from annotations.selectors import matching as match_selectors
from workbench.ui.forms import ClaimLinkForm, LinkDecideForm, MatchTextForm, ReferenceSearchForm
from workbench.ui.htmx import HtmxHttpRequest, wants_fragment

MATCHES_SHOWN = 5


@login_required
@require_GET
def reference_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = access.project_get_for_user(user=request.user, slug=slug)
    form = ReferenceSearchForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    references = match_selectors.references_list(project_id=project.pk, q=q)[:200]
    context = {
        "project": project,
        "membership": membership,
        "form": form,
        "q": q,
        "references": references,
        "can_add": access.is_editor(membership),
        "engine": match_selectors.engine_status(),
    }
    return render(request, "workbench/reference_list.html", context)


@login_required
@require_GET
def document_matches(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Matches for the text being claimed in the reader (``?text=``)."""
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    form = MatchTextForm(request.GET)
    rows = []
    if form.is_valid():
        rows = match_selectors.matches_for_user(
            project_id=document.project_id,
            user=request.user,
            membership=membership,
            text=form.cleaned_data["text"],
            limit=MATCHES_SHOWN,
        )
    context = {"matches": rows, "document": document, "claim": None, "can_link": False}
    template = "workbench/_matches.html"
    if not wants_fragment(request):
        context["project"] = document.project
        template = "workbench/matches_page.html"
    return render(request, template, context)


def _claim_matches_context(request: HtmxHttpRequest, pk: int) -> dict[str, object]:
    claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
    linked = match_selectors.claim_links_for_user(
        claim=claim, user=request.user, membership=membership
    )
    already = {(row.kind, row.target_id) for row in linked}
    rows = [
        row
        for row in match_selectors.matches_for_user(
            project_id=claim.project_id,
            user=request.user,
            membership=membership,
            text=claim.statement,
            limit=MATCHES_SHOWN,
            exclude_claim_id=claim.pk,
        )
        if (row.kind, row.id) not in already
    ]
    return {
        "claim": claim,
        "project": claim.project,
        "matches": rows,
        "links": linked,
        "can_link": access.claim_creator_or_editor(
            claim=claim, membership=membership, user=request.user
        ),
        "engine": match_selectors.engine_status(),
    }


def _claim_matches_response(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    context = _claim_matches_context(request, pk)
    if wants_fragment(request):
        return render(request, "workbench/_claim_matches.html", context)
    return render(request, "workbench/matches_page.html", context)


@login_required
@require_GET
def claim_matches(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The claim page's "Possibly already checked" section: its links and its matches."""
    return _claim_matches_response(request, pk)


@login_required
@require_POST
def claim_link(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    form = ClaimLinkForm(request.POST)
    if not form.is_valid():
        raise Http404
    kind, target_id = form.cleaned_data["kind"], form.cleaned_data["id"]
    reference = target = None
    if kind == "reference":
        reference = access.reference_get_in_project(project_id=claim.project_id, pk=target_id)
        text = reference.claim_reviewed if reference else ""
    else:
        target = access.link_target_claim_in_project(project_id=claim.project_id, pk=target_id)
        text = target.statement if target else ""
    if reference is None and target is None:
        raise Http404
    try:
        services.claim_link_create(
            claim=claim,
            actor=request.user,
            reference=reference,
            target=target,
            state=LinkState.CONFIRMED,
            flags=match_selectors.flags_of(matching.differences(claim.statement, text)),
        )
    except (ValidationError, services.QueueConflict) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    except PermissionDenied:
        raise
    return _after_link_change(request, pk)


@login_required
@require_POST
def claim_link_decide(request: HtmxHttpRequest, pk: int, link_pk: int) -> HttpResponse:
    _, _, link = access.claim_link_get_for_user(user=request.user, claim_pk=pk, pk=link_pk)
    form = LinkDecideForm(request.POST)
    if not form.is_valid():
        raise Http404
    services.claim_link_decide(
        link=link, actor=request.user, state=LinkState(form.cleaned_data["state"])
    )
    return _after_link_change(request, pk)


def _after_link_change(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if wants_fragment(request):
        return _claim_matches_response(request, pk)
    return redirect("workbench:claim-matches", pk=pk)


@login_required
@require_GET
def document_repeats(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The reader's list of sentences that repeat an earlier fact check."""
    document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    repeats = list(
        match_selectors.repeats_for_document(document_id=document.pk, revision=document.revision)
    )
    context = {"document": document, "project": document.project, "repeats": repeats}
    if wants_fragment(request):
        return render(request, "workbench/_repeat_list.html", context)
    return render(request, "workbench/repeats_page.html", context)


@login_required
@require_GET
def project_repeats(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The dashboard's list of the latest repeat suggestions across the project."""
    project, _ = access.project_get_for_user(user=request.user, slug=slug)
    repeats = list(match_selectors.repeats_for_project(project_id=project.pk))
    context = {"project": project, "repeats": repeats, "document": None}
    if wants_fragment(request):
        return render(request, "workbench/_repeat_list.html", context)
    return render(request, "workbench/repeats_page.html", context)
