"""The review queue: leasing the next eligible claim (assigned first, then by priority,
deadline and age) or a chosen one, releasing, skipping."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, connections, router, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotations import access
from annotations.compiled import CompiledModels, CompiledValues, CompiledValuesList
from annotations.dbcursor import Unprepared
from annotations.models import (
    QUEUE_ORDER,
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Event,
    Project,
    Reservation,
    Verdict,
)
from annotations.services import calibration, limits
from annotations.services._base import (
    PendingEvents,
    QueueConflict,
    User,
    _event_build,
    _insert_if,
    _insert_with,
    _require_storable_text,
    event_record,
    events_add_or_record,
    events_record,
)


def _pending_reservations(*, reviewer_id: int, now: dt.datetime) -> QuerySet[Reservation]:
    """Reservations of the outer claim held for someone other than ``reviewer_id`` that
    still wait for their reviewer (no live lease, no current verdict): each holds a slot."""
    live_lease = Assignment.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer_id=OuterRef("reviewer_id"),
        state=AssignmentState.LEASED,
        expires_at__gt=now,
    )
    current_verdict = Verdict.objects.filter(
        claim_id=OuterRef("claim_id"), reviewer_id=OuterRef("reviewer_id"), is_current=True
    )
    return (
        Reservation.objects.filter(claim_id=OuterRef("pk"))
        .exclude(reviewer_id=reviewer_id)
        .exclude(Exists(live_lease))
        .exclude(Exists(current_verdict))
    )


def _taken_slots(*, reviewer_id: int, now: dt.datetime) -> Combinable:
    """The outer claim's taken review slots as ``reviewer_id`` sees them: live leases,
    current verdicts, and reservations still waiting for someone else (for every reviewer
    with ``EVERY_RESERVATION``). The one rule of a taken slot, for the queue's pick
    (``_eligible_claims``) and its re-count under the claim's lock (``_slots_taken``); the
    PostgreSQL pick's hand-written SQL (``_PICK_SQL_TEMPLATE``) writes it out again and
    ``tests/test_queue_pick.py`` holds the two equal."""
    active_leases = (
        Assignment.objects.filter(
            claim_id=OuterRef("pk"), state=AssignmentState.LEASED, expires_at__gt=now
        )
        .order_by()
        .values("claim_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    current_verdicts = (
        Verdict.objects.filter(claim_id=OuterRef("pk"), is_current=True)
        .order_by()
        .values("claim_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    reserved = (
        _pending_reservations(reviewer_id=reviewer_id, now=now)
        .order_by()
        .values("claim_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Coalesce(Subquery(active_leases), 0)
        + Coalesce(Subquery(current_verdicts), 0)
        + Coalesce(Subquery(reserved), 0)
    )


def _eligible_claims(
    *, project: Project, reviewer: User, now: dt.datetime, assigned_only: bool = False
) -> QuerySet[Claim]:
    """Claims of ``project`` that ``reviewer`` may be offered, in the queue's order
    (``core.scheduling``: priority, deadline with none last, age): in review, not theirs,
    not already judged by them in its current version, leased or skipped by them, and with
    a free review slot once the slots reserved for other reviewers are counted (their own
    reservation is theirs). ``assigned_only``: only the claims reserved for them, which
    the queue offers before the rest (``_pick``)."""
    return _eligible_claims_by_id(
        project_id=project.pk,
        required_reviews=project.required_reviews,
        reviewer_id=reviewer.pk,
        now=now,
        assigned_only=assigned_only,
    )


def _eligible_claims_by_id(
    *,
    project_id: int,
    required_reviews: int,
    reviewer_id: int,
    now: dt.datetime,
    assigned_only: bool = False,
) -> QuerySet[Claim]:
    """``_eligible_claims`` from the ids and the project's required reviews: the rule
    itself, which the SQLite pick compiles once (``_PICK_COMPILED``)."""
    # Judged by them in the claim's current version: a revised claim is offered again.
    mine_judged = Verdict.objects.filter(
        claim_id=OuterRef("pk"), reviewer_id=reviewer_id, claim_version=OuterRef("claim_version")
    )
    mine_held = Assignment.objects.filter(
        claim_id=OuterRef("pk"),
        reviewer_id=reviewer_id,
        state__in=[AssignmentState.LEASED, AssignmentState.SKIPPED],
    )
    claims = Claim.objects.filter(project_id=project_id, status=ClaimStatus.IN_REVIEW)
    if assigned_only:
        # Driven from the reviewer's few reservations: an EXISTS per claim would walk the
        # whole queue in order to find that they have none (bench/bench_queue.py).
        claims = claims.filter(
            pk__in=Reservation.objects.filter(reviewer_id=reviewer_id).values("claim_id")
        )
    return (
        claims.exclude(created_by_id=reviewer_id)
        .exclude(Exists(mine_judged))
        .exclude(Exists(mine_held))
        .alias(taken=_taken_slots(reviewer_id=reviewer_id, now=now))
        .filter(taken__lt=required_reviews)
        .order_by(*QUEUE_ORDER)
    )


# No user has this id: as ``_slots_taken``'s reviewer it counts every waiting reservation.
EVERY_RESERVATION = 0


def _slots_taken(*, claim_id: int, now: dt.datetime, reviewer_id: int) -> int:
    """The claim's taken review slots as ``reviewer_id`` sees them (``_taken_slots``)."""
    claim = _CLAIM_WITH_SLOTS.first(claim_id=claim_id, now=now, reviewer_id=reviewer_id)
    if claim is None:
        raise Claim.DoesNotExist
    return int(claim.taken)  # type: ignore[attr-defined]  # annotated


