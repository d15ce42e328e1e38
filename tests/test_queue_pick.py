"""The queue's pick agrees with the ORM's eligibility queryset ``_eligible_claims`` over
the queue's states: own claims, judged, skipped, leased, full, expired, released, out of
review, passed over; and the order: assigned to the reviewer first, then priority,
deadline (none last), age. On PostgreSQL the pick is hand-written SQL
(``leases._PICK_SQL``), on SQLite the queryset compiled once (``leases._PICK_COMPILED``):
each database's run checks its own."""

from __future__ import annotations

import datetime as dt
import itertools
from unittest import mock

import pytest
from django.db import connection
from django.test import TestCase

from annotations import dbcursor, services
from annotations.models import Assignment, Claim, Reservation, Verdict
from annotations.services import leases
from tests.factories import Personas, judge, make_claim, make_member

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=30)
SECOND = dt.timedelta(seconds=1)
LATER = T0 + LEASE + SECOND  # every lease of the setup has expired
SPANS = [(0, 9), (4, 15), (15, 30), (41, 53), (54, 66), (60, 80), (99, 110), (111, 124)]


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
        # The order: claims[3] and [7] urgent, [4] high due soon, [2] high due later,
        # [6] due at T0 (normal, so it is overdue too), the rest normal without deadline.
        for index, priority, due in (
            (3, "urgent", None),
            (7, "urgent", T0 + LEASE),
            (4, "high", T0 + 10 * SECOND),
            (2, "high", T0 + 2 * LEASE),
            (6, "normal", T0),
        ):
            services.claim_schedule(
                claim=claims[index], actor=cls.editor, priority=priority, due_at=due
            )
        # claims[5] is withdrawn (out of review); claims[6:] are a's own
        services.claim_withdraw(claim=claims[5], actor=cls.editor, reason="dup", now=T0)
        # Directed: claims[6] waits for b and the editor (full for everyone else), claims[0]
        # for d, claims[2] for the editor (its second slot stays open).
        services.claim_assign(
            claim=claims[6], editor=cls.editor, usernames=["reviewer_b", "editor"], now=LATER
        )
        services.claim_assign(
            claim=claims[0], editor=cls.editor, usernames=["reviewer_d"], now=LATER
        )
        services.claim_assign(claim=claims[2], editor=cls.editor, usernames=["editor"], now=LATER)

    def test_the_table_names_match_the_models(self) -> None:
        for model in (Claim, Assignment, Verdict, Reservation):
            self.assertIn(model._meta.db_table, leases._PICK_SQL)

    def test_it_picks_the_same_claim_as_the_queryset(self) -> None:
        leased = Assignment.objects.filter(state="leased").values_list("claim_id", flat=True)
        self.assertTrue(leased)
        ids = [c.pk for c in self.claims]
        times = [T0, T0 + SECOND, T0 + LEASE, T0 + LEASE + 2 * SECOND]
        passed_sets = [[], ids[:1], ids[:3], ids[2:5]]
        checked = 0
        for person, now, passed in itertools.product(self.people, times, passed_sets):
            expected = self._expected(person, now, passed)
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
                    leases._slots_taken(claim_id=claim_id, now=now, reviewer_id=person.pk),
                    self._taken(claim_id, now, person.pk),
                )
        self.assertEqual(checked, len(self.people) * len(times) * len(passed_sets))
        # The states above make the answers differ between people and times.
        answers = {
            leases._pick(project=self.project, reviewer=p, now=t, passed_over=[], skip_locked=True)
            for p, t in itertools.product(self.people, times)
        }
        self.assertGreater(len(answers), 2)

    @pytest.mark.postgres("the first pick of lease_next is PostgreSQL's hand-written SQL")
    def test_the_unheld_pick_is_the_pick_of_a_reviewer_without_a_lease(self) -> None:
        """``_pick_unheld`` (lease_next's first statement on PostgreSQL when nothing is
        assigned to the reviewer) picks the claim ``_pick`` picks without the assigned pass,
        reads it as the ORM reads a claim with its creator, and picks nothing while the
        reviewer holds a lease in the project, expired or not."""
        holding = set(
            Assignment.objects.filter(state="leased").values_list("reviewer_id", flat=True)
        )
        self.assertTrue(holding)
        times = [T0, T0 + SECOND, T0 + LEASE, T0 + LEASE + 2 * SECOND]
        picked = set()
        for person, now in itertools.product(self.people, times):
            got = leases._pick_unheld(project=self.project, reviewer=person, now=now)
            if person.pk in holding:
                self.assertIsNone(got, (person.username, now))
                continue
            want = leases._pick(
                project=self.project,
                reviewer=person,
                now=now,
                passed_over=[],
                skip_locked=True,
                assigned=False,
            )
            self.assertEqual(got.pk if got is not None else None, want, (person.username, now))
            if got is None:
                continue
            picked.add(got.pk)
            fresh = Claim.objects.select_related("created_by").get(pk=got.pk)
            for field in Claim._meta.concrete_fields:
                self.assertEqual(getattr(got, field.attname), getattr(fresh, field.attname))
            self.assertEqual(got.created_by.username, fresh.created_by.username)
            self.assertEqual(got.created_by.pk, fresh.created_by_id)
            self.assertFalse(got._state.adding)
        self.assertTrue(picked)

    @pytest.mark.postgres("prepared statements are PostgreSQL's")
    def test_the_pick_is_never_prepared(self) -> None:
        """Every text of the pick is sent unprepared (annotations/dbcursor.py), so PostgreSQL
        plans it for each lease's values and never keeps a generic plan costed for an
        average project; the statements around it are still prepared."""
        connection.ensure_connection()
        raw = connection.connection
        if raw.prepare_threshold is None or not isinstance(raw.cursor(), dbcursor.Cursor):
            pytest.skip(reason="no prepared statements: DB_PREPARE_THRESHOLD=-1 or client binding")

        def prepared() -> list[str]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT statement FROM pg_prepared_statements")
                return [row[0] for row in cursor.fetchall() if "ORDER BY c.priority" in row[0]]

        newcomer = make_member(self.project, "reviewer_e")
        for _ in range(6):
            for person in (newcomer, self.reviewer_d, self.editor):
                leases._pick_unheld(project=self.project, reviewer=person, now=LATER)
                for skip_locked, assigned in itertools.product((True, False), (True, False)):
                    leases._pick(
                        project=self.project,
                        reviewer=person,
                        now=LATER,
                        passed_over=[],
                        skip_locked=skip_locked,
                        assigned=assigned,
                    )
        self.assertEqual(prepared(), [])
        self.assertEqual(len(leases._PICK_RUN), 4)
        # The same text unmarked is prepared once repeated: what the mark prevents.
        params = leases._pick_params(
            project=self.project, reviewer=newcomer, now=LATER, passed_over=[]
        )
        for _ in range(4):
            with connection.cursor() as cursor:
                cursor.execute(str(leases._unheld_pick_sql(connection.alias)), params)
        self.assertEqual(len(prepared()), 1)

    def test_the_pick_does_not_build_the_queryset_again(self) -> None:
        """Once a pass has run, the pick of a queue with nothing passed over runs its
        statement without building ``_eligible_claims`` (on SQLite building and compiling it
        was most of a lease's CPU time)."""
        now = T0 + LEASE + 2 * SECOND
        newcomer = make_member(self.project, "reviewer_e")
        expected = self._expected(newcomer, now, [])
        expected_d = self._expected(self.reviewer_d, now, [])
        pick = leases._pick(
            project=self.project, reviewer=newcomer, now=now, passed_over=[], skip_locked=False
        )
        self.assertEqual(pick, expected)
        with (
            mock.patch.object(leases, "_eligible_claims", side_effect=AssertionError("built")),
            mock.patch.object(
                leases, "_eligible_claims_by_id", side_effect=AssertionError("built")
            ),
        ):
            for person, want in ((newcomer, expected), (self.reviewer_d, expected_d)):
                got = leases._pick(
                    project=self.project,
                    reviewer=person,
                    now=now,
                    passed_over=[],
                    skip_locked=False,
                )
                self.assertEqual(got, want, person.username)

    def _expected(self, person: object, now: dt.datetime, passed: list[int]) -> int | None:
        """The queryset's answer: the first claim assigned to ``person``, else the first."""
        for assigned_only in (True, False):
            candidates = leases._eligible_claims(
                project=self.project, reviewer=person, now=now, assigned_only=assigned_only
            ).exclude(pk__in=passed)
            first = candidates.values_list("pk", flat=True).first()
            if first is not None:
                return first
        return None

    def _taken(self, claim_id: int, now: dt.datetime, person_id: int) -> int:
        """Slots taken, counted row by row in Python."""
        leased = set(
            Assignment.objects.filter(
                claim_id=claim_id, state="leased", expires_at__gt=now
            ).values_list("reviewer_id", flat=True)
        )
        judged = set(
            Verdict.objects.filter(claim_id=claim_id, is_current=True).values_list(
                "reviewer_id", flat=True
            )
        )
        waiting = {
            r
            for r in Reservation.objects.filter(claim_id=claim_id).values_list(
                "reviewer_id", flat=True
            )
            if r != person_id and r not in leased and r not in judged
        }
        return len(leased) + len(judged) + len(waiting)

    def test_the_order_is_assigned_then_priority_then_deadline_then_age(self) -> None:
        c = self.claims
        now = T0 + LEASE + 2 * SECOND  # every lease of the setup has expired
        # The editor: claims[6] and [2] are assigned to them; [2] (high) before [6] (normal).
        self.assertEqual(self._expected(self.editor, now, []), c[2].pk)
        self.assertEqual(self._expected(self.editor, now, [c[2].pk]), c[6].pk)
        # d: claims[0] is assigned to d, ahead of the urgent claims[3].
        self.assertEqual(self._expected(self.reviewer_d, now, []), c[0].pk)
        # A newcomer: urgent [7] (with a deadline) before urgent [3] (none), then high [4]
        # (due sooner) before high [2], then normal [1]. [6] is reserved for b and the
        # editor, [0] holds a's verdict and d's reservation: full for the newcomer.
        newcomer = make_member(self.project, "reviewer_e")
        order = []
        passed: list[int] = []
        while (nxt := self._expected(newcomer, now, passed)) is not None:
            order.append(nxt)
            passed.append(nxt)
        self.assertEqual(order, [c[7].pk, c[3].pk, c[4].pk, c[2].pk, c[1].pk])
        got = leases._pick(
            project=self.project, reviewer=newcomer, now=now, passed_over=[], skip_locked=True
        )
        self.assertEqual(got, c[7].pk)
        # b, assigned claims[6], is offered it first.
        self.assertEqual(self._expected(self.reviewer_b, now, []), c[6].pk)
