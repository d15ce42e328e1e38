"""Gold calibration and reviewer statistics: the pure half (issue 18).

No Django, no clock: the services and selectors pass plain values in.

* ``serve_gold`` decides whether a lease serves a gold claim: a seeded draw, the same
  answer for the same seed, so tests (and an auditor) can replay the queue's choices.
* ``median``, ``share``, ``agreement_with_consensus``, ``gold_accuracy`` and
  ``pairwise_alpha`` are the maths of the editors' reviewer statistics.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from annotations.core.consensus import ORDINAL, alpha

# The top of the project setting's range: a queue where most claims are gold would
# calibrate nobody and slow the desk; the database holds the same bound.
MAX_GOLD_RATE = 0.5

_DRAW_SPACE = 2**64


def gold_draw(*, project_id: int, reviewer_id: int, serial: int) -> float:
    """A uniform draw in [0, 1) fixed by its seed: the project, the reviewer and the number
    of leases the reviewer has had in the project before this one (``serial``)."""
    seed = f"workbench-gold:{project_id}:{reviewer_id}:{serial}".encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") / _DRAW_SPACE


def serve_gold(*, rate: float, draw: float) -> bool:
    """Whether a lease with ``draw`` (``gold_draw``) serves a gold claim at ``rate``."""
    if not 0 <= rate <= 1:
        raise ValueError("rate must be between 0 and 1")
    return draw < rate


def median(values: Iterable[float]) -> float | None:
    """The median (mean of the middle two for an even count); None for no values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def share(part: int, total: int) -> float | None:
    """``part / total``; None when there is nothing to divide by."""
    if part < 0 or total < 0 or part > total:
        raise ValueError("need 0 <= part <= total")
    return part / total if total else None


def agreement_with_consensus(
    votes: Mapping[Hashable, str], consensus: Mapping[Hashable, str]
) -> tuple[int, int]:
    """(matched, compared): of one reviewer's blind ``votes`` (claim -> rating) on claims
    that have a ``consensus`` (claim -> rating), how many gave the consensus rating."""
    compared = [unit for unit in votes if unit in consensus]
    matched = sum(1 for unit in compared if votes[unit] == consensus[unit])
    return matched, len(compared)


def gold_accuracy(
    answers: Mapping[Hashable, str], expected: Mapping[Hashable, str]
) -> tuple[int, int]:
    """(correct, scored): of one reviewer's calibration ``answers`` (gold claim -> rating),
    how many gave the ``expected`` rating; answers on claims no longer gold do not count."""
    return agreement_with_consensus(answers, expected)


def pairwise_alpha(
    reviewer: Hashable,
    units: Mapping[Hashable, Mapping[Hashable, str]],
    *,
    order: Sequence[str],
) -> float | None:
    """Ordinal Krippendorff's alpha of ``reviewer`` against each co-reviewer in turn, over
    the claims both judged (``units``: claim -> {reviewer: rating}), averaged with each
    pair's number of shared claims as its weight. Pairs where alpha is undefined (too few
    ordinal values, no variation) are left out; None when no pair has one."""
    pairs: dict[Hashable, dict[Hashable, dict[Hashable, str]]] = defaultdict(dict)
    for unit, ratings in units.items():
        if reviewer not in ratings:
            continue
        for other, rating in ratings.items():
            if other != reviewer:
                pairs[other][unit] = {reviewer: ratings[reviewer], other: rating}
    weighted = 0.0
    weights = 0
    for pair_units in pairs.values():
        value = alpha(pair_units, level=ORDINAL, order=order)
        if value is not None:
            weighted += value * len(pair_units)
            weights += len(pair_units)
    return weighted / weights if weights else None


@dataclass(frozen=True)
class ReviewerFigures:
    """One reviewer's statistics, as the API, the page and the CSV show them."""

    reviewer: str
    verdicts: int
    median_seconds_to_verdict: float | None
    leases: int
    skip_rate: float | None
    expiry_rate: float | None
    consensus_matched: int
    consensus_compared: int
    consensus_agreement: float | None
    ordinal_alpha: float | None
    gold_correct: int
    gold_scored: int
    gold_accuracy: float | None