# A claim with its creator (what a lease's answer shows, ``ClaimSerializer``) and its
# taken slots (``_taken_slots``) as ``reviewer_id`` sees them: the queue's re-count once it
# holds the claim's row lock, a fresh statement (on PostgreSQL a new snapshot, so it sees
# the leases and verdicts committed while the pick ran); compiled once
# (annotations.compiled).
_CLAIM_WITH_SLOTS = CompiledModels(
    Claim,
    lambda claim_id, now, reviewer_id: (
        Claim.objects.select_related("created_by")
        .filter(pk=claim_id)
        .annotate(taken=_taken_slots(reviewer_id=reviewer_id, now=now))
        .order_by()[:1]
    ),
    claim_id=int,
    now=dt.datetime,
    reviewer_id=int,
)


# PostgreSQL's pick: the predicates of ``_eligible_claims`` written out as SQL, because
# building and compiling that queryset took about two thirds of ``lease_next``'s CPU
# time (bench/bench_queue.py, one reviewer: 7.5 -> 2.8 ms per lease). Two texts built once
# at import, no string building per call; tests/test_queue_pick.py checks that both pick the same claim over
# the queue's states, and the table names. The ORDER BY is the index's. The pass over the
# claims assigned to the reviewer (``_PICK_ASSIGNED_SQL``) starts from their reservations,
# so that finding none costs an index probe, not a walk of the whole queue: with an
# ``EXISTS`` per claim instead, 50 reviewers on a queue of 100,000 claims with no
# reservations leased 7 claims a second (bench/bench_queue.py, 2026-12-06).
_PICK_SQL_TEMPLATE = """
SELECT {select} FROM {source}
WHERE c.project_id = %(project)s AND c.status = %(in_review)s AND c.created_by_id <> %(reviewer)s
  {assigned}AND NOT EXISTS (SELECT 1 FROM annotations_verdict v
                  WHERE v.claim_id = c.id AND v.reviewer_id = %(reviewer)s
                    AND v.claim_version = c.claim_version)
  AND NOT EXISTS (SELECT 1 FROM annotations_assignment a
                  WHERE a.claim_id = c.id AND a.reviewer_id = %(reviewer)s
                    AND a.state IN (%(leased)s, %(skipped)s))
  AND (SELECT count(*) FROM annotations_assignment a
       WHERE a.claim_id = c.id AND a.state = %(leased)s AND a.expires_at > %(now)s)
    + (SELECT count(*) FROM annotations_verdict v WHERE v.claim_id = c.id AND v.is_current)
    + (SELECT count(*) FROM annotations_reservation r
       WHERE r.claim_id = c.id AND r.reviewer_id <> %(reviewer)s
         AND NOT EXISTS (SELECT 1 FROM annotations_assignment a
                         WHERE a.claim_id = c.id AND a.reviewer_id = r.reviewer_id
                           AND a.state = %(leased)s AND a.expires_at > %(now)s)
         AND NOT EXISTS (SELECT 1 FROM annotations_verdict v
                         WHERE v.claim_id = c.id AND v.reviewer_id = r.reviewer_id
                           AND v.is_current))
    < %(required)s
  AND c.id <> ALL(%(passed_over)s){unheld}
ORDER BY c.priority, c.due_at, c.created_at, c.id
LIMIT 1
FOR NO KEY UPDATE OF c"""
_PICK_ID = {"select": "c.id", "source": "annotations_claim c", "unheld": ""}
_PICK_SQL = _PICK_SQL_TEMPLATE.format(assigned="", **_PICK_ID)
_PICK_ASSIGNED_SQL = _PICK_SQL_TEMPLATE.format(
    assigned="AND c.id IN (SELECT r.claim_id FROM annotations_reservation r "
    "WHERE r.reviewer_id = %(reviewer)s)\n  ",
    **_PICK_ID,
)
# The four texts ``_pick_from`` runs (assigned or not, skipping locked rows or not), marked
# never to be prepared: PostgreSQL plans the pick for each lease's values (dbcursor.py).
_PICK_RUN = {
    (assigned_only, skip_locked): Unprepared(
        (_PICK_ASSIGNED_SQL if assigned_only else _PICK_SQL)
        + (" SKIP LOCKED" if skip_locked else "")
    )
    for assigned_only in (False, True)
    for skip_locked in (False, True)
}
# The first pick of ``lease_next`` on PostgreSQL when no claim is assigned to the reviewer
# (``_pick_unheld``): the same claim as ``_PICK_SQL`` picks, read whole with its creator
# (the columns ``_CLAIM_ANSWER`` reads, as the row locked: its latest version), and only
# while the reviewer holds no lease in the project (``_LEASE_HELD_LOCKED``'s rows).
_UNHELD = """
  AND NOT EXISTS (SELECT 1 FROM annotations_assignment h
                  WHERE h.project_id = %(project)s AND h.reviewer_id = %(reviewer)s
                    AND h.state = %(leased)s)"""


