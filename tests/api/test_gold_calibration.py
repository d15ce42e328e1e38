"""Gold calibration (issue 18), from a reviewer's side and an editor's.

The done-when test: everything a reviewer can read about a gold claim served to them for
calibration (API detail and list, verdicts, consensus, the lease and verdict answers, the
document's claims, the exports they may download, the claim page, its htmx fragment and
the reader) has the same fields, shape and review state as for an ordinary claim in
review, before and after their verdict; and the queue's work for a gold lease is the same
number of queries as for an ordinary one. Then: calibration verdicts never count toward
consensus, the editors' API (400 with field and reason, 403, 404, audit events) and
``gold_rate`` on the project.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from annotations import selectors, services
from annotations.api.serializers import ClaimSerializer
from annotations.models import Claim, ClaimStatus, Consensus, Event, GoldClaim, Verdict
from annotations.selectors.integrity import integrity_violations
from tests.api.base import ApiTestCase
from tests.factories import judge, make_claim

HX = {"HTTP_HX_REQUEST": "true"}
GOLD_TEXT = "crime fell 20%"
PLAIN_TEXT = "record low of 3.1%"


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys kept, leaves replaced by their type's name."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


class GoldCalibrationTestCase(ApiTestCase):
    """A gold claim (judged "false" by reviewer_b and reviewer_c, marked gold by the
    editor) and an ordinary claim in review that nobody has judged; gold_rate 0.5."""

    policy = {"required_reviews": 2}

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.gold = make_claim(document=cls.document, actor=cls.creator, exact=GOLD_TEXT)
        cls.plain = make_claim(document=cls.document, actor=cls.creator, exact=PLAIN_TEXT)
        judge(cls.gold, cls.reviewer_b, "false")
        judge(cls.gold, cls.reviewer_c, "false")
        cls.gold.refresh_from_db()
        assert cls.gold.status == ClaimStatus.RESOLVED
        services.gold_mark(claim=cls.gold, actor=cls.editor, rating="false", note="Police data")
        services.project_update(project=cls.project, actor=cls.admin, gold_rate=0.5)
        cls.project.refresh_from_db()

    def test_the_claims_list_and_detail_are_what_the_claim_serializer_writes(self) -> None:
        # Every claim the API answers is written by serializers.claim_data: the list and
        # the detail must stay what ClaimSerializer (the schema) writes of the claims as
        # each user is shown them: the gold claim resolved, with its consensus, for the
        # editor; in review, without one, for a reviewer who has not judged it.
        for user, gold_status in ((self.editor, "resolved"), (self.reviewer_a, "in_review")):
            with self.subTest(user=user.username):
                expected = {
                    claim.pk: json.loads(
                        JSONRenderer().render(
                            ClaimSerializer(selectors.claim_presented(pk=claim.pk, user=user)).data
                        )
                    )
                    for claim in (self.gold, self.plain)
                }
                self.assertEqual(expected[self.gold.pk]["status"], gold_status)
                listed = self.get(user, "/claims/").json()["results"]
                self.assertEqual({claim["id"]: claim for claim in listed}, expected)
                for pk, body in expected.items():
                    self.assertEqual(self.get(user, f"/claims/{pk}/").json(), body)

    def lease_via_api(self, user: Any, want: Claim) -> dict[str, Any]:
        """POST /queue/next/ until it hands ``want`` (releasing anything else): the draw is
        seeded by the reviewer's lease count, so each retry draws again."""
        for _ in range(60):
            response = self.post(user, "/queue/next/", {"project": self.project.pk})
            self.assertEqual(response.status_code, 200, response.content)
            body = response.json()
            if body["claim"]["id"] == want.pk:
                return body
            released = self.post(user, f"/claims/{body['claim']['id']}/release/")
            self.assertEqual(released.status_code, 204)
        self.fail(f"the queue never served claim {want.pk}")


