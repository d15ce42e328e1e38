"""One reviewer citing the same new page in two transactions at once (PostgreSQL only: a
second transaction waiting on the first's uncommitted row). ``sources_for_urls`` reads the
reviewer's sources and inserts the missing ones in one statement; the second transaction's
snapshot does not see the first's row, its insert waits for it, and once the first commits
it is skipped (``ON CONFLICT DO NOTHING``) and read again. One source, both citations on
it, one ``source.create`` (the first's): before, the second's insert took the row over
(``ON CONFLICT DO UPDATE``) and recorded a second ``source.create`` for it.
``TransactionTestCase`` so that the threads see each other's commits.
"""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.test import TransactionTestCase

from annotations import selectors, services
from annotations.models import Citation, Event, Role, Source, Verdict
from tests.factories import (
    judge,
    make_claim,
    make_document,
    make_member,
    make_project,
    make_user,
    take,
)
from tests.services.test_idempotency import wait_for_a_lock_waiter
from tests.test_queue_concurrency import run_together

PAGE = "https://example.org/budget-2025"


@pytest.mark.postgres("a second transaction waiting on the first's uncommitted source row")
class SourceCitedTwiceAtOnceTests(TransactionTestCase):
    def setUp(self) -> None:
        admin = make_user("admin")
        self.project = make_project(creator=admin, name="Desk", required_reviews=2)
        creator = make_member(self.project, "creator", Role.REVIEWER)
        self.reviewer = make_member(self.project, "reviewer", Role.REVIEWER)
        document = make_document(project=self.project, actor=creator)
        # The reviewer's verdict on the first claim (revised below, no lease needed) and
        # their lease on the second (a first verdict below).
        self.judged = make_claim(document=document, actor=creator, exact="crime fell 20%")
        self.leased = make_claim(document=document, actor=creator, exact="record low of 3.1%")
        judge(self.judged, self.reviewer, "true")
        take(self.leased, self.reviewer)

    def cite(self, claim_id: int) -> Verdict:
        return services.verdict_submit_as_member(
            reviewer=self.reviewer,
            claim_id=claim_id,
            rating="false",
            confidence="high",
            citations=[services.CitationInput(stance="refutes", url=PAGE)],
        ).verdict

    def test_the_second_transaction_cites_the_first_ones_source(self) -> None:
        inserted = threading.Event()
        waited: list[bool] = []

        def first() -> Verdict:
            with transaction.atomic():
                verdict = self.cite(self.leased.pk)
                inserted.set()
                # The second's insert waits for this uncommitted source row.
                waited.append(wait_for_a_lock_waiter())
            return verdict

        def second() -> Verdict:
            assert inserted.wait(timeout=30)
            return self.cite(self.judged.pk)

        results, errors = run_together([first, second])
        self.assertEqual(errors, [None, None])
        self.assertEqual(waited, [True])
        source = Source.objects.get(project=self.project, created_by=self.reviewer)
        self.assertEqual(source.url, PAGE)
        for verdict in results:
            self.assertEqual(
                list(Citation.objects.filter(verdict=verdict).values_list("source", flat=True)),
                [source.pk],
            )
            # The answer's citation is that source too, its evidence read with it.
            self.assertEqual([c.source_id for c in verdict.citations.all()], [source.pk])
        self.assertEqual(
            list(Event.objects.filter(verb="source.create").values_list("object_id", flat=True)),
            [source.pk],
        )
        self.assertEqual(
            Event.objects.filter(verb__in=["verdict.submit", "verdict.revise"]).count(), 3
        )
        report = selectors.audit_verify(project_id=self.project.pk)
        self.assertTrue(report.ok, report.problem)
