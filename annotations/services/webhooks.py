"""Webhooks: a project's endpoints (admins only), the outbox and its delivery by the
background worker (issue 15, deliverable 5).

* ``webhooks_enqueue`` is the one way an event reaches the outbox: called inside the
  transaction of the change it reports, it writes one ``WebhookDelivery`` per active
  endpoint subscribed to the event type and, once that transaction commits, queues a
  ``webhook_deliver`` task for each (Django's tasks framework, ``django_tasks_db``). A
  rolled back change sends nothing; a committed one is in the outbox whatever happens to
  the task.
* ``webhook_deliver`` (run by ``manage.py worker``) claims a due delivery for the length
  of one request (``locked_until``), sends it signed per Standard Webhooks through the
  fetcher's SSRF rules (``core.fetching.post``: addresses vetted after DNS, pinned, no
  redirects followed), logs the attempt, and schedules the retry (exponential backoff,
  ``core.webhooks.retry_delay``) as a task deferred to its time.
* ``webhooks_sweep`` (run by every worker at start and every ``WEBHOOK_SWEEP_SECONDS``)
  queues again the deliveries that are due but that no task will send: a worker killed
  mid-send, a crash between the commit and the enqueue. At least once, then: a receiver
  drops repeats by ``webhook-id``.

The outbox rows and their log are the transport's bookkeeping, like idempotency keys:
no audit event each. What people do (an endpoint made, changed, rotated, deleted; a
delivery replayed) records an event, never with the secret."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.tasks import task

from annotations import access
from annotations.core import fetching
from annotations.core import webhooks as core
from annotations.models import (
    DeliveryStatus,
    Project,
    Role,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from annotations.selectors.publishing import public_url
from annotations.services._base import (
    QueueConflict,
    User,
    _require_storable_text,
    chain_lock,
    event_record,
    now,
)

logger = logging.getLogger(__name__)

MAX_DESCRIPTION = 200
EVENT_TYPES = core.EVENT_TYPES


@dataclass(frozen=True)
class IssuedEndpoint:
    """An endpoint and its secret, which is shown this once."""

    endpoint: WebhookEndpoint
    secret: str


# --- policies from the settings --------------------------------------------------------------


def fetch_policy() -> fetching.FetchPolicy:
    """The fetcher's address rules for webhook URLs: those of imports
    (``WORKBENCH_FETCH_ALLOWED_HOSTS`` may name hosts on private addresses), with the
    webhook timeout."""
    return fetching.FetchPolicy(
        allowed_hosts=frozenset(host.lower() for host in settings.WORKBENCH_FETCH_ALLOWED_HOSTS),
        timeout=float(settings.WEBHOOK_TIMEOUT),
        max_redirects=0,
        user_agent="Workbench/1 (+webhooks)",
    )


def retry_policy() -> core.RetryPolicy:
    return core.RetryPolicy(
        base_seconds=float(settings.WEBHOOK_RETRY_BASE_SECONDS),
        cap_seconds=float(settings.WEBHOOK_RETRY_MAX_SECONDS),
        max_attempts=int(settings.WEBHOOK_MAX_ATTEMPTS),
    )


def _lock_seconds() -> float:
    """How long a worker's claim on a delivery lasts: past the request's deadline (and a
    slow DNS answer), so a live worker never loses it, and short enough that a dead one's
    delivery is soon due again."""
    return 2 * float(settings.WEBHOOK_TIMEOUT) + 1.0


# --- endpoints -------------------------------------------------------------------------------


def _url_checked(url: object) -> str:
    if not isinstance(url, str):
        raise ValidationError({"url": "Enter a URL as text."})
    _require_storable_text(url=url)
    try:
        return fetching.check_target(url, policy=fetch_policy())
    except fetching.FetchError as exc:
        raise ValidationError({"url": exc.message}) from None


def _event_types_checked(event_types: object) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise ValidationError(
            {"event_types": f"Name at least one event type: {', '.join(EVENT_TYPES)}."}
        )
    unknown = [str(name)[:60] for name in event_types if name not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {
                "event_types": f"Unknown event type {unknown[0]!r}; use any of "
                f"{', '.join(EVENT_TYPES)}."
            }
        )
    return [name for name in EVENT_TYPES if name in event_types]


def _description_checked(description: object) -> str:
    if not isinstance(description, str):
        raise ValidationError({"description": "Enter the description as text."})
    _require_storable_text(description=description)
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError(
            {
                "description": f"Ensure this value has at most {MAX_DESCRIPTION} characters "
                f"(it has {len(description)})."
            }
        )
    return description


def _audited_url(url: str) -> dict[str, str]:
    """An endpoint's address as the audit log (which editors download) records it: the
    origin and a SHA-256 of the whole URL, never its path or query, which often carry a
    credential (chat-service hooks put their token there). The admins see the URL itself."""
    parts = urlsplit(url)
    return {
        "url": f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…",
        "url_sha256": hashlib.sha256(url.encode("utf-8")).hexdigest(),
    }


def _audited_keys(changed: list[str]) -> list[str]:
    """The keys of ``_described`` that record the ``changed`` fields."""
    return [
        key for name in changed for key in (("url", "url_sha256") if name == "url" else (name,))
    ]


def _described(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What an audit event says of an endpoint: never the secret, nor the URL's path."""
    return {
        **_audited_url(endpoint.url),
        "event_types": list(endpoint.event_types),
        "active": endpoint.active,
        "description": endpoint.description,
    }


