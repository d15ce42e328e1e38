"""Rows against their audit events: what ``check_integrity`` adds to the hash chain.

The chain (``core.auditchain``) proves the *events* were not edited, removed or
reordered; it says nothing of the rows they describe. A rating changed by SQL, or in an
export file before its restore, leaves every event intact. So each judged row is read
beside the events that recorded it, and any difference is a violation:

* a verdict is written once (a revision is a new row): its fields equal the ``after`` of
  its ``verdict.submit``/``verdict.revise`` event, citations included, and its reviewer
  is the event's actor;
* a consensus record is written once: rating, method, agreement, sequence, note and the
  verdicts it rests on equal its ``consensus.<method>`` event; an adjudicator is the
  event's actor;
* a claim's statement, claimant, span, claim version and status equal what its events
  say when replayed in chain order (``claim.create`` sets them, ``claim.update``,
  ``claim.revise`` and ``claim.reanchor`` change the fields they name, ``claim.status``
  the status);
* a document's ``text_sha256`` is the hash of its text and the one its latest
  ``document.create``/``document.revise`` event recorded.

Rows that no per-row event describes (brought by a version-1 native import, whose one
``document.import`` event records counts) are left to the other checks.

Rows and events are read in primary-key order and merged, in chunks: memory holds one
chunk of rows and their events, whatever the project's size.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from annotations.models import Citation, Claim, Consensus, Document, Event, Verdict
from annotations.selectors.violations import Violation, clip

CHUNK = 1000

VERDICT_VERBS = ("verdict.submit", "verdict.revise")
DOCUMENT_TEXT_VERBS = ("document.create", "document.revise")
# The claim events that set fields of the claim row, and the fields each may name.
CLAIM_FIELDS = ("statement", "claimant", "start", "end", "exact", "claim_version", "status")
CLAIM_VERBS = ("claim.create", "claim.update", "claim.revise", "claim.reanchor", "claim.status")


def _same(stored: object, recorded: object) -> bool:
    if isinstance(stored, float) or isinstance(recorded, float):
        if stored is None or recorded is None:
            return stored is recorded
        return math.isclose(float(stored), float(recorded), rel_tol=0, abs_tol=1e-12)  # type: ignore[arg-type]
    return stored == recorded


def _differences(
    name: str, stored: dict[str, Any], recorded: dict[str, Any], event: str
) -> Iterator[Violation]:
    for field, value in stored.items():
        if field in recorded and not _same(value, recorded[field]):
            yield Violation(
                name,
                "row matches its audit event",
                f"{field} {clip(value)}",
                f"{clip(recorded[field])}, as {event} recorded it",
            )


def _chunks[T](rows: Iterator[T]) -> Iterator[list[T]]:
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _events(object_type: str, verbs: Sequence[str], ids: Sequence[int]) -> dict[int, list[Event]]:
    """The ``verbs`` events of the ``object_type`` rows ``ids``, per row in chain order."""
    found: dict[int, list[Event]] = defaultdict(list)
    rows = (
        Event.objects.filter(object_type=object_type, object_id__in=ids, verb__in=verbs)
        .order_by("object_id", "seq")
        .only("pk", "seq", "verb", "actor_id", "object_id", "after")
    )
    for event in rows:
        assert event.object_id is not None
        found[event.object_id].append(event)
    return found


def _label(event: Event) -> str:
    return f"event {event.pk} ({event.verb}, seq {event.seq})"


def verdict_rows(project_id: int | None = None) -> Iterator[Violation]:
    """Each verdict equals its creation event (see the module's docstring)."""
    verdicts = Verdict.objects.all()
    if project_id is not None:
        verdicts = verdicts.filter(claim__project_id=project_id)
    rows = (
        verdicts.order_by("pk")
        .values_list(
            "pk",
            "reviewer_id",
            "rating__key",
            "confidence",
            "rationale",
            "revision",
            "claim_version",
            "post_reveal",
            "calibration",
        )
        .iterator(chunk_size=CHUNK)
    )
    for chunk in _chunks(rows):
        ids = [row[0] for row in chunk]
        events = _events("verdict", VERDICT_VERBS, ids)
        citations: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for verdict_id, source, quote, stance in (
            Citation.objects.filter(verdict_id__in=ids)
            .order_by("pk")
            .values_list("verdict_id", "source_id", "quote", "stance")
        ):
            citations[verdict_id].append({"source": source, "quote": quote, "stance": stance})
        for pk, reviewer, rating, confidence, rationale, revision, version, post, gold in chunk:
            recorded = events.get(pk)
            if not recorded:
                continue
            event = recorded[-1]
            after = event.after or {}
            name = f"verdict {pk}"
            stored = {
                "rating": rating,
                "confidence": confidence,
                "rationale": rationale,
                "revision": revision,
                "claim_version": version,
                "post_reveal": post,
                "citations": citations.get(pk, []),
                # Recorded only on calibration verdicts (gold claims): absent means false.
                "calibration": gold,
            }
            yield from _differences(name, stored, {"calibration": False, **after}, _label(event))
            if event.actor_id != reviewer:
                yield Violation(
                    name,
                    "row matches its audit event",
                    f"reviewer {reviewer}",
                    f"reviewer {event.actor_id}, the actor of {_label(event)}",
                )


def consensus_rows(project_id: int | None = None) -> Iterator[Violation]:
    """Each consensus record equals its decision's event."""
    records = Consensus.objects.all()
    if project_id is not None:
        records = records.filter(claim__project_id=project_id)
    rows = (
        records.order_by("pk")
        .values_list(
            "pk", "claim_id", "rating__key", "method", "agreement", "sequence", "note", "decided_by"
        )
        .iterator(chunk_size=CHUNK)
    )
    for chunk in _chunks(rows):
        ids = [row[0] for row in chunk]
        verbs = sorted({f"consensus.{row[3]}" for row in chunk})
        events = _events("consensus", verbs, ids)
        verdicts: dict[int, list[int]] = defaultdict(list)
        links = Consensus.verdicts.through.objects.filter(consensus_id__in=ids)
        for consensus_id, verdict_id in links.values_list("consensus_id", "verdict_id"):
            verdicts[consensus_id].append(verdict_id)
        for pk, claim_id, rating, method, agreement, sequence, note, decided_by in chunk:
            recorded = [e for e in events.get(pk, []) if e.verb == f"consensus.{method}"]
            name = f"consensus {pk} (claim {claim_id})"
            if not recorded:
                # The event's verb names the method: a method changed by SQL leaves the
                # record without the event of its own method.
                others = Event.objects.filter(
                    object_type="consensus", object_id=pk, verb__startswith="consensus."
                ).exclude(verb="consensus.supersede")
                other = others.order_by("seq").first()
                if other is not None:
                    yield Violation(
                        name,
                        "row matches its audit event",
                        f"method {method!r}",
                        f"{other.verb.removeprefix('consensus.')!r}, as {_label(other)} recorded it",
                    )
                continue
            event = recorded[0]
            after = dict(event.after or {})
            after["verdicts"] = sorted(after.get("verdicts", []))
            stored = {
                "rating": rating,
                "method": method,
                "agreement": agreement,
                "sequence": sequence,
                "note": note,
                "verdicts": sorted(verdicts.get(pk, [])),
            }
            yield from _differences(name, stored, after, _label(event))
            if method == "adjudicated" and decided_by != event.actor_id:
                yield Violation(
                    name,
                    "row matches its audit event",
                    f"decided_by {decided_by}",
                    f"{event.actor_id}, the editor of {_label(event)}",
                )


def _claim_replay(events: list[Event]) -> tuple[dict[str, Any], dict[str, Event]]:
    """The claim fields its events set, replayed in chain order, and the event that set
    each last."""
    state: dict[str, Any] = {}
    source: dict[str, Event] = {}
    for event in events:
        after = event.after or {}
        if event.verb == "claim.status":
            names: Sequence[str] = ("status",)
        elif event.verb == "claim.reanchor" and "statement" not in after:
            # A document revision moved the span (``after`` names it unless the claim
            # was orphaned or kept its span).
            names = ("start", "end", "exact")
        else:
            names = CLAIM_FIELDS
        for field in names:
            if field in after:
                state[field], source[field] = after[field], event
    return state, source


def claim_rows(project_id: int | None = None) -> Iterator[Violation]:
    """Each claim's judged fields and status equal its events replayed in order."""
    claims = Claim.objects.all()
    if project_id is not None:
        claims = claims.filter(project_id=project_id)
    rows = claims.order_by("pk").values_list("pk", *CLAIM_FIELDS).iterator(chunk_size=CHUNK)
    for chunk in _chunks(rows):
        events = _events("claim", CLAIM_VERBS, [row[0] for row in chunk])
        for row in chunk:
            pk, values = row[0], dict(zip(CLAIM_FIELDS, row[1:], strict=True))
            state, source = _claim_replay(events.get(pk, []))
            for field, value in values.items():
                if field in state and not _same(value, state[field]):
                    yield Violation(
                        f"claim {pk}",
                        "row matches its audit event",
                        f"{field} {clip(value)}",
                        f"{clip(state[field])}, as {_label(source[field])} recorded it",
                    )


def document_rows(project_id: int | None = None) -> Iterator[Violation]:
    """Each document's text hashes to its ``text_sha256``, the one its events recorded."""
    documents = Document.objects.all()
    if project_id is not None:
        documents = documents.filter(project_id=project_id)
    ids = documents.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK)
    for chunk in _chunks(ids):
        events = _events("document", DOCUMENT_TEXT_VERBS, chunk)
        for pk, text, stored in (
            Document.objects.filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", "text", "text_sha256")
            .iterator(chunk_size=50)
        ):
            name = f"document {pk}"
            actual = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if actual != stored:
                yield Violation(
                    name,
                    "text matches its hash",
                    f"text hashing to {actual[:12]}…",
                    f"text_sha256 {stored[:12]}…",
                )
            recorded = [e for e in events.get(pk, []) if "text_sha256" in (e.after or {})]
            if recorded and recorded[-1].after["text_sha256"] != stored:
                yield Violation(
                    name,
                    "row matches its audit event",
                    f"text_sha256 {stored[:12]}…",
                    f"{recorded[-1].after['text_sha256'][:12]}…, as "
                    f"{_label(recorded[-1])} recorded it",
                )
