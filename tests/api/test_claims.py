"""API: claims (``/claims/``): spans in code points, the quoted text, the list's filters,
and edits guarded by If-Match/ETag."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from rest_framework.renderers import JSONRenderer

from annotations.api.serializers import ClaimSerializer, claim_data
from annotations.models import Claim, Event
from tests.api.base import CLAIM_FIELDS, ApiTestCase
from tests.factories import SAMPLE_TEXT, judge, make_claim, make_document


class ClaimApiTests(ApiTestCase):
    def span(self, exact: str) -> dict[str, int]:
        start = SAMPLE_TEXT.index(exact)
        return {"start": start, "end": start + len(exact)}

    def test_a_member_creates_a_claim_and_the_server_quotes_the_span(self) -> None:
        response = self.post(
            self.reviewer_a,
            "/claims/",
            {"document": self.document.pk, **self.span("crime fell 20%"), "claimant": " Mayor "},
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), CLAIM_FIELDS)
        start = SAMPLE_TEXT.index("crime fell 20%")
        self.assertEqual(
            {k: body[k] for k in ("exact", "prefix", "suffix", "statement", "claimant", "status")},
            {
                "exact": "crime fell 20%",
                "prefix": SAMPLE_TEXT[max(0, start - 32) : start],
                "suffix": SAMPLE_TEXT[start + 14 : start + 14 + 32],
                "statement": "crime fell 20%",
                "claimant": "Mayor",
                "status": "in_review",
            },
        )
        self.assertEqual((body["project"], body["document"]), (self.project.pk, self.document.pk))
        self.assertEqual((body["version"], body["created_by"]), (1, "reviewer_a"))
        self.assertIsNone(body["consensus"])
        self.assertTrue(Event.objects.filter(verb="claim.create", object_id=body["id"]).exists())

    def test_the_created_claim_is_answered_as_the_claim_serializer_writes_it(self) -> None:
        # The create path writes its answer by hand (serializers.claim_data): it must stay
        # what ClaimSerializer, the documented schema, would answer for the same claim.
        for user, extra in (
            (self.reviewer_a, {"claimant": " Mayor "}),
            (self.editor, {"priority": "urgent", "due_at": "2020-01-01T00:00:00+02:00"}),
        ):
            with self.subTest(user=user.username):
                response = self.post(
                    user,
                    "/claims/",
                    {"document": self.document.pk, **self.span("crime fell 20%"), **extra},
                )
                self.assertEqual(response.status_code, 201, response.content)
                claim = Claim.objects.select_related("created_by").get(pk=response.json()["id"])
                expected = json.loads(JSONRenderer().render(ClaimSerializer(claim).data))
                self.assertEqual(response.json(), expected)
                claim.delete()
        decided = make_claim(document=self.document, actor=self.creator, exact="Others disagree")
        judge(decided, self.reviewer_a, "false")
        judge(decided, self.reviewer_b, "false")
        decided = Claim.objects.select_related("created_by").get(pk=decided.pk)
        self.assertEqual(decided.status, "resolved")
        self.assertEqual(claim_data(decided), ClaimSerializer(decided).data)

    def test_offsets_count_code_points_past_an_emoji(self) -> None:
        span = self.span("Others disagree")
        self.assertGreater(
            len(SAMPLE_TEXT[: span["start"]].encode("utf-16-le")) // 2, span["start"]
        )
        response = self.post(
            self.reviewer_a,
            "/claims/",
            {"document": self.document.pk, **span, "exact": "Others disagree", "statement": "S"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["exact"], "Others disagree")
        self.assertTrue(response.json()["prefix"].endswith("🌉 "))
        self.assertEqual(response.json()["statement"], "S")

    def test_offsets_are_code_points_in_any_script(self) -> None:
        cases = [
            ("astral emoji", "🎉🎉 The 👩‍👩‍👧 family grew.", "family grew"),
            ("combining accent", "Le cafe\u0301 coûte 3 €.", "coûte 3 €"),
            ("CJK", "東京の人口は減少している。", "人口は減少"),
            ("right to left", "قال الوزير إن البطالة انخفضت.", "البطالة انخفضت"),
        ]
        for label, text, exact in cases:
            with self.subTest(label):
                document = make_document(project=self.project, actor=self.editor, text=text)
                canonical = unicodedata.normalize("NFC", text)
                start = canonical.index(exact)
                body = {"document": document.pk, "start": start, "end": start + len(exact)}
                response = self.post(self.reviewer_a, "/claims/", {**body, "exact": exact})
                self.assertEqual(response.status_code, 201, response.content)
                self.assertEqual(response.json()["exact"], exact)
                self.assertEqual(response.json()["prefix"], canonical[max(0, start - 32) : start])

    def test_an_nfd_exact_matches_the_nfc_text(self) -> None:
        document = make_document(project=self.project, actor=self.editor, text="Le café ferme.")
        start = document.text.index("café")
        response = self.post(
            self.reviewer_a,
            "/claims/",
            {"document": document.pk, "start": start, "end": start + 4, "exact": "cafe\u0301"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["exact"], "café")

    def test_bad_spans_are_refused_with_the_reason_and_nothing_is_written(self) -> None:
        length = len(SAMPLE_TEXT)
        good = self.span("crime fell 20%")
        doc = self.document.pk
        cases = [
            ("negative start", {"start": -1, "end": 5}, "start", "must not be negative"),
            ("past the end", {"start": 0, "end": length + 1}, "end", f"length {length}"),
            ("past any integer", {"start": 0, "end": 3_000_000_000}, "end", f"length {length}"),
            ("near the integer limit", {"start": 0, "end": 2**31 - 2}, "end", f"length {length}"),
            ("reversed", {"start": 10, "end": 5}, "end", "greater than start (10)"),
            ("empty", {"start": 7, "end": 7}, "end", "greater than start (7)"),
            ("text start", {"start": "abc", "end": 5}, "start", "ASCII digits"),
            ("fractional end", {"start": 0, "end": 4.5}, "end", "Enter a whole number."),
            # DRF reads a JSON float with a zero decimal part as its whole number: an
            # offset is never 5.0.
            ("float start", {"start": 5.0, "end": 9}, "start", "Enter a whole number."),
            ("float end", {"start": 0, "end": 1000.0}, "end", "Enter a whole number."),
            # int() reads "٣" as 3 and "1_0" as 10, DRF's field strips spaces and a zero
            # decimal part: text takes ASCII digits only, a "-" on a negative number only.
            ("Arabic-Indic start", {"start": "\u0663", "end": 9}, "start", "ASCII digits"),
            ("full-width end", {"start": 0, "end": "\uff19"}, "end", "ASCII digits"),
            ("grouped end", {"start": 0, "end": "1_0"}, "end", "ASCII digits"),
            ("padded start", {"start": " 5", "end": 9}, "start", "ASCII digits"),
            ("trailing space end", {"start": 0, "end": "9 "}, "end", "ASCII digits"),
            ("decimal start", {"start": "5.0", "end": 9}, "start", "ASCII digits"),
            ("signed start", {"start": "+5", "end": 9}, "start", "ASCII digits"),
            ("minus zero start", {"start": "-0", "end": 9}, "start", "ASCII digits"),
            ("newline end", {"start": 0, "end": "9\n"}, "end", "ASCII digits"),
            ("decimal document", {"document": "1.0", "start": 0, "end": 5}, "document", "ASCII"),
            ("float document", {"document": 1.0, "start": 0, "end": 5}, "document", "whole"),
            (
                "Arabic-Indic document",
                {"document": "\u0663", "start": 0, "end": 5},
                "document",
                "ASCII",
            ),
            ("null start", {"start": None, "end": 5}, "start", "may not be null"),
            ("missing end", {"start": 0}, "end", "required"),
            (
                "wrong exact",
                {**good, "exact": "crime fell 30%"},
                "exact",
                'the text there is "crime fell 20%"',
            ),
            ("blank exact", {**good, "exact": ""}, "exact", "may not be blank"),
            ("long statement", {**good, "statement": "s" * 5001}, "statement", "5000"),
            ("NUL in statement", {**good, "statement": "Crime\x00fell"}, "statement", "Null"),
            ("NUL in claimant", {**good, "claimant": "the\x00mayor"}, "claimant", "Null"),
            ("NUL in exact", {**good, "exact": "crime\x00fell 20%"}, "exact", "Null"),
        ]
        for label, span, field, reason in cases:
            with self.subTest(label), self.assertNothingWritten():
                response = self.post(self.reviewer_a, "/claims/", {"document": doc, **span})
                self.assertFieldError(response, field, reason)

    def test_documents_the_caller_cannot_see_are_a_400_on_the_field(self) -> None:
        hidden = make_document(
            project=self.other_project, actor=self.outsider, text="Hidden text here."
        )
        for value, reason in [
            (hidden.pk, "No document"),
            (10**9, "No document"),
            ("x", "ASCII digits"),
            (f" {self.document.pk}", "ASCII digits"),
            (f"{self.document.pk}.0", "ASCII digits"),
            (float(self.document.pk), "Enter a whole number."),
        ]:
            with self.subTest(document=value), self.assertNothingWritten():
                response = self.post(
                    self.reviewer_a, "/claims/", {"document": value, "start": 0, "end": 4}
                )
                self.assertFieldError(response, "document", reason)

    def test_the_list_filters_by_document_project_and_status(self) -> None:
        first = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        other_doc = make_document(
            project=self.project, actor=self.editor, text="Second text, second claim."
        )
        second = make_claim(document=other_doc, actor=self.creator, exact="second claim")
        judge(first, self.reviewer_a, "false")
        judge(first, self.reviewer_b, "false")

        def ids(**params: Any) -> list[int]:
            response = self.get(self.reviewer_c, "/claims/", params)
            self.assertEqual(response.status_code, 200, response.content)
            return [c["id"] for c in response.json()["results"]]

        self.assertEqual(ids(), [first.pk, second.pk])
        self.assertEqual(ids(document=other_doc.pk), [second.pk])
        self.assertEqual(ids(project=self.project.pk), [first.pk, second.pk])
        self.assertEqual(ids(status="resolved"), [first.pk])
        self.assertEqual(ids(status="in_review"), [second.pk])
        self.assertEqual(ids(status="published"), [])
        resolved = self.get(self.reviewer_c, "/claims/", {"status": "resolved"}).json()["results"][
            0
        ]
        self.assertEqual(resolved["consensus"]["rating"], "false")
        self.assertEqual(resolved["consensus"]["method"], "unanimous")

    def test_bad_query_parameters_are_a_400(self) -> None:
        cases = [
            ({"project": "abc"}, "project", "Enter a whole number"),
            ({"document": "abc"}, "document", "Enter a whole number"),
            ({"document": "-1"}, "document", "greater than or equal to 1"),
            ({"document": "\u0663"}, "document", "Enter a whole number in ASCII digits."),
            ({"document": "1_0"}, "document", "Enter a whole number in ASCII digits."),
            # Django's integer field strips spaces, a "+" and a zero decimal part.
            ({"project": "1.0"}, "project", "Enter a whole number in ASCII digits."),
            ({"project": "+1"}, "project", "Enter a whole number in ASCII digits."),
            ({"project": " 1"}, "project", "Enter a whole number in ASCII digits."),
            ({"project": "1 "}, "project", "Enter a whole number in ASCII digits."),
            ({"document": "1.0"}, "document", "Enter a whole number in ASCII digits."),
            ({"document": "-0"}, "document", "Enter a whole number in ASCII digits."),
            ({"project": "0"}, "project", "greater than or equal to 1"),
            ({"status": "bogus"}, "status", "bogus is not one of the available choices"),
        ]
        for params, field, reason in cases:
            with self.subTest(params=params):
                self.assertFieldError(self.get(self.reviewer_a, "/claims/", params), field, reason)

    def test_the_detail_carries_the_version_as_etag(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        response = self.get(self.reviewer_a, f"/claims/{claim.pk}/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["ETag"], '"1"')
        self.assertEqual(set(response.json()), CLAIM_FIELDS)
        self.assertEqual(response.json()["exact"], "crime fell 20%")


class ClaimEditApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def url(self) -> str:
        return f"/claims/{self.claim.pk}/"

    def test_an_edit_without_if_match_is_a_428(self) -> None:
        with self.assertNothingWritten():
            response = self.patch(self.creator, self.url(), {"statement": "Crime fell."})
        self.assertDetail(response, 428, "If-Match")

    def test_a_stale_if_match_is_a_412_with_the_current_etag(self) -> None:
        with self.assertNothingWritten():
            response = self.patch(self.creator, self.url(), {"statement": "X"}, if_match='"7"')
        self.assertDetail(response, 412, "version 1")
        self.assertEqual(response["ETag"], '"1"')
        self.claim.refresh_from_db()
        self.assertEqual(self.claim.statement, "crime fell 20%")

    def test_a_current_if_match_edits_and_returns_the_new_etag(self) -> None:
        etag = self.get(self.creator, self.url())["ETag"]
        response = self.patch(
            self.creator,
            self.url(),
            {"statement": "Crime fell by a fifth.", "claimant": "Mayor"},
            if_match=etag,
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response["ETag"], '"2"')
        self.assertEqual(
            (response.json()["statement"], response.json()["claimant"], response.json()["version"]),
            ("Crime fell by a fifth.", "Mayor", 2),
        )
        self.assertEqual(Event.objects.filter(verb="claim.update").count(), 1)
        stale = self.patch(self.creator, self.url(), {"statement": "Again"}, if_match=etag)
        self.assertEqual(stale.status_code, 412)
        self.assertEqual(stale["ETag"], '"2"')

    def test_a_weak_etag_is_accepted(self) -> None:
        response = self.patch(self.editor, self.url(), {"claimant": "Council"}, if_match='W/"1"')
        self.assertEqual(response.status_code, 200, response.content)

    def test_bad_edits_are_refused_and_nothing_is_written(self) -> None:
        cases = [
            ({"statement": ""}, '"1"', "statement", "may not be blank"),
            ({"statement": "s" * 5001}, '"1"', "statement", "5000"),
            ({"claimant": "c" * 201}, '"1"', "claimant", "200"),
            ({"statement": "Crime\x00fell"}, '"1"', "statement", "Null characters"),
            ({"statement": "Fine"}, "yesterday", "If-Match", 'If-Match: "3"'),
            # The version as an ETag spells it, ASCII digits only: int() would read these as 1.
            ({"statement": "Fine"}, '"+1"', "If-Match", 'If-Match: "3"'),
            ({"statement": "Fine"}, '" 1"', "If-Match", 'If-Match: "3"'),
            ({"statement": "Fine"}, '"0_1"', "If-Match", 'If-Match: "3"'),
            ({"statement": "Fine"}, '"\u0661"', "If-Match", 'If-Match: "3"'),
            ({"statement": "Fine"}, '"1' + "0" * 30 + '"', "If-Match", 'If-Match: "3"'),
            ({"statement": "Fine"}, '"' + "9" * 5000 + '"', "If-Match", 'If-Match: "3"'),
        ]
        for body, if_match, field, reason in cases:
            with self.subTest(body=body, if_match=if_match), self.assertNothingWritten():
                response = self.patch(self.creator, self.url(), body, if_match=if_match)
                self.assertFieldError(response, field, reason)
        self.claim.refresh_from_db()
        self.assertEqual((self.claim.version, self.claim.statement), (1, "crime fell 20%"))
