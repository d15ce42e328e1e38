"""Directing the queue (issue 18): priority and deadlines (``claim_schedule``), directed
assignment (``claim_assign``/``claim_unassign``) and review from the claim page
(``lease_claim``), and how the queue (``lease_next``) orders and reserves slots."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from annotations import selectors, services
from annotations.models import ClaimPriority, Event, Reservation
from tests.factories import judge, make_claim
from tests.services.queue_base import LEASE, SECOND, T0, QueueTestCase


class ClaimScheduleTests(QueueTestCase):
    def test_an_editor_sets_priority_and_deadline_with_one_event(self) -> None:
        claim = self.claims[1]
        version = claim.version
        services.claim_schedule(claim=claim, actor=self.editor, priority="urgent", due_at=T0)
        claim = self.fresh(claim)
        self.assertEqual(claim.priority, ClaimPriority.URGENT)
        self.assertEqual(claim.due_at, T0)
        self.assertEqual(claim.version, version)  # the ETag guards the text only
        event = Event.objects.filter(verb="claim.schedule").get()
        self.assertEqual(event.before, {"priority": "normal", "due_at": None})
        self.assertEqual(event.after, {"priority": "urgent", "due_at": T0.isoformat()})

    def test_a_deadline_left_out_stays_and_none_clears_it(self) -> None:
        claim = self.claims[0]
        services.claim_schedule(claim=claim, actor=self.editor, due_at=T0)
        services.claim_schedule(claim=claim, actor=self.editor, priority="high")
        self.assertEqual(self.fresh(claim).due_at, T0)
        services.claim_schedule(claim=claim, actor=self.editor, due_at=None)
        self.assertIsNone(self.fresh(claim).due_at)

    def test_nothing_changed_writes_no_event(self) -> None:
        before = self.row_counts()
        services.claim_schedule(claim=self.claims[0], actor=self.editor, priority="normal")
        self.assertWritesNothing(before)

    def test_it_refuses_reviewers_and_unknown_priorities_writing_nothing(self) -> None:
        before = self.row_counts()
        with self.assertRaises(PermissionDenied):
            services.claim_schedule(claim=self.claims[0], actor=self.creator, priority="urgent")
        with self.assertRaises(PermissionDenied):
            services.claim_schedule(claim=self.claims[0], actor=self.outsider, priority="low")
        with self.assertRaises(ValidationError) as caught:
            services.claim_schedule(claim=self.claims[0], actor=self.editor, priority="asap")
        self.assertIn("priority", caught.exception.message_dict)
        self.assertWritesNothing(before)
        self.assertEqual(self.fresh(self.claims[0]).priority, ClaimPriority.NORMAL)

    def test_only_editors_create_claims_with_a_priority_or_deadline(self) -> None:
        with self.assertRaises(PermissionDenied):
            make_claim(
                document=self.document, actor=self.creator, exact="Others", priority="urgent"
            )
        claim = make_claim(
            document=self.document, actor=self.editor, exact="Others", priority="high", due_at=T0
        )
        self.assertEqual((claim.priority, claim.due_at), (ClaimPriority.HIGH, T0))
        created = Event.objects.filter(verb="claim.create", object_id=str(claim.pk)).get()
        self.assertEqual(created.after["priority"], "high")


class QueueOrderTests(QueueTestCase):
    claim_count = 3

    def test_priority_then_deadline_then_age(self) -> None:
        _, middle, newest = self.claims
        services.claim_schedule(claim=newest, actor=self.editor, priority="urgent")
        services.claim_schedule(claim=middle, actor=self.editor, due_at=T0 + LEASE)
        # urgent first; then among normal ones the one with a deadline; then the oldest.
        offered = []
        for reviewer in (self.reviewer_a, self.reviewer_b, self.reviewer_c):
            lease = self.lease(reviewer)
            assert lease is not None
            offered.append(lease.claim_id)
        self.assertEqual(offered, [newest.pk, newest.pk, middle.pk])

    def test_an_overdue_claim_is_flagged_until_decided(self) -> None:
        claim = self.claims[0]
        past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        services.claim_schedule(claim=claim, actor=self.editor, due_at=past)
        self.assertTrue(self.fresh(claim).is_overdue)
        for reviewer in (self.reviewer_a, self.reviewer_b):
            judge(claim, reviewer, "true")
        self.assertFalse(self.fresh(claim).is_overdue)  # resolved


class DirectedAssignmentTests(QueueTestCase):
    policy: ClassVar[dict[str, Any]] = {"required_reviews": 2}

    def test_it_reserves_slots_with_one_event_and_the_queue_offers_them_first(self) -> None:
        newest = self.claims[2]
        result = services.claim_assign(
            claim=newest, editor=self.editor, usernames=["reviewer_a"], now=T0
        )
        self.assertEqual([r.reviewer for r in result], [self.reviewer_a])
        event = Event.objects.filter(verb="claim.assign").get()
        self.assertEqual(event.before, {"reviewers": []})
        self.assertEqual(event.after, {"reviewers": ["reviewer_a"]})
        # reviewer_a is offered the newest claim (assigned) before the oldest.
        lease = self.lease(self.reviewer_a)
        assert lease is not None
        self.assertEqual(lease.claim_id, newest.pk)

    def test_the_assigned_reviewers_are_notified_once(self) -> None:
        from annotations.models import Notification

        claim = self.claims[0]
        services.claim_assign(claim=claim, editor=self.editor, usernames=["reviewer_a"], now=T0)
        # Naming reviewer_a again (a retry) and adding reviewer_b: one notice each.
        services.claim_assign(
            claim=claim, editor=self.editor, usernames=["reviewer_a", "reviewer_b"], now=T0
        )
        self.assertEqual(
            sorted(
                Notification.objects.filter(kind="assigned", claim=claim).values_list(
                    "recipient__username", flat=True
                )
            ),
            ["reviewer_a", "reviewer_b"],
        )
        self.assertFalse(Notification.objects.filter(recipient=self.editor).exists())

    def test_reserved_slots_are_not_for_others_and_unassigning_frees_them(self) -> None:
        claim = self.claims[0]
        services.claim_assign(
            claim=claim, editor=self.editor, usernames=["reviewer_a", "reviewer_b"], now=T0
        )
        # Full for everyone else: reviewer_c gets the next claim, and cannot take it directly.
        lease = self.lease(self.reviewer_c)
        assert lease is not None
        self.assertEqual(lease.claim_id, self.claims[1].pk)
        with self.assertRaisesMessage(services.QueueConflict, "No free review slot"):
            services.lease_claim(reviewer=self.editor, claim=claim, now=T0)
        services.claim_unassign(claim=claim, editor=self.editor, username="reviewer_b")
        event = Event.objects.filter(verb="claim.unassign").get()
        self.assertEqual(event.before, {"reviewers": ["reviewer_a", "reviewer_b"]})
        self.assertEqual(event.after, {"reviewers": ["reviewer_a"]})
        taken = services.lease_claim(reviewer=self.editor, claim=claim, now=T0)
        self.assertEqual(taken.claim_id, claim.pk)

    def test_bad_names_are_a_400_naming_each_and_nothing_is_written(self) -> None:
        claim = self.claims[0]
        judge(claim, self.reviewer_a, "true", now=T0)
        services.claim_skip(claim=claim, reviewer=self.reviewer_b, reason="conflict", now=T0)
        before = {**self.row_counts(), "Reservation": Reservation.objects.count()}
        with self.assertRaises(ValidationError) as caught:
            services.claim_assign(
                claim=claim,
                editor=self.editor,
                usernames=["nobody", "outsider", "creator", "reviewer_a", "reviewer_b"],
                now=T0,
            )
        text = " ".join(caught.exception.message_dict["reviewers"])
        for name, reason in (
            ("nobody", "no member"),
            ("outsider", "no member"),
            ("creator", "created this claim"),
            ("reviewer_a", "already submitted a verdict"),
            ("reviewer_b", "skipped"),
        ):
            self.assertIn(f"{name}: ", text)
            self.assertIn(reason, text)
        self.assertEqual({**self.row_counts(), "Reservation": Reservation.objects.count()}, before)

    def test_more_names_than_free_slots_is_a_conflict(self) -> None:
        claim = self.claims[0]
        self.lease(self.reviewer_a)  # takes one of the two slots
        with self.assertRaisesMessage(services.QueueConflict, "Only 1 review slot"):
            services.claim_assign(
                claim=claim, editor=self.editor, usernames=["reviewer_b", "reviewer_c"], now=T0
            )
        self.assertFalse(Reservation.objects.exists())
        # The lease holder needs no new slot: assigning them and one other fits.
        services.claim_assign(
            claim=claim, editor=self.editor, usernames=["reviewer_a", "reviewer_b"], now=T0
        )
        self.assertEqual(Reservation.objects.count(), 2)

    def test_reviewers_cannot_assign_and_unknown_unassign_is_404(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.claim_assign(
                claim=self.claims[0], editor=self.reviewer_a, usernames=["reviewer_b"]
            )
        with self.assertRaises(Http404):
            services.claim_unassign(claim=self.claims[0], editor=self.editor, username="nobody")

    def test_skipping_an_assigned_claim_declines_it(self) -> None:
        claim = self.claims[0]
        services.claim_assign(claim=claim, editor=self.editor, usernames=["reviewer_a"], now=T0)
        services.claim_skip(claim=claim, reviewer=self.reviewer_a, reason="conflict", now=T0)
        self.assertFalse(Reservation.objects.exists())
        self.assertTrue(Event.objects.get(verb="claim.skip").after["unassigned"])

    def test_a_verdict_fills_the_reserved_slot_once(self) -> None:
        claim = self.claims[0]
        services.claim_assign(claim=claim, editor=self.editor, usernames=["reviewer_a"], now=T0)
        judge(claim, self.reviewer_a, "true", now=T0)
        # One slot left for everyone: b takes it, then c is offered the next claim.
        self.assertEqual(self.lease(self.reviewer_b).claim_id, claim.pk)
        self.assertEqual(self.lease(self.reviewer_c).claim_id, self.claims[1].pk)


class LeaseClaimTests(QueueTestCase):
    policy: ClassVar[dict[str, Any]] = {"required_reviews": 1}

    def test_it_leases_a_chosen_claim_with_the_queue_event(self) -> None:
        newest = self.claims[2]
        lease = services.lease_claim(reviewer=self.reviewer_a, claim=newest, now=T0)
        self.assertEqual((lease.claim_id, lease.expires_at), (newest.pk, T0 + LEASE))
        self.assertEqual(Event.objects.filter(verb="lease.create").count(), 1)
        again = services.lease_claim(reviewer=self.reviewer_a, claim=newest, now=T0 + SECOND)
        self.assertEqual(again.pk, lease.pk)
        self.assertEqual(Event.objects.filter(verb="lease.create").count(), 1)

    def test_each_refusal_says_why_and_writes_nothing(self) -> None:
        first, second, third = self.claims
        services.lease_claim(reviewer=self.reviewer_b, claim=first, now=T0)  # fills it
        judge(second, self.reviewer_c, "true", now=T0)  # resolves it (1 required)
        services.claim_skip(claim=third, reviewer=self.reviewer_a, reason="conflict", now=T0)
        mine = make_claim(document=self.document, actor=self.reviewer_a, exact="Others")
        before = self.row_counts()
        for claim, fragment in (
            (first, "No free review slot"),
            (second, "not in review"),
            (third, "You skipped this claim"),
            (mine, "You created this claim"),
        ):
            with self.subTest(fragment), self.assertRaisesMessage(services.QueueConflict, fragment):
                services.lease_claim(reviewer=self.reviewer_a, claim=claim, now=T0)
        self.assertWritesNothing(before)
        # Holding a lease on another claim: submit, release or skip it first.
        with self.assertRaisesMessage(services.QueueConflict, "another claim"):
            services.lease_claim(reviewer=self.reviewer_b, claim=mine, now=T0)

    def test_an_expired_lease_on_another_claim_is_closed_first(self) -> None:
        first, second, _ = self.claims
        expired = services.lease_claim(reviewer=self.reviewer_a, claim=first, now=T0)
        lease = services.lease_claim(reviewer=self.reviewer_a, claim=second, now=T0 + 2 * LEASE)
        self.assertEqual(lease.claim_id, second.pk)
        # Both events with the new lease (one statement on PostgreSQL, the new lease's id
        # sealed into the second), each naming its lease, and the chain verifies.
        self.assertEqual(
            list(Event.objects.order_by("id").values_list("verb", "object_id"))[-2:],
            [("lease.expire", expired.pk), ("lease.create", lease.pk)],
        )
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)


class LeaseClaimJudgedTests(QueueTestCase):
    policy: ClassVar[dict[str, Any]] = {"required_reviews": 2}

    def test_the_reviewer_who_judged_cannot_take_it_again(self) -> None:
        claim = self.claims[0]
        judge(claim, self.reviewer_a, "true", now=T0)
        with self.assertRaisesMessage(services.QueueConflict, "already submitted a verdict"):
            services.lease_claim(reviewer=self.reviewer_a, claim=self.fresh(claim), now=T0)
        # Someone else still can: the second slot is free.
        lease = services.lease_claim(reviewer=self.reviewer_b, claim=claim, now=T0)
        self.assertEqual(lease.claim_id, claim.pk)
