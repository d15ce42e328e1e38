"""API: bodies that are not what a write endpoint reads (broken JSON, the wrong media
type, a JSON value that is not an object)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from annotations import services
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