class GoldLooksOrdinaryTests(GoldCalibrationTestCase):
    maxDiff = None

    def ui(self, user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def normalized_html(self, html: str, claim: Claim) -> str:
        """The page with what differs between any two claims taken out: their own texts,
        ids, times and tokens (digits), never markup, classes or labels."""
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "csrf", html)
        html = re.sub(r'nonce="[^"]*"', "nonce", html)
        html = re.sub(r'"X-CSRFToken": "[^"]*"', "csrf", html)
        for text in sorted(
            {claim.statement, claim.exact, claim.prefix, claim.suffix} - {""}, key=len, reverse=True
        ):
            for form in {text, text.replace("'", "&#x27;"), text.replace("&", "&amp;")}:
                html = html.replace(form, "TEXT")
        return re.sub(r"\d+", "0", html)

    def reader_item(self, html: str, claim: Claim) -> str:
        match = re.search(rf'<li id="claim-{claim.pk}".*?</li>', html, re.S)
        assert match is not None
        return match.group(0)

    def views(self, claim: Claim) -> dict[str, Any]:
        """Everything reviewer_a can read about ``claim`` (JSON as shapes plus the review
        state values; HTML normalized)."""
        a = self.reviewer_a
        c, d, p = claim.pk, self.document.pk, self.project.pk
        detail = self.get(a, f"/claims/{c}/").json()
        listed = {
            row["id"]: row for row in self.get(a, "/claims/", {"document": d}).json()["results"]
        }
        in_review = [
            r["id"] for r in self.get(a, "/claims/", {"status": "in_review"}).json()["results"]
        ]
        resolved = [
            r["id"] for r in self.get(a, "/claims/", {"status": "resolved"}).json()["results"]
        ]
        verdicts = self.get(a, f"/claims/{c}/verdicts/").json()
        history = self.get(a, f"/claims/{c}/verdicts/", {"history": "1"}).json()
        consensus = self.get(a, f"/claims/{c}/consensus/").json()
        with_claims = self.get(a, f"/documents/{d}/", {"include": "claims"}).json()
        included = {row["id"]: row for row in with_claims["claims"]}
        native = json.loads(self.get(a, f"/documents/{d}/export/", {"format": "json"}).content)
        exported = {row["id"]: row for row in native["claims"]}
        annotations = json.loads(
            self.get(a, f"/documents/{d}/export/", {"format": "webannotation"}).content
        )
        annotation = next(
            item for item in annotations if item["id"].rstrip("/").endswith(f"/claims/{c}")
        )
        stream = self.client_for(a).get(f"/api/v1/projects/{p}/export/", {"format": "jsonl"})
        rows = [json.loads(line) for line in b"".join(stream.streaming_content).splitlines()]
        row = next(item for item in rows if item["id"] == c)
        client = self.ui(a)
        page = client.get(claim.get_absolute_url()).content.decode()
        fragment = client.get(claim.get_absolute_url(), **HX).content.decode()
        reader = client.get(self.document.get_absolute_url()).content.decode()
        return {
            "state": {
                "status": (detail["status"], listed[c]["status"], included[c]["status"]),
                "consensus": (detail["consensus"], listed[c]["consensus"], consensus),
                "export status": (exported[c]["status"], row["status"]),
                "export consensus": (exported[c]["consensus"], row["consensus"]),
                "in the in-review list": c in in_review,
                "in the resolved list": c in resolved,
                "verdicts": [(v["reviewer"], v["rating"], v["post_reveal"]) for v in verdicts],
                "exported verdicts": [v["reviewer"] for v in exported[c]["verdicts"]],
                "page says gold": "gold" in page.lower(),
            },
            "shapes": {
                "detail": shape(detail),
                "list": shape(listed[c]),
                "verdicts": shape(verdicts),
                "history": shape(history),
                "consensus": shape(consensus),
                "document claims": shape(included[c]),
                "export json": shape(exported[c]),
                "export webannotation": shape(annotation),
                "export jsonl": shape(row),
            },
            "html": {
                "claim page": self.normalized_html(page, claim),
                "claim page fragment": self.normalized_html(fragment, claim),
                "reader item": self.normalized_html(self.reader_item(reader, claim), claim),
            },
        }

    def own_figures(self) -> tuple[int, int, int, int]:
        """reviewer_a's dashboard and agreement figures: verdicts, claims, the verdicts in
        the rating distribution, and those rated "true" in it."""
        report = self.get(self.reviewer_a, f"/projects/{self.project.pk}/agreement/").json()
        dashboard = selectors.project_dashboard_get(project=self.project, user=self.reviewer_a)
        counts = {row.key: row.count for row in dashboard.verdict_distribution}
        return report["verdicts"], report["claims"], sum(counts.values()), counts["true"]

    def assert_same(self, gold: dict[str, Any], plain: dict[str, Any]) -> None:
        for part in ("state", "shapes", "html"):
            for name in plain[part]:
                with self.subTest(part=part, view=name):
                    self.assertEqual(gold[part][name], plain[part][name])

    def test_a_gold_claim_reads_like_an_ordinary_claim_in_review_before_and_after_a_verdict(
        self,
    ) -> None:
        a = self.reviewer_a
        figures = [self.own_figures()]
        gold_lease = self.lease_via_api(a, self.gold)
        leased_gold = self.views(self.gold)
        gold_verdict = self.post(
            a, f"/claims/{self.gold.pk}/verdicts/", {"rating": "true", "confidence": "high"}
        )
        self.assertEqual(gold_verdict.status_code, 201, gold_verdict.content)
        judged_gold = self.views(self.gold)
        figures.append(self.own_figures())

        # The gold claim is judged by reviewer_a now: the queue has only the ordinary one.
        plain_lease = self.lease_via_api(a, self.plain)
        leased_plain = self.views(self.plain)
        plain_verdict = self.post(
            a, f"/claims/{self.plain.pk}/verdicts/", {"rating": "true", "confidence": "high"}
        )
        self.assertEqual(plain_verdict.status_code, 201, plain_verdict.content)
        judged_plain = self.views(self.plain)
        figures.append(self.own_figures())
        # The reviewer's own figures (dashboard, agreement) move the same way for both.
        self.assertEqual(
            [after - before for before, after in zip(figures[0], figures[1], strict=True)],
            [after - before for before, after in zip(figures[1], figures[2], strict=True)],
        )
        self.assertEqual(figures[1][0] - figures[0][0], 1)

        self.assertEqual(shape(gold_lease), shape(plain_lease))
        self.assertEqual(gold_lease["claim"]["status"], plain_lease["claim"]["status"])
        self.assertIsNone(gold_lease["claim"]["consensus"])
        self.assertEqual(shape(gold_verdict.json()), shape(plain_verdict.json()))
        for key in ("rating", "revision", "is_current", "post_reveal", "reviewer"):
            self.assertEqual(gold_verdict.json()[key], plain_verdict.json()[key], key)
        self.assert_same(leased_gold, leased_plain)
        self.assert_same(judged_gold, judged_plain)
        # What the reviewer sees is a claim in review with their own verdict only.
        self.assertEqual(judged_gold["state"]["status"], ("in_review",) * 3)
        self.assertEqual(judged_gold["state"]["verdicts"], [("reviewer_a", "true", False)])
        self.assertFalse(judged_gold["state"]["page says gold"])

    def test_taking_a_gold_claim_from_its_page_is_like_taking_an_ordinary_one(self) -> None:
        """ "Review this claim" (``POST /claims/{id}/lease/``) on a gold claim gives a
        calibration lease, answered like a lease on an ordinary claim in review."""
        from annotations.models import Assignment

        a = self.reviewer_a
        client = self.ui(a)
        pages = {
            claim.pk: self.normalized_html(
                client.get(claim.get_absolute_url()).content.decode(), claim
            )
            for claim in (self.gold, self.plain)
        }
        self.assertEqual(pages[self.gold.pk], pages[self.plain.pk])
        self.assertIn("Review this claim", pages[self.gold.pk])
        taken = {}
        for claim in (self.gold, self.plain):
            response = self.post(a, f"/claims/{claim.pk}/lease/")
            self.assertEqual(response.status_code, 200, response.content)
            taken[claim.pk] = response.json()
            self.assertEqual(self.post(a, f"/claims/{claim.pk}/release/").status_code, 204)
        self.assertEqual(shape(taken[self.gold.pk]), shape(taken[self.plain.pk]))
        self.assertEqual(taken[self.gold.pk]["claim"]["status"], "in_review")
        self.assertIsNone(taken[self.gold.pk]["claim"]["consensus"])
        self.assertEqual(
            list(
                Assignment.objects.filter(reviewer=a)
                .order_by("id")
                .values_list("claim_id", "calibration")
            ),
            [(self.gold.pk, True), (self.plain.pk, False)],
        )
        # A verdict under a lease taken from the page is a calibration verdict.
        self.post(a, f"/claims/{self.gold.pk}/lease/")
        verdict = self.post(
            a, f"/claims/{self.gold.pk}/verdicts/", {"rating": "true", "confidence": "high"}
        )
        self.assertEqual(verdict.status_code, 201, verdict.content)
        self.gold.refresh_from_db()
        self.assertEqual(self.gold.status, ClaimStatus.RESOLVED)
        self.assertTrue(Verdict.objects.get(claim=self.gold, reviewer=a).calibration)

    def test_the_reviewers_dashboard_counts_a_gold_claim_as_in_review(self) -> None:
        def counts(user: Any) -> dict[str, int]:
            dashboard = selectors.project_dashboard_get(project=self.project, user=user)
            return {row.status: row.count for row in dashboard.status_counts}

        self.assertEqual(counts(self.reviewer_a)["in_review"], 2)
        self.assertEqual(counts(self.reviewer_a)["resolved"], 0)
        # Those who judged it for real, and editors, see it as it is.
        self.assertEqual(counts(self.reviewer_b)["resolved"], 1)
        self.assertEqual(counts(self.editor)["resolved"], 1)

        def open_claims(user: Any) -> int:
            summaries = selectors.project_summaries_for_user(user=user)
            return summaries.get(pk=self.project.pk).open_claim_count

        self.assertEqual(open_claims(self.reviewer_a), 2)
        self.assertEqual(open_claims(self.reviewer_b), 1)
        self.assertEqual(open_claims(self.editor), 1)

    def test_reviewers_are_not_told_the_gold_rate(self) -> None:
        self.assertIsNone(
            self.get(self.reviewer_a, f"/projects/{self.project.pk}/").json()["gold_rate"]
        )
        self.assertEqual(
            self.get(self.editor, f"/projects/{self.project.pk}/").json()["gold_rate"], 0.5
        )

    def test_a_gold_lease_costs_the_queue_the_same_queries_as_an_ordinary_one(self) -> None:
        counts: dict[bool, int] = {}
        for _ in range(60):
            with CaptureQueriesContext(connection) as queries:
                lease = services.lease_next(reviewer=self.reviewer_a, project=self.project)
            assert lease is not None
            counts.setdefault(lease.calibration, len(queries))
            services.lease_release(claim=lease.claim, reviewer=self.reviewer_a)
            if len(counts) == 2:
                break
        self.assertEqual(set(counts), {True, False})
        self.assertEqual(counts[True], counts[False])


