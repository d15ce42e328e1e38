"""In-app notifications and their optional e-mail (issue 18).

Notices are written by the service whose event they tell of, in its transaction: a
rollback takes them back. Each notice is one row per (recipient, kind, key) under a unique
constraint, written with ``ignore_conflicts``, so a retried request, a concurrent writer or
a second sweep never notifies anyone twice. Nobody is told of their own action, and only
members of the claim's project are told anything. The text is made when read
(``notification_text``) and never carries a rating.

E-mail goes out after commit (``transaction.on_commit(..., robust=True)``: a failing mail
server never undoes or fails the request), once per row (``emailed_at`` is claimed with a
conditional update), to members who turned it on for that kind in their settings.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connections, router, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from annotations import access
from annotations.core.discussion import notification_title
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    ClaimStatus,
    Comment,
    Event,
    Membership,
    Notification,
    NotificationKind,
    NotificationSettings,
)
from annotations.services._base import AfterAppend, User, _insert_values, event_record

logger = logging.getLogger("annotations.notifications")


def notify(
    *,
    kind: NotificationKind,
    key: str,
    project_id: int,
    recipient_ids: Iterable[int],
    actor: User | None,
    claim: Claim | None = None,
    comment: Comment | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Write one ``kind`` notice of the event ``key`` to each of ``recipient_ids`` who is a
    member of ``project_id`` and not the ``actor``; those already told are skipped (the
    unique constraint). Call inside the writing service's transaction. Returns how many
    recipients were asked for (not how many rows were new: retries insert none)."""
    wanted = _wanted(recipient_ids, actor)
    if not wanted:
        return 0
    return _notify_members(
        kind=kind,
        key=key,
        project_id=project_id,
        members=_members(project_id=project_id, wanted=wanted),
        actor=actor,
        claim=claim,
        comment=comment,
        now=now,
    )


def _notify_members(
    *,
    kind: NotificationKind,
    key: str,
    project_id: int,
    members: QuerySet[Any],
    actor: User | None,
    claim: Claim | None = None,
    comment: Comment | None = None,
    now: dt.datetime | None = None,
) -> int:
    """``notify``'s writes: a ``kind`` notice of ``key`` to each user id ``members`` (a
    ``values_list`` of project members, never the actor) finds, then the e-mail after
    commit. Returns how many members it found."""
    now = now or timezone.now()

    def notice(user_id: int) -> Notification:
        return _notice(
            kind=kind,
            key=key,
            project_id=project_id,
            actor=actor,
            claim=claim,
            comment=comment,
            now=now,
            recipient_id=user_id,
        )

    connection = connections[router.db_for_write(Notification)]
    if connection.vendor == "postgresql":
        # One statement: the members among them, and a notice to each (Issue 20).
        told = _notices_insert(connection, notice(0), members)  # each member for the 0
    else:
        recipients = list(members)
        Notification.objects.bulk_create(
            [notice(user_id) for user_id in recipients], ignore_conflicts=True
        )
        told = len(recipients)
    if not told:
        return 0
    _email_after_commit(kind=kind, key=key)
    return told


def _wanted(recipient_ids: Iterable[int | None], actor: User | None) -> set[int]:
    """Whom a notice is for: the recipients, never the actor (nobody is told of their own
    action)."""
    return {pk for pk in recipient_ids if pk is not None} - (
        {actor.pk} if actor is not None else set()
    )


def _email_after_commit(*, kind: str, key: str) -> None:
    """Once the caller's transaction commits, e-mail the notices of ``key``
    (``notifications_email``; a failing mailer never fails the change)."""
    transaction.on_commit(functools.partial(notifications_email, kind=kind, key=key), robust=True)


def _members(
    *,
    project_id: int,
    wanted: Iterable[int] | None = None,
    roles: Iterable[str] | None = None,
    actor: User | None = None,
) -> QuerySet[Any]:
    """The user ids of the members of ``project_id`` (only members are told anything) among
    ``wanted``, or with one of ``roles``; never the ``actor`` (nobody is told of their own
    action, as ``_wanted`` keeps them out of a list of ids)."""
    members = Membership.objects.filter(project_id=project_id)
    if wanted is not None:
        members = members.filter(user_id__in=wanted)
    if roles is not None:
        members = members.filter(role__in=roles)
    if actor is not None and actor.pk is not None:
        members = members.exclude(user_id=actor.pk)
    return members.order_by("user_id").values_list("user_id", flat=True)


