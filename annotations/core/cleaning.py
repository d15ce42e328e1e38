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
removal line numbers and later span offsets agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from annotations.core import spans

__all__ = [
    "Cleaned",
    "Removal",
    "RemovalKind",
    "clean_text",
    "drop_control_characters",
    "is_blank",
    "storable_raw_text",
]

RemovalKind = Literal["css", "script", "related-headline", "feed-footer", "source-marker", "title"]


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


def is_blank(line: str) -> bool:
    return not line.strip()


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


# --- CSS -------------------------------------------------------------------------

# Block at-rules that scrapers leave behind when a page's <style> element is
# flattened to text, e.g. "@media(max-width: 600px) {.adace_ad_x {display:block}}".
_CSS_BLOCK_AT_RULE = re.compile(
    r"^\s*@(?:media|supports|font-face|-?\w*-?keyframes|page|layer|container|document)\b[^{}]*\{"
)
# Statement at-rules end with ";" and carry no block.
_CSS_STATEMENT_AT_RULE = re.compile(r"^\s*@(?:import|charset|namespace)\b[^;{}]*;\s*$")
# A selector as it appears in stylesheet text.  Starting with a selector character
# and refusing a space before a capitalised word keeps ordinary prose out.  The
# possessive "*+" never gives characters back: selectors cannot contain "{", so
# backtracking could not help, and without it matching stays linear on long lines.
_CSS_SELECTOR = r"[.#*\[:a-zA-Z](?:[-\w.#*:>+~,\[\]=\"'()]|\s(?![A-Z][a-z]))*+"
# "prop: value"; values may hold ":" (urls) but never braces or ";", and
# declarations are separated by ";", which also keeps matching linear.
_CSS_DECLARATION = r"-{0,2}[a-z][-a-z0-9]*\s*:[^{};]+"
_CSS_DECLARATIONS = rf"(?:{_CSS_DECLARATION};\s*)*{_CSS_DECLARATION};?"
# One-line rule "selector {prop: value; …}"; at least one declaration so that
# "something {}" in prose or code samples does not count.
_CSS_RULE_LINE = re.compile(rf"^\s*{_CSS_SELECTOR}\{{\s*{_CSS_DECLARATIONS}\s*\}}\s*$")
# Start of a rule whose body continues on the next lines: "selector {" plus maybe
# the first declarations.
_CSS_RULE_OPEN = re.compile(rf"^\s*{_CSS_SELECTOR}\{{\s*(?:{_CSS_DECLARATIONS}\s*)?$")
_CSS_DECLARATION_LINE = re.compile(rf"^\s*{_CSS_DECLARATIONS}\s*$")
_CSS_CLOSE_LINE = re.compile(r"^\s*\}[\s}]*$")
# One line of a selector list broken over lines (".ad-slot,\n#top {"); it must end
# in "," (checked separately, the selector pattern itself swallows commas).
_CSS_SELECTOR_ONLY = re.compile(rf"^\s*{_CSS_SELECTOR}$")
# A runaway "block" is prose with a stray brace, not a stylesheet; give up and keep it.
_CSS_MAX_BLOCK_LINES = 200


def _brace_balance(line: str) -> int:
    return line.count("{") - line.count("}")


def _is_css_inner_line(line: str) -> bool:
    return bool(
        is_blank(line)
        or _CSS_DECLARATION_LINE.match(line)
        or _CSS_CLOSE_LINE.match(line)
        or _CSS_RULE_LINE.match(line)
        or _CSS_RULE_OPEN.match(line)
        or _CSS_BLOCK_AT_RULE.match(line)
    )


def _is_css_selector_list_line(line: str) -> bool:
    return line.rstrip().endswith(",") and bool(_CSS_SELECTOR_ONLY.match(line))


