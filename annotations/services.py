"""Every write of the workbench.

Each service takes keyword-only arguments, runs in ``transaction.atomic()``, validates
before it writes (raising ``django.core.exceptions.ValidationError`` with a message per
field, in which case nothing is written) and records an ``Event`` in the same
transaction. The UI, the admin, the API and the management commands all call these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from annotations import consensus, spans
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    ClaimStatus,
    Confidence,
    Consensus,
    ConsensusMethod,
    ConsensusRule,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Source,
    Stance,
    Verdict,
)
from annotations.urlnorm import UrlError, check_url, normalize_url

User = AbstractBaseUser

DEFAULT_SCALE: tuple[tuple[str, str, int | None], ...] = (
    ("true", "True", 5),
    ("mostly_true", "Mostly true", 4),
    ("half_true", "Half true", 3),
    ("mostly_false", "Mostly false", 2),
    ("false", "False", 1),
    ("misleading", "Misleading", None),
    ("unverifiable", "Unverifiable", None),
    ("not_checkable", "Not checkable", None),
)


def event_record(
    *,
    actor: User | None,
    verb: str,
    obj: Model | None = None,
    object_type: str = "",
    project: Project | None = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    """Append an audit event. Call inside the writing service's transaction."""
    return Event.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=object_type or (obj._meta.model_name if obj is not None else ""),
        object_id=obj.pk if obj is not None else None,
        project_id=project.pk if project is not None else project_id,
        before=before,
        after=after,
    )


def _clean_and_save(obj: Model) -> None:
    obj.full_clean()
    obj.save()


# --- projects and members -------------------------------------------------------------


@transaction.atomic
def project_create(
    *,
    creator: User,
    name: str,
    slug: str = "",
    organization: str = "",
    organization_url: str = "",
    required_reviews: int = 2,
    consensus_rule: str = ConsensusRule.UNANIMOUS,
    majority_threshold: float = 0.5,
    lease_minutes: int = 30,
) -> Project:
    """Create a project with the default rating scale; the creator becomes its admin."""
    project = Project(
        name=name,
        slug=slug or slugify(name)[:80],
        organization=organization,
        organization_url=organization_url,
        required_reviews=required_reviews,
        consensus_rule=consensus_rule,
        majority_threshold=majority_threshold,
        lease_minutes=lease_minutes,
        created_by=creator,
    )
    _validate_policy(project)
    _clean_and_save(project)
    Rating.objects.bulk_create(
        Rating(project=project, key=key, label=label, ordinal=ordinal, position=index)
        for index, (key, label, ordinal) in enumerate(DEFAULT_SCALE)
    )
    Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    event_record(
        actor=creator, verb="project.create", obj=project, project=project, after=_policy(project)
    )
    return project


def _policy(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "required_reviews": project.required_reviews,
        "consensus_rule": project.consensus_rule,
        "majority_threshold": project.majority_threshold,
        "lease_minutes": project.lease_minutes,
    }


