"""The import_documents command: text, JSONL and HTML files and URLs (served by a local
site on 127.0.0.1), the workbench format with ``--create-project``, and a batch that goes
on past a failure.
"""

from __future__ import annotations

import json
import tempfile
from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import TestCase

from annotations import selectors
from annotations.core import export_mapping
from annotations.models import Claim, Document, Event, Membership, Project, Rating, Role
from tests.commands.base import run
from tests.factories import make_claim, make_document, make_project, make_user
from tests.services.import_base import (
    ARTICLE_HTML,
    ARTICLE_SENTENCE,
    LOCAL,
    NO_HOSTS,
    PAGE_FURNITURE,
    SAMPLE,
    SAMPLE_TITLE,
    ImportTestCase,
    _loopback_only,  # noqa: F401  (autouse: loopback only)
)

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

    def test_a_jsonl_line_that_is_not_utf8_fails_alone(self) -> None:
        # Read line by line (constant memory): a Latin-1 line is one failure with its
        # number, the lines around it are imported, CRLF endings are fine.
        good = [json.dumps({"title": f"T{i}", "text": f"Body {i}."}) for i in range(3)]
        raw = (
            good[0].encode() + b"\r\n"
            + '{"title": "Caf\u00e9", "text": "x"}'.encode("latin-1") + b"\r\n"
            + b"\r\n"
            + good[1].encode() + b"\n" + good[2].encode()
        )  # fmt: skip
        path = self.dir / "mixed.jsonl"
        path.write_bytes(raw)
        output = self.import_(path)
        self.assertIn("Imported 3, skipped 0 duplicate(s), failed 1", output)
        # "Café" in Latin-1: the byte 0xE9 at position 14 of the line is named, as the API
        # and the forms name it.
        self.assertIn(f"failed {path}:2: byte 0xE9 at position 14 is not UTF-8", output)
        self.assertEqual(
            sorted(Document.objects.values_list("title", flat=True)), ["T0", "T1", "T2"]
        )

    def test_deeply_nested_json_is_a_failure_of_its_file_not_a_crash(self) -> None:
        """Issue 13, finding 3: a 100,000-deep JSON file stopped the command with a
        RecursionError; now it fails alone, with the reason, and the batch goes on."""
        deep = "[" * 100_000 + "]" * 100_000
        export = '{"schema": "workbench-export/1", "document": ' + "[" * 500 + "]" * 500 + "}"
        good = self.write("good.txt", ARTICLE)
        files = [self.write("deep.json", deep), self.write("export.json", export)]
        for path in files:
            with self.subTest(path=path.name, format="auto"):
                output = self.import_(path, good)
                self.assertIn(f"failed {path}: not JSON: nested more than 64 levels deep", output)
            with self.subTest(path=path.name, format="workbench"):
                output = self.import_(path, format="workbench")
                self.assertIn(f"failed {path}: not JSON: nested more than 64 levels deep", output)
        lines = self.write(
            "deep.jsonl",
            '{"text": '
            + deep
            + "}\n"
            + json.dumps({"title": "Good", "text": "The council met on Monday."}),
        )
        output = self.import_(lines)
        self.assertIn(f"failed {lines}:1: invalid JSON: nested too deeply", output)
        self.assertEqual(Document.objects.count(), 2, output)  # the article and the good line
        self.assertTrue(Document.objects.filter(title="Good").exists())

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

    def test_cleaning_drops_control_characters_and_no_clean_refuses_nul(self) -> None:
        # Regression: a NUL in a text file reached PostgreSQL (DataError) and stopped the
        # batch. Cleaning drops C0 controls from the text (provenance keeps the rest); as
        # it is (--no-clean) the text is refused on the field, on every backend.
        content = "Bridge\x00 costs doubled\nThe council\x0csaid so.\x1b\n"
        path = self.write("nul.txt", content)
        output = self.import_(path, no_clean=True)
        self.assertIn("Imported 0, skipped 0 duplicate(s), failed 1", output)
        self.assertIn(
            f"failed {path}: text: Contains a NUL character (U+0000) at position 6.", output
        )
        self.assertFalse(Document.objects.exists())

        output = self.import_(path)
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        document = Document.objects.get(project=self.project)
        self.assertEqual(
            (document.title, document.text), ("Bridge costs doubled", "The council said so.")
        )
        self.assertEqual(document.raw_text, content.replace("\x00", ""))

    def test_it_imports_without_a_user(self) -> None:
        path = self.write("bridge.txt", ARTICLE)
        output = run("import_documents", str(path), project=self.project.slug, no_progress=True)
        self.assertIn("Imported 1", output)


