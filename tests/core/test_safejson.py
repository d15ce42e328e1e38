"""core.safejson: JSON with its nesting bounded, judged without recursion."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.core import safejson

pytestmark = pytest.mark.db_independent


def depth(value: Any) -> int:
    """Reference: how deep arrays and objects nest (a scalar is 0)."""
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


# Strings full of brackets, quotes and backslashes: they must not count as nesting.
tricky_text = st.text(alphabet='[]{}"\\,:ab \u2028', max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(min_value=0, max_value=8), indent=st.booleans())
def test_nesting_is_judged_like_the_reference(value: Any, limit: int, indent: bool) -> None:
    text = json.dumps(value, indent=1 if indent else None, ensure_ascii=False)
    assert safejson.nesting_exceeds(text, limit) == (depth(value) > limit)
    if depth(value) <= limit:
        assert safejson.loads(text, max_depth=limit) == value
    else:
        with pytest.raises(safejson.JsonTooDeep):
            safejson.loads(text, max_depth=limit)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # the probe's body
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        "[" * 100_000,  # unterminated
        '[{"a": [' * 30 + "]}]" * 30,  # alternating, 90 levels
    ],
    ids=["arrays", "objects", "unterminated", "alternating"],
)
def test_deep_input_is_a_value_error_never_a_recursion_error(text: str) -> None:
    with pytest.raises(ValueError, match="nested more than 64 levels deep"):
        safejson.loads(text)


def test_the_bound_itself_is_allowed_and_one_more_is_not() -> None:
    assert safejson.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(safejson.JsonTooDeep):
        safejson.loads("[" * 65 + "]" * 65)


def test_wide_input_is_not_deep() -> None:
    text = "[" + ",".join(["[[1]]"] * 200_000) + "]"
    assert len(safejson.loads(text)) == 200_000


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "[1, NaN]"])
def test_nan_and_infinity_are_refused_unless_asked_for(literal: str) -> None:
    with pytest.raises(ValueError, match="is not a JSON value"):
        safejson.loads(literal)
    safejson.loads(literal, allow_constants=True)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"rating": "a", "rating": "b"}', "rating"),
        ('{"a": 1, "b": 2, "a": 1}', "a"),  # the same value twice is still twice
        ('{"a": 1, "\\u0061": 2}', "a"),  # an escape spells the same key
        ('{"citations": [{"url": "x", "stance": "s", "url": "y"}]}', "url"),
        ("[" * 40 + '{"k": {"deep": 1, "deep": 2}}' + "]" * 40, "deep"),
    ],
)
def test_a_key_given_twice_is_refused_at_any_depth(text: str, key: str) -> None:
    with pytest.raises(safejson.DuplicateKey, match=f"duplicate key '{key}'") as caught:
        safejson.loads(text)
    assert caught.value.key == key
    assert isinstance(caught.value, ValueError)


def test_duplicates_may_be_let_through_where_json_is_only_a_hint() -> None:
    # A scraped page's JSON-LD: the last value wins, as json.loads has it.
    assert safejson.loads('{"a": 1, "a": 2}', unique_keys=False) == {"a": 2}
    assert safejson.loads('{"a": NaN, "a": 2}', unique_keys=False, allow_constants=True)
    with pytest.raises(ValueError, match="is not a JSON value"):
        safejson.loads('{"a": NaN}', unique_keys=False)


def test_the_same_key_in_different_objects_is_not_a_duplicate() -> None:
    assert safejson.loads('[{"a": 1}, {"a": 2, "b": {"a": 3}}]') == [
        {"a": 1},
        {"a": 2, "b": {"a": 3}},
    ]


def test_other_errors_stay_json_errors() -> None:
    for text in ("", "{", '{"a": 1,}', "[1] [2]", '"\\x"'):
        with pytest.raises(json.JSONDecodeError):
            safejson.loads(text)


# The reference for which parts of JSON text are strings: one regular expression per
# string (what nesting_exceeds used before, slower on large bodies).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


@settings(max_examples=300, deadline=None)
@given(value=json_values, ascii_only=st.booleans())
def test_what_is_outside_strings_is_what_the_string_pattern_leaves(
    value: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert safejson._outside_strings(text) == _STRING.sub("", text)
