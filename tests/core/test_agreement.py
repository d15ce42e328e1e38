"""Tests for annotations.core.consensus, the statistics: Krippendorff's alpha (nominal and
ordinal, against Krippendorff's own examples), pairwise percent agreement and each
reviewer's matches with the consensus, with properties over any units. Pure functions,
no database. The consensus rules are in ``test_consensus.py``.
"""

import math
from collections.abc import Hashable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.core.consensus import (
    ReviewerMatch,
    alpha,
    alpha_from_pair_sums,
    pair_sums,
    percent_agreement,
    percent_agreement_from_pair_sums,
    reviewer_matches,
)
from tests.core.test_consensus import RATING_KEYS

pytestmark = pytest.mark.db_independent

Units = dict[Hashable, dict[Hashable, Hashable]]


# ---------------------------------------------------------------------------
# alpha(): Krippendorff's published examples
# ---------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with
# 4 coders, 12 units, values 1..5 and missing data (None = coder did not rate the unit).
# Published: nominal .743, ordinal .815, interval .849 (interval is not part of our API).
# Checked independently with an exact-fraction implementation of the paper's coincidence
# matrix method: n = 40 pairable values; nominal 0.74342, ordinal 0.81539, interval 0.84911.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}

# Same paper, binary data, 2 coders x 10 units, no missing data. Published alpha = .095:
# 4 disagreeing units give o_01 = o_10 = 4; n_0 = 14, n_1 = 6, n = 20;
# alpha = 1 - (n - 1) * o_01 / (n_0 * n_1) = 1 - 19 * 4 / 84 = 2/21 = 0.0952.
KRIPPENDORFF_2011_BINARY = {
    "A": [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    "B": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
}


def units_from_rows(rows: Mapping[str, list[Hashable]]) -> Units:
    """Turn a coders x units table (None = missing) into unit -> {coder: value}."""
    n_units = len(next(iter(rows.values())))
    return {
        f"u{j + 1}": {coder: values[j] for coder, values in rows.items() if values[j] is not None}
        for j in range(n_units)
    }


def test_it_reproduces_krippendorffs_nominal_example() -> None:
    result = alpha(units_from_rows(KRIPPENDORFF_2011), level="nominal")

    assert result is not None
    assert round(result, 3) == 0.743


def test_it_reproduces_krippendorffs_ordinal_example() -> None:
    result = alpha(units_from_rows(KRIPPENDORFF_2011), level="ordinal", order=[1, 2, 3, 4, 5])

    assert result is not None
    assert round(result, 3) == 0.815


def test_it_reproduces_krippendorffs_binary_example() -> None:
    result = alpha(units_from_rows(KRIPPENDORFF_2011_BINARY))

    assert result is not None
    assert round(result, 3) == 0.095
    assert result == pytest.approx(2 / 21)


def test_it_uses_nominal_by_default() -> None:
    units = units_from_rows(KRIPPENDORFF_2011)

    assert alpha(units) == alpha(units, level="nominal")


def test_it_ignores_unit_and_coder_order() -> None:
    units = units_from_rows(KRIPPENDORFF_2011)
    shuffled = {
        unit: dict(reversed(list(ratings.items())))
        for unit, ratings in reversed(list(units.items()))
    }

    assert alpha(shuffled) == pytest.approx(alpha(units))
    assert alpha(shuffled, level="ordinal", order=[1, 2, 3, 4, 5]) == pytest.approx(
        alpha(units, level="ordinal", order=[1, 2, 3, 4, 5])
    )


# ---------------------------------------------------------------------------
# alpha(): string ratings, ordinal scale, undefined cases
# ---------------------------------------------------------------------------

# The default rating scale, lowest ordinal value first.
SCALE = ["false", "mostly_false", "half_true", "mostly_true", "true"]
NUMBER_TO_KEY = dict(zip([1, 2, 3, 4, 5], SCALE, strict=True))


def krippendorff_example_as_rating_keys() -> Units:
    return {
        unit: {coder: NUMBER_TO_KEY[value] for coder, value in ratings.items()}
        for unit, ratings in units_from_rows(KRIPPENDORFF_2011).items()
    }


def test_it_computes_nominal_alpha_over_string_ratings() -> None:
    # u1: true/true, u2: false/false, u3: true/misleading. Pairable n = 6 with
    # n_true = 3, n_false = 2, n_misleading = 1; disagreeing coincidences o = 2;
    # expected: sum over c != k of n_c * n_k = 2 * (3*2 + 3*1 + 2*1) = 22;
    # alpha = 1 - (n - 1) * 2 / 22 = 1 - 10/22 = 6/11.
    units: Units = {
        "u1": {"ana": "true", "ben": "true"},
        "u2": {"ana": "false", "ben": "false"},
        "u3": {"ana": "true", "ben": "misleading"},
    }

    assert alpha(units) == pytest.approx(6 / 11)


def test_it_gives_the_same_alpha_for_relabelled_values() -> None:
    keyed = krippendorff_example_as_rating_keys()

    nominal = alpha(keyed)
    ordinal = alpha(keyed, level="ordinal", order=SCALE)
    assert nominal is not None
    assert ordinal is not None
    assert round(nominal, 3) == 0.743
    assert round(ordinal, 3) == 0.815


def test_it_leaves_out_ratings_without_an_ordinal_value() -> None:
    keyed = krippendorff_example_as_rating_keys()
    # A fifth reviewer whose ratings have no place on the scale, plus an extra unit rated
    # only with such ratings: the ordinal figure must not move, the nominal one must.
    with_unscaled = {unit: dict(ratings) for unit, ratings in keyed.items()}
    unscaled = ["misleading", "unverifiable", "not_checkable", "misleading"]
    for unit, rating in zip(["u1", "u4", "u6", "u9"], unscaled, strict=True):
        with_unscaled[unit]["E"] = rating
    with_unscaled["u13"] = {"A": "not_checkable", "B": "misleading", "C": "misleading"}

    ordinal = alpha(with_unscaled, level="ordinal", order=SCALE)
    assert ordinal is not None
    assert round(ordinal, 3) == 0.815
    assert ordinal == pytest.approx(alpha(keyed, level="ordinal", order=SCALE))
    assert alpha(with_unscaled) != pytest.approx(alpha(keyed))


def test_it_drops_unscaled_ratings_that_would_otherwise_disagree() -> None:
    units: Units = {
        "c1": {"ana": "true", "ben": "true", "cy": "misleading"},
        "c2": {"ana": "false", "ben": "false", "cy": "unverifiable"},
        "c3": {"ana": "misleading", "ben": "half_true"},
    }

    # Ordinal sees only true/true and false/false (c3 keeps one scaled value): perfect.
    assert alpha(units, level="ordinal", order=SCALE) == 1.0
    nominal = alpha(units)
    assert nominal is not None
    assert nominal < 1.0


def test_ordinal_alpha_penalises_distant_disagreement_more_than_near() -> None:
    base: Units = {
        "c1": {"ana": "true", "ben": "true"},
        "c2": {"ana": "false", "ben": "false"},
        "c3": {"ana": "half_true", "ben": "half_true"},
    }
    near = {**base, "c4": {"ana": "true", "ben": "mostly_true"}}
    far = {**base, "c4": {"ana": "true", "ben": "false"}}

    near_alpha = alpha(near, level="ordinal", order=SCALE)
    far_alpha = alpha(far, level="ordinal", order=SCALE)
    assert near_alpha is not None
    assert far_alpha is not None
    assert near_alpha > far_alpha


@pytest.mark.parametrize(
    ("units", "level", "order"),
    [
        pytest.param({}, "nominal", None, id="no-units"),
        pytest.param({"c1": {}, "c2": {}}, "nominal", None, id="no-values"),
        pytest.param(
            {"c1": {"ana": "true"}, "c2": {"ben": "false"}},
            "nominal",
            None,
            id="no-unit-has-two-values",
        ),
        pytest.param(
            {"c1": {"ana": "true", "ben": "true"}, "c2": {"ana": "true", "cy": "true"}},
            "nominal",
            None,
            id="no-variation",
        ),
        # The only different value sits alone in an unpairable unit; the library itself
        # returns nan with a RuntimeWarning here rather than raising.
        pytest.param(
            {"c1": {"ana": "true", "ben": "true"}, "c2": {"ana": "false"}},
            "nominal",
            None,
            id="variation-only-outside-pairable-units",
        ),
        pytest.param(
            {"c1": {"ana": "true", "ben": "true"}, "c2": {"ana": "true", "ben": "true"}},
            "ordinal",
            SCALE,
            id="ordinal-no-variation-with-wider-domain",
        ),
        pytest.param(
            {"c1": {"ana": "misleading", "ben": "unverifiable"}},
            "ordinal",
            SCALE,
            id="ordinal-no-scaled-values",
        ),
        pytest.param(
            {
                "c1": {"ana": "true", "ben": "misleading"},
                "c2": {"ana": "false", "ben": "not_checkable"},
            },
            "ordinal",
            SCALE,
            id="ordinal-unpairable-after-leaving-out",
        ),
    ],
)
def test_it_returns_none_when_alpha_is_undefined(
    units: Units, level: str, order: list[str] | None
) -> None:
    assert alpha(units, level=level, order=order) is None


def test_it_rejects_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        alpha({"c1": {"ana": 1, "ben": 2}}, level="interval")


def test_it_requires_order_for_ordinal() -> None:
    with pytest.raises(ValueError, match="needs `order`"):
        alpha({"c1": {"ana": 1, "ben": 2}}, level="ordinal")


def test_it_rejects_order_for_nominal() -> None:
    with pytest.raises(ValueError, match="only applies"):
        alpha({"c1": {"ana": 1, "ben": 2}}, order=[1, 2])


def test_it_rejects_duplicates_in_order() -> None:
    with pytest.raises(ValueError, match="more than once"):
        alpha({"c1": {"ana": 1, "ben": 2}}, level="ordinal", order=[1, 2, 1])


# ---------------------------------------------------------------------------
# percent_agreement()
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        # 1 agreeing pair of 1, 0 of 1 -> 1/2.
        pytest.param(
            {"c1": {"ana": "true", "ben": "true"}, "c2": {"ana": "true", "ben": "false"}},
            1 / 2,
            id="two-reviewers",
        ),
        # c1: pairs ana-ben (agree), ana-cy, ben-cy -> 1 of 3; c2: 1 of 1 -> 2 of 4.
        pytest.param(
            {"c1": {"ana": "t", "ben": "t", "cy": "f"}, "c2": {"ana": "x", "ben": "x"}},
            2 / 4,
            id="pairs-pooled-across-units",
        ),
        # Four reviewers: 6 pairs; t,t,t,f -> 3 agreeing pairs.
        pytest.param({"c1": {"a": "t", "b": "t", "c": "t", "d": "f"}}, 3 / 6, id="four-reviewers"),
        # A unit with a single value has no pair and does not count.
        pytest.param(
            {"c1": {"ana": "t", "ben": "t"}, "c2": {"ana": "f"}, "c3": {}},
            1.0,
            id="single-value-units-ignored",
        ),
        pytest.param({"c1": {"ana": "t", "ben": "f", "cy": "m"}}, 0.0, id="all-disagree"),
    ],
)
def test_it_computes_pairwise_percent_agreement(units: Units, expected: float) -> None:
    assert percent_agreement(units) == pytest.approx(expected)


