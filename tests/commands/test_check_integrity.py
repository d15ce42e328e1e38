"""manage.py check_integrity: passes on the demo desk and on generated benchmark data, and
names the row when one is broken by SQL, one invariant at a time."""

from __future__ import annotations

import json
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import TestCase

from annotations import services
from annotations.models import (
    Claim,
    ClaimLink,
    Consensus,
    Event,
    Project,
    RepeatSuggestion,
    Suggestion,
    SuggestionDecision,
    Verdict,
)
from tests.factories import Personas, judge, make_claim


def table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def sql(model: type | None, statement: str, *params: object) -> None:
    """Run ``statement`` with ``{t}`` standing for ``model``'s table."""
    if model is not None:
        statement = statement.replace("{t}", table(model))
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


class CheckIntegrityCommand:
    """``check`` runs the command and returns what it printed (stdout); ``fails`` expects
    exit status 1 and returns the printed lines."""

    def check(self, *args: str) -> str:
        out = StringIO()
        self.last = ""
        try:
            call_command("check_integrity", *args, stdout=out, stderr=StringIO())
        finally:
            self.last = out.getvalue()
        return self.last

    def fails(self, *args: str) -> list[str]:
        with self.assertRaises(CommandError) as caught:  # type: ignore[attr-defined]
            self.check(*args)
        self.assertEqual(caught.exception.returncode, 1)  # type: ignore[attr-defined]
        return self.last.splitlines()


class CleanDataTests(CheckIntegrityCommand, TestCase):
    def test_the_demo_desk_holds_every_invariant(self) -> None:
        call_command("load_demo", stdout=StringIO(), stderr=StringIO())
        self.assertIn("Integrity: every invariant holds.", self.check())
        self.assertIn("every invariant holds", self.check("--project", "demo"))

    def test_generated_benchmark_data_holds_every_invariant(self) -> None:
        from bench import generate

        news = generate.generate_news(quick=True, slug="check-news")
        queue = generate.generate_queue(claims=120, documents=4, slug="check-queue")
        self.assertEqual((news.claims, news.verdicts), (50, 150))
        self.assertIn("every invariant holds", self.check())
        # Work done on the queue, then undone by queue_reset, leaves it intact too.
        reviewer = get_user_model().objects.get(pk=queue.reviewer_ids[0])
        project = Project.objects.get(pk=queue.project_id)
        lease = services.lease_next(reviewer=reviewer, project=project)
        assert lease is not None
        services.verdict_submit(
            claim=lease.claim, reviewer=reviewer, rating="true", confidence="high", citations=[]
        )
        self.assertIn("every invariant holds", self.check())
        generate.queue_reset(queue)
        self.assertIn("every invariant holds", self.check())

    def test_an_unknown_project_is_refused(self) -> None:
        with self.assertRaisesMessage(CommandError, "No project with slug 'nope'"):
            self.check("--project", "nope")


