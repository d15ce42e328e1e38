"""Tests for annotations.core.cleaning: pure Python, no database. The sample article,
focused cleaning cases, the demo claims, and properties over mixed text.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core.cleaning import (
    Cleaned,
    Removal,
    clean_text,
    drop_control_characters,
    storable_raw_text,
)

pytestmark = pytest.mark.db_independent

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE = (FIXTURES / "seed" / "sample_article.txt").read_text(encoding="utf-8")
DEMO_CLAIMS = json.loads((FIXTURES / "demo_claims.json").read_text(encoding="utf-8"))

SAMPLE_TITLE = "The contrasting Russian/Chinese vs. US models for geo-economic diplomacy"
RELATED_HEADLINES = (
    "The new Middle East: A North/South divide where Israel is losing its narrative"
    " and its old game plan",
    "Two Koreas\u2013One Road: The future of cooperation between North Korea, South Korea and Russia",
)


@pytest.fixture(scope="module")
def cleaned() -> Cleaned:
    return clean_text(SAMPLE)


def non_blank_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


# --- the sample article ---------------------------------------------------------------


def test_it_removes_css_script_and_feed_furniture_from_the_sample(cleaned: Cleaned) -> None:
    for junk in ("@media", "adsbygoogle", "{", "}", "appeared first on", "adace_"):
        assert junk not in cleaned.text, junk
    assert cleaned.text.split("\n")[-1].strip() != "Source"
    assert not cleaned.text.rstrip().endswith("Source")


def test_it_takes_title_from_first_line_and_publisher_from_footer(cleaned: Cleaned) -> None:
    assert cleaned.title == SAMPLE_TITLE
    assert cleaned.publisher == "The Duran"
    assert not cleaned.text.startswith(SAMPLE_TITLE)
    assert cleaned.text.startswith("Russia\u2019s\u00a0Deputy Foreign Minister Igor Morgulov")


def test_it_removes_and_reports_the_related_headlines(cleaned: Cleaned) -> None:
    reported = [r.text for r in cleaned.removed if r.kind == "related-headline"]
    assert reported == list(RELATED_HEADLINES)
    for headline in RELATED_HEADLINES:
        assert headline not in cleaned.text


def test_it_reports_what_it_removed_from_the_sample_in_order(cleaned: Cleaned) -> None:
    assert [(r.kind, r.line) for r in cleaned.removed] == [
        ("title", 1),
        ("css", 3),  # four one-line @media rules, reported as one run
        ("script", 8),
        ("related-headline", 15),
        ("css", 17),
        ("related-headline", 26),
        ("feed-footer", 55),
        ("source-marker", 57),
    ]
    assert cleaned.removed[1].text.count("\n") == 3


def test_it_keeps_numbered_items_and_quoted_speech(cleaned: Cleaned) -> None:
    lines = cleaned.text.split("\n")
    assert (
        "1. Attempts to create points of tensions along key areas of One Belt\u2013One Road"
        in lines
    )
    assert any(
        line.startswith("2. Attempts to exploit as many traditional conflicts") for line in lines
    )
    quoted = [line for line in lines if line.startswith(("“", "…"))]
    assert len(quoted) == 10
    assert quoted[0].startswith("“Unfortunately, I have to say")
    assert quoted[-1].endswith("in the foreseeable future”.")


def test_every_removal_matches_the_raw_text_at_its_line(cleaned: Cleaned) -> None:
    raw_lines = SAMPLE.split("\n")
    for removal in cleaned.removed:
        count = removal.text.count("\n") + 1
        span = raw_lines[removal.line - 1 : removal.line - 1 + count]
        assert "\n".join(span) == removal.text, removal


def test_it_keeps_the_other_lines_byte_identical(cleaned: Cleaned) -> None:
    # Kept and removed lines together are exactly the raw text's non-blank lines:
    # nothing was reflowed, re-spaced or silently dropped.
    removed = [line for r in cleaned.removed for line in non_blank_lines(r.text)]
    assert Counter(non_blank_lines(cleaned.text)) + Counter(removed) == Counter(
        non_blank_lines(SAMPLE)
    )
    assert "Korean peninsula while at a meeting of the\u00a0Valdai" in cleaned.text


def test_it_leaves_single_blank_lines_and_no_blank_edges(cleaned: Cleaned) -> None:
    assert "\n\n\n" not in cleaned.text
    assert cleaned.text == cleaned.text.strip()
    # Two breaks are the author's (around the quotation), two are where the related
    # headlines stood: the paragraphs on either side stay separate paragraphs.
    assert cleaned.text.count("\n\n") == 4


def test_it_gives_the_same_result_for_crlf_and_cr_line_endings(cleaned: Cleaned) -> None:
    assert clean_text(SAMPLE.replace("\n", "\r\n")) == cleaned
    assert clean_text(SAMPLE.replace("\n", "\r")) == cleaned


def test_it_is_idempotent_once_the_title_is_put_back(cleaned: Cleaned) -> None:
    # The natural round trip is title + body: cleaning that again finds nothing but
    # the title, and yields the same body.
    again = clean_text(f"{cleaned.title}\n\n{cleaned.text}")
    assert again.text == cleaned.text
    assert again.title == cleaned.title
    assert [r.kind for r in again.removed] == ["title"]


def test_recleaning_the_body_only_takes_its_first_line_as_title(cleaned: Cleaned) -> None:
    again = clean_text(cleaned.text)
    first, rest = cleaned.text.split("\n", 1)
    assert again.removed == (Removal(kind="title", text=first, line=1),)
    assert again.title == first
    assert again.text == rest
    assert again.publisher == ""


# --- focused cleaning cases --------------------------------------------------------------


def test_it_removes_a_multi_line_css_block() -> None:
    raw = "Title\n\nFirst paragraph.\n\n.ad-slot,\n#top {\n  display: none;\n  margin: 0 auto;\n}\n\nSecond paragraph."
    result = clean_text(raw)
    assert result.text == "First paragraph.\n\nSecond paragraph."
    css = [r for r in result.removed if r.kind == "css"]
    assert css == [
        Removal(
            kind="css", text=".ad-slot,\n#top {\n  display: none;\n  margin: 0 auto;\n}", line=5
        )
    ]


def test_it_removes_a_multi_line_media_block() -> None:
    raw = (
        "Title\nOne.\n@media (max-width: 600px) {\n  .ad { display: block; }\n}\nTwo.\n"
        "@font-face { font-family: X; src: url(https://x.test/f.woff); }\nThree."
    )
    result = clean_text(raw)
    assert result.text == "One.\nTwo.\nThree."
    assert [(r.kind, r.line) for r in result.removed] == [("title", 1), ("css", 3), ("css", 7)]


def test_it_keeps_prose_with_braces_and_unbalanced_blocks() -> None:
    raw = "Title\nThe set {1, 2} is small.\nmargin {\nThis is prose, not a stylesheet.\nEnd."
    result = clean_text(raw)
    assert (
        result.text == "The set {1, 2} is small.\nmargin {\nThis is prose, not a stylesheet.\nEnd."
    )
    assert [r.kind for r in result.removed] == ["title"]


@pytest.mark.parametrize(
    "line",
    [
        "(adsbygoogle = window.adsbygoogle || []).push({});",
        "  (adsbygoogle = window.adsbygoogle || []).push({});  ",
        "googletag.cmd.push(function() { googletag.display('div-gpt-ad-1'); });",
        "window.dataLayer = window.dataLayer || [];",
        "var _gaq = _gaq || [];",
        "!function(f,b,e,v,n,t,s){if(f.fbq)return;}(window, document,'script');",
        '<script async src="https://example.test/ads.js"></script>',
    ],
)
def test_it_removes_script_remnants(line: str) -> None:
    result = clean_text(f"Title\nBefore.\n{line}\nAfter.")
    assert result.text == "Before.\nAfter."
    assert Removal(kind="script", text=line, line=3) in result.removed


def test_it_keeps_prose_that_mentions_ad_scripts() -> None:
    body = (
        "Publishers load adsbygoogle to show ads.\nThe googletag library (from Google) is common."
    )
    assert clean_text(f"Title\n{body}").text == body


@pytest.mark.parametrize(
    "line",
    [
        "It was cold.",  # a real short paragraph
        "What the agreement means for Seoul",  # a section heading without teaser shape
        "1. Attempts to create points of tensions along key areas",  # numbered item
        "“We will not give in to pressure”",  # quoted speech
        "…and the talks went on",  # continued quotation
        "Moscow: talks resumed. Seoul: talks stalled",  # two sentences
        "Analysis: Short",  # too short to be a headline
    ],
)
def test_it_keeps_standalone_lines_that_are_not_teasers(line: str) -> None:
    raw = f"Title\n\nFirst paragraph.\n\n{line}\n\nLast paragraph."
    result = clean_text(raw)
    assert line in result.text.split("\n")
    assert [r.kind for r in result.removed] == ["title"]


@pytest.mark.parametrize(
    "raw",
    [
        # "Topic: angle" teaser between paragraphs
        "Title\n\nFirst.\n\nGas pipeline: Why Seoul is talking to Moscow again\n\nLast.",
        # no separator, but right next to an ad block
        "Title\n\nFirst.\n\nWhy Seoul is talking to Moscow again\n\n.ad {display: none;}\n\nLast.",
    ],
)
def test_it_removes_teaser_headlines(raw: str) -> None:
    result = clean_text(raw)
    assert result.text.split("\n\n")[0] == "First."
    assert result.text.endswith("Last.")
    assert "Moscow again" not in result.text
    assert "related-headline" in [r.kind for r in result.removed]


def test_it_keeps_a_teaser_shaped_line_at_the_edges_of_the_body() -> None:
    # Right after the title it is a standfirst, at the end a sign-off: both are text.
    raw = "Title\n\nBackground: How the talks began in Vladivostok\n\nBody.\n\nUpdate: Talks resumed on Monday"
    result = clean_text(raw)
    assert "Background: How the talks began in Vladivostok" in result.text
    assert result.text.endswith("Update: Talks resumed on Monday")


def test_feed_footer_and_source_marker_are_only_removed_at_the_end() -> None:
    raw = (
        "Title\nThe post The Duran appeared first on Monday was a reprint.\nSource\n"
        "Body.\nThe post Title appeared first on Example News.\n\nSource\n"
    )
    result = clean_text(raw)
    assert (
        result.text == "The post The Duran appeared first on Monday was a reprint.\nSource\nBody."
    )
    assert result.publisher == "Example News"
    assert [(r.kind, r.line) for r in result.removed] == [
        ("title", 1),
        ("feed-footer", 5),
        ("source-marker", 7),
    ]


def test_it_takes_every_footer_and_source_line_of_the_trailing_run() -> None:
    # A duplicated feed footer (an aggregator re-posting a WordPress item) goes entirely,
    # in one cleaning; the publisher is the last footer's.
    raw = (
        "Title\nBody.\nThe post Title appeared first on First Desk.\n\nSource\n"
        "The post Title appeared first on Example News.\nSources:\n"
    )
    result = clean_text(raw)
    assert result.text == "Body."
    assert result.publisher == "Example News"
    assert [(r.kind, r.line) for r in result.removed] == [
        ("title", 1),
        ("feed-footer", 3),
        ("source-marker", 5),
        ("feed-footer", 6),
        ("source-marker", 7),
    ]


def test_it_finds_a_stylesheet_that_ad_script_interrupted() -> None:
    raw = "Title\nBody.\n.ad {\n(adsbygoogle = window.adsbygoogle || []).push({});\n}\nMore."
    result = clean_text(raw)
    assert result.text == "Body.\nMore."
    assert [(r.kind, r.line) for r in result.removed] == [
        ("title", 1),
        ("css", 3),
        ("script", 4),
        ("css", 5),
    ]


def test_it_drops_control_characters_from_the_lines_it_keeps() -> None:
    # NUL cannot be stored (PostgreSQL) and none of them can be seen or quoted; the ones
    # Python counts as whitespace separate words, so they become a space.
    raw = "Ti\x00tle\r\nPage one\x0cpage two\x1b[0m.\x0bEnd\tof line\n"
    result = clean_text(raw)
    assert result.title == "Title"
    assert result.text == "Page one page two[0m. End\tof line"
    assert [(r.kind, r.line) for r in result.removed] == [("title", 1)]


def test_raw_text_keeps_everything_a_database_can_store() -> None:
    assert storable_raw_text("a\x00b\x0c\ud800c\r\n") == "ab\x0c\ufffdc\r\n"
    # A str holds the two halves of a pair as two code points, each of them lone.
    assert storable_raw_text("\ud83d\ude00") == "\ufffd\ufffd"
    assert storable_raw_text("plain") == "plain"


def test_it_takes_the_title_after_leading_junk() -> None:
    raw = "@media(max-width: 600px) {.x {display:block;}}\n\nReal headline\nBody."
    result = clean_text(raw)
    assert result.title == "Real headline"
    assert result.text == "Body."


def test_it_handles_empty_and_blank_input() -> None:
    assert clean_text("") == Cleaned(text="", title="", publisher="", removed=())
    assert clean_text(" \r\n\n\t") == Cleaned(text="", title="", publisher="", removed=())


def test_it_normalises_to_nfc() -> None:
    result = clean_text("Cafe\u0301 news\nThe cafe\u0301 opened.")
    assert result.title == "Café news"
    assert result.text == "The café opened."


# --- demo claims ---------------------------------------------------------------------------


def test_demo_claims_are_well_formed() -> None:
    assert len(DEMO_CLAIMS) == 10
    for claim in DEMO_CLAIMS:
        assert set(claim) == {"exact", "statement", "claimant"}
        assert all(isinstance(value, str) and value.strip() for value in claim.values())
        assert claim["exact"] == claim["exact"].strip()


def test_each_demo_claim_occurs_exactly_once_in_the_cleaned_sample(cleaned: Cleaned) -> None:
    for claim in DEMO_CLAIMS:
        assert cleaned.text.count(claim["exact"]) == 1, claim["exact"]


def test_at_least_three_demo_claims_overlap(cleaned: Cleaned) -> None:
    spans = []
    for claim in DEMO_CLAIMS:
        start = cleaned.text.index(claim["exact"])
        spans.append((start, start + len(claim["exact"])))
    overlapping = {
        i
        for i, (a_start, a_end) in enumerate(spans)
        for j, (b_start, b_end) in enumerate(spans)
        if i != j and a_start < b_end and b_start < a_end
    }
    assert len(overlapping) >= 3


# --- properties ----------------------------------------------------------------------------

JUNK_LINES = st.sampled_from(
    [
        "@media(max-width: 600px) {.adace_ad_x {display:block !important;}}",
        "(adsbygoogle = window.adsbygoogle || []).push({});",
        ".a {",
        "  color: red;",
        "}",
        "Source",
        "The post T appeared first on P.",
        "Gas pipeline: Why Seoul is talking to Moscow again",
        "",
        " ",
        "\r",
        "e\u0301",
    ]
)
MIXED_TEXT = st.lists(st.text() | JUNK_LINES, max_size=20).map("\n".join)


@given(MIXED_TEXT)
def test_clean_text_never_raises_and_returns_canonical_text(raw: str) -> None:
    result = clean_text(raw)
    for value in (result.text, result.title, result.publisher):
        assert "\r" not in value
        assert unicodedata.is_normalized("NFC", value)


@given(MIXED_TEXT)
def test_clean_text_only_moves_whole_lines(raw: str) -> None:
    # Control characters are the one thing taken from inside a line (see below).
    raw_lines = drop_control_characters(raw)
    canonical = unicodedata.normalize("NFC", raw_lines.replace("\r\n", "\n").replace("\r", "\n"))
    result = clean_text(raw)
    removed = [line for r in result.removed for line in non_blank_lines(r.text)]
    assert Counter(non_blank_lines(result.text)) + Counter(removed) == Counter(
        non_blank_lines(canonical)
    )
    lines = canonical.split("\n")
    for removal in result.removed:
        count = removal.text.count("\n") + 1
        assert "\n".join(lines[removal.line - 1 : removal.line - 1 + count]) == removal.text


SENTENCES = st.lists(
    st.from_regex(r"[A-Z][a-z]{0,9}(, | )?([a-z]{1,9} ){0,12}[a-z]{1,9}\.", fullmatch=True),
    min_size=1,
    max_size=12,
)


@given(SENTENCES)
def test_plain_sentences_lose_only_their_first_line(sentences: list[str]) -> None:
    result = clean_text("\n".join(sentences))
    assert result.title == sentences[0]
    assert result.text == "\n".join(sentences[1:])
    assert [r.kind for r in result.removed] == ["title"]
