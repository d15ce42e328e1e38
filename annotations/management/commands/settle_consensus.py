"""Decide the claims left in review with the verdicts their project requires: what
lowering ``required_reviews`` left behind before such a change queued their decision
itself (``review.consensus_settle_task``).

    manage.py settle_consensus                 # every project
    manage.py settle_consensus --project desk  # one project, by slug

Each claim is decided as its last verdict would have decided it, in its own transaction
(``services.consensus_settle``; a ``consensus.recompute`` event with ``cause:
"settle_consensus"``), in the task's batches (``services.consensus_settle_batch``). Decided
claims are never touched, so it is safe at any time. A claim whose decision fails is
logged, the others are still decided, and the command then exits 1 saying how many failed.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotations import services
from annotations.models import Project

CAUSE = {"cause": "settle_consensus"}


class Command(BaseCommand):
    help = "Decide the claims in review that already hold their project's required verdicts."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", metavar="SLUG", help="Only this project's claims.")

    def handle(self, *args: Any, project: str | None = None, **options: Any) -> None:
        projects = Project.objects.order_by("pk")
        if project:
            projects = projects.filter(slug=project)
            if not projects.exists():
                raise CommandError(f"No project with the slug {project!r}.")
        decided = failed = 0
        for project_id, slug in projects.values_list("pk", "slug"):
            after: int | None = 0
            while after is not None:
                batch = services.consensus_settle_batch(
                    project_id=project_id, actor=None, cause=CAUSE, after=after
                )
                for claim_id, outcome in batch.outcomes:
                    self.stdout.write(f"{slug}: claim {claim_id} {outcome}")
                decided += batch.decided
                failed += len(batch.errors)
                after = batch.next_after
        self.stdout.write(f"{decided} claim(s) decided.")
        if failed:
            raise CommandError(f"{failed} claim(s) failed to settle (logged).")
