"""Server errors answer cleanly: 503 + Retry-After when the database is out of reach, a
plain 500 otherwise, JSON on the API and a static page elsewhere; never a traceback, and a
write cut off by the database leaves nothing behind.

The database failure is simulated in-process (a service or selector raising what psycopg
raises through Django when PostgreSQL restarts); ``bench/load.py --fault pg-restart``
restarts the real server under load.
"""

from __future__ import annotations

import os
import sqlite3
import unittest
from unittest import mock

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from annotations import services
from annotations.api.serializers import VerdictSerializer
from annotations.core import export_mapping
from annotations.models import Verdict
from tests.api.base import API, ApiTestCase
from tests.factories import judge, make_claim
from workbench import errors
from workbench.errors import database_unavailable

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
            mock.patch("annotations.services._base.events_record", side_effect=RESTART),
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
        with mock.patch("annotations.access.project_get_for_user", side_effect=dead):
            response = self.api_client(self.reviewer_a).get(f"{API}/projects/{self.project.pk}/")
        self.assertClean503(response, json=True)

    def test_a_page_answers_a_static_503_page(self) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(self.reviewer_a)
        with mock.patch("annotations.access.document_get_for_user", side_effect=RESTART):
            response = client.get(f"/documents/{self.document.pk}/")
        self.assertClean503(response, json=False)

    def test_other_errors_stay_a_plain_500_without_details(self) -> None:
        boom = RuntimeError("secret detail")
        with mock.patch("annotations.access.project_get_for_user", side_effect=boom):
            response = self.api_client(self.reviewer_a).get(f"{API}/projects/{self.project.pk}/")
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response.json(), {"detail": "Server error. It has been logged."})
        self.assertNotIn("Retry-After", response)
        client = Client(raise_request_exception=False)
        client.force_login(self.reviewer_a)
        with mock.patch("annotations.access.document_get_for_user", side_effect=boom):
            response = client.get(f"/documents/{self.document.pk}/")
        self.assertEqual(response.status_code, 500)
        self.assertIn("Something went wrong", response.content.decode())
        self.assertNotIn("secret detail", response.content.decode())


@pytest.mark.postgres("server-side timeouts are PostgreSQL settings")
@pytest.mark.django_db
def test_every_connection_carries_statement_and_idle_transaction_timeouts() -> None:
    """A lost client or a stuck query cannot hold locks or a snapshot for long: the
    settings module passes both timeouts on every connection (DB_*_TIMEOUT_MS)."""
    expected = {
        "statement_timeout": int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "30000")),
        "idle_in_transaction_session_timeout": int(
            os.environ.get("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "60000")
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting::int FROM pg_settings WHERE name = ANY(%s)", [list(expected)]
        )
        assert dict(cursor.fetchall()) == expected  # in ms, as the settings pass them
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == ("on" if os.environ.get("DB_JIT") == "1" else "off")
    assert all(value > 0 for value in expected.values())


class CommitThenAnswerTests(ApiTestCase):
    def test_a_submitted_verdict_becomes_its_answer_without_the_database(self) -> None:
        """Everything the 201 shows is loaded inside the write's transaction: an outage
        after the commit cannot turn a saved verdict into an error answer."""
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        verdict = judge(
            claim,
            self.reviewer_a,
            "false",
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


def test_a_client_leaving_mid_export_closes_the_row_stream_and_is_logged() -> None:
    """The server closes the response's generator when the client goes away; the rows
    generator (database cursors, keyset chunks) is closed with it, and the log says so —
    bench/load.py reads that line to prove the server saw the disconnect."""
    closed: list[bool] = []

    def rows():
        try:
            for n in range(1_000):
                yield {"n": n}
        finally:
            closed.append(True)

    chunks = export_mapping.jsonl_chunks(rows(), lines=10, label="export of project 7")
    assert next(chunks).count("\n") == 10
    assert next(chunks).count("\n") == 10
    with unittest.TestCase().assertLogs("annotations.export", "WARNING") as logs:
        chunks.close()
    assert closed == [True]
    assert logs.output == [
        "WARNING:annotations.export:export of project 7 stopped by the client after 20 lines"
    ]


def _wrapped(cause: BaseException) -> OperationalError:
    """What Django raises for a driver error: its own class, the driver's as the cause."""
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("cause", "transient"),
    [
        (
            psycopg.errors.lookup("57P01")("terminating connection due to administrator command"),
            True,
        ),
        (psycopg.errors.lookup("57014")("canceling statement due to statement timeout"), True),
        (psycopg.errors.lookup("53300")("too many connections"), True),
        (psycopg.errors.lookup("08006")("connection failure"), True),
        (psycopg.errors.lookup("40P01")("deadlock detected"), True),
        (psycopg.OperationalError("connection failed: Connection refused"), True),
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("no such table: annotations_claim"), False),
        (psycopg.errors.lookup("42P01")('relation "annotations_claim" does not exist'), False),
    ],
    ids=lambda v: getattr(v, "sqlstate", None) or str(v)[:24],
)
def test_only_transient_database_errors_are_a_503(cause: BaseException, transient: bool) -> None:
    # A missing migration must not answer "retry shortly" forever.
    assert database_unavailable(_wrapped(cause)) is transient
    assert database_unavailable(InterfaceError("connection already closed")) is True
    assert database_unavailable(RuntimeError("x")) is False


