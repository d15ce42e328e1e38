"""A claim's discussion and the caller's notifications (issue 18).

Comments follow blind review (``access.comments_of_claim``): a reviewer reads other
reviewers' comments on a claim only once they have judged it; editors read all. A
non-member gets 404 for the claim; someone else's notification is a 404 as well.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.api import serializers_discussion as sd
from annotations.api.filters import NotificationFilter
from annotations.api.idempotency import idempotent
from annotations.api.pagination import NewestFirstPagination
from annotations.api.serializers import NoBodySerializer
from annotations.api.views._common import ERRORS, UnpreparedList, parse_body
from annotations.models import Notification

CONFLICT = {409: OpenApiResponse(description="The comment is already withdrawn")}


def _comment_data(row: selectors.CommentRow) -> dict[str, Any]:
    return dict(sd.CommentSerializer(row).data)


class ClaimCommentsApi(APIView):
    @extend_schema(
        responses={200: sd.CommentSerializer(many=True), **ERRORS},
        description="The claim's discussion as the caller may read it, oldest first: a "
        "reviewer sees editors' notes, their own comments, and other reviewers' comments "
        "only once they have submitted their own verdict on the claim (blind review).",
    )
    def get(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        rows = selectors.claim_thread(claim=claim, user=request.user, membership=membership)
        return Response([_comment_data(row) for row in rows])

    @idempotent
    @extend_schema(
        request=sd.CommentCreateSerializer,
        responses={201: sd.CommentSerializer, **ERRORS},
        description="Comment on the claim (any member). Plain text; @username mentions "
        "notify those members once. visibility 'everyone' (an editor's note) is for editors.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        data = parse_body(sd.CommentCreateSerializer, request)
        comment = services.comment_create(
            claim=claim, author=request.user, body=data["body"], visibility=data["visibility"]
        )
        row = selectors.comment_row(comment=comment, user=request.user, membership=membership)
        return Response(_comment_data(row), status=status.HTTP_201_CREATED)


class ClaimCommentWithdrawApi(APIView):
    @extend_schema(
        request=None,
        responses={200: sd.CommentSerializer, **CONFLICT, **ERRORS},
        description="Withdraw a comment (its author or an editor). The text is kept in the "
        "record (audited), no longer shown.",
    )
    def post(self, request: Request, pk: int, comment_pk: int) -> Response:
        _, membership, comment = access.comment_get_for_user(
            user=request.user, claim_pk=pk, pk=comment_pk
        )
        parse_body(NoBodySerializer, request)
        comment = services.comment_withdraw(comment=comment, actor=request.user)
        row = selectors.comment_row(comment=comment, user=request.user, membership=membership)
        return Response(_comment_data(row))


class NotificationListApi(UnpreparedList, generics.ListAPIView):
    serializer_class = sd.NotificationSerializer
    pagination_class = NewestFirstPagination

    filterset_class = NotificationFilter

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.notifications_for_user(user=self.request.user)

    @extend_schema(
        responses={200: sd.NotificationSerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]},
        description="The caller's notifications, newest first (cursor pagination).",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses={200: sd.NotificationSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        notification = access.notification_get_for_user(user=request.user, pk=pk)
        parse_body(NoBodySerializer, request)
        notification = services.notification_read(notification=notification, user=request.user)
        return Response(sd.NotificationSerializer(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        request=None, responses={200: sd.ReadAllSerializer, 400: ERRORS[400], 401: ERRORS[401]}
    )
    def post(self, request: Request) -> Response:
        parse_body(NoBodySerializer, request)
        marked = services.notifications_read_all(user=request.user)
        return Response({"marked": marked})


class NotificationSettingsApi(APIView):
    @extend_schema(responses={200: sd.NotificationSettingsSerializer, 401: ERRORS[401]})
    def get(self, request: Request) -> Response:
        found = services.notification_settings_get(user=request.user)
        return Response({"email_enabled": found.email_enabled, "email_kinds": found.email_kinds})

    @extend_schema(
        request=sd.NotificationSettingsUpdateSerializer,
        responses={200: sd.NotificationSettingsSerializer, 400: ERRORS[400], 401: ERRORS[401]},
        description="Which notification kinds also come by e-mail (in-app always).",
    )
    def put(self, request: Request) -> Response:
        data = parse_body(sd.NotificationSettingsUpdateSerializer, request)
        found = services.notification_settings_update(
            user=request.user, email_enabled=data["email_enabled"], email_kinds=data["email_kinds"]
        )
        return Response({"email_enabled": found.email_enabled, "email_kinds": found.email_kinds})
