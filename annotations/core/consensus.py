"""Consensus rules and agreement statistics for the review queue.

Pure Python: no Django, no ORM, no settings, no clock. Services pass in plain values
(rating keys, reviewer ids, claim ids) and store what comes back.

Two questions live here and are kept apart on purpose:

* ``decide`` answers "has this one claim reached consensus under the project's rule?"
  It is what moves a claim to ``resolved`` or ``disputed``.
* ``alpha``, ``percent_agreement`` and ``reviewer_matches`` describe how reliably a
  desk's reviewers agree across many claims; ``alpha_from_pair_sums`` and
  ``percent_agreement_from_pair_sums`` give the same from sums a database adds up (the
  project page's figures), ``pair_sums`` and ``reviewer_matches`` being the references
  its SQL is tested against. They feed the statistics pages and never change a claim's
  state.
"""

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

__all__ = [
    "Decision",
    "Method",
    "ReviewerMatch",
    "Rule",
    "alpha",
    "alpha_from_pair_sums",
    "decide",
    "pair_sums",
    "percent_agreement",
    "percent_agreement_from_pair_sums",
    "reviewer_matches",
]

# A qualified majority must be at least a simple majority. Below 0.5 two different
# ratings could both "win"; at 1.0 nothing could ever pass, because the share has to be
# strictly greater than the threshold.
MIN_MAJORITY_THRESHOLD = 0.5
MAX_MAJORITY_THRESHOLD = 1.0
# The highest threshold a project sets: below MAX_MAJORITY_THRESHOLD, as a bound every
# form and the API state inclusively ("0.5 to 0.99").
MAX_PROJECT_MAJORITY_THRESHOLD = 0.99
# How many blind verdicts a project may require of each claim.
MIN_REQUIRED_REVIEWS, MAX_REQUIRED_REVIEWS = 1, 20

Level = Literal["nominal", "ordinal"]
NOMINAL: Final = "nominal"
ORDINAL: Final = "ordinal"
_LEVELS: tuple[Level, ...] = (NOMINAL, ORDINAL)


class Rule(StrEnum):
    """A project's consensus rule (``Project.consensus_rule``)."""

    UNANIMOUS = "unanimous"
    MAJORITY = "majority"


class Method(StrEnum):
    """How a recorded consensus was actually reached (``Consensus.method``).

    ``ADJUDICATED`` is never produced by ``decide``: an editor's adjudication is
    recorded by the service layer with this method.
    """

    UNANIMOUS = "unanimous"
    MAJORITY = "majority"
    ADJUDICATED = "adjudicated"


@dataclass(frozen=True)
class Decision:
    """The outcome of applying a consensus rule to one claim's verdicts."""

    reached: bool
    rating: str | None
    method: Method | None
    # Share of the votes that went to the most common rating (0..1); 0.0 for no votes.
    # Stored with the Consensus record even when consensus was not reached, so editors
    # see how close a disputed claim came.
    agreement: float
    # (rating, n), most common first; ties broken by rating key so the same votes always
    # serialize the same way in the audit trail and the export.
    counts: tuple[tuple[str, int], ...]