def _pick(
    *,
    project: Project,
    reviewer: User,
    now: dt.datetime,
    passed_over: list[int],
    skip_locked: bool,
    assigned: bool = True,
) -> int | None:
    """Lock and return the id of the first eligible claim in the queue's order (None when
    there is none): the claims assigned to ``reviewer`` first, then every other.
    ``assigned=False``: no claim of the project is assigned to them (``lease_next`` knows
    it from its first read), so the first pass, which would find none, is not run.

    ``skip_locked`` passes over claims another transaction holds; without it the call
    waits for such a claim. The free-slot count seen here is the statement's snapshot:
    re-check it (``_CLAIM_WITH_SLOTS``) once the lock is held."""
    for assigned_only in (True, False) if assigned else (False,):
        claim_id = _pick_from(
            project=project,
            reviewer=reviewer,
            now=now,
            passed_over=passed_over,
            skip_locked=skip_locked,
            assigned_only=assigned_only,
        )
        if claim_id is not None:
            return claim_id
    return None


def _pick_params(
    *, project: Project, reviewer: User, now: dt.datetime, passed_over: list[int]
) -> dict[str, int | str | bool | dt.datetime | list[int]]:
    """The parameters of PostgreSQL's pick (``_PICK_SQL_TEMPLATE``)."""
    return {
        "project": project.pk,
        "reviewer": reviewer.pk,
        "in_review": ClaimStatus.IN_REVIEW.value,
        "leased": AssignmentState.LEASED.value,
        "skipped": AssignmentState.SKIPPED.value,
        "now": now,
        "required": project.required_reviews,
        "passed_over": passed_over,
    }


def _pick_from(
    *,
    project: Project,
    reviewer: User,
    now: dt.datetime,
    passed_over: list[int],
    skip_locked: bool,
    assigned_only: bool,
) -> int | None:
    """One pass of ``_pick``: the first eligible claim (of those assigned to ``reviewer``
    only, with ``assigned_only``), locked."""
    if connection.vendor == "postgresql":
        params = _pick_params(project=project, reviewer=reviewer, now=now, passed_over=passed_over)
        with connection.cursor() as cursor:
            cursor.execute(_PICK_RUN[assigned_only, skip_locked], params)
            row = cursor.fetchone()
        return row[0] if row else None
    if not passed_over and not connection.features.has_select_for_update:
        # SQLite: no row locks (its transaction holds the write lock). The queryset below,
        # compiled once for each pass; with claims passed over (their number changes the
        # SQL) it is built as below.
        rows = _PICK_COMPILED[assigned_only].rows(
            project_id=project.pk,
            required_reviews=project.required_reviews,
            reviewer_id=reviewer.pk,
            now=now,
        )
        return rows[0][0] if rows else None
    candidates = _eligible_claims(
        project=project, reviewer=reviewer, now=now, assigned_only=assigned_only
    )
    if passed_over:
        candidates = candidates.exclude(pk__in=passed_over)
    if skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",), no_key=True)
    else:
        candidates = candidates.select_for_update(of=("self",), no_key=True)
    return candidates.values_list("pk", flat=True).first()


