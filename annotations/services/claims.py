"""Claims anchored to spans, and their edits (optimistic concurrency)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from annotations import access, selectors
from annotations.compiled import CompiledValues
from annotations.core import lifecycle, scheduling, spans
from annotations.core.idempotency import statement_key
from annotations.models import (
    Claim,
    ClaimStatus,
    ClaimVersion,
    Document,
    Role,
    Verdict,
)
from annotations.services import limits
from annotations.services._base import (
    QueueConflict,
    User,
    _clean_and_save,
    _insert_unless_exists,
    _require_storable_text,
    event_build,
    event_record,
    events_record,
)
from annotations.services.leases import claim_leases_end
from annotations.services.review import _consensus_supersede, claim_transition


class DuplicateClaim(QueueConflict):
    """The same claim is already on the document (HTTP 409): same span, same statement
    (whitespace aside), not withdrawn. ``existing_id`` names it."""

    def __init__(self, existing_id: int) -> None:
        super().__init__(
            f"The same claim already exists on this span (claim {existing_id}): "
            "open it instead of creating it again."
        )
        self.existing_id = existing_id


def claim_duplicate_of(*, document: Document, start: int, end: int, statement: str) -> int | None:
    """The id of a claim that ``statement`` on ``[start, end)`` of the document's current
    text would duplicate, or None: the one rule of what counts as the same claim.

    Same document, same span in the current revision, same statement after whitespace
    normalisation (``core.idempotency.statement_key``); a withdrawn claim does not count
    (its span may be claimed again). Near duplicates (another span, another wording) are
    other claims. Call inside the creating transaction after ``_document_lock``."""
    key = statement_key(statement)
    candidates = _span_claims(document, start, end).order_by("id").values_list("id", "statement")
    return next((pk for pk, text in candidates if statement_key(text) == key), None)


def _span_claims(document: Document, start: int, end: int) -> QuerySet[Claim]:
    """The claims a new one on ``[start, end)`` of the document's current text could
    duplicate: same span, same revision, not withdrawn."""
    return _claims_on_span(
        document_id=document.pk, start=start, end=end, revision=document.revision
    )


def _claims_on_span(*, document_id: int, start: int, end: int, revision: int) -> QuerySet[Claim]:
    return Claim.objects.filter(
        document_id=document_id, start=start, end=end, anchor_revision=revision
    ).exclude(status=ClaimStatus.WITHDRAWN)


# ``_span_claims``' ids, compiled once: the condition of every claim's insert (building
# and compiling it cost 0.4 ms of a span POST's 4.3 ms of CPU; issue 20).
_SPAN_CLAIM_IDS = CompiledValues(
    Claim,
    lambda **span: _claims_on_span(**span).order_by().values("pk"),
    document_id=int,
    start=int,
    end=int,
    revision=int,
)


def _document_lock(document: Document) -> None:
    """Lock the document row until the transaction ends, so that two concurrent creations
    of the same claim run one after the other and the second sees the first (PostgreSQL;
    SQLite's write lock already serializes them)."""
    list(Document.objects.select_for_update(no_key=True).filter(pk=document.pk).values_list("pk"))


def _span_error(exc: spans.SpanError) -> ValidationError:
    return ValidationError({exc.field: exc.message})


def _claim_create(
    *,
    document: Document,
    start: int,
    end: int,
    actor: User,
    exact: str | None = None,
    statement: str = "",
    claimant: str = "",
    priority: str = scheduling.DEFAULT_PRIORITY,
    due_at: dt.datetime | None = None,
) -> Claim:
    """Anchor a claim to ``document.text[start:end]`` (code points) and put it in the queue.

    ``priority`` and ``due_at`` place it in the queue's order (``core.scheduling``); only
    an editor may set them to anything but the defaults (PermissionDenied otherwise).

    Raises ValidationError on a bad span (``start``/``end``), a client ``exact`` that is
    not the text at the span (the message quotes the actual text), text no database can
    store (NUL, a lone surrogate) in ``exact``, ``statement`` or ``claimant``, or a
    ``statement`` or ``claimant`` over its limit (``limits``); ``DuplicateClaim`` when the
    same claim is already there (``claim_duplicate_of``; the statement defaults to the quote).
    """
    _require_storable_text(exact=exact, statement=statement, claimant=claimant)
    limits.require_lengths(
        statement=(statement, limits.MAX_STATEMENT), claimant=(claimant, limits.MAX_CLAIMANT)
    )
    rank = _priority_rank(priority)
    if rank != scheduling.priority_rank(scheduling.DEFAULT_PRIORITY) or due_at is not None:
        _require_director(actor=actor, project_id=document.project_id)
    # Read only the window the selector needs, never the whole (possibly book-length) text.
    try:
        spans.validate_span(document.length, start, end)
    except spans.SpanError as exc:
        raise _span_error(exc) from None
    window_start, window_end = spans.context_window(start, end)
    # The document lock (see ``_document_lock``) taken by the statement that reads the
    # window, or by the caller's read of the document with it (the API's).
    window = selectors.document_text_window(
        document=document,
        start=window_start,
        end=min(document.length, window_end),
        for_update=True,
    )
    try:
        selector = spans.make_selector(window, start - window_start, end - window_start, exact)
    except spans.SpanError as exc:
        raise _span_error(exc) from None
    statement = (statement or "").strip() or selector.exact
    claim = Claim(
        project_id=document.project_id,
        document=document,
        start=start,
        end=end,
        exact=selector.exact,
        prefix=selector.prefix,
        suffix=selector.suffix,
        statement=statement,
        claimant=(claimant or "").strip(),
        status=ClaimStatus.IN_REVIEW,
        anchor_revision=document.revision,
        priority=rank,
        due_at=due_at,
        created_by=actor,
    )
    # The span was checked above and the relations are loaded objects, so skip full_clean's
    # per-field existence queries and its one-query-per-CheckConstraint pass (the database
    # enforces those constraints anyway): a claim costs one read of its window under the
    # document lock and two inserts.
    claim.full_clean(
        exclude=["project", "document", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    created = event_build(
        actor=actor,
        verb="claim.create",
        object_type="claim",
        object_id=None,
        project_id=document.project_id,
        after={**_claim_state(claim), **_schedule_state(claim)},
    )
    # Inserted at once, with its event, unless a claim already holds the span (under the
    # document lock, so none can appear meanwhile); only then is the duplicate rule read,
    # and the claim inserted if it is another claim on the same span.
    clash = _SPAN_CLAIM_IDS.bind(
        document_id=document.pk, start=start, end=end, revision=document.revision
    )
    if not _insert_unless_exists(claim, clash, events=[created]):
        existing = claim_duplicate_of(document=document, start=start, end=end, statement=statement)
        if existing is not None:
            raise DuplicateClaim(existing)
        claim.save()
        created.object_id = claim.pk
        events_record([created])
    return claim


# In a transaction of its own (a savepoint inside the caller's): nothing is written when it
# refuses. ``claim_create_as_member`` runs the same body inside its own transaction.
claim_create = transaction.atomic(_claim_create)


@transaction.atomic
def claim_create_as_member(
    *, user: User, document_id: int, start: int, end: int, **fields: Any
) -> Claim:
    """``claim_create`` for a caller known by account and document id (the API): the
    membership check (``access.document_get_for_user``: Http404 for a non-member) locks
    the document and reads the span's window in the same statement, inside this
    transaction, so ``claim_create`` reads neither again: one query fewer."""
    # A span no text can hold (negative, reversed, past any integer column) is refused by
    # ``claim_create``'s span check with its 400; its window is not read with the lock.
    sane = 0 <= start < end <= spans.MAX_WINDOW_OFFSET
    document, _ = access.document_get_for_user(
        user=user,
        pk=document_id,
        with_text=False,
        locked_window=spans.context_window(start, end) if sane else None,
    )
    return _claim_create(document=document, start=start, end=end, actor=user, **fields)


def _priority_rank(priority: str) -> int:
    try:
        return scheduling.priority_rank(priority)
    except KeyError:
        raise ValidationError(
            {"priority": f"Choose one of: {', '.join(scheduling.PRIORITIES)}."}
        ) from None


def _require_director(*, actor: User, project_id: int) -> None:
    membership = access.membership_get(user=actor, project_id=project_id)
    if not access.claim_can_direct(membership=membership):
        raise PermissionDenied("Only editors set a claim's priority or deadline.")


def _schedule_state(claim: Claim) -> dict[str, Any]:
    return {
        "priority": scheduling.priority_key(claim.priority),
        "due_at": claim.due_at.isoformat() if claim.due_at else None,
    }


# ``claim_schedule``'s "leave the deadline as it is" (None clears it).
UNCHANGED: Any = object()


@transaction.atomic
def claim_schedule(
    *,
    claim: Claim,
    actor: User,
    priority: str | None = None,
    due_at: dt.datetime | None = UNCHANGED,
) -> Claim:
    """Set ``claim``'s place in the queue: ``priority`` (a key of ``core.scheduling``; None
    leaves it) and ``due_at`` (None clears the deadline; left out, it stays).

    Editors only (PermissionDenied otherwise), at any status: a deadline stays useful to
    flag a disputed claim. The claim's ``version`` (its ETag) does not change: priority
    and deadline direct the review, they are not the claim's text. ValidationError on an
    unknown priority. Locks the claim row; one ``claim.schedule`` event with the changed
    fields before and after (priority as its key), none when nothing changed.
    """
    access.membership_require(user=actor, project_id=claim.project_id, role=Role.EDITOR)
    changes: dict[str, Any] = {}
    if priority is not None:
        changes["priority"] = _priority_rank(priority)
    locked = Claim.objects.select_for_update(of=("self",), no_key=True).get(pk=claim.pk)
    if due_at is not UNCHANGED:
        changes["due_at"] = due_at
    before = _schedule_state(locked)
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, changes[name])
    locked.save(update_fields=[*changed, "updated_at"])
    after = _schedule_state(locked)
    event_record(
        actor=actor,
        verb="claim.schedule",
        obj=locked,
        project_id=locked.project_id,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return locked


def _claim_state(claim: Claim) -> dict[str, Any]:
    return {
        "start": claim.start,
        "end": claim.end,
        "exact": claim.exact,
        "statement": claim.statement,
        "claimant": claim.claimant,
        "status": claim.status,
        "version": claim.version,
        "claim_version": claim.claim_version,
    }


class StaleVersion(Exception):
    """The claim changed since the caller read it (optimistic concurrency)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"The claim was changed by someone else (now version {current}).")
        self.current = current


@transaction.atomic
def claim_update(
    *,
    claim: Claim,
    actor: User,
    expected_version: int,
    statement: str | None = None,
    claimant: str | None = None,
) -> Claim:
    """Edit a claim's statement or claimant in place if it is still at ``expected_version``.

    Only the claim's creator or a project editor may edit (PermissionDenied otherwise),
    and only until the first verdict: a judged, published or withdrawn claim is frozen
    (QueueConflict with ``access.claim_frozen_reason``; editors revise a judged claim with
    ``claim_revise``). Locks the claim row; raises StaleVersion when someone else changed
    it first.
    """
    membership = access.membership_require(user=actor, project_id=claim.project_id)
    access.claim_edit_require(claim=claim, membership=membership, user=actor, action="edit")
    _require_storable_text(statement=statement, claimant=claimant)
    limits.require_lengths(
        statement=(statement, limits.MAX_STATEMENT), claimant=(claimant, limits.MAX_CLAIMANT)
    )
    locked = Claim.objects.select_for_update(no_key=True).get(pk=claim.pk)
    frozen = access.claim_frozen_reason(
        claim=locked, has_verdicts=access.claim_is_judged(claim=locked)
    )
    if frozen is not None:
        raise QueueConflict(frozen)
    if locked.version != expected_version:
        raise StaleVersion(locked.version)
    before = _claim_state(locked)
    errors = {}
    if statement is not None:
        if not statement.strip():
            errors["statement"] = "The statement cannot be empty."
        locked.statement = statement.strip()
    if claimant is not None:
        locked.claimant = claimant.strip()
    if errors:
        raise ValidationError(errors)
    locked.version += 1
    _clean_and_save(locked)
    if (locked.statement, locked.claimant) != (before["statement"], before["claimant"]):
        # A reviewer holding a lease was shown the old words: they take it again.
        claim_leases_end(claim=locked, actor=actor, reason="claim edited")
    event_record(
        actor=actor,
        verb="claim.update",
        obj=locked,
        project=locked.project,
        before=before,
        after=_claim_state(locked),
    )
    return locked


@transaction.atomic
def claim_revise(
    *,
    claim: Claim,
    actor: User,
    expected_version: int,
    statement: str | None = None,
    claimant: str | None = None,
    start: int | None = None,
    end: int | None = None,
    exact: str | None = None,
    note: str = "",
) -> Claim:
    """Revise a claim (editors): record a new claim version and return it to review.

    What the verdicts judged is kept: the current statement, claimant and span become a
    ``ClaimVersion`` row, every verdict stays with the version it judged (the current ones
    become history), the current consensus stops being current (kept in the history),
    and the claim goes back to the queue for fresh, blind verdicts on the new version
    (reviewers of earlier versions may judge it again). ``start``/``end`` (with an
    optional ``exact``) re-anchor the new version on the document's current text.

    PermissionDenied below editor; QueueConflict when the lifecycle refuses (published:
    corrections come through the publishing workflow; withdrawn); StaleVersion when the
    claim changed since ``expected_version``; ValidationError when nothing changes, on a
    bad span, an empty statement or text over its limit. Locks the claim row.
    """
    membership = access.membership_require(user=actor, project_id=claim.project_id)
    access.claim_revise_require(membership=membership)
    _require_storable_text(statement=statement, claimant=claimant, exact=exact, note=note)
    limits.require_lengths(
        statement=(statement, limits.MAX_STATEMENT),
        claimant=(claimant, limits.MAX_CLAIMANT),
        note=(note, limits.MAX_NOTE),
    )
    locked = (
        Claim.objects.select_for_update(of=("self",), no_key=True)
        .select_related("project")
        .get(pk=claim.pk)
    )
    if not lifecycle.allowed(locked.status, lifecycle.Action.REVISE):
        raise QueueConflict(
            str(lifecycle.TransitionRefused(locked.status, lifecycle.Action.REVISE))
        )
    if locked.version != expected_version:
        raise StaleVersion(locked.version)
    errors: dict[str, str] = {}
    new_statement = locked.statement if statement is None else statement.strip()
    new_claimant = locked.claimant if claimant is None else claimant.strip()
    if not new_statement:
        errors["statement"] = "The statement cannot be empty."
    selector = None
    document = None
    if start is not None or end is not None:
        if start is None or end is None:
            errors["start" if start is None else "end"] = "Give both start and end."
        else:
            document = Document.objects.only("pk", "text", "length", "revision").get(
                pk=locked.document_id
            )
            try:
                selector = spans.make_selector(document.text, start, end, exact)
            except spans.SpanError as exc:
                errors[exc.field] = exc.message
    if errors:
        raise ValidationError(errors)
    span_changed = selector is not None and (
        (selector.start, selector.end, selector.exact) != (locked.start, locked.end, locked.exact)
        or (document is not None and document.revision != locked.anchor_revision)
    )
    if new_statement == locked.statement and new_claimant == locked.claimant and not span_changed:
        raise ValidationError(
            {"statement": "Nothing to revise: the statement, claimant and span are unchanged."}
        )
    before = _claim_state(locked)
    # A reviewer holding a lease was shown the old version: they take the new one again.
    claim_leases_end(claim=locked, actor=actor, reason="claim revised")
    ClaimVersion.objects.create(
        claim=locked,
        number=locked.claim_version,
        statement=locked.statement,
        claimant=locked.claimant,
        start=locked.start,
        end=locked.end,
        exact=locked.exact,
        prefix=locked.prefix,
        suffix=locked.suffix,
        anchor_revision=locked.anchor_revision,
        status=locked.status,
        note=note.strip(),
        replaced_by=actor,
    )
    kept = Verdict.objects.filter(claim=locked, is_current=True).update(is_current=False)
    locked.statement, locked.claimant = new_statement, new_claimant
    if span_changed and selector is not None and document is not None:
        locked.start, locked.end = selector.start, selector.end
        locked.exact, locked.prefix, locked.suffix = (
            selector.exact,
            selector.prefix,
            selector.suffix,
        )
        locked.anchor_revision = document.revision
    locked.version += 1
    locked.claim_version += 1
    locked.full_clean(
        exclude=["project", "document", "created_by", "consensus"], validate_constraints=False
    )
    locked.save(
        update_fields=[
            "statement",
            "claimant",
            "start",
            "end",
            "exact",
            "prefix",
            "suffix",
            "anchor_revision",
            "version",
            "claim_version",
            "updated_at",
        ]
    )
    event_record(
        actor=actor,
        verb="claim.revise",
        obj=locked,
        project_id=locked.project_id,
        before=before,
        after={**_claim_state(locked), "note": note.strip(), "verdicts_kept": kept},
    )
    _consensus_supersede(
        claim=locked, actor=actor, note=f"claim revised to version {locked.claim_version}"
    )
    claim_transition(
        claim=locked,
        action=lifecycle.Action.REVISE,
        actor=actor,
        note=f"version {locked.claim_version}",
    )
    return locked
