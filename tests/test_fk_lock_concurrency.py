"""Row locks and the foreign keys that point at the locked row (PostgreSQL only: row locks,
real concurrency).

Django makes PostgreSQL's foreign keys ``DEFERRABLE INITIALLY DEFERRED``: a transaction
that inserted a row naming a project takes ``FOR KEY SHARE`` on the project's row at
COMMIT, after its audit events were appended, that is while it holds its chain's head.
A writer that locked the project ``FOR UPDATE`` and then waits for that head would wait
on it while it waits on them: a deadlock, PostgreSQL aborts one of the two (a 500). The
services lock ``FOR NO KEY UPDATE`` (``select_for_update(no_key=True)``), which
``FOR KEY SHARE`` does not conflict with, so the commit goes through and the other writer
appends after it. ``TransactionTestCase`` so that the threads see each other's commits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase
from django.test.utils import CaptureQueriesContext

from annotations import selectors, services
from annotations.models import Citation, Document, Event, Invitation, Role, Source
from tests.factories import make_claim, make_document, make_member, make_project, make_user, take
from tests.services.test_idempotency import wait_for_a_lock_waiter
from tests.test_queue_concurrency import run_together


def _bounded() -> None:
    """This thread's session gives up on a lock after 10 s: a wait the test did not plan
    for fails the test instead of hanging it (a deadlock is found after 1 s)."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '10s'")


def race_the_commit(
    holder: Callable[[], Any], contender: Callable[[], Any]
) -> tuple[list[Any], list[BaseException | None], list[bool]]:
    """Run ``holder`` in a transaction that, once it returns (its events appended: it holds
    its chain's head, and its new rows' key checks wait for the commit), waits until
    another session waits for a lock, then commits; and ``contender`` in another session
    once ``holder`` has returned. Both give up on a lock after 10 s. Returns
    ``run_together``'s results and errors, and ``[True]`` when the contender was seen
    waiting."""
    appended = threading.Event()
    waited: list[bool] = []

    def hold() -> Any:
        _bounded()
        with transaction.atomic():
            result = holder()
            appended.set()
            waited.append(wait_for_a_lock_waiter())
        return result

    def contend() -> Any:
        _bounded()
        assert appended.wait(timeout=30)
        return contender()

    results, errors = run_together([hold, contend], timeout=40)
    return results, errors, waited


@pytest.mark.postgres("row locks and deferred foreign key checks across two connections")
class ForeignKeyLockTests(TransactionTestCase):
    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(creator=self.admin, name="Desk")

    def test_a_commit_naming_the_project_does_not_deadlock_with_an_invitation(self) -> None:
        # The document's transaction holds the project's chain head and its new row's key
        # check on the project waits for the commit; the invitation locks the project and
        # then waits for the head.
        results, errors, waited = race_the_commit(
            lambda: services.document_create(
                project=self.project,
                data=services.DocumentInput(title="Memo", text="Memo text.\n"),
                actor=self.admin,
            ),
            lambda: services.invitation_create(
                project=self.project, actor=self.admin, invited_as="newcomer", role=Role.REVIEWER
            ),
        )
        self.assertEqual(waited, [True])
        self.assertEqual(errors, [None, None])
        self.assertTrue(Document.objects.filter(pk=results[0].pk).exists())
        self.assertTrue(Invitation.objects.filter(pk=results[1].pk).exists())
        # The document's event first (its writer held the head), then the invitation's.
        verbs = list(
            Event.objects.filter(project=self.project, seq__gt=1)
            .order_by("seq")
            .values_list("verb", flat=True)
        )
        self.assertEqual(verbs[-2:], ["document.create", "invitation.create"])
        report = selectors.audit_verify(project_id=self.project.pk)
        self.assertTrue(report.ok, report.problem)

    def test_a_verdict_citing_a_source_does_not_deadlock_with_its_edit(self) -> None:
        # The citation names the source; the source's edit locks it, then appends.
        creator = make_member(self.project, "creator")
        reviewer = make_member(self.project, "reviewer")
        document = make_document(project=self.project, actor=creator)
        claim = make_claim(document=document, actor=creator, start=0, end=20)
        source = services.source_get_or_create(
            url="https://example.org/report", actor=reviewer, project=self.project
        )
        take(claim, reviewer)
        results, errors, waited = race_the_commit(
            lambda: services.verdict_submit(
                claim=claim,
                reviewer=reviewer,
                rating="false",
                confidence="high",
                citations=[services.CitationInput(stance="refutes", source_id=source.pk)],
            ),
            lambda: services.source_update(source=source, actor=reviewer, title="The report"),
        )
        self.assertEqual(waited, [True])
        self.assertEqual(errors, [None, None])
        self.assertEqual(Citation.objects.get(verdict=results[0]).source_id, source.pk)
        self.assertEqual(Source.objects.get(pk=source.pk).title, "The report")
        report = selectors.audit_verify(project_id=self.project.pk)
        self.assertTrue(report.ok, report.problem)


@pytest.mark.postgres("the SQL text of PostgreSQL's row locks")
class NoKeyLockSqlTests(TestCase):
    """The locks are taken ``FOR NO KEY UPDATE`` in the SQL sent, through the ORM, the
    compiled reads (annotations.compiled) and the audit append's own statement."""

    def test_an_invitation_locks_without_the_key(self) -> None:
        admin = make_user("admin")
        project = make_project(creator=admin, name="Desk")
        with CaptureQueriesContext(connection) as queries:
            services.invitation_create(
                project=project, actor=admin, invited_as="newcomer", role=Role.REVIEWER
            )
        sql = [query["sql"] for query in queries.captured_queries]
        locks = [s for s in sql if "FOR NO KEY UPDATE" in s]
        # The project's row, then the chain head in the append's statement.
        self.assertEqual(len(locks), 2, sql)
        self.assertIn('FROM "annotations_project"', locks[0])
        self.assertIn("annotations_audithead", locks[1])
        self.assertEqual([s for s in sql if "FOR UPDATE" in s], [])
