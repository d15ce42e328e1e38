"""Finding passages for re-anchoring by hand (``annotations/core/passages.py``): exact
occurrences with offsets and context, the limit, and the nearest passages as a fallback.
"""

from __future__ import annotations

from django.test import TestCase
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import passages
from tests.services.revision_base import NEW, QUOTES


class FindPassagesTests(TestCase):
    def test_it_lists_exact_occurrences_with_offsets_and_context(self) -> None:
        found = passages.find_passages(NEW, "claim")
        self.assertEqual([NEW[p.start : p.end] for p in found], ["claim"] * len(found))
        self.assertEqual(len(found), 2)
        self.assertTrue(all(p.is_exact for p in found))
        self.assertTrue(found[0].before.endswith("nobody will "))

    def test_it_stops_at_the_limit(self) -> None:
        self.assertEqual(len(passages.find_passages("ab " * 50, "ab", limit=20)), 20)

    def test_it_falls_back_to_the_nearest_passages(self) -> None:
        found = passages.find_passages(NEW, QUOTES["c"])
        self.assertTrue(found)
        best = found[0]
        self.assertFalse(best.is_exact)
        self.assertIn("bridge cost $3 billion", best.exact)
        self.assertEqual(NEW[best.start : best.end], best.exact)

    def test_it_finds_nothing_for_an_empty_or_unrelated_query(self) -> None:
        self.assertEqual(passages.find_passages(NEW, "   "), [])
        self.assertEqual(passages.find_passages(NEW, "zebra quokka"), [])


# --- locate_quote: verifying a cited quote ---------------------------------------------------

_LOOSE_VARIANTS = {
    "'": "\u2019\u2018'",
    '"': '\u201c\u201d"',
    "-": "\u2013\u2014-",
    " ": " \n\t\u00a0",
}


@given(
    st.text(alphabet=st.sampled_from("ab c'\"-\n"), min_size=1, max_size=60),
    st.data(),
)
def test_locate_quote_finds_any_slice_written_with_other_spacing_quotes_and_dashes(
    text: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    piece = text[start:end]
    if not piece.strip():
        return
    # The quote as a citer might type it: every mark, dash or space in another form.
    quote = "".join(
        data.draw(st.sampled_from(_LOOSE_VARIANTS[char])) if char in _LOOSE_VARIANTS else char
        for char in piece
    )
    found = passages.locate_quote(text, quote)
    assert found is not None
    assert (
        passages.loose_form(text[found[0] : found[1]])[0] == passages.loose_form(piece.strip())[0]
    )
    assert found[0] <= start + (len(piece) - len(piece.lstrip()))


@given(st.text(max_size=80), st.text(max_size=20))
def test_locate_quote_offsets_always_hold_the_quote_or_nothing(text: str, quote: str) -> None:
    found = passages.locate_quote(text, quote)
    if found is None:
        assert (
            passages.loose_form(quote.strip())[0] not in passages.loose_form(text)[0]
            or not quote.strip()
        )
    else:
        start, end = found
        assert 0 <= start < end <= len(text)
        assert passages.loose_form(text[start:end])[0] == passages.loose_form(quote.strip())[0]


def test_locate_quote_table() -> None:
    text = "He said \u201cno\u201d \u2014 twice.\nThen  left."
    assert passages.locate_quote(text, '"no" - twice. Then left.') == (8, len(text))
    assert passages.locate_quote(text, "No") is None  # case counts
    assert passages.locate_quote(text, "   ") is None
    assert passages.locate_quote(text, "twice") == (text.index("twice"), text.index("twice") + 5)
