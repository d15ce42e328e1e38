"""The claim lifecycle in the reviewer UI (issue 14): an editor pressing ``e`` on a
published claim is told why instead of being offered the edit, and a forged edit is
refused; on a judged claim the creator sees why and the editor gets "Revise the claim";
a verdict revised after the reveal is labelled, and the disputes page flags the claim."""

from __future__ import annotations

from django.urls import reverse

from annotations import services
from annotations.models import Claim, ClaimStatus, Project
from tests.factories import judge, make_claim
from tests.ui.reviewing_base import ReviewViewTestCase

EDIT_SUMMARY = "Edit statement and claimant"
REVISE_SUMMARY = "Revise the claim"


class ClaimLifecycleUiTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        self.url = reverse("workbench:claim-detail", kwargs={"pk": self.claim.pk})

    def publish(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")
        services.claim_publish(
            claim=self.claim, editor=self.editor, summary="Checked against the official figures."
        )

    def test_an_editor_cannot_edit_a_published_claim(self) -> None:
        self.publish()
        self.login(self.editor)
        page = self.page(self.client.get(self.url))
        self.assertNotIn(EDIT_SUMMARY, page)
        self.assertNotIn(REVISE_SUMMARY, page)
        self.assertIn("corrections come through the publishing workflow", page)
        # The edit the issue made (press e, write the opposite, save) is refused: a 409
        # page for a browser, the fragment with the reason for htmx (200: htmx swaps it).
        edit = reverse("workbench:claim-edit", kwargs={"pk": self.claim.pk})
        data = {"statement": "Crime rose 20%.", "claimant": "", "version": "1"}
        response = self.client.post(edit, data)
        self.assertEqual(response.status_code, 409)
        self.assertIn("publishing workflow", self.page(response))
        fragment = self.client.post(edit, data, HTTP_HX_REQUEST="true")
        self.assertIn("publishing workflow", self.page(fragment))
        self.assertNotIn("Claim saved", self.page(fragment))
        claim = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((claim.statement, claim.status), ("crime fell 20%", ClaimStatus.PUBLISHED))

    def test_a_judged_claim_is_explained_to_its_creator_and_revised_by_an_editor(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        self.login(self.creator)
        page = self.page(self.client.get(self.url))
        self.assertNotIn(EDIT_SUMMARY, page)
        self.assertIn("what was judged is frozen", page)
        self.login(self.editor)
        page = self.page(self.client.get(self.url))
        self.assertNotIn(EDIT_SUMMARY, page)
        self.assertIn(REVISE_SUMMARY, page)
        response = self.client.post(
            reverse("workbench:claim-revise", kwargs={"pk": self.claim.pk}),
            {"statement": "Crime fell 20% downtown.", "claimant": "", "note": "", "version": "1"},
        )
        self.assertEqual(response.status_code, 302)
        claim = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((claim.statement, claim.claim_version), ("Crime fell 20% downtown.", 2))
        page = self.page(self.client.get(self.url))
        self.assertIn("Earlier versions (1)", page)
        # A reviewer never learns from the page that someone judged the claim.
        self.login(self.reviewer_c)
        self.assertNotIn("frozen", self.page(self.client.get(self.url)))

    def test_a_revision_after_the_reveal_is_labelled_and_flagged_for_editors(self) -> None:
        judge(self.claim, self.reviewer_a, "mostly_false")
        judge(self.claim, self.reviewer_b, "true")
        services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="mostly_false", confidence="high"
        )
        self.login(self.editor)
        self.assertIn("Revised after seeing other verdicts", self.page(self.client.get(self.url)))
        disputes = self.client.get(
            reverse("workbench:disputes", kwargs={"slug": self.project.slug})
        )
        self.assertIn("Revised after reveal, needs adjudication", self.page(disputes))

    def test_a_blind_revision_of_a_reopened_claim_is_flagged_for_editors(self) -> None:
        Project.objects.filter(pk=self.claim.project_id).update(required_reviews=1)
        claim = Claim.objects.get(pk=self.claim.pk)
        judge(claim, self.reviewer_a, "false")
        services.claim_reopen(claim=claim, editor=self.editor, note="New figures.")
        url = reverse("workbench:disputes", kwargs={"slug": self.project.slug})
        self.login(self.editor)
        self.assertNotIn("Revised while disputed", self.page(self.client.get(url)))
        services.verdict_submit(
            claim=claim, reviewer=self.reviewer_a, rating="true", confidence="high"
        )
        page = self.page(self.client.get(url))
        self.assertIn("Revised while disputed, needs adjudication", page)
        self.assertNotIn("Revised after reveal", page)

    def test_reanchoring_a_judged_claim_to_other_words_is_refused_with_the_reason(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        self.login(self.creator)
        response = self.client.post(
            reverse("workbench:claim-reanchor", kwargs={"pk": self.claim.pk}),
            {"start": str(self.claim.start), "end": str(self.claim.end + 5)},
        )
        self.assertEqual(response.status_code, 409)
        self.assertIn("an editor revises the claim instead", self.page(response))
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).exact, "crime fell 20%")
