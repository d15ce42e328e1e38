"""Tests for annotations.selectors: access through memberships, blind review (including
the claim page that reads through it) and the agreement report."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import TestCase
from django.urls import reverse

from annotations import access, selectors, services
from annotations.core import consensus
from annotations.models import Claim, Membership, Role, Verdict
from tests.factories import Personas, add_member, judge, make_claim, make_document

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)

CLAIM_TEXTS = (
    "crime fell 20% last year",
    "Unemployment is at a record low of 3.1%",
    "the new bridge cost $2 billion",
    "Others disagree",
)
B_RATIONALE = "Police statistics show a 12 percent fall, not 20."
A_RATIONALE = "The annual report says 20 percent."


class SelectorTestCase(Personas, TestCase):
    policy: ClassVar[dict[str, Any]] = {}
    claim_count: ClassVar[int] = 1

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(**cls.policy)
        cls.claims = [
            make_claim(document=cls.document, actor=cls.creator, exact=text)
            for text in CLAIM_TEXTS[: cls.claim_count]
        ]

    @staticmethod
    def membership(user: Any, claim: Claim) -> Membership | None:
        return Membership.objects.filter(user=user, project_id=claim.project_id).first()

    def visible(self, user: Any, claim: Claim, **kwargs: Any) -> list[tuple[str, int]]:
        """(reviewer username, revision) of the verdicts on ``claim`` that ``user`` may see."""
        verdicts = selectors.verdicts_visible_to(
            user=user, claim=claim, membership=self.membership(user, claim), **kwargs
        )
        return [(v.reviewer.get_username(), v.revision) for v in verdicts]


# --- access -----------------------------------------------------------------------------


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


# --- blind review ----------------------------------------------------------------------


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


# --- agreement ---------------------------------------------------------------------------


def reviewers_by_name(report: selectors.AgreementReport) -> dict[str, tuple[int, int, int]]:
    """username -> (verdicts, compared, matched_consensus)"""
    return {r.username: (r.verdicts, r.compared, r.matched_consensus) for r in report.reviewers}


class AgreementReportByHandTests(SelectorTestCase):
    """Two reviewers, unanimous rule, four claims, values small enough to compute by hand:

    claim     a           b           outcome
    1         true        true        unanimous true
    2         true        false       disputed, adjudicated true
    3         false       false       unanimous false
    4         misleading  misleading  unanimous misleading (no ordinal value)
    """

    claim_count = 4

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for reviewer, ratings in (
            (cls.reviewer_a, ("true", "true", "false", "misleading")),
            (cls.reviewer_b, ("true", "false", "false", "misleading")),
        ):
            for claim, rating in zip(cls.claims, ratings, strict=True):
                judge(claim, reviewer, rating, now=T0)
        services.claim_adjudicate(
            claim=cls.claims[1], editor=cls.editor, rating="true", note="City-wide figures."
        )

    def test_it_computes_nominal_alpha_and_percent_agreement(self) -> None:
        report = selectors.agreement_report(project=self.project)
        # Coincidences: true-true 2, true-false 1+1, false-false 2, misleading-misleading 2;
        # n_true = 3, n_false = 3, n_misleading = 2, n = 8.
        # D_o = 2/8; D_e = (2*3*3 + 2*3*2 + 2*3*2) / (8*7) = 42/56; alpha = 1 - D_o/D_e = 2/3.
        self.assertAlmostEqual(report.nominal_alpha, 2 / 3)
        # Pairs: 4, agreeing: 3.
        self.assertAlmostEqual(report.percent_agreement, 3 / 4)
        self.assertEqual((report.claims, report.verdicts), (4, 8))

    def test_it_leaves_ratings_without_an_ordinal_value_out_of_ordinal_alpha(self) -> None:
        report = selectors.agreement_report(project=self.project)
        # Only claims 1-3 count (true = 5, false = 1): n = 6, two disagreeing pairs, and
        # with two values the ordinal metric is one constant weight, so alpha is the
        # nominal one over those claims: 1 - (2/6) / (2*3*3/30) = 4/9.
        self.assertAlmostEqual(report.ordinal_alpha, 4 / 9)
        self.assertNotAlmostEqual(report.ordinal_alpha, report.nominal_alpha)

    def test_it_counts_matches_with_the_current_consensus_including_adjudications(self) -> None:
        report = selectors.agreement_report(project=self.project)
        self.assertEqual(
            reviewers_by_name(report), {"reviewer_a": (4, 4, 4), "reviewer_b": (4, 4, 3)}
        )

    def test_it_stops_comparing_with_a_consensus_that_was_reopened(self) -> None:
        services.claim_reopen(claim=self.claims[0], editor=self.editor, note="Recheck")
        report = selectors.agreement_report(project=self.project)
        self.assertEqual(
            reviewers_by_name(report), {"reviewer_a": (4, 3, 3), "reviewer_b": (4, 3, 2)}
        )
        self.assertAlmostEqual(report.nominal_alpha, 2 / 3)

    def test_it_reports_nothing_for_a_project_without_verdicts(self) -> None:
        report = selectors.agreement_report(project=self.other_project)
        self.assertEqual(
            report,
            selectors.AgreementReport(
                nominal_alpha=None,
                ordinal_alpha=None,
                percent_agreement=None,
                claims=0,
                verdicts=0,
                reviewers=[],
            ),
        )


class AgreementReportTests(SelectorTestCase):
    """Three reviewers, majority rule (required 3), missing data and a second document:

    claim      a           b            c             consensus
    1 (doc 1)  true        true         true          unanimous true
    2 (doc 1)  false       false        mostly_false  majority false
    3 (doc 1)  misleading  true         misleading    majority misleading
    4 (doc 1)  true        false        (skipped)     none, still in review
    5 (doc 2)  half_true   mostly_true  half_true     majority half_true
    """

    policy = {"required_reviews": 3, "consensus_rule": "majority"}
    claim_count = 4
    RATINGS: ClassVar[dict[str, tuple[str | None, ...]]] = {
        "reviewer_a": ("true", "false", "misleading", "true", "half_true"),
        "reviewer_b": ("true", "false", "true", "false", "mostly_true"),
        "reviewer_c": ("true", "mostly_false", "misleading", None, "half_true"),
    }
    ORDINAL = {"true": 5, "mostly_true": 4, "half_true": 3, "mostly_false": 2, "false": 1}

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.second_document = make_document(
            project=cls.project,
            actor=cls.creator,
            title="Second",
            text="The governor said the budget is balanced for the first time in a decade.\n",
        )
        cls.claims.append(
            make_claim(
                document=cls.second_document,
                actor=cls.creator,
                exact="the budget is balanced for the first time in a decade",
            )
        )
        cls.users = {
            "reviewer_a": cls.reviewer_a,
            "reviewer_b": cls.reviewer_b,
            "reviewer_c": cls.reviewer_c,
        }
        for name, ratings in cls.RATINGS.items():
            for claim, rating in zip(cls.claims, ratings, strict=True):
                if rating is None:
                    services.lease_next(reviewer=cls.users[name], project=cls.project, now=T0)
                    services.claim_skip(
                        claim=claim, reviewer=cls.users[name], reason="Conflict of interest", now=T0
                    )
                else:
                    judge(claim, cls.users[name], rating, now=T0)

    def units(self, claims: list[Claim]) -> dict[int, dict[int, str]]:
        """claim -> {reviewer id: rating}, built from the table, not from the database."""
        index = {claim.pk: i for i, claim in enumerate(self.claims)}
        return {
            claim.pk: {
                self.users[name].pk: ratings[index[claim.pk]]
                for name, ratings in self.RATINGS.items()
                if ratings[index[claim.pk]] is not None
            }
            for claim in claims
        }

    def test_the_table_decided_as_described(self) -> None:
        decided = {
            claim.pk: (claim.status, [c.rating.key for c in claim.current_consensus])
            for claim in selectors.claims_with_consensus(Claim.objects.all())
        }
        self.assertEqual(
            [decided[claim.pk] for claim in self.claims],
            [
                ("resolved", ["true"]),
                ("resolved", ["false"]),
                ("resolved", ["misleading"]),
                ("in_review", []),
                ("resolved", ["half_true"]),
            ],
        )

    def test_it_reports_agreement_over_every_current_verdict(self) -> None:
        report = selectors.agreement_report(project=self.project)
        units = self.units(self.claims)
        self.assertEqual((report.claims, report.verdicts), (5, 14))
        self.assertAlmostEqual(report.nominal_alpha, consensus.alpha(units, level="nominal"))
        # Pairs: 3 + 3 + 3 + 1 + 3 = 13; agreeing: 3 + 1 + 1 + 0 + 1 = 6.
        self.assertAlmostEqual(report.percent_agreement, 6 / 13)
        ordinal_units = {
            claim: {r: self.ORDINAL[v] for r, v in ratings.items() if v in self.ORDINAL}
            for claim, ratings in units.items()
        }
        self.assertAlmostEqual(
            report.ordinal_alpha,
            consensus.alpha(ordinal_units, level="ordinal", order=[1, 2, 3, 4, 5]),
        )
        # Leaving claim 3 out entirely gives the same value: only b's "true" is left of
        # it, and a lone value pairs with nothing.
        del ordinal_units[self.claims[2].pk]
        self.assertAlmostEqual(
            report.ordinal_alpha,
            consensus.alpha(ordinal_units, level="ordinal", order=[1, 2, 3, 4, 5]),
        )

    def test_it_counts_per_reviewer_matches_with_consensus(self) -> None:
        report = selectors.agreement_report(project=self.project)
        self.assertEqual(
            reviewers_by_name(report),
            {"reviewer_a": (5, 4, 4), "reviewer_b": (5, 4, 2), "reviewer_c": (4, 4, 3)},
        )
        self.assertEqual(
            [r.username for r in report.reviewers],
            [u.get_username() for u in sorted(self.users.values(), key=lambda u: str(u.pk))],
        )

    def test_it_filters_by_document(self) -> None:
        report = selectors.agreement_report(project=self.project, document=self.document)
        units = self.units(self.claims[:4])
        self.assertEqual((report.claims, report.verdicts), (4, 11))
        self.assertAlmostEqual(report.nominal_alpha, consensus.alpha(units, level="nominal"))
        self.assertAlmostEqual(report.percent_agreement, 5 / 10)
        self.assertEqual(
            reviewers_by_name(report),
            {"reviewer_a": (4, 3, 3), "reviewer_b": (4, 3, 2), "reviewer_c": (3, 3, 2)},
        )
        second = selectors.agreement_report(project=self.project, document=self.second_document)
        self.assertEqual((second.claims, second.verdicts), (1, 3))
        self.assertAlmostEqual(second.percent_agreement, 1 / 3)
        self.assertEqual(
            reviewers_by_name(second),
            {"reviewer_a": (1, 1, 1), "reviewer_b": (1, 1, 0), "reviewer_c": (1, 1, 1)},
        )

    def test_it_counts_only_the_current_revision(self) -> None:
        services.verdict_submit(
            claim=self.claims[3], reviewer=self.reviewer_b, rating="true", confidence="low", now=T0
        )
        report = selectors.agreement_report(project=self.project)
        self.assertEqual(report.verdicts, 14)
        self.assertAlmostEqual(report.percent_agreement, 7 / 13)
        self.assertEqual(reviewers_by_name(report)["reviewer_b"], (5, 4, 2))
