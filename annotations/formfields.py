"""Django form fields for numbers spelled as the API takes them, one home for every form
that reads one: the UI's forms (``workbench.ui.forms``), the admin's (``admin.tenancy``)
and the API's query filters (``api.filters``).

Django's ``IntegerField`` and ``FloatField`` read ``"٣"`` (Arabic-Indic three), a full-width
three, ``"+2"``, ``" 2"``, ``"2.0"`` and ``"1_0"`` as numbers, where a request body refuses
them; these fields refuse them before the conversion, in the API's words
(``core.numbers``). Empty is no value (the field's ``required`` decides; a filter with no
value filters nothing); ranges and widgets are Django's.
"""

from __future__ import annotations

from typing import Any

from django import forms

from annotations.core.numbers import (
    NOT_ASCII_NUMBER,
    NOT_ASCII_WHOLE_NUMBER,
    spelled_as_whole_number,
    spelled_in_ascii,
)


class AsciiIntegerField(forms.IntegerField):
    """A whole number in ASCII digits, a ``-`` only below zero
    (``core.numbers.spelled_as_whole_number``)."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and value != "" and not spelled_as_whole_number(value):
            raise forms.ValidationError(NOT_ASCII_WHOLE_NUMBER, code="invalid")
        return super().to_python(value)


class AsciiFloatField(forms.FloatField):
    """A number in ASCII, no ``_`` and no spaces around it (``core.numbers.spelled_in_ascii``);
    what ``float()`` then reads of it (``"0.5"``, ``"+0.5"``, ``"5e-1"``) is read as the API
    reads it."""

    def to_python(self, value: Any) -> float | None:
        if isinstance(value, str) and value != "" and not spelled_in_ascii(value):
            raise forms.ValidationError(NOT_ASCII_NUMBER, code="invalid")
        return super().to_python(value)
