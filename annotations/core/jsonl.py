"""Parsing JSONL document batches: one JSON object per line, each checked on its own.

Pure Python (no Django). A bad line is reported with its number and the reason and the
rest of the batch goes on; cleaning the records is the caller's call
(``services.importing.record_input``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from annotations.core import spans
from annotations.core.cleaning import is_blank

__all__ = ["Record", "RecordError", "jsonl_line", "jsonl_lines", "parse_jsonl"]


@dataclass(frozen=True)
class Record:
    """One document from a JSONL batch, validated but not cleaned.

    Optional fields are "" when absent or null.  ``published`` is normalised to
    ``YYYY-MM-DD``; ``line`` is the 1-based line of the batch it came from.  Every field
    is Unicode text (no lone surrogate); ``text``, ``title``, ``publisher`` and ``author``
    may still hold NUL, which cleaning drops (``services.importing.record_input``) and
    ``services.document_create`` refuses on the field when the record is not cleaned.
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


# The fields cleaning drops control characters from (``services.importing.record_input``,
# as ``clean_text`` does for a text file's body and title).
_CLEANED_KEYS = frozenset({"text", "title", "publisher", "author"})


def _unstorable(key: str, value: str) -> list[str]:
    # JSON escapes can spell what no database text column holds: a lone surrogate
    # ("\ud800": not Unicode text, cannot be encoded as UTF-8) or NUL ("\u0000":
    # refused by PostgreSQL). This line's error is what no cleaning can make storable:
    # a lone surrogate anywhere (clean_text keeps it, document_create would refuse it),
    # and NUL in an address, a date or a language code, which are never cleaned.  NUL in
    # the other fields is the cleaner's to drop, or document_create's to refuse.
    if key in _CLEANED_KEYS:
        # A stand-in of the same length: a surrogate's position stays the one in the file.
        value = value.replace("\x00", " ")
    return [f"'{key}' {problem}" for problem in spans.storage_problems(value)]


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
    else:
        problems.extend(_unstorable("text", text))

    values: dict[str, str] = {}
    for key in _OPTIONAL_STRING_KEYS:
        value = obj.get(key)
        if value is None:
            # Exporters commonly write null for "unknown"; that is the same as absent.
            values[key] = ""
        elif isinstance(value, str):
            values[key] = value.strip()
            problems.extend(_unstorable(key, value))
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


def jsonl_lines(content: str) -> list[str]:
    """The lines of a JSONL file, for ``parse_jsonl``: split at ``\\n`` only.

    Not ``str.splitlines()``: that also splits at U+2028, U+2029, U+0085, form feed,
    vertical tab and U+001C..U+001E, which a JSON string may hold unescaped (``json.dumps``
    with ``ensure_ascii=False`` writes U+2028 as it is), so a record would be cut in two
    and every later line number would be off.  A ``\\r`` before the ``\\n`` (Windows) goes.
    """
    return [line.removesuffix("\r") for line in content.split("\n")]


def jsonl_line(raw: str) -> str:
    """One line read from a JSONL file (``for line in handle``), as ``jsonl_lines`` gives
    it: without its ``\n`` and a Windows ``\r``."""
    return raw.removesuffix("\n").removesuffix("\r")


def parse_jsonl(lines: Iterable[str]) -> Iterator[Record | RecordError]:
    """Yield one Record or RecordError per non-blank line, in order.

    Lazy, so a large file is read in constant memory and the caller can drive a
    progress bar.  A bad line yields a RecordError with its 1-based line number and
    the reason, and parsing goes on: one broken line never costs the whole batch.  A
    string that no cleaning makes storable makes its line bad too: a lone surrogate
    (JSON escapes spell them) in any field, NUL in ``url``, ``source_url``,
    ``published`` or ``language``.
    Text is passed through untouched, NUL included; whether to ``clean_text`` it is the
    caller's call (see ``Record``).
    """
    for number, line in enumerate(lines, start=1):
        if number == 1:
            # Files saved by Windows editors start with a BOM, which json rejects.
            line = line.removeprefix("\ufeff")
        if is_blank(line):
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
