"""A claim that stops taking verdicts from lease holders ends their open leases
(``services.leases.claim_leases_end``): resolved by the rule (a deciding verdict, or
``consensus_recompute``), reopened, adjudicated, or its gold mark removed. Otherwise the
queue hands the reviewer back a claim that takes no verdict from them (``lease_next``
returns a held lease as it is) and keeps them from leasing another. A calibration lease
on a claim that is no longer gold gives no verdict."""

from __future__ import annotations

from typing import Any, ClassVar

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    ClaimStatus,
    Event,
    GoldClaim,
)
from annotations.services import QueueConflict
from tests.factories import judge, take
from tests.services.queue_base import LEASE, SECOND, T0, QueueTestCase


class LeasesEndTestCase(QueueTestCase):
    """Two required reviews; claims[0] is the one that leaves review, claims[1] the next
    eligible one."""

    policy: ClassVar[dict[str, Any]] = {"required_reviews": 2}
    claim_count = 2

    def lease_left_open(self) -> Assignment:
        """reviewer_c's lease on claims[0] as a lease from before leases ended with their
        claim's review was left: still leased (written directly, as it was left)."""
        return Assignment.objects.create(
            project=self.project,
            claim=self.claims[0],
            reviewer=self.reviewer_c,
            state=AssignmentState.LEASED,
            leased_at=T0,
            expires_at=T0 + LEASE,
        )

    def assertReleased(self, lease: Assignment, *, reason: str, since: int) -> None:
        lease = self.fresh(lease)
        self.assertEqual(lease.state, AssignmentState.RELEASED)
        self.assertIsNotNone(lease.closed_at)
        event = Event.objects.get(id__gt=since, verb="lease.release", object_id=lease.pk)
        self.assertEqual(event.object_type, "assignment")
        self.assertEqual(event.after, {"claim": lease.claim_id, "reason": reason})

    def assertQueueMovesOn(self, reviewer: Any) -> None:
        """The reviewer's next lease is the next eligible claim, not the one that left
        review, and their lease on it is their only open one."""
        offered = self.lease(reviewer, now=T0 + 3 * SECOND)
        assert offered is not None
        self.assertEqual(offered.claim_id, self.claims[1].pk)
        self.assertFalse(
            Assignment.objects.filter(
                claim=self.claims[0], reviewer=reviewer, state=AssignmentState.LEASED
            ).exists()
        )

    def assertVerdictRefused(self, reviewer: Any, *fragments: str) -> None:
        before = self.row_counts()
        with self.assertRaises(QueueConflict) as refused:
            services.verdict_submit(
                claim=self.claims[0],
                reviewer=reviewer,
                rating="false",
                confidence="high",
                rationale="calib",
                now=T0 + 2 * SECOND,
            )
        for fragment in fragments:
            self.assertIn(fragment, str(refused.exception))
        self.assertWritesNothing(before)

    def lowered_to_one_review(self) -> tuple[Assignment, Assignment]:
        """reviewer_a and reviewer_b lease claims[0], then the project asks one review."""
        lease_a = take(self.claims[0], self.reviewer_a, now=T0)
        lease_b = take(self.claims[0], self.reviewer_b, now=T0)
        services.project_update(project=self.project, actor=self.admin, required_reviews=1)
        return lease_a, lease_b


