"""Consensus and the editors' decisions: the project's rule over the current verdicts,
adjudication, reopening, publishing (version 1; corrections and retractions are in
``services.publishing``) and withdrawing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router, transaction
from django.db.models import Q, Subquery
from django.db.models.expressions import RawSQL
from django.tasks import task
from django.utils import timezone

from annotations import access
from annotations.compiled import CompiledModels
from annotations.core import consensus, lifecycle
from annotations.models import (
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Publication,
    PublicationKind,
    Rating,
    Role,
    Verdict,
)
from annotations.selectors.review import claims_unsettled
from annotations.services import calibration, limits, notifications, webhooks
from annotations.services._base import (
    PendingEvents,
    QueueConflict,
    User,
    _event_build,
    _insert_with,
    _require_storable_text,
    event_append,
    event_record,
    events_add_or_record,
    task_enqueue_with_transaction,
)
from annotations.services._publication import publication_append
from annotations.services.leases import claim_leases_end

logger = logging.getLogger(__name__)


def _rating_get(*, project_id: int, key: str, field: str = "rating") -> Rating:
    rating = (
        Rating.objects.filter(project_id=project_id, key=key).first()
        if isinstance(key, str)
        else None
    )
    if rating is None:
        keys = ", ".join(Rating.objects.filter(project_id=project_id).values_list("key", flat=True))
        raise ValidationError({field: f"Unknown rating {key!r}; this project's scale is: {keys}."})
    return rating


def _current_verdicts(claim: Claim) -> list[Verdict]:
    """Every reviewer's current verdict on the claim's current version (post-reveal
    revisions included): what an editor's adjudication rests on."""
    return list(
        Verdict.objects.filter(claim=claim, is_current=True, calibration=False)
        .select_related("rating")
        .order_by("id")
    )


def _agreement_with(claim: Claim, rating: Rating) -> float | None:
    """The share of the counted verdicts (each reviewer's latest blind verdict on the
    claim's current version, ``_counted_verdicts``) that gave ``rating``: the agreement an
    editor's decision records (adjudication, correction). A verdict revised after its
    reviewer saw the others counts for no agreement (README, "Claim lifecycle"); None when
    no verdict counts."""
    counted = _counted_verdicts(claim)
    if not counted:
        return None
    return sum(1 for verdict in counted if verdict.rating_id == rating.pk) / len(counted)


def _counted_verdicts(claim: Claim) -> list[Verdict]:
    """What the project's rule decides from: each reviewer's latest blind verdict on the
    claim's current version (``access.verdicts_counted``)."""
    return _COUNTED_VERDICTS.objects(claim_id=claim.pk)


# Read by every verdict that decides consensus, compiled once (its subquery cost more
# to build than to run: issue 20).
_COUNTED_VERDICTS = CompiledModels(
    Verdict,
    lambda claim_id: (
        access.verdicts_counted(Verdict.objects.filter(claim_id=claim_id))
        .select_related("rating")
        .order_by("reviewer_id", "id")
    ),
    claim_id=int,
)


@dataclasses.dataclass(frozen=True)
class DecisionFacts:
    """What a write that may decide consensus has read already under the claim's lock
    (``verdicts._submit_facts``), so that deciding reads none of it again (issue 20): the
    counted verdicts with their ratings (``_counted_verdicts``, in its order), the last
    sequence of the claim's consensus history (0 when empty) and the project's active
    webhook endpoints (``(id, event types)`` each, ``webhooks.webhooks_enqueue``)."""

    counted: Sequence[Verdict]
    last_sequence: int
    webhooks: Sequence[Sequence[Any]]


