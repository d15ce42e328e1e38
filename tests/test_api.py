"""REST API v1 end to end: every endpoint's happy path and JSON shape, blind review,
the queue, If-Match/ETag, bulk import, cursor pagination, query-count ceilings, and bad
input to every write endpoint (400 naming the field and the reason, nothing written).

Who may call what is in ``test_api_permissions.py``; the OpenAPI contract in
``test_api_contract.py``. Both reuse ``ApiTestCase`` from here.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.test import APIClient

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    Consensus,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Source,
    Verdict,
)
from tests.factories import (
    SAMPLE_TEXT,
    Personas,
    add_member,
    grant,
    judge,
    make_claim,
    make_document,
    make_user,
)

API = "/api/v1"

# Every table an API call could write to; "nothing written" compares all their counts.
COUNTED_MODELS = (
    Project,
    Membership,
    Rating,
    Document,
    Claim,
    Source,
    Verdict,
    Citation,
    Assignment,
    Consensus,
    Event,
    Token,
)

CLAIM_FIELDS = {
    "id",
    "project",
    "document",
    "start",
    "end",
    "exact",
    "prefix",
    "suffix",
    "statement",
    "claimant",
    "status",
    "version",
    "anchor_status",
    "anchor_revision",
    "created_by",
    "created_at",
    "updated_at",
    "consensus",
}
DOCUMENT_FIELDS = {
    "id",
    "project",
    "title",
    "length",
    "text_sha256",
    "source_url",
    "publisher",
    "author",
    "published_date",
    "language",
    "revision",
    "created_at",
}
PROJECT_FIELDS = {
    "id",
    "name",
    "slug",
    "organization",
    "organization_url",
    "required_reviews",
    "consensus_rule",
    "majority_threshold",
    "lease_minutes",
    "created_at",
    "role",
    "scale",
}
VERDICT_FIELDS = {
    "id",
    "claim",
    "reviewer",
    "rating",
    "confidence",
    "rationale",
    "revision",
    "is_current",
    "submitted_at",
    "citations",
}
CONSENSUS_FIELDS = {
    "sequence",
    "rating",
    "method",
    "agreement",
    "decided_by",
    "decided_at",
    "note",
    "is_current",
}
DEFAULT_SCALE_KEYS = [
    "true",
    "mostly_true",
    "half_true",
    "mostly_false",
    "false",
    "misleading",
    "unverifiable",
    "not_checkable",
]


class ApiTestCase(Personas, TestCase):
    """Personas with API tokens, a JSON client per persona, and write-nothing checks."""

    policy: dict[str, Any] = {}

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(**cls.policy)
        cls.tokens: dict[int, str] = {}
        for user in cls.personas():
            cls.tokens[user.pk] = Token.objects.create(user=user).key

    @classmethod
    def personas(cls) -> list[AbstractBaseUser]:
        return [
            cls.admin,
            cls.editor,
            cls.creator,
            cls.reviewer_a,
            cls.reviewer_b,
            cls.reviewer_c,
            cls.outsider,
        ]

    def client_for(self, user: AbstractBaseUser | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token = self.tokens.get(user.pk) or Token.objects.get_or_create(user=user)[0].key
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    def get(
        self, user: AbstractBaseUser | None, path: str, params: dict[str, Any] | None = None
    ) -> Response:
        return self.client_for(user).get(API + path, params or {})

    def post(
        self, user: AbstractBaseUser | None, path: str, data: Any = None, **extra: Any
    ) -> Response:
        return self.client_for(user).post(API + path, data, format="json", **extra)

    def patch(
        self,
        user: AbstractBaseUser | None,
        path: str,
        data: Any = None,
        if_match: str | None = None,
    ) -> Response:
        extra = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
        return self.client_for(user).patch(API + path, data, format="json", **extra)

    @staticmethod
    def row_counts() -> dict[str, int]:
        return {model.__name__: model.objects.count() for model in COUNTED_MODELS}

    @contextmanager
    def assertNothingWritten(self) -> Iterator[None]:
        before = self.row_counts()
        yield
        self.assertEqual(self.row_counts(), before, "the request wrote rows")

    def assertFieldError(
        self, response: Response, field: str, *fragments: str, status: int = 400
    ) -> None:
        """``status`` with ``{field: [message, ...]}`` whose text contains every fragment."""
        self.assertEqual(response.status_code, status, response.content)
        body = response.json()
        self.assertIsInstance(body, dict, body)
        self.assertIn(field, body, body)
        messages = body[field]
        text = " ".join(messages) if isinstance(messages, list) else str(messages)
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            text = repr(messages)
        for fragment in fragments:
            self.assertIn(fragment, text)

    def assertDetail(self, response: Response, status: int, *fragments: str) -> None:
        self.assertEqual(response.status_code, status, response.content)
        detail = response.json()["detail"]
        for fragment in fragments:
            self.assertIn(fragment, detail)


# --- auth ------------------------------------------------------------------------------------


class TokenApiTests(ApiTestCase):
    def test_it_exchanges_username_and_password_for_a_token(self) -> None:
        response = self.post(
            None, "/auth/token/", {"username": "reviewer_a", "password": "pw-reviewer_a"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"token": self.tokens[self.reviewer_a.pk]})

    def test_it_creates_a_token_once_and_returns_it_again(self) -> None:
        newcomer = make_user("newcomer")
        first = self.post(None, "/auth/token/", {"username": "newcomer", "password": "pw-newcomer"})
        second = self.post(
            None, "/auth/token/", {"username": "newcomer", "password": "pw-newcomer"}
        )
        self.assertEqual(first.status_code, 200)
        self.assertEqual(first.json(), second.json())
        self.assertEqual(Token.objects.get(user=newcomer).key, first.json()["token"])

    def test_the_token_authenticates_api_calls(self) -> None:
        key = self.post(
            None, "/auth/token/", {"username": "reviewer_a", "password": "pw-reviewer_a"}
        ).json()["token"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        response = client.get(f"{API}/projects/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual([p["id"] for p in response.json()["results"]], [self.project.pk])

    def test_it_rejects_bad_credentials_and_writes_nothing(self) -> None:
        make_user("tokenless")
        inactive = make_user("inactive")
        inactive.is_active = False
        inactive.save()
        cases = [
            ({"username": "tokenless", "password": "wrong"}, "non_field_errors"),
            ({"username": "nobody", "password": "pw-nobody"}, "non_field_errors"),
            ({"username": "inactive", "password": "pw-inactive"}, "non_field_errors"),
            ({"username": "tokenless"}, "password"),
            ({"password": "pw-tokenless"}, "username"),
        ]
        for body, field in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                self.assertFieldError(self.post(None, "/auth/token/", body), field)


# --- projects and members ---------------------------------------------------------------


class ProjectApiTests(ApiTestCase):
    def test_the_list_holds_only_the_callers_projects_with_their_role(self) -> None:
        response = self.get(self.reviewer_a, "/projects/")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(set(body), {"next", "previous", "results"})
        [project] = body["results"]
        self.assertEqual(set(project), PROJECT_FIELDS)
        self.assertEqual(project["id"], self.project.pk)
        self.assertEqual(project["role"], "reviewer")
        self.assertEqual([r["key"] for r in project["scale"]], DEFAULT_SCALE_KEYS)
        self.assertEqual(
            project["scale"][0], {"key": "true", "label": "True", "ordinal": 5, "position": 0}
        )
        self.assertIsNone(project["scale"][-1]["ordinal"])
        outsider_projects = self.get(self.outsider, "/projects/").json()["results"]
        self.assertEqual(
            [(p["id"], p["role"]) for p in outsider_projects], [(self.other_project.pk, "admin")]
        )

    def test_it_creates_a_project_whose_creator_is_admin(self) -> None:
        grant(self.reviewer_a, "add_project")
        response = self.post(
            self.reviewer_a,
            "/projects/",
            {
                "name": "Election desk",
                "organization": "Example News",
                "organization_url": "https://news.example.org/",
                "required_reviews": 3,
                "consensus_rule": "majority",
                "majority_threshold": 0.6,
                "lease_minutes": 45,
            },
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), PROJECT_FIELDS)
        self.assertEqual(
            {k: body[k] for k in ("name", "slug", "required_reviews", "consensus_rule", "role")},
            {
                "name": "Election desk",
                "slug": "election-desk",
                "required_reviews": 3,
                "consensus_rule": "majority",
                "role": "admin",
            },
        )
        self.assertEqual(body["majority_threshold"], 0.6)
        self.assertEqual(len(body["scale"]), 8)
        project = Project.objects.get(pk=body["id"])
        self.assertEqual(
            Membership.objects.get(project=project, user=self.reviewer_a).role, Role.ADMIN
        )
        self.assertTrue(Event.objects.filter(verb="project.create", object_id=project.pk).exists())

    def test_detail_returns_the_project(self) -> None:
        response = self.get(self.editor, f"/projects/{self.project.pk}/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["role"], "editor")
        self.assertEqual(response.json()["name"], "Desk")

    def test_an_admin_changes_the_policy_and_it_is_audited(self) -> None:
        response = self.patch(
            self.admin,
            f"/projects/{self.project.pk}/",
            {"required_reviews": 3, "consensus_rule": "majority", "majority_threshold": 0.66},
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["required_reviews"], 3)
        self.project.refresh_from_db()
        self.assertEqual(
            (self.project.required_reviews, self.project.consensus_rule), (3, "majority")
        )
        event = Event.objects.get(verb="project.update")
        self.assertEqual(event.before["required_reviews"], 2)
        self.assertEqual(event.after["required_reviews"], 3)

    def test_the_slug_never_changes(self) -> None:
        response = self.patch(self.admin, f"/projects/{self.project.pk}/", {"slug": "renamed"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["slug"], "desk")

    def test_bad_policy_values_are_refused_and_nothing_is_written(self) -> None:
        cases = [
            ({"required_reviews": 0}, "required_reviews", "greater than or equal to 1"),
            ({"required_reviews": 21}, "required_reviews", "less than or equal to 20"),
            ({"required_reviews": "two"}, "required_reviews", "valid integer"),
            ({"majority_threshold": 1.5}, "majority_threshold", "less than or equal to 0.99"),
            ({"majority_threshold": 0.4}, "majority_threshold", "greater than or equal to 0.5"),
            ({"lease_minutes": 0}, "lease_minutes", "greater than or equal to 1"),
            ({"lease_minutes": 1441}, "lease_minutes", "less than or equal to 1440"),
            ({"consensus_rule": "bogus"}, "consensus_rule", '"bogus" is not a valid choice'),
            ({"name": ""}, "name", "may not be blank"),
            ({"name": "x" * 201}, "name", "at most 200 characters (it has 201)"),
            ({"organization_url": "javascript:alert(1)"}, "organization_url", "valid URL"),
            ({"organization_url": "ftp://example.org/"}, "organization_url", "http and https"),
            ({"name": "New\x00desk"}, "name", "Null characters are not allowed"),
            ({"organization": "Fact\x00Desk"}, "organization", "Null characters are not allowed"),
        ]
        for body, field, reason in cases:
            with self.subTest(method="PATCH", body=body), self.assertNothingWritten():
                response = self.patch(self.admin, f"/projects/{self.project.pk}/", body)
                self.assertFieldError(response, field, reason)
            with self.subTest(method="POST", body=body), self.assertNothingWritten():
                response = self.post(self.admin, "/projects/", {"name": "New desk", **body})
                self.assertFieldError(response, field, reason)
        self.project.refresh_from_db()
        self.assertEqual(
            (self.project.name, self.project.required_reviews, self.project.majority_threshold),
            ("Desk", 2, 0.5),
        )

    def test_opening_a_project_needs_the_add_project_permission(self) -> None:
        # Otherwise any account could open a project and probe usernames through its members.
        for user in (self.reviewer_a, self.editor, self.outsider):
            with self.subTest(user=user.username), self.assertNothingWritten():
                for body in ({"name": "Mine"}, {}, {"name": "x" * 500}):
                    self.assertDetail(self.post(user, "/projects/", body), 403, "Can add project")
        grant(self.reviewer_a, "add_project")
        response = self.post(self.reviewer_a, "/projects/", {"name": "Mine"})
        self.assertEqual(response.status_code, 201, response.content)

    def test_creating_needs_a_name_and_a_free_slug(self) -> None:
        with self.assertNothingWritten():
            self.assertFieldError(self.post(self.admin, "/projects/", {}), "name", "required")
            self.assertFieldError(
                self.post(self.admin, "/projects/", {"name": "Desk"}), "slug", "already exists"
            )


class MemberApiTests(ApiTestCase):
    def test_members_are_listed_by_username(self) -> None:
        response = self.get(self.reviewer_a, f"/projects/{self.project.pk}/members/")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            [(m["username"], m["role"]) for m in body],
            [
                ("admin", "admin"),
                ("creator", "reviewer"),
                ("editor", "editor"),
                ("reviewer_a", "reviewer"),
                ("reviewer_b", "reviewer"),
                ("reviewer_c", "reviewer"),
            ],
        )
        self.assertEqual(set(body[0]), {"username", "role", "created_at"})

    def test_an_admin_adds_a_member_and_it_is_audited(self) -> None:
        newcomer = make_user("newcomer")
        response = self.post(
            self.admin,
            f"/projects/{self.project.pk}/members/",
            {"username": "newcomer", "role": "editor"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["username"], "newcomer")
        self.assertEqual(response.json()["role"], "editor")
        self.assertEqual(Membership.objects.get(project=self.project, user=newcomer).role, "editor")
        self.assertTrue(Event.objects.filter(verb="member.add", after__user="newcomer").exists())

    def test_adding_an_existing_member_changes_their_role(self) -> None:
        response = self.post(
            self.admin,
            f"/projects/{self.project.pk}/members/",
            {"username": "reviewer_a", "role": "editor"},
        )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.reviewer_a).role, "editor"
        )
        self.assertEqual(Membership.objects.filter(project=self.project).count(), 6)

    def test_bad_members_are_refused_and_nothing_is_written(self) -> None:
        make_user("newcomer")
        gone = make_user("gone")
        gone.is_active = False
        gone.save()
        cases = [
            ({"username": "newcomer", "role": "owner"}, "role", '"owner" is not a valid choice'),
            ({"username": "newcomer"}, "role", "required"),
            ({"username": "nobody", "role": "reviewer"}, "username", "No active user 'nobody'"),
            ({"username": "gone", "role": "reviewer"}, "username", "No active user 'gone'"),
            ({"role": "reviewer"}, "username", "required"),
        ]
        for body, field, reason in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                response = self.post(self.admin, f"/projects/{self.project.pk}/members/", body)
                self.assertFieldError(response, field, reason)

    def test_demoting_the_last_admin_is_refused_and_nothing_is_written(self) -> None:
        events = Event.objects.count()
        for role in ("editor", "reviewer"):
            with self.subTest(role=role), self.assertNothingWritten():
                response = self.post(
                    self.admin,
                    f"/projects/{self.project.pk}/members/",
                    {"username": "admin", "role": role},
                )
                self.assertFieldError(response, "role", "A project needs at least one admin.")
        self.assertEqual(Event.objects.count(), events)
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.admin).role, "admin"
        )

    def test_an_admin_steps_down_once_another_admin_is_named(self) -> None:
        url = f"/projects/{self.project.pk}/members/"
        promoted = self.post(self.admin, url, {"username": "editor", "role": "admin"})
        self.assertEqual(promoted.status_code, 201, promoted.content)
        response = self.post(self.admin, url, {"username": "admin", "role": "editor"})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["role"], "editor")
        # The new admin cannot step down in turn: they are the last one now.
        refused = self.post(self.editor, url, {"username": "editor", "role": "reviewer"})
        self.assertFieldError(refused, "role", "at least one admin")


class AgreementApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.agreed = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.agreed, cls.reviewer_a, "false")
        judge(cls.agreed, cls.reviewer_b, "false")
        cls.second_document = make_document(
            project=cls.project, actor=cls.editor, text="The river rose two metres.", title="B"
        )
        cls.split = make_claim(
            document=cls.second_document, actor=cls.creator, exact="river rose two metres"
        )
        judge(cls.split, cls.reviewer_a, "true")
        judge(cls.split, cls.reviewer_b, "false")

    def test_it_reports_agreement_over_the_project(self) -> None:
        response = self.get(self.editor, f"/projects/{self.project.pk}/agreement/")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            set(body),
            {"krippendorff_alpha", "percent_agreement", "claims", "verdicts", "reviewers"},
        )
        self.assertEqual(set(body["krippendorff_alpha"]), {"nominal", "ordinal"})
        self.assertEqual((body["claims"], body["verdicts"]), (2, 4))
        self.assertEqual(body["percent_agreement"], 0.5)
        rows = {row["username"]: row for row in body["reviewers"]}
        self.assertEqual(set(rows), {"reviewer_a", "reviewer_b"})
        self.assertEqual(
            set(rows["reviewer_a"]), {"username", "verdicts", "compared", "matched_consensus"}
        )
        self.assertEqual(
            (rows["reviewer_a"]["verdicts"], rows["reviewer_a"]["matched_consensus"]), (2, 1)
        )

    def test_it_reports_agreement_for_one_document(self) -> None:
        response = self.get(
            self.editor,
            f"/projects/{self.project.pk}/agreement/",
            {"document": self.second_document.pk},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual((response.json()["claims"], response.json()["verdicts"]), (1, 2))
        self.assertEqual(response.json()["percent_agreement"], 0.0)

    def test_a_project_without_verdicts_has_no_agreement_figures(self) -> None:
        body = self.get(self.outsider, f"/projects/{self.other_project.pk}/agreement/").json()
        self.assertEqual(
            body,
            {
                "krippendorff_alpha": {"nominal": None, "ordinal": None},
                "percent_agreement": None,
                "claims": 0,
                "verdicts": 0,
                "reviewers": [],
            },
        )

    def test_agreement_tells_a_reviewer_nothing_about_verdicts_they_may_not_see(self) -> None:
        self.project.required_reviews = 3
        self.project.save()
        document = make_document(
            project=self.project, actor=self.editor, text="Rents doubled in a year.", title="C"
        )
        claim = make_claim(document=document, actor=self.creator, exact="Rents doubled")
        judge(claim, self.reviewer_a, "false")
        judge(claim, self.editor, "false")
        services.lease_next(reviewer=self.reviewer_c, project=self.project)
        response = self.get(
            self.reviewer_c, f"/projects/{self.project.pk}/agreement/", {"document": document.pk}
        )
        if response.status_code == 403:
            return
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual((body["verdicts"], body["percent_agreement"]), (0, None), body)
        self.assertEqual(body["reviewers"], [])

    def test_a_bad_document_parameter_is_a_400(self) -> None:
        other_document = make_document(
            project=self.other_project, actor=self.outsider, text="Elsewhere."
        )
        cases = [
            ("abc", "whole number"),
            ("0", "Out of range"),
            ("-3", "Out of range"),
            (str(2**63), "Out of range"),
            (str(other_document.pk), "No such document in this project"),
        ]
        for value, reason in cases:
            with self.subTest(document=value):
                response = self.get(
                    self.editor, f"/projects/{self.project.pk}/agreement/", {"document": value}
                )
                self.assertFieldError(response, "document", reason)


# --- documents -------------------------------------------------------------------------------


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

    def test_an_unknown_include_is_a_400(self) -> None:
        response = self.get(
            self.reviewer_a, f"/documents/{self.document.pk}/", {"include": "verdicts"}
        )
        self.assertFieldError(response, "include", "include=claims")

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
        before = Event.objects.filter(verb="document.create").count()
        response = self.post(
            self.editor,
            "/documents/",
            [self.doc(title=f"Doc {i}", text=f"Text number {i}.") for i in range(3)],
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual([d["title"] for d in body], ["Doc 0", "Doc 1", "Doc 2"])
        self.assertEqual(set(body[0]), DOCUMENT_FIELDS)
        self.assertEqual(Document.objects.filter(project=self.project).count(), 4)
        self.assertEqual(Event.objects.filter(verb="document.create").count(), before + 3)

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
            (self.doc(project="abc"), "project", "valid integer"),
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


# --- claims ----------------------------------------------------------------------------------


class ClaimApiTests(ApiTestCase):
    def span(self, exact: str) -> dict[str, int]:
        start = SAMPLE_TEXT.index(exact)
        return {"start": start, "end": start + len(exact)}

    def test_a_member_creates_a_claim_and_the_server_quotes_the_span(self) -> None:
        response = self.post(
            self.reviewer_a,
            "/claims/",
            {"document": self.document.pk, **self.span("crime fell 20%"), "claimant": " Mayor "},
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), CLAIM_FIELDS)
        start = SAMPLE_TEXT.index("crime fell 20%")
        self.assertEqual(
            {k: body[k] for k in ("exact", "prefix", "suffix", "statement", "claimant", "status")},
            {
                "exact": "crime fell 20%",
                "prefix": SAMPLE_TEXT[max(0, start - 32) : start],
                "suffix": SAMPLE_TEXT[start + 14 : start + 14 + 32],
                "statement": "crime fell 20%",
                "claimant": "Mayor",
                "status": "in_review",
            },
        )
        self.assertEqual((body["project"], body["document"]), (self.project.pk, self.document.pk))
        self.assertEqual((body["version"], body["created_by"]), (1, "reviewer_a"))
        self.assertIsNone(body["consensus"])
        self.assertTrue(Event.objects.filter(verb="claim.create", object_id=body["id"]).exists())

    def test_offsets_count_code_points_past_an_emoji(self) -> None:
        span = self.span("Others disagree")
        self.assertGreater(
            len(SAMPLE_TEXT[: span["start"]].encode("utf-16-le")) // 2, span["start"]
        )
        response = self.post(
            self.reviewer_a,
            "/claims/",
            {"document": self.document.pk, **span, "exact": "Others disagree", "statement": "S"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["exact"], "Others disagree")
        self.assertTrue(response.json()["prefix"].endswith("🌉 "))
        self.assertEqual(response.json()["statement"], "S")

    def test_offsets_are_code_points_in_any_script(self) -> None:
        cases = [
            ("astral emoji", "🎉🎉 The 👩‍👩‍👧 family grew.", "family grew"),
            ("combining accent", "Le cafe\u0301 coûte 3 €.", "coûte 3 €"),
            ("CJK", "東京の人口は減少している。", "人口は減少"),
            ("right to left", "قال الوزير إن البطالة انخفضت.", "البطالة انخفضت"),
        ]
        for label, text, exact in cases:
            with self.subTest(label):
                document = make_document(project=self.project, actor=self.editor, text=text)
                canonical = unicodedata.normalize("NFC", text)
                start = canonical.index(exact)
                body = {"document": document.pk, "start": start, "end": start + len(exact)}
                response = self.post(self.reviewer_a, "/claims/", {**body, "exact": exact})
                self.assertEqual(response.status_code, 201, response.content)
                self.assertEqual(response.json()["exact"], exact)
                self.assertEqual(response.json()["prefix"], canonical[max(0, start - 32) : start])

    def test_an_nfd_exact_matches_the_nfc_text(self) -> None:
        document = make_document(project=self.project, actor=self.editor, text="Le café ferme.")
        start = document.text.index("café")
        response = self.post(
            self.reviewer_a,
            "/claims/",
            {"document": document.pk, "start": start, "end": start + 4, "exact": "cafe\u0301"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["exact"], "café")

    def test_bad_spans_are_refused_with_the_reason_and_nothing_is_written(self) -> None:
        length = len(SAMPLE_TEXT)
        good = self.span("crime fell 20%")
        doc = self.document.pk
        cases = [
            ("negative start", {"start": -1, "end": 5}, "start", "must not be negative"),
            ("past the end", {"start": 0, "end": length + 1}, "end", f"length {length}"),
            ("reversed", {"start": 10, "end": 5}, "end", "greater than start (10)"),
            ("empty", {"start": 7, "end": 7}, "end", "greater than start (7)"),
            ("text start", {"start": "abc", "end": 5}, "start", "valid integer"),
            ("fractional end", {"start": 0, "end": 4.5}, "end", "valid integer"),
            ("null start", {"start": None, "end": 5}, "start", "may not be null"),
            ("missing end", {"start": 0}, "end", "required"),
            (
                "wrong exact",
                {**good, "exact": "crime fell 30%"},
                "exact",
                'the text there is "crime fell 20%"',
            ),
            ("blank exact", {**good, "exact": ""}, "exact", "may not be blank"),
            ("long statement", {**good, "statement": "s" * 5001}, "statement", "5000"),
            ("NUL in statement", {**good, "statement": "Crime\x00fell"}, "statement", "Null"),
            ("NUL in claimant", {**good, "claimant": "the\x00mayor"}, "claimant", "Null"),
            ("NUL in exact", {**good, "exact": "crime\x00fell 20%"}, "exact", "Null"),
        ]
        for label, span, field, reason in cases:
            with self.subTest(label), self.assertNothingWritten():
                response = self.post(self.reviewer_a, "/claims/", {"document": doc, **span})
                self.assertFieldError(response, field, reason)

    def test_documents_the_caller_cannot_see_are_a_400_on_the_field(self) -> None:
        hidden = make_document(
            project=self.other_project, actor=self.outsider, text="Hidden text here."
        )
        for value, reason in [
            (hidden.pk, "No document"),
            (10**9, "No document"),
            ("x", "valid integer"),
        ]:
            with self.subTest(document=value), self.assertNothingWritten():
                response = self.post(
                    self.reviewer_a, "/claims/", {"document": value, "start": 0, "end": 4}
                )
                self.assertFieldError(response, "document", reason)

    def test_the_list_filters_by_document_project_and_status(self) -> None:
        first = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        other_doc = make_document(
            project=self.project, actor=self.editor, text="Second text, second claim."
        )
        second = make_claim(document=other_doc, actor=self.creator, exact="second claim")
        judge(first, self.reviewer_a, "false")
        judge(first, self.reviewer_b, "false")

        def ids(**params: Any) -> list[int]:
            response = self.get(self.reviewer_c, "/claims/", params)
            self.assertEqual(response.status_code, 200, response.content)
            return [c["id"] for c in response.json()["results"]]

        self.assertEqual(ids(), [first.pk, second.pk])
        self.assertEqual(ids(document=other_doc.pk), [second.pk])
        self.assertEqual(ids(project=self.project.pk), [first.pk, second.pk])
        self.assertEqual(ids(status="resolved"), [first.pk])
        self.assertEqual(ids(status="in_review"), [second.pk])
        self.assertEqual(ids(status="published"), [])
        resolved = self.get(self.reviewer_c, "/claims/", {"status": "resolved"}).json()["results"][
            0
        ]
        self.assertEqual(resolved["consensus"]["rating"], "false")
        self.assertEqual(resolved["consensus"]["method"], "unanimous")

    def test_bad_query_parameters_are_a_400(self) -> None:
        cases = [
            ({"project": "abc"}, "project", "Enter a whole number"),
            ({"document": "abc"}, "document", "Enter a whole number"),
            ({"document": "-1"}, "document", "greater than or equal to 1"),
            ({"project": "0"}, "project", "greater than or equal to 1"),
            ({"status": "bogus"}, "status", "bogus is not one of the available choices"),
        ]
        for params, field, reason in cases:
            with self.subTest(params=params):
                self.assertFieldError(self.get(self.reviewer_a, "/claims/", params), field, reason)

    def test_the_detail_carries_the_version_as_etag(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        response = self.get(self.reviewer_a, f"/claims/{claim.pk}/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["ETag"], '"1"')
        self.assertEqual(set(response.json()), CLAIM_FIELDS)
        self.assertEqual(response.json()["exact"], "crime fell 20%")


class ClaimEditApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def url(self) -> str:
        return f"/claims/{self.claim.pk}/"

    def test_an_edit_without_if_match_is_a_428(self) -> None:
        with self.assertNothingWritten():
            response = self.patch(self.creator, self.url(), {"statement": "Crime fell."})
        self.assertDetail(response, 428, "If-Match")

    def test_a_stale_if_match_is_a_412_with_the_current_etag(self) -> None:
        with self.assertNothingWritten():
            response = self.patch(self.creator, self.url(), {"statement": "X"}, if_match='"7"')
        self.assertDetail(response, 412, "version 1")
        self.assertEqual(response["ETag"], '"1"')
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.statement, "crime fell 20%")

    def test_a_current_if_match_edits_and_returns_the_new_etag(self) -> None:
        etag = self.get(self.creator, self.url())["ETag"]
        response = self.patch(
            self.creator,
            self.url(),
            {"statement": "Crime fell by a fifth.", "claimant": "Mayor"},
            if_match=etag,
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response["ETag"], '"2"')
        self.assertEqual(
            (response.json()["statement"], response.json()["claimant"], response.json()["version"]),
            ("Crime fell by a fifth.", "Mayor", 2),
        )
        self.assertEqual(Event.objects.filter(verb="claim.update").count(), 1)
        stale = self.patch(self.creator, self.url(), {"statement": "Again"}, if_match=etag)
        self.assertEqual(stale.status_code, 412)
        self.assertEqual(stale["ETag"], '"2"')

    def test_a_weak_etag_is_accepted(self) -> None:
        response = self.patch(self.editor, self.url(), {"claimant": "Council"}, if_match='W/"1"')
        self.assertEqual(response.status_code, 200, response.content)

    def test_bad_edits_are_refused_and_nothing_is_written(self) -> None:
        cases = [
            ({"statement": ""}, '"1"', "statement", "may not be blank"),
            ({"statement": "s" * 5001}, '"1"', "statement", "5000"),
            ({"claimant": "c" * 201}, '"1"', "claimant", "200"),
            ({"statement": "Crime\x00fell"}, '"1"', "statement", "Null characters"),
            ({"statement": "Fine"}, "yesterday", "If-Match", 'If-Match: "3"'),
        ]
        for body, if_match, field, reason in cases:
            with self.subTest(body=body, if_match=if_match), self.assertNothingWritten():
                response = self.patch(self.creator, self.url(), body, if_match=if_match)
                self.assertFieldError(response, field, reason)
        self.claim.refresh_from_db()
        self.assertEqual((self.claim.version, self.claim.statement), (1, "crime fell 20%"))


# --- queue -----------------------------------------------------------------------------------


class QueueApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def next(self, user: AbstractBaseUser) -> Response:
        return self.post(user, "/queue/next/", {"project": self.project.pk})

    def test_it_leases_the_oldest_eligible_claim(self) -> None:
        make_claim(document=self.document, actor=self.creator, exact="record low of 3.1%")
        response = self.next(self.reviewer_a)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(set(body), {"claim", "lease_expires_at"})
        self.assertEqual(body["claim"]["id"], self.claim.pk)
        self.assertEqual(set(body["claim"]), CLAIM_FIELDS)
        lease = Assignment.objects.get(reviewer=self.reviewer_a, state=AssignmentState.LEASED)
        self.assertEqual(lease.claim_id, self.claim.pk)

    def test_asking_again_returns_the_same_lease(self) -> None:
        first = self.next(self.reviewer_a).json()
        with self.assertNothingWritten():
            second = self.next(self.reviewer_a)
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.json()["claim"]["id"], first["claim"]["id"])
        self.assertEqual(second.json()["lease_expires_at"], first["lease_expires_at"])

    def test_it_is_204_when_nothing_is_eligible(self) -> None:
        response = self.next(self.creator)  # only their own claim is in review
        self.assertEqual(response.status_code, 204)
        self.assertEqual(response.content, b"")
        self.assertEqual(self.next(self.reviewer_a).status_code, 200)
        self.assertEqual(self.next(self.reviewer_b).status_code, 200)
        self.assertEqual(self.next(self.reviewer_c).status_code, 204)  # both slots leased

    def test_release_gives_the_slot_back(self) -> None:
        self.next(self.reviewer_a)
        self.next(self.reviewer_b)
        response = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/release/")
        self.assertEqual(response.status_code, 204)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.RELEASED
        )
        self.assertEqual(self.next(self.reviewer_c).json()["claim"]["id"], self.claim.pk)
        with self.assertNothingWritten():
            again = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/release/")
        self.assertDetail(again, 409, "do not hold a lease")

    def test_a_skipped_claim_is_never_offered_again(self) -> None:
        self.next(self.reviewer_a)
        response = self.post(
            self.reviewer_a, f"/claims/{self.claim.pk}/skip/", {"reason": "I wrote the story"}
        )
        self.assertEqual(response.status_code, 204)
        assignment = Assignment.objects.get(reviewer=self.reviewer_a)
        self.assertEqual((assignment.state, assignment.reason), ("skipped", "I wrote the story"))
        self.assertEqual(self.next(self.reviewer_a).status_code, 204)
        with self.assertNothingWritten():
            again = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/skip/", {"reason": "x"})
        self.assertDetail(again, 409, "already skipped")

    def test_bad_skips_are_refused_and_nothing_is_written(self) -> None:
        self.next(self.reviewer_a)
        cases = [
            ({}, "required"),
            ({"reason": ""}, "may not be blank"),
            ({"reason": "   "}, "may not be blank"),
            ({"reason": "r" * 2001}, "2000"),
            ({"reason": "conflict\x00of interest"}, "Null characters are not allowed"),
        ]
        for body, reason in cases:
            with self.subTest(body=str(body)[:30]), self.assertNothingWritten():
                response = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/skip/", body)
                self.assertFieldError(response, "reason", reason)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_bad_queue_requests_are_a_400(self) -> None:
        hidden = self.other_project.pk
        cases = [
            ({}, "required"),
            ({"project": "abc"}, "valid integer"),
            ({"project": None}, "may not be null"),
            ({"project": hidden}, f"No project with id {hidden}"),
        ]
        for body, reason in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                self.assertFieldError(
                    self.post(self.reviewer_a, "/queue/next/", body), "project", reason
                )


# --- verdicts and blind review ----------------------------------------------------------------


class VerdictApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def submit(self, user: AbstractBaseUser, **fields: Any) -> Response:
        body = {"rating": "false", "confidence": "high", **fields}
        return self.post(user, f"/claims/{self.claim.pk}/verdicts/", body)

    def test_a_leased_reviewer_submits_a_verdict_with_citations(self) -> None:
        known = services.source_get_or_create(
            url="https://stats.example.org/crime", actor=self.admin
        )
        response = self.submit(
            self.reviewer_a,
            rationale="Police data shows a 12% fall.",
            citations=[
                {
                    "url": "https://police.example.gov/report?utm_source=x",
                    "quote": "fell 12%",
                    "stance": "refutes",
                },
                {"source": known.pk, "stance": "context"},
            ],
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), VERDICT_FIELDS)
        self.assertEqual(
            {
                k: body[k]
                for k in ("claim", "reviewer", "rating", "confidence", "revision", "is_current")
            },
            {
                "claim": self.claim.pk,
                "reviewer": "reviewer_a",
                "rating": "false",
                "confidence": "high",
                "revision": 1,
                "is_current": True,
            },
        )
        self.assertEqual([c["stance"] for c in body["citations"]], ["refutes", "context"])
        self.assertEqual(body["citations"][0]["quote"], "fell 12%")
        self.assertEqual(
            set(body["citations"][0]["source"]),
            {"id", "url", "title", "publisher", "published_date", "archive_url"},
        )
        self.assertEqual(body["citations"][1]["source"]["id"], known.pk)
        self.assertEqual(Source.objects.count(), 2)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.SUBMITTED
        )
        self.assertTrue(Event.objects.filter(verb="verdict.submit").exists())

    def test_a_first_verdict_needs_a_lease(self) -> None:
        with self.assertNothingWritten():
            response = self.submit(self.reviewer_b)
        self.assertDetail(response, 409, "Review next")

    def test_bad_verdicts_are_refused_with_the_reason_and_nothing_is_written(self) -> None:
        def cite(**fields: Any) -> list[dict[str, Any]]:
            return [{"url": "https://example.org/", "stance": "supports", **fields}]

        cases = [
            (
                "unknown rating",
                {"rating": "pants_on_fire"},
                "rating",
                "Unknown rating 'pants_on_fire'",
                "mostly_true",
            ),
            ("missing rating", {"rating": None}, "rating", "may not be null"),
            (
                "bad confidence",
                {"confidence": "certain"},
                "confidence",
                '"certain" is not a valid choice',
            ),
            ("long rationale", {"rationale": "r" * 20001}, "rationale", "20000"),
            (
                "NUL in rationale",
                {"rationale": "Police\x00data."},
                "rationale",
                "Null characters are not allowed",
            ),
            ("NUL in a quote", {"citations": cite(quote="3\x00%")}, "citations", "Null"),
            (
                "javascript url",
                {"citations": cite(url="javascript:alert(1)")},
                "citations",
                "http and https",
            ),
            (
                "data url",
                {"citations": cite(url="data:text/html,<b>x</b>")},
                "citations",
                "http and https",
            ),
            (
                "ftp url",
                {"citations": cite(url="ftp://example.org/file")},
                "citations",
                "http and https",
            ),
            ("no host", {"citations": cite(url="https://")}, "citations", "host name"),
            (
                "unknown stance",
                {"citations": cite(stance="agrees")},
                "citations",
                '"agrees" is not a valid choice',
            ),
            (
                "no url nor source",
                {"citations": [{"stance": "supports"}]},
                "citations",
                "URL or the id",
            ),
            (
                "unknown source",
                {"citations": [{"source": 10**9, "stance": "supports"}]},
                "citations",
                "No source with id",
            ),
            ("citations not a list", {"citations": "https://example.org/"}, "citations", "list"),
            ("too many citations", {"citations": cite() * 51}, "citations", "50"),
        ]
        for label, fields, field, *reasons in cases:
            with self.subTest(label), self.assertNothingWritten():
                self.assertFieldError(self.submit(self.reviewer_a, **fields), field, *reasons)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_blind_review_hides_other_verdicts_until_the_caller_has_submitted(self) -> None:
        url = f"/claims/{self.claim.pk}/verdicts/"

        def reviewers(user: AbstractBaseUser, **params: Any) -> list[tuple[str, int]]:
            response = self.get(user, url, params)
            self.assertEqual(response.status_code, 200, response.content)
            return [(v["reviewer"], v["revision"]) for v in response.json()]

        self.submit(self.reviewer_a, rating="false")
        services.lease_next(reviewer=self.reviewer_b, project=self.project)
        self.assertEqual(reviewers(self.reviewer_a), [("reviewer_a", 1)])
        self.assertEqual(reviewers(self.reviewer_b), [])  # leased, not submitted yet
        self.assertEqual(reviewers(self.creator), [])
        self.assertEqual(reviewers(self.editor), [("reviewer_a", 1)])
        self.assertEqual(reviewers(self.admin), [("reviewer_a", 1)])

        # A revision before consensus is a new row; the old one is history.
        self.assertEqual(self.submit(self.reviewer_a, rating="mostly_false").status_code, 201)
        self.assertEqual(reviewers(self.reviewer_a), [("reviewer_a", 2)])
        self.assertEqual(
            reviewers(self.reviewer_a, history="true"), [("reviewer_a", 1), ("reviewer_a", 2)]
        )
        self.assertEqual(reviewers(self.reviewer_b, history="true"), [])
        self.assertEqual(reviewers(self.creator, history="1"), [])
        self.assertEqual(
            reviewers(self.editor, history="true"), [("reviewer_a", 1), ("reviewer_a", 2)]
        )

        self.assertEqual(self.submit(self.reviewer_b, rating="true").status_code, 201)
        self.assertEqual(reviewers(self.reviewer_b), [("reviewer_a", 2), ("reviewer_b", 1)])
        self.assertEqual(len(reviewers(self.reviewer_b, history="true")), 3)
        self.assertEqual(reviewers(self.reviewer_c), [])  # never reviewed it
        self.assertEqual(reviewers(self.creator), [])

    def test_verdicts_cannot_be_revised_once_consensus_is_recorded(self) -> None:
        self.submit(self.reviewer_a, rating="false")
        judge(self.claim, self.reviewer_b, "false")
        with self.assertNothingWritten():
            response = self.submit(self.reviewer_a, rating="true")
        self.assertDetail(response, 409, "Consensus has been recorded")


# --- consensus, adjudication, publishing, withdrawal -------------------------------------------


class ReviewOutcomeApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.disputed = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.disputed, cls.reviewer_a, "true")
        judge(cls.disputed, cls.reviewer_b, "false")
        cls.resolved = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        judge(cls.resolved, cls.reviewer_a, "mostly_true")
        judge(cls.resolved, cls.reviewer_b, "mostly_true")
        cls.open = make_claim(document=cls.document, actor=cls.creator, exact="Others disagree")

    def claim_url(self, claim: Claim, action: str = "") -> str:
        return f"/claims/{claim.pk}/{action + '/' if action else ''}"

    def test_an_agreed_claim_is_resolved_with_a_unanimous_consensus(self) -> None:
        response = self.get(self.reviewer_c, self.claim_url(self.resolved, "consensus"))
        self.assertEqual(response.status_code, 200)
        [record] = response.json()
        self.assertEqual(set(record), CONSENSUS_FIELDS)
        self.assertEqual(
            {
                k: record[k]
                for k in ("sequence", "rating", "method", "agreement", "decided_by", "is_current")
            },
            {
                "sequence": 1,
                "rating": "mostly_true",
                "method": "unanimous",
                "agreement": 1.0,
                "decided_by": None,
                "is_current": True,
            },
        )
        claim = self.get(self.reviewer_c, self.claim_url(self.resolved)).json()
        self.assertEqual(claim["status"], "resolved")
        self.assertEqual(claim["consensus"]["rating"], "mostly_true")

    def test_an_editor_adjudicates_publishes_and_reopens(self) -> None:
        self.assertEqual(
            self.get(self.editor, self.claim_url(self.disputed, "consensus")).json(), []
        )
        response = self.post(
            self.editor,
            self.claim_url(self.disputed, "adjudicate"),
            {"rating": "half_true", "note": "Both readings defensible; the 20% is cherry-picked."},
        )
        self.assertEqual(response.status_code, 201, response.content)
        record = response.json()
        self.assertEqual(set(record), CONSENSUS_FIELDS)
        self.assertEqual(
            (record["method"], record["rating"], record["decided_by"], record["agreement"]),
            ("adjudicated", "half_true", "editor", 0.0),
        )
        detail = self.get(self.editor, self.claim_url(self.disputed))
        self.assertEqual(detail.json()["status"], "resolved")
        self.assertEqual(detail["ETag"], '"3"')

        published = self.post(self.editor, self.claim_url(self.disputed, "publish"))
        self.assertEqual(published.status_code, 200, published.content)
        self.assertEqual(published.json()["status"], "published")
        self.assertEqual(published.json()["consensus"]["method"], "adjudicated")
        self.assertEqual(published["ETag"], '"4"')

        reopened = self.post(
            self.admin, self.claim_url(self.disputed, "reopen"), {"note": "New police data."}
        )
        self.assertEqual(reopened.status_code, 200, reopened.content)
        self.assertEqual(reopened.json()["status"], "disputed")
        self.assertIsNone(reopened.json()["consensus"])
        history = self.get(self.editor, self.claim_url(self.disputed, "consensus")).json()
        self.assertEqual([(r["sequence"], r["is_current"]) for r in history], [(1, False)])
        again = self.post(
            self.editor,
            self.claim_url(self.disputed, "adjudicate"),
            {"rating": "false", "note": "n"},
        )
        self.assertEqual(again.json()["sequence"], 2)

    def test_withdrawal_by_the_creator_before_any_verdict(self) -> None:
        services.lease_next(reviewer=self.reviewer_c, project=self.project)
        response = self.post(
            self.creator, self.claim_url(self.open, "withdraw"), {"reason": "Duplicate"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["status"], "withdrawn")
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_c, claim=self.open).state,
            AssignmentState.RELEASED,
        )
        queue = self.post(self.reviewer_a, "/queue/next/", {"project": self.project.pk})
        self.assertEqual(queue.status_code, 204)

    def test_the_creator_cannot_withdraw_after_a_verdict(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.creator, self.claim_url(self.resolved, "withdraw"), {"reason": "x"}
            )
        self.assertDetail(response, 403, "before any verdict")

    def test_bad_outcome_requests_are_refused_and_nothing_is_written(self) -> None:
        cases = [
            (
                "adjudicate",
                self.disputed,
                {"rating": "nope", "note": "n"},
                "rating",
                "Unknown rating 'nope'",
            ),
            (
                "adjudicate",
                self.disputed,
                {"rating": "false", "note": ""},
                "note",
                "may not be blank",
            ),
            ("adjudicate", self.disputed, {"rating": "false"}, "note", "required"),
            ("adjudicate", self.disputed, {"note": "n"}, "rating", "required"),
            ("reopen", self.resolved, {"note": ""}, "note", "may not be blank"),
            ("reopen", self.resolved, {}, "note", "required"),
            ("withdraw", self.open, {"reason": ""}, "reason", "may not be blank"),
            ("withdraw", self.open, {"reason": "r" * 2001}, "reason", "2000"),
        ]
        for action, claim, body, field, reason in cases:
            with self.subTest(action=action, body=body), self.assertNothingWritten():
                response = self.post(self.editor, self.claim_url(claim, action), body)
                self.assertFieldError(response, field, reason)

    def test_actions_in_the_wrong_state_are_a_409_and_nothing_is_written(self) -> None:
        cases = [
            ("adjudicate", self.resolved, {"rating": "false", "note": "n"}, "Only disputed"),
            ("adjudicate", self.open, {"rating": "false", "note": "n"}, "Only disputed"),
            ("reopen", self.open, {"note": "n"}, "Only resolved or published"),
            ("publish", self.disputed, None, "Only resolved"),
            ("publish", self.open, None, "Only resolved"),
        ]
        for action, claim, body, reason in cases:
            with self.subTest(action=action, claim=claim.status), self.assertNothingWritten():
                self.assertDetail(
                    self.post(self.editor, self.claim_url(claim, action), body), 409, reason
                )
        self.post(self.editor, self.claim_url(self.open, "withdraw"), {"reason": "dup"})
        with self.assertNothingWritten():
            response = self.post(
                self.editor, self.claim_url(self.open, "withdraw"), {"reason": "dup"}
            )
        self.assertDetail(response, 409, "withdrawn")


# --- exports ---------------------------------------------------------------------------------


class ExportApiTests(ApiTestCase):
    """The export endpoints through the API: media types, shapes and blind review.
    The formats themselves are tested in ``test_export.py``."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.resolved = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.resolved, cls.reviewer_a, "false")
        judge(cls.resolved, cls.reviewer_b, "false")
        cls.open = make_claim(document=cls.document, actor=cls.creator, exact="record low of 3.1%")
        judge(cls.open, cls.reviewer_a, "true")  # one of two verdicts: still in review

    def export(self, user: AbstractBaseUser, fmt: str | None = None) -> Response:
        params = {} if fmt is None else {"format": fmt}
        return self.get(user, f"/documents/{self.document.pk}/export/", params)

    def verdicts_by_claim(self, user: AbstractBaseUser) -> dict[int, list[str]]:
        body = self.export(user, "json").json()
        return {c["id"]: [v["reviewer"] for v in c["verdicts"]] for c in body["claims"]}

    def test_the_native_export_is_the_default_and_holds_the_text(self) -> None:
        response = self.export(self.editor)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/json")
        body = response.json()
        self.assertEqual(body["schema"], "workbench-export/1")
        self.assertEqual(body["document"]["text"], SAMPLE_TEXT)
        self.assertEqual([c["id"] for c in body["claims"]], [self.resolved.pk, self.open.pk])

    def test_the_json_ld_formats_have_their_media_types(self) -> None:
        for fmt, media_type in [
            ("claimreview", "application/ld+json"),
            ("webannotation", 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'),
        ]:
            with self.subTest(fmt):
                response = self.export(self.reviewer_c, fmt)
                self.assertEqual(response.status_code, 200, response.content)
                self.assertEqual(response["Content-Type"], media_type)
                self.assertIn(f"-{fmt}.json", response["Content-Disposition"])
                self.assertIsNotNone(response.json())

    def test_the_native_export_obeys_blind_review(self) -> None:
        self.assertEqual(
            self.verdicts_by_claim(self.editor),
            {self.resolved.pk: ["reviewer_a", "reviewer_b"], self.open.pk: ["reviewer_a"]},
        )
        self.assertEqual(
            self.verdicts_by_claim(self.reviewer_b),
            {self.resolved.pk: ["reviewer_a", "reviewer_b"], self.open.pk: []},
        )
        self.assertEqual(
            self.verdicts_by_claim(self.reviewer_c), {self.resolved.pk: [], self.open.pk: []}
        )

    def test_the_project_export_streams_one_json_line_per_claim(self) -> None:
        response = self.get(self.reviewer_c, f"/projects/{self.project.pk}/export/")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertEqual(response["Content-Type"], "application/x-ndjson")
        lines = b"".join(response.streaming_content).decode().splitlines()
        self.assertEqual(len(lines), 2)
        rows = [json.loads(line) for line in lines]
        self.assertEqual({row["id"] for row in rows}, {self.resolved.pk, self.open.pk})

    def test_an_unknown_format_is_a_400(self) -> None:
        self.assertFieldError(self.export(self.editor, "csv"), "format", "json")
        response = self.get(self.editor, f"/projects/{self.project.pk}/export/", {"format": "json"})
        self.assertFieldError(response, "format", "jsonl")


# --- bodies that are not what a write endpoint reads -----------------------------------------


class MalformedBodyTests(ApiTestCase):
    """Every endpoint that reads a body refuses broken JSON, the wrong media type and a
    JSON value of the wrong kind, and writes nothing."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def endpoints(self) -> list[tuple[str, str, AbstractBaseUser | None, dict[str, str]]]:
        p, c = self.project.pk, self.claim.pk
        return [
            ("POST", "/auth/token/", None, {}),
            ("POST", "/projects/", self.admin, {}),
            ("PATCH", f"/projects/{p}/", self.admin, {}),
            ("POST", f"/projects/{p}/members/", self.admin, {}),
            ("POST", "/documents/", self.editor, {}),
            ("POST", "/claims/", self.reviewer_a, {}),
            ("PATCH", f"/claims/{c}/", self.creator, {"HTTP_IF_MATCH": '"1"'}),
            ("POST", f"/claims/{c}/skip/", self.reviewer_a, {}),
            ("POST", f"/claims/{c}/verdicts/", self.reviewer_a, {}),
            ("POST", f"/claims/{c}/adjudicate/", self.editor, {}),
            ("POST", f"/claims/{c}/reopen/", self.editor, {}),
            ("POST", f"/claims/{c}/withdraw/", self.editor, {}),
            ("POST", "/queue/next/", self.reviewer_a, {}),
        ]

    def send(self, method: str, path: str, user: Any, extra: dict[str, str], **kw: Any) -> Any:
        return self.client_for(user).generic(method, API + path, **kw, **extra)

    def test_broken_json_is_a_400(self) -> None:
        for method, path, user, extra in self.endpoints():
            with self.subTest(method=method, path=path), self.assertNothingWritten():
                response = self.send(
                    method, path, user, extra, data='{"oops', content_type="application/json"
                )
                self.assertDetail(response, 400, "JSON parse error")

    def test_form_encoded_bodies_are_a_415(self) -> None:
        for method, path, user, extra in self.endpoints():
            with self.subTest(method=method, path=path), self.assertNothingWritten():
                response = self.send(
                    method,
                    path,
                    user,
                    extra,
                    data="rating=true",
                    content_type="application/x-www-form-urlencoded",
                )
                self.assertDetail(response, 415, "Unsupported media type")

    def test_a_json_value_that_is_not_an_object_is_a_400(self) -> None:
        for method, path, user, extra in self.endpoints():
            if path == "/documents/":
                continue  # a list is the bulk form there; covered by DocumentApiTests
            for body in ("[1, 2]", '"text"', "42", "null"):
                with (
                    self.subTest(method=method, path=path, body=body),
                    self.assertNothingWritten(),
                ):
                    response = self.send(
                        method, path, user, extra, data=body, content_type="application/json"
                    )
                    self.assertEqual(response.status_code, 400, response.content)
                    self.assertIsInstance(response.json(), dict)


# --- pagination and query counts ------------------------------------------------------------


class CursorPaginationTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for i in range(6):
            document = make_document(
                project=cls.project, actor=cls.editor, text=f"Paged text {i} says things."
            )
            make_claim(document=document, actor=cls.creator, exact="says things")

    def walk(self, path: str, page_size: int) -> list[int]:
        ids: list[int] = []
        url: str | None = f"{API}{path}?page_size={page_size}"
        client = self.client_for(self.reviewer_a)
        pages = 0
        while url:
            response = client.get(url)
            self.assertEqual(response.status_code, 200, response.content)
            body = response.json()
            self.assertEqual(set(body), {"next", "previous", "results"})
            self.assertLessEqual(len(body["results"]), page_size)
            ids += [row["id"] for row in body["results"]]
            url = body["next"]
            pages += 1
            self.assertLess(pages, 20)
        return ids

    def test_documents_page_by_cursor_without_duplicates(self) -> None:
        ids = self.walk("/documents/", 2)
        self.assertEqual(
            ids, sorted(Document.objects.filter(project=self.project).values_list("id", flat=True))
        )
        self.assertEqual(len(ids), 7)

    def test_claims_page_by_cursor_without_duplicates(self) -> None:
        ids = self.walk("/claims/", 4)
        self.assertEqual(ids, sorted(Claim.objects.values_list("id", flat=True)))
        self.assertEqual(len(ids), 6)

    def test_next_links_keep_the_filters(self) -> None:
        first = self.get(
            self.reviewer_a, "/claims/", {"page_size": 1, "status": "in_review"}
        ).json()
        self.assertIn("status=in_review", first["next"])
        self.assertIsNone(first["previous"])
        second = self.client_for(self.reviewer_a).get(first["next"]).json()
        self.assertIsNotNone(second["previous"])

    def test_an_invalid_cursor_is_a_404(self) -> None:
        response = self.get(self.reviewer_a, "/claims/", {"cursor": "bogus"})
        self.assertDetail(response, 404, "Invalid cursor")


class ListQueryCountTests(ApiTestCase):
    """The list endpoints cost the same number of queries for 1 and for 20 rows."""

    CLAIM_LIST_QUERIES = 3  # token + user, claims page, current consensus prefetch
    DOCUMENT_LIST_QUERIES = 2  # token + user, documents page

    def count(self, path: str) -> tuple[int, int]:
        client = self.client_for(self.reviewer_c)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}{path}")
        self.assertEqual(response.status_code, 200)
        return len(queries), len(response.json()["results"])

    def add_claims(self, n: int, *, resolved: int) -> None:
        """``n`` claims on a new document, the first ``resolved`` of them with a consensus
        (judged as they are created: the queue hands out the oldest eligible claim)."""
        document = make_document(
            project=self.project, actor=self.editor, text=f"Claims batch {n}: {'x' * 40}"
        )
        for i in range(n):
            claim = make_claim(document=document, actor=self.creator, start=0, end=5 + i)
            if i < resolved:
                judge(claim, self.reviewer_a, "false")
                judge(claim, self.reviewer_b, "mostly_false" if i % 2 else "false")

    def test_the_claim_list_has_a_constant_query_count(self) -> None:
        self.add_claims(1, resolved=1)
        with self.assertNumQueries(self.CLAIM_LIST_QUERIES):
            self.client_for(self.reviewer_c).get(f"{API}/claims/")
        one = self.count("/claims/")
        self.add_claims(19, resolved=6)
        many = self.count("/claims/")
        self.assertEqual((one[1], many[1]), (1, 20))
        self.assertEqual(one[0], many[0])
        with self.assertNumQueries(self.CLAIM_LIST_QUERIES):
            self.client_for(self.reviewer_c).get(f"{API}/claims/")

    def test_the_document_list_has_a_constant_query_count(self) -> None:
        one = self.count("/documents/")
        for i in range(19):
            make_document(project=self.project, actor=self.editor, text=f"Document number {i}.")
        many = self.count("/documents/")
        self.assertEqual((one[1], many[1]), (1, 20))
        self.assertEqual(one[0], many[0])
        with self.assertNumQueries(self.DOCUMENT_LIST_QUERIES):
            self.client_for(self.reviewer_c).get(f"{API}/documents/")