@pytest.mark.parametrize(
    "units",
    [{}, {"c1": {}}, {"c1": {"ana": "true"}, "c2": {"ben": "false"}}],
    ids=["no-units", "empty-unit", "single-values-only"],
)
def test_it_returns_none_for_percent_agreement_without_pairs(units: Units) -> None:
    assert percent_agreement(units) is None


# ---------------------------------------------------------------------------
# reviewer_matches()
# ---------------------------------------------------------------------------


def test_it_counts_reviewer_matches_with_consensus() -> None:
    votes = [
        ("c2", "ben", "true"),
        ("c1", "ana", "true"),
        ("c3", "dee", "false"),  # c3 has no consensus yet
        ("c2", "ana", "false"),
        ("c1", "ben", "true"),
        ("c3", "ana", "true"),
        ("c2", "cy", "true"),
    ]
    consensus = {"c1": "true", "c2": "true"}

    assert reviewer_matches(votes, consensus) == [
        ReviewerMatch(reviewer="ana", verdicts=3, matched_consensus=1, compared=2),
        ReviewerMatch(reviewer="ben", verdicts=2, matched_consensus=2, compared=2),
        ReviewerMatch(reviewer="cy", verdicts=1, matched_consensus=1, compared=1),
        ReviewerMatch(reviewer="dee", verdicts=1, matched_consensus=0, compared=0),
    ]


