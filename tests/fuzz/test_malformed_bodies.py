"""Fuzzing every write operation of the API with malformed bodies (issue 13, finding 3).

The operations come from the OpenAPI schema (every POST/PATCH/PUT/DELETE), their path
parameters are bound to real rows of a small desk, and the caller is a member with the
role the operation needs (anonymous for the token endpoint), so each body reaches the
parser and the serializer. Bodies: JSON nested up to 5,000 deep, huge numbers (``1e400``,
``10**400`` and 5,000-digit literals), every field of the operation with a value of the
wrong type, duplicate keys, bytes that are not UTF-8, ``NaN``/``Infinity``, lone
surrogates (``"\\ud800"``), an empty body, a top-level value that is not an object.

Whatever the body: never a 5xx; a body that is not JSON is a 400 ``{"detail": "JSON parse
error - …"}``. Each example runs in a transaction that is rolled back, so none sees
another's writes.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase
from rest_framework.test import APIClient

from annotations import services
from tests.factories import Personas, judge, make_claim

# Not fuzzed: it fetches the source's page over the network (and reads no body).
NOT_FUZZED = {("POST", "/api/v1/sources/{id}/fetch-metadata/")}


@functools.cache
def write_operations() -> list[tuple[str, str, tuple[str, ...], bool]]:
    """``(method, path, field names, reads a JSON body)`` for every write operation."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def fields(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                component = components[ref.rsplit("/", 1)[-1]]
                found |= set(component.get("properties", {})) | fields(component)
            for value in node.values():
                found |= fields(value)
        elif isinstance(node, list):
            for item in node:
                found |= fields(item)
        return found

    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            method = method.upper()
            if method not in ("POST", "PATCH", "PUT", "DELETE") or (method, path) in NOT_FUZZED:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            names = tuple(sorted(fields(body["schema"]))) if body else ()
            operations.append((method, path, names, body is not None))
    return sorted(operations)


def _nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


WRONG_VALUES = [
    "null", "true", "false", "0", "-1", "1.5", "-0.0", "2e308", "1e400", "-1e400",
    "1" + "0" * 400, "-" + "9" * 400, "1" + "0" * 5000, "1E-400", '""', '" "', '"x"',
    '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"a\\u0000b"', "[]", "{}", "[1, 2]",
    '{"a": 1}', '["x"]', '[{"url": 1}]', '"' + "x" * 5000 + '"', '"2024-02-30"', '"NaN"',
]  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[bytes, bool]:
    """``(body, is_bad_json)``: a malformed body for an operation taking ``names``."""
    field = draw(st.sampled_from(names or ("name",)))
    kind = draw(
        st.sampled_from(
            ["deep", "deep-in-field", "wrong-types", "duplicates", "not-utf8", "constant",
             "surrogate", "empty", "top-level", "huge-digits"]
        )
    )  # fmt: skip
    if kind == "deep":
        depth = draw(st.integers(min_value=65, max_value=5000))
        return _nested(depth, draw(st.sampled_from(["array", "object"]))).encode(), True
    if kind == "deep-in-field":
        depth = draw(st.integers(min_value=65, max_value=5000))
        return f'{{"{field}": {_nested(depth, "array")}}}'.encode(), True
    if kind == "wrong-types":
        chosen = draw(st.lists(st.sampled_from(names or ("name",)), min_size=1, unique=True))
        pairs = [f'"{name}": {draw(st.sampled_from(WRONG_VALUES))}' for name in chosen]
        return ("{" + ", ".join(pairs) + "}").encode(), False
    if kind == "duplicates":
        first, second = draw(st.sampled_from(WRONG_VALUES)), draw(st.sampled_from(WRONG_VALUES))
        return f'{{"{field}": {first}, "{field}": {second}}}'.encode(), False
    if kind == "not-utf8":
        junk = draw(st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]))
        return b'{"' + field.encode() + b'": "' + junk + b'"}', True
    if kind == "constant":
        literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        return f'{{"{field}": {literal}}}'.encode(), True
    if kind == "surrogate":
        escape = draw(st.sampled_from(["\\ud800", "\\udbff", "\\udc00x", "a\\ud83d"]))
        return f'{{"{field}": "{escape}"}}'.encode(), False
    if kind == "empty":
        return b"", False
    if kind == "huge-digits":
        # Past Python's 4,300-digit limit for int(): the parser refuses it.
        return f'{{"{field}": 1{"0" * 5000}}}'.encode(), True
    top = draw(st.sampled_from(["[]", "[1]", "1", '"s"', "null", "true", "[[]]", '[{"a": 1}]']))
    return top.encode(), False


