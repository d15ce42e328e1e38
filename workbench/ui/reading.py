"""Reviewer web UI, reading side: projects, dashboard, documents, the reader and claim creation.

Offsets in this module are code points (see ``annotations.core.spans``). The reader's
JavaScript (``static/workbench/reader.js``) converts browser selections, which JS counts
in UTF-16 code units, to code points before it asks for the claim form; the server
re-validates every offset and quote.

htmx responses: fragment views answer 200 even with form errors, because htmx 2 does not
swap 4xx responses by default and the shared ``htmx-config`` keeps that default; a plain
browser POST with errors gets 422 and the full page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import reswap, retarget

from annotations import access, selectors, services
from annotations.core import spans
from annotations.models import Claim, ClaimStatus, Document, Membership
from workbench.ui.forms import ClaimCreateForm
from workbench.ui.htmx import HtmxHttpRequest, attach_errors, wants_fragment

DOCUMENTS_PER_PAGE = 25
# Deeper overlaps share the darkest highlight; the data-claims list still names them all.
MAX_DEPTH_CLASS = 4
# The reader renders a long document in windows of this many code points (cut at a line
# end), so a book-length text never becomes one multi-megabyte page.
READER_WINDOW = 50_000
# … and at most about this many claims per window (the HTML grows with them too).
READER_MAX_CLAIMS = 250


def _optional_url(name: str, **kwargs: object) -> str | None:
    """The URL if the view exists (the review side may not be installed yet), else None."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


# --- projects and dashboard ----------------------------------------------------------------


@login_required
@require_GET
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    projects = selectors.project_summaries_for_user(user=request.user)
    return render(request, "workbench/project_list.html", {"projects": projects})


@dataclass(frozen=True, slots=True)
class ChartBar:
    label: str
    count: int
    y: int
    text_y: int
    width: int
    value_x: int
    tone: str  # CSS class suffix: "o1" (lowest ordinal) … "o5" (highest), "none"


@dataclass(frozen=True, slots=True)
class ProgressSegment:
    status: str
    label: str
    count: int
    x: int
    width: int


_LABEL_WIDTH = 130
_BAR_MAX = 240
_ROW = 26
_PROGRESS_WIDTH = 400
_PROGRESS_ORDER = ("published", "resolved", "disputed", "in_review")


def _verdict_chart(distribution: list[selectors.RatingCount]) -> dict[str, object]:
    """Geometry of the horizontal bar chart (SVG user units) of verdict ratings."""
    peak = max((row.count for row in distribution), default=0)
    ordinals = [row.ordinal for row in distribution if row.ordinal is not None]
    low, high = (min(ordinals), max(ordinals)) if ordinals else (0, 0)
    bars = []
    for index, row in enumerate(distribution):
        width = round(row.count / peak * _BAR_MAX) if peak else 0
        tone = "none"
        if row.ordinal is not None:
            # Map whatever ordinal range the scale uses onto five colours, false → true.
            tone = f"o{1 + round((row.ordinal - low) / (high - low) * 4) if high > low else 3}"
        y = index * _ROW + 4
        bars.append(
            ChartBar(
                label=row.label,
                count=row.count,
                y=y,
                text_y=y + 14,
                width=width,
                value_x=_LABEL_WIDTH + width + 6,
                tone=tone,
            )
        )
    return {
        "bars": bars,
        "width": _LABEL_WIDTH + _BAR_MAX + 50,
        "height": len(bars) * _ROW + 8,
        "label_x": _LABEL_WIDTH - 8,
        "bar_x": _LABEL_WIDTH,
    }


def _progress_chart(dashboard: selectors.ProjectDashboard) -> dict[str, object]:
    """A stacked bar of the non-withdrawn claims by status; widths add up to the full bar."""
    counts = {row.status: row for row in dashboard.status_counts}
    total = dashboard.active_claims
    segments, done = [], 0
    for status in _PROGRESS_ORDER:
        row = counts[status]
        x = round(done / total * _PROGRESS_WIDTH) if total else 0
        done += row.count
        end = round(done / total * _PROGRESS_WIDTH) if total else 0
        if end > x:
            segments.append(ProgressSegment(row.status, row.label, row.count, x, end - x))
    return {
        "segments": segments,
        "width": _PROGRESS_WIDTH,
        "done": dashboard.done_claims,
        "total": total,
        "percent": round(dashboard.done_claims / total * 100) if total else 0,
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    username: str
    verdicts: int
    compared: int
    matched: int
    match_percent: float | None


def _reviewer_rows(report: selectors.AgreementReport) -> list[ReviewerRow]:
    return [
        ReviewerRow(
            username=row.username,
            verdicts=row.verdicts,
            compared=row.compared,
            matched=row.matched_consensus,
            match_percent=_percent(row.matched_consensus / row.compared) if row.compared else None,
        )
        for row in sorted(report.reviewers, key=lambda row: row.username)
    ]


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
            "dashboard": dashboard,
            "agreement": agreement,
            "percent_agreement": _percent(agreement.percent_agreement),
            # Per-reviewer match rates are a management view: editors and admins only.
            "reviewer_rows": _reviewer_rows(agreement) if is_editor else None,
            "verdict_chart": _verdict_chart(dashboard.verdict_distribution),
            "progress": _progress_chart(dashboard),
            "recent_documents": selectors.documents_recent_for_project(project=project),
            "review_next_url": _optional_url("workbench:queue-next", slug=project.slug),
            "disputes_url": _optional_url("workbench:disputes", slug=project.slug)
            if is_editor
            else None,
        },
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


