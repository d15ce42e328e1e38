"""Corrections and retractions of published fact checks: each is a new, immutable
publication version (``Publication``); nothing a reader saw is overwritten.

The first version is written by ``services.review.claim_publish``. A correction with a
new rating also records a consensus (method ``correction``, decided by the editor), so
the claim's current consensus is always the rating it is published with; the claim row's
statement and claimant stay what the reviewers judged, the corrected wording lives in
the version."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotations import access
from annotations.core import lifecycle
from annotations.models import Claim, ConsensusMethod, Publication, PublicationKind, Role
from annotations.services import limits
from annotations.services._base import QueueConflict, User, _require_storable_text
from annotations.services._publication import publication_append, publication_latest
from annotations.services.review import (
    _agreement_with,
    _consensus_append,
    _current_verdicts,
    _lock_claim,
    _rating_get,
    claim_transition,
)

NOTE_REQUIRED = "Write the public note readers will see: what changed and why."
NOTHING_CHANGED = (
    "A correction changes what was published: give a new rating, statement, claimant or summary."
)


def _note_clean(note: str) -> str:
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise ValidationError({"note": NOTE_REQUIRED})
    return note


def _latest_or_conflict(claim: Claim, action: lifecycle.Action) -> Publication:
    if not lifecycle.allowed(claim.status, action):
        raise QueueConflict(str(lifecycle.TransitionRefused(claim.status, action)))
    latest = publication_latest(claim)
    if latest is None:  # a published claim always has version 1 (claim_publish)
        raise QueueConflict("This claim has no publication to change.")
    return latest


@transaction.atomic
def claim_correct(
    *,
    claim: Claim,
    editor: User,
    note: str,
    rating: str | None = None,
    statement: str | None = None,
    claimant: str | None = None,
    summary: str | None = None,
    now: dt.datetime | None = None,
) -> Publication:
    """Correct a published (or corrected) fact check: a new version with the public
    ``note`` (required) and at least one change: a new ``rating`` (a scale key), or new
    published wording (``statement``, ``claimant``) or ``summary``; what is not given is
    carried over from the latest version. Locks the claim. ValidationError (nothing
    written) for a missing note, an unknown rating, or no change; QueueConflict unless
    the claim is published or corrected.

    Webhook point: ``claim.corrected`` fires from here once the outbox exists."""
    now = now or timezone.now()
    access.membership_require(user=editor, project_id=claim.project_id, role=Role.EDITOR)
    _require_storable_text(
        note=note, rating=rating, statement=statement, claimant=claimant, summary=summary
    )
    limits.require_lengths(
        note=(note, limits.MAX_NOTE),
        statement=(statement, limits.MAX_STATEMENT),
        claimant=(claimant, limits.MAX_CLAIMANT),
        summary=(summary, limits.MAX_SUMMARY),
    )
    claim = _lock_claim(claim)
    errors: dict[str, str] = {}
    try:
        note = _note_clean(note)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    rating_obj = None
    if rating not in (None, ""):
        try:
            rating_obj = _rating_get(project_id=claim.project_id, key=rating)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if statement is not None and not statement.strip():
        errors["statement"] = "The published statement cannot be empty."
    if summary is not None and not summary.strip():
        errors["summary"] = "The summary cannot be empty."
    if errors:
        raise ValidationError(errors)
    latest = _latest_or_conflict(claim, lifecycle.Action.CORRECT)
    new_statement = statement.strip() if statement is not None else latest.statement
    new_claimant = claimant.strip() if claimant is not None else latest.claimant
    new_summary = summary.strip() if summary is not None else latest.summary
    new_rating = (
        rating_obj if rating_obj is not None and rating_obj.key != latest.rating_key else None
    )
    if new_rating is None and (new_statement, new_claimant, new_summary) == (
        latest.statement,
        latest.claimant,
        latest.summary,
    ):
        raise ValidationError({"rating": NOTHING_CHANGED})
    record = claim.consensus
    if new_rating is not None:
        verdicts = _current_verdicts(claim)
        record = _consensus_append(
            claim=claim,
            rating=new_rating,
            method=ConsensusMethod.CORRECTION,
            agreement=_agreement_with(claim, new_rating),
            verdicts=verdicts,
            actor=editor,
            decided_by=editor,
            note=note,
        )
    version = publication_append(
        claim=claim,
        kind=PublicationKind.CORRECT,
        editor=editor,
        now=now,
        consensus=record,
        statement=new_statement,
        claimant=new_claimant,
        summary=new_summary,
        note=note,
        rating=new_rating,
        previous=latest,
    )
    claim_transition(claim=claim, action=lifecycle.Action.CORRECT, actor=editor, note=note)
    return version


@transaction.atomic
def claim_retract(
    *, claim: Claim, editor: User, note: str, now: dt.datetime | None = None
) -> Publication:
    """Retract a published (or corrected) fact check: a final version carrying the public
    ``note`` (required; why it was retracted) and the last published content, so the
    public page keeps saying what was retracted and why; the fact check leaves the feed
    and the ClaimReview export. Locks the claim. The consensus record stays as it was
    (the desk's decision is history; the retraction is about publication).
    ValidationError for a missing note; QueueConflict unless published or corrected.

    Webhook point: ``claim.retracted`` fires from here once the outbox exists."""
    now = now or timezone.now()
    access.membership_require(user=editor, project_id=claim.project_id, role=Role.EDITOR)
    _require_storable_text(note=note)
    limits.require_lengths(note=(note, limits.MAX_NOTE))
    claim = _lock_claim(claim)
    note = _note_clean(note)
    latest = _latest_or_conflict(claim, lifecycle.Action.RETRACT)
    version = publication_append(
        claim=claim,
        kind=PublicationKind.RETRACT,
        editor=editor,
        now=now,
        consensus=latest.consensus,
        statement=latest.statement,
        claimant=latest.claimant,
        summary=latest.summary,
        note=note,
        previous=latest,
        citations=list(latest.citations),
    )
    claim_transition(claim=claim, action=lifecycle.Action.RETRACT, actor=editor, note=note)
    return version
