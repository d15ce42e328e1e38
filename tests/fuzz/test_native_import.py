"""Fuzzing the native export validator (annotations.core.export_mapping.native_errors) and
the native import (``services.document_import_native``) fed mutated exports, which must
end in a Document or a ValidationError, never in another exception (a 500, or
``import_documents`` stopping the whole batch).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from annotations import selectors, services
from annotations.core import export_mapping, spans
from annotations.models import Citation, Claim, Consensus, Document, Event, Rating, Source, Verdict
from tests.core.test_export_mapping import desk_project_block
from tests.factories import make_project, make_user
from tests.fuzz.strategies import FUZZ, JSON_VALUES, TEXT, TEXT_WITH_SURROGATES, UNICODE

NATIVE_KEYS = st.sampled_from(
    ["schema", "exported_at", "project", "document", "claims", "sources", "other"]
)


@FUZZ
@given(st.one_of(JSON_VALUES, st.dictionaries(NATIVE_KEYS, JSON_VALUES)))
@example({"schema": "workbench-export/1"})
def test_native_errors_reports_any_json_value_without_raising(value: Any) -> None:
    problems = export_mapping.native_errors(value)
    assert isinstance(problems, list)
    for pointer, reason in problems:
        assert pointer.startswith("/") and isinstance(reason, str)
    if not isinstance(value, dict) or value.get("schema") != export_mapping.NATIVE_SCHEMA:
        assert problems


TEXT_FOR_IMPORT = "Crime fell 20% last year, the mayor said. The bridge cost $2 billion."


def valid_payload() -> dict[str, Any]:
    """A native export with one of everything: claim, verdict, citation, source, consensus."""
    exact = "Crime fell 20% last year"
    return {
        "schema": export_mapping.NATIVE_SCHEMA,
        "exported_at": "2024-05-02T00:00:00.000000Z",
        "project": desk_project_block(),
        "document": {
            "title": "City hall",
            "text": TEXT_FOR_IMPORT,
            "text_sha256": spans.text_sha256(TEXT_FOR_IMPORT),
            "length": len(TEXT_FOR_IMPORT),
            "raw_text": TEXT_FOR_IMPORT,
            "source_url": "https://news.example.com/a",
            "publisher": "Daily",
            "author": "Jane",
            "published_date": "2024-03-05",
            "language": "en",
            "created_at": "2024-05-01T11:00:00.000000Z",
        },
        "claims": [
            {
                "id": 7,
                "start": 0,
                "end": len(exact),
                "exact": exact,
                "prefix": "",
                "suffix": TEXT_FOR_IMPORT[len(exact) : len(exact) + spans.CONTEXT_LENGTH],
                "statement": "Crime fell by a fifth.",
                "claimant": "the mayor",
                "status": "resolved",
                "version": 1,
                "created_by": "gina",
                "created_at": "2024-05-01T12:00:00.000000Z",
                "verdicts": [
                    {
                        "id": 11,
                        "reviewer": "rita",
                        "rating": "false",
                        "confidence": "high",
                        "rationale": "Police data.",
                        "revision": 1,
                        "is_current": True,
                        "submitted_at": "2024-05-01T13:00:00.000000Z",
                        "citations": [{"source": 3, "quote": "3%", "stance": "refutes"}],
                    }
                ],
                "consensus": [
                    {
                        "sequence": 1,
                        "rating": "false",
                        "method": "adjudicated",
                        "agreement": 1.0,
                        "decided_by": "ed",
                        "decided_at": "2024-05-01T14:00:00.000000Z",
                        "note": "",
                        "is_current": True,
                        "verdicts": [11],
                    }
                ],
            }
        ],
        "sources": [
            {
                "id": 3,
                "url": "https://stats.example.gov/crime",
                "normalized_url": "https://stats.example.gov/crime",
                "title": "Stats",
                "publisher": "Office",
                "published_date": None,
                "archive_url": "",
                "accessed_date": None,
            }
        ],
    }


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``value`` a mutation can replace: each field, leaf or not."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    found = []
    for key, item in items:
        found.append((*path, key))
        if isinstance(item, dict | list):
            found.extend(_paths(item, (*path, key)))
    return found


LEAVES = _paths(valid_payload())
# Leaves the database stores as 32-bit integers without a model-level range check (the
# schema's maximum refuses what they cannot hold).
UNCHECKED_INTEGERS = {
    ("claims", 0, "verdicts", 0, "revision"),
    ("claims", 0, "consensus", 0, "sequence"),
}
INT32_MAX = 2**31 - 1
# What json.loads can hand over for a leaf of a file: any JSON value, integers of any
# size, NaN and infinities, strings with lone surrogates and NUL (JSON escapes spell them).
ANY_STRINGS = st.one_of(st.text(UNICODE, max_size=20), TEXT_WITH_SURROGATES)
ANY_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), ANY_STRINGS),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(ANY_STRINGS, children, max_size=3)
    ),
    max_leaves=8,
)
MUTATIONS = st.one_of(
    st.tuples(
        st.sampled_from(LEAVES),
        st.one_of(
            ANY_JSON,
            TEXT,
            st.integers(min_value=-(2**70), max_value=2**70),
            st.sampled_from([0, -1, INT32_MAX, INT32_MAX + 1, 2**63, math.inf, -math.inf]),
            st.sampled_from([math.nan, 1e308, "", " ", "a\x00b", "\ud800", "Crime fell \udfff"]),
        ),
    ),
    # Around the column range, where the schema's maximum has to hold the line.
    st.tuples(
        st.sampled_from(sorted(UNCHECKED_INTEGERS)),
        st.one_of(st.integers(INT32_MAX - 2, 2**64), st.sampled_from([1e308, 2.0**31])),
    ),
)


def _set(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Replace the value at ``path``, if an earlier mutation left that place standing."""
    target: Any = payload
    try:
        for key in path[:-1]:
            target = target[key]
        if isinstance(target, dict | list):
            target[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return


def mutated(*mutations: tuple[tuple[Any, ...], Any]) -> dict[str, Any]:
    payload = valid_payload()
    for path, value in mutations:
        _set(payload, path, value)
    return payload


class NativeImportFuzzTests(HypothesisTestCase):
    """``document_import_native`` on exports with one to three leaves replaced.

    Each example runs in its own transaction (hypothesis.extra.django.TestCase), so an
    accepted import does not make the next example a duplicate.
    """

    @classmethod
    def setUpTestData(cls) -> None:
        cls.importer = make_user("importer")
        cls.project = make_project(creator=cls.importer, name="Target")

    def import_or_refuse(self, payload: dict[str, Any]) -> Document | ValidationError:
        try:
            return services.document_import_native(
                project=self.project, payload=payload, actor=self.importer
            )
        except ValidationError as exc:
            self.assertTrue(exc.message_dict)
            return exc

    def test_the_unmutated_export_imports(self) -> None:
        document = self.import_or_refuse(valid_payload())
        self.assertIsInstance(document, Document)
        self.assertEqual(document.claims.get().verdicts.get().citations.count(), 1)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(MUTATIONS, min_size=1, max_size=3))
    def test_a_mutated_export_imports_or_is_refused(
        self, mutations: list[tuple[tuple[Any, ...], Any]]
    ) -> None:
        result = self.import_or_refuse(mutated(*mutations))
        if isinstance(result, Document):
            # What was accepted is itself a valid export, through JSON and back: an import
            # never stores what a later export (or restore) would choke on.
            again = selectors.document_native(document=result, user=self.importer)
            self.assertEqual(
                export_mapping.native_errors(json.loads(export_mapping.json_dumps_safe(again))), []
            )


