"""The reviewing side of the web UI (workbench/ui/reviewing.py) across its screens: who may
call each route (anonymous, outsider, reviewer, editor; the right method only) and the
escaping of user text on every page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse

from annotations import services
from tests.factories import judge, make_claim
from tests.ui.reviewing_base import ReviewViewTestCase

SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG = '"><img src=x onerror=alert(1)>'
IMG_ESCAPED = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"


class ReviewAccessTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def endpoints(self) -> list[tuple[str, str, dict[str, Any]]]:
        pk = {"pk": self.claim.pk}
        slug = {"slug": self.project.slug}
        return [
            ("get", reverse("workbench:claim-detail", kwargs=pk), {}),
            ("get", reverse("workbench:citation-row", kwargs=pk), {"index": "1"}),
            ("get", reverse("workbench:source-search", kwargs=pk), {"q": "report"}),
            ("get", reverse("workbench:disputes", kwargs=slug), {}),
            ("post", reverse("workbench:claim-edit", kwargs=pk), {}),
            ("post", reverse("workbench:verdict-submit", kwargs=pk), {}),
            ("post", reverse("workbench:lease-release", kwargs=pk), {}),
            ("post", reverse("workbench:claim-skip", kwargs=pk), {"reason": "x"}),
            ("post", reverse("workbench:queue-next", kwargs=slug), {}),
            ("post", reverse("workbench:claim-adjudicate", kwargs=pk), {}),
            ("post", reverse("workbench:claim-reopen", kwargs=pk), {}),
            ("post", reverse("workbench:claim-publish", kwargs=pk), {}),
        ]

    def test_it_sends_anonymous_users_to_the_login_page(self) -> None:
        for method, url, data in self.endpoints():
            with self.subTest(url=url):
                response = getattr(self.client, method)(url, data)
                self.assertEqual(response.status_code, 302)
                self.assertTrue(response["Location"].startswith(reverse("login")))

    def test_it_answers_404_to_outsiders(self) -> None:
        self.login(self.outsider)
        for method, url, data in self.endpoints():
            with self.subTest(url=url):
                self.assertEqual(getattr(self.client, method)(url, data).status_code, 404)

    def test_it_refuses_editor_actions_to_reviewers(self) -> None:
        self.login(self.reviewer_a)
        editor_only = [e for e in self.endpoints() if "disputes" in e[1] or "adjud" in e[1]]
        editor_only += [e for e in self.endpoints() if e[1].endswith(("/reopen/", "/publish/"))]
        self.assertEqual(len(editor_only), 4)
        for method, url, data in editor_only:
            with self.subTest(url=url):
                self.assertEqual(getattr(self.client, method)(url, data).status_code, 403)

    def test_it_serves_members(self) -> None:
        self.login(self.reviewer_a)
        for method, url, data in self.endpoints()[:3]:
            with self.subTest(url=url):
                self.assertEqual(getattr(self.client, method)(url, data).status_code, 200)
        self.login(self.editor)
        disputes = reverse("workbench:disputes", kwargs={"slug": self.project.slug})
        self.assertEqual(self.client.get(disputes).status_code, 200)

    def test_it_allows_only_the_right_method(self) -> None:
        self.login(self.editor)
        for method, url, _ in self.endpoints():
            with self.subTest(url=url):
                other = self.client.post if method == "get" else self.client.get
                self.assertEqual(other(url).status_code, 405)


class EscapingTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document,
            actor=cls.creator,
            exact="crime fell 20%",
            statement=f"Crime {SCRIPT} fell",
            claimant=IMG,
        )
        services.source_get_or_create(
            url="https://evil.example.org/page",
            actor=cls.reviewer_a,
            project=cls.project,
            title=f"Report {SCRIPT}{IMG}",
        )
        judge(
            cls.claim,
            cls.reviewer_a,
            "false",
            rationale=f"Because {SCRIPT} and {IMG}",
            citations=[
                services.CitationInput(
                    stance="supports", url="https://evil.example.org/page", quote=f"quote {SCRIPT}"
                )
            ],
        )
        judge(cls.claim, cls.reviewer_b, "true", rationale="fine")

    def assertEscaped(self, response: HttpResponse) -> None:
        html = self.page(response)
        self.assertNotIn(SCRIPT, html)
        self.assertNotIn("<img src=x", html)
        self.assertIn(SCRIPT_ESCAPED, html)
        self.assertNoInlineCode(response)

    def test_the_claim_page_escapes_user_text(self) -> None:
        self.login(self.editor)
        response = self.client.get(self.claim.get_absolute_url())
        self.assertEscaped(response)
        self.assertIn(IMG_ESCAPED, self.page(response))
        self.assertIn(f"Report {SCRIPT_ESCAPED}", self.page(response))

    def test_the_disputes_page_escapes_user_text(self) -> None:
        self.login(self.editor)
        response = self.client.get(
            reverse("workbench:disputes", kwargs={"slug": self.project.slug})
        )
        self.assertEscaped(response)
        self.assertIn(IMG_ESCAPED, self.page(response))

    def test_the_source_search_escapes_titles(self) -> None:
        self.login(self.editor)
        url = reverse("workbench:source-search", kwargs={"pk": self.claim.pk})
        self.assertEscaped(self.client.get(url, {"q": "report"}))

    def test_a_stale_edit_echoes_the_text_escaped(self) -> None:
        # The claim has verdicts: an editor revises it (a stale in-place edit is a 409).
        self.login(self.editor)
        url = reverse("workbench:claim-revise", kwargs={"pk": self.claim.pk})
        response = self.client.post(url, {"statement": SCRIPT, "claimant": IMG, "version": "9"})
        self.assertEqual(response.status_code, 422)
        self.assertEscaped(response)
