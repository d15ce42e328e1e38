"""Reads of discussions and notifications (issue 18): a claim's thread as the caller may
read it, and the caller's notifications. The rules are ``access``'s (``comments_of_claim``,
``notification_scope_for_user``); this composes rows for the claim page, the API and the
notifications page in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from annotations import access
from annotations.access import User
from annotations.core import discussion
from annotations.dbcursor import unprepared
from annotations.models import Claim, Comment, CommentVisibility, Membership, Notification

WITHDRAWN_TEXT = "This comment was withdrawn."


@dataclass(frozen=True)
class CommentRow:
    """One comment as shown: a withdrawn comment keeps its place but not its text."""

    id: int
    claim: int
    author: str
    visibility: str
    is_note: bool
    body: str
    body_html: str
    claim_version: int
    created_at: dt.datetime
    withdrawn: bool
    withdrawn_at: dt.datetime | None
    can_withdraw: bool


def _row(comment: Comment, *, user: User, membership: Membership | None) -> CommentRow:
    withdrawn = comment.withdrawn_at is not None
    body = "" if withdrawn else comment.body
    return CommentRow(
        id=comment.pk,
        claim=comment.claim_id,
        author=comment.author.get_username(),
        visibility=comment.visibility,
        is_note=comment.visibility == CommentVisibility.EVERYONE,
        body=body,
        # Links only to public sites, with the fetcher's intranet hosts counted as public
        # (as services.public_url counts them for every URL a user gives).
        body_html=discussion.linkify(body, allowed_hosts=settings.WORKBENCH_FETCH_ALLOWED_HOSTS),
        claim_version=comment.claim_version,
        created_at=comment.created_at,
        withdrawn=withdrawn,
        withdrawn_at=comment.withdrawn_at,
        can_withdraw=not withdrawn
        and access.comment_can_withdraw(comment=comment, membership=membership, user=user),
    )


def claim_thread(*, claim: Claim, user: User, membership: Membership | None) -> list[CommentRow]:
    """``claim``'s comments the caller may read, oldest first (two queries at most: the
    blind check and the rows with their authors)."""
    comments = access.comments_of_claim(claim=claim, user=user, membership=membership)
    return [
        _row(comment, user=user, membership=membership)
        for comment in comments.select_related("author").order_by("id")
    ]


def comment_row(*, comment: Comment, user: User, membership: Membership | None) -> CommentRow:
    comment = Comment.objects.select_related("author").get(pk=comment.pk)
    return _row(comment, user=user, membership=membership)


def notifications_for_user(*, user: User, unread: bool = False) -> QuerySet[Notification]:
    """The caller's notifications, newest first, with what their text needs."""
    queryset = access.notification_scope_for_user(user=user).select_related("actor", "project")
    if unread:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-id")


def notifications_unread_count(*, user: User) -> int:
    """How many of the caller's notifications are unread (the bell): one query."""
    if not access.is_active_user(user):
        return 0
    # Unprepared: a generic plan counts through all of a user's notifications.
    with unprepared():
        return access.notification_scope_for_user(user=user).filter(read_at__isnull=True).count()
