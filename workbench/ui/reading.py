"""Reviewer web UI, reading side: projects, dashboard, documents, the reader and claim creation.

The reader's windows and highlights come from ``workbench.ui.reader``, the dashboard's
charts from ``workbench.ui.charts``; offsets are code points (see ``annotations.core.spans``).

htmx responses: fragment views answer 200 even with form errors, because htmx 2 does not
swap 4xx responses by default and the shared ``htmx-config`` keeps that default; a plain
browser POST with errors gets 422 and the full page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import reswap, retarget

from annotations import access, selectors, services
from annotations.core import spans
from annotations.models import Claim, Document, Membership, Role
from workbench.ui import charts
from workbench.ui.forms import ClaimCreateForm
from workbench.ui.htmx import HtmxHttpRequest, attach_errors, wants_fragment
from workbench.ui.live import live_context
from workbench.ui.reader import ReaderFilter, reader_context, window_start_around

DOCUMENTS_PER_PAGE = 25


# --- projects and dashboard ----------------------------------------------------------------


@login_required
@require_GET
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    projects = selectors.project_summaries_for_user(user=request.user)
    return render(request, "workbench/project_list.html", {"projects": projects})


@login_required
@require_GET
def project_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = access.project_get_for_user(user=request.user, slug=slug)
    dashboard = selectors.project_dashboard_get(project=project, user=request.user)
    # Blind review: a reviewer's figures leave out claims they have not judged yet.
    agreement = selectors.agreement_report(project=project, user=request.user)
    is_editor = access.is_editor(membership)
    return render(
        request,
        "workbench/project_detail.html",
        {
            "project": project,
            "membership": membership,
            "is_editor": is_editor,
            "is_project_admin": access.role_at_least(membership, Role.ADMIN),
            "dashboard": dashboard,
            "agreement": agreement,
            "percent_agreement": charts.percent(agreement.percent_agreement),
            # Per-reviewer match rates are a management view: editors and admins only.
            "reviewer_rows": charts.reviewer_rows(agreement) if is_editor else None,
            "verdict_chart": charts.verdict_chart(dashboard.verdict_distribution),
            "progress": charts.progress_chart(dashboard),
            "recent_documents": selectors.documents_recent_for_project(project=project),
            # Evidence: flagged sources the user may see; published checks resting on them.
            "sources_at_risk": selectors.sources_at_risk(user=request.user, project=project),
            "published_at_risk": list(selectors.published_claims_at_risk(project=project))
            if is_editor
            else [],
            "review_next_url": reverse("workbench:queue-next", kwargs={"slug": project.slug}),
            # The queue: what waits for this user, and what is past its deadline.
            "assigned_to_me": list(
                selectors.claims_assigned_to(user=request.user, project=project)[:20]
            ),
            "overdue": selectors.claims_overdue(project=project),
            "overdue_limit": selectors.OVERDUE_LIMIT,
            "disputes_url": reverse("workbench:disputes", kwargs={"slug": project.slug})
            if is_editor
            else None,
        }
        | live_context(project, "dashboard"),
    )


# --- documents -----------------------------------------------------------------------------


@login_required
@require_GET
def document_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = access.project_get_for_user(user=request.user, slug=slug)
    query = request.GET.get("q", "").strip()[:200]
    documents = selectors.document_search_for_user(user=request.user, project=project, query=query)
    page = Paginator(documents, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    template = "workbench/document_list.html"
    if wants_fragment(request):
        template += "#document-rows"
    response = render(
        request,
        template,
        {"project": project, "membership": membership, "query": query, "page": page},
    )
    # The same URL answers with a fragment or a page depending on these headers.
    patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
    return response


def _window_start(request: HtmxHttpRequest, document: Document) -> int:
    """The ``?start=`` of a window link: 0 by default, 404 unless inside the text."""
    raw = request.GET.get("start", "")
    if raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12) or int(raw) >= max(
        document.length, 1
    ):
        raise Http404("No such part of the document.")
    return int(raw)


@login_required
@require_GET
def document_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The reader. A long document comes in windows: the page holds the first (or the one
    at ``?start=``), and each window ends with a link to the next that htmx loads when it
    scrolls into view (``#reader-window``: the text plus the new claims, out of band).
    ``?status=<tone>`` and ``?mine=1`` filter the claims and their highlights (htmx swaps
    ``#reader``); ``?claim=1`` offers each sentence as a claim (no JavaScript needed)."""
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    start = _window_start(request, document)
    continuation = wants_fragment(request) and "start" in request.GET
    context = reader_context(
        document,
        membership,
        start=start,
        continuation=continuation,
        user=request.user,
        chosen=ReaderFilter.from_query(request.GET),
        claim_mode=request.GET.get("claim") == "1",
    )
    template = "workbench/document_detail.html"
    if continuation:
        template += "#reader-window"
    elif wants_fragment(request) and request.htmx.target == "reader":
        template += "#reader"  # a filter link: the text and the list, not the page
    else:
        context |= live_context(document.project, "reader", document=document)
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
    return response


