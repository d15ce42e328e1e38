"""Export downloads behind the "Export" menus of the dashboard and the document page.

The API's export endpoints answer scripts (``/api/v1/documents/{id}/export/`` shows its
JSON inline, the project offers only JSON lines); these routes serve the same selectors as
file downloads named ``<project-slug>-<date>.<format>`` (a document's:
``<project-slug>-document-<id>-<date>.<format>``), with the caller's session. Members
only (Http404 otherwise, from ``access``); blind review applies as in every export: the
selectors include only the verdicts the caller may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from annotations import access, selectors
from annotations.core import export_mapping
from annotations.models import Document, Project
from workbench.ui.htmx import HtmxHttpRequest

# format -> file name ending (the content types: ``selectors.EXPORT_CONTENT_TYPES``)
FORMATS: dict[str, str] = {
    "json": "json",
    "jsonl": "jsonl",
    "claimreview": "claimreview.json",
    "webannotation": "webannotation.json",
}


def _filename(stem: str, fmt: str) -> str:
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{FORMATS[fmt]}"


def _download(body: str | Iterable[str], *, fmt: str, filename: str) -> HttpResponse:
    content_type = selectors.EXPORT_CONTENT_TYPES[fmt]
    response: HttpResponse
    if isinstance(body, str):
        response = HttpResponse(body, content_type=content_type)
    else:
        response = StreamingHttpResponse(body, content_type=content_type)  # type: ignore[assignment]
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _base(request: HtmxHttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _documents(project: Project) -> Iterator[Document]:
    """The project's documents one at a time (texts are large: never all in memory)."""
    for pk in Document.objects.filter(project=project).order_by("pk").values_list("pk", flat=True):
        yield Document.objects.select_related("project").get(pk=pk)


def _json_list(items: Iterable[Any]) -> Iterator[str]:
    """A JSON array written item by item (each item is one document's export)."""
    yield "["
    for index, item in enumerate(items):
        yield ("," if index else "") + "\n" + export_mapping.json_dumps_safe(item)
    yield "\n]\n"


def _flatten(lists: Iterable[list[Any]]) -> Iterator[Any]:
    for items in lists:
        yield from items


@login_required
@require_GET
def project_export(request: HtmxHttpRequest, slug: str, fmt: str) -> HttpResponse:
    """The whole project: ``json`` is the list of the documents' native exports
    (``workbench-export/1``, as ``export_project --format json-v1``), ``jsonl`` one claim
    row per line (as the API), ``claimreview`` the published fact checks of every
    document, ``webannotation`` one annotation per claim of every document."""
    if fmt not in FORMATS:
        raise Http404
    project, _ = access.project_get_for_user(user=request.user, slug=slug)
    user, base = request.user, _base(request)
    body: Iterable[str]
    if fmt == "jsonl":
        body = export_mapping.jsonl_chunks(
            selectors.project_rows(project=project, user=user),
            label=f"download of project {project.pk}",
        )
    else:
        # One document's export after the other: the native ones as a list, the JSON-LD
        # node lists of ClaimReview and Web Annotation joined into one list.
        payloads = (
            selectors.document_export(document=document, user=user, fmt=fmt, request_base=base)
            for document in _documents(project)
        )
        body = _json_list(payloads if fmt == "json" else _flatten(payloads))
    return _download(body, fmt=fmt, filename=_filename(project.slug, fmt))


@login_required
@require_GET
def document_export(request: HtmxHttpRequest, pk: int, fmt: str) -> HttpResponse:
    """One document, as the API's document export (``json``, ``claimreview``,
    ``webannotation``), or its claims as JSON lines (the project's rows of this document)."""
    if fmt not in FORMATS:
        raise Http404
    document, _ = access.document_get_for_user(user=request.user, pk=pk)
    user, base = request.user, _base(request)
    filename = _filename(f"{document.project.slug}-document-{document.pk}", fmt)
    if fmt == "jsonl":
        rows = selectors.project_rows(project=document.project, user=user, document=document)
        return _download(
            export_mapping.jsonl_chunks(rows, label=f"download of document {document.pk}"),
            fmt=fmt,
            filename=filename,
        )
    payload = selectors.document_export(document=document, user=user, fmt=fmt, request_base=base)
    return _download(export_mapping.json_dumps_safe(payload), fmt=fmt, filename=filename)