def _css_block_end(lines: list[str], inner: list[bool], start: int) -> int | None:
    """Index one past the CSS block starting at ``lines[start]``, or None.

    None means "not CSS after all": the braces never balance, or a line inside the
    block does not look like stylesheet text.  Refusing is the conservative choice:
    a paragraph wrongly kept is visible to the checker, one wrongly dropped is not.
    ``inner[i]`` says whether ``lines[i]`` may stand inside a block; it is computed
    once per document because a failed attempt is retried from the following lines.
    """
    first = lines[start]
    if "{" not in first:
        # Every block and rule opens a brace; most lines leave here, cheaply.
        return None
    is_at_rule = bool(_CSS_BLOCK_AT_RULE.match(first))
    if not is_at_rule and not (_CSS_RULE_LINE.match(first) or _CSS_RULE_OPEN.match(first)):
        return None
    depth = _brace_balance(first)
    if depth == 0:
        # A one-line at-rule must still end like a stylesheet, not like a sentence.
        return start + 1 if first.rstrip().endswith("}") else None
    if depth < 0:
        return None
    end = start + 1
    while end < len(lines) and end - start <= _CSS_MAX_BLOCK_LINES:
        if not inner[end]:
            return None
        depth += _brace_balance(lines[end])
        end += 1
        if depth == 0:
            return end
        if depth < 0:
            return None
    return None


def _css_run_end(lines: list[str], inner: list[bool], start: int) -> tuple[int, int | None]:
    """Return ``(next_start, end)`` for a CSS block at ``start``, selector list included.

    ``end`` is one past the block, or None when there is none; ``next_start`` is where
    the caller should look next.  Skipping a whole selector-list run at once (no block
    can start inside it) keeps a long run of comma-ended lines, a poem say, linear.
    """
    head = start
    while head < len(lines) and _is_css_selector_list_line(lines[head]):
        head += 1
    if head == len(lines):
        return head, None
    end = _css_block_end(lines, inner, head)
    if end is None:
        # The list lines are not CSS and not script (those never end in ","): skip them.
        return max(head, start + 1), None
    return end, end


# --- script remnants ----------------------------------------------------------------

# Identifiers of ad and tracking snippets that survive HTML-to-text conversion.
_AD_SCRIPT_MARKERS = (
    "adsbygoogle",
    "googletag",
    "dataLayer",
    "gtag(",
    "fbq(",
    "_gaq",
    "__tcfapi",
    "twttr.",
    "instgrm.",
)
# A marker alone is not enough (an article may be *about* googletag); the line must
# also contain code: a call with no space before "(", or an assignment.
_JS_CODE = re.compile(r"[\w)\]]\(|[^=!<>]=[^=]")
# Generic JavaScript one-liners.  Prose sentences start with a capital letter and end
# with sentence punctuation, so lower-case JS openers ending in ";" or "}" are safe.
_JS_OPENER = re.compile(
    r"^(?:\(\s*function\b|!function\b|function\s*\w*\s*\(|var\s|let\s|const\s"
    r"|window\.|document\.|jQuery\s*\(|\$\s*\()"
)
_SCRIPT_TAG = re.compile(r"^</?script\b[^>]*>", re.IGNORECASE)


def _is_script(line: str) -> bool:
    stripped = line.strip()
    if not stripped.endswith((";", ")", "}", ">")):
        return False
    if _SCRIPT_TAG.match(stripped):
        return True
    if _JS_OPENER.match(stripped) and stripped.endswith((";", "}")) and _JS_CODE.search(stripped):
        return True
    return any(marker in stripped for marker in _AD_SCRIPT_MARKERS) and bool(
        _JS_CODE.search(stripped)
    )


# --- feed furniture -------------------------------------------------------------

# WordPress appends this to every RSS item; it names the publisher, so it doubles as
# the publisher source.  The publisher's final period is the sentence's, not the name's.
_FEED_FOOTER = re.compile(r"^\s*The post .+? appeared first on (?P<publisher>.+?)\.?\s*$")
# Aggregators end an item with a bare "Source" (the link text of the original URL).
_SOURCE_MARKER = re.compile(r"^\s*Sources?\s*:?\s*$")


