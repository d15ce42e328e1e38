"""What the reading UI tests share: ``ReadingViewTestCase`` (the personas and a claim,
a CSP check and the access check every page passes: members in, an outsider 404, an
anonymous visitor to the sign-in page), ``HX`` and the hostile and emoji texts. Used by
``tests/ui/test_reading.py`` and ``tests/ui/test_reader.py``.
"""

from __future__ import annotations

import re

from django.test import TestCase
from django.urls import reverse

from tests.factories import Personas, make_claim

HX = {"HTTP_HX_REQUEST": "true"}
XSS_TEXT = "Intro line.\nThe council said <script>alert(1)</script> cuts crime.\n"
XSS_STATEMENT = "<img src=x onerror=alert(1)>"
EMOJI_TEXT = "Flags 🇺🇦🇵🇱 and a bridge 🌉 first. Then the claim: taxes rose 5%.\n"

# <script> without a src attribute (inline code), style attributes and <style> elements.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


class ReadingViewTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact="crime fell 20% last year"
        )

    def login(self, user: object) -> None:
        self.client.force_login(user)

    def assert_csp_clean(self, html: str) -> None:
        self.assertIsNone(INLINE_SCRIPT.search(html), "inline <script> without src")
        self.assertIsNone(STYLE_ATTRIBUTE.search(html), "style= attribute")
        self.assertNotIn("<style", html.lower())

    def assert_access(self, url: str) -> None:
        """Members get the page, an outsider 404, an anonymous visitor the sign-in page."""
        with self.subTest("anonymous"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response["Location"].startswith(f"{reverse('login')}?next="))
        for user in (self.reviewer_a, self.editor, self.admin):
            with self.subTest(user=user.get_username()):
                self.login(user)
                self.assertEqual(self.client.get(url).status_code, 200)
        with self.subTest("outsider"):
            self.login(self.outsider)
            self.assertEqual(self.client.get(url).status_code, 404)
