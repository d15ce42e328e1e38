"""Tests for annotations.core.spans: pure functions, no database, no Django."""

from __future__ import annotations

import unicodedata
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core.spans import (
    CONTEXT_LENGTH,
    Paragraph,
    Segment,
    Selector,
    SpanError,
    canonicalize,
    codepoint_to_utf16,
    make_selector,
    segment,
    sentence_spans,
    text_sha256,
    utf16_to_codepoint,
    validate_span,
)

pytestmark = pytest.mark.db_independent

THUMBS = "👍🏽"  # U+1F44D U+1F3FD: two astral code points, four UTF-16 units
HEBREW = "שלום עולם"
ARABIC = "مرحبا بالعالم"
CJK = "事实核查很重要"

# Random text that exercises what breaks naive offset code: astral characters, combining
# marks (which NFC may merge), CJK, RTL letters and paragraph breaks.
ALPHABET = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(["😀", "👍", "\U0001f3fd", "\u0301", "\u0307", "\n", "a", "e", "日", "ש", "ب"]),
)
TEXTS = st.text(alphabet=ALPHABET, max_size=60)


@st.composite
def text_with_spans(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, int]]]:
    text = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=60))
    spans = []
    for number in range(draw(st.integers(min_value=0, max_value=8))):
        start = draw(st.integers(min_value=0, max_value=len(text) - 1))
        end = draw(st.integers(min_value=start + 1, max_value=len(text)))
        spans.append((f"c{number}", start, end))
    return text, spans


@st.composite
def text_with_span(draw: st.DrawFn) -> tuple[str, int, int]:
    text, _ = draw(text_with_spans())
    start = draw(st.integers(min_value=0, max_value=len(text) - 1))
    end = draw(st.integers(min_value=start + 1, max_value=len(text)))
    return text, start, end


# --- validate_span ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "start", "end", "field", "message"),
    [
        (10, -1, 5, "start", "start (-1) must not be negative"),
        (10, 0, 11, "end", "end (11) is past the end of the text (length 10)"),
        (0, 0, 1, "end", "end (1) is past the end of the text (length 0)"),
        (10, 5, 5, "end", "end (5) must be greater than start (5)"),
        (10, 7, 3, "end", "end (3) must be greater than start (7)"),
        (10, True, 5, "start", "start must be an integer, got bool"),
        (10, 0, False, "end", "end must be an integer, got bool"),
        (10, 1.0, 5, "start", "start must be an integer, got float"),
        (10, 0, "5", "end", "end must be an integer, got str"),
        (10, None, 5, "start", "start must be an integer, got NoneType"),
    ],
)
def test_it_rejects_bad_spans_with_field_and_message(
    length: int, start: int, end: int, field: str, message: str
) -> None:
    with pytest.raises(SpanError) as caught:
        validate_span(length, start, end)
    assert caught.value.field == field
    assert caught.value.message == message
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("length", "start", "end"), [(1, 0, 1), (10, 0, 10), (10, 9, 10), (10, 3, 4)]
)
def test_it_accepts_spans_inside_the_text(length: int, start: int, end: int) -> None:
    assert validate_span(length, start, end) is None


def test_it_rejects_an_unknown_error_field() -> None:
    with pytest.raises(ValueError, match="unknown span field"):
        SpanError("middle", "nope")


# --- make_selector ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "exact"),
    [
        (f"Great {THUMBS} job", 6, 8, THUMBS),
        (f"{THUMBS}{THUMBS} claim", 4, 9, " clai"),
        ("Café ouvert", 0, 4, "Café"),
        ("q\u0307 x", 0, 2, "q\u0307"),  # no precomposed form: stays two code points
        (CJK, 2, 4, "核查"),
        (HEBREW, 0, 4, "שלום"),
        (HEBREW, 5, 9, "עולם"),
        (ARABIC, 6, 13, "بالعالم"),
        ("a", 0, 1, "a"),
    ],
)
def test_it_builds_selectors_over_code_points(text: str, start: int, end: int, exact: str) -> None:
    selector = make_selector(text, start, end, exact)
    assert selector == Selector(
        start=start,
        end=end,
        exact=exact,
        prefix=text[:start],
        suffix=text[end:],
    )
    assert make_selector(text, start, end) == selector


