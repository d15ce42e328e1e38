"""Membership by consent (issue 13, finding 5a).

The probe: a project admin added any account to their project by username, without its
consent, and the answer told them whether the username existed. Now a project admin
invites (``POST /projects/{id}/invitations/``): the answer and the invitation they see
are the same for an account and for a name that is none, and only the invited account's
acceptance makes a membership. Adding a non-member directly is refused with one answer
for every name; superusers (trusted operators) and the management commands still add
directly.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.test import TestCase
from django.utils import timezone

from annotations.models import Event, Invitation, Membership, Role
from tests.api.base import ApiTestCase
from tests.factories import api_token, make_user


def _without_identity(body: dict[str, Any]) -> dict[str, Any]:
    """An invitation as the inviter sees it, less what differs between any two (its id,
    the name typed and the times)."""
    return {
        k: v for k, v in body.items() if k not in {"id", "username", "created_at", "expires_at"}
    }


class InvitationProbeTests(ApiTestCase, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.stranger = make_user("stranger")
        cls.tokens[cls.stranger.pk] = api_token(cls.stranger)
        cls.invitations = f"/projects/{cls.project.pk}/invitations/"
        cls.members = f"/projects/{cls.project.pk}/members/"

    def invite(self, name: str, role: str = "editor", user: Any = None) -> Any:
        return self.post(user or self.admin, self.invitations, {"username": name, "role": role})

    def test_adding_a_stranger_directly_writes_nothing_and_reads_like_an_unknown_name(self) -> None:
        with self.assertNothingWritten():
            stranger = self.post(
                self.admin, self.members, {"username": "stranger", "role": "editor"}
            )
            unknown = self.post(self.admin, self.members, {"username": "nobody", "role": "editor"})
        self.assertEqual(stranger.status_code, 400)
        self.assertEqual(stranger.content, unknown.content)
        self.assertFalse(
            Membership.objects.filter(user=self.stranger, project=self.project).exists()
        )

    def test_inviting_a_stranger_reads_exactly_like_inviting_nobody(self) -> None:
        stranger = self.invite("stranger")
        unknown = self.invite("nobody")
        self.assertEqual(stranger.status_code, 201, stranger.content)
        self.assertEqual(unknown.status_code, 201, unknown.content)
        self.assertEqual(_without_identity(stranger.json()), _without_identity(unknown.json()))
        self.assertEqual(stranger.json()["status"], "pending")
        self.assertEqual(set(stranger.json()), set(unknown.json()))
        # Nobody became a member, and the list and the audit trail say nothing either.
        self.assertFalse(
            Membership.objects.filter(user=self.stranger, project=self.project).exists()
        )
        listed = {
            i["username"]: _without_identity(i)
            for i in self.get(self.admin, self.invitations).json()
        }
        self.assertEqual(listed["stranger"], listed["nobody"])
        events = Event.objects.filter(verb="invitation.create").order_by("id")
        self.assertEqual(
            [sorted(e.after) for e in events], [["expires_at", "invited_as", "role"]] * 2
        )

    def test_the_stranger_accepts_and_only_then_is_a_member(self) -> None:
        invitation_id = self.invite("stranger").json()["id"]
        pending = self.get(self.stranger, "/invitations/").json()
        self.assertEqual(
            [(i["id"], i["role"], i["project"]["id"]) for i in pending],
            [(invitation_id, "editor", self.project.pk)],
        )
        response = self.post(self.stranger, f"/invitations/{invitation_id}/accept/")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            Membership.objects.get(user=self.stranger, project=self.project).role, Role.EDITOR
        )
        self.assertTrue(
            Event.objects.filter(verb="invitation.accept", object_id=invitation_id).exists()
        )
        self.assertEqual(self.get(self.stranger, "/invitations/").json(), [])
        # Accepted once: not again.
        self.assertEqual(
            self.post(self.stranger, f"/invitations/{invitation_id}/accept/").status_code, 409
        )

    def test_a_decline_leaves_no_trace_in_the_project_audit_log(self) -> None:
        """The outside probe: the project's audit download (editors, admins) and the admin's
        event list named the declining account, mapping the typed name to a username. The
        decline is recorded in the global chain (superusers) instead."""
        declined = self.invite("stranger").json()["id"]
        self.assertEqual(
            self.post(self.stranger, f"/invitations/{declined}/decline/").status_code, 204
        )
        log = self.client_for(self.admin).get(f"/api/v1/projects/{self.project.pk}/audit.jsonl")
        self.assertEqual(log.status_code, 200)
        lines = [json.loads(line) for line in b"".join(log.streaming_content).splitlines()]
        self.assertTrue(any(line.get("verb") == "invitation.create" for line in lines))
        self.assertFalse([line for line in lines if line.get("actor") == self.stranger.pk])
        self.assertFalse(Event.objects.filter(project=self.project, actor=self.stranger).exists())
        self.assertTrue(
            Event.objects.filter(
                project=None, actor=self.stranger, verb="invitation.decline", object_id=declined
            ).exists()
        )

    def test_declined_expired_and_revoked_invitations_cannot_be_accepted(self) -> None:
        declined = self.invite("stranger").json()["id"]
        self.assertEqual(
            self.post(self.stranger, f"/invitations/{declined}/decline/").status_code, 204
        )
        self.assertEqual(
            self.post(self.stranger, f"/invitations/{declined}/accept/").status_code, 409
        )
        # The inviter cannot tell a decline from a name that is no account: still pending.
        listed = {i["id"]: i["status"] for i in self.get(self.admin, self.invitations).json()}
        self.assertEqual(listed[declined], "pending")
        revoked = self.invite("stranger", role="reviewer", user=self.admin)
        self.assertFieldError(revoked, "username", "already has an open invitation")
        self.post(self.admin, f"{self.invitations}{declined}/revoke/")
        revoked_id = self.invite("stranger", role="reviewer").json()["id"]
        response = self.post(self.admin, f"{self.invitations}{revoked_id}/revoke/")
        self.assertEqual(response.json()["status"], "revoked")
        self.assertEqual(
            self.post(self.stranger, f"/invitations/{revoked_id}/accept/").status_code, 409
        )
        expired_id = self.invite("stranger", role="reviewer").json()["id"]
        Invitation.objects.filter(pk=expired_id).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        self.assertEqual(self.get(self.stranger, "/invitations/").json(), [])
        self.assertEqual(
            self.post(self.stranger, f"/invitations/{expired_id}/accept/").status_code, 409
        )
        self.assertFalse(
            Membership.objects.filter(user=self.stranger, project=self.project).exists()
        )

    def test_nobody_accepts_someone_elses_invitation(self) -> None:
        invitation_id = self.invite("stranger").json()["id"]
        missing = self.post(self.reviewer_a, "/invitations/999999/accept/")
        for user in (self.reviewer_a, self.admin, self.outsider):
            for verb in ("accept", "decline"):
                with self.subTest(user=user.username, verb=verb), self.assertNothingWritten():
                    response = self.post(user, f"/invitations/{invitation_id}/{verb}/")
                    self.assertEqual(response.status_code, 404)
                    self.assertEqual(response.content, missing.content)
        self.assertEqual(
            [i["id"] for i in self.get(self.stranger, "/invitations/").json()], [invitation_id]
        )
        self.assertEqual(self.get(self.reviewer_a, "/invitations/").json(), [])

    def test_only_project_admins_invite_list_and_revoke(self) -> None:
        invitation_id = self.invite("stranger").json()["id"]
        revoke = f"{self.invitations}{invitation_id}/revoke/"
        for user, expected in (
            (self.editor, 403),
            (self.reviewer_a, 403),
            (self.outsider, 404),
            (self.stranger, 404),
        ):
            with self.subTest(user=user.username), self.assertNothingWritten():
                self.assertEqual(self.invite("someone", user=user).status_code, expected)
                self.assertEqual(self.get(user, self.invitations).status_code, expected)
                self.assertEqual(self.post(user, revoke).status_code, expected)
        # Another project's admin cannot reach this one's invitation through their own project.
        other = f"/projects/{self.other_project.pk}/invitations/{invitation_id}/revoke/"
        self.assertEqual(self.post(self.outsider, other).status_code, 404)

    def test_an_invitation_by_email_reaches_the_one_account_with_that_address(self) -> None:
        self.stranger.email = "Stranger@example.org"
        self.stranger.save()
        invitation_id = self.invite("stranger@example.org").json()["id"]
        self.assertEqual(
            self.post(self.stranger, f"/invitations/{invitation_id}/accept/").status_code, 200
        )