def _validate_policy(project: Project) -> None:
    errors: dict[str, str] = {}
    if not isinstance(project.required_reviews, int) or not 1 <= project.required_reviews <= 20:
        errors["required_reviews"] = "Must be a whole number from 1 to 20."
    if not isinstance(project.majority_threshold, (int, float)) or not (
        0.5 <= project.majority_threshold < 1
    ):
        errors["majority_threshold"] = "Must be at least 0.5 and below 1 (0.5 = simple majority)."
    if not isinstance(project.lease_minutes, int) or not 1 <= project.lease_minutes <= 1440:
        errors["lease_minutes"] = "Must be a whole number of minutes from 1 to 1440."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def project_update(*, project: Project, actor: User, **changes: Any) -> Project:
    """Change a project's name, organization or review policy. Locks the project row."""
    allowed = {
        "name",
        "organization",
        "organization_url",
        "required_reviews",
        "consensus_rule",
        "majority_threshold",
        "lease_minutes",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    project = Project.objects.select_for_update().get(pk=project.pk)
    before = _policy(project)
    for name, value in changes.items():
        setattr(project, name, value)
    _validate_policy(project)
    _clean_and_save(project)
    event_record(
        actor=actor,
        verb="project.update",
        obj=project,
        project=project,
        before=before,
        after=_policy(project),
    )
    return project


@transaction.atomic
def member_add(*, project: Project, user: User, role: str, actor: User | None) -> Membership:
    """Add ``user`` to ``project`` with ``role``, or change the role of an existing member."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    before = {"role": membership.role} if membership else None
    if membership is None:
        membership = Membership.objects.create(project=project, user=user, role=role)
    elif membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    event_record(
        actor=actor,
        verb="member.add",
        obj=membership,
        project=project,
        before=before,
        after={"user": user.get_username(), "role": role},
    )
    return membership


# --- documents -------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentInput:
    title: str
    text: str
    raw_text: str | None = None
    source_url: str = ""
    publisher: str = ""
    author: str = ""
    published_date: dt.date | None = None
    language: str = ""


def _document_build(*, project: Project, data: DocumentInput, actor: User | None) -> Document:
    errors: dict[str, str] = {}
    if not isinstance(data.text, str) or not data.text.strip():
        errors["text"] = "The document text is empty."
    elif len(data.text) > settings.WORKBENCH_MAX_DOCUMENT_CHARS:
        errors["text"] = (
            f"The text has {len(data.text):,} characters; the limit is "
            f"{settings.WORKBENCH_MAX_DOCUMENT_CHARS:,} (WORKBENCH_MAX_DOCUMENT_CHARS)."
        )
    if not (data.title or "").strip():
        errors["title"] = "A title is required."
    if data.source_url:
        try:
            check_url(data.source_url)
        except UrlError as exc:
            errors["source_url"] = str(exc)
    if errors:
        raise ValidationError(errors)
    text = spans.canonicalize(data.text)
    document = Document(
        project=project,
        title=data.title.strip()[:500],
        text=text,
        text_sha256=spans.text_sha256(text),
        length=len(text),
        raw_text=data.text if data.raw_text is None else data.raw_text,
        source_url=data.source_url.strip(),
        publisher=data.publisher,
        author=data.author,
        published_date=data.published_date,
        language=data.language,
        created_by=actor,
    )
    document.full_clean(exclude=["text_sha256"], validate_unique=False, validate_constraints=False)
    return document


def _duplicate_error(document: Document) -> ValidationError:
    message = f"This project already has a document with the same text (sha256 {document.text_sha256[:12]}…)."
    return ValidationError({"text": ValidationError(message, code="duplicate")})


@transaction.atomic
def document_create(*, project: Project, data: DocumentInput, actor: User | None) -> Document:
    """Store a document's canonical text (NFC, ``\\n``), its hash and the raw text as provenance.

    Raises ValidationError (code ``duplicate`` on the text field) when the project already
    holds the same canonical text.
    """
    document = _document_build(project=project, data=data, actor=actor)
    if Document.objects.filter(project=project, text_sha256=document.text_sha256).exists():
        raise _duplicate_error(document)
    document.save()
    event_record(
        actor=actor,
        verb="document.create",
        obj=document,
        project=project,
        after={
            "title": document.title,
            "text_sha256": document.text_sha256,
            "length": document.length,
        },
    )
    return document


@transaction.atomic
def document_create_many(
    *, project: Project, items: Sequence[DocumentInput], actor: User | None
) -> list[Document]:
    """Bulk import: all documents or none. Errors are keyed ``"<index>.<field>"``."""
    built: list[tuple[int, Document]] = []
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            document = _document_build(project=project, data=item, actor=actor)
        except ValidationError as exc:
            errors.update(
                {f"{index}.{field}": messages for field, messages in exc.message_dict.items()}
            )
            continue
        if document.text_sha256 in seen:
            errors[f"{index}.text"] = ["Same text as an earlier item of this request."]
            continue
        seen.add(document.text_sha256)
        built.append((index, document))
    existing = set(
        Document.objects.filter(project=project, text_sha256__in=seen).values_list(
            "text_sha256", flat=True
        )
    )
    for index, document in built:
        if document.text_sha256 in existing:
            errors[f"{index}.text"] = _duplicate_error(document).messages
    if errors:
        raise ValidationError(errors)
    created = Document.objects.bulk_create([document for _, document in built])
    Event.objects.bulk_create(
        Event(
            actor=actor,
            verb="document.create",
            object_type="document",
            object_id=document.pk,
            project=project,
            after={
                "title": document.title,
                "text_sha256": document.text_sha256,
                "length": document.length,
            },
        )
        for document in created
    )
    return created


# --- claims ----------------------------------------------------------------------------


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

    Raises ValidationError on a bad span (``start``/``end``) or a client ``exact`` that is
    not the text at the span (the message quotes the actual text).
    """
    # Read only the window the selector needs, never the whole (possibly book-length) text.
    try:
        spans.validate_span(document.length, start, end)
    except spans.SpanError as exc:
        raise _span_error(exc) from None
    window_start = max(0, start - spans.CONTEXT_LENGTH)
    window = _document_window(
        document, window_start, min(document.length, end + spans.CONTEXT_LENGTH)
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
        created_by=actor,
    )
    _clean_and_save(claim)
    event_record(
        actor=actor,
        verb="claim.create",
        obj=claim,
        project=document.project,
        after=_claim_state(claim),
    )
    return claim


def _document_window(document: Document, start: int, end: int) -> str:
    """``document.text[start:end]`` read from the database without loading the whole text."""
    if "text" in document.__dict__ and document.__dict__["text"] is not None:
        return document.text[start:end]
    from django.db.models.functions import Substr

    return (
        Document.objects.filter(pk=document.pk)
        .annotate(window=Substr("text", start + 1, end - start))
        .values_list("window", flat=True)
        .get()
    )


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
    membership = _require_member(project_id=claim.project_id, user=actor)
    if claim.created_by_id != actor.pk and not membership.is_editor:
        raise PermissionDenied("Only the claim's creator or an editor can edit it.")
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


# --- sources ---------------------------------------------------------------------------


@transaction.atomic
def source_get_or_create(
    *,
    url: str,
    actor: User | None,
    title: str = "",
    publisher: str = "",
    published_date: dt.date | None = None,
    archive_url: str = "",
) -> Source:
    """Find the source by its normalized URL, or create it. http/https only."""
    errors = {}
    try:
        normalized = normalize_url(url)
    except UrlError as exc:
        raise ValidationError({"url": str(exc)}) from None
    if archive_url:
        try:
            check_url(archive_url)
        except UrlError as exc:
            errors["archive_url"] = str(exc)
    if errors:
        raise ValidationError(errors)
    existing = Source.objects.filter(normalized_url=normalized).first()
    if existing is not None:
        return existing
    source = Source(
        url=url.strip(),
        normalized_url=normalized,
        title=title.strip()[:500],
        publisher=publisher,
        published_date=published_date,
        archive_url=archive_url.strip(),
        created_by=actor,
    )
    source.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        # Another request created the same normalized URL between our check and insert.
        return Source.objects.get(normalized_url=normalized)
    event_record(
        actor=actor,
        verb="source.create",
        obj=source,
        after={"url": source.url, "normalized_url": normalized, "title": source.title},
    )
    return source


def sources_get_or_create(*, urls: Iterable[str], actor: User | None) -> list[Source]:
    return [source_get_or_create(url=url, actor=actor) for url in urls]


def now() -> dt.datetime:
    return timezone.now()


# --- review queue --------------------------------------------------------------------------


class QueueConflict(Exception):
    """The request conflicts with the claim's or lease's current state (HTTP 409)."""


def _require_member(*, project_id: int, user: User, editor: bool = False) -> Membership:
    membership = Membership.objects.filter(project_id=project_id, user=user).first()
    if membership is None:
        raise PermissionDenied("You are not a member of this project.")
    if editor and not membership.is_editor:
        raise PermissionDenied("Only editors and admins can do this.")
    return membership


def _eligible_claims(*, project: Project, reviewer: User, now: dt.datetime) -> QuerySet[Claim]:
    """Claims of ``project`` that ``reviewer`` may be offered: in review, not theirs, not
    already judged, leased or skipped by them, and with a free review slot."""
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
    mine_judged = Verdict.objects.filter(claim_id=OuterRef("pk"), reviewer=reviewer)
    mine_held = Assignment.objects.filter(
        claim_id=OuterRef("pk"),
        reviewer=reviewer,
        state__in=[AssignmentState.LEASED, AssignmentState.SKIPPED],
    )
    return (
        Claim.objects.filter(project=project, status=ClaimStatus.IN_REVIEW)
        .exclude(created_by=reviewer)
        .exclude(Exists(mine_judged))
        .exclude(Exists(mine_held))
        .alias(
            taken=Coalesce(Subquery(active_leases), 0) + Coalesce(Subquery(current_verdicts), 0),
        )
        .filter(taken__lt=project.required_reviews)
        .order_by("created_at", "id")
    )


def _slots_taken(*, claim_id: int, now: dt.datetime) -> int:
    return (
        Assignment.objects.filter(
            claim_id=claim_id, state=AssignmentState.LEASED, expires_at__gt=now
        ).count()
        + Verdict.objects.filter(claim_id=claim_id, is_current=True).count()
    )


def _close_assignment(
    assignment: Assignment, *, state: str, now: dt.datetime, reason: str = ""
) -> None:
    assignment.state = state
    assignment.closed_at = now
    if reason:
        assignment.reason = reason
    assignment.save(update_fields=["state", "closed_at", "reason"])


@transaction.atomic
def lease_next(
    *, reviewer: User, project: Project, now: dt.datetime | None = None
) -> Assignment | None:
    """Lease the oldest eligible claim of ``project`` to ``reviewer``; None when there is none.

    A reviewer holds at most one lease per project: if they hold an unexpired one it is
    returned unchanged; an expired one is closed first. On PostgreSQL the candidate row
    is taken with ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent callers never wait on
    or share a claim; because a concurrent lease inserts an Assignment without touching
    the claim row, the free-slot check is repeated in a fresh statement once the row lock
    is held (every writer of leases and verdicts holds that lock).
    """
    now = now or timezone.now()
    # Serialize one reviewer's concurrent calls (double click, two tabs) on their membership
    # row, so they agree on one lease instead of racing to insert two.
    membership = (
        Membership.objects.select_for_update().filter(project=project, user=reviewer).first()
    )
    if membership is None:
        raise PermissionDenied("You are not a member of this project.")
    held = (
        Assignment.objects.select_for_update()
        .filter(project=project, reviewer=reviewer, state=AssignmentState.LEASED)
        .first()
    )
    if held is not None:
        if held.expires_at > now:
            return held
        _close_assignment(held, state=AssignmentState.EXPIRED, now=now)
        event_record(
            actor=reviewer,
            verb="lease.expire",
            obj=held,
            project=project,
            after={"claim": held.claim_id},
        )
    skip_locked = connection.features.has_select_for_update_skip_locked
    passed_over: list[int] = []
    for _ in range(50):
        candidates = _eligible_claims(project=project, reviewer=reviewer, now=now)
        if passed_over:
            candidates = candidates.exclude(pk__in=passed_over)
        claim = (
            candidates.select_for_update(skip_locked=skip_locked, of=("self",)).only("pk").first()
        )
        if claim is None:
            if skip_locked and candidates.exists():
                # Every eligible claim is locked right now (verdicts being written): wait for
                # one instead of telling the reviewer the queue is empty.
                skip_locked = False
                continue
            return None
        if _slots_taken(claim_id=claim.pk, now=now) >= project.required_reviews:
            passed_over.append(claim.pk)
            continue
        assignment = Assignment.objects.create(
            project=project,
            claim_id=claim.pk,
            reviewer=reviewer,
            state=AssignmentState.LEASED,
            leased_at=now,
            expires_at=now + dt.timedelta(minutes=project.lease_minutes),
        )
        event_record(
            actor=reviewer,
            verb="lease.create",
            obj=assignment,
            project=project,
            after={"claim": claim.pk, "expires_at": assignment.expires_at.isoformat()},
        )
        return assignment
    return None


def _held_lease(*, claim: Claim, reviewer: User, now: dt.datetime) -> Assignment | None:
    return (
        Assignment.objects.select_for_update()
        .filter(claim=claim, reviewer=reviewer, state=AssignmentState.LEASED, expires_at__gt=now)
        .first()
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
    _require_member(project_id=claim.project_id, user=reviewer)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why you skip this claim (e.g. conflict of interest)."}
        )
    if len(reason) > 2000:
        raise ValidationError({"reason": "Keep the reason under 2,000 characters."})
    if Verdict.objects.filter(claim=claim, reviewer=reviewer).exists():
        raise QueueConflict("You have already submitted a verdict on this claim.")
    assignment = (
        Assignment.objects.select_for_update()
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
    event_record(
        actor=reviewer,
        verb="claim.skip",
        obj=assignment,
        project_id=claim.project_id,
        after={"claim": claim.pk, "reason": reason},
    )
    return assignment


@dataclass(frozen=True)
class CitationInput:
    stance: str
    url: str = ""
    source_id: int | None = None
    quote: str = ""


MAX_CITATIONS = 50
MAX_RATIONALE = 20_000
MAX_QUOTE = 5_000


def _verdict_state(verdict: Verdict) -> dict[str, Any]:
    return {
        "rating": verdict.rating.key,
        "confidence": verdict.confidence,
        "rationale": verdict.rationale,
        "revision": verdict.revision,
        "citations": [
            {"source": c.source_id, "quote": c.quote, "stance": c.stance}
            for c in verdict.citations.all()
        ],
    }


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


def _citations_validate(
    citations: Sequence[CitationInput], actor: User
) -> list[tuple[Source, CitationInput]]:
    if len(citations) > MAX_CITATIONS:
        raise ValidationError({"citations": f"At most {MAX_CITATIONS} citations per verdict."})
    resolved: list[tuple[Source, CitationInput]] = []
    errors: list[str] = []
    for index, citation in enumerate(citations):
        problems: dict[str, str] = {}
        if citation.stance not in Stance.values:
            problems["stance"] = (
                f"Unknown stance {citation.stance!r}; use one of {', '.join(Stance.values)}."
            )
        if len(citation.quote or "") > MAX_QUOTE:
            problems["quote"] = f"Quotes are limited to {MAX_QUOTE:,} characters."
        source = None
        if citation.source_id is not None:
            source = Source.objects.filter(pk=citation.source_id).first()
            if source is None:
                problems["source"] = f"No source with id {citation.source_id}."
        elif citation.url:
            try:
                normalize_url(citation.url)
            except UrlError as exc:
                problems["url"] = str(exc)
        else:
            problems["url"] = "Give the source's URL or the id of a known source."
        if problems:
            errors.extend(
                f"Citation {index + 1}, {name}: {message}" for name, message in problems.items()
            )
        else:
            resolved.append((source, citation))  # type: ignore[arg-type]
    if errors:
        raise ValidationError({"citations": errors})
    # Create sources only after every citation validated, so a bad one writes nothing.
    return [
        (source or source_get_or_create(url=citation.url, actor=actor), citation)
        for source, citation in resolved
    ]


@transaction.atomic
def verdict_submit(
    *,
    claim: Claim,
    reviewer: User,
    rating: str,
    confidence: str,
    rationale: str = "",
    citations: Sequence[CitationInput] = (),
    now: dt.datetime | None = None,
) -> Verdict:
    """Record ``reviewer``'s verdict on ``claim``, or a revision of it.

    A first verdict needs the reviewer's unexpired lease; a revision is allowed until
    consensus is recorded, and is a new row (the old one is kept, no longer current).
    Locks the claim row, then decides consensus when the required verdicts are in.
    Raises ValidationError for bad input and QueueConflict for the wrong state.
    """
    now = now or timezone.now()
    _require_member(project_id=claim.project_id, user=reviewer)
    claim = Claim.objects.select_for_update().select_related("project").get(pk=claim.pk)
    errors: dict[str, str] = {}
    if confidence not in Confidence.values:
        errors["confidence"] = f"Unknown confidence {confidence!r}; use low, medium or high."
    if len(rationale or "") > MAX_RATIONALE:
        errors["rationale"] = f"The rationale is limited to {MAX_RATIONALE:,} characters."
    try:
        rating_obj = _rating_get(project_id=claim.project_id, key=rating)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    previous = (
        Verdict.objects.select_for_update()
        .filter(claim=claim, reviewer=reviewer, is_current=True)
        .first()
    )
    lease = None
    if previous is None:
        if claim.status != ClaimStatus.IN_REVIEW:
            raise QueueConflict(
                f"This claim is {claim.get_status_display().lower()}, not in review."
            )
        lease = _held_lease(claim=claim, reviewer=reviewer, now=now)
        if lease is None:
            raise QueueConflict(
                "Take this claim from the queue (Review next) before judging it; "
                "your lease may have expired."
            )
    elif claim.status not in (ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED):
        raise QueueConflict("Consensus has been recorded; verdicts can no longer be revised.")
    sources = _citations_validate(list(citations), reviewer)
    verdict = Verdict(
        claim=claim,
        reviewer=reviewer,
        rating=rating_obj,
        confidence=confidence,
        rationale=rationale or "",
        revision=1 if previous is None else previous.revision + 1,
    )
    before = None
    if previous is not None:
        before = _verdict_state(previous)
        previous.is_current = False
        previous.save(update_fields=["is_current"])
    verdict.save()
    Citation.objects.bulk_create(
        Citation(verdict=verdict, source=source, quote=c.quote or "", stance=c.stance)
        for source, c in sources
    )
    if lease is not None:
        _close_assignment(lease, state=AssignmentState.SUBMITTED, now=now)
    event_record(
        actor=reviewer,
        verb="verdict.submit" if previous is None else "verdict.revise",
        obj=verdict,
        project_id=claim.project_id,
        before=before,
        after=_verdict_state(verdict),
    )
    _consensus_decide(claim=claim, actor=reviewer)
    return verdict


def _current_verdicts(claim: Claim) -> list[Verdict]:
    return list(
        Verdict.objects.filter(claim=claim, is_current=True).select_related("rating").order_by("id")
    )


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
) -> Consensus:
    """Append a consensus record, superseding the current one. Caller holds the claim lock."""
    current = Consensus.objects.filter(claim=claim, is_current=True).first()
    last = (
        Consensus.objects.filter(claim=claim)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    record = Consensus.objects.create(
        claim=claim,
        sequence=(last or 0) + 1,
        rating=rating,
        method=method,
        agreement=agreement,
        decided_by=decided_by,
        note=note,
    )
    record.verdicts.set(verdicts)
    event_record(
        actor=actor,
        verb=f"consensus.{method}",
        obj=record,
        project_id=claim.project_id,
        before={"rating": current.rating.key, "sequence": current.sequence} if current else None,
        after={
            "rating": rating.key,
            "method": method,
            "agreement": agreement,
            "sequence": record.sequence,
            "verdicts": [v.pk for v in verdicts],
            "note": note,
        },
    )
    return record


def _claim_set_status(*, claim: Claim, status: str, actor: User | None, note: str = "") -> None:
    before = claim.status
    claim.status = status
    claim.version += 1
    claim.save(update_fields=["status", "version", "updated_at"])
    event_record(
        actor=actor,
        verb="claim.status",
        obj=claim,
        project_id=claim.project_id,
        before={"status": before},
        after={"status": status, "note": note} if note else {"status": status},
    )


def _consensus_decide(*, claim: Claim, actor: User | None) -> Consensus | None:
    """When the required verdicts are in, resolve the claim or mark it disputed. Claim locked."""
    verdicts = _current_verdicts(claim)
    if len(verdicts) < claim.project.required_reviews:
        return None
    decision = consensus.decide(
        [v.rating.key for v in verdicts],
        rule=claim.project.consensus_rule,
        majority_threshold=claim.project.majority_threshold,
    )
    if not decision.reached:
        if claim.status != ClaimStatus.DISPUTED:
            _claim_set_status(claim=claim, status=ClaimStatus.DISPUTED, actor=actor)
        return None
    rating = next(v.rating for v in verdicts if v.rating.key == decision.rating)
    record = _consensus_append(
        claim=claim,
        rating=rating,
        method=str(decision.method),
        agreement=decision.agreement,
        verdicts=verdicts,
        actor=actor,
        decided_by=None,
    )
    _claim_set_status(claim=claim, status=ClaimStatus.RESOLVED, actor=actor)
    return record


def _lock_claim(claim: Claim) -> Claim:
    return Claim.objects.select_for_update().select_related("project").get(pk=claim.pk)


@transaction.atomic
def claim_adjudicate(*, claim: Claim, editor: User, rating: str, note: str) -> Consensus:
    """An editor decides a disputed claim. Locks the claim; records method ``adjudicated``."""
    _require_member(project_id=claim.project_id, user=editor, editor=True)
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
    if claim.status != ClaimStatus.DISPUTED:
        raise QueueConflict(
            f"Only disputed claims are adjudicated; this one is {claim.get_status_display().lower()}."
        )
    verdicts = _current_verdicts(claim)
    agreement = (
        (sum(1 for v in verdicts if v.rating_id == rating_obj.pk) / len(verdicts))
        if verdicts
        else None
    )
    record = _consensus_append(
        claim=claim,
        rating=rating_obj,
        method=ConsensusMethod.ADJUDICATED,
        agreement=agreement,
        verdicts=verdicts,
        actor=editor,
        decided_by=editor,
        note=note,
    )
    _claim_set_status(claim=claim, status=ClaimStatus.RESOLVED, actor=editor)
    return record


@transaction.atomic
def claim_reopen(*, claim: Claim, editor: User, note: str) -> Claim:
    """Reopen a resolved or published claim: its consensus stops being current (kept in
    the history), the claim becomes disputed, reviewers may revise and editors adjudicate anew."""
    _require_member(project_id=claim.project_id, user=editor, editor=True)
    claim = _lock_claim(claim)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the claim is reopened."})
    if claim.status not in (ClaimStatus.RESOLVED, ClaimStatus.PUBLISHED):
        raise QueueConflict("Only resolved or published claims can be reopened.")
    current = Consensus.objects.filter(claim=claim, is_current=True).first()
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
        event_record(
            actor=editor,
            verb="consensus.supersede",
            obj=current,
            project_id=claim.project_id,
            before={"is_current": True},
            after={"is_current": False, "note": note},
        )
    _claim_set_status(claim=claim, status=ClaimStatus.DISPUTED, actor=editor, note=note)
    return claim


@transaction.atomic
def claim_publish(*, claim: Claim, editor: User) -> Claim:
    """Publish a resolved claim (it then appears in ClaimReview exports)."""
    _require_member(project_id=claim.project_id, user=editor, editor=True)
    claim = _lock_claim(claim)
    if claim.status != ClaimStatus.RESOLVED:
        raise QueueConflict("Only resolved claims can be published.")
    _claim_set_status(claim=claim, status=ClaimStatus.PUBLISHED, actor=editor)
    return claim


@transaction.atomic
def claim_withdraw(
    *, claim: Claim, actor: User, reason: str, now: dt.datetime | None = None
) -> Claim:
    """Take a claim out of review (editors, or its creator before any verdict); open leases end."""
    now = now or timezone.now()
    membership = _require_member(project_id=claim.project_id, user=actor)
    claim = _lock_claim(claim)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the claim is withdrawn."})
    if not membership.is_editor and not (
        claim.created_by_id == actor.pk and not Verdict.objects.filter(claim=claim).exists()
    ):
        raise PermissionDenied(
            "Only editors, or the creator before any verdict, can withdraw a claim."
        )
    if claim.status in (ClaimStatus.WITHDRAWN, ClaimStatus.PUBLISHED):
        raise QueueConflict(f"This claim is {claim.get_status_display().lower()}.")
    for lease in Assignment.objects.select_for_update().filter(
        claim=claim, state=AssignmentState.LEASED
    ):
        _close_assignment(lease, state=AssignmentState.RELEASED, now=now)
        event_record(
            actor=actor,
            verb="lease.release",
            obj=lease,
            project_id=claim.project_id,
            after={"claim": claim.pk, "reason": "claim withdrawn"},
        )
    _claim_set_status(claim=claim, status=ClaimStatus.WITHDRAWN, actor=actor, note=reason)
    return claim


@transaction.atomic
def consensus_recompute(*, claim: Claim, actor: User | None) -> Consensus | None:
    """Re-run the project's rule over the current verdicts (admin action). An editor's
    adjudication is never replaced automatically; an unchanged outcome writes only an event."""
    claim = _lock_claim(claim)
    current = (
        Consensus.objects.filter(claim=claim, is_current=True).select_related("rating").first()
    )
    verdicts = _current_verdicts(claim)
    outcome = "unchanged"
    record = None
    reopened = current is None and Consensus.objects.filter(claim=claim).exists()
    if current is not None and current.method == ConsensusMethod.ADJUDICATED:
        outcome = "kept adjudication"
    elif reopened:
        # An editor reopened this claim: the next decision is theirs, not the rule's.
        outcome = "kept for adjudication (reopened)"
    elif len(verdicts) >= claim.project.required_reviews and claim.status in (
        ClaimStatus.IN_REVIEW,
        ClaimStatus.DISPUTED,
        ClaimStatus.RESOLVED,
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
            rating = next(v.rating for v in verdicts if v.rating.key == decision.rating)
            record = _consensus_append(
                claim=claim,
                rating=rating,
                method=str(decision.method),
                agreement=decision.agreement,
                verdicts=verdicts,
                actor=actor,
                decided_by=None,
            )
            if claim.status != ClaimStatus.RESOLVED:
                _claim_set_status(claim=claim, status=ClaimStatus.RESOLVED, actor=actor)
            outcome = "recorded"
        elif not decision.reached and claim.status != ClaimStatus.DISPUTED:
            if current is not None:
                current.is_current = False
                current.save(update_fields=["is_current"])
                event_record(
                    actor=actor,
                    verb="consensus.supersede",
                    obj=current,
                    project_id=claim.project_id,
                    before={"is_current": True},
                    after={"is_current": False, "note": "recomputed: no consensus"},
                )
            _claim_set_status(claim=claim, status=ClaimStatus.DISPUTED, actor=actor)
            outcome = "disputed"
    event_record(
        actor=actor,
        verb="consensus.recompute",
        obj=claim,
        project_id=claim.project_id,
        after={"outcome": outcome},
    )
    return record


# --- native import ---------------------------------------------------------------------
# Reads a native export ("workbench-export/1", see annotations/export.py and
# annotations/schemas/workbench-export-1.schema.json) back into a project: the other half
# of the lossless round trip. Owned by the export layer; appended here because every
# write goes through this module.


def _native_datetime(value: str) -> dt.datetime:
    # The schema only admits timestamps with a timezone, so the result is aware.
    return dt.datetime.fromisoformat(value)


def _native_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _native_problems(payload: dict[str, Any], *, project: Project) -> dict[str, list[str]]:
    """Cross-record checks the JSON Schema cannot express, keyed by JSON pointer."""
    from django.contrib.auth import get_user_model

    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    document = payload["document"]
    text = document["text"]
    if spans.canonicalize(text) != text:
        add("/document/text", "The text is not canonical (NFC, \\n line endings).")
    if spans.text_sha256(text) != document["text_sha256"]:
        add(
            "/document/text_sha256",
            f"Does not match the text (its sha256 is {spans.text_sha256(text)}).",
        )
    if len(text) != document["length"]:
        add("/document/length", f"The text has {len(text)} code points, not {document['length']}.")
    if len(text) > settings.WORKBENCH_MAX_DOCUMENT_CHARS:
        add(
            "/document/text",
            f"The text has {len(text):,} characters; the limit is "
            f"{settings.WORKBENCH_MAX_DOCUMENT_CHARS:,} (WORKBENCH_MAX_DOCUMENT_CHARS).",
        )
    if document["source_url"]:
        try:
            check_url(document["source_url"])
        except UrlError as exc:
            add("/document/source_url", str(exc))

    rating_keys = set(Rating.objects.filter(project=project).values_list("key", flat=True))
    scale_keys: set[str] = set()
    for index, entry in enumerate(payload["project"]["scale"]):
        if entry["key"] in scale_keys:
            add(f"/project/scale/{index}/key", f"Rating key {entry['key']!r} appears twice.")
        scale_keys.add(entry["key"])
    known_ratings = rating_keys | scale_keys

    user_model = get_user_model()
    username_field = user_model._meta.get_field(user_model.USERNAME_FIELD)

    def check_username(path: str, name: str) -> None:
        try:
            username_field.run_validators(name)
        except ValidationError as exc:
            add(path, f"Not a valid username {name!r}: {' '.join(exc.messages)}")

    source_ids: set[int] = set()
    for index, source in enumerate(payload["sources"]):
        path = f"/sources/{index}"
        if source["id"] in source_ids:
            add(f"{path}/id", f"Source id {source['id']} appears twice.")
        source_ids.add(source["id"])
        try:
            normalize_url(source["url"])
        except UrlError as exc:
            add(f"{path}/url", str(exc))
        if source["archive_url"]:
            try:
                check_url(source["archive_url"])
            except UrlError as exc:
                add(f"{path}/archive_url", str(exc))

    claim_ids: set[int] = set()
    verdict_ids: set[int] = set()
    for claim_index, claim in enumerate(payload["claims"]):
        path = f"/claims/{claim_index}"
        if claim["id"] in claim_ids:
            add(f"{path}/id", f"Claim id {claim['id']} appears twice.")
        claim_ids.add(claim["id"])
        check_username(f"{path}/created_by", claim["created_by"])
        start, end = claim["start"], claim["end"]
        try:
            spans.validate_span(len(text), start, end)
        except spans.SpanError as exc:
            add(f"{path}/{exc.field}", exc.message)
        else:
            if text[start:end] != claim["exact"]:
                add(f"{path}/exact", f"Does not match the text at [{start}, {end}).")
            prefix, suffix = claim["prefix"], claim["suffix"]
            if len(prefix) > start or text[start - len(prefix) : start] != prefix:
                add(f"{path}/prefix", f"Is not the text just before {start}.")
            if text[end : end + len(suffix)] != suffix:
                add(f"{path}/suffix", f"Is not the text just after {end}.")
        revisions: set[tuple[str, int]] = set()
        current: set[str] = set()
        claim_verdicts: set[int] = set()
        for verdict_index, verdict in enumerate(claim["verdicts"]):
            vpath = f"{path}/verdicts/{verdict_index}"
            if verdict["id"] in verdict_ids:
                add(f"{vpath}/id", f"Verdict id {verdict['id']} appears twice.")
            verdict_ids.add(verdict["id"])
            claim_verdicts.add(verdict["id"])
            check_username(f"{vpath}/reviewer", verdict["reviewer"])
            if verdict["rating"] not in known_ratings:
                add(f"{vpath}/rating", f"Unknown rating {verdict['rating']!r}: not in any scale.")
            key = (verdict["reviewer"], verdict["revision"])
            if key in revisions:
                add(f"{vpath}/revision", f"Revision {key[1]} of {key[0]!r} appears twice.")
            revisions.add(key)
            if verdict["is_current"]:
                if verdict["reviewer"] in current:
                    add(f"{vpath}/is_current", f"{key[0]!r} has two current verdicts.")
                current.add(verdict["reviewer"])
            for citation_index, citation in enumerate(verdict["citations"]):
                if citation["source"] not in source_ids:
                    add(
                        f"{vpath}/citations/{citation_index}/source",
                        f"No source with id {citation['source']} in sources.",
                    )
        sequences: set[int] = set()
        current_records = 0
        for record_index, record in enumerate(claim["consensus"]):
            rpath = f"{path}/consensus/{record_index}"
            if record["sequence"] in sequences:
                add(f"{rpath}/sequence", f"Sequence {record['sequence']} appears twice.")
            sequences.add(record["sequence"])
            current_records += record["is_current"]
            if current_records > 1 and record["is_current"]:
                add(f"{rpath}/is_current", "A claim has at most one current consensus.")
            if record["rating"] not in known_ratings:
                add(f"{rpath}/rating", f"Unknown rating {record['rating']!r}: not in any scale.")
            if record["decided_by"] is not None:
                check_username(f"{rpath}/decided_by", record["decided_by"])
            for link_index, verdict_id in enumerate(record["verdicts"]):
                if verdict_id not in claim_verdicts:
                    add(
                        f"{rpath}/verdicts/{link_index}",
                        f"No verdict with id {verdict_id} on this claim.",
                    )
    for path, value, parse in _native_time_fields(payload):
        try:
            parse(value)
        except ValueError as exc:
            add(path, f"Not a valid date or time {value!r}: {exc}.")
    return errors


def _native_time_fields(
    payload: dict[str, Any],
) -> Iterable[tuple[str, str, Any]]:
    """Every timestamp and date of a (schema-valid) payload: (path, value, parser)."""
    yield "/exported_at", payload["exported_at"], _native_datetime
    yield "/document/created_at", payload["document"]["created_at"], _native_datetime
    if payload["document"]["published_date"]:
        yield "/document/published_date", payload["document"]["published_date"], _native_date
    for index, source in enumerate(payload["sources"]):
        for name in ("published_date", "accessed_date"):
            if source[name]:
                yield f"/sources/{index}/{name}", source[name], _native_date
    for claim_index, claim in enumerate(payload["claims"]):
        path = f"/claims/{claim_index}"
        yield f"{path}/created_at", claim["created_at"], _native_datetime
        for index, verdict in enumerate(claim["verdicts"]):
            yield f"{path}/verdicts/{index}/submitted_at", verdict["submitted_at"], _native_datetime
        for index, record in enumerate(claim["consensus"]):
            yield f"{path}/consensus/{index}/decided_at", record["decided_at"], _native_datetime


def _native_users(names: set[str]) -> tuple[dict[str, AbstractBaseUser], list[str]]:
    """Users by username; the missing ones are created inactive with unusable passwords."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    users = {
        user.get_username(): user
        for user in user_model._default_manager.filter(**{f"{field}__in": names})
    }
    created = []
    for name in sorted(names - set(users)):
        # get_or_create, not a bulk insert: a concurrent import may create the same name.
        user, was_created = user_model._default_manager.get_or_create(
            **{field: name}, defaults={"is_active": False, "password": make_password(None)}
        )
        users[name] = user
        if was_created:
            created.append(name)
    return users, created


def _native_clean(obj: Model, path: str, **options: Any) -> None:
    """``full_clean`` with errors keyed by the JSON pointer of the offending field."""
    try:
        obj.full_clean(validate_unique=False, **options)
    except ValidationError as exc:
        raise ValidationError(
            {f"{path}/{name}": messages for name, messages in exc.message_dict.items()}
        ) from None


def _native_insert(model: type[Model], objects: list[Any]) -> list[Any]:
    """Insert rows and get their primary keys back (one statement where the backend can)."""
    if not objects:
        return objects
    if connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(objects)
    for obj in objects:
        obj.save(force_insert=True)
    return objects


def _native_timestamps(model: type[Model], objects: list[Any], field: str) -> None:
    # auto_now_add fields get "now" on insert whatever the object holds; the exported
    # value is written back afterwards with one UPDATE (a CASE over the primary keys).
    if objects:
        model._default_manager.bulk_update(objects, [field], batch_size=500)


@transaction.atomic
def document_import_native(
    *, project: Project, payload: dict[str, Any], actor: User | None
) -> Document:
    """Import one native export (``"schema": "workbench-export/1"``) into ``project``.

    All or nothing, in one transaction. In order:

    * The payload is validated against ``annotations/schemas/workbench-export-1.schema.json``
      and then across records (text hash and length, every ``exact``/``prefix``/``suffix``
      against the text, citation and consensus links, rating keys, usernames). Problems
      raise ValidationError keyed by JSON pointer (``"/claims/0/exact"``) with the reason.
    * A document whose canonical text the project already holds raises ValidationError
      with code ``duplicate`` on ``text``.
    * Rating keys missing from the project's scale are added from the payload's scale
      (label, ordinal, position); existing keys are used as they are, never changed.
    * Users are matched by username. A username that does not exist is created as an
      INACTIVE user with an UNUSABLE password (so the record keeps who did what, but
      nobody can sign in as them until an admin activates the account and sets a
      password). Imported users are not made project members: an export must never
      grant access.
    * Sources are found by normalized URL (normalized again with today's rules), or
      created with every exported field.
    * The document, its claims (span, quote, context, statement, claimant, status,
      version, created_at), every verdict revision (revision, is_current, submitted_at),
      citations and the consensus history (sequence, method, agreement, decided_by,
      decided_at, note, is_current, verdict links) are recreated with their timestamps.
      The document's ``created_by`` is ``actor``; ids are new.
    * One ``document.import`` event records what was created.

    Leases (assignments) and the original audit trail are not part of the export.
    """
    from annotations import export

    problems = export.native_errors(payload)
    if problems:
        grouped: dict[str, list[str]] = {}
        for pointer, reason in problems:
            grouped.setdefault(pointer, []).append(reason)
        raise ValidationError(grouped)
    errors = _native_problems(payload, project=project)
    if errors:
        raise ValidationError(errors)

    data = payload["document"]
    duplicate = ValidationError(
        {
            "text": ValidationError(
                f"This project already has a document with the same text "
                f"(sha256 {data['text_sha256'][:12]}…).",
                code="duplicate",
            )
        }
    )
    if Document.objects.filter(project=project, text_sha256=data["text_sha256"]).exists():
        raise duplicate

    # Scale: add the keys the project lacks.
    ratings = {rating.key: rating for rating in Rating.objects.filter(project=project)}
    new_ratings = [
        Rating(
            project=project,
            key=entry["key"],
            label=entry["label"],
            ordinal=entry["ordinal"],
            position=entry["position"],
        )
        for entry in payload["project"]["scale"]
        if entry["key"] not in ratings
    ]
    for rating in _native_insert(Rating, new_ratings):
        ratings[rating.key] = rating

    names = {claim["created_by"] for claim in payload["claims"]}
    for claim in payload["claims"]:
        names.update(verdict["reviewer"] for verdict in claim["verdicts"])
        names.update(r["decided_by"] for r in claim["consensus"] if r["decided_by"])
    users, users_created = _native_users(names)

    document = Document(
        project=project,
        title=data["title"],
        text=data["text"],
        text_sha256=data["text_sha256"],
        length=data["length"],
        raw_text=data["raw_text"],
        source_url=data["source_url"],
        publisher=data["publisher"],
        author=data["author"],
        published_date=_native_date(data["published_date"]),
        language=data["language"],
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _native_clean(
        document, "/document", exclude=["project", "created_by"], validate_constraints=False
    )
    try:
        with transaction.atomic():
            document.save(force_insert=True)
    except IntegrityError:
        # Another import of the same text committed between our check and this insert.
        raise duplicate from None
    document.created_at = _native_datetime(data["created_at"])
    _native_timestamps(Document, [document], "created_at")

    # Sources: reuse by normalized URL, create the rest with all their fields.
    by_normalized: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, entry in enumerate(payload["sources"]):
        by_normalized.setdefault(normalize_url(entry["url"]), []).append((index, entry))
    found = {
        source.normalized_url: source
        for source in Source.objects.filter(normalized_url__in=list(by_normalized))
    }
    created_sources = []
    for normalized, entries in by_normalized.items():
        if normalized in found:
            continue
        index, entry = entries[0]
        source = Source(
            url=entry["url"],
            normalized_url=normalized,
            title=entry["title"],
            publisher=entry["publisher"],
            published_date=_native_date(entry["published_date"]),
            archive_url=entry["archive_url"],
            accessed_date=_native_date(entry["accessed_date"]),
            created_by=document.created_by,
        )
        _native_clean(source, f"/sources/{index}", exclude=["created_by"])
        created_sources.append(source)
        found[normalized] = source
    _native_insert(Source, created_sources)
    sources = {
        entry["id"]: found[normalized]
        for normalized, entries in by_normalized.items()
        for _, entry in entries
    }

    claims = []
    for index, entry in enumerate(payload["claims"]):
        claim = Claim(
            project=project,
            document=document,
            start=entry["start"],
            end=entry["end"],
            exact=entry["exact"],
            prefix=entry["prefix"],
            suffix=entry["suffix"],
            statement=entry["statement"],
            claimant=entry["claimant"],
            status=entry["status"],
            version=entry["version"],
            created_by=users[entry["created_by"]],
        )
        _native_clean(
            claim,
            f"/claims/{index}",
            exclude=["project", "document", "created_by"],
            validate_constraints=False,
        )
        claims.append(claim)
    _native_insert(Claim, claims)
    for claim, entry in zip(claims, payload["claims"], strict=True):
        claim.created_at = _native_datetime(entry["created_at"])
    _native_timestamps(Claim, claims, "created_at")

    verdicts: dict[int, Verdict] = {}
    verdict_rows: list[tuple[Verdict, dict[str, Any]]] = []
    for claim, entry in zip(claims, payload["claims"], strict=True):
        for item in entry["verdicts"]:
            verdict = Verdict(
                claim=claim,
                reviewer=users[item["reviewer"]],
                rating=ratings[item["rating"]],
                confidence=item["confidence"],
                rationale=item["rationale"],
                revision=item["revision"],
                is_current=item["is_current"],
            )
            verdicts[item["id"]] = verdict
            verdict_rows.append((verdict, item))
    _native_insert(Verdict, [verdict for verdict, _ in verdict_rows])
    for verdict, item in verdict_rows:
        verdict.submitted_at = _native_datetime(item["submitted_at"])
    _native_timestamps(Verdict, [verdict for verdict, _ in verdict_rows], "submitted_at")

    citations = [
        Citation(
            verdict=verdict,
            source=sources[citation["source"]],
            quote=citation["quote"],
            stance=citation["stance"],
        )
        for verdict, item in verdict_rows
        for citation in item["citations"]
    ]
    _native_insert(Citation, citations)

    records: list[tuple[Consensus, dict[str, Any]]] = []
    for claim, entry in zip(claims, payload["claims"], strict=True):
        for item in entry["consensus"]:
            record = Consensus(
                claim=claim,
                sequence=item["sequence"],
                rating=ratings[item["rating"]],
                method=item["method"],
                agreement=item["agreement"],
                decided_by=users[item["decided_by"]] if item["decided_by"] else None,
                note=item["note"],
                is_current=item["is_current"],
            )
            records.append((record, item))
    _native_insert(Consensus, [record for record, _ in records])
    for record, item in records:
        record.decided_at = _native_datetime(item["decided_at"])
    _native_timestamps(Consensus, [record for record, _ in records], "decided_at")
    links = [
        Consensus.verdicts.through(consensus_id=record.pk, verdict_id=verdicts[verdict_id].pk)
        for record, item in records
        for verdict_id in item["verdicts"]
    ]
    Consensus.verdicts.through.objects.bulk_create(links)

    event_record(
        actor=actor,
        verb="document.import",
        obj=document,
        project=project,
        after={
            "schema": payload["schema"],
            "title": document.title,
            "text_sha256": document.text_sha256,
            "exported_at": payload["exported_at"],
            "from_project": payload["project"]["slug"],
            "claims": len(claims),
            "verdicts": len(verdict_rows),
            "citations": len(citations),
            "consensus": len(records),
            "sources_created": len(created_sources),
            "ratings_created": [rating.key for rating in new_ratings],
            "users_created": users_created,
        },
    )
    return document
