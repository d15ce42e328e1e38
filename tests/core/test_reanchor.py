"""Tests for annotations.core.reanchor: pure functions, no database, no Django.

The product rule under test: a claim is never moved silently onto the wrong text.
UNCHANGED/MOVED only on the exact quote with its exact stored context; CHANGED is a
proposal for review; everything else is ORPHANED without offsets.

Here: worked examples (order, notes, invalid anchors, moved and duplicated paragraphs)
and book-length texts. The table of cases is in ``test_reanchor_table.py``, the
properties over generated edits in ``test_reanchor_properties.py``.
"""

from __future__ import annotations

import random
import time

import pytest

from annotations.core.reanchor import (
    NOTE_AMBIGUOUS,
    NOTE_INVALID,
    NOTE_MOVED,
    NOTE_NEEDS_REVIEW,
    NOTE_NOT_FOUND,
    NOTE_RELOCATED,
    NOTE_UNCHANGED,
    Anchor,
    Placement,
    reanchor,
)
from annotations.core.spans import make_selector
from tests.core.reanchor_helpers import (
    BASE,
    CHANGED,
    DUP,
    MOVED,
    ORPHANED,
    UNCHANGED,
    anchor_on,
    check_invariants,
)

pytestmark = pytest.mark.db_independent


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