class GoldAfterTheProbeTests(GoldCalibrationTestCase):
    """What the outside probe found: a gold claim's urgency and deadline, its creator's
    view, and the discussion must not tell it apart from an ordinary claim."""

    def test_a_gold_claim_shows_no_urgency_or_deadline_to_reviewers(self) -> None:
        import datetime as dt

        services.claim_schedule(
            claim=Claim.objects.get(pk=self.gold.pk),
            actor=self.editor,
            priority="urgent",
            due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
        seen = self.get(self.reviewer_a, f"/claims/{self.gold.pk}/").json()
        plain = self.get(self.reviewer_a, f"/claims/{self.plain.pk}/").json()
        for key in ("status", "priority", "due_at", "overdue"):
            self.assertEqual(seen[key], plain[key], key)
        # Nor when it last changed (the outside probe): its resolution and the schedule
        # moved updated_at. It shows its creation time, as the plain claim in review does
        # (a new claim's two times are one value: models.UpdatedAtField).
        self.assertEqual(plain["updated_at"], plain["created_at"])
        self.assertEqual(seen["updated_at"], seen["created_at"])
        self.assertNotEqual(
            Claim.objects.get(pk=self.gold.pk).updated_at,
            Claim.objects.get(pk=self.gold.pk).created_at,
        )
        document = self.get(
            self.reviewer_a, f"/documents/{self.gold.document_id}/", {"include": "claims"}
        ).json()
        (in_read,) = [c for c in document["claims"] if c["id"] == self.gold.pk]
        self.assertEqual(in_read, seen)
        # The dashboard's overdue list agrees (it lists neither).
        client = Client()
        client.force_login(self.reviewer_a)
        dashboard = client.get(self.project.get_absolute_url())
        self.assertContains(dashboard, "No claim is overdue.")
        # Editors see the truth.
        truth = self.get(self.editor, f"/claims/{self.gold.pk}/").json()
        self.assertEqual((truth["status"], truth["priority"]), ("resolved", "urgent"))

    def test_its_creator_sees_it_as_it_is(self) -> None:
        seen = self.get(self.creator, f"/claims/{self.gold.pk}/").json()
        self.assertEqual(seen["status"], "resolved")
        self.assertIsNotNone(seen["consensus"])

    def test_the_editors_notes_on_a_gold_claim_are_not_shown_to_reviewers_it_masks(
        self,
    ) -> None:
        note = services.comment_create(
            claim=self.gold, author=self.editor, body="Decided: false.", visibility="everyone"
        )
        plain_note = services.comment_create(
            claim=self.plain, author=self.editor, body="Look at 2019.", visibility="everyone"
        )

        def thread(user: Any, claim: Claim) -> list[int]:
            return [c["id"] for c in self.get(user, f"/claims/{claim.pk}/comments/").json()]

        self.assertEqual(thread(self.reviewer_a, self.gold), [])
        self.assertEqual(thread(self.reviewer_a, self.plain), [plain_note.pk])
        # Its real reviewers, its creator and the editors read it.
        for user in (self.reviewer_b, self.creator, self.editor):
            self.assertEqual(thread(user, self.gold), [note.pk])
        # The same rule outside the thread (admin panel, notices): access.comment_scope_for_user.
        from annotations import access
        from annotations.models import Comment

        self.assertFalse(
            access.comment_scope_for_user(
                user=self.reviewer_a, queryset=Comment.objects.filter(pk=note.pk)
            ).exists()
        )

    def test_a_calibrating_reviewers_comments_stay_theirs_and_the_editors(self) -> None:
        from annotations.models import Notification

        blind = services.comment_create(
            claim=self.gold, author=self.reviewer_b, body="Police data, @reviewer_a"
        )
        self.lease_via_api(self.reviewer_a, self.gold)
        verdict = self.post(
            self.reviewer_a,
            f"/claims/{self.gold.pk}/verdicts/",
            {"rating": "true", "confidence": "high"},
        )
        self.assertEqual(verdict.status_code, 201, verdict.content)
        mine = self.post(
            self.reviewer_a, f"/claims/{self.gold.pk}/comments/", {"body": "Hm @reviewer_b"}
        )
        self.assertEqual(mine.status_code, 201, mine.content)

        def thread(user: Any) -> list[int]:
            return [c["id"] for c in self.get(user, f"/claims/{self.gold.pk}/comments/").json()]

        # The real reviewers do not see the calibrating reviewer's comment, nor its mention.
        self.assertEqual(thread(self.reviewer_b), [blind.pk])
        self.assertEqual(thread(self.reviewer_c), [blind.pk])
        self.assertEqual(self.get(self.reviewer_b, "/notifications/").json()["results"], [])
        # The calibrating reviewer sees a claim in review whose others have not spoken:
        # no blind comment, and no mention notice pointing at one.
        self.assertEqual(thread(self.reviewer_a), [mine.json()["id"]])
        self.assertFalse(
            [
                n
                for n in self.get(self.reviewer_a, "/notifications/").json()["results"]
                if n["kind"] == "mentioned"
            ]
        )
        self.assertTrue(
            Notification.objects.filter(recipient=self.reviewer_a, kind="mentioned").exists()
        )
        # Editors see both.
        self.assertEqual(sorted(thread(self.editor)), sorted([blind.pk, mine.json()["id"]]))


class CalibrationVerdictsTests(GoldCalibrationTestCase):
    def test_a_disagreeing_calibration_verdict_changes_no_consensus_nor_status(self) -> None:
        consensus_before = list(
            Consensus.objects.filter(claim=self.gold).values_list("pk", "rating__key", "is_current")
        )
        agreement_before = selectors.agreement_report(project=self.project, user=self.editor)
        self.lease_via_api(self.reviewer_a, self.gold)
        response = self.post(
            self.reviewer_a,
            f"/claims/{self.gold.pk}/verdicts/",
            {"rating": "true", "confidence": "low", "rationale": "I think it is true."},
        )
        self.assertEqual(response.status_code, 201, response.content)
        # A revision stays a calibration verdict, and changes nothing either.
        revised = self.post(
            self.reviewer_a,
            f"/claims/{self.gold.pk}/verdicts/",
            {"rating": "half_true", "confidence": "low"},
        )
        self.assertEqual(revised.status_code, 201, revised.content)
        self.gold.refresh_from_db()
        self.assertEqual(self.gold.status, ClaimStatus.RESOLVED)
        self.assertEqual(
            list(
                Consensus.objects.filter(claim=self.gold).values_list(
                    "pk", "rating__key", "is_current"
                )
            ),
            consensus_before,
        )
        self.assertTrue(
            Verdict.objects.filter(
                reviewer=self.reviewer_a, calibration=True, is_current=True
            ).exists()
        )
        agreement_after = selectors.agreement_report(project=self.project, user=self.editor)
        self.assertEqual(agreement_after, agreement_before)
        # Never shown to the reviewers who judged the claim for real.
        seen_by_b = self.get(
            self.reviewer_b, f"/claims/{self.gold.pk}/verdicts/", {"history": "1"}
        ).json()
        self.assertEqual({v["reviewer"] for v in seen_by_b}, {"reviewer_b", "reviewer_c"})
        # The editors see it with the gold mark.
        gold = self.get(self.editor, f"/claims/{self.gold.pk}/gold/").json()
        self.assertEqual(gold["rating"], "false")
        self.assertEqual(
            [(v["reviewer"], v["rating"]) for v in gold["calibration_verdicts"]],
            [("reviewer_a", "half_true")],
        )
        page = self.client
        page.force_login(self.editor)
        html = page.get(self.gold.get_absolute_url()).content.decode()
        self.assertIn("badge-gold", html)
        self.assertIn("Calibration verdicts", html)
        # Integrity holds: calibration verdicts stay apart, events match their rows.
        self.assertEqual(list(integrity_violations(self.project.pk)), [])

    def test_gold_is_not_served_to_who_judged_it_created_it_or_edits(self) -> None:
        for user in (self.reviewer_b, self.creator, self.editor):
            for _ in range(10):
                lease = services.lease_next(reviewer=user, project=self.project)
                if lease is None:
                    break
                self.assertNotEqual(lease.claim_id, self.gold.pk, user)
                services.lease_release(claim=lease.claim, reviewer=user)


class GoldApiTests(GoldCalibrationTestCase):
    def test_marking_needs_a_resolved_claim_and_a_rating_of_the_scale(self) -> None:
        counts = GoldClaim.objects.count(), Event.objects.count()
        bad = self.post(self.editor, f"/claims/{self.plain.pk}/gold/", {"rating": "nope"})
        self.assertEqual(bad.status_code, 409, bad.content)  # state first: not resolved
        services.gold_unmark(claim=self.gold, actor=self.editor)
        counts = GoldClaim.objects.count(), Event.objects.count()
        for body, field in (
            ({"rating": "nope"}, "rating"),
            ({"rating": 5}, "rating"),
            ({"note": "x" * 6000}, "note"),
            ({"colour": "red"}, "colour"),
        ):
            with self.subTest(body=body):
                response = self.post(self.editor, f"/claims/{self.gold.pk}/gold/", body)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(field, response.json())
                self.assertTrue(
                    response.json()[field][0]
                    if isinstance(response.json()[field], list)
                    else response.json()[field]
                )
                self.assertEqual((GoldClaim.objects.count(), Event.objects.count()), counts)

    def test_mark_and_unmark_are_audited(self) -> None:
        marked = self.post(
            self.editor,
            f"/claims/{self.gold.pk}/gold/",
            {"rating": "mostly_false", "note": "Better yardstick"},
        )
        self.assertEqual(marked.status_code, 200, marked.content)
        self.assertEqual(marked.json()["rating"], "mostly_false")
        event = Event.objects.filter(verb="claim.gold_mark").latest("seq")
        self.assertEqual(event.before["rating"], "false")
        self.assertEqual(event.after["rating"], "mostly_false")
        self.assertEqual(
            self.client_for(self.editor).delete(f"/api/v1/claims/{self.gold.pk}/gold/").status_code,
            204,
        )
        event = Event.objects.filter(verb="claim.gold_unmark").latest("seq")
        self.assertEqual(event.before["rating"], "mostly_false")
        self.assertFalse(GoldClaim.objects.filter(claim=self.gold).exists())

    def test_reviewers_get_403_and_outsiders_404(self) -> None:
        for method, path in (
            ("get", f"/claims/{self.gold.pk}/gold/"),
            ("post", f"/claims/{self.gold.pk}/gold/"),
            ("delete", f"/claims/{self.gold.pk}/gold/"),
            ("get", f"/projects/{self.project.pk}/reviewers/"),
        ):
            for user, status in ((self.reviewer_a, 403), (self.outsider, 404)):
                with self.subTest(method=method, path=path, user=user.username):
                    response = getattr(self.client_for(user), method)(
                        "/api/v1" + path, {}, format="json"
                    )
                    self.assertEqual(response.status_code, status)
                    self.assertNotIn(b"gold_rate", response.content)

    def test_gold_rate_is_an_admin_setting_with_field_errors(self) -> None:
        for value in (-0.1, 0.9, "lots"):
            with self.subTest(value=value):
                response = self.patch(
                    self.admin, f"/projects/{self.project.pk}/", {"gold_rate": value}
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn("gold_rate", response.json())
        response = self.patch(self.admin, f"/projects/{self.project.pk}/", {"gold_rate": 0.05})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["gold_rate"], 0.05)
        event = Event.objects.filter(verb="project.update").latest("seq")
        self.assertEqual((event.before["gold_rate"], event.after["gold_rate"]), (0.5, 0.05))
        self.assertEqual(
            self.patch(
                self.editor, f"/projects/{self.project.pk}/", {"gold_rate": 0.1}
            ).status_code,
            403,
        )
        # minus zero is zero: stored, recorded and answered without its sign
        response = self.patch(self.admin, f"/projects/{self.project.pk}/", {"gold_rate": -0.0})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIn(b'"gold_rate":0.0', response.content.replace(b" ", b""))
        self.project.refresh_from_db()
        event = Event.objects.filter(verb="project.update").latest("seq")
        self.assertEqual(
            [math.copysign(1, v) for v in (self.project.gold_rate, event.after["gold_rate"])],
            [1.0, 1.0],
        )


class GoldStaysResolvedTests(GoldCalibrationTestCase):
    def test_a_gold_claim_is_not_published_reopened_or_withdrawn_until_unmarked(self) -> None:
        g = self.gold.pk
        for path, body in (
            (f"/claims/{g}/publish/", {"summary": "Police data show a rise."}),
            (f"/claims/{g}/reopen/", {"note": "New data."}),
            (f"/claims/{g}/withdraw/", {"reason": "Duplicate."}),
        ):
            with self.subTest(path=path):
                events = Event.objects.count()
                response = self.post(self.editor, path, body)
                self.assertEqual(response.status_code, 409, response.content)
                self.assertIn("gold", response.json()["detail"])
                self.assertEqual(Event.objects.count(), events)
        self.gold.refresh_from_db()
        self.assertEqual(self.gold.status, ClaimStatus.RESOLVED)
        services.gold_unmark(claim=self.gold, actor=self.editor)
        response = self.post(self.editor, f"/claims/{g}/publish/", {"summary": "Police data."})
        self.assertEqual(response.status_code, 201, response.content)


class CalibrationRevisionTests(GoldCalibrationTestCase):
    def test_a_calibration_verdict_is_revised_only_while_its_claim_is_gold(self) -> None:
        self.lease_via_api(self.reviewer_a, self.gold)
        path = f"/claims/{self.gold.pk}/verdicts/"
        body = {"rating": "true", "confidence": "high"}
        revised = {**body, "confidence": "medium"}
        self.assertEqual(self.post(self.reviewer_a, path, body).status_code, 201)
        self.assertEqual(self.post(self.reviewer_a, path, revised).status_code, 201)
        services.gold_unmark(claim=self.gold, actor=self.editor)
        refused = self.post(self.reviewer_a, path, body)
        self.assertEqual(refused.status_code, 409, refused.content)
        # The current verdict sent again is no revision: answered as recorded.
        self.assertEqual(self.post(self.reviewer_a, path, revised).status_code, 200)
        self.assertEqual(
            Verdict.objects.filter(claim=self.gold, reviewer=self.reviewer_a).count(), 2
        )
