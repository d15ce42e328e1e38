"""services.review: consensus under the project's rule, and the editors' decisions
(adjudicate, reopen, publish, withdraw, recompute)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, ValidationError

from annotations import selectors, services
from annotations.models import (
    AssignmentState,
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Event,
    Notification,
    NotificationKind,
)
from annotations.services import QueueConflict
from tests.factories import judge, make_claim
from tests.services.queue_base import SECOND, T0, QueueTestCase


class UnanimousConsensusTests(QueueTestCase):
    claim_count = 1

    def test_it_resolves_when_the_required_verdicts_agree(self) -> None:
        first = judge(self.claims[0], self.reviewer_a, "mostly_false", now=T0)
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.IN_REVIEW)
        self.assertFalse(Consensus.objects.exists())
        since = self.last_event_id()
        second = judge(self.claims[0], self.reviewer_b, "mostly_false", now=T0)
        claim = self.fresh(self.claims[0])
        self.assertEqual(claim.status, ClaimStatus.RESOLVED)
        record = Consensus.objects.get(claim=claim)
        self.assertEqual(record.method, ConsensusMethod.UNANIMOUS)
        self.assertEqual(record.rating.key, "mostly_false")
        self.assertEqual(record.agreement, 1.0)
        self.assertEqual((record.sequence, record.is_current), (1, True))
        self.assertIsNone(record.decided_by)
        self.assertEqual(set(record.verdicts.all()), {first, second})
        self.assertEqual(
            self.verbs_since(since),
            ["lease.create", "verdict.submit", "consensus.unanimous", "claim.status"],
        )
        status_event = Event.objects.filter(verb="claim.status").get()
        self.assertEqual(status_event.before, {"status": "in_review"})
        self.assertEqual(status_event.after, {"status": "resolved"})

    def test_it_marks_the_claim_disputed_when_the_verdicts_differ(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        since = self.last_event_id()
        judge(self.claims[0], self.reviewer_b, "false", now=T0)
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.exists())
        self.assertEqual(
            self.verbs_since(since), ["lease.create", "verdict.submit", "claim.status"]
        )
        # The editors are told, keyed by the status event (appended with the verdict's).
        status_event = Event.objects.get(verb="claim.status")
        notices = Notification.objects.filter(kind=NotificationKind.DISPUTED)
        self.assertIn(self.editor.pk, {n.recipient_id for n in notices})
        self.assertEqual({n.key for n in notices}, {f"event:{status_event.pk}"})
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)


class MajorityConsensusTests(QueueTestCase):
    policy = {"required_reviews": 3, "consensus_rule": "majority", "majority_threshold": 0.5}

    def test_it_resolves_by_majority(self) -> None:
        votes = (
            # claim, ratings of a, b, c, expected status, rating, method, agreement
            (0, ("false", "false", "true"), ClaimStatus.RESOLVED, "false", "majority", 2 / 3),
            (1, ("true", "true", "true"), ClaimStatus.RESOLVED, "true", "unanimous", 1.0),
            (2, ("true", "false", "misleading"), ClaimStatus.DISPUTED, None, None, None),
        )
        reviewers = (self.reviewer_a, self.reviewer_b, self.reviewer_c)
        for index, ratings, _status, *_ in votes:
            for reviewer, rating in zip(reviewers, ratings, strict=True):
                judge(self.claims[index], reviewer, rating, now=T0)
        for index, ratings, status, rating, method, agreement in votes:
            with self.subTest(ratings=ratings):
                claim = self.fresh(self.claims[index])
                self.assertEqual(claim.status, status)
                record = Consensus.objects.filter(claim=claim).first()
                if rating is None:
                    self.assertIsNone(record)
                    continue
                assert record is not None
                self.assertEqual((record.rating.key, record.method), (rating, method))
                self.assertAlmostEqual(record.agreement, agreement)
                self.assertEqual(record.verdicts.count(), 3)

    def test_it_records_a_majority_event(self) -> None:
        judge(self.claims[0], self.reviewer_a, "false", now=T0)
        judge(self.claims[0], self.reviewer_b, "true", now=T0)
        since = self.last_event_id()
        judge(self.claims[0], self.reviewer_c, "false", now=T0)
        self.assertEqual(
            self.verbs_since(since),
            ["lease.create", "verdict.submit", "consensus.majority", "claim.status"],
        )
        event = Event.objects.get(verb="consensus.majority")
        self.assertEqual(event.after["rating"], "false")
        self.assertAlmostEqual(event.after["agreement"], 2 / 3)


class QualifiedMajorityConsensusTests(QueueTestCase):
    policy = {"required_reviews": 3, "consensus_rule": "majority", "majority_threshold": 0.7}
    claim_count = 2

    def test_it_needs_more_than_the_threshold(self) -> None:
        for reviewer, rating in zip(
            (self.reviewer_a, self.reviewer_b, self.reviewer_c),
            ("false", "false", "true"),
            strict=True,
        ):
            judge(self.claims[0], reviewer, rating, now=T0)
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.filter(claim=self.claims[0]).exists())
        for reviewer in (self.reviewer_a, self.reviewer_b, self.reviewer_c):
            judge(self.claims[1], reviewer, "false", now=T0)
        record = Consensus.objects.get(claim=self.claims[1])
        self.assertEqual((record.method, record.agreement), (ConsensusMethod.UNANIMOUS, 1.0))


class EditorTestCase(QueueTestCase):
    """claims[0] disputed (a: true, b: false), claims[1] resolved (both false),
    claims[2] in review with a's verdict only."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        disputed, resolved, in_review = cls.claims
        cls.a_on_disputed = judge(disputed, cls.reviewer_a, "true", now=T0)
        cls.b_on_disputed = judge(disputed, cls.reviewer_b, "false", now=T0)
        judge(resolved, cls.reviewer_a, "false", now=T0)
        judge(resolved, cls.reviewer_b, "false", now=T0)
        judge(in_review, cls.reviewer_a, "half_true", now=T0)
        cls.disputed, cls.resolved, cls.in_review = disputed, resolved, in_review