class MalformedBodyFuzzTests(Personas, HypothesisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.claim, cls.reviewer_a, "true")
        services.lease_next(reviewer=cls.reviewer_b, project=cls.project)
        cls.endpoint = services.webhook_endpoint_create(
            project=cls.project,
            actor=cls.admin,
            url="https://hooks.example.org/in",
            event_types=["consensus.reached"],
        ).endpoint
        [cls.delivery] = services.webhooks_enqueue(
            project_id=cls.project.pk, event_type="consensus.reached", data={"claim_id": 1}
        )
        (reference,) = services.references_create(
            project=cls.project,
            items=[services.ReferenceInput(claim_reviewed="Crime fell 20% last year.")],
            actor=cls.editor,
        )
        cls.link = services.claim_link_create(
            claim=cls.claim, actor=cls.creator, reference=reference
        )
        cls.claimant = services.claimant_create(
            project=cls.project, name="The Mayor", actor=cls.editor, aliases=["Mayor Adams"]
        )
        cls.alias = cls.claimant.names.get(is_primary=False)

    def bound(self, path: str) -> str:
        ids = {
            "/api/v1/projects/": self.project.pk,
            "/api/v1/documents/": self.document.pk,
            "/api/v1/claims/": self.claim.pk,
            "/api/v1/claimants/": self.claimant.pk,
        }
        prefix = next((p for p in ids if path.startswith(p)), "")
        return (
            re.sub(r"\{(id|pk)\}", str(ids.get(prefix, 1)), path)
            .replace("{number}", "1")
            .replace("{endpoint_pk}", str(self.endpoint.pk))
            .replace("{delivery_pk}", str(self.delivery.pk))
            .replace("{link_pk}", str(self.link.pk))
            .replace("{alias_pk}", str(self.alias.pk))
        )

    def caller(self, path: str) -> Any:
        if path == "/api/v1/auth/token/":
            return None
        if path.startswith("/api/v1/claims/{id}/") and path.endswith(("verdicts/", "skip/")):
            return self.reviewer_b  # holds the lease
        return self.admin  # project admin: every role check passes

    def test_no_write_operation_answers_a_malformed_body_with_a_5xx(self) -> None:
        operations = write_operations()
        assert len(operations) >= 19, operations

        @settings(
            max_examples=240,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            method, path, names, reads_body = data.draw(st.sampled_from(operations))
            body, bad_json = data.draw(bodies(names))
            cache.clear()  # the token endpoint's throttle
            client = APIClient()
            user = self.caller(path)
            if user is not None:
                client.force_authenticate(user)
            # Each example starts from the same rows: a DELETE that succeeded (an
            # endpoint, a token) would turn every later example on its path into a 404.
            with transaction.atomic():
                response = client.generic(
                    method,
                    self.bound(path),
                    body,
                    content_type="application/json",
                    HTTP_IF_MATCH='"1"',
                )
                transaction.set_rollback(True)
            note = f"{method} {path} {body[:120]!r} -> {response.status_code} {response.content[:300]!r}"
            assert response.status_code < 500, note
            if reads_body and bad_json:
                assert response.status_code == 400, note
                assert json.loads(response.content)["detail"].startswith("JSON parse error"), note
            if response.status_code == 400:
                payload = json.loads(response.content)  # valid JSON, encodable
                assert isinstance(payload, dict) and payload, note

        check()
