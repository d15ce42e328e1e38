"""Tests for the publishing API (issue 15, deliverable 1): ``publish`` needs a summary,
``correct`` and ``retract`` append versions (400 with the field, 409 in the wrong state,
403 below editor, 404 for non-members), ``publications`` lists every version, the
``Idempotency-Key`` replays, the project's ``publishing_enabled`` is the admins', and the
ClaimReview export carries only published versions with the public URL."""

from __future__ import annotations

from django.test import override_settings

from annotations.models import Claim, ClaimStatus, Publication
from tests import conformance
from tests.api.base import ApiTestCase
from tests.factories import judge, make_claim

SCHEMA = conformance.load_json(conformance.CLAIMREVIEW_SCHEMA)
PUBLICATION_FIELDS = {
    "claim",
    "number",
    "kind",
    "statement",
    "claimant",
    "rating_key",
    "rating_label",
    "rating_value",
    "best_rating",
    "worst_rating",
    "summary",
    "note",
    "citations",
    "appearance_title",
    "appearance_url",
    "appearance_date",
    "publisher_name",
    "publisher_url",
    "published_at",
    "modified_at",
    "editor",
}


class PublishingApiTests(ApiTestCase):
    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        judge(self.claim, self.reviewer_a, "false")
        judge(self.claim, self.reviewer_b, "false")
        self.base = f"/claims/{self.claim.pk}"

    def publish(self) -> None:
        response = self.post(self.editor, f"{self.base}/publish/", {"summary": "It rose 4%."})
        self.assertEqual(response.status_code, 201, response.content)

    def test_publish_needs_a_summary(self) -> None:
        for body in ({}, {"summary": "  "}, {"summary": "x", "status": "published"}):
            with self.subTest(body=body), self.assertNothingWritten():
                response = self.post(self.editor, f"{self.base}/publish/", body)
                self.assertEqual(response.status_code, 400, response.content)
        response = self.post(self.editor, f"{self.base}/publish/", {"summary": "It rose 4%."})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(set(response.json()), PUBLICATION_FIELDS)
        self.assertEqual(
            (response.json()["number"], response.json()["kind"], response.json()["summary"]),
            (1, "publish", "It rose 4%."),
        )
        again = self.post(self.editor, f"{self.base}/publish/", {"summary": "Again"})
        self.assertEqual(again.status_code, 409)

    def test_correct_and_retract_append_versions_listed_for_members(self) -> None:
        self.publish()
        corrected = self.post(
            self.editor,
            f"{self.base}/correct/",
            {"rating": "half_true", "note": "Revised series.", "statement": "Crime fell 20%."},
        )
        self.assertEqual(corrected.status_code, 201, corrected.content)
        self.assertEqual(
            (corrected.json()["number"], corrected.json()["rating_key"]), (2, "half_true")
        )
        claim = self.get(self.reviewer_a, f"{self.base}/").json()
        self.assertEqual(claim["status"], "corrected")
        self.assertEqual(claim["consensus"]["rating"], "half_true")
        retracted = self.post(self.admin, f"{self.base}/retract/", {"note": "Wrong city."})
        self.assertEqual(retracted.status_code, 201, retracted.content)
        listed = self.get(self.reviewer_b, f"{self.base}/publications/")
        self.assertEqual(listed.status_code, 200)
        self.assertEqual(
            [(v["number"], v["kind"]) for v in listed.json()],
            [(1, "publish"), (2, "correct"), (3, "retract")],
        )
        self.assertEqual(self.get(self.outsider, f"{self.base}/publications/").status_code, 404)

    def test_bad_corrections_are_400_with_the_field(self) -> None:
        self.publish()
        cases = (
            ({"rating": "true"}, "note"),
            ({"note": "Why"}, "rating"),
            ({"note": "Why", "rating": "nope"}, "rating"),
            ({"note": "Why", "rating": "true", "exact": "x"}, "exact"),
        )
        for body, field in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                response = self.post(self.editor, f"{self.base}/correct/", body)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(field, response.json())
        with self.assertNothingWritten():
            response = self.post(self.editor, f"{self.base}/retract/", {})
        self.assertEqual((response.status_code, set(response.json())), (400, {"note"}))

    def test_wrong_state_is_409_and_roles_are_checked(self) -> None:
        for path, body in (
            ("correct", {"rating": "true", "note": "n"}),
            ("retract", {"note": "n"}),
        ):
            with self.subTest(path=path):
                self.assertEqual(
                    self.post(self.editor, f"{self.base}/{path}/", body).status_code, 409
                )
                self.assertEqual(
                    self.post(self.reviewer_a, f"{self.base}/{path}/", body).status_code, 403
                )
                self.assertEqual(
                    self.post(self.outsider, f"{self.base}/{path}/", body).status_code, 404
                )
        self.assertEqual(
            self.post(self.reviewer_a, f"{self.base}/publish/", {"summary": "x"}).status_code, 403
        )
        self.assertFalse(Publication.objects.exists())

    def test_an_idempotency_key_replays_a_correction(self) -> None:
        self.publish()
        body = {"rating": "true", "note": "New data."}
        first = self.post(self.editor, f"{self.base}/correct/", body, HTTP_IDEMPOTENCY_KEY="k-1")
        with self.assertNothingWritten():
            again = self.post(
                self.editor, f"{self.base}/correct/", body, HTTP_IDEMPOTENCY_KEY="k-1"
            )
        self.assertEqual((first.status_code, again.status_code), (201, 201))
        self.assertEqual(first.json(), again.json())
        self.assertEqual(again["Idempotent-Replayed"], "true")

    @override_settings(PUBLIC_BASE_URL="https://factchecks.example.org")
    def test_the_claimreview_export_carries_only_published_versions_with_public_urls(
        self,
    ) -> None:
        export = f"/documents/{self.document.pk}/export/"
        self.assertEqual(self.get(self.editor, export, {"format": "claimreview"}).json(), [])
        self.publish()
        self.post(self.editor, f"{self.base}/correct/", {"rating": "half_true", "note": "n"})
        [node] = self.get(self.reviewer_c, export, {"format": "claimreview"}).json()
        self.assertEqual(
            node["url"],
            f"https://factchecks.example.org/fact-checks/{self.project.slug}/{self.claim.pk}/",
        )
        self.assertEqual(node["reviewRating"]["alternateName"], "Half true")
        self.assertIn("dateModified", node)
        failures, report = conformance.check_claimreview(node, SCHEMA)
        self.assertEqual(failures, 0, "\n".join(report))
        self.post(self.editor, f"{self.base}/retract/", {"note": "Wrong city."})
        self.assertEqual(self.get(self.editor, export, {"format": "claimreview"}).json(), [])
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.RETRACTED)


class PublishingSettingApiTests(ApiTestCase):
    def test_only_admins_switch_publishing(self) -> None:
        path = f"/projects/{self.project.pk}/"
        self.assertIs(self.get(self.reviewer_a, path).json()["publishing_enabled"], False)
        with self.assertNothingWritten():
            refused = self.patch(self.editor, path, {"publishing_enabled": True})
        self.assertEqual(refused.status_code, 403)
        with self.assertNothingWritten():
            bad = self.patch(self.admin, path, {"publishing_enabled": "often"})
        self.assertEqual(bad.status_code, 400)
        self.assertIn("publishing_enabled", bad.json())
        done = self.patch(self.admin, path, {"publishing_enabled": True})
        self.assertEqual((done.status_code, done.json()["publishing_enabled"]), (200, True))