@transaction.atomic
def webhook_endpoint_create(
    *,
    project: Project,
    actor: User,
    url: str,
    event_types: list[str],
    description: str = "",
    active: bool = True,
) -> IssuedEndpoint:
    """A new endpoint of ``project`` (project admins only: PermissionDenied otherwise)
    with a new secret, returned this once. ValidationError on ``url`` (not http(s), or a
    host on an address the fetcher refuses), ``event_types`` or ``description``."""
    access.membership_require(user=actor, project_id=project.pk, role=Role.ADMIN)
    errors: dict[str, Any] = {}
    checked: dict[str, Any] = {}
    for name, check, value in (
        ("url", _url_checked, url),
        ("event_types", _event_types_checked, event_types),
        ("description", _description_checked, description),
    ):
        try:
            checked[name] = check(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not isinstance(active, bool):
        errors["active"] = ["Must be true or false."]
    if errors:
        raise ValidationError(errors)
    secret = core.secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        project=project,
        url=checked["url"],
        event_types=checked["event_types"],
        description=checked["description"],
        active=active,
        secret=secret,
        created_by=actor,
    )
    event_record(
        actor=actor,
        verb="webhook.create",
        obj=endpoint,
        project_id=project.pk,
        after=_described(endpoint),
    )
    return IssuedEndpoint(endpoint=endpoint, secret=secret)


def _lock_endpoint(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    # FOR NO KEY UPDATE; a deletion then takes FOR UPDATE (docs/design.md, "Lock order").
    return WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)


@transaction.atomic
def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, actor: User, changes: dict[str, Any]
) -> WebhookEndpoint:
    """Change an endpoint's ``url``, ``event_types``, ``description`` or ``active``
    (project admins). Nothing changed, nothing is written; else one ``webhook.update``
    event with the values before and after."""
    access.membership_require(user=actor, project_id=endpoint.project_id, role=Role.ADMIN)
    checks = {
        "url": _url_checked,
        "event_types": _event_types_checked,
        "description": _description_checked,
    }
    errors: dict[str, Any] = {}
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name in checks:
            try:
                checked[name] = checks[name](value)
            except ValidationError as exc:
                errors.update(exc.message_dict)
        elif name == "active":
            if isinstance(value, bool):
                checked[name] = value
            else:
                errors["active"] = ["Must be true or false."]
        else:
            errors[name] = ["This field cannot be changed."]
    if errors:
        raise ValidationError(errors)
    locked = _lock_endpoint(endpoint)
    before = _described(locked)
    changed = [name for name, value in checked.items() if getattr(locked, name) != value]
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, checked[name])
    locked.save(update_fields=[*changed, "updated_at"])
    event_record(
        actor=actor,
        verb="webhook.update",
        obj=locked,
        project_id=locked.project_id,
        before={key: before[key] for key in _audited_keys(changed)},
        after={key: _described(locked)[key] for key in _audited_keys(changed)},
    )
    return locked


