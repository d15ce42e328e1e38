"""A verdict on a claim known by id (the API's ``services.verdict_submit_as_member``) under
real concurrency (PostgreSQL only: row locks). The reviewer's lookup of the claim through
their membership is the statement that takes the claim's lock, so what it reads (status,
versions, project) is the claim as the lock's holder left it, not as it was before the
wait. ``TransactionTestCase`` so that the threads see each other's commits.
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
    Citation,
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Event,
    Role,
    Source,
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
    take,
)
from tests.services.test_idempotency import wait_for_a_lock_waiter
from tests.test_queue_concurrency import run_together


@pytest.mark.postgres("row locks and a second connection waiting on them")
class VerdictByIdLockTests(TransactionTestCase):
    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(creator=self.admin, name="Desk", required_reviews=2)
        self.creator = make_member(self.project, "creator", Role.REVIEWER)
        self.editor = make_member(self.project, "editor", Role.EDITOR)
        self.reviewers = make_members(self.project, "reviewer_a", "reviewer_b")
        document = make_document(project=self.project, actor=self.creator)
        self.claim = make_claim(
            document=document, actor=self.creator, exact="crime fell 20% last year"
        )

    def submit(self, reviewer) -> Verdict:
        return services.verdict_submit_as_member(
            reviewer=reviewer, claim_id=self.claim.pk, rating="false", confidence="high"
        ).verdict

    def test_the_lookup_waits_for_the_claims_lock_and_reads_it_as_left(self) -> None:
        reviewer = self.reviewers[0]
        take(self.claim, reviewer)
        locked = threading.Event()
        waited: list[bool] = []

        def withdraw() -> None:
            with transaction.atomic():
                services.claim_withdraw(claim=self.claim, actor=self.editor, reason="Duplicate")
                locked.set()
                # The verdict's lookup is blocked on the claim's row until this commits.
                waited.append(wait_for_a_lock_waiter())

        def submit() -> Verdict:
            assert locked.wait(timeout=30)
            return self.submit(reviewer)

        results, errors = run_together([withdraw, submit])
        self.assertEqual(waited, [True])
        self.assertIsNone(errors[0])
        # Read before the wait, the claim would still be in review and the verdict written.
        self.assertIsInstance(errors[1], QueueConflict, errors)
        self.assertIn("withdrawn", str(errors[1]))
        self.assertEqual(results[1], None)
        self.assertFalse(Verdict.objects.filter(claim=self.claim).exists())
        self.assertFalse(Event.objects.filter(verb="verdict.submit").exists())
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.WITHDRAWN)

    def test_it_decides_once_when_the_last_two_verdicts_arrive_together(self) -> None:
        for reviewer in self.reviewers:
            take(self.claim, reviewer)
        results, errors = run_together(
            [lambda reviewer=reviewer: self.submit(reviewer) for reviewer in self.reviewers]
        )
        self.assertEqual(errors, [None, None])
        record = Consensus.objects.get(claim=self.claim)
        self.assertEqual((record.method, record.rating.key), (ConsensusMethod.UNANIMOUS, "false"))
        self.assertEqual(set(record.verdicts.values_list("pk", flat=True)), {v.pk for v in results})
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)
        self.assertEqual(Event.objects.filter(verb="claim.status").count(), 1)
        self.assertEqual(
            set(Assignment.objects.filter(claim=self.claim).values_list("state", flat=True)),
            {AssignmentState.SUBMITTED},
        )

    def test_a_double_click_on_the_deciding_verdict_writes_it_once(self) -> None:
        # The two posts of one click twice arrive together: the second waits for the
        # claim's lock, then finds the verdict the first wrote (which closed the lease and
        # resolved the claim) with the same content: the same verdict, nothing written,
        # no conflict.
        first, second = self.reviewers
        take(self.claim, first)
        self.submit(first)
        take(self.claim, second)
        results, errors = run_together([lambda: self.submit(second), lambda: self.submit(second)])
        self.assertEqual(errors, [None, None])
        self.assertEqual(results[0].pk, results[1].pk)
        self.assertEqual(Verdict.objects.filter(reviewer=second).count(), 1)
        self.assertEqual(Event.objects.filter(verb="verdict.submit").count(), 2)
        self.assertFalse(Event.objects.filter(verb="verdict.revise").exists())
        self.assertEqual(Event.objects.filter(verb="claim.status").count(), 1)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)

    def test_a_lease_released_while_the_verdict_waits_for_it_writes_nothing(self) -> None:
        # The facts read the lease as held; the lease's release holds its row, so the
        # verdict's one statement (PostgreSQL: the lease's conditional close gating the
        # verdict, its citation and its events) waits on it, then finds it released.
        reviewer = self.reviewers[0]
        take(self.claim, reviewer)
        lease = Assignment.objects.get(claim=self.claim, reviewer=reviewer)
        held = threading.Event()
        waited: list[bool] = []
        before = (
            Verdict.objects.count(),
            Event.objects.count(),
            Source.objects.count(),
            Citation.objects.count(),
        )

        def release() -> None:
            with transaction.atomic():
                Assignment.objects.select_for_update().get(pk=lease.pk)
                held.set()
                waited.append(wait_for_a_lock_waiter())
                Assignment.objects.filter(pk=lease.pk).update(state=AssignmentState.RELEASED)

        def submit() -> Verdict:
            assert held.wait(timeout=30)
            return services.verdict_submit_as_member(
                reviewer=reviewer,
                claim_id=self.claim.pk,
                rating="false",
                confidence="high",
                citations=[
                    services.CitationInput(stance="supports", url="https://example.org/wait")
                ],
            ).verdict

        _, errors = run_together([release, submit])
        self.assertEqual(waited, [True])
        self.assertIsNone(errors[0])
        self.assertIsInstance(errors[1], QueueConflict)
        self.assertEqual(
            (
                Verdict.objects.count(),
                Event.objects.count(),
                Source.objects.count(),
                Citation.objects.count(),
            ),
            before,
        )
        self.assertEqual(Assignment.objects.get(pk=lease.pk).state, AssignmentState.RELEASED)
