"""REST API for importing documents (preview, import by text, HTML or URL) and for filling in
a cited source's title from its page. Thin like the other API views: parse, call a service
(``services.importing``, ``services.source_fetch_metadata``), serialize.

A URL is fetched by the safe fetcher; a refusal is a 400 ``{"url": [message], "code": …}``
with the fetcher's code (``blocked-address``, ``timeout``, ``too-large``, …). A text the
project already holds is a 400 ``{"text": [message], "code": "duplicate", "duplicate_of": id}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors
from annotations.api import serializers as s
from annotations.api.idempotency import idempotent
from annotations.api.views._common import ERRORS, parse_body, project_from_body
from annotations.core import fetching
from annotations.core.urlnorm import UrlError, check_url
from annotations.models import Document, Project, Role
from annotations.services import importing, limits, source_fetch_metadata

SOURCE_KEYS = ("text", "html", "url")


class ImportSourceSerializer(s.InputSerializer):
    project = serializers.IntegerField(help_text="The project to import into (editor role).")
    text = serializers.CharField(
        required=False, trim_whitespace=False, help_text="Plain text as scraped."
    )
    html = serializers.CharField(
        required=False, trim_whitespace=False, help_text="The HTML of a page."
    )
    url = s.LimitedCharField(
        required=False,
        max_length=limits.MAX_URL,
        help_text="An http(s) page, fetched by the server.",
    )
    clean = serializers.BooleanField(
        default=True, help_text="Remove scraped junk (CSS, ad scripts, feed footers)."
    )

    def validate_url(self, value: str) -> str:
        try:
            return check_url(value)
        except UrlError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [key for key in SOURCE_KEYS if attrs.get(key)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"detail": "Send exactly one of text, html or url (not empty)."}
            )
        return attrs


class DocumentImportSerializer(ImportSourceSerializer):
    title = s.LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_TITLE)
    author = s.LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_AUTHOR)
    publisher = s.LimitedCharField(
        required=False, allow_blank=True, max_length=limits.MAX_PUBLISHER
    )
    published_date = serializers.DateField(required=False, allow_null=True)
    source_url = s.LimitedCharField(required=False, allow_blank=True, max_length=limits.MAX_URL)


class RemovedPartSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="css, script, related-headline, feed-footer, source-marker, title, page-furniture"
    )
    text = serializers.CharField()
    line = serializers.IntegerField(
        allow_null=True,
        help_text="1-based first line in the cleaned input; null for HTML furniture",
    )


class ImportPreviewSerializer(serializers.Serializer):
    format = serializers.CharField(source="source.format")
    fetched_url = serializers.CharField(source="source.url")
    title = serializers.CharField()
    author = serializers.CharField()
    publisher = serializers.CharField()
    published = serializers.DateField(allow_null=True)
    source_url = serializers.CharField()
    language = serializers.CharField()
    text = serializers.CharField()
    length = serializers.IntegerField()
    removed = RemovedPartSerializer(many=True)
    duplicate_of = serializers.IntegerField(
        source="duplicate.pk",
        allow_null=True,
        default=None,
        help_text="The document that holds the same text",
    )


def _source(data: dict[str, Any]) -> importing.RawSource:
    if data.get("url"):
        try:
            return importing.source_from_url(data["url"])
        except fetching.FetchError as exc:
            raise ValidationError({"url": [exc.message], "code": exc.code}) from None
    if data.get("html"):
        return importing.RawSource(content=data["html"], format="html")
    return importing.RawSource(content=data["text"], format="text")


def _read(
    request: Request, serializer_class: type[ImportSourceSerializer]
) -> tuple[Project, dict[str, Any], importing.ImportPreview]:
    """The body, its project (editor role: 403 below it, 400 for a project the caller does
    not belong to) and the preview of its input. Fetches before anything else is done."""
    data = parse_body(serializer_class, request)
    project = project_from_body(request, data["project"], role=Role.EDITOR)
    preview = importing.import_preview(source=_source(data), clean=data["clean"], project=project)
    return project, data, preview


class DocumentPreviewApi(APIView):
    @extend_schema(
        request=ImportSourceSerializer,
        responses={200: ImportPreviewSerializer, **ERRORS},
        description="What importing would store, without writing anything: the cleaned text, the "
        "metadata found (HTML meta, Open Graph, JSON-LD; the feed footer for text), what the cleaner "
        "removed, and the document that already holds the same text, if any. Editors.",
    )
    def post(self, request: Request) -> Response:
        _, _, preview = _read(request, ImportSourceSerializer)
        return Response(ImportPreviewSerializer(preview).data)


def _read_import(
    view: APIView, request: Request
) -> tuple[Project, dict[str, Any], importing.ImportPreview]:
    return _read(request, DocumentImportSerializer)


class DocumentImportApi(APIView):
    # The fetch runs before the write's transaction opens (and not at all for a repeat).
    @idempotent(prepare=_read_import)
    @extend_schema(
        request=DocumentImportSerializer,
        responses={
            201: s.DocumentSerializer,
            400: OpenApiResponse(
                description='Invalid input; a duplicate is {"text": [...], "code": "duplicate", '
                '"duplicate_of": id}; a refused URL {"url": [...], "code": "<fetcher code>"}'
            ),
            **{code: response for code, response in ERRORS.items() if code != 400},
        },
        description="Import one document from text, HTML or a URL (fetched safely), cleaned and with "
        "its metadata; the fields given here replace what was extracted. Editors.",
    )
    def post(
        self,
        request: Request,
        prepared: tuple[Project, dict[str, Any], importing.ImportPreview],
    ) -> Response:
        project, data, preview = prepared
        overrides = {
            key: data.get(key) or ("" if key != "published_date" else None)
            for key in ("title", "author", "publisher", "published_date", "source_url")
        }
        try:
            document = importing.document_import(
                project=project, preview=preview, actor=request.user, **overrides
            )
        except DjangoValidationError as exc:
            if not importing.is_duplicate(exc):
                raise
            return _duplicate_response(exc, project, preview)
        return Response(s.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


def _duplicate_response(
    exc: DjangoValidationError, project: Project, preview: importing.ImportPreview
) -> Response:
    existing: Document | None = preview.duplicate or selectors.document_duplicate_get(
        project=project, text=preview.text
    )
    body = {
        "text": exc.message_dict["text"],
        "code": "duplicate",
        "duplicate_of": existing.pk if existing is not None else None,
    }
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class SourceFetchMetadataApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.SourceSerializer, **ERRORS},
        description="Fill the source's blank title, publisher and date from its page, fetched "
        "safely; what a person filled in is kept. For sources you created or that are cited by "
        "verdicts you may see (404 otherwise).",
    )
    def post(self, request: Request, pk: int) -> Response:
        source = access.source_get_for_user(user=request.user, pk=pk)
        parse_body(s.NoBodySerializer, request)
        try:
            source = source_fetch_metadata(source=source, actor=request.user)
        except DjangoValidationError as exc:
            errors = exc.error_dict.get("url", [])
            code = errors[0].code if errors else None
            return Response(
                {"url": exc.message_dict.get("url", exc.messages), "code": code},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(s.SourceSerializer(source).data)