class ClaimAdjudicateTests(EditorTestCase):
    def adjudicate(
        self, *, claim: Claim | None = None, editor: Any = None, **kwargs: Any
    ) -> Consensus:
        kwargs.setdefault("rating", "true")
        kwargs.setdefault("note", "The police figures cover the whole city.")
        return services.claim_adjudicate(
            claim=claim or self.disputed, editor=editor or self.editor, **kwargs
        )

    def test_it_records_an_adjudicated_consensus(self) -> None:
        since = self.last_event_id()
        record = self.adjudicate(rating="half_true", note="  Both are partly right.  ")
        self.assertEqual(record.method, ConsensusMethod.ADJUDICATED)
        self.assertEqual(record.rating.key, "half_true")
        self.assertEqual(record.decided_by, self.editor)
        self.assertEqual(record.note, "Both are partly right.")
        self.assertEqual(record.agreement, 0.0)
        self.assertEqual((record.sequence, record.is_current), (1, True))
        self.assertEqual(set(record.verdicts.all()), {self.a_on_disputed, self.b_on_disputed})
        self.assertEqual(self.fresh(self.disputed).status, ClaimStatus.RESOLVED)
        self.assertEqual(self.verbs_since(since), ["consensus.adjudicated", "claim.status"])
        event = Event.objects.get(verb="consensus.adjudicated")
        self.assertEqual(event.actor, self.editor)
        self.assertEqual(event.after["note"], "Both are partly right.")

    def test_it_records_the_share_of_verdicts_for_the_chosen_rating(self) -> None:
        record = self.adjudicate(rating="true")
        self.assertEqual(record.agreement, 0.5)

    def test_it_lets_an_admin_adjudicate(self) -> None:
        record = self.adjudicate(editor=self.admin)
        self.assertEqual(record.decided_by, self.admin)

    def test_it_refuses_anyone_below_editor(self) -> None:
        for user in (self.reviewer_a, self.creator, self.outsider):
            with self.subTest(user=user.get_username()):
                before = self.row_counts()
                with self.assertRaises(PermissionDenied):
                    self.adjudicate(editor=user)
                self.assertWritesNothing(before)
        self.assertEqual(self.fresh(self.disputed).status, ClaimStatus.DISPUTED)

    def test_it_requires_a_note_and_a_known_rating(self) -> None:
        cases = (
            ({"note": ""}, "note"),
            ({"note": "  \n "}, "note"),
            ({"rating": "pants_on_fire"}, "rating"),
        )
        for kwargs, field in cases:
            with self.subTest(kwargs=kwargs):
                before = self.row_counts()
                with self.assertRaises(ValidationError) as ctx:
                    self.adjudicate(**kwargs)
                self.assertIn(field, ctx.exception.message_dict)
                self.assertWritesNothing(before)

    def test_it_adjudicates_only_disputed_claims(self) -> None:
        for claim in (self.resolved, self.in_review):
            with self.subTest(status=claim.status):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    self.adjudicate(claim=claim)
                self.assertWritesNothing(before)

    def test_a_revision_after_the_reveal_never_resolves_a_disputed_claim(self) -> None:
        # Issue 14: a reviewer who now sees the other verdict and changes theirs to agree
        # does not make the claim "unanimous": the editors are told instead.
        since = self.last_event_id()
        revised = services.verdict_submit(
            claim=self.disputed,
            reviewer=self.reviewer_b,
            rating="true",
            confidence="medium",
            now=T0,
        )
        self.assertTrue(revised.post_reveal)
        claim = self.fresh(self.disputed)
        self.assertEqual(claim.status, ClaimStatus.DISPUTED)
        self.assertIsNone(claim.consensus)
        self.assertFalse(Consensus.objects.filter(claim=claim).exists())
        self.assertEqual(self.verbs_since(since), ["verdict.revise", "claim.needs_adjudication"])
        # Adjudication still works, and rests on the verdicts as they now are.
        record = services.claim_adjudicate(
            claim=claim, editor=self.editor, rating="true", note="Both now agree; checked."
        )
        self.assertEqual(set(record.verdicts.all()), {self.a_on_disputed, revised})
        self.assertEqual(self.fresh(claim).consensus, record)
        # The revision counts for no agreement: of the two blind verdicts (true, false),
        # one gave the editor's rating.
        self.assertEqual(record.agreement, 0.5)

    def test_it_keeps_a_claim_disputed_when_a_revision_still_disagrees(self) -> None:
        since = self.last_event_id()
        services.verdict_submit(
            claim=self.disputed,
            reviewer=self.reviewer_b,
            rating="mostly_false",
            confidence="low",
            now=T0,
        )
        self.assertEqual(self.fresh(self.disputed).status, ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.filter(claim=self.disputed).exists())
        self.assertEqual(self.verbs_since(since), ["verdict.revise", "claim.needs_adjudication"])


