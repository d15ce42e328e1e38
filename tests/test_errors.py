"""Server errors answer cleanly: 503 + Retry-After when the database is out of reach, a
plain 500 otherwise, JSON on the API and a static page elsewhere; never a traceback, and a
write cut off by the database leaves nothing behind.

The database failure is simulated in-process (a service or selector raising what psycopg
raises through Django when PostgreSQL restarts); ``bench/load.py --fault pg-restart``
restarts the real server under load.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

from annotations import services
from annotations.api.serializers import VerdictSerializer
from tests.factories import make_claim
from tests.test_api import API, ApiTestCase

RESTART = OperationalError("terminating connection due to administrator command")


class DatabaseUnavailableTests(ApiTestCase):
    def api_client(self, user) -> APIClient:
        client = self.client_for(user)
        client.raise_request_exception = False
        return client

    def assertClean503(self, response, *, json: bool) -> None:
        self.assertEqual(response.status_code, 503, response.content[:300])
        self.assertEqual(response["Retry-After"], "5")
        self.assertEqual(response["Cache-Control"], "no-store")
        body = response.content.decode()
        for leak in ("Traceback", "OperationalError", "administrator command", 'File "'):
            self.assertNotIn(leak, body)
        if json:
            self.assertEqual(response["Content-Type"], "application/json")
            self.assertIn("retry shortly", response.json()["detail"])
        else:
            self.assertIn("text/html", response["Content-Type"])
            self.assertIn("briefly unavailable", body)

    def test_a_verdict_cut_off_by_the_database_answers_503_and_writes_nothing(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        services.lease_next(reviewer=self.reviewer_a, project=self.project)
        body = {"rating": "false", "confidence": "high", "rationale": "No."}
        # The failure comes after the verdict row was inserted, inside the transaction.
        with (
            mock.patch("annotations.services.review.event_record", side_effect=RESTART),
            self.assertNothingWritten(),
        ):
            response = self.api_client(self.reviewer_a).post(
                f"{API}/claims/{claim.pk}/verdicts/", body, format="json"
            )
        self.assertClean503(response, json=True)
        # The lease survives, so the reviewer simply submits again once the database is back.
        response = self.api_client(self.reviewer_a).post(
            f"{API}/claims/{claim.pk}/verdicts/", body, format="json"
        )
        self.assertEqual(response.status_code, 201, response.content)

    def test_a_dead_connection_on_a_read_answers_503(self) -> None:
        dead = InterfaceError("connection already closed")
        with mock.patch("annotations.selectors.project_get_for_user", side_effect=dead):
            response = self.api_client(self.reviewer_a).get(f"{API}/projects/{self.project.pk}/")
        self.assertClean503(response, json=True)

    def test_a_page_answers_a_static_503_page(self) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(self.reviewer_a)
        with mock.patch("annotations.selectors.document_get_for_user", side_effect=RESTART):
            response = client.get(f"/documents/{self.document.pk}/")
        self.assertClean503(response, json=False)

    def test_other_errors_stay_a_plain_500_without_details(self) -> None:
        boom = RuntimeError("secret detail")
        with mock.patch("annotations.selectors.project_get_for_user", side_effect=boom):
            response = self.api_client(self.reviewer_a).get(f"{API}/projects/{self.project.pk}/")
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response.json(), {"detail": "Server error. It has been logged."})
        self.assertNotIn("Retry-After", response)
        client = Client(raise_request_exception=False)
        client.force_login(self.reviewer_a)
        with mock.patch("annotations.selectors.document_get_for_user", side_effect=boom):
            response = client.get(f"/documents/{self.document.pk}/")
        self.assertEqual(response.status_code, 500)
        self.assertIn("Something went wrong", response.content.decode())
        self.assertNotIn("secret detail", response.content.decode())


@pytest.mark.postgres("server-side timeouts are PostgreSQL settings")
@pytest.mark.django_db
def test_every_connection_carries_statement_and_idle_transaction_timeouts() -> None:
    """A lost client or a stuck query cannot hold locks or a snapshot for long: the
    settings module passes both timeouts on every connection (DB_*_TIMEOUT_MS)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "1min"


class CommitThenAnswerTests(ApiTestCase):
    def test_a_submitted_verdict_becomes_its_answer_without_the_database(self) -> None:
        """Everything the 201 shows is loaded inside the write's transaction: an outage
        after the commit cannot turn a saved verdict into an error answer."""
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        services.lease_next(reviewer=self.reviewer_a, project=self.project)
        verdict = services.verdict_submit(
            claim=claim,
            reviewer=self.reviewer_a,
            rating="false",
            confidence="high",
            citations=[
                services.CitationInput(stance="refutes", url="https://stats.example.org/a"),
                services.CitationInput(stance="context", url="https://stats.example.org/b"),
            ],
        )
        with self.assertNumQueries(0):
            data = VerdictSerializer(verdict).data
        self.assertEqual(
            [c["source"]["url"] for c in data["citations"]],
            ["https://stats.example.org/a", "https://stats.example.org/b"],
        )
