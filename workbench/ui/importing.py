"""Reviewer web UI: importing documents into a project.

The view looks the project up through ``annotations.access`` (editors only), binds the
form, calls the import services, and renders. A plain POST that succeeds redirects
(post/redirect/get); htmx gets the preview fragment back (``template#partial``), or a
client redirect when the whole page changes. The fragment answers 200 even with form
errors (htmx 2 does not swap 4xx responses under the shared htmx-config); a plain POST
with errors gets 422 and the full page.

Import is two steps: "Preview" reads the input (paste, upload or URL, fetched by the
safe fetcher) and shows the cleaned text, the metadata and what the cleaner removed,
writing nothing; "Import" stores exactly what was previewed.
"""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotations import access
from annotations.core import cleaning, fetching
from annotations.models import Project, Role
from annotations.services import importing
from workbench.ui.forms import METADATA_FIELDS, SOURCE_FIELDS, DocumentImportForm, upload_limit
from workbench.ui.htmx import HtmxHttpRequest, attach_errors, redirect_to, render_page_or_partial

IMPORT_PAGE = "workbench/document_import.html"
# The preview shows the start of the cleaned text; the length says how much there is.
PREVIEW_CHARS = 4_000
# A JSONL batch reports each refused line as a message, up to this many.
MAX_LINE_MESSAGES = 50


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