def _consensus_append(
    *,
    claim: Claim,
    rating: Rating,
    method: str,
    agreement: float | None,
    verdicts: Sequence[Verdict],
    actor: User | None,
    decided_by: User | None,
    note: str = "",
    pending: PendingEvents | None = None,
    known: DecisionFacts | None = None,
) -> Consensus:
    """Append a consensus record, superseding the current one (this record's event says
    which). Caller holds the claim lock. The ``consensus.<method>`` event is appended here,
    or added to the caller's ``pending`` events (``event_append``). ``known``: what the
    caller read under the lock (the history's last sequence, the webhook endpoints), used
    when the claim has no current record (its pointer says so) instead of reading them."""
    if known is not None and claim.consensus_id is None:
        current, last = None, known.last_sequence
    else:
        current, last = _consensus_current_and_last(claim)
    _supersede(current, claim=claim, actor=actor)
    # What the caller read under the lock decided it: the record, its verdicts' links and
    # the claim's status (``claim_transition``) are written by the statement that appends
    # the events, when the caller records them (PostgreSQL).
    with_events = (
        pending
        if known is not None
        and pending is not None
        and connections[router.db_for_write(Consensus)].vendor == "postgresql"
        else None
    )
    record = Consensus(
        claim=claim,
        claim_version=claim.claim_version,
        sequence=last + 1,
        rating=rating,
        method=method,
        agreement=agreement,
        decided_by=decided_by,
        note=note,
    )
    _consensus_insert(record, verdicts, pending=with_events)
    # The caller's transition saves the pointer with the status (or saves it itself when
    # the status stays resolved).
    claim.consensus = record
    event_append(
        _event_build(
            actor=actor,
            verb=f"consensus.{method}",
            obj=record,
            project_id=claim.project_id,
            before=(
                {"rating": current.rating.key, "sequence": current.sequence} if current else None
            ),
            after={
                "rating": rating.key,
                "method": method,
                "agreement": agreement,
                "sequence": record.sequence,
                "verdicts": [v.pk for v in verdicts],
                "note": note,
            },
        ),
        pending=pending,
    )
    webhooks.consensus_reached(
        project=claim.project,
        claim_id=claim.pk,
        rating=rating.key,
        method=str(method),
        endpoints=None if known is None else known.webhooks,
    )
    return record


def _consensus_insert(
    record: Consensus, verdicts: Sequence[Verdict], *, pending: PendingEvents | None = None
) -> None:
    """Insert the unsaved ``record`` with the ``verdicts`` it was decided from (a new
    record: nothing to diff against). On PostgreSQL one statement (``_insert_with``: the
    record, then its verdicts' links naming the new id); elsewhere the ORM's two. With
    ``pending`` (PostgreSQL) that statement is the one that appends the caller's events
    (``PendingEvents.insert_with``): the record has its id once they are recorded."""
    connection = connections[router.db_for_write(Consensus)]
    assert pending is None or (connection.vendor == "postgresql" and verdicts)
    if connection.vendor != "postgresql" or not verdicts:
        record.save(force_insert=True)
        record.verdicts.add(*verdicts)
        return
    qn = connection.ops.quote_name
    links = Consensus.verdicts.through._meta
    # Quoted names from the models' metadata; the ids are a parameter.
    linked = (
        f"INSERT INTO {qn(links.db_table)} "  # noqa: S608
        f"({qn(str(links.get_field('consensus').column))}, "
        f"{qn(str(links.get_field('verdict').column))}) "
        "SELECT ins.id, linked FROM ins, unnest(%s::bigint[]) AS linked"
    )
    # Each verdict once, as ``add`` would.
    links_insert = (("links", linked, [sorted({v.pk for v in verdicts})]),)
    if pending is None:
        _insert_with(record, after=links_insert)
        return
    claim = record.claim
    pending.insert_with(
        record,
        after=links_insert,
        then=lambda saved: setattr(claim, "consensus_id", saved.pk),
    )


def _consensus_supersede(
    *, claim: Claim, actor: User | None, note: str | None = None
) -> Consensus | None:
    """Make the claim's current consensus record non-current; it stays in the history, and
    nothing else of it changes. Returns it (None when there was none). With a ``note`` (a
    reopening, a recomputation that found no consensus) a ``consensus.supersede`` event
    records why; without one the caller records the decision that replaces it. Caller
    holds the claim lock."""
    current = (
        Consensus.objects.filter(claim=claim, is_current=True).select_related("rating").first()
    )
    return _supersede(current, claim=claim, actor=actor, note=note)


