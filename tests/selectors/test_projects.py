"""Selectors: projects (``annotations/selectors/projects.py``): the agreement report,
by hand on small numbers and over a table of decided claims.
"""

from __future__ import annotations

from typing import ClassVar
from unittest import mock

from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations import access, selectors, services
from annotations.core import consensus
from annotations.models import Claim, Consensus, Rating, Verdict
from tests.factories import judge, make_claim, make_document
from tests.selectors.base import T0, SelectorTestCase


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

    def test_it_counts_the_blind_verdict_not_a_revision_after_the_reveal(self) -> None:
        # Issue 14: reviewer_b, who now sees reviewer_a's "true" on claim 4, revises to
        # "true": the revision is post-reveal and the figures stay those of the blind verdicts
        # (it used to raise percent agreement from 6/13 to 7/13).
        before = selectors.agreement_report(project=self.project)
        revised = services.verdict_submit(
            claim=self.claims[3], reviewer=self.reviewer_b, rating="true", confidence="low", now=T0
        )
        self.assertTrue(revised.post_reveal)
        report = selectors.agreement_report(project=self.project)
        self.assertEqual(report, before)
        self.assertEqual(report.verdicts, 14)
        self.assertAlmostEqual(report.percent_agreement, 6 / 13)

    def test_the_figures_are_added_up_by_the_database_in_one_statement(self) -> None:
        # One statement for the pair sums, the counts, the reviewers' rows and the scale:
        # no verdict is read into Python (a project of a million verdicts took 12-15 s to
        # show its page when they were), and the scale is of the same moment as the
        # ordinal values summed.
        with CaptureQueriesContext(connection) as queries:
            report = selectors.agreement_report(project=self.project)
        self.assertEqual(len(queries.captured_queries), 1, queries.captured_queries)
        self.assertIn("UNION ALL", queries.captured_queries[0]["sql"])
        self.assertEqual((report.claims, report.verdicts), (5, 14))
        self.assertEqual(len(report.reviewers), 3)

    def test_the_figures_need_no_numeric_library(self) -> None:
        # consensus.alpha hands the units to krippendorff (numpy): the project page, which
        # every member opens, would load ~90 MB of numeric libraries into the worker
        # (tests/test_lazy_imports.py). The pair sums are added up in plain Python.
        with mock.patch.object(consensus, "alpha", side_effect=AssertionError("krippendorff")):
            report = selectors.agreement_report(project=self.project)
        self.assertIsNotNone(report.nominal_alpha)
        self.assertIsNotNone(report.ordinal_alpha)

    def test_a_rating_moved_on_the_scale_is_ranked_where_it_now_is(self) -> None:
        # The ordinal values summed and the scale come from one statement: moving a
        # rating is one consistent state or the other, never a value off the scale (two
        # reads could see a half-true of ordinal 3 summed and a scale of its new place).
        before = selectors.agreement_report(project=self.project)
        Rating.objects.filter(project=self.project, key="half_true").update(ordinal=99)
        after = selectors.agreement_report(project=self.project)
        self.assertIsNotNone(after.ordinal_alpha)
        self.assertNotAlmostEqual(after.ordinal_alpha, before.ordinal_alpha)
        self.assertEqual(after.nominal_alpha, before.nominal_alpha)

    def test_a_user_who_may_see_no_verdict_gets_no_figures(self) -> None:
        # verdict_scope_for_user is none() for an inactive account: an empty report, not
        # an error from compiling an empty queryset.
        self.reviewer_a.is_active = False
        report = selectors.agreement_report(project=self.project, user=self.reviewer_a)
        self.assertEqual((report.claims, report.verdicts, report.nominal_alpha), (0, 0, None))

    def test_the_reviewers_rows_are_what_reviewer_matches_gives(self) -> None:
        # consensus.reviewer_matches is the reference the statement's per-reviewer rows are
        # held to: the counted verdicts and the current consensus, read here by the ORM.
        counted = access.verdicts_counted(Verdict.objects.filter(claim__project=self.project))
        votes = counted.values_list("claim_id", "reviewer_id", "rating__key")
        decided = dict(
            Consensus.objects.filter(claim__project=self.project, is_current=True).values_list(
                "claim_id", "rating__key"
            )
        )
        names = {user.pk: user.get_username() for user in self.users.values()}
        expected = [
            (names[m.reviewer], m.verdicts, m.compared, m.matched_consensus)
            for m in consensus.reviewer_matches(votes, decided)
        ]
        report = selectors.agreement_report(project=self.project)
        self.assertEqual(
            [(r.username, r.verdicts, r.compared, r.matched_consensus) for r in report.reviewers],
            expected,
        )
        self.assertEqual(expected[2], ("reviewer_c", 4, 4, 3))