class SoleReviewerReopenTests(QueueTestCase):
    """One required review: a reviewer who judged alone, then the claim reopened."""

    policy: ClassVar[dict[str, Any]] = {"required_reviews": 1}
    claim_count = 1

    def test_a_blind_revision_after_a_reopen_leaves_the_decision_to_the_editors(self) -> None:
        (claim,) = self.claims
        judge(claim, self.reviewer_a, "false", now=T0)
        self.assertEqual(self.fresh(claim).status, ClaimStatus.RESOLVED)
        services.claim_reopen(claim=claim, editor=self.editor, note="New figures came out.")
        card = selectors.dispute_card_get(project=self.project, claim_id=claim.pk)
        self.assertFalse(card.revised_while_disputed or card.revised_after_reveal)
        since = self.last_event_id()
        revised = services.verdict_submit(
            claim=claim, reviewer=self.reviewer_a, rating="true", confidence="high", now=T0
        )
        # Nobody else judged it: the revision is blind, yet the rule does not decide a
        # reopened claim again; the editors are told and decide.
        self.assertFalse(revised.post_reveal)
        self.assertEqual(self.fresh(claim).status, ClaimStatus.DISPUTED)
        self.assertIsNone(self.fresh(claim).consensus)
        self.assertEqual(
            list(Consensus.objects.filter(claim=claim).values_list("sequence", "is_current")),
            [(1, False)],
        )
        self.assertEqual(self.verbs_since(since), ["verdict.revise", "claim.needs_adjudication"])
        event = Event.objects.filter(verb="claim.needs_adjudication").get()
        self.assertEqual(event.after["reason"], "revised while the claim is disputed")
        # The disputes page flags it for the editors.
        card = selectors.dispute_card_get(project=self.project, claim_id=claim.pk)
        self.assertEqual((card.revised_while_disputed, card.revised_after_reveal), (True, False))
        record = services.claim_adjudicate(
            claim=claim, editor=self.editor, rating="true", note="The new series agrees."
        )
        self.assertEqual((record.sequence, record.method), (2, ConsensusMethod.ADJUDICATED))
        self.assertEqual(self.fresh(claim).status, ClaimStatus.RESOLVED)


