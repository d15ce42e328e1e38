"""Reads about documents: the reader's claims and text windows, search, revisions, import.

Callers have checked access first (``annotations.access``); these read what a page, the
API or the export shows, with their ``select_related``/``prefetch_related``, in a number
of queries that does not grow with the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, StrIndex
from django.http import Http404

from annotations import access
from annotations.access import User
from annotations.compiled import CompiledValuesList
from annotations.core import language, spans
from annotations.models import (
    DOCUMENT_TEXT_WINDOW_ARGUMENTS,
    AnchorStatus,
    Assignment,
    AssignmentState,
    Claim,
    ClaimAnchor,
    Document,
    DocumentRevision,
    Event,
    Project,
    Verdict,
    document_text_window_arguments,
    document_text_window_expression,
)

# Full-text search configuration on PostgreSQL. One fixed configuration (rather than the
# server's default_text_search_config) so the vector and the query always stem alike.
SEARCH_CONFIG = "english"
# Search terms in a script written without spaces (Chinese, Japanese, Thai…) are looked up
# as substrings, each a scan of the project's texts (PostgreSQL strpos: about 0.15 s per
# 40 million characters on one core, cheaper than the full-text path's to_tsvector). Only
# the first few such terms of a query are used, so one query costs a few scans at most.
MAX_SUBSTRING_TERMS = 4


def claims_for_reader(
    *,
    document: Document,
    start: int | None = None,
    end: int | None = None,
    judged_by: User | None = None,
) -> QuerySet[Claim]:
    """A document's claims anchored in its current text, in text order (reader, admin
    highlight). Orphans of an earlier revision are left out: their offsets refer to a
    text that is no longer shown (see ``claims_orphaned``). With ``start``/``end``, only
    the claims overlapping ``[start, end)`` (a reader window; index ``document, start``).
    With ``judged_by``, each claim has ``judged_by_me`` (that user has a verdict on its
    current version) and ``skipped_by_me`` (they skipped it), in the same query."""
    queryset = Claim.objects.filter(document=document, anchor_revision=document.revision)
    if judged_by is not None:
        queryset = queryset.annotate(
            judged_by_me=Exists(
                Verdict.objects.filter(
                    claim_id=OuterRef("pk"),
                    reviewer_id=judged_by.pk,
                    claim_version=OuterRef("claim_version"),
                )
            ),
            skipped_by_me=Exists(
                Assignment.objects.filter(
                    claim_id=OuterRef("pk"),
                    reviewer_id=judged_by.pk,
                    state=AssignmentState.SKIPPED,
                )
            ),
        )
    if end is not None:
        queryset = queryset.filter(start__lt=end)
    if start is not None:
        queryset = queryset.filter(end__gt=start)
    return queryset.order_by("start", "end", "id")


def document_text_window(
    *, document: Document, start: int, end: int, for_update: bool = False
) -> str:
    """``document.text[start:end]`` (code points), read without loading the whole text:
    SQL ``substr`` counts characters on PostgreSQL (UTF-8) and SQLite alike.

    ``for_update`` reads it in the statement that locks the document row until the
    transaction ends (call inside one): the lock and the window cost one query, or none
    when the document was read locked with a window covering this one
    (``access.document_get_for_user(locked_window=…)``, in the same transaction)."""
    if "text" in document.__dict__ and not for_update:
        return document.text[start:end]
    # Used once, in the transaction that read it: the document object may outlive it.
    locked = document.__dict__.pop("locked_window", None) if for_update else None
    if locked is not None:
        locked_start, text = locked
        if locked_start <= start and end <= locked_start + len(text):
            return text[start - locked_start : end - locked_start]
    rows = _WINDOW_READS[for_update].rows(
        pk=document.pk, **document_text_window_arguments(start, end)
    )
    if not rows:
        raise Document.DoesNotExist(f"No document {document.pk}.")
    return rows[0][0]


# ``text[start:end]`` of one document, with or without locking its row, compiled once
# (annotations.compiled): building the chunk subquery of the window
# (``models.document_text_window_expression``) cost more than the database's answer.
_WINDOW_READS = {
    for_update: CompiledValuesList(
        Document,
        lambda pk, for_update=for_update, **window: (
            (
                Document.objects.select_for_update(no_key=True)
                if for_update
                else Document.objects.all()
            )
            .filter(pk=pk)
            .annotate(window=document_text_window_expression(**window))
            .values_list("window")
        ),
        pk=int,
        **dict.fromkeys(DOCUMENT_TEXT_WINDOW_ARGUMENTS, int),
    )
    for for_update in (False, True)
}


def claims_orphaned(*, document: Document) -> QuerySet[Claim]:
    """Claims a revision could not place in the current text, waiting to be re-anchored by hand."""
    return (
        Claim.objects.filter(document=document)
        .exclude(anchor_revision=document.revision)
        .order_by("id")
    )


def document_search_for_user(
    *, user: User, project: Project, query: str = ""
) -> QuerySet[Document]:
    """The project's documents matching ``query``, best first, without their text loaded.

    PostgreSQL: full-text search over title (weight A) and text (weight B) with web-search
    syntax ("quoted phrases", -exclusions, or), ordered by rank. Other databases: every
    word must occur in the title or the text (case-insensitive), newest first. On both, a
    term in a script written without spaces (Chinese, Japanese…) must occur as a substring
    (``_substring_terms_filter``). Each row has ``claim_count``.
    """
    claims = (
        Claim.objects.filter(document=OuterRef("pk"))
        .order_by()
        .values("document")
        .annotate(n=Count("id"))
        .values("n")
    )
    queryset = (
        access.document_list_for_user(user=user, project=project)
        .defer("text", "raw_text")
        .annotate(claim_count=Coalesce(Subquery(claims), 0))
    )
    query = query.strip()
    if not query:
        return queryset.order_by("-created_at", "-id")
    queryset, query = _substring_terms_filter(queryset, query)
    if not query:
        return queryset.order_by("-created_at", "-id")
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector("title", weight="A", config=SEARCH_CONFIG) + SearchVector(
            "text", weight="B", config=SEARCH_CONFIG
        )
        search = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        return (
            queryset.alias(search=vector)
            .filter(search=search)
            .annotate(rank=SearchRank(vector, search))
            .order_by("-rank", "-created_at", "-id")
        )
    for word in query.split():
        queryset = queryset.filter(Q(title__icontains=word) | Q(text__icontains=word))
    return queryset.order_by("-created_at", "-id")


def _substring_terms_filter(
    queryset: QuerySet[Document], query: str
) -> tuple[QuerySet[Document], str]:
    """Filter by the query's terms that hold a script written without spaces between words
    (``core.language.has_unspaced_script``): neither PostgreSQL's word index nor a word
    match finds "北京" inside "我在北京大学工作", so each must occur in the title or the text
    as a substring. Returns the filtered rows and the rest of the query, for word search.

    A term without upper and lower case (all CJK) is found with ``strpos``, which reads
    the text as stored; a mixed term ("iPhone手机") ignores case, at ``UPPER``'s price.
    "-北京" leaves out the documents holding it."""
    substring_terms: list[tuple[str, bool]] = []  # (term, excluded)
    rest: list[str] = []
    for word in query.split():
        excluded = word.startswith("-")
        term = word.removeprefix("-").strip('"')
        if term and language.has_unspaced_script(term):
            substring_terms.append((term, excluded))
        else:
            rest.append(word)
    for index, (term, excluded) in enumerate(substring_terms[:MAX_SUBSTRING_TERMS]):
        if term.lower() != term.upper():
            found = Q(title__icontains=term) | Q(text__icontains=term)
        else:
            in_title, in_text = f"in_title_{index}", f"in_text_{index}"
            queryset = queryset.alias(
                **{in_title: StrIndex("title", Value(term)), in_text: StrIndex("text", Value(term))}
            )
            found = Q(**{f"{in_title}__gt": 0}) | Q(**{f"{in_text}__gt": 0})
        queryset = queryset.exclude(found) if excluded else queryset.filter(found)
    return queryset, " ".join(rest)


def documents_recent_for_project(*, project: Project, limit: int = 5) -> list[Document]:
    return list(
        Document.objects.filter(project=project)
        .only("id", "title", "publisher", "created_at", "project_id")
        .order_by("-created_at", "-id")[:limit]
    )


def document_revisions_list(*, document: Document) -> QuerySet[DocumentRevision]:
    """A document's superseded texts, oldest first, without the texts loaded."""
    return (
        DocumentRevision.objects.filter(document=document)
        .select_related("superseded_by")
        .defer("text", "raw_text")
        .order_by("number")
    )