def _notice(
    *,
    kind: str,
    key: str,
    project_id: int,
    actor: User | None,
    claim: Claim | None = None,
    comment: Comment | None = None,
    now: dt.datetime | None = None,
    recipient_id: int = 0,
) -> Notification:
    """One unsaved notice (``recipient_id`` 0: a template whose recipient the insert
    gives)."""
    return Notification(
        recipient_id=recipient_id,
        project_id=project_id,
        kind=kind,
        key=key,
        claim=claim,
        comment=comment,
        actor=actor if actor is not None and actor.is_authenticated else None,
        created_at=now or timezone.now(),
    )


def _notices_insert(connection: Any, notice: Notification, members: QuerySet[Any]) -> int:
    """Insert a copy of the unsaved ``notice`` for each user id that ``members`` (a
    ``values_list`` of user ids) finds, skipping those already told (the unique constraint),
    in one statement (PostgreSQL: ``WITH m AS (…), ins AS (INSERT … SELECT … FROM m ON
    CONFLICT DO NOTHING) SELECT count(*) FROM m``). Returns how many members it found."""
    queries = _notices_queries(connection, notice, members, name="m")
    # Quoted names from the models' metadata; every value is a parameter.
    statement = (
        f"WITH {', '.join(f'{name} AS ({sql})' for name, sql, _ in queries)} SELECT count(*) FROM m"  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [p for _, _, params in queries for p in params])
        (found,) = cursor.fetchone()
    return int(found)


def _notices_queries(
    connection: Any,
    notice: Notification,
    members: QuerySet[Any],
    *,
    name: str,
    rows: str = "",
    key: str = "",
) -> list[tuple[str, str, list[Any]]]:
    """The WITH queries of ``_notices_insert`` (PostgreSQL), named ``name`` (the members
    found) and ``<name>_ins``: with ``rows`` (more rows to join, such as the event a key
    is made of) and ``key`` (the SQL of the notices' key, read from them) when the key is
    not known before the statement runs."""
    qn = connection.ops.quote_name
    found_sql, found_params = members.query.get_compiler(connection=connection).as_sql()
    recipient = str(Notification._meta.get_field("recipient").column)
    member = qn(str(Membership._meta.get_field("user").column))  # the ``values_list``'s
    given = {recipient: f"{name}.{member}"}
    if key:
        given[str(Notification._meta.get_field("key").column)] = key
    columns, values, params = _insert_values(connection, notice, given=given, cast=True)
    joined = f", {rows}" if rows else ""
    # Quoted names from the models' metadata; every value is a parameter.
    return [
        (name, found_sql, list(found_params)),
        (
            f"{name}_ins",
            f"INSERT INTO {qn(Notification._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM {name}{joined} ORDER BY {name}.{member} "
            "ON CONFLICT DO NOTHING",
            params,
        ),
    ]


def notify_assigned(*, claim: Claim, reviewer_ids: Iterable[int], actor: User | None) -> int:
    """Tell reviewers an editor assigned them ``claim`` (directed assignment). Call in the
    assigning service's transaction; the key is the claim and reviewer, so assigning the
    same reviewer again (a retry) tells them once."""
    return notify(
        kind=NotificationKind.ASSIGNED,
        key=f"claim:{claim.pk}:v{claim.claim_version}",
        project_id=claim.project_id,
        recipient_ids=reviewer_ids,
        actor=actor,
        claim=claim,
    )


# Who is told of a claim's new status, besides the editors of a dispute: its creator.
_CREATOR_NOTICES = {
    ClaimStatus.RESOLVED: NotificationKind.DECIDED,
    ClaimStatus.PUBLISHED: NotificationKind.PUBLISHED,
}
# A status notice's key: the status change's audit event (``claim_status_notify``).
_EVENT_KEY = "event:"


