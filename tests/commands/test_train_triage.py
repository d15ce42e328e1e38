"""``manage.py train_triage``: trains the built-in model on labelled sentences plus the
desk's accept/dismiss decisions, writes it where the app reads it, says what it used."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from django.core.management.base import CommandError
from django.test import TestCase, override_settings

from annotations import services
from annotations.core import triage
from tests.commands.base import run
from tests.factories import Personas

WORTHY = [
    "Unemployment fell to 3.1 percent last year.",
    "We spent $2 billion on the bridge.",
    "Crime rose by 20 percent in 2019.",
    "Taxes doubled under the last government.",
]
OTHER = [
    "Good evening and welcome.",
    "Thank you for coming tonight.",
    "Let me say one thing.",
    "I appreciate the question.",
]


class TrainTriageTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.doc = services.document_create(
            project=cls.project,
            data=services.DocumentInput(
                title="Speech", text="Wages rose 4 percent this year.\nHello everyone.\n"
            ),
            actor=cls.editor,
        )

    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="train-triage-"))
        self.data = self.dir / "tiny.csv"
        with self.data.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line_number", "speaker", "text", "label", "file_name"])
            for i, text in enumerate(WORTHY + OTHER):
                writer.writerow([i, "X", text, int(text in WORTHY), "tiny.tsv"])
        self.out = self.dir / "var" / "model.npz"

    def tearDown(self) -> None:
        for path in sorted(self.dir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        self.dir.rmdir()

    def decide(self) -> None:
        sentences = triage.split_sentences(self.doc.text)
        services.suggestion_accept(
            document=self.doc, actor=self.creator, start=sentences[0].start, end=sentences[0].end
        )
        services.suggestion_dismiss(
            document=self.doc,
            actor=self.editor,
            start=sentences[1].start,
            end=sentences[1].end,
            reason="A greeting.",
        )

    def test_it_trains_on_the_data_and_the_decisions_and_changes_the_model_file(self) -> None:
        output = run("train_triage", "--data", str(self.data), "--out", str(self.out))
        self.assertIn("Trained on 8 sentences (4 check-worthy)", output)
        self.assertIn("decisions: 0 of all projects", output)
        first = self.out.read_bytes()
        model = triage.TriageModel.load(self.out)
        worthy, other = model.score(["Inflation rose 5 percent in 2019.", "Welcome and thank you."])
        self.assertGreater(worthy, other)
        self.decide()
        output = run(
            "train_triage", "--data", str(self.data), "--out", str(self.out), "--project", "desk"
        )
        self.assertIn("Trained on 10 sentences (5 check-worthy)", output)
        self.assertIn("decisions: 2 of project desk (1 accepted, 1 dismissed)", output)
        self.assertNotEqual(self.out.read_bytes(), first)
        self.assertEqual(sorted(p.name for p in self.out.parent.iterdir()), ["model.npz"])

    def test_it_writes_to_the_models_setting_and_the_app_reads_it(self) -> None:
        with override_settings(TRIAGE_MODEL_PATH=self.out):
            self.assertNotEqual(
                services.suggestions.model_path(), self.out
            )  # shipped until trained
            run("train_triage", "--data", str(self.data))
            self.assertTrue(self.out.is_file())
            self.assertEqual(services.suggestions.model_path(), self.out)
            _, version = services.suggestions.builtin_model()
            run_ = services.suggestions_store(document_id=self.doc.pk)
        assert run_ is not None
        self.assertEqual(run_.model_version, version)

    def test_it_refuses_an_unknown_project_or_one_label_only(self) -> None:
        with self.assertRaisesMessage(CommandError, "No project"):
            run("train_triage", "--project", "nope", "--out", str(self.out))
        with self.assertRaisesMessage(CommandError, "both check-worthy and other"):
            run("train_triage", "--no-data", "--out", str(self.out))
        self.assertFalse(self.out.exists())
