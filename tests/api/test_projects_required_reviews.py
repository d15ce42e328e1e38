"""API: an admin lowering ``required_reviews`` (``PATCH /projects/{id}/``) queues the
decision of the claims in review that already hold the new number of counted verdicts
(``review.consensus_settle_task``); once it has run they are resolved or disputed, leave
the queue, and their audit trail says why. Raising the number queues nothing."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser
from django_tasks_db.models import DBTaskResult

from annotations import services
from annotations.models import Claim, Event
from tests.api.base import ApiTestCase
from tests.factories import make_claim

SETTLE_TASK = "annotations.services.review.consensus_settle_task"


class RequiredReviewsLoweredApiTests(ApiTestCase):
    """Three required reviews. ``agreed``: two verdicts, both true; ``split``: true and
    false; ``short``: one verdict."""

    policy: ClassVar[dict[str, Any]] = {"required_reviews": 3}

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.agreed, cls.split, cls.short = (
            make_claim(document=cls.document, actor=cls.creator, exact=text)
            for text in ("crime fell 20%", "record low of 3.1%", "bridge cost $2 billion")
        )

    def judge(self, claim: Claim, reviewer: AbstractBaseUser, rating: str) -> None:
        response = self.post(reviewer, f"/claims/{claim.pk}/lease/")
        self.assertIn(response.status_code, (200, 201), response.content)
        verdict = {"rating": rating, "confidence": "high", "rationale": "", "citations": []}
        response = self.post(reviewer, f"/claims/{claim.pk}/verdicts/", verdict)
        self.assertEqual(response.status_code, 201, response.content)

    def setUp(self) -> None:
        for claim, ratings in (
            (self.agreed, {self.reviewer_a: "true", self.reviewer_b: "true"}),
            (self.split, {self.reviewer_a: "true", self.reviewer_b: "false"}),
            (self.short, {self.reviewer_a: "true"}),
        ):
            for reviewer, rating in ratings.items():
                self.judge(claim, reviewer, rating)

    def set_required(self, number: int) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            response = self.patch(
                self.admin, f"/projects/{self.project.pk}/", {"required_reviews": number}
            )
        self.assertEqual(response.status_code, 200, response.content)

    def run_queued(self) -> None:
        for task in DBTaskResult.objects.filter(task_path=SETTLE_TASK):
            services.consensus_settle_task.call(*task.args_kwargs["args"])

    def claim(self, claim: Claim) -> dict[str, Any]:
        response = self.get(self.editor, f"/claims/{claim.pk}/")
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def statuses(self) -> list[str]:
        return [self.claim(claim)["status"] for claim in (self.agreed, self.split, self.short)]

    def test_lowering_3_to_2_decides_the_claims_that_hold_two_verdicts(self) -> None:
        self.assertEqual(self.statuses(), ["in_review"] * 3)
        self.set_required(2)
        self.run_queued()
        self.assertEqual(self.statuses(), ["resolved", "disputed", "in_review"])
        self.assertEqual(self.claim(self.agreed)["consensus"]["rating"], "true")
        update = Event.objects.get(verb="project.update")
        self.assertEqual(
            sorted(
                (event.object_id, event.after["outcome"], event.after["event"])
                for event in Event.objects.filter(verb="consensus.recompute")
            ),
            sorted(
                [(self.agreed.pk, "recorded", update.pk), (self.split.pk, "disputed", update.pk)]
            ),
        )
        # The queue offers reviewer_c only the claim still in review.
        response = self.post(self.reviewer_c, "/queue/next/", {"project": self.project.pk})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["claim"]["id"], self.short.pk)

    def test_raising_the_number_queues_nothing(self) -> None:
        self.set_required(4)
        self.assertFalse(DBTaskResult.objects.filter(task_path=SETTLE_TASK).exists())
        self.assertEqual(self.statuses(), ["in_review"] * 3)
        self.assertFalse(Event.objects.filter(verb="consensus.recompute").exists())
