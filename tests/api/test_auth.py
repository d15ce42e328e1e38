"""API: the token endpoint (``POST /auth/token/``), and how a caller authenticates: token
or session (with CSRF for session writes), inactive users refused. Revoking, expiry and
hashing: ``tests/security/test_tokens.py``."""

from __future__ import annotations

import re

from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api.base import API, ApiTestCase
from tests.factories import make_user


class TokenApiTests(ApiTestCase):
    def test_it_exchanges_username_and_password_for_a_token(self) -> None:
        response = self.post(
            None, "/auth/token/", {"username": "reviewer_a", "password": "pw-reviewer_a"}
        )
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(set(body), {"token", "id", "expiry"})
        self.assertRegex(body["token"], r"^[0-9a-f]{64}$")
        self.assertNotEqual(body["token"], self.tokens[self.reviewer_a.pk])
        self.assertRegex(body["id"], r"^[0-9a-f]{12}$")
        self.assertTrue(re.match(r"^\d{4}-\d\d-\d\dT", body["expiry"]), body)

    def test_each_exchange_makes_a_new_token(self) -> None:
        newcomer = make_user("newcomer")
        credentials = {"username": "newcomer", "password": "pw-newcomer"}
        first = self.post(None, "/auth/token/", credentials)
        second = self.post(None, "/auth/token/", credentials)
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertNotEqual(first.json()["token"], second.json()["token"])
        self.assertNotEqual(first.json()["id"], second.json()["id"])
        self.assertEqual(AuthToken.objects.filter(user=newcomer).count(), 2)
        for answer in (first, second):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
            self.assertEqual(client.get(f"{API}/projects/").status_code, 200)

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


class ApiAuthenticationTests(ApiTestCase):
    def test_token_auth_works_with_the_authorization_header(self) -> None:
        client = Client()
        token = self.tokens[self.reviewer_a.pk]
        response = client.get(f"{API}/projects/", headers={"Authorization": f"Token {token}"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["results"][0]["role"], "reviewer")

    def test_an_unknown_token_is_a_401(self) -> None:
        response = Client().get(f"{API}/projects/", headers={"Authorization": "Token nope"})
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["detail"], "Invalid token.")

    def test_an_inactive_users_token_is_refused(self) -> None:
        self.reviewer_a.is_active = False
        self.reviewer_a.save()
        for path in ("/projects/", f"/claims/?project={self.project.pk}"):
            with self.subTest(path):
                response = self.get(self.reviewer_a, path)
                self.assertEqual(response.status_code, 401)
                self.assertEqual(response.json()["detail"], "User inactive or deleted.")
        with self.assertNothingWritten():
            response = self.post(self.reviewer_a, "/queue/next/", {"project": self.project.pk})
        self.assertEqual(response.status_code, 401)

    def test_session_auth_works_for_reads(self) -> None:
        client = Client()
        client.force_login(self.editor)
        response = client.get(f"{API}/projects/{self.project.pk}/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["role"], "editor")

    def test_session_posts_need_the_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.get("/accounts/login/")  # a page with a form sets the CSRF cookie
        csrf = client.cookies["csrftoken"].value
        client.force_login(self.editor)
        body = {"project": self.project.pk, "title": "CSRF", "text": "Needs a token."}
        with self.assertNothingWritten():
            response = client.post(f"{API}/documents/", body, content_type="application/json")
        self.assertEqual(response.status_code, 403)
        self.assertIn("CSRF", response.json()["detail"])

        response = client.post(
            f"{API}/documents/",
            body,
            content_type="application/json",
            headers={"X-CSRFToken": csrf},
        )
        self.assertEqual(response.status_code, 201, response.content)

    def test_token_posts_need_no_csrf_token(self) -> None:
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[self.editor.pk]}")
        response = client.post(
            f"{API}/documents/",
            {"project": self.project.pk, "title": "Token", "text": "No CSRF needed."},
            format="json",
        )
        self.assertEqual(response.status_code, 201, response.content)

    def test_an_inactive_users_session_is_not_authenticated(self) -> None:
        client = Client()
        client.force_login(self.editor)
        self.editor.is_active = False
        self.editor.save()
        response = client.get(f"{API}/projects/")
        self.assertEqual(response.status_code, 401)
