"""The evidence policy as pure logic (``annotations.core.evidence_policy``): which rules a
verdict's citations break, the policy in a sentence, and the stored form of a set of
stances. No database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import evidence_policy
from annotations.core.evidence_policy import Cited, EvidencePolicy

pytestmark = pytest.mark.db_independent

STANCES = ("supports", "refutes", "context")
OPEN = EvidencePolicy(min_citations=0, quote_required=False, allowed_stances=STANCES)

stance_sets = st.sets(st.sampled_from(STANCES), min_size=1).map(
    lambda chosen: tuple(s for s in STANCES if s in chosen)
)
policies = st.builds(
    EvidencePolicy,
    min_citations=st.integers(0, evidence_policy.MAX_MIN_CITATIONS),
    quote_required=st.booleans(),
    allowed_stances=stance_sets,
)
quotes = st.one_of(st.just(""), st.just("  \n"), st.text(min_size=1, max_size=20))
citations = st.lists(st.builds(Cited, stance=st.sampled_from(STANCES), quote=quotes), max_size=8)


@given(citations)
def test_the_open_policy_refuses_nothing(cited: list[Cited]) -> None:
    assert evidence_policy.policy_breaches(OPEN, cited) == []
    assert evidence_policy.policy_is_open(OPEN, STANCES)
    assert evidence_policy.policy_summary(OPEN, STANCES) == ""


@given(policies, citations)
def test_each_rule_is_broken_exactly_where_its_condition_fails(
    policy: EvidencePolicy, cited: list[Cited]
) -> None:
    breaches = evidence_policy.policy_breaches(policy, cited)
    count = [b for b in breaches if b.rule == evidence_policy.MIN_CITATIONS]
    assert len(count) == (1 if len(cited) < policy.min_citations else 0)
    assert all(b.index is None and b.field is None for b in count)
    quote = [b.index for b in breaches if b.rule == evidence_policy.QUOTE_REQUIRED]
    assert quote == [
        i for i, c in enumerate(cited) if policy.quote_required and not c.quote.strip()
    ]
    assert all(b.field == "quote" for b in breaches if b.rule == evidence_policy.QUOTE_REQUIRED)
    stance = [b.index for b in breaches if b.rule == evidence_policy.STANCE_NOT_ALLOWED]
    assert stance == [i for i, c in enumerate(cited) if c.stance not in policy.allowed_stances]
    assert len(breaches) == len(count) + len(quote) + len(stance)
    assert all("evidence policy" in b.message for b in breaches)


@given(policies, citations)
def test_a_stricter_policy_never_refuses_less(policy: EvidencePolicy, cited: list[Cited]) -> None:
    stricter = EvidencePolicy(
        min_citations=min(policy.min_citations + 1, evidence_policy.MAX_MIN_CITATIONS),
        quote_required=True,
        allowed_stances=policy.allowed_stances[:1],
    )
    loose = {(b.rule, b.index) for b in evidence_policy.policy_breaches(policy, cited)}
    strict = {(b.rule, b.index) for b in evidence_policy.policy_breaches(stricter, cited)}
    assert loose <= strict


@given(policies)
def test_a_verdict_can_always_comply(policy: EvidencePolicy) -> None:
    compliant = [
        Cited(stance=policy.allowed_stances[0], quote="a passage")
        for _ in range(policy.min_citations)
    ]
    assert evidence_policy.policy_breaches(policy, compliant) == []


@given(policies)
def test_the_summary_is_empty_only_for_the_open_policy(policy: EvidencePolicy) -> None:
    summary = evidence_policy.policy_summary(policy, STANCES)
    assert (summary == "") == evidence_policy.policy_is_open(policy, STANCES)


@given(st.lists(st.sampled_from(STANCES)))
def test_stances_round_trip_in_the_given_order(chosen: list[str]) -> None:
    text = evidence_policy.stances_text(chosen, STANCES)
    assert evidence_policy.stances_split(text) == tuple(s for s in STANCES if s in chosen)
    assert (text in evidence_policy.stance_texts(STANCES)) == bool(chosen)


def test_messages_and_summaries_name_the_rule() -> None:
    demo = EvidencePolicy(min_citations=1, quote_required=True, allowed_stances=STANCES)
    [breach] = evidence_policy.policy_breaches(demo, [])
    assert breach.message == (
        "This project's evidence policy requires at least 1 citation per verdict."
    )
    assert evidence_policy.policy_summary(demo, STANCES) == (
        "This project requires at least 1 quoted citation per verdict."
    )
    narrow = EvidencePolicy(min_citations=2, quote_required=False, allowed_stances=STANCES[:2])
    [count, stance] = evidence_policy.policy_breaches(narrow, [Cited("context")])
    assert "at least 2 citations" in count.message
    assert stance.message == (
        "This project's evidence policy does not allow 'context' citations; "
        "use supports or refutes."
    )
    assert evidence_policy.policy_summary(narrow, STANCES) == (
        "This project requires at least 2 citations per verdict; "
        "citations of stance supports or refutes only."
    )
    quotes_only = EvidencePolicy(min_citations=0, quote_required=True, allowed_stances=STANCES)
    assert evidence_policy.policy_summary(quotes_only, STANCES) == (
        "This project requires a quote from the source in every citation."
    )
    assert len(evidence_policy.stance_texts(STANCES)) == 7


def test_an_unknown_stance_cannot_be_stored() -> None:
    try:
        evidence_policy.stances_text(["agrees"], STANCES)
    except ValueError as exc:
        assert "agrees" in str(exc)
    else:
        raise AssertionError("an unknown stance was accepted")
