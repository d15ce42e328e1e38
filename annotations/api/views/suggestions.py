"""Check-worthiness suggestions of a document: list, accept (a claim on the exact span),
dismiss (with a reason)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, services
from annotations.api import serializers as s
from annotations.api.query import BOOLEAN_VALUES, bool_param
from annotations.api.views._common import ERRORS, parse_body

CONFLICT = OpenApiResponse(description="The sentence was already accepted or dismissed")


class DocumentSuggestionsApi(APIView):
    query_params = {"GET": ("all",)}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "all",
                bool,
                description="True: every sentence scored, each with its status (else the "
                f"best TRIAGE_TOP_N open ones): {BOOLEAN_VALUES}.",
            )
        ],
        responses={
            200: s.SuggestionListSerializer,
            400: ERRORS[400],
            401: ERRORS[401],
            404: ERRORS[404],
        },
        description="Sentences of the document's current text ranked by check-worthiness, best "
        "first. Spans are code points, like a claim's start/end. By default the best "
        "TRIAGE_TOP_N sentences that are still open (not overlapped by a claim that is not "
        "withdrawn, not accepted or dismissed); ?all=1 lists every sentence with its status.",
    )
    def get(self, request: Request, pk: int) -> Response:
        document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
        everything = bool_param(request, "all") or False
        rows = services.suggestions_list(document=document, everything=everything)
        data = s.SuggestionListSerializer({"results": rows}).data
        return Response(data)


class DocumentSuggestionAcceptApi(APIView):
    @extend_schema(
        request=s.SuggestionAcceptSerializer,
        responses={
            201: s.SuggestionAcceptedSerializer,
            409: OpenApiResponse(
                description="Already decided, or the same claim exists "
                '({"detail", "existing": {"id", "url"}})'
            ),
            **ERRORS,
        },
        description="Accept a suggested sentence: a claim on exactly its span (the checks of "
        "POST /claims/) and an accepted decision. Any member of the project.",
    )
    def post(self, request: Request, pk: int) -> Response:
        # The lookup first: a non-member gets the 404 whatever the body.
        document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
        data = parse_body(s.SuggestionAcceptSerializer, request)
        decision, claim = services.suggestion_accept(document=document, actor=request.user, **data)
        body = s.SuggestionAcceptedSerializer({"decision": decision, "claim": claim}).data
        return Response(body, status=status.HTTP_201_CREATED)


class DocumentSuggestionDismissApi(APIView):
    @extend_schema(
        request=s.SuggestionDismissSerializer,
        responses={201: s.SuggestionDecisionSerializer, 409: CONFLICT, **ERRORS},
        description="Dismiss a suggested sentence with a reason (editors and admins).",
    )
    def post(self, request: Request, pk: int) -> Response:
        # The lookup first: a non-member gets the 404 whatever the body.
        document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
        data = parse_body(s.SuggestionDismissSerializer, request)
        decision = services.suggestion_dismiss(document=document, actor=request.user, **data)
        return Response(
            s.SuggestionDecisionSerializer(decision).data, status=status.HTTP_201_CREATED
        )
