"""Export a whole project.

    python manage.py export_project --project demo --output demo.jsonl            # one claim per line
    python manage.py export_project --project demo --format json --output demo.json  # lossless
    python manage.py export_project --project demo --format json-v1 --output docs.json

``jsonl`` streams claim rows in keyset chunks (constant memory) as ``GET
/api/v1/projects/{id}/export/?format=jsonl`` does. ``json`` writes the lossless project
export (``workbench-export/2``: every row with its id, every verdict revision, document
revisions, anchor history, claim versions, consensus history, leases and the audit chain
with its hashes), which ``import_documents --format workbench`` restores into an empty
database; it carries every verdict, so only an editor or admin may make it. ``json-v1``
writes the list of per-document ``workbench-export/1`` exports (ids are not kept; they
import into any project). The export is made as a project member (``--user``, default:
the project's first admin), so blind review applies as it would for that member.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations import access, selectors
from annotations.core import export_mapping
from annotations.models import Claim, Document, Project


class Command(BaseCommand):
    help = "Export a project as JSONL claim rows or as native JSON documents, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument(
            "--format",
            choices=["jsonl", "json", "json-v1"],
            default="jsonl",
            help="jsonl: claim rows; json: the lossless project export (workbench-export/2, "
            "editors and admins); json-v1: a list of per-document workbench-export/1 exports.",
        )
        parser.add_argument(
            "--output", type=Path, default=None, help="File to write (default: stdout)."
        )
        parser.add_argument(
            "--user", default=None, help="Export as this member (default: first admin)."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {options['project']!r}.")
        user = self._user(project, options["user"])
        out = options["output"].open("w", encoding="utf-8") if options["output"] else sys.stdout
        try:
            if options["format"] == "jsonl":
                count = self._jsonl(project, user, out, quiet=options["no_progress"])
            elif options["format"] == "json":
                count = self._lossless(project, user, out)
            else:
                count = self._json(project, user, out, quiet=options["no_progress"])
        finally:
            if options["output"]:
                out.close()
        unit = {
            "jsonl": "claim rows",
            "json": "audit events and every row (lossless)",
            "json-v1": "documents",
        }[options["format"]]
        self.stderr.write(f"Exported {count} {unit} of '{project.slug}' as {user.get_username()}.")

    def _user(self, project: Project, username: str | None) -> Any:
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None or access.membership_get(user=user, project_id=project.pk) is None:
                raise CommandError(f"{username!r} is not a member of {project.slug!r}.")
            return user
        membership = access.project_admins(project=project).first()
        if membership is None:
            raise CommandError("The project has no admin; name a member with --user.")
        return membership.user

    def _progress(self, total: int, unit: str, quiet: bool) -> tqdm:
        return tqdm(total=total, unit=unit, desc="Exporting", disable=quiet, file=self.stderr._out)

    def _jsonl(self, project: Project, user: Any, out: Any, *, quiet: bool) -> int:
        count = 0
        with self._progress(Claim.objects.filter(project=project).count(), "claim", quiet) as bar:
            for row in selectors.project_rows(project=project, user=user):
                out.write(export_mapping.json_dumps_safe(row) + "\n")
                count += 1
                bar.update(1)
        return count

    def _lossless(self, project: Project, user: Any, out: Any) -> int:
        try:
            payload = selectors.project_native(project=project, user=user)
        except PermissionDenied:
            raise CommandError(
                f"The lossless export carries every verdict: {user.get_username()!r} is not "
                f"an editor or admin of {project.slug!r}."
            ) from None
        out.write(export_mapping.json_dumps_safe(payload) + "\n")
        return len(payload["audit"]["events"])

    def _json(self, project: Project, user: Any, out: Any, *, quiet: bool) -> int:
        documents = Document.objects.filter(project=project).order_by("id").only("pk")
        count = 0
        out.write("[")
        with self._progress(documents.count(), "doc", quiet) as bar:
            for pk in documents.values_list("pk", flat=True).iterator():
                document = Document.objects.select_related("project").get(pk=pk)
                out.write(
                    ("," if count else "")
                    + "\n"
                    + export_mapping.json_dumps_safe(
                        selectors.document_native(document=document, user=user)
                    )
                )
                count += 1
                bar.update(1)
        out.write("\n]\n")
        return count
