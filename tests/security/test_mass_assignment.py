"""Privilege escalation through mass assignment (B.6 #28; CVAT CVE-2026-23526 class).

Input serializers and forms list the fields a caller may set. In the API anything else in
a body (``is_staff``, ``is_superuser``, ``role``, ``project``, ``created_by``, ``status``,
``version``, offsets, ids) is a 400 naming each such key, and nothing is written (issue 13,
finding 5c: it used to be dropped silently, so a client believed it had changed a project's
``slug``); the same body without them is taken, with the server's values. UI forms ignore
extra fields. There is no endpoint that edits a user, and members can only be added by a
project admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.test import TestCase

from annotations.api.serializers import REFUSED_FIELD
from annotations.models import Claim, Event, Membership, Project, Role, Verdict
from tests.factories import grant, make_claim
from tests.security.world import API, World
from workbench import errors

ESCALATION = {
    "is_staff": True,
    "is_superuser": True,
    "is_active": True,
    "role": "admin",
    "user": 1,
    "user_id": 1,
    "created_by": 1,
    "created_by_id": 1,
    "id": 424242,
    "pk": 424242,
    "memberships": [{"user": 1, "role": "admin"}],
    "groups": [1],
    "user_permissions": [1],
}


class MassAssignmentTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def user_flags(self) -> set[tuple[str, bool, bool]]:
        return set(get_user_model().objects.values_list("username", "is_staff", "is_superuser"))

    def assertNoEscalation(self, flags_before: set[tuple[str, bool, bool]]) -> None:
        self.assertEqual(self.user_flags(), flags_before)
        self.assertFalse(Project.objects.filter(pk=424242).exists())

    def assertRefused(self, response: Any, body: dict[str, Any], taken: set[str]) -> None:
        """400 naming every key of ``body`` outside ``taken``, and only those."""
        self.assertEqual(response.status_code, 400, response.content)
        errors = response.json()
        self.assertEqual(set(errors), set(body) - taken, errors)
        self.assertTrue(all(messages == [REFUSED_FIELD] for messages in errors.values()))

    def test_project_patch_refuses_everything_but_the_policy(self) -> None:
        client = self.api(self.admin)  # making its token is an event of its own
        flags, events = self.user_flags(), Event.objects.count()
        before = Project.objects.values().get(pk=self.project.pk)
        body = {
            **ESCALATION,
            "slug": "hijacked",
            "project": self.other_project.pk,
            "created_at": "2000-01-01T00:00:00Z",
            "scale": [{"key": "pants", "label": "Pants", "ordinal": 9}],
            "name": "Renamed desk",
        }
        response = client.patch(f"{API}/projects/{self.project.pk}/", body, format="json")
        self.assertRefused(response, body, {"name"})
        self.assertEqual(Project.objects.values().get(pk=self.project.pk), before)
        self.assertFalse(self.project.ratings.filter(key="pants").exists())
        self.assertEqual(Event.objects.count(), events)
        self.assertNoEscalation(flags)

    def test_the_probes_project_patch_is_a_400_naming_slug_created_by_and_id(self) -> None:
        """Issue 13, finding 5c, exactly as probed: 200 with nothing changed, before."""
        before = Project.objects.values().get(pk=self.project.pk)
        body = {"slug": "renamed", "created_by": self.reviewer_a.pk, "id": 999}
        for extra in ({}, {"name": "Renamed desk"}):
            with self.subTest(extra=extra):
                response = self.api(self.admin).patch(
                    f"{API}/projects/{self.project.pk}/", {**body, **extra}, format="json"
                )
                self.assertRefused(response, body, set())
                self.assertEqual(Project.objects.values().get(pk=self.project.pk), before)

    def test_project_create_makes_the_caller_its_admin_whatever_the_body_says(self) -> None:
        flags, projects = self.user_flags(), Project.objects.count()
        grant(self.reviewer_a, "add_project")
        body = {**ESCALATION, "name": "Fresh", "created_by": self.admin.pk}
        response = self.api(self.reviewer_a).post(f"{API}/projects/", body, format="json")
        self.assertRefused(response, body, {"name"})
        self.assertEqual(Project.objects.count(), projects)
        response = self.api(self.reviewer_a).post(
            f"{API}/projects/", {"name": "Fresh"}, format="json"
        )
        self.assertEqual(response.status_code, 201, response.content)
        project = Project.objects.get(pk=response.json()["id"])
        self.assertEqual(project.created_by, self.reviewer_a)
        self.assertEqual(
            list(project.memberships.values_list("user__username", "role")),
            [("reviewer_a", Role.ADMIN)],
        )
        self.assertNoEscalation(flags)

    def test_claim_patch_changes_statement_and_claimant_only(self) -> None:
        flags = self.user_flags()
        # An unjudged claim: a judged one is frozen (409, tests/api/test_lifecycle.py).
        unjudged = make_claim(document=self.document, actor=self.creator, start=0, end=5)
        fields = ["status", "version", "project_id", "document_id", "created_by_id", "start", "end"]
        before = Claim.objects.values(*fields, "exact", "statement").get(pk=unjudged.pk)
        body = {
            **ESCALATION,
            "status": "published",
            "version": 99,
            "project": self.other_project.pk,
            "document": self.other_document.pk,
            "start": 0,
            "end": 3,
            "exact": "The",
            "anchor_status": "orphaned",
            "statement": "Edited by its creator",
        }
        client = self.api(self.creator)
        path = f"{API}/claims/{unjudged.pk}/"
        response = client.patch(path, body, format="json", HTTP_IF_MATCH='"1"')
        self.assertRefused(response, body, {"statement"})
        self.assertEqual(
            Claim.objects.values(*fields, "exact", "statement").get(pk=unjudged.pk), before
        )
        response = client.patch(
            path, {"statement": "Edited by its creator"}, format="json", HTTP_IF_MATCH='"1"'
        )
        self.assertEqual(response.status_code, 200, response.content)
        after = Claim.objects.values(*fields, "exact").get(pk=unjudged.pk)
        before.pop("statement")
        self.assertEqual({**before, "version": before["version"] + 1}, after)
        self.assertNoEscalation(flags)

    def test_claim_create_takes_project_status_and_creator_from_the_server(self) -> None:
        body = {
            **ESCALATION,
            "document": self.document.pk,
            "start": 4,
            "end": 9,
            "status": "published",
            "project": self.other_project.pk,
            "prefix": "forged",
            "created_by": self.editor.pk,
            "version": 50,
        }
        claims = Claim.objects.count()
        client = self.api(self.reviewer_a)
        response = client.post(f"{API}/claims/", body, format="json")
        self.assertRefused(response, body, {"document", "start", "end"})
        self.assertEqual(Claim.objects.count(), claims)
        body = {"document": self.document.pk, "start": 4, "end": 9}
        response = client.post(f"{API}/claims/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        claim = Claim.objects.get(pk=response.json()["id"])
        self.assertEqual(
            (claim.status, claim.project_id, claim.created_by_id, claim.version, claim.prefix),
            ("in_review", self.project.pk, self.reviewer_a.pk, 1, "The "),
        )

    def test_a_verdict_belongs_to_its_caller_and_claim(self) -> None:
        body = {
            **ESCALATION,
            "rating": "true",
            "confidence": "low",
            "reviewer": "reviewer_b",
            "reviewer_id": self.reviewer_b.pk,
            "claim": self.other_claim.pk,
            "is_current": False,
            "revision": 7,
            "submitted_at": "2000-01-01T00:00:00Z",
        }
        verdicts = Verdict.objects.count()
        client = self.api(self.reviewer_a)
        path = f"{API}/claims/{self.blind.pk}/verdicts/"
        response = client.post(path, body, format="json")
        self.assertRefused(response, body, {"rating", "confidence"})
        # Each citation is checked too.
        citation = {"url": "https://example.org/a", "stance": "supports", "created_by": 1}
        response = client.post(
            path, {"rating": "true", "confidence": "low", "citations": [citation]}, format="json"
        )
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response.json(), {"citations": {"0": {"created_by": [REFUSED_FIELD]}}})
        self.assertEqual(Verdict.objects.count(), verdicts)
        response = client.post(path, {"rating": "true", "confidence": "low"}, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        verdict = Verdict.objects.get(pk=response.json()["id"])
        self.assertEqual(
            (verdict.reviewer_id, verdict.claim_id, verdict.is_current, verdict.revision),
            (self.reviewer_a.pk, self.blind.pk, True, 1),
        )

    def test_members_are_changed_by_admins_only_and_never_gain_user_flags(self) -> None:
        flags = self.user_flags()
        path = f"{API}/projects/{self.project.pk}/members/"
        body: dict[str, Any] = {**ESCALATION, "username": "reviewer_b", "role": "editor"}
        body["project"] = self.other_project.pk
        for user in (self.reviewer_a, self.editor):
            with self.subTest(user=user.get_username()):
                response = self.api(user).post(path, {**body, "role": "admin"}, format="json")
                self.assertEqual(response.status_code, 403)
        response = self.api(self.admin).post(path, body, format="json")
        self.assertRefused(response, body, {"username", "role"})
        self.assertFalse(Membership.objects.filter(user=self.outsider, project=self.project))
        response = self.api(self.admin).post(
            path, {"username": "reviewer_b", "role": "editor"}, format="json"
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            Membership.objects.get(user=self.reviewer_b, project=self.project).role, Role.EDITOR
        )
        # Anybody else is invited (tests/security/test_invitations.py): an invitation takes
        # its name and role only, and accepting it gives the role offered, no flags.
        invitations = f"{API}/projects/{self.project.pk}/invitations/"
        escalated = {**ESCALATION, "username": "outsider", "role": "reviewer"}
        response = self.api(self.admin).post(invitations, escalated, format="json")
        self.assertRefused(response, escalated, {"username", "role"})
        invited = self.api(self.admin).post(
            invitations, {"username": "outsider", "role": "reviewer"}, format="json"
        )
        self.assertEqual(invited.status_code, 201, invited.content)
        accept = f"{API}/invitations/{invited.json()['id']}/accept/"
        escalated = {**ESCALATION, "role": "admin"}
        refused = self.api(self.outsider).post(accept, escalated, format="json")
        self.assertRefused(refused, escalated, set())  # the operation takes no body
        self.assertFalse(Membership.objects.filter(user=self.outsider, project=self.project))
        accepted = self.api(self.outsider).post(accept, format="json")
        self.assertEqual(accepted.status_code, 200, accepted.content)
        self.assertEqual(
            Membership.objects.get(user=self.outsider, project=self.project).role, Role.REVIEWER
        )
        self.assertEqual(
            Membership.objects.get(user=self.outsider, project=self.other_project).role,
            Role.ADMIN,
        )
        for method in ("patch", "put", "delete"):
            with self.subTest(method=method):
                response = getattr(self.api(self.reviewer_a), method)(
                    path, {"username": "reviewer_a", "role": "admin"}, format="json"
                )
                self.assertEqual(response.status_code, 405)
        self.assertEqual(
            Membership.objects.get(user=self.reviewer_a, project=self.project).role,
            Role.REVIEWER,
        )
        self.assertNoEscalation(flags)

    def test_ui_claim_edit_ignores_extra_fields(self) -> None:
        unjudged = make_claim(document=self.document, actor=self.creator, start=0, end=5)
        before = Claim.objects.values("status", "project_id", "start", "end").get(pk=unjudged.pk)
        response = self.browser(self.creator).post(
            f"/claims/{unjudged.pk}/edit/",
            {
                "statement": "New words",
                "claimant": "",
                "version": "1",
                "status": "published",
                "project": str(self.other_project.pk),
                "start": "0",
                "is_staff": "on",
            },
        )
        self.assertEqual(response.status_code, 302)
        after = Claim.objects.values("status", "project_id", "start", "end").get(pk=unjudged.pk)
        self.assertEqual(before, after)
        self.assertFalse(get_user_model().objects.get(pk=self.creator.pk).is_staff)

    def test_there_is_no_user_editing_endpoint(self) -> None:
        for path in ("/api/v1/users/1/", "/api/v1/me/", "/api/v1/current-user/", "/accounts/1/"):
            with self.subTest(path=path):
                self.assertFalse(errors.routed(path))
