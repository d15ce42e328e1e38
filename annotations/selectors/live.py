"""The live-updates change feed: which pages of a project a member should refresh, read
from the audit trail (``Event``), never what changed.

Every write records an ``Event`` in its project's hash chain, numbered by ``seq`` under the
lock of the chain's head (``services._base``): a project's events commit in ``seq`` order,
so the committed ones are always a prefix of the chain and ``seq`` is a cursor that never
skips an event committed late (a global id would: ids are handed out before commit, and
across projects in any order). A change tells a page only *that* it may show something
new: the claim and document it concerns, whether the claim is new, which pages
(``reader``, ``dashboard``, ``disputes``) show it. The page then asks its ordinary view,
which applies every access rule. What the member may not see sends nothing:

* another reviewer's verdict, unless the member may see the claim's verdicts (editors, or
  they judged its current version): blind review. Calibration verdicts reach their author
  and the editors only;
* leases and skips are the lease holder's own ("My leases");
* gold marks, and anything on a claim that presents to the member as an ordinary claim in
  review (``access.gold_masked_ids``) beyond what any such claim tells them (its creation,
  the changes of its words and span), reach editors only;
* events of other projects, of no project, and verbs no page shows (notifications,
  tokens, sources, webhooks, claimants…).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotations import access
from annotations.access import User
from annotations.dbcursor import unprepared
from annotations.models import (
    Assignment,
    AuditHead,
    Claim,
    ClaimStatus,
    Consensus,
    Event,
    Membership,
    Verdict,
)

# Events read per query; a longer backlog is read by the next call from the returned cursor.
BATCH = 500

READER, DASHBOARD, DISPUTES = "reader", "dashboard", "disputes"

# verb -> (pages every member is told about, pages only editors are told about).
_CLAIM_VERBS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claim.create": ((READER, DASHBOARD), ()),
    "claim.status": ((READER, DASHBOARD), (DISPUTES,)),
    "claim.revise": ((READER, DASHBOARD), (DISPUTES,)),
    "claim.update": ((READER,), (DISPUTES,)),
    "claim.reanchor": ((READER,), (DISPUTES,)),
    "claim.schedule": ((READER, DASHBOARD), ()),
    "claim.needs_adjudication": ((), (DISPUTES,)),
    "claim.gold_mark": ((), (READER, DASHBOARD, DISPUTES)),
    "claim.gold_unmark": ((), (READER, DASHBOARD, DISPUTES)),
    "consensus.recompute": ((), (DISPUTES,)),
}
# What a claim that presents as an ordinary claim in review (a gold claim, to a reviewer)
# still tells every member: its creation and the changes of its words and span, which any
# claim in review has. Left out, its history would be the one without them (outside probe).
_SHOWN_WHEN_MASKED = frozenset({"claim.create", "claim.update", "claim.reanchor"})
_DOCUMENT_VERBS: dict[str, tuple[str, ...]] = {
    "document.create": (DASHBOARD,),
    "document.import": (DASHBOARD,),
    "document.update": (READER, DASHBOARD),
    "document.revise": (READER, DASHBOARD),
}
_VERDICT_VERBS = frozenset({"verdict.submit", "verdict.revise"})
_LEASE_VERBS = frozenset({"lease.create", "lease.release", "lease.expire", "claim.skip"})


def _is_consensus_verb(verb: str, object_type: str) -> bool:
    # consensus.unanimous / .majority / .adjudicated / .correction / .supersede (object: the
    # consensus record); consensus.recompute names the claim and is in _CLAIM_VERBS.
    return verb.startswith("consensus.") and object_type == "consensus"


@dataclass(frozen=True, slots=True)
class Change:
    """One event as a member's pages see it: no verb, no actor, no content."""

    seq: int
    claim: int | None = None
    document: int | None = None
    new: bool = False  # a claim was created
    pages: tuple[str, ...] = ()
    disputed: bool = False  # editors: the claim now waits for adjudication

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"claim": self.claim, "document": self.document}
        data["pages"] = list(self.pages)
        if self.new:
            data["new"] = True
        if self.disputed:
            data["disputed"] = True
        return data


def live_cursor(*, project_id: int) -> int:
    """The project's current position in its audit chain (0 before its first event): a page
    rendered now asks for the changes after it."""
    seq = AuditHead.objects.filter(chain=project_id).values_list("seq", flat=True).first()
    return seq or 0


def live_changes(
    *, user: User, membership: Membership, after: int, limit: int = BATCH
) -> tuple[list[Change], int]:
    """The changes of ``membership``'s project after chain position ``after`` that ``user``
    may be told about, and the cursor to ask from next (the last event read, shown or not).
    One query when nothing happened; a handful more (related rows, blind review, gold
    masks) when something did."""
    rows = list(
        Event.objects.filter(project_id=membership.project_id, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "verb", "object_type", "object_id", "after")[:limit]
    )
    if not rows:
        return [], after
    cursor = rows[-1][0]
    wanted = [row for row in rows if _relevant(row[1], row[2])]
    if not wanted:
        return [], cursor
    # Roles may have changed since the stream began (or the member left): read them again.
    current = access.membership_get(user=user, project_id=membership.project_id)
    if current is None:
        return [], cursor
    return _changes(user, current, wanted), cursor


