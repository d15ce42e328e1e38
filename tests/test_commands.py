"""Management commands: load_demo (idempotent demo desk) and import_documents."""

from __future__ import annotations

import json
import tempfile
from io import StringIO
from itertools import combinations
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import TestCase

from annotations.models import (
    Claim,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Role,
)
from tests.factories import make_project, make_user

ARTICLE = (
    "Bridge costs doubled, council admits\n"
    "\n"
    "@media(max-width: 600px) {.adace_adsense_1 {display:block !important;}}\n"
    "\n"
    "(adsbygoogle = window.adsbygoogle || []).push({});\n"
    "\n"
    "The council said on Monday that the bridge cost twice the estimate.\n"
    "Officials blamed steel prices.\n"
    "The post Bridge costs doubled, council admits appeared first on The Daily Test.\n"
    "\n"
    "Source\n"
)


def run(command: str, *args: str, **options: object) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


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


class ImportDocumentsTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.importer = make_user("importer")
        cls.project = make_project(creator=cls.importer, name="Import desk")

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)

    def write(self, name: str, content: str) -> Path:
        path = self.dir / name
        path.write_text(content, encoding="utf-8")
        return path

    def import_(self, *paths: Path, **options: object) -> str:
        options.setdefault("user", "importer")
        return run(
            "import_documents",
            *map(str, paths),
            project=self.project.slug,
            no_progress=True,
            **options,
        )

    def test_it_imports_a_text_file_cleaned_with_its_title(self) -> None:
        path = self.write("bridge.txt", ARTICLE.replace("\n", "\r\n"))
        output = self.import_(path)
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        document = Document.objects.get(project=self.project)
        self.assertEqual(document.title, "Bridge costs doubled, council admits")
        self.assertEqual(
            document.text,
            "The council said on Monday that the bridge cost twice the estimate.\n"
            "Officials blamed steel prices.",
        )
        self.assertEqual(document.publisher, "The Daily Test")
        # Provenance keeps the junk that cleaning removed (the file is read as text, so
        # line endings may already be unified).
        self.assertEqual(document.raw_text.replace("\r\n", "\n"), ARTICLE)
        self.assertEqual(document.created_by, self.importer)

    def test_it_keeps_the_text_as_is_with_no_clean(self) -> None:
        path = self.write("raw.txt", ARTICLE)
        self.import_(path, no_clean=True)
        document = Document.objects.get(project=self.project)
        self.assertEqual((document.title, document.text), ("raw", ARTICLE))

    def test_it_adds_nothing_when_the_same_file_is_imported_again(self) -> None:
        path = self.write("bridge.txt", ARTICLE)
        self.import_(path)
        before = (Document.objects.count(), Event.objects.count())
        output = self.import_(path)
        self.assertIn("Imported 0", output)
        self.assertEqual((Document.objects.count(), Event.objects.count()), before)

    def test_it_reports_a_reimported_file_as_a_duplicate(self) -> None:
        path = self.write("bridge.txt", ARTICLE)
        self.import_(path)
        output = self.import_(path)
        self.assertIn("Imported 0, skipped 1 duplicate(s), failed 0", output)

    def test_it_imports_good_jsonl_lines_and_reports_bad_ones_by_line(self) -> None:
        lines = [
            json.dumps(
                {
                    "title": "Good line",
                    "text": "A claim-worthy paragraph.\nAnother line.",
                    "url": "https://example.org/good",
                    "published": "2026-01-02",
                    "language": "en",
                }
            ),
            '{"title": "Broken", "text": ',
            json.dumps({"title": "No text"}),
        ]
        path = self.write("batch.jsonl", "\n".join(lines) + "\n")
        output = self.import_(path)
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 2", output)
        self.assertIn(f"failed {path}:2: invalid JSON", output)
        self.assertIn(f"failed {path}:3: missing required key 'text'", output)
        document = Document.objects.get(project=self.project)
        self.assertEqual(document.title, "Good line")
        self.assertEqual(document.text, "A claim-worthy paragraph.\nAnother line.")
        self.assertEqual(document.source_url, "https://example.org/good")
        self.assertEqual(str(document.published_date), "2026-01-02")

    def test_it_reports_a_missing_file(self) -> None:
        output = self.import_(self.dir / "missing.txt")
        self.assertIn("failed 1", output)
        self.assertIn("missing.txt: not a file", output)
        self.assertFalse(Document.objects.exists())

    def test_it_refuses_an_unknown_project(self) -> None:
        path = self.write("bridge.txt", ARTICLE)
        with self.assertRaisesMessage(CommandError, "No project with slug 'nope'"):
            run("import_documents", str(path), project="nope", no_progress=True)
        self.assertFalse(Document.objects.exists())

    def test_it_refuses_an_unknown_user(self) -> None:
        path = self.write("bridge.txt", ARTICLE)
        with self.assertRaisesMessage(CommandError, "No user 'ghost'"):
            self.import_(path, user="ghost")
        self.assertFalse(Document.objects.exists())

    def test_it_imports_without_a_user(self) -> None:
        path = self.write("bridge.txt", ARTICLE)
        output = run("import_documents", str(path), project=self.project.slug, no_progress=True)
        self.assertIn("Imported 1", output)
