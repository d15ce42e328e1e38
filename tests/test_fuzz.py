"""Fuzzers: arbitrary input into the functions that read what users and files hand us.

tests/core/test_spans.py, tests/core/test_cleaning.py, tests/core/test_urlnorm.py and
tests/core/test_reanchor.py check properties over well-formed input (texts made of chosen
characters, URLs built from parts). These throw anything at the same functions: all of
Unicode, control characters, lone combining marks, CR/LF mixes at any position, lone
surrogates (``json.loads('"\\ud800"')`` makes them, so every JSON reader can meet them),
bytes decoded as a reader would, random JSON, HTML-ish soup. Each test asserts only
what the function documents: its result, or its one documented exception.

One class needs the database: the native import (``services.document_import_native``)
fed mutated exports, which must end in a Document or a ValidationError, never in
another exception (a 500, or ``import_documents`` stopping the whole batch).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from annotations import selectors, services
from annotations.core import export_mapping, spans
from annotations.core.cleaning import clean_text, storable_raw_text
from annotations.core.htmlpage import HtmlDocument, extract_html
from annotations.core.jsonl import Record, RecordError, parse_jsonl
from annotations.core.urlnorm import MAX_URL_LENGTH, UrlError, check_url, normalize_url
from annotations.models import (
    Citation,
    Claim,
    Consensus,
    Document,
    Event,
    Rating,
    Source,
    Verdict,
)
from annotations.services import importing
from tests.core.test_export_mapping import desk_project_block
from tests.factories import make_project, make_user

FUZZ = settings(max_examples=150, deadline=None)

# --- strategies ------------------------------------------------------------------------------

# Characters that break naive text code, placed anywhere (not only at line boundaries).
AWKWARD = st.sampled_from(
    [
        "\r", "\n", "\r\n", "\n\r", "\r\r\n", "\x00", "\t", "\x0b", "\x0c", "\x1c", "\x1e",
        "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\u200d", "\u202e",
        "\u0301", "\u0308\u0301", "\u0338", "\u0345", "\u3099", "e\u0301", "\u1100\u1161",
        "\U0001f44d\U0001f3fd", "\U0001f1e9\U0001f1ea", "\ufffd", "\U0010ffff", " ", "\u00a0",
        "{", "}", ";", ":", "@media", "<script>", "Source", "The post a appeared first on b.",
    ]
)  # fmt: skip
# All of Unicode except surrogates (what a UTF-8 file or a browser can send) ...
UNICODE = st.characters(codec="utf-8")
TEXT = st.lists(st.one_of(st.text(UNICODE, max_size=12), AWKWARD), max_size=30).map("".join)
# ... and, separately, lone surrogates, which only JSON escapes produce.
SURROGATE = st.characters(categories=["Cs"])
TEXT_WITH_SURROGATES = st.lists(
    st.one_of(st.text(UNICODE, max_size=8), AWKWARD, SURROGATE), max_size=20
).map("".join)


def _is_canonical(value: str) -> bool:
    return spans.canonicalize(value) == value


# --- the cleaner -----------------------------------------------------------------------------


@FUZZ
@given(TEXT)
@example("\r\n\r\n")
@example("Title\r\u0301body")
@example("\u0301\n\u0301")
def test_clean_text_never_raises_and_every_output_is_canonical(raw: str) -> None:
    result = clean_text(raw)
    for value in (result.text, result.title, result.publisher, *(r.text for r in result.removed)):
        assert _is_canonical(value), value
    assert "\n" not in result.title and result.title == result.title.strip()


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_clean_text_never_raises_on_lone_surrogates(raw: str) -> None:
    # Any str can hold them; the cleaner must not be what fails on them.
    result = clean_text(raw)
    assert _is_canonical(result.text)


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_storable_raw_text_repairs_exactly_what_storage_problems_names(raw: str) -> None:
    kept = storable_raw_text(raw)
    assert spans.storage_problems(kept) == []
    if not spans.storage_problems(raw):
        assert kept == raw


@FUZZ
@given(TEXT)
def test_clean_text_output_has_no_blank_edges_and_no_blank_runs(raw: str) -> None:
    lines = clean_text(raw).text.split("\n")
    blank = [not line.strip() for line in lines]
    if lines != [""]:
        assert not blank[0] and not blank[-1]
    assert not any(a and b for a, b in pairwise(blank))


def _non_blank(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def _is_subsequence(part: list[str], whole: list[str]) -> bool:
    rest = iter(whole)
    return all(line in rest for line in part)


@FUZZ
@given(TEXT)
@example("Title\n\nGas pipeline: Why Seoul is talking to Moscow again\nBody")
def test_recleaning_with_the_title_put_back_only_ever_removes_lines(raw: str) -> None:
    """Cleaning takes the title off, so clean(clean(x)) is not clean(x) (the body's first
    line would become the next title). The round trip to check is cleaning
    ``title + blank line + body`` again: it may never add or edit a line."""
    once = clean_text(raw)
    again = clean_text(f"{once.title}\n\n{once.text}")
    assert _is_subsequence(_non_blank(again.text), _non_blank(once.text))


@FUZZ
@given(TEXT)
# Found by this fuzzer when it ran over any text: trailing feed furniture was taken once
# per pass, so a repeated "Source" line or feed footer stayed in the body for the next
# cleaning to take, and junk inside a CSS block hid the block until the junk was gone.
@example("Headline\nBody text.\nSource\nSource")
@example("Headline\nBody text.\nThe post A appeared first on P.\nThe post A appeared first on P.")
@example("Headline\nBody text.\nSource\nThe post A appeared first on P.")
@example(".a {\n(adsbygoogle = window.adsbygoogle || []).push({});\n}\nBody text.")
def test_cleaning_is_a_fixed_point(raw: str) -> None:
    once = clean_text(raw)
    again = clean_text(f"{once.title}\n\n{once.text}")
    assert (again.title, again.text) == (once.title, once.text)
    assert [removal.kind for removal in again.removed] == (["title"] if once.title else [])


@pytest.mark.parametrize(
    ("raw", "text", "removed"),
    [
        ("Headline\nBody text.\nSource\nSource", "Body text.", ["title", "source-marker"]),
        (
            "Headline\nBody text.\nThe post A appeared first on P.\nThe post A appeared first on P.",
            "Body text.",
            ["title", "feed-footer"],
        ),
        (
            "Headline\nBody text.\nSource\nThe post A appeared first on P.",
            "Body text.",
            ["title", "source-marker", "feed-footer"],
        ),
        (
            ".a {\n(adsbygoogle = window.adsbygoogle || []).push({});\n}\nBody text.",
            "",
            ["css", "script", "css", "title"],
        ),
    ],
)
def test_one_cleaning_takes_all_the_furniture(raw: str, text: str, removed: list[str]) -> None:
    cleaned = clean_text(raw)
    assert cleaned.text == text
    assert [removal.kind for removal in cleaned.removed] == removed


# --- JSONL batches ---------------------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(UNICODE, max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
RECORD_KEYS = st.sampled_from(
    ["text", "title", "url", "source_url", "publisher", "author", "published", "language", "x"]
)
RECORD_VALUES = st.one_of(
    JSON_VALUES,
    TEXT,
    TEXT_WITH_SURROGATES,
    st.dates().map(dt.date.isoformat),
    st.sampled_from(["20171130", "2024-02-30", "https://example.org/a", " ", "", "a\x00b"]),
)
RECORDS = st.dictionaries(RECORD_KEYS, RECORD_VALUES, max_size=6)


def _jsonl_line(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


JSONL_LINES = st.one_of(
    st.builds(_jsonl_line, st.one_of(RECORDS, JSON_VALUES), st.booleans()),
    TEXT,
    st.binary(max_size=40).map(lambda b: b.decode("utf-8", errors="replace")),
    st.sampled_from(["", "  ", "\ufeff", "[" * 5000, '{"text": "\\ud800 lone"}', "1e99999"]),
)


def _storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _storable_once_cleaned(key: str, value: str) -> bool:
    # A record's text, title, publisher and author may hold NUL: cleaning drops it
    # (record_input), and uncleaned, document_create refuses it on the field.
    if key in ("text", "title", "publisher", "author"):
        value = value.replace("\x00", "")
    return _storable(value)


def _check_items(lines: list[str], items: list[Record | RecordError]) -> None:
    # A BOM is skipped on the first line only (where Windows editors put it).
    expected = [
        number
        for number, line in enumerate(lines, 1)
        if (line.removeprefix("\ufeff") if number == 1 else line).strip()
    ]
    assert [item.line for item in items] == expected
    for item in items:
        assert isinstance(item, Record | RecordError)
        if isinstance(item, RecordError):
            assert isinstance(item.reason, str) and item.reason
            continue
        assert isinstance(item.text, str) and item.text.strip()
        assert item.published == "" or dt.date.fromisoformat(item.published)
        for key in ("text", "title", "source_url", "publisher", "author", "language"):
            assert _storable_once_cleaned(key, getattr(item, key))


@FUZZ
@given(st.lists(JSONL_LINES, max_size=8))
def test_parse_jsonl_yields_a_record_or_an_error_for_every_non_blank_line(
    lines: list[str],
) -> None:
    _check_items(lines, list(parse_jsonl(lines)))


@FUZZ
@given(st.binary(max_size=300))
@example(b'{"text": "a"}\n\xff\xfe{"text": 1}\r\n\n[]')
@example(b'\xef\xbb\xbf{"text": "BOM"}')
def test_parse_jsonl_reads_arbitrary_bytes_decoded_leniently(data: bytes) -> None:
    lines = data.decode("utf-8", errors="replace").splitlines()
    _check_items(lines, list(parse_jsonl(lines)))


@FUZZ
@given(RECORDS)
def test_parse_jsonl_accepts_exactly_the_well_formed_records(obj: dict[str, Any]) -> None:
    [item] = parse_jsonl([json.dumps(obj)])
    text = obj.get("text")
    optional = {k: v for k, v in obj.items() if k != "text"}
    well_formed = (
        isinstance(text, str)
        and bool(text.strip())
        and _storable_once_cleaned("text", text)
        and "x" not in obj
        and all(
            v is None or (isinstance(v, str) and _storable_once_cleaned(k, v))
            for k, v in optional.items()
        )
    )
    if not well_formed:
        assert isinstance(item, RecordError)
        return
    if isinstance(item, Record):
        assert item.text == text  # passed through untouched
        return
    # The only other refusals: a date that is not ISO, or url and source_url disagreeing.
    assert re.search(r"'published' must be an ISO date|disagree", item.reason), item.reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"text": "bad \\ud800 one"}', "'text' is not valid Unicode text: lone surrogate U+D800 at position 4"),
        ('{"text": "ok", "title": "\\udfff"}', "'title' is not valid Unicode text: lone surrogate U+DFFF at position 0"),
        # The position is the one in the file, NUL before it counted.
        ('{"text": "a\\u0000b\\ud800"}', "'text' is not valid Unicode text: lone surrogate U+D800 at position 3"),
        # Nothing cleans an address or a language code.
        ('{"text": "ok", "url": "https://a.example/\\u0000"}', "'url' contains a NUL character (U+0000) at position 18"),
        ('{"text": "ok", "language": "en\\u0000"}', "'language' contains a NUL character (U+0000) at position 2"),
    ],
)  # fmt: skip
def test_parse_jsonl_refuses_strings_no_cleaning_makes_storable(line: str, reason: str) -> None:
    # Found by the fuzzers: these records came through as Records and then crashed
    # document_create (UnicodeEncodeError; DataError on PostgreSQL), stopping the batch.
    bad, good = parse_jsonl([line, '{"title": "t", "text": "fine"}'])
    assert bad == RecordError(line=1, reason=reason)
    assert isinstance(good, Record) and (good.line, good.text) == (2, "fine")


def test_parse_jsonl_leaves_nul_in_the_cleaned_fields_to_the_cleaner() -> None:
    # As for a text file: cleaning drops it, and uncleaned, document_create refuses it.
    [record] = parse_jsonl(
        [
            '{"text": "a\\u0000b", "title": "T\\u0000", "publisher": "\\u0000P", "author": "A\\u0000"}'
        ]
    )
    assert isinstance(record, Record)
    assert (record.text, record.title, record.publisher, record.author) == (
        "a\x00b", "T\x00", "\x00P", "A\x00",
    )  # fmt: skip


# Records that parse, control characters (NUL among them) in every field cleaning touches.
CLEANABLE_RECORDS = st.fixed_dictionaries(
    {"text": TEXT.filter(str.strip)},
    optional={
        "title": TEXT,
        "publisher": TEXT,
        "author": TEXT,
        "url": st.just("https://example.org/a"),
    },
)


@FUZZ
@given(st.builds(_jsonl_line, st.one_of(CLEANABLE_RECORDS, RECORDS), st.booleans()), st.booleans())
def test_a_parsed_record_is_storable_once_cleaned_and_kept_as_written_if_not(
    line: str, clean: bool
) -> None:
    [item] = parse_jsonl([line])
    if isinstance(item, RecordError):
        return
    data, removed = importing.record_input(item, clean=clean)
    assert removed >= 0 and _storable(data.raw_text or "")
    fields = (data.text, data.title, data.publisher, data.author)
    if clean:
        assert all(_storable(value) for value in fields)
    else:
        assert (data.text, data.publisher, data.author) == (item.text, item.publisher, item.author)
    assert _storable(data.source_url) and _storable(data.language)


# --- HTML ------------------------------------------------------------------------------------

TAGS = st.sampled_from(
    ["p", "div", "article", "main", "h1", "span", "a", "script", "style", "table", "td",
     "nav", "footer", "title", "head", "body", "html", "br", "meta", "link", "svg", "template"]
)  # fmt: skip
ATTRIBUTES = st.sampled_from(
    [
        "", ' class="content"', ' rel="canonical" href="http://[x/a"', ' rel="canonical"',
        ' href="javascript:alert(1)"', ' property="og:title" content="T\u0301"',
        ' name="author" content="https://example.org/me"', ' lang="de_DE,en"',
        ' property="article:published_time" content="2024-13-45"', ' type="application/ld+json"',
        " onload=x", ' a="', "/", " href=http://[::1]:99999/",
    ]
)  # fmt: skip


MARKUP_BITS = st.sampled_from(
    ["&amp;", "&#0;", "&#x110000;", "&bogus", "<!--", "-->", "<![CDATA[", "<!DOCTYPE html>", "<?xml?>"]
)  # fmt: skip


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            parts.append(f"<{draw(TAGS)}{draw(ATTRIBUTES)}>")
        elif kind == 1:
            parts.append(f"</{draw(TAGS)}>")
        elif kind == 2:
            parts.append(draw(MARKUP_BITS))
        elif kind == 3:
            parts.append(json.dumps(draw(JSON_VALUES)))
        else:
            parts.append(draw(TEXT))
    return "".join(parts)


PARAGRAPH = "A paragraph long enough for the extractor to keep it as the article's main text. "


def _check_page(page: HtmlDocument) -> None:
    assert page.text.strip() and _is_canonical(page.text)
    assert page.published == "" or dt.date.fromisoformat(page.published)
    assert page.canonical_url == "" or urlsplit(page.canonical_url).scheme in {"http", "https"}
    assert page.removed_chars >= 0


@settings(max_examples=100, deadline=None)
@given(st.one_of(html_soup(), TEXT), st.sampled_from(["", "https://example.org/a"]))
def test_extract_html_returns_text_or_says_there_is_none(markup: str, url: str) -> None:
    try:
        page = extract_html(markup, url=url)
    except ValueError as exc:
        assert str(exc) == "no main text found"
        return
    _check_page(page)


@settings(max_examples=60, deadline=None)
@given(html_soup())
def test_extract_html_keeps_an_article_whatever_surrounds_it(noise: str) -> None:
    article = f"<article><p>{PARAGRAPH * 4}</p></article>"
    markup = f"<html><head>{noise}</head><body>{article}</body></html>"
    try:
        page = extract_html(markup, url="https://example.org/a")
    except ValueError as exc:
        # Noise may swallow the article (an unclosed <script>, <!--, ...); that is the
        # documented refusal, never another error.
        assert str(exc) == "no main text found"
        return
    _check_page(page)


def test_a_tree_that_trips_the_date_finder_still_gives_its_text() -> None:
    # Found by the fuzzer above: htmldate (inside trafilatura) asserted on this tree
    # (an <svg> without a parent after its cleaning), so an HTML import crashed.
    markup = f"</p></p><svg><p><p>{PARAGRAPH * 3}"
    try:
        page = extract_html(markup, url="https://example.org/a")
    except ValueError as exc:
        assert str(exc) == "no main text found"
        return
    _check_page(page)


def test_a_malformed_canonical_link_does_not_hide_the_article() -> None:
    # Found by the fuzzer above: urljoin/urlsplit raised ValueError("Invalid IPv6 URL"),
    # which callers took for "no main text found" and refused the page.
    markup = (
        '<html><head><link rel="canonical" href="http://[x/a"></head>'
        f"<body><article><p>{PARAGRAPH * 4}</p></article></body></html>"
    )
    page = extract_html(markup, url="https://example.org/a")
    assert page.text.startswith("A paragraph long enough")
    assert page.canonical_url == ""


# --- URLs ------------------------------------------------------------------------------------

URL_CHARS = st.one_of(UNICODE, st.sampled_from(list(":/?#[]@!$&'()*+,;=%-._~ \\\t")))
URLISH = st.builds(
    lambda scheme, sep, host, rest: scheme + sep + host + rest,
    st.sampled_from(["http", "https", "HTTPS", "ftp", "javascript", "", " http"]),
    st.sampled_from(["://", ":", ":/", "", "://user:pw@"]),
    st.text(URL_CHARS, max_size=15),
    st.text(URL_CHARS, max_size=40),
)


@FUZZ
@given(st.one_of(URLISH, TEXT_WITH_SURROGATES))
@example("http://[v1.x]/")
@example("http://[::1%25eth0]/a")
@example("http://a.example/" + "\u00e9" * 700)  # under the limit raw, over it encoded
@example("http://a.example/\ud800")  # percent-encoding raised UnicodeEncodeError
@example("http://a\u00a0/")  # IDNA made the host "a " and the key "http://a /"
def test_normalize_url_returns_an_accepted_http_url_or_refuses(url: str) -> None:
    try:
        once = normalize_url(url)
    except UrlError:
        return
    assert urlsplit(once).scheme in {"http", "https"}
    assert check_url(once) == once
    assert normalize_url(once) == once


def test_normalize_url_refuses_a_url_percent_encoding_takes_past_the_limit() -> None:
    # Found by the fuzzer above: check_url accepts these 1,718 characters, but the key
    # came out 10,218 long (each "é" is "%C3%A9"), which check_url (so normalize_url of
    # its own result) and Source.normalized_url (2,000) refuse.
    url = "https://a.example/" + "\u00e9" * 1_700
    assert check_url(url) == url
    with pytest.raises(UrlError, match="2000 characters once special characters"):
        normalize_url(url)
    ascii_url = "https://a.example/" + "e" * 1_980
    assert normalize_url(ascii_url) == ascii_url


@FUZZ
@given(st.one_of(URLISH, TEXT_WITH_SURROGATES, JSON_SCALARS))
def test_check_url_returns_an_http_url_or_refuses(url: Any) -> None:
    try:
        checked = check_url(url)
    except UrlError:
        return
    assert urlsplit(checked).scheme.lower() in {"http", "https"}
    assert len(checked) <= MAX_URL_LENGTH
    assert check_url(checked) == checked


# --- spans over any text ---------------------------------------------------------------------


@st.composite
def any_text_with_span(draw: st.DrawFn) -> tuple[str, int, int]:
    text = draw(TEXT_WITH_SURROGATES.filter(bool))
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    return text, start, end


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_canonicalize_is_idempotent_on_any_text(text: str) -> None:
    once = spans.canonicalize(text)
    assert spans.canonicalize(once) == once
    assert "\r" not in once


@FUZZ
@given(any_text_with_span())
def test_selectors_quote_any_text_even_non_canonical(case: tuple[str, int, int]) -> None:
    text, start, end = case
    selector = spans.make_selector(text, start, end, exact=text[start:end])
    assert selector.exact == text[start:end]
    assert text[start - len(selector.prefix) : end + len(selector.suffix)] == (
        selector.prefix + selector.exact + selector.suffix
    )
    assert len(selector.prefix) == min(start, spans.CONTEXT_LENGTH)


@FUZZ
@given(TEXT_WITH_SURROGATES)
def test_lone_surrogates_count_as_one_utf16_unit(text: str) -> None:
    # spans.py: "Lone surrogates, if any, are BMP code points and count as one unit, as in JS."
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    assert spans.codepoint_to_utf16(text, len(text)) == units
    for offset in range(len(text) + 1):
        assert spans.utf16_to_codepoint(text, spans.codepoint_to_utf16(text, offset)) == offset


@FUZZ
@given(any_text_with_span(), st.lists(st.integers(-3, 80), min_size=2, max_size=6))
def test_segment_tiles_any_text_or_names_the_bad_span(
    case: tuple[str, int, int], offsets: list[int]
) -> None:
    text, start, end = case
    pairs = [(start, end), *zip(offsets[::2], offsets[1::2], strict=False)]
    spans_in = [(f"s{index}", a, b) for index, (a, b) in enumerate(pairs)]
    try:
        paragraphs = spans.segment(text, spans_in)
    except spans.SpanError as exc:
        assert re.match(r"span 's\d+': ", exc.message)
        return
    lines = ["".join(segment.text for segment in p.segments) for p in paragraphs]
    assert "\n".join(lines) == text


# --- the native export validator -------------------------------------------------------------


NATIVE_KEYS = st.sampled_from(
    ["schema", "exported_at", "project", "document", "claims", "sources", "other"]
)


@FUZZ
@given(st.one_of(JSON_VALUES, st.dictionaries(NATIVE_KEYS, JSON_VALUES)))
@example({"schema": "workbench-export/1"})
def test_native_errors_reports_any_json_value_without_raising(value: Any) -> None:
    problems = export_mapping.native_errors(value)
    assert isinstance(problems, list)
    for pointer, reason in problems:
        assert pointer.startswith("/") and isinstance(reason, str)
    if not isinstance(value, dict) or value.get("schema") != export_mapping.NATIVE_SCHEMA:
        assert problems


TEXT_FOR_IMPORT = "Crime fell 20% last year, the mayor said. The bridge cost $2 billion."


def valid_payload() -> dict[str, Any]:
    """A native export with one of everything: claim, verdict, citation, source, consensus."""
    exact = "Crime fell 20% last year"
    return {
        "schema": export_mapping.NATIVE_SCHEMA,
        "exported_at": "2024-05-02T00:00:00.000000Z",
        "project": desk_project_block(),
        "document": {
            "title": "City hall",
            "text": TEXT_FOR_IMPORT,
            "text_sha256": spans.text_sha256(TEXT_FOR_IMPORT),
            "length": len(TEXT_FOR_IMPORT),
            "raw_text": TEXT_FOR_IMPORT,
            "source_url": "https://news.example.com/a",
            "publisher": "Daily",
            "author": "Jane",
            "published_date": "2024-03-05",
            "language": "en",
            "created_at": "2024-05-01T11:00:00.000000Z",
        },
        "claims": [
            {
                "id": 7,
                "start": 0,
                "end": len(exact),
                "exact": exact,
                "prefix": "",
                "suffix": TEXT_FOR_IMPORT[len(exact) : len(exact) + spans.CONTEXT_LENGTH],
                "statement": "Crime fell by a fifth.",
                "claimant": "the mayor",
                "status": "resolved",
                "version": 1,
                "created_by": "gina",
                "created_at": "2024-05-01T12:00:00.000000Z",
                "verdicts": [
                    {
                        "id": 11,
                        "reviewer": "rita",
                        "rating": "false",
                        "confidence": "high",
                        "rationale": "Police data.",
                        "revision": 1,
                        "is_current": True,
                        "submitted_at": "2024-05-01T13:00:00.000000Z",
                        "citations": [{"source": 3, "quote": "3%", "stance": "refutes"}],
                    }
                ],
                "consensus": [
                    {
                        "sequence": 1,
                        "rating": "false",
                        "method": "adjudicated",
                        "agreement": 1.0,
                        "decided_by": "ed",
                        "decided_at": "2024-05-01T14:00:00.000000Z",
                        "note": "",
                        "is_current": True,
                        "verdicts": [11],
                    }
                ],
            }
        ],
        "sources": [
            {
                "id": 3,
                "url": "https://stats.example.gov/crime",
                "normalized_url": "https://stats.example.gov/crime",
                "title": "Stats",
                "publisher": "Office",
                "published_date": None,
                "archive_url": "",
                "accessed_date": None,
            }
        ],
    }


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``value`` a mutation can replace: each field, leaf or not."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    found = []
    for key, item in items:
        found.append((*path, key))
        if isinstance(item, dict | list):
            found.extend(_paths(item, (*path, key)))
    return found


LEAVES = _paths(valid_payload())
# Leaves the database stores as 32-bit integers without a model-level range check (the
# schema's maximum refuses what they cannot hold).
UNCHECKED_INTEGERS = {
    ("claims", 0, "verdicts", 0, "revision"),
    ("claims", 0, "consensus", 0, "sequence"),
}
INT32_MAX = 2**31 - 1
# What json.loads can hand over for a leaf of a file: any JSON value, integers of any
# size, NaN and infinities, strings with lone surrogates and NUL (JSON escapes spell them).
ANY_STRINGS = st.one_of(st.text(UNICODE, max_size=20), TEXT_WITH_SURROGATES)
ANY_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), ANY_STRINGS),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(ANY_STRINGS, children, max_size=3)
    ),
    max_leaves=8,
)
MUTATIONS = st.one_of(
    st.tuples(
        st.sampled_from(LEAVES),
        st.one_of(
            ANY_JSON,
            TEXT,
            st.integers(min_value=-(2**70), max_value=2**70),
            st.sampled_from([0, -1, INT32_MAX, INT32_MAX + 1, 2**63, math.inf, -math.inf]),
            st.sampled_from([math.nan, 1e308, "", " ", "a\x00b", "\ud800", "Crime fell \udfff"]),
        ),
    ),
    # Around the column range, where the schema's maximum has to hold the line.
    st.tuples(
        st.sampled_from(sorted(UNCHECKED_INTEGERS)),
        st.one_of(st.integers(INT32_MAX - 2, 2**64), st.sampled_from([1e308, 2.0**31])),
    ),
)


def _set(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Replace the value at ``path``, if an earlier mutation left that place standing."""
    target: Any = payload
    try:
        for key in path[:-1]:
            target = target[key]
        if isinstance(target, dict | list):
            target[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return


def mutated(*mutations: tuple[tuple[Any, ...], Any]) -> dict[str, Any]:
    payload = valid_payload()
    for path, value in mutations:
        _set(payload, path, value)
    return payload


class NativeImportFuzzTests(HypothesisTestCase):
    """``document_import_native`` on exports with one to three leaves replaced.

    Each example runs in its own transaction (hypothesis.extra.django.TestCase), so an
    accepted import does not make the next example a duplicate.
    """

    @classmethod
    def setUpTestData(cls) -> None:
        cls.importer = make_user("importer")
        cls.project = make_project(creator=cls.importer, name="Target")

    def import_or_refuse(self, payload: dict[str, Any]) -> Document | ValidationError:
        try:
            return services.document_import_native(
                project=self.project, payload=payload, actor=self.importer
            )
        except ValidationError as exc:
            self.assertTrue(exc.message_dict)
            return exc

    def test_the_unmutated_export_imports(self) -> None:
        document = self.import_or_refuse(valid_payload())
        self.assertIsInstance(document, Document)
        self.assertEqual(document.claims.get().verdicts.get().citations.count(), 1)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(MUTATIONS, min_size=1, max_size=3))
    def test_a_mutated_export_imports_or_is_refused(
        self, mutations: list[tuple[tuple[Any, ...], Any]]
    ) -> None:
        result = self.import_or_refuse(mutated(*mutations))
        if isinstance(result, Document):
            # What was accepted is itself a valid export, through JSON and back: an import
            # never stores what a later export (or restore) would choke on.
            again = selectors.document_native(document=result, user=self.importer)
            self.assertEqual(
                export_mapping.native_errors(json.loads(export_mapping.json_dumps_safe(again))), []
            )


