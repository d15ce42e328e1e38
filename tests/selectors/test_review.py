"""Selectors: review (``annotations/selectors/review.py``): blind review, through
``verdicts_visible_to`` and on the claim page that reads through it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from annotations import selectors, services
from annotations.models import Verdict
from tests.factories import judge
from tests.selectors.base import T0, SelectorTestCase

B_RATIONALE = "Police statistics show a 12 percent fall, not 20."
A_RATIONALE = "The annual report says 20 percent."


class BlindReviewTests(SelectorTestCase):
    """Two required reviews: b has judged the claim, a holds a lease on it."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = cls.claims[0]
        cls.b_verdict = judge(cls.claim, cls.reviewer_b, "false", rationale=B_RATIONALE, now=T0)
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project, now=T0)

    def a_submits(self, rating: str = "true") -> Verdict:
        return services.verdict_submit(
            claim=self.claim,
            reviewer=self.reviewer_a,
            rating=rating,
            confidence="medium",
            rationale=A_RATIONALE,
            now=T0,
        )

    def test_it_shows_a_reviewer_nothing_before_they_submit(self) -> None:
        for user in (self.reviewer_a, self.reviewer_c, self.creator):
            with self.subTest(user=user.get_username()):
                self.assertEqual(self.visible(user, self.claim), [])
                self.assertEqual(self.visible(user, self.claim, include_history=True), [])

    def test_it_shows_the_other_verdicts_once_the_reviewer_submitted(self) -> None:
        self.a_submits()
        self.assertEqual(
            self.visible(self.reviewer_a, self.claim), [("reviewer_b", 1), ("reviewer_a", 1)]
        )
        self.assertEqual(
            self.visible(self.reviewer_b, self.claim), [("reviewer_b", 1), ("reviewer_a", 1)]
        )
        self.assertEqual(self.visible(self.reviewer_c, self.claim), [])

    def test_it_shows_a_reviewer_their_own_verdict_and_its_history(self) -> None:
        services.verdict_submit(
            claim=self.claim,
            reviewer=self.reviewer_b,
            rating="mostly_false",
            confidence="low",
            now=T0,
        )
        self.assertEqual(self.visible(self.reviewer_b, self.claim), [("reviewer_b", 2)])
        self.assertEqual(
            self.visible(self.reviewer_b, self.claim, include_history=True),
            [("reviewer_b", 1), ("reviewer_b", 2)],
        )
        self.assertEqual(self.visible(self.reviewer_a, self.claim, include_history=True), [])

    def test_it_shows_editors_and_admins_every_verdict(self) -> None:
        for user in (self.editor, self.admin):
            with self.subTest(user=user.get_username()):
                self.assertEqual(self.visible(user, self.claim), [("reviewer_b", 1)])
        self.a_submits()
        for user in (self.editor, self.admin):
            with self.subTest(user=user.get_username(), after="a submitted"):
                self.assertEqual(
                    self.visible(user, self.claim), [("reviewer_b", 1), ("reviewer_a", 1)]
                )

    def test_it_shows_nothing_without_a_membership(self) -> None:
        for user in (self.outsider, AnonymousUser()):
            with self.subTest(user=str(user)):
                verdicts = selectors.verdicts_visible_to(
                    user=user, claim=self.claim, membership=None
                )
                self.assertEqual(list(verdicts), [])

    def test_it_does_not_count_a_skip_as_a_submission(self) -> None:
        services.claim_skip(claim=self.claim, reviewer=self.reviewer_a, reason="COI", now=T0)
        self.assertEqual(self.visible(self.reviewer_a, self.claim), [])


class ClaimDetailViewTests(SelectorTestCase):
    """The claim page reads verdicts through verdicts_visible_to: b has judged the claim,
    a holds a lease on it."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = cls.claims[0]
        judge(cls.claim, cls.reviewer_b, "false", rationale=B_RATIONALE, now=T0)
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project, now=T0)
        cls.url = reverse("workbench:claim-detail", kwargs={"pk": cls.claim.pk})

    def get_as(self, user: Any) -> Any:
        self.client.force_login(user)
        return self.client.get(self.url)

    def test_it_hides_other_rationales_until_the_reviewer_submits(self) -> None:
        response = self.get_as(self.reviewer_a)
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, B_RATIONALE)
        services.verdict_submit(
            claim=self.claim,
            reviewer=self.reviewer_a,
            rating="true",
            confidence="medium",
            rationale=A_RATIONALE,
            now=T0,
        )
        response = self.get_as(self.reviewer_a)
        self.assertContains(response, B_RATIONALE)
        self.assertContains(response, A_RATIONALE)

    def test_it_hides_other_rationales_from_members_who_have_not_judged(self) -> None:
        for user in (self.reviewer_c, self.creator):
            with self.subTest(user=user.get_username()):
                response = self.get_as(user)
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, B_RATIONALE)

    def test_it_always_shows_every_rationale_to_editors(self) -> None:
        for user in (self.editor, self.admin):
            with self.subTest(user=user.get_username()):
                self.assertContains(self.get_as(user), B_RATIONALE)

    def test_it_refuses_the_outsider_with_a_404(self) -> None:
        response = self.get_as(self.outsider)
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, B_RATIONALE, status_code=404)

    def test_it_sends_anonymous_visitors_to_log_in(self) -> None:
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("login")), response["Location"])
