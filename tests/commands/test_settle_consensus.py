"""``manage.py settle_consensus``: claims left in review with their project's required
verdicts (a ``required_reviews`` lowered before such a change decided them itself) are
decided; claims with fewer verdicts and decided claims are left as they are."""

from __future__ import annotations

from unittest import mock

from django.core.management.base import CommandError

from annotations.models import ClaimStatus, Event, Project
from annotations.services import review
from tests.commands.base import run
from tests.services.queue_base import QueueTestCase
from tests.services.test_required_reviews_lowered import judge_claim


class SettleConsensusTests(QueueTestCase):
    policy = {"required_reviews": 3}

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.stuck, cls.short, cls.decided = cls.claims
        for claim, reviewers in (
            (cls.stuck, (cls.reviewer_a, cls.reviewer_b)),
            (cls.short, (cls.reviewer_a,)),
            (cls.decided, (cls.reviewer_a, cls.reviewer_b, cls.reviewer_c)),
        ):
            for reviewer in reviewers:
                judge_claim(claim, reviewer, "true")
        # Lowered as it was before the change queued the decisions: by the row alone.
        Project.objects.filter(pk=cls.project.pk).update(required_reviews=2)

    def test_it_decides_the_stuck_claims_only(self) -> None:
        since = self.last_event_id()
        output = run("settle_consensus", "--project", self.project.slug)
        self.assertIn(f"claim {self.stuck.pk} recorded", output)
        self.assertIn("1 claim(s) decided.", output)
        self.assertEqual(
            [self.fresh(claim).status for claim in self.claims],
            [ClaimStatus.RESOLVED, ClaimStatus.IN_REVIEW, ClaimStatus.RESOLVED],
        )
        audit = Event.objects.get(id__gt=since, verb="consensus.recompute")
        self.assertEqual(
            (audit.object_id, audit.actor, audit.after),
            (self.stuck.pk, None, {"outcome": "recorded", "cause": "settle_consensus"}),
        )
        self.assertIn("0 claim(s) decided.", run("settle_consensus"))

    def test_an_unknown_project_is_an_error(self) -> None:
        with self.assertRaisesMessage(CommandError, "No project with the slug 'nope'"):
            run("settle_consensus", "--project", "nope")

    def test_a_claim_that_fails_is_reported_after_the_others(self) -> None:
        with (
            mock.patch.object(review, "consensus_settle", side_effect=RuntimeError("boom")),
            self.assertLogs("annotations.services.review", "ERROR"),
            self.assertRaisesMessage(CommandError, "1 claim(s) failed to settle"),
        ):
            run("settle_consensus", "--project", self.project.slug)
        self.assertEqual(self.fresh(self.stuck).status, ClaimStatus.IN_REVIEW)