class ClaimReopenTests(EditorTestCase):
    def test_it_reopens_a_resolved_claim_and_keeps_its_consensus_in_the_history(self) -> None:
        first = Consensus.objects.get(claim=self.resolved)
        since = self.last_event_id()
        claim = services.claim_reopen(
            claim=self.resolved, editor=self.editor, note="New figures were published."
        )
        self.assertEqual(claim.status, ClaimStatus.DISPUTED)
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.DISPUTED)
        first = self.fresh(first)
        self.assertFalse(first.is_current)
        self.assertEqual((first.sequence, first.method), (1, ConsensusMethod.UNANIMOUS))
        self.assertEqual(self.verbs_since(since), ["consensus.supersede", "claim.status"])
        status_event = Event.objects.filter(verb="claim.status").order_by("-id").first()
        self.assertEqual(
            status_event.after, {"status": "disputed", "note": "New figures were published."}
        )
        # An editor now adjudicates: the record is appended as sequence 2.
        second = services.claim_adjudicate(
            claim=self.resolved, editor=self.editor, rating="mostly_false", note="Re-checked."
        )
        self.assertEqual((second.sequence, second.is_current), (2, True))
        history = list(selectors.consensus_history(claim=self.resolved))
        self.assertEqual([r.pk for r in history], [first.pk, second.pk])
        self.assertEqual(
            [(r.sequence, r.method, r.is_current) for r in history],
            [(1, "unanimous", False), (2, "adjudicated", True)],
        )
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.RESOLVED)

    def test_it_never_reopens_a_published_claim(self) -> None:
        # The integrity finding: reopening a published claim let an editor revise what
        # readers saw; a published claim is corrected or retracted instead.
        services.claim_publish(
            claim=self.resolved, editor=self.editor, summary="Checked against the official figures."
        )
        before = self.row_counts()
        with self.assertRaises(QueueConflict) as ctx:
            services.claim_reopen(claim=self.resolved, editor=self.editor, note="Correction")
        self.assertIn("corrected instead", str(ctx.exception))
        self.assertWritesNothing(before)
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.PUBLISHED)

    def test_it_lets_reviewers_revise_after_a_reopen_and_leaves_the_decision_to_editors(
        self,
    ) -> None:
        services.claim_reopen(claim=self.resolved, editor=self.editor, note="Check again")
        for reviewer in (self.reviewer_a, self.reviewer_b):
            verdict = services.verdict_submit(
                claim=self.resolved, reviewer=reviewer, rating="half_true", confidence="low", now=T0
            )
            # Both reviewers have seen each other's verdicts: post-reveal, not counted.
            self.assertTrue(verdict.post_reveal)
            self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.DISPUTED)
        second = services.claim_adjudicate(
            claim=self.resolved, editor=self.editor, rating="half_true", note="New series."
        )
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.RESOLVED)
        # The record rests on the verdicts as they now are, but its agreement is that of
        # the blind ones (both "false" before the reopen): none gave "half_true". Counting
        # the post-reveal revisions would record 1.0.
        self.assertEqual(second.agreement, 0.0)
        self.assertTrue(all(v.post_reveal for v in second.verdicts.all()))
        self.assertEqual(
            list(
                Consensus.objects.filter(claim=self.resolved)
                .order_by("sequence")
                .values_list("sequence", "rating__key", "is_current")
            ),
            [(1, "false", False), (2, "half_true", True)],
        )

    def test_it_refuses_bad_reopens(self) -> None:
        cases = (
            ("reviewer", {"editor": self.reviewer_a}, PermissionDenied),
            ("outsider", {"editor": self.outsider}, PermissionDenied),
            ("no note", {"note": " "}, ValidationError),
            ("disputed claim", {"claim": self.disputed}, QueueConflict),
            ("claim in review", {"claim": self.in_review}, QueueConflict),
        )
        for label, overrides, error in cases:
            with self.subTest(label):
                kwargs = {"claim": self.resolved, "editor": self.editor, "note": "Why"} | overrides
                before = self.row_counts()
                with self.assertRaises(error):
                    services.claim_reopen(**kwargs)
                self.assertWritesNothing(before)


