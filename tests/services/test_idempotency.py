"""Services: idempotent writes (``annotations/services/idempotency.py``) and the duplicate
claim rule under concurrency (``services/claims.py``).

The PostgreSQL tests make the overlap certain instead of hoping for it: the first writer
holds its transaction open until the database shows the second one waiting for a lock.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase

from annotations import services
from annotations.models import Claim, Document, Event, IdempotencyKey
from tests.factories import make_document, make_member, make_project, make_user
from tests.test_queue_concurrency import run_together

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
ANSWER = services.StoredAnswer(status_code=201, body='{"id": 7}')


def keyed(user: Any, key: str = "k1", fingerprint: str = "f" * 64) -> services.IdempotentRequest:
    return services.IdempotentRequest(
        user=user, key=key, method="POST", path="/api/v1/documents/", fingerprint=fingerprint
    )


class IdempotencyRunTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.admin = make_user("admin")
        cls.project = make_project(creator=cls.admin, name="Desk")
        cls.editor = make_member(cls.project, "editor", "editor")

    def write(self, title: str = "Memo") -> Document:
        return services.document_create(
            project=self.project,
            data=services.DocumentInput(title=title, text=f"{title} text.\n"),
            actor=self.editor,
        )

    def test_the_first_run_writes_and_keeps_the_answer_a_repeat_replays_it(self) -> None:
        calls: list[int] = []

        def produce() -> tuple[str, services.StoredAnswer]:
            calls.append(1)
            self.write()
            return "written", ANSWER

        self.assertEqual(
            services.idempotency_run(request=keyed(self.editor), produce=produce, at=NOW), "written"
        )
        events = Event.objects.count()
        again = services.idempotency_run(request=keyed(self.editor), produce=produce, at=NOW)
        self.assertEqual(again, services.Replay(ANSWER))
        self.assertEqual(
            (len(calls), Document.objects.count(), Event.objects.count()), (1, 1, events)
        )

    def test_an_answer_not_kept_rolls_the_write_back_with_its_key(self) -> None:
        def refused() -> tuple[str, None]:
            self.write()
            return "refused", None

        self.assertEqual(
            services.idempotency_run(request=keyed(self.editor), produce=refused), "refused"
        )
        self.assertEqual((Document.objects.count(), IdempotencyKey.objects.count()), (0, 0))

    def test_an_exception_rolls_the_write_back_with_its_key(self) -> None:
        def fails() -> tuple[str, services.StoredAnswer]:
            self.write()
            raise RuntimeError("connection lost before the answer was made")

        with self.assertRaises(RuntimeError):
            services.idempotency_run(request=keyed(self.editor), produce=fails)
        self.assertEqual((Document.objects.count(), IdempotencyKey.objects.count()), (0, 0))

    def test_the_key_of_another_request_is_refused_before_anything_runs(self) -> None:
        services.idempotency_run(request=keyed(self.editor), produce=lambda: (None, ANSWER))
        with self.assertRaises(services.KeyReused):
            services.idempotency_run(
                request=keyed(self.editor, fingerprint="0" * 64),
                produce=lambda: self.fail("must not run"),
            )

    def test_keys_expire(self) -> None:
        services.idempotency_run(request=keyed(self.editor), produce=lambda: (None, ANSWER), at=NOW)
        later = NOW + dt.timedelta(hours=24)
        self.assertIsNone(services.idempotency_stored(request=keyed(self.editor), at=later))
        result = services.idempotency_run(
            request=keyed(self.editor, fingerprint="0" * 64),
            produce=lambda: ("new", ANSWER),
            at=later,
        )
        self.assertEqual(result, "new")
        self.assertEqual(IdempotencyKey.objects.get().created_at, later)
        self.assertEqual(services.idempotency_keys_purge(at=later + dt.timedelta(hours=23)), 0)
        self.assertEqual(services.idempotency_keys_purge(at=later + dt.timedelta(hours=24)), 1)

    def test_the_dry_run_writes_nothing(self) -> None:
        events = Event.objects.count()
        self.assertEqual(services.idempotency_dry_run(produce=lambda: self.write().title), "Memo")
        self.assertEqual((Document.objects.count(), Event.objects.count()), (0, events))


def wait_for_a_lock_waiter(tries: int = 2000) -> bool:
    """Poll (on this thread's connection) until another backend of this database waits for
    a lock; False if none did within ``tries`` polls (the test then fails on its counts)."""
    with connection.cursor() as cursor:
        for _ in range(tries):
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.005)
    return False


@pytest.mark.postgres("row locks and a second connection waiting on them")
class ConcurrentRepeatTests(TransactionTestCase):
    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(creator=self.admin, name="Desk")
        self.editor = make_member(self.project, "editor", "editor")
        self.document = make_document(project=self.project, actor=self.editor)

    def test_two_requests_with_one_key_write_once_and_answer_alike(self) -> None:
        waited: list[bool] = []

        def produce() -> tuple[str, services.StoredAnswer]:
            document = services.document_create(
                project=self.project,
                data=services.DocumentInput(title="Memo", text="Memo text.\n"),
                actor=self.editor,
            )
            waited.append(wait_for_a_lock_waiter())  # the other request is blocked on the key
            return "written", services.StoredAnswer(201, f'{{"id": {document.pk}}}')

        def send() -> Any:
            return services.idempotency_run(request=keyed(self.editor), produce=produce)

        results, errors = run_together([send, send])
        self.assertEqual(errors, [None, None])
        self.assertEqual(waited, [True])
        memo = Document.objects.get(title="Memo")
        replay = services.Replay(services.StoredAnswer(201, f'{{"id": {memo.pk}}}'))
        self.assertEqual(sorted(results, key=str), sorted(["written", replay], key=str))
        self.assertEqual(Event.objects.filter(verb="document.create", object_id=memo.pk).count(), 1)
        self.assertEqual(IdempotencyKey.objects.count(), 1)

    def test_two_creations_of_the_same_claim_make_one_claim(self) -> None:
        start = self.document.text.index("crime fell 20%")
        create = {"document": self.document, "start": start, "end": start + 14, "statement": "S"}
        waited: list[bool] = []

        def create_claim() -> Claim:
            with transaction.atomic():
                claim = services.claim_create(actor=self.editor, **create)
                waited.append(wait_for_a_lock_waiter())  # the other waits for the document
                return claim

        results, errors = run_together([create_claim, create_claim])
        self.assertEqual(waited, [True])
        created = [result for result in results if result is not None]
        refused = [error for error in errors if error is not None]
        self.assertEqual(len(created), 1)
        self.assertEqual(len(refused), 1)
        self.assertIsInstance(refused[0], services.DuplicateClaim)
        self.assertEqual(refused[0].existing_id, created[0].pk)
        self.assertEqual(Claim.objects.filter(document=self.document).count(), 1)
