"""The claimant registry: people and organisations claims are attributed to, with their
names and aliases (issue 17, deliverable 5).

A claim keeps its claimant as the text its creator typed (what the reviewers judged);
the registry recognises that text by its key (``core.claimants.name_key``). Editors and
admins keep the registry: create a claimant, rename, add or remove an alias, merge two
entries that are one person. Nothing is lost on the way: a rename keeps the old name as
an alias, a merge moves every name to the claimant kept and leaves the merged row
pointing at it. Each call is one transaction and one audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotations import access
from annotations.core.claimants import display_name, name_key
from annotations.models import Claimant, ClaimantKind, ClaimantName, Project
from annotations.services import limits
from annotations.services._base import User, _require_storable_text, event_record

MAX_ALIASES = 50
NOT_A_NAME = "A name needs at least one letter or digit."


def _state(claimant: Claimant) -> dict[str, Any]:
    return {
        "name": claimant.name,
        "kind": claimant.kind,
        "description": claimant.description,
        "aliases": sorted(
            n.name for n in ClaimantName.objects.filter(claimant=claimant, is_primary=False)
        ),
        "merged_into": claimant.merged_into_id,
    }


def _clean_name(field: str, name: object) -> tuple[str, str]:
    """(display name, key) of a typed name, or ValidationError on ``field``."""
    if not isinstance(name, str):
        raise ValidationError({field: "Give the name as text."})
    _require_storable_text(**{field: name})
    shown = display_name(name)
    limits.require_lengths(**{field: (shown, limits.MAX_CLAIMANT)})
    key = name_key(shown)
    if not key:
        raise ValidationError({field: NOT_A_NAME})
    return shown, key


def _taken(project_id: int, key: str, *, field: str, owner: Claimant | None = None) -> None:
    """ValidationError on ``field`` when ``key`` already names a claimant of the project
    (other than ``owner``)."""
    found = (
        ClaimantName.objects.filter(project_id=project_id, key=key)
        .select_related("claimant")
        .first()
    )
    if found is not None and (owner is None or found.claimant_id != owner.pk):
        raise ValidationError(
            {
                field: f"“{found.name}” is already a name of {found.claimant.name} (#{found.claimant_id})."
            }
        )


def _add_name(
    claimant: Claimant, shown: str, key: str, *, primary: bool, actor: User, field: str
) -> ClaimantName:
    try:
        with transaction.atomic():
            return ClaimantName.objects.create(
                project_id=claimant.project_id,
                claimant=claimant,
                name=shown,
                key=key,
                is_primary=primary,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        # Another editor registered the same spelling between our check and insert.
        raise ValidationError({field: f"“{shown}” was just registered by someone else."}) from None


def _check_kind(kind: str) -> None:
    if kind not in ClaimantKind.values:
        raise ValidationError(
            {"kind": f"Unknown kind {kind!r}; use one of {', '.join(ClaimantKind.values)}."}
        )


@transaction.atomic
def claimant_create(
    *,
    project: Project,
    name: str,
    actor: User,
    kind: str = ClaimantKind.PERSON,
    description: str = "",
    aliases: Sequence[str] = (),
) -> Claimant:
    """Register a claimant with its name and ``aliases``. Editors and admins only
    (PermissionDenied). ValidationError by field: a name or alias with no letter or digit,
    over the claimant length limit, already registered (any spelling with the same key),
    or given twice; an unknown ``kind``; too many aliases. Nothing is written then."""
    access.claimant_manage_require(user=actor, project_id=project.pk)
    shown, key = _clean_name("name", name)
    _check_kind(kind)
    _require_storable_text(description=description)
    limits.require_lengths(description=(description, 500))
    if len(aliases) > MAX_ALIASES:
        raise ValidationError({"aliases": f"At most {MAX_ALIASES} aliases."})
    cleaned = []
    seen = {key}
    for alias in aliases:
        alias_shown, alias_key = _clean_name("aliases", alias)
        if alias_key in seen:
            raise ValidationError({"aliases": f"“{alias_shown}” is given twice."})
        seen.add(alias_key)
        cleaned.append((alias_shown, alias_key))
    _taken(project.pk, key, field="name")
    for _shown, alias_key in cleaned:
        _taken(project.pk, alias_key, field="aliases")
    claimant = Claimant.objects.create(
        project=project,
        name=shown,
        kind=kind,
        description=description.strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _add_name(claimant, shown, key, primary=True, actor=actor, field="name")
    for alias_shown, alias_key in cleaned:
        _add_name(claimant, alias_shown, alias_key, primary=False, actor=actor, field="aliases")
    event_record(
        actor=actor, verb="claimant.create", obj=claimant, project=project, after=_state(claimant)
    )
    return claimant


def _lock(claimant: Claimant) -> Claimant:
    locked = Claimant.objects.select_for_update(no_key=True).get(pk=claimant.pk)
    if locked.merged_into_id is not None:
        raise ValidationError(
            {
                "claimant": f"This claimant was merged into #{locked.merged_into_id}; change that one."
            }
        )
    return locked


@transaction.atomic
def claimant_update(
    *,
    claimant: Claimant,
    actor: User,
    name: str | None = None,
    kind: str | None = None,
    description: str | None = None,
) -> Claimant:
    """Rename (the old name stays as an alias; a new name that is one of the claimant's
    aliases becomes the primary one), change the kind or the description. Records
    ``claimant.update`` with before and after; nothing when nothing changed."""
    access.claimant_manage_require(user=actor, project_id=claimant.project_id)
    locked = _lock(claimant)
    before = _state(locked)
    if kind is not None:
        _check_kind(kind)
        locked.kind = kind
    if description is not None:
        _require_storable_text(description=description)
        limits.require_lengths(description=(description, 500))
        locked.description = description.strip()
    if name is not None:
        shown, key = _clean_name("name", name)
        _taken(locked.project_id, key, field="name", owner=locked)
        names = ClaimantName.objects.filter(claimant=locked)
        own = names.filter(key=key).first()
        if own is None or own.name != shown or not own.is_primary:
            names.filter(is_primary=True).update(is_primary=False)
            if own is None:
                _add_name(locked, shown, key, primary=True, actor=actor, field="name")
            else:
                own.name, own.is_primary = shown, True
                own.save(update_fields=["name", "is_primary"])
            locked.name = shown
    locked.save(update_fields=["name", "kind", "description"])
    after = _state(locked)
    if after != before:
        event_record(
            actor=actor,
            verb="claimant.update",
            obj=locked,
            project_id=locked.project_id,
            before=before,
            after=after,
        )
    return locked


@transaction.atomic
def claimant_alias_add(*, claimant: Claimant, name: str, actor: User) -> ClaimantName:
    """Add an alias (another spelling, a title, a handle). ValidationError on ``name`` when
    it is no name, too long, or already registered (to this claimant or another)."""
    access.claimant_manage_require(user=actor, project_id=claimant.project_id)
    locked = _lock(claimant)
    shown, key = _clean_name("name", name)
    _taken(locked.project_id, key, field="name")
    if ClaimantName.objects.filter(claimant=locked).count() > MAX_ALIASES:
        raise ValidationError({"name": f"At most {MAX_ALIASES} aliases."})
    before = _state(locked)
    alias = _add_name(locked, shown, key, primary=False, actor=actor, field="name")
    event_record(
        actor=actor,
        verb="claimant.alias_add",
        obj=locked,
        project_id=locked.project_id,
        before=before,
        after=_state(locked),
    )
    return alias


@transaction.atomic
def claimant_alias_remove(*, claimant: Claimant, alias_id: int, actor: User) -> None:
    """Remove an alias (never the primary name: rename first). ValidationError on
    ``alias`` for an unknown id or the primary name."""
    access.claimant_manage_require(user=actor, project_id=claimant.project_id)
    locked = _lock(claimant)
    alias = ClaimantName.objects.filter(claimant=locked, pk=alias_id).first()
    if alias is None:
        raise ValidationError({"alias": f"No alias with id {alias_id} on this claimant."})
    if alias.is_primary:
        raise ValidationError({"alias": "This is the claimant's name: rename it instead."})
    before = _state(locked)
    alias.delete()
    event_record(
        actor=actor,
        verb="claimant.alias_remove",
        obj=locked,
        project_id=locked.project_id,
        before=before,
        after=_state(locked),
    )


@transaction.atomic
def claimant_merge(*, claimant: Claimant, into: Claimant, actor: User) -> Claimant:
    """``claimant`` and ``into`` are one: every name of ``claimant`` becomes an alias of
    ``into``, and ``claimant`` points at ``into`` from now on (its row is kept, so events
    and links to it still resolve). Same project only; ValidationError on ``into``
    otherwise, or when either was merged already."""
    access.claimant_manage_require(user=actor, project_id=claimant.project_id)
    if into.project_id != claimant.project_id:
        raise ValidationError({"into": "Claimants merge only within one project."})
    if into.pk == claimant.pk:
        raise ValidationError({"into": "A claimant cannot be merged into itself."})
    # Lock in id order, so two opposite merges cannot deadlock.
    first, second = sorted([claimant, into], key=lambda c: c.pk)
    locked = {c.pk: _lock(c) for c in (first, second)}
    source, target = locked[claimant.pk], locked[into.pk]
    before = {"merged": _state(source), "into": _state(target)}
    ClaimantName.objects.filter(claimant=source).update(claimant=target, is_primary=False)
    source.merged_into = target
    source.save(update_fields=["merged_into"])
    event_record(
        actor=actor,
        verb="claimant.merge",
        obj=source,
        project_id=source.project_id,
        before=before,
        after={"merged": _state(source), "into": _state(target)},
    )
    return target
