"""API: a project's webhooks (``/api/v1/projects/{id}/webhooks/``). Who may call what is in
``tests/api/test_permissions.py`` (admins only; 404 for non-members, 403 below admin); the
schema in ``tests/api/test_contract.py``. Here: the secret shown only at creation and
rotation, 400s with the field and nothing written (unknown keys, private addresses, event
types), the deliveries with their log, and replay."""

from __future__ import annotations

from django.test import override_settings

from annotations import services
from annotations.models import Event, WebhookDelivery
from tests.api.base import ApiTestCase
from tests.webhook_receiver import Receiver

ENDPOINT_FIELDS = {"id", "url", "description", "event_types", "active", "created_at", "updated_at"}


class WebhookApiTests(ApiTestCase):
    def base(self) -> str:
        return f"/projects/{self.project.pk}/webhooks/"

    def create(self, **body: object):
        body.setdefault("url", "https://hooks.example.org/in")
        body.setdefault("event_types", ["consensus.reached", "claim.published"])
        return self.post(self.admin, self.base(), body)

    def test_the_secret_is_in_the_creation_answer_only(self) -> None:
        response = self.create(description="CMS")
        self.assertEqual(response.status_code, 201, response.content)
        created = response.json()
        self.assertEqual(set(created), ENDPOINT_FIELDS | {"secret"})
        secret = created["secret"]
        self.assertTrue(secret.startswith("whsec_"))
        listed = self.get(self.admin, self.base()).json()
        self.assertEqual([set(e) for e in listed], [ENDPOINT_FIELDS])
        one = self.get(self.admin, f"{self.base()}{created['id']}/")
        self.assertEqual(set(one.json()), ENDPOINT_FIELDS)
        for text in (str(listed), one.content.decode()):
            self.assertNotIn(secret, text)
        events = Event.objects.filter(verb__startswith="webhook.")
        self.assertNotIn(secret, str([(e.before, e.after) for e in events]))
        rotated = self.post(self.admin, f"{self.base()}{created['id']}/rotate-secret/").json()
        self.assertNotEqual(rotated["secret"], secret)
        self.assertTrue(rotated["secret"].startswith("whsec_"))

    def test_bad_input_is_a_400_on_the_field_and_writes_nothing(self) -> None:
        cases = [
            ({"url": "http://10.0.0.1/hook"}, "url", "private address"),
            ({"url": "http://127.0.0.1:8000/hook"}, "url", "loopback"),
            ({"url": "http://[::1]/hook"}, "url", "loopback"),
            ({"url": "http://169.254.169.254/"}, "url", "link-local"),
            ({"url": "http://localhost/hook"}, "url", "not allowed"),
            ({"url": "gopher://hooks.example.org/"}, "url", "http and https"),
            ({"event_types": []}, "event_types", ""),
            ({"event_types": ["claim.deleted"]}, "event_types", "not a valid choice"),
            ({"secret": "whsec_mine"}, "secret", "Unknown or read-only"),
            ({"project": 99}, "project", "Unknown or read-only"),
        ]
        for body, field, fragment in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                self.assertFieldError(self.create(**body), field, fragment)

    @override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"])
    def test_a_host_the_fetch_policy_allows_may_be_local(self) -> None:
        self.assertEqual(self.create(url="http://127.0.0.1:9/hook").status_code, 201)

    def test_update_and_delete(self) -> None:
        pk = self.create().json()["id"]
        path = f"{self.base()}{pk}/"
        response = self.patch(self.admin, path, {"active": False, "description": "paused"})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            (response.json()["active"], response.json()["description"]), (False, "paused")
        )
        with self.assertNothingWritten():
            self.assertFieldError(
                self.patch(self.admin, path, {"url": "http://192.168.0.1/"}), "url", "private"
            )
            self.assertFieldError(self.patch(self.admin, path, {"secret": "x"}), "secret")
        self.assertEqual(self.client_for(self.admin).delete("/api/v1" + path).status_code, 204)
        self.assertEqual(self.get(self.admin, path).status_code, 404)

    def test_another_projects_endpoint_is_a_404(self) -> None:
        pk = self.create().json()["id"]
        other = self.other_project.pk
        self.assertEqual(
            self.get(self.outsider, f"/projects/{other}/webhooks/{pk}/").status_code, 404
        )

    @override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"], WEBHOOK_TIMEOUT=2.0)
    def test_deliveries_list_their_log_and_replay(self) -> None:
        with Receiver(410, 200) as receiver:
            pk = self.create(url=receiver.url, event_types=["claim.published"]).json()["id"]
            (delivery,) = services.webhooks_enqueue(
                project_id=self.project.pk, event_type="claim.published", data={"claim_id": 7}
            )
            self.assertEqual(services.webhook_attempt(delivery_id=delivery.pk), "failed")
            deliveries = f"{self.base()}{pk}/deliveries/"
            page = self.get(self.admin, deliveries).json()
            (row,) = page["results"]
            self.assertEqual(row["status"], "failed")
            self.assertEqual(row["payload"]["data"], {"claim_id": 7})
            self.assertEqual(
                [(a["number"], a["status_code"], a["outcome"]) for a in row["log"]],
                [(1, 410, "failed")],
            )
            self.assertEqual(
                self.get(self.admin, deliveries, {"status": "pending"}).json()["results"], []
            )
            self.assertFieldError(self.get(self.admin, deliveries, {"secret": "1"}), "secret")
            replay = f"{deliveries}{delivery.pk}/replay/"
            response = self.post(self.admin, replay)
            self.assertEqual(response.status_code, 202, response.content)
            self.assertEqual(response.json()["status"], "pending")
            self.assertEqual(response.json()["attempts"], 0)
            self.assertEqual(self.post(self.admin, replay).status_code, 409)
            self.assertEqual(services.webhook_attempt(delivery_id=delivery.pk), "delivered")
            receiver.wait_for(2)
        self.assertEqual(WebhookDelivery.objects.get().status, "delivered")