# --- related-article headlines ----------------------------------------------------

# Lines that end like a sentence, a quotation or a clause are text, not headlines.
# (\u201d and \u2019 are the closing curly quotes.)
_FINAL_PUNCTUATION = (
    ".",
    "!",
    "?",
    "…",
    ":",
    ";",
    ",",
    '"',
    "\u201d",
    "\u2019",
    "'",
    ")",
    "]",
    "»",
)
# A sentence break inside the line ("…done. Then…") means it is prose.
_SENTENCE_BREAK = re.compile(r"[.!?…]\s+\S")
# "Topic: angle" and "Topic | angle" (or a spaced en/em dash) are how embedded teasers are
# titled; a plain section heading ("What the deal means for Seoul") usually is not.
_HEADLINE_SEPARATOR = re.compile(r"\S: \S| [\u2013\u2014|] ")
_HEADLINE_MIN_WORDS = 4
_HEADLINE_MAX_WORDS = 30
_HEADLINE_MAX_CHARS = 200


def _looks_like_headline(line: str) -> bool:
    stripped = line.strip()
    words = stripped.split()
    return (
        _HEADLINE_MIN_WORDS <= len(words) <= _HEADLINE_MAX_WORDS
        and len(stripped) <= _HEADLINE_MAX_CHARS
        # Upper-case letter first: rules out list items ("1. …"), bullets, and quoted
        # speech, which opens with a quotation mark or an ellipsis.
        and stripped[0].isalpha()
        and stripped[0].isupper()
        and not stripped.endswith(_FINAL_PUNCTUATION)
        and not _SENTENCE_BREAK.search(stripped)
    )


def _mark_related_headlines(lines: list[str], kinds: list[RemovalKind | None]) -> None:
    """Mark inline "related article" teasers in place.

    A teaser is a short, unpunctuated, headline-shaped line that stands alone (blank
    or removed lines on both sides) in the middle of the body, and that either is
    titled "Topic: angle" or sits right next to ad CSS/script.  All of these must
    hold: an ordinary paragraph, list item or quotation fails at least one, and when
    in doubt the line stays.
    """
    body = [i for i, kind in enumerate(kinds) if kind is None and not is_blank(lines[i])]
    if len(body) < 3:
        return
    first_body, last_body = body[0], body[-1]

    def separated(i: int) -> bool:
        return not (0 <= i < len(lines)) or kinds[i] is not None or is_blank(lines[i])

    def nearest_content(i: int, step: int) -> int | None:
        i += step
        while 0 <= i < len(lines):
            if not is_blank(lines[i]):
                return i
            i += step
        return None

    def next_to_ad_junk(i: int) -> bool:
        for step in (-1, 1):
            j = nearest_content(i, step)
            if j is not None and kinds[j] in ("css", "script"):
                return True
        return False

    candidates = [
        i
        for i in body
        if first_body < i < last_body
        and separated(i - 1)
        and separated(i + 1)
        and _looks_like_headline(lines[i])
        and (_HEADLINE_SEPARATOR.search(lines[i]) or next_to_ad_junk(i))
    ]
    for i in candidates:
        kinds[i] = "related-headline"


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

    css_inner = [_is_css_inner_line(line) for line in lines]
    i = 0
    while i < len(lines):
        next_start, end = _css_run_end(lines, css_inner, i)
        if end is None and _CSS_STATEMENT_AT_RULE.match(lines[i]):
            next_start = end = i + 1
        if end is not None:
            kinds[i:end] = ["css"] * (end - i)
        elif _is_script(lines[i]):
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
        if _SOURCE_MARKER.match(line):
            kinds[i] = "source-marker"
            continue
        footer = _FEED_FOOTER.match(line)
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

    _mark_related_headlines(lines, kinds)
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
