"""Reads that cross relations or feed pages, the API and the export.

Two rules live here and nowhere else:

* **Access.** ``*_get_for_user`` helpers look an object up *through* the caller's
  project memberships, so a non-member gets ``Http404`` (never a hint that the object
  exists) and a member without the needed role gets ``PermissionDenied``.
* **Blind review.** ``verdicts_visible_to`` decides which verdicts on a claim a user
  may see: until they have submitted their own, only their own; editors and admins
  see all. Every interface (UI, API, export, admin) reads verdicts through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.utils import timezone

from annotations.core import consensus, spans
from annotations.models import (
    ROLE_RANK,
    AnchorStatus,
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    ClaimAnchor,
    ClaimStatus,
    Consensus,
    Document,
    DocumentRevision,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Source,
    Verdict,
)

User = AbstractBaseUser | AnonymousUser


def _require_user(user: User) -> None:
    if not user.is_authenticated or not user.is_active:
        raise Http404


def membership_get(*, user: User, project_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, project_id=project_id).first()


def role_at_least(membership: Membership | None, role: Role) -> bool:
    return membership is not None and ROLE_RANK[Role(membership.role)] >= ROLE_RANK[role]


def project_list_for_user(*, user: User) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user)


def project_get_for_user(
    *, user: User, pk: int | None = None, slug: str | None = None, role: Role = Role.REVIEWER
) -> tuple[Project, Membership]:
    """The project if ``user`` is a member with at least ``role``: 404 for non-members,
    PermissionDenied for members below ``role``."""
    _require_user(user)
    lookup = {"pk": pk} if pk is not None else {"slug": slug}
    membership = (
        Membership.objects.select_related("project")
        .filter(user=user, **{f"project__{key}": value for key, value in lookup.items()})
        .first()
    )
    if membership is None:
        raise Http404
    if not role_at_least(membership, role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role in the project.")
    return membership.project, membership


def document_list_for_user(*, user: User, project: Project | None = None) -> QuerySet[Document]:
    queryset = Document.objects.filter(project__in=project_list_for_user(user=user))
    if project is not None:
        queryset = queryset.filter(project=project)
    return queryset


def document_get_for_user(
    *, user: User, pk: int, with_text: bool = True
) -> tuple[Document, Membership]:
    _require_user(user)
    queryset = Document.objects.select_related("project")
    if not with_text:
        queryset = queryset.defer("text", "raw_text")
    document = _with_membership(queryset.filter(pk=pk), user).first()
    if document is None:
        raise Http404
    return document, _membership_of(document, user)


def _with_membership(queryset: QuerySet, user: User) -> QuerySet:
    """``queryset`` (of objects with a ``project``) limited to the user's projects, with
    the user's membership read through the same join: lookup and access check in one query."""
    return queryset.filter(project__memberships__user=user).annotate(
        membership_id=F("project__memberships__id"),
        membership_role=F("project__memberships__role"),
        membership_created_at=F("project__memberships__created_at"),
    )


def _membership_of(obj: Document | Claim, user: User) -> Membership:
    return Membership(
        id=obj.membership_id,  # type: ignore[union-attr]
        project=obj.project,
        user=user,
        role=obj.membership_role,  # type: ignore[union-attr]
        created_at=obj.membership_created_at,  # type: ignore[union-attr]
    )


def claim_list_for_user(*, user: User) -> QuerySet[Claim]:
    return Claim.objects.filter(project__in=project_list_for_user(user=user))


