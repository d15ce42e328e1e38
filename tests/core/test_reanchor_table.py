"""Re-anchoring (annotations.core.reanchor), table-driven: one row per kind of edit,
with where the claim must land, the proposal it must get, or why it is orphaned.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from annotations.core.reanchor import NOTE_CONTEXT_CHANGED, NOTE_DELETED, AnchorStatus, reanchor
from tests.core.reanchor_helpers import (
    BASE,
    CHANGED,
    DUP,
    MOVED,
    ORPHANED,
    P1,
    P2,
    P3,
    THUMBS,
    UNCHANGED,
    anchor_on,
    check_invariants,
)

pytestmark = pytest.mark.db_independent


def nth(text: str, quote: str, occurrence: int) -> int:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(quote, start + 1)
    return start


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
