"""Fuzzing JSONL batches (annotations.core.jsonl): a record or an error for every non-blank
line, arbitrary bytes decoded leniently, exactly the well-formed records accepted, and
what no cleaning makes storable refused on its field.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from annotations.core.jsonl import Record, RecordError, parse_jsonl
from annotations.services import importing
from tests.fuzz.strategies import FUZZ, JSON_VALUES, TEXT, TEXT_WITH_SURROGATES

pytestmark = pytest.mark.db_independent

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
