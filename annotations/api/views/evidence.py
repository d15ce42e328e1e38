"""REST API for evidence (issue 16): a source's snapshots, a new snapshot on demand, a
snapshot's archived text and its WARC file. A snapshot is visible exactly where its
source is (``access.snapshot_get_for_user``): 404 for anyone else, blind review included."""

from __future__ import annotations

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers as s
from annotations.api.views._common import ERRORS, parse_body
from annotations.models import SourceSnapshot


class SnapshotQueuedSerializer(serializers.Serializer[dict[str, object]]):
    source = serializers.IntegerField(read_only=True)
    queued = serializers.BooleanField(read_only=True)


class SourceSnapshotsApi(APIView):
    @extend_schema(
        responses={200: s.SnapshotSerializer(many=True), **ERRORS},
        description="The source's snapshots, newest first (metadata; the text is in the "
        "snapshot's own answer). For sources you may see (404 otherwise).",
    )
    def get(self, request: Request, pk: int) -> Response:
        source = access.source_get_for_user(user=request.user, pk=pk)
        snapshots = selectors.snapshots_of_source(source_id=source.pk)
        return Response(s.SnapshotSerializer(snapshots, many=True).data)

    @extend_schema(
        request=None,
        responses={202: SnapshotQueuedSerializer, **ERRORS},
        description="Queue a new snapshot of the source (its citer or an editor: 403 for "
        "others who may see it, 404 for the rest). The background worker fetches it; its "
        "outcome appears in the list.",
    )
    def post(self, request: Request, pk: int) -> Response:
        source = access.source_get_for_user(user=request.user, pk=pk)
        access.snapshot_request_require(user=request.user, source=source)
        parse_body(s.NoBodySerializer, request)  # the permission first, then the body
        services.snapshot_request(source=source, actor=request.user)
        return Response({"source": source.pk, "queued": True}, status=status.HTTP_202_ACCEPTED)


class SnapshotDetailApi(APIView):
    @extend_schema(
        responses={200: s.SnapshotDetailSerializer, **ERRORS},
        description="A snapshot with the page's archived main text, as plain text.",
    )
    def get(self, request: Request, pk: int) -> Response:
        snapshot = access.snapshot_get_for_user(user=request.user, pk=pk)
        return Response(s.SnapshotDetailSerializer(snapshot).data)


class SnapshotWarcApi(APIView):
    @extend_schema(
        responses={
            (200, "application/warc"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="Not found, or no WARC (the fetch failed)."),
            **{code: value for code, value in ERRORS.items() if code != 404},
        },
        description="The snapshot's WARC file (one gzipped response record), as an attachment.",
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        snapshot = access.snapshot_get_for_user(user=request.user, pk=pk)
        return warc_response(snapshot)


def warc_response(snapshot: SourceSnapshot) -> FileResponse:
    """The WARC file of ``snapshot`` (access checked by the caller) as an attachment; 404
    when there is none (the fetch failed)."""
    handle = selectors.warc_open(snapshot)
    if handle is None:
        raise Http404
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"snapshot-{snapshot.pk}.warc.gz",
        content_type="application/warc",
    )