# SQLite's pick (``_pick_from`` with no claim passed over): ``_eligible_claims``'s first
# claim, compiled once for each pass (annotations.compiled). Building and compiling that
# queryset on every lease was about two thirds of ``lease_next``'s CPU time on SQLite
# (bench/README.md, "SQLite lease pick"); SQLite runs the statement in a small part of it.
# tests/test_queue_pick.py, run on SQLite, holds its picks equal to the ORM queryset's.
_PICK_COMPILED = {
    assigned_only: CompiledValuesList(
        Claim,
        lambda project_id, required_reviews, reviewer_id, now, assigned_only=assigned_only: (
            _eligible_claims_by_id(
                project_id=project_id,
                required_reviews=required_reviews,
                reviewer_id=reviewer_id,
                now=now,
                assigned_only=assigned_only,
            ).values_list("pk")[:1]
        ),
        project_id=int,
        required_reviews=int,
        reviewer_id=int,
        now=dt.datetime,
    )
    for assigned_only in (False, True)
}


# The claim with its creator, as a lease's answer shows it (``ClaimSerializer``): the
# columns and the instances of ``_pick_unheld``'s row, compiled once per database.
_CLAIM_ANSWER = CompiledModels(
    Claim,
    lambda claim_id: Claim.objects.select_related("created_by").filter(pk=claim_id).order_by()[:1],
    claim_id=int,
)
# The claim's taken slots as ``reviewer_id`` sees them (``_taken_slots``), for the
# condition of a lease's insert (``_lease_create`` with ``free_slot``).
_TAKEN = CompiledValuesList(
    Claim,
    lambda claim_id, now, reviewer_id: (
        Claim.objects.filter(pk=claim_id)
        .annotate(taken=_taken_slots(reviewer_id=reviewer_id, now=now))
        .order_by()
        .values_list("taken")[:1]
    ),
    claim_id=int,
    now=dt.datetime,
    reviewer_id=int,
)
_UNHELD_PICK_SQL: dict[str, Unprepared] = {}


def _unheld_pick_sql(alias: str) -> Unprepared:
    """``_PICK_SQL`` with ``_UNHELD``, answering ``_CLAIM_ANSWER``'s columns for database
    ``alias``: its select list and joins as the ORM compiles them, the claim's table
    written as the pick's ``c``, skipping locked rows; never prepared (``_PICK_RUN``).
    Built once per database."""
    sql = _UNHELD_PICK_SQL.get(alias)
    if sql is None:
        qn = connections[alias].ops.quote_name
        claim = qn(Claim._meta.db_table)
        compiled = _CLAIM_ANSWER.compiled(alias).sql
        select, source = compiled[: compiled.index(" WHERE ")].split(" FROM ", 1)
        assert select.startswith("SELECT ") and source.startswith(claim + " ")
        assert "%s" not in select + source, "no parameter before the WHERE"
        sql = _UNHELD_PICK_SQL[alias] = Unprepared(
            _PICK_SQL_TEMPLATE.format(
                select=select.removeprefix("SELECT ").replace(claim + ".", "c."),
                source="annotations_claim c"
                + source.removeprefix(claim).replace(claim + ".", "c."),
                assigned="",
                unheld=_UNHELD,
            )
            + " SKIP LOCKED"
        )
    return sql


def _pick_unheld(*, project: Project, reviewer: User, now: dt.datetime) -> Claim | None:
    """PostgreSQL, for a reviewer no claim of ``project`` is assigned to: the claim
    ``_pick`` would pick first (skipping locked ones), locked and loaded with its creator,
    in the statement that picks it, or None when the reviewer holds a lease in the project
    or no unlocked claim is free for them. Its taken slots are not re-counted here: the
    lease's insert re-counts them (``_lease_create``'s ``free_slot``)."""
    alias = connection.alias
    params = _pick_params(project=project, reviewer=reviewer, now=now, passed_over=[])
    with connection.cursor() as cursor:
        cursor.execute(_unheld_pick_sql(alias), params)
        rows = cursor.fetchall()
    found = _CLAIM_ANSWER.instances(alias, rows)
    return found[0] if found else None


