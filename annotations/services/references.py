"""Finding claims (issue 17): references (earlier fact checks), links from claims to
them, and the background scan for repeated claims.

* ``references_create`` stores a batch of references, all or none (errors keyed
  ``"<index>.<field>"``), with their embeddings (``selectors.matching.embed``), and
  records one ``reference.create`` event each.
* ``claim_link_create`` / ``claim_link_decide``: a claim said to repeat a reference or an
  earlier claim of the desk (suggested, confirmed, rejected). Nothing is merged.
* ``repeats_scan`` (the ``repeats_scan_batch_task`` of the background worker, enqueued
  for up to ``REPEATS_TASK_DOCUMENTS`` documents when documents are created): each sentence (``core.triage.split_sentences``, exact offsets)
  whose best already-checked match scores above the threshold becomes a
  ``RepeatSuggestion``; a scan replaces the document's earlier suggestions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.tasks import Task, task

from annotations import access
from annotations.core import lifecycle, triage
from annotations.core.urlnorm import UrlError
from annotations.models import (
    Claim,
    ClaimLink,
    ClaimStatus,
    Document,
    LinkState,
    Project,
    Reference,
    ReferenceOrigin,
    RepeatSuggestion,
    Role,
)
from annotations.selectors import matching as match_selectors
from annotations.services import limits
from annotations.services._base import (
    QueueConflict,
    User,
    _storable_text_errors,
    event_build,
    event_record,
    events_record,
    now,
    public_url,
)

LINK_RULE = "Only the claim's creator or an editor can link it to an earlier fact check."
LINK_EXISTS = "This claim is already linked to that {what} (link {pk})."


@dataclass(frozen=True)
class ReferenceInput:
    claim_reviewed: str
    headline: str = ""
    url: str = ""
    rating: str = ""
    date: dt.date | None = None
    publisher: str = ""


def _reference_errors(item: ReferenceInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(item.claim_reviewed, str) or not item.claim_reviewed.strip():
        errors["claim_reviewed"] = ["The claim reviewed is required."]
    errors.update(
        limits.length_errors(
            claim_reviewed=(item.claim_reviewed, limits.MAX_STATEMENT),
            headline=(item.headline, limits.MAX_REFERENCE_HEADLINE),
            rating=(item.rating, limits.MAX_REFERENCE_RATING),
            publisher=(item.publisher, limits.MAX_PUBLISHER),
        )
    )
    if item.url:
        try:
            public_url(item.url)
        except UrlError as exc:
            errors["url"] = [str(exc)]
    if item.date is not None and not isinstance(item.date, dt.date):
        errors["date"] = ["Enter a date as YYYY-MM-DD."]
    unstorable = _storable_text_errors(
        claim_reviewed=item.claim_reviewed,
        headline=item.headline,
        url=item.url,
        rating=item.rating,
        publisher=item.publisher,
    )
    errors.update({name: m for name, m in unstorable.items() if name not in errors})
    return errors


@transaction.atomic
def references_create(
    *,
    project: Project,
    items: Sequence[ReferenceInput],
    actor: User | None,
    origin: ReferenceOrigin = ReferenceOrigin.API,
    origin_name: str = "",
) -> list[Reference]:
    """Store earlier fact checks as references of ``project``: all or none, in order.

    Needs the editor role when ``actor`` is given (PermissionDenied; the import command
    runs without one). Raises ValidationError keyed ``"<index>.<field>"`` for a missing
    ``claim_reviewed``, a text over its limit (``limits``), a URL that is not http(s), or
    text no database stores; with more than ``limits.MAX_REFERENCES_PER_REQUEST`` items
    (key ``detail``). Nothing is written then. Records ``reference.create`` per row."""
    if actor is not None:
        access.membership_require(user=actor, project_id=project.pk, role=Role.EDITOR)
    if not 1 <= len(items) <= limits.MAX_REFERENCES_PER_REQUEST:
        raise ValidationError(
            {"detail": [f"Send between 1 and {limits.MAX_REFERENCES_PER_REQUEST:,} references."]}
        )
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        for name, messages in _reference_errors(item).items():
            errors[f"{index}.{name}"] = messages
    if errors:
        raise ValidationError(errors)
    texts = [item.claim_reviewed.strip() for item in items]
    vectors = match_selectors.embed(texts)
    rows = [
        Reference(
            project=project,
            claim_reviewed=text,
            headline=item.headline.strip(),
            url=item.url.strip(),
            rating=item.rating.strip(),
            date=item.date,
            publisher=item.publisher.strip(),
            origin=origin,
            origin_name=origin_name[:200],
            vector=vector,
            created_by=actor,
        )
        for item, text, vector in zip(items, texts, vectors, strict=True)
    ]
    created = Reference.objects.bulk_create(rows, batch_size=500)
    if any(row.pk is None for row in created):  # backends without RETURNING (none we run)
        raise RuntimeError("bulk_create did not return the references' ids")
    events_record(
        [
            event_build(
                actor=actor,
                verb="reference.create",
                object_type="reference",
                object_id=row.pk,
                project_id=project.pk,
                after={
                    "claim_reviewed": row.claim_reviewed[:200],
                    "url": row.url,
                    "rating": row.rating,
                    "origin": row.origin,
                },
            )
            for row in created
        ]
    )
    return created


# --- links from a claim to an earlier fact check -------------------------------------------------


def _link_state(link: ClaimLink) -> dict[str, Any]:
    return {
        "claim": link.claim_id,
        "reference": link.reference_id,
        "target": link.target_id,
        "state": link.state,
        "score": link.score,
        "flags": link.flags,
    }


@transaction.atomic
def claim_link_create(
    *,
    claim: Claim,
    actor: User,
    reference: Reference | None = None,
    target: Claim | None = None,
    state: LinkState = LinkState.SUGGESTED,
    score: float | None = None,
    flags: dict[str, Any] | None = None,
) -> ClaimLink:
    """Record that ``claim`` may repeat ``reference`` or the earlier claim ``target``
    (exactly one, of the same project). The claim's creator or an editor
    (PermissionDenied otherwise). ValidationError for a target of another project, the
    claim itself, or a withdrawn target; QueueConflict when the same link exists.
    Records ``claim.link``. Nothing else changes: the claim keeps its status."""
    membership = access.membership_require(user=actor, project_id=claim.project_id)
    if not access.claim_creator_or_editor(claim=claim, membership=membership, user=actor):
        raise PermissionDenied(LINK_RULE)
    if (reference is None) == (target is None):
        raise ValidationError({"kind": ["Link to one reference or one claim."]})
    if state not in LinkState.values:
        raise ValidationError({"state": [f"One of {', '.join(LinkState.values)}."]})
    if reference is not None and reference.project_id != claim.project_id:
        raise ValidationError({"id": ["No reference with this id in the claim's project."]})
    if target is not None:
        if target.project_id != claim.project_id or target.status == ClaimStatus.WITHDRAWN:
            raise ValidationError({"id": ["No claim with this id in the claim's project."]})
        if target.pk == claim.pk:
            raise ValidationError({"id": ["A claim cannot repeat itself."]})
    list(Claim.objects.select_for_update(no_key=True).filter(pk=claim.pk).values_list("pk"))
    existing = ClaimLink.objects.filter(
        claim=claim, **({"reference": reference} if reference else {"target": target})
    ).first()
    if existing is not None:
        raise QueueConflict(
            LINK_EXISTS.format(what="reference" if reference else "claim", pk=existing.pk)
        )
    link = ClaimLink(
        project_id=claim.project_id,
        claim=claim,
        reference=reference,
        target=target,
        state=state,
        score=score,
        flags=flags or {},
        created_by=actor,
    )
    if state != LinkState.SUGGESTED:
        link.decided_by, link.decided_at = actor, now()
    link.save()
    event_record(
        actor=actor,
        verb="claim.link",
        obj=link,
        project_id=claim.project_id,
        after=_link_state(link),
    )
    return link


@transaction.atomic
def claim_link_decide(*, link: ClaimLink, actor: User, state: LinkState) -> ClaimLink:
    """Confirm or reject a link (or set it back to suggested): the claim's creator or an
    editor (PermissionDenied). Locks the link; records ``claim.link_decide`` with the
    state before and after (nothing when it does not change)."""
    claim = Claim.objects.get(pk=link.claim_id)
    membership = access.membership_require(user=actor, project_id=claim.project_id)
    if not access.claim_creator_or_editor(claim=claim, membership=membership, user=actor):
        raise PermissionDenied(LINK_RULE)
    if state not in LinkState.values:
        raise ValidationError({"state": [f"One of {', '.join(LinkState.values)}."]})
    locked = ClaimLink.objects.select_for_update(no_key=True).get(pk=link.pk)
    if locked.state == state:
        return locked
    before = locked.state
    locked.state = state
    locked.decided_by, locked.decided_at = actor, now()
    locked.save(update_fields=["state", "decided_by", "decided_at"])
    event_record(
        actor=actor,
        verb="claim.link_decide",
        obj=locked,
        project_id=claim.project_id,
        before={"state": before},
        after={"state": locked.state},
    )
    return locked


# --- repeat detection in the background ----------------------------------------------------------

MIN_SENTENCE_CHARS = 20  # shorter sentences ("Thank you.") are not claims worth matching


@transaction.atomic
def repeats_scan(*, document_id: int) -> int:
    """Scan a document's current text for sentences that repeat an already-checked claim
    (a reference, or a published claim of another document of the project) and store them
    as ``RepeatSuggestion`` rows, replacing the document's earlier ones. Returns how many.
    Records ``document.repeats_scan`` (actor: none, the worker) with the count."""
    document = Document.objects.select_related("project").filter(pk=document_id).first()
    if document is None:
        return 0
    if not (
        Reference.objects.filter(project_id=document.project_id).exists()
        or Claim.objects.filter(
            project_id=document.project_id, status__in=[str(x) for x in lifecycle.PUBLIC]
        ).exists()
    ):
        RepeatSuggestion.objects.filter(document=document).delete()
        return 0
    sentences = [
        s for s in triage.split_sentences(document.text) if len(s.text) >= MIN_SENTENCE_CHARS
    ]
    best = match_selectors.sentence_matches(
        project_id=document.project_id,
        texts=[s.text for s in sentences],
        exclude_document_id=document.pk,
    )
    threshold = match_selectors.repeat_threshold()
    rows = []
    for sentence, found in zip(sentences, best, strict=True):
        if found is None or found[2] < threshold:
            continue
        kind, pk, score, differences = found
        rows.append(
            RepeatSuggestion(
                project_id=document.project_id,
                document=document,
                document_revision=document.revision,
                start=sentence.start,
                end=sentence.end,
                text=sentence.text,
                reference_id=pk if kind == match_selectors.REFERENCE else None,
                claim_id=pk if kind == match_selectors.CLAIM else None,
                score=round(score, 4),
                flags=match_selectors.flags_of(differences),
            )
        )
    RepeatSuggestion.objects.filter(document=document).delete()
    RepeatSuggestion.objects.bulk_create(rows, batch_size=500)
    event_record(
        actor=None,
        verb="document.repeats_scan",
        obj=document,
        project_id=document.project_id,
        after={"revision": document.revision, "sentences": len(sentences), "repeats": len(rows)},
    )
    return len(rows)


logger = logging.getLogger(__name__)

# Documents per queued scan: a bulk import of 500 queues 10 tasks (10 rows, one commit),
# which several workers can still share.
REPEATS_TASK_DOCUMENTS = 50


@task()
def repeats_scan_task(document_id: int) -> int:
    """The worker's task: ``repeats_scan`` of one document (queued before the scans went
    in batches; kept so that such tasks still run)."""
    return repeats_scan(document_id=document_id)


@task()
def repeats_scan_batch_task(document_ids: list[int]) -> int:
    """The worker's task: ``repeats_scan`` of each of these documents, in order (each in
    its own transaction); the number of repeats found. A document whose scan fails is
    logged and the others are still scanned; the task then fails with the first error,
    so the failure shows in the task's result."""
    found = 0
    errors: list[Exception] = []
    for document_id in document_ids:
        try:
            found += repeats_scan(document_id=document_id)
        except Exception as error:
            logger.exception("repeat scan of document %s failed", document_id)
            errors.append(error)
    if errors:
        raise errors[0]
    return found


def repeats_tasks(document_ids: Sequence[int]) -> list[tuple[Task[Any, Any], list[Any]]]:
    """The scans that follow new text: one ``repeats_scan_batch_task`` per
    ``REPEATS_TASK_DOCUMENTS`` documents, as ``(task, args)`` for
    ``tasks_enqueue_with_transaction``. The scan itself finds nothing to do in a project
    without references or published claims."""
    ids = [int(pk) for pk in document_ids]
    return [
        (repeats_scan_batch_task, [ids[start : start + REPEATS_TASK_DOCUMENTS]])
        for start in range(0, len(ids), REPEATS_TASK_DOCUMENTS)
    ]
