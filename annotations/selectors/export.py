"""The reading half of the export: read what a user may see and shape it as native JSON.

``document_native`` and ``project_rows`` build the native shape
(``schemas/workbench-export-1.schema.json``); the ClaimReview and Web Annotation
wrappers build it first and hand it to the pure mapping in
``annotations.core.export_mapping``.

Blind review applies here as everywhere: editors and admins get every verdict with its
full revision history; anyone else gets the current verdicts of claims they have judged
themselves (``access.verdict_scope_for_user``, the cross-claim form of
``access.can_see_all_verdicts``) and nothing of other reviewers on claims they have
not judged, not even through a consensus record's list of verdict ids.

Query counts do not grow with the number of claims: a document export is a fixed set of
queries (prefetches with filtered querysets), and the project export reads claims in
keyset chunks of claims with five small index range queries per chunk (``_project_rows``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db import NotSupportedError
from django.db.models import CharField, F, Func, Model, Prefetch, QuerySet
from django.utils import timezone

from annotations import access
from annotations.access import User
from annotations.compiled import CompiledValuesList
from annotations.core import export_mapping
from annotations.models import (
    Citation,
    Claim,
    ClaimStatus,
    Consensus,
    Document,
    Membership,
    Project,
    Rating,
    Source,
    Verdict,
)
from annotations.selectors.evidence import citation_evidence, citations_with_evidence
from annotations.selectors.publishing import document_published_claimreview, public_base


def _timestamp(value: dt.datetime) -> str:
    """UTC, always with microseconds, so the same instant always gives the same string."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Timestamp(Func):
    """A time column as ``_timestamp`` writes it, formatted by the database: a project
    export writes ~1.5 times as many times as verdicts, and the driver's conversion to a
    datetime and back to text was a fifth of its time. PostgreSQL formats the UTC time;
    SQLite keeps Django's UTC text (``YYYY-MM-DD HH:MM:SS[.ffffff]``, the fraction left
    out when it is zero), which needs only the ``T``, the fraction and the ``Z``.
    ``tests/selectors/test_export.py`` holds both equal to ``_timestamp``."""

    output_field = CharField()
    arity = 1

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        raise NotSupportedError(f"_Timestamp is not written for {connection.vendor}")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        )
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(replace({column}, ' ', 'T') || "
            f"CASE WHEN instr({column}, '.') > 0 THEN '' ELSE '.000000' END || 'Z')"
        )
        return sql, [*params, *params]


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _visible_verdicts(*, user: User, membership: Membership) -> QuerySet[Verdict]:
    """Verdicts ``user`` may see, ready to prefetch onto claims (citations and sources too)."""
    queryset = (
        Verdict.objects.select_related("reviewer", "rating")
        .prefetch_related(
            Prefetch(
                "citations",
                queryset=citations_with_evidence()
                .select_related("source__created_by")
                .order_by("id"),
            )
        )
        .order_by("submitted_at", "id")
    )
    if access.is_editor(membership):
        # Calibration verdicts (gold claims) are not part of a claim's review: the lossless
        # export (``export_v2``) carries them, this one does not.
        return queryset.filter(calibration=False)
    return access.verdict_scope_for_user(user=user, queryset=queryset.filter(is_current=True))


def _consensus_records(*, current_only: bool = False) -> QuerySet[Consensus]:
    queryset = (
        Consensus.objects.select_related("rating", "decided_by")
        .prefetch_related(Prefetch("verdicts", queryset=Verdict.objects.only("id").order_by("id")))
        .order_by("sequence")
    )
    return queryset.filter(is_current=True) if current_only else queryset


def _claims_with_relations(
    queryset: QuerySet[Claim], *, user: User, membership: Membership, current_only: bool = False
) -> QuerySet[Claim]:
    return queryset.select_related("created_by").prefetch_related(
        Prefetch("verdicts", queryset=_visible_verdicts(user=user, membership=membership)),
        Prefetch("consensus_history", queryset=_consensus_records(current_only=current_only)),
    )


