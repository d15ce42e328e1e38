"""A project's evidence policy in the services: ``verdict_submit`` refuses a verdict (first
or revision) that breaks it, naming the rule, with nothing written; the defaults refuse
nothing; ``project_update`` changes it with an event; a native import of history is not
held to it."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from annotations import selectors, services
from annotations.models import Assignment, Citation, Event, Project, Source, Verdict
from tests.factories import judge, make_claim, make_document, take
from tests.services.base import ServiceTestCase, counts

QUOTED = services.CitationInput(
    stance="refutes", url="https://stats.example.org/crime", quote="fell 12%"
)
UNQUOTED = services.CitationInput(stance="refutes", url="https://stats.example.org/crime")
CONTEXT = services.CitationInput(
    stance="context", url="https://police.example.org/report", quote="a new method"
)
WRITTEN = (Verdict, Citation, Source, Event, Assignment)


class EvidencePolicyTests(ServiceTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def set_policy(self, **policy: object) -> None:
        services.project_update(project=self.project, actor=self.admin, **policy)

    def refused(self, *citations: services.CitationInput) -> list[str]:
        """The messages on ``citations`` of a refused verdict by reviewer_a; asserts that
        nothing was written (rows and audit events) and the lease is still held."""
        before = counts(*WRITTEN)
        states = list(Assignment.objects.values_list("state", flat=True).order_by("id"))
        with self.assertRaises(ValidationError) as ctx:
            services.verdict_submit(
                claim=self.claim,
                reviewer=self.reviewer_a,
                rating="false",
                confidence="high",
                citations=list(citations),
            )
        self.assertEqual(counts(*WRITTEN), before)
        self.assertEqual(
            list(Assignment.objects.values_list("state", flat=True).order_by("id")), states
        )
        self.assertEqual(list(ctx.exception.message_dict), ["citations"])
        return ctx.exception.message_dict["citations"]

    def test_the_defaults_keep_verdicts_without_citations(self) -> None:
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual(
            (project.min_citations, project.quote_required, project.allowed_stances),
            (0, False, "supports,refutes,context"),
        )
        self.assertEqual(project.evidence_policy_summary, "")
        verdict = judge(self.claim, self.reviewer_a, "false", citations=[UNQUOTED, CONTEXT])
        self.assertEqual(verdict.citations.count(), 2)
        self.assertEqual(judge(self.claim, self.reviewer_b, "true").citations.count(), 0)

    def test_a_verdict_without_the_required_citations_is_refused(self) -> None:
        self.set_policy(min_citations=2)
        take(self.claim, self.reviewer_a)
        self.assertEqual(
            self.refused(QUOTED),
            ["This project's evidence policy requires at least 2 citations per verdict."],
        )
        self.assertEqual(self.refused(), self.refused(QUOTED))
        verdict = services.verdict_submit(
            claim=self.claim,
            reviewer=self.reviewer_a,
            rating="false",
            confidence="high",
            citations=[QUOTED, CONTEXT],
        )
        self.assertEqual(verdict.citations.count(), 2)

    def test_a_citation_without_a_quote_is_refused_when_quotes_are_required(self) -> None:
        self.set_policy(quote_required=True)
        take(self.claim, self.reviewer_a)
        blank = services.CitationInput(stance="refutes", url="https://a.example/", quote="  ")
        self.assertEqual(
            self.refused(QUOTED, UNQUOTED, blank),
            [
                "Citation 2, quote: This project's evidence policy requires a quote from the "
                "source for every citation.",
                "Citation 3, quote: This project's evidence policy requires a quote from the "
                "source for every citation.",
            ],
        )
        # No citation at all is no unquoted citation: the count is its own rule.
        verdict = services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_a, rating="false", confidence="high"
        )
        self.assertEqual(verdict.citations.count(), 0)

    def test_a_citation_with_a_stance_the_project_does_not_allow_is_refused(self) -> None:
        self.set_policy(allowed_stances=["supports", "refutes"])
        take(self.claim, self.reviewer_a)
        self.assertEqual(
            self.refused(QUOTED, CONTEXT),
            [
                "Citation 2, stance: This project's evidence policy does not allow 'context' "
                "citations; use supports or refutes."
            ],
        )
        # An unknown stance is reported once, as unknown.
        odd = services.CitationInput(stance="agrees", url="https://a.example/", quote="x")
        [message] = self.refused(odd)
        self.assertIn("Unknown stance 'agrees'", message)

    def test_every_broken_rule_is_named_at_once(self) -> None:
        self.set_policy(min_citations=3, quote_required=True, allowed_stances=["refutes"])
        take(self.claim, self.reviewer_a)
        messages = self.refused(UNQUOTED, CONTEXT)
        self.assertEqual(len(messages), 3)
        self.assertIn("at least 3 citations", messages[0])
        self.assertTrue(messages[1].startswith("Citation 1, quote:"))
        self.assertTrue(messages[2].startswith("Citation 2, stance:"))

    def test_a_revision_is_held_to_the_policy_too(self) -> None:
        judge(self.claim, self.reviewer_a, "false")  # before the policy: kept as it is
        self.set_policy(min_citations=1, quote_required=True)
        self.assertEqual(
            self.refused(),
            ["This project's evidence policy requires at least 1 citation per verdict."],
        )
        self.assertEqual(len(self.refused(UNQUOTED)), 1)
        verdict = Verdict.objects.get(claim=self.claim, reviewer=self.reviewer_a, is_current=True)
        self.assertEqual((verdict.revision, verdict.citations.count()), (1, 0))
        revised = services.verdict_submit(
            claim=self.claim,
            reviewer=self.reviewer_a,
            rating="mostly_false",
            confidence="high",
            citations=[QUOTED],
        )
        self.assertEqual((revised.revision, revised.citations.count()), (2, 1))

    def test_a_policy_change_is_audited_with_before_and_after(self) -> None:
        self.set_policy(
            min_citations=1, quote_required=True, allowed_stances=["context", "refutes"]
        )
        event = Event.objects.filter(verb="project.update", object_id=self.project.pk).latest("id")
        self.assertEqual(event.actor, self.admin)
        self.assertEqual(
            {k: event.before[k] for k in ("min_citations", "quote_required", "allowed_stances")},
            {
                "min_citations": 0,
                "quote_required": False,
                "allowed_stances": ["supports", "refutes", "context"],
            },
        )
        self.assertEqual(
            {k: event.after[k] for k in ("min_citations", "quote_required", "allowed_stances")},
            {"min_citations": 1, "quote_required": True, "allowed_stances": ["refutes", "context"]},
        )

    def test_a_bad_policy_is_refused_naming_the_field(self) -> None:
        cases = [
            ({"min_citations": -1}, "min_citations"),
            ({"min_citations": 51}, "min_citations"),
            ({"min_citations": True}, "min_citations"),
            ({"quote_required": "yes"}, "quote_required"),
            ({"allowed_stances": []}, "allowed_stances"),
            ({"allowed_stances": ["agrees"]}, "allowed_stances"),
            ({"allowed_stances": "supports"}, "allowed_stances"),
        ]
        before = counts(Event, Project)
        for changes, field in cases:
            with self.subTest(changes), self.assertRaises(ValidationError) as ctx:
                self.set_policy(**changes)
            self.assertIn(field, ctx.exception.message_dict)
        self.assertEqual(counts(Event, Project), before)
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual(project.evidence_policy_summary, "")


class EvidencePolicyImportTests(ServiceTestCase):
    """A native import (``workbench-export/1``) brings history: verdicts written under
    another project's policy, or before any. It is kept as it was, not refused."""

    def test_an_import_of_verdicts_without_citations_is_not_refused(self) -> None:
        document = make_document(project=self.project, actor=self.creator, text="Crime fell 20%.")
        claim = make_claim(document=document, actor=self.creator, exact="Crime fell 20%")
        judge(claim, self.reviewer_a, "false")
        payload = selectors.document_native(document=document, user=self.editor)
        services.project_update(
            project=self.other_project, actor=self.outsider, min_citations=2, quote_required=True
        )
        imported = services.document_import_native(
            project=self.other_project, payload=payload, actor=self.outsider
        )
        [verdict] = Verdict.objects.filter(claim__document=imported)
        self.assertEqual(verdict.citations.count(), 0)