@pytest.mark.parametrize(
    ("text", "start", "end", "field"),
    [
        ("abc", -1, 2, "start"),
        ("abc", 0, 4, "end"),
        ("abc", 2, 2, "end"),
        ("abc", 2, 1, "end"),
        ("", 0, 0, "end"),
        (THUMBS, 0, 3, "end"),  # 3 would be right in UTF-16 units, not in code points
    ],
)
def test_it_rejects_bad_selector_offsets(text: str, start: int, end: int, field: str) -> None:
    with pytest.raises(SpanError) as caught:
        make_selector(text, start, end)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("text", "start", "end", "exact", "actual"),
    [
        ("The sky is green.", 4, 7, "sea", "sky"),
        (f"Great {THUMBS} job", 6, 7, THUMBS, "👍"),  # UTF-16 slip: half the emoji
        (HEBREW, 0, 4, "עולם", "שלום"),
        (CJK, 0, 2, "核查", "事实"),
    ],
)
def test_it_rejects_wrong_exact_and_quotes_the_actual_text(
    text: str, start: int, end: int, exact: str, actual: str
) -> None:
    with pytest.raises(SpanError) as caught:
        make_selector(text, start, end, exact)
    assert caught.value.field == "exact"
    assert f'"{actual}"' in caught.value.message
    assert f'got "{exact}"' in caught.value.message


def test_it_truncates_long_actual_text_in_the_message() -> None:
    text = "x" * 500
    with pytest.raises(SpanError) as caught:
        make_selector(text, 0, 500, "y")
    assert '"' + "x" * 200 + '…"' in caught.value.message
    assert "x" * 201 not in caught.value.message


def test_it_accepts_an_nfd_exact_against_nfc_text() -> None:
    text = canonicalize("Le café est fermé")
    exact_nfd = unicodedata.normalize("NFD", "café")
    assert exact_nfd != "café"
    selector = make_selector(text, 3, 7, exact_nfd)
    assert selector.exact == "café"  # the stored quote is the canonical text, not the input


def test_it_rejects_a_non_string_exact() -> None:
    with pytest.raises(SpanError) as caught:
        make_selector("abc", 0, 1, 5)  # type: ignore[arg-type]
    assert caught.value.field == "exact"


def test_it_limits_prefix_and_suffix_to_the_context_length() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(100))
    selector = make_selector(text, 40, 50)
    assert selector.prefix == text[40 - CONTEXT_LENGTH : 40]
    assert selector.suffix == text[50 : 50 + CONTEXT_LENGTH]
    assert len(selector.prefix) == len(selector.suffix) == CONTEXT_LENGTH == 32


@pytest.mark.parametrize(
    ("start", "end", "prefix_len", "suffix_len"),
    [(0, 10, 0, 32), (90, 100, 32, 0), (0, 100, 0, 0), (10, 20, 10, 32), (70, 80, 32, 20)],
)
def test_it_clips_context_at_text_edges(
    start: int, end: int, prefix_len: int, suffix_len: int
) -> None:
    text = "0123456789" * 10
    selector = make_selector(text, start, end)
    assert len(selector.prefix) == prefix_len
    assert len(selector.suffix) == suffix_len
    assert selector.prefix + selector.exact + selector.suffix in text


def test_it_counts_context_in_code_points_around_emoji() -> None:
    text = THUMBS * 20 + "claim" + THUMBS * 20
    selector = make_selector(text, 40, 45)
    assert selector.exact == "claim"
    assert selector.prefix == THUMBS * 16  # 32 code points, 64 UTF-16 units
    assert selector.suffix == THUMBS * 16


# --- canonicalize and hashing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("a\r\rb", "a\n\nb"),
        ("a\r\r\nb", "a\n\nb"),
        ("a\n\r\nb\r", "a\n\nb\n"),
        ("cafe\u0301", "caf\u00e9"),
        ("\u0041\u030a", "\u00c5"),  # A + ring above -> Å
        ("\u212b", "\u00c5"),  # angstrom sign is a singleton that NFC replaces
        ("q\u0307", "q\u0307"),  # nothing to compose with
        (f"{THUMBS} {CJK} {HEBREW}", f"{THUMBS} {CJK} {HEBREW}"),
    ],
)
def test_it_canonicalizes_line_endings_and_normal_form(raw: str, canonical: str) -> None:
    assert canonicalize(raw) == canonical


