"""Services: invitations (``annotations/services/invitations.py``)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.utils import timezone

from annotations import access, services
from annotations.models import Event, Invitation, InvitationStatus, Membership, Role
from tests.factories import make_user
from tests.services.base import ServiceTestCase, counts


class InvitationCreateTests(ServiceTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.stranger = make_user("stranger", email="stranger@example.org")

    def invite(self, name: str, role: str = Role.REVIEWER, actor=None) -> Invitation:
        return services.invitation_create(
            project=self.project, actor=actor or self.admin, invited_as=name, role=role
        )

    def test_it_binds_the_account_the_name_matches_and_records_only_the_name(self) -> None:
        for name in ("stranger", " stranger@EXAMPLE.org ", "nobody", "ghost@example.org"):
            Invitation.objects.all().delete()
            with self.subTest(name=name):
                invitation = self.invite(name)
                expected = None if name in ("nobody", "ghost@example.org") else self.stranger
                self.assertEqual(invitation.invitee, expected)
                self.assertEqual(invitation.invited_as, name.strip())
                self.assertEqual(invitation.status, InvitationStatus.PENDING)
                self.assertAlmostEqual(
                    invitation.expires_at - invitation.created_at,
                    dt.timedelta(days=services.invitations.INVITATION_DAYS),
                    delta=dt.timedelta(seconds=5),
                )
                event = Event.objects.get(verb="invitation.create", object_id=invitation.pk)
                self.assertEqual(set(event.after), {"invited_as", "role", "expires_at"})
                self.assertEqual(event.actor, self.admin)
        self.assertFalse(Membership.objects.filter(user=self.stranger).exists())

    def test_an_email_shared_by_two_accounts_binds_neither(self) -> None:
        make_user("twin", email="stranger@example.org")
        self.assertIsNone(self.invite("stranger@example.org").invitee)

    def test_inactive_accounts_are_not_bound(self) -> None:
        self.stranger.is_active = False
        self.stranger.save()
        self.assertIsNone(self.invite("stranger").invitee)

    def test_only_the_projects_admins_invite(self) -> None:
        for user in (self.editor, self.reviewer_a, self.outsider):
            with self.subTest(user=user.username), self.assertRaises(PermissionDenied):
                self.invite("stranger", actor=user)
        self.assertFalse(Invitation.objects.exists())

    def test_bad_input_is_refused_and_nothing_is_written(self) -> None:
        self.invite("taken")
        before = counts(Invitation, Event)
        cases = [
            ("", Role.REVIEWER, "username", "Name a username"),
            ("   ", Role.REVIEWER, "username", "Name a username"),
            ("x" * 255, Role.REVIEWER, "username", "at most 254 characters"),
            ("bad\x00name", Role.REVIEWER, "username", ""),
            ("stranger", "owner", "role", "Unknown role"),
            ("taken", Role.EDITOR, "username", "already has an open invitation"),
        ]
        for name, role, field, fragment in cases:
            with self.subTest(name=name[:10], role=role):
                with self.assertRaises(ValidationError) as caught:
                    self.invite(name, role)
                self.assertFieldError(caught.exception, field, fragment)
        self.assertEqual(counts(Invitation, Event), before)

    def test_a_name_may_be_invited_again_once_its_invitation_is_closed(self) -> None:
        first = self.invite("stranger")
        services.invitation_revoke(invitation=first, actor=self.admin)
        second = self.invite("stranger")
        Invitation.objects.filter(pk=second.pk).update(expires_at=timezone.now())
        self.invite("stranger")
        self.assertEqual(Invitation.objects.filter(invited_as="stranger").count(), 3)

    def test_a_project_holds_a_bounded_number_of_open_invitations(self) -> None:
        """Invitations reach whoever holds the name: one admin account (or a stolen token)
        cannot flood the user base. Closed ones no longer count."""
        limit = services.limits.MAX_OPEN_INVITATIONS
        expires = timezone.now() + dt.timedelta(days=7)
        Invitation.objects.bulk_create(
            Invitation(
                project=self.project,
                invited_as=f"name{n}",
                role=Role.REVIEWER,
                invited_by=self.admin,
                expires_at=expires,
            )
            for n in range(limit)
        )
        before = counts(Invitation, Event)
        with self.assertRaises(ValidationError) as caught:
            self.invite("one-too-many")
        self.assertFieldError(caught.exception, "username", f"already has {limit} open invitations")
        self.assertEqual(counts(Invitation, Event), before)
        services.invitation_revoke(
            invitation=Invitation.objects.get(invited_as="name0"), actor=self.admin
        )
        self.assertEqual(self.invite("one-too-many").invited_as, "one-too-many")


class InvitationAnswerTests(ServiceTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.stranger = make_user("stranger")

    def setUp(self) -> None:
        self.invitation = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="stranger", role=Role.EDITOR
        )

    def test_accepting_makes_a_membership_with_the_role_offered(self) -> None:
        membership = services.invitation_accept(invitation=self.invitation, user=self.stranger)
        self.assertEqual((membership.user, membership.role), (self.stranger, Role.EDITOR))
        self.invitation.refresh_from_db()
        self.assertEqual(self.invitation.status, InvitationStatus.ACCEPTED)
        self.assertIsNotNone(self.invitation.responded_at)
        verbs = list(
            Event.objects.filter(actor=self.stranger).order_by("id").values_list("verb", flat=True)
        )
        self.assertEqual(verbs, ["member.add", "invitation.accept"])
        at = services.now()
        self.assertEqual(access.invitation_status_for_inviter(self.invitation, at=at), "accepted")

    def test_only_the_invited_account_answers(self) -> None:
        for user in (self.admin, self.reviewer_a, self.outsider):
            for answer in (services.invitation_accept, services.invitation_decline):
                with (
                    self.subTest(user=user.username, answer=answer.__name__),
                    self.assertRaises(PermissionDenied),
                ):
                    answer(invitation=self.invitation, user=user)
        nobody = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="nobody", role=Role.ADMIN
        )
        with self.assertRaises(PermissionDenied):
            services.invitation_accept(invitation=nobody, user=self.stranger)
        self.assertEqual(Membership.objects.filter(user=self.stranger).count(), 0)

    def test_closed_invitations_cannot_be_answered(self) -> None:
        services.invitation_decline(invitation=self.invitation, user=self.stranger)
        for answer in (services.invitation_accept, services.invitation_decline):
            with self.assertRaises(services.InvitationClosed):
                answer(invitation=self.invitation, user=self.stranger)
        # The inviter still sees it as pending, and may revoke it.
        at = services.now()
        self.assertEqual(access.invitation_status_for_inviter(self.invitation, at=at), "pending")
        services.invitation_revoke(invitation=self.invitation, actor=self.admin)
        with self.assertRaises(services.InvitationClosed):
            services.invitation_revoke(invitation=self.invitation, actor=self.admin)
        expired = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="stranger", role=Role.EDITOR
        )
        Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
        with self.assertRaises(services.InvitationClosed):
            services.invitation_accept(invitation=expired, user=self.stranger)
        with self.assertRaises(services.InvitationClosed):
            services.invitation_revoke(invitation=expired, actor=self.admin)
        self.assertFalse(Membership.objects.filter(user=self.stranger).exists())

    def test_an_accepted_invitation_cannot_be_revoked(self) -> None:
        services.invitation_accept(invitation=self.invitation, user=self.stranger)
        with self.assertRaises(services.InvitationClosed):
            services.invitation_revoke(invitation=self.invitation, actor=self.admin)

    def test_only_the_projects_admins_revoke(self) -> None:
        for user in (self.editor, self.outsider, self.stranger):
            with self.subTest(user=user.username), self.assertRaises(PermissionDenied):
                services.invitation_revoke(invitation=self.invitation, actor=user)
        self.assertEqual(Invitation.objects.get().status, InvitationStatus.PENDING)

    def test_accepting_keeps_the_last_admin(self) -> None:
        # The project's only admin accepts an invitation to a lower role: accepting never
        # demotes, so the project keeps its admin.
        lower = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="admin", role=Role.REVIEWER
        )
        services.invitation_accept(invitation=lower, user=self.admin)
        lower.refresh_from_db()
        self.assertEqual(lower.status, InvitationStatus.ACCEPTED)
        self.assertEqual(
            Membership.objects.get(user=self.admin, project=self.project).role, "admin"
        )


class AcceptNeverDemotesTests(TestCase):
    """The outside probe: a second, lower invitation accepted turned an editor into a
    reviewer. Accepting keeps a higher role; a higher offer still promotes."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.admin = make_user("boss")
        cls.project = services.project_create(name="Desk", creator=cls.admin)
        cls.member = make_user("member")

    def accept(self, role: Role) -> Membership:
        invitation = services.invitation_create(
            project=self.project, actor=self.admin, invited_as="member", role=role
        )
        return services.invitation_accept(invitation=invitation, user=self.member)

    def test_a_lower_offer_keeps_the_role_and_a_higher_one_promotes(self) -> None:
        self.assertEqual(self.accept(Role.EDITOR).role, Role.EDITOR)
        self.assertEqual(self.accept(Role.REVIEWER).role, Role.EDITOR)
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.member).role, Role.EDITOR
        )
        self.assertEqual(self.accept(Role.ADMIN).role, Role.ADMIN)
