"""Exact query counts of a verdict's submission (issue 20): the service call, and the API
request with token authentication, for a first verdict that does not decide consensus
and for the one that does. Counts, never times (times live in bench/bench_annotate.py).

Inside a test's transaction the service's BEGIN and COMMIT are a savepoint and its
release (one query each, as in production); the evidence task that a verdict with
citations queues after the commit is run here too (one insert), so each count is the
whole request path. The same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import access, selectors, services
from annotations.models import Claim, ClaimStatus, Event, Notification, Source, Verdict
from tests.factories import Personas, api_token, judge, make_claim, take

# The service, a first verdict with one citation by a URL the reviewer never cited:
# savepoint (BEGIN), the claim locked and its facts (rating, the reviewer's verdicts,
# lease, post-reveal, the counted verdicts of others; one statement on SQLite, two on
# PostgreSQL), the lease closed, the reviewer's sources for the URLs, the new source,
# the verdict, its citation, the audit chain (head locked, the two events, head moved),
# release (COMMIT), and after it the evidence task. On PostgreSQL the two events are
# appended in one statement (head locked, both sealed and inserted, head moved; 13 -> 11).
# On PostgreSQL the lease's close, the verdict, its citation and the append are then one
# statement (``_first_verdict_write``: 11 -> 8).
SERVICE_FIRST = {"sqlite": 12, "postgresql": 8}
# The deciding verdict: + the counted verdicts, the current consensus with the last
# sequence (one query: 21 -> 20 and 20 -> 19), the consensus and its verdicts, the webhook
# endpoints, the claim's status, the notices' recipients and their notice. Its consensus
# and status events join the verdict's in the one chain append (3 statements on SQLite, 1
# on PostgreSQL), which used to take one append each: 27 -> 21 on SQLite; 24 -> 20 on
# PostgreSQL (one statement locks the head, seals the four events against it, inserts
# them and moves the head). On PostgreSQL the lease's close, the verdict and its citation
# are one statement (19 -> 17); the events wait for the consensus'. The notice goes to
# the recipients who are members in one statement (``notifications._notices_insert``: 16),
# and the consensus record with its verdicts' links too (``review._consensus_insert``: 15).
SERVICE_DECIDING = {"sqlite": 20, "postgresql": 15}
# The request: + the token (with its user) and the claim with the reviewer's membership.
REQUEST_EXTRA = 2


class VerdictQueryCountTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=3)

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, start=0, end=20)

    def body(self, n: int) -> dict:
        return {
            "rating": "true",
            "confidence": "high",
            "rationale": "Matches the office's figures.",
            "citations": [
                {"url": f"https://example.org/report-{n}", "quote": "q", "stance": "supports"}
            ],
        }

    def count_service(self, reviewer, n: int) -> tuple[int, Verdict]:
        take(self.claim, reviewer)
        claim, membership = access.claim_get_for_user(user=reviewer, pk=self.claim.pk)
        body = self.body(n)
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks(execute=True),
        ):
            verdict = services.verdict_submit(
                claim=claim,
                reviewer=reviewer,
                rating=body["rating"],
                confidence=body["confidence"],
                rationale=body["rationale"],
                citations=[services.CitationInput(**c) for c in body["citations"]],
                membership=membership,
            )
        return len(context.captured_queries), verdict

    def count_request(self, reviewer, n: int) -> tuple[int, dict]:
        take(self.claim, reviewer)
        key = api_token(reviewer)
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(
                reverse("api:claim-verdicts", args=[self.claim.pk]),
                self.body(n),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {key}",
            )
        self.assertEqual(response.status_code, 201, response.content)
        return len(context.captured_queries), response.json()

    def assert_first_verdict(self, verdict_id: int, reviewer, n: int) -> None:
        verdict = Verdict.objects.get(pk=verdict_id)
        self.assertEqual(
            (verdict.reviewer, verdict.revision, verdict.is_current), (reviewer, 1, True)
        )
        source = verdict.citations.get().source
        self.assertEqual(
            (source.url, source.created_by), (f"https://example.org/report-{n}", reviewer)
        )
        self.assertEqual(
            list(Event.objects.filter(Q(object_type="source", object_id=source.pk) | Q(object_type="verdict", object_id=verdict.pk)).values_list("verb", flat=True).order_by("seq")),
            ["source.create", "verdict.submit"],
        )  # fmt: skip

    def test_service_first_verdict(self) -> None:
        count, verdict = self.count_service(self.reviewer_a, 1)
        self.assert_first_verdict(verdict.pk, self.reviewer_a, 1)
        self.assertEqual(count, SERVICE_FIRST[connection.vendor])

    def test_service_deciding_verdict(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        count, verdict = self.count_service(self.reviewer_c, 3)
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.status, ClaimStatus.RESOLVED)
        self.assertEqual(self.claim.consensus.method, "unanimous")
        # The write's events, last in the chain, in its order.
        events = list(Event.objects.filter(project=self.project).order_by("-seq")[:4])[::-1]
        self.assertEqual(
            [(e.verb, e.object_type, e.object_id) for e in events],
            [
                ("source.create", "source", verdict.citations.get().source_id),
                ("verdict.submit", "verdict", verdict.pk),
                ("consensus.unanimous", "consensus", self.claim.consensus_id),
                ("claim.status", "claim", self.claim.pk),
            ],
        )
        self.assertEqual(events[-1].after, {"status": ClaimStatus.RESOLVED})
        # The creator's notice is keyed by the status event, appended with the others.
        self.assertEqual(
            list(Notification.objects.filter(claim=self.claim).values_list("recipient", "key")),
            [(self.creator.pk, f"event:{events[-1].pk}")],
        )
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)
        self.assertEqual(count, SERVICE_DECIDING[connection.vendor])

    def test_request_first_verdict(self) -> None:
        count, answer = self.count_request(self.reviewer_a, 1)
        self.assert_first_verdict(answer["id"], self.reviewer_a, 1)
        # The answer is built from what was written, as a read would show it.
        source = Source.objects.get(url="https://example.org/report-1")
        self.assertEqual(answer["rating"], "true")
        self.assertEqual(answer["citations"][0]["source"]["id"], source.pk)
        self.assertEqual(answer["citations"][0]["evidence"]["quote_status"], "no_snapshot")
        self.assertEqual(count, SERVICE_FIRST[connection.vendor] + REQUEST_EXTRA)

    def test_request_deciding_verdict(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        count, _ = self.count_request(self.reviewer_c, 3)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)
        self.assertEqual(count, SERVICE_DECIDING[connection.vendor] + REQUEST_EXTRA)
