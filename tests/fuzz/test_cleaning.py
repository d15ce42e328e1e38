"""Fuzzing the cleaner (annotations.core.cleaning): never raises, every output canonical,
no blank edges or runs, only ever removes lines, a fixed point.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import example, given

from annotations.core import spans
from annotations.core.cleaning import clean_text, storable_raw_text
from tests.fuzz.strategies import FUZZ, TEXT, TEXT_WITH_SURROGATES, _is_canonical

pytestmark = pytest.mark.db_independent


@FUZZ
@given(TEXT)
@example("\r\n\r\n")
@example("Title\r\u0301body")
@example("\u0301\n\u0301")
def test_clean_text_never_raises_and_every_output_is_canonical(raw: str) -> None:
    result = clean_text(raw)
    for value in (result.text, result.title, result.publisher, *(r.text for r in result.removed)):
        assert _is_canonical(value), value
    assert "\n" not in result.title and result.title == result.title.strip()


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_clean_text_never_raises_on_lone_surrogates(raw: str) -> None:
    # Any str can hold them; the cleaner must not be what fails on them.
    result = clean_text(raw)
    assert _is_canonical(result.text)


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_storable_raw_text_repairs_exactly_what_storage_problems_names(raw: str) -> None:
    kept = storable_raw_text(raw)
    assert spans.storage_problems(kept) == []
    if not spans.storage_problems(raw):
        assert kept == raw


@FUZZ
@given(TEXT)
def test_clean_text_output_has_no_blank_edges_and_no_blank_runs(raw: str) -> None:
    lines = clean_text(raw).text.split("\n")
    blank = [not line.strip() for line in lines]
    if lines != [""]:
        assert not blank[0] and not blank[-1]
    assert not any(a and b for a, b in pairwise(blank))


def _non_blank(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def _is_subsequence(part: list[str], whole: list[str]) -> bool:
    rest = iter(whole)
    return all(line in rest for line in part)


@FUZZ
@given(TEXT)
@example("Title\n\nGas pipeline: Why Seoul is talking to Moscow again\nBody")
def test_recleaning_with_the_title_put_back_only_ever_removes_lines(raw: str) -> None:
    """Cleaning takes the title off, so clean(clean(x)) is not clean(x) (the body's first
    line would become the next title). The round trip to check is cleaning
    ``title + blank line + body`` again: it may never add or edit a line."""
    once = clean_text(raw)
    again = clean_text(f"{once.title}\n\n{once.text}")
    assert _is_subsequence(_non_blank(again.text), _non_blank(once.text))


@FUZZ
@given(TEXT)
# Found by this fuzzer when it ran over any text: trailing feed furniture was taken once
# per pass, so a repeated "Source" line or feed footer stayed in the body for the next
# cleaning to take, and junk inside a CSS block hid the block until the junk was gone.
@example("Headline\nBody text.\nSource\nSource")
@example("Headline\nBody text.\nThe post A appeared first on P.\nThe post A appeared first on P.")
@example("Headline\nBody text.\nSource\nThe post A appeared first on P.")
@example(".a {\n(adsbygoogle = window.adsbygoogle || []).push({});\n}\nBody text.")
def test_cleaning_is_a_fixed_point(raw: str) -> None:
    once = clean_text(raw)
    again = clean_text(f"{once.title}\n\n{once.text}")
    assert (again.title, again.text) == (once.title, once.text)
    assert [removal.kind for removal in again.removed] == (["title"] if once.title else [])


@pytest.mark.parametrize(
    ("raw", "text", "removed"),
    [
        ("Headline\nBody text.\nSource\nSource", "Body text.", ["title", "source-marker"]),
        (
            "Headline\nBody text.\nThe post A appeared first on P.\nThe post A appeared first on P.",
            "Body text.",
            ["title", "feed-footer"],
        ),
        (
            "Headline\nBody text.\nSource\nThe post A appeared first on P.",
            "Body text.",
            ["title", "source-marker", "feed-footer"],
        ),
        (
            ".a {\n(adsbygoogle = window.adsbygoogle || []).push({});\n}\nBody text.",
            "",
            ["css", "script", "css", "title"],
        ),
    ],
)
def test_one_cleaning_takes_all_the_furniture(raw: str, text: str, removed: list[str]) -> None:
    cleaned = clean_text(raw)
    assert cleaned.text == text
    assert [removal.kind for removal in cleaned.removed] == removed
