"""Import helpers: clean scraped plain text, parse JSONL document batches.

Pure Python on purpose (no Django import): the ``import_documents`` command and the
API call these first and hand the results to ``services.document_create``, and the
tests run without a database.  Nothing here stores anything; the caller keeps the
raw text as provenance next to the cleaned text, so cleaning may be opinionated as
long as it reports every line it took away (``Cleaned.removed``).

The cleaner works on whole lines only.  It never reflows, re-spaces or edits the
inside of a line it keeps, because fact-checkers quote documents verbatim and a
claim's ``exact`` must match what the publisher wrote.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "Cleaned",
    "Record",
    "RecordError",
    "Removal",
    "RemovalKind",
    "clean_text",
    "parse_jsonl",
]

RemovalKind = Literal["css", "script", "related-headline", "feed-footer", "source-marker", "title"]


@dataclass(frozen=True)
class Removal:
    """A run of consecutive lines of one kind that the cleaner took out.

    ``text`` is the run exactly as it stands in the canonicalised raw text (line
    endings ``\\n``, NFC), lines joined with ``\\n``; ``line`` is the 1-based number
    of its first line.  Canonicalising never adds or removes a line break, so the
    number is also right for the raw text as the user supplied it.
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

_LINE_BREAK = re.compile(r"\r\n?")


def _canonicalize(text: str) -> str:
    # Must stay identical to annotations.spans.canonicalize: a document's stored text
    # is canonical, and cleaning has to happen on that form so removal line numbers
    # and later span offsets agree.  Line endings first, then NFC, in that order,
    # because "\r\n" and "\r" are not touched by normalisation.
    return unicodedata.normalize("NFC", _LINE_BREAK.sub("\n", text))


def _is_blank(line: str) -> bool:
    return not line.strip()


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
        _is_blank(line)
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
    body = [i for i, kind in enumerate(kinds) if kind is None and not _is_blank(lines[i])]
    if len(body) < 3:
        return
    first_body, last_body = body[0], body[-1]

    def separated(i: int) -> bool:
        return not (0 <= i < len(lines)) or kinds[i] is not None or _is_blank(lines[i])

    def nearest_content(i: int, step: int) -> int | None:
        i += step
        while 0 <= i < len(lines):
            if not _is_blank(lines[i]):
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


def _join_kept(lines: list[str], kinds: list[RemovalKind | None]) -> str:
    kept = [line for line, kind in zip(lines, kinds, strict=True) if kind is None]
    out: list[str] = []
    blank_run: list[str] = []
    for line in kept:
        if _is_blank(line):
            blank_run.append(line)
            continue
        if blank_run and out:
            # A single blank line is the author's paragraph break and stays as it is;
            # longer runs are mostly what removed junk left behind, so they become one.
            out.append(blank_run[0] if len(blank_run) == 1 else "")
        blank_run = []
        out.append(line)
    # Leading and trailing blank runs are dropped by construction.
    return "\n".join(out)


def clean_text(raw: str) -> Cleaned:
    """Clean scraped plain text into a document body plus title and publisher.

    Canonicalises the text first (``\\n`` line endings, NFC), then removes whole
    lines: CSS rules and blocks, ad/tracking script remnants, the feed footer
    ("The post … appeared first on …", which supplies ``publisher``), a trailing lone
    "Source", and related-article headlines recognised by shape.  The first remaining
    non-blank line becomes ``title`` and leaves the body.  Kept lines are unchanged
    byte for byte; runs of blank lines shrink to one and blank lines at either end
    go.  Never raises; text without any of this loses only its first line.
    """
    text = _canonicalize(raw)
    lines = text.split("\n")
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
    # would be the author's text (say, a piece about syndication).
    publisher = ""
    seen_footer = seen_marker = False
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if kinds[i] is not None or _is_blank(line):
            continue
        if not seen_footer and not seen_marker and _SOURCE_MARKER.match(line):
            kinds[i] = "source-marker"
            seen_marker = True
            continue
        footer = _FEED_FOOTER.match(line)
        if not seen_footer and footer:
            kinds[i] = "feed-footer"
            publisher = footer["publisher"].strip()
            seen_footer = True
            continue
        break

    # The title is the first line that is left once the junk is out, so a page that
    # starts with a stylesheet still gets its headline as title, not "@media …".
    title = ""
    for i, line in enumerate(lines):
        if kinds[i] is None and not _is_blank(line):
            kinds[i] = "title"
            title = line.strip()
            break

    _mark_related_headlines(lines, kinds)

    return Cleaned(
        text=_join_kept(lines, kinds),
        title=title,
        publisher=publisher,
        removed=_group_removals(lines, kinds),
    )


