"""Exact query counts of the queue's requests (issue 20), with token authentication:
``POST /queue/next/`` for a first lease and for a lease already held, and
``POST /claims/{id}/lease/``; and their answers, which must be what a fresh read of the
claim as the reviewer is shown it (``selectors.claim_presented``) gives, byte for byte.
Counts, never times (times live in bench/bench_queue.py).

Inside a test's transaction the service's BEGIN and COMMIT are a savepoint and its
release (one query each, as in production).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import selectors, services
from annotations.api import serializers as s
from annotations.api.renderers import SurrogateSafeJSONRenderer
from annotations.models import Assignment, AssignmentState, ClaimStatus, Event
from tests.factories import Personas, api_token, judge, make_claim

# POST /queue/next/, a first lease (no lease held, no claim assigned to the reviewer):
# token, savepoint (BEGIN), the project with the reviewer's membership, locked, and whether
# a claim is assigned to them (one statement: the view's lookup and the service's lock),
# the held lease (none), the pick (FOR NO KEY UPDATE SKIP LOCKED), the picked claim with its
# creator and its taken slots re-counted under the lock, the lease inserted, the audit
# chain (one statement on PostgreSQL: head locked, event sealed and inserted, head moved;
# three on SQLite), release (COMMIT). Issue 20: 12 -> 9 on PostgreSQL, 16 -> 11 on SQLite;
# gone: the view's own project read, the pass over the claims assigned to the reviewer
# when none is, the answer's claim re-read after the commit, and on SQLite two of the
# three slot counts. Then on PostgreSQL the lease and its event in one statement
# (``leases._lease_create`` through ``_insert_with``): 9 -> 8. Then on PostgreSQL, for a
# reviewer nothing is assigned to, the held lease's read, the pick and the claim's read
# with its creator in one statement (``leases._pick_unheld``), and the free slots
# re-counted by the lease's insert (``_lease_create``'s ``free_slot``): 8 -> 6.
QUEUE_FIRST = {"sqlite": 11, "postgresql": 6}
# A first lease of a claim assigned to the reviewer: as the first lease before the change
# above (the held lease read on its own, the pass over their assigned claims, the claim
# re-counted), whose one statement drives the pick from all claims.
QUEUE_ASSIGNED = {"sqlite": 11, "postgresql": 8}
# The lease already held: token, savepoint, project + membership locked, the held lease
# (with its claim and the claim's creator), release. Issue 20: 7 -> 5. Then on PostgreSQL
# the first lease's pick (``_pick_unheld``) finds the lease held and picks nothing before
# the held lease is read: 5 -> 6.
QUEUE_HELD = {"sqlite": 5, "postgresql": 6}
# POST /claims/{id}/lease/: token, claim + membership (the view), savepoint, the membership
# locked, the held lease (none), the claim locked (with its project and creator), whether
# it is gold for them, what the rules ask of it in one statement (the reviewer's verdict
# on its current version, their skip of it, its taken slots), the lease inserted, the
# audit chain, release. Issue 20: 14 -> 11 on PostgreSQL, 18 -> 13 on SQLite (the answer's
# re-read; the verdict, skip and slot reads, three statements, five on SQLite, in one).
# Then the lease and its event in one statement on PostgreSQL: 11 -> 10.
CLAIM_LEASE = {"sqlite": 13, "postgresql": 10}


def rendered(data: Any) -> bytes:
    return SurrogateSafeJSONRenderer().render(data)


class QueueQueryCountTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, start=0, end=20)
        self.other = make_claim(document=self.document, actor=self.creator, start=30, end=50)

    def request(self, user: Any, path: str, body: Any = None) -> tuple[int, Any, list[str]]:
        key = api_token(user)
        with CaptureQueriesContext(connection) as context:
            response = self.client.post(
                path,
                body if body is not None else {},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {key}",
            )
        self.assertEqual(response.status_code, 200, response.content)
        return len(context.captured_queries), response, [q["sql"] for q in context.captured_queries]

    def next(self, user: Any) -> tuple[int, Any, list[str]]:
        return self.request(user, reverse("api:queue-next"), {"project": self.project.pk})

    def assert_answer_is_a_fresh_read(self, response: Any, user: Any) -> None:
        """The answer, byte for byte, as the claim read afresh after the request presents it
        to ``user`` (what the view answered before issue 20)."""
        lease = Assignment.objects.get(
            reviewer=user, project=self.project, state=AssignmentState.LEASED
        )
        claim = selectors.claim_presented(pk=lease.claim_id, user=user)
        expected = {"claim": s.ClaimSerializer(claim).data, "lease_expires_at": lease.expires_at}
        self.assertEqual(response.content, rendered(expected))

    def test_a_first_lease(self) -> None:
        count, response, sql = self.next(self.reviewer_a)
        self.assertEqual(response.json()["claim"]["id"], self.claim.pk)
        self.assert_answer_is_a_fresh_read(response, self.reviewer_a)
        self.assertEqual(
            Event.objects.filter(verb="lease.create", actor=self.reviewer_a).count(), 1
        )
        self.assertEqual(count, QUEUE_FIRST[connection.vendor], "\n".join(sql))

    def test_a_held_lease(self) -> None:
        first = self.next(self.reviewer_a)[1].json()
        count, response, sql = self.next(self.reviewer_a)
        self.assertEqual(response.json(), first)
        self.assert_answer_is_a_fresh_read(response, self.reviewer_a)
        self.assertEqual(count, QUEUE_HELD[connection.vendor], "\n".join(sql))

    def test_a_first_lease_of_an_assigned_claim(self) -> None:
        services.claim_assign(claim=self.other, editor=self.editor, usernames=["reviewer_a"])
        count, response, sql = self.next(self.reviewer_a)
        self.assertEqual(response.json()["claim"]["id"], self.other.pk)
        self.assert_answer_is_a_fresh_read(response, self.reviewer_a)
        # The pass over the claims assigned to the reviewer runs, finds it: no other pass.
        self.assertEqual(count, QUEUE_ASSIGNED[connection.vendor], "\n".join(sql))

    def test_a_claim_leased_from_its_page(self) -> None:
        path = reverse("api:claim-lease", args=[self.other.pk])
        count, response, sql = self.request(self.reviewer_a, path)
        self.assertEqual(response.json()["claim"]["id"], self.other.pk)
        self.assert_answer_is_a_fresh_read(response, self.reviewer_a)
        self.assertEqual(count, CLAIM_LEASE[connection.vendor], "\n".join(sql))


class QueueAnswerTests(Personas, TestCase):
    """The answer of a lease on a decided claim that presents to the reviewer as in review
    (a gold claim, ``access.claims_present_for``): the same bytes as a fresh read."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.gold = make_claim(document=cls.document, actor=cls.creator, start=0, end=20)
        cls.plain = make_claim(document=cls.document, actor=cls.creator, start=30, end=50)
        judge(cls.gold, cls.reviewer_b, "false")
        judge(cls.gold, cls.reviewer_c, "false")
        cls.gold.refresh_from_db()
        assert cls.gold.status == ClaimStatus.RESOLVED
        services.gold_mark(claim=cls.gold, actor=cls.editor)
        services.project_update(project=cls.project, actor=cls.admin, gold_rate=0.5)
        cls.project.refresh_from_db()

    def post(self, path: str, body: Any) -> Any:
        key = api_token(self.reviewer_a)
        response = self.client.post(
            path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
        )
        self.assertEqual(response.status_code, 200, response.content)
        return response

    def assert_gold_answer(self, response: Any) -> None:
        body = response.json()
        self.assertEqual(
            (body["claim"]["id"], body["claim"]["status"], body["claim"]["consensus"]),
            (self.gold.pk, ClaimStatus.IN_REVIEW, None),
        )
        lease = Assignment.objects.get(reviewer=self.reviewer_a, state=AssignmentState.LEASED)
        self.assertTrue(lease.calibration)
        claim = selectors.claim_presented(pk=lease.claim_id, user=self.reviewer_a)
        expected = {"claim": s.ClaimSerializer(claim).data, "lease_expires_at": lease.expires_at}
        self.assertEqual(response.content, rendered(expected))

    def test_a_gold_claim_from_the_queue_then_held(self) -> None:
        next_path = reverse("api:queue-next")
        for _ in range(60):  # the draw is seeded by the lease count: each retry draws again
            response = self.post(next_path, {"project": self.project.pk})
            if response.json()["claim"]["id"] == self.gold.pk:
                break
            services.lease_release(claim=self.plain, reviewer=self.reviewer_a)
        self.assert_gold_answer(response)
        self.assert_gold_answer(self.post(next_path, {"project": self.project.pk}))
        self.assert_gold_answer(self.post(reverse("api:claim-lease", args=[self.gold.pk]), {}))

    def test_a_gold_claim_leased_from_its_page(self) -> None:
        self.assert_gold_answer(self.post(reverse("api:claim-lease", args=[self.gold.pk]), {}))
        self.assert_gold_answer(self.post(reverse("api:queue-next"), {"project": self.project.pk}))

    def test_a_gold_claim_costs_lease_claim_the_queries_of_an_ordinary_one(self) -> None:
        counts = []
        for claim in (self.gold, self.plain):
            with CaptureQueriesContext(connection) as context:
                lease = services.lease_claim(reviewer=self.reviewer_a, claim=claim)
            self.assertEqual(lease.calibration, claim == self.gold)
            counts.append(len(context.captured_queries))
            services.lease_release(claim=claim, reviewer=self.reviewer_a)
        self.assertEqual(counts[0], counts[1])
