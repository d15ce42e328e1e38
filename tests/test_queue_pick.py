"""The queue's PostgreSQL pick (raw SQL in ``services.leases``) agrees with the ORM's
eligibility queryset ``_eligible_claims`` over the queue's states: own claims, judged,
skipped, leased, full, expired, released, out of review, passed over."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.test import TestCase

from annotations import services
from annotations.models import Assignment, Claim, Verdict
from annotations.services import leases
from tests.factories import Personas, judge, make_claim, make_member

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=30)
SECOND = dt.timedelta(seconds=1)
SPANS = [(0, 9), (4, 15), (15, 30), (41, 53), (54, 66), (60, 80), (99, 110), (111, 124)]


@pytest.mark.postgres
class PickAgreesWithTheQuerysetTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.reviewer_d = make_member(cls.project, "reviewer_d")
        cls.people = [
            cls.creator,
            cls.reviewer_a,
            cls.reviewer_b,
            cls.reviewer_c,
            cls.reviewer_d,
            cls.editor,
        ]
        claims = [
            make_claim(document=cls.document, actor=cls.creator, start=s, end=e)
            for s, e in SPANS[:6]
        ] + [
            make_claim(document=cls.document, actor=cls.reviewer_a, start=s, end=e)
            for s, e in SPANS[6:]
        ]
        cls.claims = claims
        a, b, c, d = cls.reviewer_a, cls.reviewer_b, cls.reviewer_c, cls.reviewer_d
        # a judges claims[0]; b's lease then fills it until b's lease expires
        judge(claims[0], a, "true", confidence="low", now=T0)
        services.lease_next(reviewer=b, project=cls.project, now=T0)
        # c skips claims[1]; c's and d's leases (a second later) take the next free slots
        services.claim_skip(claim=claims[1], reviewer=c, reason="conflict", now=T0)
        services.lease_next(reviewer=c, project=cls.project, now=T0 + SECOND)
        services.lease_next(reviewer=d, project=cls.project, now=T0 + SECOND)
        # claims[5] is withdrawn (out of review); claims[6:] are a's own
        services.claim_withdraw(claim=claims[5], actor=cls.editor, reason="dup", now=T0)

    def test_the_table_names_match_the_models(self) -> None:
        for model in (Claim, Assignment, Verdict):
            self.assertIn(model._meta.db_table, leases._PICK_SQL)

    def test_it_picks_the_same_claim_as_the_queryset(self) -> None:
        leased = Assignment.objects.filter(state="leased").values_list("claim_id", flat=True)
        self.assertTrue(leased)
        ids = [c.pk for c in self.claims]
        times = [T0, T0 + SECOND, T0 + LEASE, T0 + LEASE + 2 * SECOND]
        passed_sets = [[], ids[:1], ids[:3], ids[2:5]]
        checked = 0
        for person, now, passed in itertools.product(self.people, times, passed_sets):
            expected_qs = leases._eligible_claims(project=self.project, reviewer=person, now=now)
            if passed:
                expected_qs = expected_qs.exclude(pk__in=passed)
            expected = expected_qs.values_list("pk", flat=True).first()
            for skip_locked in (True, False):
                got = leases._pick(
                    project=self.project,
                    reviewer=person,
                    now=now,
                    passed_over=passed,
                    skip_locked=skip_locked,
                )
                self.assertEqual(got, expected, (person.username, now, passed, skip_locked))
            checked += 1
            for claim_id in ids:
                self.assertEqual(
                    leases._slots_taken(claim_id=claim_id, now=now),
                    Assignment.objects.filter(
                        claim_id=claim_id, state="leased", expires_at__gt=now
                    ).count()
                    + Verdict.objects.filter(claim_id=claim_id, is_current=True).count(),
                )
        self.assertEqual(checked, len(self.people) * len(times) * len(passed_sets))
        # The states above make the answers differ between people and times.
        answers = {
            leases._pick(project=self.project, reviewer=p, now=t, passed_over=[], skip_locked=True)
            for p, t in itertools.product(self.people, times)
        }
        self.assertGreater(len(answers), 2)