@dataclass(frozen=True, slots=True)
class ReaderSegment:
    """One run of a paragraph as the reader shows it."""

    text: str
    claim_ids: str  # space-separated ids of the covering claims ("" for plain text)
    # "claim depth-N" (N live claims) or "claim withdrawn" (withdrawn claims only), plus
    # "starts"/"ends" where a claim begins or ends
    css: str
    link_id: int | None  # the innermost covering claim, the no-JavaScript link target
    title: str = ""  # names the withdrawn claims among the covering ones; "" if none


def _withdrawn_title(withdrawn: int, live: int) -> str:
    if not withdrawn:
        return ""
    if not live:
        return "Withdrawn claim" if withdrawn == 1 else f"{withdrawn} withdrawn claims"
    return (
        "Includes a withdrawn claim" if withdrawn == 1 else f"Includes {withdrawn} withdrawn claims"
    )


@dataclass(frozen=True, slots=True)
class ReaderParagraph:
    start: int  # code point offset of the first character, for the JavaScript
    segments: list[ReaderSegment]


def _reader_paragraphs(text: str, claims: list[Claim], offset: int = 0) -> list[ReaderParagraph]:
    """Paragraphs of ``text``, which starts at code point ``offset`` of the document (a
    reader window); claims reaching outside the window are clipped to it, but "starts" and
    "ends" mark only their real ends."""
    window_end = offset + len(text)
    bounds = {claim.pk: (claim.start - offset, claim.end - offset) for claim in claims}
    withdrawn = {claim.pk for claim in claims if claim.status == ClaimStatus.WITHDRAWN}
    clipped = [
        (c.pk, max(c.start, offset) - offset, min(c.end, window_end) - offset) for c in claims
    ]
    paragraphs = []
    for paragraph in spans.segment(text, [span for span in clipped if span[1] < span[2]]):
        if not paragraph.segments:  # an empty line
            continue
        segments = []
        for segment in paragraph.segments:
            keys = segment.span_keys
            if not keys:
                segments.append(ReaderSegment(segment.text, "", "", None))
                continue
            # A withdrawn claim keeps its highlight (its history is kept) but must not look
            # live: it adds no depth and no edges to live claims' highlights, and where it
            # is all there is the run gets the muted "withdrawn" style instead.
            live = [key for key in keys if key not in withdrawn]
            shown = live or keys
            css = ["claim", f"depth-{min(len(live), MAX_DEPTH_CLASS)}" if live else "withdrawn"]
            if any(bounds[key][0] == segment.start for key in shown):
                css.append("starts")
            if any(bounds[key][1] == segment.end for key in shown):
                css.append("ends")
            innermost = min(shown, key=lambda key: (bounds[key][1] - bounds[key][0], key))
            segments.append(
                ReaderSegment(
                    segment.text,
                    " ".join(str(key) for key in keys),
                    " ".join(css),
                    innermost,
                    _withdrawn_title(len(keys) - len(live), len(live)),
                )
            )
        paragraphs.append(ReaderParagraph(offset + paragraph.start, segments))
    return paragraphs


@dataclass(frozen=True, slots=True)
class ReaderWindow:
    """The part ``[start, end)`` of a document's text that one response renders."""

    start: int
    end: int
    next_start: int | None  # where the next window begins; None at the end of the text
    text: str


def _reader_window(document: Document, start: int) -> ReaderWindow:
    """The window of about READER_WINDOW code points from ``start``, cut after the last line
    end in it (a line longer than half a window is cut mid-line; offsets stay exact).
    Only the window's text is read from the database."""
    end = min(document.length, start + READER_WINDOW)
    text = selectors.document_text_window(document=document, start=start, end=end)
    if end < document.length:
        cut = text.rfind("\n")
        if cut >= READER_WINDOW // 2:
            text = text[: cut + 1]
            end = start + cut + 1
    return ReaderWindow(start, end, end if end < document.length else None, text)


