"""Evidence as pages, the API and exports show it (issue 16): each citation's quote
status with its snapshot's hash and time, a source's snapshots, the sources at risk of a
project and the published fact-checks whose sources changed.

Every read goes through ``access`` (a snapshot is visible exactly where its source is),
and the citation querysets load the evidence with the citation in one query (joins), so
pages that list citations make no more queries than before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.files.storage import storages
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from annotations import access
from annotations.core import lifecycle
from annotations.models import (
    Citation,
    Claim,
    Project,
    QuoteStatus,
    SourceEvidence,
    SourceFlag,
    SourceSnapshot,
    Verdict,
)

EVIDENCE_STORAGE = "evidence"


def evidence_storage() -> Any:
    """The storage WARC files are in (``settings.STORAGES['evidence']``)."""
    return storages[EVIDENCE_STORAGE]


def warc_open(snapshot: SourceSnapshot) -> IO[bytes] | None:
    """The snapshot's WARC file, open for reading (the caller checked access and closes
    it); None when there is none (a failed fetch)."""
    if not snapshot.warc:
        return None
    handle: IO[bytes] = evidence_storage().open(snapshot.warc, "rb")
    return handle


AT_RISK = (SourceFlag.CHANGED, SourceFlag.GONE, SourceFlag.MOVED)
# What a source's evidence needs, joined to the source (never a snapshot's text).
SOURCE_EVIDENCE_JOINED = ("evidence__baseline", "evidence__latest")
SOURCE_EVIDENCE_DEFERRED = ("evidence__baseline__text", "evidence__latest__text")
# What a citation's evidence needs, joined to it.
_JOINED = (*(f"source__{name}" for name in SOURCE_EVIDENCE_JOINED), "quote_check__snapshot")
_DEFERRED = (
    *(f"source__{name}" for name in SOURCE_EVIDENCE_DEFERRED),
    "quote_check__snapshot__text",
)


def citations_with_evidence() -> QuerySet[Citation]:
    """Citations with their source and its evidence joined (one query, no page text)."""
    return Citation.objects.select_related("source", *_JOINED).defer(*_DEFERRED)


def citations_prefetch(lookup: str = "citations") -> Prefetch[Citation]:
    return Prefetch(lookup, queryset=citations_with_evidence())


@dataclass(frozen=True)
class CitationEvidence:
    """A citation's evidence now: its quote's status (``verified``, ``not_found``,
    ``no_snapshot``; ``""`` for a citation without a quote), where the quote is in the
    snapshot's text, the snapshot it was checked against (else the source's latest
    attempt), and the source's link-rot flag."""

    quote_status: str
    quote_start: int | None
    quote_end: int | None
    snapshot: SourceSnapshot | None
    flag: str

    @property
    def at_risk(self) -> bool:
        return self.flag in AT_RISK

    @property
    def snapshot_ok(self) -> bool:
        return self.snapshot is not None and self.snapshot.outcome == "ok"


def citation_evidence(citation: Citation) -> CitationEvidence:
    """``CitationEvidence`` of a citation loaded by ``citations_with_evidence`` (no query)."""
    state: SourceEvidence | None = getattr(citation.source, "evidence", None)
    check = getattr(citation, "quote_check", None)
    snapshot = (
        check.snapshot
        if check is not None
        else (state.baseline or state.latest if state is not None else None)
    )
    if not citation.quote.strip():
        status = ""
    elif check is None:
        status = QuoteStatus.NO_SNAPSHOT
    else:
        status = check.status
    return CitationEvidence(
        quote_status=str(status),
        quote_start=check.start if check is not None else None,
        quote_end=check.end if check is not None else None,
        snapshot=snapshot,
        flag=state.flag if state is not None else "",
    )


def snapshots_of_source(*, source_id: int) -> QuerySet[SourceSnapshot]:
    """A source's snapshots, newest first, without their text (the caller has checked
    that the user may see the source)."""
    return SourceSnapshot.objects.filter(source_id=source_id).defer("text").order_by("-id")


@dataclass(frozen=True)
class ArchivedText:
    """A snapshot's text in three pieces around a verified quote (the page shows the
    quote in ``<mark>``; every piece is escaped as plain text)."""

    before: str
    quote: str
    after: str


def archived_text(*, snapshot: SourceSnapshot, start: int | None, end: int | None) -> ArchivedText:
    text = snapshot.text
    if start is None or end is None or not 0 <= start < end <= len(text):
        return ArchivedText(before=text, quote="", after="")
    return ArchivedText(before=text[:start], quote=text[start:end], after=text[end:])


def quote_check_for_user(
    *, user: User, snapshot: SourceSnapshot, citation_id: int
) -> tuple[int | None, int | None]:
    """The offsets of citation ``citation_id``'s verified quote in ``snapshot``, if the
    user may see the citation's verdict (blind review); else no highlight."""
    visible = access.verdict_scope_for_user(user=user, queryset=Verdict.objects.all())
    citation = (
        Citation.objects.filter(pk=citation_id, quote_check__snapshot=snapshot, verdict__in=visible)
        .select_related("quote_check")
        .first()
    )
    if citation is None or citation.quote_check.status != QuoteStatus.VERIFIED:
        return None, None
    return citation.quote_check.start, citation.quote_check.end


@dataclass(frozen=True)
class SourceAtRisk:
    evidence: SourceEvidence
    claims: list[Claim]


def sources_at_risk(*, user: User, project: Project) -> list[SourceAtRisk]:
    """The project's sources the user may see that the watch flagged changed, gone or
    moved, with the claims whose visible verdicts cite them (two queries)."""
    rows = list(
        SourceEvidence.objects.filter(
            flag__in=AT_RISK,
            source__in=access.sources_for_user(user=user, project_id=project.pk),
        )
        .select_related("source")
        .order_by("-flag_since", "source_id")[:100]
    )
    visible = access.verdict_scope_for_user(
        user=user, queryset=Verdict.objects.filter(claim__project=project)
    )
    claims: dict[int, list[Claim]] = {row.source_id: [] for row in rows}
    for citation in (
        Citation.objects.filter(source_id__in=claims, verdict__in=visible)
        .select_related("verdict__claim")
        .only("source_id", "verdict__claim__id", "verdict__claim__statement")
        .order_by("verdict__claim_id")
    ):
        found = claims[citation.source_id]
        if citation.verdict.claim not in found:
            found.append(citation.verdict.claim)
    return [SourceAtRisk(evidence=row, claims=claims[row.source_id]) for row in rows]


def published_claims_at_risk(*, project: Project) -> QuerySet[Claim]:
    """Published fact-checks (``lifecycle.PUBLIC``) whose current verdicts cite a source
    the watch flagged changed, gone or moved: for the project's editors."""
    flagged = Citation.objects.filter(
        verdict__claim_id=OuterRef("pk"),
        verdict__is_current=True,
        source__evidence__flag__in=AT_RISK,
    )
    return (
        Claim.objects.filter(project=project, status__in=[str(s) for s in lifecycle.PUBLIC])
        .filter(Exists(flagged))
        .only("id", "statement", "status", "project_id")
        .order_by("id")
    )
