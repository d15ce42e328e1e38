"""Re-anchoring claims when a document gets a corrected text (a new revision).

Product rule: a claim is never moved silently onto the wrong text.  A placement is a
match (``UNCHANGED`` or ``MOVED``) only when the new text holds the exact quote with
exactly the stored context around it (W3C TextQuoteSelector ``prefix``/``suffix``, up to
``spans.CONTEXT_LENGTH`` code points each side; a side may be cut short where the text
ends).  Everything else is for a human: ``CHANGED`` proposes the range the old span maps
to when its own text was edited, ``ORPHANED`` carries no offsets at all.

How a placement is found, for each anchor:

1. The diff (diff-match-patch, computed once for the whole text) maps the old span to new
   offsets.  If the quote and its context are there, that is the placement: the diff
   follows the edit history, so it also picks the right copy of a repeated paragraph.
2. Otherwise the new text is searched for the quote with its context.  A single hit is
   accepted only if the old text held that quote-with-context once too (otherwise the hit
   may well be the *other* copy of a duplicated passage) and the diff did not place the
   span somewhere else (an edited copy, or the quote with an edited context).
3. Failing that, if the diff maps the span to a non-empty range whose text differs and at
   least half of it is text that survived the edit, the result is ``CHANGED``.

Offsets are Python ``str`` indices (code points), half-open, as everywhere (see spans.py).
Pure Python: no Django.  Cost: one diff, then O(log d) per anchor to map it, plus at most a
few ``str.find`` scans for an anchor the diff lost.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from diff_match_patch import diff_match_patch

from annotations.spans import CONTEXT_LENGTH

__all__ = [
    "NOTE_AMBIGUOUS",
    "NOTE_CONTEXT_CHANGED",
    "NOTE_DELETED",
    "NOTE_INVALID",
    "NOTE_MOVED",
    "NOTE_NEEDS_REVIEW",
    "NOTE_NOT_FOUND",
    "NOTE_PARTLY_DELETED",
    "NOTE_RELOCATED",
    "NOTE_UNCHANGED",
    "Anchor",
    "AnchorStatus",
    "Placement",
    "reanchor",
]

# Notes are fixed phrases so the UI can translate or group them.
NOTE_UNCHANGED = "unchanged"
NOTE_MOVED = "moved"  # the diff carried it to new offsets; quote and context intact
NOTE_RELOCATED = "relocated by quote and context"  # the diff lost it; unique exact match
NOTE_NEEDS_REVIEW = "needs review"  # CHANGED: the quoted text itself was edited
NOTE_AMBIGUOUS = "ambiguous"  # the quote with its context fits more than one place
NOTE_CONTEXT_CHANGED = "context changed"  # quote survives, but its surroundings were edited
NOTE_PARTLY_DELETED = "partly deleted"  # too little of the quote survives to propose
NOTE_DELETED = "deleted"  # none of the quote survives
NOTE_NOT_FOUND = "not found"  # the diff ran out of time and the search found nothing
NOTE_INVALID = "invalid anchor"  # offsets/quote do not fit the old text

# A CHANGED proposal must be at least this share surviving text (of the longer of the old
# quote and the proposed range); below it the "proposal" would mostly be someone else's
# words and is more misleading than helpful.
_MIN_SURVIVING_SHARE = 0.5

_EQUAL = diff_match_patch.DIFF_EQUAL
_DELETE = diff_match_patch.DIFF_DELETE
_INSERT = diff_match_patch.DIFF_INSERT


class AnchorStatus(StrEnum):
    UNCHANGED = "unchanged"
    MOVED = "moved"
    CHANGED = "changed"
    ORPHANED = "orphaned"


@dataclass(frozen=True)
class Anchor:
    """A stored claim position on the old text (TextPosition + TextQuote selectors)."""

    key: Hashable
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


@dataclass(frozen=True)
class Placement:
    """Where an anchor lands on the new text.

    UNCHANGED/MOVED: a match, ``new_text[start:end] == exact``, context recomputed.
    CHANGED: a proposal for review only, ``exact`` is the new text at the proposed range.
    ORPHANED: every position field is None; ``note`` says why.
    """

    key: Hashable
    status: AnchorStatus
    start: int | None
    end: int | None
    exact: str | None
    prefix: str | None
    suffix: str | None
    note: str


class _DiffMap:
    """Old-text offsets -> new-text offsets through a diff, O(log d) per lookup.

    Only DELETE and EQUAL runs consume old text, so they are the rows searched; each row
    records where it starts in the new text (after any insertions before it).
    """

    def __init__(
        self, diffs: list[tuple[int, str]], old_length: int, new_length: int, *, complete: bool
    ) -> None:
        # complete=False: the diff hit its deadline, so "deleted" would be a guess.
        self.complete = complete
        self.old_length = old_length
        self.new_length = new_length
        self.old_starts: list[int] = []
        self.new_starts: list[int] = []
        self.equal: list[bool] = []
        self.equal_before: list[int] = []  # old code points in EQUAL runs before the row
        old_pos = new_pos = equal_total = 0
        for op, chunk in diffs:
            if op == _INSERT:
                new_pos += len(chunk)
                continue
            self.old_starts.append(old_pos)
            self.new_starts.append(new_pos)
            self.equal.append(op == _EQUAL)
            self.equal_before.append(equal_total)
            old_pos += len(chunk)
            if op == _EQUAL:
                new_pos += len(chunk)
                equal_total += len(chunk)
        self.equal_total = equal_total

    def _row(self, old: int) -> int:
        return bisect.bisect_right(self.old_starts, old) - 1

    def char_survives(self, old: int) -> bool:
        """Whether the code point at ``old`` is kept by the diff (0 <= old < old_length)."""
        return self.equal[self._row(old)]

    def boundary(self, old: int) -> int:
        """Map a position like diff-match-patch's xIndex: insertions before the code point
        at ``old`` come before the result, a deleted code point maps to where it was."""
        if old >= self.old_length:
            return self.new_length
        row = self._row(old)
        if self.equal[row]:
            return self.new_starts[row] + (old - self.old_starts[row])
        return self.new_starts[row]

    def equal_upto(self, old: int) -> int:
        """How many code points before ``old`` the diff keeps."""
        if old >= self.old_length:
            return self.equal_total
        row = self._row(old)
        inside = old - self.old_starts[row] if self.equal[row] else 0
        return self.equal_before[row] + inside

    def span(self, start: int, end: int) -> tuple[int, int]:
        """New range for old ``[start, end)``: text inserted right before the span or
        right after it stays outside; text inserted or replacing inside ends up inside."""
        new_start = self.boundary(start)
        last_kept = self.char_survives(end - 1)
        new_end = self.boundary(end - 1) + 1 if last_kept else self.boundary(end)
        return new_start, max(new_start, new_end)


def _context_matches(text: str, start: int, end: int, prefix: str, suffix: str) -> bool:
    # Exact comparison of the stored context.  A side may be shorter than stored only
    # where the new text itself ends; a stored side shorter than CONTEXT_LENGTH was cut by
    # the old text's edge and constrains only as far as it goes.
    before = min(len(prefix), start)
    if text[start - before : start] != prefix[len(prefix) - before :]:
        return False
    after = min(len(suffix), len(text) - end)
    return text[end : end + after] == suffix[:after]


def _find_with_context(text: str, anchor: Anchor, limit: int) -> list[int]:
    """Start offsets (sorted, at most ``limit``) where ``anchor.exact`` sits in ``text``
    with its stored context, cut short only at the text's edges."""
    exact, prefix, suffix = anchor.exact, anchor.prefix, anchor.suffix
    found: set[int] = set()
    needle = prefix + exact + suffix
    hit = text.find(needle)
    while hit != -1 and len(found) < limit:
        found.add(hit + len(prefix))
        hit = text.find(needle, hit + 1)
    # Near the edges the needle is cut, so the few positions there are checked one by one.
    edge_starts = set(range(min(len(prefix), len(text) + 1)))
    last_start = len(text) - len(exact)
    edge_starts.update(range(max(0, last_start - len(suffix) + 1), last_start + 1))
    for start in sorted(edge_starts):
        end = start + len(exact)
        if (
            end <= len(text)
            and text.startswith(exact, start)
            and _context_matches(text, start, end, prefix, suffix)
        ):
            found.add(start)
    return sorted(found)[:limit]


