"""Webhooks, the pure half: event types, secrets, the retry schedule, what an answer
means, and the signed request (Standard Webhooks, https://www.standardwebhooks.com/).

* A secret is ``whsec_`` + base64 of 32 random bytes (the format the ``standardwebhooks``
  package and other Standard Webhooks libraries read).
* A message is sent with ``webhook-id`` (the message's id: the same on every retry and
  replay, so a receiver can drop repeats), ``webhook-timestamp`` (Unix seconds of this
  attempt) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of
  ``id.timestamp.body``), computed by ``standardwebhooks.Webhook.sign``.
* Retries: after the n-th failed attempt the next one waits ``base * 2**(n-1)`` seconds,
  at most ``cap``; after ``max_attempts`` attempts the delivery has failed for good.
  A 2xx answer delivers; 408, 429, any 5xx, a timeout, a lost connection or an
  unresolvable host is retried; any other answer (other 4xx, a redirect: redirects are
  not followed) and an address the SSRF rules refuse fail at once.

Pure Python: no Django.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from standardwebhooks import Webhook

__all__ = [
    "EVENT_TYPES",
    "Outcome",
    "RetryPolicy",
    "attempt_outcome",
    "body_bytes",
    "message_id",
    "payload",
    "retry_delay",
    "secret_generate",
    "signed_headers",
]

CONSENSUS_REACHED = "consensus.reached"
CLAIM_PUBLISHED = "claim.published"
CLAIM_CORRECTED = "claim.corrected"
CLAIM_RETRACTED = "claim.retracted"
SOURCE_CHANGED = "source.changed"
EVENT_TYPES: tuple[str, ...] = (
    CONSENSUS_REACHED,
    CLAIM_PUBLISHED,
    CLAIM_CORRECTED,
    CLAIM_RETRACTED,
    SOURCE_CHANGED,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
# Error codes of a refused or failed request (core.fetching.FetchError.code) that may
# succeed later; every other refusal (scheme, host, blocked-address) will not.
RETRYABLE_ERRORS = frozenset({"timeout", "connection", "dns"})
RETRYABLE_STATUSES = frozenset({408, 429})


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 60.0
    cap_seconds: float = 6 * 60 * 60.0
    max_attempts: int = 10


def secret_generate() -> str:
    """A new endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def message_id() -> str:
    """A new message id (``webhook-id``): ``msg_`` + 32 hex digits."""
    return f"msg_{uuid.uuid4().hex}"


def retry_delay(failed_attempts: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait after ``failed_attempts`` (>= 1) failed attempts before the next
    one, or None when the attempts are used up: ``base * 2**(n-1)``, at most ``cap``."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts from 1")
    if failed_attempts >= policy.max_attempts:
        return None
    # 2**n overflows a float beyond ~1024; the cap is reached long before.
    exponent = min(failed_attempts - 1, 64)
    return float(min(policy.base_seconds * 2**exponent, policy.cap_seconds))


def attempt_outcome(*, status: int | None, error_code: str | None) -> Outcome:
    """What an attempt's answer (``status``) or failure (``error_code``, a FetchError
    code) means for the delivery."""
    if status is None:
        return Outcome.RETRY if error_code in RETRYABLE_ERRORS else Outcome.FAILED
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status >= 500 or status in RETRYABLE_STATUSES:
        return Outcome.RETRY
    return Outcome.FAILED


def payload(*, event_type: str, at: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The message body: ``{"type", "timestamp", "data"}`` (the Standard Webhooks
    recommended shape), the timestamp in UTC ISO 8601 with a ``Z``."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    stamp = at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {"type": event_type, "timestamp": stamp, "data": data}


def body_bytes(message: dict[str, Any]) -> bytes:
    """The bytes sent (and signed): compact JSON with sorted keys, UTF-8."""
    return json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def signed_headers(*, secret: str, msg_id: str, at: dt.datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for sending ``body`` at ``at``."""
    timestamp = at.astimezone(dt.UTC)
    signature = Webhook(secret).sign(msg_id, timestamp, body.decode("utf-8"))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
