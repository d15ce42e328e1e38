"""Fuzzing spans (annotations.core.spans) over any text, canonical or not: canonicalize is
idempotent, selectors quote the text, lone surrogates count as one UTF-16 unit, segments
tile the text or name the bad span.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import spans
from tests.fuzz.strategies import FUZZ, TEXT_WITH_SURROGATES

pytestmark = pytest.mark.db_independent


@st.composite
def any_text_with_span(draw: st.DrawFn) -> tuple[str, int, int]:
    text = draw(TEXT_WITH_SURROGATES.filter(bool))
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    return text, start, end


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_canonicalize_is_idempotent_on_any_text(text: str) -> None:
    once = spans.canonicalize(text)
    assert spans.canonicalize(once) == once
    assert "\r" not in once


@FUZZ
@given(any_text_with_span())
def test_selectors_quote_any_text_even_non_canonical(case: tuple[str, int, int]) -> None:
    text, start, end = case
    selector = spans.make_selector(text, start, end, exact=text[start:end])
    assert selector.exact == text[start:end]
    assert text[start - len(selector.prefix) : end + len(selector.suffix)] == (
        selector.prefix + selector.exact + selector.suffix
    )
    assert len(selector.prefix) == min(start, spans.CONTEXT_LENGTH)


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_lone_surrogates_count_as_one_utf16_unit(text: str) -> None:
    # spans.py: "Lone surrogates, if any, are BMP code points and count as one unit, as in JS."
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    assert spans.codepoint_to_utf16(text, len(text)) == units
    for offset in range(len(text) + 1):
        assert spans.utf16_to_codepoint(text, spans.codepoint_to_utf16(text, offset)) == offset


@FUZZ
@given(any_text_with_span(), st.lists(st.integers(-3, 80), min_size=2, max_size=6))
def test_segment_tiles_any_text_or_names_the_bad_span(
    case: tuple[str, int, int], offsets: list[int]
) -> None:
    text, start, end = case
    pairs = [(start, end), *zip(offsets[::2], offsets[1::2], strict=False)]
    spans_in = [(f"s{index}", a, b) for index, (a, b) in enumerate(pairs)]
    try:
        paragraphs = spans.segment(text, spans_in)
    except spans.SpanError as exc:
        assert re.match(r"span 's\d+': ", exc.message)
        return
    lines = ["".join(segment.text for segment in p.segments) for p in paragraphs]
    assert "\n".join(lines) == text
