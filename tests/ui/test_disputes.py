"""The editors' screen: disputes side by side, adjudication, reopen and publish."""

from __future__ import annotations

import datetime as dt
from unittest import mock

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotations import selectors, services
from annotations.models import Claim, ClaimStatus, Consensus, ConsensusMethod, Publication
from tests.factories import judge, make_claim
from tests.ui.reviewing_base import ReviewViewTestCase


class DisputesTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.disputed = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.resolved = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        judge(
            cls.disputed,
            cls.reviewer_a,
            "false",
            rationale="A-RATIONALE",
            citations=[
                services.CitationInput(
                    stance="supports", url="https://a.example.org/stats", quote="A-QUOTE"
                )
            ],
        )
        judge(
            cls.disputed,
            cls.reviewer_b,
            "true",
            rationale="B-RATIONALE",
            citations=[
                services.CitationInput(
                    stance="supports", url="https://b.example.org/report", quote="B-QUOTE"
                )
            ],
        )
        judge(cls.resolved, cls.reviewer_a, "true")
        judge(cls.resolved, cls.reviewer_b, "true")
        cls.url = reverse("workbench:disputes", kwargs={"slug": cls.project.slug})

    def action(self, name: str, claim: Claim) -> str:
        return reverse(f"workbench:claim-{name}", kwargs={"pk": claim.pk})

    def test_it_shows_the_verdicts_side_by_side(self) -> None:
        self.disputed.refresh_from_db()
        self.assertEqual(self.disputed.status, ClaimStatus.DISPUTED)
        self.login(self.editor)
        response = self.client.get(self.url)
        self.assertFullPage(response)
        self.assertNoInlineCode(response)
        self.assertLabelled(response)
        html = self.page(response)
        card = html[html.index(f'id="dispute-{self.disputed.pk}"') :]
        card = card[: card.index("</article>\n    \n")]
        for text in (
            "A-RATIONALE",
            "B-RATIONALE",
            "A-QUOTE",
            "B-QUOTE",
            "reviewer_a",
            "reviewer_b",
        ):
            self.assertIn(text, card)
        self.assertIn('class="verdict-grid"', card)
        self.assertIn(self.action("adjudicate", self.disputed), card)
        self.assertIn(self.action("publish", self.resolved), html)

    def test_it_renders_the_lists_for_htmx(self) -> None:
        self.login(self.editor)
        self.assertFragment(self.client.get(self.url, HTTP_HX_REQUEST="true"), 'id="dispute-lists"')

    def test_each_list_shows_its_oldest_claims_and_counts_them_all(self) -> None:
        later_disputed = make_claim(document=self.document, actor=self.creator, exact="3.1%")
        later_resolved = make_claim(document=self.document, actor=self.creator, exact="fell 20%")
        judge(later_disputed, self.reviewer_a, "true")
        judge(later_disputed, self.reviewer_b, "false")
        judge(later_resolved, self.reviewer_a, "false")
        judge(later_resolved, self.reviewer_b, "false")
        lists = selectors.dispute_cards_for_editor(project=self.project, shown=1)
        self.assertEqual([c.claim.pk for c in lists.disputed], [self.disputed.pk])
        self.assertEqual([c.claim.pk for c in lists.resolved], [self.resolved.pk])
        self.assertEqual((lists.disputed_total, lists.resolved_total), (2, 2))
        everything = selectors.dispute_cards_for_editor(project=self.project)
        self.assertEqual(
            [c.claim.pk for c in everything.disputed], [self.disputed.pk, later_disputed.pk]
        )
        self.assertEqual(
            [c.claim.pk for c in everything.resolved], [self.resolved.pk, later_resolved.pk]
        )
        self.login(self.editor)
        with mock.patch("annotations.selectors.review.DISPUTES_SHOWN", 1):
            html = self.page(self.client.get(self.url))
        self.assertIn("Disputed (2)", html)
        self.assertIn("Resolved, awaiting publication (2)", html)
        self.assertEqual(html.count("The 1 most pressing are shown"), 2)
        self.assertIn(f'id="dispute-{self.disputed.pk}"', html)
        self.assertNotIn(f'id="dispute-{later_disputed.pk}"', html)
        self.assertNotIn(f'id="dispute-{later_resolved.pk}"', html)
        # All of them fit: no note.
        html = self.page(self.client.get(self.url))
        self.assertIn(f'id="dispute-{later_resolved.pk}"', html)
        self.assertNotIn("most pressing are shown", html)
        # Scheduling moves a claim up, as in the queue, never out of the list: the later
        # dispute made urgent comes first, and one given a deadline before the rest.
        services.claim_schedule(claim=later_disputed, actor=self.editor, priority="urgent")
        services.claim_schedule(
            claim=later_resolved, actor=self.editor, due_at=timezone.now() + dt.timedelta(days=1)
        )
        lists = selectors.dispute_cards_for_editor(project=self.project, shown=1)
        self.assertEqual([c.claim.pk for c in lists.disputed], [later_disputed.pk])
        self.assertEqual([c.claim.pk for c in lists.resolved], [later_resolved.pk])

    def test_adjudication_records_a_consensus(self) -> None:
        self.login(self.editor)
        data = {"rating": "half_true", "note": "Both partly right", "origin": "disputes"}
        response = self.client.post(self.action("adjudicate", self.disputed), data)
        self.assertRedirects(response, self.url)
        record = Consensus.objects.get(claim=self.disputed, is_current=True)
        self.assertEqual(
            (record.rating.key, record.method, record.decided_by, record.note),
            ("half_true", ConsensusMethod.ADJUDICATED, self.editor, "Both partly right"),
        )
        self.disputed.refresh_from_db()
        self.assertEqual(self.disputed.status, ClaimStatus.RESOLVED)

    def test_adjudication_answers_htmx_with_the_card(self) -> None:
        self.login(self.editor)
        data = {"rating": "false", "note": "The data is clear", "origin": "disputes"}
        response = self.client.post(
            self.action("adjudicate", self.disputed), data, HTTP_HX_REQUEST="true"
        )
        self.assertFragment(response, f'id="dispute-{self.disputed.pk}"')
        html = self.page(response)
        self.assertIn("Decision recorded.", html)
        self.assertIn(self.action("publish", self.disputed), html)

    def test_adjudication_needs_a_note(self) -> None:
        self.login(self.editor)
        response = self.client.post(
            self.action("adjudicate", self.disputed), {"rating": "false", "origin": "disputes"}
        )
        self.assertContains(response, "This field is required.", status_code=422)
        self.assertFalse(Consensus.objects.filter(claim=self.disputed).exists())

    def test_reopen_and_publish_from_the_claim_page(self) -> None:
        self.login(self.editor)
        response = self.client.post(
            self.action("reopen", self.resolved),
            {"note": "New data came out", "origin": "claim"},
            HTTP_HX_REQUEST="true",
        )
        self.assertFragment(response, 'id="review-panel"')
        self.resolved.refresh_from_db()
        self.assertEqual(self.resolved.status, ClaimStatus.DISPUTED)
        self.assertFalse(Consensus.objects.filter(claim=self.resolved, is_current=True).exists())
        data = {"rating": "mostly_true", "note": "Revised figures", "origin": "claim"}
        self.client.post(self.action("adjudicate", self.resolved), data)
        history = list(Consensus.objects.filter(claim=self.resolved).order_by("sequence"))
        self.assertEqual(
            [(c.sequence, c.method, c.is_current) for c in history],
            [(1, "unanimous", False), (2, "adjudicated", True)],
        )
        html = self.page(self.client.get(self.resolved.get_absolute_url()))
        self.assertIn("superseded", html)
        self.assertIn("decided by editor", html)
        self.assertIn("Revised figures", html)
        self.assertIn('name="summary"', html)  # the publish form asks for the summary
        # Publishing needs the summary: without it the form comes back with the error.
        refused = self.client.post(self.action("publish", self.resolved), {"origin": "claim"})
        self.assertEqual(refused.status_code, 422)
        self.resolved.refresh_from_db()
        self.assertEqual(self.resolved.status, ClaimStatus.RESOLVED)
        response = self.client.post(
            self.action("publish", self.resolved),
            {"origin": "claim", "summary": "Revised figures show a rise."},
        )
        self.assertRedirects(response, self.resolved.get_absolute_url())
        self.resolved.refresh_from_db()
        self.assertEqual(self.resolved.status, ClaimStatus.PUBLISHED)

    def test_an_editor_corrects_and_retracts_from_the_claim_page(self) -> None:
        services.claim_publish(claim=self.resolved, editor=self.editor, summary="It rose.")
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.editor)
        page = client.get(self.resolved.get_absolute_url())
        html = page.content.decode()
        self.assertIn("Published versions", html)
        self.assertIn("Publish correction", html)
        self.assertNotIn(self.action("reopen", self.resolved), html)  # published: no reopen
        token = page.context["csrf_token"]
        nothing = client.post(
            self.action("correct", self.resolved),
            {
                "origin": "claim",
                "note": "Typo.",
                "summary": "It rose.",
                "csrfmiddlewaretoken": token,
            },
            HTTP_HX_REQUEST="true",
        )
        # htmx gets the fragment back (always 200) with the form and its error.
        self.assertEqual(nothing.status_code, 200)
        self.assertNotIn("<html", nothing.content.decode())
        self.assertIn("A correction changes what was published", nothing.content.decode())
        self.assertEqual(Publication.objects.filter(claim=self.resolved).count(), 1)
        done = client.post(
            self.action("correct", self.resolved),
            {
                "origin": "claim",
                "rating": "half_true",
                "note": "Revised series.",
                "summary": "It rose.",
                "csrfmiddlewaretoken": token,
            },
        )
        self.assertEqual(done.status_code, 302)
        self.resolved.refresh_from_db()
        self.assertEqual(self.resolved.status, ClaimStatus.CORRECTED)
        latest = Publication.objects.filter(claim=self.resolved).latest("number")
        self.assertEqual(
            (latest.number, latest.rating_key, latest.summary), (2, "half_true", "It rose.")
        )
        client.post(
            self.action("retract", self.resolved),
            {"origin": "claim", "note": "Wrong city.", "csrfmiddlewaretoken": token},
        )
        self.resolved.refresh_from_db()
        self.assertEqual(self.resolved.status, ClaimStatus.RETRACTED)
        self.assertEqual(
            list(Publication.objects.filter(claim=self.resolved).values_list("kind", flat=True)),
            ["publish", "correct", "retract"],
        )

    def test_publishing_a_disputed_claim_is_a_message(self) -> None:
        self.login(self.editor)
        response = self.client.post(
            self.action("publish", self.disputed),
            {"origin": "disputes", "summary": "Readers' summary."},
            follow=True,
        )
        self.assertContains(response, "Only resolved claims can be published.")
        self.disputed.refresh_from_db()
        self.assertEqual(self.disputed.status, ClaimStatus.DISPUTED)

    def test_reviewers_cannot_decide(self) -> None:
        self.login(self.reviewer_a)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        data = {"rating": "false", "note": "mine", "origin": "disputes"}
        self.assertEqual(
            self.client.post(self.action("adjudicate", self.disputed), data).status_code, 403
        )
        self.assertEqual(self.client.post(self.action("publish", self.resolved)).status_code, 403)
        self.assertEqual(
            self.client.post(self.action("reopen", self.resolved), {"note": "x"}).status_code, 403
        )
        self.assertFalse(Consensus.objects.filter(claim=self.disputed).exists())
