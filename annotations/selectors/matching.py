"""Finding earlier fact checks (issue 17): the matching engine in the app.

Each process keeps one ``core.matching.MatchIndex`` per project, built lazily from the
database on the project's first search and kept current by every later search:

* **What is indexed**: the project's references (``Reference.claim_reviewed``) and its
  claims that are not withdrawn (``Claim.statement``), keyed ``("reference", id)`` and
  ``("claim", id)``.
* **Kept current**: each search first reads a cheap fingerprint of the project (count and
  largest id of its references; count, largest id and sum of ``version`` of its claims:
  two aggregate queries). New rows (ids above the last seen) are added; when the claims
  changed otherwise (an edit raises ``version``, a withdrawal lowers the count) their
  ids and versions are read and only the changed ones are discarded and added again; a
  reference that disappeared (none is ever deleted by a service) rebuilds the index.
  So another process's writes are seen at the next search, without signals or messages.
* **Vectors are stored**: a reference's embedding is computed when it is created
  (``embed``) and kept in ``Reference.vector`` (float32 bytes), so a rebuild reads it
  instead of embedding again. Claims are embedded when indexed (a desk's claims are few
  next to an archive).
* **Thread-safe**: one lock per project's index (searches of one project run one at a
  time; the engine's search takes ~10 ms at 100k references) and one for the table.
* **Semantic or lexical**: WordLlama's embeddings load from the installed wheel once per
  process; if they cannot (the package is missing, ``MATCHING_SEMANTIC`` is off), the
  engine runs lexical only with reciprocal rank fusion, and ``engine_status`` says so.

What a caller may see of a match is decided here too (``matches_for_user``): references
are the project's (every member reads them); a claim's rating is shown only when it is
public (published, corrected or retracted: the published rating) or when the caller may
see every verdict on it (``access.can_see_all_verdicts``: editors, or a reviewer who has
judged it) — a reviewer still blind to a claim learns its statement and status, which the
claim list shows them anyway, never its consensus.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Count, F, Max, Sum

from annotations import access
from annotations.core import lifecycle, matching
from annotations.models import (
    Claim,
    ClaimStatus,
    Membership,
    Publication,
    Reference,
    RepeatSuggestion,
)

logger = logging.getLogger(__name__)

REFERENCE = "reference"
CLAIM = "claim"
KINDS = (REFERENCE, CLAIM)  # what a match or a link points at (the OpenAPI MatchKindEnum)
MAX_QUERY_CHARS = 5_000  # a matches query, like a claim's statement
MAX_LIMIT = 50


# --- the engine's parts, once per process ------------------------------------------------------


@dataclass
class _Engine:
    embedder: matching.Embedder | None
    reranker: matching.Reranker | None
    note: str


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _engine_get() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _engine_load()
        return _engine


def _engine_load() -> _Engine:
    # One BLAS thread: a server runs requests in parallel already, and BLAS threads
    # spinning on a busy machine made a 10k x 256 product 3x slower (bench/README.md).
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    if not settings.MATCHING_SEMANTIC:
        return _Engine(None, None, "lexical only: MATCHING_SEMANTIC is off")
    try:
        embedder: matching.Embedder = matching.WordLlamaEmbedder()
    except Exception as exc:  # a broken install must not break claim creation
        logger.warning("matching: WordLlama embeddings unavailable (%s); lexical only", exc)
        return _Engine(None, None, f"lexical only: WordLlama embeddings unavailable ({exc})")
    try:
        reranker: matching.Reranker | None = matching.Reranker.load(settings.MATCHING_RERANKER)
    except (OSError, ValueError) as exc:
        logger.warning("matching: re-ranker unavailable (%s); reciprocal rank fusion", exc)
        return _Engine(embedder, None, "semantic + lexical, reciprocal rank fusion (no re-ranker)")
    return _Engine(embedder, reranker, "semantic + lexical, learned re-ranker")


def engine_status() -> dict[str, Any]:
    """What the matcher runs on in this process (loads it if needed)."""
    engine = _engine_get()
    return {
        "semantic": engine.embedder is not None,
        "reranker": engine.reranker is not None,
        "note": engine.note,
    }


def engine_reset() -> None:
    """Forget the loaded engine and every project's index (tests, settings changes)."""
    global _engine
    with _engine_lock:
        _engine = None
    with _indexes_lock:
        _indexes.clear()


