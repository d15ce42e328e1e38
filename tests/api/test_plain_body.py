"""api.serializers.plain_body, the request bodies' fast path (``views._common.parse_body``):
for every input serializer of the API it accepts only what the serializer accepts, with
the same values, and the hot paths' bodies (a verdict with its citations, the queue's next
lease, a span claim) take it (no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers as rf

import annotations.api.serializers_discussion
import annotations.api.serializers_matching
import annotations.api.views.imports  # noqa: F401  (its input serializer)
from annotations.api import serializers as s
from annotations.services import limits
from tests.api import test_documents_plain as documents_plain

pytestmark = pytest.mark.db_independent


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


INPUT_SERIALIZERS = sorted(
    {c for c in _subclasses(s.InputSerializer) if c.__module__.startswith("annotations.")},
    key=lambda c: (c.__module__, c.__qualname__),
)


def plain(value: Any) -> Any:
    """Validated data as plain dicts and lists (DRF may answer ordered dicts)."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def serializer_result(serializer_class: type[s.InputSerializer], data: Any) -> Any:
    """Reference: the serializer's validated data, or None when it refuses the body."""
    serializer = serializer_class(data=data)
    return plain(serializer.validated_data) if serializer.is_valid() else None


# The bulk import's strategies (its own fast path's tests), and a number's text besides.
odd_texts = documents_plain.odd_texts | st.just("7")
others = documents_plain.others | odd_texts
around = documents_plain.around


