"""services.verdicts: a reviewer's verdict with its citations, and its revisions."""

from __future__ import annotations

from typing import Any
from unittest import mock

from django.core.exceptions import ValidationError
from django.http import Http404

from annotations import selectors, services
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Event,
    Source,
    Verdict,
)
from annotations.selectors.evidence import citation_evidence
from annotations.services import CitationInput, QueueConflict
from tests.factories import judge
from tests.services.queue_base import LEASE, SCALE_KEYS, SECOND, T0, QueueTestCase


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

    def test_a_lease_released_after_the_checks_is_a_conflict_that_writes_nothing(self) -> None:
        # The lease is read as held with the claim's facts, then released (``lease_release``
        # takes the lease's row, not the claim's) before the verdict is written: the
        # lease's conditional close finds nothing, and neither the verdict, its citation,
        # the new source nor any event is written (PostgreSQL: one statement, gated on the
        # close; elsewhere the close comes first).
        from annotations.services import verdicts

        lease = self.lease(self.reviewer_a)
        checked = verdicts._lock_claim_as_member_with_facts

        def then_released(*args: Any, **kwargs: Any) -> Any:
            found = checked(*args, **kwargs)
            Assignment.objects.filter(pk=lease.pk).update(state=AssignmentState.RELEASED)
            return found

        before = self.row_counts()
        with (
            mock.patch.object(verdicts, "_lock_claim_as_member_with_facts", then_released),
            self.assertRaisesMessage(QueueConflict, verdicts.NO_LEASE),
        ):
            self.submit(
                citations=(CitationInput(stance="supports", url="https://example.org/new"),)
            )
        self.assertWritesNothing(before)
        self.assertEqual(self.fresh(lease).state, AssignmentState.LEASED)

    def test_each_citation_is_the_row_written_for_it(self) -> None:
        # The answer's citations are made before the write and given the ids the database
        # answered: each must be its own row, alike ones included, and the verdict's event
        # must name the verdict and what it cites.
        self.lease(self.reviewer_a)
        since = self.last_event_id()
        cited = (
            CitationInput(stance="supports", url="https://example.org/a", quote="one"),
            CitationInput(stance="refutes", url="https://example.org/b", quote="two"),
            CitationInput(stance="supports", url="https://example.org/a", quote="one"),
            CitationInput(stance="refutes", url="https://example.org/a", quote="one"),
            CitationInput(stance="supports", url="https://example.org/a", quote=""),
        )
        verdict = self.submit(citations=cited)
        answered = [(c.pk, c.source_id, c.stance, c.quote) for c in verdict.citations.all()]
        stored = list(
            verdict.citations.order_by().values_list("pk", "source_id", "stance", "quote")
        )
        self.assertCountEqual(answered, stored)
        self.assertEqual(len({pk for pk, *_ in answered}), len(cited))
        self.assertEqual(
            [(Source.objects.get(pk=s).url, st, q) for _, s, st, q in answered],
            [(f"https://example.org/{c.url[-1]}", c.stance, c.quote) for c in cited],
        )
        event = Event.objects.get(id__gt=since, verb="verdict.submit")
        self.assertEqual((event.object_type, event.object_id), ("verdict", verdict.pk))
        self.assertEqual(
            event.after["citations"],
            [{"source": s, "quote": q, "stance": st} for _, s, st, q in answered],
        )
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)

    def test_it_refuses_a_non_member(self) -> None:
        # The claim is looked up again through the reviewer's membership (the statement
        # that locks it): for a non-member it does not exist, and nothing is written.
        before = self.row_counts()
        with self.assertRaises(Http404):
            self.submit(reviewer=self.outsider)
        self.assertWritesNothing(before)

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
                "an internal address",
                (good, CitationInput(stance="refutes", url="http://169.254.169.254/latest/")),
                "Citation 2, url: Only public sites are accepted: the address 169.254.169.254 "
                "is a link-local address.",
            ),
            (
                "localhost",
                (CitationInput(stance="refutes", url="http://localhost:8000/admin"),),
                "Citation 1, url: Only public sites are accepted: localhost is this server",
            ),
            (
                "both a url and a source",
                (
                    good,
                    CitationInput(stance="context", url="https://example.org/b", source_id=1),
                ),
                "Citation 2, url: Give either the source's URL or the id of a known source "
                "(source), not both.",
            ),
            (
                "numeric host",
                (good, CitationInput(stance="refutes", url="http://0x7f000001:8066/x")),
                "Citation 2, url: Only public sites are accepted: 0x7f000001 is numeric "
                "shorthand for an IP address",
            ),
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
        self.assertEqual((source.project, source.created_by), (self.project, self.reviewer_a))
        # The same reviewer citing another spelling on another claim finds the same row.
        self.lease(self.reviewer_a)
        again = services.verdict_submit(
            claim=self.claims[1],
            reviewer=self.reviewer_a,
            rating="false",
            confidence="high",
            citations=(
                CitationInput(stance="refutes", url="https://stats.example.org./crime?year=2024"),
            ),
            now=T0,
        )
        self.assertEqual(again.citations.get().source_id, source.pk)
        # Another reviewer gets a row of their own: blind review keeps what reviewer_a typed
        # (and that they cited the page at all) from them.
        self.lease(self.reviewer_b)
        other = self.submit(
            reviewer=self.reviewer_b,
            rating="mostly_false",
            citations=(
                CitationInput(stance="refutes", url="https://stats.example.org./crime?year=2024"),
            ),
        )
        theirs = other.citations.get().source
        self.assertNotEqual(theirs.pk, source.pk)
        self.assertEqual(theirs.created_by, self.reviewer_b)
        self.assertEqual(theirs.url, "https://stats.example.org./crime?year=2024")

    def test_it_reuses_a_source_given_by_id(self) -> None:
        source = services.source_get_or_create(
            url="https://archive.example.org/budget",
            actor=self.reviewer_a,
            project=self.project,
            title="Budget",
        )
        self.lease(self.reviewer_a)
        before_sources = Source.objects.count()
        verdict = self.submit(
            citations=(CitationInput(stance="supports", source_id=source.pk, quote="p. 4"),)
        )
        self.assertEqual(Source.objects.count(), before_sources)
        citation = verdict.citations.get()
        self.assertEqual((citation.source_id, citation.quote), (source.pk, "p. 4"))

    def test_another_reviewer_s_source_cannot_be_named_by_id_while_blind(self) -> None:
        theirs = services.source_get_or_create(
            url="https://archive.example.org/budget", actor=self.reviewer_b, project=self.project
        )
        elsewhere = services.source_get_or_create(
            url="https://archive.example.org/other", actor=self.outsider, project=self.other_project
        )
        self.lease(self.reviewer_a)
        before = self.row_counts()
        for source in (theirs, elsewhere):
            with self.subTest(source=source.url), self.assertRaises(ValidationError) as caught:
                self.submit(citations=(CitationInput(stance="supports", source_id=source.pk),))
            # The same answer as an id that does not exist: no oracle.
            self.assertIn(f"No source with id {source.pk}.", str(caught.exception))
        self.assertWritesNothing(before)


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
                    services.claim_publish(
                        claim=self.claims[0],
                        editor=self.editor,
                        summary="Checked against the official figures.",
                    )
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

    def test_a_revision_on_a_withdrawn_claim_says_it_is_withdrawn(self) -> None:
        """Withdrawn while collecting verdicts (no consensus), or after its decision: the
        reason is the withdrawal, not a consensus it may not have."""
        judge(self.claims[0], self.reviewer_a, "true", now=T0)
        judge(self.claims[0], self.reviewer_b, "true", now=T0)
        judge(self.claims[1], self.reviewer_a, "true", now=T0)
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.RESOLVED)
        self.assertEqual(self.fresh(self.claims[1]).status, ClaimStatus.IN_REVIEW)
        for claim in self.claims[:2]:
            services.claim_withdraw(claim=claim, actor=self.editor, reason="duplicate", now=T0)
            before = self.row_counts()
            with self.subTest(claim=claim.pk), self.assertRaises(QueueConflict) as caught:
                services.verdict_submit(
                    claim=claim,
                    reviewer=self.reviewer_a,
                    rating="false",
                    confidence="high",
                    now=T0,
                )
            self.assertEqual(str(caught.exception), "This claim is withdrawn, not in review.")
            self.assertWritesNothing(before)