# Found by the fuzzer above. Each of these raised something other than ValidationError
# (UnicodeEncodeError, OverflowError on SQLite, DataError on PostgreSQL): a 500 through
# any caller, and ``import_documents`` stopped the whole batch with a traceback. Now
# export_mapping.native_errors refuses them, with the JSON pointer of the field, on both backends.
REFUSED_NATIVE_VALUES = [
    # Lone surrogate in any string (document text: spans.text_sha256 could not encode it;
    # any other string: the database driver could not).
    pytest.param(
        ("document", "text"), "Crime fell \ud800",
        "is not valid Unicode text: lone surrogate U+D800 at position 11", id="surrogate-in-text",
    ),
    pytest.param(
        ("claims", 0, "statement"), "\ud800",
        "is not valid Unicode text: lone surrogate U+D800 at position 0",
        id="surrogate-in-statement",
    ),
    # NUL: PostgreSQL text columns refuse it; SQLite would store it, and an export from
    # there would not restore into PostgreSQL. Refused on both.
    pytest.param(
        ("document", "title"), "a\x00b", "contains a NUL character (U+0000) at position 1",
        id="nul-in-title",
    ),
    pytest.param(
        ("claims", 0, "verdicts", 0, "rationale"), "Police\x00data.",
        "contains a NUL character (U+0000) at position 6", id="nul-in-rationale",
    ),
    pytest.param(
        ("claims", 0, "verdicts", 0, "citations", 0, "quote"), "\x00",
        "contains a NUL character (U+0000) at position 0", id="nul-in-quote",
    ),
    # Verdict revision / consensus sequence were not range-checked (no full_clean, no
    # schema maximum); the schema caps every stored count at 2**31 - 1 now.
    pytest.param(
        ("claims", 0, "verdicts", 0, "revision"), 2**63,
        "9223372036854775808 is greater than the maximum of 2147483647", id="huge-revision",
    ),
    pytest.param(
        ("claims", 0, "consensus", 0, "sequence"), INT32_MAX + 1,
        "2147483648 is greater than the maximum of 2147483647", id="huge-sequence",
    ),
    pytest.param(
        ("claims", 0, "verdicts", 0, "revision"), 1e308,
        "1e+308 is greater than the maximum of 2147483647", id="float-revision",
    ),
    # NaN passed the schema's 0..1 bounds: SQLite stored NULL (the value silently
    # changed), PostgreSQL stored NaN and every later export of the document failed.
    pytest.param(
        ("claims", 0, "consensus", 0, "agreement"), math.nan, "nan is not a finite number",
        id="nan-agreement",
    ),
]  # fmt: skip


