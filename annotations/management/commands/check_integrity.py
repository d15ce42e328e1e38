"""Scan every invariant of the data and list what is broken.

    python manage.py check_integrity                    # the whole database
    python manage.py check_integrity --project demo     # one project

One line per problem: the object, the invariant, what was found and what was expected.
Exits 0 (with a one-line summary per invariant) when everything holds, 1 otherwise. The
invariants are the functions of ``annotations/selectors/integrity.py``; this command
only prints. Memory is bounded (rows are read in chunks), so it runs on large projects.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.models import Project
from annotations.selectors import integrity


class Command(BaseCommand):
    help = (
        "Check every data invariant (anchors, verdicts, consensus, statuses, events, audit chains)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="Only this project (slug).")
        parser.add_argument(
            "--limit",
            type=int,
            default=1000,
            help="Print at most this many problems per invariant (all are counted).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project_id = None
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(f"No project with slug {options['project']!r}.")
            project_id = project.pk
        total = 0
        for name, check in integrity.INVARIANTS:
            count = 0
            for violation in check(project_id):
                count += 1
                if count <= options["limit"]:
                    self.stdout.write(violation.line())
            if count > options["limit"]:
                self.stdout.write(f"… and {count - options['limit']} more ({name}).")
            self.stderr.write(f"{name}: {'ok' if count == 0 else f'{count} problem(s)'}")
            total += count
        if total:
            raise CommandError(f"{total} integrity problem(s) found.", returncode=1)
        self.stdout.write("Integrity: every invariant holds.")
