"""What the reviewing UI tests share: ``ReviewViewTestCase`` (page, fragment, full-page,
no-inline-code and label assertions), ``verdict_post`` (the verdict form's POST data) and
``LabelCollector`` (form controls without a label). Used by ``tests/ui/test_reviewing.py``,
``tests/ui/test_claim_page.py``, ``tests/ui/test_verdicts.py``, ``tests/ui/test_queue.py``
and ``tests/ui/test_disputes.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse
from django.test import TestCase

from tests.factories import Personas

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def verdict_post(
    rating: str = "false",
    rationale: str = "Official figures show a 12% fall.",
    rows: Iterable[dict[str, str]] = (),
    **extra: str,
) -> dict[str, str]:
    rows = list(rows)
    data = {
        "rating": rating,
        "confidence": "high",
        "rationale": rationale,
        "citations-TOTAL_FORMS": str(len(rows)),
        "citations-INITIAL_FORMS": "0",
        "citations-MIN_NUM_FORMS": "0",
        "citations-MAX_NUM_FORMS": "50",
        **extra,
    }
    for index, row in enumerate(rows):
        data.update({f"citations-{index}-{name}": value for name, value in row.items()})
    return data


class LabelCollector(HTMLParser):
    """Form controls that need a label, and the ids that labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label" and attributes.get("for"):
            self.labelled.add(attributes["for"] or "")
        if tag in ("textarea", "select") or (
            tag == "input" and attributes.get("type") not in ("hidden", "submit", "button")
        ):
            self.controls.append(attributes.get("id") or f"<{tag} name={attributes.get('name')}>")


class ReviewViewTestCase(TestCase, Personas):
    def page(self, response: HttpResponse) -> str:
        return response.content.decode()

    def login(self, user: AbstractBaseUser) -> None:
        self.client.force_login(user)

    def assertFragment(self, response: HttpResponse, marker: str) -> None:
        self.assertEqual(response.status_code, 200)
        html = self.page(response)
        self.assertNotIn("<html", html)
        self.assertIn(marker, html)

    def assertFullPage(self, response: HttpResponse) -> None:
        html = self.page(response)
        self.assertIn("<html", html)
        self.assertRegex(html, r"<title>[^<]+ · Workbench</title>")
        for landmark in ("<header", "<main", "<nav", "<footer"):
            self.assertIn(landmark, html)

    def assertNoInlineCode(self, response: HttpResponse) -> None:
        html = self.page(response)
        self.assertIsNone(INLINE_SCRIPT.search(html), "inline <script> without src")
        self.assertIsNone(STYLE_ATTRIBUTE.search(html), "style= attribute")
        self.assertNotIn("<style", html)

    def assertLabelled(self, response: HttpResponse) -> None:
        collector = LabelCollector()
        collector.feed(self.page(response))
        self.assertTrue(collector.controls)
        unlabelled = [c for c in collector.controls if c not in collector.labelled]
        self.assertEqual(unlabelled, [], "form controls without a <label for>")
