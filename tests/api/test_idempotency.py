"""API: ``Idempotency-Key`` on every creating POST (``annotations/api/idempotency.py``) and
the 409 for an exact duplicate claim.

The scenario: a POST commits, then the connection dies before the answer arrives (the
client sees a 503 or a timeout) and the client sends the request again. With the same key
the repeat gets the first answer and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from unittest import mock

from django.contrib.auth.models import AbstractBaseUser
from django.db import InterfaceError
from django.urls import reverse
from django.utils import timezone
from rest_framework.response import Response

from annotations import services
from annotations.api.idempotency import REPLAYED_HEADER
from annotations.models import (
    Claim,
    ClaimAnchor,
    Document,
    DocumentRevision,
    Event,
    IdempotencyKey,
)
from tests.api.base import ApiTestCase
from tests.factories import grant, judge, make_claim, make_document

KEY = "0b5f3c1e-7a7d-4b8e-9f00-2d4c1a6b9e11"


class IdempotencyTestCase(ApiTestCase):
    def keyed(
        self, user: AbstractBaseUser, path: str, data: Any, key: str | None = KEY
    ) -> Response:
        extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        return self.post(user, path, data, **extra)

    @classmethod
    def row_counts(cls) -> dict[str, int]:
        return {
            **super().row_counts(),
            "DocumentRevision": DocumentRevision.objects.count(),
            "ClaimAnchor": ClaimAnchor.objects.count(),
            "IdempotencyKey": IdempotencyKey.objects.count(),
        }

    def assertReplayed(self, first: Response, again: Response) -> None:
        self.assertEqual(again.status_code, first.status_code, again.content)
        self.assertEqual(again.json(), first.json())
        self.assertEqual(again[REPLAYED_HEADER], "true")
        self.assertNotIn(REPLAYED_HEADER, first)


class AnswerLostTests(IdempotencyTestCase):
    """The scenario of the issue, for claims and documents."""

    def claim_body(self, **fields: Any) -> dict[str, Any]:
        text = self.document.text
        start = text.index("crime fell 20%")
        return {"document": self.document.pk, "start": start, "end": start + 14, **fields}

    def test_a_claim_post_whose_answer_was_lost_is_answered_again_without_a_second_claim(
        self,
    ) -> None:
        before = self.row_counts()
        first = self.keyed(self.creator, "/claims/", self.claim_body(statement="Crime fell."))
        self.assertEqual(first.status_code, 201, first.content)
        # ... the answer never reaches the client, which retries with the same key:
        with self.assertNothingWritten():
            again = self.keyed(self.creator, "/claims/", self.claim_body(statement="Crime fell."))
        self.assertReplayed(first, again)
        after = self.row_counts()
        self.assertEqual(after["Claim"], before["Claim"] + 1)
        self.assertEqual(after["Event"], before["Event"] + 1)
        self.assertEqual(Claim.objects.filter(statement="Crime fell.").count(), 1)

    def test_a_claim_committed_before_a_503_is_not_created_twice_by_the_retry(self) -> None:
        """The issue's scenario end to end: the write commits, then the connection dies while
        the answer is made, so the client gets a 503 (``workbench/errors.py``) and retries."""
        client = self.client_for(self.creator)
        client.raise_request_exception = False
        body = self.claim_body(statement="Crime fell.")
        died = InterfaceError("connection already closed")
        # Rendering the answer happens after the view returned, i.e. after the commit.
        with mock.patch(
            "rest_framework.response.Response.rendered_content",
            new_callable=mock.PropertyMock,
            side_effect=died,
        ):
            lost = client.post("/api/v1/claims/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
        self.assertEqual(lost.status_code, 503, lost.content)
        landed = Claim.objects.get(statement="Crime fell.")  # the write did commit
        with self.assertNothingWritten():
            retry = client.post("/api/v1/claims/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
        self.assertEqual(retry.status_code, 201, retry.content)
        self.assertEqual(retry.json()["id"], landed.pk)
        self.assertEqual(retry[REPLAYED_HEADER], "true")
        self.assertEqual(Claim.objects.filter(statement="Crime fell.").count(), 1)
        self.assertEqual(Event.objects.filter(verb="claim.create", object_id=landed.pk).count(), 1)

    def test_a_document_post_is_answered_again_without_a_second_document(self) -> None:
        body = {"project": self.project.pk, "title": "Memo", "text": "A memo.\n"}
        first = self.keyed(self.editor, "/documents/", body)
        self.assertEqual(first.status_code, 201, first.content)
        with self.assertNothingWritten():
            again = self.keyed(self.editor, "/documents/", body)
        self.assertReplayed(first, again)
        self.assertEqual(Document.objects.filter(title="Memo").count(), 1)

    def test_the_same_json_with_other_key_order_and_spacing_is_the_same_request(self) -> None:
        body = self.claim_body(statement="Crime fell.")
        first = self.keyed(self.creator, "/claims/", body)
        reordered = (
            f'{{ "statement": "Crime fell.",\n "end": {body["end"]}, '
            f'"start": {body["start"]}, "document": {body["document"]} }}'
        )
        with self.assertNothingWritten():
            again = self.client_for(self.creator).post(
                "/api/v1/claims/",
                reordered,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=KEY,
            )
        self.assertReplayed(first, again)

    def test_without_a_key_nothing_changes(self) -> None:
        body = {"project": self.project.pk, "title": "Memo", "text": "A memo.\n"}
        first = self.keyed(self.editor, "/documents/", body, key=None)
        self.assertEqual(first.status_code, 201)
        self.assertNotIn(REPLAYED_HEADER, first)
        self.assertEqual(IdempotencyKey.objects.count(), 0)


class KeyRulesTests(IdempotencyTestCase):
    body = {"title": "Memo", "text": "A memo.\n"}

    def doc(self, **fields: Any) -> dict[str, Any]:
        return {"project": self.project.pk, **self.body, **fields}

    def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(self) -> None:
        self.assertEqual(self.keyed(self.editor, "/documents/", self.doc()).status_code, 201)
        with self.assertNothingWritten():
            response = self.keyed(self.editor, "/documents/", self.doc(text="Another memo.\n"))
        self.assertDetail(response, 422, "already used for a different request")
        self.assertNotIn(REPLAYED_HEADER, response)
        self.assertFalse(Document.objects.filter(text="Another memo.\n").exists())

    def test_the_same_key_on_another_endpoint_is_a_422(self) -> None:
        self.assertEqual(self.keyed(self.editor, "/documents/", self.doc()).status_code, 201)
        start = self.document.text.index("record low")
        claim = {"document": self.document.pk, "start": start, "end": start + 10}
        with self.assertNothingWritten():
            response = self.keyed(self.editor, "/claims/", claim)
        self.assertDetail(response, 422, "another endpoint or body")

    def test_keys_are_per_user(self) -> None:
        start = self.document.text.index("record low")
        body = {"document": self.document.pk, "start": start, "end": start + 10}
        first = self.keyed(self.creator, "/claims/", {**body, "statement": "Mine"})
        self.assertEqual(first.status_code, 201, first.content)
        # Another user's same key and same body is their own request, never the first
        # answer: here the same claim again, which is a duplicate (409), not a replay.
        same = self.keyed(self.reviewer_a, "/claims/", {**body, "statement": "Mine"})
        self.assertEqual(same.status_code, 409, same.content)
        self.assertNotIn(REPLAYED_HEADER, same)
        # And with another body it is not a reused key (no 422): a claim of their own.
        other = self.keyed(self.reviewer_a, "/claims/", {**body, "statement": "Theirs"})
        self.assertEqual(other.status_code, 201, other.content)
        self.assertNotIn(REPLAYED_HEADER, other)
        self.assertNotEqual(first.json()["id"], other.json()["id"])
        self.assertEqual(other.json()["created_by"], "reviewer_a")
        self.assertEqual(IdempotencyKey.objects.filter(key=KEY).count(), 2)
        # And the first user's repeat still gets their own answer.
        again = self.keyed(self.creator, "/claims/", {**body, "statement": "Mine"})
        self.assertReplayed(first, again)

    def test_bad_keys_are_a_400_naming_the_header_and_write_nothing(self) -> None:
        for key, fragment in [
            ("k" * 256, "the most is 255"),
            ("", "is empty"),
            ("clé", "printable ASCII"),
        ]:
            with self.subTest(key=key[:10]), self.assertNothingWritten():
                response = self.client_for(self.editor).post(
                    "/api/v1/documents/",
                    self.doc(),
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"),
                )
                self.assertFieldError(response, "Idempotency-Key", fragment)
        self.assertEqual(
            self.keyed(self.editor, "/documents/", self.doc(), "k" * 255).status_code, 201
        )

    def test_the_requests_own_refusals_come_before_the_keys(self) -> None:
        # A non-member gets the 404 every request gets, whatever the key.
        url = f"/projects/{self.project.pk}/members/"
        for key in ("k" * 256, KEY):
            with self.subTest(key=key[:10]), self.assertNothingWritten():
                response = self.keyed(self.outsider, url, {"username": "outsider"}, key)
                self.assertEqual(response.status_code, 404, response.content)
        # A bad body is its 400 before a reused key's 422.
        self.assertEqual(self.keyed(self.editor, "/documents/", self.doc()).status_code, 201)
        with self.assertNothingWritten():
            response = self.keyed(self.editor, "/documents/", self.doc(title=""))
        self.assertFieldError(response, "title")

    def test_a_refused_request_keeps_no_key_and_may_be_sent_again_fixed(self) -> None:
        with self.assertNothingWritten():
            refused = self.keyed(self.editor, "/documents/", self.doc(title=""))
        self.assertFieldError(refused, "title")
        fixed = self.keyed(self.editor, "/documents/", self.doc())
        self.assertEqual(fixed.status_code, 201, fixed.content)
        self.assertNotIn(REPLAYED_HEADER, fixed)

    def test_an_expired_key_is_a_new_request(self) -> None:
        first = self.keyed(self.editor, "/documents/", self.doc())
        IdempotencyKey.objects.update(
            created_at=timezone.now() - dt.timedelta(hours=25),
            expires_at=timezone.now() - dt.timedelta(hours=1),
        )
        second = self.keyed(self.editor, "/documents/", self.doc(text="Another memo.\n"))
        self.assertEqual(second.status_code, 201, second.content)
        self.assertNotEqual(second.json()["id"], first.json()["id"])
        self.assertEqual(IdempotencyKey.objects.count(), 1)  # the expired row was purged

    def test_the_stored_row_holds_the_first_answer_for_its_user_only(self) -> None:
        first = self.keyed(self.editor, "/documents/", self.doc())
        row = IdempotencyKey.objects.get()
        self.assertEqual((row.user_id, row.key, row.method), (self.editor.pk, KEY, "POST"))
        self.assertEqual(row.path, "/api/v1/documents/")
        self.assertEqual(row.status_code, 201)
        self.assertEqual(len(row.fingerprint), 64)
        self.assertEqual(row.expires_at - row.created_at, dt.timedelta(hours=24))
        self.assertEqual(json.loads(row.response_body), first.json())


class EveryCreateEndpointTests(IdempotencyTestCase):
    """Each creating POST answers a repeat from its first answer and writes nothing."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        grant(cls.admin, "add_project")
        cls.disputed = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        judge(cls.disputed, cls.reviewer_b, "true")
        judge(cls.disputed, cls.reviewer_c, "false")
        cls.open = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)
        cls.revised = make_document(project=cls.project, actor=cls.editor, text="Old text.\n")

    def cases(self) -> list[tuple[str, AbstractBaseUser, str, Any]]:
        p = self.project.pk
        return [
            ("project", self.admin, "/projects/", {"name": "New desk"}),
            (
                "member",
                self.admin,
                f"/projects/{p}/members/",
                {"username": self.reviewer_c.get_username(), "role": "editor"},
            ),
            (
                "invitation",
                self.admin,
                f"/projects/{p}/invitations/",
                {"username": "outsider", "role": "reviewer"},
            ),
            ("document", self.editor, "/documents/", {"project": p, "title": "T", "text": "A.\n"}),
            (
                "documents",
                self.editor,
                "/documents/",
                [
                    {"project": p, "title": "B", "text": "B.\n"},
                    {"project": p, "title": "C", "text": "C.\n"},
                ],
            ),
            (
                "import",
                self.editor,
                "/documents/import/",
                {
                    "project": p,
                    "text": "The minister said the deficit halved in two years.\n",
                    "clean": False,
                },
            ),
            (
                "revision",
                self.editor,
                f"/documents/{self.revised.pk}/revisions/",
                {"text": "New text.\n", "note": "typo"},
            ),
            (
                "claim",
                self.creator,
                "/claims/",
                {"document": self.document.pk, "start": 0, "end": 9, "statement": "S"},
            ),
            (
                "verdict",
                self.reviewer_a,
                f"/claims/{self.open.pk}/verdicts/",
                {
                    "rating": "false",
                    "confidence": "high",
                    "citations": [
                        {"url": "https://stats.example.org/", "stance": "refutes", "quote": "q"}
                    ],
                },
            ),
            (
                "adjudication",
                self.editor,
                f"/claims/{self.disputed.pk}/adjudicate/",
                {"rating": "half_true", "note": "Both partly right."},
            ),
            # The adjudication above resolved it: publish, correct, retract.
            (
                "publication",
                self.editor,
                f"/claims/{self.disputed.pk}/publish/",
                {"summary": "Both partly right, as the data show."},
            ),
            (
                "correction",
                self.editor,
                f"/claims/{self.disputed.pk}/correct/",
                {"rating": "mostly_true", "note": "Revised series."},
            ),
            (
                "retraction",
                self.editor,
                f"/claims/{self.disputed.pk}/retract/",
                {"note": "Wrong city."},
            ),
        ]

    def test_a_repeat_writes_nothing_and_gets_the_first_answer(self) -> None:
        for name, user, path, body in self.cases():
            with self.subTest(endpoint=name):
                key = f"key-{name}"
                first = self.keyed(user, path, body, key)
                self.assertIn(first.status_code, (200, 201), first.content)
                with self.assertNothingWritten():
                    again = self.keyed(user, path, body, key)
                self.assertReplayed(first, again)

    def test_every_create_operation_documents_the_header_and_the_422(self) -> None:
        from tests.api.test_contract import _served_schema

        creating = {
            ("post", "/api/v1/projects/"),
            ("post", "/api/v1/projects/{id}/members/"),
            ("post", "/api/v1/projects/{id}/invitations/"),
            ("post", "/api/v1/documents/"),
            ("post", "/api/v1/documents/import/"),
            ("post", "/api/v1/documents/{id}/revisions/"),
            ("post", "/api/v1/claims/"),
            ("post", "/api/v1/claims/{id}/verdicts/"),
            ("post", "/api/v1/claims/{id}/comments/"),
            ("post", "/api/v1/claims/{id}/adjudicate/"),
            ("post", "/api/v1/claims/{id}/publish/"),
            ("post", "/api/v1/claims/{id}/correct/"),
            ("post", "/api/v1/claims/{id}/retract/"),
        }
        schema = _served_schema()
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                headers = {
                    p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"
                }
                with self.subTest(method=method, path=path):
                    if (method, path) in creating:
                        self.assertIn("Idempotency-Key", headers)
                        self.assertIn("422", operation["responses"])
                        self.assertIn("409", operation["responses"])
                    else:
                        self.assertNotIn("Idempotency-Key", headers)
        claim_409 = schema["paths"]["/api/v1/claims/"]["post"]["responses"]["409"]
        self.assertIn("existing", str(claim_409))