def _ineligible_reason(
    *, claim: Claim, reviewer: User, now: dt.datetime, gold: bool = False
) -> str | None:
    """Why ``reviewer`` may not take ``claim`` (a row the caller has locked) right now, or
    None: the queue's rules (``_eligible_claims``) one by one, each with its reason.
    ``gold``: the claim is a gold claim shown to the reviewer as in review; its status and
    slots are not theirs to learn (a calibration lease takes no slot)."""
    if not gold and claim.status != ClaimStatus.IN_REVIEW:
        return f"This claim is not in review (it is {claim.get_status_display().lower()})."
    if claim.created_by_id == reviewer.pk:
        return "You created this claim: other reviewers judge it."
    facts = _CLAIM_FACTS.one(claim_id=claim.pk, now=now, reviewer_id=reviewer.pk)
    assert facts is not None, "the claim is locked"
    if facts["judged"]:
        return "You have already submitted a verdict on this claim."
    if facts["skipped"]:
        return "You skipped this claim."
    if not gold and facts["taken"] >= claim.project.required_reviews:
        return "No free review slot: this claim has all the reviewers it needs."
    return None


# What ``_ineligible_reason`` asks the database about a claim the caller has locked, in one
# statement (on PostgreSQL a fresh snapshot, taken once the lock is held): whether the
# reviewer judged its current version, whether they skipped it, and its taken slots as they
# see them (``_taken_slots``). Compiled once (annotations.compiled).
_CLAIM_FACTS = CompiledValues(
    Claim,
    lambda claim_id, now, reviewer_id: (
        Claim.objects.filter(pk=claim_id)
        .annotate(
            judged=Exists(
                Verdict.objects.filter(
                    claim_id=OuterRef("pk"),
                    reviewer_id=reviewer_id,
                    claim_version=OuterRef("claim_version"),
                )
            ),
            skipped=Exists(
                Assignment.objects.filter(
                    claim_id=OuterRef("pk"),
                    reviewer_id=reviewer_id,
                    state=AssignmentState.SKIPPED,
                )
            ),
            taken=_taken_slots(reviewer_id=reviewer_id, now=now),
        )
        .order_by()
        .values("judged", "skipped", "taken")[:1]
    ),
    claim_id=int,
    now=dt.datetime,
    reviewer_id=int,
)


def _close_assignment(
    assignment: Assignment, *, state: str, now: dt.datetime, reason: str = ""
) -> None:
    assignment.state = state
    assignment.closed_at = now
    if reason:
        assignment.reason = reason
    assignment.save(update_fields=["state", "closed_at", "reason"])


def claim_leases_end(
    *,
    claim: Claim,
    actor: User | None,
    reason: str,
    now: dt.datetime | None = None,
    pending: PendingEvents | None = None,
) -> list[Assignment]:
    """End the open leases of ``claim``, whose row lock the caller holds: the one home of
    "a claim that stops taking verdicts from lease holders ends their leases" (withdrawn,
    reopened, resolved or disputed by the rule, adjudicated, its gold mark removed), and
    of "a lease holder judges only the words they were shown" (edited, revised,
    re-anchored to another quote: they take it again). Each
    lease still leased (expired or not) is closed as released, with a ``lease.release``
    event naming the claim and ``reason``; without it the queue would hand the reviewer
    back a claim that takes no verdict from them (``lease_next`` returns a held lease as
    it is) and keep them from leasing another.

    The leases' rows are locked (``FOR NO KEY UPDATE``) in one statement, before any event
    is appended: call it before the caller records its own events (the chain's head is
    the last lock a writer takes). The events are appended here at once, or added to the
    caller's ``pending`` events."""
    leases = list(
        Assignment.objects.select_for_update(of=("self",), no_key=True)
        .filter(claim_id=claim.pk, state=AssignmentState.LEASED)
        .order_by("pk")
    )
    if not leases:
        return leases
    now = now or timezone.now()
    events = []
    for lease in leases:
        _close_assignment(lease, state=AssignmentState.RELEASED, now=now)
        events.append(
            _event_build(
                actor=actor,
                verb="lease.release",
                obj=lease,
                project_id=claim.project_id,
                after={"claim": claim.pk, "reason": reason},
            )
        )
    events_add_or_record(events, pending=pending)
    return leases