class ClaimPublishTests(EditorTestCase):
    def test_it_publishes_a_resolved_claim(self) -> None:
        since = self.last_event_id()
        version = services.claim_publish(
            claim=self.resolved, editor=self.editor, summary="Checked against the official figures."
        )
        self.assertEqual((version.number, version.kind), (1, "publish"))
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.PUBLISHED)
        self.assertEqual(self.verbs_since(since), ["publication.publish", "claim.status"])
        self.assertEqual(
            Event.objects.filter(id__gt=since, verb="claim.status").get().after,
            {"status": "published"},
        )

    def test_it_publishes_only_resolved_claims(self) -> None:
        services.claim_withdraw(claim=self.in_review, actor=self.editor, reason="Dup", now=T0)
        services.claim_publish(
            claim=self.resolved, editor=self.editor, summary="Checked against the official figures."
        )
        for claim in (self.disputed, self.in_review, self.resolved):
            with self.subTest(status=self.fresh(claim).status):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    services.claim_publish(
                        claim=claim,
                        editor=self.editor,
                        summary="Checked against the official figures.",
                    )
                self.assertWritesNothing(before)

    def test_it_refuses_reviewers(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.claim_publish(
                claim=self.resolved,
                editor=self.reviewer_a,
                summary="Checked against the official figures.",
            )
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.RESOLVED)


class ClaimWithdrawTests(EditorTestCase):
    def test_it_withdraws_a_claim_and_ends_its_leases(self) -> None:
        lease = self.lease(self.reviewer_b)  # in_review, a's verdict plus b's lease
        assert lease is not None and lease.claim_id == self.in_review.pk
        since = self.last_event_id()
        claim = services.claim_withdraw(
            claim=self.in_review, actor=self.editor, reason=" Duplicate of #12 ", now=T0 + SECOND
        )
        self.assertEqual(claim.status, ClaimStatus.WITHDRAWN)
        lease = self.fresh(lease)
        self.assertEqual((lease.state, lease.closed_at), (AssignmentState.RELEASED, T0 + SECOND))
        self.assertEqual(self.verbs_since(since), ["lease.release", "claim.status"])
        self.assertEqual(
            Event.objects.get(id__gt=since, verb="lease.release").after,
            {"claim": self.in_review.pk, "reason": "claim withdrawn"},
        )
        self.assertEqual(
            Event.objects.get(id__gt=since, verb="claim.status").after,
            {"status": "withdrawn", "note": "Duplicate of #12"},
        )
        with self.assertRaises(QueueConflict):
            services.verdict_submit(
                claim=self.in_review,
                reviewer=self.reviewer_b,
                rating="true",
                confidence="low",
                now=T0,
            )
        self.assertIsNone(self.lease(self.reviewer_c))

    def test_it_lets_the_creator_withdraw_before_any_verdict(self) -> None:
        fresh_claim = make_claim(
            document=self.document, actor=self.creator, exact="Others disagree"
        )
        claim = services.claim_withdraw(
            claim=fresh_claim, actor=self.creator, reason="Not a claim", now=T0
        )
        self.assertEqual(claim.status, ClaimStatus.WITHDRAWN)

    def test_it_refuses_bad_withdrawals(self) -> None:
        services.claim_publish(
            claim=self.resolved, editor=self.editor, summary="Checked against the official figures."
        )
        services.claim_withdraw(claim=self.disputed, actor=self.editor, reason="Dup", now=T0)
        cases = (
            ("creator after a verdict", {"actor": self.creator}, PermissionDenied),
            ("another reviewer", {"actor": self.reviewer_c}, PermissionDenied),
            ("outsider", {"actor": self.outsider}, PermissionDenied),
            ("no reason", {"reason": ""}, ValidationError),
            ("already withdrawn", {"claim": self.disputed}, QueueConflict),
            ("published", {"claim": self.resolved}, QueueConflict),
        )
        for label, overrides, error in cases:
            with self.subTest(label):
                kwargs = {
                    "claim": self.in_review,
                    "actor": self.editor,
                    "reason": "Why",
                    "now": T0,
                } | overrides
                before = self.row_counts()
                with self.assertRaises(error):
                    services.claim_withdraw(**kwargs)
                self.assertWritesNothing(before)


