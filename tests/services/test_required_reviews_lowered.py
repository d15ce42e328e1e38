"""Lowering a project's ``required_reviews`` (``project_update``) decides the claims in
review that already hold the new number of counted verdicts: ``project_update`` queues
``review.consensus_settle_task`` with the change, and the task decides each such claim
as its last verdict would have (``review.consensus_settle``). Decided claims keep their
decision; raising the number changes nothing."""

from __future__ import annotations

from typing import Any, ClassVar
from unittest import mock

from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Event,
    Notification,
    Verdict,
    WebhookDelivery,
)
from annotations.selectors import integrity
from annotations.services import review
from tests.factories import make_claim
from tests.services.queue_base import T0, QueueTestCase

SETTLE_TASK = "annotations.services.review.consensus_settle_task"


def judge_claim(claim: Claim, reviewer: Any, rating: str) -> Verdict:
    """Lease ``claim`` itself (the claim page's way, not the queue's order) and judge it."""
    services.lease_claim(reviewer=reviewer, claim=claim, now=T0)
    return services.verdict_submit(
        claim=claim, reviewer=reviewer, rating=rating, confidence="high", now=T0
    )


class RequiredReviewsLoweredTests(QueueTestCase):
    """Three required reviews, unanimous rule. claims[0]: two verdicts, both true;
    claims[1]: one verdict; claims[2]: two verdicts, true and false; claims[3]: resolved
    (three true); claims[4]: disputed (true, true, false)."""

    policy: ClassVar[dict[str, Any]] = {"required_reviews": 3}
    claim_count = 3

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claims += [
            make_claim(document=cls.document, actor=cls.creator, exact=text)
            for text in ("Critics say", "Others disagree")
        ]
        a, b, c = cls.reviewer_a, cls.reviewer_b, cls.reviewer_c
        cls.agreed, cls.short, cls.split, cls.resolved, cls.disputed = cls.claims
        for claim, ratings in (
            (cls.agreed, {a: "true", b: "true"}),
            (cls.short, {a: "true"}),
            (cls.split, {a: "true", b: "false"}),
            (cls.resolved, {a: "true", b: "true", c: "true"}),
            (cls.disputed, {a: "true", b: "true", c: "false"}),
        ):
            for reviewer, rating in ratings.items():
                judge_claim(claim, reviewer, rating)

    def lower(self, **changes: Any) -> Event:
        changes.setdefault("required_reviews", 2)
        with self.captureOnCommitCallbacks(execute=True):
            services.project_update(project=self.project, actor=self.admin, **changes)
        return Event.objects.filter(verb="project.update").latest("id")

    @staticmethod
    def queued() -> list[DBTaskResult]:
        return list(DBTaskResult.objects.filter(task_path=SETTLE_TASK).order_by("enqueued_at"))

    def run_queued(self) -> list[int]:
        """Run every queued settle task (those a task queues too), in order; what each
        returned."""
        done: set[str] = set()
        returned: list[int] = []
        while pending := [task for task in self.queued() if str(task.pk) not in done]:
            for task in pending:
                done.add(str(task.pk))
                returned.append(services.consensus_settle_task.call(*task.args_kwargs["args"]))
        return returned

    def status(self, claim: Claim) -> str:
        return self.fresh(claim).status

    def claim_verbs_since(self, since: int, claim: Claim) -> list[str]:
        return list(
            Event.objects.filter(id__gt=since, object_type="claim", object_id=claim.pk)
            .order_by("id")
            .values_list("verb", flat=True)
        )

    def test_setup(self) -> None:
        self.assertEqual(
            [self.status(claim) for claim in self.claims],
            [
                ClaimStatus.IN_REVIEW,
                ClaimStatus.IN_REVIEW,
                ClaimStatus.IN_REVIEW,
                ClaimStatus.RESOLVED,
                ClaimStatus.DISPUTED,
            ],
        )

    def test_lowering_queues_the_task_with_the_change(self) -> None:
        event = self.lower()
        [task] = self.queued()
        self.assertEqual(
            task.args_kwargs["args"],
            [
                self.project.pk,
                self.admin.pk,
                {"cause": "project.update", "event": event.pk, "required_reviews": 2},
                0,
            ],
        )
        # Queued, not run: nothing is decided in the policy change's transaction.
        self.assertEqual(self.status(self.agreed), ClaimStatus.IN_REVIEW)

    def test_check_integrity_reports_the_claims_until_they_are_decided(self) -> None:
        self.assertEqual(list(integrity.claims_decided_when_judged(self.project.pk)), [])
        self.lower()
        found = list(integrity.claims_decided_when_judged(self.project.pk))
        self.assertEqual(
            [(v.object, v.found) for v in found],
            [
                (f"claim {self.agreed.pk}", "in review with 2 counted verdicts of the 2 required"),
                (f"claim {self.split.pk}", "in review with 2 counted verdicts of the 2 required"),
            ],
        )
        self.assertEqual(list(integrity.claims_decided_when_judged(None)), found)
        self.run_queued()
        self.assertEqual(list(integrity.claims_decided_when_judged(None)), [])

    def test_a_rolled_back_change_queues_nothing(self) -> None:
        with self.assertRaises(RuntimeError), transaction.atomic():
            services.project_update(project=self.project, actor=self.admin, required_reviews=2)
            raise RuntimeError
        self.assertEqual(self.queued(), [])

    def test_two_agreeing_verdicts_resolve_the_claim(self) -> None:
        event = self.lower()
        since = event.pk
        self.assertEqual(self.run_queued(), [2])  # agreed resolved, split disputed
        self.assertEqual(self.status(self.agreed), ClaimStatus.RESOLVED)
        record = Consensus.objects.get(claim=self.agreed, is_current=True)
        self.assertEqual(
            (record.method, record.rating.key, record.agreement, record.decided_by),
            (ConsensusMethod.UNANIMOUS, "true", 1.0, None),
        )
        self.assertEqual(record.verdicts.count(), 2)
        self.assertEqual(self.fresh(self.agreed).consensus_id, record.pk)
        self.assertEqual(
            self.claim_verbs_since(since, self.agreed), ["claim.status", "consensus.recompute"]
        )
        audit = Event.objects.get(
            id__gt=since, verb="consensus.recompute", object_id=self.agreed.pk
        )
        self.assertEqual(
            audit.after,
            {
                "outcome": "recorded",
                "cause": "project.update",
                "event": event.pk,
                "required_reviews": 2,
            },
        )
        self.assertEqual(audit.actor, self.admin)
        decided = Event.objects.get(id__gt=since, verb="consensus.unanimous")
        self.assertEqual(decided.object_id, record.pk)
        self.assertEqual(decided.actor, self.admin)

    def test_two_disagreeing_verdicts_dispute_the_claim(self) -> None:
        since = self.lower().pk
        self.run_queued()
        self.assertEqual(self.status(self.split), ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.filter(claim=self.split).exists())
        self.assertEqual(
            self.claim_verbs_since(since, self.split), ["claim.status", "consensus.recompute"]
        )
        audit = Event.objects.get(id__gt=since, verb="consensus.recompute", object_id=self.split.pk)
        self.assertEqual(audit.after["outcome"], "disputed")

    def test_claims_with_fewer_verdicts_stay_in_review(self) -> None:
        since = self.lower().pk
        self.run_queued()
        self.assertEqual(self.status(self.short), ClaimStatus.IN_REVIEW)
        self.assertEqual(self.claim_verbs_since(since, self.short), [])
        # The queue still offers it: it takes a second verdict, which decides it.
        judge_claim(self.short, self.reviewer_b, "true")
        self.assertEqual(self.status(self.short), ClaimStatus.RESOLVED)

    def test_decided_claims_keep_their_decision_even_under_a_new_rule(self) -> None:
        # Majority with the lower number would resolve the disputed claim (2 of 3 true) if
        # it were re-run: a policy change applies to decisions from then on.
        before = {
            claim.pk: list(Consensus.objects.filter(claim=claim).values_list("pk", "is_current"))
            for claim in (self.resolved, self.disputed)
        }
        since = self.lower(consensus_rule="majority").pk
        self.run_queued()
        self.assertEqual(self.status(self.resolved), ClaimStatus.RESOLVED)
        self.assertEqual(self.status(self.disputed), ClaimStatus.DISPUTED)
        for claim in (self.resolved, self.disputed):
            self.assertEqual(
                list(Consensus.objects.filter(claim=claim).values_list("pk", "is_current")),
                before[claim.pk],
            )
            self.assertEqual(self.claim_verbs_since(since, claim), [])
        # The claims in review are decided (one to one is no majority either).
        self.assertEqual(
            (self.status(self.agreed), self.status(self.split)),
            (ClaimStatus.RESOLVED, ClaimStatus.DISPUTED),
        )

    def test_settling_a_decided_claim_writes_nothing(self) -> None:
        self.lower()
        for claim in (self.resolved, self.disputed):
            before = self.row_counts()
            outcome = services.consensus_settle(claim_id=claim.pk, actor=self.admin, cause={})
            self.assertEqual(outcome, "not in review")
            self.assertWritesNothing(before)
        before = self.row_counts()
        self.assertEqual(
            services.consensus_settle(claim_id=self.short.pk, actor=self.admin, cause={}),
            "unchanged",
        )
        self.assertWritesNothing(before)

    def test_raising_the_number_changes_nothing(self) -> None:
        before = self.row_counts()
        since = self.last_event_id()
        self.lower(required_reviews=4)
        self.assertEqual(self.queued(), [])
        self.assertEqual(self.verbs_since(since), ["project.update"])
        self.assertEqual(self.row_counts(), before | {"Event": before["Event"] + 1})
        self.assertEqual(services.claims_to_settle(project_id=self.project.pk), [])
        self.assertEqual(
            [self.status(claim) for claim in self.claims[:3]], [ClaimStatus.IN_REVIEW] * 3
        )

    def test_a_rule_change_alone_queues_nothing(self) -> None:
        self.lower(required_reviews=3, consensus_rule="majority", majority_threshold=0.6)
        self.assertEqual(self.queued(), [])

    def test_open_leases_on_a_decided_claim_end(self) -> None:
        lease = services.lease_claim(reviewer=self.reviewer_c, claim=self.agreed, now=T0)
        since = self.lower().pk
        self.run_queued()
        lease = self.fresh(lease)
        self.assertEqual(lease.state, AssignmentState.RELEASED)
        self.assertEqual(
            Event.objects.get(id__gt=since, verb="lease.release", object_id=lease.pk).after,
            {"claim": self.agreed.pk, "reason": "claim resolved"},
        )
        self.assertFalse(
            Assignment.objects.filter(claim=self.agreed, state=AssignmentState.LEASED).exists()
        )

    def test_the_decision_notifies_and_calls_webhooks_as_a_verdict_does(self) -> None:
        with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"]):
            services.webhook_endpoint_create(
                project=self.project,
                actor=self.admin,
                url="http://127.0.0.1:9/in",
                event_types=["consensus.reached"],
            )
        self.lower()
        with self.captureOnCommitCallbacks(execute=False):
            self.run_queued()
        delivery = WebhookDelivery.objects.get(event_type="consensus.reached")
        self.assertEqual(
            (delivery.payload["data"]["claim_id"], delivery.payload["data"]["rating"]),
            (self.agreed.pk, "true"),
        )
        self.assertTrue(
            Notification.objects.filter(recipient=self.creator, claim=self.agreed).exists()
        )

    def test_a_claim_that_fails_is_logged_the_rest_decided_and_the_task_fails(self) -> None:
        self.lower()
        settle = review.consensus_settle

        def failing(*, claim_id: int, **kwargs: Any) -> str:
            if claim_id == self.agreed.pk:
                raise RuntimeError("boom")
            return settle(claim_id=claim_id, **kwargs)

        [task] = self.queued()
        with (
            mock.patch.object(review, "consensus_settle", side_effect=failing),
            self.assertLogs("annotations.services.review", "ERROR") as logged,
            self.assertRaisesMessage(RuntimeError, "boom"),
        ):
            services.consensus_settle_task.call(*task.args_kwargs["args"])
        self.assertIn(f"settling claim {self.agreed.pk}", logged.output[0])
        self.assertEqual(
            (self.status(self.agreed), self.status(self.split)),
            (ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED),
        )

    def test_a_long_sweep_goes_in_batches(self) -> None:
        self.lower()
        with mock.patch.object(review, "SETTLE_BATCH", 1):
            self.assertEqual(self.run_queued(), [1, 1, 0])
        tasks = self.queued()
        self.assertEqual(
            [task.args_kwargs["args"][3] for task in tasks], [0, self.agreed.pk, self.split.pk]
        )
        self.assertEqual(
            (self.status(self.agreed), self.status(self.split)),
            (ClaimStatus.RESOLVED, ClaimStatus.DISPUTED),
        )

    def test_the_worker_runs_it(self) -> None:
        self.lower()
        with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
            call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay")
        [task] = self.queued()
        self.assertEqual((task.status, task.return_value), ("SUCCESSFUL", 2))
        self.assertEqual(
            [self.status(claim) for claim in self.claims],
            [
                ClaimStatus.RESOLVED,
                ClaimStatus.IN_REVIEW,
                ClaimStatus.DISPUTED,
                ClaimStatus.RESOLVED,
                ClaimStatus.DISPUTED,
            ],
        )
