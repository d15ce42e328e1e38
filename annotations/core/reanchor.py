"""Re-anchoring claims when a document gets a corrected text (a new revision).

Product rule: a claim is never moved silently onto the wrong text.  A placement is a
match (``UNCHANGED`` or ``MOVED``) only when the new text holds the exact quote with
exactly the stored context around it (W3C TextQuoteSelector ``prefix``/``suffix``, up to
``spans.CONTEXT_LENGTH`` code points each side; a side may be cut short where a text
ends, as long as CONTEXT_LENGTH code points of context are still compared).  Everything
else is for a human: ``CHANGED`` proposes the range the old span maps to when its own
text was edited, ``ORPHANED`` carries no offsets at all.

How a placement is found, for each anchor:

1. The diff (computed once: paragraphs aligned by a patience diff, then diff-match-patch
   on the changed ones) maps the old span to new offsets.  If the quote and its context are
   there, that is the placement: the diff follows the edit, so it also picks the right
   copy of a repeated paragraph.
2. Otherwise the new text is searched for the quote with its context.  A single fit is
   accepted only if the old text held that quote-with-context once too; otherwise the fit
   may well be the *other* copy of a duplicated passage, and the claim becomes
   ``CHANGED`` if the diff tracked its own copy as edited, else ORPHANED "ambiguous".
3. With no fit at all: if the diff maps the span to a non-empty range whose text differs
   and at least half of it is text that survived the edit, the result is ``CHANGED``;
   otherwise ORPHANED ("context changed" when the quote itself survived).

Offsets are Python ``str`` indices (code points), half-open, as everywhere (see spans.py).
Pure Python: no Django.  Cost: one diff, then O(log d) per anchor to map it, plus at most
two ``str.find`` scans for an anchor the diff did not carry to a fit.
"""

from __future__ import annotations

import bisect
import sys
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from diff_match_patch import diff_match_patch

from annotations.core.spans import CONTEXT_LENGTH

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
    """Whether the stored context surrounds ``text[start:end]``, compared exactly.

    "Truncation at text edges" both ways: a stored side shorter than CONTEXT_LENGTH was
    cut by the old text's edge and constrains only as far as it goes; a side the new text
    cuts short (the quote now sits near its start or end) is compared as far as the text
    goes.  But at least CONTEXT_LENGTH code points of context (all of it, if less was
    stored) must be compared: without that floor a short quote at the new text's edge
    would match with no context at all, the classic mis-anchoring of short quotes.
    """
    before = min(len(prefix), start)
    after = min(len(suffix), len(text) - end)
    if text[start - before : start] != prefix[len(prefix) - before :]:
        return False
    if text[end : end + after] != suffix[:after]:
        return False
    return before + after >= min(CONTEXT_LENGTH, len(prefix) + len(suffix))


