"""Exports: one document (native JSON, ClaimReview, Web Annotation), a whole project
(streamed JSON lines), or a project's audit log with its hashes (streamed JSON lines)."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from annotations import access, selectors
from annotations.api.views._common import ERRORS
from annotations.core import export_mapping
from annotations.models import Role

# ClaimReview and Web Annotation exports are JSON-LD arrays of nodes.
JSON_LD_LIST = {"type": "array", "items": {"type": "object", "additionalProperties": True}}


class DocumentExportApi(APIView):
    query_params = {"GET": ("format",)}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format", str, enum=list(selectors.DOCUMENT_EXPORT_FORMATS), default="json"
            )
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/ld+json"): JSON_LD_LIST,
            (200, 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'): JSON_LD_LIST,
            **ERRORS,
        },
        description="One document: native JSON (`workbench-export/1`, lossless), schema.org ClaimReview "
        "JSON-LD for resolved/published claims, or W3C Web Annotations (one per claim). Verdicts obey blind "
        "review.",
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document, _ = access.document_get_for_user(user=request.user, pk=pk)
        fmt = request.query_params.get("format", "json")
        if fmt not in selectors.DOCUMENT_EXPORT_FORMATS:
            formats = ", ".join(selectors.DOCUMENT_EXPORT_FORMATS)
            raise ValidationError({"format": [f"Use one of {formats}."]})
        payload = selectors.document_export(
            document=document,
            user=request.user,
            fmt=fmt,
            request_base=f"{request.scheme}://{request.get_host()}",
        )
        response = HttpResponse(
            export_mapping.json_dumps_safe(payload),
            content_type=selectors.EXPORT_CONTENT_TYPES[fmt],
        )
        response["Content-Disposition"] = f'inline; filename="document-{document.pk}-{fmt}.json"'
        return response


class ProjectExportApi(APIView):
    query_params = {"GET": ("format",)}

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["jsonl"], default="jsonl")],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, **ERRORS},
        description="Every claim of the project as one JSON line (streamed through database cursors, constant memory), "
        "with the verdicts you may see, their sources and the current consensus.",
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        fmt = request.query_params.get("format", "jsonl")
        if fmt != "jsonl":
            raise ValidationError({"format": ["Only format=jsonl is offered for a whole project."]})
        rows = selectors.project_rows(project=project, user=request.user)
        chunks = export_mapping.jsonl_chunks(rows, label=f"export of project {project.pk}")
        response = StreamingHttpResponse(
            chunks, content_type=selectors.EXPORT_CONTENT_TYPES["jsonl"]
        )
        response["Content-Disposition"] = f'attachment; filename="{project.slug}.jsonl"'
        return response


class ProjectAuditApi(APIView):
    @extend_schema(
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, **ERRORS},
        description="The project's audit log, streamed as JSON lines (editors and admins: events "
        "carry verdicts' contents and who wrote them). The first line names the project and the "
        "chain's head (`seq`, `hash`); each further line is one event with its `seq`, `prev_hash` "
        "and `hash`, so it can be checked without the database: `manage.py verify_audit --file "
        "audit.jsonl`.",
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        rows = selectors.audit_rows(project=project)
        chunks = export_mapping.jsonl_chunks(rows, label=f"audit log of project {project.pk}")
        response = StreamingHttpResponse(
            chunks, content_type=selectors.EXPORT_CONTENT_TYPES["jsonl"]
        )
        response["Content-Disposition"] = f'attachment; filename="{project.slug}-audit.jsonl"'
        return response
