"""Appending to the audit hash chain (services/_base.event_record): every service's event
is the next link of its project's chain, hashed as stored, at a constant cost."""

from __future__ import annotations

import itertools

from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from annotations import selectors, services
from annotations.core import auditchain
from annotations.models import AuditHead, Event, Project, Source
from annotations.services._base import (
    _IN_SQL_MAX,
    _insert_unless_exists,
    event_build,
    events_record,
)
from tests.factories import Personas, judge, make_claim


class AuditChainAppendTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)

    def chain(self, project_id: int | None) -> list[Event]:
        if project_id is None:
            return list(Event.objects.filter(project__isnull=True).order_by("seq"))
        return list(Event.objects.filter(project_id=project_id).order_by("seq"))

    def test_each_event_links_to_the_one_before_in_its_project(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        judge(claim, self.reviewer_a, "false")
        judge(claim, self.reviewer_b, "false")  # decides: consensus + status events
        events = self.chain(self.project.pk)
        self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
        self.assertEqual(events[0].prev_hash, auditchain.GENESIS)
        for before, after in itertools.pairwise(events):
            self.assertEqual(after.prev_hash, before.hash)
        self.assertIn("consensus.unanimous", [e.verb for e in events])
        head = AuditHead.objects.get(chain=self.project.pk)
        self.assertEqual((head.seq, head.hash), (events[-1].seq, events[-1].hash))
        # The other project's chain is its own, from seq 1.
        other = self.chain(self.other_project.pk)
        self.assertEqual(other[0].seq, 1)
        self.assertEqual(other[0].prev_hash, auditchain.GENESIS)

    def test_what_is_stored_is_what_was_hashed(self) -> None:
        # Read back from the database (times at the column's precision, JSON as the
        # column returns it), every event still hashes to its stored hash.
        services.event_record(
            actor=self.editor,
            verb="test.values",
            project=self.project,
            after={"tuple": (1, 2), "float": 2.0, "third": 1 / 3, "text": "é 🌉"},
        )
        report = selectors.audit_verify(project_id=self.project.pk)
        self.assertTrue(report.ok, report.problem)
        event = Event.objects.get(verb="test.values")
        self.assertEqual(event.after["tuple"], [1, 2])

    def test_events_without_a_project_form_the_global_chain(self) -> None:
        for number in range(3):
            services.event_record(actor=None, verb="system.note", after={"n": number})
        events = self.chain(None)
        self.assertEqual([e.seq for e in events], [1, 2, 3])
        self.assertEqual(AuditHead.objects.get(chain=0).seq, 3)
        self.assertTrue(selectors.audit_verify(project_id=None).ok)

    def test_a_bulk_write_appends_its_events_in_order(self) -> None:
        before = AuditHead.objects.get(chain=self.project.pk).seq
        created = services.document_create_many(
            project=self.project,
            items=[
                services.DocumentInput(title=f"Bulk {n}", text=f"Bulk text {n}.") for n in range(5)
            ],
            actor=self.editor,
        )
        events = self.chain(self.project.pk)[before:]
        self.assertEqual([e.object_id for e in events], [d.pk for d in created])
        self.assertEqual([e.seq for e in events], list(range(before + 1, before + 6)))
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)

    def test_appending_costs_the_same_however_long_the_chain(self) -> None:
        # Lock the head, insert, move the head: three queries, never a scan of the chain;
        # one on PostgreSQL, where one statement locks, seals, inserts and moves the head.
        def cost() -> int:
            with transaction.atomic(), CaptureQueriesContext(connection) as context:
                services.event_record(actor=self.editor, verb="test.cost", project=self.project)
            return len([q for q in context.captured_queries if "SAVEPOINT" not in q["sql"]])

        short = cost()
        for _number in range(200):
            services.event_record(actor=self.editor, verb="test.fill", project=self.project)
        self.assertEqual(cost(), short)
        self.assertEqual(short, 1 if connection.vendor == "postgresql" else 3)
        head = AuditHead.objects.get(chain=self.project.pk)
        last = self.chain(self.project.pk)[-1]
        self.assertEqual((head.seq, head.hash), (last.seq, last.hash))
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)

    def test_one_event_is_one_statement_on_postgresql(self) -> None:
        # The event the caller gets back is the row stored, sealed as verify_audit checks it.
        head = AuditHead.objects.get(chain=self.project.pk)
        with CaptureQueriesContext(connection) as context:
            event = services.event_record(
                actor=self.editor,
                verb="test.one",
                project=self.project,
                obj=self.document,
                before={"b": (1, 2.0)},
                after={"text": 'é 🌉 "quoted" \\ back', 3: None},
            )
        sql = [q["sql"] for q in context.captured_queries if "SAVEPOINT" not in q["sql"]]
        if connection.vendor == "postgresql":
            self.assertEqual(len(sql), 1, sql)
            self.assertIn("FOR NO KEY UPDATE", sql[0])
            self.assertIn("sha256", sql[0])
        else:
            self.assertEqual(len(sql), 3, sql)  # lock the head, insert, move the head
        stored = Event.objects.get(pk=event.pk)
        self.assertEqual(
            (event.seq, event.prev_hash, event.hash, event.created_at),
            (head.seq + 1, head.hash, stored.hash, stored.created_at),
        )
        self.assertEqual((stored.seq, stored.prev_hash), (event.seq, event.prev_hash))
        self.assertEqual((event.before, event.after), (stored.before, stored.after))
        self.assertEqual(event.after, {"text": 'é 🌉 "quoted" \\ back', "3": None})
        entry = auditchain.seal(
            project=self.project.pk,
            seq=event.seq,
            actor=self.editor.pk,
            verb="test.one",
            object_type="document",
            object_id=self.document.pk,
            before=stored.before,
            after=stored.after,
            created_at=stored.created_at,
            prev_hash=head.hash,
        )
        self.assertEqual(entry.hash, event.hash)
        head.refresh_from_db()
        self.assertEqual((head.seq, head.hash), (event.seq, event.hash))
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)

    def several(self, count: int, project: Project | None = None) -> list[Event]:
        """``count`` unsaved events of ``project`` (the desk's by default) with what the
        sealed content must carry through SQL byte for byte: non-ASCII and emoji, quotes and
        backslashes, nulls (no actor, no object, no before or after) next to values, so the
        rows of one statement disagree on which of their columns are null."""
        project = project or self.project
        texts = ['é 🌉 "quoted" \\ back', "日本語 \u2028 tab\t", "", "null", "🧪" * 3]
        return [
            event_build(
                actor=self.editor if n % 2 == 0 else None,
                verb=f"test.many.{n}",
                object_type="document" if n % 3 else "",
                object_id=self.document.pk if n % 3 else None,
                project_id=project.pk,
                before=None if n % 2 else {"b": (n, 2.0), "none": None},
                after=None if n % 4 == 3 else {"text": texts[n % len(texts)], n: None, "x": 0.5},
            )
            for n in range(count)
        ]

    def assert_sealed_as_python(self, events: list[Event], head: tuple[int, str]) -> None:
        """``events`` (as returned) are the rows stored, the next ones after ``head`` (seq,
        hash) in order, each sealed byte for byte as ``core.auditchain`` seals it, and the
        head moved to the last."""
        seq, prev_hash = head
        stored = Event.objects.in_bulk([event.pk for event in events])
        self.assertEqual(len(stored), len(events))
        for event in events:
            row = stored[event.pk]
            seq += 1
            self.assertEqual((event.seq, event.prev_hash), (seq, prev_hash))
            self.assertEqual(
                (row.seq, row.prev_hash, row.hash, row.created_at),
                (event.seq, event.prev_hash, event.hash, event.created_at),
            )
            self.assertEqual((event.before, event.after), (row.before, row.after))
            entry = auditchain.seal(
                project=row.project_id,
                seq=seq,
                actor=row.actor_id,
                verb=row.verb,
                object_type=row.object_type,
                object_id=row.object_id,
                before=row.before,
                after=row.after,
                created_at=row.created_at,
                prev_hash=prev_hash,
            )
            self.assertEqual(entry.hash, event.hash, event.verb)
            prev_hash = event.hash
        # Ids follow the chain's order (a feed shows events of one time by id).
        self.assertEqual(sorted(stored), [event.pk for event in events])
        project = events[0].project_id
        moved = AuditHead.objects.get(chain=project or 0)
        self.assertEqual((moved.seq, moved.hash), (seq, prev_hash))
        report = selectors.audit_verify(project_id=project)
        self.assertTrue(report.ok, report.problem)

    def test_several_events_are_one_statement_on_postgresql(self) -> None:
        for count in (2, 5, _IN_SQL_MAX):
            with self.subTest(count=count):
                head = AuditHead.objects.get(chain=self.project.pk)
                with transaction.atomic(), CaptureQueriesContext(connection) as context:
                    events = events_record(self.several(count))
                sql = [q["sql"] for q in context.captured_queries if "SAVEPOINT" not in q["sql"]]
                if connection.vendor == "postgresql":
                    self.assertEqual(len(sql), 1, sql)
                    self.assertIn("FOR NO KEY UPDATE", sql[0])
                    self.assertEqual(sql[0].count("sha256"), count)
                else:
                    self.assertEqual(len(sql), 3, sql)  # lock the head, insert, move the head
                self.assertEqual(
                    events[0].after, {"text": 'é 🌉 "quoted" \\ back', "0": None, "x": 0.5}
                )
                self.assertEqual(len({event.created_at for event in events}), 1)
                self.assert_sealed_as_python(events, (head.seq, head.hash))

    def test_a_larger_batch_takes_the_three_statements(self) -> None:
        head = AuditHead.objects.get(chain=self.project.pk)
        with transaction.atomic(), CaptureQueriesContext(connection) as context:
            events = events_record(self.several(_IN_SQL_MAX + 1))
        sql = [q["sql"] for q in context.captured_queries if "SAVEPOINT" not in q["sql"]]
        self.assertEqual(len(sql), 3, sql)
        self.assert_sealed_as_python(events, (head.seq, head.hash))

    def test_several_events_start_a_chain(self) -> None:
        # The chain's first events: no head row yet (made, then the events appended), on
        # a project's chain and on the global one.
        bare = Project.objects.create(name="Bare", slug="bare")
        events = events_record(self.several(3, project=bare))
        self.assertEqual(events[0].prev_hash, auditchain.GENESIS)
        self.assert_sealed_as_python(events, (0, auditchain.GENESIS))
        following = events_record(self.several(2, project=bare))
        self.assert_sealed_as_python(following, (3, events[-1].hash))
        self.assertFalse(AuditHead.objects.filter(chain=0).exists())
        global_events = events_record(
            [
                event_build(
                    actor=None,
                    verb=f"system.{n}",
                    object_type="",
                    object_id=None,
                    project_id=None,
                    after={"n": n},
                )
                for n in range(3)
            ]
        )
        self.assert_sealed_as_python(global_events, (0, auditchain.GENESIS))

    def inserting(
        self, project: Project, count: int = 1, *, page: str = "naming"
    ) -> tuple[Source, list[Event]]:
        """An unsaved source of ``project`` (at ``page``) and ``count`` events naming it (no
        object id)."""
        source = Source(
            project=project,
            url=f"https://example.org/{page}",
            normalized_url=f"https://example.org/{page}",
            title='Ünïcode 🌉 "quoted"',
            created_by=self.editor,
        )
        events = [
            event_build(
                actor=self.editor,
                verb=f"test.names.{n}",
                object_type="source",
                object_id=None,
                project_id=project.pk,
                after={"title": source.title, "object_id": auditchain.OBJECT_ID_SLOT, "n": n},
            )
            for n in range(count)
        ]
        return source, events

    def test_a_row_and_the_events_naming_it_are_one_statement_on_postgresql(self) -> None:
        for count in (1, 3):
            with self.subTest(count=count):
                head = AuditHead.objects.get(chain=self.project.pk)
                source, events = self.inserting(self.project, count, page=f"naming-{count}")
                with transaction.atomic(), CaptureQueriesContext(connection) as context:
                    inserted = _insert_unless_exists(
                        source, Source.objects.filter(pk=-1), events=events
                    )
                self.assertTrue(inserted)
                sql = [q["sql"] for q in context.captured_queries if "SAVEPOINT" not in q["sql"]]
                # Elsewhere: the insert, then lock the head, insert the events, move the head.
                self.assertEqual(len(sql), 1 if connection.vendor == "postgresql" else 4, sql)
                self.assertTrue(Source.objects.filter(pk=source.pk).exists())
                self.assertEqual({event.object_id for event in events}, {source.pk})
                self.assert_sealed_as_python(events, (head.seq, head.hash))
                self.assertEqual(Event.objects.get(pk=events[0].pk).object_id, source.pk)

    def test_no_row_no_events(self) -> None:
        head = AuditHead.objects.get(chain=self.project.pk)
        taken, _ = self.inserting(self.project)
        taken.save()
        source, events = self.inserting(self.project, page="other")
        self.assertFalse(
            _insert_unless_exists(source, Source.objects.filter(pk=taken.pk), events=events)
        )
        self.assertIsNone(source.pk)
        self.assertEqual(
            AuditHead.objects.get(chain=self.project.pk).seq, head.seq, "nothing appended"
        )
        self.assertFalse(Event.objects.filter(verb="test.names.0").exists())

    def test_a_row_naming_events_start_a_chain(self) -> None:
        bare = Project.objects.create(name="Bare", slug="bare")
        source, events = self.inserting(bare, 2)
        self.assertTrue(_insert_unless_exists(source, Source.objects.filter(pk=-1), events=events))
        self.assertEqual({event.object_id for event in events}, {source.pk})
        self.assert_sealed_as_python(events, (0, auditchain.GENESIS))
        self.assertTrue(selectors.audit_verify(project_id=bare.pk).ok)

    def test_a_chains_first_event_makes_its_head(self) -> None:
        # A project written without the services has no events and no head row yet.
        bare = Project.objects.create(name="Bare", slug="bare")
        self.assertFalse(AuditHead.objects.filter(chain=bare.pk).exists())
        first = services.event_record(actor=self.editor, verb="test.first", project=bare)
        second = services.event_record(actor=None, verb="test.second", project_id=bare.pk)
        self.assertEqual((first.seq, first.prev_hash), (1, auditchain.GENESIS))
        self.assertEqual((second.seq, second.prev_hash), (2, first.hash))
        head = AuditHead.objects.get(chain=bare.pk)
        self.assertEqual((head.seq, head.hash), (2, second.hash))
        self.assertTrue(selectors.audit_verify(project_id=bare.pk).ok)

    def test_a_missing_head_is_rebuilt_from_the_last_event(self) -> None:
        last = self.chain(self.project.pk)[-1]
        AuditHead.objects.filter(chain=self.project.pk).delete()
        event = services.event_record(actor=self.editor, verb="test.after", project=self.project)
        self.assertEqual((event.seq, event.prev_hash), (last.seq + 1, last.hash))
