"""Tests for annotations.core.jsonl: pure Python, no database. Lines split at line feeds
only, good records parsed, every bad line reported with a precise reason while the
batch carries on, text passed through uncleaned.
"""

from __future__ import annotations

import io
import json

import pytest

from annotations.core.jsonl import Record, RecordError, jsonl_lines, parse_jsonl

pytestmark = pytest.mark.db_independent


def test_jsonl_lines_split_at_line_feeds_only() -> None:
    content = '{"text": "a\u2028b\u0085c\u2029d"}\r\n\n{"text": "e"}\n'
    assert jsonl_lines(content) == ['{"text": "a\u2028b\u0085c\u2029d"}', "", '{"text": "e"}', ""]
    first, second = parse_jsonl(jsonl_lines(content))
    assert isinstance(first, Record) and first.text == "a\u2028b\u0085c\u2029d"
    assert isinstance(second, Record) and second.line == 3


def test_it_parses_good_records() -> None:
    lines = [
        json.dumps(
            {
                "text": "Body text.",
                "title": " A title ",
                "url": "https://example.test/a",
                "publisher": "Example",
                "author": "A. Writer",
                "published": "2017-11-30",
                "language": "en",
            }
        ),
        json.dumps({"text": "Only text.", "source_url": "https://example.test/b", "author": None}),
    ]
    assert list(parse_jsonl(lines)) == [
        Record(
            title="A title",
            text="Body text.",
            source_url="https://example.test/a",
            publisher="Example",
            author="A. Writer",
            published="2017-11-30",
            language="en",
            line=1,
        ),
        Record(
            title="",
            text="Only text.",
            source_url="https://example.test/b",
            publisher="",
            author="",
            published="",
            language="",
            line=2,
        ),
    ]


def test_it_reports_each_bad_line_and_carries_on() -> None:
    batch = io.StringIO(
        "\n".join(
            [
                '{"text": "first"}',
                "",
                '{"text": "broken"',
                '{"title": "no text"}',
                '["not", "an", "object"]',
                '{"text": "x", "published": "30/11/2017"}',
                '{"text": "x", "body": "?", "tags": []}',
                "   ",
                '{"text": "last"}',
            ]
        )
        + "\n"
    )
    results = list(parse_jsonl(batch))
    assert [(type(r).__name__, r.line) for r in results] == [
        ("Record", 1),
        ("RecordError", 3),
        ("RecordError", 4),
        ("RecordError", 5),
        ("RecordError", 6),
        ("RecordError", 7),
        ("Record", 9),
    ]
    errors = {r.line: r.reason for r in results if isinstance(r, RecordError)}
    assert errors[3].startswith("invalid JSON:")
    assert errors[4] == "missing required key 'text'"
    assert errors[5] == "expected a JSON object, got array"
    assert errors[6] == "'published' must be an ISO date (YYYY-MM-DD), got '30/11/2017'"
    assert errors[7].startswith("unknown keys: 'body', 'tags' (allowed: ")
    assert isinstance(results[-1], Record)
    assert results[-1].text == "last"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"text": ""}, "'text' must not be empty"),
        ({"text": "  \n"}, "'text' must not be empty"),
        ({"text": 42}, "'text' must be a string, got number"),
        ({"text": "x", "title": ["a"]}, "'title' must be a string, got array"),
        (
            {"text": "x", "url": "https://a.test", "source_url": "https://b.test"},
            "'url' ('https://a.test') and 'source_url' ('https://b.test') disagree",
        ),
        (
            {"text": None, "published": "2017-02-30"},
            "'text' must be a string, got null; "
            "'published' must be an ISO date (YYYY-MM-DD), got '2017-02-30'",
        ),
    ],
)
def test_it_gives_a_precise_reason(obj: dict[str, object], reason: str) -> None:
    assert list(parse_jsonl([json.dumps(obj)])) == [RecordError(line=1, reason=reason)]


@pytest.mark.parametrize(
    ("line", "reason_start"),
    [
        ("[" * 100_000, "invalid JSON: nested too deeply"),
        ('{"text": "x", "n": ' + "9" * 5000 + "}", "invalid JSON: Exceeds the limit"),
        ("NaN", "expected a JSON object, got number"),
        ('"just a string"', "expected a JSON object, got string"),
    ],
)
def test_it_survives_lines_the_decoder_refuses(line: str, reason_start: str) -> None:
    results = list(parse_jsonl([line, '{"text": "after"}']))
    assert isinstance(results[0], RecordError)
    assert results[0].line == 1
    assert results[0].reason.startswith(reason_start)
    assert results[1] == Record(
        title="",
        text="after",
        source_url="",
        publisher="",
        author="",
        published="",
        language="",
        line=2,
    )


def test_it_passes_text_through_uncleaned_and_accepts_a_bom() -> None:
    text = "@media(x) {.a {b:c;}}\r\nBody"
    [record] = parse_jsonl(["\ufeff" + json.dumps({"text": text, "published": "20171130"})])
    assert isinstance(record, Record)
    assert record.text == text
    assert record.published == "2017-11-30"