@transaction.atomic
def lease_next(
    *,
    reviewer: User,
    project: Project | None = None,
    project_id: int | None = None,
    now: dt.datetime | None = None,
) -> Assignment | None:
    """Lease the next eligible claim of ``project`` to ``reviewer`` (assigned to them first,
    then by priority, deadline and age: ``_pick``); None when there is none.

    ``project`` as the caller looked it up (PermissionDenied for a non-member), or
    ``project_id``: the project is looked up here, with the reviewer's membership and under
    its lock, in one statement (``access.project_get_for_user``: Http404 for a non-member;
    the API's one read of the project).

    A reviewer holds at most one lease per project: if they hold an unexpired one it is
    returned unchanged; an expired one is closed first. On PostgreSQL the candidate row
    is taken with ``SELECT … FOR NO KEY UPDATE SKIP LOCKED`` so concurrent callers never wait on
    or share a claim; because a concurrent lease inserts an Assignment without touching
    the claim row, the free-slot check is repeated in a fresh statement once the row lock
    is held (every writer of leases and verdicts holds that lock).
    """
    now = now or timezone.now()
    # Serialize one reviewer's concurrent calls (double click, two tabs) on their membership
    # row, so they agree on one lease instead of racing to insert two. The held lease is
    # read after it, in a statement of its own: on PostgreSQL one statement's reads are of
    # the snapshot taken before it waited for the lock, and would miss the lease the other
    # call committed meanwhile.
    if project is None:
        if project_id is None:
            raise TypeError("lease_next takes project or project_id")
        project, membership = access.project_get_for_user(
            user=reviewer, pk=project_id, read=_PROJECT_LOCKED
        )
    else:
        membership = access.membership_require(
            user=reviewer, project_id=project.pk, read=_PROJECT_LOCKED
        )
    assigned = membership.assigned  # type: ignore[attr-defined]  # _PROJECT_LOCKED's
    skip_locked = connection.features.has_select_for_update_skip_locked
    # PostgreSQL, nothing assigned to the reviewer (the common case): the held lease's
    # read, the pick and the picked claim's read in one statement, and the free slots
    # re-counted by the lease's insert. It comes after the membership's lock, so it sees a
    # lease another call of theirs committed meanwhile.
    unheld = connection.vendor == "postgresql" and skip_locked and not assigned
    first = _pick_unheld(project=project, reviewer=reviewer, now=now) if unheld else None
    held = None
    if first is None:
        held = _LEASE_HELD_LOCKED.first(project_id=project.pk, reviewer_id=reviewer.pk)
        if held is not None:
            if held.expires_at > now:
                return held
            _close_assignment(held, state=AssignmentState.EXPIRED, now=now)
        elif unheld:
            # _pick_unheld found no unlocked claim free for them: wait for a locked one.
            skip_locked = False
    # The expiry's event is recorded once the pick below has its claim lock: recording an
    # event takes the audit chain's lock, the last lock a writer may take (waiting for a
    # claim while holding it could deadlock with a verdict holding that claim).
    expired = held
    passed_over: list[int] = []
    for _ in range(50):
        # Whether the lease's insert re-counts the claim's free slots (it was not here).
        recount = first is not None
        claim, first = first, None
        if not recount:
            claim_id = _pick(
                project=project,
                reviewer=reviewer,
                now=now,
                passed_over=passed_over,
                skip_locked=skip_locked,
                assigned=assigned,
            )
            if claim_id is None and skip_locked:
                # Nothing free to skip to: either the queue is empty for this reviewer, or
                # every eligible claim is locked right now (verdicts being written). Ask
                # again waiting for a locked one instead of calling the queue empty.
                skip_locked = False
                continue
            if claim_id is not None:
                # Re-counted under the lock, with the claim and its creator for the answer.
                claim = _CLAIM_WITH_SLOTS.first(claim_id=claim_id, now=now, reviewer_id=reviewer.pk)
                assert claim is not None  # locked by the pick
                if claim.taken >= project.required_reviews:  # type: ignore[attr-defined]
                    passed_over.append(claim_id)
                    continue
        # --- gold calibration hook (issue 18, services/calibration.py) -------------------
        # May put a gold claim in the picked one's place (a calibration lease); runs the
        # same queries whatever it decides. Keep this call right before the lease is made.
        claim, is_calibration = calibration.gold_substitute(
            project=project, reviewer=reviewer, claim=claim
        )
        # --- end of gold calibration hook --------------------------------------------------
        if claim is None:
            _expiry_record(expired, reviewer=reviewer, project=project)
            return None
        lease = _lease_create(
            project=project,
            claim=claim,
            reviewer=reviewer,
            now=now,
            expired=expired,
            is_calibration=is_calibration,
            free_slot=recount and not is_calibration,
        )
        if lease is not None:
            return lease
        # The re-count found no free slot (taken by a lease committed since the pick's
        # snapshot): nothing was written; the next claim.
        passed_over.append(claim.pk)
    _expiry_record(expired, reviewer=reviewer, project=project)
    return None


