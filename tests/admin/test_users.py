"""The user admin: deleting a user removes their memberships through the members service
(the last-admin rule holds and every removal is recorded); "Sign out everywhere" revokes
the selected users' API tokens and ends their sessions through the tokens service."""

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


class AdminSignOutEverywhereTests(AdminTestCase):
    """The user admin's "Sign out everywhere" action: the selected users' API tokens are
    revoked and their sessions ended, through the service, for staff who may change users."""

    def _changelist(self) -> str:
        return reverse("admin:auth_user_changelist")

    def _sessions_of(self, user) -> int:
        from django.contrib.auth import SESSION_KEY
        from django.contrib.sessions.models import Session

        return sum(
            1 for s in Session.objects.all() if s.get_decoded().get(SESSION_KEY) == str(user.pk)
        )

    def _act(self, client, users) -> object:
        return client.post(
            self._changelist(),
            {"action": "sign_out_everywhere", "_selected_action": [u.pk for u in users]},
        )

    def test_it_revokes_tokens_and_ends_sessions_of_the_selected_users(self) -> None:
        from django.test import Client
        from knox.models import AuthToken

        browsers = {}
        for user in (self.reviewer_a, self.reviewer_b, self.reviewer_c):
            browsers[user.pk] = Client()
            browsers[user.pk].force_login(user)
            services.token_create(user=user)
        page = self.client.get(self._changelist())
        self.assertContains(page, "Sign out everywhere (revoke API tokens, end sessions)")

        response = self._act(self.client, [self.reviewer_a, self.reviewer_b])
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            list(AuthToken.objects.values_list("user", flat=True)), [self.reviewer_c.pk]
        )
        self.assertEqual(browsers[self.reviewer_a.pk].get("/").status_code, 302)
        self.assertEqual(browsers[self.reviewer_b.pk].get("/").status_code, 302)
        self.assertEqual(browsers[self.reviewer_c.pk].get("/").status_code, 200)
        events = Event.objects.filter(verb="user.sign_out_everywhere").order_by("object_id")
        self.assertEqual(
            [(e.actor, e.object_id) for e in events],
            [(self.root, self.reviewer_a.pk), (self.root, self.reviewer_b.pk)],
        )
        message = self.client.get(self._changelist())
        self.assertContains(message, "Signed 2 user(s) out everywhere: 2 API token(s) revoked")

    def test_acting_on_oneself_keeps_the_current_session(self) -> None:
        from django.test import Client

        elsewhere = Client()
        elsewhere.force_login(self.root)
        response = self._act(self.client, [self.root])
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.client.get(self._changelist()).status_code, 200)
        self.assertEqual(elsewhere.get(self._changelist()).status_code, 302)
        self.assertEqual(self._sessions_of(self.root), 1)

    def test_staff_who_may_not_change_users_cannot_use_it(self) -> None:
        from django.contrib.auth.models import Permission
        from django.test import Client
        from knox.models import AuthToken

        viewer = type(self.root).objects.create_user("viewer", password="pw-viewer", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
        client = Client()
        client.force_login(viewer)
        page = client.get(self._changelist())
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, "sign_out_everywhere")
        services.token_create(user=self.reviewer_a)
        self._act(client, [self.reviewer_a])
        self.assertEqual(AuthToken.objects.count(), 1)
        self.assertFalse(Event.objects.filter(verb="user.sign_out_everywhere").exists())

    def test_knox_token_admin_is_not_offered(self) -> None:
        from django.contrib import admin
        from knox.models import AuthToken

        self.assertFalse(admin.site.is_registered(AuthToken))
