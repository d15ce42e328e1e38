"""Cleaning scraped plain text: CSS, ad scripts, feed footers, related-article headlines.

Pure Python (no Django): the importers (``services.importing``, the ``import_documents``
command, the API) call this first and hand the result to ``services.document_create``;
tests run without a database. Nothing here stores anything; the caller keeps the raw
text as provenance next to the cleaned text, so cleaning may be opinionated as long as
it reports every line it took away (``Cleaned.removed``).

The cleaner works on whole lines only. It never reflows, re-spaces or edits the inside
of a line it keeps, because fact-checkers quote documents verbatim and a claim's
``exact`` must match what the publisher wrote. The one exception is C0 control
characters (``drop_control_characters``): nobody can see or quote them, and NUL cannot
be stored at all. Cleaning works on the canonical form (``spans.canonicalize``) so that
removal line numbers and later span offsets agree. What counts as junk is recognised
line by line in ``annotations.core.junk``; this module decides what to take out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from annotations.core import spans
from annotations.core.junk import (
    CSS_STATEMENT_AT_RULE,
    FEED_FOOTER,
    SOURCE_MARKER,
    RemovalKind,
    css_run_end,
    is_blank,
    is_css_inner_line,
    is_script,
    mark_related_headlines,
)

__all__ = [
    "Cleaned",
    "Removal",
    "RemovalKind",
    "clean_text",
    "drop_control_characters",
    "is_blank",
    "storable_raw_text",
]


@dataclass(frozen=True)
class Removal:
    """A run of consecutive lines of one kind that the cleaner took out.

    ``text`` is the run exactly as it stands in the canonicalised raw text (control
    characters dropped, line endings ``\\n``, NFC), lines joined with ``\\n``; ``line``
    is the 1-based number of its first line.  Neither step adds or removes a line
    break, so the number is also right for the raw text as the user supplied it.
    """

    kind: RemovalKind
    text: str
    line: int


@dataclass(frozen=True)
class Cleaned:
    text: str
    title: str
    publisher: str
    removed: tuple[Removal, ...]


# --- canonical form -------------------------------------------------------------


# C0 control characters other than tab and the line breaks.  Those Python counts as
# whitespace (vertical tab, form feed, the information separators) separate words or
# pages, so they become a space; the rest (NUL, escape, backspace, ...) are dropped.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _control_replacement(match: re.Match[str]) -> str:
    return " " if match.group().isspace() else ""


def drop_control_characters(text: str) -> str:
    """``text`` without C0 control characters other than tab, ``\\n`` and ``\\r``.

    Vertical tab, form feed and U+001C..U+001F become a space, every other one (NUL
    first: PostgreSQL cannot store it) is dropped.  Line breaks are untouched, so line
    numbers stay those of ``text``.  For imported text only: a document's stored text
    is refused, not repaired, when it holds NUL (``services.document_create``).
    """
    if not _CONTROL_CHARACTERS.search(text):
        return text
    return _CONTROL_CHARACTERS.sub(_control_replacement, text)


def storable_raw_text(text: str) -> str:
    """``text`` as a database can keep it as provenance (``Document.raw_text``): NUL
    dropped and lone surrogates replaced by U+FFFD, nothing else changed
    (``spans.make_storable``)."""
    return spans.make_storable(text)


# --- cleaning ---------------------------------------------------------------------


def _group_removals(lines: list[str], kinds: list[RemovalKind | None]) -> tuple[Removal, ...]:
    # One Removal per run of same-kind lines keeps the report readable (an ad slot is
    # four @media lines, one entry) while its text still matches the raw text.
    removals: list[Removal] = []
    i = 0
    while i < len(lines):
        kind = kinds[i]
        if kind is None:
            i += 1
            continue
        j = i
        while j + 1 < len(lines) and kinds[j + 1] == kind:
            j += 1
        removals.append(Removal(kind=kind, text="\n".join(lines[i : j + 1]), line=i + 1))
        i = j + 1
    return tuple(removals)


def _blank_run_line(run: list[str]) -> str:
    # A single blank line is the author's paragraph break and stays as it is; longer runs
    # are mostly what removed junk left behind, so they become one empty line.
    return run[0] if len(run) == 1 else ""


def _kept_lines(
    lines: list[str], kinds: list[RemovalKind | None]
) -> tuple[list[str], list[list[int]]]:
    """The body as it is returned (kept lines, blank runs shrunk to one line, none at
    either end), each line with the indices in ``lines`` it stands for."""
    out: list[str] = []
    origins: list[list[int]] = []
    blank_run: list[int] = []
    for i, kind in enumerate(kinds):
        if kind is not None:
            continue
        if is_blank(lines[i]):
            blank_run.append(i)
            continue
        if blank_run and out:
            out.append(_blank_run_line([lines[b] for b in blank_run]))
            origins.append(blank_run)
        blank_run = []
        out.append(lines[i])
        origins.append([i])
    return out, origins


def _join_kept(lines: list[str], kinds: list[RemovalKind | None]) -> str:
    return "\n".join(_kept_lines(lines, kinds)[0])


def _compact(lines: list[str]) -> tuple[list[str], list[list[int]]]:
    """``lines`` with each run of blank lines as one line, and where each came from.

    The rules only ask whether a line is blank, never how many blank lines there are, so
    the first pass reads the text the way a second cleaning of its output would."""
    out: list[str] = []
    origins: list[list[int]] = []
    for i, line in enumerate(lines):
        if is_blank(line) and out and is_blank(out[-1]):
            origins[-1].append(i)
            out[-1] = ""
            continue
        out.append(line)
        origins.append([i])
    return out, origins


def _recleaning_view(
    lines: list[str], kinds: list[RemovalKind | None], title: str
) -> tuple[list[str], list[list[int]]]:
    """The lines of ``f"{title}\\n\\n{text}"`` (what ``clean_text`` returned so far, the
    title put back), each with the indices in ``lines`` it stands for: the title its own
    line, the blank line after it the blank lines between the title and the body."""
    body, body_origins = _kept_lines(lines, kinds)
    if not title:
        # No title, so no line left at all: nothing a pass could take.
        return [title, "", *(body or [""])], [[], [], *(body_origins or [[]])]
    title_index = kinds.index("title")
    first_body = body_origins[0][0] if body_origins else len(lines)
    gap = [i for i in range(title_index + 1, first_body) if kinds[i] is None]
    return (
        [title, "", *(body or [""])],
        [[title_index], gap, *(body_origins or [[]])],
    )


def _classify(lines: list[str]) -> tuple[list[RemovalKind | None], str]:
    """One pass of the rules over ``lines``: what each removed line is (None: kept), and
    the publisher a feed footer names ("" when none)."""
    kinds: list[RemovalKind | None] = [None] * len(lines)

    css_inner = [is_css_inner_line(line) for line in lines]
    i = 0
    while i < len(lines):
        next_start, end = css_run_end(lines, css_inner, i)
        if end is None and CSS_STATEMENT_AT_RULE.match(lines[i]):
            next_start = end = i + 1
        if end is not None:
            kinds[i:end] = ["css"] * (end - i)
        elif is_script(lines[i]):
            kinds[i] = "script"
        i = next_start

    # Feed furniture is only trusted at the very end: the same words mid-article
    # would be the author's text (say, a piece about syndication).  Every footer and
    # "Source" line of the trailing run goes, however many and in whatever order, so
    # that a second cleaning finds none left; the publisher is the last footer's.
    publisher = ""
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if kinds[i] is not None or is_blank(line):
            continue
        if SOURCE_MARKER.match(line):
            kinds[i] = "source-marker"
            continue
        footer = FEED_FOOTER.match(line)
        if footer:
            kinds[i] = "feed-footer"
            publisher = publisher or footer["publisher"].strip()
            continue
        break

    # The title is the first line that is left once the junk is out, so a page that
    # starts with a stylesheet still gets its headline as title, not "@media …".
    for i, line in enumerate(lines):
        if kinds[i] is None and not is_blank(line):
            kinds[i] = "title"
            break

    mark_related_headlines(lines, kinds)
    return kinds, publisher


# Cleaning repeats until a pass takes nothing more (see clean_text).  A crafted text
# can make every pass unlock one more removal (a teaser line that hides a stylesheet
# that hides a teaser ...), and every pass costs a walk over all the lines, so the
# passes after the first share a budget of lines walked: an article gets as many passes
# as it needs, a book-length text at least _MIN_REPASSES.  Cleaning stays linear.
_RECLEAN_BUDGET_LINES = 200_000
_MIN_REPASSES = 4


def clean_text(raw: str) -> Cleaned:
    """Clean scraped plain text into a document body plus title and publisher.

    Drops C0 control characters (``drop_control_characters``) and canonicalises the
    text (``\\n`` line endings, NFC), then removes whole lines: CSS rules and blocks,
    ad/tracking script remnants, the feed footers ("The post … appeared first on …",
    which supplies ``publisher``) and lone "Source" lines at the end, and related-article
    headlines recognised by shape.  The first remaining non-blank line becomes
    ``title`` and leaves the body.  Kept lines are otherwise unchanged byte for byte;
    runs of blank lines shrink to one and blank lines at either end go.  Never raises;
    text without any of this loses only its first line.

    Cleaning is a fixed point: ``clean_text(f"{title}\\n\\n{text}")`` of a result gives
    the same title and text back.  Taking junk out can reveal more (a stylesheet that
    an ad script interrupted, a "Source" line that a footer hid), so the rules run
    again over what is left until they take nothing more (within a budget of lines read
    that only crafted input exhausts, see ``_RECLEAN_BUDGET_LINES``).
    """
    text = spans.canonicalize(drop_control_characters(raw))
    lines = text.split("\n")
    kinds: list[RemovalKind | None] = [None] * len(lines)
    view, origins = _compact(lines)
    view_kinds, publisher = _classify(view)
    title = ""
    for line, kind, indices in zip(view, view_kinds, origins, strict=True):
        for i in indices:
            kinds[i] = kind
        if kind == "title":
            title = line.strip()

    # If the first pass took nothing but the title, a second one would find the same
    # lines in the same order and take nothing either.
    budget = max(_MIN_REPASSES * len(lines), _RECLEAN_BUDGET_LINES)
    again = any(kind not in (None, "title") for kind in view_kinds)
    while again and budget > 0:
        view, origins = _recleaning_view(lines, kinds, title)
        budget -= len(lines)
        view_kinds, view_publisher = _classify(view)
        unchanged = [("title" if title else None), *([None] * (len(view) - 1))]
        if view_kinds == unchanged:
            break
        # Something more went; when it is the title line, the next line left is the title.
        title = ""
        for line, kind, indices in zip(view, view_kinds, origins, strict=True):
            for i in indices:
                kinds[i] = kind
            if kind == "title":
                title = line.strip()
        publisher = publisher or view_publisher

    return Cleaned(
        text=_join_kept(lines, kinds),
        title=title,
        publisher=publisher,
        removed=_group_removals(lines, kinds),
    )
