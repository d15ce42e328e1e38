"""``manage.py import_references``: ClaimReview JSON-LD feeds and JSONL."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.core.management.base import CommandError
from django.test import TestCase

from annotations.models import Event, Reference
from tests.commands.base import run
from tests.factories import Personas

CLAIMREVIEW = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://checks.example.org/roof",
    "claimReviewed": "The stadium roof cost 40 million dollars.",
    "headline": "The roof cost less",
    "datePublished": "2024-05-02T10:00:00Z",
    "author": {"@type": "Organization", "name": "Example Checks"},
    "reviewRating": {
        "@type": "Rating",
        "ratingValue": 1,
        "bestRating": 5,
        "alternateName": "False",
    },
}


class ImportReferencesTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def write(self, name: str, content: str) -> Path:
        directory = Path(tempfile.mkdtemp())
        path = directory / name
        path.write_text(content, encoding="utf-8")
        return path

    def test_it_imports_a_datafeed_of_claimreviews(self) -> None:
        second = {
            **CLAIMREVIEW,
            "claimReviewed": "Bridges rust faster in winter.",
            "url": "https://checks.example.org/b",
        }
        feed = {
            "@context": "https://schema.org",
            "@type": "DataFeed",
            "dataFeedElement": [
                {"@type": "DataFeedItem", "item": [CLAIMREVIEW]},
                {"@type": "DataFeedItem", "item": [second]},
            ],
        }
        out = run(
            "import_references",
            "--project",
            self.project.slug,
            str(self.write("feed.json", json.dumps(feed))),
        )
        self.assertIn("Imported 2 reference(s)", out)
        ref = Reference.objects.get(claim_reviewed=CLAIMREVIEW["claimReviewed"])
        self.assertEqual(
            (ref.rating, ref.publisher, ref.headline, str(ref.date), ref.origin, ref.origin_name),
            ("False", "Example Checks", "The roof cost less", "2024-05-02", "import", "feed.json"),
        )
        self.assertEqual(Event.objects.filter(verb="reference.create").count(), 2)

    def test_importing_a_feed_again_adds_only_what_is_new(self) -> None:
        no_url = {"claim_reviewed": "Wages  grew 5% last year."}
        first = self.write("a.jsonl", "\n".join(json.dumps(x) for x in [CLAIMREVIEW, no_url]))
        self.assertIn("Imported 2 reference(s)", run("import_references", "--project",
                      self.project.slug, str(first)))  # fmt: skip
        newer = {**CLAIMREVIEW, "url": "https://checks.example.org/new", "claimReviewed": "New."}
        again = self.write(
            "b.jsonl",
            "\n".join(
                json.dumps(x)
                for x in [CLAIMREVIEW, {"claim_reviewed": "Wages grew 5% last year."}, newer, newer]
            ),
        )
        out = run("import_references", "--project", self.project.slug, str(again))
        self.assertIn("Imported 1 reference(s)", out)
        self.assertIn("3 already there", out)
        self.assertEqual(Reference.objects.filter(project=self.project).count(), 3)

    def test_it_imports_a_graph_and_a_plain_list(self) -> None:
        graph = {"@context": "https://schema.org", "@graph": [CLAIMREVIEW]}
        run(
            "import_references",
            "--project",
            self.project.slug,
            str(self.write("g.jsonld", json.dumps(graph))),
        )
        listed = [{**CLAIMREVIEW, "claimReviewed": "Another claim about taxes."}]
        run(
            "import_references",
            "--project",
            self.project.slug,
            str(self.write("l.json", json.dumps(listed))),
        )
        self.assertEqual(Reference.objects.filter(project=self.project).count(), 2)

    def test_it_imports_jsonl_and_reports_bad_lines_by_number(self) -> None:
        lines = [
            json.dumps(
                {
                    "claim_reviewed": "Taxes rose by 3% last year.",
                    "rating": "True",
                    "date": "2023-01-09",
                }
            ),
            json.dumps({"claim_reviewed": "Bad link.", "url": "ftp://example.org/x"}),
            "not json",
            json.dumps(CLAIMREVIEW),
            json.dumps({"headline": "no claim"}),
        ]
        out = run(
            "import_references",
            "--project",
            self.project.slug,
            str(self.write("a.jsonl", "\n".join(lines))),
        )
        self.assertIn("Imported 2 reference(s)", out)
        self.assertIn("a.jsonl line 2: url:", out)
        self.assertIn("a.jsonl line 3: not valid JSON", out)
        self.assertIn("a.jsonl line 5: claim_reviewed: required", out)
        self.assertEqual(
            sorted(Reference.objects.values_list("claim_reviewed", flat=True)),
            ["Taxes rose by 3% last year.", "The stadium roof cost 40 million dollars."],
        )

    def test_an_unknown_project_or_a_reviewer_as_user_is_refused(self) -> None:
        path = str(self.write("a.jsonl", json.dumps({"claim_reviewed": "x"})))
        with self.assertRaises(CommandError):
            run("import_references", "--project", "nope", path)
        with self.assertRaises(CommandError):
            run("import_references", "--project", self.project.slug, "--user", "reviewer_a", path)
        self.assertEqual(Reference.objects.count(), 0)
