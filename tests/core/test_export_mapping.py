"""The pure export mapping (annotations/core/export_mapping.py): Web Annotation selectors
always quote the text, ClaimReview needs a consensus, an organization and a two-point scale,
safe JSON never closes a script, and the vendored conformance files are unmodified.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations import services
from annotations.core import export_mapping, spans
from tests import conformance
from tests.selectors.export_base import assert_claimreview_valid, assert_w3c_musts

pytestmark = pytest.mark.db_independent

CONFORMANCE = conformance.DATA


def desk_project_block() -> dict[str, Any]:
    """The ``project`` block of a native export for a project "desk" with the default
    scale and a two-review unanimous policy."""
    return {
        "name": "Desk",
        "slug": "desk",
        "organization": "",
        "organization_url": "",
        "scale": [
            {"key": key, "label": label, "ordinal": ordinal, "position": position}
            for position, (key, label, ordinal) in enumerate(services.DEFAULT_SCALE)
        ],
        "policy": {
            "required_reviews": 2,
            "consensus_rule": "unanimous",
            "majority_threshold": 0.5,
            "lease_minutes": 30,
        },
    }


def native_fixture(
    text: str, selectors: list[spans.Selector], *, statements: list[str] | None = None
) -> dict[str, Any]:
    """A minimal native export (no database) with one claim per selector."""
    claims = [
        {
            "id": index + 1,
            "start": selector.start,
            "end": selector.end,
            "exact": selector.exact,
            "prefix": selector.prefix,
            "suffix": selector.suffix,
            "statement": (statements or [])[index] if statements else selector.exact,
            "claimant": "",
            "status": "in_review",
            "version": 1,
            "created_by": "gina",
            "created_at": "2024-05-01T12:00:00.000000Z",
            "verdicts": [],
            "consensus": [],
        }
        for index, selector in enumerate(selectors)
    ]
    return {
        "schema": export_mapping.NATIVE_SCHEMA,
        "exported_at": "2024-05-02T00:00:00.000000Z",
        "project": desk_project_block(),
        "document": {
            "title": "t",
            "text": text,
            "text_sha256": spans.text_sha256(text),
            "length": len(text),
            "raw_text": text,
            "source_url": "",
            "publisher": "",
            "author": "",
            "published_date": None,
            "language": "",
            "created_at": "2024-05-01T11:00:00.000000Z",
        },
        "claims": claims,
        "sources": [],
    }


def _annotations(native: dict[str, Any]) -> list[dict[str, Any]]:
    return export_mapping.to_web_annotations(
        native,
        document_iri="https://example.org/documents/1/",
        annotation_iri=lambda claim_id: f"https://example.org/claims/{claim_id}/",
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_web_annotation_selectors_always_quote_the_text(data: st.DataObject) -> None:
    # Any text a document can hold: no lone surrogates and no NUL (no database stores
    # them, so export_mapping.native_errors refuses them).
    alphabet = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
    text = data.draw(st.text(alphabet=alphabet, min_size=1, max_size=120))
    selectors = []
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(text) - 1))
        end = data.draw(st.integers(start + 1, len(text)))
        selectors.append(spans.make_selector(text, start, end))
    native = native_fixture(text, selectors)
    assert export_mapping.native_errors(native) == []
    annotations = _annotations(native)
    assert len(annotations) == len(selectors)
    for annotation in annotations:
        quote, position = annotation["target"]["selector"]
        start, end = position["start"], position["end"]
        assert quote["exact"] == text[start:end]
        assert text[:start].endswith(quote["prefix"])
        assert text[end:].startswith(quote["suffix"])
        assert json.loads(export_mapping.json_dumps_safe(annotation)) == annotation


def test_a_claim_spanning_the_whole_text_passes_the_w3c_musts() -> None:
    text = '"</script>@id\u2028😀"'
    native = native_fixture(
        text, [spans.make_selector(text, 0, len(text))], statements=['"</script>@id\u2028😀"']
    )
    (annotation,) = _annotations(native)
    quote = annotation["target"]["selector"][0]
    assert (quote["prefix"], quote["exact"], quote["suffix"]) == ("", text, "")
    assert_w3c_musts(annotation)


def test_claimreview_skips_claims_without_a_current_consensus() -> None:
    text = "A claim. Another claim."
    native = native_fixture(
        text, [spans.make_selector(text, 0, 7), spans.make_selector(text, 9, 22)]
    )
    decided = {
        "sequence": 1,
        "rating": "false",
        "method": "unanimous",
        "agreement": 1.0,
        "decided_by": None,
        "decided_at": "2024-05-03T23:30:00.000000-02:00",
        "note": "",
        "is_current": True,
        "verdicts": [],
    }
    native["claims"][0].update(status="published", consensus=[decided])
    native["claims"][1].update(status="published", consensus=[{**decided, "is_current": False}])
    nodes = export_mapping.to_claimreview(
        native, organization={"name": "Desk"}, claim_url=lambda i: f"https://example.org/c/{i}"
    )
    assert [node["url"] for node in nodes] == ["https://example.org/c/1"]
    assert nodes[0]["datePublished"] == "2024-05-04"  # the UTC date
    assert nodes[0]["reviewRating"]["ratingValue"] == 1
    assert "appearance" not in nodes[0]["itemReviewed"]  # the document has no URL
    assert_claimreview_valid(nodes[0])
    # Resolved is not published (issue 15): a resolved claim is no fact check yet.
    native["claims"][0].update(status="resolved")
    assert (
        export_mapping.to_claimreview(
            native, organization={"name": "Desk"}, claim_url=lambda i: f"https://example.org/c/{i}"
        )
        == []
    )


def test_claimreview_needs_an_organization_name_or_web_url() -> None:
    native = native_fixture("x", [])
    for organization in ({}, {"name": " "}, {"url": "ftp://example.org/"}):
        try:
            export_mapping.to_claimreview(native, organization=organization, claim_url=str)
        except ValueError:
            continue
        raise AssertionError(f"accepted {organization!r}")


def test_claimreview_numbers_need_two_distinct_ordinals() -> None:
    assert export_mapping.scale_bounds([{"ordinal": 3}, {"ordinal": None}]) is None
    assert export_mapping.scale_bounds([{"ordinal": 3}, {"ordinal": 1}, {"ordinal": 2}]) == (1, 3)


SAFE_CASES: list[Any] = [
    "</script><script>alert(1)</script>",
    "<!-- x --> & &amp;",
    "line\u2028separator\u2029paragraph",
    {"@id": "</SCRIPT>", "quote": '"', "emoji": "🌉😀"},
    ["a", 1, 2.5, None, True, {"nested": ["</script>"]}],
]


def test_json_dumps_safe_round_trips_and_never_closes_a_script() -> None:
    for value in SAFE_CASES:
        text = export_mapping.json_dumps_safe(value)
        assert json.loads(text) == value
        for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
            assert forbidden not in text
        assert "</script>" not in text.lower()


def test_json_dumps_safe_keeps_emoji_readable_and_refuses_nan() -> None:
    assert export_mapping.json_dumps_safe({"e": "🌉"}) == '{"e": "🌉"}'
    try:
        export_mapping.json_dumps_safe(float("nan"))
    except ValueError:
        return
    raise AssertionError("NaN was serialized")


def test_the_conformance_files_are_unmodified_copies() -> None:
    """Every file listed in fixtures/conformance/MANIFEST.tsv still has its upstream git blob
    hash, so the checks above run against the third-party rules, not an edited copy."""
    import csv
    import hashlib

    with (CONFORMANCE / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) > 150
    for row in rows:
        content = (CONFORMANCE / row["local_path"]).read_bytes()
        blob = hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False)
        assert blob.hexdigest() == row["git_blob_sha1"], row["local_path"]
