"""API tokens and signing out everywhere.

Tokens are django-rest-knox ``AuthToken`` rows: the secret (64 hex characters, 256 random
bits) is handed to the caller once, by ``token_create``, and never stored. The row keeps
its SHA-512 digest (the primary key) and knox's lookup key, the secret's first 15
characters, so a copy of the database (a backup, a dump) yields no working token. Each
token may expire (``settings.API_TOKEN_TTL_DAYS``, 0 for never).

A token is named by its *id*, the first ``TOKEN_ID_LENGTH`` characters of its digest: the
UI lists it, the events record it, and it says nothing of the secret.

Every write here runs in a transaction and records an ``Event`` naming the token's owner
(``object_type`` "user"): ``token.create``, ``token.revoke``, ``token.revoke_all`` and
``user.sign_out_everywhere``. No event, log line or exception ever holds a secret.

A password change revokes every token of the user, whatever path changed it (the admin's
password form, ``manage.py changepassword``, ``set_password`` then ``save`` in code): the
``pre_save``/``post_save`` receivers below compare the stored password hash, connected by
``annotations.apps``. (A bulk ``QuerySet.update(password=…)`` sends no signal: no code of
Workbench does that.) Sessions need no such help: Django ends them itself, since a
session's auth hash is derived from the password hash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import import_module
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from knox.models import AuthToken

from annotations.services._base import User, event_record, now

# Characters of a token's digest that name it in the UI and the audit trail.
TOKEN_ID_LENGTH = 12
PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a reason, not a password)
_PASSWORD_CHANGED_FLAG = "_workbench_password_changed"  # noqa: S105


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the row and its secret. Show the secret once and drop it."""

    token: AuthToken
    secret: str

    def __repr__(self) -> str:  # never the secret, even in a traceback or a log line
        return f"IssuedToken(id={token_id(self.token)!r}, expiry={self.token.expiry!r})"


@dataclass(frozen=True)
class SignOutReport:
    tokens_revoked: int
    sessions_ended: int


def token_id(token: AuthToken) -> str:
    """The token's public name: the start of its digest (never the secret)."""
    return cast(str, token.digest[:TOKEN_ID_LENGTH])


def token_ttl() -> dt.timedelta | None:
    """How long a new token lives (``settings.API_TOKEN_TTL_DAYS``); None for ever."""
    days = int(getattr(settings, "API_TOKEN_TTL_DAYS", 0) or 0)
    return dt.timedelta(days=days) if days > 0 else None


def tokens_for_user(*, user: User) -> QuerySet[Any]:
    """The user's tokens that still work, newest first."""
    live = AuthToken.objects.filter(user=user).exclude(expiry__lte=now())
    return cast("QuerySet[Any]", live.order_by("-created", "digest"))


def _token_state(token: AuthToken) -> dict[str, Any]:
    expiry = token.expiry
    return {"token": token_id(token), "expiry": expiry.isoformat() if expiry else None}


def _purge_expired(user: User) -> None:
    """Delete the user's expired rows (they no longer authenticate anyway)."""
    AuthToken.objects.filter(user=user, expiry__lte=now()).delete()


@transaction.atomic
def token_create(*, user: User, actor: User | None = None, via: str = "api") -> IssuedToken:
    """A new token for ``user``, expiring after ``token_ttl()``; ``via`` says where it was
    asked for ("api": the password exchange, "ui": the token page). Raises
    ValidationError for an inactive user. The user's expired tokens are purged."""
    if not user.is_active:
        raise ValidationError("This account is inactive.")
    _purge_expired(user)
    ttl = token_ttl()
    token, secret = AuthToken.objects.create(user=user, expiry=ttl)
    event_record(
        actor=actor if actor is not None else user,
        verb="token.create",
        obj=user,
        after={**_token_state(token), "via": via},
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def token_revoke(*, token: AuthToken, actor: User | None) -> None:
    """Revoke one token: it stops working at once. Revoking it again records nothing."""
    owner = token.user
    state = _token_state(token)
    deleted, _ = AuthToken.objects.filter(digest=token.digest).delete()
    if deleted:
        event_record(actor=actor, verb="token.revoke", obj=owner, before=state)


def _revoke_all(user: User) -> list[str]:
    ids = sorted(
        digest[:TOKEN_ID_LENGTH]
        for digest in AuthToken.objects.filter(user=user).values_list("digest", flat=True)
    )
    AuthToken.objects.filter(user=user).delete()
    return ids


@transaction.atomic
def tokens_revoke_all(*, user: User, actor: User | None, reason: str = "") -> int:
    """Revoke every token of ``user``; returns how many. Records ``token.revoke_all``
    (with ``reason``, e.g. ``PASSWORD_CHANGED``), but for a password change only when
    there was a token to revoke."""
    ids = _revoke_all(user)
    if ids or reason != PASSWORD_CHANGED:
        event_record(
            actor=actor,
            verb="token.revoke_all",
            obj=user,
            before={"tokens": ids},
            after={"reason": reason} if reason else None,
        )
    return len(ids)


@transaction.atomic
def sign_out_everywhere(
    *, user: User, actor: User | None, keep_session_key: str | None = None
) -> SignOutReport:
    """Revoke every token of ``user`` and end every session they are signed in with,
    but ``keep_session_key`` (the caller's own session, when they sign themselves out
    everywhere else). One ``user.sign_out_everywhere`` event."""
    ids = _revoke_all(user)
    sessions = _end_sessions(user, keep_session_key=keep_session_key)
    event_record(
        actor=actor,
        verb="user.sign_out_everywhere",
        obj=user,
        before={"tokens": ids},
        after={"sessions_ended": sessions},
    )
    return SignOutReport(tokens_revoked=len(ids), sessions_ended=sessions)


def _end_sessions(user: User, *, keep_session_key: str | None) -> int:
    """Delete the user's sessions from a database-backed session store (Django's
    default, ``db``, or ``cached_db``): a session names its user only inside its encoded
    data, so every live session is decoded once. Other stores cannot be searched."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        raise ImproperlyConfigured(
            "Signing out everywhere needs a database-backed SESSION_ENGINE (db or cached_db)."
        )
    model = store_class.get_model_class()
    owner = str(user.pk)
    keys = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=now()).iterator(chunk_size=500)
        if session.session_key != keep_session_key
        and session.get_decoded().get(SESSION_KEY) == owner
    ]
    for key in keys:
        store_class().delete(key)  # through the store: cached_db forgets its cache copy too
    return len(keys)


# --- password changes -----------------------------------------------------------------------


def password_pre_save(sender: Any, instance: User, raw: bool = False, **kwargs: Any) -> None:
    """Note on the instance whether this save changes a stored user's password hash."""
    update_fields = kwargs.get("update_fields")
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return  # e.g. the last_login update of every sign-in: no query
    stored = (
        type(instance)
        ._default_manager.filter(pk=instance.pk)
        .values_list("password", flat=True)
        .first()
    )
    if stored is not None and stored != instance.password:
        setattr(instance, _PASSWORD_CHANGED_FLAG, True)


def password_post_save(sender: Any, instance: User, raw: bool = False, **kwargs: Any) -> None:
    """Revoke the user's tokens once a changed password hash is saved."""
    if instance.__dict__.pop(_PASSWORD_CHANGED_FLAG, False) and not raw:
        tokens_revoke_all(user=instance, actor=None, reason=PASSWORD_CHANGED)
