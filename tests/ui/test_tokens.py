"""The API token page (``/account/tokens/``): my tokens listed without their secrets, a new
one shown once, revoking one (mine only), and signing out everywhere (every token, every
other session; this browser stays signed in)."""

from __future__ import annotations

import re

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from annotations import services
from annotations.models import Event
from tests.ui.reviewing_base import ReviewViewTestCase

HX = {"HTTP_HX_REQUEST": "true"}
PAGE = reverse("workbench:tokens")
SIGN_OUT = reverse("workbench:sign-out-everywhere")


def revoke_url(token: AuthToken) -> str:
    return reverse("workbench:token-revoke", args=[token.digest])


def works(secret: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client.get("/api/v1/projects/").status_code == 200


class TokenPageTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def test_it_needs_a_sign_in(self) -> None:
        for method, url in (("get", PAGE), ("post", PAGE), ("post", SIGN_OUT)):
            with self.subTest(method=method, url=url):
                response = getattr(Client(), method)(url)
                self.assertEqual(response.status_code, 302)
                self.assertTrue(response["Location"].startswith("/accounts/login/"))

    def test_the_header_links_to_it(self) -> None:
        self.login(self.reviewer_a)
        self.assertContains(self.client.get("/"), f'href="{PAGE}"')

    def test_it_lists_my_tokens_without_their_secrets(self) -> None:
        mine = [services.token_create(user=self.reviewer_a) for _ in range(2)]
        theirs = services.token_create(user=self.reviewer_b)
        self.login(self.reviewer_a)
        response = self.client.get(PAGE)
        self.assertEqual(response.status_code, 200)
        self.assertFullPage(response)
        self.assertNoInlineCode(response)
        html = self.page(response)
        for issued in mine:
            self.assertIn(services.token_id(issued.token), html)
            self.assertNotIn(issued.secret, html)
            self.assertNotIn(issued.secret[:15], html)  # not even knox's lookup prefix
        self.assertNotIn(services.token_id(theirs.token), html)
        self.assertIn("Your tokens (2)", html)
        self.assertEqual(response["Cache-Control"], "private, no-store")

    @override_settings(API_TOKEN_TTL_DAYS=30)
    def test_creating_a_token_shows_its_secret_once(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(PAGE)
        self.assertEqual(response.status_code, 200)
        self.assertFullPage(response)
        self.assertNoInlineCode(response)
        self.assertLabelled(response)
        [token] = AuthToken.objects.filter(user=self.reviewer_a)
        secret = re.search(r'id="new-token-secret"[^>]*value="([0-9a-f]{64})"', self.page(response))
        self.assertIsNotNone(secret)
        self.assertTrue(works(secret[1]))
        self.assertEqual(response["Cache-Control"], "private, no-store")
        self.assertContains(response, "New tokens expire after 30 days.")
        # Shown once: not in the next page, not in the session.
        again = self.client.get(PAGE)
        self.assertNotIn(secret[1], self.page(again))
        self.assertIn(services.token_id(token), self.page(again))
        session = Session.objects.get(session_key=self.client.session.session_key)
        self.assertNotIn(secret[1], str(session.get_decoded()))
        event = Event.objects.get(verb="token.create")
        self.assertEqual((event.actor, event.after["via"]), (self.reviewer_a, "ui"))

    def test_htmx_creates_a_token_into_the_panel(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(PAGE, **HX)
        self.assertFragment(response, 'id="token-panel"')
        self.assertRegex(self.page(response), r'value="[0-9a-f]{64}"')

    def test_it_needs_the_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reviewer_a)
        token = services.token_create(user=self.reviewer_a).token
        for url in (PAGE, revoke_url(token), SIGN_OUT):
            with self.subTest(url=url):
                self.assertEqual(client.post(url).status_code, 403)
        self.assertEqual(AuthToken.objects.count(), 1)
        page = client.get(PAGE)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.page(page))[1]
        self.assertEqual(client.post(PAGE, {"csrfmiddlewaretoken": csrf}).status_code, 200)
        self.assertEqual(AuthToken.objects.count(), 2)

    def test_revoking_one_of_my_tokens(self) -> None:
        gone, kept = (services.token_create(user=self.reviewer_a) for _ in range(2))
        self.login(self.reviewer_a)
        response = self.client.post(revoke_url(gone.token), follow=True)
        self.assertRedirects(response, PAGE)
        self.assertContains(response, f"Token {services.token_id(gone.token)} revoked")
        self.assertFalse(works(gone.secret))
        self.assertTrue(works(kept.secret))
        self.assertEqual(Event.objects.filter(verb="token.revoke").count(), 1)

    def test_revoking_with_htmx_answers_the_panel(self) -> None:
        issued = services.token_create(user=self.reviewer_a)
        self.login(self.reviewer_a)
        response = self.client.post(revoke_url(issued.token), **HX)
        self.assertFragment(response, "revoked: it no longer works")
        self.assertIn("You have no API tokens.", self.page(response))

    def test_someone_elses_token_is_a_404_and_stays(self) -> None:
        theirs = services.token_create(user=self.reviewer_b)
        self.login(self.reviewer_a)
        response = self.client.post(revoke_url(theirs.token))
        missing = self.client.post(reverse("workbench:token-revoke", args=["0" * 128]))
        self.assertEqual((response.status_code, missing.status_code), (404, 404))
        self.assertEqual(response.content, missing.content)
        self.assertTrue(works(theirs.secret))
        self.assertFalse(Event.objects.filter(verb="token.revoke").exists())

    def test_get_does_not_revoke(self) -> None:
        issued = services.token_create(user=self.reviewer_a)
        self.login(self.reviewer_a)
        self.assertEqual(self.client.get(revoke_url(issued.token)).status_code, 405)
        self.assertTrue(works(issued.secret))


class SignOutEverywhereTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def test_it_ends_my_other_sessions_and_revokes_my_tokens(self) -> None:
        here, laptop, phone, someone_else = Client(), Client(), Client(), Client()
        for browser in (here, laptop, phone):
            browser.force_login(self.reviewer_a)
        someone_else.force_login(self.reviewer_b)
        mine = services.token_create(user=self.reviewer_a)
        theirs = services.token_create(user=self.reviewer_b)
        old_key = here.session.session_key

        response = here.post(SIGN_OUT, follow=True)
        self.assertRedirects(response, PAGE)
        self.assertContains(response, "1 API token(s) revoked, 2 other session(s) ended")
        # This browser stays signed in, under a new session key.
        self.assertEqual(here.get("/").status_code, 200)
        self.assertNotEqual(here.session.session_key, old_key)
        for browser in (laptop, phone):
            self.assertEqual(browser.get("/").status_code, 302)
        self.assertEqual(someone_else.get("/").status_code, 200)
        self.assertFalse(works(mine.secret))
        self.assertTrue(works(theirs.secret))
        remaining = [
            s
            for s in Session.objects.all()
            if s.get_decoded().get(SESSION_KEY) == str(self.reviewer_a.pk)
        ]
        self.assertEqual(len(remaining), 1)
        event = Event.objects.get(verb="user.sign_out_everywhere")
        self.assertEqual((event.actor, event.object_id), (self.reviewer_a, self.reviewer_a.pk))

    def test_the_page_offers_it_as_a_post_form(self) -> None:
        self.login(self.reviewer_a)
        html = self.page(self.client.get(PAGE))
        self.assertRegex(
            html,
            rf'<form method="post" action="{SIGN_OUT}">\s*<input type="hidden" name="csrfmiddlewaretoken"',
        )
        self.assertEqual(self.client.get(SIGN_OUT).status_code, 405)


class TokenRevokeInputTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def test_a_malformed_id_is_a_404_even_a_nul(self) -> None:
        # A NUL would make PostgreSQL refuse the lookup (a 500) if it reached the query.
        self.login(self.reviewer_a)
        for digest in ("%00", "x" * 128, "A" * 128, "0" * 127, "' OR 1=1 --"):
            with self.subTest(digest=digest):
                url = f"/account/tokens/{digest}/revoke/"
                response = self.client.post(url)
                self.assertEqual(response.status_code, 404)