@transaction.atomic
def webhook_endpoint_rotate(*, endpoint: WebhookEndpoint, actor: User) -> IssuedEndpoint:
    """A new secret for ``endpoint`` (returned this once; the old one stops signing now,
    retries included)."""
    access.membership_require(user=actor, project_id=endpoint.project_id, role=Role.ADMIN)
    locked = _lock_endpoint(endpoint)
    secret = core.secret_generate()
    locked.secret = secret
    locked.save(update_fields=["secret", "updated_at"])
    event_record(
        actor=actor,
        verb="webhook.rotate_secret",
        obj=locked,
        project_id=locked.project_id,
        after=_audited_url(locked.url),
    )
    return IssuedEndpoint(endpoint=locked, secret=secret)


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: User) -> None:
    """Delete an endpoint with its outbox rows and their log (project admins). Locks the
    endpoint (NO KEY), deletes its outbox, locks the project's audit chain, then locks the
    endpoint FOR UPDATE and deletes it with the outbox rows written meanwhile."""
    access.membership_require(user=actor, project_id=endpoint.project_id, role=Role.ADMIN)
    locked = _lock_endpoint(endpoint)
    pk, project_id, described = locked.pk, locked.project_id, _described(locked)
    # The outbox before the chain's head: a replay locks its delivery, then the head.
    label = WebhookDelivery._meta.label
    deliveries = WebhookDelivery.objects.filter(endpoint=locked).delete()[1].get(label, 0)
    # FOR UPDATE, not NO KEY: the row is deleted. So the chain's head first: a write that
    # put a delivery in this endpoint's outbox holds it while its COMMIT takes FOR KEY SHARE
    # on the endpoint; this waits for that commit, then deletes that delivery too.
    chain_lock(project_id)
    list(WebhookEndpoint.objects.select_for_update(no_key=False).filter(pk=pk).values_list("pk"))
    deliveries += locked.delete()[1].get(label, 0)
    event_record(
        actor=actor,
        verb="webhook.delete",
        object_type="webhookendpoint",
        object_id=pk,
        project_id=project_id,
        before=described,
        after={"endpoint": pk, "deliveries_deleted": deliveries},
    )


# --- the outbox ------------------------------------------------------------------------------


