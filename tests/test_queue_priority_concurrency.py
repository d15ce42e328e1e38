"""The queue's order and directed assignment under real concurrency (PostgreSQL only).

Urgent, high, overdue, normal and low claims, two of them with reserved slots, and 20
reviewers (plus the two assigned ones) leasing at the same instant: every lease follows
the order (``core.scheduling``), no slot is handed out twice, and reserved slots go only
to their reviewers. Threads as in ``tests/test_queue_concurrency``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

import pytest
from django.db.models import Count
from django.test import TransactionTestCase
from django.utils import timezone

from annotations import services
from annotations.core import scheduling
from annotations.models import Assignment, AssignmentState, Claim, Role, Verdict
from tests.factories import (
    SAMPLE_TEXT,
    make_claim,
    make_document,
    make_member,
    make_members,
    make_project,
    make_user,
)
from tests.test_queue_concurrency import run_together

HOUR = dt.timedelta(hours=1)


@pytest.mark.postgres
class PriorityQueueConcurrencyTests(TransactionTestCase):
    REVIEWERS = 20
    REQUIRED = 2

    def setUp(self) -> None:
        admin = make_user("admin")
        self.project = make_project(creator=admin, name="News desk", required_reviews=2)
        self.editor = make_member(self.project, "editor", Role.EDITOR)
        creator = make_member(self.project, "creator")
        self.reviewers = make_members(
            self.project, *(f"reviewer_{n:02d}" for n in range(self.REVIEWERS))
        )
        self.assigned_1, self.assigned_2 = make_members(self.project, "assigned_1", "assigned_2")
        document = make_document(project=self.project, actor=creator)
        line = SAMPLE_TEXT.index("\n")
        now = timezone.now()
        # (priority, due) in creation order, so that age alone would give another order.
        plan = [
            ("low", None),
            ("normal", None),
            ("normal", now - HOUR),  # overdue
            ("low", now - 2 * HOUR),  # overdue but low
            ("normal", None),  # reserved for assigned_1 and assigned_2: full for others
            ("high", now + 2 * HOUR),
            ("urgent", None),  # one slot reserved for assigned_1
            ("normal", now - 3 * HOUR),  # overdue
            ("high", now + HOUR),
            ("urgent", now + HOUR),
            ("normal", None),
            ("normal", now - 2 * HOUR),  # overdue
            ("urgent", None),
            ("normal", None),
            ("normal", None),
        ]
        self.claims = [
            make_claim(
                document=document,
                actor=self.editor,
                start=n % line,
                end=n % line + 5,
                statement=f"Claim {n}",
                priority=priority,
                due_at=due,
            )
            for n, (priority, due) in enumerate(plan)
        ]
        self.full_reserved, self.half_reserved = self.claims[4], self.claims[6]
        services.claim_assign(
            claim=self.full_reserved, editor=self.editor, usernames=["assigned_1", "assigned_2"]
        )
        services.claim_assign(
            claim=self.half_reserved, editor=self.editor, usernames=["assigned_1"]
        )
        self.assertTrue(Claim.objects.get(pk=self.claims[2].pk).is_overdue)

    def _key(self, claim: Claim) -> tuple[object, ...]:
        return scheduling.queue_sort_key(
            assigned=False,
            priority=claim.priority,
            due_at=claim.due_at,
            created_at=claim.created_at,
            pk=claim.pk,
        )

    def lease_once(self, reviewer: object) -> Callable[[], int | None]:
        def call() -> int | None:
            lease = services.lease_next(reviewer=reviewer, project=self.project)
            return None if lease is None else lease.claim_id

        return call

    def work_through(self, reviewer: object) -> Callable[[], int]:
        def call() -> int:
            submitted = 0
            while True:
                lease = services.lease_next(reviewer=reviewer, project=self.project)
                if lease is None:
                    return submitted
                services.verdict_submit(
                    claim=Claim.objects.get(pk=lease.claim_id),
                    reviewer=reviewer,
                    rating="true",
                    confidence="medium",
                )
                submitted += 1

        return call

    def test_every_lease_follows_the_order_and_reserved_slots_go_to_their_reviewers(
        self,
    ) -> None:
        everyone = [*self.reviewers, self.assigned_1, self.assigned_2]
        # Wave 1: everyone asks for a claim at the same instant.
        results, errors = run_together([self.lease_once(r) for r in everyone])
        self.assertEqual([e for e in errors if e is not None], [])
        self.assertTrue(all(r is not None for r in results), results)
        leases = list(Assignment.objects.filter(state=AssignmentState.LEASED))
        self.assertEqual(len(leases), len(everyone))
        per_claim = Counter(a.claim_id for a in leases)
        others = {self.assigned_1.pk, self.assigned_2.pk}
        open_leases = Counter(a.claim_id for a in leases if a.reviewer_id not in others)
        # Reserved slots go only to their reviewers; no claim holds more than its slots.
        self.assertEqual(open_leases[self.full_reserved.pk], 0)
        self.assertLessEqual(open_leases[self.half_reserved.pk], 1)
        self.assertEqual({pk for pk, n in per_claim.items() if n > self.REQUIRED}, set())
        # The order: a claim was leased by an ordinary reviewer only when every claim
        # before it (for them: the fully reserved claim never counts) had been leased by
        # someone in this wave (it was locked by that lease, or full).
        claims = {c.pk: c for c in Claim.objects.filter(project=self.project)}
        ordered = sorted(
            (c for c in claims.values() if c.pk != self.full_reserved.pk), key=self._key
        )
        position = {c.pk: n for n, c in enumerate(ordered)}
        leased_claims = set(per_claim)
        for lease in leases:
            if lease.reviewer_id in others:
                continue
            before = ordered[: position[lease.claim_id]]
            skipped = [c.pk for c in before if c.pk not in leased_claims]
            self.assertEqual(skipped, [], f"claim {lease.claim_id} leased before {skipped}")
        # Urgent claims before any normal claim without a deadline, overdue before them too:
        # the first claims in the order all have a lease.
        first = [c.pk for c in ordered[:5]]
        self.assertLessEqual(set(first), leased_claims)

        # Wave 2: everyone works the queue dry (submitting what they hold first).
        for assignment in leases:
            services.verdict_submit(
                claim=Claim.objects.get(pk=assignment.claim_id),
                reviewer=assignment.reviewer,
                rating="true",
                confidence="medium",
            )
        results, errors = run_together([self.work_through(r) for r in everyone])
        self.assertEqual([e for e in errors if e is not None], [])
        verdicts = Verdict.objects.filter(is_current=True)
        counts = {
            row["claim_id"]: (row["n"], row["people"])
            for row in verdicts.values("claim_id").annotate(
                n=Count("id"), people=Count("reviewer", distinct=True)
            )
        }
        # Every slot handed out exactly once.
        self.assertEqual(counts, {c.pk: (2, 2) for c in self.claims})
        pairs = Counter(Assignment.objects.values_list("claim_id", "reviewer_id"))
        self.assertEqual([pair for pair, n in pairs.items() if n > 1], [])
        # The reserved slots went to their reviewers.
        self.assertEqual(
            set(verdicts.filter(claim=self.full_reserved).values_list("reviewer_id", flat=True)),
            others,
        )
        self.assertIn(
            self.assigned_1.pk,
            set(verdicts.filter(claim=self.half_reserved).values_list("reviewer_id", flat=True)),
        )
