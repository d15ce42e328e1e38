"""Span addressing: offsets, selectors and segmentation over a document's text.

Offset convention (the one rule everything else relies on):

* A span is the half-open interval ``[start, end)`` over Python ``str`` indices, i.e.
  Unicode **code points**, so ``text[start:end]`` is the quoted text. This is the W3C
  TextPositionSelector convention. Offsets are never UTF-8 bytes and never UTF-16 code
  units; the browser's UTF-16 indices are converted at the edge
  (``utf16_to_codepoint`` / ``codepoint_to_utf16``).
* Offsets refer to the canonical text (``canonicalize``): NFC, ``\\n`` line endings.
  Re-normalising after spans exist would shift them, hence canonicalise once, on import.

Pure standard-library Python: no Django, no ORM, no settings, so it is testable without a
database and reusable by services, the API, the UI and the export alike.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

# W3C TextQuoteSelector context: enough to re-anchor a quote after a revision, small
# enough to store on every claim.
CONTEXT_LENGTH = 32


# The largest offset whose context window a database's (32-bit) integer still holds.
MAX_WINDOW_OFFSET = 2**31 - 1 - CONTEXT_LENGTH


def context_window(start: int, end: int) -> tuple[int, int]:
    """The stretch of text ``make_selector`` needs for the span ``[start, end)``: the span
    and up to ``CONTEXT_LENGTH`` code points each side (the end may pass the text's end;
    a substring stops there)."""
    return max(0, start - CONTEXT_LENGTH), end + CONTEXT_LENGTH


# The actual text is echoed back in error messages; a whole paragraph would drown the
# message, so it is cut here.
_QUOTE_LIMIT = 200

_FIELDS = frozenset({"start", "end", "exact"})

# Code points outside the BMP take two UTF-16 code units (a surrogate pair) in JS strings.
# Lone surrogates, if any, are BMP code points and count as one unit, as in JS.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class SpanError(ValueError):
    """Bad span; .field is 'start', 'end' or 'exact'; .message is a precise human message."""

    def __init__(self, field: str, message: str) -> None:
        if field not in _FIELDS:
            raise ValueError(f"unknown span field {field!r}")
        super().__init__(message)
        self.field = field
        self.message = message


def canonicalize(text: str) -> str:
    """Return the canonical form offsets are counted in: CRLF and lone CR -> "\\n", then NFC.

    Idempotent. Clients and files disagree on line endings and normal form; counting code
    points only makes sense once everybody counts over the same string.
    """
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", unified)


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 bytes; stored and exported so consumers can verify offsets."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# What a Python ``str`` can hold and a text column cannot (``storage_problems``).
_NUL = "\x00"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _first_lone_surrogate(text: str) -> int:
    # A str has no surrogate pairs (the two halves of one stay two code points), so every
    # U+D800..U+DFFF in it is lone: exactly what the strict UTF-8 encoder refuses, and it
    # finds the first at C speed.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return -1


def storage_problems(text: str) -> list[str]:
    """Why no database text column can hold ``text``, as short reasons; [] when one can.

    Two things can be in a Python ``str`` (a JSON escape spells either) and not in a
    column: a lone surrogate (U+D800..U+DFFF alone) is not Unicode text, UTF-8 cannot
    encode it, so neither SQLite nor PostgreSQL takes it; NUL (U+0000) is Unicode, but
    PostgreSQL text columns refuse it. The first of each is named with its position
    (code points): "contains a NUL character (U+0000) at position 3". Both scans run at C
    speed, so this is cheap on book-length text.
    """
    problems = []
    surrogate = _first_lone_surrogate(text)
    if surrogate != -1:
        problems.append(
            f"is not valid Unicode text: lone surrogate U+{ord(text[surrogate]):04X} "
            f"at position {surrogate}"
        )
    nul = text.find(_NUL)
    if nul != -1:
        problems.append(f"contains a NUL character (U+0000) at position {nul}")
    return problems


def undecodable_problem(exc: UnicodeDecodeError) -> str:
    """Why bytes are not UTF-8 text, naming the first byte that is not and its position
    (counting bytes): "byte 0xFF at position 4 is not UTF-8". The one wording for every
    reader of bytes (a form body's field, a JSON body, an import's line): the sender sent
    that byte, not the lone surrogate U+DCFF that an escaping decode would make of it."""
    return f"byte 0x{exc.object[exc.start]:02X} at position {exc.start} is not UTF-8"


def byte_storage_problems(raw: bytes) -> list[str]:
    """``storage_problems`` for ``raw`` read as UTF-8 text: the first byte that is not
    UTF-8 (``undecodable_problem``), a lone surrogate or NUL as in text. The bytes of a
    lone surrogate in UTF-8's form (ED A0 80) are read as that surrogate, named as a JSON
    ``"\\ud800"`` would be."""
    try:
        return storage_problems(raw.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError as exc:
        return [undecodable_problem(exc), *storage_problems(raw.decode("utf-8", "replace"))]


def make_storable(text: str) -> str:
    """``text`` repaired where ``storage_problems`` finds fault: NUL dropped, each lone
    surrogate replaced by U+FFFD (the replacement character), nothing else changed.

    For text kept only as a record (an import's raw input), never for text that offsets
    count over: dropping NUL shifts every later position.
    """
    if _first_lone_surrogate(text) != -1:
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text.replace(_NUL, "")


def _check_int(field: str, value: object) -> int:
    # bool is an int subclass, but True as an offset is always a client bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpanError(field, f"{field} must be an integer, got {type(value).__name__}")
    return value


def validate_span(length: int, start: int, end: int) -> None:
    """Raise SpanError unless ``0 <= start < end <= length``; empty spans are not claims."""
    start = _check_int("start", start)
    end = _check_int("end", end)
    if start < 0:
        raise SpanError("start", f"start ({start}) must not be negative")
    if end > length:
        raise SpanError("end", f"end ({end}) is past the end of the text (length {length})")
    if start >= end:
        raise SpanError("end", f"end ({end}) must be greater than start ({start})")


@dataclass(frozen=True, slots=True)
class Selector:
    """W3C TextPositionSelector (start, end) plus TextQuoteSelector (exact, prefix, suffix)."""

    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


def _quote(text: str) -> str:
    shown = text if len(text) <= _QUOTE_LIMIT else text[:_QUOTE_LIMIT] + "…"
    return f'"{shown}"'


def make_selector(text: str, start: int, end: int, exact: str | None = None) -> Selector:
    """Build the selector the server stores; ``exact``, if sent, must match the text.

    The server computes the quote and context itself; a client-sent ``exact`` is only a
    check that client and server agree on the offsets (a UTF-16 slip shows up here).
    Raises SpanError for a bad span or a mismatching ``exact``.
    """
    validate_span(len(text), start, end)
    actual = text[start:end]
    if exact is not None:
        if not isinstance(exact, str):
            raise SpanError("exact", f"exact must be a string, got {type(exact).__name__}")
        # Browsers and clipboards may hand us NFD; the stored text is NFC. Normalising
        # both sides also keeps a non-canonical text from rejecting its own substring.
        if exact != actual and unicodedata.normalize("NFC", exact) != unicodedata.normalize(
            "NFC", actual
        ):
            raise SpanError(
                "exact",
                # No offsets here: callers may pass a window of the document, so
                # window-relative numbers would mislead; the client knows what it sent.
                f"exact does not match the text at this span: "
                f"the text there is {_quote(actual)}, got {_quote(exact)}",
            )
    return Selector(
        start=start,
        end=end,
        exact=actual,
        prefix=text[max(0, start - CONTEXT_LENGTH) : start],
        suffix=text[end : end + CONTEXT_LENGTH],
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """A maximal run of one paragraph covered by one set of spans."""

    start: int
    end: int
    text: str
    span_keys: tuple[Hashable, ...]  # keys of the spans covering it, in the order given


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A line of the text (between "\\n"s); its segments tile ``[start, end)`` in order."""

    start: int
    end: int
    segments: tuple[Segment, ...]


def _line_ends(text: str) -> list[int]:
    ends: list[int] = []
    pos = text.find("\n")
    while pos != -1:
        ends.append(pos)
        pos = text.find("\n", pos + 1)
    ends.append(len(text))
    return ends


def segment(text: str, spans: Iterable[tuple[Hashable, int, int]]) -> list[Paragraph]:
    """Split ``text`` into paragraphs and non-overlapping segments for rendering.

    Segments never cross a "\\n" so each paragraph renders as well-formed HTML, and the
    newline characters themselves belong to no segment. Spans may overlap, nest, coincide
    and cross newlines. One sort of the 2m boundary events, then a single sweep:
    O(n + m log m + output). Raises SpanError (message names the span key) for a bad span.
    """
    length = len(text)
    keys: list[Hashable] = []
    # (position, kind, span index); kind 0 = end sorts before 1 = start, though all events
    # at one position are applied together anyway. Keys stay out: they need not be orderable.
    events: list[tuple[int, int, int]] = []
    for index, (key, start, end) in enumerate(spans):
        try:
            validate_span(length, start, end)
        except SpanError as err:
            raise SpanError(err.field, f"span {key!r}: {err.message}") from None
        keys.append(key)
        events.append((start, 1, index))
        events.append((end, 0, index))
    events.sort()

    active: list[int] = []  # indices of covering spans, sorted = the order they were given
    next_event = 0

    def advance_to(position: int) -> None:
        # Coverage at position p is every span with start <= p < end, i.e. every event at
        # or before p applied. Each event is applied exactly once over the whole sweep.
        nonlocal next_event
        while next_event < len(events) and events[next_event][0] <= position:
            _, kind, index = events[next_event]
            if kind:
                bisect.insort(active, index)
            else:
                del active[bisect.bisect_left(active, index)]
            next_event += 1

    paragraphs: list[Paragraph] = []
    para_start = 0
    for para_end in _line_ends(text):
        runs: list[tuple[int, int, tuple[Hashable, ...]]] = []
        position = para_start
        advance_to(position)
        while position < para_end:
            stop = para_end
            if next_event < len(events):
                stop = min(stop, events[next_event][0])
            covering = tuple(keys[i] for i in active)
            # Only spans repeating a key can leave the visible key set unchanged across a
            # boundary; merge then, so segments are maximal as the renderer sees them.
            if runs and runs[-1][2] == covering:
                runs[-1] = (runs[-1][0], stop, covering)
            else:
                runs.append((position, stop, covering))
            position = stop
            advance_to(position)
        segments = tuple(Segment(s, e, text[s:e], covering) for s, e, covering in runs)
        paragraphs.append(Paragraph(para_start, para_end, segments))
        para_start = para_end + 1  # skip the "\n" itself
    return paragraphs


# A sentence runs from a non-space character to a terminator (with any closing quotes or
# brackets) followed by a space or the line's end, or to the line's end. Full-width CJK
# terminators need no space after them.
_SENTENCE = re.compile(
    r"\S.*?(?:[.!?\u2026\u061f]+[\"'\u201d\u2019\u00bb)\]]*(?=\s|$)"
    r"|[\u3002\uff01\uff1f]+[\u300d\u300f\uff09]*|$)",
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as ``[start, end)`` spans in text order: each within one
    line, without surrounding whitespace, disjoint; every non-space character lies in one.

    A plain heuristic (terminal punctuation, then a space or the line's end), good enough
    to offer each sentence as a claim without JavaScript; abbreviations such as "Dr." cut
    a sentence short, and the checker can always select text instead.
    """
    found: list[tuple[int, int]] = []
    line_start = 0
    for line_end in _line_ends(text):
        for match in _SENTENCE.finditer(text, line_start, line_end):
            start, end = match.span()
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                found.append((start, end))
        line_start = line_end + 1
    return found


def utf16_to_codepoint(text: str, offset16: int) -> int:
    """Convert a JS string index (UTF-16 code units) to a Python index (code points).

    Raises SpanError (field "start"; callers converting an end re-raise with "end") if
    the offset is out of range or falls between the two halves of a surrogate pair.
    """
    offset16 = _check_int("start", offset16)
    if offset16 < 0:
        raise SpanError("start", f"UTF-16 offset ({offset16}) must not be negative")
    # Walk only the astral characters (C-speed regex scan), not every code point.
    pairs_before = 0
    for match in _ASTRAL.finditer(text):
        unit = match.start() + pairs_before  # UTF-16 index of this pair's high surrogate
        if offset16 <= unit:
            break
        if offset16 == unit + 1:
            raise SpanError(
                "start",
                f"UTF-16 offset ({offset16}) falls inside the surrogate pair of "
                f"{match.group()!r} at code point {match.start()}",
            )
        pairs_before += 1
    else:
        total16 = len(text) + pairs_before
        if offset16 > total16:
            raise SpanError(
                "start",
                f"UTF-16 offset ({offset16}) is past the end of the text "
                f"(length {total16} UTF-16 code units)",
            )
    return offset16 - pairs_before


def codepoint_to_utf16(text: str, offset: int) -> int:
    """Convert a Python index (code points) to a JS string index (UTF-16 code units)."""
    offset = _check_int("start", offset)
    if offset < 0 or offset > len(text):
        raise SpanError(
            "start", f"offset ({offset}) is outside the text (length {len(text)} code points)"
        )
    return offset + len(_ASTRAL.findall(text, 0, offset))