def _source_dict(source: Source, *, with_owner: bool) -> dict[str, Any]:
    """The native source; ``with_owner`` (editors' exports) names its owner, which would
    otherwise tell a reviewer who cited the page."""
    owner = (
        {"created_by": source.created_by.get_username()} if with_owner and source.created_by else {}
    )
    return {
        "id": source.pk,
        "url": source.url,
        "normalized_url": source.normalized_url,
        "title": source.title,
        "publisher": source.publisher,
        "published_date": _date(source.published_date),
        "archive_url": source.archive_url,
        "accessed_date": _date(source.accessed_date),
        **owner,
    }


def _verdict_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "id": verdict.pk,
        "reviewer": verdict.reviewer.get_username(),
        "rating": verdict.rating.key,
        "confidence": verdict.confidence,
        "rationale": verdict.rationale,
        "revision": verdict.revision,
        "is_current": verdict.is_current,
        "claim_version": verdict.claim_version,
        "post_reveal": verdict.post_reveal,
        "submitted_at": _timestamp(verdict.submitted_at),
        "citations": [
            {
                "source": citation.source_id,
                "quote": citation.quote,
                "stance": citation.stance,
                "evidence": _evidence_dict(citation),
            }
            for citation in verdict.citations.all()
        ],
    }


def _evidence_dict(citation: Citation) -> dict[str, Any]:
    """A citation's evidence as the export writes it (issue 16): the quote's status and
    offsets, the snapshot's outcome, SHA-256 and time, the source's link-rot flag."""
    found = citation_evidence(citation)
    snapshot = found.snapshot
    return {
        "quote_status": found.quote_status,
        "quote_start": found.quote_start,
        "quote_end": found.quote_end,
        "snapshot": None
        if snapshot is None
        else {
            "outcome": snapshot.outcome,
            "sha256": snapshot.sha256,
            "fetched_at": _timestamp(snapshot.fetched_at),
        },
        "flag": found.flag,
    }


def _consensus_dict(record: Consensus, visible_ids: set[int]) -> dict[str, Any]:
    return {
        "sequence": record.sequence,
        "rating": record.rating.key,
        "method": record.method,
        "agreement": record.agreement,
        "decided_by": record.decided_by.get_username() if record.decided_by else None,
        "decided_at": _timestamp(record.decided_at),
        "note": record.note,
        "is_current": record.is_current,
        # Only ids of verdicts in this export: the others are hidden by blind review.
        "verdicts": [v.pk for v in record.verdicts.all() if v.pk in visible_ids],
    }


def _claim_dict(
    claim: Claim, sources: dict[int, Source], *, sees_all_verdicts: bool
) -> dict[str, Any]:
    """The native claim; adds the sources its citations use to ``sources``.
    ``sees_all_verdicts``: ``access.can_see_all_verdicts`` for the exporting user (its
    consensus records follow ``access.can_see_consensus``)."""
    verdicts = list(claim.verdicts.all())
    for verdict in verdicts:
        for citation in verdict.citations.all():
            sources.setdefault(citation.source_id, citation.source)
    visible_ids = {verdict.pk for verdict in verdicts}
    return {
        "id": claim.pk,
        "start": claim.start,
        "end": claim.end,
        "exact": claim.exact,
        "prefix": claim.prefix,
        "suffix": claim.suffix,
        "statement": claim.statement,
        "claimant": claim.claimant,
        "status": claim.status,
        "version": claim.version,
        "claim_version": claim.claim_version,
        "created_by": claim.created_by.get_username(),
        "created_at": _timestamp(claim.created_at),
        "verdicts": [_verdict_dict(verdict) for verdict in verdicts],
        # None for a gold claim presented as in review (``access.claims_present_for``).
        "consensus": []
        if getattr(claim, "gold_masked", False)
        or not access.can_see_consensus(claim=claim, sees_all_verdicts=sees_all_verdicts)
        else [_consensus_dict(record, visible_ids) for record in claim.consensus_history.all()],
    }


def _sources_list(sources: dict[int, Source], *, with_owner: bool) -> list[dict[str, Any]]:
    ordered = sorted(sources.values(), key=lambda source: (source.normalized_url, source.pk))
    return [_source_dict(source, with_owner=with_owner) for source in ordered]


