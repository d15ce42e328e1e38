"""Reads about a project: the project list, the dashboard's figures, agreement statistics.

Blind review holds here too: a reviewer's figures never reveal a verdict that blind
review hides from their claim page (``access.verdict_scope_for_user``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotations import access
from annotations.access import User, UserModel
from annotations.core import consensus
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Consensus,
    Document,
    Membership,
    Project,
    Rating,
    Verdict,
)


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
    """Agreement over the counted verdicts of the project (or one document): each reviewer's
    latest blind verdict on each claim's current version (``access.verdicts_counted``;
    post-reveal revisions are left out), whether or not the claim has reached consensus.
    Ordinal alpha leaves out ratings without an ordinal value.

    Blind review: a ``user``'s figures rest only on the verdicts they may see, by the one
    rule the dashboard and the exports use (``access.verdict_scope_for_user``): an editor
    sees every verdict; a reviewer only those on claims they have judged themselves,
    whatever the claim's status (a disputed claim they never judged used to count, and its
    split told them how others had rated it). Per-reviewer rows are for editors only.
    ``user=None`` (internal use) gets everything.
    """
    restricted = user is not None and not access.is_editor(
        access.membership_get(user=user, project_id=project.pk)
    )
    project_verdicts = Verdict.objects.filter(claim__project=project)
    verdicts = (
        access.verdicts_counted_for_reviewer(user=user, queryset=project_verdicts)
        if restricted and user is not None
        else access.verdicts_counted(project_verdicts)
    )
    if document is not None:
        verdicts = verdicts.filter(claim__document=document)
    if user is not None:
        verdicts = access.verdict_scope_for_user(user=user, queryset=verdicts)
    sums = _agreement_sums(verdicts, project=project, reviewers=not restricted)
    return AgreementReport(
        nominal_alpha=consensus.alpha_from_pair_sums(sums.nominal),
        ordinal_alpha=consensus.alpha_from_pair_sums(
            sums.ordinal, level="ordinal", order=sums.order
        )
        if sums.order
        else None,
        percent_agreement=consensus.percent_agreement_from_pair_sums(sums.nominal),
        claims=sums.claims,
        verdicts=sums.verdicts,
        reviewers=[
            ReviewerAgreement(
                username=username, verdicts=counted, compared=compared, matched_consensus=matched
            )
            # In the order consensus.reviewer_matches gives (by the id as text).
            for _, username, counted, compared, matched in sorted(
                sums.reviewers, key=lambda row: str(row[0])
            )
        ],
    )


@dataclass(frozen=True)
class _AgreementSums:
    nominal: dict[tuple[int, int, int], int]  # (rating id, rating id, m) -> pair sum
    ordinal: dict[tuple[int, int, int], int]  # (ordinal, ordinal, m) -> pair sum
    order: list[int]  # the scale's ordinal values, lowest first
    claims: int
    verdicts: int
    reviewers: list[tuple[int, str, int, int, int]]  # id, username, verdicts, compared, matched


def _agreement_sums(
    verdicts: QuerySet[Verdict], *, project: Project, reviewers: bool
) -> _AgreementSums:
    """What the agreement figures need of ``verdicts``, added up by the database in one
    statement: the pair sums of the claims' ratings (``consensus.PairSums``, nominal by
    rating, ordinal by the ratings' ordinal values, those without one left out), how many
    claims and verdicts, and (``reviewers``) each reviewer's verdicts, those on a claim with
    a current consensus and those that gave its rating, with their username; and the
    project's scale (its ordinal values), read in the same statement so that the ordinal
    values summed and the scale they are ranked on are of one moment (a rating's ordinal
    changed between two reads would put a value off the scale). The project page of a
    project with a million verdicts read every verdict into Python for this (peak RSS 64 ->
    1,269 MB, 8-10 s of the worker's CPU: bench/README.md, "Issue 20, round 17"). A
    reviewer has one counted verdict per claim (``access.verdicts_counted``), so a claim's
    values are its reviewers'."""
    base = (
        verdicts.order_by()
        .annotate(
            wb_unit=F("claim_id"),
            wb_value=F("rating_id"),
            wb_rank=F("rating__ordinal"),
            wb_reviewer=F("reviewer_id"),
        )
        .values_list("wb_unit", "wb_value", "wb_rank", "wb_reviewer")
    )
    connection = connections[base.db]
    try:
        base_sql, base_params = base.query.get_compiler(using=base.db).as_sql()
    except EmptyResultSet:  # a queryset that is none(): no verdict, no figure
        return _AgreementSums(nominal={}, ordinal={}, order=[], claims=0, verdicts=0, reviewers=[])
    q = connection.ops.quote_name
    consensus_table = q(Consensus._meta.db_table)
    rating_table = q(Rating._meta.db_table)
    rating_project = q(Rating._meta.get_field("project").column)
    rating_ordinal = q(Rating._meta.get_field("ordinal").column)
    user_table, user_pk = q(UserModel._meta.db_table), q(UserModel._meta.pk.column)
    username = q(UserModel._meta.get_field("username").column)
    pairs = """
        SELECT %s AS kind, NULL AS name, a.val AS c, b.val AS k, t.m AS m,
               CAST(SUM(a.n * (b.n - CASE WHEN a.val = b.val THEN 1 ELSE 0 END)) AS BIGINT) AS s
          FROM {units} a JOIN {units}_m t ON t.u = a.u JOIN {units} b ON b.u = a.u
         GROUP BY a.val, b.val, t.m"""
    per_reviewer = (
        f"""
        UNION ALL
        SELECT 'reviewer', MIN(r.{username}), v.wb_reviewer, COUNT(*), COUNT(c.claim_id),
               CAST(SUM(CASE WHEN c.rating_id = v.wb_value THEN 1 ELSE 0 END) AS BIGINT)
          FROM v JOIN {user_table} r ON r.{user_pk} = v.wb_reviewer
          LEFT JOIN {consensus_table} c ON c.claim_id = v.wb_unit AND c.is_current
         GROUP BY v.wb_reviewer"""  # noqa: S608 - the table name from the model
        if reviewers
        else ""
    )
    sql = f"""
        WITH v AS ({base_sql}),
        nominal AS (SELECT wb_unit AS u, wb_value AS val, COUNT(*) AS n FROM v
                    GROUP BY wb_unit, wb_value),
        nominal_m AS (SELECT u, CAST(SUM(n) AS BIGINT) AS m FROM nominal GROUP BY u
                      HAVING SUM(n) >= 2),
        ranked AS (SELECT wb_unit AS u, wb_rank AS val, COUNT(*) AS n FROM v
                   WHERE wb_rank IS NOT NULL GROUP BY wb_unit, wb_rank),
        ranked_m AS (SELECT u, CAST(SUM(n) AS BIGINT) AS m FROM ranked GROUP BY u
                     HAVING SUM(n) >= 2)
        {pairs.format(units="nominal")}
        UNION ALL {pairs.format(units="ranked")}
        UNION ALL
        SELECT 'count', NULL, COUNT(DISTINCT wb_unit), COUNT(*), NULL, NULL FROM v{per_reviewer}
        UNION ALL
        SELECT 'scale', NULL, {rating_ordinal}, NULL, NULL, NULL FROM {rating_table}
         WHERE {rating_project} = %s AND {rating_ordinal} IS NOT NULL
    """  # noqa: S608 - table names from the models, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*base_params, "nominal", "ordinal", project.pk])
        rows = cursor.fetchall()
    sums: dict[str, dict[tuple[int, int, int], int]] = {"nominal": {}, "ordinal": {}}
    claims = counted = 0
    per: list[tuple[int, str, int, int, int]] = []
    scale: set[int] = set()
    for kind, name, first, second, third, fourth in rows:
        if kind == "scale":
            scale.add(first)
        elif kind == "count":
            claims, counted = first, second
        elif kind == "reviewer":
            per.append((first, name, second, third, fourth))
        else:
            sums[kind][first, second, third] = fourth
    return _AgreementSums(
        nominal=sums["nominal"],
        ordinal=sums["ordinal"],
        order=sorted(scale),
        claims=claims,
        verdicts=counted,
        reviewers=per,
    )


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
        """Claims that count towards progress: everything but withdrawn and retracted ones."""
        gone = {ClaimStatus.WITHDRAWN, ClaimStatus.RETRACTED}
        return sum(row.count for row in self.status_counts if row.status not in gone)

    @property
    def done_claims(self) -> int:
        done = {ClaimStatus.RESOLVED, ClaimStatus.PUBLISHED, ClaimStatus.CORRECTED}
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
    # Open as the user is shown them: a gold claim is in review to a reviewer (issue 18).
    open_claims = (
        Claim.objects.filter(project=OuterRef("pk"))
        .filter(
            access.claim_status_presented_q(user=user, status=ClaimStatus.IN_REVIEW)
            | Q(status=ClaimStatus.DISPUTED)
        )
        .order_by()
        .values("project")
        .annotate(n=Count("id"))
        .values("n")
    )
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return (
        access.projects_for_user(user=user)
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

    The distribution counts only counted verdicts (each reviewer's latest blind verdict on
    a claim's current version, ``verdicts_counted``) that the user may see
    (``verdict_scope_for_user``), so a reviewer's dashboard never reveals a verdict that
    blind review hides from their claim page. Constant number of queries.
    """
    now = now or timezone.now()
    # By the status the user is shown (a gold claim counts as in review for reviewers).
    by_status = dict(
        Claim.objects.filter(project=project)
        .order_by()
        .annotate(shown=access.claim_status_presented(user=user))
        .values_list("shown")
        .annotate(n=Count("id"))
        .values_list("shown", "n")
    )
    # A reviewer's own calibration verdicts count in their own figures (gold claims read
    # like ordinary ones); the rule is the access module's.
    visible = access.verdict_scope_for_user(
        user=user,
        queryset=access.verdicts_counted_for_reviewer(
            user=user, queryset=Verdict.objects.filter(claim__project=project)
        ),
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