def test_it_sorts_reviewers_by_their_string_form() -> None:
    votes = [(1, 9, "true"), (1, 10, "true"), (1, 2, "false")]

    result = reviewer_matches(votes, {1: "true"})

    assert [m.reviewer for m in result] == [10, 2, 9]
    assert [m.matched_consensus for m in result] == [1, 0, 1]


def test_it_returns_no_matches_without_votes() -> None:
    assert reviewer_matches([], {"c1": "true"}) == []


def test_it_accepts_votes_from_a_generator() -> None:
    votes = ((f"c{i}", "ana", "true") for i in range(3))

    assert reviewer_matches(votes, {"c0": "true", "c1": "false"}) == [
        ReviewerMatch(reviewer="ana", verdicts=3, matched_consensus=1, compared=2)
    ]


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

REVIEWERS = st.sampled_from(["ana", "ben", "cy", "dee", "eve"])
UNITS = st.dictionaries(
    st.integers(min_value=0, max_value=12),
    st.dictionaries(REVIEWERS, RATING_KEYS, max_size=5),
    max_size=10,
)


@st.composite
def perfectly_agreeing_units(draw: st.DrawFn) -> tuple[Units, list[str]]:
    """>= 2 pairable units, >= 2 distinct values among them, every unit unanimous.

    Also some single-reviewer units (missing data), which must not affect the result.
    """
    values = draw(st.lists(RATING_KEYS, min_size=2, max_size=6).filter(lambda v: len(set(v)) >= 2))
    units: Units = {}
    for i, value in enumerate(values):
        coders = draw(st.lists(REVIEWERS, min_size=2, max_size=5, unique=True))
        units[f"u{i}"] = dict.fromkeys(coders, value)
    for i, value in enumerate(draw(st.lists(RATING_KEYS, max_size=3))):
        units[f"single{i}"] = {draw(REVIEWERS): value}
    order = draw(st.permutations(["true", "false", "misleading", "half_true"]))
    return units, order


