"""The project admins' publishing switch on the members page (issue 15): admins only,
CSRF-checked, through ``services.project_update`` (an audit event)."""

from __future__ import annotations

from django.test import Client, TestCase

from annotations.models import Event, Project
from tests.factories import Personas


class PublishingSettingTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def url(self) -> str:
        return f"/projects/{self.project.slug}/publishing/"

    def test_an_admin_switches_publishing_on_and_off(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.admin)
        page = client.get(f"/projects/{self.project.slug}/members/")
        self.assertContains(page, 'name="publishing_enabled"')
        token = page.context["csrf_token"]
        self.assertEqual(client.post(self.url(), {"publishing_enabled": "on"}).status_code, 403)
        response = client.post(
            self.url(), {"publishing_enabled": "on", "csrfmiddlewaretoken": token}
        )
        self.assertEqual(response.status_code, 302)
        self.assertTrue(Project.objects.get(pk=self.project.pk).publishing_enabled)
        event = Event.objects.filter(verb="project.update").latest("id")
        self.assertEqual(
            (event.before["publishing_enabled"], event.after["publishing_enabled"]), (False, True)
        )
        dashboard = client.get(self.project.get_absolute_url())
        self.assertContains(dashboard, f"/fact-checks/{self.project.slug}/")
        client.post(self.url(), {"csrfmiddlewaretoken": token})
        self.assertFalse(Project.objects.get(pk=self.project.pk).publishing_enabled)

    def test_editors_reviewers_and_outsiders_cannot(self) -> None:
        for user, status in ((self.editor, 403), (self.reviewer_a, 403), (self.outsider, 404)):
            client = Client()
            client.force_login(user)
            with self.subTest(user=user.username):
                response = client.post(self.url(), {"publishing_enabled": "on"})
                self.assertEqual(response.status_code, status)
        self.assertFalse(Project.objects.get(pk=self.project.pk).publishing_enabled)
