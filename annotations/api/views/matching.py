"""Finding claims (issue 17): a project's references, matches for a text, a claim's links
to earlier fact checks, a document's repeat suggestions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, services
from annotations.api import serializers_matching as sm
from annotations.api.filters import ReferenceFilter
from annotations.api.views._common import ERRORS, parse_body
from annotations.core import matching
from annotations.models import LinkState, Reference, ReferenceOrigin, RepeatSuggestion
from annotations.selectors import matching as match_selectors
from annotations.services import limits

CONFLICT = {409: OpenApiResponse(description="The same link already exists")}


def _bulk_errors(errors: Any) -> Any:
    """A list serializer's errors keyed ``"<index>.<field>"`` (the documents' bulk shape)."""
    per_item = errors.items() if isinstance(errors, dict) else enumerate(errors)
    flat = {
        f"{index}.{field}": messages
        for index, item in per_item
        if isinstance(item, dict)
        for field, messages in item.items()
    }
    return flat or errors


class ProjectReferencesApi(generics.ListAPIView):
    """A project's references (earlier fact checks), oldest first in keyset pages."""

    serializer_class = sm.ReferenceSerializer
    filterset_class = ReferenceFilter

    def get_queryset(self) -> QuerySet[Reference]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator's call
            return Reference.objects.none()
        project, _ = access.project_get_for_user(user=self.request.user, pk=self.kwargs["pk"])
        return match_selectors.references_list(
            project_id=project.pk, q=self.request.query_params.get("q", "")
        )

    @extend_schema(
        responses={200: sm.ReferenceSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=sm.ReferenceCreateSerializer(many=True),
        responses={201: sm.ReferenceIdsSerializer, **ERRORS},
        description="Add earlier fact checks (a JSON list; at most "
        f"{limits.MAX_REFERENCES_PER_REQUEST:,}). Editors and admins. All or nothing: "
        "errors are keyed '<index>.<field>'. The ids come back in request order.",
    )
    def post(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(
            user=request.user, pk=pk, role=access.REFERENCES_WRITE_ROLE
        )
        if not isinstance(request.data, list):
            raise ValidationError({"detail": ["Send a JSON list of references."]})
        if not 1 <= len(request.data) <= limits.MAX_REFERENCES_PER_REQUEST:
            raise ValidationError(
                {
                    "detail": [
                        f"Send between 1 and {limits.MAX_REFERENCES_PER_REQUEST:,} references."
                    ]
                }
            )
        serializer = sm.ReferenceCreateSerializer(data=request.data, many=True)
        if not serializer.is_valid():
            raise ValidationError(_bulk_errors(serializer.errors))
        items = [services.ReferenceInput(**item) for item in serializer.validated_data]
        created = services.references_create(
            project=project, items=items, actor=request.user, origin=ReferenceOrigin.API
        )
        return Response({"ids": [row.pk for row in created]}, status=status.HTTP_201_CREATED)


class ProjectMatchesApi(APIView):
    @extend_schema(
        request=sm.MatchQuerySerializer,
        responses={200: sm.MatchResultsSerializer, **ERRORS},
        description="Earlier fact checks (references, published claims) and claims of the "
        "project that match a text, best first. A claim's rating shows only where the caller "
        "may see it (published, an editor, or a reviewer who has judged it). Flags mark "
        "matches whose numbers or negation differ from the text.",
    )
    def post(self, request: Request, pk: int) -> Response:
        project, membership = access.project_get_for_user(user=request.user, pk=pk)
        data = parse_body(sm.MatchQuerySerializer, request)
        rows = match_selectors.matches_for_user(
            project_id=project.pk,
            user=request.user,
            membership=membership,
            text=data["text"],
            limit=data["limit"],
        )
        return Response(
            {
                "results": sm.MatchSerializer(rows, many=True).data,
                "engine": match_selectors.engine_status()["note"],
            }
        )


class ClaimLinksApi(APIView):
    @extend_schema(responses={200: sm.ClaimLinkSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        rows = match_selectors.claim_links_for_user(
            claim=claim, user=request.user, membership=membership
        )
        return Response(sm.ClaimLinkSerializer(rows, many=True).data)

    @extend_schema(
        request=sm.ClaimLinkCreateSerializer,
        responses={201: sm.ClaimLinkSerializer, **CONFLICT, **ERRORS},
        description="Link the claim to an earlier fact check: a reference or an earlier "
        "claim of the project (the claim's creator or an editor). Nothing is merged.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        data = parse_body(sm.ClaimLinkCreateSerializer, request)
        reference = target = None
        if data["kind"] == match_selectors.REFERENCE:
            reference = access.reference_get_in_project(project_id=claim.project_id, pk=data["id"])
            if reference is None:
                raise ValidationError({"id": ["No reference with this id in the claim's project."]})
            text = reference.claim_reviewed
        else:
            target = access.link_target_claim_in_project(project_id=claim.project_id, pk=data["id"])
            if target is None:
                raise ValidationError({"id": ["No claim with this id in the claim's project."]})
            text = target.statement
        link = services.claim_link_create(
            claim=claim,
            actor=request.user,
            reference=reference,
            target=target,
            state=LinkState(data.get("state", LinkState.SUGGESTED)),
            flags=match_selectors.flags_of(matching.differences(claim.statement, text)),
        )
        row = next(
            r
            for r in match_selectors.claim_links_for_user(
                claim=claim, user=request.user, membership=membership
            )
            if r.link.pk == link.pk
        )
        return Response(sm.ClaimLinkSerializer(row).data, status=status.HTTP_201_CREATED)


class ClaimLinkDetailApi(APIView):
    @extend_schema(
        request=sm.ClaimLinkDecideSerializer,
        responses={200: sm.ClaimLinkSerializer, **ERRORS},
        description="Confirm or reject a link (the claim's creator or an editor); audited.",
    )
    def patch(self, request: Request, pk: int, link_pk: int) -> Response:
        claim, membership, link = access.claim_link_get_for_user(
            user=request.user, claim_pk=pk, pk=link_pk
        )
        data = parse_body(sm.ClaimLinkDecideSerializer, request)
        services.claim_link_decide(link=link, actor=request.user, state=LinkState(data["state"]))
        row = next(
            r
            for r in match_selectors.claim_links_for_user(
                claim=claim, user=request.user, membership=membership
            )
            if r.link.pk == link.pk
        )
        return Response(sm.ClaimLinkSerializer(row).data)


class DocumentRepeatsApi(APIView):
    @extend_schema(
        responses={200: sm.RepeatSerializer(many=True), **ERRORS},
        description="Sentences of the document's current text that repeat an earlier fact "
        "check (a reference or a published claim), found by the background scan.",
    )
    def get(self, request: Request, pk: int) -> Response:
        document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
        rows: QuerySet[RepeatSuggestion] = match_selectors.repeats_for_document(
            document_id=document.pk, revision=document.revision
        )
        return Response(sm.RepeatSerializer(rows, many=True).data)
