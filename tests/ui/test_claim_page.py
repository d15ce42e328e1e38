"""The claim page (workbench/ui/reviewing.py, claim_page.py): the full page and the htmx
panel, CSP and labels, the lease countdown, blind review, editing the claim, and a fixed
number of queries.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.test import Client, SimpleTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import services
from annotations.models import Claim, Event, Rating, Role, Verdict
from tests.factories import (
    add_member,
    judge,
    make_claim,
    make_document,
    make_members,
    make_project,
    take,
)
from tests.ui.reviewing_base import ReviewViewTestCase, verdict_post
from workbench.templatetags.times import when


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
        # The claim page's shortcuts are its part of the help dialog every page has.
        self.assertRegex(
            html, r'(?s)<dialog id="page-help"[^>]*>(?:(?!</dialog>).)*id="shortcut-help"'
        )
        self.assertIn("workbench/review.js", html)
        self.assertNotIn("workbench/review.css", html)  # folded into workbench.css

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
                # Issue 18 added the reservations, the bell, the discussion (and for a
                # reviewer its blind check) and the gold mark or mask: tests/test_query_counts.py.
                self.assertLessEqual(baseline, 18)
                with self.assertNumQueries(baseline):
                    response = self.client.get(self.six.get_absolute_url())
                self.assertEqual(
                    len(re.findall(r'<article class="verdict[ "]', self.page(response))), 6
                )


class ClaimHeaderTests(ReviewViewTestCase):
    """The page is led by the statement; who claimed it, when, progress and status in words;
    the offsets only on request."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document,
            actor=cls.creator,
            exact="crime fell 20%",
            statement="Crime fell by a fifth last year",
            claimant="The mayor",
        )
        judge(cls.claim, cls.reviewer_a, "false")

    def header(self, user: AbstractBaseUser) -> str:
        self.login(user)
        html = self.page(self.client.get(self.claim.get_absolute_url()))
        start = html.index('<section id="claim-form"')
        return html[start : html.index("</figure>", start)]

    def test_the_statement_is_the_heading_with_a_byline(self) -> None:
        header = self.header(self.reviewer_b)
        self.assertIn(
            '<h1 id="claim-heading" class="claim-statement" tabindex="-1" dir="auto">'
            "Crime fell by a fifth last year</h1>",
            header,
        )
        self.assertIn(f"Claim #{self.claim.pk}</span> · claimed by creator <time datetime=", header)
        self.assertRegex(
            header,
            r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)" title="\1" data-local-time>'
            r"\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>",
        )
        self.assertIn("claimant: The mayor", header)
        self.assertNotIn("Statement</h2>", header)
        self.assertNotIn("Version", header)
        # The offsets are there for who needs them, behind "Exact position".
        self.assertIn(f"Characters {self.claim.start} to {self.claim.end} of", header)

    def test_progress_is_shown_only_to_those_who_see_every_verdict(self) -> None:
        cases = {
            # Blind review: neither how many judged nor who.
            "reviewer_b": ("In review</strong>", "2 reviews needed"),
            "creator": ("In review</strong>", "2 reviews needed"),
            "reviewer_a": ("In review — waiting for 1 more review</strong>", "1 of 2 reviews in"),
            "editor": ("In review — waiting for 1 more review</strong>", "1 of 2 reviews in"),
        }
        for name, (status, progress) in cases.items():
            with self.subTest(user=name):
                header = self.header(getattr(self, name))
                self.assertIn(status, header)
                self.assertIn(f'<span class="claim-progress">{progress}</span>', header)

    def test_the_status_says_what_happens_next(self) -> None:
        judge(self.claim, self.reviewer_b, "true")  # disagreement under "unanimous"
        header = self.header(self.reviewer_b)
        self.assertIn("Disputed — waiting for an editor</strong>", header)
        self.assertIn("2 of 2 reviews in", header)
        services.claim_adjudicate(
            claim=self.claim, editor=self.editor, rating="mostly_false", note="Both half right."
        )
        self.assertIn("Resolved: Mostly false (adjudicated)</strong>", self.header(self.editor))

    def test_an_edited_claim_says_so(self) -> None:
        other = make_claim(document=self.document, actor=self.creator, exact="last year")
        services.claim_update(claim=other, actor=self.creator, expected_version=1, claimant="X")
        self.login(self.creator)
        self.assertContains(self.client.get(other.get_absolute_url()), " · edited 1 time</p>")


class VerdictEmptyStateTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def test_the_empty_verdict_list_says_why(self) -> None:
        self.login(self.reviewer_a)
        html = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertIn("No verdicts to show yet: yours will be the first you see.", html)
        self.login(self.editor)
        html = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertIn("No verdicts yet: they appear here as reviewers submit them.", html)


class WithdrawTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.url = reverse("workbench:claim-withdraw", kwargs={"pk": cls.claim.pk})

    def offers_withdraw(self, user: AbstractBaseUser) -> bool:
        self.login(user)
        return "Withdraw this claim" in self.page(self.client.get(self.claim.get_absolute_url()))

    def test_the_creator_and_editors_are_offered_it_reviewers_not(self) -> None:
        self.assertTrue(self.offers_withdraw(self.creator))
        self.assertTrue(self.offers_withdraw(self.editor))
        self.assertFalse(self.offers_withdraw(self.reviewer_a))

    def test_the_creator_withdraws_with_a_reason_audited(self) -> None:
        self.login(self.creator)
        response = self.client.post(self.url, {"reason": "A duplicate of claim 1"}, follow=True)
        self.assertRedirects(response, self.claim.get_absolute_url())
        self.assertContains(response, "Claim withdrawn: it has left the review queue.")
        self.assertContains(response, "Withdrawn</strong>")
        self.assertNotContains(response, "Withdraw this claim")
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.status, "withdrawn")
        event = Event.objects.filter(verb="claim.status", object_id=self.claim.pk).get()
        self.assertEqual(event.after, {"status": "withdrawn", "note": "A duplicate of claim 1"})
        self.assertEqual(event.actor, self.creator)

    def test_a_reason_is_required(self) -> None:
        self.login(self.creator)
        response = self.client.post(self.url, {"reason": "  "})
        self.assertContains(response, "This field is required.", status_code=422)
        self.assertContains(response, '<details class="withdraw-claim" open>', status_code=422)
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.status, "in_review")

    def test_after_a_verdict_only_editors_may(self) -> None:
        judge(self.claim, self.reviewer_a, "false")
        self.assertFalse(self.offers_withdraw(self.creator))
        self.login(self.creator)
        self.assertEqual(self.client.post(self.url, {"reason": "Oops"}).status_code, 403)
        self.login(self.reviewer_a)
        self.assertEqual(self.client.post(self.url, {"reason": "Mine"}).status_code, 403)
        self.login(self.editor)
        self.assertRedirects(
            self.client.post(self.url, {"reason": "Not checkable"}), self.claim.get_absolute_url()
        )
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.status, "withdrawn")

    def test_outsiders_get_404_and_the_csrf_token_is_needed(self) -> None:
        self.login(self.outsider)
        self.assertEqual(self.client.post(self.url, {"reason": "x"}).status_code, 404)
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.creator)
        self.assertEqual(client.post(self.url, {"reason": "x"}).status_code, 403)
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.status, "in_review")


class WhenFilterTests(SimpleTestCase):
    def test_it_renders_utc_with_the_iso_instant(self) -> None:
        moment = dt.datetime(2026, 3, 1, 23, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        self.assertEqual(
            when(moment),
            '<time datetime="2026-03-02T04:30:05Z" title="2026-03-02T04:30:05Z" '
            "data-local-time>2026-03-02 04:30 UTC</time>",
        )

    def test_it_renders_nothing_for_a_missing_time(self) -> None:
        self.assertEqual(when(None), "")
        self.assertEqual(when(dt.date(2026, 3, 1)), "")