def embed(texts: Sequence[str]) -> list[bytes | None]:
    """The stored form of each text's embedding (float32 bytes), None lexical only."""
    import numpy as np

    engine = _engine_get()
    if engine.embedder is None or not texts:
        return [None] * len(texts)
    vectors = engine.embedder.embed([matching.normalize_text(t) for t in texts])
    return [row.astype(np.float32).tobytes() for row in vectors]


def _vector(raw: bytes | memoryview | None, dim: int) -> matching.FloatArray | None:
    import numpy as np

    if raw is None:
        return None
    vector = np.frombuffer(bytes(raw), dtype=np.float32)
    return vector if vector.shape == (dim,) else None


def repeat_threshold() -> float:
    """The similarity (``MatchIndex.similarity``, 0-1) from which a sentence is a repeat."""
    return float(settings.MATCHING_REPEAT_THRESHOLD)


# --- one index per project ---------------------------------------------------------------------


@dataclass
class _ProjectIndex:
    index: matching.MatchIndex
    lock: threading.Lock = field(default_factory=threading.Lock)
    refs: tuple[Any, ...] = ()  # _fingerprint: newest reference's (id, created_at); () unbuilt
    claims: tuple[Any, ...] = ()
    claim_versions: dict[int, tuple[int, Any]] = field(default_factory=dict)


_indexes: dict[int, _ProjectIndex] = {}
_indexes_lock = threading.Lock()


def _claims_indexed(project_id: int) -> Any:
    return Claim.objects.filter(project_id=project_id).exclude(status=ClaimStatus.WITHDRAWN)