def _placed(
    anchor: Anchor, text: str, start: int, end: int, status: AnchorStatus, note: str
) -> Placement:
    return Placement(
        key=anchor.key,
        status=status,
        start=start,
        end=end,
        exact=text[start:end],
        prefix=text[max(0, start - CONTEXT_LENGTH) : start],
        suffix=text[end : end + CONTEXT_LENGTH],
        note=note,
    )


def _snap_to_words(
    old_text: str, start: int, end: int, text: str, new_start: int, new_end: int
) -> tuple[int, int]:
    """Widen a CHANGED proposal to whole words where the old span had whole words.

    The character diff may keep a letter of a rewritten word ("lazy" -> "sleepy" keeps
    the "l"), which would cut the proposal mid-word ("leepy").  Widening stops after
    CONTEXT_LENGTH code points: scripts without spaces are not split into words this way.
    """
    if (start == 0 or not old_text[start - 1].isalnum()) and text[new_start].isalnum():
        limit = max(0, new_start - CONTEXT_LENGTH)
        while new_start > limit and text[new_start - 1].isalnum():
            new_start -= 1
    if (end == len(old_text) or not old_text[end].isalnum()) and text[new_end - 1].isalnum():
        limit = min(len(text), new_end + CONTEXT_LENGTH)
        while new_end < limit and text[new_end].isalnum():
            new_end += 1
    return new_start, new_end


