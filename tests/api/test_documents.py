"""API: documents (``/documents/``): one or many at once (bulk import, all or nothing),
the canonical text, ``?include=claims``, the list's filters and bad input."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult
from rest_framework.renderers import JSONRenderer

from annotations import access, selectors, services
from annotations.api.serializers import (
    ClaimSerializer,
    DocumentDetailSerializer,
    DocumentSerializer,
)
from annotations.models import Document, Event, Role
from tests.api.base import API, CLAIM_FIELDS, DOCUMENT_FIELDS, ApiTestCase
from tests.factories import SAMPLE_TEXT, add_member, judge, make_claim, make_document


class DocumentApiTests(ApiTestCase):
    def doc(self, **fields: Any) -> dict[str, Any]:
        return {
            "project": self.project.pk,
            "title": "Budget speech",
            "text": "Taxes fell.",
            **fields,
        }

    def test_an_editor_creates_a_document_from_text(self) -> None:
        text = "Cafe\u0301 prices rose 5% 🍰.\r\nThe end."
        response = self.post(
            self.editor,
            "/documents/",
            self.doc(
                text=text,
                source_url="https://news.example.org/a",
                publisher="Example News",
                author="A. Writer",
                published_date="2024-05-01",
                language="en",
            ),
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), DOCUMENT_FIELDS)
        canonical = unicodedata.normalize("NFC", text).replace("\r\n", "\n")
        self.assertEqual(body["length"], len(canonical))
        self.assertEqual(body["text_sha256"], hashlib.sha256(canonical.encode()).hexdigest())
        self.assertEqual(
            {k: body[k] for k in ("project", "title", "published_date", "source_url")},
            {
                "project": self.project.pk,
                "title": "Budget speech",
                "published_date": "2024-05-01",
                "source_url": "https://news.example.org/a",
            },
        )
        document = Document.objects.get(pk=body["id"])
        self.assertEqual(document.text, canonical)
        self.assertEqual(document.raw_text, text)
        self.assertTrue(
            Event.objects.filter(verb="document.create", object_id=document.pk).exists()
        )

    def test_the_detail_holds_the_canonical_text(self) -> None:
        response = self.get(self.reviewer_a, f"/documents/{self.document.pk}/")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(set(body), DOCUMENT_FIELDS | {"text", "claims"})
        self.assertEqual(body["text"], SAMPLE_TEXT)
        self.assertEqual(body["length"], len(SAMPLE_TEXT))
        self.assertIsNone(body["claims"])

    def test_include_claims_adds_the_claims_in_text_order(self) -> None:
        later = make_claim(document=self.document, actor=self.creator, exact="Others disagree")
        earlier = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        response = self.get(
            self.reviewer_a, f"/documents/{self.document.pk}/", {"include": "claims"}
        )
        self.assertEqual(response.status_code, 200)
        claims = response.json()["claims"]
        self.assertEqual([c["id"] for c in claims], [earlier.pk, later.pk])
        self.assertEqual(set(claims[0]), CLAIM_FIELDS)

    def test_included_claims_are_what_the_claim_serializer_writes_for_each_reader(self) -> None:
        # The claims are written by serializers.claim_data (the hot read path): they must
        # stay what ClaimSerializer, the documented schema, writes for the claims as the
        # reader may see them (blind review: claims_presented), decided ones included.
        decided = make_claim(document=self.document, actor=self.creator, exact="Others disagree")
        judge(decided, self.reviewer_a, "false")
        judge(decided, self.reviewer_b, "false")
        # decided, reopened and adjudicated: a superseded record and the current one
        overruled = make_claim(
            document=self.document, actor=self.creator, exact="record low of 3.1%"
        )
        judge(overruled, self.reviewer_a, "false")
        judge(overruled, self.reviewer_b, "false")
        services.claim_reopen(claim=overruled, editor=self.editor, note="a new source")
        services.claim_adjudicate(claim=overruled, editor=self.editor, rating="true", note="n")
        self.assertEqual(overruled.consensus_history.count(), 2)
        half = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        judge(half, self.reviewer_a, "false")  # in review, one verdict of two
        for user in (self.reviewer_a, self.reviewer_c, self.editor):
            with self.subTest(user=user.username):
                response = self.get(user, f"/documents/{self.document.pk}/", {"include": "claims"})
                self.assertEqual(response.status_code, 200)
                presented = selectors.claims_presented(
                    selectors.claims_for_reader(document=self.document),
                    user=user,
                    membership=access.membership_get(user=user, project_id=self.project.pk),
                )
                rendered = JSONRenderer().render(ClaimSerializer(presented, many=True).data)
                self.assertEqual(response.json()["claims"], json.loads(rendered))
                by_id = {c["id"]: c for c in response.json()["claims"]}
                self.assertEqual(by_id[decided.pk]["consensus"]["rating"], "false")
                self.assertIsNone(by_id[half.pk]["consensus"])
                self.assertEqual(by_id[overruled.pk]["consensus"]["rating"], "true")

    def test_an_unknown_include_is_a_400(self) -> None:
        response = self.get(
            self.reviewer_a, f"/documents/{self.document.pk}/", {"include": "verdicts"}
        )
        self.assertFieldError(response, "include", "include=claims")

    def test_an_empty_include_is_a_400_not_the_document_without_claims(self) -> None:
        make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        path = f"{API}/documents/{self.document.pk}/"
        client = self.client_for(self.reviewer_a)
        for query in ("include=", "include"):
            with self.subTest(query=query):
                response = client.get(f"{path}?{query}")
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(
                    response.json(), {"include": ["Give a value or leave the parameter out."]}
                )
        self.assertIsNone(client.get(path).json()["claims"])
        self.assertEqual(len(client.get(f"{path}?include=claims").json()["claims"]), 1)

    def test_the_list_leaves_out_the_text_and_filters_by_project(self) -> None:
        mine = make_document(
            project=self.other_project, actor=self.outsider, text="Outsider's own text."
        )
        response = self.get(self.outsider, "/documents/", {"project": self.other_project.pk})
        self.assertEqual(response.status_code, 200)
        [row] = response.json()["results"]
        self.assertEqual(set(row), DOCUMENT_FIELDS)
        self.assertEqual(row["id"], mine.pk)
        response = self.get(self.reviewer_a, "/documents/", {"project": self.project.pk})
        self.assertEqual([d["id"] for d in response.json()["results"]], [self.document.pk])

    def test_a_json_list_creates_many_documents_at_once(self) -> None:
        # The rows (COPY on PostgreSQL, INSERTs on SQLite), one chained event each, the
        # background tasks after commit, and a language per text: two open alike (the
        # detection of that opening is reused), one is Arabic, one names its language.
        opening = "The finance minister said unemployment fell to three percent this year."
        arabic = "قال وزير المالية إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام."
        items = [
            self.doc(title="Doc 0", text=f"{opening}\r\n[doc 0]", author="A. Writer"),
            self.doc(title="Doc 1", text=f"{opening}\n[doc 1]", published_date="2024-05-01"),
            self.doc(title="Doc 2", text=arabic),
            self.doc(title="Doc 3", text=f"{opening} Cafe\u0301.", language="fr"),
        ]
        before = Event.objects.filter(verb="document.create").count()
        with self.captureOnCommitCallbacks(execute=True):
            response = self.post(self.editor, "/documents/", items)
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual([d["title"] for d in body], ["Doc 0", "Doc 1", "Doc 2", "Doc 3"])
        self.assertEqual(set(body[0]), DOCUMENT_FIELDS)
        ids = [d["id"] for d in body]
        self.assertEqual(ids, sorted(ids))
        stored = Document.objects.in_bulk(ids)
        for item, row in zip(items, body, strict=True):
            canonical = unicodedata.normalize("NFC", item["text"]).replace("\r\n", "\n")
            document = stored[row["id"]]
            self.assertEqual(
                (document.text, document.raw_text, document.length, document.text_sha256),
                (
                    canonical,
                    item["text"],
                    len(canonical),
                    hashlib.sha256(canonical.encode()).hexdigest(),
                ),
            )
            self.assertEqual(
                (document.project_id, document.created_by_id, document.revision),
                (self.project.pk, self.editor.pk, 1),
            )
            self.assertEqual(row["text_sha256"], document.text_sha256)
            self.assertEqual(row["created_at"][:10], document.created_at.date().isoformat())
        self.assertEqual(stored[ids[0]].author, "A. Writer")
        self.assertEqual(stored[ids[1]].published_date.isoformat(), "2024-05-01")
        self.assertEqual(
            [(stored[pk].language, stored[pk].direction) for pk in ids],
            [("en", "ltr"), ("en", "ltr"), ("ar", "rtl"), ("fr", "ltr")],
        )
        self.assertEqual(Document.objects.filter(project=self.project).count(), 5)
        events = Event.objects.filter(verb="document.create", object_id__in=ids).order_by("seq")
        self.assertEqual(Event.objects.filter(verb="document.create").count(), before + 4)
        self.assertEqual([e.object_id for e in events], ids)
        self.assertEqual(
            [e.after for e in events],
            [
                {"title": d["title"], "text_sha256": d["text_sha256"], "length": d["length"]}
                for d in body
            ],
        )
        self.assertTrue(all(e.actor_id == self.editor.pk for e in events))
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)
        tasks = DBTaskResult.objects.filter(args_kwargs__args=[ids])
        self.assertEqual(
            sorted(t.task_path.rsplit(".", 1)[1] for t in tasks),
            ["repeats_scan_batch_task", "suggestions_compute"],
        )

    def test_a_large_import_chains_an_event_per_document_that_verifies(self) -> None:
        # Over _IN_SQL_MAX events: on PostgreSQL the documents and their events are each
        # one COPY (services._base.rows_copy), elsewhere bulk INSERTs. Either way every
        # document gets its sealed event, in order, and the chain verifies as stored.
        items = [self.doc(title=f"Doc {i}", text=f"Rates rose. [doc {i}]") for i in range(40)]
        head = Event.objects.filter(project=self.project).order_by("-seq").first()
        with CaptureQueriesContext(connection) as queries:
            response = self.post(self.editor, "/documents/", items)
        self.assertEqual(response.status_code, 201, response.content)
        sql = [query["sql"] for query in queries.captured_queries]
        inserts = [s for s in sql if s.startswith('INSERT INTO "annotations_event"')]
        ids_taken = [s for s in sql if "nextval(pg_get_serial_sequence" in s]
        if connection.vendor == "postgresql":
            # The COPY itself is not a captured query: the ids it used were taken first,
            # for the documents and for the events, and no event was INSERTed.
            self.assertEqual(len(ids_taken), 2, ids_taken)
            self.assertIn("annotations_event", ids_taken[1])
            self.assertEqual(inserts, [])
        else:
            self.assertEqual((len(ids_taken), len(inserts)), (0, 1))
        ids = [d["id"] for d in response.json()]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 40)
        events = list(
            Event.objects.filter(project=self.project, seq__gt=head.seq if head else 0).order_by(
                "seq"
            )
        )
        self.assertEqual([e.object_id for e in events], ids)
        self.assertEqual([e.pk for e in events], sorted(e.pk for e in events))
        self.assertEqual(events[7].after["title"], "Doc 7")
        self.assertEqual(
            [d.title for d in Document.objects.filter(pk__in=ids).order_by("pk")],
            [f"Doc {i}" for i in range(40)],
        )
        self.assertTrue(selectors.audit_verify(project_id=self.project.pk).ok)
        self.assertEqual(self.post(self.editor, "/documents/", items).status_code, 400)

    def test_created_documents_are_what_the_document_serializer_writes(self) -> None:
        # The answer is written by serializers.document_data (the hot import path): it must
        # stay what DocumentSerializer, the documented schema, writes, for one document and
        # for many, with and without the optional fields.
        items = [
            self.doc(title="Plain", text="The minister said unemployment fell."),
            self.doc(
                title="Full",
                text="Le ministre a dit que le chômage a baissé.",
                author="A. Writer",
                publisher="Gazette",
                published_date="2024-05-01",
                source_url="https://news.example.org/a",
                language="fr",
            ),
        ]
        many = self.post(self.editor, "/documents/", items)
        one = self.post(self.editor, "/documents/", self.doc(title="One", text="Rain fell."))
        self.assertEqual((many.status_code, one.status_code), (201, 201), many.content)
        for body in (*many.json(), one.json()):
            with self.subTest(title=body["title"]):
                document = Document.objects.get(pk=body["id"])
                rendered = JSONRenderer().render(DocumentSerializer(document).data)
                self.assertEqual(body, json.loads(rendered))
        self.assertEqual(many.json()[1]["published_date"], "2024-05-01")
        self.assertIsNone(many.json()[0]["published_date"])

    def test_the_detail_is_what_the_detail_serializer_writes(self) -> None:
        # serializers.document_detail_data against DocumentDetailSerializer, the schema.
        Document.objects.filter(pk=self.document.pk).update(
            published_date="2023-02-03", author="B. Writer"
        )
        make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        document = Document.objects.get(pk=self.document.pk)
        for include, claims in (
            (None, None),  # left out (?include= is a 400: test_query_params)
            ("claims", selectors.claims_for_reader(document=document)),
        ):
            with self.subTest(include=include):
                response = self.get(
                    self.reviewer_a,
                    f"/documents/{document.pk}/",
                    {} if include is None else {"include": include},
                )
                self.assertEqual(response.status_code, 200)
                presented = (
                    None
                    if claims is None
                    else selectors.claims_presented(
                        claims,
                        user=self.reviewer_a,
                        membership=access.membership_get(
                            user=self.reviewer_a, project_id=self.project.pk
                        ),
                    )
                )
                data = DocumentDetailSerializer(document, context={"claims": presented}).data
                self.assertEqual(response.json(), json.loads(JSONRenderer().render(data)))
                self.assertEqual(response.json()["published_date"], "2023-02-03")
                if presented is not None:
                    # The read loads the creators' usernames only (reader_claims_presented):
                    # each claim is still what ClaimSerializer writes of the claim.
                    self.assertEqual(
                        response.json()["claims"],
                        json.loads(
                            JSONRenderer().render([ClaimSerializer(c).data for c in presented])
                        ),
                    )
                    self.assertEqual(
                        response.json()["claims"][0]["created_by"], self.creator.username
                    )

    def test_bulk_import_is_all_or_nothing_with_errors_keyed_by_index(self) -> None:
        items = [
            self.doc(title="Fine", text="A fine text."),
            self.doc(title="Blank", text="   \n  "),
            self.doc(title="Twin", text="A fine text."),
            self.doc(title="Existing", text=SAMPLE_TEXT),
            self.doc(title="Scheme", text="Other text.", source_url="javascript:alert(1)"),
        ]
        with self.assertNothingWritten():
            response = self.post(self.editor, "/documents/", items)
        self.assertEqual(response.status_code, 400, response.content)
        body = response.json()
        self.assertEqual(set(body), {"1.text", "2.text", "3.text", "4.source_url"})
        self.assertIn("empty", body["1.text"][0])
        self.assertIn("earlier item", body["2.text"][0])
        self.assertIn("same text", body["3.text"][0])
        self.assertIn("http and https", body["4.source_url"][0])

    def test_bulk_field_errors_are_keyed_by_index_too(self) -> None:
        items = [
            self.doc(title="Fine", text="A fine text."),
            self.doc(title="", text="Other."),
            self.doc(title="Date", text="Third.", published_date="someday"),
        ]
        with self.assertNothingWritten():
            response = self.post(self.editor, "/documents/", items)
        self.assertEqual(response.status_code, 400)
        self.assertIsInstance(response.json(), dict, response.json())
        self.assertEqual(set(response.json()), {"1.title", "2.published_date"})
        self.assertIn("may not be blank", response.json()["1.title"][0])

    def test_bulk_import_needs_one_to_a_thousand_documents_of_one_project(self) -> None:
        add_member(self.other_project, self.editor, Role.EDITOR)
        with self.assertNothingWritten():
            self.assertDetail(self.post(self.editor, "/documents/", []), 400, "between 1 and 1,000")
            too_many = [self.doc(text=f"T{i}") for i in range(1001)]
            self.assertDetail(self.post(self.editor, "/documents/", too_many), 400, "1,000")
            mixed = [self.doc(text="One."), self.doc(project=self.other_project.pk, text="Two.")]
            self.assertFieldError(
                self.post(self.editor, "/documents/", mixed), "project", "one project"
            )

    @override_settings(WORKBENCH_MAX_DOCUMENT_CHARS=100)
    def test_the_text_limit_is_enforced(self) -> None:
        with self.assertNothingWritten():
            response = self.post(self.editor, "/documents/", self.doc(text="x" * 101))
            self.assertFieldError(response, "text", "101 characters", "limit is 100")
            response = self.post(
                self.editor, "/documents/", [self.doc(text="y"), self.doc(text="z" * 101)]
            )
            self.assertFieldError(response, "1.text", "limit is 100")
        response = self.post(self.editor, "/documents/", self.doc(text="x" * 100))
        self.assertEqual(response.status_code, 201)

    def test_bad_documents_are_refused_and_nothing_is_written(self) -> None:
        other = self.other_project.pk
        cases = [
            (self.doc(title=""), "title", "may not be blank"),
            (self.doc(title="   "), "title", "may not be blank"),
            (self.doc(title="x" * 501), "title", "at most 500 characters (it has 501)"),
            ({"project": self.project.pk, "text": "T"}, "title", "required"),
            (self.doc(text=""), "text", "may not be blank"),
            (self.doc(text=" \n\t "), "text", "empty"),
            (self.doc(text=SAMPLE_TEXT), "text", "same text"),
            (self.doc(source_url="javascript:alert(1)"), "source_url", "http and https"),
            (self.doc(source_url="data:text/html,hi"), "source_url", "http and https"),
            # NUL: PostgreSQL text columns refuse it and SQLite would store it; the
            # serializers refuse it on both (the services too, for their other callers).
            (self.doc(title="Budget\x00speech"), "title", "Null characters are not allowed"),
            (self.doc(text="Taxes\x00fell."), "text", "Null characters are not allowed"),
            (self.doc(author="A.\x00Writer"), "author", "Null characters are not allowed"),
            (self.doc(published_date="2024-13-01"), "published_date", "wrong format"),
            (self.doc(project="abc"), "project", "ASCII digits"),
            (self.doc(project=f"{self.project.pk}.0"), "project", "ASCII digits"),
            (self.doc(project=float(self.project.pk)), "project", "Enter a whole number."),
            (self.doc(project=other), "project", f"No project with id {other}"),
            ({"title": "T", "text": "T"}, "project", "required"),
        ]
        for body, field, reason in cases:
            label = {k: str(v)[:20] for k, v in body.items()}
            with self.subTest(body=label), self.assertNothingWritten():
                self.assertFieldError(self.post(self.editor, "/documents/", body), field, reason)

    def test_a_bad_project_parameter_is_a_400(self) -> None:
        cases = [
            ("abc", "Enter a whole number"),
            ("0", "greater than or equal to 1"),
            ("-5", "greater"),
        ]
        for value, reason in cases:
            with self.subTest(project=value):
                response = self.get(self.reviewer_a, "/documents/", {"project": value})
                self.assertFieldError(response, "project", reason)

    def test_a_fractional_project_id_is_a_400(self) -> None:
        response = self.get(self.reviewer_a, "/documents/", {"project": "1.5"})
        self.assertFieldError(response, "project")

    def test_an_out_of_range_project_id_is_a_400_not_a_500(self) -> None:
        client = self.client_for(self.reviewer_a)
        client.raise_request_exception = False
        paths = ("/documents/?project=", "/claims/?project=", "/claims/?document=")
        statuses = [client.get(f"{API}{path}99999999999999999999999").status_code for path in paths]
        self.assertEqual(statuses, [400, 400, 400])