def _consensus_current_and_last(claim: Claim) -> tuple[Consensus | None, int]:
    """The claim's current consensus record (None when it has none) and the last sequence
    of its history (0 when empty), in one query: the current record and the last one,
    which are the same one unless the last was superseded. Caller holds the claim lock."""
    records = _CONSENSUS_CURRENT_AND_LAST.objects(claim_id=claim.pk)
    current = next((record for record in records if record.is_current), None)
    return current, records[0].sequence if records else 0


_CONSENSUS_CURRENT_AND_LAST = CompiledModels(
    Consensus,
    lambda claim_id: (
        Consensus.objects.filter(claim_id=claim_id)
        .filter(
            Q(is_current=True)
            | Q(
                pk=Subquery(
                    Consensus.objects.filter(claim_id=claim_id)
                    .order_by("-sequence")
                    .values("pk")[:1]
                )
            )
        )
        .select_related("rating")
        .order_by("-sequence")
    ),
    claim_id=int,
)


def _supersede(
    current: Consensus | None, *, claim: Claim, actor: User | None, note: str | None = None
) -> Consensus | None:
    """``_consensus_supersede`` of the record already read (``current``, None for none)."""
    if current is None:
        return None
    current.is_current = False
    current.save(update_fields=["is_current"])
    claim.consensus = None  # the caller's transition saves it (the constraint checks both)
    if note is not None:
        event_record(
            actor=actor,
            verb="consensus.supersede",
            obj=current,
            project_id=claim.project_id,
            before={"is_current": True},
            after={"is_current": False, "note": note},
        )
    return current


def claim_transition(
    *,
    claim: Claim,
    action: lifecycle.Action,
    actor: User | None,
    note: str = "",
    pending: PendingEvents | None = None,
) -> None:
    """Move ``claim`` (locked by the caller) along the lifecycle by ``action``: the one
    function that changes a claim's status. It asks ``core.lifecycle`` (QueueConflict with
    the table's reason when the action is not allowed from the claim's status), saves the
    status with the claim's current consensus pointer (the check constraint holds them
    together), records a ``claim.status`` event and writes the notices of the new status
    (``notifications.claim_status_notify``, keyed by the event's id). ``version`` does not
    change: it counts changes of the claim's own fields, not of its status.

    ``pending``: the caller's events (``PendingEvents``), to which the ``claim.status``
    event is added instead of being appended here; the notices follow once the caller
    records them."""
    try:
        status = lifecycle.transition(claim.status, action)
    except lifecycle.TransitionRefused as exc:
        raise QueueConflict(str(exc)) from None
    calibration.gold_stays_resolved(claim=claim, status=status)
    before = claim.status
    claim.status = status
    if pending is not None and pending.inserts(
        Claim.consensus.field.get_cached_value(claim, default=None)
    ):
        # Its new consensus record is written with the events (``_consensus_append``): the
        # status and the pointer to the record go in the same statement.
        claim.updated_at = timezone.now()
        pending.update_with(
            Claim.objects.filter(pk=claim.pk),
            {
                "status": status,
                "consensus": RawSQL("SELECT ins.id FROM ins", ()),
                "updated_at": claim.updated_at,
            },
        )
    else:
        claim.save(update_fields=["status", "consensus", "updated_at"])
    after: dict[str, str] = {"status": status}
    if note:
        after["note"] = note
    event_append(
        _event_build(
            actor=actor,
            verb="claim.status",
            obj=claim,
            project_id=claim.project_id,
            before={"status": before},
            after=after,
        ),
        pending=pending,
        then=notifications.claim_status_notices(claim=claim, status=status, actor=actor),
    )