def decide(
    ratings: Sequence[str],
    *,
    rule: Rule | str,
    majority_threshold: float = 0.5,
) -> Decision:
    """Apply a consensus rule to the ratings of one claim.

    - ``unanimous``: reached iff there is at least one vote and all votes are equal.
    - ``majority`` (a qualified majority): reached iff the most common rating is unique
      and its share of the votes is strictly greater than ``majority_threshold``.

    When every vote agrees, the method is ``UNANIMOUS`` under either rule, because the
    method records how consensus was actually reached, not which rule allowed it.
    No votes never reach consensus.

    Raises ``ValueError`` for an unknown rule or a threshold outside ``[0.5, 1)``, and
    ``TypeError`` if ``ratings`` is a single string (a ``str`` is a ``Sequence[str]``
    and would otherwise be counted character by character).
    """
    rule = _parse_rule(rule)
    _check_threshold(majority_threshold)
    if isinstance(ratings, str):
        raise TypeError("ratings must be a sequence of rating keys, not a single string")

    counts = _ranked_counts(ratings)
    total = len(ratings)
    if total == 0:
        return Decision(reached=False, rating=None, method=None, agreement=0.0, counts=())

    top_rating, top_n = counts[0]
    agreement = top_n / total
    if len(counts) == 1:
        return Decision(
            reached=True,
            rating=top_rating,
            method=Method.UNANIMOUS,
            agreement=agreement,
            counts=counts,
        )

    # With a threshold of at least 0.5 a tie at the top can never pass the share test,
    # but the product rule "a tie is never a majority" is stated explicitly so it keeps
    # holding if the threshold bounds are ever relaxed.
    top_is_unique = counts[1][1] < top_n
    # Compare the float share with the float threshold, not exact fractions: a desk that
    # configures 2/3 means "more than two thirds", and 2 of 3 votes must not pass just
    # because the float nearest 2/3 is a hair below the true fraction.
    if rule is Rule.MAJORITY and top_is_unique and agreement > majority_threshold:
        return Decision(
            reached=True,
            rating=top_rating,
            method=Method.MAJORITY,
            agreement=agreement,
            counts=counts,
        )
    return Decision(reached=False, rating=None, method=None, agreement=agreement, counts=counts)


def _ranks(level: Level, order: Sequence[Hashable] | None) -> dict[Hashable, int]:
    """Each value of ``order`` to its rank for ``"ordinal"`` (empty for ``"nominal"``),
    after the checks ``alpha`` documents: a known level, ``order`` given for ordinal alone
    and without a value twice."""
    if level not in _LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {_LEVELS}")
    if level != ORDINAL:
        if order is not None:
            raise ValueError("`order` only applies to level='ordinal'")
        return {}
    if order is None:
        raise ValueError("ordinal alpha needs `order`, the value domain from lowest to highest")
    ranks = {value: index for index, value in enumerate(order)}
    if len(ranks) != len(order):
        raise ValueError("`order` lists a value more than once")
    return ranks


def alpha(
    units: Mapping[Hashable, Mapping[Hashable, Hashable]],
    *,
    level: Level = NOMINAL,
    order: Sequence[Hashable] | None = None,
) -> float | None:
    """Krippendorff's alpha over ``units``: unit (claim) -> {coder (reviewer): value}.

    Missing data is allowed: a coder who did not rate a unit is simply absent from that
    unit's mapping. Units with fewer than two values are not pairable and do not count.

    ``level`` is ``"nominal"`` (values are compared for equality only) or ``"ordinal"``.
    For ``"ordinal"``, ``order`` lists the value domain from lowest to highest; values
    not in ``order`` are left out (a rating such as ``misleading`` has no place on the
    true..false scale), which may leave a unit with too few values to pair.

    Returns ``None`` when alpha is undefined:

    - fewer than two pairable values: no unit has values from at least two coders
      (after leaving out values not in ``order``), so there is nothing to compare; or
    - no variation: every pairable value is the same, so the expected disagreement is
      zero and alpha would be 0/0.

    Raises ``ValueError`` for an unknown ``level``, for ``"ordinal"`` without ``order``
    or with duplicates in it, and for ``order`` given with ``"nominal"`` (it would be
    silently ignored, which hides a caller's mistake).
    """
    codes = _ranks(level, order)

    # Encode every value as a float code for the library's coders x units matrix, with
    # nan for missing. Ordinal codes are ranks in `order`; nominal codes are first-seen
    # indices, whose order does not matter because the nominal metric only tests equality.
    coded_units: list[dict[Hashable, int]] = []
    for ratings in units.values():
        coded: dict[Hashable, int] = {}
        for coder, value in ratings.items():
            if level == ORDINAL:
                if value in codes:
                    coded[coder] = codes[value]
            else:
                coded[coder] = codes.setdefault(value, len(codes))
        coded_units.append(coded)

    # The library raises for some undefined cases and returns nan (with a RuntimeWarning)
    # for others, e.g. when the only differing value sits alone in an unpairable unit.
    # Checking the definition up front gives one answer, None, for all of them.
    pairable = {code for coded in coded_units if len(coded) >= 2 for code in coded.values()}
    if len(pairable) < 2:
        return None

    # Imported here, not at the top: numpy and krippendorff cost a web worker ~30 MB, and
    # only the statistics pages need them (tests/test_lazy_imports.py).
    import krippendorff
    import numpy as np

    coder_index: dict[Hashable, int] = {}
    for coded in coded_units:
        for coder in coded:
            coder_index.setdefault(coder, len(coder_index))
    reliability_data = np.full((len(coder_index), len(coded_units)), np.nan)
    for column, coded in enumerate(coded_units):
        for coder, code in coded.items():
            reliability_data[coder_index[coder], column] = code

    result = krippendorff.alpha(
        reliability_data=reliability_data,
        # The full domain, not only the values seen: the ordinal metric needs the ranks
        # in scale order, and codes that never occur carry zero weight in either metric.
        value_domain=np.arange(len(codes), dtype=float),
        level_of_measurement=level,
    )
    value = float(result)
    # Unreachable after the checks above (two distinct pairable values make the expected
    # disagreement positive), kept so a library change can never leak nan to a page.
    return value if math.isfinite(value) else None


