"""Reading earlier fact checks from ClaimReview JSON-LD, feeds and JSONL (pure)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import claimreview

pytestmark = pytest.mark.db_independent

REVIEW = {
    "@type": "ClaimReview",
    "claimReviewed": "Taxes rose by 3%.",
    "url": "https://checks.example.org/taxes",
    "name": "Did taxes rise?",
    "datePublished": "2024-02-01",
    "publisher": {"name": "Checks"},
    "reviewRating": {"ratingValue": "2", "bestRating": "5"},
}


def test_a_claimreview_maps_to_the_api_fields() -> None:
    (found,) = claimreview.parse_json(json.dumps(REVIEW))
    assert isinstance(found, claimreview.Candidate)
    assert found.fields == {
        "claim_reviewed": "Taxes rose by 3%.",
        "headline": "Did taxes rise?",
        "url": "https://checks.example.org/taxes",
        "rating": "2/5",
        "date": dt.date(2024, 2, 1),
        "publisher": "Checks",
    }


def test_feeds_graphs_and_lists_are_followed() -> None:
    for doc in (
        [REVIEW, REVIEW],
        {"@graph": [REVIEW, REVIEW]},
        {
            "@type": "DataFeed",
            "dataFeedElement": [{"@type": "DataFeedItem", "item": [REVIEW]}, REVIEW],
        },
    ):
        found = list(claimreview.parse_json(json.dumps(doc)))
        assert [type(f) for f in found] == [claimreview.Candidate] * 2


def test_fact_check_tools_style_claims_give_one_reference_per_review() -> None:
    doc = {
        "claims": [
            {
                "text": "The moon is made of cheese.",
                "claimReview": [
                    {
                        "url": "https://a.example/x",
                        "textualRating": "False",
                        "publisher": {"name": "A"},
                    },
                    {
                        "url": "https://b.example/y",
                        "textualRating": "Wrong",
                        "reviewDate": "2020-01-02T00:00:00Z",
                    },
                ],
            }
        ]
    }
    found = list(claimreview.parse_json(json.dumps(doc)))
    assert [f.fields["rating"] for f in found] == ["False", "Wrong"]
    assert found[1].fields["date"] == dt.date(2020, 1, 2)


def test_problems_name_their_place() -> None:
    found = list(claimreview.parse_json(json.dumps([REVIEW, {"@type": "ClaimReview"}, 3])))
    assert isinstance(found[0], claimreview.Candidate)
    assert isinstance(found[1], claimreview.Problem) and found[1].label == "item 2"
    assert isinstance(found[2], claimreview.Problem) and found[2].label == "item 3"
    (bad_date,) = claimreview.parse_json(json.dumps({**REVIEW, "datePublished": "yesterday"}))
    assert isinstance(bad_date, claimreview.Problem) and "date" in bad_date.message


def test_jsonl_lines_take_api_fields_or_claimreviews() -> None:
    lines = [
        json.dumps({"claim_reviewed": " A claim. ", "rating": "True"}),
        "",
        json.dumps(REVIEW),
        json.dumps({"claim_reviewed": "x", "extra": 1}),
    ]
    found = list(claimreview.parse_jsonl(iter(lines)))
    assert found[0].fields["claim_reviewed"] == "A claim."
    assert found[1].fields["rating"] == "2/5"
    assert isinstance(found[2], claimreview.Problem) and found[2].label == "line 4"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_json_gives_candidates_or_problems_never_an_exception(value: object) -> None:
    for found in claimreview.parse_json(json.dumps(value)):
        assert isinstance(found, (claimreview.Candidate, claimreview.Problem))
        if isinstance(found, claimreview.Candidate):
            assert found.fields["claim_reviewed"]
