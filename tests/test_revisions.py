"""Revisions of a document's text and re-anchoring claims: the service, the API and the UI
(workbench/ui/importing.py: revise, revisions, orphan list, the claim page's re-anchor panel)."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client, TestCase
from django.urls import reverse

from annotations import selectors, services
from annotations.core import passages
from annotations.models import (
    AnchorStatus,
    Claim,
    ClaimAnchor,
    DocumentRevision,
    Event,
    Verdict,
)
from tests.factories import Personas, judge, make_claim, make_document

HX = {"HTTP_HX_REQUEST": "true"}
TEMPLATES = Path(__file__).resolve().parent.parent / "workbench" / "templates" / "workbench"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)

OLD = (
    "The mayor said crime fell 20% last year, according to the city report.\n"
    "An extra filler line that nobody will claim at all.\n"
    "Unemployment is at a record low of 3.1%, officials claim.\n"
    "Critics say the new bridge cost $2 billion over budget, the auditor found.\n"
    "Others disagree about the tunnel entirely and loudly.\n"
    "The end of the article comes here with a closing line.\n"
)
# One edit per outcome: text inserted between claims A and B (A unchanged, B moved), C's
# quoted figure corrected (changed inside), D's line deleted (orphaned).
NEW = (
    OLD.replace("An extra filler line", "An extra filler line (corrected)")
    .replace("$2 billion", "$3 billion")
    .replace("Others disagree about the tunnel entirely and loudly.\n", "")
)
QUOTES = {
    "a": "crime fell 20% last year",
    "b": "a record low of 3.1%",
    "c": "the new bridge cost $2 billion",
    "d": "Others disagree about the tunnel entirely",
}
CLOSING = "The end of the article"


class RevisionTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.report_doc = make_document(
            project=cls.project, actor=cls.editor, text=OLD, title="Report"
        )
        cls.claims = {
            key: make_claim(document=cls.report_doc, actor=cls.creator, exact=quote)
            for key, quote in QUOTES.items()
        }

    def revise(
        self, text: str = NEW, note: str = "publisher's correction"
    ) -> services.RevisionReport:
        return services.document_revise(
            document=self.report_doc, text=text, actor=self.editor, note=note
        )

    def claim(self, key: str) -> Claim:
        return Claim.objects.get(pk=self.claims[key].pk)

    def assert_csp_clean(self, html: str) -> None:
        self.assertIsNone(INLINE_SCRIPT.search(html), "inline <script> without src")
        self.assertIsNone(STYLE_ATTRIBUTE.search(html), "style= attribute")


# --- service --------------------------------------------------------------------------------


class DocumentReviseServiceTests(RevisionTestCase):
    def test_it_keeps_the_old_text_as_a_read_only_revision(self) -> None:
        self.revise()
        old = DocumentRevision.objects.get(document=self.report_doc)
        self.assertEqual((old.number, old.text, old.note), (1, OLD, "publisher's correction"))
        self.report_doc.refresh_from_db()
        self.assertEqual((self.report_doc.revision, self.report_doc.text), (2, NEW))

    def test_it_reports_each_of_the_four_outcomes(self) -> None:
        report = self.revise()
        outcomes = {p.claim_id: p.outcome for p in report.placements}
        expected = {"a": "unchanged", "b": "moved", "c": "changed", "d": "orphaned"}
        for key, outcome in expected.items():
            with self.subTest(claim=key):
                self.assertEqual(outcomes[self.claims[key].pk], outcome)
        self.assertEqual(report.counts, {"unchanged": 1, "moved": 1, "changed": 1, "orphaned": 1})

    def test_claims_get_their_new_anchor_status_and_history(self) -> None:
        self.revise()
        statuses = {key: self.claim(key).anchor_status for key in QUOTES}
        self.assertEqual(
            statuses,
            {
                "a": AnchorStatus.ANCHORED,
                "b": AnchorStatus.MOVED,
                "c": AnchorStatus.CHANGED,
                "d": AnchorStatus.ORPHANED,
            },
        )
        moved = self.claim("b")
        self.assertEqual(NEW[moved.start : moved.end], QUOTES["b"])
        self.assertEqual(self.claim("c").exact, "the new bridge cost $3 billion")
        orphan = self.claim("d")
        self.assertEqual((orphan.anchor_revision, orphan.exact), (1, QUOTES["d"]))
        self.assertEqual(ClaimAnchor.objects.filter(claim__document=self.report_doc).count(), 4)
        self.assertEqual(Event.objects.filter(verb="claim.reanchor").count(), 4)
        self.assertEqual(Event.objects.filter(verb="document.revise").count(), 1)

    def test_verdicts_keep_the_revision_they_judged(self) -> None:
        claim = self.claims["a"]
        verdict = judge(claim, self.reviewer_a, "true")
        self.revise()
        verdict = Verdict.objects.get(pk=verdict.pk)
        self.assertEqual((verdict.claim_id, verdict.document_revision), (claim.pk, 1))

    def test_it_refuses_a_text_identical_to_the_current_one(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.revise(text=OLD)
        self.assertIn("identical", str(caught.exception.message_dict["text"]))
        self.assertFalse(DocumentRevision.objects.exists())

    def test_it_refuses_reviewers(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.document_revise(document=self.report_doc, text=NEW, actor=self.reviewer_a)

    def test_the_report_can_be_rebuilt_from_the_events(self) -> None:
        self.revise()
        rows = selectors.revision_placements(document=self.report_doc, number=1)
        by_claim = {row.claim.pk: row for row in rows}
        self.assertEqual(by_claim[self.claims["d"].pk].outcome, "orphaned")
        self.assertIsNone(by_claim[self.claims["d"].pk].after)
        self.assertEqual(by_claim[self.claims["c"].pk].after[2], "the new bridge cost $3 billion")
        self.assertEqual(len(rows), 4)

    def test_orphans_and_claims_needing_review_are_listed_apart(self) -> None:
        self.revise()
        self.report_doc.refresh_from_db()
        orphans = list(selectors.claims_orphaned(document=self.report_doc))
        changed = list(selectors.claims_needing_review(document=self.report_doc))
        self.assertEqual(orphans, [self.claim("d")])
        self.assertEqual(changed, [self.claim("c")])


class FindPassagesTests(TestCase):
    def test_it_lists_exact_occurrences_with_offsets_and_context(self) -> None:
        found = passages.find_passages(NEW, "claim")
        self.assertEqual([NEW[p.start : p.end] for p in found], ["claim"] * len(found))
        self.assertEqual(len(found), 2)
        self.assertTrue(all(p.is_exact for p in found))
        self.assertTrue(found[0].before.endswith("nobody will "))

    def test_it_stops_at_the_limit(self) -> None:
        self.assertEqual(len(passages.find_passages("ab " * 50, "ab", limit=20)), 20)

    def test_it_falls_back_to_the_nearest_passages(self) -> None:
        found = passages.find_passages(NEW, QUOTES["c"])
        self.assertTrue(found)
        best = found[0]
        self.assertFalse(best.is_exact)
        self.assertIn("bridge cost $3 billion", best.exact)
        self.assertEqual(NEW[best.start : best.end], best.exact)

    def test_it_finds_nothing_for_an_empty_or_unrelated_query(self) -> None:
        self.assertEqual(passages.find_passages(NEW, "   "), [])
        self.assertEqual(passages.find_passages(NEW, "zebra quokka"), [])


# --- API --------------------------------------------------------------------------------------


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

    def test_the_creator_reanchors_an_orphan_through_the_api(self) -> None:
        self.revise()
        start = NEW.index(CLOSING)
        self.client.force_login(self.creator)
        response = self.client.post(
            reverse("api:claim-reanchor", kwargs={"pk": self.claims["d"].pk}),
            {"start": start, "end": start + len(CLOSING), "exact": CLOSING},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["anchor_status"], "anchored")


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
