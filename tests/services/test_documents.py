"""Services: documents, one or many (``annotations/services/documents.py``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from unittest import mock

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from annotations import services
from annotations.core import spans
from annotations.models import Document, Event
from annotations.services import references
from tests.factories import SAMPLE_TEXT
from tests.services.base import ServiceTestCase, counts

REPEATS_TASK = "annotations.services.references.repeats_scan_batch_task"


class DocumentCreateTests(ServiceTestCase):
    def _create(self, text: str, **meta) -> Document:
        meta.setdefault("title", "Doc")
        return services.document_create(
            project=self.project, data=services.DocumentInput(text=text, **meta), actor=self.editor
        )

    def test_it_canonicalises_line_endings_and_normal_form(self) -> None:
        raw = "Cafe\u0301 line one\r\nline two\rline three\n"
        document = self._create(raw)
        self.assertEqual(document.text, "Caf\u00e9 line one\nline two\nline three\n")
        self.assertTrue(unicodedata.is_normalized("NFC", document.text))
        self.assertEqual(document.raw_text, raw)
        stored = Document.objects.get(pk=document.pk)
        self.assertEqual((stored.text, stored.raw_text), (document.text, raw))

    def test_it_keeps_an_explicit_raw_text_as_provenance(self) -> None:
        document = self._create("Body.", raw_text="<p>Body.</p>")
        self.assertEqual((document.text, document.raw_text), ("Body.", "<p>Body.</p>"))

    def test_it_stores_the_sha256_of_the_utf8_canonical_text(self) -> None:
        document = self._create("Cafe\u0301 \U0001f309\r\n")
        expected = hashlib.sha256("Caf\u00e9 \U0001f309\n".encode()).hexdigest()
        self.assertEqual(document.text_sha256, expected)
        self.assertEqual(Document.objects.get(pk=document.pk).text_sha256, expected)

    def test_it_counts_the_length_in_code_points(self) -> None:
        cases = [
            ("a\U0001f309b", 3),  # an astral emoji is one code point (two UTF-16 units)
            ("Cafe\u0301", 4),  # composed by NFC first
            ("q\u0307", 2),  # no precomposed form: two code points
            ("東京", 2),
            ("line\r\nline", 9),  # CRLF becomes one "\n"
        ]
        for text, length in cases:
            with self.subTest(text=text):
                document = self._create(text)
                self.assertEqual(document.length, length)
                self.assertEqual(document.length, len(document.text))

    def test_it_records_a_document_create_event(self) -> None:
        document = self._create("Evented text.", title="  Evented  ")
        self.assertEqual(document.title, "Evented")
        event = Event.objects.get(verb="document.create", object_id=document.pk)
        self.assertEqual((event.actor, event.project), (self.editor, self.project))
        self.assertEqual(
            event.after,
            {"title": "Evented", "text_sha256": document.text_sha256, "length": 13},
        )

    def test_it_rejects_a_duplicate_text_and_writes_nothing(self) -> None:
        self._create("Cafe\u0301 society\r\n")
        # The personas' document holds SAMPLE_TEXT; other spellings canonicalise to it.
        cases = [
            (SAMPLE_TEXT, self.document.text_sha256),
            (SAMPLE_TEXT.replace("\n", "\r\n"), self.document.text_sha256),
            ("Caf\u00e9 society\n", spans.text_sha256("Caf\u00e9 society\n")),
        ]
        for text, sha in cases:
            with self.subTest(text=text[:20]):
                before = counts(Document, Event)
                with self.assertRaises(ValidationError) as caught:
                    self._create(text, title="Copy")
                message = self.assertFieldError(caught.exception, "text", sha[:12])
                self.assertIn("already has a document with the same text", message)
                self.assertEqual(counts(Document, Event), before)

    def test_it_marks_the_duplicate_error_with_code_duplicate(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self._create(SAMPLE_TEXT, title="Copy")
        self.assertEqual(caught.exception.error_dict["text"][0].code, "duplicate")

    def test_it_allows_the_same_text_in_another_project(self) -> None:
        document = services.document_create(
            project=self.other_project,
            data=services.DocumentInput(title="Same", text=SAMPLE_TEXT),
            actor=self.outsider,
        )
        self.assertEqual(document.text_sha256, self.document.text_sha256)

    @override_settings(WORKBENCH_MAX_DOCUMENT_CHARS=10)
    def test_it_rejects_bad_input_naming_the_field_and_writes_nothing(self) -> None:
        cases = [
            ({"text": ""}, "text", "empty"),
            ({"text": " \n\t "}, "text", "empty"),
            ({"text": "x" * 11}, "text", "limit is 10"),
            ({"text": "ok", "title": "   "}, "title", "title"),
            ({"text": "ok", "source_url": "javascript:alert(1)"}, "source_url", "http"),
            ({"text": "ok", "source_url": "ftp://example.org/a"}, "source_url", "http"),
            ({"text": "ok", "source_url": "example.org/a"}, "source_url", "http"),
            ({"text": "ok", "source_url": "data:text/html,hi"}, "source_url", "http"),
        ]
        for data, field, fragment in cases:
            with self.subTest(data=data):
                before = counts(Document, Event)
                with self.assertRaises(ValidationError) as caught:
                    self._create(**data)
                self.assertFieldError(caught.exception, field, fragment)
                self.assertEqual(counts(Document, Event), before)

    @override_settings(WORKBENCH_MAX_DOCUMENT_CHARS=10)
    def test_it_accepts_a_text_at_the_limit(self) -> None:
        self.assertEqual(self._create("x" * 10).length, 10)

    def test_it_keeps_a_valid_source_url_without_surrounding_spaces(self) -> None:
        document = self._create("Sourced.", source_url="  https://example.org/story  ")
        self.assertEqual(document.source_url, "https://example.org/story")

    def test_it_refuses_a_url_the_columns_validator_refuses_and_writes_nothing(self) -> None:
        # check_url takes these; the URLField's validator (full_clean's part that the
        # service's own checks leave) does not.
        for url in ("http://example/", "http://foo_bar.example/x", "http://-bad-.example.org/"):
            with self.subTest(url=url):
                before = counts(Document, Event)
                with self.assertRaises(ValidationError) as caught:
                    self._create("A sourced text.", source_url=url)
                self.assertEqual(
                    caught.exception.message_dict, {"source_url": ["Enter a valid URL."]}
                )
                self.assertEqual(counts(Document, Event), before)

    def test_it_refuses_a_source_url_on_an_internal_host_and_writes_nothing(self) -> None:
        # The page a document came from is published as the fact check's appearance.
        for url, reason in (
            ("http://192.168.1.20/story", "the address 192.168.1.20 is a private address"),
            ("http://[::ffff:127.0.0.1]/", "the address ::ffff:127.0.0.1 is a loopback"),
            ("http://intranet.localhost/", "intranet.localhost is this server itself"),
        ):
            with self.subTest(url=url):
                before = counts(Document, Event)
                with self.assertRaises(ValidationError) as caught:
                    self._create("A sourced text.", source_url=url)
                [message] = caught.exception.message_dict["source_url"]
                self.assertIn(f"Only public sites are accepted: {reason}", message)
                self.assertEqual(counts(Document, Event), before)

    def test_a_value_of_another_type_is_cleaned_by_the_model_as_before(self) -> None:
        document = self._create("Dated.", published_date="2024-02-03", publisher=42)
        document.refresh_from_db()
        self.assertEqual(document.published_date, dt.date(2024, 2, 3))
        self.assertEqual(document.publisher, "42")
        with self.assertRaises(ValidationError) as caught:
            self._create("Misdated.", published_date="2024-02-30")
        self.assertEqual(set(caught.exception.message_dict), {"published_date"})

    def test_it_accepts_a_document_without_an_actor(self) -> None:
        document = services.document_create(
            project=self.project,
            data=services.DocumentInput(title="Anonymous", text="Imported by a script."),
            actor=None,
        )
        self.assertIsNone(document.created_by)


class DocumentCreateManyTests(ServiceTestCase):
    def test_it_creates_every_document_in_order_with_events(self) -> None:
        items = [
            services.DocumentInput(title=f"Doc {n}", text=f"Text number {n}.\r\n") for n in range(3)
        ]
        created = services.document_create_many(
            project=self.project, items=items, actor=self.editor
        )
        self.assertEqual([d.title for d in created], ["Doc 0", "Doc 1", "Doc 2"])
        self.assertTrue(all(d.pk for d in created))
        self.assertEqual(created[1].text, "Text number 1.\n")
        logged = Event.objects.filter(verb="document.create", object_id__in=[d.pk for d in created])
        self.assertEqual(
            sorted(logged.values_list("object_id", flat=True)), [d.pk for d in created]
        )
        self.assertTrue(all(event.actor == self.editor for event in logged))

    def test_it_queues_the_repeat_scans_in_batches_in_its_transaction(self) -> None:
        items = [services.DocumentInput(title=f"Doc {n}", text=f"Text {n}.") for n in range(5)]
        before = set(DBTaskResult.objects.values_list("pk", flat=True))
        with (
            mock.patch.object(references, "REPEATS_TASK_DOCUMENTS", 2),
            self.captureOnCommitCallbacks() as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            created = services.document_create_many(
                project=self.project, items=items, actor=self.editor
            )
        ids = [d.pk for d in created]
        # Written before the commit, with the documents (the callbacks only announce them),
        # and by one INSERT with the suggestions' task.
        tasks = DBTaskResult.objects.exclude(pk__in=before)
        self.assertEqual(
            sorted(t.args_kwargs["args"][0] for t in tasks.filter(task_path=REPEATS_TASK)),
            [ids[0:2], ids[2:4], ids[4:]],
        )
        self.assertEqual(
            sorted(t.task_path.rsplit(".", 1)[1] for t in tasks),
            ["repeats_scan_batch_task"] * 3 + ["suggestions_compute"],
        )
        task_inserts = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith(f'INSERT INTO "{DBTaskResult._meta.db_table}"')
        ]
        self.assertEqual(len(task_inserts), 1, task_inserts)
        self.assertEqual(len(callbacks), 4)
        self.assertEqual(services.repeats_scan_batch_task.call(ids), 0)  # no references

    def test_a_rolled_back_import_leaves_no_task(self) -> None:
        before = DBTaskResult.objects.count()
        items = [services.DocumentInput(title=f"Doc {n}", text=f"Text {n}.") for n in range(3)]
        with (
            self.captureOnCommitCallbacks() as callbacks,
            self.assertRaises(RuntimeError),
            transaction.atomic(),
        ):
            services.document_create_many(project=self.project, items=items, actor=self.editor)
            self.assertEqual(DBTaskResult.objects.count(), before + 2)
            raise RuntimeError("the caller's transaction fails after the import")
        self.assertEqual(DBTaskResult.objects.count(), before)
        self.assertEqual(callbacks, [])

    def test_a_failed_scan_in_a_batch_does_not_stop_the_others(self) -> None:
        scanned: list[int] = []

        def scan(*, document_id: int) -> int:
            if document_id == 1:
                raise RuntimeError("statement timeout")
            scanned.append(document_id)
            return 1

        with (
            mock.patch.object(references, "repeats_scan", side_effect=scan),
            self.assertLogs("annotations.services.references", "ERROR") as logged,
            self.assertRaisesMessage(RuntimeError, "statement timeout"),
        ):
            services.repeats_scan_batch_task.call([1, 2, 3])
        self.assertEqual(scanned, [2, 3])
        self.assertIn("repeat scan of document 1 failed", logged.output[0])

    def test_it_writes_nothing_and_keys_errors_by_index(self) -> None:
        items = [
            services.DocumentInput(title="Good", text="A perfectly good text."),
            services.DocumentInput(title="Empty", text="  "),
            services.DocumentInput(title="Existing", text=SAMPLE_TEXT),
            services.DocumentInput(title="No title", text="Another good text.", source_url="x"),
            services.DocumentInput(title="Repeat", text="A perfectly good text."),
        ]
        before = counts(Document, Event)
        with self.assertRaises(ValidationError) as caught:
            services.document_create_many(project=self.project, items=items, actor=self.editor)
        errors = caught.exception.message_dict
        self.assertEqual(set(errors), {"1.text", "2.text", "3.source_url", "4.text"})
        self.assertIn("empty", errors["1.text"][0])
        self.assertIn("already has a document", errors["2.text"][0])
        self.assertIn("earlier item", errors["4.text"][0])
        self.assertEqual(counts(Document, Event), before)

    def test_it_refuses_a_url_the_columns_validator_refuses_by_index(self) -> None:
        items = [
            services.DocumentInput(title="Good", text="Good one.", source_url="https://a.example/"),
            services.DocumentInput(title="Bad", text="Bad one.", source_url="http://example/"),
        ]
        before = counts(Document, Event)
        with self.assertRaises(ValidationError) as caught:
            services.document_create_many(project=self.project, items=items, actor=self.editor)
        self.assertEqual(caught.exception.message_dict, {"1.source_url": ["Enter a valid URL."]})
        self.assertEqual(counts(Document, Event), before)

    def test_it_rejects_a_batch_with_one_bad_item_entirely(self) -> None:
        items = [
            services.DocumentInput(title="Good", text="Good one."),
            services.DocumentInput(title="", text="Untitled."),
        ]
        with self.assertRaises(ValidationError) as caught:
            services.document_create_many(project=self.project, items=items, actor=self.editor)
        self.assertEqual(set(caught.exception.message_dict), {"1.title"})
        self.assertFalse(Document.objects.filter(title="Good").exists())