@given(st.text(alphabet=st.one_of(ALPHABET, st.just("\r")), max_size=80))
def test_canonicalize_is_idempotent_and_yields_nfc_without_cr(text: str) -> None:
    once = canonicalize(text)
    assert canonicalize(once) == once
    assert "\r" not in once
    assert unicodedata.is_normalized("NFC", once)


def test_it_hashes_the_utf8_bytes() -> None:
    assert text_sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert text_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    # Same visible text, different code points: only the canonical form has a stable hash.
    assert text_sha256("caf\u00e9") != text_sha256("cafe\u0301")
    assert text_sha256(canonicalize("cafe\u0301")) == text_sha256("caf\u00e9")


# --- segment ---------------------------------------------------------------------------


def _shape(paragraphs: list[Paragraph]) -> list[list[tuple[str, tuple[object, ...]]]]:
    return [[(s.text, s.span_keys) for s in p.segments] for p in paragraphs]


def test_it_segments_text_without_spans_into_paragraphs() -> None:
    assert segment("ab\n\ncd", []) == [
        Paragraph(0, 2, (Segment(0, 2, "ab", ()),)),
        Paragraph(3, 3, ()),
        Paragraph(4, 6, (Segment(4, 6, "cd", ()),)),
    ]


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("", [], [[]]),
        ("\n", [], [[], []]),
        ("abcdef", [("a", 1, 3), ("b", 2, 5)], [[("a", ()), ("b", ("a",)), ("c", ("a", "b")), ("de", ("b",)), ("f", ())]]),
        ("abcdef", [("outer", 0, 6), ("inner", 2, 4)], [[("ab", ("outer",)), ("cd", ("outer", "inner")), ("ef", ("outer",))]]),
        ("abcdef", [("inner", 2, 4), ("outer", 0, 6)], [[("ab", ("outer",)), ("cd", ("inner", "outer")), ("ef", ("outer",))]]),
        ("abcdef", [("x", 1, 4), ("y", 1, 4)], [[("a", ()), ("bcd", ("x", "y")), ("ef", ())]]),
        ("abcdef", [("x", 0, 3), ("y", 3, 6)], [[("abc", ("x",)), ("def", ("y",))]]),
        ("ab\ncd", [("x", 1, 4)], [[("a", ()), ("b", ("x",))], [("c", ("x",)), ("d", ())]]),
        ("ab\ncd", [("nl", 2, 3)], [[("ab", ())], [("cd", ())]]),
        ("ab\n\ncd", [("x", 0, 6)], [[("ab", ("x",))], [], [("cd", ("x",))]]),
        (f"{THUMBS} ok", [("emoji", 0, 2), ("half", 1, 3)], [[("👍", ("emoji",)), ("\U0001f3fd", ("emoji", "half")), (" ", ("half",)), ("ok", ())]]),
        ("Cafe\u0301", [("base", 3, 4)], [[("Caf", ()), ("e", ("base",)), ("\u0301", ())]]),
        (f"{HEBREW}\n{ARABIC}", [("he", 0, 4), ("ar", 10, 15)], [[("שלום", ("he",)), (" עולם", ())], [("مرحبا", ("ar",)), (" بالعالم", ())]]),
        (CJK, [(1, 0, 2), (2, 2, 4)], [[("事实", (1,)), ("核查", (2,)), ("很重要", ())]]),
    ],
)  # fmt: skip
def test_it_splits_segments_at_span_boundaries_and_newlines(
    text: str,
    spans: list[tuple[object, int, int]],
    expected: list[list[tuple[str, tuple[object, ...]]]],
) -> None:
    assert _shape(segment(text, spans)) == expected


def test_it_merges_adjacent_runs_whose_visible_keys_are_equal() -> None:
    # Two spans sharing a key meet at 2: the renderer cannot tell them apart, so one segment.
    paragraphs = segment("abcdef", [("k", 0, 2), ("k", 2, 4)])
    assert _shape(paragraphs) == [[("abcd", ("k",)), ("ef", ())]]
    assert paragraphs[0].segments[0] == Segment(0, 4, "abcd", ("k",))


