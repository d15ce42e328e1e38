"""Reads for gold calibration and the editors' reviewer statistics (issue 18).

``reviewer_statistics`` reads plain rows in a fixed number of queries (whatever the number
of reviewers, claims or verdicts) and hands them to ``core.calibration.reviewer_figures``.
Callers have checked the editor role (``access.project_get_for_user(role=EDITOR)``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from django.db.models import Count
from django.utils import timezone

from annotations import access
from annotations.core import calibration
from annotations.models import (
    Assignment,
    Claim,
    GoldClaim,
    Membership,
    Project,
    Rating,
    Verdict,
)


def reviewer_statistics(
    *, project: Project, now: dt.datetime | None = None
) -> list[calibration.ReviewerFigures]:
    """Per member of ``project`` (by username): verdicts, median lease-to-verdict time, skip
    and expiry rates, agreement of their blind verdicts with the final consensus, their
    pairwise ordinal alpha and their accuracy on gold claims. Seven queries."""
    now = now or timezone.now()
    members = list(
        Membership.objects.filter(project=project)
        .order_by("user__username")
        .values_list("user_id", "user__username")
    )
    project_verdicts = Verdict.objects.filter(claim__project=project)
    verdict_counts = dict(
        project_verdicts.filter(is_current=True, calibration=False)
        .order_by()
        .values_list("reviewer_id")
        .annotate(n=Count("id"))
        .values_list("reviewer_id", "n")
    )
    counted = list(
        access.verdicts_counted(project_verdicts).values_list(
            "reviewer_id", "claim_id", "rating__key"
        )
    )
    consensus = dict(
        Claim.objects.filter(project=project, consensus__isnull=False).values_list(
            "id", "consensus__rating__key"
        )
    )
    answers = list(
        project_verdicts.filter(is_current=True, calibration=True).values_list(
            "reviewer_id", "claim_id", "rating__key"
        )
    )
    gold = dict(GoldClaim.objects.filter(project=project).values_list("claim_id", "rating__key"))
    leases = [
        calibration.LeaseRow(
            reviewer=reviewer, state=state, leased_at=leased, expires_at=expires, closed_at=closed
        )
        for reviewer, state, leased, expires, closed in Assignment.objects.filter(
            project=project
        ).values_list("reviewer_id", "state", "leased_at", "expires_at", "closed_at")
    ]
    order = list(
        Rating.objects.filter(project=project, ordinal__isnull=False)
        .order_by("ordinal", "id")
        .values_list("key", flat=True)
    )
    return calibration.reviewer_figures(
        reviewers=members,
        verdict_counts=verdict_counts,
        counted=counted,
        consensus=consensus,
        calibration_answers=answers,
        gold=gold,
        leases=leases,
        order=order,
        now=now,
    )


def reviewer_statistics_csv(figures: list[calibration.ReviewerFigures]) -> Iterator[str]:
    """The statistics as CSV lines (header first); empty cells for undefined figures."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(calibration.CSV_COLUMNS)
    for row in figures:
        writer.writerow(_cell(getattr(row, column)) for column in calibration.CSV_COLUMNS)
    yield buffer.getvalue()


def _cell(value: object) -> object:
    """A CSV cell: empty for None; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def gold_claims_of_project(*, project: Project) -> list[GoldClaim]:
    """A project's gold claims with their expected ratings (for editors)."""
    return list(
        GoldClaim.objects.filter(project=project)
        .select_related("claim", "rating", "marked_by")
        .order_by("claim_id")
    )
