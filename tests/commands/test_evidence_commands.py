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
        snapshot = SourceSnapshot.objects.get()
        self.assertEqual(snapshot.outcome, "ok")
        self.assertIn(".invalid/", snapshot.requested_url)
        check = QuoteCheck.objects.get()
        self.assertEqual(check.status, "verified")
        self.assertEqual(
            snapshot.text[check.start : check.end],
            "Seoul said it was not considering additional THAAD deployments",
        )
        self.assertEqual(SourceEvidence.objects.get().flag, "ok")
        run("load_demo")
        self.assertEqual(SourceSnapshot.objects.count(), 1)

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
        [snapshot] = payload["source_snapshots"]
        stored = SourceSnapshot.objects.get()
        self.assertEqual((snapshot["sha256"], snapshot["outcome"]), (stored.sha256, "ok"))
        self.assertEqual(payload["source_evidence"][0]["baseline"], stored.pk)
        [check] = payload["quote_checks"]
        self.assertEqual((check["status"], check["snapshot"]), ("verified", stored.pk))
