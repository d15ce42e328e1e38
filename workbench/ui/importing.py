"""Reviewer web UI: importing documents, revising a document's text, re-anchoring claims.

Every view looks its object up through a selector (404 for non-members, 403 below the
role an action needs), binds a form, calls one service or selector, and renders. A plain
POST that succeeds redirects (post/redirect/get); htmx gets the fragment back
(``template#partial``), or a client redirect when the whole page changes. Fragments answer
200 even with form errors (htmx 2 does not swap 4xx responses under the shared
htmx-config); a plain POST with errors gets 422 and the full page.

Import is two steps: "Preview" reads the input (paste, upload or URL, fetched by the
safe fetcher) and shows the cleaned text, the metadata and what the cleaner removed,
writing nothing; "Import" stores exactly what was previewed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import access, selectors, services
from annotations.core import cleaning, fetching, passages
from annotations.models import Claim, ClaimAnchor, Document, Project, Role
from annotations.services import importing
from workbench.ui import reviewing
from workbench.ui.forms import (
    METADATA_FIELDS,
    SOURCE_FIELDS,
    DocumentImportForm,
    DocumentReviseForm,
    ReanchorFindForm,
    ReanchorForm,
    upload_limit,
)
from workbench.ui.htmx import HtmxHttpRequest, attach_errors, redirect_to, render_page_or_partial

IMPORT_PAGE = "workbench/document_import.html"
REVISE_PAGE = "workbench/document_revise.html"
REVISIONS_PAGE = "workbench/document_revisions.html"
REVISION_PAGE = "workbench/document_revision.html"
REANCHOR_PANEL = "workbench/_reanchor_panel.html"
# The preview shows the start of the cleaned text; the length says how much there is.
PREVIEW_CHARS = 4_000
# A JSONL batch reports each refused line as a message, up to this many.
MAX_LINE_MESSAGES = 50


# --- import ------------------------------------------------------------------------------------


def _read_source(form: DocumentImportForm) -> importing.RawSource:
    """The input of the form's paste, upload or URL. Raises FetchError or ValidationError.

    An upload or a fetched page travels from the preview to "Import" in a hidden field,
    and HTML cannot carry NUL (parsers turn it into U+FFFD; Django's form fields refuse
    it), so the page drops NUL from those at once: preview and import then see the same
    text. A pasted text is checked as typed (its field refuses NUL)."""
    data = form.cleaned_data
    if data.get("file"):
        upload = data["file"]
        source = importing.source_from_upload(name=upload.name, data=upload.read())
    elif data.get("url"):
        source = importing.source_from_url(data["url"])
    else:
        return importing.source_from_paste(text=data["text"], kind=data.get("kind") or "auto")
    return replace(source, content=cleaning.storable_raw_text(source.content))


def _preview(
    form: DocumentImportForm, project: Project, *, confirming: bool
) -> importing.ImportPreview | None:
    """The preview of the form's input, or None with the problems on the form. On "Import"
    (``confirming``) the previewed input is used; a new preview reads the input again."""
    # Metadata errors (say, a malformed date) do not stop the preview: they are shown next
    # to the fields the preview fills in.
    if not form.is_valid() and any(name not in METADATA_FIELDS for name in form.errors):
        return None
    source = None
    if confirming or not any(form.cleaned_data.get(name) for name in SOURCE_FIELDS):
        source = form.previewed_source()
    try:
        source = source or _read_source(form)
        return importing.import_preview(
            source=source, clean=form.cleaned_data["remove_junk"], project=project
        )
    except fetching.FetchError as exc:
        form.add_error("url", exc.message)
    except ValidationError as exc:
        attach_errors(form, exc)
    return None


def _previewed_form(form: DocumentImportForm, preview: importing.ImportPreview) -> Form:
    """The form again, carrying the previewed input (uploads and fetched pages; a pasted
    text stays in its box) and the extracted metadata in the fields the user left blank."""
    data = form.data.copy()
    source = preview.source
    carried = bool(source.url or source.name)
    # Replace (never extend) what an earlier preview carried: "Import" must store this one.
    data["raw"] = source.content if carried else ""
    data["raw_format"] = source.format if carried else ""
    data["raw_url"] = source.url if carried else ""
    data["raw_name"] = source.name if carried else ""
    extracted = {
        "title": preview.title,
        "author": preview.author,
        "publisher": preview.publisher,
        "published_date": preview.published.isoformat() if preview.published else "",
        "source_url": preview.source_url,
    }
    for name, value in extracted.items():
        if not data.get(name):
            data[name] = value
    return DocumentImportForm(data)


def _import_page(
    request: HtmxHttpRequest,
    project: Project,
    form: Form,
    preview: importing.ImportPreview | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {
        "project": project,
        "form": form,
        "preview": preview,
        "preview_text": preview.text[:PREVIEW_CHARS] if preview else "",
        "preview_truncated": bool(preview and preview.length > PREVIEW_CHARS),
        "upload_limit": upload_limit(),
    }
    return render_page_or_partial(request, IMPORT_PAGE, "import-preview", context, status=status)


def _batch_messages(request: HttpRequest, result: importing.BatchResult) -> None:
    messages.add_message(
        request,
        messages.SUCCESS if not result.failed else messages.WARNING,
        f"Imported {len(result.imported)}, skipped {len(result.duplicates)} duplicate(s), "
        f"failed {len(result.failed)}.",
    )
    lines = [(line, f"duplicate: {reason}") for line, reason in result.duplicates]
    lines += [(line, f"failed: {reason}") for line, reason in result.failed]
    for line, reason in sorted(lines)[:MAX_LINE_MESSAGES]:
        messages.warning(request, f"Line {line} {reason}")
    if len(lines) > MAX_LINE_MESSAGES:
        messages.warning(request, f"… and {len(lines) - MAX_LINE_MESSAGES} more lines.")


@login_required
@require_http_methods(["GET", "POST"])
def document_import(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """GET: the import form. POST ``action=preview``: the preview (writes nothing).
    POST ``action=import``: create the document(s) from the previewed input."""
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.EDITOR)
    if request.method == "GET":
        return _import_page(request, project, DocumentImportForm())
    form = DocumentImportForm(request.POST, request.FILES)
    confirming = request.POST.get("action") == "import"
    preview = _preview(form, project, confirming=confirming)
    if preview is None:
        return _import_page(request, project, form, status=422)
    if not confirming:
        return _import_page(request, project, _previewed_form(form, preview), preview)
    if form.errors:
        return _import_page(request, project, form, preview, status=422)
    if preview.is_batch:
        result = importing.documents_import_jsonl(
            project=project,
            preview=preview,
            actor=request.user,
            clean=form.cleaned_data["remove_junk"],
        )
        _batch_messages(request, result)
        return redirect_to(request, reverse("workbench:document-import", kwargs={"slug": slug}))
    try:
        document = importing.document_import(
            project=project, preview=preview, actor=request.user, **form.metadata()
        )
    except ValidationError as exc:
        # The posted form already carries the previewed input and the user's metadata.
        attach_errors(form, exc, non_field=("text",))
        return _import_page(request, project, form, preview, status=422)
    messages.success(request, f"Imported “{document.title}” ({document.length:,} characters).")
    return redirect_to(request, document.get_absolute_url())


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


def _claim_for_reanchor(request: HttpRequest, pk: int) -> Claim:
    claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
    access.claim_edit_require(
        claim=claim, membership=membership, user=request.user, action="re-anchor"
    )
    return claim


def _panel_response(
    request: HtmxHttpRequest, claim: Claim, panel: ReanchorPanel, partial: str, status: int = 200
) -> HttpResponse:
    if request.htmx:
        context = {"claim": claim, "reanchor": panel, "can_reanchor": True}
        return render(request, f"{REANCHOR_PANEL}#{partial}", context)
    return reviewing._claim_page(request, claim.pk, status=status, reanchor=panel)


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
        else:
            messages.success(
                request,
                f"Re-anchored to characters {claim.start} to {claim.end} of the current text.",
            )
            return redirect_to(request, claim.get_absolute_url())
    panel = ReanchorPanel(form=form, previous=selectors.claim_previous_anchor(claim=claim))
    return _panel_response(request, claim, panel, "reanchor-panel", status=422)


urlpatterns = [
    path("projects/<slug:slug>/import/", document_import, name="document-import"),
    path("documents/<int:pk>/revise/", document_revise, name="document-revise"),
    path("documents/<int:pk>/revisions/", document_revisions, name="document-revisions"),
    path("documents/<int:pk>/revisions/<int:number>/", document_revision, name="document-revision"),
    path("documents/<int:pk>/orphans/", document_orphans, name="document-orphans"),
    path("claims/<int:pk>/reanchor/find/", reanchor_find, name="claim-reanchor-find"),
    path("claims/<int:pk>/reanchor/", claim_reanchor, name="claim-reanchor"),
]