class VerdictRepostTests(QueueTestCase):
    """The same verdict over again (a double click, a request sent twice) writes nothing
    and answers the reviewer's current verdict; any change of its content is a revision."""

    claim_count = 2

    def setUp(self) -> None:
        self.own = services.source_get_or_create(
            url="https://stats.example.org/crime", actor=self.reviewer_a, project=self.project
        )
        self.other = services.source_get_or_create(
            url="https://police.example.org/report", actor=self.reviewer_a, project=self.project
        )

    def content(self, **changes: Any) -> dict[str, Any]:
        return {
            "rating": "false",
            "confidence": "medium",
            "rationale": "The office's figures show a 12% fall.",
            "citations": (
                CitationInput(stance="refutes", url="https://stats.example.org/crime", quote="12%"),
                CitationInput(stance="context", source_id=self.own.pk),
            ),
            **changes,
        }

    def submit(self, reviewer: Any = None, **content: Any) -> Verdict:
        return services.verdict_submit(
            claim=self.claims[0], reviewer=reviewer or self.reviewer_a, now=T0, **content
        )

    def test_the_same_verdict_again_writes_nothing_and_answers_the_recorded_one(self) -> None:
        first = judge(self.claims[0], self.reviewer_a, now=T0, **self.content())
        before, since = self.row_counts(), self.last_event_id()
        # The same content, its URL written otherwise (it names the same source: the
        # reviewer's own for that normalized address) and the own source named by URL.
        again = self.content(
            citations=(
                CitationInput(
                    stance="refutes", url="https://Stats.example.org/crime#x", quote="12%"
                ),
                CitationInput(stance="context", url="https://stats.example.org/crime"),
            )
        )
        for content in (self.content(), again):
            with self.subTest(content=content):
                verdict = self.submit(**content)
            self.assertEqual(
                (verdict.pk, verdict.revision, verdict.is_current), (first.pk, 1, True)
            )
            # Answered as written: the reviewer, rating and cited sources with their
            # evidence are loaded with it.
            with self.assertNumQueries(0):
                self.assertEqual(
                    (verdict.reviewer, verdict.rating.key, verdict.post_reveal),
                    (self.reviewer_a, "false", False),
                )
                self.assertEqual(
                    [(c.source.url, c.quote, c.stance) for c in verdict.citations.all()],
                    [(self.own.url, "12%", "refutes"), (self.own.url, "", "context")],
                )
                self.assertEqual(
                    [citation_evidence(c).quote_status for c in verdict.citations.all()],
                    ["no_snapshot", ""],
                )
        self.assertWritesNothing(before)
        self.assertEqual(self.verbs_since(since), [])
        self.assertEqual(
            Verdict.objects.filter(claim=self.claims[0], reviewer=self.reviewer_a).count(), 1
        )
        # The lease the first verdict closed stays closed; none is needed.
        self.assertEqual(
            list(
                Assignment.objects.filter(reviewer=self.reviewer_a).values_list("state", flat=True)
            ),
            [AssignmentState.SUBMITTED],
        )

    def test_any_change_of_its_content_is_a_revision(self) -> None:
        judge(self.claims[0], self.reviewer_a, now=T0, **self.content())
        base = self.content()
        (by_url, by_id) = base["citations"]
        changes: dict[str, dict[str, Any]] = {
            "rating": {"rating": "mostly_false"},
            "confidence": {"confidence": "high"},
            "rationale": {"rationale": "The office's figures show a 12% fall!"},
            "no rationale": {"rationale": ""},
            "a quote": {"citations": (CitationInput(stance="refutes", url=by_url.url, quote="12 %"), by_id)},
            "a stance": {"citations": (CitationInput(stance="supports", url=by_url.url, quote="12%"), by_id)},
            "a source": {"citations": (CitationInput(stance="refutes", source_id=self.other.pk, quote="12%"), by_id)},
            "another page": {"citations": (CitationInput(stance="refutes", url="https://stats.example.org/crime2", quote="12%"), by_id)},
            "the order": {"citations": (by_id, by_url)},
            "one citation less": {"citations": (by_url,)},
            "one citation more": {"citations": (by_url, by_id, by_id)},
        }  # fmt: skip
        revision = 1
        for name, change in changes.items():
            with self.subTest(name):
                since = self.last_event_id()
                changed = self.submit(**{**base, **change})
                back = self.submit(**base)
                revision += 2
                self.assertEqual((changed.revision, back.revision), (revision - 1, revision))
                self.assertEqual(self.verbs_since(since)[-2:], ["verdict.revise", "verdict.revise"])
        self.assertEqual(
            Verdict.objects.filter(claim=self.claims[0], reviewer=self.reviewer_a).count(), revision
        )
        # And the last one over again is no revision.
        self.assertEqual(self.submit(**base).revision, revision)

    def test_a_repost_on_the_claim_it_decided_answers_the_recorded_verdict(self) -> None:
        # The second click of the deciding verdict arrives once the claim is resolved:
        # no conflict, nothing written; a changed verdict is refused as before.
        judge(self.claims[0], self.reviewer_b, "false", now=T0)
        first = judge(self.claims[0], self.reviewer_a, now=T0, **self.content())
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.RESOLVED)
        before, since = self.row_counts(), self.last_event_id()
        self.assertEqual(self.submit(**self.content()).pk, first.pk)
        self.assertWritesNothing(before)
        self.assertEqual(self.verbs_since(since), [])
        with self.assertRaises(QueueConflict):
            self.submit(**self.content(confidence="high"))
        self.assertWritesNothing(before)

    def test_a_repost_on_a_disputed_claim_is_no_post_reveal_revision(self) -> None:
        # The deciding verdict found no consensus: its second click is not a revision after
        # seeing the others (which would leave it uncounted and flag the claim again).
        judge(self.claims[0], self.reviewer_b, "true", now=T0)
        first = judge(self.claims[0], self.reviewer_a, now=T0, **self.content())
        self.assertEqual(self.fresh(self.claims[0]).status, ClaimStatus.DISPUTED)
        since = self.last_event_id()
        verdict = self.submit(**self.content())
        self.assertEqual((verdict.pk, self.fresh(verdict).post_reveal), (first.pk, False))
        self.assertEqual(self.verbs_since(since), [])
        revised = self.submit(**self.content(rationale="On second thought."))
        self.assertTrue(revised.post_reveal)
        self.assertEqual(self.verbs_since(since), ["verdict.revise", "claim.needs_adjudication"])

    def test_a_verdict_on_an_earlier_claim_version_is_no_repost(self) -> None:
        # A revised claim is judged again from the queue: the same content is a new
        # verdict on the new version, and needs a lease as any first verdict does.
        judge(self.claims[0], self.reviewer_a, now=T0, **self.content())
        services.claim_revise(
            claim=self.claims[0],
            actor=self.editor,
            expected_version=1,
            statement="Crime fell 20% last year in the city.",
            claimant="",
            note="Scope",
        )
        with self.assertRaises(QueueConflict):
            self.submit(**self.content())
        self.lease(self.reviewer_a)
        verdict = self.submit(**self.content())
        self.assertEqual((verdict.claim_version, verdict.revision), (2, 2))
