"""The reviewing side of the web UI: claim page, verdict form, review queue, disputes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.http import HttpResponse
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Rating,
    Role,
    Source,
    Verdict,
)
from tests.factories import (
    Personas,
    add_member,
    judge,
    make_claim,
    make_document,
    make_members,
    make_project,
    take,
)

SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG = '"><img src=x onerror=alert(1)>'
IMG_ESCAPED = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
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


class ClaimPageTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.lease = take(cls.claim, cls.reviewer_a)
        cls.url = reverse("workbench:claim-detail", kwargs={"pk": cls.claim.pk})

    def test_it_renders_the_full_page_for_a_browser(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertFullPage(response)
        html = self.page(response)
        self.assertIn(f"<title>Claim {self.claim.pk}: crime fell 20% · Workbench</title>", html)
        self.assertIn("The mayor said <mark>crime fell 20%</mark> last year.", html)
        self.assertIn('id="shortcut-help"', html)
        self.assertRegex(html, r'<aside id="shortcut-help"[^>]*\shidden>')
        self.assertIn("workbench/review.js", html)
        self.assertIn("workbench/review.css", html)

    def test_it_renders_the_review_panel_for_htmx(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(self.url, HTTP_HX_REQUEST="true")
        self.assertFragment(response, 'id="review-panel"')

    def test_it_sends_a_strict_csp_and_no_inline_code(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(self.url)
        policy = response["Content-Security-Policy"]
        self.assertIn("script-src 'self' 'nonce-", policy)
        self.assertIn("style-src 'self'", policy)
        self.assertNotIn("unsafe-inline", policy)
        self.assertNoInlineCode(response)
        self.assertNoInlineCode(self.client.get(self.url, HTTP_HX_REQUEST="true"))

    def test_every_form_field_has_a_label(self) -> None:
        self.login(self.reviewer_a)
        self.assertLabelled(self.client.get(self.url))

    def test_htmx_requests_carry_the_csrf_token(self) -> None:
        self.login(self.reviewer_a)
        html = self.page(self.client.get(self.url))
        self.assertRegex(html, r"<body hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'")

    def test_rating_keys_follow_the_project_scale(self) -> None:
        self.login(self.reviewer_a)
        html = self.page(self.client.get(self.url))
        pairs = re.findall(r'name="rating" value="([a-z_]+)"[^>]*data-shortcut="(\d)"', html)
        scale = list(
            Rating.objects.filter(project=self.project)
            .order_by("position")
            .values_list("key", flat=True)
        )
        self.assertEqual(pairs, [(key, str(n)) for n, key in enumerate(scale, start=1)])
        self.assertIn('data-shortcut="n"', html)

    def test_it_shows_the_lease_expiry_for_the_countdown(self) -> None:
        self.login(self.reviewer_a)
        html = self.page(self.client.get(self.url))
        self.assertIn(f'<time datetime="{self.lease.expires_at.isoformat()}" data-countdown>', html)
        self.assertIn(reverse("workbench:lease-release", kwargs={"pk": self.claim.pk}), html)
        self.assertIn('id="verdict-form"', html)

    def test_it_offers_no_verdict_form_without_a_lease(self) -> None:
        self.login(self.reviewer_b)
        html = self.page(self.client.get(self.url))
        self.assertNotIn('id="verdict-form"', html)
        self.assertNotIn("data-countdown", html)
        self.assertIn("Review next", html)


class ReviewNextTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.url = reverse("workbench:queue-next", kwargs={"slug": cls.project.slug})

    def test_it_leases_the_next_claim_and_opens_it(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(self.url)
        self.assertRedirects(response, self.claim.get_absolute_url())
        lease = Assignment.objects.get(reviewer=self.reviewer_a)
        self.assertEqual((lease.claim_id, lease.state), (self.claim.pk, AssignmentState.LEASED))

    def test_it_redirects_htmx_with_hx_redirect(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(self.url, HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["HX-Redirect"], self.claim.get_absolute_url())

    def test_it_says_so_when_nothing_is_left(self) -> None:
        self.login(self.creator)  # a claim's creator is never offered it
        response = self.client.post(self.url, follow=True)
        self.assertRedirects(response, self.project.get_absolute_url())
        self.assertContains(response, "Nothing to review right now")
        self.assertFalse(Assignment.objects.exists())


class VerdictFormTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)
        cls.known = services.source_get_or_create(
            url="https://police.example.org/annual-report", actor=cls.editor, title="Annual report"
        )
        cls.url = reverse("workbench:verdict-submit", kwargs={"pk": cls.claim.pk})

    def test_it_records_a_verdict_with_citations(self) -> None:
        self.login(self.reviewer_a)
        rows = [
            {
                "url": "https://stats.example.org/crime?utm_source=x",
                "quote": "fell 12%",
                "stance": "refutes",
            },
            {"url": "", "quote": "", "stance": "supports"},  # left empty: dropped
            {"url": "https://POLICE.example.org/annual-report", "quote": "", "stance": "context"},
        ]
        response = self.client.post(self.url, verdict_post(rows=rows), follow=True)
        self.assertRedirects(response, self.claim.get_absolute_url())
        self.assertContains(response, "Your verdict is recorded.")
        verdict = Verdict.objects.get(claim=self.claim, reviewer=self.reviewer_a)
        self.assertEqual((verdict.rating.key, verdict.confidence), ("false", "high"))
        citations = list(verdict.citations.select_related("source").order_by("id"))
        self.assertEqual(
            [(c.source.normalized_url, c.quote, c.stance) for c in citations],
            [
                ("https://stats.example.org/crime", "fell 12%", "refutes"),
                (self.known.normalized_url, "", "context"),
            ],
        )
        self.assertEqual(citations[1].source, self.known)
        self.assertEqual(Source.objects.count(), 2)

    def test_it_refuses_a_javascript_url_and_writes_nothing(self) -> None:
        self.login(self.reviewer_a)
        rows = [{"url": "javascript:alert(1)", "quote": "", "stance": "supports"}]
        response = self.client.post(self.url, verdict_post(rationale="Kept text", rows=rows))
        self.assertEqual(response.status_code, 422)
        self.assertContains(
            response, "Only http and https URLs are allowed (scheme: javascript).", status_code=422
        )
        self.assertContains(response, 'aria-invalid="true"', status_code=422)
        self.assertContains(response, "Kept text</textarea>", status_code=422)
        self.assertFalse(Verdict.objects.exists())
        self.assertFalse(Citation.objects.exists())
        self.assertEqual(Source.objects.count(), 1)

    def test_it_answers_htmx_with_the_review_panel(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(self.url, verdict_post(), HTTP_HX_REQUEST="true")
        self.assertFragment(response, "Your verdict is recorded.")
        self.assertIn('id="review-panel"', self.page(response))
        self.assertIn("Revise your verdict", self.page(response))

    def test_it_shows_form_errors_in_the_htmx_fragment(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(self.url, verdict_post(rating=""), HTTP_HX_REQUEST="true")
        self.assertFragment(response, "This field is required.")
        self.assertFalse(Verdict.objects.exists())

    def test_it_needs_the_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reviewer_a)
        self.assertEqual(client.post(self.url, verdict_post()).status_code, 403)
        client.get(self.claim.get_absolute_url())
        token = client.cookies["csrftoken"].value
        response = client.post(
            self.url, verdict_post(), HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(Verdict.objects.filter(reviewer=self.reviewer_a).exists())

    def test_it_keeps_the_text_when_the_queue_refuses(self) -> None:
        self.login(self.reviewer_c)  # holds no lease
        response = self.client.post(self.url, verdict_post(rationale="My long rationale"))
        self.assertEqual(response.status_code, 409)
        html = self.page(response)
        self.assertIn("Take this claim from the queue (Review next)", html)
        self.assertIn("My long rationale</textarea>", html)
        self.assertFalse(Verdict.objects.exists())

    def test_it_adds_a_citation_row_without_javascript(self) -> None:
        self.login(self.reviewer_a)
        rows = [{"url": "https://a.example.org/", "quote": "q", "stance": "refutes"}]
        data = verdict_post(rationale="Draft", rows=rows, add_citation="1")
        response = self.client.post(self.url, data)
        self.assertEqual(response.status_code, 200)
        html = self.page(response)
        self.assertIn('name="citations-1-url"', html)
        self.assertIn('value="https://a.example.org/"', html)
        self.assertIn("Draft</textarea>", html)
        self.assertNotIn("errorlist", html)
        self.assertFalse(Verdict.objects.exists())

    def test_it_offers_a_revision_until_consensus(self) -> None:
        judge_url = self.url
        self.login(self.reviewer_a)
        rows = [{"url": "https://a.example.org/", "quote": "", "stance": "refutes"}]
        self.client.post(judge_url, verdict_post(rating="mostly_false", rows=rows))
        html = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertIn("Revise your verdict", html)
        self.assertRegex(html, r'value="mostly_false"[^>]*checked')
        self.assertIn('value="https://a.example.org/"', html)
        self.client.post(judge_url, verdict_post(rating="false", rows=rows))
        current = Verdict.objects.get(reviewer=self.reviewer_a, is_current=True)
        self.assertEqual((current.rating.key, current.revision), ("false", 2))


class CitationRowTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.url = reverse("workbench:citation-row", kwargs={"pk": cls.claim.pk})

    def test_it_returns_one_more_row_and_moves_the_count_on(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(self.url, {"index": "3"}, HTTP_HX_REQUEST="true")
        self.assertFragment(response, 'name="citations-3-url"')
        html = self.page(response)
        self.assertIn("<legend>Citation 4</legend>", html)
        self.assertIn('list="citations-3-sources"', html)
        self.assertIn(reverse("workbench:source-search", kwargs={"pk": self.claim.pk}), html)
        self.assertRegex(html, r'name="citations-TOTAL_FORMS" value="4"[^>]*hx-swap-oob="true"')
        self.assertRegex(html, r'id="add-citation"[^>]*\?index=4"[^>]*hx-swap-oob="true"')
        self.assertNoInlineCode(response)

    def test_it_refuses_a_bad_index(self) -> None:
        self.login(self.reviewer_a)
        for index in ("", "-1", "50", "x"):
            with self.subTest(index=index):
                self.assertEqual(self.client.get(self.url, {"index": index}).status_code, 400)


class SourceSearchTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        for index in range(12):
            services.source_get_or_create(
                url=f"https://bureau.example.org/report-{index}",
                actor=cls.reviewer_a,
                title=f"Bureau report {index}",
            )
        services.source_get_or_create(
            url="https://elsewhere.example.org/bureau", actor=cls.outsider, title="Other desk"
        )
        judge(
            cls.claim,
            cls.reviewer_a,
            "false",
            citations=[
                services.CitationInput(
                    stance="supports", url=f"https://bureau.example.org/report-{i}"
                )
                for i in range(12)
            ],
        )
        cls.url = reverse("workbench:source-search", kwargs={"pk": cls.claim.pk})

    def options(self, response: HttpResponse) -> list[str]:
        return re.findall(r'<option value="([^"]+)"', self.page(response))

    def test_it_suggests_at_most_ten_cited_sources_of_the_project(self) -> None:
        self.login(self.editor)
        response = self.client.get(self.url, {"q": "bureau"}, HTTP_HX_REQUEST="true")
        self.assertFragment(response, "<option")
        options = self.options(response)
        self.assertEqual(len(options), 10)
        self.assertTrue(all(url.startswith("https://bureau.example.org/") for url in options))

    def test_it_matches_the_url_too(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(self.url, {"q": "report-11"})
        self.assertEqual(self.options(response), ["https://bureau.example.org/report-11"])

    def test_it_reveals_no_citation_under_blind_review(self) -> None:
        self.login(self.reviewer_b)  # has not judged the claim reviewer_a cited these on
        self.assertEqual(self.options(self.client.get(self.url, {"q": "bureau"})), [])

    def test_it_ignores_short_queries(self) -> None:
        self.login(self.editor)
        self.assertEqual(self.options(self.client.get(self.url, {"q": "b"})), [])


class LeaseAndSkipTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def test_release_gives_the_lease_back(self) -> None:
        self.login(self.reviewer_a)
        url = reverse("workbench:lease-release", kwargs={"pk": self.claim.pk})
        response = self.client.post(url, follow=True)
        self.assertRedirects(response, self.claim.get_absolute_url())
        self.assertContains(response, "Lease released")
        self.assertEqual(Assignment.objects.get().state, AssignmentState.RELEASED)

    def test_release_without_a_lease_is_a_message(self) -> None:
        self.login(self.reviewer_b)
        url = reverse("workbench:lease-release", kwargs={"pk": self.claim.pk})
        response = self.client.post(url, HTTP_HX_REQUEST="true")
        self.assertFragment(response, "You do not hold a lease on this claim.")
        self.assertIn('role="alert"', self.page(response))

    def test_skip_needs_a_reason(self) -> None:
        self.login(self.reviewer_a)
        url = reverse("workbench:claim-skip", kwargs={"pk": self.claim.pk})
        response = self.client.post(url, {"reason": "  "})
        self.assertContains(response, "This field is required.", status_code=422)
        self.assertEqual(Assignment.objects.get().state, AssignmentState.LEASED)

    def test_skip_with_a_reason_never_offers_the_claim_again(self) -> None:
        self.login(self.reviewer_a)
        url = reverse("workbench:claim-skip", kwargs={"pk": self.claim.pk})
        response = self.client.post(url, {"reason": "I know the mayor"}, HTTP_HX_REQUEST="true")
        self.assertFragment(response, "will not be offered to you again")
        skipped = Assignment.objects.get()
        self.assertEqual(
            (skipped.state, skipped.reason), (AssignmentState.SKIPPED, "I know the mayor")
        )
        self.assertIsNone(services.lease_next(reviewer=self.reviewer_a, project=self.project))


class BlindReviewTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)
        judge(cls.claim, cls.reviewer_b, "true", rationale="B-SECRET-RATIONALE")

    def test_a_reviewer_sees_others_only_after_submitting(self) -> None:
        self.login(self.reviewer_a)
        before = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertNotIn("B-SECRET-RATIONALE", before)
        self.assertNotIn("reviewer_b", before)
        self.assertIn("Blind review", before)
        url = reverse("workbench:verdict-submit", kwargs={"pk": self.claim.pk})
        self.client.post(url, verdict_post(rating="true", rationale="A's own reasons"))
        after = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertIn("B-SECRET-RATIONALE", after)
        self.assertIn("A&#x27;s own reasons", after)
        self.assertNotIn("Blind review", after)

    def test_editors_always_see_every_verdict(self) -> None:
        self.login(self.editor)
        self.assertContains(self.client.get(self.claim.get_absolute_url()), "B-SECRET-RATIONALE")


class ClaimEditTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.url = reverse("workbench:claim-edit", kwargs={"pk": cls.claim.pk})

    def test_it_saves_the_statement_and_claimant(self) -> None:
        self.login(self.creator)
        data = {"statement": "Crime fell by a fifth", "claimant": "The mayor", "version": "1"}
        response = self.client.post(self.url, data)
        self.assertRedirects(response, self.claim.get_absolute_url())
        self.claim.refresh_from_db()
        self.assertEqual(
            (self.claim.statement, self.claim.claimant, self.claim.version),
            ("Crime fell by a fifth", "The mayor", 2),
        )

    def test_a_reviewer_who_did_not_create_the_claim_cannot_edit_it(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(
            self.url, {"statement": "Hijack", "claimant": "", "version": "1"}
        )
        self.assertEqual(response.status_code, 403)
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.version, 1)
        page = self.client.get(self.claim.get_absolute_url())
        self.assertNotContains(page, "Edit statement and claimant")

    def test_a_stale_edit_is_refused_and_the_text_kept(self) -> None:
        services.claim_update(
            claim=self.claim, actor=self.editor, expected_version=1, statement="Editor's text"
        )
        self.login(self.creator)
        data = {"statement": "My careful rewording", "claimant": "Mayor", "version": "1"}
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            with self.subTest(htmx=bool(headers)):
                response = self.client.post(self.url, data, **headers)
                self.assertEqual(response.status_code, 200 if headers else 422)
                html = self.page(response)
                self.assertIn("changed by someone else (now version 2)", html)
                self.assertIn("My careful rewording</textarea>", html)
                self.assertIn('value="Mayor"', html)
                self.assertIn('name="version" value="2"', html)
                self.assertIn("Editor&#x27;s text", html)  # the current statement, for comparison
        self.claim.refresh_from_db()
        self.assertEqual((self.claim.statement, self.claim.version), ("Editor's text", 2))

    def test_it_answers_htmx_with_the_claim_form(self) -> None:
        self.login(self.creator)
        data = {"statement": "Crime fell", "claimant": "", "version": "1"}
        response = self.client.post(self.url, data, HTTP_HX_REQUEST="true")
        self.assertFragment(response, 'id="claim-form"')
        self.assertIn("Claim saved.", self.page(response))
        self.assertIn('name="version" value="2"', self.page(response))

    def test_it_refuses_an_empty_statement(self) -> None:
        self.login(self.creator)
        response = self.client.post(self.url, {"statement": " ", "version": "1"})
        self.assertContains(response, "This field is required.", status_code=422)

    def test_it_needs_the_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reviewer_a)
        data = {"statement": "Crime fell", "claimant": "", "version": "1"}
        self.assertEqual(client.post(self.url, data).status_code, 403)
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.version, 1)


class DisputesTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.disputed = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.resolved = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        judge(
            cls.disputed,
            cls.reviewer_a,
            "false",
            rationale="A-RATIONALE",
            citations=[
                services.CitationInput(
                    stance="supports", url="https://a.example.org/stats", quote="A-QUOTE"
                )
            ],
        )
        judge(
            cls.disputed,
            cls.reviewer_b,
            "true",
            rationale="B-RATIONALE",
            citations=[
                services.CitationInput(
                    stance="supports", url="https://b.example.org/report", quote="B-QUOTE"
                )
            ],
        )
        judge(cls.resolved, cls.reviewer_a, "true")
        judge(cls.resolved, cls.reviewer_b, "true")
        cls.url = reverse("workbench:disputes", kwargs={"slug": cls.project.slug})

    def action(self, name: str, claim: Claim) -> str:
        return reverse(f"workbench:claim-{name}", kwargs={"pk": claim.pk})

    def test_it_shows_the_verdicts_side_by_side(self) -> None:
        self.disputed.refresh_from_db()
        self.assertEqual(self.disputed.status, ClaimStatus.DISPUTED)
        self.login(self.editor)
        response = self.client.get(self.url)
        self.assertFullPage(response)
        self.assertNoInlineCode(response)
        self.assertLabelled(response)
        html = self.page(response)
        card = html[html.index(f'id="dispute-{self.disputed.pk}"') :]
        card = card[: card.index("</article>\n    \n")]
        for text in (
            "A-RATIONALE",
            "B-RATIONALE",
            "A-QUOTE",
            "B-QUOTE",
            "reviewer_a",
            "reviewer_b",
        ):
            self.assertIn(text, card)
        self.assertIn('class="verdict-grid"', card)
        self.assertIn(self.action("adjudicate", self.disputed), card)
        self.assertIn(self.action("publish", self.resolved), html)

    def test_it_renders_the_lists_for_htmx(self) -> None:
        self.login(self.editor)
        self.assertFragment(self.client.get(self.url, HTTP_HX_REQUEST="true"), 'id="dispute-lists"')

    def test_adjudication_records_a_consensus(self) -> None:
        self.login(self.editor)
        data = {"rating": "half_true", "note": "Both partly right", "origin": "disputes"}
        response = self.client.post(self.action("adjudicate", self.disputed), data)
        self.assertRedirects(response, self.url)
        record = Consensus.objects.get(claim=self.disputed, is_current=True)
        self.assertEqual(
            (record.rating.key, record.method, record.decided_by, record.note),
            ("half_true", ConsensusMethod.ADJUDICATED, self.editor, "Both partly right"),
        )
        self.disputed.refresh_from_db()
        self.assertEqual(self.disputed.status, ClaimStatus.RESOLVED)

    def test_adjudication_answers_htmx_with_the_card(self) -> None:
        self.login(self.editor)
        data = {"rating": "false", "note": "The data is clear", "origin": "disputes"}
        response = self.client.post(
            self.action("adjudicate", self.disputed), data, HTTP_HX_REQUEST="true"
        )
        self.assertFragment(response, f'id="dispute-{self.disputed.pk}"')
        html = self.page(response)
        self.assertIn("Decision recorded.", html)
        self.assertIn(self.action("publish", self.disputed), html)

    def test_adjudication_needs_a_note(self) -> None:
        self.login(self.editor)
        response = self.client.post(
            self.action("adjudicate", self.disputed), {"rating": "false", "origin": "disputes"}
        )
        self.assertContains(response, "This field is required.", status_code=422)
        self.assertFalse(Consensus.objects.filter(claim=self.disputed).exists())

    def test_reopen_and_publish_from_the_claim_page(self) -> None:
        self.login(self.editor)
        response = self.client.post(self.action("publish", self.resolved), {"origin": "claim"})
        self.assertRedirects(response, self.resolved.get_absolute_url())
        self.resolved.refresh_from_db()
        self.assertEqual(self.resolved.status, ClaimStatus.PUBLISHED)
        response = self.client.post(
            self.action("reopen", self.resolved),
            {"note": "New data came out", "origin": "claim"},
            HTTP_HX_REQUEST="true",
        )
        self.assertFragment(response, 'id="review-panel"')
        self.resolved.refresh_from_db()
        self.assertEqual(self.resolved.status, ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.filter(claim=self.resolved, is_current=True).exists())
        data = {"rating": "mostly_true", "note": "Revised figures", "origin": "claim"}
        self.client.post(self.action("adjudicate", self.resolved), data)
        history = list(Consensus.objects.filter(claim=self.resolved).order_by("sequence"))
        self.assertEqual(
            [(c.sequence, c.method, c.is_current) for c in history],
            [(1, "unanimous", False), (2, "adjudicated", True)],
        )
        html = self.page(self.client.get(self.resolved.get_absolute_url()))
        self.assertIn("superseded", html)
        self.assertIn("decided by editor", html)
        self.assertIn("Revised figures", html)

    def test_publishing_a_disputed_claim_is_a_message(self) -> None:
        self.login(self.editor)
        response = self.client.post(
            self.action("publish", self.disputed), {"origin": "disputes"}, follow=True
        )
        self.assertContains(response, "Only resolved claims can be published.")
        self.disputed.refresh_from_db()
        self.assertEqual(self.disputed.status, ClaimStatus.DISPUTED)

    def test_reviewers_cannot_decide(self) -> None:
        self.login(self.reviewer_a)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        data = {"rating": "false", "note": "mine", "origin": "disputes"}
        self.assertEqual(
            self.client.post(self.action("adjudicate", self.disputed), data).status_code, 403
        )
        self.assertEqual(self.client.post(self.action("publish", self.resolved)).status_code, 403)
        self.assertEqual(
            self.client.post(self.action("reopen", self.resolved), {"note": "x"}).status_code, 403
        )
        self.assertFalse(Consensus.objects.filter(claim=self.disputed).exists())


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
            url="https://evil.example.org/page", actor=cls.reviewer_a, title=f"Report {SCRIPT}{IMG}"
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
        self.login(self.editor)
        url = reverse("workbench:claim-edit", kwargs={"pk": self.claim.pk})
        response = self.client.post(url, {"statement": SCRIPT, "claimant": IMG, "version": "9"})
        self.assertEqual(response.status_code, 422)
        self.assertEscaped(response)


class ClaimPageQueryTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.desk = make_project(creator=cls.admin, name="Big desk", required_reviews=10)
        add_member(cls.desk, cls.editor, Role.EDITOR)
        add_member(cls.desk, cls.creator, Role.REVIEWER)
        document = make_document(project=cls.desk, actor=cls.creator)
        cls.two = make_claim(document=document, actor=cls.creator, exact="crime fell 20%")
        cls.six = make_claim(document=document, actor=cls.creator, exact="record low of 3.1%")
        cls.reviewers = make_members(cls.desk, *(f"desk_reviewer_{n}" for n in range(6)))
        for n, reviewer in enumerate(cls.reviewers):
            links = [
                services.CitationInput(
                    stance="supports", url=f"https://src.example.org/{n}/{i}", quote=f"quote {i}"
                )
                for i in range(2)
            ]
            if n < 2:
                judge(cls.two, reviewer, "false", rationale=f"reason {n}", citations=links)
            else:
                services.claim_skip(claim=cls.two, reviewer=reviewer, reason="busy")
            judge(cls.six, reviewer, "true", rationale=f"reason {n}", citations=links)

    def count_queries(self, claim: Claim) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(claim.get_absolute_url())
        self.assertEqual(response.status_code, 200)
        return len(queries)

    def test_the_claim_page_costs_the_same_for_two_or_six_verdicts(self) -> None:
        self.assertEqual(Verdict.objects.filter(claim=self.two).count(), 2)
        self.assertEqual(Verdict.objects.filter(claim=self.six).count(), 6)
        for viewer in (self.editor, self.reviewers[0]):
            with self.subTest(viewer=viewer.get_username()):
                self.login(viewer)
                baseline = self.count_queries(self.two)
                self.assertLessEqual(baseline, 15)
                with self.assertNumQueries(baseline):
                    response = self.client.get(self.six.get_absolute_url())
                self.assertEqual(
                    len(re.findall(r'<article class="verdict[ "]', self.page(response))), 6
                )
