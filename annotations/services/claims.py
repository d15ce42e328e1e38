"""Claims anchored to spans, and their edits (optimistic concurrency)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from annotations import access, selectors
from annotations.core import spans
from annotations.models import (
    Claim,
    ClaimStatus,
    Document,
)
from annotations.services import limits
from annotations.services._base import (
    User,
    _clean_and_save,
    _require_storable_text,
    event_record,
)


def _span_error(exc: spans.SpanError) -> ValidationError:
    return ValidationError({exc.field: exc.message})


@transaction.atomic
def claim_create(
    *,
    document: Document,
    start: int,
    end: int,
    actor: User,
    exact: str | None = None,
    statement: str = "",
    claimant: str = "",
) -> Claim:
    """Anchor a claim to ``document.text[start:end]`` (code points) and put it in the queue.

    Raises ValidationError on a bad span (``start``/``end``), a client ``exact`` that is
    not the text at the span (the message quotes the actual text), text no database can
    store (NUL, a lone surrogate) in ``exact``, ``statement`` or ``claimant``, or a
    ``statement`` or ``claimant`` over its limit (``limits``).
    """
    _require_storable_text(exact=exact, statement=statement, claimant=claimant)
    limits.require_lengths(
        statement=(statement, limits.MAX_STATEMENT), claimant=(claimant, limits.MAX_CLAIMANT)
    )
    # Read only the window the selector needs, never the whole (possibly book-length) text.
    try:
        spans.validate_span(document.length, start, end)
    except spans.SpanError as exc:
        raise _span_error(exc) from None
    window_start = max(0, start - spans.CONTEXT_LENGTH)
    window = selectors.document_text_window(
        document=document,
        start=window_start,
        end=min(document.length, end + spans.CONTEXT_LENGTH),
    )
    try:
        selector = spans.make_selector(window, start - window_start, end - window_start, exact)
    except spans.SpanError as exc:
        raise _span_error(exc) from None
    claim = Claim(
        project_id=document.project_id,
        document=document,
        start=start,
        end=end,
        exact=selector.exact,
        prefix=selector.prefix,
        suffix=selector.suffix,
        statement=(statement or "").strip() or selector.exact,
        claimant=(claimant or "").strip(),
        status=ClaimStatus.IN_REVIEW,
        anchor_revision=document.revision,
        created_by=actor,
    )
    # The span was checked above and the relations are loaded objects, so skip full_clean's
    # per-field existence queries and its one-query-per-CheckConstraint pass (the database
    # enforces those constraints anyway): a claim costs one read of its window and two inserts.
    claim.full_clean(
        exclude=["project", "document", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    claim.save()
    event_record(
        actor=actor,
        verb="claim.create",
        obj=claim,
        project=document.project,
        after=_claim_state(claim),
    )
    return claim


def _claim_state(claim: Claim) -> dict[str, Any]:
    return {
        "start": claim.start,
        "end": claim.end,
        "exact": claim.exact,
        "statement": claim.statement,
        "claimant": claim.claimant,
        "status": claim.status,
        "version": claim.version,
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
    """Edit a claim's statement or claimant if it is still at ``expected_version``.

    Only the claim's creator or a project editor may edit (PermissionDenied otherwise).
    Locks the claim row; raises StaleVersion when someone else changed it first.
    """
    membership = access.membership_require(user=actor, project_id=claim.project_id)
    access.claim_edit_require(claim=claim, membership=membership, user=actor, action="edit")
    _require_storable_text(statement=statement, claimant=claimant)
    limits.require_lengths(
        statement=(statement, limits.MAX_STATEMENT), claimant=(claimant, limits.MAX_CLAIMANT)
    )
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
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
    event_record(
        actor=actor,
        verb="claim.update",
        obj=locked,
        project=locked.project,
        before=before,
        after=_claim_state(locked),
    )
    return locked
