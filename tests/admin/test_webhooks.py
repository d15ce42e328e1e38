"""Admin: webhooks (``annotations/admin/webhooks.py``): read-only lists of endpoints and
deliveries (with their log) for the projects a staff user administers, never the secret,
and the replay action through ``services.webhook_replay``."""

from __future__ import annotations

from annotations import services
from annotations.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from tests.admin.helpers import AdminTestCase, admin_url, grant_every_permission


class WebhookAdminTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.issued = services.webhook_endpoint_create(
            project=cls.project,
            actor=cls.admin,
            url="https://hooks.example.org/in",
            event_types=["consensus.reached"],
        )
        (cls.delivery,) = services.webhooks_enqueue(
            project_id=cls.project.pk, event_type="consensus.reached", data={"claim_id": 5}
        )
        WebhookDelivery.objects.filter(pk=cls.delivery.pk).update(
            status=DeliveryStatus.FAILED, last_status_code=404
        )
        grant_every_permission(cls.admin)
        grant_every_permission(cls.editor)

    def test_pages_show_endpoints_and_deliveries_but_never_the_secret(self) -> None:
        self.client.force_login(self.admin)
        pages = [
            admin_url(WebhookEndpoint, "changelist"),
            admin_url(WebhookEndpoint, "change", self.issued.endpoint.pk),
            admin_url(WebhookDelivery, "changelist"),
            admin_url(WebhookDelivery, "change", self.delivery.pk),
        ]
        for url in pages:
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, self.issued.secret)
                self.assertNotContains(response, "whsec_")
        self.assertContains(self.client.get(pages[0]), "hooks.example.org")
        self.assertEqual(self.client.get(admin_url(WebhookEndpoint, "add")).status_code, 403)

    def test_staff_who_are_not_project_admins_see_no_webhooks(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.get(admin_url(WebhookEndpoint, "changelist"))
        self.assertNotContains(response, "hooks.example.org")
        response = self.client.get(admin_url(WebhookDelivery, "change", self.delivery.pk))
        self.assertEqual(response.status_code, 302)  # not in their scope: back to the index

    def test_the_replay_action_replays_through_the_service(self) -> None:
        self.client.force_login(self.admin)
        response = self.client.post(
            admin_url(WebhookDelivery, "changelist"),
            {"action": "replay_deliveries", "_selected_action": [self.delivery.pk]},
            follow=True,
        )
        self.assertContains(response, "Replayed: 1 delivery.")
        self.delivery.refresh_from_db()
        self.assertEqual(self.delivery.status, DeliveryStatus.PENDING)
        self.assertEqual(Event.objects.filter(verb="webhook.replay").count(), 1)
        # Pending now: the service refuses, and the page says why.
        response = self.client.post(
            admin_url(WebhookDelivery, "changelist"),
            {"action": "replay_deliveries", "_selected_action": [self.delivery.pk]},
            follow=True,
        )
        self.assertContains(response, "still pending")