def _project_dict(project: Project, scale: Iterable[Rating]) -> dict[str, Any]:
    return {
        "name": project.name,
        "slug": project.slug,
        "organization": project.organization,
        "organization_url": project.organization_url,
        "scale": [
            {
                "key": rating.key,
                "label": rating.label,
                "ordinal": rating.ordinal,
                "position": rating.position,
            }
            for rating in scale
        ],
        "policy": {
            "required_reviews": project.required_reviews,
            "consensus_rule": project.consensus_rule,
            "majority_threshold": project.majority_threshold,
            "lease_minutes": project.lease_minutes,
        },
    }


def document_native(
    *, document: Document, user: User, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The native export (``workbench-export/1``) of ``document`` as ``user`` may see it.

    Editors and admins get every verdict revision; other members get the current
    verdicts of the claims they have judged themselves (blind review). Sources are those
    cited by the included verdicts. A fixed number of queries whatever the claim count.
    Raises Http404 when ``user`` is not an active member of the document's project.
    """
    membership = access.membership_get_or_404(user=user, project_id=document.project_id)
    project = document.project
    scale = Rating.objects.filter(project_id=project.pk).order_by("position", "id")
    claims = _claims_with_relations(
        Claim.objects.filter(document=document), user=user, membership=membership
    ).order_by("start", "end", "id")
    sources: dict[int, Source] = {}
    claim_list = list(claims)
    access.claims_present_for(user=user, claims=claim_list, membership=membership)
    # Whether the user judged a claim decides its consensus records only while it collects
    # verdicts (access.can_see_consensus): a query only when such a claim is here.
    judged = (
        {claim.pk for claim in claim_list}
        if access.is_editor(membership)
        else access.claims_judged_by(
            user=user,
            claims=[
                c
                for c in claim_list
                if not access.can_see_consensus(claim=c, sees_all_verdicts=False)
            ],
        )
    )
    claim_dicts = [
        _claim_dict(claim, sources, sees_all_verdicts=claim.pk in judged) for claim in claim_list
    ]
    return {
        "schema": export_mapping.NATIVE_SCHEMA,
        "exported_at": _timestamp(now or timezone.now()),
        "project": _project_dict(project, scale),
        "document": {
            "title": document.title,
            "text": document.text,
            "text_sha256": document.text_sha256,
            "length": document.length,
            "raw_text": document.raw_text,
            "source_url": document.source_url,
            "publisher": document.publisher,
            "author": document.author,
            "published_date": _date(document.published_date),
            "language": document.language,
            "direction": document.direction,
            "created_at": _timestamp(document.created_at),
        },
        "claims": claim_dicts,
        "sources": _sources_list(sources, with_owner=access.is_editor(membership)),
    }


def project_rows(
    *, project: Project, user: User, chunk_size: int = 1000, document: Document | None = None
) -> Iterator[dict[str, Any]]:
    """One JSON-ready row per claim of ``project`` (``$defs/projectRow``), in claim id order.

    Reads claims in keyset chunks of up to ``chunk_size`` and, per chunk, the related rows
    of the chunk's claims (plain tuples, no model instances, no ``IN`` lists), so
    memory is bounded by the chunk; document texts are never loaded. Rows carry the
    verdicts ``user`` may see (blind review, as ``document_native``), the sources they cite and the current consensus (or None). The membership check runs at
    call time, so a non-member gets Http404 before any row is streamed. ``document``: only
    that document's claims (a document of ``project``).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    membership = access.membership_get_or_404(user=user, project_id=project.pk)
    return _project_rows(
        project=project,
        user=user,
        membership=membership,
        chunk_size=chunk_size,
        document=document,
    )


def _project_rows(
    *,
    project: Project,
    user: User,
    membership: Membership,
    chunk_size: int,
    document: Document | None = None,
) -> Iterator[dict[str, Any]]:
    """Keyset chunks of claims (``id > last``, on the project's id index); each chunk
    reads its verdicts, citations, consensus records and links by the chunk's claim ids
    (``project_row_querysets(between=…)``): small index range scans, so the first row
    comes as fast for a million verdicts as for a hundred, and memory is bounded by the
    chunk. The first chunks are smaller (``_FIRST_CHUNK``, doubling up to ``chunk_size``)
    so that the first line goes out after a few small reads."""
    claims = project_row_querysets(
        project=project, user=user, membership=membership, document=document
    )["claims"]
    related = _chunk_reads(project=project, user=user, membership=membership, document=document)
    last = 0
    size = min(_FIRST_CHUNK, chunk_size)
    while True:
        chunk = list(claims.filter(id__gt=last)[:size])
        if not chunk:
            return
        low, high = chunk[0][0], chunk[-1][0]
        if last == 0:
            # One chunk is the whole of most exports: built and run by the ORM, as compiling
            # (two builds) would cost more than it saves.
            queries = project_row_querysets(
                project=project, user=user, membership=membership, document=document,
                between=(low, high),
            )  # fmt: skip
            rows = {name: list(queries[name]) for name in _CLAIM_MODELS}
        else:
            rows = {name: related[name].rows(low=low, high=high) for name in _CLAIM_MODELS}
        streams = {name: _Stream(iter(found)) for name, found in rows.items()}
        yield from _project_row_stream(project, chunk, streams)
        last = high
        if len(chunk) < size:
            return
        size = min(size * 2, chunk_size)


def _chunk_reads(
    *, project: Project, user: User, membership: Membership, document: Document | None
) -> dict[str, CompiledValuesList]:
    """The related queries of ``project_row_querysets`` for one export, each compiled once
    (on the second chunk) with the chunk's claim id range as its arguments: building five
    querysets with their blind-review subqueries and compiling them took as long as the
    database took to answer them, for every chunk."""

    # The two stand-in sets of the compilation (ids past a 32-bit column run the ORM's
    # queryset each time, so the cache must not grow with the export).
    @functools.lru_cache(maxsize=2)
    def built(low: int, high: int) -> dict[str, QuerySet]:
        return project_row_querysets(
            project=project, user=user, membership=membership, document=document,
            between=(low, high),
        )  # fmt: skip

    def read(name: str) -> Callable[..., QuerySet]:
        return lambda low, high: built(low, high)[name]

    return {
        name: CompiledValuesList(model, read(name), low=int, high=int)
        for name, model in _CLAIM_MODELS.items()
    }


# The claims of the first chunk of a project export; the next chunks double up to the
# export's chunk size. 125 claims (~375 verdicts) read in a few milliseconds.
_FIRST_CHUNK = 125

# The related queries of each chunk (``project_row_querysets``), with their models.
_CLAIM_MODELS: dict[str, type[Model]] = {
    "verdicts": Verdict,
    "citations": Citation,
    "consensus": Consensus,
    "links": Consensus.verdicts.through,
}


class _Stream:
    """A cursor over rows ordered by their first value (a claim id), taken claim by claim."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._head = next(rows, None)

    def take(self, key: int) -> list[tuple[Any, ...]]:
        taken = []
        while self._head is not None and self._head[0] <= key:
            if self._head[0] == key:
                taken.append(self._head)
            self._head = next(self._rows, None)
        return taken


def _by_verdict_then_id(row: tuple[Any, ...]) -> tuple[int, int]:
    return row[1], row[2]


def _by_submitted_then_id(row: tuple[Any, ...]) -> tuple[str, int]:
    # The time as ``_Timestamp`` writes it: fixed-width UTC text sorts as the times do.
    return row[8], row[1]


def project_row_querysets(
    *,
    project: Project,
    user: User,
    membership: Membership,
    document: Document | None = None,
    between: tuple[int, int] | None = None,
) -> dict[str, QuerySet]:
    """The export's five queries (claims, verdicts, citations with their sources, current
    consensus records, their verdict links), ordered by claim id only (rows within a claim
    are sorted in Python). ``document``: that document's claims only. ``between``: the
    rows of the claims whose ids lie in that closed range (one chunk of ``_project_rows``).

    The related queries name the claims they cover by a subquery on the claim table
    (``claim_id IN (SELECT id … WHERE project_id = … AND id BETWEEN …)``) and repeat the
    range on their own claim id column: a join to the claim table for its project would
    make PostgreSQL hash all of the project's claims for every chunk (a sequential scan
    per query per chunk, most of a large export's time)."""
    username = f"__{get_user_model().USERNAME_FIELD}"
    covered = Claim.objects.filter(project=project)
    if document is not None:
        covered = covered.filter(document=document)
    if between is not None:
        covered = covered.filter(id__gte=between[0], id__lte=between[1])
    claim_ids = covered.values("id")

    def of_claims(queryset: QuerySet, key: str) -> QuerySet:
        queryset = queryset.filter(**{f"{key}__in": claim_ids})
        if between is not None:
            queryset = queryset.filter(**{f"{key}__gte": between[0], f"{key}__lte": between[1]})
        return queryset.order_by(key)

    # A source's owner says who cited the page: editors' exports only.
    owner = ("source__created_by" + username,) if access.is_editor(membership) else ()
    if not access.is_editor(membership):
        verdicts = of_claims(
            access.verdict_scope_for_user(
                user=user, queryset=Verdict.objects.filter(is_current=True)
            ),
            "claim_id",
        )
        citations = Citation.objects.filter(verdict__in=verdicts.values("id"))
    else:
        # Calibration verdicts (gold claims) are not part of a claim's review: the lossless
        # export (``export_v2``) carries them, this one does not.
        verdicts = of_claims(Verdict.objects.filter(calibration=False), "claim_id")
        citations = Citation.objects.filter(verdict__calibration=False)
    return {
        # ``gold_masked``: the claim presents to the user as in review (access.claims_present_for).
        "claims": covered.annotate(
            gold_masked=access.claim_gold_masked(user=user), created=_Timestamp(F("created_at"))
        )
        .order_by("id")
        .values_list(
            "id", "document_id", "document__title", "start", "end", "exact", "prefix",
            "suffix", "statement", "claimant", "status", "version", "created_by" + username,
            "created", "gold_masked",
        ),
        "verdicts": verdicts.annotate(submitted=_Timestamp(F("submitted_at"))).values_list(
            "claim_id", "id", "reviewer" + username, "rating__key", "confidence", "rationale",
            "revision", "is_current", "submitted",
        ),
        "citations": of_claims(citations, "verdict__claim_id").values_list(
            "verdict__claim_id", "verdict_id", "id", "quote", "stance", "source_id",
            "source__url", "source__normalized_url", "source__title", "source__publisher",
            "source__published_date", "source__archive_url", "source__accessed_date", *owner,
        ),
        "consensus": of_claims(Consensus.objects.filter(is_current=True), "claim_id")
        .annotate(decided=_Timestamp(F("decided_at")))
        .values_list(
            "claim_id", "id", "sequence", "rating__key", "method", "agreement",
            "decided_by" + username, "decided", "note", "is_current",
        ),
        "links": of_claims(
            Consensus.verdicts.through.objects.filter(consensus__is_current=True),
            "consensus__claim_id",
        ).values_list("consensus__claim_id", "consensus_id", "verdict_id"),
    }  # fmt: skip


