"""Shared pieces of the services: the audit event, storable-text checks, errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

# Services act for an account of the user model: Django's own (the project sets no
# AUTH_USER_MODEL), which the models' foreign keys to it are typed with.
from django.contrib.auth.models import User as User
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone

from annotations.core import spans
from annotations.models import (
    Event,
    Project,
)


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
    if not object_type and obj is not None:
        object_type = obj._meta.model_name or ""
    return Event.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=object_type,
        object_id=obj.pk if obj is not None else None,
        project_id=project.pk if project is not None else project_id,
        before=before,
        after=after,
    )


def _storable_text_errors(**fields: object) -> dict[str, list[str]]:
    """Messages for each of ``fields`` (name=value) whose text no database column can
    hold: NUL, which PostgreSQL refuses, or a lone surrogate, which is not Unicode text.
    Values that are not strings are left to the service's own checks."""
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            problems = spans.storage_problems(value)
            if problems:
                errors[name] = [f"{problem[0].upper()}{problem[1:]}." for problem in problems]
    return errors


def _require_storable_text(**fields: object) -> None:
    """Raise ValidationError keyed by field for text no database column can hold (see
    ``_storable_text_errors``). Call it before the first query that uses the values: on
    PostgreSQL even a lookup with NUL fails (DataError), and SQLite would store what
    PostgreSQL refuses, so both backends refuse the same input, and nothing is written."""
    errors = _storable_text_errors(**fields)
    if errors:
        raise ValidationError(errors)


def _clean_and_save(obj: Model) -> None:
    obj.full_clean()
    obj.save()


class QueueConflict(Exception):
    """The request conflicts with the claim's or lease's current state (HTTP 409)."""


def jsonable(value: object) -> object:
    """``value`` as an event's before/after can hold it (dates as ISO 8601 text)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def fields_update(
    locked: Model,
    changes: dict[str, Any],
    *,
    actor: User | None,
    verb: str,
    project_id: int | None = None,
) -> list[str]:
    """Write the ``changes`` (field name -> value) that differ from ``locked``, a row the
    caller holds the lock of: each changed field is checked against its column
    (``full_clean`` on those fields only), only they are saved, and one ``verb`` event
    records their values before and after. Returns the changed names; none changed, it
    writes nothing at all. Raises ValidationError on a field its column refuses."""
    before = {name: getattr(locked, name) for name in changes}
    changed = [name for name, value in changes.items() if before[name] != value]
    if not changed:
        return []
    for name in changed:
        setattr(locked, name, changes[name])
    locked.full_clean(
        exclude=[field.name for field in type(locked)._meta.fields if field.name not in changed],
        validate_unique=False,
        validate_constraints=False,
    )
    locked.save(update_fields=changed)
    event_record(
        actor=actor,
        verb=verb,
        obj=locked,
        project_id=project_id,
        before={name: jsonable(before[name]) for name in changed},
        after={name: jsonable(getattr(locked, name)) for name in changed},
    )
    return changed


def now() -> dt.datetime:
    return timezone.now()