def _fingerprint(project_id: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Cheap: the newest reference (id and creation time: one row read backwards on the
    ``(project, id)`` index; references are only ever added), and count, largest id, sum
    of versions and latest creation time of the indexed claims (an edit raises a claim's
    version, a withdrawal lowers the count). The times tell apart rows that reused an id
    (SQLite reuses the ids of rolled-back rows)."""
    newest = (
        Reference.objects.filter(project_id=project_id)
        .order_by("-id")
        .values_list("id", "created_at")
        .first()
    )
    claims = _claims_indexed(project_id).aggregate(
        n=Count("id"), m=Max("id"), v=Sum("version"), t=Max("created_at")
    )
    return (newest or (0, None)), (claims["n"], claims["m"] or 0, claims["v"] or 0, claims["t"])


def _add_references(entry: _ProjectIndex, project_id: int, after_id: int, upto_id: int) -> None:
    embedder = entry.index.embedder
    dim = embedder.dim if embedder is not None else 0
    rows = (
        Reference.objects.filter(project_id=project_id, pk__gt=after_id, pk__lte=upto_id)
        .order_by("id")
        .values_list("id", "claim_reviewed", *(["vector"] if embedder is not None else []))
    )
    keys: list[Hashable] = []
    texts: list[str] = []
    vectors: list[matching.FloatArray | None] = []
    for row in rows.iterator(chunk_size=5_000):
        keys.append((REFERENCE, row[0]))
        texts.append(row[1])
        vectors.append(_vector(row[2], dim) if embedder is not None else None)
    if keys:
        entry.index.add(keys, texts, vectors=vectors if embedder is not None else None)


def _add_claims(entry: _ProjectIndex, rows: Sequence[tuple[int, str, int, Any]]) -> None:
    if rows:
        entry.index.add([(CLAIM, row[0]) for row in rows], [row[1] for row in rows])
        entry.claim_versions.update({pk: (version, at) for pk, _, version, at in rows})


_CLAIM_ROW = ("id", "statement", "version", "created_at")


def _build(project_id: int) -> _ProjectIndex:
    engine = _engine_get()
    entry = _ProjectIndex(matching.MatchIndex(embedder=engine.embedder, reranker=engine.reranker))
    entry.refs, entry.claims = _fingerprint(project_id)
    _add_references(entry, project_id, 0, entry.refs[0])
    _add_claims(
        entry,
        list(
            _claims_indexed(project_id)
            .filter(pk__lte=entry.claims[1])
            .order_by("id")
            .values_list(*_CLAIM_ROW)
        ),
    )
    entry.index.compact()
    return entry


def _refresh(entry: _ProjectIndex, project_id: int) -> _ProjectIndex | None:
    """Bring ``entry`` up to the database (under its lock); None when it must be rebuilt."""
    refs, claims = _fingerprint(project_id)
    if refs != entry.refs:
        if refs[0] <= entry.refs[0]:
            return None  # the newest reference is gone or was replaced: start again
        _add_references(entry, project_id, entry.refs[0], refs[0])
        entry.refs = refs
    if claims != entry.claims:
        current = {
            pk: (version, at)
            for pk, version, at in _claims_indexed(project_id).values_list(
                "id", "version", "created_at"
            )
        }
        gone = [pk for pk in entry.claim_versions if pk not in current]
        changed = [pk for pk, seen in current.items() if entry.claim_versions.get(pk) != seen]
        for pk in [*gone, *changed]:
            entry.index.discard((CLAIM, pk))
            entry.claim_versions.pop(pk, None)
        _add_claims(
            entry,
            list(Claim.objects.filter(pk__in=changed).order_by("id").values_list(*_CLAIM_ROW)),
        )
        entry.claims = claims
    return entry


def project_index(project_id: int) -> _ProjectIndex:
    """The project's index, current with the database (built on first use)."""
    with _indexes_lock:
        entry = _indexes.get(project_id)
        if entry is None:
            entry = _indexes[project_id] = _ProjectIndex(matching.MatchIndex())
    return entry


def _bring_current(entry: _ProjectIndex, project_id: int) -> None:
    """Refresh ``entry`` from the database, or rebuild it; call holding ``entry.lock``."""
    current = _refresh(entry, project_id) if entry.refs else None
    if current is None:
        rebuilt = _build(project_id)
        entry.index, entry.refs, entry.claims = rebuilt.index, rebuilt.refs, rebuilt.claims
        entry.claim_versions = rebuilt.claim_versions


def warm_up(project_ids: Sequence[int] | None = None) -> list[int]:
    """Build (or bring current) the index of each project that has references or public
    claims, so that no request pays for the build; returns the projects warmed. A server
    process runs it in a background thread when it starts (``MATCHING_WARM_UP``,
    ``start_warm_up``): a search that arrives meanwhile waits for that project's build
    instead of starting a second one."""
    if project_ids is None:
        with_refs = Reference.objects.values_list("project_id", flat=True).distinct()
        public = (
            Claim.objects.filter(status__in=[str(x) for x in lifecycle.PUBLIC])
            .values_list("project_id", flat=True)
            .distinct()
        )
        project_ids = sorted({*with_refs, *public})
    for project_id in project_ids:
        entry = project_index(project_id)
        with entry.lock:
            _bring_current(entry, project_id)
    return list(project_ids)


def start_warm_up() -> threading.Thread | None:
    """``warm_up`` in a daemon thread when ``MATCHING_WARM_UP`` is on (the WSGI entry
    point calls it once per server process); None when it is off."""
    if not settings.MATCHING_WARM_UP:
        return None

    def run() -> None:
        try:
            warm_up()
        except Exception:  # the first search builds the index instead
            logger.exception("Warming the matching indexes failed")
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=run, name="matching-warm-up", daemon=True)
    thread.start()
    return thread


def _search(
    project_id: int, text: str, limit: int, depth: int = matching.DEFAULT_CANDIDATES
) -> list[matching.Match]:
    entry = project_index(project_id)
    with entry.lock:
        _bring_current(entry, project_id)
        return entry.index.search(text, limit, depth=depth)


# --- what a caller sees --------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchRow:
    kind: str  # "reference" or "claim"
    id: int
    score: float
    text: str  # claim_reviewed of a reference, statement of a claim
    rating: str | None
    url: str
    status: str  # a claim's status; "published" for a reference (a published fact check)
    flags: dict[str, Any]
    headline: str = ""
    publisher: str = ""
    document_id: int | None = None


def flags_of(differences: matching.Differences) -> dict[str, Any]:
    return {
        "numbers_differ": differences.numbers_differ,
        "negation_differs": differences.negation_differs,
        "numbers_only_in_text": sorted(differences.numbers_only_in_query),
        "numbers_only_in_match": sorted(differences.numbers_only_in_match),
    }


