"""The review policy on a project's members page (admins): verdicts per claim, the
consensus rule, the majority threshold and the lease's length, saved through
``services.project_update`` (its checks word the errors, nothing is written on one);
lowering the verdicts per claim queues the decision of the claims that already hold
enough. Editors get 403, outsiders 404."""

from __future__ import annotations

from django.test import Client, TestCase
from django_tasks_db.models import DBTaskResult

from annotations.models import Event, Project
from tests.factories import Personas

GOOD = {
    "required_reviews": "3",
    "consensus_rule": "majority",
    "majority_threshold": "0.6",
    "lease_minutes": "45",
}


class ReviewPolicyPageTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)

    def url(self) -> str:
        return f"/projects/{self.project.slug}/review-policy/"

    def signed_in(self, user: object) -> tuple[Client, str]:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        page = client.get(f"/projects/{self.project.slug}/members/")
        self.assertEqual(page.status_code, 200)
        return client, page.context["csrf_token"]

    def policy(self) -> tuple[int, str, float, int]:
        project = Project.objects.get(pk=self.project.pk)
        return (
            project.required_reviews,
            project.consensus_rule,
            project.majority_threshold,
            project.lease_minutes,
        )

    def test_the_members_page_shows_the_policy_as_it_is(self) -> None:
        client, _ = self.signed_in(self.admin)
        page = client.get(f"/projects/{self.project.slug}/members/")
        self.assertContains(page, f'action="/projects/{self.project.slug}/review-policy/"')
        self.assertContains(page, 'name="required_reviews" value="2"', html=False)
        self.assertContains(page, 'name="lease_minutes" value="30"', html=False)

    def test_an_admin_saves_it_with_an_event(self) -> None:
        client, token = self.signed_in(self.admin)
        done = client.post(self.url(), {**GOOD, "csrfmiddlewaretoken": token}, follow=True)
        self.assertEqual(done.redirect_chain[-1][1], 302)
        self.assertEqual(self.policy(), (3, "majority", 0.6, 45))
        self.assertContains(done, "Review policy saved: 3 verdict(s) per claim")
        self.assertNotContains(done, "decided in the background")
        event = Event.objects.filter(verb="project.update").latest("seq")
        self.assertEqual(event.after["required_reviews"], 3)
        self.assertEqual(event.before["required_reviews"], 2)
        # Raising the number queues nothing.
        self.assertFalse(DBTaskResult.objects.filter(task_path__endswith="settle_task").exists())

    def test_lowering_it_queues_the_decision_and_says_so(self) -> None:
        client, token = self.signed_in(self.admin)
        body = {**GOOD, "required_reviews": "1", "csrfmiddlewaretoken": token}
        done = client.post(self.url(), body, follow=True)
        self.assertEqual(self.policy()[0], 1)
        self.assertContains(done, "decided in the background")
        self.assertTrue(DBTaskResult.objects.filter(task_path__endswith="settle_task").exists())

    def test_bad_values_are_refused_by_field_and_nothing_is_written(self) -> None:
        client, token = self.signed_in(self.admin)
        before, events = self.policy(), Event.objects.count()
        for field, value, reason in (
            ("required_reviews", "0", "greater than or equal to 1"),
            ("required_reviews", "21", "less than or equal to 20"),
            ("required_reviews", "two", "whole number"),
            ("majority_threshold", "1", "less than or equal to 0.99"),
            ("majority_threshold", "0.995", "less than or equal to 0.99"),
            ("majority_threshold", "0.4", "greater than or equal to 0.5"),
            ("lease_minutes", "0", "greater than or equal to 1"),
            ("lease_minutes", "1441", "less than or equal to 1440"),
            ("consensus_rule", "loudest", "valid choice"),
        ):
            with self.subTest(field=field, value=value):
                body = {**GOOD, field: value, "csrfmiddlewaretoken": token}
                refused = client.post(self.url(), body)
                self.assertEqual(refused.status_code, 422)
                self.assertIn(reason, " ".join(refused.context["review_form"].errors[field]))
        self.assertEqual(self.policy(), before)
        self.assertEqual(Event.objects.count(), events)

    def test_its_inputs_carry_their_range_and_their_hint(self) -> None:
        client, _ = self.signed_in(self.admin)
        page = client.get(f"/projects/{self.project.slug}/members/").content.decode()
        for name, low, high in (
            ("required_reviews", "1", "20"),
            ("majority_threshold", "0.5", "0.99"),
            ("lease_minutes", "1", "1440"),
        ):
            self.assertRegex(page, rf'<input[^>]*name="{name}"[^>]*min="{low}"[^>]*max="{high}"')
            self.assertRegex(page, rf'aria-describedby="review-{name}_helptext"')
            self.assertIn(f'id="review-{name}_helptext"', page)

    def test_saving_it_unchanged_writes_and_records_nothing(self) -> None:
        client, token = self.signed_in(self.admin)
        shown = {
            "required_reviews": "2",
            "consensus_rule": "unanimous",
            "majority_threshold": "0.5",
            "lease_minutes": "30",
            "csrfmiddlewaretoken": token,
        }
        self.assertEqual(self.policy(), (2, "unanimous", 0.5, 30))
        events = Event.objects.count()
        self.assertEqual(client.post(self.url(), shown).status_code, 302)
        self.assertEqual(Event.objects.count(), events)

    def test_without_the_csrf_token_it_is_refused(self) -> None:
        client, _ = self.signed_in(self.admin)
        self.assertEqual(client.post(self.url(), GOOD).status_code, 403)
        self.assertEqual(self.policy()[0], 2)

    def test_editors_get_403_and_outsiders_404(self) -> None:
        for user, status in ((self.editor, 403), (self.reviewer_a, 403), (self.outsider, 404)):
            client = Client()
            client.force_login(user)
            with self.subTest(user=user.username):
                self.assertEqual(client.post(self.url(), GOOD).status_code, status)
        self.assertEqual(self.policy()[0], 2)
