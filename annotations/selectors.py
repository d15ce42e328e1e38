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

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from annotations import consensus
from annotations.models import (
    ROLE_RANK,
    Claim,
    Consensus,
    Document,
    Membership,
    Project,
    Rating,
    Role,
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
    document = queryset.filter(pk=pk, project__memberships__user=user).first()
    if document is None:
        raise Http404
    membership = Membership.objects.get(user=user, project_id=document.project_id)
    return document, membership


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
    claim = queryset.filter(pk=pk, project__memberships__user=user).first()
    if claim is None:
        raise Http404
    membership = Membership.objects.get(user=user, project_id=claim.project_id)
    if not role_at_least(membership, role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role in the project.")
    return claim, membership


# --- blind review ----------------------------------------------------------------------


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


def claims_for_reader(*, document: Document) -> QuerySet[Claim]:
    """A document's claims in text order, for the reader and the admin highlight."""
    return Claim.objects.filter(document=document).order_by("start", "end", "id")


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


def agreement_report(*, project: Project, document: Document | None = None) -> AgreementReport:
    """Agreement over every current verdict of the project (or one document), whether or not
    the claim has reached consensus. Ordinal alpha leaves out ratings without an ordinal value."""
    verdicts = Verdict.objects.filter(claim__project=project, is_current=True)
    if document is not None:
        verdicts = verdicts.filter(claim__document=document)
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
        reviewers=[
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
