"""Exact query counts of a verdict's submission (issue 20): the service call, and the API
request with token authentication, for a first verdict that does not decide consensus
and for the one that does. Counts, never times (times live in bench/bench_annotate.py).

Inside a test's transaction the service's BEGIN and COMMIT are a savepoint and its
release (one query each, as in production); what runs after the commit is run here too
(a verdict with citations used to queue its evidence task then: now it is written in the
transaction), so each count is the whole request path. The same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.http import Http404
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations import access, selectors, services
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Event,
    IdempotencyKey,
    Membership,
    Notification,
    NotificationKind,
    Source,
    Verdict,
)
from tests.factories import Personas, api_token, judge, make_claim, take

# The service, a first verdict with one citation by a URL the reviewer never cited:
# savepoint (BEGIN), the claim locked and its facts (rating, the reviewer's verdicts,
# lease, post-reveal, the counted verdicts of others; one statement on SQLite, two on
# PostgreSQL), the lease closed, the reviewer's sources for the URLs, the new source,
# the verdict, its citation, the audit chain (head locked, the two events, head moved),
# release (COMMIT), and after it the evidence task. On PostgreSQL the two events are
# appended in one statement (head locked, both sealed and inserted, head moved; 13 -> 11).
# On PostgreSQL the lease's close, the verdict, its citation and the append are then one
# statement (``_first_verdict_write``: 11 -> 8), and the reviewer's sources for the URLs
# are read and the new one inserted by one statement (``sources.sources_for_urls``: 8 -> 7).
# The evidence task is queued in the transaction, not after it (it commits with the
# verdict: ``evidence.verdict_evidence_enqueue``), and on PostgreSQL by the verdict's own
# statement, its argument the new verdict's id (``_first_verdict_write``: 7 -> 6).
SERVICE_FIRST = {"sqlite": 12, "postgresql": 6}
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
# The sources' read and the new one's insert are one statement on PostgreSQL (14).
# The counted verdicts of others (with their ratings), the consensus history's last
# sequence and the project's webhook endpoints are read with the facts, under the claim's
# lock, in the statement that reads whether the verdict decides at all
# (``verdicts._submit_facts``, ``review.DecisionFacts``): 20 -> 17, 14 -> 11. On
# PostgreSQL the consensus record with its verdicts' links, the claim's status and pointer
# and the append of all the write's events are then one statement
# (``PendingEvents.insert_with``): 11 -> 9. The evidence task as a first verdict's (9 -> 8).
# The creator's notice, keyed by the status event's new id, is written by that statement
# too (``notifications.claim_status_notices``, ``_base.AfterAppend``): 8 -> 7.
SERVICE_DECIDING = {"sqlite": 17, "postgresql": 7}
# A verdict that disputes the claim (a split under the default rule): no consensus record;
# the claim's status, the events, and the editors' notices keyed by the status event. On
# PostgreSQL the notices are written by the statement that appends the events
# (``notifications.claim_status_notices``, ``_base.AfterAppend``): the editors' read and
# their notices' insert, after the append while the chain's head was locked, 10 -> 8; on
# SQLite the editors are read once (``notifications._status_recipients``): 16 -> 15.
SERVICE_DISPUTING = {"sqlite": 15, "postgresql": 8}
# A revision (the reviewer's verdict in, its rationale changed, the same page cited):
# savepoint, the claim locked and its facts (one statement on SQLite, two on PostgreSQL),
# the previous verdict with its rating and its citations (with their sources and evidence:
# what the revision's event records as before, and what tells it from a repost), the
# reviewer's source for the URL, the previous verdict no longer current, the verdict, its
# citation, the evidence task, the audit chain (3 statements on SQLite, 1 on PostgreSQL)
# and release. Unchanged by the repost's check, which reads with the same statements.
SERVICE_REVISION = {"sqlite": 13, "postgresql": 12}
# The same verdict over again (a double click): savepoint, the claim locked and its facts,
# the previous verdict and its citations, release; nothing written, and the answer is the
# verdict as read (it was a revision's statements until then: 13 and 12).
SERVICE_REPOST = {"sqlite": 5, "postgresql": 6}
# The request: + the token (with its user). The claim is looked up with the reviewer's
# membership by the statement that locks it, inside the service's transaction
# (``services.verdict_submit_as_member``): on PostgreSQL it is the service's claim lock
# (``FOR NO KEY UPDATE OF`` the claim, with its project), on SQLite its one read of the claim
# with its facts. It used to be a read of its own before the transaction: 2 -> 1, so a
# first verdict's request is one statement fewer on both databases, and a deciding one's.
REQUEST_EXTRA = 1


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
        claim, _ = access.claim_get_for_user(user=reviewer, pk=self.claim.pk)
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
            )
        return len(context.captured_queries), verdict

    def post(self, key: str, body: object, **headers: str):
        return self.client.post(
            reverse("api:claim-verdicts", args=[self.claim.pk]),
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {key}",
            **headers,
        )

    def request_queries(self, reviewer, n: int) -> tuple[list[str], dict]:
        take(self.claim, reviewer)
        key = api_token(reviewer)
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.post(key, self.body(n))
        self.assertEqual(response.status_code, 201, response.content)
        return [query["sql"] for query in context.captured_queries], response.json()

    def count_request(self, reviewer, n: int) -> tuple[int, dict]:
        queries, answer = self.request_queries(reviewer, n)
        return len(queries), answer

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

    def test_request_citing_a_page_cited_before_and_a_new_one(self) -> None:
        # The reviewer's own source for the first page is read (with its evidence) and the
        # second one inserted: on PostgreSQL by the one statement, on SQLite by the read
        # and the insert a single new URL takes too. Only the new one has an event.
        cited = services.source_get_or_create(
            url="https://example.org/cited-before", actor=self.reviewer_a, project=self.project
        )
        take(self.claim, self.reviewer_a)
        key = api_token(self.reviewer_a)
        body = {
            **self.body(1),
            "citations": [
                {"url": "https://Example.org/cited-before#top", "stance": "supports"},
                {"url": "https://example.org/new-page", "quote": "q", "stance": "refutes"},
            ],
        }
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.post(key, body)
        self.assertEqual(response.status_code, 201, response.content)
        new = Source.objects.get(url="https://example.org/new-page")
        self.assertEqual(new.created_by, self.reviewer_a)
        answer = response.json()
        self.assertEqual(
            [(c["source"]["id"], c["stance"]) for c in answer["citations"]],
            [(cited.pk, "supports"), (new.pk, "refutes")],
        )
        self.assertEqual(
            [c["evidence"]["quote_status"] for c in answer["citations"]], ["", "no_snapshot"]
        )
        created = Event.objects.filter(verb="source.create", project=self.project)
        self.assertEqual(
            list(created.order_by("seq").values_list("object_id", flat=True)), [cited.pk, new.pk]
        )
        self.assertEqual(Source.objects.filter(created_by=self.reviewer_a).count(), 2)
        # The page cited before took no id: the next source is the new one's next.
        after = services.source_get_or_create(
            url="https://example.org/after", actor=self.reviewer_a, project=self.project
        )
        self.assertEqual((new.pk, after.pk), (cited.pk + 1, cited.pk + 2))
        self.assertEqual(
            len(context.captured_queries), SERVICE_FIRST[connection.vendor] + REQUEST_EXTRA
        )

    def test_request_deciding_verdict(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        count, _ = self.count_request(self.reviewer_c, 3)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)
        self.assertEqual(count, SERVICE_DECIDING[connection.vendor] + REQUEST_EXTRA)

    def test_the_deciding_write_is_one_statement_on_postgresql(self) -> None:
        # The consensus record, its verdicts' links, the claim's new status with the
        # pointer to the record, and the chain's append of every event of the write (the
        # source's, the verdict's, the consensus', the status'): one statement after the
        # verdict's own. SQLite has no data-modifying WITH: the ORM's statements.
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        queries, _ = self.request_queries(self.reviewer_c, 3)
        writes = [
            sql
            for sql in queries
            if 'INSERT INTO "annotations_consensus"' in sql
            or 'UPDATE "annotations_claim"' in sql
            or 'INSERT INTO "annotations_event"' in sql
        ]
        if connection.vendor == "postgresql":
            self.assertEqual(len(writes), 1, writes)
            (write,) = writes
            for part in (
                'INSERT INTO "annotations_consensus_verdicts"',
                'UPDATE "annotations_claim" SET "status"',
                '"annotations_audithead"',
            ):
                self.assertIn(part, write)
        else:
            self.assertGreater(len(writes), 1)
        claim = Claim.objects.select_related("consensus").get(pk=self.claim.pk)
        self.assertEqual((claim.status, claim.consensus.sequence), (ClaimStatus.RESOLVED, 1))
        self.assertEqual(claim.consensus.verdicts.count(), 3)
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)

    def test_a_disputing_verdict_tells_the_editors_in_the_appending_statement(self) -> None:
        # A split disputes the claim (the default rule) and tells the project's editors,
        # keyed by the status event. On PostgreSQL their notices are written by the
        # statement that appends the write's events (``claim_status_notices``), as the
        # creator's notice of a resolved claim is: nothing more runs while the audit
        # chain's head is locked (two statements of their own until round 15).
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "false")
        queries, _ = self.request_queries(self.reviewer_c, 3)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.DISPUTED)
        status_event = Event.objects.filter(verb="claim.status", object_id=self.claim.pk).get()
        editors = set(
            Membership.objects.filter(
                project=self.project, role__in=access.EDITOR_ROLES
            ).values_list("user_id", flat=True)
        )
        self.assertTrue(editors)
        notices = Notification.objects.filter(claim=self.claim, kind=NotificationKind.DISPUTED)
        self.assertEqual(
            sorted(notices.values_list("recipient_id", "key")),
            sorted((pk, f"event:{status_event.pk}") for pk in editors),
        )
        appends = [i for i, sql in enumerate(queries) if '"annotations_audithead"' in sql]
        if connection.vendor == "postgresql":
            self.assertEqual(len(appends), 1, queries)
            self.assertIn('INSERT INTO "annotations_notification"', queries[appends[0]])
            after = [q for q in queries[appends[0] + 1 :] if not q.startswith("RELEASE SAVEPOINT")]
            self.assertEqual(after, [], "nothing after the append but the savepoint's release")
        self.assertEqual(len(queries), SERVICE_DISPUTING[connection.vendor] + REQUEST_EXTRA)
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)

    def test_request_reads_the_claim_once_with_the_membership_and_the_lock(self) -> None:
        # The claim's fields the service uses (status, versions, project) are read by one
        # statement of the request, the reviewer's lookup through their membership, and it
        # is the one that locks the claim (only its row), before the facts are read.
        queries, _ = self.request_queries(self.reviewer_a, 1)
        reads = [i for i, sql in enumerate(queries) if '"annotations_claim"."status"' in sql]
        self.assertEqual(len(reads), 1, queries)
        read = queries[reads[0]]
        for column in (
            '"annotations_claim"."claim_version"',
            '"annotations_claim"."anchor_revision"',
            '"annotations_project"."required_reviews"',
            '"annotations_membership"."user_id"',
        ):
            self.assertIn(column, read)
        # Nothing before it reads the claim (only the token and the transaction's start).
        self.assertFalse([sql for sql in queries[: reads[0]] if "annotations_claim" in sql])
        facts = [i for i, sql in enumerate(queries) if '"fact_rating_id"' in sql]
        self.assertEqual(len(facts), 1, queries)
        locks = [i for i, sql in enumerate(queries) if "FOR NO KEY UPDATE" in sql]
        if connection.vendor == "postgresql":
            locking_claim = [
                i for i in locks if queries[i].endswith('FOR NO KEY UPDATE OF "annotations_claim"')
            ]
            self.assertEqual(locking_claim, reads)
            self.assertNotIn(
                '"annotations_project"', queries[reads[0]].rsplit("FOR NO KEY UPDATE", 1)[1]
            )
            # The facts follow once the lock is held, in a statement of their own.
            self.assertLess(reads[0], facts[0])
        else:
            # SQLite: no row locks (the transaction holds the database's write lock from
            # its BEGIN), and the facts are read by the same statement.
            self.assertEqual(locks, [])
            self.assertEqual(facts, reads)

    def test_a_non_member_gets_404_and_nothing_is_written(self) -> None:
        take(self.claim, self.reviewer_a)
        outsider, member = api_token(self.outsider), api_token(self.reviewer_a)
        bad = {"rating": "nope", "confidence": "sure"}
        unstorable = {**self.body(1), "rating": "tr\x00ue"}
        counts = lambda: [  # noqa: E731
            model.objects.count() for model in (Verdict, Source, Event, IdempotencyKey)
        ]
        before = counts()
        for name, body, headers in (
            ("valid", self.body(1), {}),
            ("invalid", bad, {}),
            ("unstorable", unstorable, {}),
            ("unreadable", "{not json", {}),
            ("valid, keyed", self.body(1), {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
            ("invalid, keyed", bad, {"HTTP_IDEMPOTENCY_KEY": "k-2"}),
        ):
            with self.subTest(name):
                self.assertEqual(self.post(outsider, body, **headers).status_code, 404)
        self.assertEqual(counts(), before)
        self.assertEqual(Assignment.objects.get(claim=self.claim).state, AssignmentState.LEASED)
        # A member's own bad body is its 400 on the field, with nothing written; the lease
        # is still theirs to submit with.
        for body, field in ((bad, "confidence"), (unstorable, "rating")):
            response = self.post(member, body)
            self.assertEqual(response.status_code, 400, response.content)
            self.assertIn(field, response.json())
        self.assertEqual(counts(), before)
        self.assertEqual(self.post(member, self.body(1)).status_code, 201)

    def test_the_service_by_id_refuses_a_non_member_first(self) -> None:
        # ``verdict_submit_as_member`` (the API's): Http404 for a non-member whatever the
        # input, before its own checks; text no column can hold is a ValidationError on
        # its field for a member, never a query's error; nothing is written either way.
        take(self.claim, self.reviewer_a)
        before = (Verdict.objects.count(), Event.objects.count())
        submit = functools.partial(
            services.verdict_submit_as_member, claim_id=self.claim.pk, confidence="high"
        )
        for rating in ("true", "tr\x00ue", "\ud800"):
            with self.subTest(rating=rating):
                with self.assertRaises(Http404):
                    submit(reviewer=self.outsider, rating=rating)
                if rating != "true":
                    with self.assertRaises(ValidationError) as refused:
                        submit(reviewer=self.reviewer_a, rating=rating)
                    self.assertEqual(list(refused.exception.message_dict), ["rating"])
        with self.assertRaises(Http404):
            submit(reviewer=self.reviewer_a, rating="true", claim_id=10**12)
        self.assertEqual((Verdict.objects.count(), Event.objects.count()), before)
        verdict, written = submit(reviewer=self.reviewer_a, rating="true")
        self.assertEqual((verdict.claim_id, verdict.revision, written), (self.claim.pk, 1, True))


class VerdictRepostQueryCountTests(Personas, TestCase):
    """A revision, and the same verdict over again, after a first verdict with a citation:
    the service call and the API request."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=3)

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, start=0, end=20)
        take(self.claim, self.reviewer_a)
        self.key = api_token(self.reviewer_a)
        response = self.post(self.body())
        self.assertEqual(response.status_code, 201, response.content)
        self.first = response.json()

    def body(self, rationale: str = "Matches the office's figures.") -> dict:
        return {
            "rating": "true",
            "confidence": "high",
            "rationale": rationale,
            "citations": [
                {"url": "https://example.org/report-1", "quote": "q", "stance": "supports"}
            ],
        }

    def post(self, body: dict):
        return self.client.post(
            reverse("api:claim-verdicts", args=[self.claim.pk]),
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {self.key}",
        )

    def count_service(self, body: dict) -> tuple[int, Verdict]:
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks(execute=True),
        ):
            verdict = services.verdict_submit(
                claim=self.claim,
                reviewer=self.reviewer_a,
                rating=body["rating"],
                confidence=body["confidence"],
                rationale=body["rationale"],
                citations=[services.CitationInput(**c) for c in body["citations"]],
            )
        return len(context.captured_queries), verdict

    def count_request(self, body: dict) -> tuple[int, object]:
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.post(body)
        return len(context.captured_queries), response

    def test_service_revision(self) -> None:
        count, verdict = self.count_service(self.body("Changed."))
        self.assertEqual(verdict.revision, 2)
        self.assertEqual(count, SERVICE_REVISION[connection.vendor])

    def test_service_repost(self) -> None:
        count, verdict = self.count_service(self.body())
        self.assertEqual((verdict.pk, verdict.revision), (self.first["id"], 1))
        self.assertEqual(count, SERVICE_REPOST[connection.vendor])

    def test_request_revision(self) -> None:
        count, response = self.count_request(self.body("Changed."))
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(count, SERVICE_REVISION[connection.vendor] + REQUEST_EXTRA)

    def test_request_repost(self) -> None:
        count, response = self.count_request(self.body())
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json(), self.first)
        self.assertEqual(Verdict.objects.filter(claim=self.claim).count(), 1)
        self.assertEqual(count, SERVICE_REPOST[connection.vendor] + REQUEST_EXTRA)
