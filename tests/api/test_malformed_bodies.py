"""API: bodies that are not what a write endpoint reads (broken JSON, the wrong media
type, a JSON value that is not an object, keys the endpoint does not take)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from annotations import services
from annotations.api.serializers import REFUSED_FIELD
from annotations.models import Event
from tests.api.base import API, ApiTestCase
from tests.factories import make_claim


class MalformedBodyTests(ApiTestCase):
    """Every endpoint that reads a body refuses broken JSON, the wrong media type and a
    JSON value of the wrong kind, and writes nothing."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def endpoints(self) -> list[tuple[str, str, AbstractBaseUser | None, dict[str, str]]]:
        p, c = self.project.pk, self.claim.pk
        return [
            ("POST", "/auth/token/", None, {}),
            ("POST", "/projects/", self.admin, {}),
            ("PATCH", f"/projects/{p}/", self.admin, {}),
            ("POST", f"/projects/{p}/members/", self.admin, {}),
            ("POST", "/documents/", self.editor, {}),
            ("POST", "/claims/", self.reviewer_a, {}),
            ("PATCH", f"/claims/{c}/", self.creator, {"HTTP_IF_MATCH": '"1"'}),
            ("POST", f"/claims/{c}/skip/", self.reviewer_a, {}),
            ("POST", f"/claims/{c}/verdicts/", self.reviewer_a, {}),
            ("POST", f"/claims/{c}/adjudicate/", self.editor, {}),
            ("POST", f"/claims/{c}/reopen/", self.editor, {}),
            ("POST", f"/claims/{c}/withdraw/", self.editor, {}),
            ("POST", "/queue/next/", self.reviewer_a, {}),
            ("POST", "/documents/preview/", self.editor, {}),
            ("POST", "/documents/import/", self.editor, {}),
            ("POST", f"/documents/{self.document.pk}/revisions/", self.editor, {}),
            ("POST", f"/claims/{c}/reanchor/", self.creator, {}),
            # Operations that take no body refuse one (NoBodySerializer), before writing.
            ("POST", f"/claims/{c}/release/", self.reviewer_a, {}),
            ("DELETE", f"/claims/{c}/assign/{self.reviewer_b.username}/", self.editor, {}),
        ]

    def send(self, method: str, path: str, user: Any, extra: dict[str, str], **kw: Any) -> Any:
        return self.client_for(user).generic(method, API + path, **kw, **extra)

    def test_broken_json_is_a_400(self) -> None:
        for method, path, user, extra in self.endpoints():
            with self.subTest(method=method, path=path), self.assertNothingWritten():
                response = self.send(
                    method, path, user, extra, data='{"oops', content_type="application/json"
                )
                self.assertDetail(response, 400, "JSON parse error")

    def test_a_key_given_twice_is_a_400_naming_it(self) -> None:
        # The last value would win: a body read one way here and another by whatever
        # checked it first. Refused by the parser, before any view, at any depth.
        for method, path, user, extra in self.endpoints():
            with self.subTest(method=method, path=path), self.assertNothingWritten():
                response = self.send(
                    method,
                    path,
                    user,
                    extra,
                    data='{"rating": "true", "rating": "false"}',
                    content_type="application/json",
                )
                self.assertDetail(response, 400, "JSON parse error", "duplicate key 'rating'")
        nested = (
            '{"rating": "false", "confidence": "high", "citations": '
            '[{"url": "https://example.org/a", "stance": "supports", '
            '"url": "https://example.org/b"}]}'
        )
        with self.assertNothingWritten():
            response = self.send(
                "POST",
                f"/claims/{self.claim.pk}/verdicts/",
                self.reviewer_a,
                {},
                data=nested,
                content_type="application/json",
            )
        self.assertDetail(response, 400, "duplicate key 'url'")

    def test_json_is_read_as_utf8_whatever_charset_is_declared(self) -> None:
        # Outside probe: "charset=latin-1" read bytes that are not text as mojibake (a C1
        # control character included) and stored it. JSON is UTF-8 (RFC 8259).
        for charset in ("latin-1", "iso-8859-1", "cp1252", "ascii"):
            with self.subTest(charset=charset), self.assertNothingWritten():
                response = self.send(
                    "POST",
                    f"/claims/{self.claim.pk}/skip/",
                    self.reviewer_a,
                    {},
                    data=b'{"reason": "Kept\xed\xa0\x80text"}',
                    content_type=f"application/json; charset={charset}",
                )
                # The byte sent is named, in the forms' words.
                self.assertDetail(
                    response, 400, "JSON parse error - byte 0xED at position 16 is not UTF-8"
                )
        with self.assertNothingWritten():
            response = self.send(
                "POST",
                f"/claims/{self.claim.pk}/skip/",
                self.reviewer_a,
                {},
                data=b'{"reason": "ab\xffc"}',
                content_type="application/json",
            )
        self.assertDetail(response, 400, "JSON parse error - byte 0xFF at position 14 is not UTF-8")
        # UTF-8 text is read as such, even under another declared charset.
        response = self.send(
            "POST",
            f"/claims/{self.claim.pk}/skip/",
            self.reviewer_a,
            {},
            data='{"reason": "Caf\u00e9 \u2014 later"}'.encode(),
            content_type="application/json; charset=latin-1",
        )
        self.assertEqual(response.status_code, 204, response.content)
        skipped = Event.objects.filter(verb="claim.skip").latest("id")
        self.assertEqual(skipped.after["reason"], "Caf\u00e9 \u2014 later")

    def test_form_encoded_bodies_are_a_415(self) -> None:
        for method, path, user, extra in self.endpoints():
            with self.subTest(method=method, path=path), self.assertNothingWritten():
                response = self.send(
                    method,
                    path,
                    user,
                    extra,
                    data="rating=true",
                    content_type="application/x-www-form-urlencoded",
                )
                self.assertDetail(response, 415, "Unsupported media type")

    def test_a_json_value_that_is_not_an_object_is_a_400(self) -> None:
        for method, path, user, extra in self.endpoints():
            if path == "/documents/":
                continue  # a list is the bulk form there; covered by DocumentApiTests
            for body in ("[1, 2]", '"text"', "42", "null"):
                with (
                    self.subTest(method=method, path=path, body=body),
                    self.assertNothingWritten(),
                ):
                    response = self.send(
                        method, path, user, extra, data=body, content_type="application/json"
                    )
                    self.assertEqual(response.status_code, 400, response.content)
                    self.assertIsInstance(response.json(), dict)

    def test_a_key_the_endpoint_does_not_take_is_a_400_naming_it(self) -> None:
        """Issue 13, finding 5c: unknown and read-only keys were dropped silently."""
        for method, path, user, extra in self.endpoints():
            for body in ({"bogus_key": 1}, {"id": 7, "created_by": 1}):
                with (
                    self.subTest(method=method, path=path, body=body),
                    self.assertNothingWritten(),
                ):
                    response = self.send(
                        method,
                        path,
                        user,
                        extra,
                        data=json.dumps(body),
                        content_type="application/json",
                    )
                    self.assertEqual(response.status_code, 400, response.content)
                    errors = response.json()
                    for key in body:
                        self.assertEqual(errors.get(key), [REFUSED_FIELD], errors)

    def test_a_value_of_the_wrong_json_type_is_a_400_naming_it(self) -> None:
        # DRF stores a number's digits for a text field and reads "yes", "on" or 1 as true:
        # a JSON body says what it means, so both are refused in DRF's words.
        c, p = self.claim.pk, self.project.pk
        verdict = {"rating": "false", "confidence": "high"}
        citation = {"url": "https://example.org/r", "stance": "refutes"}
        cases = [
            ("POST", f"/claims/{c}/verdicts/", self.reviewer_a, {**verdict, "rationale": 5}),
            ("POST", f"/claims/{c}/verdicts/", self.reviewer_a, {**verdict, "rating": 4}),
            (
                "POST",
                f"/claims/{c}/verdicts/",
                self.reviewer_a,
                {**verdict, "citations": [{**citation, "quote": 5.5}]},
            ),
            ("POST", f"/claims/{c}/skip/", self.reviewer_a, {"reason": 5}),
            ("PATCH", f"/projects/{p}/", self.admin, {"quote_required": "yes"}),
            ("PATCH", f"/projects/{p}/", self.admin, {"quote_required": 1}),
        ]
        for method, path, user, body in cases:
            with self.subTest(path=path, body=body), self.assertNothingWritten():
                response = self.send(
                    method, path, user, {}, data=json.dumps(body), content_type="application/json"
                )
                self.assertEqual(response.status_code, 400, response.content)
                text = response.content.decode()
                self.assertTrue(
                    "Not a valid string." in text or "Must be a valid boolean." in text, text
                )
        # The same values of the right type are taken.
        response = self.send(
            "PATCH",
            f"/projects/{p}/",
            self.admin,
            {},
            data=json.dumps({"quote_required": True}),
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 200, response.content)
        response = self.send(
            "POST",
            f"/claims/{c}/verdicts/",
            self.reviewer_a,
            {},
            data=json.dumps(
                {**verdict, "rationale": "5", "citations": [{**citation, "quote": "5.5"}]}
            ),
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["rationale"], "5")

    def test_each_document_of_a_bulk_request_is_checked_by_index(self) -> None:
        item = {"project": self.project.pk, "title": "T", "text": "Some text."}
        body = [item, {**item, "text": "Other text.", "created_by": 1}]
        with self.assertNothingWritten():
            response = self.send(
                "POST",
                "/documents/",
                self.editor,
                {},
                data=json.dumps(body),
                content_type="application/json",
            )
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response.json(), {"1.created_by": [REFUSED_FIELD]})