def _lease_create(
    *,
    project: Project,
    claim: Claim,
    reviewer: User,
    now: dt.datetime,
    expired: Assignment | None,
    is_calibration: bool = False,
    free_slot: bool = False,
) -> Assignment | None:
    """Write the lease of a claim whose row lock the caller holds, and its events
    (``is_calibration``: a gold claim served for calibration, ``services.calibration``).
    The lease comes back with ``claim`` as its claim (loaded with its creator by the
    callers: the answer of ``queue/next`` and ``claims/{id}/lease`` shows it).

    ``free_slot``: only if the claim still has a free review slot for ``reviewer``
    (``_taken_slots``), counted by the insert itself, a statement that starts after the
    claim's lock is held (on PostgreSQL a fresh snapshot: it sees the leases and verdicts
    committed while the pick ran); None with nothing written when it has none."""
    assignment = Assignment(
        project=project,
        claim=claim,
        reviewer=reviewer,
        state=AssignmentState.LEASED,
        leased_at=now,
        expires_at=now + dt.timedelta(minutes=project.lease_minutes),
        calibration=is_calibration,
    )
    created = _event_build(
        actor=reviewer,
        verb="lease.create",
        object_type="assignment",  # the new lease's id, once written
        project_id=project.pk,
        after={
            "claim": claim.pk,
            "expires_at": assignment.expires_at.isoformat(),
            **({"calibration": True} if is_calibration else {}),
        },
    )
    # The lease and its events (an expired one's first) in one statement on PostgreSQL.
    expiry = _expiry_event(expired, reviewer=reviewer, project=project)
    events = [*([expiry] if expiry is not None else []), created]
    if not free_slot:
        _insert_with(assignment, events=events)
        return assignment
    taken_sql, taken_params = _TAKEN.bind(
        claim_id=claim.pk, now=now, reviewer_id=reviewer.pk
    ).as_sql(router.db_for_write(Assignment))
    if not _insert_if(
        assignment,
        f"({taken_sql}) < %s",
        [*taken_params, project.required_reviews],
        events=events,
    ):
        return None
    return assignment


@transaction.atomic
def lease_claim(*, reviewer: User, claim: Claim, now: dt.datetime | None = None) -> Assignment:
    """Lease ``claim`` itself to ``reviewer`` (review from the claim page), under the
    queue's rules and locks.

    Returns the reviewer's live lease on this claim unchanged if they hold one. Raises
    QueueConflict when they hold a live lease on another claim of the project (one lease
    per reviewer and project: submit, release or skip it first), or when the claim is not
    eligible for them (``_ineligible_reason``: not in review, their own, judged or skipped
    by them, no free slot). Locks the reviewer's membership row, then waits for the claim
    row (unlike the queue, which skips locked claims: this is the one claim asked for), and
    counts the free slots under that lock, as ``lease_next`` does.
    """
    now = now or timezone.now()
    access.membership_require(user=reviewer, project_id=claim.project_id, lock=True)
    project = claim.project
    held = _LEASE_HELD_LOCKED.first(project_id=project.pk, reviewer_id=reviewer.pk)
    expired = None
    if held is not None:
        if held.expires_at > now:
            if held.claim_id == claim.pk:
                return held
            raise QueueConflict(
                f"You hold a lease on another claim (#{held.claim_id}) of this project: "
                "submit, release or skip it first."
            )
        _close_assignment(held, state=AssignmentState.EXPIRED, now=now)
        expired = held
    locked = (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("project", "created_by")
        .get(pk=claim.pk)
    )
    # A gold claim presents to this reviewer as a claim in review (access.gold_masked_ids):
    # taking it from its page gives a calibration lease, as the queue would, and refuses
    # only for what would refuse an ordinary claim (their own, judged, skipped).
    gold = bool(access.gold_masked_ids(user=reviewer, claim_ids=[locked.pk]))
    reason = _ineligible_reason(claim=locked, reviewer=reviewer, now=now, gold=gold)
    if reason is not None:
        raise QueueConflict(reason)
    lease = _lease_create(
        project=project,
        claim=locked,
        reviewer=reviewer,
        now=now,
        expired=expired,
        is_calibration=gold,
    )
    assert lease is not None, "an unconditional insert"
    return lease


def _expiry_record(expired: Assignment | None, *, reviewer: User, project: Project) -> None:
    event = _expiry_event(expired, reviewer=reviewer, project=project)
    if event is not None:
        events_record([event])


