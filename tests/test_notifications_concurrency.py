"""Each event notifies each person once, under real concurrency (PostgreSQL only).

Writers of the same notice (a retried request racing its first attempt, two workers
sweeping leases at the same instant) insert against the unique (recipient, kind, key)
constraint with ``ignore_conflicts``: on PostgreSQL that is ``ON CONFLICT DO NOTHING``,
so the losers neither fail nor write a second row. The threads start together
(``run_together`` from the queue's concurrency tests), each on its own connection.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import TransactionTestCase, override_settings

from annotations import services
from annotations.models import Assignment, Notification, NotificationKind, Role
from annotations.services import notifications
from tests.factories import make_claim, make_document, make_member, make_project, make_user, take
from tests.test_queue_concurrency import run_together

THREADS = 8


@pytest.mark.postgres("concurrent inserts against a unique constraint")
class NotifyOnceConcurrencyTests(TransactionTestCase):
    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(creator=self.admin, name="Desk")
        self.editor = make_member(self.project, "editor", Role.EDITOR)
        self.creator = make_member(self.project, "creator", Role.REVIEWER)
        self.reviewer = make_member(self.project, "reviewer", Role.REVIEWER)
        document = make_document(project=self.project, actor=self.creator)
        self.claim = make_claim(document=document, actor=self.creator, exact=document.text[:12])

    def test_concurrent_writers_of_one_mention_notify_each_member_once(self) -> None:
        comment = services.comment_create(claim=self.claim, author=self.reviewer, body="first")

        def write() -> int:
            with transaction.atomic():
                return notifications.notify(
                    kind=NotificationKind.MENTIONED,
                    key=f"comment:{comment.pk}",
                    project_id=self.project.pk,
                    recipient_ids=[self.editor.pk, self.creator.pk, self.reviewer.pk],
                    actor=self.reviewer,
                    claim=self.claim,
                    comment=comment,
                )

        _, errors = run_together([write] * THREADS)
        self.assertEqual(errors, [None] * THREADS)
        rows = Notification.objects.filter(kind="mentioned", key=f"comment:{comment.pk}")
        self.assertEqual(
            sorted(rows.values_list("recipient__username", flat=True)), ["creator", "editor"]
        )

    def test_concurrent_comments_mentioning_one_member_notify_once_each(self) -> None:
        def post(index: int) -> object:
            return lambda: services.comment_create(
                claim=self.claim, author=self.reviewer, body=f"@editor @editor point {index}"
            )

        _, errors = run_together([post(i) for i in range(THREADS)])
        self.assertEqual(errors, [None] * THREADS)
        self.assertEqual(Notification.objects.filter(recipient=self.editor).count(), THREADS)
        self.assertEqual(
            Notification.objects.filter(recipient=self.editor).values("key").distinct().count(),
            THREADS,
        )

    @override_settings(LEASE_WARNING_MINUTES=10)
    def test_concurrent_sweeps_warn_each_lease_once(self) -> None:
        take(self.claim, self.reviewer)
        lease = Assignment.objects.get(reviewer=self.reviewer, state="leased")
        soon = lease.expires_at - dt.timedelta(minutes=3)
        _, errors = run_together([lambda: services.leases_expiring_notify(now=soon)] * THREADS)
        self.assertEqual(errors, [None] * THREADS)
        self.assertEqual(
            Notification.objects.filter(recipient=self.reviewer, kind="lease_expiring").count(), 1
        )