# Found by the fuzzer above. Each of these raised something other than ValidationError
# (UnicodeEncodeError, OverflowError on SQLite, DataError on PostgreSQL): a 500 through
# any caller, and ``import_documents`` stopped the whole batch with a traceback. Now
# export_mapping.native_errors refuses them, with the JSON pointer of the field, on both backends.
REFUSED_NATIVE_VALUES = [
    # Lone surrogate in any string (document text: spans.text_sha256 could not encode it;
    # any other string: the database driver could not).
    pytest.param(
        ("document", "text"), "Crime fell \ud800",
        "is not valid Unicode text: lone surrogate U+D800 at position 11", id="surrogate-in-text",
    ),
    pytest.param(
        ("claims", 0, "statement"), "\ud800",
        "is not valid Unicode text: lone surrogate U+D800 at position 0",
        id="surrogate-in-statement",
    ),
    # NUL: PostgreSQL text columns refuse it; SQLite would store it, and an export from
    # there would not restore into PostgreSQL. Refused on both.
    pytest.param(
        ("document", "title"), "a\x00b", "contains a NUL character (U+0000) at position 1",
        id="nul-in-title",
    ),
    pytest.param(
        ("claims", 0, "verdicts", 0, "rationale"), "Police\x00data.",
        "contains a NUL character (U+0000) at position 6", id="nul-in-rationale",
    ),
    pytest.param(
        ("claims", 0, "verdicts", 0, "citations", 0, "quote"), "\x00",
        "contains a NUL character (U+0000) at position 0", id="nul-in-quote",
    ),
    # Verdict revision / consensus sequence were not range-checked (no full_clean, no
    # schema maximum); the schema caps every stored count at 2**31 - 1 now.
    pytest.param(
        ("claims", 0, "verdicts", 0, "revision"), 2**63,
        "9223372036854775808 is greater than the maximum of 2147483647", id="huge-revision",
    ),
    pytest.param(
        ("claims", 0, "consensus", 0, "sequence"), INT32_MAX + 1,
        "2147483648 is greater than the maximum of 2147483647", id="huge-sequence",
    ),
    pytest.param(
        ("claims", 0, "verdicts", 0, "revision"), 1e308,
        "1e+308 is greater than the maximum of 2147483647", id="float-revision",
    ),
    # NaN passed the schema's 0..1 bounds: SQLite stored NULL (the value silently
    # changed), PostgreSQL stored NaN and every later export of the document failed.
    pytest.param(
        ("claims", 0, "consensus", 0, "agreement"), math.nan, "nan is not a finite number",
        id="nan-agreement",
    ),
]  # fmt: skip


