"""Documents (one or many at once) and their revisions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers as s
from annotations.api.filters import DocumentFilter
from annotations.api.idempotency import idempotent
from annotations.api.views._common import ERRORS, UnpreparedList, parse_body, project_from_body
from annotations.models import Document, Role


class DocumentListApi(UnpreparedList, generics.ListAPIView):
    serializer_class = s.DocumentSerializer
    filterset_class = DocumentFilter

    def get_queryset(self) -> QuerySet[Document]:
        return access.document_list_for_user(user=self.request.user).defer("text", "raw_text")

    @extend_schema(
        responses={
            200: s.DocumentSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @idempotent
    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="DocumentCreateOneOrMany",
            serializers=[s.DocumentCreateSerializer, s.DocumentCreateSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: PolymorphicProxySerializer(
                component_name="DocumentOneOrMany",
                serializers=[s.DocumentSerializer, s.DocumentSerializer(many=True)],
                resource_type_field_name=None,
                many=False,
            ),
            **ERRORS,
        },
        description="Create one document, or many at once (bulk import) by sending a JSON list. "
        "Needs the editor role. All or nothing: errors are keyed by list index.",
    )
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        if many and not 1 <= len(request.data) <= 1000:
            raise ValidationError({"detail": "Send between 1 and 1,000 documents per request."})
        # A bulk import of plain items skips DRF's per-field machinery (same checks, same
        # values); anything else goes through the serializer, which words the errors.
        items = s.documents_plain(request.data) if many else None
        if items is None:
            items = _validated_documents(request.data, many=many)
        project_ids = {item["project"] for item in items}
        if len(project_ids) != 1:
            raise ValidationError({"project": ["All documents of one request go to one project."]})
        project = project_from_body(request, project_ids.pop(), role=Role.EDITOR)
        inputs = [
            services.DocumentInput(
                **{key: value for key, value in item.items() if key != "project"}
            )
            for item in items
        ]
        if many:
            documents = services.document_create_many(
                project=project, items=inputs, actor=request.user
            )
        else:
            documents = [
                services.document_create(project=project, data=inputs[0], actor=request.user)
            ]
        data = [s.document_data(document) for document in documents]  # DocumentSerializer's
        return Response(data if many else data[0], status=status.HTTP_201_CREATED)


def _validated_documents(data: Any, *, many: bool) -> list[dict[str, Any]]:
    """The documents of a create request through ``DocumentCreateSerializer``: a list of
    one for a single document. A 400 names every field at fault, ``"<index>.<field>"`` for
    a bulk request."""
    serializer = s.DocumentCreateSerializer(data=data, many=many)
    if not serializer.is_valid():
        errors = serializer.errors
        if many:  # one error shape for every failure of a bulk request: "<index>.<field>"
            # DRF 3.18 keys a list serializer's errors by item index (a list before).
            per_item = errors.items() if isinstance(errors, dict) else enumerate(errors)
            errors = {
                f"{index}.{field}": messages
                for index, item in per_item
                if isinstance(item, dict)
                for field, messages in item.items()
            } or errors
        raise ValidationError(errors)
    return list(serializer.validated_data) if many else [serializer.validated_data]


class DocumentDetailApi(APIView):
    query_params = {"GET": ("include",)}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "include",
                str,
                enum=["claims"],
                description="include=claims adds the claims (any other value, an empty one "
                "included, is a 400)",
            )
        ],
        responses={200: s.DocumentDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        document, membership = access.document_get_for_user(user=request.user, pk=pk)
        include = request.query_params.get("include")  # ?include= is refused (query.py)
        if include not in (None, "claims"):
            raise ValidationError({"include": ["Only include=claims is supported."]})
        claims = None
        if include == "claims":
            claims = selectors.reader_claims_presented(
                document=document, user=request.user, membership=membership
            )
        # DocumentDetailSerializer's fields (the schema), written by hand: a tenth of a read.
        return Response(s.document_detail_data(document, claims))

    @extend_schema(
        request=s.DocumentUpdateSerializer,
        responses={200: s.DocumentSerializer, **ERRORS},
        description="Change the document's description (editors): title, source URL, publisher, "
        "author, published date, language (a BCP 47 tag) and direction. The text never changes "
        "here (a corrected text is a new revision). Recorded as a document.update event.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        document, _ = access.document_get_for_user(
            user=request.user, pk=pk, with_text=False, role=Role.EDITOR
        )
        data = parse_body(s.DocumentUpdateSerializer, request)
        updated = services.document_update(document=document, actor=request.user, **data)
        return Response(s.DocumentSerializer(updated).data)


class DocumentRevisionsApi(APIView):
    @extend_schema(
        responses={200: s.DocumentRevisionSerializer(many=True), **ERRORS},
        description="Superseded texts of the document, oldest first (the current text is the document's).",
    )
    def get(self, request: Request, pk: int) -> Response:
        document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
        revisions = document.revisions.select_related("superseded_by").defer("text", "raw_text")
        return Response(s.DocumentRevisionSerializer(revisions, many=True).data)

    @idempotent
    @extend_schema(
        request=s.RevisionCreateSerializer,
        responses={201: s.RevisionReportSerializer, **ERRORS},
        description="Replace the text with a corrected one (editors). The old text is kept; every claim is "
        "re-anchored and reported as unchanged, moved, changed (needs review) or orphaned.",
    )
    def post(self, request: Request, pk: int) -> Response:
        document, _ = access.document_get_for_user(
            user=request.user, pk=pk, with_text=False, role=Role.EDITOR
        )
        data = parse_body(s.RevisionCreateSerializer, request)
        report = services.document_revise(
            document=document, text=data["text"], actor=request.user, note=data.get("note", "")
        )
        return Response(s.RevisionReportSerializer(report).data, status=status.HTTP_201_CREATED)


class DocumentRevisionDetailApi(APIView):
    @extend_schema(responses={200: s.DocumentRevisionTextSerializer, **ERRORS})
    def get(self, request: Request, pk: int, number: int) -> Response:
        document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
        revision = document.revisions.select_related("superseded_by").filter(number=number).first()
        if revision is None:
            raise Http404
        return Response(s.DocumentRevisionTextSerializer(revision).data)
