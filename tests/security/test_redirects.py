"""Open redirects (B.6 #17; Label Studio #4341).

Login and logout follow ``next`` only to a path on this host; every variant of an
off-site target falls back to the default. htmx redirects (``HX-Redirect``) name only
the app's own URLs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from django.test import TestCase
from django.utils.http import url_has_allowed_host_and_scheme

from tests.security.world import World

EVIL_NEXT = [
    "//evil.example/",
    "///evil.example/",
    "////evil.example/",
    "/\\evil.example/",
    "\\/evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    "https:/evil.example",
    "http://evil.example/",
    "HTTPS://EVIL.EXAMPLE/",
    "https://testserver@evil.example/",
    "https://evil.example\\@testserver/",
    "//testserver.evil.example/",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "%5C%5Cevil.example",
    "\t//evil.example/",
    " //evil.example/",
    "/\t/evil.example/",
    "\x00//evil.example/",
    "javascript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://evil.example/",
]


class OpenRedirectTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def assertStaysHere(self, location: str) -> None:
        """The target resolves to this host (a percent-encoded "%2F%2Fevil" is a relative
        path here, not a host), and no browser quirk (backslashes, tabs) can change that."""
        self.assertTrue(
            url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"}),
            location,
        )
        normalized = location.replace("\\", "/")
        for char in "\t\n\r\x00 ":
            normalized = normalized.replace(char, "")
        resolved = urlsplit(urljoin("http://testserver/accounts/login/", normalized))
        self.assertEqual((resolved.scheme, resolved.netloc), ("http", "testserver"), location)
        self.assertFalse(normalized.startswith("//"), location)

    def assertNotSentOffSite(self, response: Any, target: str) -> None:
        """A redirect that stays here; a NUL in the query string is refused outright
        (``NulQueryMiddleware``: 400, no redirect at all)."""
        if "\x00" in target:
            self.assertEqual(response.status_code, 400)
            self.assertFalse(response.has_header("Location"))
            return
        self.assertEqual(response.status_code, 302)
        self.assertStaysHere(response["Location"])

    def test_login_ignores_an_off_site_next(self) -> None:
        for target in EVIL_NEXT:
            with self.subTest(next=target):
                response = self.browser().post(
                    "/accounts/login/",
                    {"username": "reviewer_a", "password": "pw-reviewer_a", "next": target},
                )
                self.assertEqual(response.status_code, 302)
                self.assertStaysHere(response["Location"])

    def test_a_signed_in_user_on_the_login_page_is_not_sent_off_site(self) -> None:
        client = self.browser(self.reviewer_a)
        for target in EVIL_NEXT:
            with self.subTest(next=target):
                response = client.get("/accounts/login/", {"next": target})
                self.assertNotSentOffSite(response, target)

    def test_logout_ignores_an_off_site_next(self) -> None:
        for target in EVIL_NEXT:
            with self.subTest(next=target):
                client = self.browser(self.reviewer_a)
                response = client.post(f"/accounts/logout/?next={target}", {"next": target})
                self.assertNotSentOffSite(response, target)

    def test_admin_login_ignores_an_off_site_next(self) -> None:
        staff = type(self.admin).objects.create_superuser("root", password="pw-root")
        for target in EVIL_NEXT[:8]:
            with self.subTest(next=target):
                response = self.browser().post(
                    f"/admin/login/?next={target}",
                    {"username": staff.username, "password": "pw-root", "next": target},
                )
                self.assertEqual(response.status_code, 302)
                self.assertStaysHere(response["Location"])

    def test_a_same_site_next_is_followed(self) -> None:
        response = self.browser().post(
            "/accounts/login/",
            {"username": "reviewer_a", "password": "pw-reviewer_a", "next": "/claims/1/"},
        )
        self.assertEqual(response["Location"], "/claims/1/")

    def test_htmx_redirects_name_only_our_own_urls(self) -> None:
        response = self.browser(self.reviewer_a).post(
            f"/projects/{self.project.slug}/review-next/?next=//evil.example/",
            HTTP_HX_REQUEST="true",
        )
        self.assertEqual(response.status_code, 200)
        self.assertStaysHere(response["HX-Redirect"])