def _consensus_decide(
    *,
    claim: Claim,
    actor: User | None,
    pending: PendingEvents | None = None,
    leases_open: bool = True,
    now: dt.datetime | None = None,
    known: DecisionFacts | None = None,
) -> Consensus | None:
    """When the required verdicts are in, resolve the claim or mark it disputed. Claim
    locked. Its events (``consensus.<method>``, ``claim.status``) are appended here, or
    added to the caller's ``pending`` events, in that order. Either way the claim takes no
    first verdict any more: the leases still open on it end (``claim_leases_end``, their
    ``lease.release`` events after those), unless the caller knows there is none
    (``leases_open=False``, read under the claim's lock); ``now`` closes them. ``known``:
    the counted verdicts and the rest of ``DecisionFacts`` as the caller read them under
    the lock, else read here."""
    verdicts = _counted_verdicts(claim) if known is None else list(known.counted)
    if len(verdicts) < claim.project.required_reviews:
        return None
    decision = consensus.decide(
        [v.rating.key for v in verdicts],
        rule=claim.project.consensus_rule,
        majority_threshold=claim.project.majority_threshold,
    )
    # The leases' events follow the decision's: gathered here, appended with them.
    ended = PendingEvents()
    if leases_open and (decision.reached or claim.status != ClaimStatus.DISPUTED):
        reason = "claim resolved" if decision.reached else "claim disputed"
        claim_leases_end(claim=claim, actor=actor, reason=reason, now=now, pending=ended)
    if not decision.reached:
        if claim.status != ClaimStatus.DISPUTED:
            claim_transition(
                claim=claim,
                action=lifecycle.Action.DECIDE_DISPUTED,
                actor=actor,
                pending=pending,
            )
        events_add_or_record(ended.take(), pending=pending)
        return None
    record = _consensus_from_rule(
        claim=claim,
        decision=decision,
        verdicts=verdicts,
        actor=actor,
        pending=pending,
        known=known,
    )
    claim_transition(
        claim=claim, action=lifecycle.Action.DECIDE_RESOLVED, actor=actor, pending=pending
    )
    events_add_or_record(ended.take(), pending=pending)
    return record


def _consensus_from_rule(
    *,
    claim: Claim,
    decision: consensus.Decision,
    verdicts: Sequence[Verdict],
    actor: User | None,
    pending: PendingEvents | None = None,
    known: DecisionFacts | None = None,
) -> Consensus:
    """Record the project rule's decision (no ``decided_by``). Caller holds the claim lock;
    ``pending`` and ``known`` as in ``_consensus_append``."""
    rating = next(v.rating for v in verdicts if v.rating.key == decision.rating)
    return _consensus_append(
        claim=claim,
        rating=rating,
        method=str(decision.method),
        agreement=decision.agreement,
        verdicts=verdicts,
        actor=actor,
        decided_by=None,
        pending=pending,
        known=known,
    )


def _lock_claim(claim: Claim) -> Claim:
    """The claim, locked, with its project (read, not locked).

    Only the claim row is locked (``of=("self",)``): a plain ``select_for_update()`` with
    ``select_related("project")`` would lock the project row too, and every verdict of a
    project would then queue behind one row (bench/bench_queue.py, 50 reviewers: 45 of
    the 50 database sessions were waiting on that row's lock). The project's policy is
    read as committed when the claim is locked; a policy change applies to verdicts
    submitted after it commits, ``consensus_settle_task`` decides the claims in review a
    lowered ``required_reviews`` leaves with enough verdicts, and ``consensus_recompute``
    re-runs the rule over existing verdicts.
    """
    locked = _CLAIM_LOCKED.first(pk=claim.pk)
    if locked is None:
        raise Claim.DoesNotExist
    return locked


# ``_lock_claim``'s read, compiled once (annotations.compiled): every verdict takes it.
_CLAIM_LOCKED = CompiledModels(
    Claim,
    lambda pk: (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("project")
        .filter(pk=pk)[:1]
    ),
    pk=int,
)


