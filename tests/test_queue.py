"""Tests for the review queue and consensus services in annotations.services.

Leases, skips, verdicts and their revisions, consensus under both rules, adjudication,
reopen, publish, withdraw and recompute. Every service is called with an explicit
``now=`` where it takes one, so lease expiry is tested without sleeping.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from annotations import selectors, services
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Event,
    Source,
    Verdict,
)
from annotations.services import CitationInput, QueueConflict
from tests.factories import Personas, judge, make_claim

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=30)  # the default Project.lease_minutes
SECOND = dt.timedelta(seconds=1)

CLAIM_TEXTS = (
    "crime fell 20% last year",
    "Unemployment is at a record low of 3.1%",
    "the new bridge cost $2 billion",
)
SCALE_KEYS = (
    "true",
    "mostly_true",
    "half_true",
    "mostly_false",
    "false",
    "misleading",
    "unverifiable",
    "not_checkable",
)


class QueueTestCase(Personas, TestCase):
    """Personas, a project with ``policy`` and ``claim_count`` claims by ``creator``
    (created in order, so ``claims[0]`` is the oldest)."""

    policy: ClassVar[dict[str, Any]] = {}
    claim_count: ClassVar[int] = 3

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(**cls.policy)
        cls.claims = [
            make_claim(document=cls.document, actor=cls.creator, exact=text)
            for text in CLAIM_TEXTS[: cls.claim_count]
        ]

    # --- helpers -------------------------------------------------------------------

    def lease(self, reviewer: Any, *, now: dt.datetime = T0) -> Assignment | None:
        return services.lease_next(reviewer=reviewer, project=self.project, now=now)

    @staticmethod
    def fresh(obj: Any) -> Any:
        return type(obj).objects.get(pk=obj.pk)

    @staticmethod
    def last_event_id() -> int:
        return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0

    @staticmethod
    def verbs_since(event_id: int) -> list[str]:
        return list(
            Event.objects.filter(id__gt=event_id).order_by("id").values_list("verb", flat=True)
        )

    @staticmethod
    def row_counts() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (Verdict, Citation, Source, Event, Consensus, Assignment)
        }

    def assertWritesNothing(self, before: dict[str, int]) -> None:
        self.assertEqual(self.row_counts(), before)


# --- lease_next --------------------------------------------------------------------------


class LeaseNextTests(QueueTestCase):
    def test_it_leases_the_oldest_eligible_claim(self) -> None:
        since = self.last_event_id()
        assignment = self.lease(self.reviewer_a)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[0].pk)
        self.assertEqual(assignment.reviewer, self.reviewer_a)
        self.assertEqual(assignment.state, AssignmentState.LEASED)
        self.assertEqual(assignment.leased_at, T0)
        self.assertEqual(assignment.expires_at, T0 + LEASE)
        self.assertEqual(self.verbs_since(since), ["lease.create"])
        event = Event.objects.get(id__gt=since)
        self.assertEqual(event.actor, self.reviewer_a)
        self.assertEqual(event.object_id, assignment.pk)
        self.assertEqual(event.after["claim"], self.claims[0].pk)

    def test_it_never_offers_the_callers_own_claim(self) -> None:
        self.assertIsNone(self.lease(self.creator))
        own = make_claim(document=self.document, actor=self.reviewer_a, exact="Others disagree")
        for claim in self.claims:
            judge(claim, self.reviewer_a, "true", now=T0)
        self.assertIsNone(self.lease(self.reviewer_a))
        offered = self.lease(self.reviewer_b)
        assert offered is not None
        self.assertEqual(offered.claim_id, self.claims[0].pk)
        self.assertNotEqual(offered.claim_id, own.pk)

    def test_it_does_not_offer_a_claim_the_reviewer_judged(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        assignment = self.lease(self.reviewer_a)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[1].pk)

    def test_it_does_not_offer_a_claim_the_reviewer_skipped(self) -> None:
        services.claim_skip(
            claim=self.claims[0], reviewer=self.reviewer_a, reason="I wrote the story", now=T0
        )
        assignment = self.lease(self.reviewer_a)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[1].pk)

    def test_it_returns_the_held_lease_when_called_again(self) -> None:
        first = self.lease(self.reviewer_a)
        since = self.last_event_id()
        for later in (T0, T0 + SECOND, T0 + LEASE - SECOND):
            with self.subTest(now=later):
                again = self.lease(self.reviewer_a, now=later)
                assert first is not None and again is not None
                self.assertEqual(again.pk, first.pk)
                self.assertEqual(again.expires_at, T0 + LEASE)
        self.assertEqual(
            Assignment.objects.filter(
                reviewer=self.reviewer_a, state=AssignmentState.LEASED
            ).count(),
            1,
        )
        self.assertEqual(self.verbs_since(since), [])

    def test_it_offers_a_released_claim_to_its_holder_again(self) -> None:
        # A lease, given back, is an ordinary eligible claim again (release is not skip).
        first = self.lease(self.reviewer_a)
        assert first is not None
        services.lease_release(claim=self.claims[0], reviewer=self.reviewer_a, now=T0)
        second = self.lease(self.reviewer_a, now=T0 + SECOND)
        assert second is not None
        self.assertNotEqual(second.pk, first.pk)
        self.assertEqual(second.claim_id, self.claims[0].pk)

    def test_it_returns_none_when_nothing_is_eligible(self) -> None:
        for claim in self.claims:
            judge(claim, self.reviewer_a, "true", now=T0)
        before = self.row_counts()
        self.assertIsNone(self.lease(self.reviewer_a))
        self.assertWritesNothing(before)

    def test_it_does_not_offer_claims_out_of_review(self) -> None:
        services.claim_withdraw(claim=self.claims[0], actor=self.editor, reason="Duplicate", now=T0)
        judge(self.claims[1], self.reviewer_a, "true", now=T0)
        judge(self.claims[1], self.reviewer_b, "true", now=T0)  # resolved
        assignment = self.lease(self.reviewer_c)
        assert assignment is not None
        self.assertEqual(assignment.claim_id, self.claims[2].pk)

    def test_it_refuses_a_non_member(self) -> None:
        before = self.row_counts()
        with self.assertRaises(PermissionDenied):
            self.lease(self.outsider)
        self.assertWritesNothing(before)


class LeaseSlotTests(QueueTestCase):
    """One claim, two required reviews: two slots."""

    claim_count = 1

    def test_it_gives_a_third_reviewer_nothing_while_two_leases_are_active(self) -> None:
        self.assertIsNotNone(self.lease(self.reviewer_a))
        self.assertIsNotNone(self.lease(self.reviewer_b))
        self.assertIsNone(self.lease(self.reviewer_c))
        self.assertEqual(Assignment.objects.filter(state=AssignmentState.LEASED).count(), 2)

    def test_it_counts_a_submitted_verdict_as_a_taken_slot(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        self.assertIsNotNone(self.lease(self.reviewer_b))
        self.assertIsNone(self.lease(self.reviewer_c))

    def test_it_frees_the_slot_of_an_expired_lease(self) -> None:
        held_a = self.lease(self.reviewer_a, now=T0)
        held_b = self.lease(self.reviewer_b, now=T0 + dt.timedelta(minutes=10))
        assert held_a is not None and held_b is not None
        before = self.row_counts()
        self.assertIsNone(self.lease(self.reviewer_c, now=T0 + LEASE - SECOND))
        self.assertWritesNothing(before)
        taken = self.lease(self.reviewer_c, now=T0 + LEASE + SECOND)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)
        # The holder of the expired lease asks again: the lease is closed as expired and,
        # with b and c holding both slots, there is nothing for them.
        since = self.last_event_id()
        self.assertIsNone(self.lease(self.reviewer_a, now=T0 + LEASE + SECOND))
        expired = self.fresh(held_a)
        self.assertEqual(expired.state, AssignmentState.EXPIRED)
        self.assertEqual(expired.closed_at, T0 + LEASE + SECOND)
        self.assertEqual(self.verbs_since(since), ["lease.expire"])
        self.assertEqual(Event.objects.get(id__gt=since).object_id, held_a.pk)
        self.assertEqual(self.fresh(held_b).state, AssignmentState.LEASED)

    def test_it_ends_a_lease_at_its_expiry_instant(self) -> None:
        self.lease(self.reviewer_a, now=T0)
        self.lease(self.reviewer_b, now=T0)
        taken = self.lease(self.reviewer_c, now=T0 + LEASE)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)

    def test_it_offers_the_claim_again_to_the_holder_of_an_expired_lease_if_a_slot_is_free(
        self,
    ) -> None:
        held = self.lease(self.reviewer_a, now=T0)
        assert held is not None
        again = self.lease(self.reviewer_a, now=T0 + LEASE + SECOND)
        assert again is not None
        self.assertNotEqual(again.pk, held.pk)
        self.assertEqual(again.claim_id, self.claims[0].pk)
        self.assertEqual(again.expires_at, T0 + LEASE + SECOND + LEASE)
        self.assertEqual(self.fresh(held).state, AssignmentState.EXPIRED)

    def test_it_frees_the_slot_on_release(self) -> None:
        held = self.lease(self.reviewer_a)
        self.lease(self.reviewer_b)
        since = self.last_event_id()
        released = services.lease_release(
            claim=self.claims[0], reviewer=self.reviewer_a, now=T0 + SECOND
        )
        self.assertEqual(released.pk, held.pk)
        self.assertEqual(released.state, AssignmentState.RELEASED)
        self.assertEqual(self.fresh(held).closed_at, T0 + SECOND)
        self.assertEqual(self.verbs_since(since), ["lease.release"])
        taken = self.lease(self.reviewer_c, now=T0 + SECOND)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)
        before = self.row_counts()
        with self.assertRaises(QueueConflict):
            services.lease_release(claim=self.claims[0], reviewer=self.reviewer_a, now=T0 + SECOND)
        self.assertWritesNothing(before)

    def test_it_refuses_to_release_a_lease_that_is_not_held(self) -> None:
        self.lease(self.reviewer_a, now=T0)
        cases = (
            ("never leased", self.reviewer_b, T0),
            ("expired", self.reviewer_a, T0 + LEASE + SECOND),
        )
        for label, reviewer, now in cases:
            with self.subTest(label):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    services.lease_release(claim=self.claims[0], reviewer=reviewer, now=now)
                self.assertWritesNothing(before)

    def test_it_frees_the_slot_on_skip(self) -> None:
        self.lease(self.reviewer_a)
        self.lease(self.reviewer_b)
        services.claim_skip(
            claim=self.claims[0], reviewer=self.reviewer_a, reason="Conflict of interest", now=T0
        )
        taken = self.lease(self.reviewer_c)
        assert taken is not None
        self.assertEqual(taken.claim_id, self.claims[0].pk)


# --- claim_skip -------------------------------------------------------------------------


class ClaimSkipTests(QueueTestCase):
    claim_count = 2

    def test_it_requires_a_reason(self) -> None:
        self.lease(self.reviewer_a)
        for reason in ("", "   \n", None, "x" * 2001):
            with self.subTest(reason=reason if reason is None else reason[:5]):
                before = self.row_counts()
                with self.assertRaises(ValidationError) as ctx:
                    services.claim_skip(
                        claim=self.claims[0], reviewer=self.reviewer_a, reason=reason, now=T0
                    )
                self.assertIn("reason", ctx.exception.message_dict)
                self.assertWritesNothing(before)
                self.assertEqual(
                    Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
                )

    def test_it_never_offers_a_skipped_claim_to_that_reviewer_again(self) -> None:
        held = self.lease(self.reviewer_a)
        since = self.last_event_id()
        skipped = services.claim_skip(
            claim=self.claims[0], reviewer=self.reviewer_a, reason=" I wrote the story ", now=T0
        )
        self.assertEqual(skipped.pk, held.pk)
        skipped = self.fresh(skipped)
        self.assertEqual(skipped.state, AssignmentState.SKIPPED)
        self.assertEqual(skipped.reason, "I wrote the story")
        self.assertEqual(skipped.closed_at, T0)
        self.assertEqual(self.verbs_since(since), ["claim.skip"])
        self.assertEqual(Event.objects.get(id__gt=since).after["reason"], "I wrote the story")
        # a moves on to the next claim and, once that is done, gets nothing, at any time.
        judge(self.claims[1], self.reviewer_a, "true", now=T0 + SECOND)
        for later in (T0 + SECOND, T0 + dt.timedelta(days=30)):
            with self.subTest(now=later):
                self.assertIsNone(self.lease(self.reviewer_a, now=later))
        # Others are still offered it.
        offered = self.lease(self.reviewer_b, now=T0 + SECOND)
        assert offered is not None
        self.assertEqual(offered.claim_id, self.claims[0].pk)

    def test_it_skips_without_a_lease(self) -> None:
        skipped = services.claim_skip(
            claim=self.claims[1], reviewer=self.reviewer_a, reason="Conflict of interest", now=T0
        )
        self.assertEqual(skipped.state, AssignmentState.SKIPPED)
        self.assertEqual(skipped.claim_id, self.claims[1].pk)
        self.assertFalse(Assignment.objects.filter(state=AssignmentState.LEASED).exists())

    def test_it_refuses_a_second_skip_and_a_skip_after_judging(self) -> None:
        services.claim_skip(claim=self.claims[0], reviewer=self.reviewer_a, reason="COI", now=T0)
        judge(self.claims[0], self.reviewer_b, "true", now=T0)
        cases = (("skipped twice", self.reviewer_a), ("already judged", self.reviewer_b))
        for label, reviewer in cases:
            with self.subTest(label):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    services.claim_skip(
                        claim=self.claims[0], reviewer=reviewer, reason="again", now=T0
                    )
                self.assertWritesNothing(before)

    def test_it_refuses_a_non_member(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.claim_skip(claim=self.claims[0], reviewer=self.outsider, reason="x", now=T0)


# --- verdict_submit ----------------------------------------------------------------------


class VerdictSubmitTests(QueueTestCase):
    claim_count = 2

    def submit(self, reviewer: Any = None, claim: Claim | None = None, **kwargs: Any) -> Verdict:
        kwargs.setdefault("rating", "false")
        kwargs.setdefault("confidence", "high")
        kwargs.setdefault("now", T0)
        return services.verdict_submit(
            claim=claim or self.claims[0], reviewer=reviewer or self.reviewer_a, **kwargs
        )

    def test_it_records_a_verdict_on_the_leased_claim(self) -> None:
        lease = self.lease(self.reviewer_a)
        since = self.last_event_id()
        verdict = self.submit(
            rating="mostly_false", confidence="medium", rationale="The figure is 12%."
        )
        self.assertEqual(verdict.rating.key, "mostly_false")
        self.assertEqual(verdict.confidence, "medium")
        self.assertEqual(verdict.rationale, "The figure is 12%.")
        self.assertEqual(verdict.revision, 1)
        self.assertTrue(verdict.is_current)
        lease = self.fresh(lease)
        self.assertEqual(lease.state, AssignmentState.SUBMITTED)
        self.assertEqual(lease.closed_at, T0)
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.IN_REVIEW)
        self.assertEqual(self.verbs_since(since), ["verdict.submit"])
        event = Event.objects.get(id__gt=since)
        self.assertIsNone(event.before)
        self.assertEqual(event.after["rating"], "mostly_false")
        self.assertEqual(event.after["revision"], 1)

    def test_it_refuses_a_verdict_without_a_lease(self) -> None:
        before = self.row_counts()
        with self.assertRaises(QueueConflict):
            self.submit()
        self.assertWritesNothing(before)

    def test_it_refuses_a_verdict_on_another_claim_than_the_leased_one(self) -> None:
        self.lease(self.reviewer_a)  # claims[0]
        before = self.row_counts()
        with self.assertRaises(QueueConflict):
            self.submit(claim=self.claims[1])
        self.assertWritesNothing(before)

    def test_it_refuses_a_verdict_with_an_expired_lease(self) -> None:
        lease = self.lease(self.reviewer_a, now=T0)
        for now in (T0 + LEASE, T0 + LEASE + SECOND):
            with self.subTest(now=now):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    self.submit(now=now)
                self.assertWritesNothing(before)
                self.assertEqual(self.fresh(lease).state, AssignmentState.LEASED)

    def test_it_refuses_a_non_member(self) -> None:
        with self.assertRaises(PermissionDenied):
            self.submit(reviewer=self.outsider)

    def test_it_rejects_bad_input_and_writes_nothing(self) -> None:
        self.lease(self.reviewer_a)
        too_many = tuple(
            CitationInput(stance="supports", url=f"https://example.org/{n}") for n in range(51)
        )
        cases = (
            ("unknown rating", {"rating": "pants_on_fire"}, "rating"),
            ("rating not a string", {"rating": None}, "rating"),
            ("unknown confidence", {"confidence": "certain"}, "confidence"),
            ("empty confidence", {"confidence": ""}, "confidence"),
            ("rationale too long", {"rationale": "x" * 20_001}, "rationale"),
            ("too many citations", {"citations": too_many}, "citations"),
        )
        for label, kwargs, field in cases:
            with self.subTest(label):
                before = self.row_counts()
                with self.assertRaises(ValidationError) as ctx:
                    self.submit(**kwargs)
                self.assertIn(field, ctx.exception.message_dict)
                self.assertWritesNothing(before)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_it_lists_the_scale_when_the_rating_is_unknown(self) -> None:
        self.lease(self.reviewer_a)
        with self.assertRaises(ValidationError) as ctx:
            self.submit(rating="pants_on_fire")
        (message,) = ctx.exception.message_dict["rating"]
        self.assertIn("'pants_on_fire'", message)
        for key in SCALE_KEYS:
            self.assertIn(key, message)

    def _bad_citation_cases(self) -> tuple[tuple[str, tuple[CitationInput, ...], str], ...]:
        good = CitationInput(stance="supports", url="https://stats.example.org/crime-2024")
        return (
            (
                "javascript: url",
                (CitationInput(stance="refutes", url="javascript:alert(1)"),),
                "Citation 1, url",
            ),
            (
                "data: url",
                (CitationInput(stance="refutes", url="data:text/html,<b>x</b>"),),
                "Citation 1, url",
            ),
            (
                "unknown stance",
                (CitationInput(stance="agrees", url="https://example.org/a"),),
                "Citation 1, stance",
            ),
            ("no url and no source", (CitationInput(stance="context"),), "Citation 1, url"),
            (
                "unknown source id",
                (CitationInput(stance="context", source_id=999_999),),
                "Citation 1, source",
            ),
            (
                "quote too long",
                (CitationInput(stance="context", url="https://example.org/q", quote="q" * 5001),),
                "Citation 1, quote",
            ),
            (
                "good then bad",
                (good, CitationInput(stance="refutes", url="javascript:void(0)")),
                "Citation 2, url",
            ),
        )

    def test_it_rejects_a_bad_citation_and_writes_nothing(self) -> None:
        self.lease(self.reviewer_a)
        for label, citations, expected in self._bad_citation_cases():
            with self.subTest(label):
                before = self.row_counts()
                with self.assertRaises(ValidationError) as ctx:
                    self.submit(citations=citations)
                messages = ctx.exception.message_dict["citations"]
                self.assertTrue(any(expected in message for message in messages), messages)
                self.assertWritesNothing(before)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_it_creates_one_source_per_normalized_url(self) -> None:
        self.lease(self.reviewer_a)
        since = self.last_event_id()
        verdict = self.submit(
            citations=(
                CitationInput(
                    stance="refutes",
                    url="HTTPS://Stats.Example.org:443/crime?year=2024&utm_source=x#table",
                    quote="Crime fell 12%.",
                ),
                CitationInput(stance="context", url="https://stats.example.org/crime?year=2024"),
            )
        )
        source = Source.objects.get()
        self.assertEqual(source.normalized_url, "https://stats.example.org/crime?year=2024")
        self.assertEqual(
            list(verdict.citations.order_by("id").values_list("source_id", "stance", "quote")),
            [(source.pk, "refutes", "Crime fell 12%."), (source.pk, "context", "")],
        )
        self.assertEqual(self.verbs_since(since), ["source.create", "verdict.submit"])
        # A later verdict citing another spelling of the same address finds the same row.
        self.lease(self.reviewer_b)
        other = self.submit(
            reviewer=self.reviewer_b,
            rating="mostly_false",
            citations=(
                CitationInput(stance="refutes", url="https://stats.example.org./crime?year=2024"),
            ),
        )
        self.assertEqual(Source.objects.count(), 1)
        self.assertEqual(other.citations.get().source_id, source.pk)

    def test_it_reuses_a_source_given_by_id(self) -> None:
        source = services.source_get_or_create(
            url="https://archive.example.org/budget", actor=self.editor, title="Budget"
        )
        self.lease(self.reviewer_a)
        before_sources = Source.objects.count()
        verdict = self.submit(
            citations=(CitationInput(stance="supports", source_id=source.pk, quote="p. 4"),)
        )
        self.assertEqual(Source.objects.count(), before_sources)
        citation = verdict.citations.get()
        self.assertEqual((citation.source_id, citation.quote), (source.pk, "p. 4"))


class VerdictRevisionTests(QueueTestCase):
    claim_count = 2

    def test_it_appends_a_revision_and_keeps_the_first_verdict(self) -> None:
        first = judge(self.claims[0], self.reviewer_a, "true", rationale="Police data.", now=T0)
        since = self.last_event_id()
        second = services.verdict_submit(
            claim=self.claims[0],
            reviewer=self.reviewer_a,
            rating="half_true",
            confidence="low",
            rationale="Police data, but only for one district.",
            now=T0 + SECOND,
        )
        self.assertNotEqual(second.pk, first.pk)
        self.assertEqual((second.revision, second.is_current), (2, True))
        first = self.fresh(first)
        self.assertEqual((first.revision, first.is_current), (1, False))
        self.assertEqual(first.rating.key, "true")
        self.assertEqual(first.rationale, "Police data.")
        self.assertEqual(
            Verdict.objects.filter(claim=self.claims[0], reviewer=self.reviewer_a).count(), 2
        )
        self.assertEqual(self.verbs_since(since), ["verdict.revise"])
        event = Event.objects.get(id__gt=since)
        self.assertEqual(event.object_id, second.pk)
        self.assertEqual(
            (event.before["rating"], event.before["revision"], event.before["confidence"]),
            ("true", 1, "high"),
        )
        self.assertEqual(
            (event.after["rating"], event.after["revision"], event.after["confidence"]),
            ("half_true", 2, "low"),
        )

    def test_it_does_not_take_a_second_slot(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        services.verdict_submit(
            claim=self.claims[0], reviewer=self.reviewer_a, rating="false", confidence="low", now=T0
        )
        offered = self.lease(self.reviewer_b)
        assert offered is not None
        self.assertEqual(offered.claim_id, self.claims[0].pk)

    def test_it_refuses_revisions_once_consensus_is_recorded(self) -> None:
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        judge(self.claims[0], self.reviewer_b, "true", now=T0)
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.RESOLVED)
        for status in (ClaimStatus.RESOLVED, ClaimStatus.PUBLISHED):
            with self.subTest(status=status):
                if status == ClaimStatus.PUBLISHED:
                    services.claim_publish(claim=self.claims[0], editor=self.editor)
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    services.verdict_submit(
                        claim=self.claims[0],
                        reviewer=self.reviewer_a,
                        rating="false",
                        confidence="high",
                        now=T0,
                    )
                self.assertWritesNothing(before)


# --- consensus ---------------------------------------------------------------------------


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


# --- editors: adjudicate, reopen, publish, withdraw, recompute ---------------------------


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

    def test_it_resolves_a_disputed_claim_when_a_revision_makes_the_verdicts_agree(self) -> None:
        since = self.last_event_id()
        revised = services.verdict_submit(
            claim=self.disputed,
            reviewer=self.reviewer_b,
            rating="true",
            confidence="medium",
            now=T0,
        )
        claim = self.fresh(self.disputed)
        self.assertEqual(claim.status, ClaimStatus.RESOLVED)
        record = Consensus.objects.get(claim=claim)
        self.assertEqual((record.method, record.rating.key), (ConsensusMethod.UNANIMOUS, "true"))
        self.assertEqual(set(record.verdicts.all()), {self.a_on_disputed, revised})
        self.assertEqual(
            self.verbs_since(since), ["verdict.revise", "consensus.unanimous", "claim.status"]
        )

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
        self.assertEqual(self.verbs_since(since), ["verdict.revise"])


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

    def test_it_reopens_a_published_claim(self) -> None:
        services.claim_publish(claim=self.resolved, editor=self.editor)
        claim = services.claim_reopen(claim=self.resolved, editor=self.editor, note="Correction")
        self.assertEqual(claim.status, ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.filter(claim=self.resolved, is_current=True).exists())

    def test_it_lets_reviewers_revise_after_a_reopen(self) -> None:
        services.claim_reopen(claim=self.resolved, editor=self.editor, note="Check again")
        services.verdict_submit(
            claim=self.resolved,
            reviewer=self.reviewer_a,
            rating="half_true",
            confidence="low",
            now=T0,
        )
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.DISPUTED)
        services.verdict_submit(
            claim=self.resolved,
            reviewer=self.reviewer_b,
            rating="half_true",
            confidence="low",
            now=T0,
        )
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.RESOLVED)
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
        claim = services.claim_publish(claim=self.resolved, editor=self.editor)
        self.assertEqual(claim.status, ClaimStatus.PUBLISHED)
        self.assertEqual(self.fresh(self.resolved).status, ClaimStatus.PUBLISHED)
        self.assertEqual(self.verbs_since(since), ["claim.status"])
        self.assertEqual(Event.objects.get(id__gt=since).after, {"status": "published"})

    def test_it_publishes_only_resolved_claims(self) -> None:
        services.claim_withdraw(claim=self.in_review, actor=self.editor, reason="Dup", now=T0)
        published = services.claim_publish(claim=self.resolved, editor=self.editor)
        for claim in (self.disputed, self.in_review, published):
            with self.subTest(status=self.fresh(claim).status):
                before = self.row_counts()
                with self.assertRaises(QueueConflict):
                    services.claim_publish(claim=claim, editor=self.editor)
                self.assertWritesNothing(before)

    def test_it_refuses_reviewers(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.claim_publish(claim=self.resolved, editor=self.reviewer_a)
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
        services.claim_publish(claim=self.resolved, editor=self.editor)
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
