"""The reader's "Suggested claims" panel: pulled into the reader by htmx (a plain page with
forms without JavaScript), accept creates the claim and shows it in the reader, dismiss
(editors) records a reason; CSP-clean, CSRF enforced, outsiders 404."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from annotations.core import triage
from annotations.models import Claim, SuggestionDecision, SuggestionVerdict
from tests.ui.reading_base import HX, ReadingViewTestCase


class SuggestionPanelTests(ReadingViewTestCase):
    def setUp(self) -> None:
        self.url = reverse("workbench:document-suggestions", args=[self.document.pk])
        self.accept_url = reverse("workbench:suggestion-accept", args=[self.document.pk])
        self.dismiss_url = reverse("workbench:suggestion-dismiss", args=[self.document.pk])
        self.sentences = triage.split_sentences(self.document.text)
        # "Critics say the new bridge cost $2 billion." is not claimed yet.
        self.open = next(s for s in self.sentences if s.text.startswith("Critics"))

    def test_the_reader_includes_the_panel_that_loads_with_htmx_or_links_without(self) -> None:
        self.login(self.reviewer_a)
        html = self.client.get(self.document.get_absolute_url()).content.decode()
        self.assertIn('id="suggestions"', html)
        self.assertIn(f'hx-get="{self.url}"', html)
        self.assertIn(f'href="{self.url}"', html)
        self.assert_csp_clean(html)

    def test_the_panel_lists_open_sentences_with_scores_and_forms(self) -> None:
        self.login(self.editor)
        fragment = self.client.get(self.url, **HX)
        self.assertEqual(fragment.status_code, 200)
        html = fragment.content.decode()
        self.assertNotIn("<html", html)
        self.assertIn("Suggested claims", html)
        self.assertIn("Critics say the new bridge cost $2 billion.", html)
        self.assertIn("score ", html)
        self.assertIn(f'hx-post="{self.accept_url}"', html)
        self.assertIn(f'hx-post="{self.dismiss_url}"', html)
        self.assert_csp_clean(html)
        # The claimed sentence ("The mayor said crime fell 20% last year.") is left out.
        self.assertNotIn("The mayor said", html)
        page = self.client.get(self.url)
        self.assertContains(page, "<html")
        self.assertNotContains(page, "hx-post")  # plain forms without JavaScript
        self.assertContains(page, f'action="{self.accept_url}"')
        self.assert_csp_clean(page.content.decode())

    def test_reviewers_see_accept_but_not_dismiss(self) -> None:
        self.login(self.reviewer_a)
        html = self.client.get(self.url, **HX).content.decode()
        self.assertIn(self.accept_url, html)
        self.assertNotIn(self.dismiss_url, html)

    def test_access(self) -> None:
        self.assert_access(self.url)
        self.login(self.outsider)
        response = self.client.post(
            self.accept_url, {"start": self.open.start, "end": self.open.end}
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(SuggestionDecision.objects.exists())

    def test_accept_through_htmx_shows_the_new_claim_in_the_reader(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reviewer_a)
        refused = client.post(
            self.accept_url, {"start": self.open.start, "end": self.open.end}, **HX
        )
        self.assertEqual(refused.status_code, 403)  # no CSRF token
        self.assertFalse(Claim.objects.filter(exact=self.open.text).exists())
        client.get(self.document.get_absolute_url())
        token = client.cookies["csrftoken"].value
        response = client.post(
            self.accept_url,
            {"start": self.open.start, "end": self.open.end},
            HTTP_X_CSRFTOKEN=token,
            **HX,
        )
        self.assertEqual(response.status_code, 200)
        claim = Claim.objects.get(exact=self.open.text)
        self.assertEqual((claim.start, claim.end), (self.open.start, self.open.end))
        html = response.content.decode()
        self.assertIn('id="reader"', html)
        self.assertIn(f'id="claim-{claim.pk}"', html)
        self.assertIn("data-just-created", html)
        decision = SuggestionDecision.objects.get()
        self.assertEqual(
            (decision.decision, decision.claim_id), (SuggestionVerdict.ACCEPTED, claim.pk)
        )

    def test_accept_without_javascript_redirects_to_the_claim_in_the_reader(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(
            self.accept_url, {"start": self.open.start, "end": self.open.end}
        )
        claim = Claim.objects.get(exact=self.open.text)
        self.assertRedirects(
            response,
            f"{self.document.get_absolute_url()}#claim-{claim.pk}",
            fetch_redirect_response=False,
        )

    def test_a_span_that_is_not_a_suggestion_is_refused_and_nothing_is_written(self) -> None:
        self.login(self.reviewer_a)
        claims = Claim.objects.count()
        response = self.client.post(
            self.accept_url, {"start": self.open.start, "end": self.open.end - 1}
        )
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "No suggested sentence", status_code=422)
        fragment = self.client.post(self.accept_url, {"start": "x", "end": 3}, **HX)
        self.assertEqual(fragment.status_code, 200)
        self.assertEqual(fragment["HX-Retarget"], "#suggestions")
        self.assertEqual(Claim.objects.count(), claims)
        self.assertFalse(SuggestionDecision.objects.exists())

    def test_an_editor_dismisses_with_a_reason(self) -> None:
        self.login(self.editor)
        empty = self.client.post(
            self.dismiss_url, {"start": self.open.start, "end": self.open.end, "reason": ""}, **HX
        )
        self.assertContains(empty, "reason")
        self.assertFalse(SuggestionDecision.objects.exists())
        response = self.client.post(
            self.dismiss_url,
            {"start": self.open.start, "end": self.open.end, "reason": "Opinion."},
            **HX,
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Dismissed.")
        self.assertNotContains(response, self.open.text)
        decision = SuggestionDecision.objects.get()
        self.assertEqual(
            (decision.decision, decision.reason), (SuggestionVerdict.DISMISSED, "Opinion.")
        )

    def test_a_reviewer_cannot_dismiss(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.post(
            self.dismiss_url, {"start": self.open.start, "end": self.open.end, "reason": "Opinion."}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(SuggestionDecision.objects.exists())