@transaction.atomic
def claim_adjudicate(*, claim: Claim, editor: User, rating: str, note: str) -> Consensus:
    """An editor decides a disputed claim. Locks the claim; records method ``adjudicated``."""
    access.membership_require(user=editor, project_id=claim.project_id, role=Role.EDITOR)
    _require_storable_text(rating=rating, note=note)
    limits.require_lengths(note=(note, limits.MAX_NOTE))
    claim = _lock_claim(claim)
    errors: dict[str, str] = {}
    note = (note or "").strip()
    if not note:
        errors["note"] = "Explain the decision in a note; it is part of the record."
    try:
        rating_obj = _rating_get(project_id=claim.project_id, key=rating)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    if not lifecycle.allowed(claim.status, lifecycle.Action.ADJUDICATE):
        raise QueueConflict(
            f"Only disputed claims are adjudicated; this one is {claim.get_status_display().lower()}."
        )
    # A disputed claim holds no open lease since every way into disputed ends them; a lease
    # left from before that (a reopened claim's) ends here, as the claim is resolved.
    claim_leases_end(claim=claim, actor=editor, reason="claim resolved")
    verdicts = _current_verdicts(claim)
    record = _consensus_append(
        claim=claim,
        rating=rating_obj,
        method=ConsensusMethod.ADJUDICATED,
        agreement=_agreement_with(claim, rating_obj),
        verdicts=verdicts,
        actor=editor,
        decided_by=editor,
        note=note,
    )
    claim_transition(claim=claim, action=lifecycle.Action.ADJUDICATE, actor=editor)
    return record


@transaction.atomic
def claim_reopen(*, claim: Claim, editor: User, note: str) -> Claim:
    """Reopen a resolved claim: its consensus stops being current (kept in the history),
    the claim becomes disputed, reviewers who judged it may revise and editors adjudicate
    anew; the leases still open on it end (``claim_leases_end``): a disputed claim takes no
    first verdict. A published claim is never reopened (QueueConflict): it is corrected or
    retracted (``services.publishing``)."""
    access.membership_require(user=editor, project_id=claim.project_id, role=Role.EDITOR)
    _require_storable_text(note=note)
    limits.require_lengths(note=(note, limits.MAX_NOTE))
    claim = _lock_claim(claim)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the claim is reopened."})
    if not lifecycle.allowed(claim.status, lifecycle.Action.REOPEN):
        raise QueueConflict(str(lifecycle.TransitionRefused(claim.status, lifecycle.Action.REOPEN)))
    # A gold claim is refused by the transition below (remove its mark first): the whole
    # write rolls back then, these leases' ends with it.
    claim_leases_end(claim=claim, actor=editor, reason="claim reopened")
    _consensus_supersede(claim=claim, actor=editor, note=note)
    claim_transition(claim=claim, action=lifecycle.Action.REOPEN, actor=editor, note=note)
    return claim


@transaction.atomic
def claim_publish(
    *, claim: Claim, editor: User, summary: str, now: dt.datetime | None = None
) -> Publication:
    """Publish a resolved claim: version 1 of its publication (``Publication``), a snapshot
    of the statement, claimant, current consensus rating as the scale has it, the
    editor's ``summary`` for readers (required), the cited sources and the appearance.
    Locks the claim. ValidationError (nothing written) for a missing or too long summary;
    QueueConflict unless the claim is resolved. The version then appears in the
    ClaimReview export, and on the public pages and feeds when the project publishes.

    Webhook point: ``claim.published`` fires from here once the outbox exists."""
    now = now or timezone.now()
    access.membership_require(user=editor, project_id=claim.project_id, role=Role.EDITOR)
    _require_storable_text(summary=summary)
    limits.require_lengths(summary=(summary, limits.MAX_SUMMARY))
    claim = _lock_claim(claim)
    summary = (summary or "").strip() if isinstance(summary, str) else ""
    if not summary:
        raise ValidationError(
            {"summary": "Write the summary readers will see: what was checked and what was found."}
        )
    if not lifecycle.allowed(claim.status, lifecycle.Action.PUBLISH):
        raise QueueConflict("Only resolved claims can be published.")
    record = Consensus.objects.filter(claim=claim, is_current=True).select_related("rating").first()
    if record is None:  # the check constraint makes this unreachable for a resolved claim
        raise QueueConflict("This claim has no current consensus to publish.")
    version = publication_append(
        claim=claim,
        kind=PublicationKind.PUBLISH,
        editor=editor,
        now=now,
        consensus=record,
        statement=claim.statement,
        claimant=claim.claimant,
        summary=summary,
        rating=record.rating,
    )
    claim_transition(claim=claim, action=lifecycle.Action.PUBLISH, actor=editor)
    return version


