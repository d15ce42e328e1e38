"""API: the token endpoint (``POST /auth/token/``)."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.base import API, ApiTestCase
from tests.factories import make_user


class TokenApiTests(ApiTestCase):
    def test_it_exchanges_username_and_password_for_a_token(self) -> None:
        response = self.post(
            None, "/auth/token/", {"username": "reviewer_a", "password": "pw-reviewer_a"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"token": self.tokens[self.reviewer_a.pk]})

    def test_it_creates_a_token_once_and_returns_it_again(self) -> None:
        newcomer = make_user("newcomer")
        first = self.post(None, "/auth/token/", {"username": "newcomer", "password": "pw-newcomer"})
        second = self.post(
            None, "/auth/token/", {"username": "newcomer", "password": "pw-newcomer"}
        )
        self.assertEqual(first.status_code, 200)
        self.assertEqual(first.json(), second.json())
        self.assertEqual(Token.objects.get(user=newcomer).key, first.json()["token"])

    def test_the_token_authenticates_api_calls(self) -> None:
        key = self.post(
            None, "/auth/token/", {"username": "reviewer_a", "password": "pw-reviewer_a"}
        ).json()["token"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        response = client.get(f"{API}/projects/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual([p["id"] for p in response.json()["results"]], [self.project.pk])

    def test_it_rejects_bad_credentials_and_writes_nothing(self) -> None:
        make_user("tokenless")
        inactive = make_user("inactive")
        inactive.is_active = False
        inactive.save()
        cases = [
            ({"username": "tokenless", "password": "wrong"}, "non_field_errors"),
            ({"username": "nobody", "password": "pw-nobody"}, "non_field_errors"),
            ({"username": "inactive", "password": "pw-inactive"}, "non_field_errors"),
            ({"username": "tokenless"}, "password"),
            ({"password": "pw-tokenless"}, "username"),
        ]
        for body, field in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                self.assertFieldError(self.post(None, "/auth/token/", body), field)