def values_for(field: rf.Field, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for ``field``: of its own kind, at its limits, and anything else."""
    if isinstance(field, rf.ListSerializer):
        if depth > 1:
            return others
        return st.lists(body_for(field.child, depth + 1) | others, max_size=3) | (
            st.lists(body_for(field.child, depth + 1), min_size=field.max_length or 0).map(
                lambda items: items * 2
            )
            if field.max_length
            else others
        )
    if isinstance(field, rf.IntegerField):
        return st.integers(min_value=-3, max_value=2**64) | st.sampled_from(["1", " 2", "1.0"])
    if isinstance(field, rf.ChoiceField):
        return st.sampled_from([*field.choices, "", " " + str(next(iter(field.choices)))])
    if isinstance(field, rf.DateField):
        return st.dates().map(dt.date.isoformat) | st.sampled_from(
            ["2024-02-30", "20240102", " 2024-01-02", "2024-01-02T10:00:00"]
        )
    if isinstance(field, rf.CharField):
        texts = st.text(max_size=12) | odd_texts
        return texts | around(field.max_length) if field.max_length else texts
    return others


def body_for(serializer: rf.Serializer, depth: int = 0) -> st.SearchStrategy[Any]:
    fields = {name: f for name, f in serializer.fields.items()}
    values = {name: values_for(f, depth) for name, f in fields.items()}
    required = {name: values[name] for name, f in fields.items() if f.required}
    optional = {name: values[name] for name, f in fields.items() if not f.required}
    return st.fixed_dictionaries(required, optional=optional) | st.fixed_dictionaries(
        {}, optional={**values, "id": st.integers(), "Unknown": st.text(max_size=3)}
    )


@pytest.mark.parametrize("serializer_class", INPUT_SERIALIZERS, ids=lambda c: c.__qualname__)
def test_it_accepts_only_what_the_serializer_accepts_with_the_same_values(
    serializer_class: type[s.InputSerializer],
) -> None:
    @settings(max_examples=150, deadline=None)
    @given(body_for(serializer_class()) | others)
    def check(body: Any) -> None:
        fast = s.plain_body(serializer_class, body)
        if fast is not None:
            assert plain(fast) == serializer_result(serializer_class, body)

    check()


URLS = st.sampled_from(["https://example.org/a", " http://x.test/b ", "https://e.test/?q=1"])
QUOTES = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=30)
citations = st.lists(
    st.fixed_dictionaries(
        {"stance": st.sampled_from(["supports", "refutes", "context"])},
        optional={"quote": QUOTES},
    ).flatmap(
        lambda c: st.one_of(
            st.just({**c, "url": "https://example.org/r"}),
            URLS.map(lambda url: {**c, "url": url}),
            st.integers(min_value=1, max_value=2**31).map(lambda i: {**c, "source": i}),
        )
    ),
    max_size=limits.MAX_CITATIONS,
)
verdicts = st.fixed_dictionaries(
    {
        "rating": st.sampled_from(["true", "false", "mostly-true", " misleading "]),
        "confidence": st.sampled_from(["low", "medium", "high"]),
    },
    optional={"rationale": QUOTES, "citations": citations},
)


@settings(max_examples=300, deadline=None)
@given(verdicts)
def test_a_verdicts_body_takes_the_fast_path_with_the_serializers_values(body: Any) -> None:
    fast = s.plain_body(s.VerdictCreateSerializer, body)
    assert fast is not None
    assert plain(fast) == serializer_result(s.VerdictCreateSerializer, body)


def test_the_hot_paths_bodies_take_the_fast_path() -> None:
    assert s.plain_body(s.QueueNextSerializer, {"project": 3}) == {"project": 3}
    span = {"document": 4, "start": 10, "end": 30, "statement": " s ", "exact": " crime "}
    assert s.plain_body(s.ClaimCreateSerializer, span) == {**span, "statement": "s"}
    verdict = {
        "rating": "true",
        "confidence": "high",
        "rationale": " Checked. ",
        "citations": [{"url": " https://example.org/r/1 ", "quote": " q ", "stance": "supports"}],
    }
    assert s.plain_body(s.VerdictCreateSerializer, verdict) == {
        **verdict,
        "citations": [{"url": "https://example.org/r/1", "quote": " q ", "stance": "supports"}],
    }


GOOD_CITATION = {"url": "https://example.org/r", "stance": "supports"}
GOOD_VERDICT = {"rating": "true", "confidence": "high", "citations": [GOOD_CITATION]}


@pytest.mark.parametrize(
    "odd",
    [
        {**GOOD_VERDICT, "citations": [{"stance": "supports"}]},  # names no source
        {**GOOD_VERDICT, "citations": [{**GOOD_CITATION, "url": " "}]},  # blank: no source
        {**GOOD_VERDICT, "citations": [{**GOOD_CITATION, "source": None, "url": ""}]},
        {**GOOD_VERDICT, "citations": [GOOD_CITATION] * (limits.MAX_CITATIONS + 1)},
        {**GOOD_VERDICT, "citations": [{**GOOD_CITATION, "stance": "agrees"}]},
        {**GOOD_VERDICT, "citations": [{**GOOD_CITATION, "source": "3"}]},  # coerced by DRF
        {**GOOD_VERDICT, "citations": [{**GOOD_CITATION, "id": 3}]},
        {**GOOD_VERDICT, "citations": GOOD_CITATION},
        {**GOOD_VERDICT, "citations": None},
        {**GOOD_VERDICT, "rating": "x" * 41},
        {**GOOD_VERDICT, "rating": 1},  # coerced to "1" by DRF
        {**GOOD_VERDICT, "confidence": "HIGH"},
        {**GOOD_VERDICT, "rationale": "a\x00b"},
        {"confidence": "high"},
        [GOOD_VERDICT],
    ],
)
def test_an_odd_verdict_goes_to_the_serializer(odd: Any) -> None:
    assert s.plain_body(s.VerdictCreateSerializer, odd) is None


def test_the_fast_path_reads_the_serializers_own_fields() -> None:
    shape = s._plain_shape_of(s.VerdictCreateSerializer)
    assert shape is not None
    assert {name: field.kind for name, field in shape.fields.items()} == {
        "rating": "str",
        "confidence": "choice",
        "rationale": "str",
        "citations": "list",
    }
    assert shape.fields["rationale"].trim is False
    assert shape.fields["citations"].max_length == limits.MAX_CITATIONS
    item = shape.fields["citations"].item
    assert item is not None
    assert item.check is s.CitationInputSerializer.plain_check
    assert item.required == {"stance"}
    # Serializers whose own checks the fast path cannot stand in for have none.
    for serializer_class in (s.ProjectCreateSerializer, s.TokenRequestSerializer):
        assert s._plain_shape_of(serializer_class) is None