# --- claim creation ------------------------------------------------------------------------


_SPAN_FIELDS = ("start", "end", "exact")


def _selector(form: ClaimCreateForm, document: Document) -> spans.Selector | None:
    """The server's selector for the form's span, or None; span errors go on the form."""
    if any(field in form.errors for field in _SPAN_FIELDS):  # .errors runs the validation
        return None
    data = form.cleaned_data
    try:
        return spans.make_selector(document.text, data["start"], data["end"], data["exact"])
    except spans.SpanError as err:
        form.add_error(err.field, err.message)
        return None


def _claim_form_response(
    request: HtmxHttpRequest,
    document: Document,
    form: ClaimCreateForm,
    selector: spans.Selector | None,
    *,
    duplicate_of: int | None = None,
) -> HttpResponse:
    context = {
        "document": document,
        "project": document.project,
        "form": form,
        "selector": selector,
        "claimant_options": selectors.claimant_datalist(project=document.project)
        if selector is not None
        else [],
        "in_reader": wants_fragment(request),
        "duplicate_of": duplicate_of,
        "duplicate_url": (
            reverse("workbench:claim-detail", kwargs={"pk": duplicate_of}) if duplicate_of else ""
        ),
    }
    if not wants_fragment(request):
        status = 409 if duplicate_of else 422 if form.errors else 200
        return render(request, "workbench/claim_form.html", context, status=status)
    response = render(request, "workbench/_claim_form.html", context)
    if request.method == "POST":
        # The form targets the whole reader on success; errors replace just the form.
        reswap(retarget(response, "#claim-form"), "outerHTML")
    return response


def claim_created(
    request: HtmxHttpRequest, document: Document, membership: Membership, claim: Claim, message: str
) -> HttpResponse:
    """After a claim is made from the reader (a selection, an accepted suggestion): for htmx
    the reader again, around the new claim and marking it; for a browser a redirect to it
    with ``message``."""
    if wants_fragment(request):
        context = reader_context(
            document,
            membership,
            created_claim_id=claim.pk,
            start=window_start_around(document, claim.start),
            user=request.user,
        )
        return render(request, "workbench/document_detail.html#reader", context)
    messages.success(request, message)
    return redirect(f"{document.get_absolute_url()}#claim-{claim.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def claim_create(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET ``?start=&end=[&exact=]``: the claim form for that span, quote prefilled.
    POST: create the claim (services.claim_create re-checks span and ``exact``)."""
    is_get = request.method == "GET"
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=is_get)
    if is_get:
        form = ClaimCreateForm(request.GET)
        selector = _selector(form, document)
        if selector is not None:
            form = ClaimCreateForm(
                initial={
                    "start": selector.start,
                    "end": selector.end,
                    "exact": selector.exact,
                    "statement": selector.exact,
                }
            )
        return _claim_form_response(request, document, form, selector)
    form = ClaimCreateForm(request.POST)
    duplicate_of = None
    if form.is_valid():
        try:
            claim = services.claim_create(
                document=document, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.DuplicateClaim as exc:
            # The same span and statement is already claimed: link to it, create nothing.
            duplicate_of = exc.existing_id
            form.add_error(None, "The same claim already exists on this span.")
        else:
            return claim_created(
                request, document, membership, claim, "Claim created; it is in the review queue."
            )
    # Show the quote again unless the span itself was wrong (loads the text, errors only).
    return _claim_form_response(
        request, document, form, _selector(form, document), duplicate_of=duplicate_of
    )