CSV_COLUMNS: tuple[str, ...] = (
    "reviewer",
    "verdicts",
    "median_seconds_to_verdict",
    "leases",
    "skip_rate",
    "expiry_rate",
    "consensus_matched",
    "consensus_compared",
    "consensus_agreement",
    "ordinal_alpha",
    "gold_correct",
    "gold_scored",
    "gold_accuracy",
)


@dataclass(frozen=True)
class LeaseRow:
    """One queue entry (``Assignment``) as the statistics read it."""

    reviewer: Hashable
    state: str  # leased, submitted, released, expired, skipped
    leased_at: dt.datetime
    expires_at: dt.datetime
    closed_at: dt.datetime | None


def lease_is_expired(row: LeaseRow, *, now: dt.datetime) -> bool:
    """Expired: closed as expired, or still leased past its expiry (nobody closed it yet)."""
    return row.state == "expired" or (row.state == "leased" and row.expires_at <= now)


def reviewer_figures(
    *,
    reviewers: Sequence[tuple[Hashable, str]],
    verdict_counts: Mapping[Hashable, int],
    counted: Iterable[tuple[Hashable, Hashable, str]],
    consensus: Mapping[Hashable, str],
    calibration_answers: Iterable[tuple[Hashable, Hashable, str]],
    gold: Mapping[Hashable, str],
    leases: Iterable[LeaseRow],
    order: Sequence[str],
    now: dt.datetime,
) -> list[ReviewerFigures]:
    """Every reviewer's figures from plain rows, in ``reviewers``' order (id, username).

    ``verdict_counts``: current verdicts per reviewer (not calibration ones); ``counted``:
    (reviewer, claim, rating) of the verdicts consensus and agreement rest on (each
    reviewer's latest blind verdict on a claim's current version); ``consensus``: claim ->
    its final (current) consensus rating; ``calibration_answers``: (reviewer, gold claim,
    rating) of current calibration verdicts; ``gold``: gold claim -> expected rating;
    ``leases``: every queue entry; ``order``: the ordinal scale, lowest first."""
    votes: dict[Hashable, dict[Hashable, str]] = defaultdict(dict)
    units: dict[Hashable, dict[Hashable, str]] = defaultdict(dict)
    for reviewer, claim, rating in counted:
        votes[reviewer][claim] = rating
        units[claim][reviewer] = rating
    answers: dict[Hashable, dict[Hashable, str]] = defaultdict(dict)
    for reviewer, claim, rating in calibration_answers:
        answers[reviewer][claim] = rating
    by_reviewer: dict[Hashable, list[LeaseRow]] = defaultdict(list)
    for row in leases:
        by_reviewer[row.reviewer].append(row)
    figures = []
    for reviewer, username in reviewers:
        rows = by_reviewer.get(reviewer, [])
        durations = [
            (row.closed_at - row.leased_at).total_seconds()
            for row in rows
            if row.state == "submitted" and row.closed_at is not None
        ]
        skipped = sum(1 for row in rows if row.state == "skipped")
        expired = sum(1 for row in rows if lease_is_expired(row, now=now))
        matched, compared = agreement_with_consensus(votes.get(reviewer, {}), consensus)
        correct, scored = gold_accuracy(answers.get(reviewer, {}), gold)
        figures.append(
            ReviewerFigures(
                reviewer=username,
                verdicts=verdict_counts.get(reviewer, 0),
                median_seconds_to_verdict=median(durations),
                leases=len(rows),
                skip_rate=share(skipped, len(rows)),
                expiry_rate=share(expired, len(rows)),
                consensus_matched=matched,
                consensus_compared=compared,
                consensus_agreement=share(matched, compared),
                ordinal_alpha=pairwise_alpha(reviewer, units, order=order),
                gold_correct=correct,
                gold_scored=scored,
                gold_accuracy=share(correct, scored),
            )
        )
    return figures
