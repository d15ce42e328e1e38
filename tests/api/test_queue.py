"""API: the review queue (``/queue/next/``), releasing a lease and skipping a claim
(``/claims/{id}/release/``, ``/claims/{id}/skip/``)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.response import Response

from annotations import services
from annotations.models import Assignment, AssignmentState, Event
from tests.api.base import CLAIM_FIELDS, ApiTestCase
from tests.factories import make_claim


class QueueApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def next(self, user: AbstractBaseUser) -> Response:
        return self.post(user, "/queue/next/", {"project": self.project.pk})

    def test_it_leases_the_oldest_eligible_claim(self) -> None:
        make_claim(document=self.document, actor=self.creator, exact="record low of 3.1%")
        response = self.next(self.reviewer_a)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(set(body), {"claim", "lease_expires_at"})
        self.assertEqual(body["claim"]["id"], self.claim.pk)
        self.assertEqual(set(body["claim"]), CLAIM_FIELDS)
        lease = Assignment.objects.get(reviewer=self.reviewer_a, state=AssignmentState.LEASED)
        self.assertEqual(lease.claim_id, self.claim.pk)

    def test_asking_again_returns_the_same_lease(self) -> None:
        first = self.next(self.reviewer_a).json()
        with self.assertNothingWritten():
            second = self.next(self.reviewer_a)
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.json()["claim"]["id"], first["claim"]["id"])
        self.assertEqual(second.json()["lease_expires_at"], first["lease_expires_at"])

    def test_it_is_204_when_nothing_is_eligible(self) -> None:
        response = self.next(self.creator)  # only their own claim is in review
        self.assertEqual(response.status_code, 204)
        self.assertEqual(response.content, b"")
        self.assertEqual(self.next(self.reviewer_a).status_code, 200)
        self.assertEqual(self.next(self.reviewer_b).status_code, 200)
        self.assertEqual(self.next(self.reviewer_c).status_code, 204)  # both slots leased

    def test_release_gives_the_slot_back(self) -> None:
        self.next(self.reviewer_a)
        self.next(self.reviewer_b)
        response = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/release/")
        self.assertEqual(response.status_code, 204)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.RELEASED
        )
        self.assertEqual(self.next(self.reviewer_c).json()["claim"]["id"], self.claim.pk)
        with self.assertNothingWritten():
            again = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/release/")
        self.assertDetail(again, 409, "do not hold a lease")

    def test_a_skipped_claim_is_never_offered_again(self) -> None:
        self.next(self.reviewer_a)
        response = self.post(
            self.reviewer_a, f"/claims/{self.claim.pk}/skip/", {"reason": "I wrote the story"}
        )
        self.assertEqual(response.status_code, 204)
        assignment = Assignment.objects.get(reviewer=self.reviewer_a)
        self.assertEqual((assignment.state, assignment.reason), ("skipped", "I wrote the story"))
        self.assertEqual(self.next(self.reviewer_a).status_code, 204)
        with self.assertNothingWritten():
            again = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/skip/", {"reason": "x"})
        self.assertDetail(again, 409, "already skipped")

    def test_bad_skips_are_refused_and_nothing_is_written(self) -> None:
        self.next(self.reviewer_a)
        cases = [
            ({}, "required"),
            ({"reason": ""}, "may not be blank"),
            ({"reason": "   "}, "may not be blank"),
            ({"reason": "r" * 2001}, "2000"),
            ({"reason": "conflict\x00of interest"}, "Null characters are not allowed"),
        ]
        for body, reason in cases:
            with self.subTest(body=str(body)[:30]), self.assertNothingWritten():
                response = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/skip/", body)
                self.assertFieldError(response, "reason", reason)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_bad_queue_requests_are_a_400(self) -> None:
        hidden = self.other_project.pk
        cases = [
            ({}, "required"),
            ({"project": "abc"}, "ASCII digits"),
            # DRF's field read these as project 1 and handed out a lease.
            ({"project": " 1"}, "ASCII digits"),
            ({"project": "1.0"}, "ASCII digits"),
            ({"project": "+1"}, "ASCII digits"),
            ({"project": "\u0661"}, "ASCII digits"),
            ({"project": 1.0}, "Enter a whole number."),
            ({"project": None}, "may not be null"),
            ({"project": hidden}, f"No project with id {hidden}"),
        ]
        for body, reason in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                self.assertFieldError(
                    self.post(self.reviewer_a, "/queue/next/", body), "project", reason
                )


class LeaseEndsWithReviewApiTests(ApiTestCase):
    """A lease taken before its claim leaves review ends with it: the queue never hands
    the reviewer back a claim that takes no verdict from them (two required reviews)."""

    def next(self, user: AbstractBaseUser) -> Response:
        return self.post(user, "/queue/next/", {"project": self.project.pk})

    def test_a_recomputed_then_reopened_claim_is_not_handed_back(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        later = make_claim(document=self.document, actor=self.creator, exact="record low of 3.1%")
        for reviewer in (self.reviewer_a, self.reviewer_b):
            self.assertEqual(self.next(reviewer).json()["claim"]["id"], claim.pk)
        verdict = {"rating": "true", "confidence": "high", "rationale": "", "citations": []}
        response = self.post(self.reviewer_a, f"/claims/{claim.pk}/verdicts/", verdict)
        self.assertEqual(response.status_code, 201, response.content)
        services.project_update(project=self.project, actor=self.admin, required_reviews=1)
        services.consensus_recompute(claim=claim, actor=self.admin)
        response = self.post(self.editor, f"/claims/{claim.pk}/reopen/", {"note": "New figures"})
        self.assertEqual(response.status_code, 200, response.content)
        lease = Assignment.objects.get(claim=claim, reviewer=self.reviewer_b)
        self.assertEqual(lease.state, AssignmentState.RELEASED)
        self.assertEqual(
            Event.objects.get(verb="lease.release", object_id=lease.pk).after,
            {"claim": claim.pk, "reason": "claim resolved"},
        )
        response = self.next(self.reviewer_b)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["claim"]["id"], later.pk)
        self.assertEqual(response.json()["claim"]["status"], "in_review")
        with self.assertNothingWritten():
            refused = self.post(self.reviewer_b, f"/claims/{claim.pk}/verdicts/", verdict)
        self.assertDetail(refused, 409, "disputed")