def test_it_accepts_any_iterable_of_spans() -> None:
    paragraphs = segment("abc", ((k, s, e) for k, s, e in [("g", 0, 2)]))
    assert _shape(paragraphs) == [[("ab", ("g",)), ("c", ())]]


@pytest.mark.parametrize(
    ("spans", "field"),
    [([("ok", 0, 1), ("bad", 2, 9)], "end"), ([("bad", -1, 1)], "start"), ([("bad", 2, 2)], "end")],
)
def test_it_rejects_invalid_spans_when_segmenting(
    spans: list[tuple[str, int, int]], field: str
) -> None:
    with pytest.raises(SpanError) as caught:
        segment("abcd", spans)
    assert caught.value.field == field
    assert caught.value.message.startswith("span 'bad': ")


@given(text_with_spans())
def test_segments_tile_paragraphs_and_paragraphs_rejoin_to_the_text(
    case: tuple[str, list[tuple[str, int, int]]],
) -> None:
    text, spans = case
    paragraphs = segment(text, spans)
    assert "\n".join(text[p.start : p.end] for p in paragraphs) == text
    assert len(paragraphs) == text.count("\n") + 1
    assert paragraphs[0].start == 0
    assert paragraphs[-1].end == len(text)
    for previous, current in pairwise(paragraphs):
        assert text[previous.end] == "\n"
        assert current.start == previous.end + 1
    for paragraph in paragraphs:
        position = paragraph.start
        for seg in paragraph.segments:
            assert seg.start == position
            assert seg.start < seg.end
            assert seg.text == text[seg.start : seg.end]
            assert "\n" not in seg.text
            position = seg.end
        assert position == paragraph.end
        if paragraph.start == paragraph.end:
            assert paragraph.segments == ()


@given(text_with_spans())
def test_each_segment_lists_exactly_the_spans_covering_it_in_order(
    case: tuple[str, list[tuple[str, int, int]]],
) -> None:
    text, spans = case
    for paragraph in segment(text, spans):
        for seg in paragraph.segments:
            expected = tuple(key for key, s, e in spans if s <= seg.start and seg.end <= e)
            assert seg.span_keys == expected
            for _, s, e in spans:  # no span boundary falls strictly inside a segment
                assert not seg.start < s < seg.end
                assert not seg.start < e < seg.end


@given(text_with_spans())
def test_each_span_is_the_union_of_its_segments_minus_newlines(
    case: tuple[str, list[tuple[str, int, int]]],
) -> None:
    text, spans = case
    segments = [seg for p in segment(text, spans) for seg in p.segments]
    for key, start, end in spans:
        covered = {i for seg in segments if key in seg.span_keys for i in range(seg.start, seg.end)}
        assert covered == {i for i in range(start, end) if text[i] != "\n"}


@given(text_with_spans())
def test_segments_are_maximal(case: tuple[str, list[tuple[str, int, int]]]) -> None:
    text, spans = case
    for paragraph in segment(text, spans):
        for left, right in pairwise(paragraph.segments):
            assert left.span_keys != right.span_keys


# --- selectors, property-based ---------------------------------------------------------


@given(text_with_span())
def test_selectors_quote_the_text_and_its_context(case: tuple[str, int, int]) -> None:
    text, start, end = case
    selector = make_selector(text, start, end, text[start:end])
    assert selector.exact == text[start:end]
    assert selector.prefix == text[max(0, start - CONTEXT_LENGTH) : start]
    assert selector.suffix == text[end : end + CONTEXT_LENGTH]
    assert text.find(selector.prefix + selector.exact + selector.suffix) != -1


@given(text_with_span())
def test_selectors_accept_nfd_exact_over_canonical_text(case: tuple[str, int, int]) -> None:
    raw, _, _ = case
    text = canonicalize(raw)
    selector = make_selector(text, 0, len(text), unicodedata.normalize("NFD", text))
    assert selector.exact == text


# --- UTF-16 conversion -----------------------------------------------------------------


def test_it_converts_offsets_after_an_emoji() -> None:
    text = f"Great {THUMBS} job"  # the browser sees "job" at 11, Python at 9
    assert codepoint_to_utf16(text, 9) == 11
    assert utf16_to_codepoint(text, 11) == 9
    assert text[utf16_to_codepoint(text, 11) : utf16_to_codepoint(text, 14)] == "job"
    assert codepoint_to_utf16(text, len(text)) == 14
    assert utf16_to_codepoint(text, 14) == len(text)