# A unit's pair sums: (value c, value k, the unit's number of values m) -> the sum over
# the units with m values of n_uc * (n_uk - [c == k]), n_uc being how many of a unit's
# values are c. Units with fewer than two values have none. What a database can add up
# with one GROUP BY (``selectors.projects.agreement_report``), and all that alpha and
# percent agreement need of the data: Krippendorff's coincidences are o_ck = sum over m
# of the pair sums / (m - 1).
PairSums = Mapping[tuple[Hashable, Hashable, int], int]


def pair_sums(
    units: Mapping[Hashable, Mapping[Hashable, Hashable]],
) -> dict[tuple[Hashable, Hashable, int], int]:
    """The pair sums (``PairSums``) of ``units`` (unit -> {coder: value}): the reference
    for what the database computes, and the tests' way to check it."""
    sums: Counter[tuple[Hashable, Hashable, int]] = Counter()
    for ratings in units.values():
        m = len(ratings)
        if m < 2:
            continue
        counts = Counter(ratings.values())
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                sums[c, k, m] += n_c * (n_k - (c == k))
    return dict(sums)


def alpha_from_pair_sums(
    sums: PairSums, *, level: Level = NOMINAL, order: Sequence[Hashable] | None = None
) -> float | None:
    """Krippendorff's alpha from the pair sums of the units (``pair_sums``), without the
    units themselves: ``alpha(units, level=, order=)`` for the same units, to rounding
    (a property test holds the two together). For ``"ordinal"`` the values are those of
    ``order``, lowest first (the caller leaves out values without a place on the scale
    before summing, as ``alpha`` leaves them out of the units). None where ``alpha`` is
    None: fewer than two distinct values in units with two or more; the same
    ``ValueError`` for a bad ``level`` or ``order``."""
    rank = _ranks(level, order)
    coincidences: dict[tuple[Hashable, Hashable], float] = {}
    for (c, k, m), total in sums.items():
        if total:
            coincidences[c, k] = coincidences.get((c, k), 0.0) + total / (m - 1)
    marginals: dict[Hashable, float] = {}
    for (c, _), o in coincidences.items():
        marginals[c] = marginals.get(c, 0.0) + o
    values = [value for value, n in marginals.items() if n > 0]
    if len(values) < 2:
        return None
    n = sum(marginals.values())
    if level == ORDINAL:
        assert order is not None
        if any(value not in rank for value in values):
            raise ValueError("an ordinal value outside `order`")
        ranked = [marginals.get(value, 0.0) for value in order]
        # The cumulative sum up to each rank: the ordinal metric's sum over the values
        # between two, as Krippendorff defines it.
        cumulative = [0.0]
        for count in ranked:
            cumulative.append(cumulative[-1] + count)

        def delta(c: Hashable, k: Hashable) -> float:
            low, high = sorted((rank[c], rank[k]))
            between = cumulative[high + 1] - cumulative[low]
            return (between - (ranked[low] + ranked[high]) / 2) ** 2
    else:

        def delta(c: Hashable, k: Hashable) -> float:
            return 0.0 if c == k else 1.0

    observed = sum(o * delta(c, k) for (c, k), o in coincidences.items())
    expected = sum(marginals[c] * marginals[k] * delta(c, k) for c in values for k in values)
    return 1.0 - (n - 1) * observed / expected