def claim_get_for_user(
    *, user: User, pk: int, role: Role = Role.REVIEWER, for_update: bool = False
) -> tuple[Claim, Membership]:
    """The claim if ``user`` belongs to its project (404 otherwise) with at least ``role``
    (PermissionDenied otherwise). ``for_update`` locks the claim row (call inside atomic)."""
    _require_user(user)
    queryset = Claim.objects.select_related("project", "document").defer(
        "document__text", "document__raw_text"
    )
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    claim = _with_membership(queryset.filter(pk=pk), user).first()
    if claim is None:
        raise Http404
    membership = _membership_of(claim, user)
    if not role_at_least(membership, role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role in the project.")
    return claim, membership


# --- blind review ----------------------------------------------------------------------


def claim_can_edit(*, claim: Claim, membership: Membership | None, user: User) -> bool:
    """Statement, claimant and anchor edits: the claim's creator, or an editor/admin."""
    if role_at_least(membership, Role.EDITOR):
        return True
    return membership is not None and user.is_authenticated and claim.created_by_id == user.pk


def can_see_all_verdicts(*, membership: Membership | None, claim: Claim, user: User) -> bool:
    """Editors and admins always; a reviewer once they have a submitted verdict on the claim."""
    if role_at_least(membership, Role.EDITOR):
        return True
    if not user.is_authenticated:
        return False
    return Verdict.objects.filter(claim=claim, reviewer=user).exists()


def verdicts_visible_to(
    *, user: User, claim: Claim, membership: Membership | None, include_history: bool = False
) -> QuerySet[Verdict]:
    """Verdicts on ``claim`` that ``user`` may see under blind review."""
    queryset = (
        Verdict.objects.filter(claim=claim)
        .select_related("reviewer", "rating")
        .prefetch_related("citations__source")
    )
    if not include_history:
        queryset = queryset.filter(is_current=True)
    if membership is None:
        return queryset.none()
    if not can_see_all_verdicts(membership=membership, claim=claim, user=user):
        queryset = queryset.filter(reviewer=user)
    return queryset.order_by("submitted_at", "id")


def verdict_scope_for_user(
    *, user: User, queryset: QuerySet[Verdict] | None = None
) -> QuerySet[Verdict]:
    """Verdicts across claims that ``user`` may see: in their projects, and either their own,
    on claims they have judged themselves, or in projects where they are an editor/admin."""
    queryset = Verdict.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    editor_projects = Membership.objects.filter(
        user=user, role__in=[Role.EDITOR, Role.ADMIN]
    ).values("project_id")
    member_projects = Membership.objects.filter(user=user).values("project_id")
    judged_by_user = Verdict.objects.filter(claim_id=OuterRef("claim_id"), reviewer=user)
    return queryset.filter(claim__project_id__in=member_projects).filter(
        Q(reviewer=user) | Q(claim__project_id__in=editor_projects) | Exists(judged_by_user)
    )


def consensus_history(*, claim: Claim) -> QuerySet[Consensus]:
    return (
        Consensus.objects.filter(claim=claim)
        .select_related("rating", "decided_by")
        .prefetch_related(
            Prefetch("verdicts", queryset=Verdict.objects.select_related("reviewer", "rating"))
        )
        .order_by("sequence")
    )


def claims_for_reader(
    *, document: Document, start: int | None = None, end: int | None = None
) -> QuerySet[Claim]:
    """A document's claims anchored in its current text, in text order (reader, admin
    highlight). Orphans of an earlier revision are left out: their offsets refer to a
    text that is no longer shown (see ``claims_orphaned``). With ``start``/``end``, only
    the claims overlapping ``[start, end)`` (a reader window; index ``document, start``)."""
    queryset = Claim.objects.filter(document=document, anchor_revision=document.revision)
    if end is not None:
        queryset = queryset.filter(start__lt=end)
    if start is not None:
        queryset = queryset.filter(end__gt=start)
    return queryset.order_by("start", "end", "id")


def document_text_window(*, document: Document, start: int, end: int) -> str:
    """``document.text[start:end]`` (code points), read without loading the whole text:
    SQL ``substr`` counts characters on PostgreSQL (UTF-8) and SQLite alike."""
    if "text" in document.__dict__:
        return document.text[start:end]
    return (
        Document.objects.filter(pk=document.pk)
        .annotate(window=Substr("text", start + 1, max(0, end - start)))
        .values_list("window", flat=True)
        .get()
    )


def claims_orphaned(*, document: Document) -> QuerySet[Claim]:
    """Claims a revision could not place in the current text, waiting to be re-anchored by hand."""
    return (
        Claim.objects.filter(document=document)
        .exclude(anchor_revision=document.revision)
        .order_by("id")
    )


def usernames(users: Iterable[AbstractBaseUser]) -> list[str]:
    return [user.get_username() for user in users]


# --- agreement statistics ----------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerAgreement:
    username: str
    verdicts: int
    compared: int
    matched_consensus: int


@dataclass(frozen=True)
class AgreementReport:
    nominal_alpha: float | None
    ordinal_alpha: float | None
    percent_agreement: float | None
    claims: int
    verdicts: int
    reviewers: list[ReviewerAgreement]


def agreement_report(
    *, project: Project, document: Document | None = None, user: User | None = None
) -> AgreementReport:
    """Agreement over every current verdict of the project (or one document), whether or not
    the claim has reached consensus. Ordinal alpha leaves out ratings without an ordinal value.

    Blind review: for a ``user`` below editor, claims still in review count only once that
    user has judged them (otherwise the figures would hint at others' ratings), and the
    per-reviewer rows are left out. ``user=None`` (internal use) and editors get everything.
    """
    verdicts = Verdict.objects.filter(claim__project=project, is_current=True)
    if document is not None:
        verdicts = verdicts.filter(claim__document=document)
    restricted = user is not None and not role_at_least(
        membership_get(user=user, project_id=project.pk), Role.EDITOR
    )
    if restricted:
        judged = Verdict.objects.filter(claim_id=OuterRef("claim_id"), reviewer=user)
        verdicts = verdicts.filter(~Q(claim__status=ClaimStatus.IN_REVIEW) | Exists(judged))
    rows = list(
        verdicts.values_list(
            "claim_id", "reviewer_id", "reviewer__username", "rating__key", "rating__ordinal"
        )
    )
    scale = list(Rating.objects.filter(project=project).values_list("ordinal", flat=True))
    order = sorted({value for value in scale if value is not None})
    nominal_units: dict[int, dict[int, str]] = {}
    ordinal_units: dict[int, dict[int, int]] = {}
    names: dict[int, str] = {}
    for claim_id, reviewer_id, username, key, ordinal in rows:
        names[reviewer_id] = username
        nominal_units.setdefault(claim_id, {})[reviewer_id] = key
        if ordinal is not None:
            ordinal_units.setdefault(claim_id, {})[reviewer_id] = ordinal
    current = Consensus.objects.filter(claim__project=project, is_current=True)
    if document is not None:
        current = current.filter(claim__document=document)
    decided = dict(current.values_list("claim_id", "rating__key"))
    matches = consensus.reviewer_matches(((c, r, k) for c, r, _, k, _ in rows), decided)
    return AgreementReport(
        nominal_alpha=consensus.alpha(nominal_units, level="nominal"),
        ordinal_alpha=consensus.alpha(ordinal_units, level="ordinal", order=order)
        if order
        else None,
        percent_agreement=consensus.percent_agreement(nominal_units),
        claims=len(nominal_units),
        verdicts=len(rows),
        reviewers=[]
        if restricted
        else [
            ReviewerAgreement(
                username=names[m.reviewer],
                verdicts=m.verdicts,
                compared=m.compared,
                matched_consensus=m.matched_consensus,
            )
            for m in matches
        ],
    )


def claims_with_consensus(queryset: QuerySet[Claim]) -> QuerySet[Claim]:
    """Claims with their creator and current consensus loaded in a constant number of queries
    (``claim.current_consensus`` is a list of zero or one record)."""
    return queryset.select_related("created_by").prefetch_related(
        Prefetch(
            "consensus_history",
            queryset=Consensus.objects.filter(is_current=True).select_related("rating"),
            to_attr="current_consensus",
        )
    )


# --- reader and dashboard ------------------------------------------------------------------

# Full-text search configuration on PostgreSQL. One fixed configuration (rather than the
# server's default_text_search_config) so the vector and the query always stem alike.
SEARCH_CONFIG = "english"


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class RatingCount:
    key: str
    label: str
    ordinal: int | None
    count: int


@dataclass(frozen=True)
class ProjectDashboard:
    """Figures for the project dashboard, each from one aggregate query."""

    status_counts: list[StatusCount]  # every status, in workflow order, zeros included
    verdict_distribution: list[RatingCount]  # the scale in display order, zeros included
    my_leases: list[Assignment]  # the user's unexpired leases, claim loaded
    document_count: int

    @property
    def total_claims(self) -> int:
        return sum(row.count for row in self.status_counts)

    @property
    def active_claims(self) -> int:
        """Claims that count towards progress: everything but withdrawn ones."""
        return sum(row.count for row in self.status_counts if row.status != ClaimStatus.WITHDRAWN)

    @property
    def done_claims(self) -> int:
        done = {ClaimStatus.RESOLVED, ClaimStatus.PUBLISHED}
        return sum(row.count for row in self.status_counts if row.status in done)

    @property
    def verdict_total(self) -> int:
        return sum(row.count for row in self.verdict_distribution)


def project_summaries_for_user(*, user: User) -> QuerySet[Project]:
    """The user's projects with ``user_role``, ``document_count`` and ``open_claim_count``
    (in review or disputed) annotated by subqueries: one query, no join fan-out."""
    if not user.is_authenticated:
        return Project.objects.none()
    documents = (
        Document.objects.filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(n=Count("id"))
        .values("n")
    )
    open_claims = (
        Claim.objects.filter(
            project=OuterRef("pk"), status__in=[ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED]
        )
        .order_by()
        .values("project")
        .annotate(n=Count("id"))
        .values("n")
    )
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(
            user_role=Subquery(role),
            document_count=Coalesce(Subquery(documents), 0),
            open_claim_count=Coalesce(Subquery(open_claims), 0),
        )
        .order_by("name", "id")
    )


