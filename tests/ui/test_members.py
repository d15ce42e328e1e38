"""The members page (project admins: members, invite, revoke) and the invitations page
(everybody: accept or decline), ``workbench/ui/members.py``."""

from __future__ import annotations

from django.test import TestCase
from django.urls import reverse

from annotations import services
from annotations.models import Event, Invitation, Membership, Role
from tests.factories import Personas, make_user


class MembersPageTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.stranger = make_user("stranger")
        cls.url = reverse("workbench:project-members", kwargs={"slug": cls.project.slug})

    def test_only_project_admins_reach_the_members_page(self) -> None:
        self.client.force_login(self.admin)
        self.assertEqual(self.client.get(self.url).status_code, 200)
        for user, status in ((self.editor, 403), (self.reviewer_a, 403), (self.outsider, 404)):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get(self.url).status_code, status)
                body = {"username": "stranger", "role": "editor"}
                self.assertEqual(self.client.post(self.url, body).status_code, status)
        self.assertFalse(Invitation.objects.exists())

    def test_the_dashboard_links_admins_to_it(self) -> None:
        self.client.force_login(self.admin)
        self.assertContains(self.client.get(self.project.get_absolute_url()), self.url)
        self.client.force_login(self.editor)
        self.assertNotContains(self.client.get(self.project.get_absolute_url()), self.url)

    def test_an_invitation_is_sent_alike_for_an_account_and_for_no_account(self) -> None:
        self.client.force_login(self.admin)
        pages = []
        for name in ("stranger", "nobody"):
            response = self.client.post(self.url, {"username": name, "role": "editor"}, follow=True)
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, f"Invitation sent to “{name}”")
            pages.append(response.content.decode())
        self.assertFalse(Membership.objects.filter(user=self.stranger).exists())
        # Both rows read the same: pending, with a revoke button.
        page = self.client.get(self.url).content.decode()
        for name in ("stranger", "nobody"):
            row = page[page.index(f'<th scope="row">{name}</th>') :]
            row = row[: row.index("</tr>")]
            self.assertIn("<td>Pending</td>", row)
            self.assertIn("Revoke", row)

    def test_a_refused_invitation_shows_the_form_again(self) -> None:
        self.client.force_login(self.admin)
        response = self.client.post(self.url, {"username": "  ", "role": "editor"})
        self.assertEqual(response.status_code, 422)
        self.assertFalse(Invitation.objects.exists())

    def test_an_admin_revokes_an_invitation(self) -> None:
        invitation = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="stranger", role=Role.REVIEWER
        )
        self.client.force_login(self.admin)
        revoke = reverse(
            "workbench:invitation-revoke", kwargs={"slug": self.project.slug, "pk": invitation.pk}
        )
        response = self.client.post(revoke, follow=True)
        self.assertContains(response, "revoked")
        self.assertEqual(Invitation.objects.get().status, "revoked")
        self.assertTrue(Event.objects.filter(verb="invitation.revoke").exists())
        # Nobody else revokes: an editor gets 403, another project's admin 404.
        other = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="nobody", role=Role.REVIEWER
        )
        url = reverse(
            "workbench:invitation-revoke", kwargs={"slug": self.project.slug, "pk": other.pk}
        )
        for user, status in ((self.editor, 403), (self.outsider, 404)):
            self.client.force_login(user)
            self.assertEqual(self.client.post(url).status_code, status)
        self.assertEqual(Invitation.objects.get(pk=other.pk).status, "pending")


class InvitationsPageTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.stranger = make_user("stranger")

    def setUp(self) -> None:
        self.invitation = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="stranger", role=Role.EDITOR
        )

    def test_the_header_links_to_the_invitations_page(self) -> None:
        self.client.force_login(self.stranger)
        page = self.client.get(reverse("workbench:project-list"))
        self.assertContains(page, reverse("workbench:invitation-list"))
        listed = self.client.get(reverse("workbench:invitation-list"))
        self.assertContains(listed, self.project.name)
        self.assertContains(listed, "Accept")

    def test_accepting_makes_the_invited_person_a_member(self) -> None:
        self.client.force_login(self.stranger)
        url = reverse("workbench:invitation-accept", kwargs={"pk": self.invitation.pk})
        response = self.client.post(url, follow=True)
        self.assertContains(response, f"You joined {self.project.name} as editor")
        self.assertEqual(
            Membership.objects.get(user=self.stranger, project=self.project).role, Role.EDITOR
        )

    def test_declining_writes_no_membership(self) -> None:
        self.client.force_login(self.stranger)
        url = reverse("workbench:invitation-decline", kwargs={"pk": self.invitation.pk})
        self.assertContains(self.client.post(url, follow=True), "declined")
        self.assertFalse(Membership.objects.filter(user=self.stranger).exists())
        self.assertNotContains(
            self.client.get(reverse("workbench:invitation-list")), self.project.name
        )

    def test_someone_elses_invitation_is_a_404(self) -> None:
        for user in (self.reviewer_a, self.admin):
            self.client.force_login(user)
            for name in ("invitation-accept", "invitation-decline"):
                url = reverse(f"workbench:{name}", kwargs={"pk": self.invitation.pk})
                self.assertEqual(self.client.post(url).status_code, 404)
            self.assertNotContains(
                self.client.get(reverse("workbench:invitation-list")), self.project.name
            )
        self.assertEqual(Invitation.objects.get().status, "pending")
