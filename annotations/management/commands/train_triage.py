"""Train the built-in check-worthiness model.

    python manage.py train_triage [--project SLUG] [--out PATH] [--data CSV] [--no-data]

Trains ``core.triage.TriageModel`` (the weights measured in bench/README.md) on the
CLEF-2019 CheckThat! debates shipped in ``fixtures/checkthat/`` (or ``--data``: a CSV with
``text`` and ``label`` columns) plus the desk's own decisions on suggestions (accepted =
check-worthy, dismissed = not), of every project or of ``--project``, and writes it to
``--out`` (default ``TRIAGE_MODEL_PATH``, under ``var/``: where the app reads the model;
the shipped ``fixtures/triage/model.npz`` is left alone). The file is replaced atomically
and the running app picks it up at its next ranking. About 15 s on the shipped data.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations import selectors
from annotations.core import triage
from annotations.models import Project

SHIPPED_DATA = (
    Path(settings.BASE_DIR)
    / "fixtures"
    / "checkthat"
    / "checkthat2019-check-worthiness"
    / "CT19-T1-Training.csv"
)
# The shipped model's weights (bench/README.md, "Triage").
WEIGHTS: dict[str, Any] = {"knn_k": 1, "knn_weight": 2.0, "speaker_weight": 0.0, "cue_weight": 0.25}


def _read_csv(path: Path) -> list[tuple[str, int]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [(row["text"], int(row["label"])) for row in csv.DictReader(handle)]
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise CommandError(f"Cannot read training sentences from {path}: {exc}") from None
    if any(label not in (0, 1) for _, label in rows):
        raise CommandError(f"{path}: labels must be 0 or 1.")
    return rows


class Command(BaseCommand):
    help = "Train the built-in check-worthiness model on the shipped data and the desk's decisions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", metavar="SLUG", help="Only this project's decisions.")
        parser.add_argument(
            "--out", type=Path, help="Where to write the model (default: TRIAGE_MODEL_PATH)."
        )
        parser.add_argument(
            "--data",
            type=Path,
            default=SHIPPED_DATA,
            help="Labelled sentences (CSV with text and label columns; default: the shipped "
            "CheckThat! 2019 debates).",
        )
        parser.add_argument(
            "--no-data", action="store_true", help="Train on the desk's decisions only."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        project = None
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(f"No project with the slug {options['project']!r}.")
        data: list[tuple[str, int]] = [] if options["no_data"] else _read_csv(options["data"])
        decisions = selectors.suggestion_training_rows(project=project)
        rows = data + decisions
        if len({label for _, label in rows}) < 2:
            raise CommandError(
                "Training needs both check-worthy and other sentences; "
                f"found {len(rows)} sentence(s) with one label or none."
            )
        model = triage.TriageModel.train(
            [text for text, _ in rows], [label for _, label in rows], **WEIGHTS
        )
        out: Path = options["out"] or Path(settings.TRIAGE_MODEL_PATH)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            size = model.save(partial)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        version = hashlib.sha256(out.read_bytes()).hexdigest()[:12]
        accepted = sum(label for _, label in decisions)
        source = "none (--no-data)" if options["no_data"] else str(options["data"])
        scope = f"project {project.slug}" if project is not None else "all projects"
        self.stdout.write(
            f"Trained on {len(rows):,} sentences ({sum(label for _, label in rows):,} "
            f"check-worthy):\n"
            f"  data: {len(data):,} from {source} ({sum(label for _, label in data):,} "
            "check-worthy)\n"
            f"  decisions: {len(decisions):,} of {scope} ({accepted:,} accepted, "
            f"{len(decisions) - accepted:,} dismissed)\n"
            f"Wrote {out} ({size:,} bytes, version triage-{version}) in "
            f"{time.perf_counter() - started:.1f} s."
        )
