"""Revisions in the web UI (workbench/ui/revisions.py): revise, the revisions and a
revision's placements, the orphan list, and the claim page's re-anchor panel.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import AnchorStatus, ClaimAnchor, DocumentRevision, Event
from tests.services.revision_base import CLOSING, NEW, OLD, QUOTES, RevisionTestCase

HX = {"HTTP_HX_REQUEST": "true"}
TEMPLATES = Path(__file__).resolve().parents[2] / "workbench" / "templates" / "workbench"


# --- UI: revise, revisions, orphan list ----------------------------------------------------
class DocumentReviseViewTests(RevisionTestCase):
    def url(self) -> str:
        return reverse("workbench:document-revise", kwargs={"pk": self.report_doc.pk})

    def test_an_editor_gets_the_current_text_to_correct(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.get(self.url())
        self.assertContains(response, "Save as revision 2")
        self.assertContains(response, "Critics say the new bridge cost $2 billion")
        self.assert_csp_clean(response.content.decode())

    def test_access(self) -> None:
        with self.subTest("anonymous"):
            self.assertEqual(self.client.get(self.url()).status_code, 302)
        for user, code in ((self.reviewer_a, 403), (self.creator, 403), (self.outsider, 404)):
            with self.subTest(user=user.get_username()):
                self.client.force_login(user)
                self.assertEqual(self.client.get(self.url()).status_code, code)
                self.assertEqual(self.client.post(self.url(), {"text": NEW}).status_code, code)
        self.assertFalse(DocumentRevision.objects.exists())

    def test_a_plain_post_redirects_to_the_report(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.post(self.url(), {"text": NEW, "note": "typo"})
        report_url = reverse(
            "workbench:document-revision", kwargs={"pk": self.report_doc.pk, "number": 1}
        )
        self.assertRedirects(response, report_url, fetch_redirect_response=False)
        page = self.client.get(report_url)
        html = page.content.decode()
        for outcome in ("unchanged", "moved", "changed: needs review", "orphaned"):
            self.assertIn(outcome, html)
        self.assertContains(page, "Others disagree about the tunnel entirely and loudly.")
        self.assertContains(
            page, "Revision 2 saved. Claims: 1 unchanged, 1 moved, 1 changed, 1 orphaned."
        )
        for claim in self.claims.values():
            self.assertContains(page, claim.get_absolute_url())

    def test_an_htmx_post_gets_a_client_redirect(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.post(self.url(), {"text": NEW}, **HX)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response["HX-Redirect"],
            reverse("workbench:document-revision", kwargs={"pk": self.report_doc.pk, "number": 1}),
        )

    def test_an_identical_text_is_a_form_error(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.post(self.url(), {"text": OLD})
        self.assertContains(response, "identical to the current text", status_code=422)
        self.assertIn("<html", response.content.decode())
        fragment = self.client.post(self.url(), {"text": OLD}, **HX)
        self.assertContains(fragment, "identical to the current text")
        self.assertNotIn("<html", fragment.content.decode())
        self.assertFalse(DocumentRevision.objects.exists())

    def test_an_empty_text_is_a_form_error(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.post(self.url(), {"text": "  "})
        self.assertContains(response, "Paste the corrected text", status_code=422)

    def test_the_corrected_text_can_be_uploaded(self) -> None:
        self.client.force_login(self.editor)
        upload = SimpleUploadedFile("corrected.txt", NEW.encode(), content_type="text/plain")
        response = self.client.post(self.url(), {"file": upload, "note": ""})
        self.assertEqual(response.status_code, 302)
        self.report_doc.refresh_from_db()
        self.assertEqual(self.report_doc.text, NEW)

    def test_csrf_is_enforced(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.editor)
        self.assertEqual(client.post(self.url(), {"text": NEW}).status_code, 403)
        self.assertFalse(DocumentRevision.objects.exists())


class RevisionPagesTests(RevisionTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        services.document_revise(document=cls.report_doc, text=NEW, actor=cls.editor, note="fix")

    def test_the_old_revision_is_shown_read_only_to_members(self) -> None:
        url = reverse("workbench:document-revision", kwargs={"pk": self.report_doc.pk, "number": 1})
        self.client.force_login(self.reviewer_a)
        response = self.client.get(url)
        self.assertContains(response, "An earlier text, read-only.")
        self.assertContains(response, "Others disagree about the tunnel entirely and loudly.")
        self.assertNotContains(response, "<textarea")
        self.assert_csp_clean(response.content.decode())
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_the_current_number_redirects_to_the_document_and_unknown_ones_are_404(self) -> None:
        self.client.force_login(self.reviewer_a)
        current = reverse(
            "workbench:document-revision", kwargs={"pk": self.report_doc.pk, "number": 2}
        )
        self.assertRedirects(
            self.client.get(current),
            self.report_doc.get_absolute_url(),
            fetch_redirect_response=False,
        )
        missing = reverse(
            "workbench:document-revision", kwargs={"pk": self.report_doc.pk, "number": 7}
        )
        self.assertEqual(self.client.get(missing).status_code, 404)

    def test_the_revisions_page_lists_revisions_and_claims_to_reanchor(self) -> None:
        url = reverse("workbench:document-revisions", kwargs={"pk": self.report_doc.pk})
        self.client.force_login(self.reviewer_a)
        response = self.client.get(url)
        self.assertContains(response, "Claims to re-anchor (2)")
        self.assertContains(response, f"{self.claims['d'].get_absolute_url()}#reanchor-panel")
        self.assertContains(response, f"{self.claims['c'].get_absolute_url()}#reanchor-panel")
        self.assertContains(response, "fix")
        self.assertNotContains(response, "Revise the text")
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_the_orphan_list_is_a_fragment_for_htmx(self) -> None:
        url = reverse("workbench:document-orphans", kwargs={"pk": self.report_doc.pk})
        self.client.force_login(self.reviewer_a)
        fragment = self.client.get(url, **HX)
        html = fragment.content.decode()
        self.assertNotIn("<html", html)
        self.assertIn(self.claims["d"].get_absolute_url(), html)
        self.assertIn("Orphaned", html)
        plain = self.client.get(url)
        self.assertRedirects(
            plain,
            reverse("workbench:document-revisions", kwargs={"pk": self.report_doc.pk}) + "#orphans",
            fetch_redirect_response=False,
        )
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(url, **HX).status_code, 404)

    def test_the_reader_no_longer_highlights_the_orphan(self) -> None:
        self.client.force_login(self.reviewer_a)
        html = self.client.get(self.report_doc.get_absolute_url()).content.decode()
        highlighted = set(" ".join(re.findall(r'data-claims="([^"]*)"', html)).split())
        self.assertNotIn(str(self.claims["d"].pk), highlighted)
        self.assertIn(str(self.claims["a"].pk), highlighted)
        self.assertNotIn(f'id="claim-{self.claims["d"].pk}"', html)

    def test_the_document_actions_link_to_import_revise_revisions_and_orphans(self) -> None:
        self.report_doc.refresh_from_db()
        context = {
            "document": self.report_doc,
            "project": self.project,
            "is_editor": True,
        }
        html = render_to_string("workbench/_document_actions.html", context)
        self.assertIn(
            reverse("workbench:document-import", kwargs={"slug": self.project.slug}), html
        )
        self.assertIn(reverse("workbench:document-revise", kwargs={"pk": self.report_doc.pk}), html)
        self.assertIn("Revisions (1)", html)
        self.assertIn(
            reverse("workbench:document-orphans", kwargs={"pk": self.report_doc.pk}), html
        )
        context["is_editor"] = False
        html = render_to_string("workbench/_document_actions.html", context)
        self.assertNotIn("Revise text", html)
        self.assertIn("Revisions (1)", html)

    def test_the_document_page_includes_the_actions(self) -> None:
        source = (TEMPLATES / "document_detail.html").read_text(encoding="utf-8")
        if "_document_actions.html" not in source:
            self.skipTest("document_detail.html does not include _document_actions.html yet")
        self.client.force_login(self.editor)
        response = self.client.get(self.report_doc.get_absolute_url())
        self.assertContains(response, "Revise text")
        self.assertContains(
            response, reverse("workbench:document-orphans", kwargs={"pk": self.report_doc.pk})
        )


# --- UI: the re-anchor panel ------------------------------------------------------------------


class ReanchorPanelTests(RevisionTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        services.document_revise(document=cls.report_doc, text=NEW, actor=cls.editor)

    def find_url(self, key: str) -> str:
        return reverse("workbench:claim-reanchor-find", kwargs={"pk": self.claims[key].pk})

    def post_url(self, key: str) -> str:
        return reverse("workbench:claim-reanchor", kwargs={"pk": self.claims[key].pk})

    def closing_span(self) -> dict[str, object]:
        start = NEW.index(CLOSING)
        return {"start": start, "end": start + len(CLOSING), "exact": CLOSING}

    def test_the_claim_page_shows_the_panel_with_the_old_quote(self) -> None:
        self.client.force_login(self.creator)
        response = self.client.get(self.claims["d"].get_absolute_url())
        self.assertContains(response, 'id="reanchor-panel"')
        self.assertContains(response, f'name="q" value="{QUOTES["d"]}"')
        self.assertContains(response, "Find in current text")
        self.assertNotContains(response, "Confirm the proposed span")
        self.assert_csp_clean(response.content.decode())

    def test_a_changed_claim_offers_to_confirm_the_proposal(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.get(self.claims["c"].get_absolute_url())
        self.assertContains(response, "Confirm the proposed span")

    def test_anchored_claims_have_no_panel(self) -> None:
        self.client.force_login(self.creator)
        response = self.client.get(self.claims["a"].get_absolute_url())
        self.assertNotContains(response, 'id="reanchor-panel"')

    def test_other_reviewers_see_the_status_but_no_controls(self) -> None:
        self.client.force_login(self.reviewer_a)
        response = self.client.get(self.claims["d"].get_absolute_url())
        self.assertContains(response, "The claim's creator or an editor can re-anchor it.")
        self.assertNotContains(response, "Find in current text")
        self.assertEqual(self.client.get(self.find_url("d"), {"q": "x"}, **HX).status_code, 403)
        self.assertEqual(self.client.post(self.post_url("d"), self.closing_span()).status_code, 403)
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(self.find_url("d"), {"q": "x"}).status_code, 404)
        self.assertEqual(self.client.post(self.post_url("d"), self.closing_span()).status_code, 404)

    def test_find_lists_exact_occurrences_as_a_fragment(self) -> None:
        self.client.force_login(self.creator)
        response = self.client.get(self.find_url("d"), {"q": CLOSING}, **HX)
        html = response.content.decode()
        self.assertNotIn("<html", html)
        self.assertIn("1 occurrence in the current text", html)
        self.assertIn(f'name="start" value="{NEW.index(CLOSING)}"', html)

    def test_find_falls_back_to_nearest_passages(self) -> None:
        self.client.force_login(self.editor)
        # Without q, the quote from before the revision: "$2 billion", now "$3 billion".
        response = self.client.get(self.find_url("c"), **HX)
        self.assertContains(response, "No exact occurrence; the nearest passages")
        self.assertContains(response, "$3 billion")
        self.assertContains(response, "Before the last re-anchoring the quote read")

    def test_find_without_javascript_renders_the_claim_page(self) -> None:
        self.client.force_login(self.creator)
        response = self.client.get(self.find_url("d"), {"q": CLOSING})
        self.assertContains(response, "<html")
        self.assertContains(response, "1 occurrence in the current text")

    def test_choosing_a_passage_reanchors_with_history_and_an_event(self) -> None:
        self.client.force_login(self.creator)
        response = self.client.post(self.post_url("d"), self.closing_span())
        self.assertRedirects(
            response, self.claims["d"].get_absolute_url(), fetch_redirect_response=False
        )
        claim = self.claim("d")
        self.assertEqual(
            (claim.anchor_status, claim.anchor_revision, claim.exact),
            (AnchorStatus.ANCHORED, 2, CLOSING),
        )
        history = list(ClaimAnchor.objects.filter(claim=claim).order_by("id"))
        self.assertEqual(len(history), 2)
        self.assertEqual((history[-1].exact, history[-1].status), (QUOTES["d"], "orphaned"))
        event = Event.objects.filter(verb="claim.reanchor", object_id=claim.pk).first()
        self.assertEqual(event.after["outcome"], "by hand")
        self.assertEqual(event.actor, self.creator)
        # The reader highlights it again.
        html = self.client.get(self.report_doc.get_absolute_url()).content.decode()
        self.assertIn(f'id="claim-{claim.pk}"', html)

    def test_an_editor_confirms_the_proposed_span(self) -> None:
        proposal = self.claim("c")
        self.client.force_login(self.editor)
        response = self.client.post(
            self.post_url("c"),
            {"start": proposal.start, "end": proposal.end, "exact": proposal.exact},
            **HX,
        )
        self.assertEqual(response["HX-Redirect"], proposal.get_absolute_url())
        confirmed = self.claim("c")
        self.assertEqual(confirmed.anchor_status, AnchorStatus.ANCHORED)
        self.assertEqual((confirmed.start, confirmed.end), (proposal.start, proposal.end))

    def test_a_wrong_span_is_refused_with_a_message(self) -> None:
        self.client.force_login(self.creator)
        bad = {"start": 0, "end": 5, "exact": "not the text"}
        response = self.client.post(self.post_url("d"), bad)
        self.assertContains(response, "was not re-anchored", status_code=422)
        fragment = self.client.post(self.post_url("d"), bad, **HX)
        self.assertContains(fragment, "was not re-anchored")
        self.assertNotIn("<html", fragment.content.decode())
        self.assertEqual(self.claim("d").anchor_status, AnchorStatus.ORPHANED)

    def test_csrf_is_enforced(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.creator)
        self.assertEqual(client.post(self.post_url("d"), self.closing_span()).status_code, 403)
        self.assertEqual(self.claim("d").anchor_status, AnchorStatus.ORPHANED)