class BrokenRowTests(CheckIntegrityCommand, Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.decided = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.decided, cls.reviewer_a, "false")
        judge(cls.decided, cls.reviewer_b, "false")  # resolved, unanimous
        cls.disputed = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        judge(cls.disputed, cls.reviewer_a, "true")
        judge(cls.disputed, cls.reviewer_b, "false")  # disputed, no consensus
        cls.fresh = make_claim(document=cls.document, actor=cls.creator, exact="new bridge cost")

    def test_the_untouched_rows_hold(self) -> None:
        self.assertIn("every invariant holds", self.check())

    def test_an_editors_revision_holds(self) -> None:
        """The outside probe: after an editor revised a judged claim, its reviewers' kept
        verdicts (none current) read as "0 current verdicts", failing every project that
        ever used Revise, and its restore. A new verdict on the new version holds too."""
        claim = Claim.objects.get(pk=self.disputed.pk)
        revised = services.claim_revise(
            claim=claim, actor=self.editor, expected_version=claim.version, statement="Revised"
        )
        self.assertIn("every invariant holds", self.check())
        judge(revised, self.reviewer_a, "true")
        self.assertIn("every invariant holds", self.check())

    def test_a_current_verdict_on_a_revised_away_version(self) -> None:
        claim = Claim.objects.get(pk=self.disputed.pk)
        services.claim_revise(
            claim=claim, actor=self.editor, expected_version=claim.version, statement="Revised"
        )
        verdict = Verdict.objects.get(claim=self.disputed, reviewer=self.reviewer_a)
        sql(Verdict, "UPDATE {t} SET is_current = %s WHERE id = %s", True, verdict.pk)
        self.assertIn(
            f"verdict {verdict.pk} (claim {self.disputed.pk}): current verdicts judge the "
            "current claim version: found a current verdict on version 1; expected version 2 "
            "(a revision leaves earlier verdicts not current)",
            self.fails(),
        )

    def test_a_quote_that_no_longer_matches_its_text(self) -> None:
        sql(Claim, "UPDATE {t} SET exact = %s WHERE id = %s", "crime rose 20%", self.decided.pk)
        sql(Claim, "UPDATE {t} SET prefix = %s WHERE id = %s", "Someone said ", self.fresh.pk)
        lines = self.fails()
        self.assertIn(
            f"claim {self.decided.pk} (document {self.document.pk}): exact matches the text: "
            f"found exact 'crime rose 20%'; expected 'crime fell 20%' at "
            f"[{self.decided.start}, {self.decided.end}) of revision 1",
            lines,
        )
        self.assertTrue(
            any(
                line.startswith(f"claim {self.fresh.pk} (document {self.document.pk}): prefix")
                for line in lines
            ),
            lines,
        )

    def test_a_span_outside_its_text(self) -> None:
        sql(Claim, 'UPDATE {t} SET "end" = %s WHERE id = %s', 10**6, self.fresh.pk)
        lines = self.fails()
        self.assertTrue(
            any(
                f"claim {self.fresh.pk} " in line and "span inside its text" in line
                for line in lines
            ),
            lines,
        )

    def test_a_reviewer_without_a_current_verdict(self) -> None:
        verdict = Verdict.objects.get(claim=self.disputed, reviewer=self.reviewer_a)
        sql(Verdict, "UPDATE {t} SET is_current = %s WHERE id = %s", False, verdict.pk)
        self.assertIn(
            f"claim {self.disputed.pk}, reviewer {self.reviewer_a.pk}: one current verdict per "
            "reviewer: found 0 current verdicts; expected exactly 1 (revisions keep the earlier "
            "rows with is_current false)",
            self.fails(),
        )

    def test_two_current_verdicts_of_one_reviewer(self) -> None:
        # The database refuses this (a partial unique index): drop it, as a botched manual
        # restore would, and write the second current row.
        services.verdict_submit(
            claim=self.disputed, reviewer=self.reviewer_a, rating="false", confidence="low",
            citations=[],
        )  # fmt: skip
        sql(None, "DROP INDEX annotations_verdict_one_current_per_reviewer")
        sql(
            Verdict,
            "UPDATE {t} SET is_current = %s WHERE claim_id = %s AND reviewer_id = %s",
            True,
            self.disputed.pk,
            self.reviewer_a.pk,
        )
        self.assertIn(
            f"claim {self.disputed.pk}, reviewer {self.reviewer_a.pk}: one current verdict per "
            "reviewer: found 2 current verdicts; expected exactly 1 (revisions keep the earlier "
            "rows with is_current false)",
            self.fails(),
        )

    # The database's check constraints (issue 14: a decided status needs the claim's
    # consensus pointer, an undecided one refuses it) keep a raw ``status`` update from
    # breaking these alone; a botched restore can still leave the records disagreeing.
    def decided_consensus(self) -> int:
        return Claim.objects.values_list("consensus_id", flat=True).get(pk=self.decided.pk)

    def test_a_decided_status_without_its_consensus(self) -> None:
        sql(Consensus, "UPDATE {t} SET is_current = %s WHERE claim_id = %s", False, self.decided.pk)
        lines = self.fails()
        self.assertIn(
            f"claim {self.decided.pk}: consensus for decided claims: found status resolved "
            "without a current consensus; expected a current consensus record (or a status "
            "before the decision)",
            lines,
        )
        self.assertIn(
            f"claim {self.decided.pk}: consensus pointer: found claim.consensus "
            f"{self.decided_consensus()}, superseded; expected the claim's own current "
            "consensus record",
            lines,
        )

    def test_a_consensus_on_an_undecided_claim(self) -> None:
        sql(
            Claim,
            "UPDATE {t} SET status = %s, consensus_id = NULL WHERE id = %s",
            "in_review",
            self.decided.pk,
        )
        self.assertIn(
            f"claim {self.decided.pk}: consensus only for decided claims: found status in_review "
            "with a current consensus; expected resolved or published, or the consensus superseded",
            self.fails(),
        )

    def test_published_with_no_verdict_and_no_consensus(self) -> None:
        # The probe: an admin set Published on a claim nobody had judged. The
        # database now refuses it without a consensus pointer; pointing at another claim's
        # record gets past the constraint, not past the check.
        sql(
            Claim,
            "UPDATE {t} SET status = %s, consensus_id = %s WHERE id = %s",
            "published",
            self.decided_consensus(),
            self.fresh.pk,
        )
        lines = self.fails()
        self.assertIn(
            f"claim {self.fresh.pk}: status reachable: found status published with no verdict; "
            "expected in review until verdicts decide it",
            lines,
        )
        self.assertIn(
            f"claim {self.fresh.pk}: consensus for decided claims: found status published without "
            "a current consensus; expected a current consensus record (or a status before the "
            "decision)",
            lines,
        )
        self.assertIn(
            f"claim {self.fresh.pk}: consensus pointer: found claim.consensus "
            f"{self.decided_consensus()}, a record of claim {self.decided.pk}; expected the "
            "claim's own current consensus record",
            lines,
        )

    def test_the_database_refuses_a_decided_status_without_a_consensus(self) -> None:
        from django.db import IntegrityError, transaction

        with self.assertRaises(IntegrityError), transaction.atomic():
            sql(Claim, "UPDATE {t} SET status = %s WHERE id = %s", "published", self.fresh.pk)

    def test_a_consensus_resting_on_another_claims_verdict(self) -> None:
        record = Consensus.objects.get(claim=self.decided, is_current=True)
        stranger = Verdict.objects.get(claim=self.disputed, reviewer=self.reviewer_b)
        link = Consensus.verdicts.through.objects.filter(consensus=record).first()
        assert link is not None
        sql(
            Consensus.verdicts.through,
            "UPDATE {t} SET verdict_id = %s WHERE id = %s",
            stranger.pk,
            link.pk,
        )
        self.assertIn(
            f"consensus {record.pk} (claim {self.decided.pk}): rests on verdicts of its claim: "
            f"found verdict {stranger.pk} of claim {self.disputed.pk}; expected verdicts of claim "
            f"{self.decided.pk}",
            self.fails(),
        )

    def test_a_rule_decision_resting_on_no_verdict(self) -> None:
        record = Consensus.objects.get(claim=self.decided, is_current=True)
        sql(Consensus.verdicts.through, "DELETE FROM {t} WHERE consensus_id = %s", record.pk)
        self.assertIn(
            f"consensus {record.pk} (claim {self.decided.pk}): rests on existing verdicts: found a "
            "unanimous decision resting on no verdict; expected the verdicts the rule decided on",
            self.fails(),
        )

    def test_a_write_without_its_event(self) -> None:
        # Rows written around the services (here: their events removed) lack the event
        # that records their creation; removing events also breaks the audit chain.
        verdict = Verdict.objects.get(claim=self.decided, reviewer=self.reviewer_b)
        sql(
            Event,
            "DELETE FROM {t} WHERE (object_type = %s AND object_id = %s) "
            "OR (object_type = %s AND object_id = %s)",
            "claim",
            self.fresh.pk,
            "verdict",
            verdict.pk,
        )
        lines = self.fails()
        self.assertIn(
            f"claim {self.fresh.pk}: creation recorded: found no creation event; expected a "
            "claim.create event for it",
            lines,
        )
        self.assertIn(
            f"verdict {verdict.pk}: creation recorded: found no creation event; expected a "
            "verdict.submit or verdict.revise event for it",
            lines,
        )
        self.assertTrue(
            any(
                line.startswith(f"audit chain of project {self.project.pk}: hash chain intact")
                for line in lines
            ),
            lines,
        )

    def test_an_edited_event(self) -> None:
        event = Event.objects.get(verb="claim.create", object_id=self.fresh.pk)
        sql(
            Event,
            "UPDATE {t} SET after = %s WHERE id = %s",
            json.dumps({"statement": "rewritten"}),
            event.pk,
        )
        lines = self.fails()
        self.assertEqual(len(lines), 2, lines)
        # The chain names the edited event; the claim no longer matches what it says.
        self.assertTrue(
            lines[1].startswith(
                f"audit chain of project {self.project.pk}: hash chain intact: found edited: "
                f"event {event.pk} (seq {event.seq},"
            ),
            lines,
        )
        self.assertTrue(lines[0].startswith(f"claim {self.fresh.pk}: row matches its audit"))


