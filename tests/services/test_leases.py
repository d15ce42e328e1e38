"""services.leases: leasing the oldest eligible claim, slots, expiry, skipping.

Every service is called with an explicit ``now=`` where it takes one, so lease expiry is
tested without sleeping.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    Event,
)
from annotations.services import QueueConflict, leases
from tests.factories import judge, make_claim, make_member
from tests.services.queue_base import LEASE, SECOND, T0, QueueTestCase


class LeaseNextTests(QueueTestCase):
    def test_it_leases_the_oldest_eligible_claim(self) -> None:
        since = self.last_event_id()
        assignment = self.lease(self.reviewer_a)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[0].pk)
        self.assertEqual(assignment.reviewer, self.reviewer_a)
        self.assertEqual(assignment.state, AssignmentState.LEASED)
        self.assertEqual(assignment.leased_at, T0)
        self.assertEqual(assignment.expires_at, T0 + LEASE)
        self.assertEqual(self.verbs_since(since), ["lease.create"])
        event = Event.objects.get(id__gt=since)
        self.assertEqual(event.actor, self.reviewer_a)
        self.assertEqual(event.object_id, assignment.pk)
        self.assertEqual(event.after["claim"], self.claims[0].pk)

    def test_it_never_offers_the_callers_own_claim(self) -> None:
        self.assertIsNone(self.lease(self.creator))
        own = make_claim(document=self.document, actor=self.reviewer_a, exact="Others disagree")
        for claim in self.claims:
            judge(claim, self.reviewer_a, "true", now=T0)
        self.assertIsNone(self.lease(self.reviewer_a))
        offered = self.lease(self.reviewer_b)
        assert offered is not None
        self.assertEqual(offered.claim_id, self.claims[0].pk)
        self.assertNotEqual(offered.claim_id, own.pk)

    def test_it_does_not_offer_a_claim_the_reviewer_judged(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        assignment = self.lease(self.reviewer_a)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[1].pk)

    def test_it_does_not_offer_a_claim_the_reviewer_skipped(self) -> None:
        services.claim_skip(
            claim=self.claims[0], reviewer=self.reviewer_a, reason="I wrote the story", now=T0
        )
        assignment = self.lease(self.reviewer_a)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[1].pk)

    def test_it_returns_the_held_lease_when_called_again(self) -> None:
        first = self.lease(self.reviewer_a)
        since = self.last_event_id()
        for later in (T0, T0 + SECOND, T0 + LEASE - SECOND):
            with self.subTest(now=later):
                again = self.lease(self.reviewer_a, now=later)
                assert first is not None and again is not None
                self.assertEqual(again.pk, first.pk)
                self.assertEqual(again.expires_at, T0 + LEASE)
        self.assertEqual(
            Assignment.objects.filter(
                reviewer=self.reviewer_a, state=AssignmentState.LEASED
            ).count(),
            1,
        )
        self.assertEqual(self.verbs_since(since), [])

    def test_it_offers_a_released_claim_to_its_holder_again(self) -> None:
        # A lease, given back, is an ordinary eligible claim again (release is not skip).
        first = self.lease(self.reviewer_a)
        assert first is not None
        services.lease_release(claim=self.claims[0], reviewer=self.reviewer_a, now=T0)
        second = self.lease(self.reviewer_a, now=T0 + SECOND)
        assert second is not None
        self.assertNotEqual(second.pk, first.pk)
        self.assertEqual(second.claim_id, self.claims[0].pk)

    def test_it_returns_none_when_nothing_is_eligible(self) -> None:
        for claim in self.claims:
            judge(claim, self.reviewer_a, "true", now=T0)
        before = self.row_counts()
        self.assertIsNone(self.lease(self.reviewer_a))
        self.assertWritesNothing(before)

    def test_it_does_not_offer_claims_out_of_review(self) -> None:
        services.claim_withdraw(claim=self.claims[0], actor=self.editor, reason="Duplicate", now=T0)
        judge(self.claims[1], self.reviewer_a, "true", now=T0)
        judge(self.claims[1], self.reviewer_b, "true", now=T0)  # resolved
        assignment = self.lease(self.reviewer_c)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[2].pk)

    def test_it_refuses_a_non_member(self) -> None:
        before = self.row_counts()
        with self.assertRaises(PermissionDenied):
            self.lease(self.outsider)
        self.assertWritesNothing(before)

    def test_by_the_projects_id_a_non_member_is_told_nothing_and_nothing_is_written(
        self,
    ) -> None:
        # The API's call: the project looked up with the membership it locks (Http404, as
        # access.project_get_for_user answers a non-member), the same for a missing id.
        before = self.row_counts()
        for project_id in (self.project.pk, 10**9):
            with self.subTest(project_id), self.assertRaises(Http404):
                services.lease_next(reviewer=self.outsider, project_id=project_id, now=T0)
        self.assertWritesNothing(before)

    def test_by_the_projects_id_it_leases_as_by_the_project(self) -> None:
        by_id = services.lease_next(reviewer=self.reviewer_a, project_id=self.project.pk, now=T0)
        assert by_id is not None
        self.assertEqual(by_id.claim_id, self.claims[0].pk)
        self.assertEqual(self.lease(self.reviewer_a), by_id)  # held: the same lease


class LeaseSlotTests(QueueTestCase):
    """One claim, two required reviews: two slots."""

    claim_count = 1

    def test_it_gives_a_third_reviewer_nothing_while_two_leases_are_active(self) -> None:
        self.assertIsNotNone(self.lease(self.reviewer_a))
        self.assertIsNotNone(self.lease(self.reviewer_b))
        self.assertIsNone(self.lease(self.reviewer_c))
        self.assertEqual(Assignment.objects.filter(state=AssignmentState.LEASED).count(), 2)

    def test_it_counts_a_submitted_verdict_as_a_taken_slot(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        self.assertIsNotNone(self.lease(self.reviewer_b))
        self.assertIsNone(self.lease(self.reviewer_c))

    def test_it_frees_the_slot_of_an_expired_lease(self) -> None:
        held_a = self.lease(self.reviewer_a, now=T0)
        held_b = self.lease(self.reviewer_b, now=T0 + dt.timedelta(minutes=10))
        assert held_a is not None and held_b is not None
        before = self.row_counts()
        self.assertIsNone(self.lease(self.reviewer_c, now=T0 + LEASE - SECOND))
        self.assertWritesNothing(before)
        taken = self.lease(self.reviewer_c, now=T0 + LEASE + SECOND)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)
        # The holder of the expired lease asks again: the lease is closed as expired and,
        # with b and c holding both slots, there is nothing for them.
        since = self.last_event_id()
        self.assertIsNone(self.lease(self.reviewer_a, now=T0 + LEASE + SECOND))
        expired = self.fresh(held_a)
        self.assertEqual(expired.state, AssignmentState.EXPIRED)
        self.assertEqual(expired.closed_at, T0 + LEASE + SECOND)
        self.assertEqual(self.verbs_since(since), ["lease.expire"])
        self.assertEqual(Event.objects.get(id__gt=since).object_id, held_a.pk)
        self.assertEqual(self.fresh(held_b).state, AssignmentState.LEASED)

    def test_it_ends_a_lease_at_its_expiry_instant(self) -> None:
        self.lease(self.reviewer_a, now=T0)
        self.lease(self.reviewer_b, now=T0)
        taken = self.lease(self.reviewer_c, now=T0 + LEASE)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)

    def test_it_offers_the_claim_again_to_the_holder_of_an_expired_lease_if_a_slot_is_free(
        self,
    ) -> None:
        held = self.lease(self.reviewer_a, now=T0)
        assert held is not None
        again = self.lease(self.reviewer_a, now=T0 + LEASE + SECOND)
        assert again is not None
        self.assertNotEqual(again.pk, held.pk)
        self.assertEqual(again.claim_id, self.claims[0].pk)
        self.assertEqual(again.expires_at, T0 + LEASE + SECOND + LEASE)
        self.assertEqual(self.fresh(held).state, AssignmentState.EXPIRED)

    def test_it_frees_the_slot_on_release(self) -> None:
        held = self.lease(self.reviewer_a)
        self.lease(self.reviewer_b)
        since = self.last_event_id()
        released = services.lease_release(
            claim=self.claims[0], reviewer=self.reviewer_a, now=T0 + SECOND
        )
        self.assertEqual(released.pk, held.pk)
        self.assertEqual(released.state, AssignmentState.RELEASED)
        self.assertEqual(self.fresh(held).closed_at, T0 + SECOND)
        self.assertEqual(self.verbs_since(since), ["lease.release"])
        taken = self.lease(self.reviewer_c, now=T0 + SECOND)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)
        before = self.row_counts()
        with self.assertRaises(QueueConflict):
            services.lease_release(claim=self.claims[0], reviewer=self.reviewer_a, now=T0 + SECOND)
        self.assertWritesNothing(before)

    def test_it_refuses_to_release_a_lease_that_is_not_held(self) -> None:
        self.lease(self.reviewer_a, now=T0)
        cases = (
            ("never leased", self.reviewer_b, T0),
            ("expired", self.reviewer_a, T0 + LEASE + SECOND),
        )
        for label, reviewer, now in cases:
            with self.subTest(label):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    services.lease_release(claim=self.claims[0], reviewer=reviewer, now=now)
                self.assertWritesNothing(before)

    def test_it_frees_the_slot_on_skip(self) -> None:
        self.lease(self.reviewer_a)
        self.lease(self.reviewer_b)
        services.claim_skip(
            claim=self.claims[0], reviewer=self.reviewer_a, reason="Conflict of interest", now=T0
        )
        taken = self.lease(self.reviewer_c)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)


@pytest.mark.postgres("lease_next's first pick and its insert's re-count are PostgreSQL's")
class LeaseRecountTests(QueueTestCase):
    """On PostgreSQL the first pick (``leases._pick_unheld``) does not re-count the picked
    claim's slots: the lease's insert does, in a statement of its own after the claim's
    lock. A lease committed between the pick's snapshot and the lock must not be
    overtaken: here the pick is made to answer a claim whose slots are all taken, as such
    a race would leave it."""

    claim_count = 2

    def full_first_claim(self) -> Claim:
        self.assertIsNotNone(self.lease(self.reviewer_a))
        self.assertIsNotNone(self.lease(self.reviewer_b))
        return Claim.objects.select_related("created_by").get(pk=self.claims[0].pk)

    def test_a_claim_whose_slots_were_taken_is_passed_over_for_the_next(self) -> None:
        full = self.full_first_claim()
        since = self.last_event_id()
        with mock.patch.object(leases, "_pick_unheld", return_value=full) as pick:
            taken = self.lease(self.reviewer_c)
        pick.assert_called_once()
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[1].pk)
        self.assertEqual(taken.claim.created_by, self.creator)
        self.assertEqual(
            Assignment.objects.filter(claim=self.claims[0], state=AssignmentState.LEASED).count(),
            2,
        )
        self.assertEqual(self.verbs_since(since), ["lease.create"])
        self.assertEqual(Event.objects.get(id__gt=since).object_id, taken.pk)

    def test_nothing_is_written_when_no_claim_has_a_slot_left(self) -> None:
        full = self.full_first_claim()
        for name in ("reviewer_d", "reviewer_e"):
            services.lease_claim(
                reviewer=make_member(self.project, name), claim=self.claims[1], now=T0
            )
        before = self.row_counts()
        with mock.patch.object(leases, "_pick_unheld", return_value=full):
            self.assertIsNone(self.lease(self.reviewer_c))
        self.assertWritesNothing(before)

    def test_a_free_slot_is_leased_from_the_first_pick(self) -> None:
        self.assertIsNotNone(self.lease(self.reviewer_a))
        since = self.last_event_id()
        with mock.patch.object(leases, "_pick", side_effect=AssertionError("a second pick")):
            taken = self.lease(self.reviewer_b)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)
        self.assertEqual(self.verbs_since(since), ["lease.create"])


class ClaimSkipTests(QueueTestCase):
    claim_count = 2

    def test_it_requires_a_reason(self) -> None:
        self.lease(self.reviewer_a)
        for reason in ("", "   \n", None, "x" * 2001):
            with self.subTest(reason=reason if reason is None else reason[:5]):
                before = self.row_counts()
                with self.assertRaises(ValidationError) as ctx:
                    services.claim_skip(
                        claim=self.claims[0], reviewer=self.reviewer_a, reason=reason, now=T0
                    )
                self.assertIn("reason", ctx.exception.message_dict)
                self.assertWritesNothing(before)
                self.assertEqual(
                    Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
                )

    def test_it_never_offers_a_skipped_claim_to_that_reviewer_again(self) -> None:
        held = self.lease(self.reviewer_a)
        since = self.last_event_id()
        skipped = services.claim_skip(
            claim=self.claims[0], reviewer=self.reviewer_a, reason=" I wrote the story ", now=T0
        )
        self.assertEqual(skipped.pk, held.pk)
        skipped = self.fresh(skipped)
        self.assertEqual(skipped.state, AssignmentState.SKIPPED)
        self.assertEqual(skipped.reason, "I wrote the story")
        self.assertEqual(skipped.closed_at, T0)
        self.assertEqual(self.verbs_since(since), ["claim.skip"])
        self.assertEqual(Event.objects.get(id__gt=since).after["reason"], "I wrote the story")
        # a moves on to the next claim and, once that is done, gets nothing, at any time.
        judge(self.claims[1], self.reviewer_a, "true", now=T0 + SECOND)
        for later in (T0 + SECOND, T0 + dt.timedelta(days=30)):
            with self.subTest(now=later):
                self.assertIsNone(self.lease(self.reviewer_a, now=later))
        # Others are still offered it.
        offered = self.lease(self.reviewer_b, now=T0 + SECOND)
        assert offered is not None
        self.assertEqual(offered.claim_id, self.claims[0].pk)

    def test_it_skips_without_a_lease(self) -> None:
        skipped = services.claim_skip(
            claim=self.claims[1], reviewer=self.reviewer_a, reason="Conflict of interest", now=T0
        )
        self.assertEqual(skipped.state, AssignmentState.SKIPPED)
        self.assertEqual(skipped.claim_id, self.claims[1].pk)
        self.assertFalse(Assignment.objects.filter(state=AssignmentState.LEASED).exists())

    def test_it_refuses_a_second_skip_and_a_skip_after_judging(self) -> None:
        services.claim_skip(claim=self.claims[0], reviewer=self.reviewer_a, reason="COI", now=T0)
        judge(self.claims[0], self.reviewer_b, "true", now=T0)
        cases = (("skipped twice", self.reviewer_a), ("already judged", self.reviewer_b))
        for label, reviewer in cases:
            with self.subTest(label):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    services.claim_skip(
                        claim=self.claims[0], reviewer=reviewer, reason="again", now=T0
                    )
                self.assertWritesNothing(before)

    def test_it_refuses_a_non_member(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.claim_skip(claim=self.claims[0], reviewer=self.outsider, reason="x", now=T0)
