"""Gold calibration (issue 18): editors mark decided claims as gold; the queue serves them to
reviewers at the project's ``gold_rate`` as ordinary claims in review; the verdicts given on
them are calibration verdicts, scored against the expected rating and nothing else.

The queue calls ``gold_substitute`` from ``services.leases.lease_next`` (one marked hook);
``verdict_submit`` asks ``calibration_lease`` whether a first verdict is a calibration one.
What a reviewer sees of a gold claim is ``access.claims_present_for``'s to decide.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotations import access
from annotations.core import calibration
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    GoldClaim,
    Membership,
    Project,
    Role,
    Verdict,
)
from annotations.services import limits
from annotations.services._base import (
    PendingEvents,
    QueueConflict,
    User,
    _event_build,
    _require_storable_text,
    event_record,
)

GOLD_NEEDS_RESOLVED = (
    "Only a resolved claim can be gold: its consensus is the yardstick, and a published one "
    "is public, so reviewers would recognise it."
)
NOT_GOLD = "This claim is not marked as gold."
NOT_GOLD_ANY_MORE = (
    "This claim is no longer a gold claim: a calibration lease on it gives no verdict. "
    "Take the next claim from the queue."
)
GOLD_STAYS_RESOLVED = (
    "This claim is a gold claim: it stays resolved while it is one (reviewers are served it "
    "as a claim in review). Remove its gold mark first."
)


def _gold_state(gold: GoldClaim) -> dict[str, object]:
    return {"claim": gold.claim_id, "rating": gold.rating.key, "note": gold.note}


@transaction.atomic
def gold_mark(
    *,
    claim: Claim,
    actor: User,
    rating: str | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> GoldClaim:
    """Mark ``claim`` as gold with its expected ``rating`` (default: its current consensus
    rating), or change the mark's rating and note. Editors and admins; the claim must be
    resolved. Locks the claim row. Raises PermissionDenied below editor, ValidationError
    on ``rating``/``note`` and QueueConflict when the claim is not resolved."""
    from annotations.services.review import _lock_claim, _rating_get  # review imports leases

    access.gold_manage_require(user=actor, project_id=claim.project_id)
    _require_storable_text(note=note)
    limits.require_lengths(note=(note, limits.MAX_NOTE))
    claim = _lock_claim(claim)
    if claim.status != ClaimStatus.RESOLVED or claim.consensus_id is None:
        raise QueueConflict(GOLD_NEEDS_RESOLVED)
    if rating is None or rating == "":
        rating_obj = claim.consensus.rating  # type: ignore[union-attr]  # checked above
    else:
        rating_obj = _rating_get(project_id=claim.project_id, key=rating)
    gold = GoldClaim.objects.select_for_update(no_key=True).filter(claim=claim).first()
    before = _gold_state(gold) if gold is not None else None
    if gold is None:
        gold = GoldClaim(
            claim=claim,
            project_id=claim.project_id,
            marked_by=actor,
            marked_at=now or timezone.now(),
        )
    gold.rating = rating_obj
    gold.note = (note or "").strip()
    gold.full_clean()
    gold.save()
    event_record(
        actor=actor,
        verb="claim.gold_mark",
        obj=claim,
        project_id=claim.project_id,
        before=before,
        after=_gold_state(gold),
    )
    return gold


@transaction.atomic
def gold_unmark(*, claim: Claim, actor: User) -> None:
    """Take the gold mark off ``claim``. Its calibration verdicts stay (history; they no
    longer score anybody, ``core.calibration.gold_accuracy``) and still never count
    toward consensus. Its open calibration leases end (``claim_leases_end``, a
    ``lease.release`` event each, after the unmark's): the claim is no longer served as one
    in review, so they give no verdict. Editors and admins; QueueConflict when the claim is
    not gold."""
    from annotations.services.leases import claim_leases_end  # leases imports this module
    from annotations.services.review import _lock_claim  # review imports leases

    access.gold_manage_require(user=actor, project_id=claim.project_id)
    claim = _lock_claim(claim)
    # FOR UPDATE, not NO KEY: the row is deleted. Only it: not the rating's row. Before the
    # chain's head, unlike other deletions (docs/design.md, "Lock order"): no foreign key
    # names a gold mark, so no COMMIT takes FOR KEY SHARE on one, and its other writer
    # (gold_mark) locks the claim first, as here.
    gold = (
        GoldClaim.objects.select_for_update(of=("self",), no_key=False)
        .select_related("rating")
        .filter(claim=claim)
        .first()
    )
    if gold is None:
        raise QueueConflict(NOT_GOLD)
    before = _gold_state(gold)
    gold.delete()
    pending = PendingEvents()
    pending.add(
        _event_build(
            actor=actor,
            verb="claim.gold_unmark",
            obj=claim,
            project_id=claim.project_id,
            before=before,
        )
    )
    # The leases' row locks (FOR NO KEY UPDATE) before the chain's head, which the append
    # of both events takes last.
    claim_leases_end(claim=claim, actor=actor, reason="gold mark removed", pending=pending)
    pending.record()


def _gold_candidate(*, project: Project, reviewer: User) -> int | None:
    """The oldest gold claim ``reviewer`` may be served: resolved, not theirs, not judged by
    them in its current version (for real or for calibration), not leased or skipped by
    them. Only plain reviewers are served gold (editors see the marks anyway)."""
    judged = Verdict.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer=reviewer,
        claim_version=OuterRef("claim__claim_version"),
    )
    held = Assignment.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer=reviewer,
        state__in=[AssignmentState.LEASED, AssignmentState.SKIPPED],
    )
    plain = Membership.objects.filter(project=project, user=reviewer, role=Role.REVIEWER)
    return (
        GoldClaim.objects.filter(project=project, claim__status=ClaimStatus.RESOLVED)
        .filter(Exists(plain))
        .exclude(claim__created_by=reviewer)
        .exclude(Exists(judged))
        .exclude(Exists(held))
        .order_by("claim__created_at", "claim_id")
        .values_list("claim_id", flat=True)
        .first()
    )


def gold_substitute(
    *, project: Project, reviewer: User, claim: Claim | None
) -> tuple[Claim | None, bool]:
    """The queue's gold hook: the claim to lease, and whether it is a calibration lease.

    ``claim`` is what the ordinary pick chose (None: nothing), locked. With a ``gold_rate``
    above 0 the same three queries run on every lease (the reviewer's lease count, the gold
    candidate, the chosen claim's row lock), whatever the draw says, so neither the answer's shape nor the number of
    queries tells a reviewer that a claim is gold. The draw is ``core.calibration``'s,
    seeded by the project, the reviewer and their lease count: replayable in tests. The
    claim comes back loaded with its creator (the lease's answer shows it)."""
    if project.gold_rate <= 0:
        return claim, False
    serial = Assignment.objects.filter(project=project, reviewer=reviewer).count()
    candidate = _gold_candidate(project=project, reviewer=reviewer)
    draw = calibration.gold_draw(project_id=project.pk, reviewer_id=reviewer.pk, serial=serial)
    gold = candidate is not None and calibration.serve_gold(rate=project.gold_rate, draw=draw)
    chosen = candidate if gold else (claim.pk if claim is not None else None)
    # Every writer of leases holds the claim's row lock (services.leases): take the gold
    # claim's; for the ordinary pick, already locked, the same statement reads the row it
    # holds, so both paths still run the same queries.
    if chosen is None:
        return None, gold
    return (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("created_by")
        .filter(pk=chosen)
        .order_by()
        .first()
    ), gold


def calibration_lease(*, claim: Claim, reviewer: User, now: dt.datetime) -> Assignment | None:
    """``reviewer``'s unexpired calibration lease on ``claim`` (locked), if they hold one:
    their first verdict on it is then a calibration verdict."""
    return (
        Assignment.objects.select_for_update(no_key=True)
        .filter(
            claim=claim,
            reviewer=reviewer,
            state=AssignmentState.LEASED,
            calibration=True,
            expires_at__gt=now,
        )
        .first()
    )


def gold_stays_resolved(*, claim: Claim, status: str) -> None:
    """QueueConflict when a gold claim would leave ``resolved`` (published, reopened,
    revised, withdrawn): what reviewers were served as a claim in review must not turn
    out to have been decided before they judged it. ``claim_transition`` asks this."""
    if (
        claim.status == ClaimStatus.RESOLVED
        and status != ClaimStatus.RESOLVED
        and GoldClaim.objects.filter(claim_id=claim.pk).exists()
    ):
        raise QueueConflict(GOLD_STAYS_RESOLVED)


def gold_is_served(*, claim: Claim) -> bool:
    """Whether ``claim`` is still a gold claim the queue serves (marked and resolved): its
    calibration verdicts may be revised as verdicts on a claim in review are."""
    return (
        claim.status == ClaimStatus.RESOLVED
        and GoldClaim.objects.filter(claim_id=claim.pk).exists()
    )
