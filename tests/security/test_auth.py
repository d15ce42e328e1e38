"""Authentication: deny by default, no alternate or open doors, login rate limiting
(B.6 #16, #27; CVAT CVE-2025-54573, Label Studio CVE-2022-36551 and CVE-2026-22033).

* Inactive users are refused by every authenticator (session, token) and on every
  surface (UI, API, schema).
* HTTP Basic is not an authenticator; there is no sign-up or user-editing URL.
* The schema and the API docs need a signed-in user.
* The token endpoint wants a password (never hands a token to a session or to a GET) and
  is throttled (revoking, expiry, hashing: ``test_tokens.py``); failed passwords lock the username + address pair out (django-axes) on
  the login page, the admin login and the token endpoint alike; a success resets.
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.core.cache import cache
from django.test import TestCase, override_settings
from django.urls import get_resolver
from knox.models import AuthToken

from tests.security.world import API, World
from workbench import errors


class DenyByDefaultTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def test_the_api_denies_unless_an_active_user_calls(self) -> None:
        rest = settings.REST_FRAMEWORK
        # IsActiveUser first: every other check (NoNulInQuery, KnownQueryParams) runs after
        # it, so an anonymous caller gets 401 before anything else is said about the request.
        self.assertEqual(
            rest["DEFAULT_PERMISSION_CLASSES"],
            [
                "annotations.api.permissions.IsActiveUser",
                "annotations.api.permissions.NoNulInQuery",
                "annotations.api.query.KnownQueryParams",
            ],
        )
        self.assertEqual(
            rest["DEFAULT_AUTHENTICATION_CLASSES"],
            [
                "annotations.api.authentication.TokenAuthentication",
                "rest_framework.authentication.SessionAuthentication",
            ],
        )
        for path in ("/projects/", "/documents/", "/claims/", f"/claims/{self.blind.pk}/"):
            with self.subTest(path=path):
                self.assertEqual(self.api(None).get(f"{API}{path}").status_code, 401)
                self.assertEqual(self.api(None).get(f"{API}{path}?bogus=1").status_code, 401)

    def test_inactive_users_are_refused_by_every_authenticator(self) -> None:
        token = self.token(self.reviewer_a)
        session = self.browser(self.reviewer_a)
        self.assertEqual(session.get("/").status_code, 200)
        self.reviewer_a.is_active = False
        self.reviewer_a.save()
        self.assertEqual(session.get("/").status_code, 302)
        self.assertIn(session.get(f"{API}/projects/").status_code, (401, 403))
        self.assertIn(session.get("/api/schema/").status_code, (401, 403))
        api = self.api(None)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = api.get(f"{API}/projects/")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(
            self.api(None)
            .post(
                f"{API}/auth/token/",
                {"username": "reviewer_a", "password": "pw-reviewer_a"},
                format="json",
            )
            .status_code,
            400,
        )

    def test_http_basic_is_not_an_authenticator(self) -> None:
        api = self.api(None)
        credentials = base64.b64encode(b"reviewer_a:pw-reviewer_a").decode()
        api.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
        response = api.get(f"{API}/projects/")
        self.assertEqual(response.status_code, 401)
        self.assertTrue(response["WWW-Authenticate"].startswith("Token"))

    def test_there_is_no_sign_up(self) -> None:
        for path in (
            "/accounts/signup/",
            "/accounts/register/",
            "/signup/",
            "/register/",
            "/api/v1/auth/register/",
            "/api/v1/auth/signup/",
            "/api/v1/users/",
            "/accounts/password_reset/",
        ):
            with self.subTest(path=path):
                self.assertFalse(errors.routed(path))
        names = [str(p.pattern) for p in get_resolver().url_patterns]
        self.assertFalse([n for n in names if "sign" in n.lower() or "regist" in n.lower()])

    def test_the_schema_and_docs_need_a_signed_in_user(self) -> None:
        anonymous = self.browser()
        for path in ("/api/schema/", "/api/docs/"):
            with self.subTest(path=path):
                self.assertIn(anonymous.get(path).status_code, (401, 403))
                self.assertEqual(self.browser(self.reviewer_a).get(path).status_code, 200)

    def test_no_api_route_hands_a_token_to_a_session(self) -> None:
        key = self.token(self.reviewer_a)
        session = self.browser(self.reviewer_a)
        self.assertEqual(session.get(f"{API}/auth/token/").status_code, 405)
        for path in (
            "/projects/",
            f"/projects/{self.project.pk}/",
            f"/projects/{self.project.pk}/members/",
            "/claims/",
            f"/claims/{self.blind.pk}/",
            "/",
        ):
            with self.subTest(path=path):
                self.assertNotIn(key.encode(), session.get(f"{API}{path}").content)
        self.assertNotIn(key.encode(), session.get("/").content)


class LoginRateLimitTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def setUp(self) -> None:
        cache.clear()

    def tearDown(self) -> None:
        cache.clear()

    def login(self, password: str, *, ip: str = "10.0.0.1", path: str = "/accounts/login/"):
        return self.browser().post(
            path, {"username": "reviewer_a", "password": password}, REMOTE_ADDR=ip
        )

    def token(self, password: str, *, ip: str = "10.0.0.1"):  # type: ignore[override]
        return self.api(None).post(
            f"{API}/auth/token/",
            {"username": "reviewer_a", "password": password},
            format="json",
            REMOTE_ADDR=ip,
        )

    def test_settings_lock_out_by_username_and_address(self) -> None:
        self.assertEqual(
            settings.AUTHENTICATION_BACKENDS[0], "workbench.middleware.LoginRateLimitBackend"
        )
        self.assertEqual(settings.AXES_LOCKOUT_PARAMETERS, [["username", "ip_address"]])
        self.assertTrue(settings.AXES_RESET_ON_SUCCESS)
        self.assertEqual(settings.AXES_FAILURE_LIMIT, 5)
        self.assertIn("axes.middleware.AxesMiddleware", settings.MIDDLEWARE)

    def test_the_login_page_locks_out_after_the_failure_limit(self) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            self.assertEqual(self.login("wrong").status_code, 200)
        self.assertEqual(self.login("wrong").status_code, 429)
        # Now even the right password is refused, from that address...
        response = self.login("pw-reviewer_a")
        self.assertEqual(response.status_code, 429)
        self.assertNotIn("sessionid", response.cookies)
        # ...but not from another one, or for another user.
        self.assertEqual(self.login("pw-reviewer_a", ip="10.0.0.2").status_code, 302)

    def test_the_admin_login_counts_the_same_way(self) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            self.login("wrong", path="/admin/login/")
        self.assertEqual(self.login("pw-reviewer_a").status_code, 429)

    def test_the_token_endpoint_locks_out_too_and_hands_out_no_token(self) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            self.assertEqual(self.token("wrong").status_code, 400)
        self.assertEqual(self.token("wrong").status_code, 429)
        response = self.token("pw-reviewer_a")
        self.assertEqual(response.status_code, 429)
        self.assertNotIn(b"token", response.content.lower().replace(b"tokens", b""))
        self.assertFalse(AuthToken.objects.filter(user=self.reviewer_a).exists())
        # The lockout is shared with the login page.
        self.assertEqual(self.login("pw-reviewer_a").status_code, 429)

    def test_a_success_resets_the_count(self) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            self.login("wrong")
        self.assertEqual(self.login("pw-reviewer_a").status_code, 302)
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            self.login("wrong")
        self.assertEqual(self.login("pw-reviewer_a").status_code, 302)

    @override_settings(WORKBENCH_TOKEN_RATE="3/minute")
    def test_the_token_endpoint_is_throttled_per_address(self) -> None:
        answers = [self.token("pw-reviewer_a", ip="10.0.0.9").status_code for _ in range(4)]
        self.assertEqual(answers, [200, 200, 200, 429])
        self.assertEqual(self.token("pw-reviewer_a", ip="10.0.0.10").status_code, 200)
