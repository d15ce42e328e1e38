"""The claimant registry (issue 17, deliverable 5): every member reads it and gets
autocomplete; editors and admins create claimants, rename them, add and remove aliases,
and merge two entries that are one person."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers as s
from annotations.api.views._common import ERRORS, parse_body
from annotations.core.numbers import NOT_ASCII_WHOLE_NUMBER, whole_number
from annotations.models import Claimant, ClaimantName, Role
from annotations.services import limits

MAX_SUGGESTIONS = 25
Q_PARAM = OpenApiParameter("q", OpenApiTypes.STR, description="A name or the start of one.")


def _query(request: Request) -> dict[str, str]:
    q = request.query_params.get("q", "")
    if len(q) > limits.MAX_CLAIMANT:
        raise ValidationError({"q": [f"At most {limits.MAX_CLAIMANT} characters."]})
    return {"q": q, "limit": request.query_params.get("limit", "")}


def _limit(raw: str, default: int) -> int:
    if raw == "":
        return default
    value = whole_number(raw)
    if value is None:
        raise ValidationError({"limit": [NOT_ASCII_WHOLE_NUMBER]})
    if not 1 <= value <= MAX_SUGGESTIONS:
        raise ValidationError({"limit": [f"Between 1 and {MAX_SUGGESTIONS}."]})
    return value


def _claimant(claimant: Claimant, *, aliases: list[ClaimantName], claims: int) -> dict[str, Any]:
    return {
        "id": claimant.pk,
        "project": claimant.project_id,
        "name": claimant.name,
        "kind": claimant.kind,
        "description": claimant.description,
        "aliases": [{"id": a.pk, "name": a.name} for a in aliases if not a.is_primary],
        "merged_into": claimant.merged_into_id,
        "claims": claims,
        "created_at": claimant.created_at,
    }


def _detail(request: Request, claimant: Claimant) -> dict[str, Any]:
    _, membership = access.claimant_get_for_user(user=request.user, pk=claimant.pk)
    page = selectors.claimant_page(claimant=claimant, user=request.user, membership=membership)
    data = _claimant(
        claimant,
        aliases=list(ClaimantName.objects.filter(claimant=claimant)),
        claims=len(page.claims),
    )
    data["recent_claims"] = [
        {
            "id": row.claim.pk,
            "document": row.claim.document_id,
            "statement": row.claim.statement,
            "claimant": row.claim.claimant,
            "status": row.claim.status,
            "rating": row.rating,
            "created_at": row.claim.created_at,
        }
        for row in page.claims
    ]
    data["repeats"] = [
        {"statement": r.statement, "claims": [c.pk for c in r.claims]} for r in page.repeats
    ]
    return data


class ProjectClaimantsApi(APIView):
    query_params = {"GET": ("q",)}
    pagination_class = None

    @extend_schema(
        parameters=[Q_PARAM],
        responses={200: s.ClaimantSerializer(many=True), **ERRORS},
        description="The project's claimants (merged ones left out) with their aliases and "
        "how many claims carry any of their names; `q` keeps those with a name starting so.",
    )
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        query = _query(request)
        registry = selectors.claimant_registry(project=project, query=query["q"])
        return Response(
            s.ClaimantSerializer(
                [
                    _claimant(e.claimant, aliases=list(e.claimant.names.all()), claims=e.claims)
                    for e in registry.entries
                ],
                many=True,
            ).data
        )

    @extend_schema(
        request=s.ClaimantCreateSerializer,
        responses={201: s.ClaimantDetailSerializer, **ERRORS},
        description="Register a claimant (editors and admins). A name or alias whose "
        "spelling (case, accents and punctuation aside) is already registered is a 400.",
    )
    def post(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.ClaimantCreateSerializer, request)
        claimant = services.claimant_create(project=project, actor=request.user, **data)
        return Response(
            s.ClaimantDetailSerializer(_detail(request, claimant)).data,
            status=status.HTTP_201_CREATED,
        )


class ProjectClaimantSuggestApi(APIView):
    query_params = {"GET": ("q", "limit")}

    @extend_schema(
        parameters=[
            Q_PARAM,
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_SUGGESTIONS}."),
        ],
        responses={200: s.ClaimantSuggestionsSerializer, **ERRORS},
        description="Autocomplete for a claimant field: registered names and aliases (an "
        "alias suggests its claimant's name) first, then names used on claims only.",
    )
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        query = _query(request)
        found = selectors.claimant_suggestions(
            project=project, query=query["q"], limit=_limit(query["limit"], 10)
        )
        return Response(
            s.ClaimantSuggestionsSerializer(
                {"results": [{"name": f.name, "claimant": f.claimant_id} for f in found]}
            ).data
        )


class ClaimantDetailApi(APIView):
    @extend_schema(responses={200: s.ClaimantDetailSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        claimant, _ = access.claimant_get_for_user(user=request.user, pk=pk)
        return Response(s.ClaimantDetailSerializer(_detail(request, claimant)).data)

    @extend_schema(
        request=s.ClaimantUpdateSerializer,
        responses={200: s.ClaimantDetailSerializer, **ERRORS},
        description="Rename (the old name stays as an alias), change the kind or the "
        "description. Editors and admins.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        claimant, _ = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.ClaimantUpdateSerializer, request)
        claimant = services.claimant_update(claimant=claimant, actor=request.user, **data)
        return Response(s.ClaimantDetailSerializer(_detail(request, claimant)).data)


class ClaimantAliasesApi(APIView):
    @extend_schema(
        request=s.ClaimantAliasCreateSerializer,
        responses={201: s.ClaimantAliasSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        claimant, _ = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.ClaimantAliasCreateSerializer, request)
        alias = services.claimant_alias_add(
            claimant=claimant, name=data["name"], actor=request.user
        )
        return Response(
            s.ClaimantAliasSerializer({"id": alias.pk, "name": alias.name}).data,
            status=status.HTTP_201_CREATED,
        )


class ClaimantAliasDetailApi(APIView):
    @extend_schema(request=None, responses={204: None, **ERRORS})
    def delete(self, request: Request, pk: int, alias_pk: int) -> Response:
        claimant, _ = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        parse_body(s.NoBodySerializer, request)
        services.claimant_alias_remove(claimant=claimant, alias_id=alias_pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimantMergeApi(APIView):
    @extend_schema(
        request=s.ClaimantMergeSerializer,
        responses={200: s.ClaimantDetailSerializer, **ERRORS},
        description="This claimant and `into` are one person: its names become aliases of "
        "`into`, and it points there from now on. Same project; editors and admins.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claimant, _ = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.ClaimantMergeSerializer, request)
        into = Claimant.objects.filter(pk=data["into"], project_id=claimant.project_id).first()
        if into is None:
            raise ValidationError(
                {"into": [f"No claimant with id {data['into']} in this project."]}
            )
        target = services.claimant_merge(claimant=claimant, into=into, actor=request.user)
        return Response(s.ClaimantDetailSerializer(_detail(request, target)).data)


__all__ = [
    "ClaimantAliasDetailApi",
    "ClaimantAliasesApi",
    "ClaimantDetailApi",
    "ClaimantMergeApi",
    "ProjectClaimantSuggestApi",
    "ProjectClaimantsApi",
]
