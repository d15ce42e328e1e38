"""What scraped junk looks like, line by line: stylesheet text, ad and tracking scripts,
feed footers and related-article headlines.

Pure Python (no Django). ``annotations.core.cleaning`` walks a text's lines and asks these
recognisers which ones to take out; they only classify, nothing here edits a line. Every
pattern is written to match in linear time (see the notes on the CSS patterns): the
cleaner runs over whole books and over text crafted to be slow.
"""

from __future__ import annotations

import re
from typing import Literal

RemovalKind = Literal["css", "script", "related-headline", "feed-footer", "source-marker", "title"]


def is_blank(line: str) -> bool:
    return not line.strip()


# --- CSS -------------------------------------------------------------------------

# Block at-rules that scrapers leave behind when a page's <style> element is
# flattened to text, e.g. "@media(max-width: 600px) {.adace_ad_x {display:block}}".
_CSS_BLOCK_AT_RULE = re.compile(
    r"^\s*@(?:media|supports|font-face|-?\w*-?keyframes|page|layer|container|document)\b[^{}]*\{"
)
# Statement at-rules end with ";" and carry no block.
CSS_STATEMENT_AT_RULE = re.compile(r"^\s*@(?:import|charset|namespace)\b[^;{}]*;\s*$")
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


def is_css_inner_line(line: str) -> bool:
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


def css_run_end(lines: list[str], inner: list[bool], start: int) -> tuple[int, int | None]:
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


def is_script(line: str) -> bool:
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
FEED_FOOTER = re.compile(r"^\s*The post .+? appeared first on (?P<publisher>.+?)\.?\s*$")
# Aggregators end an item with a bare "Source" (the link text of the original URL).
SOURCE_MARKER = re.compile(r"^\s*Sources?\s*:?\s*$")


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


def mark_related_headlines(lines: list[str], kinds: list[RemovalKind | None]) -> None:
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
