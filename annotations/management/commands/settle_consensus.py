"""Decide the claims left in review with the verdicts their project requires: what
lowering ``required_reviews`` left behind before such a change queued their decision
itself (``review.consensus_settle_task``).

    manage.py settle_consensus                 # every project
    manage.py settle_consensus --project desk  # one project, by slug

Each claim is decided as its last verdict would have decided it, in its own transaction
(``services.consensus_settle``; a ``consensus.recompute`` event with ``cause:
"settle_consensus"``). Decided claims are never touched, so it is safe at any time.
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
        decided = 0
        for project_id, slug in projects.values_list("pk", "slug"):
            after = 0
            while ids := services.claims_to_settle(project_id=project_id, after=after):
                for claim_id in ids:
                    outcome = services.consensus_settle(claim_id=claim_id, actor=None, cause=CAUSE)
                    self.stdout.write(f"{slug}: claim {claim_id} {outcome}")
                    decided += outcome in ("recorded", "disputed")
                after = ids[-1]
        self.stdout.write(f"{decided} claim(s) decided.")
