"""Gold calibration in the web UI (issue 18): the editors' control on the claim page (plain
POST and htmx, CSRF-checked), the admins' gold rate on the members page; reviewers and
outsiders are refused."""

from __future__ import annotations

from django.test import Client, TestCase

from annotations import services
from annotations.models import Event, GoldClaim, Project
from tests.factories import Personas, judge, make_claim
from workbench.ui import reader

HX = {"HTTP_HX_REQUEST": "true"}


class GoldUiTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.claim, cls.reviewer_a, "false")
        judge(cls.claim, cls.reviewer_b, "false")

    def url(self) -> str:
        return f"/claims/{self.claim.pk}/gold/"

    def test_an_editor_marks_and_unmarks_a_resolved_claim_on_its_page(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.editor)
        page = client.get(self.claim.get_absolute_url())
        self.assertContains(page, "Mark as gold")
        token = page.context["csrf_token"]
        self.assertEqual(client.post(self.url(), {"rating": "false"}).status_code, 403)
        response = client.post(
            self.url(), {"origin": "claim", "rating": "", "csrfmiddlewaretoken": token}
        )
        self.assertEqual(response.status_code, 302)
        gold = GoldClaim.objects.get(claim=self.claim)
        self.assertEqual(gold.rating.key, "false")  # the consensus rating by default
        fragment = client.post(
            self.url(),
            {"origin": "claim", "rating": "nope", "csrfmiddlewaretoken": token},
            **HX,
        )
        # htmx fragments always answer 200 (workbench.ui.htmx), with the form's errors.
        self.assertNotContains(fragment, "<html")
        self.assertContains(fragment, "Select a valid choice")
        self.assertEqual(GoldClaim.objects.get(claim=self.claim).rating.key, "false")
        fragment = client.post(
            self.url(),
            {"origin": "claim", "unmark": "1", "csrfmiddlewaretoken": token},
            **HX,
        )
        self.assertContains(fragment, "Gold mark removed.")
        self.assertFalse(GoldClaim.objects.filter(claim=self.claim).exists())
        self.assertEqual(
            list(
                Event.objects.filter(verb__startswith="claim.gold_")
                .order_by("seq")
                .values_list("verb", flat=True)
            ),
            ["claim.gold_mark", "claim.gold_unmark"],
        )

    def test_reviewers_get_403_outsiders_404_and_no_gold_control(self) -> None:
        client = Client()
        client.force_login(self.reviewer_a)
        self.assertNotContains(client.get(self.claim.get_absolute_url()), "gold")
        self.assertEqual(client.post(self.url(), {"rating": "false"}).status_code, 403)
        client.force_login(self.outsider)
        self.assertEqual(client.post(self.url(), {"rating": "false"}).status_code, 404)
        self.assertFalse(GoldClaim.objects.exists())

    def test_an_admin_sets_the_gold_rate_on_the_members_page(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.admin)
        page = client.get(f"/projects/{self.project.slug}/members/")
        self.assertContains(page, 'name="gold_rate"')
        token = page.context["csrf_token"]
        url = f"/projects/{self.project.slug}/gold-rate/"
        refused = client.post(url, {"gold_rate": "0.9", "csrfmiddlewaretoken": token})
        self.assertEqual(refused.status_code, 422)
        self.assertEqual(Project.objects.get(pk=self.project.pk).gold_rate, 0)
        done = client.post(url, {"gold_rate": "0.05", "csrfmiddlewaretoken": token})
        self.assertEqual(done.status_code, 302)
        self.assertEqual(Project.objects.get(pk=self.project.pk).gold_rate, 0.05)
        client.force_login(self.editor)
        self.assertEqual(client.post(url, {"gold_rate": "0.1"}).status_code, 403)


class GoldInTheReaderFilterTests(Personas, TestCase):
    """The reader's status filter sees a gold claim as the reviewer is shown it: in review."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.claim, cls.reviewer_a, "false")
        judge(cls.claim, cls.reviewer_b, "false")
        services.gold_mark(claim=cls.claim, actor=cls.editor)

    def listed(self, user: object, query: str) -> bool:
        client = Client()
        client.force_login(user)
        html = client.get(f"{self.document.get_absolute_url()}{query}").content.decode()
        return f'id="claim-{self.claim.pk}"' in html

    def test_a_masked_gold_claim_is_found_under_in_review_only(self) -> None:
        self.assertFalse(self.listed(self.reviewer_c, "?status=resolved"))
        self.assertTrue(self.listed(self.reviewer_c, "?status=in_review"))
        self.assertTrue(self.listed(self.editor, "?status=resolved"))
        # The count a windowed reader shows under a filter follows the same rule.
        count = reader._filtered_count
        resolved = reader.ReaderFilter("resolved")
        self.assertEqual(count(self.document, resolved, self.reviewer_c), 0)
        self.assertEqual(count(self.document, reader.ReaderFilter("in_review"), self.reviewer_c), 1)
        self.assertEqual(count(self.document, resolved, self.editor), 1)
