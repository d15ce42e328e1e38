"""Access (``annotations/access.py``): the ``*_get_for_user`` lookups let members in,
hide everything from outsiders with a 404, rank roles, and the verdict scope follows
blind review.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotations import access, services
from annotations.models import Role, Verdict
from tests.factories import add_member, judge, make_claim, make_document
from tests.selectors.base import CLAIM_TEXTS, T0, SelectorTestCase


class AccessTests(SelectorTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.inactive = get_user_model().objects.create_user(
            username="inactive", password="pw-inactive", is_active=False
        )
        add_member(cls.project, cls.inactive, Role.EDITOR)

    def lookups(self, user: Any, **kwargs: Any) -> dict[str, Any]:
        claim = self.claims[0]
        return {
            "project by pk": lambda: access.project_get_for_user(
                user=user, pk=self.project.pk, **kwargs
            ),
            "project by slug": lambda: access.project_get_for_user(
                user=user, slug=self.project.slug, **kwargs
            ),
            "document": lambda: access.document_get_for_user(user=user, pk=self.document.pk),
            "claim": lambda: access.claim_get_for_user(user=user, pk=claim.pk, **kwargs),
        }

    def test_it_lets_members_in(self) -> None:
        for user in (self.reviewer_a, self.creator, self.editor, self.admin):
            for label, lookup in self.lookups(user).items():
                with self.subTest(user=user.get_username(), lookup=label):
                    _obj, membership = lookup()
                    self.assertEqual(membership.user, user)
                    self.assertEqual(membership.project_id, self.project.pk)

    def test_it_hides_everything_from_outsiders_with_a_404(self) -> None:
        for user in (self.outsider, AnonymousUser(), self.inactive):
            for label, lookup in self.lookups(user).items():
                with self.subTest(user=str(user), lookup=label), self.assertRaises(Http404):
                    lookup()

    def test_it_answers_a_missing_object_like_a_hidden_one(self) -> None:
        cases = {
            "project": lambda: access.project_get_for_user(user=self.editor, pk=999_999),
            "document": lambda: access.document_get_for_user(user=self.editor, pk=999_999),
            "claim": lambda: access.claim_get_for_user(user=self.editor, pk=999_999),
        }
        for label, lookup in cases.items():
            with self.subTest(label), self.assertRaises(Http404):
                lookup()

    def test_it_refuses_a_reviewer_who_asks_for_the_editor_role(self) -> None:
        cases = {
            "project": lambda: access.project_get_for_user(
                user=self.reviewer_a, pk=self.project.pk, role=Role.EDITOR
            ),
            "claim": lambda: access.claim_get_for_user(
                user=self.reviewer_a, pk=self.claims[0].pk, role=Role.EDITOR
            ),
        }
        for label, lookup in cases.items():
            with self.subTest(label), self.assertRaises(PermissionDenied):
                lookup()

    def test_it_ranks_roles(self) -> None:
        table = (
            (self.reviewer_a, Role.EDITOR, False),
            (self.editor, Role.EDITOR, True),
            (self.editor, Role.ADMIN, False),
            (self.admin, Role.EDITOR, True),
            (self.admin, Role.ADMIN, True),
        )
        for user, role, allowed in table:
            with self.subTest(user=user.get_username(), role=role):
                try:
                    access.claim_get_for_user(user=user, pk=self.claims[0].pk, role=role)
                except PermissionDenied:
                    granted = False
                else:
                    granted = True
                self.assertEqual(granted, allowed)

    def test_it_keeps_the_outsider_in_their_own_project(self) -> None:
        project, membership = access.project_get_for_user(
            user=self.outsider, pk=self.other_project.pk, role=Role.ADMIN
        )
        self.assertEqual((project, membership.role), (self.other_project, Role.ADMIN))
        with self.assertRaises(Http404):
            access.project_get_for_user(user=self.reviewer_a, pk=self.other_project.pk)


class VerdictScopeTests(SelectorTestCase):
    """Desk: claim 1 judged by a and b, claim 2 by b and c. Other desk (the outsider's):
    one claim judged by b, who is a reviewer there too."""

    policy = {"required_reviews": 2}
    claim_count = 2

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        first, second = cls.claims
        cls.a_on_first = judge(first, cls.reviewer_a, "true", now=T0)
        cls.b_on_first = judge(first, cls.reviewer_b, "true", now=T0)
        cls.b_on_second = judge(second, cls.reviewer_b, "false", now=T0)
        cls.c_on_second = judge(second, cls.reviewer_c, "false", now=T0)
        add_member(cls.other_project, cls.reviewer_b, Role.REVIEWER)
        other_document = make_document(project=cls.other_project, actor=cls.outsider)
        other_claim = make_claim(document=other_document, actor=cls.outsider, exact=CLAIM_TEXTS[0])
        cls.b_elsewhere = judge(other_claim, cls.reviewer_b, "half_true", now=T0)

    def scope(self, user: Any, queryset: Any = None) -> set[int]:
        return set(
            access.verdict_scope_for_user(user=user, queryset=queryset).values_list("pk", flat=True)
        )

    def test_it_limits_each_user_to_what_blind_review_allows(self) -> None:
        table = (
            ("reviewer_a", self.reviewer_a, {self.a_on_first, self.b_on_first}),
            (
                "reviewer_b",
                self.reviewer_b,
                {
                    self.a_on_first,
                    self.b_on_first,
                    self.b_on_second,
                    self.c_on_second,
                    self.b_elsewhere,
                },
            ),
            ("reviewer_c", self.reviewer_c, {self.b_on_second, self.c_on_second}),
            ("creator", self.creator, set()),
            (
                "editor",
                self.editor,
                {self.a_on_first, self.b_on_first, self.b_on_second, self.c_on_second},
            ),
            ("outsider", self.outsider, {self.b_elsewhere}),
            ("anonymous", AnonymousUser(), set()),
        )
        for label, user, expected in table:
            with self.subTest(label):
                self.assertEqual(self.scope(user), {v.pk for v in expected})

    def test_it_narrows_a_given_queryset(self) -> None:
        queryset = Verdict.objects.filter(claim=self.claims[1])
        self.assertEqual(self.scope(self.reviewer_a, queryset), set())
        self.assertEqual(
            self.scope(self.reviewer_c, queryset), {self.b_on_second.pk, self.c_on_second.pk}
        )

    def test_it_keeps_history_visible_to_the_same_people(self) -> None:
        services.claim_reopen(claim=self.claims[0], editor=self.editor, note="Recheck")
        revised = services.verdict_submit(
            claim=self.claims[0], reviewer=self.reviewer_b, rating="false", confidence="low", now=T0
        )
        self.assertEqual(
            self.scope(self.reviewer_a), {self.a_on_first.pk, self.b_on_first.pk, revised.pk}
        )
        self.assertNotIn(revised.pk, self.scope(self.reviewer_c))


class InvitationAccessTests(SelectorTestCase):
    """Invitations: only the invited account finds one; the inviter sees a decline as
    pending; only superusers add members directly."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.stranger = get_user_model().objects.create_user(username="stranger", password="pw")
        cls.invitation = services.invitation_create(
            project=cls.project, actor=cls.admin, invited_as="stranger", role=Role.EDITOR
        )

    def test_only_the_invited_account_finds_its_invitation(self) -> None:
        at = services.now()
        self.assertEqual(
            list(access.invitations_for_invitee(user=self.stranger, at=at)), [self.invitation]
        )
        self.assertEqual(
            access.invitation_get_for_invitee(user=self.stranger, pk=self.invitation.pk),
            self.invitation,
        )
        for user in (self.admin, self.reviewer_a, AnonymousUser()):
            self.assertEqual(list(access.invitations_for_invitee(user=user, at=at)), [])
            with self.assertRaises((Http404, PermissionDenied)):
                access.invitation_get_for_invitee(user=user, pk=self.invitation.pk)
        later = at + (self.invitation.expires_at - at) * 2
        self.assertEqual(list(access.invitations_for_invitee(user=self.stranger, at=later)), [])

    def test_the_inviter_sees_pending_accepted_revoked_or_expired(self) -> None:
        at = services.now()
        status = access.invitation_status_for_inviter
        self.assertEqual(status(self.invitation, at=at), "pending")
        for state, seen in (
            ("declined", "pending"),
            ("accepted", "accepted"),
            ("revoked", "revoked"),
        ):
            self.invitation.status = state
            self.assertEqual(status(self.invitation, at=at), seen)
        self.invitation.status = "declined"
        self.assertEqual(status(self.invitation, at=self.invitation.expires_at), "expired")

    def test_only_superusers_add_members_directly(self) -> None:
        self.assertFalse(access.can_add_members_directly(self.admin))
        self.admin.is_superuser = True
        self.assertTrue(access.can_add_members_directly(self.admin))
        self.assertFalse(access.can_add_members_directly(AnonymousUser()))
