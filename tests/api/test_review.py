"""API: verdicts and blind review, then consensus, adjudication, reopening, publishing
and withdrawal (``/claims/{id}/verdicts/``, ``/consensus/``, ``/adjudicate/``, …)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from unittest import mock

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from annotations import selectors, services
from annotations.api.serializers import VerdictCreateSerializer, VerdictSerializer
from annotations.models import Assignment, AssignmentState, Claim, Event, Source, Verdict
from tests.api.base import CONSENSUS_FIELDS, VERDICT_FIELDS, ApiTestCase
from tests.factories import judge, make_claim


class VerdictApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def submit(self, user: AbstractBaseUser, **fields: Any) -> Response:
        body = {"rating": "false", "confidence": "high", **fields}
        return self.post(user, f"/claims/{self.claim.pk}/verdicts/", body)

    def test_a_leased_reviewer_submits_a_verdict_with_citations(self) -> None:
        known = services.source_get_or_create(
            url="https://stats.example.org/crime", actor=self.reviewer_a, project=self.project
        )
        response = self.submit(
            self.reviewer_a,
            rationale="Police data shows a 12% fall.",
            citations=[
                {
                    "url": "https://police.example.gov/report?utm_source=x",
                    "quote": "fell 12%",
                    "stance": "refutes",
                },
                {"source": known.pk, "stance": "context"},
            ],
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), VERDICT_FIELDS)
        self.assertEqual(
            {
                k: body[k]
                for k in ("claim", "reviewer", "rating", "confidence", "revision", "is_current")
            },
            {
                "claim": self.claim.pk,
                "reviewer": "reviewer_a",
                "rating": "false",
                "confidence": "high",
                "revision": 1,
                "is_current": True,
            },
        )
        self.assertEqual([c["stance"] for c in body["citations"]], ["refutes", "context"])
        self.assertEqual(body["citations"][0]["quote"], "fell 12%")
        self.assertEqual(
            set(body["citations"][0]["source"]),
            {"id", "url", "title", "publisher", "published_date", "archive_url"},
        )
        self.assertEqual(body["citations"][1]["source"]["id"], known.pk)
        self.assertEqual(Source.objects.count(), 2)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.SUBMITTED
        )
        self.assertTrue(Event.objects.filter(verb="verdict.submit").exists())

    def test_the_verdict_is_answered_as_the_verdict_serializer_writes_it(self) -> None:
        # The verdict's answer is written by hand (serializers.verdict_data, the review
        # cycle's hot path): it must stay what VerdictSerializer, the documented schema,
        # writes for the verdict as the verdicts' list reads it, citations, sources (one
        # with its title, publisher, date and archive) and evidence included.
        known = services.source_get_or_create(
            url="https://stats.example.org/crime", actor=self.reviewer_a, project=self.project
        )
        Source.objects.filter(pk=known.pk).update(
            title="Crime statistics",
            publisher="Statistics Office",
            published_date=dt.date(2024, 3, 5),
            archive_url="https://archive.example.org/crime",
        )
        response = self.submit(
            self.reviewer_a,
            rationale="Police data shows a 12% fall.\nSee the table.",
            citations=[
                {
                    "url": "https://police.example.gov/report",
                    "quote": "fell 12%",
                    "stance": "refutes",
                },
                {"source": known.pk, "stance": "context"},
            ],
        )
        self.assertEqual(response.status_code, 201, response.content)
        (verdict,) = selectors.verdicts_visible_to(
            user=self.reviewer_a,
            claim=self.claim,
            membership=self.project.memberships.get(user=self.reviewer_a),
        )
        expected = json.loads(JSONRenderer().render(VerdictSerializer(verdict).data))
        self.assertEqual(response.json(), expected)
        self.assertEqual(expected["citations"][1]["source"]["published_date"], "2024-03-05")
        self.assertEqual(expected["citations"][0]["evidence"]["quote_status"], "no_snapshot")

    def test_a_plain_verdict_body_is_read_without_the_serializer(self) -> None:
        # The review cycle's hot path (parse_body's plain_body): a verdict sent as JSON of
        # the fields' own types never builds VerdictCreateSerializer.
        with mock.patch.object(
            VerdictCreateSerializer, "__init__", side_effect=AssertionError("serializer built")
        ):
            response = self.submit(
                self.reviewer_a,
                rationale="Checked.",
                citations=[{"url": "https://police.example.gov/r", "stance": "refutes"}],
            )
        self.assertEqual(response.status_code, 201, response.content)

    def test_the_same_verdict_posted_again_answers_200_with_the_recorded_one(self) -> None:
        # A double click: the second post finds the reviewer's verdict with this content
        # already current (the first closed the lease): nothing written, the verdict as
        # recorded, 200 instead of 201.
        fields = {
            "rationale": "Police data shows a 12% fall.",
            "citations": [
                {
                    "url": "https://police.example.gov/report",
                    "quote": "fell 12%",
                    "stance": "refutes",
                }
            ],
        }
        first = self.submit(self.reviewer_a, **fields)
        self.assertEqual(first.status_code, 201, first.content)
        with self.assertNothingWritten():
            again = self.submit(self.reviewer_a, **fields)
        self.assertEqual(again.status_code, 200, again.content)
        self.assertEqual(again.json(), first.json())
        self.assertEqual(Verdict.objects.filter(claim=self.claim).count(), 1)
        self.assertEqual(Event.objects.filter(object_type="verdict").count(), 1)
        # A changed citation is a revision, answered 201.
        fields["citations"][0]["quote"] = "fell by 12%"
        revised = self.submit(self.reviewer_a, **fields)
        self.assertEqual(revised.status_code, 201, revised.content)
        self.assertEqual(revised.json()["revision"], 2)
        self.assertEqual(Verdict.objects.filter(claim=self.claim).count(), 2)

    def test_a_first_verdict_needs_a_lease(self) -> None:
        with self.assertNothingWritten():
            response = self.submit(self.reviewer_b)
        self.assertDetail(response, 409, "Review next")

    def test_a_citation_is_named_by_its_index_from_0_whoever_refuses_it(self) -> None:
        # Outside probe: the services numbered citations from 1 ("Citation 2, url: …")
        # while the serializer keyed the same citation "1". Both now key it by its index
        # in the list sent, as the API keys every list's items.
        ok = {"url": "https://example.org/", "stance": "supports"}
        cases = [
            # The serializer's refusal.
            ({**ok, "stance": "agrees"}, {"stance": ['"agrees" is not a valid choice.']}),
            # The services' refusals.
            (
                {**ok, "url": "http://127.0.0.1/x"},
                {"url": ["Only public sites are accepted: the address 127.0.0.1 is a loopback"]},
            ),
            ({**ok, "source": 10**9}, {"url": ["Give either the source's URL or the id"]}),
        ]
        for second, expected in cases:
            with self.subTest(second), self.assertNothingWritten():
                response = self.submit(self.reviewer_a, citations=[ok, second])
                self.assertEqual(response.status_code, 400, response.content)
                [(index, fields)] = response.json()["citations"].items()
                self.assertEqual((index, list(fields)), ("1", list(expected)))
                [(field, [prefix])] = expected.items()
                self.assertTrue(fields[field][0].startswith(prefix), fields)
        # A number in a citation is read in ASCII digits only (InputSerializer): "٣",
        # " 3", "3.0" and 3.0 were the source with id 3.
        for source, message in [
            ("\u0663", "Enter a whole number in ASCII digits."),
            (" 3", "Enter a whole number in ASCII digits."),
            ("3.0", "Enter a whole number in ASCII digits."),
            (3.0, "Enter a whole number."),
        ]:
            with self.subTest(source=source), self.assertNothingWritten():
                response = self.submit(
                    self.reviewer_a, citations=[ok, {"source": source, "stance": "supports"}]
                )
            self.assertEqual(response.status_code, 400, response.content)
            self.assertEqual(response.json(), {"citations": {"1": {"source": [message]}}})
        # What concerns the citations as a whole goes beside them, as DRF puts a list's own.
        self.project.min_citations = 3
        self.project.save(update_fields=["min_citations"])
        with self.assertNothingWritten():
            response = self.submit(
                self.reviewer_a, citations=[{**ok, "url": "http://10.0.0.1/"}, ok]
            )
        self.assertEqual(response.status_code, 400, response.content)
        body = response.json()["citations"]
        self.assertEqual(list(body), ["0", "non_field_errors"])
        self.assertIn("10.0.0.1 is a private address", body["0"]["url"][0])
        self.assertEqual(
            body["non_field_errors"],
            ["This project's evidence policy requires at least 3 citations per verdict."],
        )

    def test_bad_verdicts_are_refused_with_the_reason_and_nothing_is_written(self) -> None:
        known = services.source_get_or_create(
            url="https://stats.example.org/crime", actor=self.reviewer_a, project=self.project
        )

        def cite(**fields: Any) -> list[dict[str, Any]]:
            return [{"url": "https://example.org/", "stance": "supports", **fields}]

        cases = [
            (
                "unknown rating",
                {"rating": "pants_on_fire"},
                "rating",
                "Unknown rating 'pants_on_fire'",
                "mostly_true",
            ),
            ("missing rating", {"rating": None}, "rating", "may not be null"),
            (
                "bad confidence",
                {"confidence": "certain"},
                "confidence",
                '"certain" is not a valid choice',
            ),
            ("long rationale", {"rationale": "r" * 20001}, "rationale", "20000"),
            (
                "NUL in rationale",
                {"rationale": "Police\x00data."},
                "rationale",
                "Null characters are not allowed",
            ),
            ("NUL in a quote", {"citations": cite(quote="3\x00%")}, "citations", "Null"),
            (
                "javascript url",
                {"citations": cite(url="javascript:alert(1)")},
                "citations",
                "http and https",
            ),
            (
                "data url",
                {"citations": cite(url="data:text/html,<b>x</b>")},
                "citations",
                "http and https",
            ),
            (
                "ftp url",
                {"citations": cite(url="ftp://example.org/file")},
                "citations",
                "http and https",
            ),
            ("no host", {"citations": cite(url="https://")}, "citations", "host name"),
            (
                "unknown stance",
                {"citations": cite(stance="agrees")},
                "citations",
                '"agrees" is not a valid choice',
            ),
            (
                "no url nor source",
                {"citations": [{"stance": "supports"}]},
                "citations",
                "URL or the id",
            ),
            (
                "both a url and a source",
                {"citations": cite(source=known.pk)},
                "citations",
                "{'0': {'url': [",
                "not both",
            ),
            (
                "unknown source",
                {"citations": [{"source": 10**9, "stance": "supports"}]},
                "citations",
                "No source with id",
            ),
            ("citations not a list", {"citations": "https://example.org/"}, "citations", "list"),
            *(
                (f"internal {url}", {"citations": cite(url=url)}, "citations", reason)
                for url, reason in [
                    ("http://127.0.0.1/x", "127.0.0.1 is a loopback address"),
                    ("http://169.254.169.254/latest/meta-data", "link-local"),
                    ("http://[::1]/", "::1 is a loopback address"),
                    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
                    ("http://localhost/", "localhost is this server itself"),
                    ("http://0.0.0.0/", "unspecified"),
                    ("http://[::ffff:127.0.0.1]/", "loopback"),
                    ("http://2130706433/", "2130706433 is numeric shorthand"),
                    ("http://0x7f.1/", "0x7f.1 is numeric shorthand"),
                ]
            ),
            ("too many citations", {"citations": cite() * 51}, "citations", "50"),
        ]
        for label, fields, field, *reasons in cases:
            with self.subTest(label), self.assertNothingWritten():
                self.assertFieldError(self.submit(self.reviewer_a, **fields), field, *reasons)
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_blind_review_hides_other_verdicts_until_the_caller_has_submitted(self) -> None:
        url = f"/claims/{self.claim.pk}/verdicts/"

        def reviewers(user: AbstractBaseUser, **params: Any) -> list[tuple[str, int]]:
            response = self.get(user, url, params)
            self.assertEqual(response.status_code, 200, response.content)
            return [(v["reviewer"], v["revision"]) for v in response.json()]

        self.submit(self.reviewer_a, rating="false")
        services.lease_next(reviewer=self.reviewer_b, project=self.project)
        self.assertEqual(reviewers(self.reviewer_a), [("reviewer_a", 1)])
        self.assertEqual(reviewers(self.reviewer_b), [])  # leased, not submitted yet
        self.assertEqual(reviewers(self.creator), [])
        self.assertEqual(reviewers(self.editor), [("reviewer_a", 1)])
        self.assertEqual(reviewers(self.admin), [("reviewer_a", 1)])

        # A revision before consensus is a new row; the old one is history.
        self.assertEqual(self.submit(self.reviewer_a, rating="mostly_false").status_code, 201)
        self.assertEqual(reviewers(self.reviewer_a), [("reviewer_a", 2)])
        self.assertEqual(
            reviewers(self.reviewer_a, history="true"), [("reviewer_a", 1), ("reviewer_a", 2)]
        )
        self.assertEqual(reviewers(self.reviewer_b, history="true"), [])
        self.assertEqual(reviewers(self.creator, history="1"), [])
        self.assertEqual(
            reviewers(self.editor, history="true"), [("reviewer_a", 1), ("reviewer_a", 2)]
        )
        # One rule for a boolean: true/1 (true and false in any case), false/0, empty is
        # left out; anything else is a 400 naming it, never read as false.
        for value in ("TRUE", "True", "1"):
            self.assertEqual(len(reviewers(self.editor, history=value)), 2, value)
        for value in ("false", "FALSE", "0", ""):
            self.assertEqual(reviewers(self.editor, history=value), [("reviewer_a", 2)], value)
        for value in ("yes", "on", "maybe"):
            self.assertFieldError(
                self.get(self.editor, f"/claims/{self.claim.pk}/verdicts/", {"history": value}),
                "history",
                "Enter true or false (or 1 or 0).",
            )

        self.assertEqual(self.submit(self.reviewer_b, rating="true").status_code, 201)
        self.assertEqual(reviewers(self.reviewer_b), [("reviewer_a", 2), ("reviewer_b", 1)])
        self.assertEqual(len(reviewers(self.reviewer_b, history="true")), 3)
        self.assertEqual(reviewers(self.reviewer_c), [])  # never reviewed it
        self.assertEqual(reviewers(self.creator), [])

    def test_verdicts_cannot_be_revised_once_consensus_is_recorded(self) -> None:
        self.submit(self.reviewer_a, rating="false")
        judge(self.claim, self.reviewer_b, "false")
        with self.assertNothingWritten():
            response = self.submit(self.reviewer_a, rating="true")
        self.assertDetail(response, 409, "Consensus has been recorded")
        # The verdict as recorded, posted again (the second click of the deciding one):
        # no conflict, nothing written.
        with self.assertNothingWritten():
            response = self.submit(self.reviewer_a, rating="false")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual((response.json()["rating"], response.json()["revision"]), ("false", 1))


# --- consensus, adjudication, publishing, withdrawal ----------------------------------------------


class ReviewOutcomeApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.disputed = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.disputed, cls.reviewer_a, "true")
        judge(cls.disputed, cls.reviewer_b, "false")
        cls.resolved = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        judge(cls.resolved, cls.reviewer_a, "mostly_true")
        judge(cls.resolved, cls.reviewer_b, "mostly_true")
        cls.open = make_claim(document=cls.document, actor=cls.creator, exact="Others disagree")

    def claim_url(self, claim: Claim, action: str = "") -> str:
        return f"/claims/{claim.pk}/{action + '/' if action else ''}"

    def test_an_agreed_claim_is_resolved_with_a_unanimous_consensus(self) -> None:
        response = self.get(self.reviewer_c, self.claim_url(self.resolved, "consensus"))
        self.assertEqual(response.status_code, 200)
        [record] = response.json()
        self.assertEqual(set(record), CONSENSUS_FIELDS)
        self.assertEqual(
            {
                k: record[k]
                for k in ("sequence", "rating", "method", "agreement", "decided_by", "is_current")
            },
            {
                "sequence": 1,
                "rating": "mostly_true",
                "method": "unanimous",
                "agreement": 1.0,
                "decided_by": None,
                "is_current": True,
            },
        )
        claim = self.get(self.reviewer_c, self.claim_url(self.resolved)).json()
        self.assertEqual(claim["status"], "resolved")
        self.assertEqual(claim["consensus"]["rating"], "mostly_true")

    def test_a_revised_claim_hides_its_earlier_outcome_until_the_reviewer_judges_it(
        self,
    ) -> None:
        # Blind review (access.can_see_consensus): once revised, the claim collects verdicts
        # again, and a reviewer still to judge it must not learn how it was judged before:
        # not from its consensus history, the claim page or the document's export. Editors
        # and the reviewers who judged the new version see it. (The outside probe.)
        services.claim_revise(
            claim=self.resolved,
            actor=self.editor,
            expected_version=self.resolved.version,
            statement="Unemployment reached a record low of 3.1% in March.",
            note="The month matters.",
        )
        services.lease_claim(claim=self.resolved, reviewer=self.reviewer_c)
        history = self.claim_url(self.resolved, "consensus")
        self.assertEqual(self.get(self.reviewer_c, history).json(), [])
        export = self.get(self.reviewer_c, f"/documents/{self.document.pk}/export/")
        self.assertEqual(export.status_code, 200, export.content)
        [exported] = [c for c in export.json()["claims"] if c["id"] == self.resolved.pk]
        self.assertEqual(exported["consensus"], [])
        self.client.force_login(self.reviewer_c)
        page = self.client.get(f"/claims/{self.resolved.pk}/")
        self.assertEqual(page.status_code, 200)
        self.assertIn("No consensus yet", page.content.decode())  # the history's section
        self.assertNotIn("unanimous", page.content.decode())
        # Nor does the list of earlier versions say the first one was resolved.
        self.assertIn("<li>v1: ", page.content.decode())
        self.assertNotIn("(resolved)", page.content.decode())
        [old] = self.get(self.editor, history).json()
        self.assertEqual((old["rating"], old["is_current"]), ("mostly_true", False))
        [exported] = [
            c
            for c in self.get(self.editor, f"/documents/{self.document.pk}/export/").json()[
                "claims"
            ]
            if c["id"] == self.resolved.pk
        ]
        self.assertEqual([r["rating"] for r in exported["consensus"]], ["mostly_true"])
        judge(self.resolved, self.reviewer_c, "false")
        self.assertEqual(
            [r["rating"] for r in self.get(self.reviewer_c, history).json()], ["mostly_true"]
        )
        judged_page = self.client.get(f"/claims/{self.resolved.pk}/").content.decode()
        self.assertIn("unanimous", judged_page)
        self.assertIn("<li>v1 (resolved): ", judged_page)

    def test_an_editor_adjudicates_publishes_and_reopens(self) -> None:
        self.assertEqual(
            self.get(self.editor, self.claim_url(self.disputed, "consensus")).json(), []
        )
        response = self.post(
            self.editor,
            self.claim_url(self.disputed, "adjudicate"),
            {"rating": "half_true", "note": "Both readings defensible; the 20% is cherry-picked."},
        )
        self.assertEqual(response.status_code, 201, response.content)
        record = response.json()
        self.assertEqual(set(record), CONSENSUS_FIELDS)
        self.assertEqual(
            (record["method"], record["rating"], record["decided_by"], record["agreement"]),
            ("adjudicated", "half_true", "editor", 0.0),
        )
        detail = self.get(self.editor, self.claim_url(self.disputed))
        self.assertEqual(detail.json()["status"], "resolved")
        # Issue 14: nobody edited the claim, so its version (the ETag) stays at 1 through
        # the dispute, the adjudication and the publication.
        self.assertEqual(detail["ETag"], '"1"')
        self.assertEqual(detail.json()["version"], 1)

        reopened = self.post(
            self.admin, self.claim_url(self.disputed, "reopen"), {"note": "New police data."}
        )
        self.assertEqual(reopened.status_code, 200, reopened.content)
        self.assertEqual(reopened.json()["status"], "disputed")
        self.assertIsNone(reopened.json()["consensus"])
        history = self.get(self.editor, self.claim_url(self.disputed, "consensus")).json()
        self.assertEqual([(r["sequence"], r["is_current"]) for r in history], [(1, False)])
        again = self.post(
            self.editor,
            self.claim_url(self.disputed, "adjudicate"),
            {"rating": "false", "note": "n"},
        )
        self.assertEqual(again.json()["sequence"], 2)

        published = self.post(
            self.editor, self.claim_url(self.disputed, "publish"), {"summary": "Police data."}
        )
        self.assertEqual(published.status_code, 201, published.content)
        self.assertEqual((published.json()["number"], published.json()["rating_key"]), (1, "false"))
        detail = self.get(self.editor, self.claim_url(self.disputed))
        self.assertEqual(detail.json()["status"], "published")
        self.assertEqual(detail.json()["consensus"]["method"], "adjudicated")
        self.assertEqual(detail["ETag"], '"1"')
        # A published claim is never reopened: it is corrected or retracted.
        refused = self.post(self.admin, self.claim_url(self.disputed, "reopen"), {"note": "n"})
        self.assertEqual(refused.status_code, 409)

    def test_withdrawal_by_the_creator_before_any_verdict(self) -> None:
        services.lease_next(reviewer=self.reviewer_c, project=self.project)
        response = self.post(
            self.creator, self.claim_url(self.open, "withdraw"), {"reason": "Duplicate"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["status"], "withdrawn")
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_c, claim=self.open).state,
            AssignmentState.RELEASED,
        )
        queue = self.post(self.reviewer_a, "/queue/next/", {"project": self.project.pk})
        self.assertEqual(queue.status_code, 204)

    def test_the_creator_cannot_withdraw_after_a_verdict(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.creator, self.claim_url(self.resolved, "withdraw"), {"reason": "x"}
            )
        self.assertDetail(response, 403, "before any verdict")

    def test_bad_outcome_requests_are_refused_and_nothing_is_written(self) -> None:
        cases = [
            (
                "adjudicate",
                self.disputed,
                {"rating": "nope", "note": "n"},
                "rating",
                "Unknown rating 'nope'",
            ),
            (
                "adjudicate",
                self.disputed,
                {"rating": "false", "note": ""},
                "note",
                "may not be blank",
            ),
            ("adjudicate", self.disputed, {"rating": "false"}, "note", "required"),
            ("adjudicate", self.disputed, {"note": "n"}, "rating", "required"),
            ("reopen", self.resolved, {"note": ""}, "note", "may not be blank"),
            ("reopen", self.resolved, {}, "note", "required"),
            ("withdraw", self.open, {"reason": ""}, "reason", "may not be blank"),
            ("withdraw", self.open, {"reason": "r" * 2001}, "reason", "2000"),
        ]
        for action, claim, body, field, reason in cases:
            with self.subTest(action=action, body=body), self.assertNothingWritten():
                response = self.post(self.editor, self.claim_url(claim, action), body)
                self.assertFieldError(response, field, reason)

    def test_actions_in_the_wrong_state_are_a_409_and_nothing_is_written(self) -> None:
        cases = [
            ("adjudicate", self.resolved, {"rating": "false", "note": "n"}, "Only disputed"),
            ("adjudicate", self.open, {"rating": "false", "note": "n"}, "Only disputed"),
            ("reopen", self.open, {"note": "n"}, "Only resolved claims can be reopened"),
            ("publish", self.disputed, {"summary": "s"}, "Only resolved"),
            ("publish", self.open, {"summary": "s"}, "Only resolved"),
        ]
        for action, claim, body, reason in cases:
            with self.subTest(action=action, claim=claim.status), self.assertNothingWritten():
                self.assertDetail(
                    self.post(self.editor, self.claim_url(claim, action), body), 409, reason
                )
        self.post(self.editor, self.claim_url(self.open, "withdraw"), {"reason": "dup"})
        with self.assertNothingWritten():
            response = self.post(
                self.editor, self.claim_url(self.open, "withdraw"), {"reason": "dup"}
            )
        self.assertDetail(response, 409, "withdrawn")