def document_revision_get(*, document: Document, number: int) -> DocumentRevision:
    """One superseded text of ``document`` (call after the document's access check); 404 if
    there is no such revision (the current text is the document itself)."""
    revision = (
        DocumentRevision.objects.filter(document=document, number=number)
        .select_related("superseded_by")
        .first()
    )
    if revision is None:
        raise Http404
    return revision


def claims_needing_review(*, document: Document) -> QuerySet[Claim]:
    """Claims of the current text whose quoted text a revision changed: the span shown is
    the re-anchoring's proposal, to be confirmed or re-anchored by a person."""
    return Claim.objects.filter(
        document=document, anchor_revision=document.revision, anchor_status=AnchorStatus.CHANGED
    ).order_by("start", "end", "id")


def claim_previous_anchor(*, claim: Claim) -> ClaimAnchor | None:
    """The claim's anchor before the latest re-anchoring (revision or by hand), if any."""
    return ClaimAnchor.objects.filter(claim=claim).order_by("-replaced_at", "-id").first()


@dataclass(frozen=True)
class PlacementRow:
    """What a revision did to one claim, as recorded in its ``claim.reanchor`` event."""

    claim: Claim
    outcome: str  # unchanged, moved, changed, orphaned
    before: tuple[int, int, str]
    after: tuple[int, int, str] | None
    note: str


