"""Gold calibration and reviewer statistics (issue 18): editors and admins only.

A reviewer never reaches these (403), a non-member gets 404: nothing here is shown to
the reviewers whose calibration it records.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers as s
from annotations.api.views._common import ERRORS, parse_body
from annotations.models import Claim, GoldClaim, Role
from annotations.services.calibration import NOT_GOLD


def _gold_data(claim: Claim, gold: GoldClaim) -> dict[str, object]:
    return s.GoldClaimSerializer(
        {
            "claim": claim.pk,
            "rating": gold.rating.key,
            "note": gold.note,
            "marked_by": gold.marked_by.get_username(),
            "marked_at": gold.marked_at,
            "calibration_verdicts": selectors.calibration_verdicts_of(claim=claim),
        }
    ).data


class ClaimGoldApi(APIView):
    @extend_schema(
        responses={200: s.GoldClaimSerializer, **ERRORS},
        description="The claim's gold mark and the calibration verdicts given on it (editors "
        "and admins; 404 when the claim is not gold).",
    )
    def get(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        gold = selectors.gold_of_claim(claim=claim)
        if gold is None:
            return Response({"detail": NOT_GOLD}, status=status.HTTP_404_NOT_FOUND)
        return Response(_gold_data(claim, gold))

    @extend_schema(
        request=s.GoldMarkSerializer,
        responses={
            200: s.GoldClaimSerializer,
            409: OpenApiResponse(description="The claim is not resolved"),
            **ERRORS,
        },
        description="Mark a resolved claim as gold with its expected rating (default: its "
        "consensus rating), or change the mark. The queue then serves it to reviewers who "
        "have not judged it, at the project's gold_rate, as an ordinary claim in review.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.GoldMarkSerializer, request)
        gold = services.gold_mark(
            claim=claim, actor=request.user, rating=data.get("rating"), note=data.get("note", "")
        )
        return Response(_gold_data(claim, gold))

    @extend_schema(
        request=None,
        responses={204: None, 409: OpenApiResponse(description="Not gold"), **ERRORS},
        description="Take the gold mark off (its calibration verdicts are kept).",
    )
    def delete(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        parse_body(s.NoBodySerializer, request)
        services.gold_unmark(claim=claim, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectReviewersApi(APIView):
    @extend_schema(
        responses={200: s.ReviewerStatisticsSerializer, **ERRORS},
        description="Per member: verdicts, median seconds from lease to verdict, skip and "
        "expiry rates (of their queue entries), agreement of their blind verdicts with the "
        "final consensus, pairwise ordinal Krippendorff's alpha, accuracy on gold claims. "
        "Editors and admins.",
    )
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        figures = selectors.reviewer_statistics(project=project)
        return Response(
            s.ReviewerStatisticsSerializer(
                {"gold_rate": project.gold_rate, "reviewers": [vars(row) for row in figures]}
            ).data
        )
