"""The decision a lowered ``required_reviews`` queues (``review.consensus_settle``) under
real concurrency (PostgreSQL only: row locks): a reviewer who held a lease from before the
change submits while the task decides the same claim. The claim's lock orders them; the
claim is decided once, and whichever comes second finds it decided. ``TransactionTestCase``
so that the threads see each other's commits.
"""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.test import TransactionTestCase

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Consensus,
    Event,
    Role,
    Verdict,
)
from annotations.services import QueueConflict
from tests.factories import (
    make_claim,
    make_document,
    make_member,
    make_members,
    make_project,
    make_user,
)
from tests.services.test_idempotency import wait_for_a_lock_waiter
from tests.test_queue_concurrency import run_together

CAUSE = {"cause": "project.update"}


@pytest.mark.postgres("row locks and a second connection waiting on them")
class SettleWhileAVerdictArrivesTests(TransactionTestCase):
    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(creator=self.admin, name="Desk", required_reviews=3)
        self.creator = make_member(self.project, "creator", Role.REVIEWER)
        self.a, self.b, self.c = make_members(self.project, "reviewer_a", "reviewer_b", "c")
        document = make_document(project=self.project, actor=self.creator)
        self.claim = make_claim(
            document=document, actor=self.creator, exact="crime fell 20% last year"
        )
        for reviewer in (self.a, self.b, self.c):
            services.lease_claim(reviewer=reviewer, claim=self.claim)
        for reviewer in (self.a, self.b):
            services.verdict_submit(
                claim=self.claim, reviewer=reviewer, rating="true", confidence="high"
            )
        services.project_update(project=self.project, actor=self.admin, required_reviews=2)

    def submit(self) -> Verdict:
        return services.verdict_submit_as_member(
            reviewer=self.c, claim_id=self.claim.pk, rating="true", confidence="high"
        )

    def assertDecidedOnce(self) -> None:
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)
        self.assertEqual(Consensus.objects.filter(claim=self.claim).count(), 1)
        self.assertEqual(Event.objects.filter(verb="claim.status").count(), 1)
        self.assertFalse(
            Assignment.objects.filter(claim=self.claim, state=AssignmentState.LEASED).exists()
        )

    def test_a_verdict_waiting_for_the_decision_is_refused(self) -> None:
        locked = threading.Event()
        waited: list[bool] = []

        def settle() -> str:
            with transaction.atomic():
                outcome = services.consensus_settle(
                    claim_id=self.claim.pk, actor=self.admin, cause=CAUSE
                )
                locked.set()
                waited.append(wait_for_a_lock_waiter())
            return outcome

        def submit() -> Verdict:
            assert locked.wait(timeout=30)
            return self.submit()

        results, errors = run_together([settle, submit])
        self.assertEqual(waited, [True])
        self.assertEqual((results[0], errors[0]), ("recorded", None))
        self.assertIsInstance(errors[1], QueueConflict, errors)
        self.assertIn("resolved", str(errors[1]))
        self.assertEqual(Verdict.objects.filter(claim=self.claim).count(), 2)
        self.assertDecidedOnce()

    def test_a_decision_waiting_for_the_verdict_writes_nothing(self) -> None:
        verdict_locked = threading.Event()
        waited: list[bool] = []

        def submit() -> Verdict:
            with transaction.atomic():
                verdict = self.submit()
                verdict_locked.set()
                waited.append(wait_for_a_lock_waiter())
            return verdict

        def settle() -> str:
            assert verdict_locked.wait(timeout=30)
            return services.consensus_settle(claim_id=self.claim.pk, actor=self.admin, cause=CAUSE)

        results, errors = run_together([submit, settle])
        self.assertEqual(waited, [True])
        self.assertEqual(errors, [None, None])
        self.assertEqual(results[1], "not in review")
        self.assertEqual(Consensus.objects.get(claim=self.claim).verdicts.count(), 3)
        self.assertFalse(Event.objects.filter(verb="consensus.recompute").exists())
        self.assertDecidedOnce()

    def test_the_task_and_the_verdict_together(self) -> None:
        results, errors = run_together(
            [
                lambda: services.consensus_settle_task.call(
                    self.project.pk, self.admin.pk, CAUSE, 0
                ),
                self.submit,
            ]
        )
        self.assertIsNone(errors[0])
        self.assertTrue(errors[1] is None or isinstance(errors[1], QueueConflict), errors)
        # The task decided it unless the verdict did first.
        self.assertEqual(results[0], 0 if errors[1] is None else 1)
        self.assertDecidedOnce()