def _published_ratings(claim_ids: Sequence[int]) -> dict[int, str]:
    """The rating each public claim's latest publication version carries."""
    ratings: dict[int, str] = {}
    for claim_id, label in (
        Publication.objects.filter(claim_id__in=claim_ids)
        .order_by("claim_id", "number")
        .values_list("claim_id", "rating_label")
    ):
        ratings[claim_id] = label  # the last version wins
    return ratings


def claim_ratings_visible(
    *, claims: Sequence[Claim], user: access.User, membership: Membership | None
) -> dict[int, str | None]:
    """Each claim's rating as ``user`` may see it (None where blind review hides it). The
    claims are presented as ``user`` is shown them (``access.claims_present_for``: a gold
    claim shows a reviewer the status of a claim in review, and no rating)."""
    access.claims_present_for(user=user, claims=claims, membership=membership)
    public = [c.pk for c in claims if c.status in lifecycle.PUBLIC]
    published = _published_ratings(public)
    editor = access.is_editor(membership)
    judged = set() if editor else access.claims_judged_by(user=user, claims=claims)
    out: dict[int, str | None] = {}
    for claim in claims:
        if claim.pk in published:
            out[claim.pk] = published[claim.pk]
        elif claim.consensus_id is not None and (editor or claim.pk in judged):
            out[claim.pk] = claim.consensus.rating.label
        else:
            out[claim.pk] = None
    return out


def matches_for_user(
    *,
    project_id: int,
    user: access.User,
    membership: Membership | None,
    text: str,
    limit: int = 5,
    exclude_claim_id: int | None = None,
    only_checked: bool = False,
) -> list[MatchRow]:
    """The best ``limit`` earlier fact checks and claims for ``text``, best first, as
    ``user`` may see them. ``exclude_claim_id`` leaves a claim out (its own page);
    ``only_checked`` keeps references and public claims only (repeat detection)."""
    if not text.strip() or limit <= 0:
        return []
    matches = _search(project_id, text, limit + 10)
    ref_ids = [k[1] for k in (m.key for m in matches) if isinstance(k, tuple) and k[0] == REFERENCE]
    claim_ids = [k[1] for k in (m.key for m in matches) if isinstance(k, tuple) and k[0] == CLAIM]
    references = (
        Reference.objects.filter(project_id=project_id, pk__in=ref_ids).defer("vector").in_bulk()
        if ref_ids
        else {}
    )
    claims = (
        Claim.objects.filter(project_id=project_id, pk__in=claim_ids)
        .exclude(status=ClaimStatus.WITHDRAWN)
        .select_related("consensus__rating")
        .in_bulk()
        if claim_ids
        else {}
    )
    if only_checked:
        claims = {pk: c for pk, c in claims.items() if c.status in lifecycle.PUBLIC}
    ratings = claim_ratings_visible(claims=list(claims.values()), user=user, membership=membership)
    rows: list[MatchRow] = []
    for match in matches:
        kind, pk = match.key  # type: ignore[misc]
        if kind == REFERENCE and pk in references:
            ref = references[pk]
            rows.append(
                MatchRow(
                    kind=REFERENCE,
                    id=pk,
                    score=round(match.score, 4),
                    text=ref.claim_reviewed,
                    rating=ref.rating or None,
                    url=ref.url,
                    status=str(ClaimStatus.PUBLISHED),
                    flags=flags_of(matching.differences(text, ref.claim_reviewed)),
                    headline=ref.headline,
                    publisher=ref.publisher,
                )
            )
        elif kind == CLAIM and pk in claims and pk != exclude_claim_id:
            claim = claims[pk]
            rows.append(
                MatchRow(
                    kind=CLAIM,
                    id=pk,
                    score=round(match.score, 4),
                    text=claim.statement,
                    rating=ratings.get(pk),
                    url=claim.get_absolute_url(),
                    status=claim.status,
                    flags=flags_of(matching.differences(text, claim.statement)),
                    document_id=claim.document_id,
                )
            )
        if len(rows) == limit:
            break
    return rows


