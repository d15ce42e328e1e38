"""Invitations: a project admin offers a role; the invited person accepts or declines it
(issue 13, finding 5a).

Inviting answers the same way whether or not the typed name is an account: the
invitation is created either way and its event records only what the inviter typed.
Only the account it names sees it, and only its acceptance writes a membership
(``member_add``: the last-admin rule and its lock hold)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from annotations import access
from annotations.models import Invitation, InvitationStatus, Membership, Project, Role
from annotations.services._base import (
    QueueConflict,
    User,
    _require_storable_text,
    event_record,
    now,
)
from annotations.services.limits import MAX_INVITED_AS, MAX_OPEN_INVITATIONS, require_lengths
from annotations.services.projects import member_add

INVITATION_DAYS = 14
ALREADY_INVITED = "This name already has an open invitation to this project."
TOO_MANY_OPEN = (
    f"This project already has {MAX_OPEN_INVITATIONS} open invitations, the most at once; "
    "revoke some, or wait until they are answered or expire."
)


class InvitationClosed(QueueConflict):
    """The invitation was accepted, declined, revoked or has expired (HTTP 409)."""


def _invitee(invited_as: str) -> User | None:
    """The active account ``invited_as`` names: its username, or else (with an ``@``) the
    one active account with that email address; None otherwise."""
    users = get_user_model().objects.filter(is_active=True)
    user = users.filter(username=invited_as).first()
    if user is None and "@" in invited_as:
        matches = list(users.filter(email__iexact=invited_as)[:2])
        user = matches[0] if len(matches) == 1 else None
    return user


@transaction.atomic
def invitation_create(
    *, project: Project, actor: User, invited_as: str, role: str, days: int = INVITATION_DAYS
) -> Invitation:
    """Invite the account named ``invited_as`` (a username or an email address) to
    ``project`` with ``role``, open for ``days`` days. The caller must be the project's
    admin (PermissionDenied otherwise).

    Whether the name is an account changes nothing the caller sees: the invitation, its
    event and its answer are the same. Raises ValidationError on ``role`` (unknown) or
    ``username`` (empty, too long, unstorable, or already holding an open invitation to
    the project); nothing is written then."""
    access.membership_require(user=actor, project_id=project.pk, role=Role.ADMIN)
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    invited_as = invited_as.strip() if isinstance(invited_as, str) else invited_as
    if not isinstance(invited_as, str) or not invited_as:
        raise ValidationError({"username": "Name a username or an email address."})
    require_lengths(username=(invited_as, MAX_INVITED_AS))
    _require_storable_text(username=invited_as)
    at = now()
    # Serialize invitations of one project so the "already invited" check holds.
    Project.objects.select_for_update(no_key=True).filter(pk=project.pk).first()
    # Pending or declined: both read as pending to the inviter, so both keep the name
    # from being invited again until the invitation expires or is revoked.
    open_invitations = Invitation.objects.filter(
        project=project,
        status__in=(InvitationStatus.PENDING, InvitationStatus.DECLINED),
        expires_at__gt=at,
    )
    if open_invitations.filter(invited_as=invited_as).exists():
        raise ValidationError({"username": ALREADY_INVITED})
    # A bound on what one admin account (or a stolen token) can send: invitations are
    # shown to whoever holds the name, so a flood would reach the whole user base.
    if open_invitations.count() >= MAX_OPEN_INVITATIONS:
        raise ValidationError({"username": TOO_MANY_OPEN})
    invitation = Invitation.objects.create(
        project=project,
        invited_as=invited_as,
        invitee=_invitee(invited_as),
        role=role,
        invited_by=actor,
        expires_at=at + dt.timedelta(days=days),
    )
    event_record(
        actor=actor,
        verb="invitation.create",
        obj=invitation,
        project=project,
        # What the inviter typed, never whether it matched an account.
        after={
            "invited_as": invited_as,
            "role": role,
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    return invitation


def _locked_open(invitation: Invitation) -> Invitation:
    current = (
        Invitation.objects.select_for_update(no_key=True)
        .select_related("project")
        .get(pk=invitation.pk)
    )
    if not access.invitation_is_open(current, at=now()):
        raise InvitationClosed(access.INVITATION_CLOSED)
    return current


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """``user`` accepts an invitation addressed to them and becomes a member with the
    offered role; an existing member keeps a higher role (accepting never demotes: the
    outside probe saw an editor turned reviewer by a second invitation). PermissionDenied
    for anyone else's invitation (the views look it up with ``access`` first: 404);
    InvitationClosed unless it is pending and unexpired; ValidationError on ``role`` if
    it would demote the project's last admin. Locks the invitation row."""
    current = _locked_open(invitation)
    if current.invitee_id is None or current.invitee_id != user.pk:
        raise PermissionDenied(access.NOT_A_MEMBER)
    existing = access.membership_get(user=user, project_id=current.project_id)
    keep = existing is not None and access.role_at_least(existing, Role(current.role))
    role = existing.role if keep and existing is not None else current.role
    membership = member_add(project=current.project, user=user, role=role, actor=user)
    current.status = InvitationStatus.ACCEPTED
    current.responded_at = now()
    current.save(update_fields=["status", "responded_at"])
    event_record(
        actor=user,
        verb="invitation.accept",
        obj=current,
        project=current.project,
        after={"user": user.get_username(), "role": membership.role, "offered": current.role},
    )
    return membership


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user: User) -> Invitation:
    """``user`` declines an invitation addressed to them (see ``invitation_accept``)."""
    current = _locked_open(invitation)
    if current.invitee_id is None or current.invitee_id != user.pk:
        raise PermissionDenied(access.NOT_A_MEMBER)
    current.status = InvitationStatus.DECLINED
    current.responded_at = now()
    current.save(update_fields=["status", "responded_at"])
    # Recorded in the global chain, not the project's: the project's chain is what its
    # editors download and its staff list in the admin, and a decline's actor would tell
    # the inviter which account the typed name is (a decline must read as pending there).
    # Superusers, who see the global chain, may know.
    event_record(
        actor=user,
        verb="invitation.decline",
        obj=current,
        after={"project": current.project_id},
    )
    return current


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    """A project admin withdraws an invitation that was not accepted (pending or
    declined: the inviter cannot tell the two apart, see
    ``access.invitation_status_for_inviter``). InvitationClosed once it was accepted,
    revoked or has expired; PermissionDenied unless ``actor`` is the project's admin."""
    access.membership_require(user=actor, project_id=invitation.project_id, role=Role.ADMIN)
    current = Invitation.objects.select_for_update(no_key=True).get(pk=invitation.pk)
    if access.invitation_status_for_inviter(current, at=now()) != InvitationStatus.PENDING:
        raise InvitationClosed(access.INVITATION_CLOSED)
    before = {"status": access.invitation_status_for_inviter(current, at=now())}
    current.status = InvitationStatus.REVOKED
    current.save(update_fields=["status"])
    event_record(
        actor=actor,
        verb="invitation.revoke",
        obj=current,
        project_id=current.project_id,
        before=before,
        after={"status": InvitationStatus.REVOKED},
    )
    return current
