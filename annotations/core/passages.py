"""Find a quote in a text for re-anchoring a claim by hand: exact occurrences, else the
nearest passages.

Pure Python (no Django), like ``spans`` and ``reanchor``. Offsets are code points,
half-open ``[start, end)``, the same convention as ``annotations.core.spans``: a passage's
``start``/``end`` can be posted as they are to ``services.claim_reanchor``.

The fuzzy fallback never moves anything: it only lists candidates for a person to choose
from. It works in two steps so that it stays fast on book-length texts: windows of the
quote's word count are ranked by how many of the quote's words they contain (one linear
pass), then only the best few are compared character by character (``difflib``).
"""

from __future__ import annotations

import difflib
import heapq
import re
from dataclasses import dataclass

__all__ = ["Passage", "find_passages", "locate_quote", "loose_form"]

_WORD = re.compile(r"\w+")
# How much text to show either side of a passage.
CONTEXT_CHARS = 60
# Candidates compared character by character in the fuzzy step; the rest are ranked out
# by word overlap alone.
_FUZZY_CANDIDATES = 40
# A fuzzy passage must be at least this similar to the quote (difflib ratio, 0..1).
MIN_SIMILARITY = 0.5
# difflib is quadratic in the worst case; longer quotes are compared by their start.
_MAX_COMPARE_CHARS = 2_000


@dataclass(frozen=True)
class Passage:
    start: int
    end: int
    exact: str
    before: str  # up to CONTEXT_CHARS code points of text before ``start``
    after: str  # up to CONTEXT_CHARS code points after ``end``
    similarity: float  # 1.0 for an exact occurrence

    @property
    def is_exact(self) -> bool:
        return self.similarity == 1.0


def _passage(text: str, start: int, end: int, similarity: float, context: int) -> Passage:
    return Passage(
        start=start,
        end=end,
        exact=text[start:end],
        before=text[max(0, start - context) : start],
        after=text[end : end + context],
        similarity=similarity,
    )


def _exact(text: str, query: str, limit: int, context: int) -> list[Passage]:
    found: list[Passage] = []
    hit = text.find(query)
    while hit != -1 and len(found) < limit:
        found.append(_passage(text, hit, hit + len(query), 1.0, context))
        hit = text.find(query, hit + 1)
    return found


def _similarity(query: str, candidate: str) -> float:
    a, b = query.casefold()[:_MAX_COMPARE_CHARS], candidate.casefold()[:_MAX_COMPARE_CHARS]
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _fuzzy(text: str, query: str, limit: int, context: int, min_similarity: float) -> list[Passage]:
    words = [(m.start(), m.end(), m.group().casefold()) for m in _WORD.finditer(text)]
    wanted = {word.casefold() for word in _WORD.findall(query)}
    size = len(_WORD.findall(query))
    if not wanted or not words:
        return []
    size = min(size, len(words))
    hits = [1 if word in wanted else 0 for _, _, word in words]
    # Sliding count of the quote's words in each window of ``size`` words.
    window = sum(hits[:size])
    scores = [window]
    for i in range(1, len(words) - size + 1):
        window += hits[i + size - 1] - hits[i - 1]
        scores.append(window)
    ranked = heapq.nlargest(
        _FUZZY_CANDIDATES * 4, range(len(scores)), key=lambda i: (scores[i], -i)
    )
    # Keep the best window of each neighbourhood: overlapping windows are one passage.
    chosen: list[int] = []
    for i in ranked:
        if scores[i] == 0 or len(chosen) >= _FUZZY_CANDIDATES:
            break
        if all(abs(i - j) >= size for j in chosen):
            chosen.append(i)
    # Quotes rarely keep their exact word count through an edit: try a little shorter/longer.
    slack = max(1, size // 5)
    best: list[Passage] = []
    for i in chosen:
        top: tuple[float, int, int] | None = None
        for length in range(max(1, size - slack), size + slack + 1):
            last = i + length - 1
            if last >= len(words):
                break
            start, end = words[i][0], words[last][1]
            score = _similarity(query, text[start:end])
            if top is None or score > top[0]:
                top = (score, start, end)
        if top is not None and top[0] >= min_similarity:
            best.append(_passage(text, top[1], top[2], round(top[0], 3), context))
    best.sort(key=lambda p: (-p.similarity, p.start))
    return best[:limit]


def find_passages(
    text: str,
    query: str,
    *,
    limit: int = 20,
    fuzzy_limit: int = 5,
    context: int = CONTEXT_CHARS,
    min_similarity: float = MIN_SIMILARITY,
) -> list[Passage]:
    """Where ``query`` occurs in ``text``: every exact occurrence (case and spacing as
    typed, at most ``limit``, in text order); if there is none, up to ``fuzzy_limit`` of the
    most similar passages (best first, similarity below 1.0). An empty query finds nothing."""
    if not query.strip() or not text:
        return []
    exact = _exact(text, query, limit, context)
    if exact:
        return exact
    return _fuzzy(text, query, min(fuzzy_limit, limit), context, min_similarity)


# --- verifying a cited quote ----------------------------------------------------------------

# Typographic variants read as their plain form when a quote is checked against a page:
# quotation marks and apostrophes, dashes and minus signs.
_LOOSE = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    }
)


def loose_form(text: str) -> tuple[str, list[int]]:
    """``text`` with quotation marks, apostrophes and dashes in their plain ASCII form and
    every run of whitespace as one space, and for each of its characters the index of the
    character of ``text`` it comes from."""
    chars: list[str] = []
    origin: list[int] = []
    in_space = False
    for index, char in enumerate(text):
        if char.isspace():
            if not in_space:
                chars.append(" ")
                origin.append(index)
            in_space = True
            continue
        in_space = False
        chars.append(char.translate(_LOOSE))
        origin.append(index)
    return "".join(chars), origin


def locate_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text`` (its first occurrence), as code-point offsets
    ``[start, end)`` of ``text``, reading spacing (any run of whitespace, line breaks
    included, as one space; the quote's own leading and trailing whitespace ignored),
    quotation marks and dashes loosely (curly or straight, en or em dash or hyphen).
    Case and every other character must match. None if it is not there, or the quote is
    blank."""
    wanted, _ = loose_form(quote.strip())
    if not wanted:
        return None
    loose, origin = loose_form(text)
    hit = loose.find(wanted)
    if hit == -1:
        return None
    return origin[hit], origin[hit + len(wanted) - 1] + 1