def webhooks_enqueue(
    *,
    project_id: int,
    event_type: str,
    data: dict[str, Any],
    at: dt.datetime | None = None,
    endpoints: Iterable[Sequence[Any]] | None = None,
) -> list[WebhookDelivery]:
    """Put the event ``event_type`` (one of ``core.webhooks.EVENT_TYPES``) with ``data``
    (a small JSON object; nothing blind review hides) in the outbox of every active
    endpoint of the project that subscribes to it, and send them once the caller's
    transaction commits. Call it inside the transaction of the change it reports. One
    query when no endpoint subscribes, two otherwise; none when no endpoint subscribes
    and the caller has read the project's active endpoints already (``endpoints``: ``(id,
    event types)`` each, read in its transaction). Returns the rows written."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    at = at or now()
    if endpoints is None:
        endpoints = WebhookEndpoint.objects.filter(project_id=project_id, active=True).values_list(
            "id", "event_types"
        )
    subscribed = [pk for pk, event_types in endpoints if event_type in (event_types or [])]
    if not subscribed:
        return []
    message = core.payload(event_type=event_type, at=at, data=data)
    msg_id = core.message_id()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                project_id=project_id,
                endpoint_id=endpoint_id,
                event_type=event_type,
                message_id=msg_id,
                payload=message,
                next_attempt_at=at,
                created_at=at,
            )
            for endpoint_id in subscribed
        ]
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _schedule_many(ids), robust=True)
    return deliveries


def consensus_reached(
    *,
    project: Project,
    claim_id: int,
    rating: str,
    method: str,
    endpoints: Iterable[Sequence[Any]] | None = None,
) -> list[WebhookDelivery]:
    """``webhooks_enqueue`` of ``consensus.reached`` (a consensus record was appended, by
    the project's rule or an editor's adjudication): the outcome only, never who judged
    (blind review: a receiver is nobody's reviewer). ``endpoints`` as for
    ``webhooks_enqueue``."""
    return webhooks_enqueue(
        endpoints=endpoints,
        project_id=project.pk,
        event_type=core.CONSENSUS_REACHED,
        data={
            "project_id": project.pk,
            "project_slug": project.slug,
            "claim_id": claim_id,
            "rating": rating,
            "method": method,
        },
    )


_PUBLICATION_EVENTS = {
    "publish": core.CLAIM_PUBLISHED,
    "correct": core.CLAIM_CORRECTED,
    "retract": core.CLAIM_RETRACTED,
}


def claim_publication(
    *, project: Project, claim_id: int, kind: str, number: int, rating: str
) -> list[WebhookDelivery]:
    """``webhooks_enqueue`` of ``claim.published``/``claim.corrected``/``claim.retracted``
    (a publication version was appended, ``kind`` publish/correct/retract): what readers
    now see, with the public page's address when ``PUBLIC_BASE_URL`` is set (else
    ``url`` is null: no request to take a host from)."""
    base = getattr(settings, "PUBLIC_BASE_URL", "")
    url = (
        public_url(base=base, slug=project.slug, claim_id=claim_id)
        if base and project.publishing_enabled
        else None
    )
    return webhooks_enqueue(
        project_id=project.pk,
        event_type=_PUBLICATION_EVENTS[kind],
        data={
            "project_id": project.pk,
            "project_slug": project.slug,
            "claim_id": claim_id,
            "version": number,
            "rating": rating,
            "url": url,
        },
    )


def _schedule(delivery_id: int, run_after: dt.datetime | None = None) -> None:
    deliver = webhook_deliver if run_after is None else webhook_deliver.using(run_after=run_after)
    deliver.enqueue(delivery_id)


def _schedule_many(ids: list[int]) -> None:
    for delivery_id in ids:
        _schedule(delivery_id)


@task()
def webhook_deliver(delivery_id: int) -> str:
    """The worker's task: one attempt at one delivery (``webhook_attempt``)."""
    return webhook_attempt(delivery_id=delivery_id)