class ImportDocumentsCreateProjectTests(TestCase):
    """``import_documents --format workbench --create-project``: restoring a project export
    where the project does not exist yet."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.editor = make_user("editor")
        cls.restorer = make_user("restorer")
        source = make_project(
            creator=cls.editor,
            name="Election desk",
            organization="Example Fact Desk",
            organization_url="https://facts.example.org/",
            required_reviews=3,
            consensus_rule="majority",
            majority_threshold=0.6,
            lease_minutes=45,
        )
        # The scale as a desk may have made it its own: a default relabelled and moved up,
        # one renumbered, one removed, a rating of its own.
        Rating.objects.filter(project=source, key="half_true").update(
            label="Partly true", position=1
        )
        Rating.objects.filter(project=source, key="mostly_true").update(ordinal=7, position=2)
        Rating.objects.filter(project=source, key="not_checkable").delete()
        Rating.objects.create(project=source, key="satire", label="Satire", position=9)
        cls.scale = list(
            Rating.objects.filter(project=source)
            .order_by("position", "id")
            .values("key", "label", "ordinal", "position")
        )
        document = make_document(project=source, actor=cls.editor, title="City hall")
        make_claim(document=document, actor=cls.editor, start=0, end=5)
        cls.payloads = [selectors.document_native(document=document, user=cls.editor)]

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.path = Path(tmp.name) / "desk.json"
        self.path.write_text(export_mapping.json_dumps_safe(self.payloads), encoding="utf-8")

    def import_(self, *paths: Path, **options: object) -> str:
        options = {"project": "restored", "format": "workbench", "no_progress": True, **options}
        return run("import_documents", *map(str, paths or (self.path,)), **options)

    def test_it_creates_the_project_from_the_export_and_imports_into_it(self) -> None:
        output = self.import_(create_project=True, user="restorer")
        self.assertIn(
            f"Created project 'restored' (Election desk) from {self.path}[0]; "
            "restorer is its admin.",
            output,
        )
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        project = Project.objects.get(slug="restored")
        self.assertEqual(
            (
                project.name, project.organization, project.organization_url,
                project.required_reviews, project.consensus_rule, project.majority_threshold,
                project.lease_minutes, project.created_by,
            ),
            (
                "Election desk", "Example Fact Desk", "https://facts.example.org/", 3,
                "majority", 0.6, 45, self.restorer,
            ),
        )  # fmt: skip
        self.assertEqual(
            list(Membership.objects.filter(project=project).values_list("user__username", "role")),
            [("restorer", Role.ADMIN)],
        )
        self.assertTrue(
            Event.objects.filter(verb="project.create", project=project, actor=self.restorer)
        )
        self.assertEqual(Document.objects.get(project=project).title, "City hall")
        self.assertEqual(Claim.objects.filter(project=project).count(), 1)

    def test_it_creates_the_project_with_the_exported_scale(self) -> None:
        self.assertEqual(self.payloads[0]["project"]["scale"], self.scale)
        self.import_(create_project=True, user="restorer")
        project = Project.objects.get(slug="restored")
        self.assertEqual(
            list(
                Rating.objects.filter(project=project)
                .order_by("position", "id")
                .values("key", "label", "ordinal", "position")
            ),
            self.scale,
        )
        event = Event.objects.get(verb="project.create", project=project)
        self.assertEqual(event.after["scale"], self.scale)

    def test_it_refuses_an_export_whose_scale_repeats_a_key(self) -> None:
        bad = json.loads(self.path.read_text(encoding="utf-8"))
        bad[0]["project"]["scale"].append(dict(bad[0]["project"]["scale"][0]))
        self.path.write_text(json.dumps(bad), encoding="utf-8")
        with self.assertRaisesMessage(CommandError, "Cannot create project 'restored': scale:"):
            self.import_(create_project=True, user="restorer")
        self.assertFalse(Project.objects.filter(slug="restored").exists())
        self.assertFalse(Event.objects.filter(verb="project.create", actor=self.restorer))

    def test_it_uses_an_existing_project_as_it_is(self) -> None:
        existing = make_project(creator=self.editor, name="Restored", required_reviews=1)
        output = self.import_(create_project=True, user="restorer")
        self.assertNotIn("Created project", output)
        self.assertIn("Imported 1", output)
        existing.refresh_from_db()
        self.assertEqual((existing.name, existing.required_reviews), ("Restored", 1))
        self.assertFalse(Membership.objects.filter(project=existing, user=self.restorer))

    def test_it_refuses_a_missing_project_without_the_flag(self) -> None:
        with self.assertRaisesMessage(CommandError, "No project with slug 'restored'"):
            self.import_(user="restorer")
        self.assertFalse(Project.objects.filter(slug="restored").exists())

    def test_it_refuses_the_flag_without_what_it_needs(self) -> None:
        cases = [
            ({"user": "restorer", "format": "jsonl"}, "--format workbench only"),
            ({}, "--create-project needs --user"),
        ]
        for options, message in cases:
            with self.subTest(options=options), self.assertRaisesMessage(CommandError, message):
                self.import_(create_project=True, **options)
        self.assertFalse(Project.objects.filter(slug="restored").exists())

    def test_it_refuses_an_export_without_a_valid_project_block(self) -> None:
        bad = json.loads(self.path.read_text(encoding="utf-8"))
        bad[0]["project"]["name"] = "Election\x00desk"
        self.path.write_text(json.dumps(bad), encoding="utf-8")
        with self.assertRaisesMessage(
            CommandError,
            "the project block is not valid: /name: contains a NUL character (U+0000) at "
            "position 8",
        ):
            self.import_(create_project=True, user="restorer")
        empty = self.path.with_name("empty.json")
        empty.write_text("[]", encoding="utf-8")
        with self.assertRaisesMessage(CommandError, "no workbench export with a project block"):
            self.import_(empty, create_project=True, user="restorer")
        self.assertFalse(Project.objects.filter(slug="restored").exists())
        self.assertFalse(Event.objects.filter(verb="project.create", actor=self.restorer))


# --- HTML files and URLs, served by the local site ---------------------------------------------


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import_documents", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


class ImportCommandTests(ImportTestCase):
    def test_it_imports_an_html_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bridge.htm"
            path.write_text(ARTICLE_HTML, encoding="utf-8")
            output = run_import("--project", self.project.slug, str(path))
            again = run_import("--project", self.project.slug, str(path))
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        self.assertIn("Imported 0, skipped 1 duplicate(s), failed 0", again)
        document = Document.objects.get(title="Bridge costs doubled, council admits")
        self.assertEqual((document.publisher, document.author), ("The Daily Test", "Ada Reporter"))
        for furniture in PAGE_FURNITURE:
            self.assertNotIn(furniture, document.text)

    def test_format_html_reads_any_file_as_a_page(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "saved-page.txt"
            path.write_text(ARTICLE_HTML, encoding="utf-8")
            output = run_import("--project", self.project.slug, "--format", "html", str(path))
        self.assertIn("Imported 1,", output)
        self.assertTrue(Document.objects.filter(author="Ada Reporter").exists())

    @LOCAL
    def test_it_imports_an_html_url(self) -> None:
        output = run_import("--project", self.project.slug, self.site.url("/page.html"))
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        document = Document.objects.get(title="Bridge costs doubled, council admits")
        self.assertIn(ARTICLE_SENTENCE, document.text)

    @LOCAL
    def test_it_imports_a_url(self) -> None:
        output = run_import("--project", self.project.slug, self.site.url("/article.txt"))
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 0", output)
        document = Document.objects.get(title=SAMPLE_TITLE)
        self.assertEqual(document.source_url, self.site.url("/article.txt"))

    @NO_HOSTS
    def test_a_refused_url_is_a_failure_that_does_not_stop_the_batch(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "article.txt"
            path.write_text(SAMPLE, encoding="utf-8")
            output = run_import(
                "--project", self.project.slug, self.site.url("/article.txt"), str(path)
            )
        self.assertIn("Imported 1, skipped 0 duplicate(s), failed 1", output)
        self.assertIn("fetch refused (blocked-address)", output)
        self.assertIn("loopback", output)
