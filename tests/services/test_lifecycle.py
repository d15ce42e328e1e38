"""Tests for the claim lifecycle in the services (issue 14, deliverables 1-3): what was
judged is frozen (``claim_update``, ``claim_reanchor``, ``document_revise``), an editor's
``claim_revise`` records a new version and returns the claim to review, verdicts revised
after the reveal are kept but not counted, every status change goes through the lifecycle
table, the database refuses a decided claim without a consensus, and ``version`` counts
only the claim's own fields."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from annotations import access, selectors, services
from annotations.models import (
    Claim,
    ClaimStatus,
    ClaimVersion,
    Consensus,
    Event,
    Verdict,
)
from annotations.services import QueueConflict
from tests.factories import judge, make_claim, take
from tests.services.base import ServiceTestCase


class LifecycleTestCase(ServiceTestCase):
    def fresh(self, claim: Claim) -> Claim:
        return Claim.objects.get(pk=claim.pk)

    def resolved_claim(self, exact: str = "crime fell 20%") -> Claim:
        claim = make_claim(document=self.document, actor=self.creator, exact=exact)
        judge(claim, self.reviewer_a, "true")
        judge(claim, self.reviewer_b, "true")
        return self.fresh(claim)

    def published_claim(self) -> Claim:
        claim = self.resolved_claim()
        services.claim_publish(
            claim=claim, editor=self.editor, summary="Checked against the official figures."
        )
        return self.fresh(claim)


class FrozenAfterTheFirstVerdictTests(LifecycleTestCase):
    def test_the_creator_edits_in_place_until_the_first_verdict(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        edited = services.claim_update(
            claim=claim, actor=self.creator, expected_version=1, statement="Crime fell by 20%."
        )
        self.assertEqual((edited.statement, edited.version), ("Crime fell by 20%.", 2))
        judge(claim, self.reviewer_a, "true")
        for actor in (self.creator, self.editor):
            with self.subTest(actor=actor.username), self.assertRaises(QueueConflict) as ctx:
                services.claim_update(
                    claim=claim, actor=actor, expected_version=2, statement="Crime rose."
                )
            self.assertIn("An editor can revise the claim", str(ctx.exception))
        self.assertEqual(self.fresh(claim).statement, "Crime fell by 20%.")

    def test_a_published_claim_is_never_edited_revised_or_reanchored_in_place(self) -> None:
        claim = self.published_claim()
        before = Event.objects.count()
        calls = {
            "edit by the creator": lambda: services.claim_update(
                claim=claim, actor=self.creator, expected_version=claim.version, statement="No."
            ),
            "edit by an editor": lambda: services.claim_update(
                claim=claim, actor=self.editor, expected_version=claim.version, statement="No."
            ),
            "revise": lambda: services.claim_revise(
                claim=claim, actor=self.editor, expected_version=claim.version, statement="No."
            ),
            "re-anchor": lambda: services.claim_reanchor(
                claim=claim, actor=self.creator, start=claim.start, end=claim.end
            ),
            "reopen": lambda: services.claim_reopen(claim=claim, editor=self.editor, note="No."),
        }
        for name, call in calls.items():
            with self.subTest(name), self.assertRaises(QueueConflict) as ctx:
                call()
            self.assertRegex(str(ctx.exception), "publishing workflow|corrected instead")
        after = self.fresh(claim)
        self.assertEqual((after.status, after.statement), (ClaimStatus.PUBLISHED, claim.statement))
        self.assertEqual(Event.objects.count(), before)

    def test_a_judged_claim_is_reanchored_only_to_the_same_text(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        judge(claim, self.reviewer_a, "true")
        with self.assertRaises(QueueConflict) as ctx:
            services.claim_reanchor(
                claim=claim, actor=self.creator, start=claim.start, end=claim.end + 5
            )
        self.assertIn("revises the claim", str(ctx.exception))
        # The same words (here: the same place) are fine, and change nothing judged.
        same = services.claim_reanchor(
            claim=claim, actor=self.creator, start=claim.start, end=claim.end
        )
        self.assertEqual((same.exact, same.version), ("crime fell 20%", 1))

    def test_a_corrected_text_moves_a_judged_claim_only_where_its_words_are_unchanged(
        self,
    ) -> None:
        moved = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        changed = make_claim(document=self.document, actor=self.creator, exact="record low of 3.1%")
        for claim in (moved, changed):
            judge(claim, self.reviewer_a, "true")
        text = self.document.text.replace("Others disagree.", "Others do not.").replace(
            "record low of 3.1%", "record low of 3.4%"
        )
        services.document_revise(document=self.document, text=text, actor=self.editor)
        moved, changed = self.fresh(moved), self.fresh(changed)
        self.assertEqual((moved.exact, moved.anchor_revision), ("crime fell 20%", 2))
        self.assertEqual(text[moved.start : moved.end], "crime fell 20%")
        # The judged words changed: the span stays on the judged text, flagged for review.
        self.assertEqual((changed.exact, changed.anchor_revision), ("record low of 3.1%", 1))
        self.assertEqual(changed.anchor_status, "changed")
        self.assertEqual(changed.version, 1)


class ClaimReviseTests(LifecycleTestCase):
    def test_an_editor_revises_a_resolved_claim_into_a_new_version_back_in_review(self) -> None:
        claim = self.resolved_claim()
        old_verdicts = list(Verdict.objects.filter(claim=claim).order_by("id"))
        record = Consensus.objects.get(claim=claim)
        revised = services.claim_revise(
            claim=claim,
            actor=self.editor,
            expected_version=claim.version,
            statement="Crime fell 20% in the city centre.",
            note="The mayor spoke of the centre only.",
        )
        self.assertEqual(revised.status, ClaimStatus.IN_REVIEW)
        self.assertEqual((revised.claim_version, revised.version), (2, 2))
        self.assertIsNone(revised.consensus)
        old = ClaimVersion.objects.get(claim=claim)
        self.assertEqual(
            (old.number, old.statement, old.exact, old.status, old.note),
            (
                1,
                "crime fell 20%",
                "crime fell 20%",
                "resolved",
                "The mayor spoke of the centre only.",
            ),
        )
        # Every verdict is kept, with the version it judged; none counts for version 2.
        kept = list(Verdict.objects.filter(claim=claim).order_by("id"))
        self.assertEqual([v.pk for v in kept], [v.pk for v in old_verdicts])
        self.assertEqual({(v.claim_version, v.is_current) for v in kept}, {(1, False)})
        self.assertFalse(access.verdicts_counted(Verdict.objects.filter(claim=claim)).exists())
        record.refresh_from_db()
        self.assertFalse(record.is_current)
        self.assertIn("claim.revise", Event.objects.values_list("verb", flat=True))
        # The queue leases it again, also to a reviewer who judged version 1, who is blind
        # again until they judge version 2.
        membership = access.membership_get(user=self.reviewer_a, project_id=claim.project_id)
        self.assertFalse(
            access.can_see_all_verdicts(membership=membership, claim=revised, user=self.reviewer_a)
        )
        take(revised, self.reviewer_a)
        second = services.verdict_submit(
            claim=revised, reviewer=self.reviewer_a, rating="mostly_true", confidence="high"
        )
        self.assertEqual((second.claim_version, second.revision, second.post_reveal), (2, 2, False))
        judge(revised, self.reviewer_b, "mostly_true")
        decided = self.fresh(claim)
        self.assertEqual(decided.status, ClaimStatus.RESOLVED)
        self.assertEqual(decided.consensus.rating.key, "mostly_true")
        self.assertEqual(decided.consensus.claim_version, 2)
        self.assertEqual(
            set(decided.consensus.verdicts.values_list("claim_version", flat=True)), {2}
        )

    def test_a_revision_can_move_the_span_on_the_current_text(self) -> None:
        claim = self.resolved_claim()
        start = self.document.text.index("crime fell 20% last year")
        revised = services.claim_revise(
            claim=claim,
            actor=self.editor,
            expected_version=claim.version,
            start=start,
            end=start + len("crime fell 20% last year"),
        )
        self.assertEqual(revised.exact, "crime fell 20% last year")
        self.assertEqual(ClaimVersion.objects.get(claim=claim).exact, "crime fell 20%")

    def test_revising_is_for_editors_and_refuses_what_changes_nothing(self) -> None:
        claim = self.resolved_claim()
        with self.assertRaises(PermissionDenied):
            services.claim_revise(
                claim=claim, actor=self.creator, expected_version=1, statement="Other."
            )
        with self.assertRaises(ValidationError) as ctx:
            services.claim_revise(claim=claim, actor=self.editor, expected_version=1)
        self.assertFieldError(ctx.exception, "statement", "Nothing to revise")
        with self.assertRaises(services.StaleVersion):
            services.claim_revise(
                claim=claim, actor=self.editor, expected_version=7, statement="Other."
            )
        self.assertFalse(ClaimVersion.objects.exists())
        self.assertEqual(self.fresh(claim).status, ClaimStatus.RESOLVED)


class IndependentVerdictTests(LifecycleTestCase):
    """The issue's claim 2: reviewer1 Mostly false, reviewer2 True -> disputed; reviewer2,
    who now sees reviewer1's verdict, revises to Mostly false."""

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        self.first = judge(self.claim, self.reviewer_a, "mostly_false")
        self.second = judge(self.claim, self.reviewer_b, "true")
        self.assertEqual(self.fresh(self.claim).status, ClaimStatus.DISPUTED)

    def test_a_revision_after_the_reveal_stays_disputed_and_tells_the_editors(self) -> None:
        report = selectors.agreement_report(project=self.project)
        revised = services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="mostly_false", confidence="high"
        )
        self.assertTrue(revised.post_reveal)
        claim = self.fresh(self.claim)
        self.assertEqual(claim.status, ClaimStatus.DISPUTED)
        self.assertIsNone(claim.consensus)
        self.assertFalse(Consensus.objects.filter(claim=claim).exists())
        # Alpha, percent agreement and matched consensus are those of the blind verdicts.
        self.assertEqual(selectors.agreement_report(project=self.project), report)
        counted = access.verdicts_counted(Verdict.objects.filter(claim=claim))
        self.assertEqual(set(counted), {self.first, self.second})
        notice = Event.objects.get(verb="claim.needs_adjudication")
        self.assertEqual((notice.object_id, notice.after["verdict"]), (claim.pk, revised.pk))
        [card] = selectors.dispute_cards_for_editor(project=self.project).disputed
        self.assertTrue(card.revised_after_reveal)
        # Adjudication still works, and the editor's decision is the consensus.
        record = services.claim_adjudicate(
            claim=claim, editor=self.editor, rating="mostly_false", note="Both now agree."
        )
        self.assertEqual(self.fresh(claim).consensus, record)
        self.assertEqual(self.fresh(claim).version, 1)  # nobody edited the claim

    def test_matched_consensus_counts_the_blind_verdict(self) -> None:
        services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="mostly_false", confidence="high"
        )
        services.claim_adjudicate(
            claim=self.claim, editor=self.editor, rating="mostly_false", note="Checked."
        )
        rows = {r.username: r for r in selectors.agreement_report(project=self.project).reviewers}
        self.assertEqual(rows["reviewer_a"].matched_consensus, 1)
        # reviewer_b's blind verdict (True) did not match; the post-reveal one is not counted.
        self.assertEqual(rows["reviewer_b"].matched_consensus, 0)

    def test_a_revision_before_anyone_else_judged_is_blind(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="record low of 3.1%")
        judge(claim, self.reviewer_a, "true")
        revised = services.verdict_submit(
            claim=claim, reviewer=self.reviewer_a, rating="false", confidence="low"
        )
        self.assertFalse(revised.post_reveal)
        judge(claim, self.reviewer_b, "false")
        self.assertEqual(self.fresh(claim).status, ClaimStatus.RESOLVED)


