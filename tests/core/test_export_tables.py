"""The tables of the lossless export (annotations/core/export_tables.py): each value
written by the export reads back as the same value, and writing it again gives the same
text, which is what makes a second export of a restored project byte-identical."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import auditchain, export_tables

pytestmark = pytest.mark.db_independent

aware_times = st.datetimes(
    min_value=dt.datetime(1970, 1, 1),
    max_value=dt.datetime(9000, 1, 1),
    timezones=st.sampled_from(
        [
            dt.UTC,
            dt.timezone(dt.timedelta(hours=5, minutes=30)),
            dt.timezone(-dt.timedelta(hours=8)),
        ]
    ),
)
USERS = {1: "admin", 7: "reviewer1"}
IDS = {name: pk for pk, name in USERS.items()}


@given(aware_times)
def test_a_time_reads_back_as_the_same_instant_and_writes_the_same_text(value: dt.datetime) -> None:
    text = export_tables.write_value("time", value, USERS)
    assert text == auditchain.timestamp(value)  # the form the audit chain hashes
    back = export_tables.read_value("time", text, IDS)
    assert back == value
    assert export_tables.write_value("time", back, USERS) == text


@given(st.one_of(st.none(), st.dates()))
def test_a_date_round_trips(value: dt.date | None) -> None:
    text = export_tables.write_value("date", value, USERS)
    assert export_tables.read_value("date", text, IDS) == value


@given(st.sampled_from([None, 1, 7]))
def test_an_account_is_written_by_name_and_read_back_by_id(pk: int | None) -> None:
    name = export_tables.write_value("user", pk, USERS)
    assert name == (USERS[pk] if pk is not None else None)
    assert export_tables.read_value("user", name, IDS) == pk


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        export_tables.timestamp(dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone"):
        export_tables.parse_time("2026-01-01T00:00:00")


def test_every_table_column_is_a_required_property_of_the_schema() -> None:
    """... but the columns added later (``OPTIONAL_COLUMNS``): those are properties that
    older files lack."""
    schema_path = Path(export_tables.__file__).parent.parent / "schemas"
    schema = json.loads((schema_path / "workbench-export-2.schema.json").read_text())
    assert schema["properties"]["schema"]["const"] == export_tables.SCHEMA
    for name, table in export_tables.TABLES:
        definition = schema["$defs"][name]
        columns = ["id", *(c for c, _ in table if (name, c) not in export_tables.OPTIONAL_COLUMNS)]
        assert definition["required"][: len(columns)] == columns, name
        assert definition["additionalProperties"] is False
        assert set(definition["properties"]) >= {c for c, _ in table}, name
    for name, column in export_tables.OPTIONAL_COLUMNS:
        assert column not in schema["$defs"][name]["required"]
    for column, kind in export_tables.TABLES[0][1]:
        assert export_tables.attribute(column, kind) == (
            f"{column}_id" if kind in ("user", "ref") else column
        )
