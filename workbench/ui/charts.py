"""Geometry of the project dashboard's charts, computed from the selectors' figures so the
templates only place ready numbers into SVG: the verdict bar chart, the progress bar and
the per-reviewer rows. Pure functions over the selectors' dataclasses; no query here."""

from __future__ import annotations

from dataclasses import dataclass

from annotations import selectors

_LABEL_WIDTH = 130
_BAR_MAX = 240
_ROW = 26
_PROGRESS_WIDTH = 400
_PROGRESS_ORDER = ("published", "corrected", "resolved", "disputed", "in_review")


@dataclass(frozen=True, slots=True)
class ChartBar:
    label: str
    count: int
    y: int
    text_y: int
    width: int
    value_x: int
    tone: str  # CSS class suffix: "o1" (lowest ordinal) … "o5" (highest), "none"


@dataclass(frozen=True, slots=True)
class ProgressSegment:
    status: str
    label: str
    count: int
    x: int
    width: int


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    username: str
    verdicts: int
    compared: int
    matched: int
    match_percent: float | None


def percent(value: float | None) -> float | None:
    """A ratio as a percentage with one decimal, None kept."""
    return None if value is None else round(value * 100, 1)


def verdict_chart(distribution: list[selectors.RatingCount]) -> dict[str, object]:
    """Geometry of the horizontal bar chart (SVG user units) of verdict ratings."""
    peak = max((row.count for row in distribution), default=0)
    ordinals = [row.ordinal for row in distribution if row.ordinal is not None]
    low, high = (min(ordinals), max(ordinals)) if ordinals else (0, 0)
    bars = []
    for index, row in enumerate(distribution):
        width = round(row.count / peak * _BAR_MAX) if peak else 0
        tone = "none"
        if row.ordinal is not None:
            # Map whatever ordinal range the scale uses onto five colours, false → true.
            tone = f"o{1 + round((row.ordinal - low) / (high - low) * 4) if high > low else 3}"
        y = index * _ROW + 4
        bars.append(
            ChartBar(
                label=row.label,
                count=row.count,
                y=y,
                text_y=y + 14,
                width=width,
                value_x=_LABEL_WIDTH + width + 6,
                tone=tone,
            )
        )
    return {
        "bars": bars,
        "width": _LABEL_WIDTH + _BAR_MAX + 50,
        "height": len(bars) * _ROW + 8,
        "label_x": _LABEL_WIDTH - 8,
        "bar_x": _LABEL_WIDTH,
    }


def progress_chart(dashboard: selectors.ProjectDashboard) -> dict[str, object]:
    """A stacked bar of the claims neither withdrawn nor retracted, by status; widths add up to the full bar."""
    counts = {row.status: row for row in dashboard.status_counts}
    total = dashboard.active_claims
    segments, done = [], 0
    for status in _PROGRESS_ORDER:
        row = counts[status]
        x = round(done / total * _PROGRESS_WIDTH) if total else 0
        done += row.count
        end = round(done / total * _PROGRESS_WIDTH) if total else 0
        if end > x:
            segments.append(ProgressSegment(row.status, row.label, row.count, x, end - x))
    return {
        "segments": segments,
        "width": _PROGRESS_WIDTH,
        "done": dashboard.done_claims,
        "total": total,
        "percent": round(dashboard.done_claims / total * 100) if total else 0,
    }


def reviewer_rows(report: selectors.AgreementReport) -> list[ReviewerRow]:
    """One row per reviewer, by username: verdicts, how many were compared with a consensus
    and how many matched it."""
    return [
        ReviewerRow(
            username=row.username,
            verdicts=row.verdicts,
            compared=row.compared,
            matched=row.matched_consensus,
            match_percent=percent(row.matched_consensus / row.compared) if row.compared else None,
        )
        for row in sorted(report.reviewers, key=lambda row: row.username)
    ]
