"""The review queue in the web UI: take the next claim, give a lease back, skip a claim
with a reason.
"""

from __future__ import annotations

from django.urls import reverse

from annotations import services
from annotations.models import Assignment, AssignmentState
from tests.factories import make_claim
from tests.ui.reviewing_base import ReviewViewTestCase


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

    def test_it_says_why_when_nothing_is_left(self) -> None:
        self.login(self.creator)  # a claim's creator is never offered it
        response = self.client.post(self.url, follow=True)
        self.assertRedirects(
            response, reverse("workbench:queue-empty", kwargs={"slug": self.project.slug})
        )
        self.assertContains(response, "Nothing to review right now")
        self.assertContains(response, "1 claim in review")
        self.assertContains(response, "1 created by you: other reviewers judge them")
        self.assertFalse(Assignment.objects.exists())

    def test_the_empty_queue_page_counts_skipped_and_taken_claims(self) -> None:
        other = make_claim(document=self.document, actor=self.creator, exact="last year")
        services.lease_next(reviewer=self.reviewer_a, project=self.project)  # self.claim
        services.claim_skip(claim=self.claim, reviewer=self.reviewer_a, reason="conflict")
        for reviewer in (self.reviewer_b, self.reviewer_c):  # both slots of the other
            services.lease_claim(reviewer=reviewer, claim=other)
        self.assertIsNone(services.lease_next(reviewer=self.reviewer_a, project=self.project))
        self.login(self.reviewer_a)
        page = self.client.get(reverse("workbench:queue-empty", kwargs={"slug": self.project.slug}))
        self.assertContains(page, "2 claims in review")
        self.assertContains(page, "1 skipped by you")
        self.assertContains(page, "1 with all 2 reviews in or taken by other reviewers")
        self.assertNotContains(page, "created by you")
        self.assertTrue(Assignment.objects.filter(claim=other, reviewer=self.reviewer_c).exists())

    def test_the_empty_queue_page_is_for_members_only(self) -> None:
        self.login(self.outsider)
        page = self.client.get(reverse("workbench:queue-empty", kwargs={"slug": self.project.slug}))
        self.assertEqual(page.status_code, 404)


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
        empty = reverse("workbench:queue-empty", kwargs={"slug": self.project.slug})
        self.assertEqual(response["HX-Redirect"], empty)  # nothing else to review
        self.assertContains(self.client.get(empty), "will not be offered to you again")
        skipped = Assignment.objects.get()
        self.assertEqual(
            (skipped.state, skipped.reason), (AssignmentState.SKIPPED, "I know the mayor")
        )
        self.assertIsNone(services.lease_next(reviewer=self.reviewer_a, project=self.project))
