"""Tests for annotations.core.reanchor: pure functions, no database, no Django.

The product rule under test: a claim is never moved silently onto the wrong text.
UNCHANGED/MOVED only on the exact quote with its exact stored context; CHANGED is a
proposal for review; everything else is ORPHANED without offsets.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from annotations.core.reanchor import (
    NOTE_AMBIGUOUS,
    NOTE_CONTEXT_CHANGED,
    NOTE_DELETED,
    NOTE_INVALID,
    NOTE_MOVED,
    NOTE_NEEDS_REVIEW,
    NOTE_NOT_FOUND,
    NOTE_RELOCATED,
    NOTE_UNCHANGED,
    Anchor,
    AnchorStatus,
    Placement,
    _diff,
    reanchor,
)
from annotations.core.spans import CONTEXT_LENGTH, make_selector

UNCHANGED = AnchorStatus.UNCHANGED
MOVED = AnchorStatus.MOVED
CHANGED = AnchorStatus.CHANGED
ORPHANED = AnchorStatus.ORPHANED

P1 = "The minister said the budget would grow by 3% next year, according to the statement."
P2 = "Critics said the budget would shrink instead, citing the 2024 audit of the ministry."
P3 = "The audit found that spending rose by 12% over two years, well above inflation."
BASE = "\n".join([P1, P2, P3])

DUP = "Officials confirmed that the bridge will close for repairs in early spring next year."
THUMBS = "👍🏽"  # two astral code points


def anchor_on(text: str, quote: str, occurrence: int = 0, key: str = "c1") -> Anchor:
    """Anchor on the n-th occurrence of ``quote``, with the selector the server stores."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(quote, start + 1)
    selector = make_selector(text, start, start + len(quote))
    return Anchor(
        key, selector.start, selector.end, selector.exact, selector.prefix, selector.suffix
    )


def nth(text: str, quote: str, occurrence: int) -> int:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(quote, start + 1)
    return start


def context_fits(text: str, start: int, anchor: Anchor) -> bool:
    """Independent statement of the match rule: the quote at ``start``; around it the
    stored prefix and suffix, each compared as far as ``text`` goes; and at least
    CONTEXT_LENGTH code points of context compared (all of it, if less was stored)."""
    end = start + len(anchor.exact)
    if text[start:end] != anchor.exact:
        return False
    prefix_seen = text[max(0, start - len(anchor.prefix)) : start]
    suffix_seen = text[end : end + len(anchor.suffix)]
    stored = len(anchor.prefix) + len(anchor.suffix)
    return (
        anchor.prefix.endswith(prefix_seen)
        and anchor.suffix.startswith(suffix_seen)
        and len(prefix_seen) + len(suffix_seen) >= min(CONTEXT_LENGTH, stored)
    )


def fits_anywhere(text: str, anchor: Anchor) -> list[int]:
    return [s for s in range(len(text) - len(anchor.exact) + 1) if context_fits(text, s, anchor)]


def check_invariants(new_text: str, anchor: Anchor, placement: Placement) -> None:
    """What every placement must satisfy, whatever the edit."""
    assert placement.key == anchor.key
    if placement.status in (UNCHANGED, MOVED):
        assert placement.start is not None and placement.end is not None
        assert new_text[placement.start : placement.end] == anchor.exact == placement.exact
        assert context_fits(new_text, placement.start, anchor)
        assert (
            placement.prefix == new_text[max(0, placement.start - CONTEXT_LENGTH) : placement.start]
        )
        assert placement.suffix == new_text[placement.end : placement.end + CONTEXT_LENGTH]
        if placement.status is UNCHANGED:
            assert (placement.start, placement.end) == (anchor.start, anchor.end)
    elif placement.status is CHANGED:
        assert placement.start is not None and placement.end is not None
        assert 0 <= placement.start < placement.end <= len(new_text)
        assert placement.exact == new_text[placement.start : placement.end]
        # A proposal never shows the old quote (that would be a silent move in disguise).
        assert placement.exact != anchor.exact
        assert placement.note == NOTE_NEEDS_REVIEW
    else:
        assert placement.status is ORPHANED
        assert placement.start is None and placement.end is None
        assert placement.exact is None and placement.prefix is None and placement.suffix is None
        assert placement.note


