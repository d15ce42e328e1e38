"""Verify the audit trail's hash chains.

    python manage.py verify_audit                      # every chain in the database
    python manage.py verify_audit --project demo       # one project's chain
    python manage.py verify_audit --file audit.jsonl   # a downloaded log, no database needed
    python manage.py verify_audit --file audit.jsonl --anchor 120:4f3a…   # + a head kept earlier

Each event's hash is recomputed from its content and its link to the event before it is
checked (``annotations/core/auditchain.py``). An intact chain prints one line (events,
head seq and hash: keep that head somewhere else; it is what a later check is compared
with) and the command exits 0; otherwise it names the first event that was edited,
deleted, reordered or inserted, and exits 1.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations import selectors
from annotations.core import auditchain
from annotations.models import Project

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def _anchor(value: str) -> tuple[int, str]:
    match = _ANCHOR.match(value.strip().lower())
    if match is None:
        raise CommandError(f"--anchor takes SEQ:HASH (64 hex digits), not {value!r}.")
    return int(match.group(1)), match.group(2)


class Command(BaseCommand):
    help = "Recompute the audit hash chains and name the first tampered event (exit 1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="Only this project's chain (slug).")
        parser.add_argument(
            "--file",
            type=Path,
            help="Verify a downloaded audit.jsonl instead of the database ('-' = stdin).",
        )
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="A head kept earlier: the chain must still hold this hash at this seq "
            "(repeatable). Catches a rewrite of the chain from a tampered event on.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchors = dict(_anchor(value) for value in options["anchor"])
        if options["file"] is not None:
            if options["project"]:
                raise CommandError("--file verifies the downloaded file; leave out --project.")
            name = str(options["file"])
            if name == "-":
                report = auditchain.verify_lines(sys.stdin, anchors=anchors)
            else:
                try:
                    with options["file"].open(encoding="utf-8") as handle:
                        report = auditchain.verify_lines(handle, anchors=anchors)
                except OSError as exc:
                    raise CommandError(f"Cannot read {name}: {exc.strerror}.") from None
            self._finish([(name, report)])
            return
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(f"No project with slug {options['project']!r}.")
            chains: list[tuple[str, int | None]] = [(f"project '{project.slug}'", project.pk)]
        else:
            slugs = dict(Project.objects.values_list("pk", "slug"))
            chains = [
                (
                    f"project '{slugs.get(chain, chain)}'" if chain is not None else "global chain",
                    chain,
                )
                for chain in selectors.audit_chains()
            ]
            if anchors:
                raise CommandError("--anchor needs --project or --file (one chain).")
        results = [
            (label, selectors.audit_verify(project_id=chain, anchors=anchors))
            for label, chain in chains
        ]
        self._finish(results)

    def _finish(self, results: list[tuple[str, auditchain.Report]]) -> None:
        failed = 0
        for label, report in results:
            if report.problem is None:
                self.stdout.write(
                    f"OK {label}: {report.count} events, head seq {report.head_seq} "
                    f"hash {report.head_hash}"
                )
            else:
                failed += 1
                problem = report.problem
                self.stdout.write(
                    f"TAMPERED {label}: {problem.kind}: {problem.message} "
                    f"({report.count} events verified before it.)"
                )
        if not results:
            self.stdout.write("No audit events.")
        if failed:
            raise CommandError(
                f"{failed} of {len(results)} audit chain(s) do not verify.", returncode=1
            )
