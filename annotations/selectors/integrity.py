"""The invariants ``manage.py check_integrity`` scans, one small function each.

Each check reads the database (never writes) and yields a ``Violation`` per broken row:
the object, the invariant, what was found and what was expected. The database's own
constraints already refuse most broken rows; these checks also cover what no constraint
can say (a quote against its document's text, a status against the verdicts behind it,
an event per write, the audit hash chains), and catch rows written around the services
(a raw SQL fix, a restored dump, a dropped constraint).

Memory is bounded: rows are read with ``.iterator()`` or in keyset chunks, one
document's text (and its earlier revisions, when a claim refers to one) at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from annotations.core import lifecycle, spans, textchunks
from annotations.models import (
    Claim,
    ClaimLink,
    ClaimStatus,
    Consensus,
    Document,
    DocumentRevision,
    DocumentTextChunk,
    Event,
    GoldClaim,
    Publication,
    PublicationKind,
    Reference,
    RepeatSuggestion,
    Suggestion,
    SuggestionDecision,
    Verdict,
)
from annotations.selectors import reconcile
from annotations.selectors.audit import audit_chains, audit_verify
from annotations.selectors.review import claims_unsettled
from annotations.selectors.violations import Violation, clip

# Statuses that stand on a recorded decision: they need a current consensus record.
DECIDED = tuple(sorted(str(s) for s in lifecycle.DECIDED))
# Statuses the review rules reach only after verdicts came in.
JUDGED = (
    ClaimStatus.DISPUTED,
    ClaimStatus.RESOLVED,
    ClaimStatus.PUBLISHED,
    ClaimStatus.CORRECTED,
    ClaimStatus.RETRACTED,
)
# The publication version kind each public status ends with.
LATEST_KIND = {
    ClaimStatus.PUBLISHED: PublicationKind.PUBLISH,
    ClaimStatus.CORRECTED: PublicationKind.CORRECT,
    ClaimStatus.RETRACTED: PublicationKind.RETRACT,
}
# What records the creation of a row (``verb`` of its event); a native import records one
# ``document.import`` event for the document and everything it brought.
CREATION_VERBS = {
    "document": ("document.create", "document.import"),
    "claim": ("claim.create",),
    "verdict": ("verdict.submit", "verdict.revise"),
    "reference": ("reference.create",),
    "claimlink": ("claim.link",),
    "suggestiondecision": ("suggestion.accept", "suggestion.dismiss"),
}


def _scoped[M: (Claim, Document, Verdict, Consensus, Reference, ClaimLink, SuggestionDecision)](
    queryset: QuerySet[M], project_id: int | None, path: str
) -> QuerySet[M]:
    return queryset if project_id is None else queryset.filter(**{path: project_id})


class _Texts:
    """One document's texts by revision number, read when first asked for."""

    def __init__(self, document_id: int, current: int) -> None:
        self.document_id, self.current = document_id, current
        self.texts: dict[int, str | None] = {}

    def get(self, number: int) -> str | None:
        if number not in self.texts:
            if number == self.current:
                rows = Document.objects.filter(pk=self.document_id)
            else:
                rows = DocumentRevision.objects.filter(document_id=self.document_id, number=number)
            self.texts[number] = rows.values_list("text", flat=True).first()
        return self.texts[number]


# --- the invariants -----------------------------------------------------------------------


