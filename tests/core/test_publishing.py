"""Tests for annotations.core.publishing (pure, no database): the ClaimReview of a claim's
publication versions, the DataFeed as it stood at an instant, its deterministic bytes,
and the ``?at=`` instant parser. Hypothesis checks the properties the feed promises."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.core import publishing
from tests import conformance

pytestmark = pytest.mark.db_independent

SCHEMA = conformance.load_json(conformance.CLAIMREVIEW_SCHEMA)
T0 = dt.datetime(2030, 5, 1, 10, 0, tzinfo=dt.UTC)


def version(
    claim: int, number: int, kind: str, at: dt.datetime, published: dt.datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "claim": claim,
        "number": number,
        "kind": kind,
        "statement": extra.get("statement", f"Claim {claim} said something"),
        "claimant": extra.get("claimant", "The mayor"),
        "rating_key": extra.get("rating_key", "false"),
        "rating_label": extra.get("rating_label", "False"),
        "rating_value": extra.get("rating_value", 1),
        "best_rating": 5,
        "worst_rating": 1,
        "summary": "What we found.",
        "note": extra.get("note", "" if kind == "publish" else "Why it changed."),
        "citations": [],
        "appearance_title": "Evening news",
        "appearance_url": "https://news.example.org/a",
        "appearance_date": "2030-04-30",
        "publisher_name": "Desk",
        "publisher_url": "https://desk.example.org",
        "published_at": publishing.utc_iso(published),
        "modified_at": publishing.utc_iso(at),
    }


def page(claim_id: int) -> str:
    return f"https://pub.example.org/fact-checks/desk/{claim_id}/"


def feed(versions: list[dict[str, Any]], at: dt.datetime) -> dict[str, Any]:
    return publishing.feed_at(
        versions,
        at=at,
        slug="desk",
        feed_url="https://pub.example.org/fact-checks/desk/feed.json",
        page_url=page,
    )


def test_a_published_version_is_a_valid_claimreview_with_googles_required_fields() -> None:
    node = publishing.claimreview_node([version(1, 1, "publish", T0, T0)], url=page(1))
    assert node is not None
    failures, report = conformance.check_claimreview(node, SCHEMA)
    assert failures == 0, "\n".join(report)
    for key in ("claimReviewed", "url", "author", "datePublished"):
        assert node[key]
    assert node["reviewRating"]["alternateName"] == "False"
    assert (node["reviewRating"]["ratingValue"], node["reviewRating"]["bestRating"]) == (1, 5)
    assert "dateModified" not in node and "correction" not in node


def test_a_rating_off_the_scale_carries_only_its_label() -> None:
    off = version(1, 1, "publish", T0, T0, rating_value=None, rating_label="Misleading")
    rating = publishing.claimreview_node([off], url=page(1))["reviewRating"]  # type: ignore[index]
    assert rating == {"@type": "Rating", "alternateName": "Misleading", "name": "Misleading"}


def test_a_correction_keeps_date_published_and_adds_date_modified_and_the_note() -> None:
    later = T0 + dt.timedelta(days=2)
    versions = [
        version(1, 1, "publish", T0, T0),
        version(1, 2, "correct", later, T0, rating_label="Half true", rating_value=3),
    ]
    node = publishing.claimreview_node(versions, url=page(1))
    assert node is not None
    assert node["datePublished"] == "2030-05-01T10:00:00.000000Z"
    assert node["dateModified"] == "2030-05-03T10:00:00.000000Z"
    assert node["reviewRating"]["alternateName"] == "Half true"
    assert node["correction"] == [
        {
            "@type": "CorrectionComment",
            "text": "Why it changed.",
            "datePublished": "2030-05-03T10:00:00.000000Z",
        }
    ]
    assert conformance.check_claimreview(node, SCHEMA)[0] == 0


def test_a_retraction_has_no_claimreview_and_leaves_the_feed() -> None:
    versions = [
        version(1, 1, "publish", T0, T0),
        version(1, 2, "retract", T0 + dt.timedelta(hours=1), T0),
        version(2, 1, "publish", T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=5)),
    ]
    assert publishing.claimreview_node(versions[:2], url=page(1)) is None
    now = feed(versions, T0 + dt.timedelta(days=1))
    assert [item["item"]["url"] for item in now["dataFeedElement"]] == [page(2)]
    # The retraction changed the feed: it is the feed's last modification.
    assert now["dateModified"] == "2030-05-01T11:00:00.000000Z"
    before = feed(versions, T0 + dt.timedelta(minutes=30))
    assert [item["item"]["url"] for item in before["dataFeedElement"]] == [page(2), page(1)]


def test_an_empty_feed_has_no_date_modified() -> None:
    empty = feed([], T0)
    assert empty["dataFeedElement"] == [] and "dateModified" not in empty
    assert empty["name"] == "desk"


def test_the_feed_bytes_escape_what_could_close_a_script() -> None:
    hostile = version(1, 1, "publish", T0, T0, statement="</script><script>alert(1)</script><!--")
    body = publishing.feed_bytes(feed([hostile], T0))
    assert b"</script" not in body and b"<!--" not in body
    assert json.loads(body)["dataFeedElement"][0]["item"]["claimReviewed"] == (
        "</script><script>alert(1)</script><!--"
    )


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2030-05-01", "2030-05-01T10:00:00", "2030-13-01T00:00:00Z", "x" * 100],
)
def test_parse_instant_refuses_what_names_no_instant(text: str) -> None:
    with pytest.raises(ValueError):
        publishing.parse_instant(text)


def test_parse_instant_reads_z_and_offsets_as_utc() -> None:
    assert publishing.parse_instant("2030-05-01T10:00:00Z") == T0
    assert publishing.parse_instant("2030-05-01T12:00:00+02:00") == T0


# --- properties ----------------------------------------------------------------------------

KINDS_AFTER_PUBLISH = st.sampled_from(["correct", "retract"])


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Version lists for a few claims: each starts with a publish, may be corrected, and
    may end with a retraction; times only go forward within a claim."""
    versions: list[dict[str, Any]] = []
    for claim in range(1, draw(st.integers(1, 4)) + 1):
        start = T0 + dt.timedelta(minutes=draw(st.integers(0, 600)))
        at = start
        versions.append(version(claim, 1, "publish", at, start))
        for number in range(2, draw(st.integers(1, 4)) + 1):
            kind = draw(KINDS_AFTER_PUBLISH)
            at = at + dt.timedelta(minutes=draw(st.integers(0, 120)))
            versions.append(version(claim, number, kind, at, start))
            if kind == "retract":
                break
    return versions


