"""What the API tests share: ``ApiTestCase`` (the personas with API tokens, a JSON client
per persona, the write-nothing and field-error assertions) and the JSON shapes of the
resources. Also used by ``tests/api/test_permissions.py``, ``tests/api/test_contract.py``
and ``tests/test_errors.py``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.test import TestCase
from knox.models import AuthToken
from rest_framework.response import Response
from rest_framework.test import APIClient

from annotations.models import (
    Assignment,
    Citation,
    Claim,
    Claimant,
    ClaimantName,
    Comment,
    Consensus,
    Document,
    Event,
    Invitation,
    Membership,
    Notification,
    NotificationSettings,
    Project,
    Publication,
    Rating,
    Reservation,
    Source,
    Verdict,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import Personas, api_token

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
    AuthToken,
    Invitation,
    WebhookEndpoint,
    WebhookDelivery,
    Publication,
    Claimant,
    ClaimantName,
    Reservation,
    Comment,
    Notification,
    NotificationSettings,
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
    "claim_version",
    "anchor_status",
    "anchor_revision",
    "created_by",
    "created_at",
    "updated_at",
    "consensus",
    "priority",
    "due_at",
    "overdue",
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
    "direction",
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
    "publishing_enabled",
    "triage_provider",
    "triage_url",
    "min_citations",
    "quote_required",
    "allowed_stances",
    "gold_rate",
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
    "claim_version",
    "post_reveal",
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
            cls.tokens[user.pk] = api_token(user)

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
            token = self.tokens.get(user.pk) or api_token(user)
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