class ResolvedClaimLeasesTests(LeasesEndTestCase):
    def test_recompute_that_resolves_a_claim_ends_the_other_leases(self) -> None:
        # Route B: a's verdict, then the rule lowered to one review and recomputed.
        _, lease_b = self.lowered_to_one_review()
        services.project_update(project=self.project, actor=self.admin, required_reviews=2)
        services.verdict_submit(
            claim=self.claims[0], reviewer=self.reviewer_a, rating="true", confidence="high", now=T0
        )
        services.project_update(project=self.project, actor=self.admin, required_reviews=1)
        since = self.last_event_id()
        record = services.consensus_recompute(claim=self.claims[0], actor=self.admin)
        assert record is not None
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.RESOLVED)
        # A claim in review is decided as a deciding verdict decides it: the release
        # follows the decision.
        self.assertEqual(
            self.verbs_since(since),
            ["consensus.unanimous", "claim.status", "lease.release", "consensus.recompute"],
        )
        self.assertReleased(lease_b, reason="claim resolved", since=since)
        services.claim_reopen(claim=self.claims[0], editor=self.editor, note="New figures")
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.DISPUTED)
        self.assertVerdictRefused(self.reviewer_b, "disputed")
        self.assertQueueMovesOn(self.reviewer_b)

    def test_a_deciding_verdict_ends_the_other_leases(self) -> None:
        _, lease_b = self.lowered_to_one_review()
        since = self.last_event_id()
        services.verdict_submit(
            claim=self.claims[0],
            reviewer=self.reviewer_a,
            rating="true",
            confidence="high",
            now=T0 + SECOND,
        )
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.RESOLVED)
        # The release follows the decision, in the verdict's one append.
        self.assertEqual(
            self.verbs_since(since),
            ["verdict.submit", "consensus.unanimous", "claim.status", "lease.release"],
        )
        self.assertReleased(lease_b, reason="claim resolved", since=since)
        self.assertEqual(self.fresh(lease_b).closed_at, T0 + SECOND)
        self.assertVerdictRefused(self.reviewer_b, "resolved")
        self.assertQueueMovesOn(self.reviewer_b)

    def test_reopen_ends_a_lease_left_open_on_the_resolved_claim(self) -> None:
        # A lease from before leases ended with a resolution (written as it was left).
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        judge(self.claims[0], self.reviewer_b, "true", now=T0)
        left = self.lease_left_open()
        since = self.last_event_id()
        services.claim_reopen(claim=self.claims[0], editor=self.editor, note="New figures")
        self.assertEqual(
            self.verbs_since(since), ["lease.release", "consensus.supersede", "claim.status"]
        )
        self.assertReleased(left, reason="claim reopened", since=since)
        self.assertVerdictRefused(self.reviewer_c, "disputed")
        self.assertQueueMovesOn(self.reviewer_c)

    def test_adjudication_ends_a_lease_left_open_on_the_disputed_claim(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        judge(self.claims[0], self.reviewer_b, "false", now=T0)
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.DISPUTED)
        left = self.lease_left_open()
        since = self.last_event_id()
        services.claim_adjudicate(
            claim=self.claims[0], editor=self.editor, rating="half_true", note="Both in part"
        )
        self.assertReleased(left, reason="claim resolved", since=since)
        self.assertQueueMovesOn(self.reviewer_c)


