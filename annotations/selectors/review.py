"""Reads about reviewing: the verdicts a user may see, consensus history, the claim page's
review state, source suggestions and the editors' disputes.

Blind review is decided in ``annotations.access`` (``can_see_all_verdicts``,
``verdict_scope_for_user``); these compose the queries every interface reads verdicts
through: the UI, the API, the export and the dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from annotations import access
from annotations.access import User
from annotations.compiled import CompiledModels
from annotations.core import lifecycle
from annotations.models import (
    QUEUE_ORDER,
    SCHEDULE_ORDER,
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    ClaimVersion,
    Consensus,
    Document,
    GoldClaim,
    Membership,
    Project,
    Publication,
    Rating,
    Reservation,
    Source,
    Verdict,
)
from annotations.selectors.documents import claims_for_reader
from annotations.selectors.evidence import citations_prefetch


def verdicts_visible_to(
    *, user: User, claim: Claim, membership: Membership | None, include_history: bool = False
) -> QuerySet[Verdict]:
    """Verdicts on ``claim`` that ``user`` may see under blind review."""
    queryset = (
        Verdict.objects.filter(claim=claim)
        .select_related("reviewer", "rating")
        .prefetch_related(citations_prefetch())
    )
    if not include_history:
        queryset = queryset.filter(is_current=True)
    if membership is None:
        return queryset.none()
    if access.can_see_all_verdicts(membership=membership, claim=claim, user=user):
        # Calibration verdicts on a gold claim are their reviewer's own and the editors'
        # (``calibration_verdicts_of``), never in this list for anyone else.
        queryset = queryset.filter(Q(calibration=False) | Q(reviewer=user))
    else:
        queryset = queryset.filter(reviewer=user)
    return queryset.order_by("submitted_at", "id")


def consensus_history(*, claim: Claim) -> QuerySet[Consensus]:
    return (
        Consensus.objects.filter(claim=claim)
        .select_related("rating", "decided_by")
        .prefetch_related(
            Prefetch("verdicts", queryset=Verdict.objects.select_related("reviewer", "rating"))
        )
        .order_by("sequence")
    )


def _current_consensus() -> Prefetch[Any]:
    """Each claim's current consensus record as ``claim.current_consensus``, a list of zero
    or one record."""
    return Prefetch(
        "consensus_history",
        queryset=Consensus.objects.filter(is_current=True).select_related("rating"),
        to_attr="current_consensus",
    )


def claims_with_consensus(queryset: QuerySet[Claim]) -> QuerySet[Claim]:
    """Claims with their creator and current consensus loaded in a constant number of queries
    (``claim.current_consensus`` is a list of zero or one record)."""
    return queryset.select_related("created_by").prefetch_related(_current_consensus())


def claims_presented(
    queryset: QuerySet[Claim], *, user: User, membership: Membership | None = None
) -> list[Claim]:
    """``claims_with_consensus`` as ``user`` is shown them: a gold claim presents to a
    reviewer as an ordinary claim in review (``access.claims_present_for``).

    The consensus records are read only for the claims that point to one (a claim's
    ``consensus`` is set exactly while it is decided): a document whose claims are all in
    review costs one query here, not two."""
    return loaded_claims_presented(
        list(queryset.select_related("created_by")), user=user, membership=membership
    )


def loaded_claims_presented(
    claims: list[Claim],
    *,
    user: User,
    membership: Membership | None = None,
    current: Callable[[], list[Consensus]] | None = None,
) -> list[Claim]:
    """``claims_presented`` of claims already loaded with their creator (a service that
    locked them read them so, e.g. the lease's claim): their rows are not read again; the
    current consensus of the decided ones and the gold mask are (``claims_presented``).
    ``current``: reads the current records of (at least) these claims, with their ratings,
    in one compiled query, instead of the ORM's prefetch (``reader_claims_presented``)."""
    decided = []
    for claim in claims:
        if claim.consensus_id is None:
            claim.current_consensus = []  # type: ignore[attr-defined]  # as the prefetch sets it
        else:
            decided.append(claim)
    if decided and current is None:
        prefetch_related_objects(decided, _current_consensus())
    elif decided:  # what the prefetch sets, from one compiled read
        records: dict[int, list[Consensus]] = {}
        for record in current():
            records.setdefault(record.claim_id, []).append(record)
        for claim in decided:
            claim.current_consensus = records.get(claim.pk, [])  # type: ignore[attr-defined]
    access.claims_present_for(user=user, claims=claims, membership=membership)
    return claims


# A document's claims as the reader shows them (``claims_for_reader``, the one rule) with
# their creators' usernames (``created_by_username``; not the users' rows, a tenth of a
# read), compiled once (annotations.compiled): building and compiling the queryset took a
# tenth of an API document read.
_READER_CLAIMS = CompiledModels(
    Claim,
    lambda document_id, revision: claims_for_reader(
        document=Document(pk=document_id, revision=revision)
    ).annotate(created_by_username=F("created_by__username")),
    document_id=int,
    revision=int,
)


# The current consensus records of those claims with their ratings (``_current_consensus``'s
# queryset), compiled once: the ORM's prefetch built its query on every read, ~40% of a
# read of 50 decided claims (bench/README.md, "Issue 20, round 11").
_READER_CONSENSUS = CompiledModels(
    Consensus,
    lambda document_id, revision: _current_consensus().queryset.filter(
        claim__in=claims_for_reader(document=Document(pk=document_id, revision=revision)).values(
            "pk"
        )
    ),
    document_id=int,
    revision=int,
)


def reader_claims_presented(
    *, document: Document, user: User, membership: Membership | None = None
) -> list[Claim]:
    """``claims_presented(claims_for_reader(document=document), …)``: the claims of the
    document's current text, in text order, as ``user`` is shown them."""
    return loaded_claims_presented(
        _READER_CLAIMS.objects(document_id=document.pk, revision=document.revision),
        user=user,
        membership=membership,
        current=lambda: _READER_CONSENSUS.objects(
            document_id=document.pk, revision=document.revision
        ),
    )


def claim_presented(*, pk: int, user: User, membership: Membership | None = None) -> Claim:
    """One claim (by id, already looked up through ``access``) as ``user`` is shown it."""
    (claim,) = claims_presented(Claim.objects.filter(pk=pk), user=user, membership=membership)
    return claim


def consensus_history_for(
    *,
    claim: Claim,
    user: User,
    membership: Membership | None,
    sees_all_verdicts: bool | None = None,
) -> list[Consensus]:
    """``consensus_history`` as ``user`` is shown it: none on a claim that presents to them
    as in review (a gold claim, ``access.claims_present_for``, applied here unless the
    caller has applied it already), nor, while the claim collects verdicts again, to a
    reviewer who has not judged its current version (``access.can_see_consensus``;
    ``sees_all_verdicts``: ``access.can_see_all_verdicts``, when the caller has it)."""
    if getattr(claim, "gold_masked", None) is None:
        access.claims_present_for(user=user, claims=[claim], membership=membership)
    if claim.gold_masked:  # type: ignore[attr-defined]  # set by claims_present_for
        return []
    if sees_all_verdicts is None and not access.can_see_consensus(
        claim=claim, sees_all_verdicts=False
    ):  # the claim collects verdicts: whether the user sees them all decides (one query)
        sees_all_verdicts = access.can_see_all_verdicts(
            membership=membership, claim=claim, user=user
        )
    if not access.can_see_consensus(claim=claim, sees_all_verdicts=bool(sees_all_verdicts)):
        return []
    return list(consensus_history(claim=claim))


@dataclass(frozen=True)
class ClaimReview:
    """Everything the claim page shows about the review of one claim, for one user, with the
    decisions already taken (templates only read flags). ``verdicts`` went through
    ``verdicts_visible_to``: under blind review it holds only the user's own verdict."""

    verdicts: list[Verdict]
    own_verdict: Verdict | None
    others_visible: bool
    lease: Assignment | None
    ratings: list[Rating]
    consensus: list[Consensus]
    is_editor: bool
    can_judge: bool
    can_revise: bool
    can_skip: bool
    can_adjudicate: bool
    can_publish: bool
    can_reopen: bool
    can_correct: bool
    can_retract: bool
    can_edit: bool
    # Why the statement, claimant and span are not editable in place ("" when they are, or
    # when the user could not edit them anyway): the page explains instead of offering.
    frozen_reason: str
    can_revise_claim: bool
    versions: list[ClaimVersion]
    # Whether the page may say how the claim was decided before: its consensus history and
    # its earlier versions' statuses (``access.can_see_consensus``).
    shows_outcomes: bool
    # Publication versions, newest first (the claim page's "Published versions").
    publications: list[Publication]
    # Directed review: whether the claim waits for this user (a slot is reserved for them),
    # the assignees (editors only: to a reviewer, who else reviews is not theirs to see),
    # whether the user may take the claim from its page, and whether they direct it
    # (priority, deadline, assignees).
    assigned_to_me: bool
    assignees: list[Reservation]
    can_take: bool
    can_direct: bool
    # Gold calibration, for editors only (None and [] for everyone else): the claim's gold
    # mark and the calibration verdicts given on it.
    gold: GoldClaim | None = None
    calibration_verdicts: list[Verdict] = field(default_factory=list)
    can_mark_gold: bool = False
    # Review progress: the verdicts in on the claim's current version, for those the page
    # already shows every verdict to (editors; a reviewer once they judged this version;
    # a masked gold claim counts like an ordinary one: the reviewer's own verdict only).
    # None for everyone else: blind review hides even how many have judged.
    reviews_in: int | None = None
    # The claim's creator (before any verdict) or an editor, while the claim may still be
    # withdrawn (``access.claim_can_withdraw``, ``lifecycle``).
    can_withdraw: bool = False

    @property
    def can_submit(self) -> bool:
        return self.can_judge or self.can_revise


def ratings_for_project(*, project_id: int) -> list[Rating]:
    """A project's scale in display order (the order of the 1..n keyboard shortcuts)."""
    return list(Rating.objects.filter(project_id=project_id).order_by("position", "id"))


def lease_held_by(*, user: User, claim: Claim, now: dt.datetime | None = None) -> Assignment | None:
    """The user's unexpired lease on ``claim``, if any."""
    if not user.is_authenticated:
        return None
    return (
        Assignment.objects.filter(
            claim=claim,
            reviewer=user,
            state=AssignmentState.LEASED,
            expires_at__gt=now or timezone.now(),
        )
        .order_by("-leased_at")
        .first()
    )


def claim_review_get(
    *, user: User, claim: Claim, membership: Membership, now: dt.datetime | None = None
) -> ClaimReview:
    """The claim page's review state in a constant number of queries (however many verdicts,
    citations or consensus records the claim has)."""
    verdicts = list(verdicts_visible_to(user=user, claim=claim, membership=membership))
    own = next((v for v in verdicts if v.reviewer_id == user.pk), None)
    is_editor = access.is_editor(membership)
    now = now or timezone.now()
    # One query for the user's lease on the claim and whether they skipped it.
    mine = list(
        Assignment.objects.filter(
            claim=claim,
            reviewer=user,
            state__in=[AssignmentState.LEASED, AssignmentState.SKIPPED],
        ).order_by("-leased_at")
    )
    lease = next(
        (a for a in mine if a.state == AssignmentState.LEASED and a.expires_at > now), None
    )
    skipped = any(a.state == AssignmentState.SKIPPED for a in mine)
    can_direct = access.claim_can_direct(membership=membership)
    reservations = reservations_of_claim(claim=claim)
    if not can_direct:
        reservations = reservations.filter(reviewer=user)
    assignees = list(reservations)
    open_for_verdicts = claim.status in (ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED)
    has_verdicts = access.claim_is_judged(claim=claim)
    frozen = access.claim_frozen_reason(claim=claim, has_verdicts=has_verdicts)
    gold = gold_of_claim(claim=claim) if is_editor else None
    # Editors see every (non-calibration) verdict; a reviewer with a verdict on the current
    # version sees the others' too (``verdicts_visible_to``): count what the page shows.
    shows_all = access.can_see_all_verdicts(
        membership=membership,
        claim=claim,
        user=user,
        judged=own is not None and own.claim_version == claim.claim_version,
    )
    return ClaimReview(
        verdicts=verdicts,
        own_verdict=own,
        # A member who has a verdict of their own has, by construction, a current one.
        others_visible=is_editor or own is not None,
        lease=lease,
        ratings=ratings_for_project(project_id=claim.project_id),
        consensus=consensus_history_for(
            claim=claim, user=user, membership=membership, sees_all_verdicts=shows_all
        ),
        shows_outcomes=access.can_see_consensus(claim=claim, sees_all_verdicts=shows_all),
        is_editor=is_editor,
        can_judge=own is None and lease is not None and claim.status == ClaimStatus.IN_REVIEW,
        can_revise=own is not None and open_for_verdicts,
        can_skip=own is None and lease is not None,
        can_adjudicate=is_editor and claim.status == ClaimStatus.DISPUTED,
        can_publish=is_editor and claim.status == ClaimStatus.RESOLVED,
        can_reopen=is_editor and lifecycle.allowed(claim.status, lifecycle.Action.REOPEN),
        can_correct=is_editor and lifecycle.allowed(claim.status, lifecycle.Action.CORRECT),
        can_retract=is_editor and lifecycle.allowed(claim.status, lifecycle.Action.RETRACT),
        can_edit=access.claim_can_edit(
            claim=claim, membership=membership, user=user, has_verdicts=has_verdicts
        ),
        # Only to those who would otherwise be offered the edit: to anyone else "this claim
        # has verdicts" would say that someone judged it (blind review).
        frozen_reason=(frozen or "")
        if access.claim_creator_or_editor(claim=claim, membership=membership, user=user)
        else "",
        can_revise_claim=access.claim_can_revise(claim=claim, membership=membership),
        versions=list(
            ClaimVersion.objects.filter(claim=claim)
            .select_related("replaced_by")
            .order_by("-number")
        ),
        publications=list(
            Publication.objects.filter(claim=claim).select_related("editor").order_by("-number")
        ),
        assigned_to_me=any(r.reviewer_id == user.pk for r in assignees),
        assignees=assignees if can_direct else [],
        # The queue's own rules decide when taken (a full claim answers with the reason);
        # the page offers the button wherever they could let the user in.
        can_take=access.claim_can_take(
            claim=claim,
            user=user,
            judged=any(
                v.reviewer_id == user.pk and v.claim_version == claim.claim_version
                for v in verdicts
            ),
            skipped=skipped,
            leased=lease is not None,
        ),
        can_direct=can_direct,
        gold=gold,
        calibration_verdicts=calibration_verdicts_of(claim=claim) if gold else [],
        can_mark_gold=is_editor and claim.status == ClaimStatus.RESOLVED,
        reviews_in=sum(1 for v in verdicts if v.claim_version == claim.claim_version)
        if shows_all
        else None,
        can_withdraw=lifecycle.allowed(claim.status, lifecycle.Action.WITHDRAW)
        and access.claim_can_withdraw(
            claim=claim, membership=membership, user=user, has_verdicts=has_verdicts
        ),
    )


def reservations_of_claim(*, claim: Claim, now: dt.datetime | None = None) -> QuerySet[Reservation]:
    """The claim's reservations (directed assignment) with their reviewers, by username;
    ``waiting``: the reviewer has neither a live lease nor a current verdict on the claim,
    so the reservation holds a slot for them."""
    live_lease = Assignment.objects.filter(
        claim_id=claim.pk,
        reviewer_id=OuterRef("reviewer_id"),
        state=AssignmentState.LEASED,
        expires_at__gt=now or timezone.now(),
    )
    current_verdict = Verdict.objects.filter(
        claim_id=claim.pk, reviewer_id=OuterRef("reviewer_id"), is_current=True
    )
    return (
        Reservation.objects.filter(claim=claim)
        .select_related("reviewer", "assigned_by")
        .annotate(
            waiting=ExpressionWrapper(
                ~Exists(live_lease) & ~Exists(current_verdict), output_field=BooleanField()
            )
        )
        .order_by("reviewer__username")
    )


def claims_assigned_to(*, user: User, project: Project) -> QuerySet[Claim]:
    """The claims of ``project`` in review that wait for ``user`` (a slot reserved for them,
    no verdict of theirs on the current version yet), in the queue's order."""
    return (
        Claim.objects.filter(
            project=project, status=ClaimStatus.IN_REVIEW, reservations__reviewer=user
        )
        .exclude(
            Exists(Verdict.objects.filter(claim_id=OuterRef("pk"), reviewer=user, is_current=True))
        )
        .select_related("document")
        .only("pk", "statement", "priority", "due_at", "status", "document__title")
        .order_by(*QUEUE_ORDER)
    )


def gold_of_claim(*, claim: Claim) -> GoldClaim | None:
    """The claim's gold mark (for editors: callers check the role)."""
    return GoldClaim.objects.select_related("rating", "marked_by").filter(claim=claim).first()


def calibration_verdicts_of(*, claim: Claim) -> list[Verdict]:
    """Every calibration verdict on ``claim``, current ones, oldest first (for editors)."""
    return list(
        Verdict.objects.filter(claim=claim, calibration=True, is_current=True)
        .select_related("reviewer", "rating")
        .order_by("submitted_at", "id")
    )


def sources_search_for_user(
    *, user: User, project: Project, query: str, limit: int = 10
) -> list[Source]:
    """The sources of ``project`` that ``user`` may see (``access.sources_for_user``: their
    own, and others' once blind review lets them see a verdict citing it) whose title or
    URL contains ``query``, for the citation picker. A suggestion never reveals what another
    reviewer cited on a claim still blind to the user."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    return list(
        access.sources_for_user(user=user, project_id=project.pk)
        .filter(Q(title__icontains=query) | Q(url__icontains=query))
        .order_by("title", "url", "id")[:limit]
    )


@dataclass(frozen=True)
class DisputeCard:
    """One claim on the editors' disputes page: current verdicts side by side (editors see
    every verdict, so blind review does not apply) and what the editor may do next."""

    claim: Claim
    verdicts: list[Verdict]
    current_consensus: Consensus | None
    can_adjudicate: bool
    can_publish: bool
    can_reopen: bool
    # A reviewer changed their verdict after seeing the others: it resolved nothing, an
    # editor decides (the "revised after reveal, needs adjudication" flag).
    revised_after_reveal: bool
    # A reviewer revised blind after the claim became disputed (a reopened claim they
    # judged alone): no verdict resolves a disputed claim, so it too waits for an editor.
    revised_while_disputed: bool = False


def _dispute_claims(project: Project) -> QuerySet[Claim]:
    current_verdicts = (
        Verdict.objects.filter(is_current=True, calibration=False)
        .select_related("reviewer", "rating")
        .prefetch_related(citations_prefetch())
        .order_by("submitted_at", "id")
    )
    return (
        Claim.objects.filter(project=project)
        .select_related("document")
        .defer("document__text", "document__raw_text")
        .prefetch_related(
            Prefetch("verdicts", queryset=current_verdicts, to_attr="current_verdicts"),
            Prefetch(
                "consensus_history",
                queryset=Consensus.objects.filter(is_current=True).select_related(
                    "rating", "decided_by"
                ),
                to_attr="current_consensus",
            ),
        )
    )


# The most cards of each list the disputes page shows (the most pressing first): a big
# project's resolved claims are tens of thousands, and all of them with their verdicts were
# a page of seconds, then a refusal (a prefetch past PostgreSQL's 65,535 parameters).
DISPUTES_SHOWN = 100


@dataclass(frozen=True)
class DisputeLists:
    """The disputes page's two lists, each cut at ``DISPUTES_SHOWN``, and how many claims
    each status has in all."""

    disputed: list[DisputeCard]
    resolved: list[DisputeCard]
    disputed_total: int
    resolved_total: int


def dispute_cards_for_editor(*, project: Project, shown: int | None = None) -> DisputeLists:
    """The disputed claims and the resolved claims awaiting publication of ``project`` in
    the editors' schedule (``SCHEDULE_ORDER``: scheduling a claim moves it up, never out of
    a list), then unchanged the longest first; at most ``shown`` (``DISPUTES_SHOWN``) of
    each, with each status's total. One query for the claims (ranked and counted per status
    by window functions) and a constant number for their verdicts and consensus. Call only
    after checking the editor role."""
    by_status = {"partition_by": [F("status")]}
    order = (*SCHEDULE_ORDER, "updated_at", "id")
    claims = (
        _dispute_claims(project)
        .filter(status__in=[ClaimStatus.DISPUTED, ClaimStatus.RESOLVED])
        .annotate(
            rank=Window(RowNumber(), order_by=order, **by_status),
            status_total=Window(Count("id"), **by_status),
        )
        .filter(rank__lte=DISPUTES_SHOWN if shown is None else shown)
        .order_by(*order)
    )
    cards: dict[str, list[DisputeCard]] = {ClaimStatus.DISPUTED: [], ClaimStatus.RESOLVED: []}
    totals = dict.fromkeys(cards, 0)
    for claim in claims:
        cards[claim.status].append(dispute_card(claim))
        totals[claim.status] = claim.status_total  # type: ignore[attr-defined]
    return DisputeLists(
        disputed=cards[ClaimStatus.DISPUTED],
        resolved=cards[ClaimStatus.RESOLVED],
        disputed_total=totals[ClaimStatus.DISPUTED],
        resolved_total=totals[ClaimStatus.RESOLVED],
    )


def dispute_card_get(*, project: Project, claim_id: int) -> DisputeCard:
    """One claim's card for the disputes page, whatever its status now."""
    claim = _dispute_claims(project).filter(pk=claim_id).first()
    if claim is None:
        raise Http404
    return dispute_card(claim)


