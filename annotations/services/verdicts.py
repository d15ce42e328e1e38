"""Verdicts: one reviewer's judgement of one claim, with its citations, and its revisions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, connections, router, transaction
from django.db.models import (
    Aggregate,
    Exists,
    Func,
    JSONField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import JSONArray
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from annotations import access
from annotations.compiled import CompiledValues
from annotations.core import evidence_policy
from annotations.core.urlnorm import UrlError, normalize_url
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    ClaimStatus,
    Confidence,
    Consensus,
    Event,
    GoldClaim,
    Project,
    Rating,
    Source,
    Stance,
    Verdict,
    WebhookEndpoint,
)
from annotations.selectors.evidence import citations_with_evidence
from annotations.services import calibration, limits
from annotations.services._base import (
    PendingEvents,
    QueueConflict,
    RowInsert,
    TaskRow,
    User,
    _insert_select,
    _insert_values,
    _row_insert,
    _saved,
    _storable_text_errors,
    _update_returning,
    event_build,
    events_record,
    public_url,
)
from annotations.services.evidence import verdict_evidence_enqueue, verdict_evidence_row
from annotations.services.leases import held_leases
from annotations.services.review import DecisionFacts, _consensus_decide, _rating_get
from annotations.services.sources import sources_for_urls

NO_LEASE = (
    "Take this claim from the queue (Review next) before judging it; your lease may have expired."
)


@dataclass(frozen=True)
class CitationInput:
    stance: str
    url: str = ""
    source_id: int | None = None
    quote: str = ""


class VerdictSubmitted(NamedTuple):
    """What ``verdict_submit_as_member`` answers: the reviewer's verdict on the claim now,
    and whether this call wrote it (False: the reviewer's current verdict, unchanged,
    because the one asked for is the same verdict over again, ``_same_verdict``)."""

    verdict: Verdict
    written: bool


def _verdict_state(verdict: Verdict, citations: Sequence[Citation] | None = None) -> dict[str, Any]:
    """The verdict as the audit event records it; ``citations`` when the caller has them
    in hand (a verdict just written), else they are read."""
    return {
        "rating": verdict.rating.key,
        "confidence": verdict.confidence,
        "rationale": verdict.rationale,
        "revision": verdict.revision,
        "claim_version": verdict.claim_version,
        "post_reveal": verdict.post_reveal,
        **({"calibration": True} if verdict.calibration else {}),
        "citations": [
            {"source": c.source_id, "quote": c.quote, "stance": c.stance}
            for c in (verdict.citations.all() if citations is None else citations)
        ],
    }


_SOURCE_URL = Source._meta.get_field("url").run_validators
BOTH_URL_AND_SOURCE = "Give either the source's URL or the id of a known source (source), not both."


class CitationErrors(ValidationError):
    """A verdict's citations refused: a ValidationError on ``citations`` with one message
    per problem ("Citation 2, url: …", numbered from 1 as the verdict form's rows are),
    that also keeps each problem by citation: ``by_citation`` maps a citation's index in
    the list given (from 0) to its fields' messages, ``general`` holds what concerns the
    citations as a whole (the policy's minimum). The API answers with those, in the shape
    of its other list fields' errors: ``{"citations": {"1": {"url": [...]}}}``."""

    def __init__(self, problems: Sequence[tuple[int | None, str | None, str]]) -> None:
        """``problems``: (index or None, field or None, message), in the order found."""
        self.by_citation: dict[int, dict[str, list[str]]] = {}
        self.general: list[str] = []
        messages = []
        for index, field, message in problems:
            if index is None or field is None:
                self.general.append(message)
                messages.append(message)
            else:
                self.by_citation.setdefault(index, {}).setdefault(field, []).append(message)
                messages.append(f"Citation {index + 1}, {field}: {message}")
        super().__init__({"citations": messages})


def _citations_validate(
    citations: Sequence[CitationInput], actor: User, *, project: Project
) -> tuple[list[tuple[Source, CitationInput]], list[Event]]:
    """The sources of ``citations`` in ``project``: a source named by id must be one the
    reviewer may already see there; a URL finds or makes the reviewer's own source
    (``sources_for_urls``: with the unsaved ``source.create`` events of the new ones). A
    citation gives one of the two: both is refused, as is neither.
    Raises ValidationError on ``citations`` (one message per problem, by citation)."""
    if len(citations) > limits.MAX_CITATIONS:
        raise ValidationError({"citations": limits.TOO_MANY_CITATIONS})
    resolved: list[tuple[Source | None, CitationInput]] = []
    errors: list[tuple[int | None, str | None, str]] = []
    for index, citation in enumerate(citations):
        problems: dict[str, str] = {
            name: " ".join(messages)
            for name, messages in _storable_text_errors(
                url=citation.url, quote=citation.quote
            ).items()
        }
        if problems:
            # Neither may reach a query (PostgreSQL refuses NUL even in a lookup).
            errors.extend((index, name, message) for name, message in problems.items())
            continue
        if citation.stance not in Stance.values:
            problems["stance"] = (
                f"Unknown stance {citation.stance!r}; use one of {', '.join(Stance.values)}."
            )
        for name, messages in limits.length_errors(
            quote=(citation.quote, limits.MAX_QUOTE)
        ).items():
            problems[name] = " ".join(messages)
        source = None
        if citation.source_id is not None and citation.url:
            # Neither is taken over the other: the reviewer meant one page, and which one
            # is theirs to say.
            problems["url"] = BOTH_URL_AND_SOURCE
        elif citation.source_id is not None:
            # Only sources the reviewer may see; any other id reads as unknown (no oracle).
            source = access.source_for_citation(
                user=actor, pk=citation.source_id, project_id=project.pk
            )
            if source is None:
                problems["source"] = f"No source with id {citation.source_id}."
        elif citation.url:
            try:
                normalize_url(citation.url)
                # A public page: no loopback, private or other internal address, nor
                # numeric shorthand for one (0x7f000001).
                public_url(citation.url)
                # The source's own column check (URLField), here so that an address it
                # refuses is named by its citation.
                _SOURCE_URL(citation.url.strip())
            except UrlError as exc:
                problems["url"] = str(exc)
            except ValidationError as exc:
                problems["url"] = " ".join(exc.messages)
        else:
            problems["url"] = "Give the source's URL or the id of a known source."
        if problems:
            errors.extend((index, name, message) for name, message in problems.items())
        else:
            resolved.append((source, citation))
    errors.extend(_policy_errors(citations, project=project))
    if errors:
        raise CitationErrors(errors)
    # Create sources only after every citation validated, so a bad one writes nothing; all
    # the cited URLs at once (their ``source.create`` events go with the verdict's).
    by_url, source_events = sources_for_urls(
        urls=[c.url for source, c in resolved if source is None], actor=actor, project=project
    )
    found = iter(by_url)
    return [
        (source if source is not None else next(found), citation) for source, citation in resolved
    ], source_events


def _policy_errors(
    citations: Sequence[CitationInput], *, project: Project
) -> list[tuple[int | None, str | None, str]]:
    """The project's evidence policy (``core.evidence_policy``) on a verdict's citations, as
    ``CitationErrors`` problems; a citation whose stance is unknown is reported as such
    above, not again as one the policy does not allow."""
    cited = [evidence_policy.Cited(stance=c.stance, quote=c.quote or "") for c in citations]
    return [
        (breach.index, breach.field, breach.message)
        for breach in evidence_policy.policy_breaches(project.evidence_policy, cited)
        if breach.index is None or cited[breach.index].stance in Stance.values
    ]


class JSONRows(Aggregate):
    """The group's values as one JSON array (``jsonb_agg`` on PostgreSQL,
    ``json_group_array`` on SQLite), in no particular order; SQL NULL for no row."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra)


class AsJSON(Func):
    """A JSON column's value as JSON inside a JSON function's arguments (SQLite keeps it as
    text, which ``json_array`` would quote as a string; PostgreSQL's is ``jsonb``)."""

    function = "JSON"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return compiler.compile(self.get_source_expressions()[0])


def _submit_facts(*, reviewer: User, rating: str, now: dt.datetime) -> dict[str, Any]:
    """What ``verdict_submit`` checks on the locked claim, as annotations of the claim (read
    in one statement): the rating's id, the reviewer's current verdict and latest revision,
    their unexpired lease (a calibration lease first), whether their verdict would be
    post-reveal, the verdicts of others the project's rule counts now (``[id, reviewer id,
    rating id, rating key]`` each, null for none: with this one, what a deciding verdict
    decides from), whether the claim is marked gold, whether others hold a lease on it
    (still leased: the ones a deciding verdict ends), the last sequence of its consensus
    history (null when empty) and the project's active webhook endpoints (``[id, event
    types]`` each, null for none): what a deciding verdict writes needs no read of its own
    (issue 20). ``rating`` is a key (a value of another type matches no
    rating)."""
    mine = Verdict.objects.filter(claim_id=OuterRef("pk"), reviewer_id=reviewer.pk)
    lease = held_leases(now=now, claim_id=OuterRef("pk"), reviewer_id=reviewer.pk).order_by(
        "-calibration", "id"
    )
    counted_others = (
        access.verdicts_counted(Verdict.objects.filter(claim_id=OuterRef("pk")))
        .exclude(reviewer_id=reviewer.pk)
        .order_by()
        .values("claim_id")
        .annotate(rows=JSONRows(JSONArray("pk", "reviewer_id", "rating_id", "rating__key")))
        .values("rows")
    )
    webhooks = (
        WebhookEndpoint.objects.filter(project_id=OuterRef("project_id"), active=True)
        .order_by()
        .values("project_id")
        .annotate(rows=JSONRows(JSONArray("pk", AsJSON("event_types"))))
        .values("rows")
    )
    return {
        "fact_rating_id": Subquery(
            Rating.objects.filter(project_id=OuterRef("project_id"), key=rating).values("pk")[:1]
        ),
        "fact_previous_id": Subquery(mine.filter(is_current=True).values("pk")[:1]),
        "fact_last_revision": Subquery(mine.order_by("-revision").values("revision")[:1]),
        "fact_lease_id": Subquery(lease.values("pk")[:1]),
        "fact_lease_calibration": Subquery(lease.values("calibration")[:1]),
        "fact_post_reveal": access.verdict_is_post_reveal_expression(reviewer=reviewer),
        "fact_counted_others": Subquery(counted_others[:1]),
        "fact_consensus_last": Subquery(
            Consensus.objects.filter(claim_id=OuterRef("pk"))
            .order_by("-sequence")
            .values("sequence")[:1]
        ),
        "fact_webhooks": Subquery(webhooks[:1]),
        "fact_gold": Exists(GoldClaim.objects.filter(claim_id=OuterRef("pk"))),
        "fact_other_leases": Exists(
            Assignment.objects.filter(
                claim_id=OuterRef("pk"), state=AssignmentState.LEASED
            ).exclude(reviewer_id=reviewer.pk)
        ),
    }


def _lock_claim_as_member_with_facts(
    claim_id: int, *, reviewer: User, rating: str, now: dt.datetime
) -> tuple[Claim, dict[str, Any]]:
    """The claim known by id, locked, and its ``_submit_facts`` as they are once the lock is
    held. The statement that takes the claim's lock (its row only, as ``_lock_claim``) and
    reads it with its project is the reviewer's lookup through their membership
    (``access.claim_get_for_user``: Http404 for a non-member, before anything else is
    read), so the claim's fields are the locked row's and the lookup, the lock and the
    membership check are one statement. On PostgreSQL the facts follow in a second
    statement: one statement's subqueries would read the snapshot taken before it waited
    for the lock, missing what the holder wrote. On SQLite the transaction has held the
    database's write lock since its BEGIN (``transaction_mode`` IMMEDIATE), so the same
    statement reads them."""
    rating = rating if isinstance(rating, str) else ""
    if connection.vendor == "sqlite":
        claim, _ = access.claim_get_for_user(
            user=reviewer,
            pk=claim_id,
            read=_CLAIM_AS_MEMBER_WITH_SUBMIT_FACTS,
            rating=rating,
            now=now,
        )
        return claim, {name: getattr(claim, name) for name in _FACT_NAMES}
    claim, _ = access.claim_get_for_user(user=reviewer, pk=claim_id, read=_CLAIM_LOCKED_AS_MEMBER)
    found = _SUBMIT_FACTS.one(claim_id=claim.pk, reviewer_id=reviewer.pk, rating=rating, now=now)
    assert found is not None, "the claim is locked"
    return claim, found


# ``_submit_facts`` of one claim, compiled once (building and compiling its subqueries took
# more CPU than the database spent answering them: bench/bench_queue.py --profile): alone
# (PostgreSQL), and with the claim, its project and the membership (SQLite, below).
_FACT_ARGUMENTS = {"claim_id": int, "reviewer_id": int, "rating": str, "now": dt.datetime}
_FACT_NAMES = tuple(_submit_facts(reviewer=User(pk=0), rating="", now=timezone.now()))
_SUBMIT_FACTS = CompiledValues(
    Claim,
    lambda claim_id, reviewer_id, rating, now: Claim.objects.filter(pk=claim_id).values(
        **_submit_facts(reviewer=User(pk=reviewer_id), rating=rating, now=now)
    ),
    **_FACT_ARGUMENTS,
)
# The claim by id with the reviewer's membership (``access.claim_read``): locked, with its
# project (PostgreSQL); with its project and the facts (SQLite, whose write transaction
# holds the database's lock from its BEGIN, so nothing is locked by the statement).
_CLAIM_LOCKED_AS_MEMBER = access.claim_read(lock=True)
_CLAIM_AS_MEMBER_WITH_SUBMIT_FACTS = access.claim_read(
    facts=lambda user_id, rating, now: _submit_facts(
        reviewer=User(pk=user_id), rating=rating, now=now
    ),
    rating=str,
    now=dt.datetime,
)


# The reviewer's current verdict as ``_verdict_write`` reads it (by the facts' id): with its
# rating, and its citations with their sources and evidence as an answer shows them.
_PREVIOUS: QuerySet[Verdict] = Verdict.objects.select_related("rating").prefetch_related(
    Prefetch("citations", queryset=citations_with_evidence())
)


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

    A first verdict on the claim's current version needs the reviewer's unexpired lease
    and is blind; a revision is allowed until consensus is recorded, and is a new row (the
    old one is kept, no longer current). A verdict written after the reviewer could see
    others (``access.verdict_is_post_reveal``) is marked ``post_reveal``: kept and shown,
    never counted by the project's rule, and on a disputed claim it tells the editors
    (a ``claim.needs_adjudication`` event) instead of resolving it.
    Locks the claim row, then decides consensus when the required verdicts are in.
    The citations must meet the project's evidence policy (``Project.evidence_policy``),
    a revision too. Raises Http404 when ``reviewer`` is not a member of the claim's
    project, ValidationError for bad input (a broken policy rule on ``citations``, nothing
    written) and QueueConflict for the wrong state.

    The claim is read again, locked, with the reviewer's membership
    (``verdict_submit_as_member``, the one path of a verdict): the object passed in only
    names it. Issue 20: the checks are one read under the claim's lock, the lease is
    closed by a conditional update (a lease released or expired meanwhile is a conflict),
    the cited URLs' sources are found and made at once, the consensus rule runs only when
    the required verdicts can be in, all the events of the write (the verdict's and those
    of the consensus it decides) are appended to the audit chain together, in one
    statement on PostgreSQL, and the answer is built from what was written.

    The same verdict over again (a double click, a request sent twice): when the
    reviewer's current verdict on the claim's current version has exactly the content
    asked for (rating, confidence, rationale and the same citations in the same order:
    source, quote, stance; ``_same_verdict``), nothing is written, no event is recorded,
    and that verdict is returned, whatever the claim's status or the reviewer's lease (a
    first verdict closed it, and may have decided the claim): a repost neither revises,
    nor turns a blind verdict into a post-reveal one, nor conflicts. Only the project's
    evidence policy still applies: a verdict recorded before it asked for more is refused
    when sent again, as a revision would be (ValidationError). It is told from a
    revision with the facts' reads (the previous verdict and its citations, which a
    revision reads too): a first verdict or a deciding one reads nothing more.
    """
    return verdict_submit_as_member(
        reviewer=reviewer,
        claim_id=claim.pk,
        rating=rating,
        confidence=confidence,
        rationale=rationale,
        citations=citations,
        now=now,
    ).verdict


@transaction.atomic
def verdict_submit_as_member(
    *,
    reviewer: User,
    claim_id: int,
    rating: str,
    confidence: str,
    rationale: str = "",
    citations: Sequence[CitationInput] = (),
    now: dt.datetime | None = None,
) -> VerdictSubmitted:
    """``verdict_submit`` of a claim known by id (the API; the web UI and the services pass
    the claim to ``verdict_submit``, which comes here), with whether the verdict was
    written (the API answers 201) or is the reviewer's current one, unchanged by the same
    verdict over again (200). The claim is looked up with the
    reviewer's membership (Http404 for a non-member, before any other check, nothing
    written) by the statement that takes its lock, inside this transaction
    (``_lock_claim_as_member_with_facts``): the claim, its lock and the membership are
    one read, not a lookup before the transaction and a lock in it."""
    now = now or timezone.now()
    # Checked before the read (text no database can hold must reach no query; the rating
    # is one of its parameters on SQLite), refused after it (a non-member's answer is 404).
    unstorable = _storable_text_errors(rating=rating, confidence=confidence, rationale=rationale)
    claim, facts = _lock_claim_as_member_with_facts(
        claim_id, reviewer=reviewer, rating="" if "rating" in unstorable else rating, now=now
    )
    if unstorable:
        raise ValidationError(unstorable)
    return _verdict_write(
        claim=claim,
        facts=facts,
        reviewer=reviewer,
        rating=rating,
        confidence=confidence,
        rationale=rationale,
        citations=citations,
        now=now,
    )


def _verdict_write(
    *,
    claim: Claim,
    facts: dict[str, Any],
    reviewer: User,
    rating: str,
    confidence: str,
    rationale: str,
    citations: Sequence[CitationInput],
    now: dt.datetime,
) -> VerdictSubmitted:
    """The checks and the write of ``verdict_submit``, on the claim as locked, with its
    ``_submit_facts`` (``_lock_claim_as_member_with_facts``), inside the caller's
    transaction."""
    errors: dict[str, str] = {}
    if confidence not in Confidence.values:
        errors["confidence"] = f"Unknown confidence {confidence!r}; use low, medium or high."
    for name, messages in limits.length_errors(rationale=(rationale, limits.MAX_RATIONALE)).items():
        errors[name] = messages[0]
    if facts["fact_rating_id"] is None:
        try:
            _rating_get(project_id=claim.project_id, key=rating)  # raises, naming the scale
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    # The rating as read (its id and key); any other field is read if something asks.
    rating_obj = Rating.from_db(
        connection.alias,
        ["id", "project_id", "key"],
        [facts["fact_rating_id"], claim.project_id, rating],
    )
    # The reviewer's current verdict, with its citations as an answer shows them (their
    # sources and evidence joined: the same statement as without them): what a revision
    # records as before, and what the same verdict over again answers with.
    previous = (
        None if facts["fact_previous_id"] is None else _PREVIOUS.get(pk=facts["fact_previous_id"])
    )
    if (
        previous is not None
        and _same_verdict(
            previous,
            claim_version=claim.claim_version,
            reviewer_id=reviewer.pk,
            rating_id=facts["fact_rating_id"],
            confidence=confidence,
            rationale=rationale,
            citations=citations,
        )
        # A verdict recorded before the project's evidence policy asked for more is kept,
        # but sent again it is refused as any verdict sent now (no read: the policy is
        # the project's, read with the claim).
        and not _policy_errors(citations, project=claim.project)
    ):
        # Nothing to write: the verdict asked for is recorded already. Nothing else to
        # check either (the claim's status, a lease: the first of two posts closed it and
        # may have decided the claim). Its answer needs no further read.
        Verdict.reviewer.field.set_cached_value(previous, reviewer)
        return VerdictSubmitted(previous, written=False)
    lease_id = None
    # Gold calibration (issue 18): a first verdict under a calibration lease, or a revision
    # of a calibration verdict, is a calibration verdict: it goes wherever an ordinary
    # verdict on a claim in review goes, and touches nothing of the gold claim's review.
    calibration_lease = previous is None and bool(facts["fact_lease_calibration"])
    is_calibration = calibration_lease or (previous is not None and previous.calibration)
    if is_calibration:
        lease_id = facts["fact_lease_id"] if calibration_lease else None
        if calibration_lease and not (facts["fact_gold"] and claim.status == ClaimStatus.RESOLVED):
            # Unmarking a gold claim ends its calibration leases (``gold_unmark``); one that
            # is not a gold claim in review any more still never gives a verdict.
            raise QueueConflict(calibration.NOT_GOLD_ANY_MORE)
        if previous is not None and not calibration.gold_is_served(claim=claim):
            # No longer a gold claim in review to its reviewers: closed like a decided one.
            raise QueueConflict("Consensus has been recorded; verdicts can no longer be revised.")
    elif previous is None:
        # A gold claim is in review to its reviewers (nothing tells them it is gold): one
        # without a calibration lease gets an in-review claim's answer, not its status.
        if claim.status != ClaimStatus.IN_REVIEW and not facts["fact_gold"]:
            raise QueueConflict(
                f"This claim is {claim.get_status_display().lower()}, not in review."
            )
        lease_id = facts["fact_lease_id"]
        if lease_id is None or claim.status != ClaimStatus.IN_REVIEW:
            raise QueueConflict(NO_LEASE)
    elif claim.status == ClaimStatus.WITHDRAWN:
        # Withdrawn, decided before or not: it takes no verdict, whatever it recorded.
        raise QueueConflict(f"This claim is {claim.get_status_display().lower()}, not in review.")
    elif claim.status not in (ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED):
        raise QueueConflict("Consensus has been recorded; verdicts can no longer be revised.")
    sources, source_events = _citations_validate(list(citations), reviewer, project=claim.project)
    # Revision numbers run on across claim versions: a reviewer who judged an earlier
    # version judges the new one in a new row (their earlier verdicts are history).
    last_revision = previous.revision if previous is not None else facts["fact_last_revision"] or 0
    post_reveal = not is_calibration and bool(facts["fact_post_reveal"])
    verdict = Verdict(
        claim=claim,
        reviewer=reviewer,
        rating=rating_obj,
        confidence=confidence,
        rationale=rationale or "",
        revision=last_revision + 1,
        # The text the reviewer judged: the revision the claim's span refers to.
        document_revision=claim.anchor_revision,
        claim_version=claim.claim_version,
        post_reveal=post_reveal,
        calibration=is_calibration,
    )
    written = [
        Citation(verdict=verdict, source=source, quote=c.quote or "", stance=c.stance)
        for source, c in sources
    ]
    submitted = event_build(
        actor=reviewer,
        verb="verdict.submit" if previous is None else "verdict.revise",
        object_type="verdict",
        object_id=None,  # the verdict's, once written
        project_id=claim.project_id,
        before=None if previous is None else _verdict_state(previous),
        after=_verdict_state(verdict, written),
    )
    # This verdict is the reviewer's one counted verdict now: the rule has nothing to
    # decide until the project's required number can be in. Only a blind verdict changes
    # what the project's rule decides from, and only while the claim is in review: a
    # disputed claim (the rule found no consensus, or an editor reopened it) is the
    # editors' to decide. A blind verdict reaches a disputed claim only as the revision of
    # a reviewer nobody else judged beside (one required review, reopened): before, the
    # rule then resolved it again by itself.
    decides = (
        not post_reveal
        and not is_calibration
        and claim.status == ClaimStatus.IN_REVIEW
        and len(facts["fact_counted_others"] or ()) + 1 >= claim.project.required_reviews
    )
    # Every event of the write, appended to the audit chain together at its end, or with
    # the verdict when nothing follows it.
    pending = PendingEvents(events=[*source_events, submitted])
    # Evidence: archive newly cited sources, check the quotes: the task is queued with the
    # verdict (in the same statement, where it is written by one).
    evidence = verdict_evidence_row(alias=connection.alias) if written else None
    task_inserted: bool | None = False
    if lease_id is not None:
        # A first verdict: the lease closed, the verdict and its citations written, its
        # evidence task queued, and when it decides nothing, its events appended, at once
        # (``_first_verdict_write``).
        task_inserted = _first_verdict_write(
            verdict,
            written,
            lease_id=lease_id,
            now=now,
            events=() if decides else pending.take(),
            task=evidence,
        )
        if task_inserted is None:
            raise QueueConflict(NO_LEASE)
    else:
        assert previous is not None, "a first verdict needs a lease"
        previous.is_current = False
        previous.save(update_fields=["is_current"])
        verdict.save()
        Citation.objects.bulk_create(written)
    submitted.object_id = verdict.pk
    if written:
        verdict_evidence_enqueue(verdict=verdict, row=evidence, inserted=bool(task_inserted))
    if claim.status == ClaimStatus.DISPUTED and not is_calibration:
        # Independence: the changed verdict does not resolve the dispute; the editors are
        # told (the disputes page flags the claim "revised after reveal").
        pending.add(
            event_build(
                actor=reviewer,
                verb="claim.needs_adjudication",
                object_type="claim",
                object_id=claim.pk,
                project_id=claim.project_id,
                after={
                    "verdict": verdict.pk,
                    "rating": rating_obj.key,
                    "reason": (
                        "revised after seeing other verdicts"
                        if post_reveal
                        else "revised while the claim is disputed"
                    ),
                },
            )
        )
    if decides:
        # Its events (consensus, the claim's status) follow the verdict's.
        # Resolved or disputed, the claim takes no first verdict any more: the leases
        # others still hold on it end there (none to look for when the facts saw none).
        _consensus_decide(
            claim=claim,
            actor=reviewer,
            pending=pending,
            leases_open=bool(facts["fact_other_leases"]),
            now=now,
            known=DecisionFacts(
                counted=_counted_with(verdict, facts["fact_counted_others"] or ()),
                last_sequence=facts["fact_consensus_last"] or 0,
                webhooks=facts["fact_webhooks"] or (),
            ),
        )
    # One append for what is pending (all of the write's events, unless a first verdict's
    # statement appended them), after every other row lock the write took (the claim's,
    # the lease's, the superseded consensus'); the status notices follow it.
    pending.record()
    # What the answer shows, while still in the transaction: once it commits, turning the
    # verdict into a response needs no database, so an outage between the commit and the
    # response cannot report a saved verdict as failed. Built from what was written (its
    # sources were read with their evidence or are new; a new citation has no quote check
    # yet), else read.
    if all(_evidence_loaded(source) for source, _ in sources):
        for citation in written:
            Citation.quote_check.related.set_cached_value(citation, None)
        cached = verdict.citations.get_queryset()
        cached._result_cache = list(written)
        cached._prefetch_done = True  # type: ignore[attr-defined]
        verdict._prefetched_objects_cache = {"citations": cached}  # type: ignore[attr-defined]
    else:
        prefetch_related_objects(
            [verdict], Prefetch("citations", queryset=citations_with_evidence())
        )
    return VerdictSubmitted(verdict, written=True)


def _same_verdict(
    previous: Verdict,
    *,
    claim_version: int,
    reviewer_id: int,
    rating_id: int | None,
    confidence: str,
    rationale: str,
    citations: Sequence[CitationInput],
) -> bool:
    """Whether the verdict asked for is ``previous`` (the reviewer's current verdict, its
    citations read with their sources) over again: on the claim's current version, with
    the same rating (``rating_id`` as the facts found the key asked for), confidence and
    rationale, and the same citations in the same order (``_same_citation``). Reads
    nothing."""
    if (previous.claim_version, previous.rating_id, previous.confidence, previous.rationale) != (
        claim_version,
        rating_id,
        confidence,
        rationale or "",
    ):
        return False
    cited = list(previous.citations.all())
    return len(cited) == len(citations) and all(
        _same_citation(old, new, reviewer_id=reviewer_id)
        for old, new in zip(cited, citations, strict=True)
    )


def _same_citation(cited: Citation, citation: CitationInput, *, reviewer_id: int) -> bool:
    """Whether ``citation`` (as asked for) would be written as ``cited`` (its source read):
    the same stance and quote, and the same source, named by its id or by a URL, which
    names the reviewer's own source for it (``sources_for_urls``: by normalized URL). One
    that would be refused (both, or neither, a URL that does not parse) is not the same."""
    if (cited.stance, cited.quote) != (citation.stance, citation.quote or ""):
        return False
    if citation.url:
        if citation.source_id is not None:
            return False
        try:
            normalized = normalize_url(citation.url)
        except UrlError:
            return False
        return (cited.source.created_by_id, cited.source.normalized_url) == (
            reviewer_id,
            normalized,
        )
    return citation.source_id is not None and citation.source_id == cited.source_id


def _counted_with(verdict: Verdict, others: Sequence[Sequence[Any]]) -> list[Verdict]:
    """What the project's rule decides from once the blind ``verdict`` (just written, with
    its rating) is in: the counted verdicts of others as the facts read them under the
    claim's lock (``[id, reviewer id, rating id, rating key]`` each; nothing else of them
    is loaded until asked for), with ``verdict``, in ``_counted_verdicts``' order (reviewer,
    id). The reviewer's own earlier verdicts are not among them: this one replaces them."""
    alias = verdict._state.db or connection.alias
    counted = [verdict]
    for pk, reviewer_id, rating_id, key in others:
        other = Verdict.from_db(
            alias,
            ["id", "claim_id", "reviewer_id", "rating_id"],
            [pk, verdict.claim_id, reviewer_id, rating_id],
        )
        Verdict.rating.field.set_cached_value(
            other,
            Rating.from_db(
                alias, ["id", "project_id", "key"], [rating_id, verdict.rating.project_id, key]
            ),
        )
        counted.append(other)
    return sorted(
        counted, key=lambda counted_verdict: (counted_verdict.reviewer_id, counted_verdict.pk)
    )


