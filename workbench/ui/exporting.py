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

# format -> (content type, file name ending)
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "json"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "claimreview": ("application/ld+json", "claimreview.json"),
    "webannotation": (
        'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
        "webannotation.json",
    ),
}


def _filename(stem: str, fmt: str) -> str:
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{FORMATS[fmt][1]}"


def _download(body: str | Iterable[str], *, fmt: str, filename: str) -> HttpResponse:
    content_type = FORMATS[fmt][0]
    response: HttpResponse
    if isinstance(body, str):
        response = HttpResponse(body, content_type=content_type)
    else:
        response = StreamingHttpResponse(body, content_type=content_type)  # type: ignore[assignment]
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield export_mapping.json_dumps_safe(row) + "\n"


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
        body = _lines(selectors.project_rows(project=project, user=user))
    elif fmt == "json":
        body = _json_list(
            selectors.document_native(document=document, user=user)
            for document in _documents(project)
        )
    elif fmt == "claimreview":
        body = _json_list(
            _flatten(
                selectors.document_claimreview(document=document, user=user, request_base=base)
                for document in _documents(project)
            )
        )
    else:
        body = _json_list(
            _flatten(
                selectors.document_web_annotations(document=document, user=user, request_base=base)
                for document in _documents(project)
            )
        )
    return _download(body, fmt=fmt, filename=_filename(project.slug, fmt))


@login_required
@require_GET
def document_export(request: HtmxHttpRequest, pk: int, fmt: str) -> HttpResponse:
    """One document, as the API's document export (``json``, ``claimreview``,
    ``webannotation``), or its claims as JSON lines (the project rows of this document)."""
    if fmt not in FORMATS:
        raise Http404
    document, _ = access.document_get_for_user(user=request.user, pk=pk)
    user, base = request.user, _base(request)
    filename = _filename(f"{document.project.slug}-document-{document.pk}", fmt)
    if fmt == "jsonl":
        rows = (
            row
            for row in selectors.project_rows(project=document.project, user=user)
            if row["document"]["id"] == document.pk
        )
        return _download(_lines(rows), fmt=fmt, filename=filename)
    payload: Any
    if fmt == "json":
        payload = selectors.document_native(document=document, user=user)
    elif fmt == "claimreview":
        payload = selectors.document_claimreview(document=document, user=user, request_base=base)
    else:
        payload = selectors.document_web_annotations(
            document=document, user=user, request_base=base
        )
    return _download(export_mapping.json_dumps_safe(payload), fmt=fmt, filename=filename)
