"""Commands and evidence: ``load_demo`` ships the page its demo verdict cites (the quote
shows verified with no network), and ``check_sources`` refuses an unknown project."""

from __future__ import annotations

import io
import shutil
import tempfile

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings

from annotations.models import QuoteCheck, SourceEvidence, SourceSnapshot
from tests.commands.base import run


class DemoEvidenceTests(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        folder = tempfile.mkdtemp(prefix="wb-evidence-")
        cls.addClassCleanup(shutil.rmtree, folder, True)
        storages = {
            **settings.STORAGES,
            "evidence": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": folder, "base_url": None},
            },
        }
        overrides = override_settings(STORAGES=storages)
        overrides.enable()
        cls.addClassCleanup(overrides.disable)

    def test_the_demo_quote_is_verified_offline_and_loading_twice_adds_nothing(self) -> None:
        run("load_demo")
        # Both reviewers of the published claim cite the page: each has their own source
        # (sources are per citer), so each source has its snapshot, stored from the fixture.
        snapshots = list(SourceSnapshot.objects.order_by("id"))
        self.assertEqual(len(snapshots), 2)
        self.assertEqual(
            sorted(s.source.created_by.username for s in snapshots), ["reviewer1", "reviewer2"]
        )
        for snapshot in snapshots:
            self.assertEqual(snapshot.outcome, "ok")
            self.assertIn(".invalid/", snapshot.requested_url)
        self.assertEqual(len({s.sha256 for s in snapshots}), 1)
        checks = list(QuoteCheck.objects.select_related("snapshot"))
        self.assertEqual(len(checks), 2)
        for check in checks:
            self.assertEqual(check.status, "verified")
            self.assertEqual(
                check.snapshot.text[check.start : check.end],
                "Seoul said it was not considering additional THAAD deployments",
            )
        self.assertEqual(set(SourceEvidence.objects.values_list("flag", flat=True)), {"ok"})
        run("load_demo")
        self.assertEqual(SourceSnapshot.objects.count(), 2)

    def test_check_sources_refuses_an_unknown_project(self) -> None:
        with self.assertRaises(CommandError):
            call_command("check_sources", project="nope", stdout=io.StringIO())
        out = io.StringIO()
        call_command("check_sources", stdout=out)
        self.assertIn("0 source(s) checked.", out.getvalue())


class EvidenceExportTests(DemoEvidenceTests):
    def test_the_lossless_export_carries_the_evidence(self) -> None:
        from django.contrib.auth import get_user_model

        from annotations import selectors
        from annotations.core import export_mapping
        from annotations.models import Project

        run("load_demo")
        payload = selectors.project_native(
            project=Project.objects.get(slug="demo"),
            user=get_user_model().objects.get(username="admin"),
        )
        self.assertEqual(export_mapping.native_errors(payload, version=2), [])
        stored = list(SourceSnapshot.objects.order_by("id"))
        self.assertEqual(
            [(s["id"], s["sha256"], s["outcome"]) for s in payload["source_snapshots"]],
            [(s.pk, s.sha256, "ok") for s in stored],
        )
        self.assertEqual(
            sorted(e["baseline"] for e in payload["source_evidence"]), [s.pk for s in stored]
        )
        self.assertEqual(
            sorted((c["status"], c["snapshot"]) for c in payload["quote_checks"]),
            [("verified", s.pk) for s in stored],
        )
