"""One spelling of a number given as text, everywhere (``core.numbers``): the web UI's form
fields and the admin's (``annotations.formfields``) take exactly the strings the API's serializers take, read as the
same value, and refuse the others in the API's words. Every number field the UI's forms
declare is such a field (no database)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework import serializers as rf_serializers

from annotations.admin import claims as admin_claims
from annotations.api import serializers as s
from annotations.core.numbers import NOT_ASCII_NUMBER, NOT_ASCII_WHOLE_NUMBER
from annotations.formfields import AsciiFloatField, AsciiIntegerField
from workbench.ui import forms as ui_forms

pytestmark = pytest.mark.db_independent

# Digits of several scripts (ASCII, Arabic-Indic, extended Arabic-Indic, Devanagari,
# Bengali, Thai, full-width, mathematical bold; superscripts int() does not read), signs
# (ASCII and the minus sign), spaces (ASCII, no-break, em), dots, "_", exponents, commas.
_ZEROS = (0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0xFF10, 0x1D7CE)
ALPHABET = (
    "".join(chr(zero + digit) for zero in _ZEROS for digit in range(10))
    + "\u00b2\u00b3"
    + "+-\u2212"
    + " \t\n\u00a0\u2003"
    + "._eE,"
)
NUMBERISH = (
    st.text(alphabet=ALPHABET, max_size=10)
    | st.integers(min_value=-(10**6), max_value=10**6).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(str)
    | st.sampled_from(["inf", "-inf", "nan", "Infinity", "1e400", "0x10", "1_000", "-0", "+0"])
)
MISSPELLED_WHOLE = ["\u0663", "\uff13", "+2", " 2", "2 ", "2.0", "1e1", "1_0", "-0"]
MISSPELLED_DECIMAL = ["\u0663", "\uff13", " 0.6", "0.6 ", "0_6", "\u0660.\u0666"]


def examples(*texts: str) -> Any:
    """Hypothesis ``@example`` for each of ``texts``."""

    def apply(test: Any) -> Any:
        for text in texts:
            test = example(text)(test)
        return test

    return apply


def _field_reads(field: forms.Field, text: str) -> tuple[bool, Any]:
    try:
        return True, field.clean(text)
    except ValidationError:
        return False, None


def _serializer_reads(serializer_class: type[s.InputSerializer], text: str) -> tuple[bool, Any]:
    serializer = serializer_class(data={"n": text}, partial=True)
    if serializer.is_valid():
        return True, serializer.validated_data["n"]
    assert set(serializer.errors) == {"n"}, serializer.errors
    return False, None


class _ApiWhole(s.InputSerializer):
    n = rf_serializers.IntegerField()


class _ApiDecimal(s.InputSerializer):
    n = rf_serializers.FloatField()


@given(NUMBERISH)
@examples("\u0663", "\uff13", "+2", " 2", "2.0", "1e1", "", "2", "-2")
def test_a_ui_integer_field_takes_what_the_api_takes_as_the_same_number(text: str) -> None:
    api = _serializer_reads(_ApiWhole, text)
    assert _field_reads(AsciiIntegerField(), text) == api


@given(NUMBERISH)
@examples("\u0663", "\uff13", "+0.5", " 0.5", "1e1", "", "0.5", "inf", "1_0")
def test_a_ui_number_field_takes_what_the_api_takes_as_the_same_number(text: str) -> None:
    api = _serializer_reads(_ApiDecimal, text)
    assert _field_reads(AsciiFloatField(), text) == api


# The members page's settings and the API's project update: the same fields, the same bounds.
SETTINGS = [
    (ui_forms.ReviewPolicyForm, "required_reviews"),
    (ui_forms.ReviewPolicyForm, "majority_threshold"),
    (ui_forms.ReviewPolicyForm, "lease_minutes"),
    (ui_forms.GoldRateForm, "gold_rate"),
    (ui_forms.EvidencePolicyForm, "min_citations"),
]


@pytest.mark.parametrize(("form_class", "name"), SETTINGS)
def test_the_members_page_takes_what_the_api_takes_for_a_project(
    form_class: type[forms.Form], name: str
) -> None:
    @given(NUMBERISH | st.integers(min_value=-5, max_value=60).map(str))
    @examples("3", "0.6", "+0.6", "\u0663", "+3")
    def check(text: str) -> None:
        serializer = s.ProjectUpdateSerializer(data={name: text}, partial=True)
        api = (True, serializer.validated_data[name]) if serializer.is_valid() else (False, None)
        assert _field_reads(form_class.base_fields[name], text) == api

    check()


def _number_fields() -> list[tuple[str, str, forms.Field]]:
    found = []
    for form_name, form_class in inspect.getmembers(ui_forms, inspect.isclass):
        if issubclass(form_class, forms.BaseForm) and form_class.__module__ == ui_forms.__name__:
            for name, field in form_class.base_fields.items():
                if isinstance(field, forms.IntegerField):  # FloatField is one too
                    found.append((form_name, name, field))
    found += [
        ("admin ClaimForm", name, field)
        for name, field in admin_claims.ClaimForm.base_fields.items()
        if isinstance(field, forms.IntegerField)
    ]
    return found


NUMBER_FIELDS = _number_fields()


def test_every_number_field_of_the_forms_is_spelled_as_the_api_spells_it() -> None:
    assert len(NUMBER_FIELDS) >= 15  # start/end (x3 forms, + dismiss), versions, index, …
    for form_name, name, field in NUMBER_FIELDS:
        assert isinstance(field, (AsciiIntegerField, AsciiFloatField)), (
            f"{form_name}.{name} is a plain {type(field).__name__}"
        )


@pytest.mark.parametrize(
    ("form_name", "name", "field"), NUMBER_FIELDS, ids=[f"{f}.{n}" for f, n, _ in NUMBER_FIELDS]
)
def test_each_number_field_refuses_other_spellings_in_the_api_words(
    form_name: str, name: str, field: forms.Field
) -> None:
    decimal = isinstance(field, forms.FloatField)
    message = NOT_ASCII_NUMBER if decimal else NOT_ASCII_WHOLE_NUMBER
    for text in MISSPELLED_DECIMAL if decimal else MISSPELLED_WHOLE:
        with pytest.raises(ValidationError) as refused:
            field.clean(text)
        assert refused.value.messages == [message], (text, refused.value.messages)
    if field.required:
        with pytest.raises(ValidationError) as refused:
            field.clean("")
        assert refused.value.messages == ["This field is required."]
    # ASCII digits in the field's range are read.
    low = field.min_value if field.min_value is not None else 0
    assert field.clean(str(low)) == low