class UnroutedPathTests(ApiTestCase):
    """A path no route matches (``handler404``): the API's error shape on API paths, the
    same as an object the API does not find, whoever asks; a page elsewhere."""

    def test_an_api_path_no_route_matches_answers_json(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, start=0, end=20)
        client = self.client_for(self.reviewer_a)
        missing = client.get(f"{API}/claims/{claim.pk + 1000}/")
        self.assertEqual(missing.status_code, 404)
        for path in (f"{API}/claims/abc/", f"{API}/no-such-thing/", f"{API}/claims/1x/verdicts/"):
            for response in (client.get(path), APIClient().get(path)):
                self.assertEqual(response.status_code, 404, path)
                self.assertEqual(response["Content-Type"], "application/json", path)
                self.assertEqual(response.content, missing.content, path)

    def test_routed_tells_an_endpoint_from_the_last_api_route(self) -> None:
        """``errors.routed``, which the security tests ask whether an endpoint exists."""
        for path in (f"{API}/claims/1/", f"{API}/queue/next/", "/accounts/login/", "/api/docs/"):
            self.assertTrue(errors.routed(path), path)
        for path in (f"{API}/claims/abc/", f"{API}/claims/1", "/api/", "/api", "/nope/"):
            self.assertFalse(errors.routed(path), path)

    def test_also_under_debug(self) -> None:
        with override_settings(DEBUG=True):
            for path in (f"{API}/claims/abc/", f"{API}/no-such-thing/", "/api/", "/api"):
                response = APIClient().get(path)
                self.assertEqual(response.status_code, 404, path)
                self.assertEqual(response.json(), {"detail": "Not found."}, path)

    def test_a_write_without_the_trailing_slash_is_a_404_naming_the_path(self) -> None:
        """Not a redirect (a client following it would GET the list, its POST's body lost,
        and read the 200 as success), not a CSRF refusal, and nothing written."""
        claim = make_claim(document=self.document, actor=self.creator, start=0, end=20)
        services.lease_next(reviewer=self.reviewer_a, project=self.project)
        path = f"{API}/claims/{claim.pk}/verdicts"
        body = {"rating": "true", "confidence": "high"}
        for debug in (False, True):
            with override_settings(DEBUG=debug):
                for client in (self.client_for(self.reviewer_a), APIClient()):
                    response = client.post(path, body, format="json")
                    self.assertEqual(response.status_code, 404, (debug, response.content[:200]))
                    self.assertEqual(
                        response.json(),
                        {"detail": f"Not found. API paths end with a slash: {path}/"},
                    )
        self.assertFalse(Verdict.objects.exists())
        self.assertEqual(
            self.client_for(self.reviewer_a).post(path + "/", body, format="json").status_code,
            201,
        )

    def test_a_page_path_no_route_matches_answers_a_page(self) -> None:
        response = Client().get("/no-such-page/")
        self.assertEqual(response.status_code, 404)
        self.assertIn("text/html", response["Content-Type"])
        self.assertNotIn(b'"detail"', response.content)
