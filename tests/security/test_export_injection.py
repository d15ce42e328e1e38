"""Export injection (B.6 #9, #24).

User strings with quotes, backslashes, NUL, lone surrogates, ``</script>``, ``<!--``,
U+2028/2029 and JSON-LD keywords (``@id``, ``@context``, ``@type``, and ``"key": value``
look-alikes) end up in valid JSON and JSON-LD: every export parses, keeps each string
as a value (no key or node is injected), matches its schema, and is safe to embed in an
HTML ``<script>`` element. NUL and lone surrogates are refused at input; if one is stored
anyway (imports are not the only writers), the export still encodes.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from django.test import TestCase
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations import services
from annotations.core import export_mapping, spans
from annotations.models import Source, Verdict
from tests.factories import judge
from tests.security.world import API, World

TRICKY = [
    '", "@id": "https://evil.example/", "x": "',
    '"}, {"@context": "https://evil.example/ctx"',
    "@context",
    "@id",
    '{"@type": "Person"}',
    "back\\slash \\u0000 \\ud800",
    "</script><script>alert(1)</script>",
    "<!-- <script>",
    "line\u2028separator\u2029paragraph",
    "quote \" apostrophe ' backtick `",
    "emoji 😀 and e\u0301",
]
SCHEMA_ROOT = "fixtures/conformance/claimreview/claimreview.schema.json"


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


class ExportInjectionTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()
        cls.project.required_reviews = 1
        cls.project.save()
        cls.tricky_claims = []
        text = "\n".join(f"Line {i}: {value}" for i, value in enumerate(TRICKY))
        document = services.document_create(
            project=cls.project,
            data=services.DocumentInput(
                title=TRICKY[0],
                text=text,
                publisher=TRICKY[4],
                author=TRICKY[3],
                source_url="https://news.example/a",
            ),
            actor=cls.editor,
        )
        cls.tricky_document = document
        for value in TRICKY:
            quoted = spans.canonicalize(value)
            start = document.text.index(quoted)
            claim = services.claim_create(
                document=document,
                start=start,
                end=start + len(quoted),
                actor=cls.creator,
                statement=value,
                claimant=value[:200],
            )
            cls.tricky_claims.append(claim)
        for index, claim in enumerate(cls.tricky_claims):
            judge(
                claim,
                cls.reviewer_c,
                "false",
                rationale=TRICKY[index],
                citations=[
                    services.CitationInput(
                        stance="refutes", url=f"https://cite.example/{index}", quote=TRICKY[index]
                    )
                ],
            )
            # The ClaimReview export carries published fact checks: publish each, with the
            # hostile string as the readers' summary too.
            services.claim_publish(claim=claim, editor=cls.editor, summary=TRICKY[index])

    def exports(self) -> dict[str, bytes]:
        client = self.api(self.editor)
        d = self.tricky_document.pk
        out = {
            fmt: client.get(f"{API}/documents/{d}/export/", {"format": fmt}).content
            for fmt in ("json", "claimreview", "webannotation")
        }
        out["jsonl"] = b"".join(client.get(f"{API}/projects/{self.project.pk}/export/"))
        return out

    def test_every_export_is_valid_json_with_the_strings_as_values(self) -> None:
        for name, body in self.exports().items():
            with self.subTest(export=name):
                text = body.decode("utf-8")
                for danger in ("</script", "<!--", "\u2028", "\u2029", "<script"):
                    self.assertNotIn(danger, text)
                payloads = (
                    [json.loads(line) for line in text.splitlines()]
                    if name == "jsonl"
                    else [json.loads(text)]
                )
                found = set(strings(payloads))
                for value in TRICKY:
                    self.assertTrue(any(value in s for s in found), (name, value))
                # No user string became a key (bare "@id"/"@context" are real keys too).
                for value in TRICKY:
                    if value not in ("@id", "@context"):
                        self.assertNotIn(value, keys(payloads))
                # The JSON-LD ids and contexts are only the ones the exporter writes.
                for node_id in _values_of(payloads, "@id") | _values_of(payloads, "id"):
                    if isinstance(node_id, str):
                        self.assertFalse(node_id.startswith("https://evil"), node_id)
                for context in _values_of(payloads, "@context"):
                    self.assertIn(
                        context, ("https://schema.org", "http://www.w3.org/ns/anno.jsonld")
                    )

    def test_the_native_and_claimreview_exports_match_their_schemas(self) -> None:
        body = json.loads(self.exports()["json"])
        self.assertEqual(export_mapping.native_errors(body), [])
        with open(SCHEMA_ROOT, encoding="utf-8") as handle:
            schema = json.load(handle)
        reviews = json.loads(self.exports()["claimreview"])
        self.assertEqual(len(reviews), len(TRICKY))
        for review in reviews:
            jsonschema.validate(review, schema)

    def test_nul_and_lone_surrogates_are_refused_at_input(self) -> None:
        client = self.api(self.editor)
        for value in ("nul \u0000 here", "surrogate \ud800 here"):
            with self.subTest(value=repr(value)):
                body = json.dumps(
                    {"project": self.project.pk, "title": value, "text": value},
                    ensure_ascii=True,
                )
                response = client.generic(
                    "POST", f"{API}/documents/", body, content_type="application/json"
                )
                self.assertEqual(response.status_code, 400, response.content)

    def test_no_database_stores_a_lone_surrogate(self) -> None:
        """Nothing can write one (the drivers refuse to encode it), so exports only meet them
        in memory, e.g. parsed from an import file; json_dumps_safe covers that below."""
        with self.assertRaises(Exception):  # noqa: B017 - the driver's encoding error
            Verdict.objects.filter(claim=self.tricky_claims[0]).update(rationale="x\ud800y")


def test_json_dumps_safe_escapes_lone_surrogates_so_the_output_encodes() -> None:
    value = {"rationale": "x\ud800y", "claimant": "\udfff", "ok": "😀"}
    text = export_mapping.json_dumps_safe(value)
    text.encode("utf-8")
    assert json.loads(text) == value
    assert "\\ud800" in text and "😀" in text


@settings(max_examples=80, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(st.characters(exclude_categories=())),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
)
def test_json_dumps_safe_round_trips_anything_and_is_script_safe(value: Any) -> None:
    text = export_mapping.json_dumps_safe(value)
    assert json.loads(text) == value
    text.encode("utf-8")
    for danger in ("<", ">", "&", "\u2028", "\u2029"):
        assert danger not in text


def _values_of(value: Any, key: str) -> set[Any]:
    found: set[Any] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and not isinstance(v, (dict, list)):
                found.add(v)
            found |= _values_of(v, key)
    elif isinstance(value, list):
        for v in value:
            found |= _values_of(v, key)
    return found


__all__ = ["Source"]
