"""Django form fields for numbers spelled as the API takes them, one home for every form
that reads one: the UI's forms (``workbench.ui.forms``), the admin's (``admin.tenancy``)
and the API's query filters (``api.filters``); a row chosen by its integer id
(``AsciiModelChoiceField``, ``AsciiModelMultipleChoiceField``); a formset's management
form (``AsciiManagementFormMixin``).

Django's ``IntegerField`` and ``FloatField`` read ``"٣"`` (Arabic-Indic three), a full-width
three, ``"+2"``, ``" 2"``, ``"2.0"`` and ``"1_0"`` as numbers, where a request body refuses
them; these fields refuse them before the conversion, in the API's words
(``core.numbers``). Empty is no value (the field's ``required`` decides; a filter with no
value filters nothing); ranges and widgets are Django's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.forms.formsets import (
    INITIAL_FORM_COUNT,
    MAX_NUM_FORM_COUNT,
    MIN_NUM_FORM_COUNT,
    TOTAL_FORM_COUNT,
    ManagementForm,
)
from django.utils.functional import cached_property

from annotations.core.numbers import (
    MAX_ID,
    NOT_ASCII_NUMBER,
    NOT_ASCII_WHOLE_NUMBER,
    spelled_as_whole_number,
    spelled_in_ascii,
    whole_number,
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


def not_an_id(text: str) -> bool:
    """Whether ``text`` is no integer id: not ASCII digits (a ``-`` only below zero), or past
    every column (such text would reach the database: SQLite fails on it)."""
    number = whole_number(text)
    return number is None or abs(number) > MAX_ID


def integer_key(field: models.Field[Any, Any]) -> bool:
    """Whether ``field`` (a primary key, or a ``to_field_name`` column) holds integers: a
    one-to-one primary key is its target's."""
    while field.is_relation:
        field = field.target_field
    return isinstance(field, models.IntegerField)


class _AsciiIdMixin:
    """What the two model choice fields share: whether their key (the primary key, or the
    ``to_field_name`` column) is an integer, and so whether a text given for it must be
    spelled as an id (``core.numbers``)."""

    queryset: Any
    to_field_name: str | None

    def _integer_key(self) -> bool:
        meta = self.queryset.model._meta
        return integer_key(meta.get_field(self.to_field_name) if self.to_field_name else meta.pk)

    def _not_an_id(self, value: Any) -> bool:
        """Whether ``value`` is text no integer key reads as an id (``not_an_id``)."""
        if not isinstance(value, str) or value == "" or not self._integer_key():
            return False
        return not_an_id(value)

    def _shown(self, value: Any) -> Any:
        """The posted value as a widget shows it again: an id, or nothing for text that is
        none (a select or autocomplete widget looks the selected value up)."""
        if isinstance(value, (list, tuple)):
            return [item for item in value if not self._not_an_id(item)]
        return None if self._not_an_id(value) else value


class AsciiModelChoiceField(_AsciiIdMixin, forms.ModelChoiceField):
    """A row chosen by its integer id in ASCII digits (``core.numbers.whole_number``);
    ``"٦"``, a full-width six, ``"+6"``, ``" 6"`` and ``"6.0"`` are an invalid choice, as
    ``"abc"`` is, where ``ModelChoiceField`` reads the first ones as 6. The page shown again
    keeps no such text selected. A key that is not an integer is Django's to read."""

    def to_python(self, value: Any) -> Any:
        if self._not_an_id(value):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        return self._shown(super().bound_data(data, initial))


class AsciiModelMultipleChoiceField(_AsciiIdMixin, forms.ModelMultipleChoiceField):
    """Rows chosen by their integer ids, each in ASCII digits (``AsciiModelChoiceField``);
    any other spelling is an invalid choice."""

    def _check_values(self, value: Any) -> Any:
        for item in value:
            if self._not_an_id(item):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
        return super()._check_values(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        return self._shown(super().bound_data(data, initial))


class AsciiManagementForm(ManagementForm):
    """A formset's management form whose counts are whole numbers in ASCII digits: any other
    spelling makes it invalid, and the formset then says its "ManagementForm data is missing
    or has been tampered with" and validates no row."""

    TOTAL_FORMS = AsciiIntegerField(widget=forms.HiddenInput)
    INITIAL_FORMS = AsciiIntegerField(widget=forms.HiddenInput)
    MIN_NUM_FORMS = AsciiIntegerField(required=False, widget=forms.HiddenInput)
    MAX_NUM_FORMS = AsciiIntegerField(required=False, widget=forms.HiddenInput)


class AsciiManagementFormMixin:
    """For a formset class (before ``BaseFormSet`` in its bases): its management form is an
    ``AsciiManagementForm`` (``BaseFormSet.management_form``, with that form)."""

    @cached_property
    def management_form(self) -> ManagementForm:
        formset: Any = self
        if formset.is_bound:
            form = AsciiManagementForm(
                formset.data,
                auto_id=formset.auto_id,
                prefix=formset.prefix,
                renderer=formset.renderer,
            )
            form.full_clean()
            return form
        return AsciiManagementForm(
            auto_id=formset.auto_id,
            prefix=formset.prefix,
            initial={
                TOTAL_FORM_COUNT: formset.total_form_count(),
                INITIAL_FORM_COUNT: formset.initial_form_count(),
                MIN_NUM_FORM_COUNT: formset.min_num,
                MAX_NUM_FORM_COUNT: formset.max_num,
            },
            renderer=formset.renderer,
        )
