"""Evidence that lasts (issue 16): an archived snapshot of every cited source, each
citation's quote verified against it, and a link-rot watch.

* **Snapshots.** ``verdict_evidence_enqueue`` (called by ``verdict_submit`` inside its
  transaction) queues ``verdict_evidence_task`` once the verdict commits; the worker then
  archives each cited source that has never been fetched (``snapshot_take``) and checks
  the verdict's quotes against the sources that have been. ``snapshot_request`` queues a
  new snapshot on demand (the source's owner or an editor). ``snapshot_take`` fetches the
  page through the safe fetcher (``core.fetching``, the import's limits: size, time,
  HTML and plain text only) outside any transaction, writes the raw answer as a WARC
  record to the ``evidence`` storage, then in one transaction stores the snapshot row
  (immutable), moves the source's evidence row (``SourceEvidence``: latest attempt;
  baseline = the first archived snapshot, the page as it was cited: quotes are verified
  against it, and a later copy is compared with it like a check, never put in its
  place), and records one ``source.snapshot`` event. A failed fetch is a snapshot row with its
  outcome code and the fetcher's message, never an exception.
* **Quotes.** ``core.passages.locate_quote`` (whitespace, quotation marks and dashes read
  loosely) gives ``verified`` with code-point offsets in the snapshot's text, or
  ``not_found``; a citation whose source has no archived snapshot is ``no_snapshot``
  (no row). The results live in ``QuoteCheck``, never in the citation (verdicts and
  their citations are never rewritten; ``check_integrity`` compares them with the audit
  trail).
* **Link-rot watch.** ``source_check`` fetches a source again and compares it with its
  baseline (``core.evidence.check_flag``): ``changed``, ``gone``, ``moved`` or ``ok``. A
  change of flag records a ``source.flag`` event and sends the ``source.changed`` webhook,
  once per change (the evidence row is locked while the flag is compared and set).
  ``sources_check`` is ``manage.py check_sources``; ``sources_check_sweep`` (the worker's
  sweep) queues the checks that are due every ``SOURCE_CHECK_INTERVAL_HOURS``.

Bookkeeping without an event of its own (like the webhook outbox): the evidence row, the
quote checks (derived from a citation and a snapshot; the ``source.snapshot`` event
counts them) and each check row (the watch's log; what matters, a change of flag, is an
event). The WARC file is written before the transaction: a rolled-back snapshot leaves an
unreferenced file, never a row without its file.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.tasks import task

from annotations import access
from annotations.core import cleaning, evidence, fetching, htmlpage, passages, spans
from annotations.core import webhooks as webhook_types
from annotations.models import (
    Citation,
    Project,
    QuoteCheck,
    QuoteStatus,
    Source,
    SourceCheck,
    SourceEvidence,
    SourceSnapshot,
    Verdict,
)
from annotations.selectors.evidence import evidence_storage
from annotations.services._base import TaskRow, User, event_record, now, task_row
from annotations.services.importing import HTML_CONTENT_TYPES, as_date, fetch_policy
from annotations.services.sources import _page_metadata
from annotations.services.webhooks import webhooks_enqueue

logger = logging.getLogger(__name__)


def _check_interval() -> dt.timedelta | None:
    hours = float(settings.SOURCE_CHECK_INTERVAL_HOURS)
    return dt.timedelta(hours=hours) if hours > 0 else None


# --- fetching -------------------------------------------------------------------------------


def _fetch(url: str) -> fetching.Fetched | fetching.FetchError:
    try:
        return fetching.fetch(url, policy=fetch_policy())
    except fetching.FetchError as exc:
        return exc


def _page_text(fetched: fetching.Fetched) -> dict[str, Any]:
    """The main text and metadata of a fetched page (HTML through trafilatura, plain text
    as it is), cleaned of what no database stores."""
    body = fetched.text()
    if fetched.content_type not in HTML_CONTENT_TYPES:
        return {"text": spans.canonicalize(cleaning.drop_control_characters(body))}
    try:
        page = htmlpage.extract_html(body, url=fetched.url)
        text = page.text
    except ValueError:
        text = ""  # no main text (a landing page); the metadata may still be there
    found = _page_metadata(body, url=fetched.url)
    return {
        "text": cleaning.drop_control_characters(text),
        "title": found["title"],
        "publisher": found["publisher"],
        "published_date": as_date(found["published_date"]),
    }


# --- quotes ----------------------------------------------------------------------------------


def _quote_check(citation: Citation, snapshot: SourceSnapshot, at: dt.datetime) -> QuoteCheck:
    found = passages.locate_quote(snapshot.text, citation.quote)
    return QuoteCheck(
        citation_id=citation.pk,
        snapshot=snapshot,
        status=QuoteStatus.VERIFIED if found else QuoteStatus.NOT_FOUND,
        start=found[0] if found else None,
        end=found[1] if found else None,
        checked_at=at,
    )


def _quotes_check(citations: list[Citation], snapshot: SourceSnapshot, at: dt.datetime) -> int:
    """(Re)write the quote checks of ``citations`` against ``snapshot``; their number."""
    quoted = [citation for citation in citations if citation.quote.strip()]
    QuoteCheck.objects.filter(citation_id__in=[c.pk for c in quoted]).delete()
    QuoteCheck.objects.bulk_create(_quote_check(c, snapshot, at) for c in quoted)
    return len(quoted)


# --- snapshots -------------------------------------------------------------------------------


def _warc_name(source: Source, at: dt.datetime) -> str:
    return f"{source.project_id}/{source.pk}/{at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.warc.gz"


def _archived(source: Source, fetched: fetching.Fetched, at: dt.datetime) -> dict[str, Any]:
    """A snapshot's fields for a page fetched at ``at``, its WARC file written."""
    archive = evidence.warc_bytes(
        url=fetched.url,
        status=fetched.status,
        reason=fetched.reason,
        headers=fetched.headers,
        body=fetched.body,
        fetched_at=at,
    )
    name = evidence_storage().save(_warc_name(source, at), ContentFile(archive))
    return {
        "outcome": evidence.Outcome.OK,
        "final_url": fetched.url[:2000],
        "http_status": fetched.status,
        "content_type": fetched.content_type[:100],
        "sha256": evidence.sha256_hex(fetched.body),
        "size": len(fetched.body),
        "warc": name,
        "warc_sha256": evidence.sha256_hex(archive),
        **_page_text(fetched),
    }


