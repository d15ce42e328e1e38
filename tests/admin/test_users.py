"""Deleting a user in the auth admin removes their memberships through the members
service: the last-admin rule holds and every removal is recorded."""

from __future__ import annotations

from django.urls import reverse

from annotations import services
from annotations.models import Event, Membership, Role
from tests.admin.helpers import AdminTestCase


class AdminUserDeleteTests(AdminTestCase):
    """Deleting a user in the auth admin removes their memberships through the members
    service: the last-admin rule holds and every removal is recorded."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # ``editor`` becomes Desk's only admin; ``admin`` (its creator) a reviewer.
        services.member_add(project=cls.project, user=cls.editor, role=Role.ADMIN, actor=None)
        services.member_add(project=cls.project, user=cls.admin, role=Role.REVIEWER, actor=None)

    def _user_url(self, view: str, *args: object) -> str:
        return reverse(f"admin:auth_user_{view}", args=args)

    def test_deleting_a_projects_last_admin_is_refused(self) -> None:
        url = self._user_url("delete", self.editor.pk)
        page = self.client.get(url)
        self.assertContains(page, "Cannot delete user")
        self.assertContains(page, "Desk: A project needs at least one admin.")
        events = Event.objects.count()
        response = self.client.post(url, {"post": "yes"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A project needs at least one admin.")
        self.assertTrue(type(self.editor).objects.filter(pk=self.editor.pk).exists())
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.editor).role, Role.ADMIN
        )
        self.assertEqual(Event.objects.count(), events)

    def test_bulk_deleting_a_last_admin_is_refused_for_all(self) -> None:
        events = Event.objects.count()
        response = self.client.post(
            self._user_url("changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [self.editor.pk, self.reviewer_c.pk],
                "post": "yes",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A project needs at least one admin.")
        self.assertEqual(
            type(self.editor).objects.filter(pk__in=[self.editor.pk, self.reviewer_c.pk]).count(),
            2,
        )
        self.assertEqual(Event.objects.count(), events)

    def test_deleting_a_member_records_the_removal(self) -> None:
        membership = Membership.objects.get(project=self.project, user=self.reviewer_c)
        response = self.client.post(self._user_url("delete", self.reviewer_c.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(type(self.reviewer_c).objects.filter(pk=self.reviewer_c.pk).exists())
        event = Event.objects.get(verb="member.remove", object_id=membership.pk)
        self.assertEqual(
            (event.actor, event.project_id, event.before),
            (self.root, self.project.pk, {"user": "reviewer_c", "role": "reviewer"}),
        )

    def test_bulk_deleting_members_records_each_removal(self) -> None:
        services.member_add(
            project=self.other_project, user=self.reviewer_b, role=Role.EDITOR, actor=None
        )
        users = [self.reviewer_b.pk, self.reviewer_c.pk]
        memberships = set(Membership.objects.filter(user__in=users).values_list("pk", flat=True))
        self.assertEqual(len(memberships), 3)
        response = self.client.post(
            self._user_url("changelist"),
            {"action": "delete_selected", "_selected_action": users, "post": "yes"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(type(self.reviewer_b).objects.filter(pk__in=users).exists())
        self.assertEqual(
            set(
                Event.objects.filter(verb="member.remove", actor=self.root).values_list(
                    "object_id", flat=True
                )
            ),
            memberships,
        )

    def test_deleting_an_admin_while_another_remains_works(self) -> None:
        services.member_add(project=self.project, user=self.reviewer_a, role=Role.ADMIN, actor=None)
        response = self.client.post(self._user_url("delete", self.editor.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            list(
                Membership.objects.filter(project=self.project, role=Role.ADMIN).values_list(
                    "user", flat=True
                )
            ),
            [self.reviewer_a.pk],
        )
        self.assertTrue(Event.objects.filter(verb="member.remove", before__user="editor"))

    def test_a_member_cannot_delete_their_own_account(self) -> None:
        services.member_add(
            project=self.other_project, user=self.root, role=Role.REVIEWER, actor=None
        )
        page = self.client.get(self._user_url("delete", self.root.pk))
        self.assertContains(page, "Your own account")
        response = self.client.post(self._user_url("delete", self.root.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(type(self.root).objects.filter(pk=self.root.pk).exists())