def test_every_request_body_in_the_schema_allows_no_other_keys() -> None:
    """The schema says what the API does: every JSON object an operation reads (and each
    object nested in one) has ``additionalProperties: false``; so every write serializer
    is an ``InputSerializer``."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def objects(node: Any, seen: set[str]) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    found += [(name, components[name]), *objects(components[name], seen)]
            for value in node.values():
                found += objects(value, seen)
        elif isinstance(node, list):
            for item in node:
                found += objects(item, seen)
        return found

    checked: set[str] = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            for name, component in objects(body["schema"], set()):
                if component.get("type") == "object" and "properties" in component:
                    assert component.get("additionalProperties") is False, (method, path, name)
                    checked.add(name)
    assert {
        "PatchedProjectUpdate",
        "VerdictCreate",
        "CitationInput",
    } <= checked, sorted(checked)


def test_every_write_endpoint_reads_its_body() -> None:
    """A write that ignored its body did what was asked whatever was sent (``{"x": 1}``,
    ``garbage``): every POST, PUT, PATCH and DELETE of the API reads it, through
    ``parse_body`` (``NoBodySerializer`` for an operation that takes none), DRF's
    ``request.data`` or the idempotency decorator's ``prepare``, so a body it does not take is a 400 and nothing is written."""
    import ast
    from pathlib import Path

    import annotations.api.views as views

    unread = []
    for path in sorted(Path(views.__path__[0]).glob("*.py")):
        tree = ast.parse(path.read_text())
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            for method in cls.body:
                if isinstance(method, ast.FunctionDef) and method.name in (
                    "post",
                    "put",
                    "patch",
                    "delete",
                ):
                    source = ast.unparse(method)
                    # ``prepared``: read by the idempotency decorator's ``prepare`` step.
                    prepared = any(arg.arg == "prepared" for arg in method.args.args)
                    reads = ("parse_body", "request.data", "_read(")
                    if not prepared and not any(read in source for read in reads):
                        unread.append(f"{path.name} {cls.name}.{method.name}")
    assert unread == []
