"""Projects, their members and their agreement statistics."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers as s
from annotations.api.idempotency import idempotent
from annotations.api.views._common import ERRORS, int_param, parse_body
from annotations.models import Document, Membership, Project, Role


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
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @idempotent
    @extend_schema(
        request=s.ProjectCreateSerializer, responses={201: s.ProjectSerializer, **ERRORS}
    )
    def post(self, request: Request) -> Response:
        if not access.can_open_project(request.user):
            raise PermissionDenied(access.OPEN_PROJECT)
        data = parse_body(s.ProjectCreateSerializer, request)
        project = services.project_create(creator=request.user, **data)
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @staticmethod
    def _context(request: Request, membership: Membership) -> dict[str, Any]:
        # The caller's role is the membership the lookup just read: no second query of
        # all their memberships (roles_by_project, which the list needs).
        return {"request": request, "roles": {membership.project_id: membership.role}}

    @extend_schema(responses={200: s.ProjectSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        project, membership = access.project_get_for_user(user=request.user, pk=pk)
        return Response(
            s.ProjectSerializer(project, context=self._context(request, membership)).data
        )

    @extend_schema(
        request=s.ProjectUpdateSerializer, responses={200: s.ProjectSerializer, **ERRORS}
    )
    def patch(self, request: Request, pk: int) -> Response:
        project, membership = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        data = parse_body(s.ProjectUpdateSerializer, request, partial=True)
        project = services.project_update(project=project, actor=request.user, **data)
        return Response(
            s.ProjectSerializer(project, context=self._context(request, membership)).data
        )


class ProjectMembersApi(APIView):
    pagination_class = None

    @extend_schema(responses={200: s.MemberSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        members = project.memberships.select_related("user").order_by("user__username")
        return Response(s.MemberSerializer(members, many=True).data)

    @idempotent
    @extend_schema(
        request=s.MemberAddSerializer,
        responses={201: s.MemberSerializer, **ERRORS},
        description=(
            "Change the role of a member of the project. Anybody else is invited "
            "(`POST /projects/{id}/invitations/`) and becomes a member by accepting; the "
            "answer for a username that is not a member is the same whether or not it is "
            "an account. Superusers may add any active account directly."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        data = parse_body(s.MemberAddSerializer, request)
        if access.can_add_members_directly(request.user):
            users = get_user_model().objects.filter(is_active=True)
            missing = f"No active user {data['username']!r}."
        else:
            users = get_user_model().objects.filter(is_active=True, memberships__project=project)
            missing = access.DIRECT_ADD_RULE.replace("{id}", str(project.pk))
        user = users.filter(username=data["username"]).first()
        if user is None:
            raise ValidationError({"username": [missing]})
        membership = services.member_add(
            project=project, user=user, role=data["role"], actor=request.user
        )
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class ProjectAgreementApi(APIView):
    query_params = {"GET": ("document",)}

    @extend_schema(
        parameters=[OpenApiParameter("document", int, description="Only this document's claims")],
        responses={200: s.AgreementSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk)
        document = None
        document_id = int_param(request, "document")
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
