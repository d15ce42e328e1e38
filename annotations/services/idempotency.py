"""Idempotent writes: a POST sent again with the same ``Idempotency-Key`` is answered from
the first answer and writes nothing.

The scenario this exists for: the write commits, then the connection dies before the
answer reaches the client (which sees a 503 or a timeout and retries). Without a key the
retry writes a second document or claim. With one:

* ``idempotency_run(request=, produce=)`` looks up the user's key. A stored answer for the
  same request (same fingerprint: method, path, body) is a ``Replay``; for another request
  it is ``KeyReused`` (422). Otherwise it runs ``produce`` inside ONE transaction that
  first inserts the key row (unique per user and key), and stores the answer in that row
  before committing: the write and its key commit together or not at all, so a committed
  write always has its key. An answer that is not a success (``produce`` returns no
  ``StoredAnswer``, or raises) rolls everything back, the key included: a retry after
  fixing the request may succeed.
* A concurrent second request with the same key blocks on the key row's unique index
  until the first commits (PostgreSQL), or on the write lock (SQLite), then finds the
  stored answer and replays it: one write. If the first is gone without an answer the
  second is told the key is busy (``KeyInProgress``, 409) and may retry.
* Keys are per user: nobody can replay, or even detect, another user's key.
* Keys expire after ``settings.IDEMPOTENCY_KEY_TTL_HOURS`` (default 24): a user's expired
  rows are deleted when they next use a key, everyone's by ``idempotency_keys_purge``
  (``manage.py purge_idempotency_keys``).

The key row is bookkeeping of the transport and records no audit event; the write it
protects records its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from annotations.models import IdempotencyKey
from annotations.services._base import User, now

DEFAULT_TTL_HOURS = 24
KEY_REUSED = (
    "This Idempotency-Key was already used for a different request (another endpoint or "
    "body). Send a new key for a new request; repeat a request only with the same body."
)
KEY_IN_PROGRESS = (
    "A request with this Idempotency-Key is still being processed, or ended without an "
    "answer to keep. Retry it shortly."
)


class KeyReused(Exception):
    """The key is stored for another request (HTTP 422)."""

    def __init__(self) -> None:
        super().__init__(KEY_REUSED)


class KeyInProgress(Exception):
    """Another request holding the key has not left an answer (HTTP 409)."""

    def __init__(self) -> None:
        super().__init__(KEY_IN_PROGRESS)


@dataclass(frozen=True)
class IdempotentRequest:
    """One keyed request: who sent it, the key, and what it was (see ``core.idempotency``)."""

    user: User
    key: str
    method: str
    path: str
    fingerprint: str


@dataclass(frozen=True)
class StoredAnswer:
    """A successful answer as kept for a repeat: the status and the JSON body text."""

    status_code: int
    body: str


@dataclass(frozen=True)
class Replay:
    """``idempotency_run``'s result for a repeat: the first answer, nothing written."""

    answer: StoredAnswer


class _KeyTaken(Exception):
    """Internal: the key row exists (another request committed it first)."""


def ttl() -> dt.timedelta:
    hours = getattr(settings, "IDEMPOTENCY_KEY_TTL_HOURS", DEFAULT_TTL_HOURS)
    return dt.timedelta(hours=hours)


def idempotency_stored(
    *, request: IdempotentRequest, at: dt.datetime | None = None
) -> StoredAnswer | None:
    """The first answer kept for this user's key, if it has not expired; ``KeyReused`` if
    the key was used for another request. Reads only (``idempotency_run`` calls it too)."""
    return _stored(request, at or now())


def _stored(request: IdempotentRequest, at: dt.datetime) -> StoredAnswer | None:
    row = (
        IdempotencyKey.objects.filter(user=request.user, key=request.key, expires_at__gt=at)
        .only("fingerprint", "status_code", "response_body")
        .first()
    )
    if row is None or row.status_code is None:
        return None
    if row.fingerprint != request.fingerprint:
        raise KeyReused()
    return StoredAnswer(status_code=row.status_code, body=row.response_body)


def idempotency_run[R](
    *,
    request: IdempotentRequest,
    produce: Callable[[], tuple[R, StoredAnswer | None]],
    at: dt.datetime | None = None,
) -> R | Replay:
    """Run ``produce`` once per user and key (see the module's docstring).

    ``produce`` does the request's work and returns its result with the answer to keep, or
    None for an answer that must not be kept (not a success): then the transaction is
    rolled back, the write included. Returns ``produce``'s result, or a ``Replay`` of the
    first answer. Raises ``KeyReused`` for the key of another request, ``KeyInProgress``
    when a concurrent holder left nothing, and whatever ``produce`` raises (after the
    rollback).
    """
    at = at or now()
    stored = _stored(request, at)
    if stored is not None:
        return Replay(stored)
    try:
        with transaction.atomic():
            # Lazily purge this user's expired keys (the one just looked up among them).
            IdempotencyKey.objects.filter(user=request.user, expires_at__lte=at).delete()
            try:
                row = IdempotencyKey.objects.create(
                    user=request.user,
                    key=request.key,
                    method=request.method,
                    path=request.path[:2000],
                    fingerprint=request.fingerprint,
                    created_at=at,
                    expires_at=at + ttl(),
                )
            except IntegrityError as exc:
                raise _KeyTaken from exc
            result, answer = produce()
            if answer is None:
                transaction.set_rollback(True)
                return result
            row.status_code = answer.status_code
            row.response_body = answer.body
            row.save(update_fields=["status_code", "response_body"])
            return result
    except _KeyTaken:
        # The winner has committed (its row is what blocked the insert): answer as it did.
        stored = _stored(request, at)
        if stored is None:
            raise KeyInProgress() from None
        return Replay(stored)


def idempotency_dry_run[R](*, produce: Callable[[], R]) -> R:
    """Run ``produce`` in a transaction that is always rolled back, and return its result:
    to refuse a bad or reused key only after the request's own checks (a non-member gets
    the 404 every other request gets, a bad body its 400), without writing anything."""
    with transaction.atomic():
        result = produce()
        transaction.set_rollback(True)
        return result


def idempotency_keys_purge(*, at: dt.datetime | None = None) -> int:
    """Delete every expired key; returns how many. Safe at any time (``manage.py
    purge_idempotency_keys``): a live key is never touched."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=at or now()).delete()
    return deleted
