"""A long document's text as fixed-size chunks, and the chunks a window needs.

Reading ``text[start:end]`` from the database with SQL ``substr`` costs time in the
window's *position*, not its size: PostgreSQL (UTF-8) detoasts the value from its first
byte up to the window's end, SQLite walks the row's overflow pages from its start. A
document longer than ``CHUNK`` code points is therefore also stored as chunks of
``CHUNK`` code points (``models.DocumentTextChunk``, derived from the text, never
exported), and a window is read from the chunks that cover it (one to three for a
claim's or the reader's window).

Offsets are code points (``spans``): Python ``str`` indices, as SQL ``substr`` counts on
PostgreSQL and SQLite alike, so a non-BMP character is one position on both sides.

Pure standard-library Python: no Django, no ORM.
"""

from __future__ import annotations

from dataclasses import dataclass

# Code points per chunk. A document of at most this many has no chunks: its text is read
# whole, which costs no more than one chunk.
CHUNK = 16_384


def chunked(length: int) -> bool:
    """Whether a text of ``length`` code points is stored as chunks too."""
    return length > CHUNK


def split(text: str) -> list[str]:
    """``text`` in chunks of ``CHUNK`` code points, the last shorter (``[]`` for "")."""
    return [text[at : at + CHUNK] for at in range(0, len(text), CHUNK)]


@dataclass(frozen=True)
class Cover:
    """The chunks ``first..last`` (inclusive, by ``seq``) whose concatenation holds the
    window, which starts ``offset`` code points into chunk ``first``."""

    first: int
    last: int
    offset: int


def covering(start: int, end: int) -> Cover:
    """The chunks that cover the window ``[start, end)`` (code points, ``0 <= start``);
    an empty window (``end <= start``) is covered by ``start``'s chunk alone."""
    if start < 0:
        raise ValueError(f"A window starts at 0 or later, not {start}.")
    first, offset = divmod(start, CHUNK)
    last = (max(end, start + 1) - 1) // CHUNK
    return Cover(first=first, last=last, offset=offset)