class FindingClaimsRowTests(CheckIntegrityCommand, Personas, TestCase):
    """Issue 17's rows: triage suggestions, decisions and repeat suggestions quote their
    document at their offsets (in the revision they were made on); links stay within one
    project; references, links and decisions have their creation events."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        (cls.reference,) = services.references_create(
            project=cls.project,
            items=[services.ReferenceInput(claim_reviewed="Crime fell 20% last year.")],
            actor=cls.editor,
        )
        cls.link = services.claim_link_create(
            claim=cls.claim, actor=cls.creator, reference=cls.reference
        )
        run = services.suggestions_store(document_id=cls.document.pk)
        assert run is not None
        cls.suggestion = run.suggestions.order_by("start").first()
        assert cls.suggestion is not None
        cls.decision = services.suggestion_dismiss(
            document=cls.document,
            actor=cls.editor,
            start=cls.suggestion.start,
            end=cls.suggestion.end,
            reason="Opinion.",
        )
        cls.repeat = RepeatSuggestion.objects.create(
            project=cls.project,
            document=cls.document,
            document_revision=1,
            start=cls.claim.start,
            end=cls.claim.end,
            text=cls.claim.exact,
            reference=cls.reference,
            score=0.9,
        )

    def test_the_untouched_rows_hold_and_a_text_revision_keeps_them(self) -> None:
        self.assertIn("every invariant holds", self.check())
        services.document_revise(
            document=self.document, text="New: " + self.document.text, actor=self.editor
        )
        # The rows name revision 1, whose text is kept.
        self.assertIn("every invariant holds", self.check())

    def test_texts_that_are_not_the_document_at_their_offsets(self) -> None:
        sql(Suggestion, "UPDATE {t} SET text = %s WHERE id = %s", "Invented.", self.suggestion.pk)
        sql(SuggestionDecision, 'UPDATE {t} SET "end" = %s WHERE id = %s', 10**6, self.decision.pk)
        sql(RepeatSuggestion, "UPDATE {t} SET document_revision = 7 WHERE id = %s", self.repeat.pk)
        lines = self.fails()
        for kind, pk in (
            ("suggestion", self.suggestion.pk),
            ("suggestion decision", self.decision.pk),
            ("repeat suggestion", self.repeat.pk),
        ):
            self.assertTrue(
                any(
                    line.startswith(f"{kind} {pk} (document {self.document.pk}): text matches")
                    for line in lines
                ),
                (kind, lines),
            )
        self.assertEqual(len(lines), 3, lines)

    def test_a_link_to_another_projects_reference(self) -> None:
        other = Project.objects.create(name="Elsewhere", slug="elsewhere-desk-17")
        (foreign,) = services.references_create(
            project=other, items=[services.ReferenceInput(claim_reviewed="Elsewhere.")], actor=None
        )
        sql(ClaimLink, "UPDATE {t} SET reference_id = %s WHERE id = %s", foreign.pk, self.link.pk)
        self.assertIn(
            f"claim link {self.link.pk} (claim {self.claim.pk}): link within one project: found "
            "a claim, reference or target of another project; expected the link's project for "
            "all three",
            self.fails(),
        )

    def test_rows_without_their_creation_events(self) -> None:
        sql(
            Event,
            "DELETE FROM {t} WHERE verb IN (%s, %s, %s)",
            "reference.create",
            "claim.link",
            "suggestion.dismiss",
        )
        lines = self.fails("--project", self.project.slug)
        for line in (
            f"reference {self.reference.pk}: creation recorded: found no creation event; "
            "expected a reference.create event for it",
            f"claimlink {self.link.pk}: creation recorded: found no creation event; expected a "
            "claim.link event for it",
            f"suggestiondecision {self.decision.pk}: creation recorded: found no creation "
            "event; expected a suggestion.accept or suggestion.dismiss event for it",
        ):
            self.assertIn(line, lines)


class RowsAgainstEventsTests(CheckIntegrityCommand, Personas, TestCase):
    """The outside probe: a judged field changed by SQL left every event intact, so
    neither ``verify_audit`` nor ``check_integrity`` saw it. Each row is now read beside
    the events that recorded it."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.claim, cls.reviewer_a, "false")
        judge(cls.claim, cls.reviewer_b, "false")  # resolved, unanimous
        cls.verdict = Verdict.objects.get(claim=cls.claim, reviewer=cls.reviewer_a)
        cls.record = Consensus.objects.get(claim=cls.claim, is_current=True)

    def only(self, prefix: str) -> str:
        lines = self.fails()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith(prefix), lines)
        self.assertNotIn("hash chain", lines[0])
        return lines[0]

    def rating_id(self, key: str) -> int:
        return self.project.ratings.get(key=key).pk

    def test_the_untouched_rows_hold(self) -> None:
        self.assertIn("every invariant holds", self.check())

    def test_a_verdicts_rating_changed_by_sql(self) -> None:
        sql(
            Verdict,
            "UPDATE {t} SET rating_id = %s WHERE id = %s",
            self.rating_id("true"),
            self.verdict.pk,
        )
        line = self.only(
            f"verdict {self.verdict.pk}: row matches its audit event: found rating 'true'"
        )
        self.assertIn("expected 'false', as event", line)
        self.assertIn("(verdict.submit, seq", line)

    def test_a_verdict_made_post_reveal_or_blind_by_sql(self) -> None:
        sql(Verdict, "UPDATE {t} SET post_reveal = %s WHERE id = %s", True, self.verdict.pk)
        self.only(f"verdict {self.verdict.pk}: row matches its audit event: found post_reveal True")

    def test_a_rationale_and_a_reviewer_changed_by_sql(self) -> None:
        sql(Verdict, "UPDATE {t} SET rationale = %s WHERE id = %s", "forged", self.verdict.pk)
        self.only(
            f"verdict {self.verdict.pk}: row matches its audit event: found rationale 'forged'"
        )

    def test_a_verdict_given_to_another_reviewer_by_sql(self) -> None:
        sql(
            Verdict,
            "UPDATE {t} SET reviewer_id = %s WHERE id = %s",
            self.editor.pk,
            self.verdict.pk,
        )
        lines = self.fails()
        self.assertIn(
            f"verdict {self.verdict.pk}: row matches its audit event: found reviewer "
            f"{self.editor.pk}",
            "\n".join(lines),
        )

    def test_a_consensus_rating_changed_by_sql(self) -> None:
        sql(
            Consensus,
            "UPDATE {t} SET rating_id = %s WHERE id = %s",
            self.rating_id("true"),
            self.record.pk,
        )
        line = self.only(
            f"consensus {self.record.pk} (claim {self.claim.pk}): row matches its audit event: "
            "found rating 'true'"
        )
        self.assertIn("(consensus.unanimous, seq", line)

    def test_a_consensus_method_changed_by_sql(self) -> None:
        sql(Consensus, "UPDATE {t} SET method = %s WHERE id = %s", "adjudicated", self.record.pk)
        self.only(
            f"consensus {self.record.pk} (claim {self.claim.pk}): row matches its audit event: "
            "found method 'adjudicated'"
        )

    def test_a_consensus_resting_on_fewer_verdicts_by_sql(self) -> None:
        links = Consensus.verdicts.through
        sql(links, "DELETE FROM {t} WHERE verdict_id = %s", self.verdict.pk)
        self.only(
            f"consensus {self.record.pk} (claim {self.claim.pk}): row matches its audit event: found verdicts"
        )

    def test_a_claims_statement_and_status_changed_by_sql(self) -> None:
        sql(Claim, "UPDATE {t} SET statement = %s WHERE id = %s", "The opposite", self.claim.pk)
        sql(Claim, "UPDATE {t} SET status = %s WHERE id = %s", "published", self.claim.pk)
        lines = [line for line in self.fails() if "row matches its audit event" in line]
        self.assertEqual(len(lines), 2, lines)
        self.assertIn(
            "found statement 'The opposite'; expected 'crime fell 20%', as event", lines[0]
        )
        self.assertIn("found status 'published'; expected 'resolved', as event", lines[1])
        self.assertIn("(claim.status, seq", lines[1])

    def test_a_documents_text_changed_by_sql(self) -> None:
        from annotations.models import Document

        text = self.document.text.replace("crime fell 20%", "crime fell 21%")
        sql(Document, "UPDATE {t} SET text = %s WHERE id = %s", text, self.document.pk)
        lines = "\n".join(self.fails())
        self.assertIn(f"document {self.document.pk}: text matches its hash", lines)
