"""0022 and 0023: documents written before they had a direction get one, and those without a
language get the detected one (from the first characters of their text only)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

BEFORE = [("annotations", "0021_gold_calibration")]
AFTER = [("annotations", "0023_lang_detect_existing")]
ARABIC = "قال وزير المالية إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام."


class LanguageDirectionMigrationTests(TransactionTestCase):
    def migrate(self, targets: list[tuple[str, str]]) -> Any:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def tearDown(self) -> None:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    def test_it_detects_missing_languages_and_sets_every_direction(self) -> None:
        apps = self.migrate(BEFORE)
        Project = apps.get_model("annotations", "Project")
        Document = apps.get_model("annotations", "Document")
        project = Project.objects.create(name="Old desk", slug="old-desk")
        rows = {
            "arabic": ("", (ARABIC + " ") * 40 + "word " * 3000),  # English after the prefix
            "hebrew": ("he", "Text typed in Latin letters but tagged Hebrew."),
            "english": ("", "The finance minister said that unemployment fell this year."),
            "tagged": ("en-GB", ARABIC),  # a given tag is kept
            "kurdish": ("ku", ARABIC),  # a tag that does not say: the text decides
            "digits": ("", "2024 — 3.1%"),
        }
        for index, (title, (language, text)) in enumerate(rows.items()):
            Document.objects.create(
                project=project,
                title=title,
                text=text,
                text_sha256=f"{index:064d}",
                length=len(text),
                language=language,
            )
        apps = self.migrate(AFTER)
        Document = apps.get_model("annotations", "Document")
        got = {d.title: (d.language, d.direction) for d in Document.objects.all()}
        self.assertEqual(
            got,
            {
                "arabic": ("ar", "rtl"),
                "hebrew": ("he", "rtl"),
                "english": ("en", "ltr"),
                "tagged": ("en-GB", "ltr"),
                "kurdish": ("ku", "rtl"),
                "digits": ("", "auto"),
            },
        )
