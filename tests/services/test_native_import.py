"""The native import (``services.document_import_native`` in
annotations/services/native_import.py, and ``import_documents --format workbench``): an export imported into a fresh project or an
empty database exports the same data; a broken or duplicate export is refused with the path
of each error and nothing written.
"""

from __future__ import annotations

import copy
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command

from annotations import selectors, services
from annotations.core import export_mapping
from annotations.models import (
    Assignment,
    Citation,
    Claim,
    Consensus,
    Document,
    Event,
    Membership,
    Project,
    Publication,
    Rating,
    Source,
    Verdict,
)
from tests.factories import make_project, make_user
from tests.selectors.export_base import TEXT, ExportScenario, renumbered


def comparable(payload: dict[str, Any]) -> dict[str, Any]:
    """Everything but the export time, the project's own name/slug/organization and ids."""
    data = renumbered(payload)
    return {
        "scale": data["project"]["scale"],
        "document": data["document"],
        "claims": data["claims"],
        "sources": data["sources"],
    }


class RoundTripTests(ExportScenario):
    def test_an_export_imported_into_a_fresh_project_exports_the_same(self) -> None:
        original = self.native(self.editor)
        importer = make_user("importer")
        target = make_project(creator=importer, name="Other newsroom")
        document = services.document_import_native(project=target, payload=original, actor=importer)
        again = selectors.document_native(document=document, user=importer)
        self.assertEqual(export_mapping.native_errors(again), [])
        self.assertEqual(comparable(again), comparable(original))
        # The project-specific rating came along with its label and position.
        satire = Rating.objects.get(project=target, key="satire")
        self.assertEqual((satire.label, satire.ordinal, satire.position), ("Satire", None, 8))
        # Existing users were reused, not duplicated; sources belong to the new project, one
        # per owner as in the original.
        self.assertEqual(get_user_model().objects.filter(username="reviewer_a").count(), 1)

        def owners(project: Project) -> list[str]:
            rows = Source.objects.filter(project=project, normalized_url=self.stats.normalized_url)
            return sorted(rows.values_list("created_by__username", flat=True))

        self.assertEqual(owners(target), owners(self.project))
        self.assertIn("reviewer_a", owners(target))
        event = Event.objects.get(verb="document.import")
        self.assertEqual(event.object_id, document.pk)
        self.assertEqual(event.after["claims"], 6)
        self.assertEqual(event.after["ratings_created"], ["satire"])
        self.assertEqual(event.after["users_created"], [])

    def test_it_compares_field_by_field(self) -> None:
        """Spell the lossless promise out per field, so a dropped field names itself."""
        original = renumbered(self.native(self.editor))
        importer = make_user("importer")
        target = make_project(creator=importer, name="Other newsroom")
        document = services.document_import_native(
            project=target, payload=self.native(self.editor), actor=importer
        )
        again = renumbered(selectors.document_native(document=document, user=importer))
        fields = {
            "document": [
                "title", "text", "text_sha256", "length", "raw_text", "source_url", "publisher",
                "author", "published_date", "language", "created_at",
            ],
            "claim": [
                "id", "start", "end", "exact", "prefix", "suffix", "statement", "claimant",
                "status", "version", "created_by", "created_at",
            ],
            "verdict": [
                "id", "reviewer", "rating", "confidence", "rationale", "revision", "is_current",
                "submitted_at", "citations",
            ],
            "consensus": [
                "sequence", "rating", "method", "agreement", "decided_by", "decided_at", "note",
                "is_current", "verdicts",
            ],
            "source": [
                "id", "url", "normalized_url", "title", "publisher", "published_date",
                "archive_url", "accessed_date",
            ],
        }  # fmt: skip
        for name in fields["document"]:
            with self.subTest(document=name):
                self.assertEqual(again["document"][name], original["document"][name])
        self.assertEqual(len(again["claims"]), len(original["claims"]))
        for old, new in zip(original["claims"], again["claims"], strict=True):
            for name in fields["claim"]:
                with self.subTest(claim=old["exact"], field=name):
                    self.assertEqual(new[name], old[name])
            self.assertEqual(len(new["verdicts"]), len(old["verdicts"]))
            for old_v, new_v in zip(old["verdicts"], new["verdicts"], strict=True):
                for name in fields["verdict"]:
                    with self.subTest(claim=old["exact"], verdict=old_v["id"], field=name):
                        self.assertEqual(new_v[name], old_v[name])
            self.assertEqual(len(new["consensus"]), len(old["consensus"]))
            for old_r, new_r in zip(old["consensus"], new["consensus"], strict=True):
                for name in fields["consensus"]:
                    with self.subTest(claim=old["exact"], sequence=old_r["sequence"], field=name):
                        self.assertEqual(new_r[name], old_r[name])
        for old_s, new_s in zip(original["sources"], again["sources"], strict=True):
            for name in fields["source"]:
                with self.subTest(source=old_s["url"], field=name):
                    self.assertEqual(new_s[name], old_s[name])

    def test_an_export_imported_into_an_empty_database_gives_the_same_data(self) -> None:
        original = json.loads(json.dumps(self.native(self.editor)))  # as read from a file
        # A claim and its current consensus point at each other: unlink them first
        # (withdrawn is the one status the lifecycle lets hold either).
        Claim.objects.update(status="withdrawn", consensus=None)
        for model in (
            Event, Publication, Consensus, Citation, Verdict, Assignment, Claim, Document, Source, Rating,
            Membership, Project,
        ):  # fmt: skip
            model.objects.all().delete()
        get_user_model().objects.all().delete()
        self.assertFalse(get_user_model().objects.exists())

        importer = make_user("importer")
        target = make_project(creator=importer, name="Restored desk")
        document = services.document_import_native(project=target, payload=original, actor=importer)
        again = selectors.document_native(document=document, user=importer)
        self.assertEqual(comparable(again), comparable(original))

        created = ["admin", "creator", "editor", "reviewer_a", "reviewer_b"]
        users = get_user_model().objects.filter(username__in=created)
        self.assertEqual(sorted(u.username for u in users), created[1:])  # admin did nothing
        for user in users:
            with self.subTest(username=user.username):
                self.assertFalse(user.is_active)
                self.assertFalse(user.has_usable_password())
                self.assertFalse(Membership.objects.filter(user=user).exists())
        self.assertEqual(
            Event.objects.get(verb="document.import").after["users_created"], created[1:]
        )
        self.assertEqual(Source.objects.count(), len(original["sources"]))


