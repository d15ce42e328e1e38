"""The review queue under real concurrency (PostgreSQL only: row locks, SKIP LOCKED).

Each test starts threads together with a ``threading.Barrier``; every thread works on its
own database connection (Django connections are per thread) and closes it when done.
``TransactionTestCase`` so that the threads see each other's commits.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.db.models import Count
from django.test import TransactionTestCase

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Event,
    Role,
    Verdict,
)
from annotations.services import QueueConflict
from tests.factories import (
    SAMPLE_TEXT,
    make_claim,
    make_document,
    make_member,
    make_members,
    make_project,
    make_user,
    take,
)

RATINGS = ("true", "mostly_true", "false")


def run_together(
    calls: list[Callable[[], Any]], *, timeout: float = 60
) -> tuple[list[Any], list[BaseException | None]]:
    """Run ``calls`` in one thread each, released at the same instant; return their results
    and exceptions (by position). Each thread connects before the barrier and closes its
    connection at the end."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def target(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # reported to the test, which asserts on it
            errors[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=target, args=(index, call), name=f"worker-{index}")
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {timeout}s: {stuck}"
    return results, errors


@pytest.mark.postgres
class ReviewQueueConcurrencyTests(TransactionTestCase):
    """20 reviewers work through 200 claims needing 3 verdicts each."""

    REVIEWERS = 20
    CLAIMS = 200
    REQUIRED = 3

    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(
            creator=self.admin, name="Busy desk", required_reviews=self.REQUIRED
        )
        self.creator = make_member(self.project, "creator", Role.REVIEWER)
        self.reviewers = make_members(
            self.project, *(f"reviewer_{n:02d}" for n in range(self.REVIEWERS))
        )
        document = make_document(project=self.project, actor=self.creator)
        line = SAMPLE_TEXT.index("\n")
        self.claims = [
            # The spans repeat, so each gets its own statement (the same claim twice is a 409).
            make_claim(
                document=document,
                actor=self.creator,
                start=n % line,
                end=n % line + 5,
                statement=f"Claim {n}",
            )
            for n in range(self.CLAIMS)
        ]

    def worker(self, index: int) -> Callable[[], int]:
        reviewer = self.reviewers[index]
        project = self.project

        def work() -> int:
            submitted = 0
            while True:
                assignment = services.lease_next(reviewer=reviewer, project=project)
                if assignment is None:
                    return submitted
                claim = Claim.objects.get(pk=assignment.claim_id)
                services.verdict_submit(
                    claim=claim,
                    reviewer=reviewer,
                    rating=RATINGS[(claim.pk + index) % len(RATINGS)],
                    confidence="medium",
                )
                submitted += 1

        return work

    def test_it_hands_out_every_slot_once_and_loses_no_verdict(self) -> None:
        started = time.monotonic()
        results, errors = run_together([self.worker(n) for n in range(self.REVIEWERS)])
        elapsed = time.monotonic() - started
        print(
            f"\n{self.REVIEWERS} reviewers x {self.CLAIMS} claims: {elapsed:.1f}s, submits {results}"
        )

        self.assertEqual([e for e in errors if e is not None], [])
        # No verdict lost: every successful submit left exactly one current verdict.
        self.assertEqual(sum(results), self.CLAIMS * self.REQUIRED)
        self.assertEqual(Verdict.objects.count(), sum(results))
        self.assertEqual(Verdict.objects.filter(is_current=True).count(), sum(results))
        self.assertEqual(Event.objects.filter(verb="verdict.submit").count(), sum(results))

        # Every claim: exactly 3 current verdicts from 3 distinct reviewers, not its creator.
        per_claim = {
            row["claim_id"]: row
            for row in Verdict.objects.filter(is_current=True)
            .values("claim_id")
            .annotate(n=Count("id"), reviewers=Count("reviewer", distinct=True))
        }
        self.assertEqual(set(per_claim), {claim.pk for claim in self.claims})
        bad = {pk: row for pk, row in per_claim.items() if (row["n"], row["reviewers"]) != (3, 3)}
        self.assertEqual(bad, {})
        self.assertFalse(Verdict.objects.filter(reviewer=self.creator).exists())

        # No slot handed out twice: one assignment per (claim, reviewer), all submitted,
        # so never more than 3 leases on a claim.
        pairs = Counter(Assignment.objects.values_list("claim_id", "reviewer_id"))
        self.assertEqual([pair for pair, n in pairs.items() if n > 1], [])
        self.assertFalse(Assignment.objects.exclude(state=AssignmentState.SUBMITTED).exists())
        submitted = Counter(
            Assignment.objects.filter(state=AssignmentState.SUBMITTED).values_list(
                "claim_id", flat=True
            )
        )
        self.assertEqual({pk for pk, n in submitted.items() if n != self.REQUIRED}, set())
        self.assertEqual(len(submitted), self.CLAIMS)

        # Every claim was decided exactly once.
        self.assertFalse(Claim.objects.filter(status=ClaimStatus.IN_REVIEW).exists())
        self.assertEqual(
            Consensus.objects.count(),
            Claim.objects.filter(status=ClaimStatus.RESOLVED).count(),
        )
        self.assertEqual(Event.objects.filter(verb="claim.status").count(), self.CLAIMS)


