"""Re-anchoring (annotations.core.reanchor), properties over generated texts and edits:
an edit outside the span and its context keeps the claim, a deleted quote is never
matched, a match is always the exact quote with its exact context, and repeated
paragraphs never get a claim without both.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from annotations.core.reanchor import NOTE_AMBIGUOUS, NOTE_RELOCATED, Anchor, _diff, reanchor
from annotations.core.spans import CONTEXT_LENGTH, make_selector
from tests.core.reanchor_helpers import (
    CHANGED,
    MOVED,
    ORPHANED,
    THUMBS,
    UNCHANGED,
    check_invariants,
    context_fits,
)

pytestmark = pytest.mark.db_independent


def fits_anywhere(text: str, anchor: Anchor) -> list[int]:
    return [s for s in range(len(text) - len(anchor.exact) + 1) if context_fits(text, s, anchor)]


# --- properties --------------------------------------------------------------------------

# Small alphabets make repeats (and so tempting wrong copies) likely; astral characters
# and combining marks catch any slip between code points and other units.
ALPHABET = st.sampled_from(["a", "b", " ", "\n", ".", "😀", THUMBS[1], "\u0301", "\u0307", "日"])
TEXTS = st.text(alphabet=ALPHABET, min_size=1, max_size=160)
INSERTS = st.text(alphabet=ALPHABET, min_size=1, max_size=40)


@st.composite
def edited(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few random insertions, deletions and replacements."""
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        pos = draw(st.integers(min_value=0, max_value=len(text)))
        if kind == "insert":
            text = text[:pos] + draw(INSERTS) + text[pos:]
        else:
            stop = draw(st.integers(min_value=pos, max_value=min(len(text), pos + 40)))
            replacement = draw(INSERTS) if kind == "replace" else ""
            text = text[:pos] + replacement + text[stop:]
    return text


@st.composite
def text_and_anchor(draw: st.DrawFn) -> tuple[str, Anchor]:
    text = draw(TEXTS)
    start = draw(st.integers(min_value=0, max_value=len(text) - 1))
    end = draw(st.integers(min_value=start + 1, max_value=min(len(text), start + 30)))
    selector = make_selector(text, start, end)
    anchor = Anchor("p", start, end, selector.exact, selector.prefix, selector.suffix)
    return text, anchor


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_edits_outside_the_span_and_its_context_keep_the_claim(data: st.DataObject) -> None:
    # The edits may touch anything but the span and CONTEXT_LENGTH code points each side.
    text, anchor = data.draw(text_and_anchor())
    window_start = max(0, anchor.start - CONTEXT_LENGTH)
    window_end = min(len(text), anchor.end + CONTEXT_LENGTH)
    before, window, after = text[:window_start], text[window_start:window_end], text[window_end:]
    new_before = data.draw(edited(before)) if data.draw(st.booleans()) else before
    new_after = data.draw(edited(after)) if data.draw(st.booleans()) else after
    new = new_before + window + new_after

    [placement] = reanchor(text, new, [anchor])

    check_invariants(new, anchor, placement)
    fits = fits_anywhere(new, anchor)
    if len(fits) == 1:
        assert placement.status in (UNCHANGED, MOVED), placement
        assert placement.start == fits[0]
        assert new[placement.start : placement.end] == anchor.exact
    else:
        # The edits reproduced the quote with its whole stored context elsewhere (only
        # possible when little context was stored: a text shorter than two context
        # lengths, or a repeat of it).  Then a match the diff picks, or "ambiguous".
        assert placement.status in (UNCHANGED, MOVED) or placement.note == NOTE_AMBIGUOUS


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_deleted_quote_is_orphaned_or_only_proposed_for_review(data: st.DataObject) -> None:
    text, anchor = data.draw(text_and_anchor())
    # Delete a range covering the span (possibly with some text around it).
    cut_start = data.draw(st.integers(min_value=max(0, anchor.start - 10), max_value=anchor.start))
    cut_end = data.draw(
        st.integers(min_value=anchor.end, max_value=min(len(text), anchor.end + 10))
    )
    new = text[:cut_start] + text[cut_end:]
    assume(not fits_anywhere(new, anchor))

    [placement] = reanchor(text, new, [anchor])

    check_invariants(new, anchor, placement)
    assert placement.status in (ORPHANED, CHANGED), placement
    if placement.status is CHANGED:
        assert placement.exact != anchor.exact


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_match_is_always_the_exact_quote_with_its_exact_context(data: st.DataObject) -> None:
    text = data.draw(TEXTS)
    anchors = []
    for number in range(data.draw(st.integers(min_value=1, max_value=6))):
        start = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
        end = data.draw(st.integers(min_value=start + 1, max_value=min(len(text), start + 20)))
        selector = make_selector(text, start, end)
        anchors.append(Anchor(number, start, end, selector.exact, selector.prefix, selector.suffix))
    new = data.draw(edited(text))

    placements = reanchor(text, new, anchors)

    assert len(placements) == len(anchors)
    for anchor, placement in zip(anchors, placements, strict=True):
        check_invariants(new, anchor, placement)
        if placement.status is MOVED and placement.note == NOTE_RELOCATED:
            # Found by search only: then it was the single fit, before and after.
            assert fits_anywhere(new, anchor) == [placement.start]
            assert fits_anywhere(text, anchor) == [anchor.start]