def claim_status_notices(
    *, claim: Claim, status: str, actor: User | None
) -> AfterAppend | Callable[[Event], object]:
    """``claim_status_notify`` of the status event about to be appended, for its ``then``.
    A notice to the claim's creator (resolved, published) or to the project's editors
    (disputed) is also an ``AfterAppend``: where a statement appends the event with a row
    (PostgreSQL, ``PendingEvents.record``), it writes the notices too, keyed by the new
    event's id (issue 20), so nothing more runs while the audit chain's head is locked."""

    def run(event: Event) -> None:
        claim_status_notify(claim=claim, status=status, actor=actor, event=event)

    recipients = _status_recipients(claim=claim, status=status, actor=actor)
    if recipients is None:
        return run
    kind, members = recipients

    def queries(name: str, rows: str, event_id: str) -> list[tuple[str, str, list[Any]]]:
        if members is None:
            return []
        connection = connections[router.db_for_write(Notification)]
        notice = _notice(kind=kind, key="", project_id=claim.project_id, actor=actor, claim=claim)
        return _notices_queries(
            connection,
            notice,
            members,
            name=name,
            rows=rows,
            key=f"'{_EVENT_KEY}' || ({event_id})::text",
        )

    def done(event: Event) -> None:
        if members is not None:
            _email_after_commit(kind=kind, key=f"{_EVENT_KEY}{event.pk}")

    return AfterAppend(run=run, queries=queries, done=done)


def _status_recipients(
    *, claim: Claim, status: str, actor: User | None
) -> tuple[NotificationKind, QuerySet[Any] | None] | None:
    """Who is told of ``claim``'s new ``status`` as a notice's kind and the members it goes
    to (``_members``' rows: user ids, never the actor; None when nobody is), or None when
    that status tells nobody: disputed, the project's editors; resolved or published, the
    claim's creator."""
    if status == ClaimStatus.DISPUTED:
        editors = _members(project_id=claim.project_id, roles=access.EDITOR_ROLES, actor=actor)
        return NotificationKind.DISPUTED, editors
    kind = _CREATOR_NOTICES.get(ClaimStatus(status))
    if kind is None:
        return None
    wanted = _wanted([claim.created_by_id], actor)
    return kind, (_members(project_id=claim.project_id, wanted=wanted) if wanted else None)


def claim_status_notify(*, claim: Claim, status: str, actor: User | None, event: Event) -> None:
    """The notices of a claim's new ``status`` (``services.claim_transition`` calls it with
    the status change's audit event, whose id is the key): disputed → the project's editors;
    resolved → the claim's creator ("decided"); published → the creator
    (``_status_recipients``)."""
    recipients = _status_recipients(claim=claim, status=status, actor=actor)
    if recipients is None:
        return
    kind, members = recipients
    if members is None:
        return
    _notify_members(
        kind=kind,
        key=f"{_EVENT_KEY}{event.pk}",
        project_id=claim.project_id,
        members=members,
        actor=actor,
        claim=claim,
    )


def leases_expiring_notify(*, now: dt.datetime | None = None) -> int:
    """The worker's sweep: tell each reviewer whose lease expires within
    ``LEASE_WARNING_MINUTES`` (0: never) that it is about to. The key is the lease and its
    expiry, so concurrent sweeps and every later sweep tell them once per lease."""
    minutes = float(settings.LEASE_WARNING_MINUTES)
    if minutes <= 0:
        return 0
    now = now or timezone.now()
    leases = Assignment.objects.filter(
        state=AssignmentState.LEASED,
        expires_at__gt=now,
        expires_at__lte=now + dt.timedelta(minutes=minutes),
    ).select_related("claim")
    count = 0
    for lease in leases.iterator(chunk_size=500):
        with transaction.atomic():
            count += notify(
                kind=NotificationKind.LEASE_EXPIRING,
                key=f"assignment:{lease.pk}:{int(lease.expires_at.timestamp())}",
                project_id=lease.project_id,
                recipient_ids=[lease.reviewer_id],
                actor=None,
                claim=lease.claim,
                now=now,
            )
    return count