def dispute_card(claim: Claim) -> DisputeCard:
    current = claim.current_consensus[0] if claim.current_consensus else None  # type: ignore[attr-defined]
    verdicts = list(claim.current_verdicts)  # type: ignore[attr-defined]
    return DisputeCard(
        claim=claim,
        verdicts=verdicts,
        revised_after_reveal=claim.status == ClaimStatus.DISPUTED
        and any(v.post_reveal for v in verdicts),
        # Submitted after the claim's last change, its move to disputed (a verdict does
        # not touch the claim's row).
        revised_while_disputed=claim.status == ClaimStatus.DISPUTED
        and any(
            not v.post_reveal and v.revision > 1 and v.submitted_at > claim.updated_at
            for v in verdicts
        ),
        current_consensus=current,
        can_adjudicate=claim.status == ClaimStatus.DISPUTED,
        can_publish=claim.status == ClaimStatus.RESOLVED,
        can_reopen=lifecycle.allowed(claim.status, lifecycle.Action.REOPEN),
    )


OVERDUE_LIMIT = 20


def claims_overdue(
    *, project: Project, now: dt.datetime | None = None, limit: int = OVERDUE_LIMIT
) -> list[Claim]:
    """Up to ``limit`` claims of ``project`` past their deadline and still undecided
    (``core.scheduling.is_overdue``), the most overdue first."""
    return list(
        Claim.objects.filter(
            project=project,
            status__in=sorted(str(s) for s in lifecycle.UNDECIDED),
            due_at__lte=now or timezone.now(),
        )
        .only("pk", "statement", "priority", "due_at", "status")
        .order_by("due_at", "priority", "id")[:limit]
    )