def sentence_matches(
    *, project_id: int, texts: Sequence[str], exclude_document_id: int | None = None
) -> list[tuple[str, int, float, matching.Differences] | None]:
    """For each text, its best already-checked match (a reference or a public claim of the
    project) as ``(kind, id, similarity, differences)``, or None; the similarity is
    ``MatchIndex.similarity`` of the text and the match (not the ranking score, which
    depends on the other candidates), and the match is the most similar allowed entry
    (``MatchIndex.most_similar``: every sentence against every entry in a few matrix
    products, not one search per sentence). No caller's view applies: the
    background scan records it, and what a user sees of it is filtered when shown."""
    out: list[tuple[str, int, float, matching.Differences] | None] = []
    public = set(
        Claim.objects.filter(project_id=project_id, status__in=[str(s) for s in lifecycle.PUBLIC])
        .exclude(document_id=exclude_document_id)
        .values_list("id", flat=True)
    )

    def allowed(key: Any) -> bool:
        kind, pk = key
        return bool(kind == REFERENCE or pk in public)

    entry = project_index(project_id)
    with entry.lock:  # one refresh for the whole document
        _bring_current(entry, project_id)
        found = entry.index.most_similar(texts, allowed=allowed)
    for text, similar in zip(texts, found, strict=True):
        if similar is None:
            out.append(None)
            continue
        kind, pk = similar.key  # type: ignore[misc]
        out.append((kind, pk, similar.similarity, matching.differences(text, similar.text)))
    return out


# --- lists: references, a claim's links, repeat suggestions -------------------------------------


def references_list(*, project_id: int, q: str = "") -> Any:
    """A project's references, newest first; ``q`` filters on the claim, headline,
    publisher or rating (case-insensitive substring)."""
    from django.db.models import Q

    queryset = Reference.objects.filter(project_id=project_id).defer("vector").order_by("-id")
    q = q.strip()
    if q:
        queryset = queryset.filter(
            Q(claim_reviewed__icontains=q)
            | Q(headline__icontains=q)
            | Q(publisher__icontains=q)
            | Q(rating__icontains=q)
        )
    return queryset


@dataclass(frozen=True)
class LinkRow:
    link: Any  # ClaimLink
    kind: str
    target_id: int
    text: str
    rating: str | None
    url: str
    status: str


def claim_links_for_user(
    *, claim: Claim, user: access.User, membership: Membership | None
) -> list[LinkRow]:
    """The claim's links as ``user`` may see them. An earlier claim's rating shows when it
    is public, or once the caller may see every verdict on *this* claim (editors; a
    reviewer after submitting their own verdict on its current version): a reviewer does
    not learn the desk's earlier verdict on the same claim before judging it."""
    from annotations.models import ClaimLink

    links = list(
        ClaimLink.objects.filter(claim=claim)
        .select_related("reference", "target__consensus__rating")
        .defer("reference__vector")
        .order_by("id")
    )
    targets = [link.target for link in links if link.target is not None]
    access.claims_present_for(user=user, claims=targets, membership=membership)
    published = _published_ratings([t.pk for t in targets if t.status in lifecycle.PUBLIC])
    revealed = bool(targets) and access.can_see_all_verdicts(
        membership=membership, claim=claim, user=user
    )
    rows = []
    for link in links:
        if link.reference is not None:
            ref = link.reference
            rows.append(
                LinkRow(
                    link,
                    REFERENCE,
                    ref.pk,
                    ref.claim_reviewed,
                    ref.rating or None,
                    ref.url,
                    str(ClaimStatus.PUBLISHED),
                )
            )
        else:
            target = link.target
            rating = published.get(target.pk)
            if rating is None and revealed and target.consensus_id is not None:
                rating = target.consensus.rating.label
            rows.append(
                LinkRow(
                    link,
                    CLAIM,
                    target.pk,
                    target.statement,
                    rating,
                    target.get_absolute_url(),
                    target.status,
                )
            )
    return rows


def repeats_for_document(*, document_id: int, revision: int) -> Any:
    """The repeat suggestions of a document's current revision, in text order, with what
    they match (references, public claims: published ratings only)."""
    return (
        RepeatSuggestion.objects.filter(document_id=document_id, document_revision=revision)
        .select_related("reference", "claim")
        .defer("reference__vector")
        .order_by("start", "id")
    )


def repeats_for_project(*, project_id: int, limit: int = 50) -> Any:
    """The project's latest repeat suggestions (the dashboard), best first per document."""
    return (
        RepeatSuggestion.objects.filter(project_id=project_id)
        .filter(document_revision=F("document__revision"))
        .select_related("reference", "claim", "document")
        .defer("reference__vector", "document__text", "document__raw_text")
        .order_by("-created_at", "-score", "id")[:limit]
    )