class NativeImportValidationTests(ExportScenario):
    def setUp(self) -> None:
        self.payload = self.native(self.editor)
        self.importer = make_user("importer")
        self.target = make_project(creator=self.importer, name="Target desk")

    def assert_rejected(self, payload: dict[str, Any], path: str) -> ValidationError:
        counts = (Document.objects.count(), Claim.objects.count(), Verdict.objects.count())
        with self.assertRaises(ValidationError) as caught:
            services.document_import_native(
                project=self.target, payload=payload, actor=self.importer
            )
        self.assertIn(path, caught.exception.message_dict, caught.exception.message_dict)
        self.assertEqual(
            (Document.objects.count(), Claim.objects.count(), Verdict.objects.count()), counts
        )
        return caught.exception

    def test_it_reports_schema_errors_with_their_path(self) -> None:
        cases = [
            ("/claims/0/start", lambda p: p["claims"][0].update(start=-1)),
            ("/claims/1", lambda p: p["claims"][1].update(bogus=True)),
            ("/schema", lambda p: p.update(schema="workbench-export/2")),
            (
                "/claims/0/verdicts/0/confidence",
                lambda p: p["claims"][0]["verdicts"][0].update(confidence="sure"),
            ),
            ("/sources/0/url", lambda p: p["sources"][0].update(url="javascript:alert(1)")),
        ]
        for path, change in cases:
            with self.subTest(path=path):
                payload = copy.deepcopy(self.payload)
                change(payload)
                self.assert_rejected(payload, path)

    def test_it_reports_records_that_do_not_fit_together(self) -> None:
        cases = [
            ("/claims/2/exact", lambda p: p["claims"][2].update(exact="not in the text")),
            ("/claims/2/prefix", lambda p: p["claims"][2].update(prefix="nope")),
            ("/claims/5/end", lambda p: p["claims"][5].update(end=len(TEXT) + 1)),
            ("/document/text_sha256", lambda p: p["document"].update(text_sha256="0" * 64)),
            ("/claims/0/verdicts/0/rating", lambda p: p["claims"][0]["verdicts"][0].update(rating="nope")),
            ("/claims/0/verdicts/0/citations/0/source", lambda p: p["claims"][0]["verdicts"][0]["citations"][0].update(source=999_999)),
            ("/claims/0/consensus/0/verdicts/0", lambda p: p["claims"][0]["consensus"][0]["verdicts"].__setitem__(0, 999_999)),
            ("/claims/0/created_at", lambda p: p["claims"][0].update(created_at="2024-02-30T10:00:00Z")),
        ]  # fmt: skip
        for path, change in cases:
            with self.subTest(path=path):
                payload = copy.deepcopy(self.payload)
                change(payload)
                self.assert_rejected(payload, path)

    def test_it_refuses_a_document_the_project_already_has(self) -> None:
        services.document_import_native(
            project=self.target, payload=self.payload, actor=self.importer
        )
        error = self.assert_rejected(self.payload, "text")
        self.assertEqual(error.error_dict["text"][0].code, "duplicate")

    def test_the_import_command_recognises_a_workbench_file(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "export.json"
            path.write_text(json.dumps(self.payload), encoding="utf-8")
            for extra in ([], ["--format", "workbench"]):
                out = io.StringIO()
                call_command(
                    "import_documents",
                    str(path),
                    "--project",
                    self.target.slug,
                    "--no-progress",
                    *extra,
                    stdout=out,
                    stderr=io.StringIO(),
                )
                expected = (
                    "Imported 1, skipped 0" if not extra else "Imported 0, skipped 1 duplicate"
                )
                with self.subTest(extra=extra):
                    self.assertIn(expected, out.getvalue())
        imported = Document.objects.get(project=self.target)
        self.assertEqual(imported.claims.count(), 6)

    def test_the_import_command_reports_a_broken_export(self) -> None:
        payload = copy.deepcopy(self.payload)
        payload["claims"][0]["exact"] = "wrong"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "broken.json"
            path.write_text(json.dumps(payload), encoding="utf-8")
            out = io.StringIO()
            call_command(
                "import_documents", str(path), "--project", self.target.slug, "--no-progress",
                stdout=out, stderr=io.StringIO(),
            )  # fmt: skip
        self.assertIn("failed 1", out.getvalue())
        self.assertIn("/claims/0/exact", out.getvalue())
        self.assertFalse(Document.objects.filter(project=self.target).exists())
