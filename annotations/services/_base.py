"""Shared pieces of the services: the audit event, membership checks, errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.utils import timezone

from annotations.models import (
    Event,
    Membership,
    Project,
)

User = AbstractBaseUser


def event_record(
    *,
    actor: User | None,
    verb: str,
    obj: Model | None = None,
    object_type: str = "",
    project: Project | None = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    """Append an audit event. Call inside the writing service's transaction."""
    return Event.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=object_type or (obj._meta.model_name if obj is not None else ""),
        object_id=obj.pk if obj is not None else None,
        project_id=project.pk if project is not None else project_id,
        before=before,
        after=after,
    )


def _clean_and_save(obj: Model) -> None:
    obj.full_clean()
    obj.save()


class QueueConflict(Exception):
    """The request conflicts with the claim's or lease's current state (HTTP 409)."""


def _require_member(*, project_id: int, user: User, editor: bool = False) -> Membership:
    membership = Membership.objects.filter(project_id=project_id, user=user).first()
    if membership is None:
        raise PermissionDenied("You are not a member of this project.")
    if editor and not membership.is_editor:
        raise PermissionDenied("Only editors and admins can do this.")
    return membership


def now() -> dt.datetime:
    return timezone.now()
