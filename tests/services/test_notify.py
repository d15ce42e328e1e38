"""services.notifications.notify: who is told, once, and what it answers (issue 20: one
statement on PostgreSQL for the members among the recipients and their notices)."""

from __future__ import annotations

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from annotations.models import Notification, NotificationKind
from annotations.services import notifications
from tests.factories import Personas, make_claim


class NotifyTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, start=0, end=20)

    def notify(self, *recipients, key: str = "event:1") -> int:
        return notifications.notify(
            kind=NotificationKind.DECIDED,
            key=key,
            project_id=self.project.pk,
            recipient_ids=[user.pk for user in recipients],
            actor=self.editor,
            claim=self.claim,
        )

    def told(self) -> list[tuple[int, str, str, int | None]]:
        return list(
            Notification.objects.order_by("id").values_list(
                "recipient_id", "kind", "key", "actor_id"
            )
        )

    def test_members_only_never_the_actor_each_once(self) -> None:
        with (
            CaptureQueriesContext(connection) as context,
            self.captureOnCommitCallbacks() as mails,
        ):
            asked = self.notify(self.reviewer_b, self.outsider, self.editor, self.reviewer_a)
        self.assertEqual(asked, 2)
        # One statement on PostgreSQL (members and notices), two elsewhere.
        self.assertEqual(len(context), {"postgresql": 1}.get(connection.vendor, 2))
        self.assertEqual(len(mails), 1)
        expected = [
            (self.reviewer_a.pk, "decided", "event:1", self.editor.pk),
            (self.reviewer_b.pk, "decided", "event:1", self.editor.pk),
        ]
        self.assertEqual(self.told(), expected)
        # Told again of the same event: nobody is told twice, the members are still found.
        self.assertEqual(self.notify(self.reviewer_a, self.reviewer_b), 2)
        self.assertEqual(self.told(), expected)
        row = Notification.objects.get(recipient=self.reviewer_a)
        self.assertEqual(
            (row.project_id, row.claim_id, row.comment_id), (self.project.pk, self.claim.pk, None)
        )

    def test_no_member_among_them_writes_nothing_and_sends_nothing(self) -> None:
        with self.captureOnCommitCallbacks() as mails:
            self.assertEqual(self.notify(self.outsider), 0)
            self.assertEqual(self.notify(self.editor), 0)  # the actor alone
        self.assertEqual((self.told(), mails), ([], []))
