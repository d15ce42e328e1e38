"""api.serializers.spelled_as_whole_number, the one rule for a whole number given as text
(a body's integer field, an id filter, ``int_param``, ``page_size``, a suggestion's
``limit``): exactly the text of a whole number in ASCII digits (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers as rf_serializers

from annotations.api import serializers as s

pytestmark = pytest.mark.db_independent


@given(st.integers())
def test_every_whole_number_as_python_writes_it_is_taken(number: int) -> None:
    assert s.spelled_as_whole_number(str(number))
    assert s.spelled_as_whole_number("0" + str(abs(number)))  # leading zeros, as in a URL


@given(st.text(max_size=12))
def test_what_it_takes_is_ascii_digits_after_at_most_a_minus_on_a_negative(text: str) -> None:
    if s.spelled_as_whole_number(text):
        digits = text.removeprefix("-")
        assert digits and all(c in "0123456789" for c in digits)
        assert int(text) < 0 if text.startswith("-") else int(text) >= 0


@given(
    st.integers(min_value=0),
    st.sampled_from([" {}", "{} ", "\t{}", "{}\n", "+{}", "{}.0", "{}.", "1_{}", "{}e0", "-0"]),
)
def test_what_int_or_a_number_field_would_also_read_is_refused(number: int, form: str) -> None:
    assert not s.spelled_as_whole_number(form.format(number))


@given(st.integers(min_value=-(10**19) + 1, max_value=10**19 - 1))
def test_a_whole_number_reads_as_the_number_it_spells(number: int) -> None:
    assert s.whole_number(str(number)) == number


@given(st.integers(min_value=20, max_value=6000), st.booleans())
def test_more_digits_than_any_column_read_as_past_every_column(digits: int, below: bool) -> None:
    # int() refuses more than 4,300 digits; the range checks only need "past 2**63".
    text = ("-" if below else "") + "9" * digits
    assert s.whole_number(text) == (-(10**19) if below else 10**19)
    assert s.whole_number(" 5") is None and s.whole_number("5.0") is None


@pytest.mark.parametrize(
    "text", ["", "-", "\u0663", "\uff13", "1\u0663", "\u00b2", "0x10", "1,000", "--1", "-00"]
)
def test_other_scripts_digits_and_other_spellings_are_refused(text: str) -> None:
    assert not s.spelled_as_whole_number(text)


@given(st.floats(allow_nan=False) | st.decimals(allow_nan=False).map(str))
def test_a_decimal_field_takes_no_spaces_around_the_number(number: float | str) -> None:
    text = str(number)
    assert s.spelled_in_ascii(text)
    assert not s.spelled_in_ascii(f" {text}") and not s.spelled_in_ascii(f"{text}\n")


class _Numbers(s.InputSerializer):
    ids = rf_serializers.ListField(child=rf_serializers.IntegerField(), required=False)
    count = rf_serializers.IntegerField(required=False, min_value=0)
    share = rf_serializers.FloatField(required=False)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"count": " 5"}, {"count": [s.NOT_ASCII_WHOLE_NUMBER]}),
        ({"count": 5.0}, {"count": [s.NOT_WHOLE_NUMBER]}),
        ({"share": " 0.5"}, {"share": [s.NOT_ASCII_NUMBER]}),
        (
            {"ids": [1, "2.0", 3.0]},
            {"ids": {1: [s.NOT_ASCII_WHOLE_NUMBER], 2: [s.NOT_WHOLE_NUMBER]}},
        ),
    ],
)
def test_an_input_serializer_refuses_each_misspelled_number(body: dict, errors: dict) -> None:
    serializer = _Numbers(data=body)
    assert not serializer.is_valid()
    assert serializer.errors == errors


def test_an_input_serializer_reads_numbers_spelled_as_json_spells_them() -> None:
    serializer = _Numbers(data={"ids": ["1", 2], "count": "5", "share": "0.5"})
    assert serializer.is_valid(), serializer.errors
    assert dict(serializer.validated_data) == {"ids": [1, 2], "count": 5, "share": 0.5}
    # A negative is the field's own range to refuse, in its own words.
    serializer = _Numbers(data={"count": "-1"})
    assert not serializer.is_valid()
    assert "greater than or equal to 0" in str(serializer.errors["count"])