def _pointer(path: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(part) for part in path)


@pytest.mark.parametrize(("path", "value", "reason"), REFUSED_NATIVE_VALUES)
def test_native_errors_name_what_no_database_can_store(
    path: tuple[Any, ...], value: Any, reason: str
) -> None:
    assert (_pointer(path), reason) in export_mapping.native_errors(mutated((path, value)))


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "value", "reason"), REFUSED_NATIVE_VALUES)
def test_native_import_refuses_what_no_database_can_store(
    path: tuple[Any, ...], value: Any, reason: str
) -> None:
    importer = make_user("importer")
    project = make_project(creator=importer, name="Target")
    models = (
        Document,
        Claim,
        Verdict,
        Citation,
        Consensus,
        Source,
        Rating,
        Event,
        get_user_model(),
    )
    before = {model: model.objects.count() for model in models}
    with pytest.raises(ValidationError) as caught:
        services.document_import_native(
            project=project, payload=mutated((path, value)), actor=importer
        )
    assert reason in caught.value.message_dict[_pointer(path)]
    assert {model: model.objects.count() for model in models} == before


def test_native_errors_never_print_what_they_refuse() -> None:
    # The pointer names a key that cannot be stored by its object, and every reason is
    # printable text: import_documents writes them to a UTF-8 terminal.
    payload = mutated((("project",), {"a\ud800": {"\x00": 1}, "b": [math.inf, "\udfff"]}))
    problems = export_mapping.native_errors(payload)
    assert (
        "/project",
        "key 'a\\ud800' is not valid Unicode text: lone surrogate U+D800 at position 1",
    ) in problems
    assert ("/project/b/0", "inf is not a finite number") in problems
    for pointer, reason in problems:
        (pointer + reason).encode("utf-8")
        assert "\x00" not in pointer + reason


