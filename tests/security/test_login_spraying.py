"""Login spraying (issue 13, finding 4): one address trying many usernames.

The per-username lockout (``security/test_auth.py`` ``LoginRateLimitTests``) counts a
username + address pair, so the probe tried 15 usernames from one address, each with a
wrong password, and was never stopped. An address now has a budget of failed logins across
all usernames (``LOGIN_FAILURES_PER_ADDRESS`` within the cool-off window), counted from
axes' attempt rows in the database (shared by every worker and node) and answered like
the per-username lockout: 429 on the login page, the admin login and the token endpoint.
"""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.test import TestCase, override_settings
from knox.models import AuthToken

from tests.security.world import API, World

BUDGET = 12


@override_settings(LOGIN_FAILURES_PER_ADDRESS=BUDGET, WORKBENCH_TOKEN_RATE="1000/minute")
class LoginSprayingTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def setUp(self) -> None:
        cache.clear()

    def tearDown(self) -> None:
        cache.clear()

    def login(
        self, username: str, password: str, *, ip: str = "10.0.0.1", path: str = "/accounts/login/"
    ):
        return self.browser().post(
            path, {"username": username, "password": password}, REMOTE_ADDR=ip
        )

    def token(self, username: str, password: str, *, ip: str = "10.0.0.1"):  # type: ignore[override]
        return self.api(None).post(
            f"{API}/auth/token/",
            {"username": username, "password": password},
            format="json",
            REMOTE_ADDR=ip,
        )

    def spray(
        self, count: int, *, ip: str = "10.0.0.1", path: str = "/accounts/login/"
    ) -> list[int]:
        """One wrong password each for ``count`` different usernames (some exist, most do
        not), as the probe did."""
        return [
            self.login(f"user{index}", "wrong", ip=ip, path=path).status_code
            for index in range(count)
        ]

    def test_the_default_budget_is_set(self) -> None:
        self.assertEqual(settings.AXES_HANDLER, "workbench.middleware.LoginRateLimitHandler")

    def test_the_probe_many_usernames_from_one_address_are_locked_out(self) -> None:
        # Fewer than the per-username limit for each name, so only the address budget bites.
        answers = self.spray(BUDGET + 3)
        self.assertEqual(answers[: BUDGET - 1], [200] * (BUDGET - 1))
        self.assertEqual(answers[BUDGET - 1 :], [429] * 4)
        # The right password of a real account is refused too from that address...
        response = self.login("reviewer_a", "pw-reviewer_a")
        self.assertEqual(response.status_code, 429)
        self.assertNotIn("sessionid", response.cookies)
        # ...on the admin login and the token endpoint as well, without a token.
        self.assertEqual(
            self.login("reviewer_a", "pw-reviewer_a", path="/admin/login/").status_code, 429
        )
        token = self.token("reviewer_a", "pw-reviewer_a")
        self.assertEqual(token.status_code, 429)
        self.assertFalse(AuthToken.objects.filter(user=self.reviewer_a).exists())
        # Another address is not affected.
        self.assertEqual(self.login("reviewer_a", "pw-reviewer_a", ip="10.0.0.2").status_code, 302)

    def test_the_address_may_sign_in_again_after_the_cool_off(self) -> None:
        self.spray(BUDGET)
        self.assertEqual(self.login("reviewer_a", "pw-reviewer_a").status_code, 429)
        AccessAttempt.objects.update(
            attempt_time=dt.datetime.now(dt.UTC)
            - settings.AXES_COOLOFF_TIME
            - dt.timedelta(seconds=5)
        )
        self.assertEqual(self.login("reviewer_a", "pw-reviewer_a").status_code, 302)

    def test_every_login_path_spends_the_same_budget(self) -> None:
        for index in range(BUDGET // 3):
            self.login(f"page{index}", "wrong")
            self.login(f"admin{index}", "wrong", path="/admin/login/")
            self.token(f"token{index}", "wrong")
        self.assertEqual(self.token("reviewer_a", "pw-reviewer_a").status_code, 429)
        self.assertEqual(self.login("reviewer_a", "pw-reviewer_a").status_code, 429)

    def test_user_agents_do_not_reset_the_budget(self) -> None:
        # axes keeps one attempt row per username, address and user agent: all are summed.
        for index in range(BUDGET):
            self.browser().post(
                "/accounts/login/",
                {"username": f"user{index}", "password": "wrong"},
                REMOTE_ADDR="10.0.0.1",
                HTTP_USER_AGENT=f"agent {index}",
            )
        self.assertEqual(self.login("reviewer_a", "pw-reviewer_a").status_code, 429)

    @override_settings(
        AXES_IPWARE_PROXY_COUNT=1,
        AXES_IPWARE_META_PRECEDENCE_ORDER=["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
    )
    def test_behind_a_proxy_the_forwarded_client_address_is_counted(self) -> None:
        # Every request arrives from the proxy (127.0.0.1); the client is the address the
        # proxy appended to X-Forwarded-For.
        def attempt(username: str, password: str, client: str) -> int:
            return (
                self.browser()
                .post(
                    "/accounts/login/",
                    {"username": username, "password": password},
                    REMOTE_ADDR="127.0.0.1",
                    HTTP_X_FORWARDED_FOR=client,
                )
                .status_code
            )

        for index in range(BUDGET):
            attempt(f"user{index}", "wrong", "203.0.113.7")
        self.assertEqual(attempt("reviewer_a", "pw-reviewer_a", "203.0.113.7"), 429)
        self.assertEqual(attempt("reviewer_a", "pw-reviewer_a", "198.51.100.4"), 302)

    @override_settings(LOGIN_FAILURES_PER_ADDRESS=0)
    def test_zero_turns_the_address_budget_off(self) -> None:
        self.assertEqual(set(self.spray(BUDGET + 2)), {200})

    @override_settings(AXES_IPWARE_PROXY_COUNT=1)
    def test_a_client_cannot_pick_its_address_behind_a_proxy(self) -> None:
        # Whatever the client writes in front of the proxy's entry is ignored.
        for index in range(BUDGET):
            self.browser().post(
                "/accounts/login/",
                {"username": f"user{index}", "password": "wrong"},
                REMOTE_ADDR="127.0.0.1",
                HTTP_X_FORWARDED_FOR=f"192.0.2.{index}, 203.0.113.7",
            )
        response = self.browser().post(
            "/accounts/login/",
            {"username": "reviewer_a", "password": "pw-reviewer_a"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="192.0.2.200, 203.0.113.7",
        )
        self.assertEqual(response.status_code, 429)

    @override_settings(WORKBENCH_TOKEN_RATE="3/minute")
    def test_the_token_throttle_ignores_a_forwarded_header_it_was_not_told_to_trust(self) -> None:
        # Not behind a proxy (NUM_PROXIES 0): a made-up X-Forwarded-For is no new client.
        answers = [
            self.api(None)
            .post(
                f"{API}/auth/token/",
                {"username": "reviewer_a", "password": "pw-reviewer_a"},
                format="json",
                REMOTE_ADDR="10.0.0.9",
                HTTP_X_FORWARDED_FOR=f"192.0.2.{index}",
            )
            .status_code
            for index in range(4)
        ]
        self.assertEqual(answers, [200, 200, 200, 429])
