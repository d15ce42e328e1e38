"""api.serializers.InputSerializer: a body's number fields given as text take the spelling
``core.numbers`` words (its own tests: tests/core/test_numbers.py), and a JSON float is no
whole number (no database)."""

from __future__ import annotations

import pytest
from rest_framework import serializers as rf_serializers

from annotations.api import serializers as s

pytestmark = pytest.mark.db_independent


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