class GoldUnmarkLeasesTests(LeasesEndTestCase):
    """claims[0] resolved by reviewer_a and reviewer_b, marked gold; reviewer_c takes it
    from its page (a calibration lease)."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        judge(cls.claims[0], cls.reviewer_a, "false", now=T0)
        judge(cls.claims[0], cls.reviewer_b, "false", now=T0)
        services.gold_mark(claim=cls.claims[0], actor=cls.editor, rating="false")

    def calibration_lease(self) -> Assignment:
        lease = services.lease_claim(reviewer=self.reviewer_c, claim=self.claims[0], now=T0)
        self.assertTrue(lease.calibration)
        return lease

    def test_unmarking_gold_ends_its_calibration_leases(self) -> None:
        # Route A: unmarked, then reopened.
        lease = self.calibration_lease()
        since = self.last_event_id()
        services.gold_unmark(claim=self.claims[0], actor=self.editor)
        self.assertEqual(self.verbs_since(since), ["claim.gold_unmark", "lease.release"])
        self.assertReleased(lease, reason="gold mark removed", since=since)
        # Before the reopen too, the lease gives no calibration verdict.
        self.assertVerdictRefused(self.reviewer_c, "resolved")
        services.claim_reopen(claim=self.claims[0], editor=self.editor, note="New figures")
        self.assertVerdictRefused(self.reviewer_c, "disputed")
        self.assertQueueMovesOn(self.reviewer_c)

    def test_a_calibration_lease_on_a_claim_no_longer_gold_gives_no_verdict(self) -> None:
        # F2's defence: the mark gone without its leases ending (as before this fix).
        self.calibration_lease()
        GoldClaim.objects.filter(claim=self.claims[0]).delete()
        self.assertVerdictRefused(self.reviewer_c, "no longer a gold claim")

    def test_a_gold_claim_answers_a_verdict_without_a_lease_as_a_claim_in_review(self) -> None:
        # Nothing tells a reviewer a claim is gold: without a lease, the gold claim's
        # refusal is the one a claim in review gives (not "This claim is resolved").
        answers = []
        for claim in (self.claims[0], self.claims[1]):  # gold; in review
            before = self.row_counts()
            with self.assertRaises(QueueConflict) as refused:
                services.verdict_submit(
                    claim=claim, reviewer=self.reviewer_c, rating="false", confidence="high"
                )
            self.assertWritesNothing(before)
            answers.append(str(refused.exception))
        self.assertEqual(answers[0], answers[1])
        self.assertIn("Take this claim from the queue", answers[0])


class EditedClaimLeasesTests(LeasesEndTestCase):
    """A lease holder was shown the claim's words: an edit or a revision ends the lease,
    so no verdict is recorded against a text its reviewer never saw."""

    def test_editing_the_words_ends_the_leases(self) -> None:
        lease = take(self.claims[0], self.reviewer_c, now=T0)
        claim = self.fresh(self.claims[0])
        since = self.last_event_id()
        services.claim_update(
            claim=claim,
            actor=self.creator,
            expected_version=claim.version,
            statement="Crime fell by half.",
        )
        self.assertEqual(self.verbs_since(since), ["lease.release", "claim.update"])
        self.assertReleased(lease, reason="claim edited", since=since)
        self.assertVerdictRefused(self.reviewer_c, "Take this claim from the queue")
        # Taken again, it is judged on the words now shown.
        take(self.claims[0], self.reviewer_c, now=T0 + 3 * SECOND)
        verdict = services.verdict_submit(
            claim=self.claims[0], reviewer=self.reviewer_c, rating="false", confidence="high"
        )
        self.assertEqual(verdict.claim.statement, "Crime fell by half.")

    def test_an_edit_that_changes_no_words_keeps_the_lease(self) -> None:
        lease = take(self.claims[0], self.reviewer_c, now=T0)
        claim = self.fresh(self.claims[0])
        services.claim_update(
            claim=claim, actor=self.creator, expected_version=claim.version, claimant=""
        )
        self.assertEqual(self.fresh(lease).state, AssignmentState.LEASED)

    def test_revising_ends_the_leases(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        lease = take(self.claims[0], self.reviewer_c, now=T0)
        claim = self.fresh(self.claims[0])
        since = self.last_event_id()
        services.claim_revise(
            claim=claim,
            actor=self.editor,
            expected_version=claim.version,
            statement="Crime fell 20% downtown.",
        )
        self.assertEqual(self.verbs_since(since)[:2], ["lease.release", "claim.revise"])
        self.assertReleased(lease, reason="claim revised", since=since)
        self.assertVerdictRefused(self.reviewer_c, "Take this claim from the queue")

    def test_re_anchoring_to_another_quote_ends_the_leases(self) -> None:
        lease = take(self.claims[0], self.reviewer_c, now=T0)
        text = self.claims[0].document.text
        start = text.index("the new bridge cost $2 billion")
        since = self.last_event_id()
        services.claim_reanchor(
            claim=self.claims[0], start=start, end=start + 30, actor=self.creator
        )
        self.assertEqual(self.verbs_since(since), ["lease.release", "claim.reanchor"])
        self.assertReleased(lease, reason="claim re-anchored", since=since)
        self.assertVerdictRefused(self.reviewer_c, "Take this claim from the queue")