def _project_row_stream(
    project: Project, chunk: list[tuple[Any, ...]], streams: dict[str, _Stream]
) -> Iterator[dict[str, Any]]:
    """The rows of one chunk of claims, merging the related rows by claim id."""
    verdict_rows, citation_rows, consensus_rows, link_rows = (
        streams[name] for name in ("verdicts", "citations", "consensus", "links")
    )
    for (
        claim_id, document_id, title, start, end, exact, prefix, suffix, statement, claimant,
        status, version, created_by, created_at, gold_masked,
    ) in chunk:  # fmt: skip
        cited: dict[int, list[dict[str, Any]]] = {}
        sources: dict[int, dict[str, Any]] = {}
        for _, verdict_id, _, quote, stance, source_id, *source in sorted(
            citation_rows.take(claim_id), key=_by_verdict_then_id
        ):
            cited.setdefault(verdict_id, []).append(
                {"source": source_id, "quote": quote, "stance": stance}
            )
            if source_id not in sources:
                url, normalized, s_title, publisher, published, archive, accessed, *owner = source
                sources[source_id] = {
                    "id": source_id,
                    "url": url,
                    "normalized_url": normalized,
                    "title": s_title,
                    "publisher": publisher,
                    "published_date": _date(published),
                    "archive_url": archive,
                    "accessed_date": _date(accessed),
                    **({"created_by": owner[0]} if owner and owner[0] else {}),
                }
        verdict_list = [
            {
                "id": verdict_id,
                "reviewer": reviewer,
                "rating": rating,
                "confidence": confidence,
                "rationale": rationale,
                "revision": revision,
                "is_current": is_current,
                "submitted_at": submitted_at,
                "citations": cited.get(verdict_id, []),
            }
            for (
                _, verdict_id, reviewer, rating, confidence, rationale, revision, is_current,
                submitted_at,
            ) in sorted(verdict_rows.take(claim_id), key=_by_submitted_then_id)
        ]  # fmt: skip
        visible_ids = {verdict["id"] for verdict in verdict_list}
        linked = sorted(verdict_id for _, _, verdict_id in link_rows.take(claim_id))
        current = None
        consensus_taken = consensus_rows.take(claim_id)
        if gold_masked:
            # A gold claim presents to a reviewer as an ordinary claim in review.
            status, consensus_taken = ClaimStatus.IN_REVIEW.value, []
        for (
            _, _, sequence, rating, method, agreement, decided_by, decided_at, note, is_current,
        ) in consensus_taken:  # fmt: skip
            current = {
                "sequence": sequence,
                "rating": rating,
                "method": method,
                "agreement": agreement,
                "decided_by": decided_by,
                "decided_at": decided_at,
                "note": note,
                "is_current": is_current,
                # Only ids of verdicts in this export: the others are hidden by blind review.
                "verdicts": [v for v in linked if v in visible_ids],
            }
        yield {
            "project": project.slug,
            "document": {"id": document_id, "title": title},
            "id": claim_id,
            "start": start,
            "end": end,
            "exact": exact,
            "prefix": prefix,
            "suffix": suffix,
            "statement": statement,
            "claimant": claimant,
            "status": status,
            "version": version,
            "created_by": created_by,
            "created_at": created_at,
            "verdicts": verdict_list,
            "consensus": current,
            "sources": sorted(sources.values(), key=lambda s: (s["normalized_url"], s["id"])),
        }


