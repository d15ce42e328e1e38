"""Tokens die (issue 13, finding 2: "Tokens never die").

The probe: after logout and after a password change the old API token kept working, and
``POST /api/v1/auth/token/`` handed back the same key. Now every exchange makes a new
token, the database keeps only digests, a token expires, ``DELETE /auth/token/`` revokes
the one in use and ``DELETE /auth/tokens/`` all of them, and a password change (any path)
or "sign out everywhere" revokes them all.
"""

from __future__ import annotations

import datetime as dt
import json
from unittest import mock

from django.core.cache import cache
from django.db import connection
from django.test import TestCase, override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.security.world import API, World

CREDENTIALS = {"username": "reviewer_a", "password": "pw-reviewer_a"}


class TokenLifecycleTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def setUp(self) -> None:
        cache.clear()  # the per-address throttle of the token endpoint

    def exchange(self, **credentials: str) -> str:
        response = self.api(None).post(
            f"{API}/auth/token/", credentials or CREDENTIALS, format="json"
        )
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()["token"]

    def status_with(self, key: str, path: str = "/projects/") -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client.get(f"{API}{path}").status_code

    def delete(self, key: str, path: str) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client.delete(f"{API}{path}").status_code

    # --- the probe -----------------------------------------------------------------------------

    def test_the_endpoint_hands_out_a_different_key_each_time(self) -> None:
        keys = [self.exchange() for _ in range(3)]
        self.assertEqual(len(set(keys)), 3)
        for key in keys:
            self.assertEqual(self.status_with(key), 200)

    def test_after_logout_the_token_is_a_401(self) -> None:
        key = self.exchange()
        self.assertEqual(self.status_with(key), 200)
        self.assertEqual(self.delete(key, "/auth/token/"), 204)
        self.assertEqual(self.status_with(key), 401)
        self.assertEqual(self.delete(key, "/auth/token/"), 401)

    def test_after_a_password_change_the_token_is_a_401(self) -> None:
        key = self.exchange()
        self.reviewer_a.set_password("a-brand-new-password")
        self.reviewer_a.save()
        self.assertEqual(self.status_with(key), 401)
        # The old password no longer buys a token; the new one does.
        response = self.api(None).post(f"{API}/auth/token/", CREDENTIALS, format="json")
        self.assertEqual(response.status_code, 400)
        new = self.exchange(username="reviewer_a", password="a-brand-new-password")
        self.assertEqual(self.status_with(new), 200)

    def test_after_a_password_change_in_the_admin_the_token_is_a_401(self) -> None:
        key = self.exchange()
        root = type(self.admin).objects.create_superuser("root", password="pw-root")
        browser = self.browser(root)
        response = browser.post(
            f"/admin/auth/user/{self.reviewer_a.pk}/password/",
            {
                "password1": "a-brand-new-password",
                "password2": "a-brand-new-password",
                "usable_password": "true",
            },
        )
        self.assertEqual(response.status_code, 302, response.content[:500])
        self.assertEqual(self.status_with(key), 401)

    # --- storage -------------------------------------------------------------------------------

    def test_the_database_holds_no_clear_text_key(self) -> None:
        keys = [self.exchange() for _ in range(2)]
        table = AuthToken._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (a fixed table name)
            rows = json.dumps(cursor.fetchall(), default=str)
        self.assertEqual(AuthToken.objects.count(), 2)
        for key in keys:
            self.assertNotIn(key, rows)
            self.assertNotIn(key[-32:], rows)  # nor most of it

    def test_an_old_clear_text_drf_key_is_refused_without_a_query(self) -> None:
        old_style = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF: 40 hex characters
        for key in (old_style, "Z" * 64, "é" * 64):
            with self.subTest(key=key[:8]), self.assertNumQueries(0):
                client = APIClient()
                client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
                self.assertEqual(client.get(f"{API}/projects/").status_code, 401)

    # --- expiry --------------------------------------------------------------------------------

    @override_settings(API_TOKEN_TTL_DAYS=1)
    def test_an_expired_token_is_a_401(self) -> None:
        key = self.exchange()
        self.assertEqual(self.status_with(key), 200)
        later = timezone.now() + dt.timedelta(days=1, seconds=1)
        with mock.patch("django.utils.timezone.now", return_value=later):
            self.assertEqual(self.status_with(key), 401)
        # And it stays dead: the expired row was deleted.
        self.assertEqual(self.status_with(key), 401)
        self.assertFalse(AuthToken.objects.filter(user=self.reviewer_a).exists())

    @override_settings(API_TOKEN_TTL_DAYS=0)
    def test_without_a_ttl_a_token_lives_until_revoked(self) -> None:
        response = self.api(None).post(f"{API}/auth/token/", CREDENTIALS, format="json")
        self.assertIsNone(response.json()["expiry"])
        later = timezone.now() + dt.timedelta(days=3650)
        with mock.patch("django.utils.timezone.now", return_value=later):
            self.assertEqual(self.status_with(response.json()["token"]), 200)

    def test_the_answer_names_the_expiry(self) -> None:
        response = self.api(None).post(f"{API}/auth/token/", CREDENTIALS, format="json")
        expiry = dt.datetime.fromisoformat(response.json()["expiry"])
        self.assertAlmostEqual((expiry - timezone.now()).total_seconds(), 90 * 86400, delta=120)

    # --- revoking ------------------------------------------------------------------------------

    def test_delete_revokes_only_the_token_used(self) -> None:
        first, second = self.exchange(), self.exchange()
        other_user = self.token(self.reviewer_b)
        self.assertEqual(self.delete(first, "/auth/token/"), 204)
        self.assertEqual(
            [self.status_with(k) for k in (first, second, other_user)], [401, 200, 200]
        )

    def test_delete_refuses_a_body_naming_another_token(self) -> None:
        """The outside probe: DELETE with {"token": B} revoked the caller's token A and
        left B alive. A body is now refused, naming its keys, and nothing is revoked."""
        caller, named = self.exchange(), self.exchange()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {caller}")
        for path in ("/auth/token/", "/auth/tokens/"):
            with self.subTest(path=path):
                response = client.delete(f"{API}{path}", {"token": named}, format="json")
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(set(response.json()), {"token"})
        self.assertEqual([self.status_with(k) for k in (caller, named)], [200, 200])

    def test_delete_needs_a_token_not_a_session(self) -> None:
        self.exchange()
        session = self.browser(self.reviewer_a)
        response = session.delete(f"{API}/auth/token/")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(AuthToken.objects.filter(user=self.reviewer_a).count(), 1)

    def test_revoke_all_revokes_every_token_of_the_caller_only(self) -> None:
        mine = [self.exchange() for _ in range(3)]
        theirs = self.token(self.reviewer_b)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {mine[0]}")
        response = client.delete(f"{API}/auth/tokens/")
        self.assertEqual((response.status_code, response.json()), (200, {"revoked": 3}))
        self.assertEqual([self.status_with(k) for k in mine], [401, 401, 401])
        self.assertEqual(self.status_with(theirs), 200)

    def test_revoke_all_works_from_a_session_with_csrf(self) -> None:
        key = self.exchange()
        browser = self.browser(self.reviewer_a, csrf=True)
        browser.get("/")
        csrf = browser.cookies["csrftoken"].value
        self.assertEqual(browser.delete(f"{API}/auth/tokens/").status_code, 403)
        self.assertEqual(self.status_with(key), 200)
        response = browser.delete(f"{API}/auth/tokens/", HTTP_X_CSRFTOKEN=csrf)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.status_with(key), 401)

    def test_sign_out_everywhere_revokes_the_tokens(self) -> None:
        key = self.exchange()
        browser = self.browser(self.reviewer_a)
        response = browser.post("/account/sign-out-everywhere/")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.status_with(key), 401)

    def test_an_inactive_users_token_is_a_401(self) -> None:
        key = self.exchange()
        self.reviewer_a.is_active = False
        self.reviewer_a.save()
        self.assertEqual(self.status_with(key), 401)
