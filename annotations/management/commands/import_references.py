"""Import earlier fact checks as references of a project (issue 17).

    python manage.py import_references --project desk feed.json
    python manage.py import_references --project desk --format jsonl archive.jsonl
    python manage.py import_references --project desk --user editor claimreview.jsonld

Formats (``core.claimreview``): ClaimReview JSON-LD (one object, a list, a DataFeed or an
``@graph``; .json/.jsonld files), a Fact Check Tools style ``{"claims": [...]}`` file, or
JSONL (.jsonl/.ndjson: one object per line with the API's fields ``claim_reviewed``,
``headline``, ``url``, ``rating``, ``date``, ``publisher``, or a ClaimReview object).

References are stored through ``services.references_create`` in batches (each batch one
transaction, with its embeddings and one audit event per reference; ``--user``, an editor
of the project, is recorded as their creator). An entry that cannot be read, or that the
service refuses (a URL that is not http(s), a text over its limit), is reported with its
place in the file and skipped; the others are imported. An entry the project already
holds (the same claim reviewed at the same URL) is skipped, so importing a
feed again adds only what is new. A summary says how many were imported, how many were
already there, and which failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations import services
from annotations.core import claimreview
from annotations.models import Project, Reference, ReferenceOrigin
from annotations.services import limits

JSONL_SUFFIXES = (".jsonl", ".ndjson")


class Command(BaseCommand):
    help = "Import earlier fact checks (ClaimReview JSON-LD or JSONL) as references of a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument("paths", nargs="+", help="Files to import.")
        parser.add_argument(
            "--format",
            choices=["json", "jsonl"],
            help="json (ClaimReview JSON-LD, a feed) or jsonl; by default from the suffix.",
        )
        parser.add_argument("--user", help="Username recorded as the creator (an editor).")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {options['project']!r}.")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        imported, failures = 0, []
        self.present = self._present(project)
        self.skipped = 0
        for path_arg in options["paths"]:
            path = Path(path_arg)
            batch: list[claimreview.Candidate] = []
            for found in self._read(path, options["format"]):
                if isinstance(found, claimreview.Problem):
                    failures.append((f"{path.name} {found.label}", found.message))
                    continue
                batch.append(found)
                if len(batch) == limits.MAX_REFERENCES_PER_REQUEST:
                    imported += self._store(project, actor, path, batch, failures)
                    batch = []
            if batch:
                imported += self._store(project, actor, path, batch, failures)
        self.stdout.write(f"Imported {imported} reference(s) into {project.slug!r}.")
        if self.skipped:
            self.stdout.write(
                f"{self.skipped} already there (same claim at the same URL), skipped."
            )
        if failures:
            self.stdout.write(f"{len(failures)} failed:")
            for label, message in failures:
                self.stdout.write(f"  {label}: {message}")

    @staticmethod
    def _key(url: str, claim_reviewed: str) -> tuple[str, str]:
        """What makes two entries one reference: the same claim reviewed (spacing aside)
        at the same URL (one page may review several claims)."""
        return url.strip(), " ".join(claim_reviewed.split())

    def _present(self, project: Project) -> set[tuple[str, str]]:
        return {
            self._key(url, claim)
            for url, claim in Reference.objects.filter(project=project).values_list(
                "url", "claim_reviewed"
            )
        }

    def _read(
        self, path: Path, fmt: str | None
    ) -> Iterator[claimreview.Candidate | claimreview.Problem]:
        if not path.is_file():
            yield claimreview.Problem("", "not a file")
            return
        kind = fmt or ("jsonl" if path.suffix.lower() in JSONL_SUFFIXES else "json")
        try:
            with path.open(encoding="utf-8") as handle:
                if kind == "jsonl":
                    yield from claimreview.parse_jsonl(iter(handle))
                else:
                    yield from claimreview.parse_json(handle.read())
        except (OSError, UnicodeDecodeError) as exc:
            yield claimreview.Problem("", f"cannot read as UTF-8 text: {exc}")

    def _store(
        self,
        project: Project,
        actor: Any,
        path: Path,
        batch: list[claimreview.Candidate],
        failures: list[tuple[str, str]],
    ) -> int:
        """Store ``batch``; entries already there are skipped, entries the service refuses
        are reported, and the rest stored."""
        fresh = []
        for candidate in batch:
            key = self._key(
                str(candidate.fields.get("url") or ""),
                str(candidate.fields.get("claim_reviewed") or ""),
            )
            if key in self.present:
                self.skipped += 1
            else:
                self.present.add(key)
                fresh.append(candidate)
        batch = fresh
        if not batch:
            return 0
        items = [services.ReferenceInput(**c.fields) for c in batch]
        try:
            return len(self._create(project, actor, path, items))
        except ValidationError as exc:
            bad: set[int] = set()
            for key, messages in exc.message_dict.items():
                index, _, field = key.partition(".")
                if index.isdigit():
                    bad.add(int(index))
                    label = f"{path.name} {batch[int(index)].label}"
                    failures.append((label, f"{field}: {' '.join(messages)}"))
            if not bad:
                raise CommandError(" ".join(exc.messages)) from None
            rest = [item for i, item in enumerate(items) if i not in bad]
            return len(self._create(project, actor, path, rest)) if rest else 0

    def _create(self, project: Project, actor: Any, path: Path, items: list[Any]) -> list[Any]:
        try:
            return services.references_create(
                project=project,
                items=items,
                actor=actor,
                origin=ReferenceOrigin.IMPORT,
                origin_name=path.name,
            )
        except PermissionDenied as exc:
            raise CommandError(f"{actor}: {exc}") from None
