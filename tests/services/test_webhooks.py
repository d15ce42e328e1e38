"""Services: webhooks (``annotations/services/webhooks.py``): endpoints, the outbox written
in the transaction of the change, delivery attempts against a receiver on 127.0.0.1, the
retry schedule, replay and the sweep. The worker process itself: ``tests/test_worker.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook

from annotations import services
from annotations.models import (
    Claim,
    DeliveryStatus,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import judge, make_claim
from tests.services.base import ServiceTestCase, counts
from tests.webhook_receiver import Receiver

# The documents a test's setup creates queue their own tasks (their suggestions, repeat scans).
DELIVER_TASK = "annotations.services.webhooks.webhook_deliver"


def local() -> override_settings:
    """The receiver on 127.0.0.1 admitted (as the import tests do), retries due at once."""
    return override_settings(
        WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"],
        WEBHOOK_RETRY_BASE_SECONDS=0,
        WEBHOOK_TIMEOUT=1.0,
    )


class WebhookTestCase(ServiceTestCase):
    def endpoint(self, url: str = "https://hooks.example.org/in", **extra: object):
        extra.setdefault("event_types", ["consensus.reached"])
        with local():
            return services.webhook_endpoint_create(
                project=self.project, actor=self.admin, url=url, **extra
            )

    def enqueue(self, event_type: str = "consensus.reached") -> list[WebhookDelivery]:
        return services.webhooks_enqueue(
            project_id=self.project.pk, event_type=event_type, data={"claim_id": 1}
        )


class EndpointTests(WebhookTestCase):
    def test_an_admin_makes_an_endpoint_and_sees_the_secret_once(self) -> None:
        issued = self.endpoint(description="Newsroom CMS")
        self.assertTrue(issued.secret.startswith("whsec_"))
        self.assertEqual(issued.endpoint.event_types, ["consensus.reached"])
        event = Event.objects.get(verb="webhook.create")
        self.assertNotIn(issued.secret, json.dumps([event.before, event.after]))
        self.assertEqual(event.after["url"], "https://hooks.example.org/…")
        self.assertEqual(
            event.after["url_sha256"],
            hashlib.sha256(b"https://hooks.example.org/in").hexdigest(),
        )

    def test_the_audit_log_never_holds_a_urls_path_or_query(self) -> None:
        """Outside probe: editors, who may not read webhooks, read their URLs (and the
        tokens chat services put in them) in the audit log they download."""
        secret_url = "https://hooks.example.org/services/T0/B0/tok3n?key=s3cret"
        issued = self.endpoint(url=secret_url)
        services.webhook_endpoint_update(
            endpoint=issued.endpoint, actor=self.admin, changes={"url": secret_url + "x"}
        )
        services.webhook_endpoint_rotate(endpoint=issued.endpoint, actor=self.admin)
        logged = json.dumps(
            list(Event.objects.filter(verb__startswith="webhook.").values("before", "after")),
            ensure_ascii=False,
        )
        for part in ("tok3n", "s3cret", "/services/"):
            self.assertNotIn(part, logged)
        self.assertIn("https://hooks.example.org/…", logged)

    def test_only_project_admins_manage_endpoints(self) -> None:
        for actor in (self.editor, self.reviewer_a, self.outsider):
            with self.subTest(actor=actor.username), self.assertRaises(PermissionDenied):
                services.webhook_endpoint_create(
                    project=self.project,
                    actor=actor,
                    url="https://hooks.example.org/in",
                    event_types=["claim.published"],
                )
        issued = self.endpoint()
        for call in (
            lambda: services.webhook_endpoint_update(
                endpoint=issued.endpoint, actor=self.editor, changes={"active": False}
            ),
            lambda: services.webhook_endpoint_rotate(endpoint=issued.endpoint, actor=self.editor),
            lambda: services.webhook_endpoint_delete(endpoint=issued.endpoint, actor=self.editor),
        ):
            with self.assertRaises(PermissionDenied):
                call()

    def test_private_and_local_addresses_are_refused_and_nothing_is_written(self) -> None:
        before = counts(WebhookEndpoint, Event)
        for url in (
            "http://127.0.0.1:8000/hook",
            "http://10.0.0.7/hook",
            "http://192.168.1.20/hook",
            "http://[::1]/hook",
            "http://[fd00::1]/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost/hook",
            "http://0x7f.1/hook",
            "ftp://hooks.example.org/",
            "javascript:alert(1)",
        ):
            with self.subTest(url=url), self.assertRaises(ValidationError) as caught:
                services.webhook_endpoint_create(
                    project=self.project, actor=self.admin, url=url, event_types=["claim.published"]
                )
            self.assertFieldError(caught.exception, "url")
        self.assertEqual(counts(WebhookEndpoint, Event), before)

    def test_the_fetch_policy_admits_a_named_local_host(self) -> None:
        issued = self.endpoint("http://127.0.0.1:9/hook")
        self.assertEqual(issued.endpoint.url, "http://127.0.0.1:9/hook")

    def test_event_types_must_be_known_and_not_empty(self) -> None:
        for event_types, fragment in (([], "at least one"), (["claim.deleted"], "Unknown")):
            with self.subTest(event_types=event_types), self.assertRaises(ValidationError) as c:
                self.endpoint(event_types=event_types)
            self.assertFieldError(c.exception, "event_types", fragment)

    def test_update_rotate_and_delete_record_events_without_the_secret(self) -> None:
        issued = self.endpoint()
        endpoint = services.webhook_endpoint_update(
            endpoint=issued.endpoint,
            actor=self.admin,
            changes={"active": False, "event_types": ["claim.retracted", "consensus.reached"]},
        )
        self.assertFalse(endpoint.active)
        self.assertEqual(endpoint.event_types, ["consensus.reached", "claim.retracted"])
        rotated = services.webhook_endpoint_rotate(endpoint=endpoint, actor=self.admin)
        self.assertNotEqual(rotated.secret, issued.secret)
        services.webhook_endpoint_delete(endpoint=endpoint, actor=self.admin)
        self.assertFalse(WebhookEndpoint.objects.exists())
        events = Event.objects.filter(verb__startswith="webhook.")
        self.assertEqual(
            [e.verb for e in events.order_by("seq")],
            ["webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.delete"],
        )
        # Every one of them names the endpoint, the deletion too (it named none).
        self.assertEqual({e.object_id for e in events}, {issued.endpoint.pk})
        text = json.dumps([[e.before, e.after] for e in events])
        self.assertNotIn(issued.secret, text)
        self.assertNotIn(rotated.secret, text)
        self.assertNotIn("whsec_", text)


class OutboxTests(WebhookTestCase):
    def test_one_row_per_subscribed_active_endpoint(self) -> None:
        subscribed = self.endpoint().endpoint
        self.endpoint(event_types=["claim.published"])
        self.endpoint(active=False)
        deliveries = self.enqueue()
        self.assertEqual([d.endpoint_id for d in deliveries], [subscribed.pk])
        delivery = WebhookDelivery.objects.get()
        self.assertEqual(delivery.status, DeliveryStatus.PENDING)
        self.assertEqual(delivery.payload["type"], "consensus.reached")
        self.assertEqual(delivery.payload["data"], {"claim_id": 1})
        self.assertTrue(delivery.message_id.startswith("msg_"))
        self.assertEqual(self.enqueue("claim.corrected"), [])

    def test_the_task_is_queued_only_when_the_change_commits(self) -> None:
        self.endpoint()
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            try:
                with transaction.atomic():
                    self.enqueue()
                    raise RuntimeError("the change fails")
            except RuntimeError:
                pass
        self.assertEqual(callbacks, [])
        self.assertFalse(WebhookDelivery.objects.exists())
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            (delivery,) = self.enqueue()
        self.assertEqual(len(callbacks), 1)
        task = DBTaskResult.objects.get(task_path=DELIVER_TASK)
        self.assertEqual(task.args_kwargs, {"args": [delivery.pk], "kwargs": {}})

    def test_consensus_reached_is_sent_without_reviewer_identities(self) -> None:
        self.endpoint()
        claim = make_claim(
            document=self.document, actor=self.creator, exact="crime fell 20% last year"
        )
        judge(claim, self.reviewer_a, "false", rationale="by reviewer_a")
        self.assertFalse(WebhookDelivery.objects.exists())
        judge(claim, self.reviewer_b, "false")
        delivery = WebhookDelivery.objects.get()
        self.assertEqual(delivery.event_type, "consensus.reached")
        self.assertEqual(
            delivery.payload["data"],
            {
                "project_id": self.project.pk,
                "project_slug": self.project.slug,
                "claim_id": claim.pk,
                "rating": "false",
                "method": "unanimous",
            },
        )
        text = json.dumps(delivery.payload)
        for name in ("reviewer_a", "reviewer_b", "creator", "rationale"):
            self.assertNotIn(name, text)

    def test_an_adjudication_is_a_consensus_too(self) -> None:
        self.endpoint()
        claim = make_claim(
            document=self.document, actor=self.creator, exact="crime fell 20% last year"
        )
        judge(claim, self.reviewer_a, "false")
        judge(claim, self.reviewer_b, "true")
        self.assertEqual(Claim.objects.get(pk=claim.pk).status, "disputed")
        services.claim_adjudicate(claim=claim, editor=self.editor, rating="true", note="Checked.")
        delivery = WebhookDelivery.objects.get()
        self.assertEqual(delivery.payload["data"]["method"], "adjudicated")
        self.assertNotIn("editor", json.dumps(delivery.payload))

    @override_settings(PUBLIC_BASE_URL="https://factchecks.example.org")
    def test_publishing_correcting_and_retracting_are_sent_with_the_public_page(self) -> None:
        self.endpoint(event_types=["claim.published", "claim.corrected", "claim.retracted"])
        services.project_update(project=self.project, actor=self.admin, publishing_enabled=True)
        claim = make_claim(
            document=self.document, actor=self.creator, exact="crime fell 20% last year"
        )
        judge(claim, self.reviewer_a, "false")
        judge(claim, self.reviewer_b, "false")
        self.assertFalse(WebhookDelivery.objects.exists())  # consensus.reached not subscribed
        claim = Claim.objects.get(pk=claim.pk)
        services.claim_publish(claim=claim, editor=self.editor, summary="It rose.")
        services.claim_correct(
            claim=claim, editor=self.editor, note="Wording.", statement="Crime fell by a fifth"
        )
        services.claim_retract(claim=claim, editor=self.editor, note="Wrong article.")
        deliveries = list(WebhookDelivery.objects.order_by("pk"))
        self.assertEqual(
            [(d.event_type, d.payload["data"]["version"]) for d in deliveries],
            [("claim.published", 1), ("claim.corrected", 2), ("claim.retracted", 3)],
        )
        self.assertEqual(
            deliveries[0].payload["data"]["url"],
            f"https://factchecks.example.org/fact-checks/{self.project.slug}/{claim.pk}/",
        )
        self.assertEqual(deliveries[0].payload["data"]["rating"], "false")


@local()
class DeliveryTests(WebhookTestCase):
    def deliver(self, delivery: WebhookDelivery) -> str:
        return services.webhook_attempt(delivery_id=delivery.pk)

    def test_two_failures_then_success_delivers_on_the_third_try_signed(self) -> None:
        with Receiver(500, 503) as receiver:
            issued = self.endpoint(receiver.url)
            (delivery,) = self.enqueue()
            with self.captureOnCommitCallbacks(execute=True):
                self.assertEqual(self.deliver(delivery), "retry")
            # The retry is queued as a task deferred to its time.
            retry = DBTaskResult.objects.get(task_path=DELIVER_TASK)
            self.assertEqual(retry.args_kwargs["args"], [delivery.pk])
            self.assertEqual(self.deliver(delivery), "retry")
            self.assertEqual(self.deliver(delivery), "delivered")
            requests = receiver.wait_for(3)
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, DeliveryStatus.DELIVERED)
        self.assertEqual(delivery.attempts, 3)
        self.assertEqual(
            list(delivery.log.values_list("number", "status_code", "outcome")),
            [(1, 500, "retry"), (2, 503, "retry"), (3, 200, "delivered")],
        )
        ids = {r.headers["webhook-id"] for r in requests}
        self.assertEqual(ids, {delivery.message_id})
        last = requests[-1]
        message = Webhook(issued.secret).verify(last.body, last.headers)
        self.assertEqual(message, delivery.payload)
        # Nothing more to do once delivered.
        self.assertEqual(self.deliver(delivery), "not due")

    def test_a_4xx_is_final_but_408_and_429_are_retried(self) -> None:
        for status, outcome in ((400, "failed"), (404, "failed"), (408, "retry"), (429, "retry")):
            with self.subTest(status=status), Receiver(status) as receiver:
                self.endpoint(receiver.url)
                (delivery,) = self.enqueue()
                self.assertEqual(self.deliver(delivery), outcome)
                delivery.refresh_from_db()
                self.assertEqual(delivery.last_status_code, status)
                WebhookEndpoint.objects.all().delete()

    def test_a_timeout_is_retried(self) -> None:
        from tests.webhook_receiver import HANG

        with Receiver(HANG) as receiver:
            self.endpoint(receiver.url)
            (delivery,) = self.enqueue()
            self.assertEqual(self.deliver(delivery), "retry")
        attempt = WebhookAttempt.objects.get()
        self.assertIsNone(attempt.status_code)
        self.assertIn("No answer within", attempt.error)

    @override_settings(WEBHOOK_MAX_ATTEMPTS=3)
    def test_it_gives_up_after_the_last_attempt(self) -> None:
        with Receiver(500, 500, 500) as receiver:
            self.endpoint(receiver.url)
            (delivery,) = self.enqueue()
            outcomes = [self.deliver(delivery) for _ in range(3)]
        self.assertEqual(outcomes, ["retry", "retry", "failed"])
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, DeliveryStatus.FAILED)

    @override_settings(WEBHOOK_RETRY_BASE_SECONDS=60)
    def test_a_retry_waits_its_backoff(self) -> None:
        with Receiver(500) as receiver:
            self.endpoint(receiver.url)
            (delivery,) = self.enqueue()
            self.deliver(delivery)
        delivery.refresh_from_db()
        wait = delivery.next_attempt_at - delivery.log.get().finished_at
        self.assertEqual(wait, dt.timedelta(seconds=60))
        self.assertEqual(self.deliver(delivery), "not due")

    @override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=[])
    def test_the_delivery_checks_the_address_again(self) -> None:
        with Receiver() as receiver:
            with local():
                self.endpoint(receiver.url)
            (delivery,) = self.enqueue()
            self.assertEqual(self.deliver(delivery), "failed")
        self.assertEqual(receiver.received, [])
        self.assertIn("loopback", WebhookAttempt.objects.get().error)

    def test_a_claimed_delivery_is_not_sent_twice(self) -> None:
        self.endpoint("http://127.0.0.1:9/hook")
        (delivery,) = self.enqueue()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            locked_until=services.now() + dt.timedelta(minutes=1)
        )
        self.assertEqual(self.deliver(delivery), "not due")

    def test_replay_sends_the_same_message_again(self) -> None:
        with Receiver(404, 200) as receiver:
            self.endpoint(receiver.url)
            (delivery,) = self.enqueue()
            self.assertEqual(self.deliver(delivery), "failed")
            with self.assertRaises(PermissionDenied):
                services.webhook_replay(delivery=delivery, actor=self.editor)
            with self.captureOnCommitCallbacks(execute=True) as callbacks:
                services.webhook_replay(delivery=delivery, actor=self.admin)
            self.assertEqual(len(callbacks), 1)
            with self.assertRaises(services.QueueConflict):
                services.webhook_replay(delivery=delivery, actor=self.admin)
            self.assertEqual(self.deliver(delivery), "delivered")
            first, second = receiver.wait_for(2)
        self.assertEqual(first.body, second.body)
        self.assertEqual(first.headers["webhook-id"], second.headers["webhook-id"])
        delivery.refresh_from_db()
        self.assertEqual(delivery.log.count(), 2)
        self.assertEqual(Event.objects.filter(verb="webhook.replay").count(), 1)

    @override_settings(WEBHOOK_SWEEP_GRACE_SECONDS=60)
    def test_the_sweep_queues_again_what_no_worker_holds(self) -> None:
        self.endpoint("http://127.0.0.1:9/hook")
        (delivery,) = self.enqueue()
        now = services.now()
        self.assertEqual(services.webhooks_sweep(at=now), 0)  # due, but within the grace
        later = now + dt.timedelta(minutes=5)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=later)
        self.assertEqual(services.webhooks_sweep(at=later - dt.timedelta(seconds=1)), 0)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(services.webhooks_sweep(at=later), 1)
        self.assertEqual(DBTaskResult.objects.filter(task_path=DELIVER_TASK).count(), 1)
        # Its due time moved on: the next sweep leaves it alone for a grace period.
        self.assertEqual(services.webhooks_sweep(at=later + dt.timedelta(seconds=30)), 0)
