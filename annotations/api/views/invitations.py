"""Invitations (issue 13, finding 5a): project admins invite by username or email
address, list and revoke; the invited person lists, accepts and declines their own.

Inviting answers the same whether or not the name is an account (201, an invitation that
reads as pending); an invitation addressed to somebody else is a 404, like a missing id."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, services
from annotations.api import serializers as s
from annotations.api.idempotency import idempotent
from annotations.api.views._common import ERRORS, parse_body
from annotations.models import Invitation, Project, Role

CLOSED = {409: OpenApiResponse(description="The invitation is no longer open")}


def _project(project: Project) -> dict[str, Any]:
    return {"id": project.pk, "name": project.name, "slug": project.slug}


def _invitation_for_inviter(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "username": invitation.invited_as,
        "role": invitation.role,
        "status": access.invitation_status_for_inviter(invitation, at=services.now()),
        "invited_by": invitation.invited_by.get_username() if invitation.invited_by else None,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    }


def _invitation_for_invitee(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "project": _project(invitation.project),
        "role": invitation.role,
        "invited_by": invitation.invited_by.get_username() if invitation.invited_by else None,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    }


class ProjectInvitationsApi(APIView):
    pagination_class = None

    @extend_schema(responses={200: s.ProjectInvitationSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        invitations = access.invitations_of_project(project=project)
        return Response(
            s.ProjectInvitationSerializer(
                [_invitation_for_inviter(i) for i in invitations], many=True
            ).data
        )

    @idempotent
    @extend_schema(
        request=s.InvitationCreateSerializer,
        responses={201: s.ProjectInvitationSerializer, **ERRORS},
        description=(
            "Invite a username or email address. The answer is the same whether or not it "
            "names an account; the person becomes a member only when they accept."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        data = parse_body(s.InvitationCreateSerializer, request)
        invitation = services.invitation_create(
            project=project, actor=request.user, invited_as=data["username"], role=data["role"]
        )
        return Response(
            s.ProjectInvitationSerializer(_invitation_for_inviter(invitation)).data,
            status=status.HTTP_201_CREATED,
        )


class ProjectInvitationRevokeApi(APIView):
    @extend_schema(request=None, responses={200: s.ProjectInvitationSerializer, **CLOSED, **ERRORS})
    def post(self, request: Request, pk: int, invitation_pk: int) -> Response:
        invitation = access.invitation_get_for_admin(
            user=request.user, project_pk=pk, pk=invitation_pk
        )
        parse_body(s.NoBodySerializer, request)
        invitation = services.invitation_revoke(invitation=invitation, actor=request.user)
        return Response(s.ProjectInvitationSerializer(_invitation_for_inviter(invitation)).data)


class InvitationListApi(APIView):
    pagination_class = None

    @extend_schema(responses={200: s.InvitationSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        invitations = access.invitations_for_invitee(user=request.user, at=services.now())
        return Response(
            s.InvitationSerializer(
                [_invitation_for_invitee(i) for i in invitations], many=True
            ).data
        )


class InvitationAcceptApi(APIView):
    @extend_schema(
        request=None, responses={200: s.InvitationAcceptedSerializer, **CLOSED, **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        invitation = access.invitation_get_for_invitee(user=request.user, pk=pk)
        parse_body(s.NoBodySerializer, request)
        membership = services.invitation_accept(invitation=invitation, user=request.user)
        return Response(
            s.InvitationAcceptedSerializer(
                {"project": _project(invitation.project), "role": membership.role}
            ).data
        )


class InvitationDeclineApi(APIView):
    @extend_schema(request=None, responses={204: None, **CLOSED, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        invitation = access.invitation_get_for_invitee(user=request.user, pk=pk)
        parse_body(s.NoBodySerializer, request)
        services.invitation_decline(invitation=invitation, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