class StatusAndVersionTests(LifecycleTestCase):
    def test_the_version_does_not_move_on_status_changes(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        judge(claim, self.reviewer_a, "true")
        judge(claim, self.reviewer_b, "false")
        services.claim_adjudicate(claim=claim, editor=self.editor, rating="true", note="Data.")
        services.claim_publish(
            claim=claim, editor=self.editor, summary="Checked against the official figures."
        )
        services.claim_correct(claim=claim, editor=self.editor, rating="false", note="New data.")
        services.claim_retract(claim=claim, editor=self.editor, note="Wrong series.")
        self.assertEqual(self.fresh(claim).version, 1)

    def test_the_database_refuses_a_decided_claim_without_consensus(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        for status in (ClaimStatus.PUBLISHED, ClaimStatus.CORRECTED, ClaimStatus.RESOLVED):
            with (
                self.subTest(status=status),
                self.assertRaises(IntegrityError),
                transaction.atomic(),
            ):
                Claim.objects.filter(pk=claim.pk).update(status=status)
        # Out of the queue, so the queue offers the next claim.
        services.claim_withdraw(claim=claim, actor=self.editor, reason="Out of the queue.")
        resolved = self.resolved_claim(exact="record low of 3.1%")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Claim.objects.filter(pk=resolved.pk).update(status=ClaimStatus.IN_REVIEW)
        with self.assertRaises(IntegrityError), transaction.atomic():
            Claim.objects.filter(pk=resolved.pk).update(consensus=None)
        self.assertEqual(self.fresh(claim).status, ClaimStatus.WITHDRAWN)
        self.assertIsNotNone(self.fresh(resolved).consensus)

    def test_every_status_change_goes_through_the_table(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        refused = {
            "publish": lambda: services.claim_publish(
                claim=claim, editor=self.editor, summary="Checked against the official figures."
            ),
            "adjudicate": lambda: services.claim_adjudicate(
                claim=claim, editor=self.editor, rating="true", note="n"
            ),
            "reopen": lambda: services.claim_reopen(claim=claim, editor=self.editor, note="n"),
            "transition": lambda: services.claim_transition(
                claim=claim, action="publish", actor=self.editor
            ),
        }
        for name, call in refused.items():
            with self.subTest(name), self.assertRaises(QueueConflict):
                call()
        self.assertEqual(self.fresh(claim).status, ClaimStatus.IN_REVIEW)
        services.claim_withdraw(claim=claim, actor=self.editor, reason="Duplicate.")
        with self.assertRaises(QueueConflict):
            services.claim_withdraw(claim=claim, actor=self.editor, reason="Again.")