def project_dashboard_get(
    *, project: Project, user: User, now: dt.datetime | None = None
) -> ProjectDashboard:
    """Claim counts by status, the verdict rating distribution and the user's leases.

    The distribution counts only current verdicts the user may see
    (``verdict_scope_for_user``), so a reviewer's dashboard never reveals a verdict that
    blind review hides from their claim page. Constant number of queries.
    """
    now = now or timezone.now()
    by_status = dict(
        Claim.objects.filter(project=project)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    visible = verdict_scope_for_user(
        user=user, queryset=Verdict.objects.filter(claim__project=project, is_current=True)
    )
    by_rating = dict(
        visible.order_by()
        .values_list("rating_id")
        .annotate(n=Count("id"))
        .values_list("rating_id", "n")
    )
    scale = Rating.objects.filter(project=project).order_by("position", "id")
    leases = (
        Assignment.objects.filter(
            project=project, reviewer=user, state=AssignmentState.LEASED, expires_at__gt=now
        )
        .select_related("claim")
        .defer("claim__exact", "claim__prefix", "claim__suffix")
        .order_by("expires_at", "id")
    )
    return ProjectDashboard(
        status_counts=[
            StatusCount(status=value, label=label, count=by_status.get(value, 0))
            for value, label in ClaimStatus.choices
        ],
        verdict_distribution=[
            RatingCount(
                key=rating.key,
                label=rating.label,
                ordinal=rating.ordinal,
                count=by_rating.get(rating.pk, 0),
            )
            for rating in scale
        ],
        my_leases=list(leases),
        document_count=Document.objects.filter(project=project).count(),
    )


def document_search_for_user(
    *, user: User, project: Project, query: str = ""
) -> QuerySet[Document]:
    """The project's documents matching ``query``, best first, without their text loaded.

    PostgreSQL: full-text search over title (weight A) and text (weight B) with web-search
    syntax ("quoted phrases", -exclusions, or), ordered by rank. Other databases: every
    word must occur in the title or the text (case-insensitive), newest first. Each row
    has ``claim_count``.
    """
    claims = (
        Claim.objects.filter(document=OuterRef("pk"))
        .order_by()
        .values("document")
        .annotate(n=Count("id"))
        .values("n")
    )
    queryset = (
        document_list_for_user(user=user, project=project)
        .defer("text", "raw_text")
        .annotate(claim_count=Coalesce(Subquery(claims), 0))
    )
    query = query.strip()
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


def documents_recent_for_project(*, project: Project, limit: int = 5) -> list[Document]:
    return list(
        Document.objects.filter(project=project)
        .only("id", "title", "publisher", "created_at", "project_id")
        .order_by("-created_at", "-id")[:limit]
    )


# --- review pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimReview:
    """Everything the claim page shows about the review of one claim, for one user, with the
    decisions already taken (templates only read flags). ``verdicts`` went through
    ``verdicts_visible_to``: under blind review it holds only the user's own verdict."""

    verdicts: list[Verdict]
    own_verdict: Verdict | None
    others_visible: bool
    lease: Assignment | None
    ratings: list[Rating]
    consensus: list[Consensus]
    is_editor: bool
    can_judge: bool
    can_revise: bool
    can_skip: bool
    can_adjudicate: bool
    can_publish: bool
    can_reopen: bool
    can_edit: bool

    @property
    def can_submit(self) -> bool:
        return self.can_judge or self.can_revise


def ratings_for_project(*, project_id: int) -> list[Rating]:
    """A project's scale in display order (the order of the 1..n keyboard shortcuts)."""
    return list(Rating.objects.filter(project_id=project_id).order_by("position", "id"))


def lease_held_by(*, user: User, claim: Claim, now: dt.datetime | None = None) -> Assignment | None:
    """The user's unexpired lease on ``claim``, if any."""
    if not user.is_authenticated:
        return None
    return (
        Assignment.objects.filter(
            claim=claim,
            reviewer=user,
            state=AssignmentState.LEASED,
            expires_at__gt=now or timezone.now(),
        )
        .order_by("-leased_at")
        .first()
    )


def claim_review_get(
    *, user: User, claim: Claim, membership: Membership, now: dt.datetime | None = None
) -> ClaimReview:
    """The claim page's review state in a constant number of queries (however many verdicts,
    citations or consensus records the claim has)."""
    verdicts = list(verdicts_visible_to(user=user, claim=claim, membership=membership))
    own = next((v for v in verdicts if v.reviewer_id == user.pk), None)
    is_editor = role_at_least(membership, Role.EDITOR)
    lease = lease_held_by(user=user, claim=claim, now=now)
    open_for_verdicts = claim.status in (ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED)
    return ClaimReview(
        verdicts=verdicts,
        own_verdict=own,
        # A member who has a verdict of their own has, by construction, a current one.
        others_visible=is_editor or own is not None,
        lease=lease,
        ratings=ratings_for_project(project_id=claim.project_id),
        consensus=list(consensus_history(claim=claim)),
        is_editor=is_editor,
        can_judge=own is None and lease is not None and claim.status == ClaimStatus.IN_REVIEW,
        can_revise=own is not None and open_for_verdicts,
        can_skip=own is None and lease is not None,
        can_adjudicate=is_editor and claim.status == ClaimStatus.DISPUTED,
        can_publish=is_editor and claim.status == ClaimStatus.RESOLVED,
        can_reopen=is_editor and claim.status in (ClaimStatus.RESOLVED, ClaimStatus.PUBLISHED),
        can_edit=claim_can_edit(claim=claim, membership=membership, user=user),
    )


def sources_search_for_user(
    *, user: User, project: Project, query: str, limit: int = 10
) -> list[Source]:
    """Sources cited in ``project`` whose title or URL contains ``query``, for the citation
    picker. Only citations of verdicts the user may already see count (``verdict_scope_for_user``),
    so a suggestion never reveals what another reviewer cited on a claim still blind to them."""
    query = (query or "").strip()
    if len(query) < 2 or not user.is_authenticated:
        return []
    visible = verdict_scope_for_user(
        user=user, queryset=Verdict.objects.filter(claim__project=project)
    )
    cited = Citation.objects.filter(source_id=OuterRef("pk"), verdict__in=visible)
    return list(
        Source.objects.filter(Q(title__icontains=query) | Q(url__icontains=query))
        .filter(Exists(cited))
        .order_by("title", "url", "id")[:limit]
    )


def source_for_citation(*, user: User, pk: int) -> Source | None:
    """The source ``pk`` if ``user`` may name it by id (a citation by ``source`` id): a
    source cited by a verdict the user may see (``verdict_scope_for_user``), or one that no
    verdict cites yet. None otherwise, exactly as for an id that does not exist, so an id
    never reveals what another project, or a reviewer still blind to the user, cited."""
    if not user.is_authenticated or not user.is_active:
        return None
    visible = verdict_scope_for_user(user=user).values("id")
    cited_visibly = Citation.objects.filter(source_id=OuterRef("pk"), verdict_id__in=visible)
    cited = Citation.objects.filter(source_id=OuterRef("pk"))
    return Source.objects.filter(pk=pk).filter(Q(Exists(cited_visibly)) | ~Q(Exists(cited))).first()


@dataclass(frozen=True)
class DisputeCard:
    """One claim on the editors' disputes page: current verdicts side by side (editors see
    every verdict, so blind review does not apply) and what the editor may do next."""

    claim: Claim
    verdicts: list[Verdict]
    current_consensus: Consensus | None
    can_adjudicate: bool
    can_publish: bool
    can_reopen: bool


def _dispute_claims(project: Project) -> QuerySet[Claim]:
    current_verdicts = (
        Verdict.objects.filter(is_current=True)
        .select_related("reviewer", "rating")
        .prefetch_related("citations__source")
        .order_by("submitted_at", "id")
    )
    return (
        Claim.objects.filter(project=project)
        .select_related("document")
        .defer("document__text", "document__raw_text")
        .prefetch_related(
            Prefetch("verdicts", queryset=current_verdicts, to_attr="current_verdicts"),
            Prefetch(
                "consensus_history",
                queryset=Consensus.objects.filter(is_current=True).select_related(
                    "rating", "decided_by"
                ),
                to_attr="current_consensus",
            ),
        )
    )


def dispute_cards_for_editor(*, project: Project) -> tuple[list[DisputeCard], list[DisputeCard]]:
    """(disputed claims, resolved claims awaiting publication) of ``project``, oldest change
    first, in a constant number of queries. Call only after checking the editor role."""
    claims = _dispute_claims(project).filter(
        status__in=[ClaimStatus.DISPUTED, ClaimStatus.RESOLVED]
    )
    disputed: list[DisputeCard] = []
    resolved: list[DisputeCard] = []
    for claim in claims.order_by("updated_at", "id"):
        card = dispute_card(claim)
        (disputed if claim.status == ClaimStatus.DISPUTED else resolved).append(card)
    return disputed, resolved


def dispute_card_get(*, project: Project, claim_id: int) -> DisputeCard:
    """One claim's card for the disputes page, whatever its status now."""
    claim = _dispute_claims(project).filter(pk=claim_id).first()
    if claim is None:
        raise Http404
    return dispute_card(claim)


def dispute_card(claim: Claim) -> DisputeCard:
    current = claim.current_consensus[0] if claim.current_consensus else None  # type: ignore[attr-defined]
    return DisputeCard(
        claim=claim,
        verdicts=list(claim.current_verdicts),  # type: ignore[attr-defined]
        current_consensus=current,
        can_adjudicate=claim.status == ClaimStatus.DISPUTED,
        can_publish=claim.status == ClaimStatus.RESOLVED,
        can_reopen=claim.status in (ClaimStatus.RESOLVED, ClaimStatus.PUBLISHED),
    )


# --- revisions and re-anchoring ---------------------------------------------------------------


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


# --- import ------------------------------------------------------------------------------------


def document_duplicate_get(*, project: Project, text: str) -> Document | None:
    """The project's document whose canonical text is ``text`` once canonicalised, if any
    (the import's duplicate rule: same ``text_sha256`` in the same project)."""
    sha = spans.text_sha256(spans.canonicalize(text))
    return (
        Document.objects.filter(project=project, text_sha256=sha)
        .only("id", "title", "project_id")
        .first()
    )


def source_get_for_user(*, user: User, pk: int) -> Source:
    """A source the user may see: one they created, or one cited by a verdict they may see
    (``verdict_scope_for_user``, so blind review holds). 404 otherwise."""
    _require_user(user)
    visible = verdict_scope_for_user(user=user)
    cited = Citation.objects.filter(source_id=OuterRef("pk"), verdict__in=visible)
    source = Source.objects.filter(pk=pk).filter(Q(created_by=user) | Exists(cited)).first()
    if source is None:
        raise Http404
    return source