def percent_agreement_from_pair_sums(sums: PairSums) -> float | None:
    """``percent_agreement`` from the units' pair sums: twice the agreeing pairs are the
    sums over equal values, twice all pairs the sums over every two values (a unit of m
    values adds m * (m - 1) to them)."""
    total = sum(sums.values())
    if total == 0:
        return None
    return sum(value for (c, k, _), value in sums.items() if c == k) / total


def percent_agreement(units: Mapping[Hashable, Mapping[Hashable, Hashable]]) -> float | None:
    """Pairwise percent agreement: agreeing pairs / all pairs of values within a unit.

    Only units with at least two values contribute. Pairs are pooled across units, so a
    claim seen by four reviewers (six pairs) weighs more than one seen by two (one pair).
    Returns ``None`` when no unit has two values.
    """
    agreeing = 0
    total = 0
    for ratings in units.values():
        m = len(ratings)
        if m < 2:
            continue
        total += m * (m - 1) // 2
        agreeing += sum(n * (n - 1) // 2 for n in Counter(ratings.values()).values())
    if total == 0:
        return None
    return agreeing / total


@dataclass(frozen=True)
class ReviewerMatch:
    """How often one reviewer's verdicts matched the recorded consensus."""

    reviewer: Hashable
    # All of the reviewer's votes, including claims still without consensus.
    verdicts: int
    # Of the compared votes, how many gave the consensus rating.
    matched_consensus: int
    # Votes on units that have a consensus; the denominator for a match rate.
    compared: int


def reviewer_matches(
    votes: Iterable[tuple[Hashable, Hashable, str]],
    consensus: Mapping[Hashable, str],
) -> list[ReviewerMatch]:
    """Per reviewer: verdicts cast, and how many matched consensus where there is one.

    ``votes`` are ``(unit, reviewer, rating)``; ``consensus`` maps unit -> consensus
    rating, and units missing from it are counted in ``verdicts`` only. The result is
    sorted by ``str(reviewer)`` so pages and exports list reviewers in a stable order
    whatever order the database returned the votes in.
    """
    verdicts: Counter[Hashable] = Counter()
    compared: Counter[Hashable] = Counter()
    matched: Counter[Hashable] = Counter()
    for unit, reviewer, rating in votes:
        verdicts[reviewer] += 1
        if unit in consensus:
            compared[reviewer] += 1
            if rating == consensus[unit]:
                matched[reviewer] += 1
    return [
        ReviewerMatch(
            reviewer=reviewer,
            verdicts=verdicts[reviewer],
            matched_consensus=matched[reviewer],
            compared=compared[reviewer],
        )
        for reviewer in sorted(verdicts, key=str)
    ]


def _parse_rule(rule: Rule | str) -> Rule:
    try:
        return Rule(rule)
    except ValueError:
        expected = ", ".join(repr(r.value) for r in Rule)
        raise ValueError(f"unknown consensus rule {rule!r}; expected one of {expected}") from None


def _check_threshold(majority_threshold: float) -> None:
    # Written so that nan fails too: every comparison with nan is False.
    if not MIN_MAJORITY_THRESHOLD <= majority_threshold < MAX_MAJORITY_THRESHOLD:
        raise ValueError(
            f"majority_threshold must be in [{MIN_MAJORITY_THRESHOLD}, {MAX_MAJORITY_THRESHOLD}),"
            f" got {majority_threshold!r}"
        )


def _ranked_counts(ratings: Iterable[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(ratings).items(), key=lambda item: (-item[1], item[0])))
