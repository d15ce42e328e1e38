"""Check-worthiness suggestions (issue 17, deliverable 4): which sentences of a document are
worth checking, from the built-in model or a project's HTTP provider; the desk accepts one
(a claim on the exact span, through ``claim_create``) or dismisses it with a reason.

* ``document_rank`` scores every sentence of the current text (``core.triage``): the
  project's HTTP provider when it has one (``Project.triage_url``, called through
  ``core.fetching.post``: SSRF rules, one deadline, no redirect), else the built-in model
  (``TRIAGE_MODEL_PATH``, else the shipped ``fixtures/triage/model.npz``). Whatever a
  provider answers is checked (``core.triage.provider_answer_parse`` /
  ``suggestion_problem``: each span must quote the document's text exactly); a provider
  that fails or answers off-contract is logged and the built-in model scores instead
  (``fallback_reason``), never an error for the user.
* ``suggestions_tasks`` is ``suggestions_compute`` for new text, which
  ``documents.text_tasks_enqueue`` queues in the transaction that creates, imports or
  revises a document (it commits with it); the worker stores
  the scores as a ``TriageRun`` of the revision with its ``Suggestion`` rows.
  ``suggestions_list`` reads them, and ranks in the request when nothing is stored yet.
* ``suggestion_accept`` / ``suggestion_dismiss`` record a ``SuggestionDecision`` (audited),
  which ``train_triage`` uses as training data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.tasks import Task, task

from annotations import access, selectors
from annotations.core import fetching, safejson, triage
from annotations.models import (
    Claim,
    Document,
    Role,
    Suggestion,
    SuggestionDecision,
    SuggestionVerdict,
    TriageRun,
)
from annotations.services import limits
from annotations.services._base import (
    QueueConflict,
    User,
    _require_storable_text,
    event_record,
    now,
)
from annotations.services.claims import _document_lock, claim_create

logger = logging.getLogger(__name__)

AGENT_BUILTIN = "builtin"
AGENT_HTTP = "http"

OPEN = "open"
CLAIMED = "claimed"
STATUSES = (OPEN, CLAIMED, SuggestionVerdict.ACCEPTED.value, SuggestionVerdict.DISMISSED.value)

NOT_SUGGESTED = "No suggested sentence has this span in the document's current text."
ALREADY_DECIDED = "This suggestion was already {decision}."


@dataclass(frozen=True)
class Ranking:
    """Every scored sentence of one revision of a document, best first, and who scored
    them. ``stored``: read from a ``TriageRun`` (else ranked in the request)."""

    revision: int
    agent: str
    model_version: str
    fallback_reason: str
    items: list[triage.Scored]
    stored: bool


@dataclass(frozen=True)
class SuggestionRow:
    """A suggestion as the API and the reader show it: ``status`` is ``open``, ``claimed``
    (a claim not withdrawn overlaps the sentence), ``accepted`` or ``dismissed``."""

    start: int
    end: int
    text: str
    score: float
    agent: str
    status: str
    reason: str = ""


# --- the built-in model ------------------------------------------------------------------------

_models: dict[tuple[str, int, int], tuple[triage.TriageModel, str]] = {}
_models_lock = threading.Lock()


def model_path() -> Path:
    """Where the built-in model is read from: ``TRIAGE_MODEL_PATH`` (what ``train_triage``
    writes) when that file exists, else the model shipped in ``fixtures/triage/``."""
    path = Path(settings.TRIAGE_MODEL_PATH)
    return path if path.is_file() else Path(settings.TRIAGE_SHIPPED_MODEL_PATH)


def builtin_model() -> tuple[triage.TriageModel, str]:
    """The built-in model and its version (``triage-`` + the first 12 hex digits of the
    file's SHA-256), loaded once per process and again when the file changes."""
    path = model_path()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _models_lock:
        cached = _models.get(key)
        if cached is None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            cached = (triage.TriageModel.load(path), f"triage-{digest}")
            _models.clear()
            _models[key] = cached
    return cached


def _rank_builtin(
    text: str, sentences: Sequence[triage.Sentence]
) -> tuple[list[triage.Scored], str]:
    model, version = builtin_model()
    scores = model.score([sentence.text for sentence in sentences])
    items = []
    for sentence, score in zip(sentences, scores.tolist(), strict=True):
        problem = triage.suggestion_problem(text, sentence.start, sentence.end, sentence.text)
        if problem is not None:  # never expected: split_sentences is exact
            logger.error("triage: built-in suggestion refused: %s", problem)
            continue
        items.append(triage.Scored(sentence.start, sentence.end, sentence.text, float(score)))
    return items, version


# --- the HTTP provider -----------------------------------------------------------------------


def fetch_policy() -> fetching.FetchPolicy:
    """The fetcher's address rules (``WORKBENCH_FETCH_ALLOWED_HOSTS`` as for imports and
    webhooks), ``TRIAGE_HTTP_TIMEOUT`` for the whole call, answers up to
    ``WORKBENCH_FETCH_MAX_BYTES``."""
    return fetching.FetchPolicy(
        allowed_hosts=frozenset(host.lower() for host in settings.WORKBENCH_FETCH_ALLOWED_HOSTS),
        timeout=float(settings.TRIAGE_HTTP_TIMEOUT),
        max_bytes=int(settings.WORKBENCH_FETCH_MAX_BYTES),
        max_redirects=0,
        user_agent="Workbench/1 (+triage)",
    )


def triage_url_checked(url: object) -> str:
    """A project's HTTP provider URL as it may be stored: empty (the built-in model) or an
    http(s) URL the fetcher would contact (``fetching.check_target``); ValidationError on
    ``triage_url`` otherwise."""
    if url is None or url == "":
        return ""
    if not isinstance(url, str):
        raise ValidationError({"triage_url": "Enter a URL as text."})
    _require_storable_text(triage_url=url)
    try:
        return fetching.check_target(url.strip(), policy=fetch_policy())
    except fetching.FetchError as exc:
        raise ValidationError({"triage_url": exc.message}) from None


def _rank_http(
    url: str, document: Document, text: str, sentences: Sequence[triage.Sentence]
) -> list[triage.Scored]:
    body = json.dumps(
        triage.provider_request(
            document_id=document.pk,
            revision=document.revision,
            language=document.language,
            text=text,
            sentences=sentences,
        ),
        ensure_ascii=False,
    ).encode("utf-8")
    posted = fetching.post(
        url, body, headers={"Accept": "application/json"}, policy=fetch_policy(), read_body=True
    )
    if not 200 <= posted.status < 300:
        raise triage.ProviderAnswerError(f"the endpoint answered HTTP {posted.status}")
    try:
        answer = safejson.loads(posted.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise triage.ProviderAnswerError("the answer is not JSON") from None
    return triage.provider_answer_parse(answer, text=text, sentences=sentences)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "")[:200]


def document_rank(*, document: Document, text: str) -> Ranking:
    """Score every sentence of ``text`` (the document's current text) with the project's
    provider, best first. Runs no query and holds no transaction (an HTTP provider may take
    up to ``TRIAGE_HTTP_TIMEOUT``). A provider that fails is logged and replaced by the
    built-in model; the reason is in ``fallback_reason``."""
    sentences = triage.split_sentences(text)
    url = document.project.triage_url
    reason = ""
    if url:
        try:
            items = _rank_http(url, document, text, sentences)
        except fetching.FetchError as exc:
            reason = f"{exc.code}: {exc.message}"
        except triage.ProviderAnswerError as exc:
            reason = f"answer: {exc}"
        else:
            return Ranking(
                revision=document.revision,
                agent=AGENT_HTTP,
                model_version=_host(url),
                fallback_reason="",
                items=triage.ranked(items),
                stored=False,
            )
        reason = reason[:300]
        logger.warning(
            "triage: the HTTP provider of project %s failed for document %s (%s); "
            "the built-in model scored instead",
            document.project_id,
            document.pk,
            reason,
        )
    items, version = _rank_builtin(text, sentences)
    return Ranking(
        revision=document.revision,
        agent=AGENT_BUILTIN,
        model_version=version,
        fallback_reason=reason,
        items=triage.ranked(items),
        stored=False,
    )


# --- stored runs -------------------------------------------------------------------------------


def _stored(document: Document) -> Ranking | None:
    run = TriageRun.objects.filter(document=document, revision=document.revision).first()
    if run is None:
        return None
    rows = Suggestion.objects.filter(run=run).order_by("-score", "start", "end")
    return Ranking(
        revision=run.revision,
        agent=run.agent,
        model_version=run.model_version,
        fallback_reason=run.fallback_reason,
        items=[
            triage.Scored(start, end, text, score)
            for start, end, text, score in rows.values_list("start", "end", "text", "score")
        ],
        stored=True,
    )


def _text(document: Document) -> str:
    return selectors.document_text_window(document=document, start=0, end=document.length)


def ranking_get(*, document: Document) -> Ranking:
    """The stored ranking of the document's current revision, or one made now (the
    background task has not run yet); nothing is written."""
    stored = _stored(document)
    if stored is not None:
        return stored
    return document_rank(document=document, text=_text(document))


def suggestions_store(*, document_id: int) -> TriageRun | None:
    """Rank the document's current text and store it as the revision's ``TriageRun``
    (replacing an earlier run of the same revision), with one ``suggestions.compute`` event.
    The ranking runs outside any transaction; if the text was revised meanwhile, nothing is
    stored (the revision's own task ranks it). None when the document is gone or moved on."""
    document = Document.objects.select_related("project").filter(pk=document_id).first()
    if document is None:
        return None
    ranking = document_rank(document=document, text=document.text)
    with transaction.atomic():
        _document_lock(document)
        current = Document.objects.filter(pk=document_id).values_list("revision", flat=True).first()
        if current != ranking.revision:
            return None
        TriageRun.objects.filter(document_id=document_id, revision=ranking.revision).delete()
        run = TriageRun.objects.create(
            document_id=document_id,
            revision=ranking.revision,
            agent=ranking.agent,
            model_version=ranking.model_version,
            fallback_reason=ranking.fallback_reason,
            created_at=now(),
        )
        Suggestion.objects.bulk_create(
            [
                Suggestion(
                    run=run, start=item.start, end=item.end, text=item.text, score=item.score
                )
                for item in ranking.items
            ],
            batch_size=1000,
        )
        event_record(
            actor=None,
            verb="suggestions.compute",
            obj=run,
            project_id=document.project_id,
            after={
                "document": document_id,
                "revision": ranking.revision,
                "agent": ranking.agent,
                "model_version": ranking.model_version,
                "sentences": len(ranking.items),
                "fallback_reason": ranking.fallback_reason,
            },
        )
    return run


@task()
def suggestions_compute(document_ids: list[int]) -> int:
    """The worker's task: store the suggestions of each document; returns how many runs
    were stored."""
    return sum(1 for pk in document_ids if suggestions_store(document_id=pk) is not None)


def suggestions_tasks(document_ids: Sequence[int]) -> list[tuple[Task[Any, Any], list[Any]]]:
    """``suggestions_compute`` for these documents, as ``(task, args)`` for
    ``tasks_enqueue_with_transaction`` (none for none)."""
    ids = [int(pk) for pk in document_ids]
    return [(suggestions_compute, [ids])] if ids else []


# --- listing -----------------------------------------------------------------------------------


def suggestions_list(*, document: Document, everything: bool = False) -> list[SuggestionRow]:
    """The document's suggestions, best first: by default the best ``TRIAGE_TOP_N`` open
    sentences (not overlapped by a claim that is not withdrawn, not decided); with
    ``everything`` every sentence scored, each with its status."""
    ranking = ranking_get(document=document)
    decided = selectors.suggestion_decisions_by_span(document=document)
    claimed = selectors.claimed_spans(document=document)
    rows: list[SuggestionRow] = []
    for item in ranking.items:
        decision = decided.get((item.start, item.end))
        if decision is not None:
            status, reason = decision
        elif any(start < item.end and item.start < end for start, end in claimed):
            status, reason = CLAIMED, ""
        else:
            status, reason = OPEN, ""
        if not everything and status != OPEN:
            continue
        rows.append(
            SuggestionRow(
                start=item.start,
                end=item.end,
                text=item.text,
                score=item.score,
                agent=ranking.agent,
                status=status,
                reason=reason,
            )
        )
        if not everything and len(rows) >= settings.TRIAGE_TOP_N:
            break
    return rows


# --- decisions ---------------------------------------------------------------------------------


def _span_checked(start: object, end: object) -> tuple[int, int]:
    errors = {
        name: "A whole number is required."
        for name, value in (("start", start), ("end", end))
        if not isinstance(value, int) or isinstance(value, bool)
    }
    if errors:
        raise ValidationError(errors)
    assert isinstance(start, int) and isinstance(end, int)
    return start, end


def _suggestion_at(document: Document, start: int, end: int) -> tuple[triage.Scored, Ranking]:
    ranking = ranking_get(document=document)
    for item in ranking.items:
        if item.start == start and item.end == end:
            return item, ranking
    raise ValidationError({"start": NOT_SUGGESTED})


def _require_undecided(document: Document, start: int, end: int) -> None:
    """Call after ``_document_lock``: decisions on a document are made one at a time."""
    decision = (
        SuggestionDecision.objects.filter(
            document=document, revision=document.revision, start=start, end=end
        )
        .values_list("decision", flat=True)
        .first()
    )
    if decision is not None:
        raise QueueConflict(ALREADY_DECIDED.format(decision=decision))


def _decision_state(decision: SuggestionDecision) -> dict[str, Any]:
    return {
        "document": decision.document_id,
        "revision": decision.revision,
        "start": decision.start,
        "end": decision.end,
        "text": decision.text,
        "score": decision.score,
        "agent": decision.agent,
        "model_version": decision.model_version,
        "decision": decision.decision,
        "reason": decision.reason,
        "claim": decision.claim_id,
    }


def _decision_record(
    *,
    document: Document,
    item: triage.Scored,
    ranking: Ranking,
    actor: User,
    decision: str,
    reason: str = "",
    claim: Claim | None = None,
) -> SuggestionDecision:
    row = SuggestionDecision.objects.create(
        project_id=document.project_id,
        document=document,
        revision=ranking.revision,
        start=item.start,
        end=item.end,
        text=item.text,
        score=item.score,
        agent=ranking.agent,
        model_version=ranking.model_version,
        decision=decision,
        reason=reason,
        claim=claim,
        actor=actor,
        created_at=now(),
    )
    event_record(
        actor=actor,
        verb=f"suggestion.{'accept' if decision == SuggestionVerdict.ACCEPTED else 'dismiss'}",
        obj=row,
        project_id=document.project_id,
        after=_decision_state(row),
    )
    return row


def suggestion_accept(
    *,
    document: Document,
    actor: User,
    start: object,
    end: object,
    statement: str = "",
    claimant: str = "",
) -> tuple[SuggestionDecision, Claim]:
    """Accept the suggested sentence ``[start, end)`` of the document's current text: a
    claim on exactly that span through ``claim_create`` (the checks of a person's
    selection: span, quote, limits, duplicates; the statement defaults to the sentence),
    and an ``accepted`` decision (``suggestion.accept`` event), in one transaction.

    Any member may (the right to create a claim): PermissionDenied otherwise.
    ValidationError on ``start``/``end`` (not whole numbers, or no suggested sentence
    there) and whatever ``claim_create`` refuses; ``QueueConflict`` when the sentence was
    decided already; ``DuplicateClaim`` when the same claim exists. Nothing is written then.
    The ranking is read (or made, before the transaction) outside the document lock."""
    access.membership_require(user=actor, project_id=document.project_id, role=Role.REVIEWER)
    start, end = _span_checked(start, end)
    item, ranking = _suggestion_at(document, start, end)
    with transaction.atomic():
        _document_lock(document)
        _require_undecided(document, start, end)
        claim = claim_create(
            document=document,
            start=start,
            end=end,
            actor=actor,
            exact=item.text,
            statement=statement,
            claimant=claimant,
        )
        row = _decision_record(
            document=document,
            item=item,
            ranking=ranking,
            actor=actor,
            decision=SuggestionVerdict.ACCEPTED,
            claim=claim,
        )
    return row, claim


def suggestion_dismiss(
    *, document: Document, actor: User, start: object, end: object, reason: object
) -> SuggestionDecision:
    """Dismiss the suggested sentence ``[start, end)`` with a ``reason`` (required, at most
    ``limits.MAX_REASON``): a ``dismissed`` decision (``suggestion.dismiss`` event).

    Editors and admins only (PermissionDenied): a dismissal hides the sentence from the
    whole desk and teaches the model that such sentences are not worth checking.
    ValidationError on ``start``/``end``/``reason``; ``QueueConflict`` when the sentence
    was decided already. Nothing is written then."""
    access.membership_require(user=actor, project_id=document.project_id, role=Role.EDITOR)
    start, end = _span_checked(start, end)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError({"reason": "Say why the sentence is not worth checking."})
    _require_storable_text(reason=reason)
    reason = reason.strip()
    limits.require_lengths(reason=(reason, limits.MAX_REASON))
    item, ranking = _suggestion_at(document, start, end)
    with transaction.atomic():
        _document_lock(document)
        _require_undecided(document, start, end)
        return _decision_record(
            document=document,
            item=item,
            ranking=ranking,
            actor=actor,
            decision=SuggestionVerdict.DISMISSED,
            reason=reason,
        )