def snapshot_take(
    *, source_id: int, requested_by: User | None = None, at: dt.datetime | None = None
) -> SourceSnapshot:
    """Fetch the source now and store what came back (see the module's docstring); the
    snapshot row, whatever the outcome. The fetch and the file come before the
    transaction, so no lock is held across the network."""
    source = Source.objects.get(pk=source_id)
    at = at or now()
    result = _fetch(source.url)
    fields: dict[str, Any] = {"requested_url": source.url, "fetched_at": at}
    if isinstance(result, fetching.FetchError):
        fields.update(
            outcome=evidence.outcome_of(result.code),
            reason=result.message[:300],
            http_status=result.status,
        )
    else:
        fields.update(_archived(source, result, at))
    return _snapshot_store(source=source, requested_by=requested_by, fields=fields)


def snapshot_from_response(
    *, source_id: int, fetched: fetching.Fetched, at: dt.datetime, origin: str
) -> SourceSnapshot:
    """Store an answer obtained elsewhere as the source's snapshot, exactly as a fetch
    would (WARC, hash, text, quotes), its ``origin`` named in the event (``load_demo``
    ships the pages its demo cites, so the demo works offline: origin ``fixture``)."""
    source = Source.objects.get(pk=source_id)
    fields = {"requested_url": source.url, "fetched_at": at, **_archived(source, fetched, at)}
    return _snapshot_store(source=source, requested_by=None, fields=fields, origin=origin)


@transaction.atomic
def _snapshot_store(
    *, source: Source, requested_by: User | None, fields: dict[str, Any], origin: str = "fetch"
) -> SourceSnapshot:
    source = Source.objects.select_for_update(no_key=True).get(pk=source.pk)
    snapshot = SourceSnapshot.objects.create(source=source, requested_by=requested_by, **fields)
    state, _ = SourceEvidence.objects.select_for_update(no_key=True).get_or_create(source=source)
    state.latest = snapshot
    checked = 0
    if snapshot.outcome == evidence.Outcome.OK and state.baseline_id is None:
        # The first archived copy is the baseline: the page as it was cited, what quotes
        # are verified against and what the watch compares with from now on.
        state.baseline = snapshot
        interval = _check_interval()
        state.next_check_at = snapshot.fetched_at + interval if interval else None
        checked = _quotes_check(list(source.citations.all()), snapshot, snapshot.fetched_at)
        if state.flag and state.flag != evidence.Flag.OK:
            _flag_change(state, evidence.Flag.OK, at=snapshot.fetched_at, check=None)
        elif not state.flag:
            state.flag, state.flag_since = evidence.Flag.OK, snapshot.fetched_at
    elif snapshot.outcome == evidence.Outcome.OK and state.baseline is not None:
        # A later copy ("Archive again") is kept beside the baseline, never in its place:
        # the evidence is the page as it was cited. It is compared with the baseline like
        # a check, so a page that changed since stays at risk.
        flag = evidence.check_flag(
            baseline_sha256=state.baseline.sha256,
            baseline_url=state.baseline.final_url,
            outcome=snapshot.outcome,
            sha256=snapshot.sha256,
            final_url=snapshot.final_url,
        )
        if flag is not None and flag != state.flag:
            _flag_change(state, flag, at=snapshot.fetched_at, check=None)
    state.save()
    event_record(
        actor=requested_by,
        verb="source.snapshot",
        obj=snapshot,
        project_id=source.project_id,
        after={
            "source": source.pk,
            "outcome": snapshot.outcome,
            "http_status": snapshot.http_status,
            "sha256": snapshot.sha256,
            "size": snapshot.size,
            "final_url": snapshot.final_url,
            "quotes_checked": checked,
            "origin": origin,
        },
    )
    return snapshot