def _first_verdict_write(
    verdict: Verdict,
    citations: list[Citation],
    *,
    lease_id: int,
    now: dt.datetime,
    events: Sequence[Event],
    task: TaskRow | None = None,
) -> bool | None:
    """Close the reviewer's lease ``lease_id`` if it is still held, and only then insert the
    unsaved ``verdict`` and its unsaved ``citations`` and append ``events`` (the verdict's
    own, without its id, and those that go with it): None, with nothing written, when the
    lease is no longer held (``lease_release`` takes the lease's row lock, not the claim's,
    so one released or expired since the facts were read is a conflict here); else
    whether the evidence ``task``'s row (``verdict_evidence_row``) was inserted too.

    On PostgreSQL one statement (``_row_insert``): the lease's conditional ``UPDATE``, the
    verdict's ``INSERT … WHERE EXISTS`` (the updated lease), its citations' insert naming
    the new id, the task's row with the new id as its argument, and the events sealed and
    appended after the chain's head (locked last). Elsewhere the ORM's statements, one
    after another (the task is the caller's to write). (What the caller wrote before, such
    as the new sources, goes when its transaction rolls back on the conflict.)"""
    # The verdict's own event is the one without an object id: it names the new row.
    naming = [event for event in events if event.object_id is None]
    assert not naming or naming == [events[-1]], "only the verdict's event names it"
    connection = connections[router.db_for_write(Verdict)]
    held = held_leases(now=now, pk=lease_id)
    closing = {"state": AssignmentState.SUBMITTED, "closed_at": now}
    if connection.vendor != "postgresql":
        if not held.update(**closing):
            return None
        verdict.save()
        Citation.objects.bulk_create(citations)
        for event in events:
            if event.object_id is None:
                event.object_id = verdict.pk
        events_record(events)
        return False
    qn = connection.ops.quote_name
    lease_sql, lease_params = _update_returning(connection, held, closing)
    verdict_sql, verdict_params = _insert_select(
        connection, verdict, where="EXISTS (SELECT 1 FROM lease)"
    )
    after: tuple[tuple[str, str, list[Any]], ...] = ()
    answer: tuple[str, ...] = ()
    if citations:
        selects, params = [], []
        for citation in citations:
            columns, values, value_params = _insert_values(
                connection,
                citation,
                given={str(Citation.verdict.field.column): "ins.id"},
                cast=True,
            )
            selects.append(f"SELECT {', '.join(values)} FROM ins")  # noqa: S608
            params.extend(value_params)
        named = ", ".join(qn(column) for column in _CITATION_KEY.values())
        after = (
            (
                "cit",
                f"INSERT INTO {qn(Citation._meta.db_table)} ({', '.join(columns)}) "
                f"{' UNION ALL '.join(selects)} RETURNING {qn(str(Citation._meta.pk.column))}, {named}",
                params,
            ),
        )
        answer = (
            f"(SELECT json_agg(json_build_array({qn(str(Citation._meta.pk.column))}, {named})) "  # noqa: S608
            "FROM cit)",
        )
    if task is not None:
        after = (*after, ("task", *_task_insert(connection, task)))
    row = _row_insert(
        connection,
        RowInsert(
            verdict_sql,
            verdict_params,
            before=(("lease", lease_sql, lease_params),),
            after=after,
            answer=answer,
        ),
        events,
    )
    if row is None:
        return None
    _saved(verdict, row[0], connection)
    if citations:
        # Each inserted row's id to the citation it was made of (rows of the same source,
        # stance and quote are alike, so any of them will do).
        ids: dict[tuple[Any, ...], list[int]] = {}
        for pk, *key in row[1]:
            ids.setdefault(tuple(key), []).append(pk)
        for citation in citations:
            citation.verdict = verdict
            key = tuple(getattr(citation, attname) for attname in _CITATION_KEY)
            _saved(citation, ids[key].pop(), connection)
    if task is not None:
        task.given(verdict.pk)
        _saved(task.row, task.row.pk, connection)
    return task is not None


def _task_insert(connection: Any, task: TaskRow) -> tuple[str, list[Any]]:
    """The insert of the evidence ``task``'s row, for a WITH query after the verdict's
    ``ins``: its argument (the stand-in 0) is the new verdict's id."""
    qn = connection.ops.quote_name
    columns, values, params = _insert_values(connection, task.row, cast=True)
    arguments = qn(str(DBTaskResult._meta.get_field("args_kwargs").column))
    index = columns.index(arguments)
    values[index] = f"jsonb_set({values[index]}, '{{args,0}}', to_jsonb(ins.id))"
    return (
        f"INSERT INTO {qn(type(task.row)._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM ins",
        params,
    )


# What tells the citations of one verdict apart, as ``_first_verdict_write`` reads them back.
# (attribute: column, in the order read back.)
_CITATION_KEY = {
    field.attname: str(field.column)
    for field in Citation._meta.concrete_fields
    if field.attname in ("source_id", "stance", "quote")
}


def _evidence_loaded(source: Source) -> bool:
    """Whether ``source``'s evidence is loaded (``sources_for_urls``), so that showing it
    needs no query."""
    return bool(Source.evidence.related.is_cached(source))
