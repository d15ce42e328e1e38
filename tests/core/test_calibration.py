"""Tests for annotations.core.calibration (issue 18): the seeded gold draw and the maths of
the reviewer statistics. Pure functions, no database; properties with hypothesis."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.core import calibration
from annotations.core.consensus import ORDINAL, alpha

pytestmark = pytest.mark.db_independent

ORDER = ["false", "mostly_false", "half_true", "mostly_true", "true"]
ids = st.integers(min_value=1, max_value=10**9)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


# --- the draw ----------------------------------------------------------------------------------


@given(project=ids, reviewer=ids, serial=st.integers(min_value=0, max_value=10**6))
def test_the_draw_is_a_pure_function_of_its_seed_in_the_unit_interval(
    project: int, reviewer: int, serial: int
) -> None:
    draw = calibration.gold_draw(project_id=project, reviewer_id=reviewer, serial=serial)
    assert 0 <= draw < 1
    assert draw == calibration.gold_draw(project_id=project, reviewer_id=reviewer, serial=serial)


@given(
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
    low=st.floats(0, 1),
    high=st.floats(0, 1),
)
def test_serving_gold_is_monotone_in_the_rate(draw: float, low: float, high: float) -> None:
    low, high = sorted((low, high))
    if calibration.serve_gold(rate=low, draw=draw):
        assert calibration.serve_gold(rate=high, draw=draw)
    assert not calibration.serve_gold(rate=0, draw=draw)
    assert calibration.serve_gold(rate=1, draw=draw)


def test_a_rate_outside_zero_to_one_is_refused() -> None:
    for rate in (-0.1, 1.5):
        with pytest.raises(ValueError):
            calibration.serve_gold(rate=rate, draw=0.5)


@settings(max_examples=20)
@given(project=ids, reviewer=ids, rate=st.sampled_from([0.05, 0.1, 0.25, 0.5]))
def test_over_many_leases_the_share_of_gold_is_near_the_rate(
    project: int, reviewer: int, rate: float
) -> None:
    n = 4000
    served = sum(
        calibration.serve_gold(
            rate=rate,
            draw=calibration.gold_draw(project_id=project, reviewer_id=reviewer, serial=serial),
        )
        for serial in range(n)
    )
    # Five standard deviations of a binomial share: a false alarm about once in 3.5 million.
    assert abs(served / n - rate) <= 5 * (rate * (1 - rate) / n) ** 0.5


# --- the statistics' maths -------------------------------------------------------------------


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), max_size=50))
def test_median_matches_the_standard_library(values: list[float]) -> None:
    if values:
        assert calibration.median(values) == pytest.approx(statistics.median(values))
    else:
        assert calibration.median(values) is None


@given(total=st.integers(0, 1000), data=st.data())
def test_share_is_part_over_total_or_none(total: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(0, total))
    value = calibration.share(part, total)
    assert value is None if total == 0 else value == part / total
    with pytest.raises(ValueError):
        calibration.share(total + 1, total)


votes = st.dictionaries(st.integers(0, 30), st.sampled_from(ORDER), max_size=30)


@given(mine=votes, consensus=votes)
def test_agreement_counts_only_claims_with_consensus(
    mine: dict[int, str], consensus: dict[int, str]
) -> None:
    matched, compared = calibration.agreement_with_consensus(mine, consensus)
    assert compared == len(set(mine) & set(consensus))
    assert matched == sum(1 for c in mine if c in consensus and consensus[c] == mine[c])
    assert 0 <= matched <= compared


def test_gold_accuracy_scores_answers_on_claims_still_gold() -> None:
    answers = {1: "false", 2: "true", 3: "true"}
    assert calibration.gold_accuracy(answers, {1: "false", 2: "false"}) == (1, 2)


def test_pairwise_alpha_averages_each_pair_weighted_by_shared_claims() -> None:
    units = {
        1: {"a": "true", "b": "true", "c": "false"},
        2: {"a": "false", "b": "false", "c": "false"},
        3: {"a": "half_true", "b": "true"},
        4: {"b": "false", "c": "true"},
    }
    with_b = alpha(
        {u: {"a": r["a"], "b": r["b"]} for u, r in units.items() if "a" in r and "b" in r},
        level=ORDINAL,
        order=ORDER,
    )
    with_c = alpha(
        {u: {"a": r["a"], "c": r["c"]} for u, r in units.items() if "a" in r and "c" in r},
        level=ORDINAL,
        order=ORDER,
    )
    assert with_b is not None and with_c is not None
    expected = (with_b * 3 + with_c * 2) / 5
    assert calibration.pairwise_alpha("a", units, order=ORDER) == pytest.approx(expected)
    assert calibration.pairwise_alpha("nobody", units, order=ORDER) is None


@given(
    st.dictionaries(
        st.integers(0, 10),
        st.dictionaries(st.sampled_from("abcd"), st.sampled_from(ORDER), max_size=4),
        max_size=10,
    )
)
def test_pairwise_alpha_is_none_or_at_most_one(units: dict[int, dict[str, str]]) -> None:
    value = calibration.pairwise_alpha("a", units, order=ORDER)
    assert value is None or value <= 1 + 1e-9


leases = st.lists(
    st.tuples(
        st.sampled_from(["r1", "r2"]),
        st.sampled_from(["leased", "submitted", "released", "expired", "skipped"]),
        st.integers(0, 10_000),
        st.integers(1, 3_600),
    ),
    max_size=30,
)


@given(rows=leases)
def test_rates_and_the_median_follow_the_queue_entries(
    rows: list[tuple[str, str, int, int]],
) -> None:
    now = T0 + dt.timedelta(seconds=5_000)
    lease_rows = [
        calibration.LeaseRow(
            reviewer=reviewer,
            state=state,
            leased_at=T0 + dt.timedelta(seconds=start),
            expires_at=T0 + dt.timedelta(seconds=start + 1_800),
            closed_at=None if state == "leased" else T0 + dt.timedelta(seconds=start + took),
        )
        for reviewer, state, start, took in rows
    ]
    figures = calibration.reviewer_figures(
        reviewers=[("r1", "one"), ("r2", "two")],
        verdict_counts={},
        counted=[],
        consensus={},
        calibration_answers=[],
        gold={},
        leases=lease_rows,
        order=ORDER,
        now=now,
    )
    for figure, reviewer in zip(figures, ("r1", "r2"), strict=True):
        mine = [r for r in rows if r[0] == reviewer]
        assert figure.leases == len(mine)
        if not mine:
            assert figure.skip_rate is None and figure.expiry_rate is None
            continue
        assert figure.skip_rate == sum(r[1] == "skipped" for r in mine) / len(mine)
        expired = sum(
            r[1] == "expired" or (r[1] == "leased" and r[2] + 1_800 <= 5_000) for r in mine
        )
        assert figure.expiry_rate == expired / len(mine)
        took = [r[3] for r in mine if r[1] == "submitted"]
        assert figure.median_seconds_to_verdict == (statistics.median(took) if took else None)
