"""The load_demo command: an idempotent demo desk."""

from __future__ import annotations

from itertools import combinations

from django.contrib.auth import get_user_model
from django.test import TestCase

from annotations.models import (
    Claim,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Verdict,
)
from tests.commands.base import run


class LoadDemoTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.output = run("load_demo")
        cls.project = Project.objects.get(slug="demo")
        cls.document = Document.objects.get(project=cls.project)

    def test_it_reports_what_it_made(self) -> None:
        self.assertIn("Demo ready: project 'Demo desk'", self.output)
        self.assertIn("10 claims, 10 new", self.output)

    def test_it_creates_the_five_demo_users(self) -> None:
        users = get_user_model().objects.order_by("username")
        self.assertEqual(
            [(u.username, u.is_superuser, u.is_staff) for u in users],
            [
                ("admin", True, True),
                ("editor", False, False),
                ("reviewer1", False, False),
                ("reviewer2", False, False),
                ("reviewer3", False, False),
            ],
        )
        self.assertTrue(users.get(username="reviewer1").check_password("workbench-demo"))

    def test_it_creates_the_demo_project_with_memberships_and_scale(self) -> None:
        self.assertEqual(
            (self.project.required_reviews, self.project.consensus_rule), (2, "unanimous")
        )
        self.assertEqual(
            dict(
                Membership.objects.filter(project=self.project).values_list(
                    "user__username", "role"
                )
            ),
            {
                "admin": Role.ADMIN,
                "editor": Role.EDITOR,
                "reviewer1": Role.REVIEWER,
                "reviewer2": Role.REVIEWER,
                "reviewer3": Role.REVIEWER,
            },
        )
        self.assertEqual(Rating.objects.filter(project=self.project).count(), 8)

    def test_it_imports_the_cleaned_sample_article(self) -> None:
        text = self.document.text
        for junk in ("@media", "adsbygoogle", "appeared first on"):
            with self.subTest(junk=junk):
                self.assertNotIn(junk, text)
        self.assertFalse(text.rstrip().endswith("Source"))
        self.assertEqual(
            self.document.title,
            "The contrasting Russian/Chinese vs. US models for geo-economic diplomacy",
        )
        self.assertEqual(self.document.publisher, "The Duran")
        self.assertEqual(Document.objects.count(), 1)
        self.assertIn("@media", self.document.raw_text)

    def test_it_anchors_ten_claims_exactly(self) -> None:
        claims = list(Claim.objects.filter(document=self.document))
        self.assertEqual(len(claims), 10)
        for claim in claims:
            with self.subTest(claim=claim.pk):
                self.assertEqual(claim.exact, self.document.text[claim.start : claim.end])
                self.assertEqual(claim.project, self.project)

    def test_it_includes_overlapping_claims(self) -> None:
        claims = Claim.objects.filter(document=self.document)
        overlapping = [
            (a.pk, b.pk) for a, b in combinations(claims, 2) if a.start < b.end and b.start < a.end
        ]
        self.assertGreaterEqual(len(overlapping), 1)

    def test_it_creates_nothing_when_run_again(self) -> None:
        models = [get_user_model(), Project, Membership, Rating, Document, Claim, Event]
        before = {model.__name__: model.objects.count() for model in models}
        output = run("load_demo")
        after = {model.__name__: model.objects.count() for model in models}
        self.assertEqual(after, before)
        self.assertIn("10 claims, 0 new", output)

    def test_the_demo_desk_requires_one_quoted_citation_and_its_verdicts_comply(self) -> None:
        self.assertEqual(
            (self.project.min_citations, self.project.quote_required, self.project.allowed_stances),
            (1, True, "supports,refutes,context"),
        )
        verdicts = Verdict.objects.filter(claim__project=self.project)
        self.assertEqual(verdicts.count(), 2)  # the published claim's two reviewers
        for verdict in verdicts:
            with self.subTest(verdict=verdict.pk):
                quotes = [c.quote for c in verdict.citations.all()]
                self.assertEqual(len(quotes), 1)
                self.assertTrue(quotes[0].strip())

    def test_a_demo_desk_loaded_before_the_policy_gets_it(self) -> None:
        Project.objects.filter(pk=self.project.pk).update(min_citations=0, quote_required=False)
        run("load_demo")
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual((project.min_citations, project.quote_required), (1, True))
        event = Event.objects.filter(verb="project.update", object_id=project.pk).latest("id")
        self.assertEqual((event.before["min_citations"], event.after["min_citations"]), (0, 1))
