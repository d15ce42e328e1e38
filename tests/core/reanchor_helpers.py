"""What the re-anchoring tests share: three paragraphs to edit, ``anchor_on`` (the
selector the server stores for the n-th occurrence of a quote), ``context_fits`` (the
match rule, stated independently) and ``check_invariants`` (what every placement must
satisfy, whatever the edit). Used by ``tests/core/test_reanchor.py``,
``test_reanchor_table.py`` and ``test_reanchor_properties.py``.
"""

from __future__ import annotations

from annotations.core.reanchor import NOTE_NEEDS_REVIEW, Anchor, AnchorStatus, Placement
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