def _find_with_context(text: str, anchor: Anchor, limit: int) -> list[int]:
    """Start offsets (ascending, at most ``limit``) where ``anchor.exact`` fits in
    ``text`` with its context (``_context_matches``)."""
    exact, prefix, suffix = anchor.exact, anchor.prefix, anchor.suffix
    found: set[int] = set()
    needle = prefix + exact + suffix
    hit = text.find(needle)
    while hit != -1 and len(found) < limit:
        found.add(hit + len(prefix))
        hit = text.find(needle, hit + 1)
    # Where a text edge cuts the context the whole needle cannot occur; those few
    # positions (within one context length of either edge) are checked one by one.
    edge_starts = set(range(min(len(prefix), len(text) + 1)))
    last_start = len(text) - len(exact)
    edge_starts.update(range(max(0, last_start - len(suffix) + 1), last_start + 1))
    for start in edge_starts:
        end = start + len(exact)
        if text.startswith(exact, start) and _context_matches(text, start, end, prefix, suffix):
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
        if len(candidates) == 1 and old_count == 1:
            # The diff did not carry the span to a fit (a moved paragraph is a deletion
            # plus an insertion to it; in repetitive text its alignment is arbitrary), but
            # the quote with its context is in one place only, before and after.
            return _match(anchor, new_text, candidates[0], NOTE_RELOCATED)
        if proposable and old_count > 1:
            # A duplicated passage: the diff tracked this copy and it was edited; an
            # untouched fit is another copy, not this claim.
            return _placed(
                anchor, new_text, new_start, new_end, AnchorStatus.CHANGED, NOTE_NEEDS_REVIEW
            )
        # Several fits, or a single fit that may be the other copy of a passage the old
        # text held twice: a human decides.
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


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of ``pairs`` (sorted by first item) increasing in the second."""
    tails: list[int] = []  # tails[k]: second item ending the best run of length k + 1
    tail_index: list[int] = []
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_index.append(index)
        else:
            tails[k] = j
            tail_index[k] = index
        previous[index] = tail_index[k - 1] if k else -1
    run: list[tuple[int, int]] = []
    index = tail_index[-1] if tail_index else -1
    while index != -1:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


def _matching_lines(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """Pairs (old index, new index) of lines kept by the edit, in order: a patience diff.

    Common leading and trailing lines match; in between, lines that occur exactly once
    on each side are the anchors (their longest order-preserving subset), and the gaps
    between anchors are treated the same way, with uniqueness counted inside the gap.
    Unlike a Myers diff over lines this is O(n log n), and it does not let a line that
    recurs everywhere (a blank line, "* * *") pair up paragraphs that do not belong
    together.  Whatever stays unmatched is left to the character diff.
    """
    matched: list[tuple[int, int]] = []
    ranges = [(0, len(old), 0, len(new))]
    while ranges:
        old_lo, old_hi, new_lo, new_hi = ranges.pop()
        while old_lo < old_hi and new_lo < new_hi and old[old_lo] == new[new_lo]:
            matched.append((old_lo, new_lo))
            old_lo += 1
            new_lo += 1
        while old_lo < old_hi and new_lo < new_hi and old[old_hi - 1] == new[new_hi - 1]:
            old_hi -= 1
            new_hi -= 1
            matched.append((old_hi, new_hi))
        if old_lo == old_hi or new_lo == new_hi:
            continue
        old_counts = Counter(old[old_lo:old_hi])
        new_counts = Counter(new[new_lo:new_hi])
        new_unique: dict[str, int] = {}
        for j in range(new_lo, new_hi):
            if new_counts[new[j]] == 1:
                new_unique[new[j]] = j
        pairs = [
            (i, new_unique[old[i]])
            for i in range(old_lo, old_hi)
            if old_counts[old[i]] == 1 and old[i] in new_unique
        ]
        previous_i, previous_j = old_lo, new_lo
        for i, j in _longest_increasing(pairs):
            matched.append((i, j))
            ranges.append((previous_i, i, previous_j, j))
            previous_i, previous_j = i + 1, j + 1
        if previous_i != old_lo:  # at least one anchor: the last gap is a new range
            ranges.append((previous_i, old_hi, previous_j, new_hi))
    matched.sort()
    return matched


def _diff(old_text: str, new_text: str, timeout: float) -> list[tuple[int, str]]:
    """Character diff of two texts, aligned paragraph by paragraph first.

    Lines (paragraphs) are aligned as units (``_matching_lines``); each run of replaced
    lines is then diffed character by character by diff-match-patch.  diff-match-patch's
    own line mode is a Myers diff over the lines, O(lines x edits) in pure Python, and its
    semantic cleanup merges every unchanged paragraph lying between two edited ones into
    one replacement: with edits spread over a book either runs into the timeout.  Every
    EQUAL run is text present on both sides, so the mapping stays exact.
    """
    dmp = diff_match_patch()
    dmp.Diff_Timeout = timeout
    deadline = time.time() + timeout if timeout > 0 else sys.float_info.max
    old_lines = old_text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    diffs: list[tuple[int, str]] = []

    def changed(old_lo: int, old_hi: int, new_lo: int, new_hi: int) -> None:
        deleted = "".join(old_lines[old_lo:old_hi])
        inserted = "".join(new_lines[new_lo:new_hi])
        if deleted and inserted:
            diffs.extend(dmp.diff_main(deleted, inserted, False, deadline))
        elif deleted:
            diffs.append((_DELETE, deleted))
        elif inserted:
            diffs.append((_INSERT, inserted))

    old_at = new_at = 0
    for i, j in _matching_lines(old_lines, new_lines):
        changed(old_at, i, new_at, j)
        diffs.append((_EQUAL, old_lines[i]))
        old_at, new_at = i + 1, j + 1
    changed(old_at, len(old_lines), new_at, len(new_lines))
    return diffs


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
        began = time.monotonic()
        diffs = _diff(old_text, new_text, timeout)
        # diff-match-patch does not say whether it gave up; running to the deadline is
        # the sign (a finished diff that took that long is rare and only costs a note).
        complete = timeout <= 0 or time.monotonic() - began < timeout
    diff_map = _DiffMap(diffs, len(old_text), len(new_text), complete=complete)
    return [_place(anchor, old_text, new_text, diff_map) for anchor in anchors]