# --- the import command ------------------------------------------------------------------------


def _import(tmp_path: Path, name: str, content: str, project: Any, *options: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    out = io.StringIO()
    call_command(
        "import_documents", str(path), "--project", project.slug, "--no-progress", *options,
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return out.getvalue()


JSONL_WITH_CONTROL_CHARACTERS = (
    '{"title": "t1", "text": "bad \\ud800 one"}\n'
    '{"title": "t\\u00002", "text": "nul \\u0000two", "author": "A\\u000cB"}\n'
    '{"title": "t3", "text": "good three"}\n'
)


@pytest.mark.django_db
def test_a_jsonl_batch_goes_on_past_a_record_no_database_can_store(tmp_path: Path) -> None:
    # Regression: the escaped surrogate reached document_create and the command died
    # with UnicodeEncodeError before the good line was read. No cleaning makes a lone
    # surrogate text, so its line fails; NUL goes with cleaning, as from a text file.
    project = make_project(creator=make_user("importer"), name="Target")
    out = _import(tmp_path, "batch.jsonl", JSONL_WITH_CONTROL_CHARACTERS, project)
    assert "Imported 2, skipped 0 duplicate(s), failed 1" in out
    assert "batch.jsonl:1: 'text' is not valid Unicode text" in out
    documents = Document.objects.filter(project=project).order_by("pk")
    assert [(d.title, d.text, d.author) for d in documents] == [
        ("t2", "nul two", "A B"),
        ("t3", "good three", ""),
    ]
    assert documents[0].raw_text == "nul two"  # provenance: the record minus NUL


@pytest.mark.django_db
def test_an_uncleaned_jsonl_record_with_nul_fails_on_the_field(tmp_path: Path) -> None:
    # --no-clean stores the record as written, and no database stores NUL: the line
    # fails, naming each field, like an uncleaned text file; the batch goes on.
    project = make_project(creator=make_user("importer"), name="Target")
    out = _import(tmp_path, "batch.jsonl", JSONL_WITH_CONTROL_CHARACTERS, project, "--no-clean")
    assert "Imported 1, skipped 0 duplicate(s), failed 2" in out
    assert "batch.jsonl:1: 'text' is not valid Unicode text" in out
    assert (
        "batch.jsonl:2: title: Contains a NUL character (U+0000) at position 1.; "
        "text: Contains a NUL character (U+0000) at position 4."
    ) in out
    assert Document.objects.get(project=project).text == "good three"


@pytest.mark.django_db
def test_jsonl_lines_are_split_at_line_feeds_only(tmp_path: Path) -> None:
    """JSON strings may hold U+2028, U+2029 and U+0085 unescaped (json.dumps with
    ensure_ascii=False writes them so). Found by the fuzzers: import_documents and
    services.importing split the file with str.splitlines(), which broke such a record in
    two and shifted every later line number; they split at "\\n" only now."""
    project = make_project(creator=make_user("importer"), name="Target")
    records = [
        {"title": "t", "text": "First part\u2028second part"},
        {"title": "u", "text": "Next\u2029one\u0085here"},
        {"title": "v", "text": ""},
    ]
    content = "\r\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n"
    out = _import(tmp_path, "batch.jsonl", content, project)
    assert "Imported 2, skipped 0 duplicate(s), failed 1" in out
    assert "batch.jsonl:3: 'text' must not be empty" in out
    texts = set(Document.objects.filter(project=project).values_list("text", flat=True))
    assert texts == {"First part\u2028second part", "Next\u2029one\u0085here"}

    preview = importing.import_preview(
        source=importing.RawSource(content=content, format="jsonl"), project=project
    )
    assert [record.line for record in preview.records] == [1, 2]
    assert [(error.line, error.reason) for error in preview.errors] == [
        (3, "'text' must not be empty")
    ]


@pytest.mark.django_db
def test_a_workbench_batch_goes_on_past_an_export_no_database_can_store(tmp_path: Path) -> None:
    # Regression: the first export's NUL reached PostgreSQL (DataError) and its lone
    # surrogate the UTF-8 encoder; the command stopped with a traceback.
    project = make_project(creator=make_user("importer"), name="Target")
    bad = mutated(
        (("document", "title"), "City\x00hall"), (("claims", 0, "statement"), "Crime \udfff")
    )
    content = export_mapping.json_dumps_safe([bad, valid_payload()])
    out = _import(tmp_path, "desk.json", content, project)
    assert "Imported 1, skipped 0 duplicate(s), failed 1" in out
    assert (
        "failed {}[0]: /claims/0/statement: is not valid Unicode text: lone surrogate U+DFFF "
        "at position 6; /document/title: contains a NUL character (U+0000) at position 4"
    ).format(tmp_path / "desk.json") in out
    assert Document.objects.get(project=project).title == "City hall"
