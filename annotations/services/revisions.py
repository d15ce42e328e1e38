"""Corrected texts: a new revision of a document, and re-anchoring its claims.

The old text is kept read-only (``DocumentRevision``); every claim is re-anchored by
quote, context and position (``annotations.core.reanchor``) and reported as unchanged,
moved, changed inside (needs review) or orphaned. Nothing moves silently: each claim's
previous anchor is kept (``ClaimAnchor``) and each re-anchoring is an Event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from annotations import access
from annotations.core import lifecycle, reanchor, spans
from annotations.models import (
    AnchorStatus,
    Claim,
    ClaimAnchor,
    Document,
    DocumentRevision,
    Event,
    Role,
    Verdict,
)
from annotations.services import limits
from annotations.services._base import (
    QueueConflict,
    User,
    _require_storable_text,
    chain_lock,
    event_build,
    event_record,
    events_record,
    now,
)
from annotations.services.claims import _claim_state, _span_error
from annotations.services.documents import (
    _duplicate_error,
    _text_chunks_write,
    text_tasks_enqueue,
)
from annotations.services.leases import claim_leases_end

# reanchor's verdict on a span -> the claim's anchor status.
_STATUS = {
    reanchor.AnchorStatus.UNCHANGED: AnchorStatus.ANCHORED,
    reanchor.AnchorStatus.MOVED: AnchorStatus.MOVED,
    reanchor.AnchorStatus.CHANGED: AnchorStatus.CHANGED,
    reanchor.AnchorStatus.ORPHANED: AnchorStatus.ORPHANED,
}


@dataclass(frozen=True)
class ClaimPlacement:
    claim_id: int
    outcome: str  # unchanged, moved, changed, orphaned
    before: tuple[int, int, str]
    after: tuple[int, int, str] | None
    note: str


@dataclass(frozen=True)
class RevisionReport:
    document: Document
    revision: int
    placements: list[ClaimPlacement]

    def count(self, outcome: str) -> int:
        return sum(1 for placement in self.placements if placement.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {
            outcome: self.count(outcome)
            for outcome in ("unchanged", "moved", "changed", "orphaned")
        }


def _anchor_history(claim: Claim, *, actor: User | None, note: str) -> ClaimAnchor:
    """The claim's anchor as it is now, as the history row that keeps it (unsaved: a
    revision writes them in bulk) before a re-anchoring replaces it."""
    return ClaimAnchor(
        claim=claim,
        revision=claim.anchor_revision,
        start=claim.start,
        end=claim.end,
        exact=claim.exact,
        prefix=claim.prefix,
        suffix=claim.suffix,
        status=claim.anchor_status,
        replaced_by=actor,
        note=note,
    )


@transaction.atomic
def document_revise(
    *, document: Document, text: str, actor: User, raw_text: str | None = None, note: str = ""
) -> RevisionReport:
    """Replace ``document``'s text with a corrected one and re-anchor its claims.

    Editors and admins only (PermissionDenied). Locks the document row (NO KEY), then its
    claims, then the project's audit chain, then the document row FOR UPDATE.
    Raises ValidationError when the text is empty, too long, identical to the current
    text, or the text of another document of the project (code ``duplicate``), and on
    text no database can store (NUL, a lone surrogate) in ``text``, ``raw_text`` or ``note``.
    """
    access.membership_require(user=actor, project_id=document.project_id, role=Role.EDITOR)
    _require_storable_text(text=text, raw_text=raw_text, note=note)
    limits.require_lengths(note=(note, limits.MAX_NOTE))
    # NO KEY for now, as every writer that locks a document (claim_create) before its
    # chain's head: FOR UPDATE comes once the head is locked, below.
    document = Document.objects.select_for_update(no_key=True).get(pk=document.pk)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"text": "The corrected text is empty."})
    if len(text) > settings.WORKBENCH_MAX_DOCUMENT_CHARS:
        raise ValidationError(
            {
                "text": f"The text has {len(text):,} characters; the limit is {settings.WORKBENCH_MAX_DOCUMENT_CHARS:,}."
            }
        )
    new_text = spans.canonicalize(text)
    new_sha = spans.text_sha256(new_text)
    if new_sha == document.text_sha256:
        raise ValidationError({"text": "The corrected text is identical to the current text."})
    clash = Document.objects.filter(project_id=document.project_id, text_sha256=new_sha).exclude(
        pk=document.pk
    )
    if clash.exists():
        raise _duplicate_error(Document(text_sha256=new_sha))
    old_number = document.revision
    new_number = old_number + 1
    became_current = (
        DocumentRevision.objects.filter(document=document).aggregate(at=Max("superseded_at"))["at"]
        or document.created_at
    )
    DocumentRevision.objects.create(
        document=document,
        number=old_number,
        text=document.text,
        text_sha256=document.text_sha256,
        length=document.length,
        raw_text=document.raw_text,
        note=note.strip(),
        created_at=became_current,
        superseded_by=actor,
    )
    claims = list(
        Claim.objects.select_for_update(no_key=True)
        .filter(document=document, anchor_revision=old_number)
        .order_by("id")
    )
    # FOR UPDATE, not NO KEY: the new text changes a unique column (project, text_sha256).
    # So the chain's head first (after the claims: their other lockers take the head after
    # them): a write that inserted a row naming the document holds it while its COMMIT
    # takes FOR KEY SHARE on the document; this waits for that commit.
    chain_lock(document.project_id)
    list(Document.objects.select_for_update(no_key=False).filter(pk=document.pk).values_list("pk"))
    anchors = [
        reanchor.Anchor(
            key=c.pk, start=c.start, end=c.end, exact=c.exact, prefix=c.prefix, suffix=c.suffix
        )
        for c in claims
    ]
    placed = {p.key: p for p in reanchor.reanchor(document.text, new_text, anchors)}
    judged = set(
        Verdict.objects.filter(claim__in=claims).values_list("claim_id", flat=True).distinct()
    )
    history: list[ClaimAnchor] = []
    events: list[Event] = []
    placements: list[ClaimPlacement] = []
    for claim in claims:
        placement = placed[claim.pk]
        before = (claim.start, claim.end, claim.exact)
        history.append(
            _anchor_history(claim, actor=actor, note=f"revision {new_number}: {placement.status}")
        )
        claim.anchor_status = _STATUS[placement.status]
        # What was judged is frozen: a judged claim follows the corrected text only where
        # it quotes the same words; "changed inside" keeps its judged span on the old
        # revision until an editor revises the claim. A published claim is never
        # re-anchored: it keeps the span it was published with (on its revision) unless
        # the corrected text leaves that span exactly where it was.
        published = claim.status in lifecycle.PUBLIC
        unmoved = (placement.start, placement.end, placement.exact) == before
        frozen_span = (published and not unmoved) or (
            placement.status == reanchor.AnchorStatus.CHANGED and claim.pk in judged
        )
        if placement.status != reanchor.AnchorStatus.ORPHANED and not frozen_span:
            # Placed or proposed: every position field is set (only ORPHANED has None).
            assert placement.start is not None and placement.end is not None
            assert placement.exact is not None and placement.prefix is not None
            assert placement.suffix is not None
            claim.start, claim.end = placement.start, placement.end
            claim.exact, claim.prefix, claim.suffix = (
                placement.exact,
                placement.prefix,
                placement.suffix,
            )
            claim.anchor_revision = new_number
        if (claim.start, claim.end, claim.exact) != before:
            claim.version += 1  # the span is one of the claim's own fields
        if frozen_span and published:
            placement_note = (
                f"{placement.note} The claim is published: its span stays on revision "
                f"{old_number}, as it was published; a correction (not a revision) changes "
                "a published fact-check."
            )
        elif frozen_span:
            placement_note = (
                f"{placement.note} The judged span stays on revision {old_number}: an editor "
                "revises the claim to anchor it in the corrected text."
            )
        else:
            placement_note = placement.note
        after = (
            None
            if placement.status == reanchor.AnchorStatus.ORPHANED or frozen_span
            else (claim.start, claim.end, claim.exact)
        )
        placements.append(
            ClaimPlacement(
                claim_id=claim.pk,
                outcome=str(placement.status),
                before=before,
                after=after,
                note=placement_note,
            )
        )
        events.append(
            event_build(
                actor=actor,
                verb="claim.reanchor",
                object_type="claim",
                object_id=claim.pk,
                project_id=document.project_id,
                before={
                    "revision": old_number,
                    "start": before[0],
                    "end": before[1],
                    "exact": before[2],
                },
                after={
                    "revision": new_number,
                    "outcome": str(placement.status),
                    "note": placement_note,
                    **({"start": after[0], "end": after[1], "exact": after[2]} if after else {}),
                },
            )
        )
    ClaimAnchor.objects.bulk_create(history)
    Claim.objects.bulk_update(
        claims,
        [
            "start",
            "end",
            "exact",
            "prefix",
            "suffix",
            "anchor_status",
            "anchor_revision",
            "version",
        ],
        batch_size=500,
    )
    events_record(events)
    before_state = {
        "revision": old_number,
        "text_sha256": document.text_sha256,
        "length": document.length,
    }
    document.text, document.text_sha256, document.length = new_text, new_sha, len(new_text)
    document.raw_text = text if raw_text is None else raw_text
    document.revision = new_number
    document.save(update_fields=["text", "text_sha256", "length", "raw_text", "revision"])
    _text_chunks_write([document], replace=True)
    report = RevisionReport(document=document, revision=new_number, placements=placements)
    event_record(
        actor=actor,
        verb="document.revise",
        obj=document,
        project_id=document.project_id,
        before=before_state,
        after={
            "revision": new_number,
            "text_sha256": new_sha,
            "length": document.length,
            "note": note.strip(),
            "claims": report.counts,
        },
    )
    text_tasks_enqueue([document.pk])  # suggestions and the repeats scan of the new text
    return report


@transaction.atomic
def claim_reanchor(
    *, claim: Claim, start: int, end: int, actor: User, exact: str | None = None, note: str = ""
) -> Claim:
    """Anchor ``claim`` to ``[start, end)`` of its document's CURRENT text by hand: for orphans
    and for "changed inside" claims a person has reviewed. The previous anchor is kept.

    The claim's creator or an editor (PermissionDenied otherwise); locks the claim row.
    What was judged is frozen: a published or withdrawn claim is never re-anchored, and a
    judged one only to the same quoted text (following a corrected document); a span whose
    text differs goes through ``claim_revise`` (QueueConflict otherwise).
    """
    membership = access.membership_require(user=actor, project_id=claim.project_id)
    access.claim_edit_require(claim=claim, membership=membership, user=actor, action="re-anchor")
    _require_storable_text(exact=exact, note=note)
    limits.require_lengths(note=(note, limits.MAX_NOTE))
    claim = Claim.objects.select_for_update(no_key=True).get(pk=claim.pk)
    document = Document.objects.only("pk", "text", "length", "revision", "project_id").get(
        pk=claim.document_id
    )
    frozen = access.claim_frozen_reason(
        claim=claim, has_verdicts=access.claim_is_judged(claim=claim)
    )
    if frozen is not None and frozen != access.JUDGED_IS_FROZEN:
        raise QueueConflict(frozen)
    try:
        selector = spans.make_selector(document.text, start, end, exact)
    except spans.SpanError as exc:
        raise _span_error(exc) from None
    if frozen is not None and selector.exact != claim.exact:
        raise QueueConflict(
            "This claim has verdicts: it can be re-anchored only to the same text it quotes "
            f"({claim.exact!r}). A span that quotes other text changes what was judged: an "
            "editor revises the claim instead."
        )
    before: dict[str, Any] = {
        **_claim_state(claim),
        "anchor_status": claim.anchor_status,
        "anchor_revision": claim.anchor_revision,
    }
    _anchor_history(claim, actor=actor, note=note.strip() or "re-anchored by hand").save()
    claim.start, claim.end = selector.start, selector.end
    claim.exact, claim.prefix, claim.suffix = selector.exact, selector.prefix, selector.suffix
    claim.anchor_status = AnchorStatus.ANCHORED
    claim.anchor_revision = document.revision
    if (claim.start, claim.end, claim.exact) != (before["start"], before["end"], before["exact"]):
        claim.version += 1  # the span is one of the claim's own fields
    claim.full_clean()
    claim.save()
    if claim.exact != before["exact"]:
        # A reviewer holding a lease was shown the old quote: they take it again.
        claim_leases_end(claim=claim, actor=actor, reason="claim re-anchored")
    event_record(
        actor=actor,
        verb="claim.reanchor",
        obj=claim,
        project_id=claim.project_id,
        before=before,
        after={
            **_claim_state(claim),
            "anchor_status": claim.anchor_status,
            "anchor_revision": claim.anchor_revision,
            "outcome": "by hand",
            "at": now().isoformat(),
        },
    )
    return claim
