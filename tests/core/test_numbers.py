"""core.numbers: the one rule for a number given as text, in the API (a body's number
fields, an id filter, ``int_param``, ``page_size``, a suggestion's ``limit``, ``If-Match``)
and in the UI's and the admin's forms: exactly the text of a whole number in ASCII digits,
or a number in ASCII without spaces around it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import numbers

pytestmark = pytest.mark.db_independent


@given(st.integers())
def test_every_whole_number_as_python_writes_it_is_taken(number: int) -> None:
    assert numbers.spelled_as_whole_number(str(number))
    assert numbers.spelled_as_whole_number("0" + str(abs(number)))  # leading zeros, as in a URL


@given(st.text(max_size=12))
def test_what_it_takes_is_ascii_digits_after_at_most_a_minus_on_a_negative(text: str) -> None:
    if numbers.spelled_as_whole_number(text):
        digits = text.removeprefix("-")
        assert digits and all(c in "0123456789" for c in digits)
        assert int(text) < 0 if text.startswith("-") else int(text) >= 0


@given(
    st.integers(min_value=0),
    st.sampled_from([" {}", "{} ", "\t{}", "{}\n", "+{}", "{}.0", "{}.", "1_{}", "{}e0", "-0"]),
)
def test_what_int_or_a_number_field_would_also_read_is_refused(number: int, form: str) -> None:
    assert not numbers.spelled_as_whole_number(form.format(number))


@given(st.integers(min_value=-(10**19) + 1, max_value=10**19 - 1))
def test_a_whole_number_reads_as_the_number_it_spells(number: int) -> None:
    assert numbers.whole_number(str(number)) == number


@given(st.integers(min_value=20, max_value=6000), st.booleans())
def test_more_digits_than_any_column_read_as_past_every_column(digits: int, below: bool) -> None:
    # int() refuses more than 4,300 digits; the range checks only need "past 2**63".
    text = ("-" if below else "") + "9" * digits
    assert numbers.whole_number(text) == (-(10**19) if below else 10**19)
    assert numbers.whole_number(" 5") is None and numbers.whole_number("5.0") is None


@pytest.mark.parametrize(
    "text", ["", "-", "\u0663", "\uff13", "1\u0663", "\u00b2", "0x10", "1,000", "--1", "-00"]
)
def test_other_scripts_digits_and_other_spellings_are_refused(text: str) -> None:
    assert not numbers.spelled_as_whole_number(text)


@given(st.floats(allow_nan=False) | st.decimals(allow_nan=False).map(str))
def test_a_decimal_field_takes_no_spaces_around_the_number(number: float | str) -> None:
    text = str(number)
    assert numbers.spelled_in_ascii(text)
    assert not numbers.spelled_in_ascii(f" {text}") and not numbers.spelled_in_ascii(f"{text}\n")