SENTENCES = [
    "The minister said the budget would grow.",
    "Critics said the budget would shrink.",
    "The audit found that spending rose by 12%.",
    "",
    "Officials declined to comment.",
]


@st.composite
def paragraph_texts(draw: st.DrawFn) -> tuple[str, str]:
    """A text of many lines from a tiny pool (so paragraphs repeat), and a revision made
    of line-level moves, deletions, copies and small edits inside lines."""
    lines = draw(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=300))
    new = list(lines)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(new)))
        match draw(st.sampled_from(["delete", "copy", "move", "insert", "edit"])):
            case "delete" if new:
                del new[min(at, len(new) - 1)]
            case "copy" if new:
                new.insert(at, new[draw(st.integers(min_value=0, max_value=len(new) - 1))])
            case "move" if new:
                new.insert(at, new.pop(draw(st.integers(min_value=0, max_value=len(new) - 1))))
            case "insert":
                new.insert(at, draw(INSERTS))
            case "edit" if new:
                line = new[min(at, len(new) - 1)]
                new[min(at, len(new) - 1)] = draw(edited(line)) if line else "x"
            case _:
                pass
    return "\n".join(lines), "\n".join(new)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_repeated_paragraphs_never_get_a_claim_without_its_quote_and_context(
    data: st.DataObject,
) -> None:
    old, new = data.draw(paragraph_texts())
    assume(old.strip())
    anchors = []
    for number in range(data.draw(st.integers(min_value=1, max_value=8))):
        start = data.draw(st.integers(min_value=0, max_value=len(old) - 1))
        end = data.draw(st.integers(min_value=start + 1, max_value=min(len(old), start + 60)))
        selector = make_selector(old, start, end)
        anchors.append(Anchor(number, start, end, selector.exact, selector.prefix, selector.suffix))

    placements = reanchor(old, new, anchors)

    for anchor, placement in zip(anchors, placements, strict=True):
        check_invariants(new, anchor, placement)


@settings(max_examples=300, deadline=None)
@given(paragraph_texts())
def test_the_paragraph_wise_diff_rebuilds_both_texts(texts: tuple[str, str]) -> None:
    # The offset mapping is only as good as the diff: EQUAL runs must be text both sides
    # share, DELETE + EQUAL must be the old text and INSERT + EQUAL the new one.
    old, new = texts
    diffs = _diff(old, new, timeout=2.0)
    assert "".join(chunk for op, chunk in diffs if op <= 0) == old
    assert "".join(chunk for op, chunk in diffs if op >= 0) == new


@settings(max_examples=200, deadline=None)
@given(text_and_anchor())
def test_an_unedited_text_keeps_every_claim_unchanged(case: tuple[str, Anchor]) -> None:
    text, anchor = case
    [placement] = reanchor(text, text, [anchor])
    assert placement.status is UNCHANGED
    assert (placement.start, placement.end) == (anchor.start, anchor.end)