def _expiry_event(expired: Assignment | None, *, reviewer: User, project: Project) -> Event | None:
    """The ``lease.expire`` event of the reviewer's ``expired`` lease, unsaved (None
    without one)."""
    if expired is None:
        return None
    return _event_build(
        actor=reviewer,
        verb="lease.expire",
        obj=expired,
        project_id=project.pk,
        after={"claim": expired.claim_id},
    )


# The project with the reviewer's membership, its row locked (``lease_next``), and whether
# a claim of the project is assigned to them (``assigned``: else ``_pick`` skips its first
# pass). Read before any wait for the lock (``access.project_read``): a claim assigned to
# them meanwhile is offered as any other this time, and first from their next lease on.
_PROJECT_LOCKED = access.project_read(
    lock=True,
    assigned=Exists(
        Reservation.objects.filter(
            reviewer_id=OuterRef("user_id"), project_id=OuterRef("project_id")
        )
    ),
)
# The reviewer's lease in the project (a reviewer holds at most one), locked, with its
# claim and the claim's creator (returned as it is when live: the answer shows the claim;
# only the lease's row is locked): read by every lease, compiled once
# (annotations.compiled). ``first()``'s order, by id.
_LEASE_HELD_LOCKED = CompiledModels(
    Assignment,
    lambda project_id, reviewer_id: (
        Assignment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("claim__created_by")
        .filter(project_id=project_id, reviewer_id=reviewer_id, state=AssignmentState.LEASED)
        .order_by("pk")[:1]
    ),
    project_id=int,
    reviewer_id=int,
)


def held_leases(*, now: dt.datetime, **filters: Any) -> QuerySet[Assignment]:
    """The leases held at ``now`` (leased and not expired), of ``filters``: the one rule of
    what a held lease is, for the services that check, read or close one."""
    return Assignment.objects.filter(state=AssignmentState.LEASED, expires_at__gt=now, **filters)


def _held_lease(*, claim: Claim, reviewer: User, now: dt.datetime) -> Assignment | None:
    return (
        held_leases(now=now, claim=claim, reviewer=reviewer).select_for_update(no_key=True).first()
    )


@transaction.atomic
def lease_release(*, claim: Claim, reviewer: User, now: dt.datetime | None = None) -> Assignment:
    """Give a held lease back; the slot is free for someone else at once."""
    now = now or timezone.now()
    assignment = _held_lease(claim=claim, reviewer=reviewer, now=now)
    if assignment is None:
        raise QueueConflict("You do not hold a lease on this claim.")
    _close_assignment(assignment, state=AssignmentState.RELEASED, now=now)
    event_record(
        actor=reviewer,
        verb="lease.release",
        obj=assignment,
        project_id=claim.project_id,
        after={"claim": claim.pk},
    )
    return assignment


@transaction.atomic
def claim_skip(
    *, claim: Claim, reviewer: User, reason: str, now: dt.datetime | None = None
) -> Assignment:
    """Never offer ``claim`` to ``reviewer`` again (e.g. a conflict of interest); frees any lease."""
    now = now or timezone.now()
    access.membership_require(user=reviewer, project_id=claim.project_id)
    _require_storable_text(reason=reason)
    limits.require_lengths(reason=(reason, limits.MAX_REASON))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why you skip this claim (e.g. conflict of interest)."}
        )
    if Verdict.objects.filter(
        claim=claim, reviewer=reviewer, claim_version=claim.claim_version
    ).exists():
        raise QueueConflict("You have already submitted a verdict on this claim.")
    assignment = (
        Assignment.objects.select_for_update(no_key=True)
        .filter(claim=claim, reviewer=reviewer, state=AssignmentState.LEASED)
        .first()
    )
    if assignment is None:
        if Assignment.objects.filter(
            claim=claim, reviewer=reviewer, state=AssignmentState.SKIPPED
        ).exists():
            raise QueueConflict("You have already skipped this claim.")
        assignment = Assignment(
            project_id=claim.project_id,
            claim=claim,
            reviewer=reviewer,
            leased_at=now,
            expires_at=now + dt.timedelta(seconds=1),
        )
    assignment.state = AssignmentState.SKIPPED
    assignment.closed_at = now
    assignment.reason = reason
    assignment.save()
    # A reviewer who skips a claim assigned to them declines it: the slot goes back to
    # the queue (the skip's event says so).
    unassigned, _ = Reservation.objects.filter(claim=claim, reviewer=reviewer).delete()
    after: dict[str, object] = {"claim": claim.pk, "reason": reason}
    if unassigned:
        after["unassigned"] = True
    event_record(
        actor=reviewer,
        verb="claim.skip",
        obj=assignment,
        project_id=claim.project_id,
        after=after,
    )
    return assignment
