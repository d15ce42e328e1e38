"""Query plans of the queue and the export on PostgreSQL, with enough rows and fresh
statistics that a missing index would show as a sequential scan of the big table.

The data comes from the benchmark generator's bulk path (``bench.generate``: COPY), the
same as the benchmarks use: a QUEUE of 20,000 claims in review and an EXPORT of 30,000
verdicts, next to each other in one database, then ANALYZE.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import TestCase

from annotations import access, selectors
from annotations.models import Project
from annotations.services import leases
from bench import generate

pytestmark = pytest.mark.postgres("EXPLAIN plans")


def _plan(queryset, *, cursor: bool = False) -> str:
    """EXPLAIN of ``queryset``'s SQL; ``cursor`` plans it as the export's server-side cursor
    does (``DECLARE … CURSOR``: the planner favours plans that return the first rows fast)."""
    sql, params = queryset.query.sql_with_params()
    prefix = "EXPLAIN DECLARE plan_probe NO SCROLL CURSOR FOR " if cursor else "EXPLAIN "
    with connection.cursor() as db:
        db.execute(prefix + sql, params)
        return "\n".join(row[0] for row in db.fetchall())


def _seq_scans(plan: str) -> set[str]:
    return set(re.findall(r"Seq Scan on (\w+)", plan))


class ExplainTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.queue = generate.generate_queue(claims=20_000, documents=200, slug="explain-queue")
        cls.export = generate.generate_export(verdicts=30_000, slug="explain-export")
        generate.analyze()
        cls.reviewer = get_user_model().objects.get(pk=cls.queue.reviewer_ids[0])
        cls.editor = get_user_model().objects.get(pk=cls.export.editor_id)

    def test_the_queue_pick_uses_the_queue_index(self) -> None:
        project = Project.objects.get(pk=self.queue.project_id)
        candidates = leases._eligible_claims(
            project=project, reviewer=self.reviewer, now=leases.timezone.now()
        )
        plan = _plan(candidates.select_for_update(skip_locked=True, of=("self",)).only("pk")[:1])
        self.assertIn("annotations_claim_queue_idx", plan)
        self.assertNotIn("annotations_claim", _seq_scans(plan), plan)

    def test_the_export_streams_by_index_without_sorting_the_big_tables(self) -> None:
        project = Project.objects.get(pk=self.export.project_id)
        _, membership = access.project_get_for_user(user=self.editor, pk=project.pk)
        for name, queryset in selectors.project_row_querysets(
            project=project, user=self.editor, membership=membership
        ).items():
            with self.subTest(query=name):
                plan = _plan(queryset, cursor=True)
                big = {
                    "annotations_claim",
                    "annotations_verdict",
                    "annotations_citation",
                    "annotations_consensus_verdicts",
                }
                self.assertFalse(_seq_scans(plan) & big, plan)
                # The first row must not wait for a sort of the whole result.
                self.assertNotRegex(plan.splitlines()[0], r"^\s*Sort\b", plan)