INSTANTS = st.integers(-60, 1500).map(lambda m: T0 + dt.timedelta(minutes=m))


@settings(max_examples=150, deadline=None)
@given(histories(), INSTANTS, st.randoms(use_true_random=False))
def test_the_feed_at_an_instant_ignores_later_versions_and_row_order(
    versions: list[dict[str, Any]], at: dt.datetime, rnd: Any
) -> None:
    expected = publishing.feed_bytes(feed(versions, at))
    shuffled = list(versions)
    rnd.shuffle(shuffled)
    later = [v for v in versions if v["modified_at"] <= publishing.utc_iso(at)]
    # Same bytes whatever the row order, and whatever was added after the instant.
    assert publishing.feed_bytes(feed(shuffled, at)) == expected
    assert publishing.feed_bytes(feed(later, at)) == expected


@settings(max_examples=150, deadline=None)
@given(histories(), INSTANTS)
def test_the_feed_holds_each_unretracted_claim_once_with_its_latest_version(
    versions: list[dict[str, Any]], at: dt.datetime
) -> None:
    cutoff = publishing.utc_iso(at)
    latest: dict[int, dict[str, Any]] = {}
    for v in sorted(versions, key=lambda v: v["number"]):
        if v["modified_at"] <= cutoff:
            latest[v["claim"]] = v
    items = feed(versions, at)["dataFeedElement"]
    expected = {claim for claim, v in latest.items() if v["kind"] != "retract"}
    assert {int(item["item"]["url"].rstrip("/").rsplit("/", 1)[1]) for item in items} == expected
    assert len(items) == len(expected)
    stamps = [item["dateModified"] for item in items]
    assert stamps == sorted(stamps, reverse=True)
    for item in items:
        assert conformance.check_claimreview(item["item"], SCHEMA)[0] == 0
