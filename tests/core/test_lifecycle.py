"""Tests for annotations.core.lifecycle, the claim state machine: the table as the issue
states it, every state reachable, no transition outside the table, published claims never
revised or reopened in place (corrected or retracted instead), and the paths an import
replays. Pure, no database.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import lifecycle
from annotations.core.lifecycle import Action, Status

pytestmark = pytest.mark.db_independent

STATUSES = [s.value for s in Status]
ACTIONS = [a.value for a in Action]

TABLE = [
    # from, action, to
    ("in_review", "decide_resolved", "resolved"),
    ("in_review", "decide_disputed", "disputed"),
    ("disputed", "adjudicate", "resolved"),
    ("resolved", "publish", "published"),
    ("resolved", "reopen", "disputed"),
    ("published", "correct", "corrected"),
    ("corrected", "correct", "corrected"),
    ("published", "retract", "retracted"),
    ("corrected", "retract", "retracted"),
    ("disputed", "revise", "in_review"),
    ("resolved", "revise", "in_review"),
    ("in_review", "withdraw", "withdrawn"),
    ("resolved", "withdraw", "withdrawn"),
]

REFUSED = [
    # the issue's scenarios: publishing an undecided claim, editing a published one
    ("in_review", "publish"),
    ("disputed", "publish"),
    ("published", "revise"),
    ("published", "withdraw"),
    ("withdrawn", "reopen"),
    ("withdrawn", "revise"),
    ("in_review", "adjudicate"),
    ("resolved", "adjudicate"),
    ("published", "publish"),
    # Publishing: a published claim is never reopened (the integrity finding), nor revised
    ("published", "reopen"),
    ("corrected", "reopen"),
    ("corrected", "revise"),
    ("corrected", "withdraw"),
    ("corrected", "publish"),
    ("resolved", "correct"),
    ("resolved", "retract"),
    ("disputed", "correct"),
    ("retracted", "correct"),
    ("retracted", "publish"),
    ("retracted", "reopen"),
    ("withdrawn", "retract"),
]


@pytest.mark.parametrize(("source", "action", "target"), TABLE)
def test_the_table_allows_the_issues_transitions(source: str, action: str, target: str) -> None:
    assert lifecycle.allowed(source, action)
    assert lifecycle.transition(source, action) == target


@pytest.mark.parametrize(("source", "action"), REFUSED)
def test_the_table_refuses_what_the_issue_forbids(source: str, action: str) -> None:
    assert not lifecycle.allowed(source, action)
    with pytest.raises(lifecycle.TransitionRefused) as excinfo:
        lifecycle.transition(source, action)
    assert source.replace("_", " ") in str(excinfo.value)


def test_revising_a_published_claim_names_the_publishing_workflow() -> None:
    with pytest.raises(lifecycle.TransitionRefused, match="publishing workflow"):
        lifecycle.transition("published", "revise")


def test_every_state_is_reachable_from_review() -> None:
    assert lifecycle.reachable() == frozenset(Status)


def test_withdrawn_is_final() -> None:
    assert lifecycle.actions_from("withdrawn") == []


def test_retracted_is_final_and_published_leads_only_to_corrections_and_retraction() -> None:
    assert lifecycle.actions_from("retracted") == []
    assert set(lifecycle.actions_from("published")) == {Action.CORRECT, Action.RETRACT}
    assert set(lifecycle.actions_from("corrected")) == {Action.CORRECT, Action.RETRACT}


def test_corrected_is_decided_and_public_states_are_the_published_ones() -> None:
    assert Status.CORRECTED in lifecycle.DECIDED
    assert Status.RETRACTED in lifecycle.FINAL
    assert {Status.PUBLISHED, Status.CORRECTED, Status.RETRACTED} == lifecycle.PUBLIC
    assert {Status.PUBLISHED, Status.CORRECTED} == lifecycle.IN_FEED
    assert lifecycle.path_to("retracted") == [
        Action.DECIDE_RESOLVED,
        Action.PUBLISH,
        Action.RETRACT,
    ]


def test_decided_and_undecided_states_partition_the_live_states() -> None:
    assert frozenset(Status) == lifecycle.DECIDED | lifecycle.UNDECIDED | lifecycle.FINAL
    assert not lifecycle.DECIDED & lifecycle.UNDECIDED


@given(st.sampled_from([*STATUSES, "bogus", ""]), st.sampled_from([*ACTIONS, "bogus", ""]))
def test_no_transition_outside_the_table(status: str, action: str) -> None:
    in_table = any(s == status and a == action for (s, a) in lifecycle.TRANSITIONS)
    assert lifecycle.allowed(status, action) == in_table
    if in_table:
        assert lifecycle.transition(status, action) in Status
    else:
        with pytest.raises(lifecycle.TransitionRefused):
            lifecycle.transition(status, action)


@given(st.lists(st.sampled_from(ACTIONS), max_size=30))
def test_any_walk_through_the_table_stays_on_reachable_states(actions: list[str]) -> None:
    status = lifecycle.INITIAL
    reachable = lifecycle.reachable()
    for action in actions:
        if lifecycle.allowed(status, action):
            status = lifecycle.transition(status, action)
        assert status in reachable
    assert status in Status


@given(st.lists(st.sampled_from(ACTIONS), max_size=30))
def test_a_decided_state_is_entered_only_by_a_decision(actions: list[str]) -> None:
    status = lifecycle.INITIAL
    for action in actions:
        if not lifecycle.allowed(status, action):
            continue
        target = lifecycle.transition(status, action)
        if target in lifecycle.DECIDED and status not in lifecycle.DECIDED:
            assert action in {"decide_resolved", "adjudicate"}
        status = target


@pytest.mark.parametrize("target", STATUSES)
def test_path_to_replays_every_state_through_the_table(target: str) -> None:
    path = lifecycle.path_to(target)
    assert path is not None
    status: str = lifecycle.INITIAL
    for action in path:
        status = lifecycle.transition(status, action)
    assert status == target


def test_path_to_an_unknown_state_is_none() -> None:
    assert lifecycle.path_to("archived") is None
    assert lifecycle.needs_consensus("published") and not lifecycle.needs_consensus("disputed")