def _window_shortened(
    window: ReaderWindow, claims: list[Claim]
) -> tuple[ReaderWindow, list[Claim]]:
    """A densely annotated window ends before its READER_MAX_CLAIMS-th claim starts (at a
    line end when there is one), so its HTML stays bounded however many claims there are."""
    limit = claims[READER_MAX_CLAIMS].start - window.start
    if limit <= 0:  # that many claims start at the very first character: keep them all
        return window, claims
    cut = window.text.rfind("\n", 0, limit)
    end = window.start + (cut + 1 if cut >= 0 else limit)
    kept = [claim for claim in claims if claim.start < end]
    return ReaderWindow(window.start, end, end, window.text[: end - window.start]), kept


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


def _window_start_around(document: Document, offset: int) -> int:
    """A window start shortly before ``offset``: the start of its line when that is near
    (one window for a short document, so the whole text shows as before)."""
    if document.length <= READER_WINDOW:
        return 0
    base = max(0, offset - READER_WINDOW // 4)
    before = selectors.document_text_window(document=document, start=base, end=offset)
    cut = before.rfind("\n")
    return base + cut + 1 if cut >= 0 else base


def _reader_context(
    document: Document,
    membership: Membership,
    created_claim_id: int | None = None,
    *,
    start: int = 0,
    continuation: bool = False,
) -> dict[str, object]:
    """The reader for the window at ``start``. A ``continuation`` (the next window fetched
    by htmx under the previous one) lists only the claims that begin in it: those that
    began earlier are already in the page's claim list."""
    window = _reader_window(document, start)
    claims = list(
        selectors.claims_for_reader(document=document, start=window.start, end=window.end)
    )
    if len(claims) > READER_MAX_CLAIMS:
        window, claims = _window_shortened(window, claims)
    listed = [c for c in claims if c.start >= window.start] if continuation else claims
    whole = window.start == 0 and window.next_start is None
    url = document.get_absolute_url()
    return {
        "document": document,
        "project": document.project,
        "membership": membership,
        "is_editor": access.is_editor(membership),
        "claims": listed,
        "claim_total": len(claims)
        if whole
        else selectors.claims_for_reader(document=document).count(),
        "paragraphs": _reader_paragraphs(window.text, claims, window.start),
        "window": window,
        "windowed": not whole,
        "continuation": continuation,
        "next_url": f"{url}?start={window.next_start}" if window.next_start is not None else "",
        "created_claim_id": created_claim_id,
    }


@login_required
@require_GET
def document_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The reader. A long document comes in windows: the page holds the first (or the one
    at ``?start=``), and each window ends with a link to the next that htmx loads when it
    scrolls into view (``#reader-window``: the text plus the new claims, out of band)."""
    document, membership = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
    start = _window_start(request, document)
    if wants_fragment(request) and "start" in request.GET:
        context = _reader_context(document, membership, start=start, continuation=True)
        response = render(request, "workbench/document_detail.html#reader-window", context)
    else:
        context = _reader_context(document, membership, start=start)
        response = render(request, "workbench/document_detail.html", context)
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
) -> HttpResponse:
    context = {
        "document": document,
        "project": document.project,
        "form": form,
        "selector": selector,
        "in_reader": wants_fragment(request),
    }
    if not wants_fragment(request):
        status = 422 if form.errors else 200
        return render(request, "workbench/claim_form.html", context, status=status)
    response = render(request, "workbench/_claim_form.html", context)
    if request.method == "POST":
        # The form targets the whole reader on success; errors replace just the form.
        reswap(retarget(response, "#claim-form"), "outerHTML")
    return response


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
    if form.is_valid():
        try:
            claim = services.claim_create(
                document=document, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if wants_fragment(request):
                context = _reader_context(
                    document,
                    membership,
                    created_claim_id=claim.pk,
                    start=_window_start_around(document, claim.start),
                )
                return render(request, "workbench/document_detail.html#reader", context)
            messages.success(request, "Claim created; it is in the review queue.")
            return redirect(f"{document.get_absolute_url()}#claim-{claim.pk}")
    # Show the quote again unless the span itself was wrong (loads the text, errors only).
    return _claim_form_response(request, document, form, _selector(form, document))


urlpatterns = [
    path("", project_list, name="project-list"),
    path("projects/<slug:slug>/", project_detail, name="project-detail"),
    path("projects/<slug:slug>/documents/", document_list, name="document-list"),
    path("documents/<int:pk>/", document_detail, name="document-detail"),
    path("documents/<int:pk>/claims/new/", claim_create, name="claim-create"),
]
