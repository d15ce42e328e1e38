"""The audit chain under concurrent writers (PostgreSQL only: row locks, real concurrency).

Eight threads, each on its own database connection, write through the real services at
the same time; the chain head's row lock must keep one order: no gap, no fork (two events
linked to the same predecessor), every event verifying. On PostgreSQL one event is
appended in one statement that locks the head and seals the event against the row it
locked (services._base._events_append_in_sql), so a writer that waited must seal after the
version the writer before it committed; several events (up to _IN_SQL_MAX) are sealed one
after another in that statement, each after the one before it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import TransactionTestCase

from annotations import selectors, services
from annotations.core import auditchain
from annotations.models import AuditHead, Event, Project, Role
from annotations.services._base import (
    _IN_SQL_MAX,
    CHAIN_LOCK_CLASS,
    _chain_head,
    chain_lock,
    event_build,
    events_record,
)
from tests.factories import make_document, make_member, make_project, make_user

THREADS = 8
WRITES = 10


def start_together(
    calls: list[Callable[[], Any]],
) -> tuple[list[threading.Thread], list[BaseException | None]]:
    """Start ``calls`` in one thread each (each on its own connection), released together;
    the threads, and the list their exceptions land in by position."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException | None] = [None] * len(calls)

    def target(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            call()
        except BaseException as exc:  # reported to the test
            errors[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    return threads, errors


def run_together(calls: list[Callable[[], Any]]) -> list[BaseException | None]:
    """Run ``calls`` in one thread each, released together; their exceptions by position."""
    threads, errors = start_together(calls)
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.postgres("row locks on the audit chain's head under concurrent writers")
class AuditChainConcurrencyTests(TransactionTestCase):
    def setUp(self) -> None:
        admin = make_user("admin")
        self.project = make_project(creator=admin, name="Concurrent desk", required_reviews=1)
        self.writers = [
            make_member(self.project, f"writer{n}", Role.EDITOR) for n in range(THREADS)
        ]
        line = "The council said the budget rose 12.5% last year, officials claim.\n"
        self.document = make_document(project=self.project, actor=admin, text=line * 200)
        self.line = len(line)

    def assert_one_chain(self, project: Project, count: int) -> list[Event]:
        """``project``'s chain holds ``count`` events from the genesis, each linked to the
        one before, the head on the last, and it verifies; returns the events in order."""
        events = list(Event.objects.filter(project=project).order_by("seq"))
        self.assertEqual([e.seq for e in events], list(range(1, count + 1)))
        self.assertEqual(events[0].prev_hash, auditchain.GENESIS)
        for before, after in itertools.pairwise(events):
            self.assertEqual(after.prev_hash, before.hash)
        head = AuditHead.objects.get(chain=project.pk)
        self.assertEqual((head.seq, head.hash), (events[-1].seq, events[-1].hash))
        report = selectors.audit_verify(project_id=project.pk)
        self.assertTrue(report.ok, report.problem)
        return events

    def test_concurrent_writers_keep_one_chain(self) -> None:
        start = AuditHead.objects.get(chain=self.project.pk).seq

        def writer(n: int) -> Callable[[], None]:
            def write() -> None:
                for k in range(WRITES):
                    offset = (n * WRITES + k) * self.line
                    claim = services.claim_create(
                        document=self.document,
                        start=offset + 4,
                        end=offset + 11,
                        statement=f"Writer {n}, claim {k}",
                        actor=self.writers[n],
                    )
                    if k % 3 == 0:  # a second kind of write, with its own event
                        services.claim_withdraw(
                            claim=claim, actor=self.writers[n], reason=f"withdrawn {n}/{k}"
                        )
                # And events without a project, on the global chain, at the same time.
                services.event_record(actor=None, verb="test.global", after={"writer": n})

            return write

        errors = run_together([writer(n) for n in range(THREADS)])
        self.assertEqual(errors, [None] * THREADS)

        events = list(Event.objects.filter(project=self.project).order_by("seq"))
        written = events[start:]
        withdrawals = THREADS * len(range(0, WRITES, 3))
        self.assertEqual(len(written), THREADS * WRITES + withdrawals)
        # No gap, no fork: seq runs 1..n and every event links to the one before it.
        self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
        links = Counter(e.prev_hash for e in events)
        self.assertEqual(max(links.values()), 1, "two events share a predecessor: a fork")
        for before, after in itertools.pairwise(events):
            self.assertEqual(after.prev_hash, before.hash)
        report = selectors.audit_verify(project_id=self.project.pk)
        self.assertTrue(report.ok, report.problem)
        self.assertEqual(report.head_seq, len(events))
        # Each writer's own events keep their order in the chain.
        for n in range(THREADS):
            own = [
                e.after["statement"]
                for e in written
                if e.verb == "claim.create" and e.actor_id == self.writers[n].pk
            ]
            self.assertEqual(own, [f"Writer {n}, claim {k}" for k in range(WRITES)])
        glob = selectors.audit_verify(project_id=None)
        self.assertTrue(glob.ok, glob.problem)
        self.assertEqual(glob.count, THREADS)

    def test_single_appends_from_the_first_event_on_keep_one_chain(self) -> None:
        # Every thread appends one event at a time (the one-statement append) to a chain
        # that has no event and no head row yet: the first appends race to make the head,
        # then all queue on its lock.
        bare = Project.objects.create(name="Bare desk", slug="bare-desk")
        self.assertFalse(AuditHead.objects.filter(chain=bare.pk).exists())

        def writer(n: int) -> Callable[[], None]:
            def write() -> None:
                for k in range(WRITES):
                    services.event_record(
                        actor=self.writers[n],
                        verb="test.append",
                        project_id=bare.pk,
                        after={"writer": n, "k": k},
                    )

            return write

        errors = run_together([writer(n) for n in range(THREADS)])
        self.assertEqual(errors, [None] * THREADS)
        events = self.assert_one_chain(bare, THREADS * WRITES)
        for n in range(THREADS):
            own = [e.after["k"] for e in events if e.after["writer"] == n]
            self.assertEqual(own, list(range(WRITES)))

    def test_batches_of_events_from_the_first_on_keep_one_chain(self) -> None:
        # Every thread appends batches of several events (one statement each, and now and
        # then one too large for it, three statements) to a chain with no head row yet.
        bare = Project.objects.create(name="Batch desk", slug="batch-desk")
        sizes = [2, 3, 1, 5, _IN_SQL_MAX, 4, _IN_SQL_MAX + 2, 2]

        def writer(n: int) -> Callable[[], None]:
            def write() -> None:
                for k, size in enumerate(sizes):
                    events_record(
                        [
                            event_build(
                                actor=self.writers[n] if i % 2 else None,
                                verb="test.batch",
                                object_type="",
                                object_id=None if i % 3 else k,
                                project_id=bare.pk,
                                after={"writer": n, "k": k, "i": i, "text": "é 🌉"},
                            )
                            for i in range(size)
                        ]
                    )

            return write

        errors = run_together([writer(n) for n in range(THREADS)])
        self.assertEqual(errors, [None] * THREADS)
        events = self.assert_one_chain(bare, THREADS * sum(sizes))
        # Each batch is consecutive in the chain, in its own order, and ids follow seq.
        self.assertEqual([e.pk for e in events], sorted(e.pk for e in events))
        position = 0
        while position < len(events):
            first = events[position].after
            size = sizes[first["k"]]
            batch = [e.after for e in events[position : position + size]]
            self.assertEqual(
                [(a["writer"], a["k"], a["i"]) for a in batch],
                [(first["writer"], first["k"], i) for i in range(size)],
            )
            position += size
        for n in range(THREADS):
            own = [e.after["k"] for e in events if e.after["writer"] == n and e.after["i"] == 0]
            self.assertEqual(own, list(range(len(sizes))))


@pytest.mark.postgres("the audit chain's advisory lock, seen in pg_locks from a second session")
class ChainQueueTests(TransactionTestCase):
    """Writers queue for a chain on its advisory lock (``_base.chain_queue_sql``) before they
    lock its head row: while another session holds that lock, every way of locking a head
    (the one-statement append, the head read for a large batch, ``chain_lock``, a chain's
    first event) waits on it, appends nothing, and goes on in one chain once it is let go."""

    # This database's sessions only (pg_locks is the server's: parallel test databases).
    WAITING = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = %s AND objid = %s AND objsubid = 2 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    def setUp(self) -> None:
        admin = make_user("admin")
        self.project = make_project(creator=admin, name="Queued desk")
        self.writer = make_member(self.project, "writer", Role.EDITOR)

    def _holder(self, chain: int) -> Any:
        """A second session that holds ``chain``'s advisory lock in an open transaction."""
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        holder = psycopg.connect(**params)
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CHAIN_LOCK_CLASS, chain])
        return holder

    def _waiting(self, holder: Any, chain: int, count: int) -> None:
        """Until ``count`` sessions wait for ``chain``'s advisory lock (at most 20 s)."""
        deadline = time.monotonic() + 20
        while True:
            with holder.cursor() as cursor:
                cursor.execute(self.WAITING, [CHAIN_LOCK_CLASS, chain % 2**31])
                waiting = cursor.fetchone()[0]
            if waiting >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(waiting, count, "writers waiting on the chain's advisory lock")

    def _queued(self, chain: int, calls: list[Callable[[], Any]], *, appended: int) -> None:
        holder = self._holder(chain)
        head = AuditHead.objects.filter(chain=chain).values_list("seq", flat=True).first()
        threads, errors = start_together(calls)
        try:
            self._waiting(holder, chain, len(calls))
            # Nothing appended while the lock is held elsewhere.
            self.assertEqual(
                AuditHead.objects.filter(chain=chain).values_list("seq", flat=True).first(), head
            )
        finally:
            holder.commit()  # lets them go
            for thread in threads:
                thread.join(timeout=30)
            holder.close()
        self.assertFalse(any(thread.is_alive() for thread in threads), "a writer still waits")
        self.assertEqual(errors, [None] * len(calls))
        project = Project.objects.get(pk=chain)
        events = Event.objects.filter(project=project).count()
        self.assertEqual(events, (head or 0) + appended)
        self.assertEqual(
            AuditHead.objects.get(chain=chain).seq, events, "the head on the last event"
        )
        report = selectors.audit_verify(project_id=chain)
        self.assertTrue(report.ok, report.problem)

    def _event(self, chain: int, n: int) -> Event:
        return event_build(
            actor=self.writer,
            verb="test.queue",
            object_type="",
            object_id=None,
            project_id=chain,
            after={"n": n},
        )

    def test_every_lock_of_a_head_waits_for_the_chains_advisory_lock(self) -> None:
        chain = self.project.pk

        def one() -> None:  # the one-statement append
            services.event_record(
                actor=self.writer, verb="test.queue", project_id=chain, after={"n": 1}
            )

        def batch() -> None:  # larger than one statement: the head read through the ORM
            events_record([self._event(chain, n) for n in range(_IN_SQL_MAX + 1)])

        def locked_first() -> None:  # chain_lock, then its own append
            from django.db import transaction

            with transaction.atomic():
                chain_lock(chain)
                services.event_record(
                    actor=self.writer, verb="test.queue", project_id=chain, after={"n": 2}
                )

        self._queued(chain, [one, batch, locked_first], appended=1 + _IN_SQL_MAX + 1 + 1)

    def test_a_chains_first_event_waits_for_its_advisory_lock(self) -> None:
        bare = Project.objects.create(name="Bare queued desk", slug="bare-queued-desk")
        self.assertFalse(AuditHead.objects.filter(chain=bare.pk).exists())

        def first() -> None:
            services.event_record(
                actor=self.writer, verb="test.queue", project_id=bare.pk, after={"n": 0}
            )

        self._queued(bare.pk, [first], appended=1)

    def test_a_missing_head_is_made_under_the_chains_advisory_lock(self) -> None:
        # A writer that made the head row and then waited for the advisory lock would wait on
        # one that holds the lock and waits for that row: the holder inserts the head itself
        # while the writer waits, which must not wait on a row the writer made.
        bare = Project.objects.create(name="Headless desk", slug="headless-desk")
        holder = self._holder(bare.pk)
        found: list[tuple[int, str]] = []

        def make() -> None:
            from django.db import transaction

            with transaction.atomic():
                head = _chain_head(bare.pk)
                found.append((head.seq, head.hash))

        (thread,), errors = start_together([make])
        try:
            self._waiting(holder, bare.pk, 1)
            with holder.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                cursor.execute(
                    "INSERT INTO annotations_audithead (chain, seq, hash) VALUES (%s, 7, %s)",
                    [bare.pk, "f" * 64],
                )
        finally:
            holder.commit()
            thread.join(timeout=30)
            holder.close()
        self.assertFalse(thread.is_alive())
        self.assertEqual(errors, [None])
        self.assertEqual(found, [(7, "f" * 64)], "the writer locked the head the holder made")

    def test_a_chain_past_2_to_the_31_has_one_key_on_every_path(self) -> None:
        # The ORM's head read and the one-statement append take the same advisory key.
        big = Project.objects.create(pk=2**31 + 5, name="Big id desk", slug="big-id-desk")
        from django.db import transaction

        with transaction.atomic():
            chain_lock(big.pk)  # the ORM's read (making the head: the chain's first event)
            chain_lock(big.pk)  # and again, now through the compiled read of the head
            services.event_record(
                actor=self.writer, verb="test.queue", project_id=big.pk, after={"n": 1}
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT DISTINCT objid FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = %s AND pid = pg_backend_pid()",
                    [CHAIN_LOCK_CLASS],
                )
                keys = sorted(row[0] for row in cursor.fetchall())
        self.assertEqual(keys, [5])
        report = selectors.audit_verify(project_id=big.pk)
        self.assertTrue(report.ok, report.problem)