def revision_placements(*, document: Document, number: int) -> list[PlacementRow]:
    """How the claims of text ``number`` were re-anchored when text ``number + 1`` replaced
    it, in claim order, rebuilt from the audit events ``services.document_revise`` wrote.
    Two queries, however many claims."""
    claims = Claim.objects.filter(document=document).only(
        "id", "statement", "status", "anchor_status", "document_id", "project_id"
    )
    events = Event.objects.filter(
        verb="claim.reanchor",
        object_type="claim",
        project_id=document.project_id,
        object_id__in=claims.values("id"),
        before__revision=number,
        after__revision=number + 1,
    ).order_by("object_id", "id")
    by_id = {claim.pk: claim for claim in claims}
    rows = []
    for event in events:
        claim = by_id.get(event.object_id)
        if claim is None:
            continue
        before, after = event.before or {}, event.after or {}
        placed = "start" in after
        rows.append(
            PlacementRow(
                claim=claim,
                outcome=after.get("outcome", ""),
                before=(before.get("start"), before.get("end"), before.get("exact", "")),
                after=(after["start"], after["end"], after.get("exact", "")) if placed else None,
                note=after.get("note", ""),
            )
        )
    return rows


def document_duplicate_get(*, project: Project, text: str) -> Document | None:
    """The project's document whose canonical text is ``text`` once canonicalised, if any
    (the import's duplicate rule: same ``text_sha256`` in the same project)."""
    sha = spans.text_sha256(spans.canonicalize(text))
    return (
        Document.objects.filter(project=project, text_sha256=sha)
        .only("id", "title", "project_id")
        .first()
    )
