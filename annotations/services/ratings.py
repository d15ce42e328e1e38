"""A project's rating scale, one rating at a time (the admin panel's scale editor).

A scale is first written whole by ``project_create``; these services then add, relabel,
renumber and remove single ratings with the same bounds (``projects._rating_problems``).
The key is what the API, the exports and the audit trail name a rating by, so it is fixed
once the rating exists; a rating that verdicts or consensus records use is never deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from annotations import access
from annotations.models import Consensus, Project, Rating, Role, Verdict
from annotations.services._base import User, chain_lock, event_record
from annotations.services.projects import LAST_RATING, _rating_problems

KEY_FIXED = (
    "The key cannot be changed: the API, the exports and the audit trail name the rating by "
    "it. Add a rating with the new key instead."
)
RATING_FIELDS = ("key", "label", "ordinal", "position")


def _rating_state(rating: Rating) -> dict[str, Any]:
    return {name: getattr(rating, name) for name in RATING_FIELDS}


def _require_valid(values: dict[str, Any], *, only: Sequence[str] = RATING_FIELDS) -> None:
    """ValidationError by field for the problems of ``values`` (a whole rating) in the
    fields ``only``, in the words ``project_create`` uses for a scale."""
    found = _rating_problems(**values)
    errors = {
        name: [f"{message[0].upper()}{message[1:]}" for message in messages]
        for name, messages in found.items()
        if name in only
    }
    if errors:
        raise ValidationError(errors)


def _lock_project(project_id: int) -> None:
    """Changes to one scale queue on the project row, so that two removals cannot both see
    "another rating is left" and a key cannot be added twice."""
    list(
        Project.objects.select_for_update(no_key=True)
        .filter(pk=project_id)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def rating_create(
    *,
    project: Project,
    actor: User,
    key: str,
    label: str,
    ordinal: int | None = None,
    position: int = 0,
) -> Rating:
    """Add a rating to ``project``'s scale and record ``rating.create``.

    Needs the admin role in the project (PermissionDenied). Raises ValidationError by field
    on a key, label, ordinal or position out of Rating's bounds, and on ``key`` when the
    scale already has it; nothing is written then. Locks the project row.
    """
    access.membership_require(user=actor, project_id=project.pk, role=Role.ADMIN)
    values = {"key": key, "label": label, "ordinal": ordinal, "position": position}
    _require_valid(values)
    _lock_project(project.pk)
    if Rating.objects.filter(project_id=project.pk, key=key).exists():
        raise ValidationError({"key": f"This project's scale already has the key {key!r}."})
    rating = Rating.objects.create(project_id=project.pk, **values)
    event_record(actor=actor, verb="rating.create", obj=rating, project_id=project.pk, after=values)
    return rating


@transaction.atomic
def rating_update(*, rating: Rating, actor: User, **changes: Any) -> Rating:
    """Change a rating's ``label``, ``ordinal`` or ``position``; record ``rating.update``
    with what changed (nothing is recorded when nothing did).

    Needs the admin role in the rating's project (PermissionDenied). Raises ValidationError
    on ``key`` (fixed once created: ``KEY_FIXED``), on any other field that is not one of
    those, and on a value out of Rating's bounds. Locks the project row, then the rating.
    Changing an ordinal re-weighs the ordinal agreement of every verdict already given
    with this rating: that is the scale's owners' decision, recorded in the event.
    """
    errors: dict[str, str] = {}
    if "key" in changes:
        errors["key"] = KEY_FIXED
    errors.update(
        {
            name: "This field cannot be changed."
            for name in sorted(set(changes) - {"key", "label", "ordinal", "position"})
        }
    )
    if errors:
        raise ValidationError(errors)
    access.membership_require(user=actor, project_id=rating.project_id, role=Role.ADMIN)
    _lock_project(rating.project_id)
    # NO KEY: the key, the one unique column the UPDATE could change, was refused above.
    locked = Rating.objects.select_for_update(no_key=True).get(pk=rating.pk)
    before = _rating_state(locked)
    _require_valid({**before, **changes}, only=list(changes))
    changed = [name for name, value in changes.items() if before[name] != value]
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, changes[name])
    locked.save(update_fields=changed)
    event_record(
        actor=actor,
        verb="rating.update",
        obj=locked,
        project_id=locked.project_id,
        before={name: before[name] for name in changed},
        after={name: changes[name] for name in changed},
    )
    return locked


def ratings_delete_check(*, ratings: Sequence[Rating], added: int = 0) -> None:
    """Refuse to delete ``ratings`` when any is in use (verdicts or consensus records point
    at it: the record of what was judged stays whole) or when a project would be left
    without a rating (``added`` counts the ratings the same change adds, for a form that
    writes several rows at once). Raises ValidationError on ``rating``, one message per
    problem; writes nothing. ``rating_delete`` calls it under the project's lock."""
    if not ratings:
        return
    ids = [rating.pk for rating in ratings]
    verdicts = _uses(Verdict, ids)
    records = _uses(Consensus, ids)
    problems = [
        f"{rating.label} ({rating.key}) is used by {verdicts.get(rating.pk, 0)} verdict(s) and "
        f"{records.get(rating.pk, 0)} consensus record(s): a rating in use cannot be deleted."
        for rating in ratings
        if verdicts.get(rating.pk) or records.get(rating.pk)
    ]
    for project_id in sorted({rating.project_id for rating in ratings}):
        leaving = {rating.pk for rating in ratings if rating.project_id == project_id}
        left = Rating.objects.filter(project_id=project_id).exclude(pk__in=leaving).count()
        if left + added < 1:
            problems.append(LAST_RATING)
    if problems:
        raise ValidationError({"rating": problems})


def _uses(model: type[Verdict] | type[Consensus], ids: Sequence[int]) -> dict[int, int]:
    """How many rows of ``model`` point at each rating of ``ids`` (id → count; unused
    ratings are left out)."""
    return dict(
        model.objects.filter(rating_id__in=ids)
        .order_by()
        .values("rating_id")
        .annotate(n=Count("id"))
        .values_list("rating_id", "n")
    )


@transaction.atomic
def rating_delete(*, rating: Rating, actor: User) -> None:
    """Remove an unused rating from its project's scale and record ``rating.delete``.

    Needs the admin role in the project (PermissionDenied). Raises ValidationError on
    ``rating`` when it is in use or the project's last (``ratings_delete_check``); nothing
    is written then. Deleting a rating that is already gone does nothing. Locks the
    project row, then the project's audit chain, then the rating.
    """
    access.membership_require(user=actor, project_id=rating.project_id, role=Role.ADMIN)
    _lock_project(rating.project_id)
    # FOR UPDATE, not NO KEY: the row is deleted. So the chain's head first: a verdict that
    # names the rating holds it while its COMMIT takes FOR KEY SHARE on the rating; this
    # waits for that commit, then sees the verdict. Whoever else locks the rating before
    # its head (rating_update) takes the project's lock before it, like this.
    chain_lock(rating.project_id)
    current = Rating.objects.select_for_update(no_key=False).filter(pk=rating.pk).first()
    if current is None:
        return
    ratings_delete_check(ratings=[current])
    event_record(
        actor=actor,
        verb="rating.delete",
        obj=current,
        project_id=current.project_id,
        before=_rating_state(current),
    )
    current.delete()
