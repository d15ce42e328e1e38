"""Tests for publishing (issue 15, deliverable 1): ``claim_publish`` writes version 1 with
the readers' summary, ``claim_correct`` and ``claim_retract`` append versions and never
overwrite one, a new rating is recorded as the claim's consensus (method ``correction``),
editors only, each write in one transaction with its audit events."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from annotations import selectors, services
from annotations.models import Claim, ClaimStatus, Consensus, Event, Publication
from annotations.services import QueueConflict
from tests.factories import judge, make_claim
from tests.services.base import ServiceTestCase, counts

T0 = dt.datetime(2030, 5, 1, 10, 0, tzinfo=dt.UTC)
WRITTEN = (Publication, Consensus, Event, Claim)


class PublishingTestCase(ServiceTestCase):
    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        judge(
            self.claim,
            self.reviewer_a,
            "false",
            citations=[
                services.CitationInput(
                    stance="refutes", url="https://stats.example.org/crime", quote="rose 4%"
                )
            ],
        )
        judge(self.claim, self.reviewer_b, "false")

    def fresh(self) -> Claim:
        return Claim.objects.get(pk=self.claim.pk)

    def publish(self, **kwargs: object) -> Publication:
        return services.claim_publish(
            claim=self.claim,
            editor=self.editor,
            summary=str(kwargs.get("summary", "Police data show a 4% rise.")),
            now=kwargs.get("now", T0),  # type: ignore[arg-type]
        )


class ClaimPublishTests(PublishingTestCase):
    def test_it_writes_version_one_with_a_snapshot_of_what_readers_see(self) -> None:
        version = self.publish()
        self.assertEqual(
            (version.number, version.kind, version.statement, version.rating_key),
            (1, "publish", "crime fell 20%", "false"),
        )
        self.assertEqual(
            (version.rating_label, version.rating_value, version.worst_rating, version.best_rating),
            ("False", 1, 1, 5),
        )
        self.assertEqual(version.summary, "Police data show a 4% rise.")
        self.assertEqual((version.published_at, version.modified_at), (T0, T0))
        self.assertEqual(version.publisher_name, "Desk")
        self.assertEqual(version.appearance_title, self.document.title)
        self.assertEqual(
            [(c["url"], c["quote"], c["stance"]) for c in version.citations],
            [("https://stats.example.org/crime", "rose 4%", "refutes")],
        )
        # No reviewer is named in what is published.
        self.assertNotIn("reviewer", str(version.citations))
        self.assertEqual(self.fresh().status, ClaimStatus.PUBLISHED)
        self.assertTrue(
            Event.objects.filter(verb="publication.publish", object_id=version.pk).exists()
        )

    def test_it_needs_a_summary_and_writes_nothing_without_one(self) -> None:
        for summary in ("", "   "):
            before = counts(*WRITTEN)
            with self.subTest(summary=summary), self.assertRaises(ValidationError) as ctx:
                self.publish(summary=summary)
            self.assertFieldError(ctx.exception, "summary", "summary")
            self.assertEqual(counts(*WRITTEN), before)
        self.assertEqual(self.fresh().status, ClaimStatus.RESOLVED)

    def test_only_editors_publish(self) -> None:
        for user in (self.reviewer_a, self.creator, self.outsider):
            with self.subTest(user=user.username), self.assertRaises(PermissionDenied):
                services.claim_publish(claim=self.claim, editor=user, summary="x")
        self.assertFalse(Publication.objects.exists())


class ClaimCorrectTests(PublishingTestCase):
    def test_a_new_rating_is_a_new_version_and_the_current_consensus(self) -> None:
        first = self.publish()
        later = T0 + dt.timedelta(days=1)
        second = services.claim_correct(
            claim=self.claim,
            editor=self.editor,
            rating="half_true",
            note="Revised data.",
            now=later,
        )
        self.assertEqual(
            (second.number, second.kind, second.rating_key), (2, "correct", "half_true")
        )
        self.assertEqual((second.published_at, second.modified_at), (T0, later))
        self.assertEqual(second.note, "Revised data.")
        self.assertEqual(second.statement, first.statement)
        first.refresh_from_db()
        self.assertEqual(
            (first.rating_key, first.kind, first.modified_at), ("false", "publish", T0)
        )
        claim = self.fresh()
        self.assertEqual(claim.status, ClaimStatus.CORRECTED)
        current = Consensus.objects.get(claim=claim, is_current=True)
        self.assertEqual((current.rating.key, current.method), ("half_true", "correction"))
        self.assertEqual((current.decided_by, current.note), (self.editor, "Revised data."))
        self.assertEqual(claim.consensus_id, current.pk)
        self.assertEqual(claim.statement, "crime fell 20%")  # what reviewers judged stays

    def test_new_wording_keeps_the_consensus_and_the_claim_row(self) -> None:
        self.publish()
        consensus_before = self.fresh().consensus_id
        version = services.claim_correct(
            claim=self.claim,
            editor=self.editor,
            statement="The mayor said crime fell 20% in 2029.",
            note="The year was missing.",
        )
        self.assertEqual(version.statement, "The mayor said crime fell 20% in 2029.")
        self.assertEqual(version.rating_key, "false")
        claim = self.fresh()
        self.assertEqual(
            (claim.consensus_id, claim.statement), (consensus_before, "crime fell 20%")
        )
        # Corrections can follow corrections.
        third = services.claim_correct(
            claim=self.claim, editor=self.editor, summary="A clearer summary.", note="Wording."
        )
        self.assertEqual((third.number, third.statement), (3, version.statement))
        self.assertEqual(
            [v.number for v in selectors.publications_of_claim(claim=claim)], [1, 2, 3]
        )

    def test_it_refuses_bad_corrections_and_writes_nothing(self) -> None:
        self.publish()
        cases = (
            ("no note", {"rating": "true", "note": " "}, "note"),
            ("nothing changed", {"note": "Why"}, "rating"),
            ("same rating", {"rating": "false", "note": "Why"}, "rating"),
            ("unknown rating", {"rating": "pants_on_fire", "note": "Why"}, "rating"),
            ("empty statement", {"statement": " ", "note": "Why"}, "statement"),
        )
        for label, kwargs, field in cases:
            before = counts(*WRITTEN)
            with self.subTest(label), self.assertRaises(ValidationError) as ctx:
                services.claim_correct(claim=self.claim, editor=self.editor, **kwargs)  # type: ignore[arg-type]
            self.assertFieldError(ctx.exception, field)
            self.assertEqual(counts(*WRITTEN), before)

    def test_only_published_claims_are_corrected_and_only_by_editors(self) -> None:
        with self.assertRaises(QueueConflict):
            services.claim_correct(claim=self.claim, editor=self.editor, rating="true", note="n")
        self.publish()
        with self.assertRaises(PermissionDenied):
            services.claim_correct(
                claim=self.claim, editor=self.reviewer_a, rating="true", note="n"
            )
        services.claim_retract(claim=self.claim, editor=self.editor, note="Wrong series.")
        with self.assertRaises(QueueConflict):
            services.claim_correct(claim=self.claim, editor=self.editor, rating="true", note="n")


class ClaimRetractTests(PublishingTestCase):
    def test_a_retraction_is_a_final_version_that_keeps_what_was_said(self) -> None:
        self.publish()
        version = services.claim_retract(
            claim=self.claim, editor=self.editor, note="The figures were for another city."
        )
        self.assertEqual((version.number, version.kind), (2, "retract"))
        self.assertEqual(version.statement, "crime fell 20%")
        self.assertEqual(version.note, "The figures were for another city.")
        claim = self.fresh()
        self.assertEqual(claim.status, ClaimStatus.RETRACTED)
        self.assertIsNotNone(claim.consensus_id)  # the desk's decision stays in the record
        verbs = list(Event.objects.order_by("-id").values_list("verb", flat=True)[:2])
        self.assertEqual(verbs, ["claim.status", "publication.retract"])
        for call in (
            lambda: services.claim_retract(claim=claim, editor=self.editor, note="Again"),
            lambda: services.claim_reopen(claim=claim, editor=self.editor, note="Again"),
            lambda: services.claim_publish(claim=claim, editor=self.editor, summary="Again"),
        ):
            with self.assertRaises(QueueConflict):
                call()

    def test_it_needs_a_public_note(self) -> None:
        self.publish()
        with self.assertRaises(ValidationError) as ctx:
            services.claim_retract(claim=self.claim, editor=self.editor, note="")
        self.assertFieldError(ctx.exception, "note")
        self.assertEqual(self.fresh().status, ClaimStatus.PUBLISHED)


class PublicationRowTests(PublishingTestCase):
    def test_the_database_keeps_versions_unique_and_changes_explained(self) -> None:
        first = self.publish()
        with self.assertRaises(IntegrityError), transaction.atomic():
            Publication.objects.filter(pk=first.pk).update(kind="correct")  # 1 is a publish
        second = services.claim_correct(
            claim=self.claim, editor=self.editor, rating="true", note="New data."
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            Publication.objects.filter(pk=second.pk).update(note="")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Publication.objects.filter(pk=second.pk).update(number=1)

    def test_check_integrity_agrees_with_the_services(self) -> None:
        self.publish()
        services.claim_correct(claim=self.claim, editor=self.editor, rating="true", note="n")
        found = list(selectors.integrity.claim_publications(self.project.pk))
        self.assertEqual(found, [])
        Publication.objects.filter(claim=self.claim).delete()
        found = list(selectors.integrity.claim_publications(self.project.pk))
        self.assertEqual([v.invariant for v in found], ["publication versions match the status"])