def _pointer(path: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(part) for part in path)


@pytest.mark.parametrize(("path", "value", "reason"), REFUSED_NATIVE_VALUES)
def test_native_errors_name_what_no_database_can_store(
    path: tuple[Any, ...], value: Any, reason: str
) -> None:
    assert (_pointer(path), reason) in export_mapping.native_errors(mutated((path, value)))


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "value", "reason"), REFUSED_NATIVE_VALUES)
def test_native_import_refuses_what_no_database_can_store(
    path: tuple[Any, ...], value: Any, reason: str
) -> None:
    importer = make_user("importer")
    project = make_project(creator=importer, name="Target")
    models = (
        Document,
        Claim,
        Verdict,
        Citation,
        Consensus,
        Source,
        Rating,
        Event,
        get_user_model(),
    )
    before = {model: model.objects.count() for model in models}
    with pytest.raises(ValidationError) as caught:
        services.document_import_native(
            project=project, payload=mutated((path, value)), actor=importer
        )
    assert reason in caught.value.message_dict[_pointer(path)]
    assert {model: model.objects.count() for model in models} == before


def test_native_errors_never_print_what_they_refuse() -> None:
    # The pointer names a key that cannot be stored by its object, and every reason is
    # printable text: import_documents writes them to a UTF-8 terminal.
    payload = mutated((("project",), {"a\ud800": {"\x00": 1}, "b": [math.inf, "\udfff"]}))
    problems = export_mapping.native_errors(payload)
    assert (
        "/project",
        "key 'a\\ud800' is not valid Unicode text: lone surrogate U+D800 at position 1",
    ) in problems
    assert ("/project/b/0", "inf is not a finite number") in problems
    for pointer, reason in problems:
        (pointer + reason).encode("utf-8")
        assert "\x00" not in pointer + reason
