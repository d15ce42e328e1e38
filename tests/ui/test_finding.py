"""Finding claims in the reviewer UI: the references page, matches in the claim form and on
the claim page, linking, and the repeat lists of the reader and the dashboard."""

from __future__ import annotations

from django.test import Client, TestCase
from django.urls import reverse

from annotations import services
from annotations.models import ClaimLink, Event
from annotations.selectors import matching as match_selectors
from tests.factories import Personas, judge, make_claim, make_document

ROOF = "The city spent 40 million dollars on the new stadium roof."


class FindingViewsTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        (cls.reference,) = services.references_create(
            project=cls.project,
            items=[
                services.ReferenceInput(
                    claim_reviewed=ROOF, rating="False", url="https://checks.example.org/roof"
                )
            ],
            actor=cls.editor,
        )
        cls.doc = make_document(
            project=cls.project, actor=cls.creator, text=f"Intro text here. {ROOF} The end."
        )
        cls.claim = make_claim(document=cls.doc, actor=cls.creator, exact=ROOF)
        services.repeats_scan(document_id=cls.doc.pk)

    def setUp(self) -> None:
        match_selectors.engine_reset()

    def login(self, user: object) -> Client:
        client = Client()
        client.force_login(user)  # type: ignore[arg-type]
        return client

    def test_the_references_page_lists_and_searches_and_refuses_outsiders(self) -> None:
        url = reverse("workbench:reference-list", args=[self.project.slug])
        page = self.login(self.reviewer_a).get(url, {"q": "stadium"})
        self.assertContains(page, ROOF)
        self.assertNotContains(self.login(self.reviewer_a).get(url, {"q": "zebra"}), ROOF)
        self.assertEqual(self.login(self.outsider).get(url).status_code, 404)

    def test_the_claim_form_loads_the_matches_of_the_selected_text(self) -> None:
        form = self.login(self.creator).get(
            reverse("workbench:claim-create", args=[self.doc.pk]),
            {"start": 0, "end": 10},
            HTTP_HX_REQUEST="true",
        )
        self.assertContains(form, reverse("workbench:document-matches", args=[self.doc.pk]))
        fragment = self.login(self.creator).get(
            reverse("workbench:document-matches", args=[self.doc.pk]),
            {"text": ROOF},
            HTTP_HX_REQUEST="true",
        )
        self.assertNotContains(fragment, "<html")
        self.assertContains(fragment, f'data-match-id="{self.reference.pk}"')
        self.assertContains(fragment, "Rated <strong>False</strong>")
        outsider = self.login(self.outsider).get(
            reverse("workbench:document-matches", args=[self.doc.pk]), {"text": ROOF}
        )
        self.assertEqual(outsider.status_code, 404)

    def test_the_claim_page_shows_matches_and_the_creator_links_one(self) -> None:
        page = self.login(self.creator).get(self.claim.get_absolute_url())
        self.assertContains(page, reverse("workbench:claim-matches", args=[self.claim.pk]))
        url = reverse("workbench:claim-matches", args=[self.claim.pk])
        fragment = self.login(self.creator).get(url, HTTP_HX_REQUEST="true")
        self.assertContains(fragment, "Same claim: link it")
        self.assertContains(fragment, f'data-match-id="{self.reference.pk}"')
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.creator)
        client.get(url)  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.post(
            reverse("workbench:claim-link", args=[self.claim.pk]),
            {"kind": "reference", "id": self.reference.pk, "csrfmiddlewaretoken": token},
            HTTP_HX_REQUEST="true",
        )
        self.assertEqual(response.status_code, 200)
        link = ClaimLink.objects.get(claim=self.claim)
        self.assertEqual((link.reference_id, link.state), (self.reference.pk, "confirmed"))
        self.assertContains(response, "Not the same claim")
        decide = reverse("workbench:claim-link-decide", args=[self.claim.pk, link.pk])
        self.login(self.creator).post(decide, {"state": "rejected"})
        link.refresh_from_db()
        self.assertEqual(link.state, "rejected")
        self.assertEqual(
            Event.objects.filter(object_type="claimlink", object_id=link.pk).count(), 2
        )

    def test_a_reviewer_who_did_not_create_the_claim_cannot_link_it(self) -> None:
        url = reverse("workbench:claim-matches", args=[self.claim.pk])
        self.assertNotContains(self.login(self.reviewer_a).get(url), "Same claim: link it")
        response = self.login(self.reviewer_a).post(
            reverse("workbench:claim-link", args=[self.claim.pk]),
            {"kind": "reference", "id": self.reference.pk},
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(ClaimLink.objects.exists())

    def test_a_blind_reviewer_sees_no_rating_of_an_earlier_desk_claim(self) -> None:
        for user in (self.reviewer_b, self.reviewer_c):
            judge(self.claim, user, "false")
        other = make_document(project=self.project, actor=self.creator, text=f"Again: {ROOF}")
        later = make_claim(document=other, actor=self.creator, exact=ROOF)
        url = reverse("workbench:claim-matches", args=[later.pk])
        blind = self.login(self.reviewer_a).get(url, HTTP_HX_REQUEST="true").content.decode()
        seen = self.login(self.editor).get(url, HTTP_HX_REQUEST="true").content.decode()
        self.assertIn(f'data-match-id="{self.claim.pk}"', blind)
        self.assertIn("rating not shown", blind)
        self.assertEqual(seen.count("rating not shown"), 0)

    def test_the_reader_and_the_dashboard_list_the_repeats(self) -> None:
        reader = self.login(self.reviewer_a).get(self.doc.get_absolute_url())
        repeats_url = reverse("workbench:document-repeats", args=[self.doc.pk])
        self.assertContains(reader, repeats_url)
        fragment = self.login(self.reviewer_a).get(repeats_url, HTTP_HX_REQUEST="true")
        self.assertContains(fragment, "Repeated claims (1)")
        self.assertContains(fragment, "rated <strong>False</strong>")
        dashboard_url = reverse("workbench:project-repeats", args=[self.project.slug])
        self.assertContains(
            self.login(self.reviewer_a).get(self.project.get_absolute_url()), dashboard_url
        )
        page = self.login(self.reviewer_a).get(dashboard_url)
        self.assertContains(page, "<html")
        self.assertContains(page, self.doc.title)
        self.assertEqual(self.login(self.outsider).get(repeats_url).status_code, 404)
        self.assertEqual(self.login(self.outsider).get(dashboard_url).status_code, 404)