@task()
def snapshot_task(source_id: int, requested_by_id: int | None = None) -> str:
    """The worker's task: one snapshot of one source (``snapshot_take``)."""
    requested_by = User.objects.filter(pk=requested_by_id).first() if requested_by_id else None
    return str(snapshot_take(source_id=source_id, requested_by=requested_by).outcome)


def snapshot_request(*, source: Source, actor: User) -> None:
    """Queue a new snapshot of ``source`` now (its owner or an editor of its project:
    PermissionDenied otherwise). Only a task row is written here; the snapshot records
    its event when the worker stores it."""
    access.snapshot_request_require(user=actor, source=source)
    source_id, actor_id = source.pk, actor.pk
    transaction.on_commit(lambda: snapshot_task.enqueue(source_id, actor_id), robust=True)


def verdict_evidence_row(*, alias: str) -> TaskRow | None:
    """The database queue's row of ``verdict_evidence_task`` for a verdict about to be
    written on the connection ``alias`` (``task_row``), its argument, the verdict's id,
    for its writer to fill in (0 until then); None when the queue is another backend."""
    return task_row(verdict_evidence_task, 0, alias=alias)


def verdict_evidence_enqueue(
    *, verdict: Verdict, row: TaskRow | None = None, inserted: bool = False
) -> None:
    """Inside the transaction writing ``verdict``: queue the archiving of the sources it
    cites and the check of its quotes (``verdict_evidence``). With the queue's ``row``
    (``verdict_evidence_row``) the task is written in that transaction, and commits with
    the verdict (``inserted``: the verdict's own statement wrote it already); without
    one, another backend's task is queued once the transaction commits."""
    verdict_id = verdict.pk
    if row is None:
        transaction.on_commit(lambda: verdict_evidence_task.enqueue(verdict_id), robust=True)
        return
    if not inserted:
        row.given(verdict_id)
        row.row.save(force_insert=True)
    transaction.on_commit(row.committed, robust=True)


def verdict_evidence(*, verdict_id: int) -> int:
    """Archive each source the verdict cites that has never been fetched, and check the
    verdict's quotes against the archived snapshots of the others. Returns how many
    snapshots were taken."""
    citations = list(
        Citation.objects.filter(verdict_id=verdict_id).select_related("source__evidence__baseline")
    )
    taken = 0
    done: set[int] = set()
    for citation in citations:
        source = citation.source
        state = getattr(source, "evidence", None)
        if source.pk in done:
            continue
        if state is None or state.latest_id is None:
            snapshot_take(source_id=source.pk)
            taken += 1
            done.add(source.pk)
    pending = [
        c
        for c in citations
        if c.source_id not in done
        and getattr(c.source, "evidence", None) is not None
        and c.source.evidence.baseline is not None
    ]
    if pending:
        with transaction.atomic():
            at = now()
            for citation in pending:
                _quotes_check([citation], citation.source.evidence.baseline, at)  # type: ignore[arg-type]
    return taken


@task()
def verdict_evidence_task(verdict_id: int) -> int:
    """The worker's task: ``verdict_evidence``."""
    return verdict_evidence(verdict_id=verdict_id)


# --- the link-rot watch ----------------------------------------------------------------------


def _flag_change(
    state: SourceEvidence, flag: evidence.Flag, *, at: dt.datetime, check: SourceCheck | None
) -> None:
    """Set a new flag on the locked evidence row: one ``source.flag`` event and one
    ``source.changed`` webhook (the caller saves the row)."""
    previous = state.flag
    state.flag, state.flag_since = flag, at
    source = state.source
    event_record(
        actor=None,
        verb="source.flag",
        obj=source,
        project_id=source.project_id,
        before={"flag": previous},
        after={"flag": str(flag), "check": check.pk if check else None},
    )
    project = Project.objects.only("slug").get(pk=source.project_id)
    webhooks_enqueue(
        project_id=source.project_id,
        event_type=webhook_types.SOURCE_CHANGED,
        data={
            "project_id": source.project_id,
            "project_slug": project.slug,
            "source_id": source.pk,
            "url": source.url,
            "flag": str(flag),
            "previous_flag": previous,
            "http_status": check.http_status if check else None,
            "checked_at": at.isoformat(),
        },
        at=at,
    )


