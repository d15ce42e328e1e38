"""REST API views (``/api/v1/``). Thin: parse, call a selector or a service, serialize.

Every object is looked up through the caller's memberships (``selectors``): a
non-member gets 404, a member without the needed role 403. Objects named in a request
*body* that the caller cannot see are a 400 on that field, never a hint they exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers as s
from annotations.api.exceptions import PreconditionRequired
from annotations.api.filters import ClaimFilter, DocumentFilter
from annotations.api.permissions import TokenRateThrottle
from annotations.core import export_mapping
from annotations.models import Claim, Document, Project, Role

ERRORS = {
    400: OpenApiResponse(description="Invalid input: {field: [message]}"),
    401: OpenApiResponse(description="Not authenticated"),
    403: OpenApiResponse(description="Role too low for this action"),
    404: OpenApiResponse(description="Not found, or not a member of the project"),
}

logger = logging.getLogger(__name__)


def _int_param(request: Request, name: str, *, required: bool = False) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if required:
            raise ValidationError({name: ["This query parameter is required."]})
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if not 0 < value < 2**63:
        raise ValidationError({name: ["Out of range."]})
    return value


def _body(
    serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any
) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- auth ----------------------------------------------------------------------------------


class TokenApi(APIView):
    """Exchange a username and password for an API token (``Authorization: Token …``).

    The only view open to anonymous callers. Throttled per address, and failed passwords
    count towards the django-axes lockout of the login page (429 once locked out)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [TokenRateThrottle]

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={
            200: s.TokenSerializer,
            400: ERRORS[400],
            429: OpenApiResponse(description="Too many attempts; try again later"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # authenticate() gets Django's request, on which django-axes marks a lockout that
        # its middleware turns into a 429.
        serializer = AuthTokenSerializer(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


# --- projects --------------------------------------------------------------------------------


class ProjectListApi(generics.ListAPIView):
    serializer_class = s.ProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        return access.projects_for_user(user=self.request.user).prefetch_related("ratings")

    def get_serializer_context(self) -> dict[str, Any]:
        return {
            **super().get_serializer_context(),
            "roles": access.roles_by_project(user=self.request.user),
        }

    @extend_schema(
        responses={
            200: s.ProjectSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
            404: OpenApiResponse(description="Invalid cursor"),
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.ProjectCreateSerializer, responses={201: s.ProjectSerializer, **ERRORS}
    )
    def post(self, request: Request) -> Response:
        if not access.can_open_project(request.user):
            raise PermissionDenied(access.OPEN_PROJECT)
        data = _body(s.ProjectCreateSerializer, request)
        project = services.project_create(creator=request.user, **data)
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    def _context(self, request: Request) -> dict[str, Any]:
        return {"request": request, "roles": access.roles_by_project(user=request.user)}

    @extend_schema(responses={200: s.ProjectSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        return Response(s.ProjectSerializer(project, context=self._context(request)).data)

    @extend_schema(
        request=s.ProjectUpdateSerializer, responses={200: s.ProjectSerializer, **ERRORS}
    )
    def patch(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        data = _body(s.ProjectUpdateSerializer, request, partial=True)
        project = services.project_update(project=project, actor=request.user, **data)
        return Response(s.ProjectSerializer(project, context=self._context(request)).data)


class ProjectMembersApi(APIView):
    pagination_class = None

    @extend_schema(responses={200: s.MemberSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        members = project.memberships.select_related("user").order_by("user__username")
        return Response(s.MemberSerializer(members, many=True).data)

    @extend_schema(request=s.MemberAddSerializer, responses={201: s.MemberSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        data = _body(s.MemberAddSerializer, request)
        user = get_user_model().objects.filter(username=data["username"], is_active=True).first()
        if user is None:
            raise ValidationError({"username": [f"No active user {data['username']!r}."]})
        membership = services.member_add(
            project=project, user=user, role=data["role"], actor=request.user
        )
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class ProjectAgreementApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("document", int, description="Only this document's claims")],
        responses={200: s.AgreementSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        document = None
        document_id = _int_param(request, "document")
        if document_id is not None:
            document = Document.objects.filter(pk=document_id, project=project).only("pk").first()
            if document is None:
                raise ValidationError({"document": ["No such document in this project."]})
        report = selectors.agreement_report(project=project, document=document, user=request.user)
        return Response(
            {
                "krippendorff_alpha": {
                    "nominal": report.nominal_alpha,
                    "ordinal": report.ordinal_alpha,
                },
                "percent_agreement": report.percent_agreement,
                "claims": report.claims,
                "verdicts": report.verdicts,
                "reviewers": [vars(row) for row in report.reviewers],
            }
        )


# --- documents -------------------------------------------------------------------------------


class DocumentListApi(generics.ListAPIView):
    serializer_class = s.DocumentSerializer
    filterset_class = DocumentFilter

    def get_queryset(self) -> QuerySet[Document]:
        return access.document_list_for_user(user=self.request.user).defer("text", "raw_text")

    @extend_schema(
        responses={
            200: s.DocumentSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
            404: OpenApiResponse(description="Invalid cursor"),
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

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
        serializer = s.DocumentCreateSerializer(data=request.data, many=many)
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
        items = serializer.validated_data if many else [serializer.validated_data]
        project_ids = {item["project"] for item in items}
        if len(project_ids) != 1:
            raise ValidationError({"project": ["All documents of one request go to one project."]})
        project = _project_from_body(request, project_ids.pop(), role=Role.EDITOR)
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
        data = s.DocumentSerializer(documents, many=True).data
        return Response(data if many else data[0], status=status.HTTP_201_CREATED)


def _project_from_body(request: Request, project_id: int, *, role: Role) -> Project:
    try:
        project, _ = access.project_get_for_user(user=request.user, pk=project_id, role=role)
    except Http404:
        raise ValidationError(
            {"project": [f"No project with id {project_id} that you belong to."]}
        ) from None
    return project


class DocumentDetailApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "include", str, enum=["claims"], description="include=claims adds the claims"
            )
        ],
        responses={200: s.DocumentDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        document, _ = access.document_get_for_user(user=request.user, pk=pk)
        include = request.query_params.get("include", "")
        if include not in ("", "claims"):
            raise ValidationError({"include": ["Only include=claims is supported."]})
        claims = None
        if include == "claims":
            claims = selectors.claims_with_consensus(selectors.claims_for_reader(document=document))
        return Response(s.DocumentDetailSerializer(document, context={"claims": claims}).data)


# --- claims ----------------------------------------------------------------------------------


class ClaimListApi(generics.ListAPIView):
    serializer_class = s.ClaimSerializer
    filterset_class = ClaimFilter

    def get_queryset(self) -> QuerySet[Claim]:
        return selectors.claims_with_consensus(access.claim_list_for_user(user=self.request.user))

    @extend_schema(
        responses={
            200: s.ClaimSerializer(many=True),
            400: ERRORS[400],
            401: ERRORS[401],
            404: OpenApiResponse(description="Invalid cursor"),
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.ClaimCreateSerializer, responses={201: s.ClaimSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        data = _body(s.ClaimCreateSerializer, request)
        try:
            document, _ = access.document_get_for_user(
                user=request.user, pk=data.pop("document"), with_text=False
            )
        except Http404:
            raise ValidationError(
                {"document": ["No document with this id in your projects."]}
            ) from None
        claim = services.claim_create(document=document, actor=request.user, **data)
        return Response(s.ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)


def _etag(claim: Claim) -> str:
    return f'"{claim.version}"'


def _if_match_version(request: Request) -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired()
    value = header.strip().removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise ValidationError(
            {"If-Match": ['Send the claim\'s ETag, e.g. If-Match: "3".']}
        ) from None


class ClaimDetailApi(APIView):
    @extend_schema(responses={200: s.ClaimSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        claim = selectors.claims_with_consensus(Claim.objects.filter(pk=claim.pk)).get()
        return Response(s.ClaimSerializer(claim).data, headers={"ETag": _etag(claim)})

    @extend_schema(
        request=s.ClaimUpdateSerializer,
        parameters=[
            OpenApiParameter(
                "If-Match",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="The claim's current ETag (its version)",
            )
        ],
        responses={
            200: s.ClaimSerializer,
            412: OpenApiResponse(description="Stale version"),
            428: OpenApiResponse(description="If-Match missing"),
            **ERRORS,
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        access.claim_edit_require(claim=claim, membership=membership, user=request.user)
        expected = _if_match_version(request)
        data = _body(s.ClaimUpdateSerializer, request)
        claim = services.claim_update(
            claim=claim, actor=request.user, expected_version=expected, **data
        )
        return Response(s.ClaimSerializer(claim).data, headers={"ETag": _etag(claim)})


class QueueNextApi(APIView):
    @extend_schema(
        request=s.QueueNextSerializer,
        responses={
            200: s.LeaseSerializer,
            204: OpenApiResponse(description="Nothing to review"),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(s.QueueNextSerializer, request)
        project = _project_from_body(request, data["project"], role=Role.REVIEWER)
        assignment = services.lease_next(reviewer=request.user, project=project)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        claim = selectors.claims_with_consensus(Claim.objects.filter(pk=assignment.claim_id)).get()
        return Response(
            {"claim": s.ClaimSerializer(claim).data, "lease_expires_at": assignment.expires_at}
        )


class ClaimReleaseApi(APIView):
    @extend_schema(
        request=None, responses={204: None, 409: OpenApiResponse(description="No lease"), **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        services.lease_release(claim=claim, reviewer=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimSkipApi(APIView):
    @extend_schema(
        request=s.ReasonSerializer,
        responses={204: None, 409: OpenApiResponse(description="Conflict"), **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        data = _body(s.ReasonSerializer, request)
        services.claim_skip(claim=claim, reviewer=request.user, reason=data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimVerdictsApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("history", bool, description="Include superseded revisions")],
        responses={200: s.VerdictSerializer(many=True), **ERRORS},
        description="Verdicts on the claim that you may see: blind review shows a reviewer only their "
        "own until they have submitted; editors and admins see all.",
    )
    def get(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        history = request.query_params.get("history", "").lower() in ("1", "true")
        verdicts = selectors.verdicts_visible_to(
            user=request.user, claim=claim, membership=membership, include_history=history
        )
        return Response(s.VerdictSerializer(verdicts, many=True).data)

    @extend_schema(
        request=s.VerdictCreateSerializer,
        responses={
            201: s.VerdictSerializer,
            409: OpenApiResponse(description="No lease, or closed"),
            **ERRORS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        data = _body(s.VerdictCreateSerializer, request)
        citations = [
            services.CitationInput(
                stance=c["stance"],
                url=c.get("url") or "",
                source_id=c.get("source"),
                quote=c.get("quote", ""),
            )
            for c in data.get("citations", [])
        ]
        verdict = services.verdict_submit(
            claim=claim,
            reviewer=request.user,
            rating=data["rating"],
            confidence=data["confidence"],
            rationale=data.get("rationale", ""),
            citations=citations,
        )
        return Response(s.VerdictSerializer(verdict).data, status=status.HTTP_201_CREATED)


class ClaimConsensusApi(APIView):
    @extend_schema(responses={200: s.ConsensusSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        return Response(
            s.ConsensusSerializer(selectors.consensus_history(claim=claim), many=True).data
        )


class ClaimAdjudicateApi(APIView):
    @extend_schema(
        request=s.AdjudicateSerializer,
        responses={
            201: s.ConsensusSerializer,
            409: OpenApiResponse(description="Not disputed"),
            **ERRORS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = _body(s.AdjudicateSerializer, request)
        record = services.claim_adjudicate(
            claim=claim, editor=request.user, rating=data["rating"], note=data["note"]
        )
        return Response(s.ConsensusSerializer(record).data, status=status.HTTP_201_CREATED)


class ClaimReopenApi(APIView):
    @extend_schema(
        request=s.NoteSerializer,
        responses={200: s.ClaimSerializer, 409: OpenApiResponse(), **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = _body(s.NoteSerializer, request)
        claim = services.claim_reopen(claim=claim, editor=request.user, note=data["note"])
        return Response(s.ClaimSerializer(_reload(claim)).data, headers={"ETag": _etag(claim)})


class ClaimPublishApi(APIView):
    @extend_schema(
        request=None, responses={200: s.ClaimSerializer, 409: OpenApiResponse(), **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        claim = services.claim_publish(claim=claim, editor=request.user)
        return Response(s.ClaimSerializer(_reload(claim)).data, headers={"ETag": _etag(claim)})


class ClaimWithdrawApi(APIView):
    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.ClaimSerializer, 409: OpenApiResponse(), **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        data = _body(s.ReasonSerializer, request)
        claim = services.claim_withdraw(claim=claim, actor=request.user, reason=data["reason"])
        return Response(s.ClaimSerializer(_reload(claim)).data, headers={"ETag": _etag(claim)})


def _reload(claim: Claim) -> Claim:
    return selectors.claims_with_consensus(Claim.objects.filter(pk=claim.pk)).get()


# --- exports -----------------------------------------------------------------------------------

# ClaimReview and Web Annotation exports are JSON-LD arrays of nodes.
JSON_LD_LIST = {"type": "array", "items": {"type": "object", "additionalProperties": True}}

DOCUMENT_EXPORT_FORMATS = {
    "json": "application/json",
    "claimreview": "application/ld+json",
    "webannotation": 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
}


class DocumentExportApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(DOCUMENT_EXPORT_FORMATS), default="json")
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
        if fmt not in DOCUMENT_EXPORT_FORMATS:
            raise ValidationError({"format": [f"Use one of {', '.join(DOCUMENT_EXPORT_FORMATS)}."]})
        base = f"{request.scheme}://{request.get_host()}"
        if fmt == "json":
            payload: Any = selectors.document_native(document=document, user=request.user)
        elif fmt == "claimreview":
            payload = selectors.document_claimreview(
                document=document, user=request.user, request_base=base
            )
        else:
            payload = selectors.document_web_annotations(
                document=document, user=request.user, request_base=base
            )
        response = HttpResponse(
            export_mapping.json_dumps_safe(payload), content_type=DOCUMENT_EXPORT_FORMATS[fmt]
        )
        response["Content-Disposition"] = f'inline; filename="document-{document.pk}-{fmt}.json"'
        return response


def _jsonl_chunks(
    rows: Iterable[dict[str, Any]], lines: int = 64, *, label: str = "export"
) -> Iterator[str]:
    """JSON lines joined into chunks of ``lines`` rows: one write per chunk, not per row.

    A client that goes away mid-stream makes the server close this generator
    (GeneratorExit at a ``yield``); that is logged, and closing it also closes the row
    generator, which holds no transaction between its keyset chunks."""
    batch: list[str] = []
    sent = 0
    try:
        for row in rows:
            batch.append(export_mapping.json_dumps_safe(row))
            if len(batch) >= lines:
                sent += len(batch)
                yield "\n".join(batch) + "\n"
                batch.clear()
        if batch:
            yield "\n".join(batch) + "\n"
    except GeneratorExit:
        logger.warning("%s stopped by the client after %d lines", label, sent)
        close = getattr(rows, "close", None)
        if close is not None:
            close()
        raise


class ProjectExportApi(APIView):
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
        chunks = _jsonl_chunks(rows, label=f"export of project {project.pk}")
        response = StreamingHttpResponse(chunks, content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{project.slug}.jsonl"'
        return response


# --- revisions ---------------------------------------------------------------------------------


class DocumentRevisionsApi(APIView):
    @extend_schema(
        responses={200: s.DocumentRevisionSerializer(many=True), **ERRORS},
        description="Superseded texts of the document, oldest first (the current text is the document's).",
    )
    def get(self, request: Request, pk: int) -> Response:
        document, _ = access.document_get_for_user(user=request.user, pk=pk, with_text=False)
        revisions = document.revisions.select_related("superseded_by").defer("text", "raw_text")
        return Response(s.DocumentRevisionSerializer(revisions, many=True).data)

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
        data = _body(s.RevisionCreateSerializer, request)
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


class ClaimReanchorApi(APIView):
    @extend_schema(
        request=s.ReanchorSerializer,
        responses={200: s.ClaimSerializer, **ERRORS},
        description="Anchor the claim to [start, end) of the current text by hand (orphans, and "
        "claims whose text changed inside). Creator or editor.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        data = _body(s.ReanchorSerializer, request)
        claim = services.claim_reanchor(claim=claim, actor=request.user, **data)
        return Response(s.ClaimSerializer(_reload(claim)).data, headers={"ETag": _etag(claim)})