def notifications_email(*, kind: str, key: str) -> int:
    """After commit: e-mail the notices of one event to the recipients who asked for that
    kind by e-mail and have an address, each row at most once (``emailed_at`` is claimed by
    a conditional update, so concurrent senders send it once). Returns how many were sent."""
    if "default" not in getattr(settings, "MAILERS", {}):
        return 0  # no mailer configured: notifications stay in-app
    rows = Notification.objects.filter(kind=kind, key=key, emailed_at__isnull=True).select_related(
        "recipient", "actor", "claim"
    )
    sent = 0
    for row in rows:
        choice = NotificationSettings.objects.filter(user_id=row.recipient_id).first()
        if choice is None or not choice.email_enabled or kind not in choice.email_kinds:
            continue
        if not row.recipient.email:
            continue
        # A mention the recipient may not read yet (blind review) is not mailed.
        if not access.notification_scope_for_user(user=row.recipient).filter(pk=row.pk).exists():
            continue
        claimed = Notification.objects.filter(pk=row.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            continue
        text = notification_text(row)
        link = settings.PUBLIC_BASE_URL + reverse("workbench:notification-list")
        try:
            EmailMessage(
                subject=f"[Workbench] {text}",
                body=f"{text}\n\n{link}\n\nChange what you get by e-mail in your "
                "notification settings.",
                to=[row.recipient.email],
            ).send()
            sent += 1
        except Exception:
            logger.exception("Notification e-mail %s could not be sent", row.pk)
    return sent


def notification_text(row: Notification) -> str:
    """The one line a notice shows (in-app and e-mail): kind, who and which claim."""
    return notification_title(
        kind=row.kind,
        actor=row.actor.get_username() if row.actor is not None else "",
        claim_id=row.claim_id,
    )


@transaction.atomic
def notification_read(*, notification: Notification, user: User) -> Notification:
    """Mark one of ``user``'s notifications read (already read: nothing changes). The
    caller looked it up with ``access.notification_get_for_user``."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
        event_record(
            actor=user,
            verb="notification.read",
            object_type="notification",
            project_id=notification.project_id,
            after={"ids": [notification.pk]},
        )
    return notification


@transaction.atomic
def notifications_read_all(*, user: User) -> int:
    """Mark every unread notification ``user`` may see read; returns how many. One audit
    event per project touched (the audit chains are per project)."""
    unread = access.notification_scope_for_user(user=user).filter(read_at__isnull=True)
    by_project: dict[int, list[int]] = {}
    for pk, project_id in unread.values_list("pk", "project_id"):
        by_project.setdefault(project_id, []).append(pk)
    now = timezone.now()
    total = 0
    for project_id, ids in sorted(by_project.items()):
        total += Notification.objects.filter(pk__in=ids, read_at__isnull=True).update(read_at=now)
        event_record(
            actor=user,
            verb="notification.read",
            object_type="notification",
            project_id=project_id,
            after={"ids": ids},
        )
    return total


def notification_settings_get(*, user: User) -> NotificationSettings:
    """``user``'s e-mail choices (unsaved defaults, e-mail off, when never set)."""
    found = NotificationSettings.objects.filter(user=user).first()
    return found or NotificationSettings(user=user, email_enabled=False, email_kinds=[])


@transaction.atomic
def notification_settings_update(
    *, user: User, email_enabled: bool, email_kinds: list[str]
) -> NotificationSettings:
    """Set ``user``'s e-mail choices. ValidationError on ``email_kinds`` for an unknown kind,
    on ``email_enabled`` when turning e-mail on for an account without an address; nothing
    written then. Audited (an event without a project)."""
    unknown = [kind for kind in email_kinds if kind not in NotificationKind.values]
    if unknown:
        raise ValidationError(
            {
                "email_kinds": [
                    f"Unknown kind {unknown[0]!r}; the kinds are "
                    f"{', '.join(NotificationKind.values)}."
                ]
            }
        )
    if email_enabled and not user.email:
        raise ValidationError(
            {"email_enabled": ["Your account has no e-mail address to send notifications to."]}
        )
    kinds = [kind for kind in NotificationKind.values if kind in set(email_kinds)]
    current = NotificationSettings.objects.select_for_update(no_key=True).filter(user=user).first()
    before = (
        {"email_enabled": current.email_enabled, "email_kinds": current.email_kinds}
        if current
        else None
    )
    current = current or NotificationSettings(user=user)
    current.email_enabled, current.email_kinds = email_enabled, kinds
    current.save()
    event_record(
        actor=user,
        verb="notification_settings.update",
        obj=current,
        before=before,
        after={"email_enabled": email_enabled, "email_kinds": kinds},
    )
    return current
