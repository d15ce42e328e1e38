"""Tests for the claim lifecycle through the API (issue 14): PATCH and re-anchor of a
published or judged claim are 409s with a reason, ``POST /claims/{id}/revise/`` (editors,
If-Match) records a new version, verdicts carry ``claim_version`` and ``post_reveal``."""

from __future__ import annotations

from annotations import services
from annotations.models import Claim, ClaimStatus, ClaimVersion
from tests.api.base import ApiTestCase
from tests.factories import judge, make_claim


class ClaimLifecycleApiTests(ApiTestCase):
    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")

    def publish(self) -> Claim:
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        services.claim_publish(
            claim=self.claim, editor=self.editor, summary="Checked against the official figures."
        )
        return Claim.objects.get(pk=self.claim.pk)

    def test_the_creator_cannot_patch_a_published_claim(self) -> None:
        published = self.publish()
        etag = self.get(self.creator, f"/claims/{published.pk}/")["ETag"]
        self.assertEqual(etag, '"1"')  # nobody edited it: status changes leave the version
        with self.assertNothingWritten():
            response = self.patch(
                self.creator, f"/claims/{published.pk}/", {"statement": "Crime rose."}, etag
            )
        self.assertEqual(response.status_code, 409, response.content)
        self.assertIn("publishing workflow", response.json()["detail"])
        claim = Claim.objects.get(pk=published.pk)
        self.assertEqual((claim.statement, claim.status), ("crime fell 20%", ClaimStatus.PUBLISHED))

    def test_nobody_reanchors_or_revises_a_published_claim(self) -> None:
        published = self.publish()
        for user, path, body, extra in (
            (self.creator, "reanchor", {"start": 0, "end": 9}, {}),
            (self.editor, "reanchor", {"start": 0, "end": 9}, {}),
            (self.editor, "revise", {"statement": "Crime rose."}, {"HTTP_IF_MATCH": '"1"'}),
        ):
            with self.subTest(user=user.username, path=path), self.assertNothingWritten():
                response = self.post(user, f"/claims/{published.pk}/{path}/", body, **extra)
                self.assertEqual(response.status_code, 409, response.content)
                self.assertIn("publishing workflow", response.json()["detail"])

    def test_after_the_first_verdict_the_creator_is_refused_and_an_editor_revises(self) -> None:
        first = judge(self.claim, self.reviewer_a, "true")
        with self.assertNothingWritten():
            response = self.patch(
                self.creator, f"/claims/{self.claim.pk}/", {"statement": "Crime rose."}, '"1"'
            )
        self.assertEqual(response.status_code, 409, response.content)
        self.assertIn("An editor can revise the claim", response.json()["detail"])
        # Only editors revise (403 for the creator), with If-Match (428 without).
        path = f"/claims/{self.claim.pk}/revise/"
        body = {"statement": "Crime fell 20% in the centre.", "note": "Narrower."}
        self.assertEqual(self.post(self.creator, path, body, HTTP_IF_MATCH='"1"').status_code, 403)
        self.assertEqual(self.post(self.editor, path, body).status_code, 428)
        self.assertEqual(self.post(self.editor, path, body, HTTP_IF_MATCH='"5"').status_code, 412)
        response = self.post(self.editor, path, body, HTTP_IF_MATCH='"1"')
        self.assertEqual(response.status_code, 200, response.content)
        revised = response.json()
        self.assertEqual(
            (revised["status"], revised["claim_version"], revised["version"]),
            ("in_review", 2, 2),
        )
        self.assertEqual(response["ETag"], '"2"')
        self.assertEqual(ClaimVersion.objects.get(claim=self.claim).statement, "crime fell 20%")
        history = self.get(self.editor, f"/claims/{self.claim.pk}/verdicts/", {"history": "true"})
        [kept] = history.json()
        self.assertEqual(
            (kept["id"], kept["claim_version"], kept["is_current"], kept["post_reveal"]),
            (first.pk, 1, False, False),
        )

    def test_a_verdict_revised_after_the_reveal_says_so(self) -> None:
        judge(self.claim, self.reviewer_a, "mostly_false")
        judge(self.claim, self.reviewer_b, "true")
        response = self.post(
            self.reviewer_b,
            f"/claims/{self.claim.pk}/verdicts/",
            {"rating": "mostly_false", "confidence": "high"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertIs(response.json()["post_reveal"], True)
        detail = self.get(self.editor, f"/claims/{self.claim.pk}/").json()
        self.assertEqual((detail["status"], detail["consensus"]), ("disputed", None))
