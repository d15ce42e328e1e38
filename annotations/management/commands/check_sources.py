"""Check cited sources for link rot: fetch each cited source that has an archived
snapshot again and flag it ``changed``, ``gone`` or ``moved`` (``services.sources_check``).

    manage.py check_sources                 # every project
    manage.py check_sources --project desk  # one project, by slug

The worker does the same on its own every ``SOURCE_CHECK_INTERVAL_HOURS``.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotations import services
from annotations.models import Project


class Command(BaseCommand):
    help = "Fetch cited sources again and flag those that changed, moved or are gone."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", metavar="SLUG", help="Only this project's sources.")

    def handle(self, *args: Any, project: str | None = None, **options: Any) -> None:
        chosen = None
        if project:
            chosen = Project.objects.filter(slug=project).first()
            if chosen is None:
                raise CommandError(f"No project with the slug {project!r}.")
        done = services.sources_check(project=chosen)
        for source, check in done:
            result = check.flag or f"no change of flag ({check.outcome})"
            self.stdout.write(f"source {source.pk} {source.url}: {result}")
        self.stdout.write(f"{len(done)} source(s) checked.")
