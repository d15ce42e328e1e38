"""The shared cast of the security suite: two projects (tenants), a claim under blind
review with secrets in every field of the other reviewers' verdicts, and clients.

Secrets are marked with ``SECRET`` so a test can assert that no trace of them reaches a
caller who may not see them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from rest_framework.test import APIClient

from annotations import services
from annotations.models import Role
from tests.factories import (
    Personas,
    api_token,
    judge,
    make_claim,
    make_document,
    make_member,
    take,
)

API = "/api/v1"
B_RATIONALE = "SECRET-B-RATIONALE the figure is wrong"
B_QUOTE = "SECRET-B-QUOTE twelve percent"
B_SOURCE_URL = "https://secret-b.example.org/evidence"
C_RATIONALE = "SECRET-C-RATIONALE"
OTHER_TITLE = "SECRET-OTHER-PROJECT document"
OTHER_STATEMENT = "SECRET-OTHER-PROJECT claim"
OTHER_SOURCE_URL = "https://secret-other.example.org/cited"
OTHER_RATIONALE = "SECRET-OTHER-PROJECT rationale"


class World(Personas):
    """``make_world()`` in ``setUpTestData``.

    * project ``Desk`` (``required_reviews=3``): ``blind`` is leased by ``reviewer_a``, who
      has not judged it, and judged by ``reviewer_b`` and ``reviewer_c`` with secrets;
    * ``other_project`` (the outsider's tenant): a document, a claim judged by ``q_reviewer``
      citing a source no member of Desk has seen;
    * ``token(user)`` a new API token (its secret) for each call.
    """

    @classmethod
    def make_world(cls) -> None:
        cls.make_personas(required_reviews=3)
        cls.blind = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        take(cls.blind, cls.reviewer_a)
        cls.b_verdict = judge(
            cls.blind,
            cls.reviewer_b,
            "false",
            rationale=B_RATIONALE,
            citations=[services.CitationInput(stance="refutes", url=B_SOURCE_URL, quote=B_QUOTE)],
        )
        cls.c_verdict = judge(cls.blind, cls.reviewer_c, "mostly_false", rationale=C_RATIONALE)
        cls.b_source = cls.b_verdict.citations.get().source
        # The other tenant.
        cls.q_creator = make_member(cls.other_project, "q_creator", Role.EDITOR)
        cls.q_reviewer = make_member(cls.other_project, "q_reviewer", Role.REVIEWER)
        services.project_update(project=cls.other_project, actor=cls.outsider, required_reviews=1)
        cls.other_document = make_document(
            project=cls.other_project,
            actor=cls.q_creator,
            title=OTHER_TITLE,
            text="Elsewhere the budget grew by 7% in a single year.",
        )
        cls.other_claim = make_claim(
            document=cls.other_document,
            actor=cls.q_creator,
            exact="budget grew by 7%",
            statement=OTHER_STATEMENT,
        )
        cls.other_verdict = judge(
            cls.other_claim,
            cls.q_reviewer,
            "true",
            rationale=OTHER_RATIONALE,
            citations=[services.CitationInput(stance="supports", url=OTHER_SOURCE_URL)],
        )
        cls.other_source = cls.other_verdict.citations.get().source
        cls.other_open = make_claim(
            document=cls.other_document, actor=cls.q_creator, exact="in a single year"
        )

    # --- clients -----------------------------------------------------------------------------

    @staticmethod
    def token(user: AbstractBaseUser) -> str:
        return api_token(user)

    def api(self, user: AbstractBaseUser | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.token(user)}")
        return client

    @staticmethod
    def browser(user: AbstractBaseUser | None = None, *, csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf)
        if user is not None:
            client.force_login(user)
        return client


def api_get(client: APIClient, path: str, **params: Any) -> Any:
    return client.get(f"{API}{path}", params or None)