def _relevant(verb: str, object_type: str) -> bool:
    return (
        verb in _CLAIM_VERBS
        or verb in _DOCUMENT_VERBS
        or verb in _VERDICT_VERBS
        or verb in _LEASE_VERBS
        or _is_consensus_verb(verb, object_type)
    )


def _ids(rows: list[tuple[Any, ...]], match: Any) -> list[int]:
    return [row[3] for row in rows if row[3] is not None and match(row[1], row[2])]


def _changes(user: User, membership: Membership, rows: list[tuple[Any, ...]]) -> list[Change]:
    editor = access.is_editor(membership)
    verdict_ids = _ids(rows, lambda verb, _type: verb in _VERDICT_VERBS)
    lease_ids = _ids(rows, lambda verb, _type: verb in _LEASE_VERBS)
    consensus_ids = _ids(rows, _is_consensus_verb)
    verdicts = {
        pk: (claim_id, reviewer_id, calibration)
        for pk, claim_id, reviewer_id, calibration in Verdict.objects.filter(
            pk__in=verdict_ids
        ).values_list("pk", "claim_id", "reviewer_id", "calibration")
    }
    leases = dict(
        Assignment.objects.filter(pk__in=lease_ids, reviewer_id=user.pk).values_list(
            "pk", "claim_id"
        )
    )
    consensus_claims = (
        dict(Consensus.objects.filter(pk__in=consensus_ids).values_list("pk", "claim_id"))
        if editor and consensus_ids
        else {}
    )

    def claim_of(verb: str, object_type: str, object_id: int | None) -> int | None:
        if object_id is None:
            return None
        if verb in _VERDICT_VERBS:
            return verdicts.get(object_id, (None,))[0]
        if verb in _LEASE_VERBS:
            return leases.get(object_id)
        if _is_consensus_verb(verb, object_type):
            return consensus_claims.get(object_id)
        return object_id if verb in _CLAIM_VERBS else None

    claim_ids = {c for row in rows if (c := claim_of(row[1], row[2], row[3])) is not None}
    # Unprepared: a generic plan reads the project's claims through an index on it and
    # sorts them, where the few ids are a lookup each (dbcursor).
    with unprepared():
        claims = {
            claim.pk: claim
            for claim in Claim.objects.filter(
                pk__in=claim_ids, project_id=membership.project_id
            ).only("pk", "document_id", "claim_version")
        }
    judged: set[int] = set()
    masked: set[int] = set()
    if not editor and claims:
        judged = access.claims_judged_by(user=user, claims=list(claims.values()))
        masked = access.gold_masked_ids(user=user, claim_ids=list(claims))
    changes = []
    for seq, verb, object_type, object_id, after in rows:
        claim_id = claim_of(verb, object_type, object_id)
        claim = claims.get(claim_id) if claim_id is not None else None
        if verb in _DOCUMENT_VERBS:
            changes.append(Change(seq=seq, document=object_id, pages=_DOCUMENT_VERBS[verb]))
            continue
        if claim is None:  # another project's row, a lease of someone else, a missing row
            continue
        pages: tuple[str, ...] = ()
        if verb in _CLAIM_VERBS:
            everyone, editors_only = _CLAIM_VERBS[verb]
            if editor:
                pages = everyone + editors_only
            elif claim.pk not in masked or verb in _SHOWN_WHEN_MASKED:
                pages = everyone
        elif verb in _VERDICT_VERBS:
            _claim, reviewer_id, calibration = verdicts[object_id]
            if editor:
                pages = (DASHBOARD, DISPUTES)
            elif access.verdict_shown_to_reviewer(
                user=user,
                reviewer_id=reviewer_id,
                calibration=calibration,
                claim_judged=claim.pk in judged,
                claim_masked=claim.pk in masked,
            ):
                pages = (DASHBOARD,)
        elif verb in _LEASE_VERBS:
            pages = (DASHBOARD,)  # only the holder's own leases were read
        elif editor:  # a consensus record
            pages = (DISPUTES,)
        if not pages:
            continue
        status = (after or {}).get("status") if isinstance(after, dict) else None
        changes.append(
            Change(
                seq=seq,
                claim=claim.pk,
                document=claim.document_id,
                new=verb == "claim.create",
                pages=tuple(dict.fromkeys(pages)),
                disputed=editor
                and (
                    verb == "claim.needs_adjudication"
                    or (verb == "claim.status" and status == ClaimStatus.DISPUTED)
                ),
            )
        )
    return changes