class DuplicateClaimApiTests(IdempotencyTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.text = cls.document.text
        cls.start = cls.text.index("crime fell 20%")
        cls.end = cls.start + len("crime fell 20%")
        cls.claim = make_claim(
            document=cls.document,
            actor=cls.creator,
            exact="crime fell 20%",
            statement="Crime fell 20% last year.",
        )

    def body(self, **fields: Any) -> dict[str, Any]:
        return {"document": self.document.pk, "start": self.start, "end": self.end, **fields}

    def test_the_same_span_and_statement_is_a_409_pointing_at_the_existing_claim(self) -> None:
        for statement in ("Crime fell 20% last year.", "  Crime fell\n20%  last year. "):
            with self.subTest(statement=statement), self.assertNothingWritten():
                response = self.post(self.reviewer_a, "/claims/", self.body(statement=statement))
                self.assertDetail(response, 409, "already exists")
                existing = response.json()["existing"]
                self.assertEqual(existing["id"], self.claim.pk)
                self.assertEqual(
                    existing["url"],
                    "http://testserver" + reverse("api:claim-detail", args=[self.claim.pk]),
                )

    def test_an_empty_statement_is_the_quote_and_counts_as_such(self) -> None:
        quoted = make_claim(document=self.document, actor=self.creator, exact="record low of 3.1%")
        start = self.text.index("record low of 3.1%")
        body = {"document": self.document.pk, "start": start, "end": start + 18}
        response = self.post(self.reviewer_a, "/claims/", body)
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json()["existing"]["id"], quoted.pk)

    def test_near_duplicates_are_other_claims(self) -> None:
        for fields in (
            {"statement": "Crime fell 20% last year!"},  # another wording
            {"statement": "crime fell 20% last year."},  # case counts
            {"statement": "Crime fell 20% last year.", "end": self.end - 1},  # another span
            {"statement": "Crime fell 20% last year.", "start": self.start + 1},
        ):
            with self.subTest(fields=fields):
                response = self.post(self.reviewer_a, "/claims/", self.body(**fields))
                self.assertEqual(response.status_code, 201, response.content)

    def test_a_withdrawn_claim_may_be_claimed_again(self) -> None:
        services.claim_withdraw(claim=self.claim, actor=self.creator, reason="Wrong span")
        response = self.post(
            self.creator, "/claims/", self.body(statement="Crime fell 20% last year.")
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertNotEqual(response.json()["id"], self.claim.pk)

    def test_a_repeat_with_the_key_is_a_replay_not_a_409(self) -> None:
        body = self.body(statement="Crime fell by a fifth.")
        first = self.keyed(self.creator, "/claims/", body)
        self.assertEqual(first.status_code, 201)
        self.assertReplayed(first, self.keyed(self.creator, "/claims/", body))
        # Without the key the same claim again is the duplicate it is.
        self.assertEqual(self.post(self.creator, "/claims/", body).status_code, 409)

    def test_a_duplicate_in_another_document_is_allowed(self) -> None:
        other = make_document(
            project=self.project, actor=self.editor, text=self.text + "Appendix.\n"
        )
        response = self.post(
            self.reviewer_a,
            "/claims/",
            {**self.body(statement="Crime fell 20% last year."), "document": other.pk},
        )
        self.assertEqual(response.status_code, 201, response.content)
