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

    def test_the_export_reads_each_chunk_by_index_without_sorting_the_big_tables(self) -> None:
        """The plans of the export's queries as ``_project_rows`` runs them: the next chunk of
        claims after a keyset, and the related rows of one chunk of 1,000 claims. A join to
        the claim table for the project alone was a hash of all of its claims per query per
        chunk (a sequential scan: most of a large export's time)."""
        project = Project.objects.get(pk=self.export.project_id)
        big = {
            "annotations_claim",
            "annotations_verdict",
            "annotations_citation",
            "annotations_consensus_verdicts",
        }
        reviewer = get_user_model().objects.get(pk=self.export.reviewer_ids[0])
        for user in (self.editor, reviewer):
            _, membership = access.project_get_for_user(user=user, pk=project.pk)
            claims = selectors.project_row_querysets(
                project=project, user=user, membership=membership
            )["claims"]
            ids = list(claims.values_list("id", flat=True)[5000:6000])
            with self.subTest(query="claims", user=user.username):
                plan = _plan(claims.filter(id__gt=ids[0])[:1000])
                self.assertFalse(_seq_scans(plan) & big, plan)
                self.assertNotRegex(plan.splitlines()[0], r"^\s*Sort\b", plan)
            chunk = selectors.project_row_querysets(
                project=project, user=user, membership=membership, between=(ids[0], ids[-1])
            )
            for name, queryset in chunk.items():
                with self.subTest(query=name, user=user.username):
                    plan = _plan(queryset)
                    self.assertFalse(_seq_scans(plan) & big, plan)
