"""Tests for annotations.core.consensus, the rules: ``decide()`` under the unanimous and
majority rules, ties, thresholds and bad input, with properties over any ratings. Pure
functions, no database. The agreement statistics are in ``test_agreement.py``.
"""

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core.consensus import Decision, Method, Rule, decide

pytestmark = pytest.mark.db_independent

TWO_THIRDS = 2 / 3

# ---------------------------------------------------------------------------
# decide()
# ---------------------------------------------------------------------------

DECIDE_TABLE = [
    # id, ratings, rule, threshold, reached, rating, method, agreement
    (
        "unanimous-all-agree",
        ["true", "true"],
        Rule.UNANIMOUS,
        0.5,
        True,
        "true",
        Method.UNANIMOUS,
        1.0,
    ),
    ("unanimous-split", ["true", "false"], Rule.UNANIMOUS, 0.5, False, None, None, 0.5),
    (
        "unanimous-one-dissent",
        ["true", "true", "false"],
        Rule.UNANIMOUS,
        0.5,
        False,
        None,
        None,
        TWO_THIRDS,
    ),
    ("unanimous-single-vote", ["false"], Rule.UNANIMOUS, 0.5, True, "false", Method.UNANIMOUS, 1.0),
    ("unanimous-empty", [], Rule.UNANIMOUS, 0.5, False, None, None, 0.0),
    (
        "majority-2-of-3",
        ["true", "false", "true"],
        Rule.MAJORITY,
        0.5,
        True,
        "true",
        Method.MAJORITY,
        TWO_THIRDS,
    ),
    ("majority-3-of-4", ["a", "a", "b", "a"], Rule.MAJORITY, 0.5, True, "a", Method.MAJORITY, 0.75),
    ("majority-tie-1-1", ["true", "false"], Rule.MAJORITY, 0.5, False, None, None, 0.5),
    ("majority-tie-2-2", ["a", "b", "b", "a"], Rule.MAJORITY, 0.5, False, None, None, 0.5),
    # A plurality is not a majority: 2 of 4 is exactly half, not more than half.
    ("majority-plurality-2-1-1", ["a", "a", "b", "c"], Rule.MAJORITY, 0.5, False, None, None, 0.5),
    (
        "majority-all-agree-is-unanimous",
        ["x", "x", "x"],
        Rule.MAJORITY,
        0.5,
        True,
        "x",
        Method.UNANIMOUS,
        1.0,
    ),
    ("majority-single-vote", ["true"], Rule.MAJORITY, 0.5, True, "true", Method.UNANIMOUS, 1.0),
    ("majority-empty", [], Rule.MAJORITY, 0.5, False, None, None, 0.0),
    # Qualified majority of two thirds: the share must be strictly above 2/3.
    (
        "two-thirds-2-of-3",
        ["a", "a", "b"],
        Rule.MAJORITY,
        TWO_THIRDS,
        False,
        None,
        None,
        TWO_THIRDS,
    ),
    (
        "two-thirds-4-of-6",
        ["a"] * 4 + ["b"] * 2,
        Rule.MAJORITY,
        TWO_THIRDS,
        False,
        None,
        None,
        TWO_THIRDS,
    ),
    (
        "two-thirds-3-of-4",
        ["a", "a", "a", "b"],
        Rule.MAJORITY,
        TWO_THIRDS,
        True,
        "a",
        Method.MAJORITY,
        0.75,
    ),
    (
        "two-thirds-5-of-6",
        ["a"] * 5 + ["b"],
        Rule.MAJORITY,
        TWO_THIRDS,
        True,
        "a",
        Method.MAJORITY,
        5 / 6,
    ),
    (
        "two-thirds-all-agree",
        ["b", "b", "b"],
        Rule.MAJORITY,
        TWO_THIRDS,
        True,
        "b",
        Method.UNANIMOUS,
        1.0,
    ),
    ("threshold-0.75-3-of-4", ["a", "a", "a", "b"], Rule.MAJORITY, 0.75, False, None, None, 0.75),
    (
        "rule-as-plain-string",
        ["a", "a", "b"],
        "majority",
        0.5,
        True,
        "a",
        Method.MAJORITY,
        TWO_THIRDS,
    ),
    ("unanimous-as-plain-string", ["a", "a"], "unanimous", 0.5, True, "a", Method.UNANIMOUS, 1.0),
]


@pytest.mark.parametrize(
    ("ratings", "rule", "threshold", "reached", "rating", "method", "agreement"),
    [pytest.param(*row[1:], id=row[0]) for row in DECIDE_TABLE],
)
def test_it_applies_the_consensus_rule(
    ratings: list[str],
    rule: Rule | str,
    threshold: float,
    reached: bool,
    rating: str | None,
    method: Method | None,
    agreement: float,
) -> None:
    decision = decide(ratings, rule=rule, majority_threshold=threshold)

    assert decision.reached is reached
    assert decision.rating == rating
    assert decision.method is method
    assert decision.agreement == pytest.approx(agreement)