def source_check(*, source_id: int, at: dt.datetime | None = None) -> SourceCheck | None:
    """Fetch a source again and compare it with its baseline snapshot: one check row,
    and on a change of flag a ``source.flag`` event and the ``source.changed`` webhook.
    None when the source has no archived snapshot to compare with."""
    state = (
        SourceEvidence.objects.select_related("baseline", "source")
        .filter(source_id=source_id, baseline__isnull=False)
        .first()
    )
    if state is None or state.baseline is None:
        return None
    baseline = state.baseline
    at = at or now()
    result = _fetch(state.source.url)
    if isinstance(result, fetching.FetchError):
        outcome = evidence.outcome_of(result.code)
        row: dict[str, Any] = {
            "outcome": outcome,
            "reason": result.message[:300],
            "http_status": result.status,
        }
        flag = evidence.check_flag(
            baseline_sha256=baseline.sha256,
            baseline_url=baseline.final_url,
            outcome=outcome,
            fetch_code=result.code,
            http_status=result.status,
        )
    else:
        sha = evidence.sha256_hex(result.body)
        row = {
            "outcome": evidence.Outcome.OK,
            "http_status": result.status,
            "sha256": sha,
            "final_url": result.url[:2000],
        }
        flag = evidence.check_flag(
            baseline_sha256=baseline.sha256,
            baseline_url=baseline.final_url,
            outcome=evidence.Outcome.OK,
            sha256=sha,
            final_url=result.url,
        )
    return _check_store(state=state, at=at, row=row, flag=flag)


@transaction.atomic
def _check_store(
    *, state: SourceEvidence, at: dt.datetime, row: dict[str, Any], flag: evidence.Flag | None
) -> SourceCheck:
    locked = (
        SourceEvidence.objects.select_for_update(no_key=True)
        .select_related("source")
        .get(pk=state.pk)
    )
    check = SourceCheck.objects.create(
        source_id=locked.source_id,
        baseline_id=locked.baseline_id,
        checked_at=at,
        flag=str(flag) if flag else "",
        **row,
    )
    locked.checked_at = at
    interval = _check_interval()
    locked.next_check_at = at + interval if interval else None
    if flag is not None and flag != locked.flag:
        _flag_change(locked, flag, at=at, check=check)
    locked.save()
    return check


@task()
def source_check_task(source_id: int) -> str:
    """The worker's task: one check of one source (``source_check``)."""
    check = source_check(source_id=source_id)
    return check.flag or check.outcome if check else "no baseline"


def _watched(project: Project | None = None) -> Any:
    """Evidence rows of cited sources with an archived snapshot."""
    queryset = SourceEvidence.objects.filter(baseline__isnull=False).filter(
        Exists(Citation.objects.filter(source_id=OuterRef("source_id")))
    )
    if project is not None:
        queryset = queryset.filter(source__project=project)
    return queryset


def sources_check(*, project: Project | None = None) -> list[tuple[Source, SourceCheck]]:
    """Check every cited source with an archived snapshot now (of one project, or all):
    ``manage.py check_sources``. Returns each source with its check."""
    done = []
    for source_id in _watched(project).order_by("source_id").values_list("source_id", flat=True):
        check = source_check(source_id=source_id)
        if check is not None:
            done.append((check.source, check))
    return done


def sources_check_sweep(*, at: dt.datetime | None = None, limit: int = 200) -> int:
    """Queue a check of each watched source that is due (``SOURCE_CHECK_INTERVAL_HOURS``
    after its last check or snapshot); its next due time moves on now, so the next sweep
    does not queue it again. Returns how many were queued (0 when the interval is 0)."""
    interval = _check_interval()
    if interval is None:
        return 0
    at = at or now()
    with transaction.atomic():
        ids = list(
            _watched()
            .select_for_update(skip_locked=True, no_key=True)
            .filter(Q(next_check_at__isnull=True) | Q(next_check_at__lte=at))
            .order_by("next_check_at", "source_id")
            .values_list("source_id", flat=True)[:limit]
        )
        if ids:
            SourceEvidence.objects.filter(source_id__in=ids).update(next_check_at=at + interval)
            transaction.on_commit(
                lambda: [source_check_task.enqueue(source_id) for source_id in ids], robust=True
            )
    return len(ids)
