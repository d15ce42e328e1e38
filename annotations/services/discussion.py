"""A claim's discussion (issue 18): comments with ``@username`` mentions, and withdrawing one.

Comments are never edited in place: a mistake is withdrawn (the row and its text stay,
with who withdrew it and when, and an audit event) and written again.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from annotations import access
from annotations.core import discussion
from annotations.models import (
    Claim,
    Comment,
    CommentVisibility,
    Membership,
    NotificationKind,
)
from annotations.services import limits
from annotations.services._base import QueueConflict, User, _require_storable_text, event_record
from annotations.services.notifications import notify

ALREADY_WITHDRAWN = "This comment is already withdrawn."


def _mentioned_member_ids(*, project_id: int, body: str) -> list[int]:
    """The accounts of the project's members that ``body`` mentions as ``@username``
    (case does not matter). Names that are not members are left as text: a comment never
    tells its author whether a name is an account."""
    names = {name.lower() for name in discussion.mentioned_usernames(body)}
    if not names:
        return []
    return list(
        Membership.objects.filter(project_id=project_id)
        .annotate(name=Lower("user__username"))
        .filter(name__in=names)
        .values_list("user_id", flat=True)
    )


@transaction.atomic
def comment_create(
    *,
    claim: Claim,
    author: User,
    body: str,
    visibility: str = CommentVisibility.JUDGED,
) -> Comment:
    """Add ``author``'s comment to ``claim``'s discussion and notify the members it mentions
    (once each, never the author; a mention of someone still blind to the comment shows up
    once they may read it). PermissionDenied for non-members; ValidationError (nothing
    written) for an empty or too long body, text no column holds, an unknown visibility,
    or a note to everyone from a reviewer."""
    membership = access.membership_require(user=author, project_id=claim.project_id)
    _require_storable_text(body=body)
    limits.require_lengths(body=(body, limits.MAX_COMMENT))
    body = body.strip() if isinstance(body, str) else ""
    if not body:
        raise ValidationError({"body": ["Write the comment."]})
    if visibility not in CommentVisibility.values:
        raise ValidationError(
            {
                "visibility": [
                    f"{visibility!r} is not a visibility; use "
                    f"{' or '.join(CommentVisibility.values)}."
                ]
            }
        )
    access.comment_visibility_require(membership=membership, visibility=visibility)
    now = timezone.now()
    comment = Comment(
        project_id=claim.project_id,
        claim=claim,
        author=author,
        body=body,
        visibility=visibility,
        claim_version=claim.claim_version,
        created_at=now,
    )
    comment.full_clean()
    comment.save()
    mentioned = _mentioned_member_ids(project_id=claim.project_id, body=body)
    notify(
        kind=NotificationKind.MENTIONED,
        key=f"comment:{comment.pk}",
        project_id=claim.project_id,
        recipient_ids=mentioned,
        actor=author,
        claim=claim,
        comment=comment,
        now=now,
    )
    event_record(
        actor=author,
        verb="comment.create",
        obj=comment,
        project_id=claim.project_id,
        after={
            "claim": claim.pk,
            "visibility": visibility,
            "body": body,
            "mentions": sorted(mentioned),
        },
    )
    return comment


@transaction.atomic
def comment_withdraw(*, comment: Comment, actor: User) -> Comment:
    """Withdraw ``comment`` (its author or an editor): the row and its text stay, marked
    withdrawn, and its mentions stop showing. PermissionDenied for anybody else;
    QueueConflict when it is withdrawn already. Locks the comment row."""
    membership = access.membership_require(user=actor, project_id=comment.project_id)
    comment = Comment.objects.select_for_update(no_key=True).get(pk=comment.pk)
    access.comment_withdraw_require(comment=comment, membership=membership, user=actor)
    if comment.withdrawn_at is not None:
        raise QueueConflict(ALREADY_WITHDRAWN)
    comment.withdrawn_at, comment.withdrawn_by = timezone.now(), actor
    comment.save(update_fields=["withdrawn_at", "withdrawn_by"])
    event_record(
        actor=actor,
        verb="comment.withdraw",
        obj=comment,
        project_id=comment.project_id,
        before={"withdrawn": False},
        after={"withdrawn": True},
    )
    return comment
