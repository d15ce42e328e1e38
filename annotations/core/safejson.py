"""Reading JSON someone else wrote, with its nesting bounded.

Python's ``json`` recurses once per level of nesting, so ``[`` x 100,000 raises
``RecursionError`` (not ``ValueError``) deep in the parser, and whatever walks the result
recursively afterwards (a serializer, a schema validator) could fail the same way at a
lesser depth. ``loads`` refuses anything nested deeper than ``max_depth`` before parsing,
with a ``JsonTooDeep`` (a ``ValueError``, so callers that already turn a JSON error into
a clean refusal need no other case), and never lets a ``RecursionError`` out.

Pure Python, no Django: the API's parser (``annotations.api.parsers``) and the native
import (``import_documents --format workbench``) both read through it.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Far deeper than anything the API or a native export nests (four and seven levels).
MAX_DEPTH = 64

_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKETS = str.maketrans("[{]}", "(())")


class JsonTooDeep(ValueError):
    def __init__(self, max_depth: int) -> None:
        super().__init__(f"nested more than {max_depth} levels deep")
        self.max_depth = max_depth


def nesting_exceeds(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether the arrays and objects of JSON ``text`` nest more than ``max_depth`` deep.

    Iterative and at C speed: brackets inside strings are dropped with the strings
    (``_outside_strings``), the rest becomes ``(`` / ``)``, and each pass removes the
    innermost ``()`` pairs, i.e. one level, so at most ``max_depth`` passes over the
    brackets alone. Text that is not JSON may be judged either way; ``json.loads``
    refuses it anyway.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False
    skeleton = _NOT_BRACKET.sub("", _outside_strings(text)).translate(_BRACKETS)
    if "(" * (max_depth + 1) in skeleton:
        return True
    for _ in range(max_depth):
        reduced = skeleton.replace("()", "")
        if len(reduced) == len(skeleton):
            break
        skeleton = reduced
    return "()" in skeleton


def _outside_strings(text: str) -> str:
    """JSON ``text`` without its strings. In JSON a backslash appears only in a string,
    where it escapes the next character; dropping the escaped backslashes (``\\\\``,
    paired from the left as a reader pairs them) and then the escaped quotes leaves only
    the quotes that open and close strings, so every other piece between quotes is
    outside one. ``str.replace`` and ``split`` run at C speed: a regular expression
    matching each string took ~90 ms of a 6 MB bulk import's body, this ~10 ms."""
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    return "".join(unescaped.split('"')[::2])


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r} in an object")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json``'s ``object_pairs_hook``: the object as a dict, or ``DuplicateKey`` naming
    the first key given twice. RFC 8259 leaves such an object's meaning open and ``json``
    keeps the last value, so ``{"rating": "a", "rating": "b"}`` would be read as one thing
    by this parser and as another by whatever checked the first. ``dict`` and ``len`` run
    at C speed; only an object with a duplicate is walked again."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return found


def loads(
    text: str,
    *,
    max_depth: int = MAX_DEPTH,
    allow_constants: bool = False,
    unique_keys: bool = True,
) -> Any:
    """``json.loads`` that refuses nesting deeper than ``max_depth`` (``JsonTooDeep``),
    unless ``unique_keys`` is false a key given twice in one object at any depth
    (``DuplicateKey``, naming the key; a scraped page's JSON-LD, only a hint, keeps the
    last value instead) and, unless ``allow_constants``, the ``NaN``/``Infinity``/
    ``-Infinity`` literals, which are not JSON. Every refusal is a ``ValueError``."""
    if nesting_exceeds(text, max_depth):
        raise JsonTooDeep(max_depth)
    try:
        return _DECODERS[allow_constants, unique_keys].decode(text)
    except RecursionError:  # cannot happen below the bound; kept as a backstop
        raise JsonTooDeep(max_depth) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# Made once: ``json.loads`` with keyword arguments builds a decoder per call, which cost a
# third of a typical API body's parse (6.5 -> 5.4 us for 630 bytes). ``json`` itself
# shares one decoder between threads (``json.loads`` without arguments).
_DECODERS = {  # (allow_constants, unique_keys)
    (False, True): json.JSONDecoder(
        object_pairs_hook=_unique_keys, parse_constant=_refuse_constant
    ),
    (True, True): json.JSONDecoder(object_pairs_hook=_unique_keys),
    (False, False): json.JSONDecoder(parse_constant=_refuse_constant),
    (True, False): json.JSONDecoder(),
}