def test_it_leaves_bmp_only_text_unchanged() -> None:
    for text in (CJK, HEBREW, ARABIC, "cafe\u0301"):
        for i in range(len(text) + 1):
            assert codepoint_to_utf16(text, i) == i
            assert utf16_to_codepoint(text, i) == i


@pytest.mark.parametrize(
    ("text", "offset16", "needle"),
    [
        (THUMBS, 1, "surrogate pair"),
        (THUMBS, 3, "surrogate pair"),
        (f"ab{THUMBS}", 3, "surrogate pair"),
        (THUMBS, 5, "past the end of the text (length 4 UTF-16 code units)"),
        ("abc", 4, "past the end"),
        ("", 1, "past the end"),
        ("abc", -1, "must not be negative"),
        ("abc", True, "must be an integer"),
    ],
)
def test_it_rejects_bad_utf16_offsets(text: str, offset16: int, needle: str) -> None:
    with pytest.raises(SpanError) as caught:
        utf16_to_codepoint(text, offset16)
    assert needle in caught.value.message


@pytest.mark.parametrize("offset", [-1, 4, True])
def test_it_rejects_code_point_offsets_outside_the_text(offset: int) -> None:
    with pytest.raises(SpanError):
        codepoint_to_utf16("abc", offset)


def test_it_scans_long_texts_without_quadratic_work() -> None:
    text = (THUMBS + "ab\n") * 50_000  # 250k code points, 100k astral
    assert codepoint_to_utf16(text, len(text)) == len(text) + 100_000
    assert utf16_to_codepoint(text, len(text) + 100_000) == len(text)
    assert utf16_to_codepoint(text, 6) == 4  # early exit near the start


@given(TEXTS)
def test_utf16_and_code_point_offsets_round_trip(text: str) -> None:
    for i in range(len(text) + 1):
        offset16 = codepoint_to_utf16(text, i)
        assert offset16 == len(text[:i].encode("utf-16-le")) // 2
        assert utf16_to_codepoint(text, offset16) == i


@given(TEXTS)
def test_every_utf16_offset_maps_back_or_is_inside_a_pair(text: str) -> None:
    total16 = len(text.encode("utf-16-le")) // 2
    boundaries = {len(text[:i].encode("utf-16-le")) // 2: i for i in range(len(text) + 1)}
    for offset16 in range(total16 + 1):
        if offset16 in boundaries:
            assert utf16_to_codepoint(text, offset16) == boundaries[offset16]
        else:
            with pytest.raises(SpanError, match="surrogate pair"):
                utf16_to_codepoint(text, offset16)
    with pytest.raises(SpanError, match="past the end"):
        utf16_to_codepoint(text, total16 + 1)


# --- sentence_spans: the no-JavaScript reader offers each sentence as a claim ---------------


def _sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def test_sentences_are_cut_at_terminal_punctuation_and_line_ends() -> None:
    text = 'He said "crime fell 20%." Really?  Yes\nMore… ok 今日は晴れ。明日は雨。\n\n  end  '
    assert _sentences(text) == [
        'He said "crime fell 20%."',
        "Really?",
        "Yes",
        "More…",
        "ok 今日は晴れ。",
        "明日は雨。",
        "end",
    ]


def test_a_decimal_point_does_not_end_a_sentence() -> None:
    assert _sentences("Prices rose 3.1% in 2024. Wages did not.") == [
        "Prices rose 3.1% in 2024.",
        "Wages did not.",
    ]


@given(st.text(alphabet=st.sampled_from('ab .!?\n 。؟\u0303🌉\t"\u2028')))
def test_sentences_are_ordered_disjoint_trimmed_and_cover_every_visible_character(
    text: str,
) -> None:
    covered: set[int] = set()
    previous_end = 0
    for start, end in sentence_spans(text):
        assert previous_end <= start < end
        sentence = text[start:end]
        assert "\n" not in sentence
        assert sentence == sentence.strip()
        covered.update(range(start, end))
        previous_end = end
    assert {i for i, char in enumerate(text) if not char.isspace()} <= covered
