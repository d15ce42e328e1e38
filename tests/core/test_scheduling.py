"""Tests for annotations.core.scheduling, the queue's order and deadlines. Pure, no
database."""

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import scheduling
from annotations.core.lifecycle import DECIDED, UNDECIDED, Status

pytestmark = pytest.mark.db_independent

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
times = st.integers(min_value=-10_000, max_value=10_000).map(
    lambda minutes: T0 + dt.timedelta(minutes=minutes)
)
claims = st.fixed_dictionaries(
    {
        "assigned": st.booleans(),
        "priority": st.sampled_from(sorted(scheduling.PRIORITY_RANK.values())),
        "due_at": st.none() | times,
        "created_at": times,
        "pk": st.integers(min_value=1, max_value=10**6),
    }
)


def test_keys_and_ranks_map_both_ways_in_order() -> None:
    assert scheduling.PRIORITIES == ("urgent", "high", "normal", "low")
    ranks = [scheduling.priority_rank(key) for key in scheduling.PRIORITIES]
    assert ranks == sorted(ranks)
    assert [scheduling.priority_key(rank) for rank in ranks] == list(scheduling.PRIORITIES)
    assert scheduling.DEFAULT_PRIORITY == "normal"


@given(status=st.sampled_from([s.value for s in Status]), due=st.none() | times, now=times)
def test_overdue_means_past_its_deadline_and_undecided(
    status: str, due: dt.datetime | None, now: dt.datetime
) -> None:
    expected = due is not None and due <= now and status in UNDECIDED
    assert scheduling.is_overdue(status=status, due_at=due, now=now) is expected
    if status in DECIDED or status == Status.WITHDRAWN:
        assert not scheduling.is_overdue(status=status, due_at=due, now=now)


@given(st.lists(claims, min_size=2, max_size=30, unique_by=lambda c: c["pk"]))
def test_the_order_is_assigned_priority_deadline_none_last_age_id(rows: list[dict]) -> None:
    ordered = sorted(rows, key=lambda c: scheduling.queue_sort_key(**c))
    for before, after in itertools.pairwise(ordered):
        if before["assigned"] != after["assigned"]:
            assert before["assigned"]
            continue
        if before["priority"] != after["priority"]:
            assert before["priority"] < after["priority"]
            continue
        if (before["due_at"] is None) != (after["due_at"] is None):
            assert after["due_at"] is None  # no deadline comes last
            continue
        if before["due_at"] != after["due_at"]:
            assert before["due_at"] < after["due_at"]
            continue
        assert (before["created_at"], before["pk"]) < (after["created_at"], after["pk"])
