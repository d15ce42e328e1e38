"""Reviewer UI: "Review this claim" (claim page and reader), editors' priority, deadline
and assignment forms on the claim page, "Assigned to you" and "Overdue" on the dashboard."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import Assignment, ClaimPriority, Event, Reservation
from tests.factories import make_claim
from tests.ui.reviewing_base import ReviewViewTestCase

PAST = dt.datetime(2020, 1, 1, 12, 0, tzinfo=dt.UTC)


class DirectingViewTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def url(self, name: str, *args: object) -> str:
        return reverse(f"workbench:{name}", args=[self.claim.pk, *args])

    def test_a_reviewer_takes_the_claim_from_its_page(self) -> None:
        self.login(self.reviewer_a)
        page = self.client.get(self.claim.get_absolute_url())
        self.assertContains(page, "Review this claim")
        self.assertContains(page, f'hx-post="{self.url("claim-take")}"')
        self.assertNoInlineCode(page)
        response = self.client.post(self.url("claim-take"), HTTP_HX_REQUEST="true")
        self.assertFragment(response, "Your lease")
        self.assertNotContains(response, f'action="{self.url("claim-take")}"')
        self.assertTrue(
            Assignment.objects.filter(reviewer=self.reviewer_a, state="leased").exists()
        )

    def test_a_refused_take_says_why(self) -> None:
        self.login(self.creator)
        page = self.client.get(self.claim.get_absolute_url())
        self.assertNotContains(page, f'action="{self.url("claim-take")}"')
        response = self.client.post(self.url("claim-take"), follow=True)
        self.assertContains(response, "You created this claim")
        self.assertFalse(Assignment.objects.exists())

    def test_take_needs_csrf_and_membership(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reviewer_a)
        self.assertEqual(client.post(self.url("claim-take")).status_code, 403)
        self.login(self.outsider)
        self.assertEqual(self.client.post(self.url("claim-take")).status_code, 404)
        self.assertFalse(Assignment.objects.exists())

    def test_the_reader_offers_review_this_claim_and_follows_to_the_page(self) -> None:
        self.login(self.reviewer_a)
        reader = self.client.get(self.document.get_absolute_url())
        self.assertContains(reader, "Review this claim")
        response = self.client.post(
            self.url("claim-take"), {"origin": "reader"}, HTTP_HX_REQUEST="true"
        )
        self.assertEqual(response.headers["HX-Redirect"], self.claim.get_absolute_url())
        self.login(self.creator)
        self.assertNotContains(
            self.client.get(self.document.get_absolute_url()), "Review this claim"
        )

    def test_neither_page_offers_a_claim_the_reviewer_skipped_or_judged(self) -> None:
        from annotations import services
        from tests.factories import judge

        services.lease_claim(reviewer=self.reviewer_a, claim=self.claim)
        services.claim_skip(claim=self.claim, reviewer=self.reviewer_a, reason="Not my field.")
        judge(self.claim, self.reviewer_b, "true")
        for reviewer in (self.reviewer_a, self.reviewer_b):
            with self.subTest(reviewer=reviewer.get_username()):
                self.login(reviewer)
                for page in (self.document.get_absolute_url(), self.claim.get_absolute_url()):
                    self.assertNotContains(
                        self.client.get(page), f'action="{self.url("claim-take")}"'
                    )

    def test_editors_set_priority_and_deadline_on_the_claim_page(self) -> None:
        self.login(self.editor)
        page = self.client.get(self.claim.get_absolute_url())
        self.assertContains(page, "Priority and deadline")
        self.assertLabelled(page)
        response = self.client.post(
            self.url("claim-schedule"),
            {"priority": "urgent", "due_at": "2020-01-01T12:00"},
            HTTP_HX_REQUEST="true",
        )
        self.assertFragment(response, "Priority: urgent")
        self.assertContains(response, "Overdue")
        claim = type(self.claim).objects.get(pk=self.claim.pk)
        self.assertEqual(claim.priority, ClaimPriority.URGENT)
        self.assertTrue(Event.objects.filter(verb="claim.schedule").exists())

    def test_a_bad_schedule_comes_back_with_errors_and_reviewers_are_refused(self) -> None:
        self.login(self.editor)
        response = self.client.post(self.url("claim-schedule"), {"priority": "asap"})
        self.assertEqual(response.status_code, 422)
        self.assertFalse(Event.objects.filter(verb="claim.schedule").exists())
        self.login(self.reviewer_a)
        self.assertNotContains(
            self.client.get(self.claim.get_absolute_url()), "Priority and deadline"
        )
        response = self.client.post(self.url("claim-schedule"), {"priority": "urgent"})
        self.assertEqual(response.status_code, 403)

    def test_editors_assign_and_unassign_and_the_reviewer_sees_it(self) -> None:
        self.login(self.editor)
        response = self.client.post(
            self.url("claim-assign"), {"reviewers": "reviewer_a, ghost"}, HTTP_HX_REQUEST="true"
        )
        self.assertFragment(response, "ghost: no member of this project")
        self.assertFalse(Reservation.objects.exists())
        response = self.client.post(
            self.url("claim-assign"), {"reviewers": "reviewer_a"}, HTTP_HX_REQUEST="true"
        )
        self.assertFragment(response, "Unassign")
        self.assertEqual(Reservation.objects.get().reviewer, self.reviewer_a)

        self.login(self.reviewer_a)
        page = self.client.get(self.claim.get_absolute_url())
        self.assertContains(page, "Assigned to you")
        self.assertNotContains(page, "Assign reviewers")
        dashboard = self.client.get(self.project.get_absolute_url())
        self.assertContains(dashboard, self.claim.statement[:40])
        # Another reviewer sees neither the assignment nor who holds it.
        self.login(self.reviewer_b)
        other = self.client.get(self.claim.get_absolute_url())
        self.assertNotContains(other, "Assigned to you")
        self.assertNotContains(other, "reviewer_a")
        self.assertEqual(
            self.client.post(self.url("claim-unassign", "reviewer_a")).status_code, 403
        )

        self.login(self.editor)
        response = self.client.post(
            self.url("claim-unassign", "reviewer_a"), HTTP_HX_REQUEST="true"
        )
        self.assertFragment(response, "Unassigned reviewer_a")
        self.assertFalse(Reservation.objects.exists())

    def test_the_dashboard_flags_overdue_claims_in_words(self) -> None:
        services.claim_schedule(claim=self.claim, actor=self.editor, due_at=PAST)
        self.login(self.reviewer_a)
        dashboard = self.client.get(self.project.get_absolute_url())
        self.assertContains(dashboard, "1 overdue")
        reader = self.client.get(self.document.get_absolute_url())
        self.assertContains(reader, "Overdue")