# --- table-driven cases ----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    old: str
    new: str
    quote: str
    occurrence: int  # which occurrence of ``quote`` in ``old`` carries the claim
    status: AnchorStatus
    # For UNCHANGED/MOVED: (quote, occurrence) in ``new`` where it must land.
    # For CHANGED: the exact text of the proposal.  For ORPHANED: the note (or the notes
    # allowed, where the outcome depends on which of two identical copies the diff keeps).
    expect: tuple[str, int] | str | frozenset[str]


CASES = [
    Case("identical text", BASE, BASE, "grow by 3%", 0, UNCHANGED, ("grow by 3%", 0)),
    Case(
        "insertion before (new first paragraph)",
        BASE,
        "Update: this story was corrected on Monday.\n" + BASE,
        "grow by 3%",
        0,
        MOVED,
        ("grow by 3%", 0),
    ),
    Case(
        "insertion after the span, outside its context",
        BASE,
        BASE + "\nA fourth paragraph was added later.",
        "grow by 3%",
        0,
        UNCHANGED,
        ("grow by 3%", 0),
    ),
    Case(
        "insertion after the text, quote near the end (suffix cut by the old edge)",
        BASE,
        BASE + "\nA fourth paragraph was added later.",
        "above inflation",
        0,
        UNCHANGED,
        ("above inflation", 0),
    ),
    Case(
        "insertion inside the span",
        BASE,
        BASE.replace("grow by 3%", "grow by roughly 3%"),
        "grow by 3%",
        0,
        CHANGED,
        "grow by roughly 3%",
    ),
    Case(
        "replacement inside the span",
        BASE,
        BASE.replace("grow by 3%", "grow by 4%"),
        "grow by 3%",
        0,
        CHANGED,
        "grow by 4%",
    ),
    Case(
        "rewritten word at the span's edge is proposed whole, not cut mid-word",
        BASE,
        BASE.replace("budget would grow", "budget would slowly grow"),
        "would grow",
        0,
        CHANGED,
        "would slowly grow",
    ),
    Case(
        "deletion of the span",
        BASE,
        BASE.replace(" would grow by 3% next year", ""),
        "would grow by 3% next year",
        0,
        ORPHANED,
        NOTE_DELETED,
    ),
    Case(
        "deletion of the whole paragraph",
        BASE,
        "\n".join([P1, P3]),
        "shrink instead",
        0,
        ORPHANED,
        NOTE_DELETED,
    ),
    Case(
        "deletion inside the prefix context",
        BASE,
        BASE.replace("The minister said", "The minister"),
        "the budget would grow",
        0,
        ORPHANED,
        NOTE_CONTEXT_CHANGED,
    ),
    Case(
        "edit inside the suffix context",
        BASE,
        BASE.replace("next year, according", "next year, said"),
        "grow by 3%",
        0,
        ORPHANED,
        NOTE_CONTEXT_CHANGED,
    ),
    Case(
        "context cut by the new text's start, the suffix still whole",
        BASE,
        "\n".join([P2, P3]),
        "shrink instead",
        0,
        MOVED,
        ("shrink instead", 0),
    ),
    Case(
        "context cut by the new text's start, too little left to compare",
        "Preface line.\nShort.",
        "Short.",
        "Short",
        0,
        ORPHANED,
        NOTE_CONTEXT_CHANGED,
    ),
    Case(
        "short quote at the new text's edge needs context, not just the edge",
        "a.b and more",
        "b and more a",
        "a",
        0,
        ORPHANED,
        NOTE_DELETED,
    ),
    Case(
        "quote at the very start (no prefix) with text put before it",
        BASE,
        "Editor's note: corrected.\n" + BASE,
        "The minister",
        0,
        MOVED,
        ("The minister", 0),
    ),
    Case(
        "quote at the very end (no suffix) with text put after it",
        BASE,
        BASE + " More was added.",
        "above inflation.",
        0,
        UNCHANGED,
        ("above inflation.", 0),
    ),
    Case(
        "quote at the very end, the text's last character dropped: the edge cuts the suffix",
        BASE,
        BASE.removesuffix("."),
        "above inflation",
        0,
        UNCHANGED,
        ("above inflation", 0),
    ),
    Case(
        "paragraph moved to the top",
        BASE,
        "\n".join([P3, P1, P2]),
        "spending rose by 12%",
        0,
        MOVED,
        ("spending rose by 12%", 0),
    ),
    # Near-duplicate sentences: the quote occurs in P1 and P2 with different context.
    Case(
        "near-duplicate: claimed sentence deleted, the other copy stays put",
        BASE,
        "\n".join([P1, P3]),
        "said the budget would",
        1,
        ORPHANED,
        NOTE_DELETED,
    ),
    Case(
        "near-duplicate: claimed copy's context edited, never moved to the other copy",
        BASE,
        BASE.replace("would grow by 3%", "would rise by 3%"),
        "said the budget would",
        0,
        ORPHANED,
        NOTE_CONTEXT_CHANGED,
    ),
    Case(
        "near-duplicate: the other copy edited, claim unchanged",
        BASE,
        BASE.replace("would shrink", "would fall"),
        "said the budget would",
        0,
        UNCHANGED,
        ("said the budget would", 0),
    ),
    # Exact duplicate paragraphs: only the diff can tell the copies apart.
    Case(
        # Which copy the diff keeps is arbitrary; either way the claim's prefix ("…next
        # year.\n") is gone, and the copy left has "Intro line.\n" before it.
        "duplicate paragraphs: claimed copy deleted, the copy left has other context",
        "\n".join(["Intro line.", DUP, DUP]),
        "\n".join(["Intro line.", DUP]),
        "bridge will close",
        1,
        ORPHANED,
        frozenset({NOTE_DELETED, NOTE_CONTEXT_CHANGED}),
    ),
    Case(
        "duplicate paragraphs: claimed copy edited, other copy untouched",
        "\n".join([DUP, DUP]),
        "\n".join([DUP.replace("will close", "will shut"), DUP]),
        "bridge will close",
        0,
        CHANGED,
        "bridge will shut",
    ),
    Case(
        "duplicate paragraphs: the other copy edited",
        "\n".join([DUP, DUP]),
        "\n".join([DUP, DUP.replace("will close", "will shut")]),
        "bridge will close",
        0,
        UNCHANGED,
        ("bridge will close", 0),
    ),
    Case(
        "duplicate paragraphs: a third copy inserted before, the diff places the claim",
        "\n".join(["Intro line.", DUP, "Middle line.", DUP]),
        "\n".join(["Intro line.", DUP, "Inserted.", DUP, "Middle line.", DUP]),
        "bridge will close",
        1,
        MOVED,
        ("bridge will close", 2),
    ),
    # Short quotes: context is everything.
    Case(
        "short quote moved by an insertion before it",
        "I saw a cat and a dog in the yard.",
        "Yesterday, I saw a cat and a dog in the yard.",
        "a",
        2,  # the "a" of "a dog" ("saw" holds the first)
        MOVED,
        ("a", 3),
    ),
    Case(
        "short quote with edited context is orphaned, not moved to another 'a'",
        "I saw a cat and a dog in the yard.",
        "I saw a cat and a big dog in the yard.",
        "a",
        2,
        ORPHANED,
        NOTE_CONTEXT_CHANGED,
    ),
    Case(
        "short quote replaced",
        "Grade: a. Notes follow.",
        "Grade: b. Notes follow.",
        "a",
        1,
        ORPHANED,
        NOTE_DELETED,
    ),
    # Offsets are code points: astral characters and combining marks.
    Case(
        "emoji inserted before the span shifts it by code points",
        "Reaction: great news. The vote passed 52 to 48 on Tuesday.",
        f"{THUMBS} Reaction: great news. The vote passed 52 to 48 on Tuesday.",
        "52 to 48",
        0,
        MOVED,
        ("52 to 48", 0),
    ),
    Case(
        "emoji inside the span",
        f"Fans {THUMBS} cheered loudly as the team won the final match of the season.",
        f"Fans {THUMBS}{THUMBS} cheered loudly as the team won the final match of the season.",
        f"{THUMBS} cheered",
        0,
        CHANGED,
        f"{THUMBS}{THUMBS} cheered",
    ),
    Case(
        "combining mark removed inside the span (q + U+0307 has no composed form)",
        "The variable q\u0307 denotes the rate of change, as defined in chapter two.",
        "The variable q denotes the rate of change, as defined in chapter two.",
        "q\u0307 denotes",
        0,
        CHANGED,
        "q denotes",
    ),
    Case(
        "RTL and CJK text moved by an insertion",
        "Intro. שלום עולם and 事实核查很重要 appear here in the middle of the text.",
        "New intro. Intro. שלום עולם and 事实核查很重要 appear here in the middle of the text.",
        "事实核查",
        0,
        MOVED,
        ("事实核查", 0),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_it_places_each_case_as_the_table_says(case: Case) -> None:
    anchor = anchor_on(case.old, case.quote, case.occurrence)
    [placement] = reanchor(case.old, case.new, [anchor])
    check_invariants(case.new, anchor, placement)
    assert placement.status is case.status, placement
    if case.status in (UNCHANGED, MOVED):
        quote, occurrence = case.expect
        expected_start = nth(case.new, quote, occurrence)
        assert (placement.start, placement.end) == (expected_start, expected_start + len(quote))
    elif case.status is CHANGED:
        assert placement.exact == case.expect
    elif isinstance(case.expect, frozenset):
        assert placement.note in case.expect
    else:
        assert placement.note == case.expect


def test_it_returns_one_placement_per_anchor_in_input_order() -> None:
    anchors = [
        anchor_on(BASE, "spending rose", key="c3"),
        anchor_on(BASE, "grow by 3%", key="c1"),
        anchor_on(BASE, "shrink instead", key="c2"),
    ]
    new = BASE.replace("shrink instead", "fall instead")
    placements = reanchor(BASE, "Preface.\n" + new, anchors)
    assert [p.key for p in placements] == ["c3", "c1", "c2"]
    assert [p.status for p in placements] == [MOVED, MOVED, CHANGED]
    assert [p.note for p in placements] == [NOTE_MOVED, NOTE_MOVED, NOTE_NEEDS_REVIEW]


def test_it_marks_unchanged_with_its_note_and_recomputed_context() -> None:
    anchor = anchor_on(BASE, "grow by 3%")
    [placement] = reanchor(BASE, BASE, [anchor])
    assert placement == Placement(
        key="c1",
        status=UNCHANGED,
        start=anchor.start,
        end=anchor.end,
        exact=anchor.exact,
        prefix=anchor.prefix,
        suffix=anchor.suffix,
        note=NOTE_UNCHANGED,
    )


@pytest.mark.parametrize(
    ("start", "end", "exact"),
    [
        (0, 3, "xyz"),  # quote does not match the old text
        (5, 5, ""),  # empty
        (-1, 3, "Th"),
        (0, 10_000, BASE),
    ],
)
def test_it_orphans_anchors_that_do_not_fit_the_old_text(start: int, end: int, exact: str) -> None:
    anchor = Anchor("bad", start, end, exact, "", "")
    [placement] = reanchor(BASE, BASE, [anchor])
    assert placement.status is ORPHANED
    assert placement.note == NOTE_INVALID


def test_it_orphans_an_anchor_whose_stored_context_does_not_fit_the_old_text() -> None:
    good = anchor_on(BASE, "grow by 3%")
    anchor = Anchor(good.key, good.start, good.end, good.exact, "something else ", good.suffix)
    [placement] = reanchor(BASE, BASE, [anchor])
    assert (placement.status, placement.note) == (ORPHANED, NOTE_INVALID)


LONG = (
    "In a statement issued late on Friday evening, the regional water authority said that "
    "the reservoir level had fallen to 41 percent of capacity, the lowest point recorded "
    "for the month of August since measurements began in 1962, and asked residents to "
    "limit garden watering until further notice."
)
LONG_QUOTE = "the lowest point recorded"  # context on both sides lies inside LONG


def _filler(seed: int, words: int) -> str:
    """A run of words on one line, different for each seed."""
    rng = random.Random(seed)
    vocabulary = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    return " ".join(f"{rng.choice(vocabulary)}{rng.randrange(1000)}" for _ in range(words))


def test_a_moved_paragraph_is_relocated_by_quote_and_context() -> None:
    # Moving a paragraph is a deletion plus an insertion to the diff: the span is lost
    # in the deletion and found again by its quote and context.
    first, second, third = _filler(1, 60), _filler(2, 60), _filler(3, 60)
    old = "\n".join([first, LONG, second, third])
    new = "\n".join([first, second, third, LONG])
    anchor = anchor_on(old, LONG_QUOTE)
    [placement] = reanchor(old, new, [anchor])
    check_invariants(new, anchor, placement)
    assert (placement.status, placement.note) == (MOVED, NOTE_RELOCATED)
    assert placement.start == new.index(LONG_QUOTE)


def test_without_a_usable_diff_a_unique_quote_and_context_is_relocated() -> None:
    # One long line each side and a near-zero timeout: diff-match-patch has no time and
    # returns the whole text as one deletion plus one insertion.
    old = " ".join([_filler(1, 400), LONG, _filler(2, 400)])
    new = " ".join([_filler(3, 400), LONG, _filler(4, 400)])
    anchor = anchor_on(old, LONG_QUOTE)
    [placement] = reanchor(old, new, [anchor], timeout=1e-9)
    check_invariants(new, anchor, placement)
    assert (placement.status, placement.note) == (MOVED, NOTE_RELOCATED)
    assert placement.start == new.index(LONG_QUOTE)


def test_without_a_usable_diff_two_fitting_places_are_ambiguous() -> None:
    old = " ".join([_filler(1, 400), LONG, _filler(2, 400)])
    new = " ".join([_filler(3, 400), LONG, _filler(4, 200), LONG, _filler(5, 100)])
    anchor = anchor_on(old, LONG_QUOTE)
    [placement] = reanchor(old, new, [anchor], timeout=1e-9)
    assert (placement.status, placement.note) == (ORPHANED, NOTE_AMBIGUOUS)


def test_without_a_usable_diff_a_lost_anchor_is_not_claimed_deleted() -> None:
    old = " ".join([_filler(1, 400), LONG, _filler(2, 400)])
    new = _filler(3, 900)
    [placement] = reanchor(old, new, [anchor_on(old, LONG_QUOTE)], timeout=1e-9)
    assert (placement.status, placement.note) == (ORPHANED, NOTE_NOT_FOUND)


def test_one_of_three_identical_paragraphs_deleted_is_ambiguous_or_placed_by_the_diff() -> None:
    # The texts cannot tell which copy went.  If the diff keeps the claimed copy, the
    # claim stays on it; if it reads the claimed copy as the deleted one, both remaining
    # copies fit the quote and its context and the claim is flagged, not guessed.
    old = "\n".join([DUP, DUP, DUP])
    new = "\n".join([DUP, DUP])
    anchor = anchor_on(old, "for repairs", 1)
    [placement] = reanchor(old, new, [anchor])
    check_invariants(new, anchor, placement)
    assert placement.status in (UNCHANGED, MOVED) or placement.note == NOTE_AMBIGUOUS


def test_an_edit_in_one_of_two_identical_paragraphs_is_not_moved_to_the_other() -> None:
    # The claim is on the copy that gets edited.  The other copy still has the exact
    # quote and context, but the old text had both: it is the other copy.
    old = "\n".join(["Intro line.", LONG, LONG, "Closing line."])
    edited = LONG.replace("lowest point recorded", "lowest level recorded")
    new = "\n".join(["Intro line.", edited, LONG, "Closing line."])
    anchor = anchor_on(old, LONG_QUOTE, 0)
    [placement] = reanchor(old, new, [anchor])
    check_invariants(new, anchor, placement)
    assert placement.status in (CHANGED, ORPHANED)
    if placement.status is CHANGED:
        assert placement.exact == "the lowest level recorded"
    else:
        assert placement.note == NOTE_AMBIGUOUS


def test_a_moved_and_duplicated_paragraph_lands_only_where_quote_and_context_fit() -> None:
    # The claimed paragraph leaves its place and shows up twice elsewhere; only the copy
    # at the top is compatible with the stored prefix (cut by the text's start), the other
    # has different text before it.  Whatever the diff makes of it: that copy, or ambiguous.
    old = "\n".join(["Opening.", DUP, "Closing remarks are here."])
    new = "\n".join([DUP, "Opening.", "Closing remarks are here.", DUP])
    anchor = anchor_on(old, "bridge will close")
    [placement] = reanchor(old, new, [anchor])
    check_invariants(new, anchor, placement)
    assert placement.status in (MOVED, ORPHANED)
    if placement.status is ORPHANED:
        assert placement.note == NOTE_AMBIGUOUS
    else:
        assert placement.start == new.index("bridge will close")


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


# --- book length ---------------------------------------------------------------------------


def _book(seed: int, size: int) -> str:
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 9)))
        for _ in range(5000)
    ]
    paragraphs: list[str] = []
    total = 0
    while total < size:
        paragraph = " ".join(rng.choices(vocabulary, k=rng.randint(20, 120))) + "."
        paragraphs.append(paragraph)
        total += len(paragraph) + 1
    return "\n".join(paragraphs)