def claim_anchors(project_id: int | None = None) -> Iterator[Violation]:
    """Each claim's ``exact``/``prefix``/``suffix`` is its document's text at its offsets,
    in the revision it is anchored to (``anchor_revision``: the current text, or a kept
    earlier one)."""
    documents = (
        _scoped(Document.objects.all(), project_id, "project_id")
        .filter(Exists(Claim.objects.filter(document=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", "revision")
    )
    for document_id, current in documents.iterator(chunk_size=100):
        texts = _Texts(document_id, current)
        claims = (
            Claim.objects.filter(document_id=document_id)
            .order_by("anchor_revision", "pk")
            .values_list("pk", "anchor_revision", "start", "end", "exact", "prefix", "suffix")
        )
        for pk, revision, start, end, exact, prefix, suffix in claims.iterator(chunk_size=2000):
            name = f"claim {pk} (document {document_id})"
            text = texts.get(revision)
            if text is None:
                yield Violation(
                    name,
                    "anchor revision exists",
                    f"anchor_revision {revision}",
                    f"the current revision {current} or a kept earlier one",
                )
                continue
            try:
                selector = spans.make_selector(text, start, end)
            except spans.SpanError as exc:
                yield Violation(
                    name,
                    "span inside its text",
                    f"[{start}, {end}) ({exc.message})",
                    f"0 <= start < end <= {len(text)} (revision {revision})",
                )
                continue
            for field, stored, actual in (
                ("exact", exact, selector.exact),
                ("prefix", prefix, selector.prefix),
                ("suffix", suffix, selector.suffix),
            ):
                if stored != actual:
                    yield Violation(
                        name,
                        f"{field} matches the text",
                        f"{field} {clip(stored)}",
                        f"{clip(actual)} at [{start}, {end}) of revision {revision}",
                    )


def document_text_chunks(project_id: int | None = None) -> Iterator[Violation]:
    """A document longer than ``textchunks.CHUNK`` has text chunks (``DocumentTextChunk``)
    that are ``textchunks.split`` of its current text; a shorter one has none. Windows
    are read from the chunks (``models.document_text_window_expression``): chunks that
    drifted from the text would quote the wrong words."""
    documents = (
        _scoped(Document.objects.all(), project_id, "project_id")
        .filter(
            Q(length__gt=textchunks.CHUNK)
            | Exists(DocumentTextChunk.objects.filter(document=OuterRef("pk")))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for document_id in documents.iterator(chunk_size=100):
        text = Document.objects.filter(pk=document_id).values_list("text", flat=True).get()
        expected = textchunks.split(text) if textchunks.chunked(len(text)) else []
        stored = list(
            DocumentTextChunk.objects.filter(document_id=document_id)
            .order_by("seq")
            .values_list("seq", "text")
        )
        found = [chunk for _, chunk in stored]
        if [seq for seq, _ in stored] == list(range(len(stored))) and found == expected:
            continue
        differs = next(
            (
                seq
                for seq in range(max(len(found), len(expected)))
                if found[seq : seq + 1] != expected[seq : seq + 1]
            ),
            None,
        )
        yield Violation(
            f"document {document_id}",
            "text chunks join to its text",
            f"{len(stored)} chunk(s)"
            + (f", chunk {differs} differs" if differs is not None else ", seq out of order"),
            f"{len(expected)} chunk(s) of {textchunks.CHUNK} code points of its "
            f"{len(text)}-character text",
        )


def current_verdicts(project_id: int | None = None) -> Iterator[Violation]:
    """Every reviewer who judged a claim's current version has exactly one current verdict
    on it; verdicts on a version an editor revised away are kept, none of them current."""
    verdicts = _scoped(Verdict.objects.all(), project_id, "claim__project_id")
    groups = (
        verdicts.filter(claim_version=F("claim__claim_version"))
        .order_by()
        .values("claim_id", "reviewer_id")
        .annotate(current=Count("pk", filter=Q(is_current=True)))
        .exclude(current=1)
        .order_by("claim_id", "reviewer_id")
    )
    for row in groups.iterator(chunk_size=2000):
        yield Violation(
            f"claim {row['claim_id']}, reviewer {row['reviewer_id']}",
            "one current verdict per reviewer",
            f"{row['current']} current verdicts",
            "exactly 1 (revisions keep the earlier rows with is_current false)",
        )
    stale = (
        verdicts.filter(is_current=True)
        .exclude(claim_version=F("claim__claim_version"))
        .order_by("pk")
        .values_list("pk", "claim_id", "claim_version", "claim__claim_version")
    )
    for pk, claim_id, judged, version in stale.iterator(chunk_size=2000):
        yield Violation(
            f"verdict {pk} (claim {claim_id})",
            "current verdicts judge the current claim version",
            f"a current verdict on version {judged}",
            f"version {version} (a revision leaves earlier verdicts not current)",
        )


def claim_consensus(project_id: int | None = None) -> Iterator[Violation]:
    """A claim has a current consensus record exactly when its status is decided
    (resolved, published, corrected); withdrawn and retracted claims keep whatever they had."""
    current = Consensus.objects.filter(claim=OuterRef("pk"), is_current=True)
    claims = _scoped(Claim.objects.all(), project_id, "project_id").annotate(
        decided=Exists(current)
    )
    missing = claims.filter(status__in=DECIDED, decided=False)
    extra = claims.filter(status__in=(ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED), decided=True)
    for pk, status in missing.order_by("pk").values_list("pk", "status").iterator(chunk_size=2000):
        yield Violation(
            f"claim {pk}",
            "consensus for decided claims",
            f"status {status} without a current consensus",
            "a current consensus record (or a status before the decision)",
        )
    for pk, status in extra.order_by("pk").values_list("pk", "status").iterator(chunk_size=2000):
        yield Violation(
            f"claim {pk}",
            "consensus only for decided claims",
            f"status {status} with a current consensus",
            "resolved or published, or the consensus superseded",
        )
    # The claim row's pointer (``Claim.consensus``, which the database's check constraints
    # tie to the status) names the claim's own current record.
    astray = (
        claims.filter(consensus__isnull=False)
        .filter(
            ~Q(consensus__claim_id=F("pk"))
            | (Q(consensus__is_current=False) & ~Q(status=ClaimStatus.WITHDRAWN))
        )
        .order_by("pk")
        .values_list("pk", "consensus_id", "consensus__claim_id")
    )
    for pk, consensus_id, owner in astray.iterator(chunk_size=2000):
        yield Violation(
            f"claim {pk}",
            "consensus pointer",
            f"claim.consensus {consensus_id}, "
            + (f"a record of claim {owner}" if owner != pk else "superseded"),
            "the claim's own current consensus record",
        )
    several = (
        _scoped(Consensus.objects.filter(is_current=True), project_id, "claim__project_id")
        .order_by()
        .values("claim_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("claim_id")
    )
    for row in several.iterator(chunk_size=2000):
        yield Violation(
            f"claim {row['claim_id']}",
            "one current consensus",
            f"{row['n']} current consensus records",
            "at most 1",
        )


def consensus_grounds(project_id: int | None = None) -> Iterator[Violation]:
    """Every consensus record rests on verdicts of its own claim, with a rating of its
    claim's project; one decided by the project's rule rests on at least one verdict."""
    records = _scoped(Consensus.objects.all(), project_id, "claim__project_id")
    links = Consensus.verdicts.through.objects.filter(consensus__in=records.values("pk"))
    foreign = links.exclude(verdict__claim_id=F("consensus__claim_id")).order_by("pk")
    for consensus_id, claim_id, verdict_id, other in foreign.values_list(
        "consensus_id", "consensus__claim_id", "verdict_id", "verdict__claim_id"
    ).iterator(chunk_size=2000):
        yield Violation(
            f"consensus {consensus_id} (claim {claim_id})",
            "rests on verdicts of its claim",
            f"verdict {verdict_id} of claim {other}",
            f"verdicts of claim {claim_id}",
        )
    bare = (
        records.filter(method__in=("unanimous", "majority"))
        .annotate(n=Count("verdicts"))
        .filter(n=0)
        .order_by("pk")
    )
    for pk, claim_id, method in bare.values_list("pk", "claim_id", "method").iterator(
        chunk_size=2000
    ):
        yield Violation(
            f"consensus {pk} (claim {claim_id})",
            "rests on existing verdicts",
            f"a {method} decision resting on no verdict",
            "the verdicts the rule decided on",
        )
    scale = records.exclude(rating__project_id=F("claim__project_id")).order_by("pk")
    for pk, claim_id, rating_id in scale.values_list("pk", "claim_id", "rating_id").iterator(
        chunk_size=2000
    ):
        yield Violation(
            f"consensus {pk} (claim {claim_id})",
            "rating from its project's scale",
            f"rating {rating_id} of another project",
            "a rating of the claim's project",
        )


def claim_statuses(project_id: int | None = None) -> Iterator[Violation]:
    """Every status is one the review rules reach: disputed, resolved and published only
    after verdicts came in (published also needs a consensus: ``claim_consensus``)."""
    verdicts = Verdict.objects.filter(claim=OuterRef("pk"))
    unjudged = (
        _scoped(Claim.objects.all(), project_id, "project_id")
        .filter(status__in=JUDGED)
        .exclude(Exists(verdicts))
        .order_by("pk")
    )
    for pk, status in unjudged.values_list("pk", "status").iterator(chunk_size=2000):
        yield Violation(
            f"claim {pk}",
            "status reachable",
            f"status {status} with no verdict",
            "in review until verdicts decide it",
        )
    invalid = (
        _scoped(Claim.objects.all(), project_id, "project_id")
        .exclude(status__in=ClaimStatus.values)
        .order_by("pk")
    )
    for pk, status in invalid.values_list("pk", "status").iterator(chunk_size=2000):
        yield Violation(
            f"claim {pk}", "status valid", f"status {status!r}", f"one of {ClaimStatus.values}"
        )


def claims_decided_when_judged(project_id: int | None = None) -> Iterator[Violation]:
    """No claim waits in review with its project's required counted verdicts
    (``selectors.claims_unsettled``): the number was lowered and the sweep that decides
    such claims has not run (``manage.py settle_consensus`` runs it)."""
    for pk, counted, required in (
        claims_unsettled(project_id=project_id)
        .values_list("pk", "counted", "project__required_reviews")
        .iterator(chunk_size=2000)
    ):
        yield Violation(
            f"claim {pk}",
            "decided when judged",
            f"in review with {counted} counted verdicts of the {required} required",
            "a decision (manage.py settle_consensus)",
        )


def claim_publications(project_id: int | None = None) -> Iterator[Violation]:
    """A claim has publication versions exactly when its status is public (published,
    corrected, retracted), its latest version is of the kind its status says, and a
    published or corrected claim's current consensus is the rating it is published with."""
    latest = Publication.objects.filter(claim=OuterRef("pk")).order_by("-number")
    claims = _scoped(Claim.objects.all(), project_id, "project_id").annotate(
        latest_kind=Subquery(latest.values("kind")[:1]),
        latest_rating=Subquery(latest.values("rating_key")[:1]),
    )
    public = [str(s) for s in lifecycle.PUBLIC]
    rows = claims.filter(Q(status__in=public) | Q(latest_kind__isnull=False)).order_by("pk")
    for pk, status, kind, rating, consensus_rating in rows.values_list(
        "pk", "status", "latest_kind", "latest_rating", "consensus__rating__key"
    ).iterator(chunk_size=2000):
        expected = LATEST_KIND.get(status)
        if kind != expected:
            yield Violation(
                f"claim {pk}",
                "publication versions match the status",
                f"status {status} with latest version {kind or 'none'}",
                f"latest version {expected}" if expected else "no publication version",
            )
        elif status in lifecycle.IN_FEED and consensus_rating != rating:
            yield Violation(
                f"claim {pk}",
                "published rating is the current consensus",
                f"published {rating}, consensus {consensus_rating}",
                "the same rating",
            )


def finding_spans(project_id: int | None = None) -> Iterator[Violation]:
    """Every triage suggestion, suggestion decision and repeat suggestion quotes its
    document's text at its offsets, in the revision it was made on (the current text, or
    a kept earlier one)."""
    columns = ("start", "end", "text")
    rows = (
        ("suggestion", Suggestion, "run__document", "run__revision", "run__document__project_id"),
        ("suggestion decision", SuggestionDecision, "document", "revision", "project_id"),
        ("repeat suggestion", RepeatSuggestion, "document", "document_revision", "project_id"),
    )
    for kind, model, document, revision_field, path in rows:
        queryset = model.objects.all()
        if project_id is not None:
            queryset = queryset.filter(**{path: project_id})
        texts: _Texts | None = None
        for pk, document_id, revision, start, end, stored in (
            queryset.order_by(document, "pk")
            .values_list("pk", document, revision_field, *columns)
            .iterator(chunk_size=2000)
        ):
            if texts is None or texts.document_id != document_id:
                current = Document.objects.filter(pk=document_id).values_list("revision", flat=True)
                texts = _Texts(document_id, current.first() or 0)
            text = texts.get(revision)
            actual = None if text is None or not 0 <= start < end <= len(text) else text[start:end]
            if actual != stored:
                yield Violation(
                    f"{kind} {pk} (document {document_id})",
                    "text matches the document",
                    f"{clip(stored)} at [{start}, {end}) of revision {revision}",
                    clip(actual) if actual is not None else "a span of a kept revision",
                )


def claim_links(project_id: int | None = None) -> Iterator[Violation]:
    """A link joins a claim to a reference or an earlier claim of the claim's own project."""
    links = _scoped(ClaimLink.objects.all(), project_id, "project_id").exclude(
        Q(project_id=F("claim__project_id"))
        & (
            Q(reference__isnull=True, target__project_id=F("project_id"))
            | Q(target__isnull=True, reference__project_id=F("project_id"))
        )
    )
    for pk, claim_id in links.order_by("pk").values_list("pk", "claim_id").iterator():
        yield Violation(
            f"claim link {pk} (claim {claim_id})",
            "link within one project",
            "a claim, reference or target of another project",
            "the link's project for all three",
        )


def _creation_events(object_type: str) -> QuerySet[Event]:
    return Event.objects.filter(
        object_type=object_type, object_id=OuterRef("pk"), verb__in=CREATION_VERBS[object_type]
    )


def _import_event(document: str) -> QuerySet[Event]:
    return Event.objects.filter(
        object_type="document", object_id=OuterRef(document), verb="document.import"
    )


def creation_events(project_id: int | None = None) -> Iterator[Violation]:
    """Every document, claim, verdict, reference, claim link and suggestion decision has
    the event that recorded its creation (a native import's ``document.import`` covers
    what it brought)."""
    rows: list[tuple[str, QuerySet[Any]]] = [
        (
            "document",
            _scoped(Document.objects.all(), project_id, "project_id").exclude(
                Exists(_creation_events("document"))
            ),
        ),
        (
            "claim",
            _scoped(Claim.objects.all(), project_id, "project_id")
            .exclude(Exists(_creation_events("claim")))
            .exclude(Exists(_import_event("document_id"))),
        ),
        (
            "verdict",
            _scoped(Verdict.objects.all(), project_id, "claim__project_id")
            .exclude(Exists(_creation_events("verdict")))
            .exclude(Exists(_import_event("claim__document_id"))),
        ),
        *(
            (
                object_type,
                _scoped(model.objects.all(), project_id, "project_id").exclude(
                    Exists(_creation_events(object_type))
                ),
            )
            for object_type, model in (
                ("reference", Reference),
                ("claimlink", ClaimLink),
                ("suggestiondecision", SuggestionDecision),
            )
        ),
    ]
    for object_type, queryset in rows:
        verbs = " or ".join(CREATION_VERBS[object_type])
        for pk in queryset.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=2000):
            yield Violation(
                f"{object_type} {pk}",
                "creation recorded",
                "no creation event",
                f"a {verbs} event for it",
            )


def audit_chain(project_id: int | None = None) -> Iterator[Violation]:
    """Every audit hash chain verifies (``verify_audit``)."""
    chains: list[int | None] = [project_id] if project_id is not None else audit_chains()
    for chain in chains:
        report = audit_verify(project_id=chain)
        if report.problem is not None:
            name = f"audit chain of project {chain}" if chain is not None else "global audit chain"
            yield Violation(
                name,
                "hash chain intact",
                f"{report.problem.kind}: {report.problem.message}",
                "every event's hash and link as recorded",
            )


def calibration_apart(project_id: int | None = None) -> Iterator[Violation]:
    """Gold calibration (issue 18): no consensus record rests on a calibration verdict, and
    a gold mark's claim and expected rating belong to the mark's project."""
    records = _scoped(Consensus.objects.all(), project_id, "claim__project_id")
    links = Consensus.verdicts.through.objects.filter(
        consensus__in=records.values("pk"), verdict__calibration=True
    ).order_by("pk")
    for consensus_id, verdict_id in links.values_list("consensus_id", "verdict_id"):
        yield Violation(
            f"consensus {consensus_id}",
            "rests on no calibration verdict",
            f"calibration verdict {verdict_id}",
            "review verdicts only (calibration verdicts score their reviewer)",
        )
    marks = GoldClaim.objects.all()
    if project_id is not None:
        marks = marks.filter(project_id=project_id)
    foreign = marks.exclude(claim__project_id=F("project_id")) | marks.exclude(
        rating__project_id=F("project_id")
    )
    for pk, claim_id, project in foreign.order_by("pk").values_list("pk", "claim_id", "project_id"):
        yield Violation(
            f"gold mark {pk} (claim {claim_id})",
            "claim and rating of its project",
            "a claim or rating of another project",
            f"project {project}'s",
        )


INVARIANTS: tuple[tuple[str, Callable[[int | None], Iterator[Violation]]], ...] = (
    ("claim anchors", claim_anchors),
    ("document text chunks", document_text_chunks),
    ("current verdicts", current_verdicts),
    ("consensus for decided claims", claim_consensus),
    ("consensus grounds", consensus_grounds),
    ("calibration apart", calibration_apart),
    ("statuses reachable", claim_statuses),
    ("decided when judged", claims_decided_when_judged),
    ("publication versions", claim_publications),
    ("finding-claims spans", finding_spans),
    ("claim links", claim_links),
    ("creation events", creation_events),
    ("documents match their events", reconcile.document_rows),
    ("claims match their events", reconcile.claim_rows),
    ("verdicts match their events", reconcile.verdict_rows),
    ("consensus matches its events", reconcile.consensus_rows),
    ("audit chain", audit_chain),
)


def integrity_violations(project_id: int | None = None) -> Iterator[tuple[str, Violation]]:
    """Every violation of every invariant, as (invariant group, violation)."""
    for name, check in INVARIANTS:
        for violation in check(project_id):
            yield name, violation
