"""api.serializers.documents_plain: the bulk import's fast path accepts only what
``DocumentCreateSerializer(many=True)`` accepts, with the same values, and takes the
common bulk body (no database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.api import serializers as s
from annotations.services import limits

pytestmark = pytest.mark.db_independent


def serializer_result(data: list[Any]) -> list[dict[str, Any]] | None:
    """Reference: the serializer's validated items, or None when it refuses the body."""
    serializer = s.DocumentCreateSerializer(data=data, many=True)
    if not serializer.is_valid():
        return None
    return [dict(item) for item in serializer.validated_data]


def around(limit: int) -> st.SearchStrategy[str]:
    """Texts at and just over ``limit`` characters, some padded with spaces (trimmed)."""
    return st.sampled_from([limit - 1, limit, limit + 1]).flatmap(
        lambda n: st.sampled_from(["a" * n, " " + "é" * n + " ", "\t" + "b" * (n - 1) + "\n"])
    )


odd_texts = st.sampled_from(
    ["", " ", "\n\t", " x ", "a\x00b", "\x00", "bad \ud800 text", "\udfff", "ok ✓", "٣"]
)
texts = st.text(max_size=30) | odd_texts
# Anything a JSON body can hold, and then some that DRF coerces (numbers to strings).
others = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
dates = st.sampled_from(
    [
        "2024-01-02",
        "2024-1-2",
        "20240102",
        "2024-02-30",
        "2024-W01-1",
        "2024-01-02T10:00:00",
        " 2024-01-02",
        "2024-01-02 ",
        "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0662",  # Arabic-Indic digits
        "0000-01-01",
        "9999-12-31",
        "",
    ]
) | st.dates().map(dt.date.isoformat)
projects = st.integers(min_value=-5, max_value=2**64) | st.sampled_from(["1", "1.0", " 2 ", "x"])
directions = st.sampled_from(["ltr", "rtl", "auto", "", "LTR", " ltr", "sideways"])

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "project": projects | others,
    "title": texts | around(limits.MAX_TITLE) | others,
    "text": texts | others,
    "source_url": texts | around(limits.MAX_URL) | others,
    "publisher": texts | around(limits.MAX_PUBLISHER) | others,
    "author": texts | around(limits.MAX_AUTHOR) | others,
    "published_date": dates | others,
    "language": texts | around(limits.MAX_LANGUAGE) | st.just("en") | others,
    "direction": directions | others,
    "id": st.integers(),  # read-only on the resource: refused
    "Text": texts,  # unknown
}

items = st.fixed_dictionaries({}, optional=FIELD_VALUES) | st.builds(
    lambda project, title, text, extra: {"project": project, "title": title, "text": text, **extra},
    projects,
    texts,
    texts,
    st.fixed_dictionaries(
        {},
        optional={name: FIELD_VALUES[name] for name in FIELD_VALUES if name not in ("id", "Text")},
    ),
)
bodies = st.lists(items | others, min_size=1, max_size=4)


@settings(max_examples=600, deadline=None)
@given(body=bodies)
def test_it_accepts_only_what_the_serializer_accepts_with_the_same_values(
    body: list[Any],
) -> None:
    plain = s.documents_plain(body)
    if plain is not None:
        assert plain == serializer_result(body)


# Items every field of which the fast path takes: the common bulk body.
storable = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
plain_items = st.builds(
    lambda project, title, text, extra: {"project": project, "title": title, "text": text, **extra},
    st.integers(min_value=1, max_value=2**31),
    st.text(storable, min_size=1, max_size=40).filter(str.strip),
    st.text(storable, min_size=1, max_size=200),
    st.fixed_dictionaries(
        {},
        optional={
            "source_url": st.sampled_from(["", "https://example.org/a", " http://x.test/ "]),
            "publisher": st.text(storable, max_size=limits.MAX_PUBLISHER),
            "author": st.text(storable, max_size=20),
            "published_date": st.none() | st.dates().map(dt.date.isoformat),
            "language": st.sampled_from(["", "en", "pt-BR", "  ar "]),
            "direction": st.sampled_from(["ltr", "rtl", "auto"]),
        },
    ),
)


@settings(max_examples=300, deadline=None)
@given(body=st.lists(plain_items, min_size=1, max_size=5))
def test_plain_items_take_the_fast_path_with_the_serializers_values(body: list[Any]) -> None:
    assert s.documents_plain(body) == serializer_result(body)
    assert s.documents_plain(body) is not None


def test_the_peer_workloads_body_takes_the_fast_path() -> None:
    body = [{"project": 7, "title": f"Peer doc {i:06d}", "text": f"Text {i}\n"} for i in range(3)]
    assert s.documents_plain(body) == [
        {"project": 7, "title": f"Peer doc {i:06d}", "text": f"Text {i}\n"} for i in range(3)
    ]


GOOD = {"project": 7, "title": "T", "text": "x"}


@pytest.mark.parametrize(
    "odd",
    [
        {**GOOD, "project": "7"},  # the serializer coerces it
        {**GOOD, "project": True},
        {**GOOD, "title": " "},
        {**GOOD, "title": "x" * (limits.MAX_TITLE + 1)},
        {**GOOD, "text": ""},
        {**GOOD, "text": "a\x00b"},
        {**GOOD, "author": "\ud800"},
        {**GOOD, "published_date": "2024-02-30"},
        {**GOOD, "direction": ""},
        {**GOOD, "language": None},
        {**GOOD, "id": 3},
        {"project": 7, "title": "T"},
        "text",
        None,
    ],
)
def test_one_odd_item_sends_the_whole_body_to_the_serializer(odd: Any) -> None:
    assert s.documents_plain([GOOD, odd]) is None


def test_the_fast_path_reads_the_serializers_fields() -> None:
    shape = s._plain_shape_of(s.DocumentCreateSerializer)
    assert shape is not None
    fields = shape.fields
    assert set(fields) == set(s.DocumentCreateSerializer().fields)
    assert {field.kind for field in fields.values()} == {"int", "str", "date", "choice"}
    assert fields["title"].max_length == limits.MAX_TITLE
    assert fields["text"].trim is False
    assert fields["direction"].choices == {"ltr", "rtl", "auto"}