def _orphaned(anchor: Anchor, note: str) -> Placement:
    return Placement(anchor.key, AnchorStatus.ORPHANED, None, None, None, None, None, note)


def _match(anchor: Anchor, text: str, start: int, note: str) -> Placement:
    end = start + len(anchor.exact)
    unchanged = start == anchor.start and end == anchor.end
    status = AnchorStatus.UNCHANGED if unchanged else AnchorStatus.MOVED
    return _placed(anchor, text, start, end, status, NOTE_UNCHANGED if unchanged else note)


def _place(anchor: Anchor, old_text: str, new_text: str, diff_map: _DiffMap) -> Placement:
    start, end, exact = anchor.start, anchor.end, anchor.exact
    valid = (
        isinstance(start, int)
        and isinstance(end, int)
        and 0 <= start < end <= len(old_text)
        and old_text[start:end] == exact
        and _context_matches(old_text, start, end, anchor.prefix, anchor.suffix)
    )
    if not valid:
        return _orphaned(anchor, NOTE_INVALID)

    new_start, new_end = diff_map.span(start, end)
    quote_intact = new_text[new_start:new_end] == exact
    if quote_intact and _context_matches(
        new_text, new_start, new_end, anchor.prefix, anchor.suffix
    ):
        return _match(anchor, new_text, new_start, NOTE_MOVED)

    surviving = diff_map.equal_upto(end) - diff_map.equal_upto(start)
    proposal_length = new_end - new_start
    proposable = (
        not quote_intact
        and proposal_length > 0
        and surviving >= _MIN_SURVIVING_SHARE * max(len(exact), proposal_length)
    )

    if proposable:
        new_start, new_end = _snap_to_words(old_text, start, end, new_text, new_start, new_end)
        # A proposal never shows the old quote: that text without its context is the
        # "context changed" case, not an edit of the claim.
        quote_intact = new_text[new_start:new_end] == exact
        proposable = not quote_intact

    candidates = _find_with_context(new_text, anchor, limit=2)
    if candidates:
        old_count = len(_find_with_context(old_text, anchor, limit=2))
        if len(candidates) == 1 and old_count <= 1 and not quote_intact and not proposable:
            # The diff lost the span (typically a moved paragraph: a deletion plus an
            # insertion) and the quote with its context is in one place only, before
            # and after.
            return _match(anchor, new_text, candidates[0], NOTE_RELOCATED)
        if proposable and old_count > 1:
            # A duplicated passage: the diff tracked this copy and it was edited; the
            # untouched hit is the other copy, not this claim.
            return _placed(
                anchor, new_text, new_start, new_end, AnchorStatus.CHANGED, NOTE_NEEDS_REVIEW
            )
        # Several fits, a fit that may be another copy, or the diff and the context
        # disagree: a human decides.
        return _orphaned(anchor, NOTE_AMBIGUOUS)

    if quote_intact:
        return _orphaned(anchor, NOTE_CONTEXT_CHANGED)
    if proposable:
        return _placed(
            anchor, new_text, new_start, new_end, AnchorStatus.CHANGED, NOTE_NEEDS_REVIEW
        )
    if not diff_map.complete:
        return _orphaned(anchor, NOTE_NOT_FOUND)
    return _orphaned(anchor, NOTE_PARTLY_DELETED if surviving else NOTE_DELETED)


def reanchor(
    old_text: str, new_text: str, anchors: Sequence[Anchor], *, timeout: float = 2.0
) -> list[Placement]:
    """Place each anchor of ``old_text`` on ``new_text``; one Placement per anchor, in order.

    Both texts should be canonical (spans.canonicalize), like every stored document text.
    ``timeout`` bounds the diff (diff-match-patch ``Diff_Timeout``, seconds; 0 = no limit).
    When it runs out the diff gets coarser; spans it then fails to track fall back to the
    quote-and-context search, so they are placed, flagged ambiguous or orphaned, never
    placed wrongly.  Anchors that do not fit ``old_text`` come back ORPHANED with
    ``NOTE_INVALID``.
    """
    complete = True
    if old_text == new_text:
        diffs: list[tuple[int, str]] = [(_EQUAL, old_text)] if old_text else []
    else:
        dmp = diff_match_patch()
        dmp.Diff_Timeout = timeout
        # checklines: a line-level pass first, which keeps book-length texts fast; the
        # changed lines are then diffed character by character.
        began = time.monotonic()
        diffs = dmp.diff_main(old_text, new_text, checklines=True)
        # diff-match-patch does not say whether it gave up; running to the deadline is
        # the sign (a finished diff that took that long is rare and only costs a note).
        complete = timeout <= 0 or time.monotonic() - began < timeout
    diff_map = _DiffMap(diffs, len(old_text), len(new_text), complete=complete)
    return [_place(anchor, old_text, new_text, diff_map) for anchor in anchors]