@pytest.mark.postgres
class LeaseNextSameReviewerConcurrencyTests(TransactionTestCase):
    """One reviewer, two simultaneous "Review next" requests (a double click, two tabs)."""

    ROUNDS = 10
    maxDiff = None

    def setUp(self) -> None:
        self.admin = make_user("admin")
        # 20 slots per claim: every round's reviewer finds several free claims.
        self.project = make_project(creator=self.admin, name="Desk", required_reviews=20)
        creator = make_member(self.project, "creator", Role.REVIEWER)
        document = make_document(project=self.project, actor=creator)
        for n in range(4):
            make_claim(document=document, actor=creator, start=n, end=n + 5)

    def test_it_gives_one_lease_to_two_simultaneous_calls(self) -> None:
        failures: list[str] = []
        for round_ in range(self.ROUNDS):
            reviewer = make_member(self.project, f"reviewer_{round_:02d}", Role.REVIEWER)
            results, errors = run_together(
                [lambda r=reviewer: services.lease_next(reviewer=r, project=self.project)] * 2
            )
            leases = Assignment.objects.filter(reviewer=reviewer, state=AssignmentState.LEASED)
            if leases.count() != 1:
                failures.append(f"round {round_}: {leases.count()} leases")
            for error in errors:
                if error is not None:
                    failures.append(f"round {round_}: {type(error).__name__}: {error}")
            handed = {a.pk for a in results if a is not None}
            if handed - set(leases.values_list("pk", flat=True)):
                failures.append(f"round {round_}: returned leases {handed}")
        self.assertEqual(failures, [])

    def test_it_never_leaves_a_reviewer_with_two_leases(self) -> None:
        # Whatever the calls return, the unique constraint keeps the data right.
        for round_ in range(5):
            reviewer = make_member(self.project, f"reviewer_{round_:02d}", Role.REVIEWER)
            _results, errors = run_together(
                [lambda r=reviewer: services.lease_next(reviewer=r, project=self.project)] * 2
            )
            self.assertTrue(all(e is None or isinstance(e, IntegrityError) for e in errors), errors)
            self.assertEqual(
                Assignment.objects.filter(reviewer=reviewer, state=AssignmentState.LEASED).count(),
                1,
            )


@pytest.mark.postgres
class ConsensusConcurrencyTests(TransactionTestCase):
    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(creator=self.admin, name="Desk", required_reviews=2)
        self.creator = make_member(self.project, "creator", Role.REVIEWER)
        self.editors = make_members(self.project, "editor_1", "editor_2", role=Role.EDITOR)
        self.reviewers = make_members(self.project, "reviewer_a", "reviewer_b")
        document = make_document(project=self.project, actor=self.creator)
        self.claim = make_claim(
            document=document, actor=self.creator, exact="crime fell 20% last year"
        )

    def lease_both(self) -> None:
        for reviewer in self.reviewers:
            take(self.claim, reviewer)

    def test_it_records_one_decision_when_two_editors_adjudicate_together(self) -> None:
        self.lease_both()
        for reviewer, rating in zip(self.reviewers, ("true", "false"), strict=True):
            services.verdict_submit(
                claim=self.claim, reviewer=reviewer, rating=rating, confidence="high"
            )
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.DISPUTED)

        results, errors = run_together(
            [
                lambda editor=editor, rating=rating: services.claim_adjudicate(
                    claim=self.claim, editor=editor, rating=rating, note=f"{editor} decides"
                )
                for editor, rating in zip(self.editors, ("true", "false"), strict=True)
            ]
        )
        winners = [r for r in results if r is not None]
        self.assertEqual(len(winners), 1)
        self.assertEqual([type(e) for e in errors if e is not None], [QueueConflict], errors)
        record = Consensus.objects.get(claim=self.claim)
        self.assertEqual(record.pk, winners[0].pk)
        self.assertEqual(record.method, ConsensusMethod.ADJUDICATED)
        self.assertTrue(record.is_current)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)
        self.assertEqual(Event.objects.filter(verb="consensus.adjudicated").count(), 1)

    def test_it_decides_once_when_the_last_two_verdicts_arrive_together(self) -> None:
        self.lease_both()
        results, errors = run_together(
            [
                lambda reviewer=reviewer: services.verdict_submit(
                    claim=self.claim, reviewer=reviewer, rating="false", confidence="high"
                )
                for reviewer in self.reviewers
            ]
        )
        self.assertEqual(errors, [None, None])
        self.assertEqual(Verdict.objects.filter(claim=self.claim, is_current=True).count(), 2)
        record = Consensus.objects.get(claim=self.claim)
        self.assertEqual((record.method, record.rating.key), (ConsensusMethod.UNANIMOUS, "false"))
        self.assertEqual(set(record.verdicts.values_list("pk", flat=True)), {v.pk for v in results})
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)
        self.assertEqual(Event.objects.filter(verb="claim.status").count(), 1)