@dataclass(frozen=True)
class QueueEmptyReasons:
    """Why "Review next" found nothing for one reviewer: the project's claims in review
    (as the reviewer is shown them: a masked gold claim counts as in review) by the rule
    that keeps each from them. ``taken``: the rest, which have their reviews or whose free
    slots are leased or reserved to other reviewers (one figure: blind review does not
    say which)."""

    in_review: int
    created: int
    judged: int
    skipped: int

    @property
    def taken(self) -> int:
        return max(0, self.in_review - self.created - self.judged - self.skipped)


def queue_empty_reasons(*, user: User, project: Project) -> QueueEmptyReasons:
    """``QueueEmptyReasons`` for ``user`` in ``project``, in one query."""
    mine = Q(created_by=user)
    judged = Q(
        Exists(
            Verdict.objects.filter(
                claim_id=OuterRef("pk"), reviewer=user, claim_version=OuterRef("claim_version")
            )
        )
    )
    skipped = Q(
        Exists(
            Assignment.objects.filter(
                claim_id=OuterRef("pk"), reviewer=user, state=AssignmentState.SKIPPED
            )
        )
    )
    figures = (
        Claim.objects.filter(project=project)
        .filter(access.claim_status_presented_q(user=user, status=ClaimStatus.IN_REVIEW))
        .aggregate(
            in_review=Count("pk"),
            created=Count("pk", filter=mine),
            judged=Count("pk", filter=judged & ~mine),
            skipped=Count("pk", filter=skipped & ~judged & ~mine),
        )
    )
    return QueueEmptyReasons(**figures)


def claims_unsettled(*, project_id: int | None = None) -> QuerySet[Claim]:
    """Claims in review (of ``project_id``, or of every project) that hold at least their
    project's ``required_reviews`` counted verdicts (``access.verdicts_counted``), in id
    order: the rule decides a claim when its last verdict comes in, so such a claim waits
    for a decision no verdict will bring (its project's number was lowered after its
    verdicts came in; ``services.consensus_settle`` decides it, ``check_integrity``
    reports it)."""
    counted = (
        access.verdicts_counted(Verdict.objects.filter(claim_id=OuterRef("pk")))
        .order_by()
        .values("claim_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    claims = Claim.objects.filter(status=ClaimStatus.IN_REVIEW)
    if project_id is not None:
        claims = claims.filter(project_id=project_id)
    return (
        claims.annotate(counted=Subquery(counted))
        .filter(counted__gte=F("project__required_reviews"))
        .order_by("pk")
    )