@transaction.atomic
def claim_withdraw(
    *, claim: Claim, actor: User, reason: str, now: dt.datetime | None = None
) -> Claim:
    """Take a claim out of review (editors, or its creator before any verdict); open leases end."""
    now = now or timezone.now()
    membership = access.membership_require(user=actor, project_id=claim.project_id)
    _require_storable_text(reason=reason)
    limits.require_lengths(reason=(reason, limits.MAX_REASON))
    claim = _lock_claim(claim)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the claim is withdrawn."})
    if not access.claim_can_withdraw(
        claim=claim,
        membership=membership,
        user=actor,
        has_verdicts=Verdict.objects.filter(claim=claim).exists(),
    ):
        raise PermissionDenied(access.WITHDRAW_RULE)
    if not lifecycle.allowed(claim.status, lifecycle.Action.WITHDRAW):
        raise QueueConflict(f"This claim is {claim.get_status_display().lower()}.")
    claim_leases_end(claim=claim, actor=actor, reason="claim withdrawn", now=now)
    claim_transition(claim=claim, action=lifecycle.Action.WITHDRAW, actor=actor, note=reason)
    return claim


@transaction.atomic
def consensus_recompute(*, claim: Claim, actor: User | None) -> Consensus | None:
    """Re-run the project's rule over the counted verdicts (each reviewer's latest blind
    verdict on the current version; admin action). An editor's adjudication is never
    replaced automatically; an unchanged outcome writes only an event. A claim still in
    review is decided as a deciding verdict decides it (``_consensus_decide``).

    An editor's decision, as adjudication is (PermissionDenied below editor); ``actor=None``
    is the system itself (a maintenance command)."""
    if actor is not None:
        access.membership_require(user=actor, project_id=claim.project_id, role=Role.EDITOR)
    claim = _lock_claim(claim)
    current = (
        Consensus.objects.filter(claim=claim, is_current=True).select_related("rating").first()
    )
    outcome = "unchanged"
    record = None
    reopened = (
        current is None
        and Consensus.objects.filter(claim=claim, claim_version=claim.claim_version).exists()
    )
    if current is not None and current.method == ConsensusMethod.ADJUDICATED:
        outcome = "kept adjudication"
    elif reopened:
        # An editor reopened this claim: the next decision is theirs, not the rule's.
        outcome = "kept for adjudication (reopened)"
    elif claim.status == ClaimStatus.IN_REVIEW:
        record, outcome = _consensus_decide_outcome(claim=claim, actor=actor)
    elif (
        claim.status in (ClaimStatus.DISPUTED, ClaimStatus.RESOLVED)
        and len(verdicts := _counted_verdicts(claim)) >= claim.project.required_reviews
    ):
        decision = consensus.decide(
            [v.rating.key for v in verdicts],
            rule=claim.project.consensus_rule,
            majority_threshold=claim.project.majority_threshold,
        )
        if decision.reached and (
            current is None
            or current.rating.key != decision.rating
            or current.method != decision.method
        ):
            # Resolved, the claim takes no first verdict: the leases still open on it end
            # (before any event: the chain's head is the last lock).
            claim_leases_end(claim=claim, actor=actor, reason="claim resolved")
            record = _consensus_from_rule(
                claim=claim, decision=decision, verdicts=verdicts, actor=actor
            )
            if claim.status == ClaimStatus.RESOLVED:
                claim.save(update_fields=["consensus", "updated_at"])
            else:
                claim_transition(claim=claim, action=lifecycle.Action.DECIDE_RESOLVED, actor=actor)
            outcome = "recorded"
        elif not decision.reached and claim.status != ClaimStatus.DISPUTED:
            claim_leases_end(claim=claim, actor=actor, reason="claim disputed")
            _consensus_supersede(claim=claim, actor=actor, note="recomputed: no consensus")
            claim_transition(claim=claim, action=lifecycle.Action.DECIDE_DISPUTED, actor=actor)
            outcome = "disputed"
    event_record(
        actor=actor,
        verb="consensus.recompute",
        obj=claim,
        project_id=claim.project_id,
        after={"outcome": outcome},
    )
    return record


