"""Revisions through the API: revising a document's text, listing and reading its
revisions, and re-anchoring an orphaned claim.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse

from annotations.models import DocumentRevision
from tests.services.revision_base import CLOSING, NEW, OLD, QUOTES, RevisionTestCase


class RevisionApiTests(RevisionTestCase):
    def url(self) -> str:
        return reverse("api:document-revisions", kwargs={"pk": self.report_doc.pk})

    def test_an_editor_revises_and_gets_the_report(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.post(
            self.url(), {"text": NEW, "note": "fix"}, content_type="application/json"
        )
        self.assertEqual(response.status_code, 201)
        body = response.json()
        self.assertEqual(body["revision"], 2)
        self.assertEqual(body["counts"], {"unchanged": 1, "moved": 1, "changed": 1, "orphaned": 1})
        listed = self.client.get(self.url()).json()
        self.assertEqual([row["number"] for row in listed], [1])
        detail = self.client.get(
            reverse("api:document-revision-detail", kwargs={"pk": self.report_doc.pk, "number": 1})
        )
        self.assertEqual(detail.json()["text"], OLD)

    def test_identical_text_is_a_400(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.post(self.url(), {"text": OLD}, content_type="application/json")
        self.assertEqual(response.status_code, 400)
        self.assertIn("text", response.json())

    def test_reviewers_get_403_and_outsiders_404(self) -> None:
        for user, code in ((self.reviewer_a, 403), (self.outsider, 404)):
            with self.subTest(user=user.get_username()):
                self.client.force_login(user)
                response = self.client.post(
                    self.url(), {"text": NEW}, content_type="application/json"
                )
                self.assertEqual(response.status_code, code)
        self.assertFalse(DocumentRevision.objects.exists())

    def reanchor_the_orphan(self) -> HttpResponse:
        """The creator moves claim D (orphaned by ``revise``) to the revised closing line."""
        start = NEW.index(CLOSING)
        self.client.force_login(self.creator)
        return self.client.post(
            reverse("api:claim-reanchor", kwargs={"pk": self.claims["d"].pk}),
            {"start": start, "end": start + len(CLOSING), "exact": CLOSING},
            content_type="application/json",
        )

    def test_the_creator_reanchors_an_orphan_through_the_api(self) -> None:
        self.revise()
        response = self.reanchor_the_orphan()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["anchor_status"], "anchored")

    def test_the_document_read_includes_the_claims_of_its_current_text_only(self) -> None:
        # ?include=claims reads the claims anchored in the current revision (the compiled
        # selectors.reader_claims_presented): after a revision, the orphan (D) is left out
        # and the others come at their new offsets, in text order; after re-anchoring D,
        # it is back.
        url = reverse("api:document-detail", kwargs={"pk": self.report_doc.pk})
        self.client.force_login(self.reviewer_a)
        before = self.client.get(url, {"include": "claims"}).json()["claims"]
        self.assertEqual([c["id"] for c in before], [self.claims[k].pk for k in "abcd"])
        self.revise()
        after = self.client.get(url, {"include": "claims"}).json()["claims"]
        self.assertEqual([c["id"] for c in after], [self.claims[k].pk for k in "abc"])
        self.assertEqual(after[1]["start"], NEW.index(QUOTES["b"]))
        reanchored = self.reanchor_the_orphan()
        self.assertEqual(reanchored.status_code, 200, reanchored.content)
        self.client.force_login(self.reviewer_a)
        last = self.client.get(url, {"include": "claims"}).json()["claims"]
        self.assertEqual([c["id"] for c in last][-1], self.claims["d"].pk)
