"""A verdict's evidence task is written in the verdict's transaction (``_base.task_row``,
``evidence.verdict_evidence_enqueue``; issue 20): it commits with the verdict, or not at
all, and on PostgreSQL the verdict's own statement writes it. The row is the one the
database queue's ``enqueue`` writes, and the worker runs it."""

from __future__ import annotations

from unittest import mock

from django.core.management import call_command
from django.db import connection, transaction
from django.tasks.signals import task_enqueued
from django.test import TestCase, override_settings
from django_tasks_db.models import DBTaskResult, get_date_max

from annotations import services
from annotations.models import SourceSnapshot, Verdict
from annotations.services._base import task_row
from annotations.services.evidence import verdict_evidence_task
from tests.evidence_base import EvidenceTestCase
from tests.factories import Personas, make_claim, take

EVIDENCE_TASK = "annotations.services.evidence.verdict_evidence_task"
# What the queue's row holds besides its id and the time it was queued.
ROW_FIELDS = (
    "status",
    "started_at",
    "finished_at",
    "args_kwargs",
    "priority",
    "task_path",
    "worker_ids",
    "queue_name",
    "backend_name",
    "run_after",
    "return_value",
    "exception_class_path",
    "traceback",
)


def row_values(row: DBTaskResult) -> dict[str, object]:
    return {name: getattr(row, name) for name in ROW_FIELDS}


def citation(n: int) -> services.CitationInput:
    return services.CitationInput(url=f"https://example.org/report-{n}", stance="supports")


class TaskRowTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, start=0, end=20)

    def submit(self, reviewer, **extra) -> Verdict:
        return services.verdict_submit(
            claim=self.claim, reviewer=reviewer, rating="true", confidence="high", **extra
        )

    def test_the_row_is_the_one_enqueue_writes(self) -> None:
        queued = verdict_evidence_task.enqueue(41).db_result
        made = task_row(verdict_evidence_task, 41, alias=connection.alias)
        assert made is not None
        made.row.save(force_insert=True)
        fresh = DBTaskResult.objects.get(pk=made.row.pk)
        self.assertEqual(row_values(fresh), row_values(DBTaskResult.objects.get(pk=queued.pk)))
        self.assertNotEqual(fresh.pk, queued.pk)
        self.assertEqual(
            fresh.run_after, get_date_max()
        )  # the model's pre_save, as saving sends it

    def test_a_verdicts_task_is_in_its_transaction_and_names_it(self) -> None:
        take(self.claim, self.reviewer_a)
        told = []

        def receiver(sender, task_result, **kwargs) -> None:
            told.append(task_result.args)

        task_enqueued.connect(receiver)
        self.addCleanup(task_enqueued.disconnect, receiver)
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            verdict = self.submit(self.reviewer_a, citations=[citation(1), citation(2)])
            # Written before the commit: nothing after it is needed for the task to exist.
            task = DBTaskResult.objects.get(task_path=EVIDENCE_TASK)
        self.assertEqual(task.args_kwargs, {"args": [verdict.pk], "kwargs": {}})
        self.assertEqual(task.status, "READY")
        self.assertEqual(told, [])
        for callback in callbacks:
            callback()
        self.assertEqual(told, [[verdict.pk]])  # the tasks framework is told once it commits

    def test_a_revision_queues_its_task_in_its_transaction_too(self) -> None:
        take(self.claim, self.reviewer_a)
        first = self.submit(self.reviewer_a)
        self.assertFalse(
            DBTaskResult.objects.filter(task_path=EVIDENCE_TASK).exists()
        )  # no citation, no task
        revised = self.submit(self.reviewer_a, citations=[citation(1)])
        self.assertNotEqual(revised.pk, first.pk)
        task = DBTaskResult.objects.get(task_path=EVIDENCE_TASK)
        self.assertEqual(task.args_kwargs["args"], [revised.pk])

    def test_a_verdict_rolled_back_leaves_no_task(self) -> None:
        take(self.claim, self.reviewer_a)
        with self.assertRaises(RuntimeError), transaction.atomic():
            self.submit(self.reviewer_a, citations=[citation(1)])
            raise RuntimeError("the caller's transaction fails after the verdict")
        self.assertFalse(DBTaskResult.objects.filter(task_path=EVIDENCE_TASK).exists())
        self.assertFalse(Verdict.objects.exists())

    @override_settings(TASKS={"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}})
    def test_another_backend_is_queued_once_the_verdict_commits(self) -> None:
        from django.tasks import default_task_backend

        take(self.claim, self.reviewer_a)
        self.assertIsNone(task_row(verdict_evidence_task, 1, alias=connection.alias))
        with self.captureOnCommitCallbacks(execute=True):
            verdict = self.submit(self.reviewer_a, citations=[citation(1)])
            self.assertEqual(default_task_backend.results, [])
        self.assertFalse(DBTaskResult.objects.filter(task_path=EVIDENCE_TASK).exists())
        self.assertEqual([r.args for r in default_task_backend.results], [[verdict.pk]])


class TaskRowWorkerTests(EvidenceTestCase):
    """The row the verdict's statement wrote is one the queue hands out, and its task
    archives the cited page (a site on 127.0.0.1)."""

    def test_the_worker_runs_it(self) -> None:
        verdict = self.cite(self.reviewer_a, path="/steel", run=False)
        # The worker's loop in this process, on the test's connection (which its hygiene
        # between tasks, closing connections past their age, would close).
        with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
            call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay")
        task = DBTaskResult.objects.get(task_path=EVIDENCE_TASK)
        self.assertEqual((task.status, task.args_kwargs["args"]), ("SUCCESSFUL", [verdict.pk]))
        source = verdict.citations.get().source
        self.assertEqual(
            list(SourceSnapshot.objects.filter(source=source).values_list("outcome", flat=True)),
            ["ok"],
        )