def _claim(delivery_id: int, at: dt.datetime) -> WebhookDelivery | None:
    """The delivery, claimed for one attempt, if it is pending, due and nobody else's."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=at)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=at))
            .first()
        )
        if delivery is None:
            return None
        delivery.locked_until = at + dt.timedelta(seconds=_lock_seconds())
        delivery.save(update_fields=["locked_until"])
        return delivery


def webhook_attempt(*, delivery_id: int) -> str:
    """Send the delivery once if it is due (else nothing), log the attempt and decide
    what follows: delivered, a retry at its time, or failed. Returns the outcome (or
    ``"not due"``). The request runs outside any transaction; a worker killed during it
    leaves the delivery pending, claimed until ``locked_until``, then due again."""
    started = now()
    delivery = _claim(delivery_id, started)
    if delivery is None:
        return "not due"
    endpoint = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).first()
    if endpoint is None:  # deleted since, with its outbox rows
        return "not due"
    status: int | None = None
    error = ""
    error_code: str | None = None
    if not endpoint.active:
        error, error_code = "The endpoint is inactive.", "inactive"
    else:
        body = core.body_bytes(delivery.payload)
        headers = core.signed_headers(
            secret=endpoint.secret, msg_id=delivery.message_id, at=now(), body=body
        )
        try:
            status = fetching.post(
                endpoint.url, body, headers=headers, policy=fetch_policy()
            ).status
        except fetching.FetchError as exc:
            error, error_code = exc.message[:300], exc.code
    outcome = core.attempt_outcome(status=status, error_code=error_code)
    finished = now()
    return _attempt_record(
        delivery_id=delivery.pk,
        started=started,
        finished=finished,
        status=status,
        error=error,
        outcome=outcome,
    )


@transaction.atomic
def _attempt_record(
    *,
    delivery_id: int,
    started: dt.datetime,
    finished: dt.datetime,
    status: int | None,
    error: str,
    outcome: core.Outcome,
) -> str:
    delivery = WebhookDelivery.objects.select_for_update(no_key=True).filter(pk=delivery_id).first()
    if delivery is None:  # its endpoint was deleted while it was being sent
        return "deleted"
    number = (delivery.log.aggregate(last=Max("number"))["last"] or 0) + 1
    delivery.attempts += 1
    result = str(outcome)
    next_at: dt.datetime | None = None
    if outcome == core.Outcome.DELIVERED:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = finished
    elif outcome == core.Outcome.RETRY:
        delay = core.retry_delay(delivery.attempts, retry_policy())
        if delay is None:
            delivery.status = DeliveryStatus.FAILED
            result = "failed"
            error = error or f"Gave up after {delivery.attempts} attempts."
        else:
            next_at = finished + dt.timedelta(seconds=delay)
            delivery.next_attempt_at = next_at
    else:
        delivery.status = DeliveryStatus.FAILED
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        started_at=started,
        finished_at=finished,
        status_code=status,
        error=error[:300],
        outcome=result,
    )
    delivery.locked_until = None
    delivery.last_status_code = status
    delivery.last_error = error[:300]
    delivery.save()
    if next_at is not None:
        retry_at = next_at
        transaction.on_commit(lambda: _schedule(delivery_id, retry_at), robust=True)
    return result


def webhooks_sweep(*, at: dt.datetime | None = None, limit: int = 500) -> int:
    """Queue a task again for each pending delivery that has been due for
    ``WEBHOOK_SWEEP_GRACE_SECONDS`` and that no worker holds (its task was lost). Its due
    time moves to now, so the next sweep leaves it alone for another grace period.
    Returns how many were queued."""
    at = at or now()
    cutoff = at - dt.timedelta(seconds=float(settings.WEBHOOK_SWEEP_GRACE_SECONDS))
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=at))
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=at)
            transaction.on_commit(lambda: _schedule_many(ids), robust=True)
    return len(ids)


@transaction.atomic
def webhook_replay(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send a delivered or failed delivery again, now, with the same ``webhook-id`` and
    body (project admins). Its attempts count from 0 again; the log keeps the earlier
    ones. QueueConflict if it is still pending (it is going to be sent anyway)."""
    access.membership_require(user=actor, project_id=delivery.project_id, role=Role.ADMIN)
    locked = WebhookDelivery.objects.select_for_update(no_key=True).get(pk=delivery.pk)
    if locked.status == DeliveryStatus.PENDING:
        raise QueueConflict("This delivery is still pending; it will be sent without a replay.")
    before = locked.status
    at = now()
    locked.status = DeliveryStatus.PENDING
    locked.attempts = 0
    locked.next_attempt_at = at
    locked.locked_until = None
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "locked_until"])
    event_record(
        actor=actor,
        verb="webhook.replay",
        obj=locked,
        project_id=locked.project_id,
        before={"status": before},
        after={"status": locked.status, "endpoint": locked.endpoint_id},
    )
    delivery_id = locked.pk
    transaction.on_commit(lambda: _schedule(delivery_id), robust=True)
    return locked
