"""Claims anchored to spans: create, list, read, edit (If-Match), revise, re-anchor.

A claim's ETag is its ``version``, which counts changes of its own fields (statement,
claimant, span); status and consensus changes leave it alone. If-Match guards exactly
what PATCH and revise write; whether the claim's state still allows the write (frozen
once judged, never in place once published) is checked under the row lock (409).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers as s
from annotations.api.filters import ClaimFilter
from annotations.api.idempotency import idempotent
from annotations.api.views._common import ERRORS, claim_reloaded, etag, if_match_version, parse_body
from annotations.dbcursor import unprepared
from annotations.models import Claim

# PATCH and revise both write what the claim's version guards.
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The claim's current ETag (its version)",
)


class ClaimListApi(generics.ListAPIView):
    serializer_class = s.ClaimSerializer
    filterset_class = ClaimFilter

    def get_queryset(self) -> QuerySet[Claim]:
        return selectors.claims_with_consensus(access.claim_list_for_user(user=self.request.user))

    def paginate_queryset(self, queryset: Any) -> list[Claim] | None:
        # The page as the caller is shown it: gold claims mask for reviewers (one query).
        page = super().paginate_queryset(queryset)
        if page is not None:
            access.claims_present_for(user=self.request.user, claims=page)
        return page

    @extend_schema(
        responses={
            200: s.ClaimSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # ClaimSerializer's answer (the schema above), each claim written by claim_data.
        # Unprepared: a generic plan of the status filter sorts a big project's claims.
        with unprepared():
            queryset = self.filter_queryset(self.get_queryset())
            page = self.paginate_queryset(queryset)
            zone = s.current_zone()
            if page is None:
                return Response([s.claim_data(claim, zone=zone) for claim in queryset])
            return self.get_paginated_response([s.claim_data(claim, zone=zone) for claim in page])

    @idempotent
    @extend_schema(
        request=s.ClaimCreateSerializer,
        responses={
            201: s.ClaimSerializer,
            409: OpenApiResponse(
                s.DuplicateClaimSerializer,
                description="The same claim (span and statement) is already there: "
                '{"detail": ..., "existing": {"id": ..., "url": ...}}',
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = parse_body(s.ClaimCreateSerializer, request)
        try:
            claim = services.claim_create_as_member(
                user=request.user, document_id=data.pop("document"), **data
            )
        except Http404:
            raise ValidationError(
                {"document": ["No document with this id in your projects."]}
            ) from None
        # ClaimSerializer's answer (its schema above), without its per-request field building.
        return Response(s.claim_data(claim), status=status.HTTP_201_CREATED)


class ClaimDetailApi(APIView):
    @extend_schema(responses={200: s.ClaimSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        # The claim as the lookup read it, with its creator: presented without a second read.
        (claim,) = selectors.loaded_claims_presented(
            [claim], user=request.user, membership=membership
        )
        return Response(s.claim_data(claim), headers={"ETag": etag(claim)})

    @extend_schema(
        request=s.ClaimUpdateSerializer,
        parameters=[IF_MATCH],
        responses={
            200: s.ClaimSerializer,
            409: OpenApiResponse(
                description="Frozen: the claim has verdicts (an editor revises it), or it is "
                "published (corrections come through the publishing workflow) or withdrawn"
            ),
            412: OpenApiResponse(description="Stale version"),
            428: OpenApiResponse(description="If-Match missing"),
            **ERRORS,
        },
        description="Edit the statement or claimant in place: the creator or an editor, only "
        "until the first verdict.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        access.claim_edit_require(claim=claim, membership=membership, user=request.user)
        expected = if_match_version(request)
        data = parse_body(s.ClaimUpdateSerializer, request)
        claim = services.claim_update(
            claim=claim, actor=request.user, expected_version=expected, **data
        )
        return Response(s.claim_data(claim), headers={"ETag": etag(claim)})


class ClaimReviseApi(APIView):
    @extend_schema(
        request=s.ClaimReviseSerializer,
        parameters=[IF_MATCH],
        responses={
            200: s.ClaimSerializer,
            409: OpenApiResponse(description="Published or withdrawn: not revised in place"),
            412: OpenApiResponse(description="Stale version"),
            428: OpenApiResponse(description="If-Match missing"),
            **ERRORS,
        },
        description="Revise a claim (editors): the current statement, claimant and span are "
        "kept as a claim version, every verdict stays with the version it judged, and the "
        "claim returns to review for fresh verdicts. `start`/`end` (optional `exact`) "
        "re-anchor the new version on the current text.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        access.claim_revise_require(membership=membership)
        expected = if_match_version(request)
        data = parse_body(s.ClaimReviseSerializer, request)
        claim = services.claim_revise(
            claim=claim, actor=request.user, expected_version=expected, **data
        )
        return Response(
            s.claim_data(claim_reloaded(claim, request.user)),
            headers={"ETag": etag(claim)},
        )


class ClaimReanchorApi(APIView):
    @extend_schema(
        request=s.ReanchorSerializer,
        responses={
            200: s.ClaimSerializer,
            409: OpenApiResponse(description="Published, withdrawn, or judged text changed"),
            **ERRORS,
        },
        description="Anchor the claim to [start, end) of the current text by hand (orphans, and "
        "claims whose text changed inside). Creator or editor. A published claim is never "
        "re-anchored (409); a judged one only to the same quoted text (409 otherwise: revise it).",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        data = parse_body(s.ReanchorSerializer, request)
        claim = services.claim_reanchor(claim=claim, actor=request.user, **data)
        return Response(
            s.claim_data(claim_reloaded(claim, request.user)),
            headers={"ETag": etag(claim)},
        )