def _absolute(base: str, path: str) -> str:
    return base.rstrip("/") + path


def document_claimreview(
    *, document: Document, user: User, request_base: str
) -> list[dict[str, Any]]:
    """ClaimReview nodes for the document's published fact checks: the latest publication
    version of each published or corrected claim (``selectors.publishing``); resolved
    claims nobody published and retracted ones are not fact checks a reader can rely on.
    Each ``url`` is the claim's public page on ``PUBLIC_BASE_URL`` (``request_base``, the
    site's scheme and host, when that is not set). ``user`` has been checked by the caller;
    publication versions hold nothing blind review hides."""
    return document_published_claimreview(document=document, base=public_base(request_base))


def document_web_annotations(
    *, document: Document, user: User, request_base: str
) -> list[dict[str, Any]]:
    """W3C Web Annotations, one per claim; the target source is the document's page
    (``request_base + document.get_absolute_url()``), each annotation's id its claim's page."""
    native = document_native(document=document, user=user)
    return export_mapping.to_web_annotations(
        native,
        document_iri=_absolute(request_base, document.get_absolute_url()),
        annotation_iri=lambda claim_id: _absolute(
            request_base, Claim(pk=claim_id).get_absolute_url()
        ),
    )


# Export formats and their content types: the API's document export (json, claimreview,
# webannotation), the project's JSON lines, and the UI's downloads of all four.
EXPORT_CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "claimreview": "application/ld+json",
    "webannotation": 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
}
DOCUMENT_EXPORT_FORMATS = ("json", "claimreview", "webannotation")


def document_export(*, document: Document, user: User, fmt: str, request_base: str) -> Any:
    """One document in ``fmt`` (one of ``DOCUMENT_EXPORT_FORMATS``): its native export,
    its ClaimReview nodes or its Web Annotations."""
    if fmt == "json":
        return document_native(document=document, user=user)
    if fmt == "claimreview":
        return document_claimreview(document=document, user=user, request_base=request_base)
    if fmt == "webannotation":
        return document_web_annotations(document=document, user=user, request_base=request_base)
    raise ValueError(f"not a document export format: {fmt}")