@pytest.mark.parametrize("threshold", [0.5, 0.6, TWO_THIRDS, 0.9, 0.999])
@pytest.mark.parametrize("ratings", [["a", "b"], ["a", "b", "b", "a"], ["a", "a", "b", "b", "c"]])
def test_it_never_reaches_a_majority_on_a_tie(ratings: list[str], threshold: float) -> None:
    decision = decide(ratings, rule=Rule.MAJORITY, majority_threshold=threshold)

    assert decision.reached is False
    assert decision.rating is None
    assert decision.method is None


def test_it_lists_counts_most_common_first_with_ties_by_rating_key() -> None:
    decision = decide(["false", "true", "misleading", "true", "false", "true"], rule=Rule.MAJORITY)

    assert decision.counts == (("true", 3), ("false", 2), ("misleading", 1))
    tied = decide(["b", "c", "a", "c", "b", "a"], rule=Rule.MAJORITY)
    assert tied.counts == (("a", 2), ("b", 2), ("c", 2))


def test_it_returns_empty_counts_for_no_votes() -> None:
    assert decide([], rule=Rule.MAJORITY) == Decision(
        reached=False, rating=None, method=None, agreement=0.0, counts=()
    )


def test_it_returns_a_frozen_decision() -> None:
    decision = decide(["true"], rule=Rule.UNANIMOUS)

    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.rating = "false"  # type: ignore[misc]


@pytest.mark.parametrize("rule", ["plurality", "", "Majority", "adjudicated"])
def test_it_rejects_an_unknown_rule(rule: str) -> None:
    with pytest.raises(ValueError, match="unknown consensus rule"):
        decide(["true"], rule=rule)


@pytest.mark.parametrize("threshold", [0.0, 0.49, 1.0, 1.5, -0.5, math.nan])
@pytest.mark.parametrize("rule", list(Rule))
def test_it_rejects_a_threshold_outside_half_to_one(rule: Rule, threshold: float) -> None:
    with pytest.raises(ValueError, match="majority_threshold"):
        decide(["true", "true"], rule=rule, majority_threshold=threshold)


def test_it_rejects_a_single_string_as_ratings() -> None:
    with pytest.raises(TypeError):
        decide("true", rule=Rule.UNANIMOUS)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

RATING_KEYS = st.sampled_from(["true", "false", "misleading", "half_true"])
RULES = st.sampled_from([*Rule, "unanimous", "majority"])
THRESHOLDS = st.floats(min_value=0.5, max_value=1.0, exclude_max=True)


# Unanimous lists are drawn explicitly so the implication below is never vacuous.
RATING_LISTS = st.one_of(
    st.lists(RATING_KEYS, max_size=9),
    st.builds(lambda rating, n: [rating] * n, RATING_KEYS, st.integers(min_value=1, max_value=9)),
)


@given(ratings=RATING_LISTS, rule=RULES, threshold=THRESHOLDS, data=st.data())
def test_decide_is_invariant_under_permutation(
    ratings: list[str], rule: Rule | str, threshold: float, data: st.DataObject
) -> None:
    permuted = data.draw(st.permutations(ratings))

    assert decide(permuted, rule=rule, majority_threshold=threshold) == decide(
        ratings, rule=rule, majority_threshold=threshold
    )


@given(ratings=RATING_LISTS, threshold=THRESHOLDS)
def test_unanimous_consensus_implies_majority_under_any_threshold(
    ratings: list[str], threshold: float
) -> None:
    unanimous = decide(ratings, rule=Rule.UNANIMOUS)
    if unanimous.reached:
        majority = decide(ratings, rule=Rule.MAJORITY, majority_threshold=threshold)
        assert majority.reached
        assert majority == unanimous


@given(ratings=RATING_LISTS, rule=RULES, threshold=THRESHOLDS)
def test_a_reached_decision_has_a_rating_and_method(
    ratings: list[str], rule: Rule | str, threshold: float
) -> None:
    decision = decide(ratings, rule=rule, majority_threshold=threshold)

    assert (decision.rating is not None) is decision.reached
    assert (decision.method is not None) is decision.reached
    # Adjudication is an editor's act recorded by the service layer, never a rule outcome.
    assert decision.method is not Method.ADJUDICATED
    assert 0.0 <= decision.agreement <= 1.0
    assert sum(n for _, n in decision.counts) == len(ratings)
