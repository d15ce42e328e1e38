"""The ORM reads whose good plan depends on their values are never prepared statements
(``dbcursor.unprepared``; PostgreSQL): the claims list filtered by status, a user's
notifications (API and page) and their unread count, the documents list, the claims a
live update names. PostgreSQL would otherwise keep a
generic plan for them after a few runs on a connection, costed for an average project or
user, and sort a big one's rows (bench/README.md, "Issue 20, round 16")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from annotations import access, dbcursor, selectors, services
from annotations.models import Claim
from tests.api.base import ApiTestCase
from tests.factories import make_claim

RUNS = 6  # past psycopg's threshold and PostgreSQL's five custom plans


@pytest.mark.postgres("prepared statements (pg_prepared_statements)")
class UnpreparedReadTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for n in range(3):
            claim = make_claim(
                document=cls.document, actor=cls.creator, start=10 * n, end=10 * n + 5
            )
            services.notify_assigned(
                claim=claim, reviewer_ids=[cls.reviewer_a.pk], actor=cls.editor
            )

    def setUp(self) -> None:
        connection.ensure_connection()
        raw = connection.connection
        if raw.prepare_threshold is None or not isinstance(raw.cursor(), dbcursor.Cursor):
            pytest.skip(reason="no prepared statements: DB_PREPARE_THRESHOLD=-1 or client binding")
        raw.execute("DEALLOCATE ALL")  # psycopg forgets its own record of them too

    def prepared(self, table: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall() if f'FROM "{table}"' in row[0]]

    def repeat(self, call: Callable[[], object]) -> None:
        for _ in range(RUNS):
            call()

    def test_the_claims_list_by_status_is_not_prepared(self) -> None:
        path = f"/claims/?project={self.project.pk}&status=in_review"
        self.repeat(lambda: self.assertEqual(self.get(self.editor, path).status_code, 200))
        self.assertEqual(self.prepared("annotations_claim"), [])
        # The same read outside the mark is prepared: what the mark prevents.
        self.repeat(lambda: list(Claim.objects.filter(project=self.project, status="in_review")))
        self.assertEqual(len(self.prepared("annotations_claim")), 1)

    def test_notifications_are_not_prepared(self) -> None:
        self.client.force_login(self.reviewer_a)

        def read() -> None:
            self.assertEqual(len(self.get(self.reviewer_a, "/notifications/").json()["results"]), 3)
            self.assertEqual(self.client.get("/notifications/").status_code, 200)
            self.assertEqual(selectors.notifications_unread_count(user=self.reviewer_a), 3)

        self.repeat(read)
        self.assertEqual(self.prepared("annotations_notification"), [])

    def test_the_documents_list_is_not_prepared(self) -> None:
        path = f"/documents/?project={self.project.pk}"
        self.repeat(lambda: self.assertEqual(self.get(self.editor, path).status_code, 200))
        self.assertEqual(self.prepared("annotations_document"), [])

    def test_the_claims_a_live_update_names_are_not_prepared(self) -> None:
        membership = access.membership_get(user=self.editor, project_id=self.project.pk)
        assert membership is not None

        def changes() -> None:
            found, _cursor = selectors.live_changes(
                user=self.editor, membership=membership, after=0
            )
            self.assertTrue(found)

        self.repeat(changes)
        self.assertEqual(self.prepared("annotations_claim"), [])
        self.assertNotEqual(self.prepared("annotations_event"), [], "the events' read is")
