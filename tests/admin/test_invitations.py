"""The admin panel and invitations (issue 13, finding 5a): invitations are read-only and
scoped to the projects a staff user administers, shown as the inviter sees them; staff
project admins add no member directly (not on the project page either); superusers do."""

from __future__ import annotations

from annotations import services
from annotations.models import Event, Invitation, Membership, Project, Role
from tests.admin.helpers import AdminTestCase, admin_url, change_form_data, grant_codenames
from tests.factories import make_user


class InvitationAdminTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        grant_codenames(
            cls.admin,
            "view_invitation",
            "add_invitation",
            "change_invitation",
            "add_membership",
            "change_membership",
            "view_membership",
            "view_project",
            "change_project",
            "view_rating",
        )
        grant_codenames(cls.editor, "view_invitation")
        cls.stranger = make_user("stranger")
        cls.declined = services.invitation_create(
            project=cls.project, actor=cls.admin, invited_as="stranger", role=Role.EDITOR
        )
        services.invitation_decline(invitation=cls.declined, user=cls.stranger)
        cls.nobody = services.invitation_create(
            project=cls.project, actor=cls.admin, invited_as="nobody", role=Role.EDITOR
        )
        cls.foreign = services.invitation_create(
            project=cls.other_project, actor=cls.outsider, invited_as="someone", role=Role.REVIEWER
        )

    def test_staff_see_their_projects_invitations_as_the_inviter_does(self) -> None:
        self.client.force_login(self.admin)
        response = self.client.get(admin_url(Invitation, "changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            {i.pk for i in response.context["cl"].result_list}, {self.declined.pk, self.nobody.pk}
        )
        self.assertNotContains(response, "someone")
        self.assertNotContains(response, "Declined")
        # The change page is read-only and names no account.
        for invitation in (self.declined, self.nobody):
            page = self.client.get(admin_url(Invitation, "change", invitation.pk))
            self.assertEqual(page.status_code, 200)
            self.assertNotContains(page, 'name="_save"')
            self.assertNotIn("invitee", page.context["adminform"].form.fields)
            self.assertNotContains(page, "Declined")
        self.assertEqual(self.client.get(admin_url(Invitation, "add")).status_code, 403)
        # Another project's invitation is not there.
        self.assertEqual(
            self.client.get(admin_url(Invitation, "change", self.foreign.pk)).status_code, 302
        )

    def test_editors_see_no_invitations(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.get(admin_url(Invitation, "changelist"))
        self.assertEqual(list(response.context["cl"].result_list), [])

    def test_superusers_see_every_invitation_with_its_invitee(self) -> None:
        response = self.client.get(admin_url(Invitation, "change", self.declined.pk))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "stranger")
        self.assertContains(response, "Declined")
        listed = self.client.get(admin_url(Invitation, "changelist")).context["cl"].result_list
        self.assertEqual(len(listed), 3)

    def test_a_staff_project_admin_adds_no_member_on_the_project_page(self) -> None:
        self.client.force_login(self.admin)
        page = self.client.get(admin_url(Project, "change", self.project.pk))
        self.assertEqual(page.status_code, 200)
        data = change_form_data(page)
        total = int(data["memberships-TOTAL_FORMS"])
        data.update(
            {
                "memberships-TOTAL_FORMS": str(total + 1),
                f"memberships-{total}-user": str(self.stranger.pk),
                f"memberships-{total}-role": Role.EDITOR,
                f"memberships-{total}-project": str(self.project.pk),
            }
        )
        events = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertFalse(Membership.objects.filter(user=self.stranger).exists())
        self.assertFalse(
            Event.objects.filter(pk__gt=events, verb="member.add", after__user="stranger").exists()
        )
