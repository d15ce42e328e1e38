"""``serializers.instant``, the API's times written by hand on the hot paths (a claim, a
document read with its claims): exactly what ``serializers.DateTimeField`` writes, for any
aware time in any current time zone (no database)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from annotations.api.serializers import current_zone, instant

pytestmark = pytest.mark.db_independent

ZONES = ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham"]


@given(
    moment=st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.sampled_from([dt.UTC, *(zoneinfo.ZoneInfo(z) for z in ZONES)])
    ),
    current=st.sampled_from(ZONES),
)  # fmt: skip
def test_instant_writes_what_the_datetime_field_writes(moment: dt.datetime, current: str) -> None:
    with timezone.override(current):
        expected = serializers.DateTimeField().to_representation(moment)
        assert instant(moment) == expected
        # the zone looked up once by a caller that writes many times (claim_data's)
        assert instant(moment, zone=current_zone()) == expected


def test_utc_ends_in_z_and_nothing_is_none() -> None:
    moment = dt.datetime(2026, 12, 6, 21, 38, 10, 123456, tzinfo=dt.UTC)
    with timezone.override("UTC"):
        assert instant(moment) == "2026-12-06T21:38:10.123456Z"
    with timezone.override("Europe/Berlin"):
        assert instant(moment) == "2026-12-06T22:38:10.123456+01:00"
    assert instant(None) is None
