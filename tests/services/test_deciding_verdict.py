"""The verdict that decides consensus decides from what its facts read under the claim's
lock (``verdicts._submit_facts``, ``review.DecisionFacts``: issue 20), not from a read of
its own: the counted verdicts of others with their ratings, the consensus history's last
sequence and the project's webhook endpoints. Each test holds the decision to what the
rule's own read (``review._counted_verdicts``) and the history say once it is written."""

from __future__ import annotations

from django.core import mail
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from annotations import selectors, services
from annotations.models import (
    Claim,
    ClaimStatus,
    Consensus,
    Event,
    Membership,
    Notification,
    Verdict,
    WebhookDelivery,
    WebhookEndpoint,
)
from annotations.services.review import _counted_verdicts
from tests.factories import Personas, judge, make_claim, take
from tests.services.test_webhooks import local


class DecidingVerdictTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=3)

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")

    def fresh(self) -> Claim:
        return Claim.objects.get(pk=self.claim.pk)

    def endpoint(self, event_types: list[str]) -> WebhookEndpoint:
        with local():
            return services.webhook_endpoint_create(
                project=self.project,
                actor=self.admin,
                url="https://hooks.example.org/in",
                event_types=event_types,
            ).endpoint

    def decision_event(self, record: Consensus) -> Event:
        return Event.objects.get(object_type="consensus", object_id=record.pk)

    def test_it_decides_from_each_reviewers_latest_blind_verdict_and_its_own(self) -> None:
        first = judge(self.claim, self.reviewer_a, "true")
        # reviewer_a changes their mind while the claim is in review: a new row, the first
        # one kept and no longer counted.
        revised = services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_a, rating="false", confidence="low"
        )
        other = judge(self.claim, self.reviewer_b, "false")
        self.assertEqual(self.fresh().status, ClaimStatus.IN_REVIEW)
        deciding = judge(self.claim, self.reviewer_c, "false")
        claim = self.fresh()
        self.assertEqual(claim.status, ClaimStatus.RESOLVED)
        record = claim.consensus
        self.assertEqual(
            (record.rating.key, record.method, record.agreement), ("false", "unanimous", 1.0)
        )
        # The record's verdicts are the rule's own read of the counted verdicts, in its order.
        counted = [verdict.pk for verdict in _counted_verdicts(claim)]
        self.assertEqual(set(counted), {revised.pk, other.pk, deciding.pk})
        self.assertNotIn(first.pk, counted)
        self.assertEqual(sorted(record.verdicts.values_list("pk", flat=True)), sorted(counted))
        self.assertEqual(self.decision_event(record).after["verdicts"], counted)
        self.assertEqual((record.sequence, self.decision_event(record).before), (1, None))

    def test_a_split_is_disputed_by_the_default_rule_and_a_majority_by_that_rule(self) -> None:
        for reviewer, rating in ((self.reviewer_a, "true"), (self.reviewer_b, "false")):
            judge(self.claim, reviewer, rating)
        judge(self.claim, self.reviewer_c, "false")
        claim = self.fresh()
        self.assertEqual((claim.status, claim.consensus), (ClaimStatus.DISPUTED, None))
        self.assertFalse(Consensus.objects.filter(claim=claim).exists())
        services.project_update(project=self.project, actor=self.admin, consensus_rule="majority")
        other = make_claim(
            document=self.document, actor=self.creator, exact="crime fell 20% last year"
        )
        for reviewer, rating in (
            (self.reviewer_a, "true"),
            (self.reviewer_b, "false"),
            (self.reviewer_c, "false"),
        ):
            judge(other, reviewer, rating)
        record = Claim.objects.get(pk=other.pk).consensus
        self.assertEqual((record.rating.key, record.method), ("false", "majority"))
        self.assertAlmostEqual(record.agreement, 2 / 3)
        self.assertEqual(record.verdicts.count(), 3)

    def test_after_a_revision_of_the_claim_the_history_goes_on(self) -> None:
        for reviewer in (self.reviewer_a, self.reviewer_b, self.reviewer_c):
            judge(self.claim, reviewer, "true")
        decided = self.fresh()
        services.claim_revise(
            claim=decided,
            actor=self.editor,
            expected_version=decided.version,
            statement="Crime fell 20% in the city centre.",
        )
        revised = self.fresh()
        self.assertEqual((revised.status, revised.consensus_id), (ClaimStatus.IN_REVIEW, None))
        # Version 1's verdicts are history: none counts for version 2's decision.
        judge(revised, self.reviewer_a, "false")
        judge(revised, self.reviewer_b, "false")
        self.assertEqual(self.fresh().status, ClaimStatus.IN_REVIEW)
        judge(revised, self.reviewer_c, "false")
        claim = self.fresh()
        record = claim.consensus
        self.assertEqual(
            (record.sequence, record.claim_version, record.rating.key), (2, 2, "false")
        )
        self.assertEqual(
            set(
                Verdict.objects.filter(consensus_records=record).values_list(
                    "claim_version", flat=True
                )
            ),
            {2},
        )
        self.assertEqual(
            list(
                Consensus.objects.filter(claim=claim)
                .order_by("sequence")
                .values_list("sequence", "is_current")
            ),
            [(1, False), (2, True)],
        )
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)

    def test_only_active_endpoints_that_subscribe_get_the_decision(self) -> None:
        subscribed = self.endpoint(["consensus.reached", "claim.published"])
        self.endpoint(["claim.published"])
        inactive = self.endpoint(["consensus.reached"])
        services.webhook_endpoint_update(
            endpoint=inactive, actor=self.admin, changes={"active": False}
        )
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        self.assertFalse(WebhookDelivery.objects.exists())
        judge(self.claim, self.reviewer_c, "true")
        delivery = WebhookDelivery.objects.get()
        self.assertEqual(
            (delivery.endpoint_id, delivery.event_type), (subscribed.pk, "consensus.reached")
        )
        self.assertEqual(delivery.payload["data"]["claim_id"], self.claim.pk)


LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


class DecidedNoticeTests(Personas, TestCase):
    """The creator's "decided" notice of a claim the rule resolves: keyed by the status
    event, written with it (on PostgreSQL by the statement that appends it:
    ``notifications.claim_status_notices``) and mailed once the verdict commits."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.creator.email = "creator@desk.example"
        cls.creator.save(update_fields=["email"])

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")

    def status_event(self) -> Event:
        return Event.objects.get(verb="claim.status", object_id=self.claim.pk)

    @override_settings(MAILERS=LOCMEM)
    def test_the_creator_is_told_and_mailed_after_the_commit(self) -> None:
        services.notification_settings_update(
            user=self.creator, email_enabled=True, email_kinds=["decided"]
        )
        judge(self.claim, self.reviewer_a, "true")
        take(self.claim, self.reviewer_b)
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks(execute=True),
        ):
            services.verdict_submit(
                claim=self.claim, reviewer=self.reviewer_b, rating="true", confidence="high"
            )
            self.assertEqual(mail.outbox, [])  # not inside the transaction
        key = f"event:{self.status_event().pk}"
        self.assertEqual(
            list(Notification.objects.values_list("recipient", "kind", "key", "claim")),
            [(self.creator.pk, "decided", key, self.claim.pk)],
        )
        self.assertEqual([m.to for m in mail.outbox], [["creator@desk.example"]])
        notices = [
            q["sql"]
            for q in context.captured_queries
            if 'INSERT INTO "annotations_notification"' in q["sql"]
        ]
        if connection.vendor == "postgresql":
            (notice,) = notices
            self.assertIn('INSERT INTO "annotations_consensus"', notice)
        else:
            self.assertNotIn('INSERT INTO "annotations_consensus"', " ".join(notices))

    def test_a_creator_who_left_the_project_is_not_told(self) -> None:
        Membership.objects.filter(project=self.project, user=self.creator).delete()
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RESOLVED)
        self.assertFalse(Notification.objects.exists())