def _consensus_decide_outcome(*, claim: Claim, actor: User | None) -> tuple[Consensus | None, str]:
    """``_consensus_decide`` of a claim in review (locked by the caller), as a deciding
    verdict runs it (the consensus record, its webhook, the status with its notices, the
    leases' ends): the record (None unless resolved) and what happened, ``recorded``,
    ``disputed`` or ``unchanged`` (fewer counted verdicts than the project requires)."""
    record = _consensus_decide(claim=claim, actor=actor)
    if record is not None:
        return record, "recorded"
    return None, "disputed" if claim.status == ClaimStatus.DISPUTED else "unchanged"


# Claims a sweep (``consensus_settle_task``) decides per task; a longer sweep queues its
# next batch as it ends. Each claim is decided in its own transaction.
SETTLE_BATCH = 200


def claims_to_settle(*, project_id: int, after: int = 0, limit: int | None = None) -> list[int]:
    """Ids (above ``after``, in order, at most ``limit``: ``SETTLE_BATCH`` without one) of
    the project's claims in review the rule has not run over though they hold its
    ``required_reviews`` counted verdicts (``selectors.claims_unsettled``): the number was
    lowered after their verdicts came in. The queue offers them to nobody (every slot is
    taken); ``consensus_settle`` decides them."""
    return list(
        claims_unsettled(project_id=project_id)
        .filter(pk__gt=after)
        .values_list("pk", flat=True)[: SETTLE_BATCH if limit is None else limit]
    )


@transaction.atomic
def consensus_settle(*, claim_id: int, actor: User | None, cause: dict[str, Any]) -> str:
    """Decide a claim in review whose counted verdicts reach the project's (lowered)
    ``required_reviews``, as the verdict that reached it would have (``_consensus_decide``:
    the consensus record or the dispute, the webhook, the status and its notices, the end
    of the leases still open on it), and record a ``consensus.recompute`` event with the
    outcome and its ``cause`` (the policy change). Returns the outcome: ``recorded``,
    ``disputed``; ``unchanged`` (too few verdicts now: nothing written) or ``not in
    review`` (decided, withdrawn or gone meanwhile: nothing written; a decision is never
    re-run by a policy change). Locks the claim, then appends (the chain's head last).

    The system carrying out an admin's policy change (``actor``, None for the system
    itself): no role is checked here; ``project_update``'s callers checked the admin's."""
    claim = _CLAIM_LOCKED.first(pk=claim_id)
    if claim is None or claim.status != ClaimStatus.IN_REVIEW:
        return "not in review"
    _, outcome = _consensus_decide_outcome(claim=claim, actor=actor)
    if outcome != "unchanged":
        event_record(
            actor=actor,
            verb="consensus.recompute",
            obj=claim,
            project_id=claim.project_id,
            after={"outcome": outcome, **cause},
        )
    return outcome


# The outcomes of ``consensus_settle`` that decided the claim.
SETTLED = ("recorded", "disputed")


