"""The evidence policy in the reviewer UI: the verdict form states it up front, a verdict
that breaks it is refused inline (htmx fragment and plain POST) keeping what was typed,
and project admins set it on the members page (CSRF-checked, audited)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import Assignment, Citation, Event, Project, Source, Verdict
from tests.factories import make_claim
from tests.ui.reviewing_base import ReviewViewTestCase, verdict_post

UNQUOTED = {"url": "https://stats.example.org/crime", "quote": "", "stance": "refutes"}
QUOTED = {"url": "https://stats.example.org/crime", "quote": "fell 12%", "stance": "refutes"}


def rows_written() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Verdict, Citation, Source, Event, Assignment)
    }


class VerdictFormPolicyTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)
        cls.url = reverse("workbench:verdict-submit", kwargs={"pk": cls.claim.pk})

    def set_policy(self, **policy: object) -> None:
        services.project_update(project=self.project, actor=self.admin, **policy)

    def test_the_form_states_the_policy_up_front(self) -> None:
        self.login(self.reviewer_a)
        html = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertNotIn('id="evidence-policy"', html)  # the default policy says nothing
        self.set_policy(min_citations=1, quote_required=True)
        html = self.page(self.client.get(self.claim.get_absolute_url()))
        self.assertIn(
            '<p id="evidence-policy" class="evidence-policy">This project requires at least '
            "1 quoted citation per verdict.</p>",
            html,
        )
        self.assertIn('aria-describedby="evidence-policy"', html)

    def test_a_refusal_shows_inline_in_the_htmx_fragment(self) -> None:
        self.set_policy(min_citations=1, quote_required=True)
        self.login(self.reviewer_a)
        before = rows_written()
        response = self.client.post(
            self.url,
            verdict_post(rationale="Kept text", rows=[UNQUOTED]),
            HTTP_HX_REQUEST="true",
        )
        self.assertFragment(
            response,
            "Citation 1, quote: This project&#x27;s evidence policy requires a quote from the "
            "source for every citation.",
        )
        html = self.page(response)
        self.assertIn('class="form-errors" role="alert"', html)
        self.assertIn("Kept text</textarea>", html)
        self.assertIn('value="https://stats.example.org/crime"', html)
        self.assertEqual(rows_written(), before)

    def test_a_refusal_shows_on_the_page_without_javascript(self) -> None:
        self.set_policy(min_citations=1)
        self.login(self.reviewer_a)
        before = rows_written()
        response = self.client.post(self.url, verdict_post(rationale="Kept text"))
        self.assertEqual(response.status_code, 422)
        self.assertFullPage(response)
        self.assertContains(
            response,
            "This project&#x27;s evidence policy requires at least 1 citation per verdict.",
            status_code=422,
        )
        self.assertContains(response, "Kept text</textarea>", status_code=422)
        self.assertEqual(rows_written(), before)
        # Complying, the same form goes through.
        response = self.client.post(self.url, verdict_post(rows=[QUOTED]), follow=True)
        self.assertContains(response, "Verdict saved on")
        self.assertEqual(Verdict.objects.get(reviewer=self.reviewer_a).citations.count(), 1)

    def test_a_stance_the_project_does_not_allow_is_refused_inline(self) -> None:
        self.set_policy(allowed_stances=["supports"])
        self.login(self.reviewer_a)
        response = self.client.post(self.url, verdict_post(rows=[QUOTED]), HTTP_HX_REQUEST="true")
        self.assertFragment(
            response,
            "Citation 1, stance: This project&#x27;s evidence policy does not allow "
            "&#x27;refutes&#x27; citations; use supports.",
        )
        self.assertFalse(Verdict.objects.exists())


class EvidencePolicySettingsTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def url(self) -> str:
        return reverse("workbench:project-evidence-policy", kwargs={"slug": self.project.slug})

    def test_an_admin_sets_the_policy_on_the_members_page(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.admin)
        page = client.get(reverse("workbench:project-members", kwargs={"slug": self.project.slug}))
        self.assertContains(page, "Evidence policy")
        self.assertContains(page, 'name="min_citations"')
        self.assertContains(page, "Now: verdicts need no citations.")
        for control in (
            "policy-min_citations",
            "policy-quote_required",
            "policy-allowed_stances_0",
        ):
            self.assertContains(page, f'<label for="{control}"')
        self.assertNoInlineCode(page)
        token = page.context["csrf_token"]
        data = {"min_citations": "1", "quote_required": "on", "allowed_stances": ["supports"]}
        self.assertEqual(client.post(self.url(), data).status_code, 403)
        response = client.post(self.url(), {**data, "csrfmiddlewaretoken": token}, follow=True)
        self.assertContains(
            response,
            "Evidence policy saved. This project requires at least 1 quoted citation per "
            "verdict; citations of stance supports only.",
        )
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual(
            (project.min_citations, project.quote_required, project.allowed_stances),
            (1, True, "supports"),
        )
        event = Event.objects.filter(verb="project.update").latest("id")
        self.assertEqual(event.actor, self.admin)
        self.assertEqual(
            (event.before["allowed_stances"], event.after["allowed_stances"]),
            (["supports", "refutes", "context"], ["supports"]),
        )

    def test_a_bad_policy_is_shown_on_the_form_and_not_saved(self) -> None:
        self.login(self.admin)
        events = Event.objects.count()
        response = self.client.post(self.url(), {"min_citations": "99", "allowed_stances": []})
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "Allow at least one stance.", status_code=422)
        self.assertContains(response, "less than or equal to 50", status_code=422)
        self.assertEqual(Event.objects.count(), events)
        self.assertEqual(Project.objects.get(pk=self.project.pk).min_citations, 0)

    def test_editors_reviewers_and_outsiders_cannot(self) -> None:
        data = {"min_citations": "3", "allowed_stances": ["supports"]}
        for user, status in ((self.editor, 403), (self.reviewer_a, 403), (self.outsider, 404)):
            with self.subTest(user=user.username):
                self.login(user)
                self.assertEqual(self.client.post(self.url(), data).status_code, status)
        self.assertEqual(Project.objects.get(pk=self.project.pk).min_citations, 0)