def _revise(text: str, seed: int, edits: int) -> str:
    rng = random.Random(seed)
    chars = list(text)
    for _ in range(edits):
        pos = rng.randrange(len(chars))
        match rng.randrange(3):
            case 0:
                chars[pos] = "X"
            case 1:
                chars.insert(pos, "inserted words ")
            case _:
                del chars[pos : pos + 5]
    return "".join(chars)


def test_a_one_megabyte_text_with_hundreds_of_claims_reanchors_fast() -> None:
    old = _book(7, 1_000_000)
    new = _revise(old, 8, 300)
    rng = random.Random(9)
    anchors = []
    for number, start in enumerate(rng.sample(range(len(old) - 60), 500)):
        selector = make_selector(old, start, start + rng.randint(1, 50))
        anchors.append(
            Anchor(
                number,
                selector.start,
                selector.end,
                selector.exact,
                selector.prefix,
                selector.suffix,
            )
        )

    began = time.perf_counter()
    placements = reanchor(old, new, anchors)
    elapsed = time.perf_counter() - began

    assert elapsed < 2.0, f"re-anchoring took {elapsed:.2f}s"
    for anchor, placement in zip(anchors, placements, strict=True):
        check_invariants(new, anchor, placement)
    matched = sum(p.status in (UNCHANGED, MOVED) for p in placements)
    assert matched > 400  # 300 small edits touch few of 500 claims


def test_an_unrelated_one_megabyte_text_is_bounded_by_the_timeout() -> None:
    old, new = _book(1, 1_000_000), _book(2, 1_000_000)
    rng = random.Random(3)
    anchors = []
    for number, start in enumerate(rng.sample(range(len(old) - 60), 300)):
        selector = make_selector(old, start, start + rng.randint(1, 30))
        anchors.append(
            Anchor(
                number,
                selector.start,
                selector.end,
                selector.exact,
                selector.prefix,
                selector.suffix,
            )
        )

    began = time.perf_counter()
    placements = reanchor(old, new, anchors, timeout=0.5)
    elapsed = time.perf_counter() - began

    assert elapsed < 4.0, f"re-anchoring took {elapsed:.2f}s"
    assert all(p.status is ORPHANED for p in placements)
