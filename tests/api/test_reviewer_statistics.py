"""Reviewer statistics for editors (issue 18): ``GET /api/v1/projects/{id}/reviewers/``, the
page and its CSV. The done-when test recomputes every figure from the raw Verdict,
Assignment, Consensus and GoldClaim rows, independently of the selector's queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations import selectors, services
from annotations.core.consensus import ORDINAL, alpha
from annotations.models import (
    Assignment,
    Claim,
    GoldClaim,
    Project,
    Rating,
    Verdict,
)
from tests.api.base import ApiTestCase
from tests.factories import make_claim, make_document, make_member

TEXT = " ".join(f"Sentence number {n} makes a checkable claim." for n in range(1, 10))
T0 = timezone.now() - dt.timedelta(days=2)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class ReviewerStatisticsTests(ApiTestCase):
    policy = {"required_reviews": 2}

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.reviewer_d = make_member(cls.project, "reviewer_d")
        document = make_document(project=cls.project, actor=cls.creator, text=TEXT)
        cls.claims = [
            make_claim(document=document, actor=cls.creator, exact=f"Sentence number {n} makes")
            for n in range(1, 10)
        ]
        clock = [0.0]

        def judge(claim: Claim, user: Any, rating: str, took: float) -> None:
            start = at(clock[0])
            lease = services.lease_next(reviewer=user, project=cls.project, now=start)
            assert lease is not None and lease.claim_id == claim.pk, (user, claim.pk, lease)
            services.verdict_submit(
                claim=claim,
                reviewer=user,
                rating=rating,
                confidence="high",
                now=start + dt.timedelta(minutes=took),
            )
            clock[0] += 60

        a, b, c, d = cls.reviewer_a, cls.reviewer_b, cls.reviewer_c, cls.reviewer_d
        c1, c2, c3, c4, c5 = cls.claims[:5]
        # Resolved: agree.
        judge(c1, a, "true", 3)
        judge(c1, b, "true", 7)
        # Disputed, then b revises after seeing a's verdict (post-reveal), then adjudicated.
        judge(c2, a, "false", 4)
        judge(c2, c, "true", 10)
        services.verdict_submit(
            claim=c2, reviewer=c, rating="mostly_false", confidence="low", now=at(clock[0])
        )
        services.claim_adjudicate(claim=c2, editor=cls.editor, rating="false", note="Data.")
        # Resolved on ordinal values that differ a little (majority needs agreement: both
        # "mostly_true").
        judge(c3, b, "mostly_true", 2)
        judge(c3, c, "mostly_true", 12)
        # In review, one verdict only.
        judge(c4, a, "half_true", 5)
        # Skipped by d; released by b; d's lease on c5 expires (closed on d's next call).
        services.claim_skip(claim=c5, reviewer=d, reason="conflict of interest", now=at(900))
        lease = services.lease_next(reviewer=b, project=cls.project, now=at(901))
        assert lease is not None
        services.lease_release(claim=lease.claim, reviewer=b, now=at(902))
        lease = services.lease_next(reviewer=d, project=cls.project, now=at(903))
        assert lease is not None
        judge_at = at(903 + 60 * 24)
        nxt = services.lease_next(reviewer=d, project=cls.project, now=judge_at)  # expires it
        assert nxt is not None
        services.verdict_submit(
            claim=nxt.claim, reviewer=d, rating="true", confidence="high",
            now=judge_at + dt.timedelta(minutes=9),
        )  # fmt: skip
        # Still leased by c, past its expiry (nobody closed it): counts as expired.
        stale = services.lease_next(reviewer=c, project=cls.project, now=at(1000))
        assert stale is not None
        # Gold: c1 (resolved "true") marked gold expecting "true"; d answers "false",
        # through a calibration lease.
        services.gold_mark(claim=c1, actor=cls.editor)
        Assignment.objects.create(
            project=cls.project, claim=c1, reviewer=d, state="leased", leased_at=at(3000),
            expires_at=at(3030), calibration=True,
        )  # fmt: skip
        services.verdict_submit(
            claim=c1, reviewer=d, rating="false", confidence="high", now=at(3006)
        )

    def expected(self, now: dt.datetime) -> dict[str, dict[str, Any]]:
        """Every figure recomputed from the raw rows, without the selector's queries."""
        project = Project.objects.get(pk=self.project.pk)
        order = [
            key
            for key, _ in sorted(
                Rating.objects.filter(project=project, ordinal__isnull=False).values_list(
                    "key", "ordinal"
                ),
                key=lambda row: row[1],
            )
        ]
        claims = {claim.pk: claim for claim in Claim.objects.filter(project=project)}
        consensus = {
            pk: claim.consensus.rating.key
            for pk, claim in claims.items()
            if claim.consensus_id is not None
        }
        # Each reviewer's latest blind (not post-reveal, not calibration) verdict on each
        # claim's current version.
        latest: dict[tuple[int, int], Verdict] = {}
        for verdict in Verdict.objects.filter(claim__project=project).select_related("rating"):
            if verdict.post_reveal or verdict.calibration:
                continue
            if verdict.claim_version != claims[verdict.claim_id].claim_version:
                continue
            key = (verdict.reviewer_id, verdict.claim_id)
            if key not in latest or verdict.revision > latest[key].revision:
                latest[key] = verdict
        units: dict[int, dict[int, str]] = defaultdict(dict)
        for (reviewer, claim), verdict in latest.items():
            units[claim][reviewer] = verdict.rating.key
        gold = {g.claim_id: g.rating.key for g in GoldClaim.objects.filter(project=project)}
        out: dict[str, dict[str, Any]] = {}
        for membership in project.memberships.select_related("user"):
            user = membership.user
            rows = list(Assignment.objects.filter(project=project, reviewer=user))
            took = [
                (row.closed_at - row.leased_at).total_seconds()
                for row in rows
                if row.state == "submitted"
            ]
            expired = [
                row
                for row in rows
                if row.state == "expired" or (row.state == "leased" and row.expires_at <= now)
            ]
            mine = {claim: v.rating.key for (r, claim), v in latest.items() if r == user.pk}
            compared = [claim for claim in mine if claim in consensus]
            matched = [claim for claim in compared if mine[claim] == consensus[claim]]
            weighted, weights = 0.0, 0
            others = {r for unit in units.values() for r in unit} - {user.pk}
            for other in others:
                pair = {
                    claim: {user.pk: unit[user.pk], other: unit[other]}
                    for claim, unit in units.items()
                    if user.pk in unit and other in unit
                }
                value = alpha(pair, level=ORDINAL, order=order) if pair else None
                if value is not None:
                    weighted += value * len(pair)
                    weights += len(pair)
            answers = {
                v.claim_id: v.rating.key
                for v in Verdict.objects.filter(
                    claim__project=project, reviewer=user, calibration=True, is_current=True
                ).select_related("rating")
            }
            scored = [claim for claim in answers if claim in gold]
            correct = [claim for claim in scored if answers[claim] == gold[claim]]
            out[user.username] = {
                "reviewer": user.username,
                "verdicts": Verdict.objects.filter(
                    claim__project=project, reviewer=user, is_current=True, calibration=False
                ).count(),
                "median_seconds_to_verdict": statistics.median(took) if took else None,
                "leases": len(rows),
                "skip_rate": sum(r.state == "skipped" for r in rows) / len(rows) if rows else None,
                "expiry_rate": len(expired) / len(rows) if rows else None,
                "consensus_matched": len(matched),
                "consensus_compared": len(compared),
                "consensus_agreement": len(matched) / len(compared) if compared else None,
                "ordinal_alpha": weighted / weights if weights else None,
                "gold_correct": len(correct),
                "gold_scored": len(scored),
                "gold_accuracy": len(correct) / len(scored) if scored else None,
            }
        return out

    def assert_figures(self, got: dict[str, Any], want: dict[str, Any]) -> None:
        self.assertEqual(set(got), set(want))
        for key, value in want.items():
            if isinstance(value, float):
                self.assertAlmostEqual(got[key], value, places=9, msg=key)
            else:
                self.assertEqual(got[key], value, key)

    def test_the_figures_equal_a_recomputation_from_the_raw_rows(self) -> None:
        response = self.get(self.editor, f"/projects/{self.project.pk}/reviewers/")
        now = timezone.now()
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        got = {row["reviewer"]: row for row in body["reviewers"]}
        want = self.expected(now)
        self.assertEqual(set(got), set(want))
        for name in want:
            with self.subTest(reviewer=name):
                self.assert_figures(got[name], want[name])
        # The scenario reaches every figure: none of these is trivially empty.
        self.assertEqual(got["reviewer_d"]["gold_scored"], 1)
        self.assertEqual(got["reviewer_d"]["gold_accuracy"], 0.0)
        self.assertGreater(got["reviewer_d"]["skip_rate"], 0)
        self.assertGreater(got["reviewer_d"]["expiry_rate"], 0)
        self.assertGreater(got["reviewer_c"]["expiry_rate"], 0)
        self.assertIsNotNone(got["reviewer_a"]["ordinal_alpha"])
        self.assertEqual(got["reviewer_c"]["consensus_compared"], 2)  # c2 blind + c3
        self.assertEqual(got["reviewer_a"]["verdicts"], 3)
        self.assertEqual(got["reviewer_d"]["verdicts"], 1)  # the calibration one not counted
        self.assertEqual(body["gold_rate"], 0.0)

    def test_a_fixed_number_of_queries(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            selectors.reviewer_statistics(project=self.project)
        self.assertEqual(len(queries), 8)

    def test_the_page_and_the_csv_for_editors_only(self) -> None:
        client = Client()
        client.force_login(self.editor)
        page = client.get(f"/projects/{self.project.slug}/reviewers/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "reviewer_d")
        self.assertContains(page, "Gold claims (1)")
        download = client.get(f"/projects/{self.project.slug}/reviewers.csv")
        self.assertEqual(download.status_code, 200)
        self.assertEqual(download["Content-Type"], "text/csv; charset=utf-8")
        rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
        api = {
            row["reviewer"]: row
            for row in self.get(self.editor, f"/projects/{self.project.pk}/reviewers/").json()[
                "reviewers"
            ]
        }
        self.assertEqual({row["reviewer"] for row in rows}, set(api))
        for row in rows:
            self.assertEqual(int(row["verdicts"]), api[row["reviewer"]]["verdicts"])
        for user, status in ((self.reviewer_a, 403), (self.outsider, 404)):
            client.force_login(user)
            for path in ("reviewers/", "reviewers.csv"):
                with self.subTest(user=user.username, path=path):
                    self.assertEqual(
                        client.get(f"/projects/{self.project.slug}/{path}").status_code, status
                    )