# --- JSONL ------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One document from a JSONL batch, validated but not cleaned.

    Optional fields are "" when absent or null.  ``published`` is normalised to
    ``YYYY-MM-DD``; ``line`` is the 1-based line of the batch it came from.
    """

    title: str
    text: str
    source_url: str
    publisher: str
    author: str
    published: str
    language: str
    line: int


@dataclass(frozen=True)
class RecordError:
    line: int
    reason: str


_OPTIONAL_STRING_KEYS = (
    "title",
    "url",
    "source_url",
    "publisher",
    "author",
    "published",
    "language",
)
_ALLOWED_KEYS = frozenset({"text", *_OPTIONAL_STRING_KEYS})


def _json_type(value: object) -> str:
    # Name types the way the person who wrote the JSON thinks of them.
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case _:
            return "object"


def _parse_record(obj: dict[str, object], line: int) -> Record | RecordError:
    # Collect every problem on the line, so one pass over an error report fixes it.
    problems: list[str] = []

    unknown = sorted(set(obj) - _ALLOWED_KEYS)
    if unknown:
        problems.append(
            "unknown keys: "
            + ", ".join(repr(key) for key in unknown)
            + " (allowed: "
            + ", ".join(sorted(_ALLOWED_KEYS))
            + ")"
        )

    raw_text = obj.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if "text" not in obj:
        problems.append("missing required key 'text'")
    elif not isinstance(raw_text, str):
        problems.append(f"'text' must be a string, got {_json_type(raw_text)}")
    elif not text.strip():
        problems.append("'text' must not be empty")

    values: dict[str, str] = {}
    for key in _OPTIONAL_STRING_KEYS:
        value = obj.get(key)
        if value is None:
            # Exporters commonly write null for "unknown"; that is the same as absent.
            values[key] = ""
        elif isinstance(value, str):
            values[key] = value.strip()
        else:
            problems.append(f"'{key}' must be a string, got {_json_type(value)}")
            values[key] = ""

    url, source_url = values["url"], values["source_url"]
    if url and source_url and url != source_url:
        problems.append(f"'url' ({url!r}) and 'source_url' ({source_url!r}) disagree")

    published = values["published"]
    if published:
        try:
            published = date.fromisoformat(published).isoformat()
        except ValueError:
            problems.append(f"'published' must be an ISO date (YYYY-MM-DD), got {published!r}")

    if problems:
        return RecordError(line=line, reason="; ".join(problems))
    return Record(
        title=values["title"],
        text=text,
        source_url=source_url or url,
        publisher=values["publisher"],
        author=values["author"],
        published=published,
        language=values["language"],
        line=line,
    )


def parse_jsonl(lines: Iterable[str]) -> Iterator[Record | RecordError]:
    """Yield one Record or RecordError per non-blank line, in order.

    Lazy, so a large file is read in constant memory and the caller can drive a
    progress bar.  A bad line yields a RecordError with its 1-based line number and
    the reason, and parsing goes on: one broken line never costs the whole batch.
    Text is passed through untouched; whether to ``clean_text`` it is the caller's call.
    """
    for number, line in enumerate(lines, start=1):
        if number == 1:
            # Files saved by Windows editors start with a BOM, which json rejects.
            line = line.removeprefix("\ufeff")
        if _is_blank(line):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RecordError(line=number, reason=f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            yield RecordError(line=number, reason="invalid JSON: nested too deeply")
            continue
        except ValueError as exc:
            # Valid syntax the decoder still refuses, e.g. an integer past Python's
            # 4300-digit conversion limit; an error for this line, not for the batch.
            yield RecordError(line=number, reason=f"invalid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield RecordError(line=number, reason=f"expected a JSON object, got {_json_type(obj)}")
            continue
        yield _parse_record(obj, number)