@settings(deadline=None)
@given(case=perfectly_agreeing_units())
def test_perfect_agreement_with_variation_gives_alpha_one(case: tuple[Units, list[str]]) -> None:
    units, order = case

    assert alpha(units) == 1.0
    assert alpha(units, level="ordinal", order=order) == 1.0


@settings(deadline=None)
@given(units=UNITS, order=st.permutations(["true", "false", "misleading", "half_true"]))
def test_alpha_is_none_or_a_finite_value_at_most_one(units: Units, order: list[str]) -> None:
    # RuntimeWarnings are errors in this suite, so this also shows the undefined cases
    # are caught before the library divides 0 by 0.
    for result in (alpha(units), alpha(units, level="ordinal", order=order[:3])):
        assert result is None or (math.isfinite(result) and result <= 1.0)


@given(units=UNITS)
def test_percent_agreement_is_a_share(units: Units) -> None:
    result = percent_agreement(units)

    if any(len(ratings) >= 2 for ratings in units.values()):
        assert result is not None
        assert 0.0 <= result <= 1.0
    else:
        assert result is None


# ---------------------------------------------------------------------------
# The same statistics from the units' pair sums (what the database adds up)
# ---------------------------------------------------------------------------


def test_pair_sums_reproduce_krippendorffs_examples() -> None:
    sums = pair_sums(units_from_rows(KRIPPENDORFF_2011))

    nominal = alpha_from_pair_sums(sums)
    ordinal = alpha_from_pair_sums(sums, level="ordinal", order=[1, 2, 3, 4, 5])
    assert nominal is not None and round(nominal, 3) == 0.743
    assert ordinal is not None and round(ordinal, 3) == 0.815


def test_pair_sums_count_each_units_pairs_once_per_order() -> None:
    # Three values a, a, b: pairs (a, a) twice (n_a * (n_a - 1)), (a, b) and (b, a) twice
    # each; a unit of one value has none.
    assert pair_sums({"u": {"x": "a", "y": "a", "z": "b"}, "v": {"x": "a"}}) == {
        ("a", "a", 3): 2,
        ("a", "b", 3): 2,
        ("b", "a", 3): 2,
        ("b", "b", 3): 0,
    }


@settings(deadline=None, max_examples=300)
@given(units=UNITS, order=st.permutations(["true", "false", "misleading", "half_true"]))
def test_pair_sums_give_what_the_units_give(units: Units, order: list[str]) -> None:
    # The project page's figures come from sums PostgreSQL or SQLite add up
    # (selectors.projects.agreement_report); they must be the units' own.
    sums = pair_sums(units)
    nominal, from_sums = alpha(units), alpha_from_pair_sums(sums)
    assert (nominal is None) == (from_sums is None)
    if nominal is not None:
        assert from_sums == pytest.approx(nominal, abs=1e-9)
    ranked = order[:3]
    scaled = {u: {r: v for r, v in rs.items() if v in ranked} for u, rs in units.items()}
    ordinal = alpha(units, level="ordinal", order=ranked)
    from_sums = alpha_from_pair_sums(pair_sums(scaled), level="ordinal", order=ranked)
    assert (ordinal is None) == (from_sums is None)
    if ordinal is not None:
        assert from_sums == pytest.approx(ordinal, abs=1e-9)
    shared = percent_agreement(units)
    assert percent_agreement_from_pair_sums(sums) == (
        None if shared is None else pytest.approx(shared, abs=1e-12)
    )


def test_pair_sums_refuse_a_value_off_the_scale() -> None:
    with pytest.raises(ValueError, match="outside"):
        alpha_from_pair_sums({("a", "z", 2): 1, ("z", "a", 2): 1}, level="ordinal", order=["a"])


def test_pair_sums_refuse_what_alpha_refuses() -> None:
    sums = {("a", "b", 2): 1, ("b", "a", 2): 1}
    with pytest.raises(ValueError, match="unknown level"):
        alpha_from_pair_sums(sums, level="interval")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only applies"):
        alpha_from_pair_sums(sums, order=["a", "b"])
    with pytest.raises(ValueError, match="more than once"):
        alpha_from_pair_sums(sums, level="ordinal", order=["a", "b", "a"])
