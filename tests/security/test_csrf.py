"""CSRF on every unsafe UI route, on the session-authenticated API, and in htmx (B.6 #15).

Routes come from the URL resolver, so new ones are covered without editing this file.
Rendered pages are parsed: every element that makes htmx send an unsafe request sits
under ``<body hx-headers='{"X-CSRFToken": ...}'>`` with a token that matches the CSRF
cookie (htmx 2 inherits ``hx-headers``; test_headers pins the major version), and every
plain POST form carries ``csrfmiddlewaretoken``.
"""

from __future__ import annotations

import json
import re

import lxml.html
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client, TestCase

from tests.security.test_object_access import _routes
from tests.security.world import API, World

HX_UNSAFE = ("hx-post", "hx-put", "hx-patch", "hx-delete")


def concrete(route: str) -> str:
    return "/" + re.sub(
        r"<(?:(\w+):)?(\w+)>", lambda m: "x" if m.group(1) == "slug" else "1", route
    )


class CsrfTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def test_every_ui_route_refuses_an_unsafe_request_without_a_token(self) -> None:
        routes = [
            route
            for route in _routes(__import__("django.urls").urls.get_resolver())
            if not route.startswith(("api/", "^", "static"))
        ]
        self.assertGreaterEqual(len(routes), 20)
        for user in (None, self.reviewer_a):
            client = self.browser(user, csrf=True)
            for route in routes:
                for method in ("post", "put", "patch", "delete"):
                    with self.subTest(route=route, method=method, user=str(user)):
                        response = getattr(client, method)(concrete(route), {"x": "1"})
                        self.assertEqual(response.status_code, 403, response.content[:200])
                        self.assertIn(b"CSRF", response.content)

    def test_admin_posts_need_a_token(self) -> None:
        root = type(self.admin).objects.create_superuser("root", password="pw-root")
        client = self.browser(root, csrf=True)
        for path in (
            "/admin/login/",
            "/admin/logout/",
            f"/admin/annotations/claim/{self.blind.pk}/change/",
            "/admin/annotations/claim/",
            "/admin/annotations/project/add/",
        ):
            with self.subTest(path=path):
                response = client.post(path, {"action": "recompute_consensus"})
                self.assertEqual(response.status_code, 403)

    def test_the_session_authenticated_api_needs_the_header_on_every_unsafe_verb(self) -> None:
        client = self.browser(self.reviewer_a, csrf=True)
        routes = [r for r in _routes(__import__("django.urls").urls.get_resolver())]
        # The password exchange takes no session; DELETE auth/token/ only a token.
        api_routes = [r for r in routes if r.startswith("api/v1/") and r != "api/v1/auth/token/"]
        self.assertGreaterEqual(len(api_routes), 20)
        for route in api_routes:
            for method in ("post", "put", "patch", "delete"):
                with self.subTest(route=route, method=method):
                    response = getattr(client, method)(
                        concrete(route), "{}", content_type="application/json"
                    )
                    self.assertEqual(response.status_code, 403, response.content[:200])
                    self.assertIn(b"CSRF", response.content)

    def test_with_the_header_a_session_post_goes_through(self) -> None:
        client = self.browser(self.reviewer_a, csrf=True)
        client.get("/")  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.post(
            f"{API}/claims/{self.blind.pk}/release/",
            content_type="application/json",
            HTTP_X_CSRFTOKEN=token,
        )
        self.assertEqual(response.status_code, 204)

    def test_the_token_endpoint_sets_no_session(self) -> None:
        client = Client(enforce_csrf_checks=True)
        response = client.post(
            f"{API}/auth/token/",
            {"username": "reviewer_a", "password": "pw-reviewer_a"},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("sessionid", response.cookies)


class HtmxCsrfHeaderTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def pages(self) -> list[tuple[Client, str]]:
        a, editor = self.browser(self.reviewer_a), self.browser(self.editor)
        slug = self.project.slug
        return [
            (a, f"/claims/{self.blind.pk}/"),  # verdict form, lease release, skip
            (editor, f"/claims/{self.blind.pk}/"),  # claim edit
            (a, self.document.get_absolute_url()),
            (a, f"/documents/{self.document.pk}/claims/new/?start=0&end=5"),
            (editor, f"/projects/{slug}/disputes/"),
            (a, self.project.get_absolute_url()),
            (a, f"/projects/{slug}/documents/"),
            (a, "/"),
        ]

    def test_every_htmx_request_that_writes_carries_a_valid_csrf_header(self) -> None:
        unsafe_seen = 0
        for client, path in self.pages():
            with self.subTest(path=path):
                response = client.get(path)
                self.assertEqual(response.status_code, 200)
                secret = client.cookies["csrftoken"].value
                tree = lxml.html.fromstring(response.content)
                for element in tree.iter():
                    if not isinstance(element.tag, str):
                        continue
                    if any(element.get(a) for a in HX_UNSAFE) or (
                        element.tag == "form" and element.get("method", "").lower() == "post"
                    ):
                        unsafe_seen += 1
                        self.assertHeaderToken(element, secret)
                    if element.tag == "form" and element.get("method", "").lower() == "post":
                        tokens = element.xpath(".//input[@name='csrfmiddlewaretoken']/@value")
                        self.assertEqual(len(tokens), 1, lxml.html.tostring(element)[:200])
                        self.assertEqual(_secret(tokens[0]), _secret(secret))
        self.assertGreaterEqual(unsafe_seen, 8)

    def assertHeaderToken(self, element: lxml.html.HtmlElement, secret: str) -> None:
        holder = next((e for e in element.iterancestors() if e.get("hx-headers")), None)
        self.assertIsNotNone(holder, "no hx-headers above an unsafe htmx element")
        self.assertEqual(holder.tag, "body")
        headers = json.loads(holder.get("hx-headers"))
        self.assertEqual(_secret(headers["X-CSRFToken"]), _secret(secret))
        # htmx 4 would need hx-headers:inherited; nothing below may switch inheritance off.
        self.assertIsNone(element.get("hx-disinherit"))


def _secret(token: str) -> str:
    return _unmask_cipher_token(token) if len(token) == 64 else token
