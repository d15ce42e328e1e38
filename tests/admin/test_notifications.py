"""The notifications' admin obeys blind review as the notices do: a staff user who created
a claim decided by the rule does not learn there which reviewer's verdict decided it."""

from __future__ import annotations

from annotations import services
from annotations.models import Notification
from tests.admin.helpers import AdminTestCase, admin_url, grant_view_permissions
from tests.factories import judge, make_claim


class NotificationAdminBlindReviewTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact=cls.document.text[:12]
        )
        judge(cls.claim, cls.reviewer_a, "true")
        judge(cls.claim, cls.reviewer_b, "true")
        services.notify_assigned(claim=cls.claim, reviewer_ids=[cls.creator.pk], actor=cls.editor)
        grant_view_permissions(cls.creator)

    def test_a_decided_notice_names_nobody_and_an_assignment_its_editor(self) -> None:
        decided = Notification.objects.get(recipient=self.creator, kind="decided")
        self.assertIn(decided.actor, (self.reviewer_a, self.reviewer_b))  # stored
        assigned = Notification.objects.get(recipient=self.creator, kind="assigned")
        self.client.force_login(self.creator)
        listing = self.client.get(admin_url(Notification, "changelist"))
        self.assertEqual(listing.status_code, 200)
        page = listing.content.decode()
        self.assertIn(admin_url(Notification, "change", decided.pk), page)
        self.assertIn(self.editor.username, page)  # the assignment names its editor
        detail = self.client.get(admin_url(Notification, "change", decided.pk))
        self.assertEqual(detail.status_code, 200)
        for response in (listing, detail):
            text = response.content.decode()
            for reviewer in (self.reviewer_a, self.reviewer_b):
                self.assertNotIn(f">{reviewer.username}<", text)
        detail = self.client.get(admin_url(Notification, "change", assigned.pk))
        self.assertIn(self.editor.username, detail.content.decode())
