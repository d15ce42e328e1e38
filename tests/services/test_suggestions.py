"""The background side of check-worthiness suggestions: a created, imported or revised
document queues ``suggestions_compute`` in its transaction (nothing on rollback),
and the task stores a run per revision (``services.suggestions``)."""

from __future__ import annotations

from django.db import transaction
from django.test import TestCase
from django_tasks_db.models import DBTaskResult

from annotations import services
from annotations.core import triage
from annotations.models import Suggestion, TriageRun
from tests.factories import Personas

TASK = "annotations.services.suggestions.suggestions_compute"


class SuggestionComputeTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def create(self, text: str) -> int:
        return services.document_create(
            project=self.project,
            data=services.DocumentInput(title="T", text=text),
            actor=self.editor,
        ).pk

    def queued(self, *pks: int) -> list[DBTaskResult]:
        return list(DBTaskResult.objects.filter(task_path=TASK, args_kwargs__args=[list(pks)]))

    def test_a_created_document_queues_the_task_in_its_transaction(self) -> None:
        with self.captureOnCommitCallbacks() as callbacks:
            pk = self.create("Taxes rose 5 percent. Hello.\n")
        (task,) = self.queued(pk)  # written before the commit; the callbacks announce it
        self.assertEqual(task.args_kwargs, {"args": [[pk]], "kwargs": {}})
        self.assertEqual(len(callbacks), 2)  # its suggestions and its repeats scan

    def test_a_bulk_import_queues_one_task_and_a_rollback_none(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            docs = services.document_create_many(
                project=self.project,
                items=[
                    services.DocumentInput(title=f"T{i}", text=f"Text number {i}.")
                    for i in range(3)
                ],
                actor=self.editor,
            )
        self.assertEqual(len(self.queued(*[d.pk for d in docs])), 1)
        count = DBTaskResult.objects.filter(task_path=TASK).count()
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            try:
                with transaction.atomic():
                    self.create("Rolled back.")
                    raise RuntimeError
            except RuntimeError:
                pass
        self.assertEqual(callbacks, [])
        self.assertEqual(DBTaskResult.objects.filter(task_path=TASK).count(), count)

    def test_a_revision_queues_the_task_and_gets_its_own_run(self) -> None:
        pk = self.create("Crime fell 20 percent. Thanks.\n")
        document = self.project.documents.get(pk=pk)
        self.assertEqual(services.suggestions.suggestions_compute.call([pk]), 1)
        with self.captureOnCommitCallbacks(execute=True):
            services.document_revise(
                document=document, text="Crime fell 30 percent. Thanks.\n", actor=self.editor
            )
        self.assertEqual(len(self.queued(pk)), 2)  # the creation's and the revision's
        run = services.suggestions_store(document_id=pk)
        assert run is not None
        self.assertEqual(
            list(TriageRun.objects.filter(document_id=pk).values_list("revision", flat=True)),
            [2, 1],
        )
        texts = set(Suggestion.objects.filter(run=run).values_list("text", flat=True))
        self.assertEqual(texts, {"Crime fell 30 percent.", "Thanks."})
        # Stored again for the same revision: replaced, not doubled.
        services.suggestions_store(document_id=pk)
        self.assertEqual(TriageRun.objects.filter(document_id=pk).count(), 2)
        for row in Suggestion.objects.filter(run__document_id=pk, run__revision=2):
            self.assertIsNone(
                triage.suggestion_problem(
                    "Crime fell 30 percent. Thanks.\n", row.start, row.end, row.text
                )
            )