@dataclasses.dataclass(frozen=True)
class SettleBatch:
    """What ``consensus_settle_batch`` did: ``(claim id, outcome)`` in id order (``failed``
    for a claim whose decision raised, logged, with its error in ``errors``)."""

    outcomes: list[tuple[int, str]]
    errors: list[Exception]

    @property
    def decided(self) -> int:
        return sum(outcome in SETTLED for _, outcome in self.outcomes)

    @property
    def next_after(self) -> int | None:
        """Where the next batch starts (its ``after``), or None: this one was the last."""
        return self.outcomes[-1][0] if len(self.outcomes) == SETTLE_BATCH else None


def consensus_settle_batch(
    *, project_id: int, actor: User | None, cause: dict[str, Any], after: int = 0
) -> SettleBatch:
    """``consensus_settle`` of up to ``SETTLE_BATCH`` of the project's ``claims_to_settle``
    (ids above ``after``), each in its own transaction: the sweep of the task and of
    ``manage.py settle_consensus``. A claim whose decision fails is logged and the others
    are still decided."""
    outcomes: list[tuple[int, str]] = []
    errors: list[Exception] = []
    for claim_id in claims_to_settle(project_id=project_id, after=after):
        try:
            outcome = consensus_settle(claim_id=claim_id, actor=actor, cause=cause)
        except Exception as error:
            logger.exception("settling claim %s of project %s failed", claim_id, project_id)
            errors.append(error)
            outcome = "failed"
        outcomes.append((claim_id, outcome))
    return SettleBatch(outcomes, errors)


@task()
def consensus_settle_task(
    project_id: int, actor_id: int | None, cause: dict[str, Any], after: int = 0
) -> int:
    """The worker's task: one ``consensus_settle_batch``, then the next batch queued when
    this one was full. Returns how many claims were decided; with a claim whose decision
    failed, the task then fails with the first error, so the failure shows in its
    result."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    batch = consensus_settle_batch(project_id=project_id, actor=actor, cause=cause, after=after)
    if batch.next_after is not None:
        consensus_settle_task.enqueue(project_id, actor_id, cause, batch.next_after)
    if batch.errors:
        raise batch.errors[0]
    return batch.decided


def consensus_settle_schedule(
    *, project_id: int, actor: User | None, cause: dict[str, Any]
) -> None:
    """Inside the transaction of a policy change that lowered the project's
    ``required_reviews``: queue ``consensus_settle_task`` for the project. On the database
    queue its row is written in that transaction (it commits with the change, or not at
    all: ``task_row``); another backend's task is queued once the transaction commits."""
    task_enqueue_with_transaction(
        consensus_settle_task,
        project_id,
        None if actor is None else actor.pk,
        cause,
        0,
        alias=router.db_for_write(Claim),
    )


def claims_status_restore(entries: Sequence[tuple[Claim, str, Consensus | None, str]]) -> None:
    """Give restored claims (a native import; rows the caller just inserted in review, in
    its transaction) their recorded status: each ``(claim, status, current consensus,
    pointer)`` must be a status the lifecycle reaches from review
    (``lifecycle.path_to``), with a current consensus exactly when the status is decided.
    ValidationError keyed by each ``pointer`` otherwise; nothing is written then. The
    import's own event records the claims; this writes no event of its own."""
    errors: dict[str, str] = {}
    changed: list[Claim] = []
    for claim, status, record, pointer in entries:
        if lifecycle.path_to(status) is None:
            errors[pointer] = f"{status!r} is not a status the claim lifecycle reaches."
        elif lifecycle.needs_consensus(status) and record is None:
            errors[pointer] = f"A {status} claim needs a current consensus record."
        elif status in lifecycle.UNDECIDED and record is not None:
            errors[pointer] = f"A {status} claim has no current consensus record."
        elif status != claim.status:
            claim.status = status
            claim.consensus = record
            changed.append(claim)
    if errors:
        raise ValidationError(errors)
    Claim.objects.bulk_update(changed, ["status", "consensus"], batch_size=500)
