"""Directed assignment: editors reserve review slots of a claim for named reviewers.

A reservation (``models.Reservation``) counts against the project's ``required_reviews``
while its reviewer has neither a live lease nor a current verdict on the claim, so no one
else can take that slot; the reviewer's queue offers the claim before any other
(``services.leases``). Unassigning deletes the reservation and frees the slot. Blind
review is unchanged: an assigned reviewer sees what any reviewer sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from annotations import access, selectors
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Membership,
    Reservation,
    Role,
)
from annotations.services._base import QueueConflict, User, event_record
from annotations.services.leases import EVERY_RESERVATION, _slots_taken
from annotations.services.notifications import notify_assigned

MAX_NAMED = 50


def _assignees(claim: Claim) -> list[str]:
    return list(
        Reservation.objects.filter(claim=claim)
        .order_by("reviewer__username")
        .values_list("reviewer__username", flat=True)
    )


def _locked_for_directing(*, claim: Claim, editor: User) -> Claim:
    """The claim's row, locked (every writer of leases, verdicts and reservations holds
    it), after checking that ``editor`` may direct its review and that it is in review."""
    access.membership_require(user=editor, project_id=claim.project_id, role=Role.EDITOR)
    locked = (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("project")
        .get(pk=claim.pk)
    )
    if locked.status != ClaimStatus.IN_REVIEW:
        raise QueueConflict(
            f"Only a claim in review is assigned (this one is {locked.get_status_display().lower()})."
        )
    return locked


def _named_members(*, claim: Claim, usernames: Sequence[str]) -> dict[str, User]:
    """The users named, each a member of the claim's project who may judge it; a
    ValidationError on ``reviewers`` naming every one who cannot, and why."""
    if not usernames:
        raise ValidationError({"reviewers": "Name at least one reviewer."})
    if len(usernames) > MAX_NAMED:
        raise ValidationError({"reviewers": f"Name at most {MAX_NAMED} reviewers at once."})
    members = {
        m.user.username: m.user
        for m in Membership.objects.filter(
            project_id=claim.project_id, user__username__in=usernames, user__is_active=True
        ).select_related("user")
    }
    judged = set(
        claim.verdicts.filter(claim_version=claim.claim_version).values_list(
            "reviewer__username", flat=True
        )
    )
    skipped = set(
        Assignment.objects.filter(claim=claim, state=AssignmentState.SKIPPED).values_list(
            "reviewer__username", flat=True
        )
    )
    errors = []
    for name in usernames:
        user = members.get(name)
        if user is None:
            # Unknown and non-member read the same: the answer tells nothing about accounts.
            errors.append(f"{name}: no member of this project has this username.")
        elif user.pk == claim.created_by_id:
            errors.append(f"{name}: created this claim, so cannot review it.")
        elif name in judged:
            errors.append(f"{name}: has already submitted a verdict on this claim.")
        elif name in skipped:
            errors.append(f"{name}: skipped this claim.")
    if errors:
        raise ValidationError({"reviewers": errors})
    return members


@transaction.atomic
def claim_assign(
    *, claim: Claim, editor: User, usernames: Sequence[str], now: dt.datetime | None = None
) -> list[Reservation]:
    """Reserve a review slot of ``claim`` for each reviewer named in ``usernames`` (those
    already assigned are left as they are) and return the claim's reservations.

    PermissionDenied below editor. ValidationError on ``reviewers`` naming each username
    that is unknown, not a member, the claim's creator, or someone who has judged or
    skipped the claim. QueueConflict when the claim is not in review, or when the new
    reservations need more slots than are free (a named reviewer who holds a live lease
    on the claim already has theirs). Locks the claim row; one ``claim.assign`` event with
    the assignees before and after; nothing is written on error.
    """
    now = now or timezone.now()
    names = list(dict.fromkeys(str(name).strip() for name in usernames))
    locked = _locked_for_directing(claim=claim, editor=editor)
    members = _named_members(claim=locked, usernames=names)
    before = _assignees(locked)
    new = [members[name] for name in names if name not in before]
    if new:
        leased = set(
            Assignment.objects.filter(
                claim=locked,
                reviewer__in=new,
                state=AssignmentState.LEASED,
                expires_at__gt=now,
            ).values_list("reviewer_id", flat=True)
        )
        needed = sum(1 for user in new if user.pk not in leased)
        # Counted as a user with no reservation sees it: every waiting reservation holds a slot.
        free = locked.project.required_reviews - _slots_taken(
            claim_id=locked.pk, now=now, reviewer_id=EVERY_RESERVATION
        )
        if needed > free:
            raise QueueConflict(
                f"Only {max(free, 0)} review slot(s) of this claim are free; "
                f"{needed} reviewer(s) named would need one."
            )
        Reservation.objects.bulk_create(
            Reservation(
                project_id=locked.project_id,
                claim=locked,
                reviewer=user,
                assigned_by=editor,
                created_at=now,
            )
            for user in new
        )
        event_record(
            actor=editor,
            verb="claim.assign",
            obj=locked,
            project_id=locked.project_id,
            before={"reviewers": before},
            after={"reviewers": _assignees(locked)},
        )
        notify_assigned(claim=locked, reviewer_ids=[user.pk for user in new], actor=editor)
    return list(selectors.reservations_of_claim(claim=locked))


@transaction.atomic
def claim_unassign(*, claim: Claim, editor: User, username: str) -> None:
    """Take the reservation of ``username`` off ``claim``, freeing its slot (a lease they
    already hold stays theirs until it ends).

    PermissionDenied below editor; Http404 when ``username`` is not assigned to the claim;
    QueueConflict when the claim is not in review. Locks the claim row; one
    ``claim.unassign`` event with the assignees before and after.
    """
    locked = _locked_for_directing(claim=claim, editor=editor)
    before = _assignees(locked)
    deleted, _ = Reservation.objects.filter(claim=locked, reviewer__username=username).delete()
    if not deleted:
        raise Http404("This reviewer is not assigned to the claim.")
    event_record(
        actor=editor,
        verb="claim.unassign",
        obj=locked,
        project_id=locked.project_id,
        before={"reviewers": before},
        after={"reviewers": _assignees(locked)},
    )