class ConsensusRecomputeTests(QueueTestCase):
    """Three required reviews, unanimous: claims[0] disputed 2:1, claims[1] resolved."""

    policy = {"required_reviews": 3}
    claim_count = 2

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        reviewers = (cls.reviewer_a, cls.reviewer_b, cls.reviewer_c)
        for reviewer, rating in zip(reviewers, ("false", "false", "true"), strict=True):
            judge(cls.claims[0], reviewer, rating, now=T0)
        for reviewer in reviewers:
            judge(cls.claims[1], reviewer, "true", now=T0)
        cls.disputed, cls.resolved = cls.claims

    def recompute(self, claim: Claim) -> Consensus | None:
        return services.consensus_recompute(claim=claim, actor=self.admin)

    def recompute_outcome(self, since: int) -> str:
        return Event.objects.get(id__gt=since, verb="consensus.recompute").after["outcome"]

    def test_only_editors_recompute(self) -> None:
        before = self.last_event_id()
        for user in (self.reviewer_a, self.outsider):
            with self.subTest(user=user.username), self.assertRaises(PermissionDenied):
                services.consensus_recompute(claim=self.disputed, actor=user)
        self.assertEqual(self.verbs_since(before), [])
        services.consensus_recompute(claim=self.disputed, actor=self.editor)
        self.assertEqual(self.verbs_since(before), ["consensus.recompute"])

    def test_it_writes_only_an_event_when_nothing_changed(self) -> None:
        for claim, outcome in ((self.resolved, "unchanged"), (self.disputed, "unchanged")):
            with self.subTest(status=claim.status):
                before = self.row_counts()
                since = self.last_event_id()
                self.assertIsNone(self.recompute(claim))
                self.assertEqual(self.verbs_since(since), ["consensus.recompute"])
                self.assertEqual(self.recompute_outcome(since), outcome)
                self.assertEqual(Event.objects.get(id__gt=since).object_id, claim.pk)
                self.assertEqual(self.row_counts(), before | {"Event": before["Event"] + 1})

    def test_it_leaves_a_reopened_claim_to_the_editors(self) -> None:
        services.claim_reopen(claim=self.resolved, editor=self.editor, note="New evidence")
        since = self.last_event_id()
        self.assertIsNone(self.recompute(self.resolved))
        self.assertEqual(self.recompute_outcome(since), "kept for adjudication (reopened)")
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.filter(claim=self.resolved, is_current=True).exists())

    def test_it_keeps_an_adjudication(self) -> None:
        adjudicated = services.claim_adjudicate(
            claim=self.disputed, editor=self.editor, rating="half_true", note="Both partly right"
        )
        services.project_update(project=self.project, actor=self.admin, consensus_rule="majority")
        since = self.last_event_id()
        self.assertIsNone(self.recompute(self.disputed))
        self.assertEqual(self.verbs_since(since), ["consensus.recompute"])
        self.assertEqual(self.recompute_outcome(since), "kept adjudication")
        current = Consensus.objects.get(claim=self.disputed, is_current=True)
        self.assertEqual(current.pk, adjudicated.pk)
        self.assertEqual(self.fresh(self.disputed).status, ClaimStatus.RESOLVED)

    def test_it_resolves_a_disputed_claim_after_a_rule_change(self) -> None:
        services.project_update(project=self.project, actor=self.admin, consensus_rule="majority")
        since = self.last_event_id()
        record = self.recompute(self.disputed)
        assert record is not None
        self.assertEqual((record.method, record.rating.key), (ConsensusMethod.MAJORITY, "false"))
        self.assertAlmostEqual(record.agreement, 2 / 3)
        self.assertEqual(record.verdicts.count(), 3)
        self.assertEqual(self.fresh(self.disputed).status, ClaimStatus.RESOLVED)
        self.assertEqual(
            self.verbs_since(since), ["consensus.majority", "claim.status", "consensus.recompute"]
        )
        self.assertEqual(self.recompute_outcome(since), "recorded")

    def test_it_disputes_a_majority_resolution_after_the_threshold_rises(self) -> None:
        services.project_update(project=self.project, actor=self.admin, consensus_rule="majority")
        first = self.recompute(self.disputed)
        services.project_update(project=self.project, actor=self.admin, majority_threshold=0.7)
        since = self.last_event_id()
        self.assertIsNone(self.recompute(self.disputed))
        self.assertEqual(self.fresh(self.disputed).status, ClaimStatus.DISPUTED)
        self.assertFalse(self.fresh(first).is_current)
        self.assertEqual(
            self.verbs_since(since), ["consensus.supersede", "claim.status", "consensus.recompute"]
        )
        self.assertEqual(self.recompute_outcome(since), "disputed")
