"""Services: revising a document's text (``annotations/services/revisions.py``): the old
text kept as a read-only revision, each claim re-anchored, events, and the orphans and
changed claims listed apart.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from annotations import selectors, services
from annotations.models import AnchorStatus, ClaimAnchor, DocumentRevision, Event, Verdict
from tests.factories import judge
from tests.services.revision_base import NEW, OLD, QUOTES, RevisionTestCase


class DocumentReviseServiceTests(RevisionTestCase):
    def test_it_keeps_the_old_text_as_a_read_only_revision(self) -> None:
        self.revise()
        old = DocumentRevision.objects.get(document=self.report_doc)
        self.assertEqual((old.number, old.text, old.note), (1, OLD, "publisher's correction"))
        self.report_doc.refresh_from_db()
        self.assertEqual((self.report_doc.revision, self.report_doc.text), (2, NEW))

    def test_it_reports_each_of_the_four_outcomes(self) -> None:
        report = self.revise()
        outcomes = {p.claim_id: p.outcome for p in report.placements}
        expected = {"a": "unchanged", "b": "moved", "c": "changed", "d": "orphaned"}
        for key, outcome in expected.items():
            with self.subTest(claim=key):
                self.assertEqual(outcomes[self.claims[key].pk], outcome)
        self.assertEqual(report.counts, {"unchanged": 1, "moved": 1, "changed": 1, "orphaned": 1})

    def test_claims_get_their_new_anchor_status_and_history(self) -> None:
        self.revise()
        statuses = {key: self.claim(key).anchor_status for key in QUOTES}
        self.assertEqual(
            statuses,
            {
                "a": AnchorStatus.ANCHORED,
                "b": AnchorStatus.MOVED,
                "c": AnchorStatus.CHANGED,
                "d": AnchorStatus.ORPHANED,
            },
        )
        moved = self.claim("b")
        self.assertEqual(NEW[moved.start : moved.end], QUOTES["b"])
        self.assertEqual(self.claim("c").exact, "the new bridge cost $3 billion")
        orphan = self.claim("d")
        self.assertEqual((orphan.anchor_revision, orphan.exact), (1, QUOTES["d"]))
        self.assertEqual(ClaimAnchor.objects.filter(claim__document=self.report_doc).count(), 4)
        self.assertEqual(Event.objects.filter(verb="claim.reanchor").count(), 4)
        self.assertEqual(Event.objects.filter(verb="document.revise").count(), 1)

    def test_verdicts_keep_the_revision_they_judged(self) -> None:
        claim = self.claims["a"]
        verdict = judge(claim, self.reviewer_a, "true")
        self.revise()
        verdict = Verdict.objects.get(pk=verdict.pk)
        self.assertEqual((verdict.claim_id, verdict.document_revision), (claim.pk, 1))

    def test_it_refuses_a_text_identical_to_the_current_one(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.revise(text=OLD)
        self.assertIn("identical", str(caught.exception.message_dict["text"]))
        self.assertFalse(DocumentRevision.objects.exists())

    def test_it_refuses_reviewers(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.document_revise(document=self.report_doc, text=NEW, actor=self.reviewer_a)

    def test_the_report_can_be_rebuilt_from_the_events(self) -> None:
        self.revise()
        rows = selectors.revision_placements(document=self.report_doc, number=1)
        by_claim = {row.claim.pk: row for row in rows}
        self.assertEqual(by_claim[self.claims["d"].pk].outcome, "orphaned")
        self.assertIsNone(by_claim[self.claims["d"].pk].after)
        self.assertEqual(by_claim[self.claims["c"].pk].after[2], "the new bridge cost $3 billion")
        self.assertEqual(len(rows), 4)

    def test_orphans_and_claims_needing_review_are_listed_apart(self) -> None:
        self.revise()
        self.report_doc.refresh_from_db()
        orphans = list(selectors.claims_orphaned(document=self.report_doc))
        changed = list(selectors.claims_needing_review(document=self.report_doc))
        self.assertEqual(orphans, [self.claim("d")])
        self.assertEqual(changed, [self.claim("c")])


class PublishedClaimRevisionTests(RevisionTestCase):
    """The outside probe: a document revision moved a published claim's span and bumped
    its version. A published claim is never re-anchored: it keeps the span it was
    published with unless the corrected text leaves that span exactly where it was."""

    def publish(self, key: str) -> None:
        # The queue hands out claims oldest first: judge every claim up to this one.
        for reviewer in (self.reviewer_a, self.reviewer_b):
            for earlier in sorted(QUOTES)[: sorted(QUOTES).index(key) + 1]:
                judge(self.claims[earlier], reviewer, "true")
        claim = self.claim(key)
        self.assertEqual(claim.status, "resolved")
        services.claim_publish(claim=claim, editor=self.editor, summary="Checked.")

    def test_a_published_claim_keeps_the_span_it_was_published_with(self) -> None:
        self.publish("b")
        before = self.claim("b")
        report = self.revise()
        after = self.claim("b")
        self.assertEqual(
            (after.start, after.end, after.exact, after.anchor_revision, after.version),
            (before.start, before.end, before.exact, 1, before.version),
        )
        self.assertEqual(OLD[after.start : after.end], QUOTES["b"])
        [placement] = [p for p in report.placements if p.claim_id == after.pk]
        self.assertIsNone(placement.after)
        self.assertIn("The claim is published", placement.note)
        self.assertIn("a correction (not a revision)", placement.note)
        self.assertNotIn("revises the claim", placement.note)

    def test_a_published_claim_whose_span_did_not_move_follows_the_new_text(self) -> None:
        self.publish("a")
        before = self.claim("a")
        self.revise()
        after = self.claim("a")
        self.assertEqual(
            (after.start, after.end, after.exact), (before.start, before.end, before.exact)
        )
        self.assertEqual((after.anchor_revision, after.version), (2, before.version))
