"""Projects, their rating scale and members."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from annotations.core import consensus as rules
from annotations.core import evidence_policy, scheduling
from annotations.core.calibration import MAX_GOLD_RATE
from annotations.core.urlnorm import UrlError
from annotations.models import (
    ConsensusRule,
    Membership,
    Project,
    Rating,
    Role,
    Stance,
)
from annotations.services._base import (
    User,
    _clean_and_save,
    _require_storable_text,
    _storable_text_errors,
    event_record,
    public_url,
)
from annotations.services.review import consensus_settle_schedule
from annotations.services.suggestions import triage_url_checked

DEFAULT_SCALE: tuple[tuple[str, str, int | None], ...] = (
    ("true", "True", 5),
    ("mostly_true", "Mostly true", 4),
    ("half_true", "Half true", 3),
    ("mostly_false", "Mostly false", 2),
    ("false", "False", 1),
    ("misleading", "Misleading", None),
    ("unverifiable", "Unverifiable", None),
    ("not_checkable", "Not checkable", None),
)
LAST_ADMIN = "A project needs at least one admin."
LAST_RATING = "A project needs at least one rating."
# DEFAULT_SCALE as project_create's ``scale`` takes it (and the export writes it).
_DEFAULT_ENTRIES: list[dict[str, Any]] = [
    {"key": key, "label": label, "ordinal": ordinal, "position": index}
    for index, (key, label, ordinal) in enumerate(DEFAULT_SCALE)
]
# The bounds of Rating's columns (SlugField(40), CharField(80), SmallIntegerField,
# PositiveSmallIntegerField), the same as the export schema's ``rating`` definition.
RATING_KEY = re.compile(r"[-a-zA-Z0-9_]{1,40}")
MAX_RATING_LABEL = 80
SMALLINT = (-32768, 32767)


@transaction.atomic
def project_create(
    *,
    creator: User,
    name: str,
    slug: str = "",
    organization: str = "",
    organization_url: str = "",
    required_reviews: int = 2,
    consensus_rule: str = ConsensusRule.UNANIMOUS,
    majority_threshold: float = 0.5,
    lease_minutes: int = 30,
    publishing_enabled: bool = False,
    min_citations: int = 0,
    quote_required: bool = False,
    allowed_stances: Sequence[str] | None = None,
    scale: Sequence[Mapping[str, Any]] | None = None,
) -> Project:
    """Create a project with a rating scale; the creator becomes its admin.

    ``scale`` is the project's ratings as the native export writes them (``{"key",
    "label", "ordinal", "position"}`` each; ``ordinal`` None for ratings off the truth
    scale); without it the project gets ``DEFAULT_SCALE``. A restore passes the exported
    scale, so relabelled, renumbered or removed default ratings come back as they were.

    Raises ValidationError on a bad policy, a taken slug, text no database can store
    (NUL, a lone surrogate) in the name, slug or organization fields, or a bad ``scale``
    (on ``scale``: empty, a repeated key, a label or number out of bounds); nothing is
    written then. ``min_citations``, ``quote_required`` and ``allowed_stances`` (None: all)
    are the evidence policy (``core.evidence_policy``)."""
    _require_storable_text(
        name=name, slug=slug, organization=organization, organization_url=organization_url
    )
    _require_public_organization_url(organization_url)
    stances = _stances_stored(Stance.values if allowed_stances is None else allowed_stances)
    entries = _scale_entries(scale) if scale is not None else _DEFAULT_ENTRIES
    project = Project(
        name=name,
        slug=slug or slugify(name)[:80],
        organization=organization,
        organization_url=organization_url,
        required_reviews=required_reviews,
        consensus_rule=consensus_rule,
        majority_threshold=majority_threshold,
        lease_minutes=lease_minutes,
        publishing_enabled=publishing_enabled is True,
        min_citations=min_citations,
        quote_required=quote_required,
        allowed_stances=stances,
        created_by=creator,
    )
    _validate_policy(project)
    _clean_and_save(project)
    Rating.objects.bulk_create(Rating(project=project, **entry) for entry in entries)
    Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    event_record(
        actor=creator,
        verb="project.create",
        obj=project,
        project=project,
        after={**_policy(project), "scale": entries},
    )
    return project


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _rating_problems(
    *, key: object, label: object, ordinal: object, position: object
) -> dict[str, list[str]]:
    """What is wrong with one entry of a rating scale, by field (``key``, ``label``,
    ``ordinal``, ``position``), against Rating's columns. The messages start in lower
    case ("the key must be …"): ``_scale_entries`` prefixes each with the entry's number,
    the rating services capitalize them. Whether a key is taken is the caller's check."""
    problems: dict[str, list[str]] = {}
    if not isinstance(key, str) or not RATING_KEY.fullmatch(key):
        problems["key"] = [
            "the key must be 1 to 40 letters, digits, '-' or '_' (e.g. 'mostly_true')."
        ]
    if not isinstance(label, str) or not 1 <= len(label) <= MAX_RATING_LABEL:
        problems["label"] = [f"the label must be text of 1 to {MAX_RATING_LABEL} characters."]
    else:
        unstorable = [
            f"the label: {message}"
            for messages in _storable_text_errors(label=label).values()
            for message in messages
        ]
        if unstorable:
            problems["label"] = unstorable
    if ordinal is not None and not (_is_int(ordinal) and SMALLINT[0] <= ordinal <= SMALLINT[1]):
        problems["ordinal"] = [
            f"the ordinal must be a whole number from {SMALLINT[0]} to "
            f"{SMALLINT[1]}, or null for a rating off the truth scale."
        ]
    if not (_is_int(position) and 0 <= position <= SMALLINT[1]):
        problems["position"] = [f"the position must be a whole number from 0 to {SMALLINT[1]}."]
    return problems


def _scale_entries(scale: object) -> list[dict[str, Any]]:
    """``scale`` as a list of ``{"key", "label", "ordinal", "position"}`` dicts, checked
    against Rating's columns before anything is written. Raises ValidationError on
    ``scale`` with one message per problem, each naming the entry (from 0)."""
    if isinstance(scale, (str, bytes, Mapping)) or not isinstance(scale, Sequence):
        raise ValidationError({"scale": "Must be a list of ratings."})
    if not scale:
        raise ValidationError({"scale": LAST_RATING})
    fields = {"key", "label", "ordinal", "position"}
    problems: list[str] = []
    entries: list[dict[str, Any]] = []
    keys: set[str] = set()
    for index, entry in enumerate(scale):
        where = f"Rating {index}"
        if not isinstance(entry, Mapping) or set(entry) != fields:
            problems.append(f"{where}: must have exactly key, label, ordinal and position.")
            continue
        key, label, ordinal, position = (
            entry[name] for name in ("key", "label", "ordinal", "position")
        )
        found = _rating_problems(key=key, label=label, ordinal=ordinal, position=position)
        if "key" in found:
            problems.extend(f"{where}: {message}" for message in found["key"])
        elif key in keys:
            problems.append(f"{where}: the key {key!r} appears twice.")
        else:
            keys.add(key)
        problems.extend(
            f"{where}: {message}"
            for name in ("label", "ordinal", "position")
            for message in found.get(name, [])
        )
        entries.append({"key": key, "label": label, "ordinal": ordinal, "position": position})
    if problems:
        raise ValidationError({"scale": problems})
    return entries


def _policy(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "required_reviews": project.required_reviews,
        "consensus_rule": project.consensus_rule,
        "majority_threshold": project.majority_threshold,
        "lease_minutes": project.lease_minutes,
        "publishing_enabled": project.publishing_enabled,
        "min_citations": project.min_citations,
        "quote_required": project.quote_required,
        "allowed_stances": list(evidence_policy.stances_split(project.allowed_stances)),
        "gold_rate": project.gold_rate,
    }


def _provider_origin(url: str) -> str:
    """How the audit log records a triage provider URL: like a webhook URL, the origin
    only, never a path or query that may hold a token."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def _stances_stored(stances: object) -> str:
    """A list of stances as the project stores it (``core.evidence_policy.stances_text``).
    Raises ValidationError on ``allowed_stances``: not a list, empty, an unknown stance."""
    if isinstance(stances, (str, bytes, Mapping)) or not isinstance(stances, Sequence):
        raise ValidationError({"allowed_stances": "Must be a list of stances."})
    if not all(isinstance(stance, str) for stance in stances):
        raise ValidationError({"allowed_stances": "Must be a list of stances."})
    try:
        text = evidence_policy.stances_text(stances, Stance.values)
    except ValueError as exc:
        raise ValidationError({"allowed_stances": str(exc)}) from None
    if not text:
        raise ValidationError(
            {"allowed_stances": "Allow at least one stance (supports, refutes, context)."}
        )
    return text


def _validate_policy(project: Project) -> None:
    errors: dict[str, str] = {}
    low, high = rules.MIN_REQUIRED_REVIEWS, rules.MAX_REQUIRED_REVIEWS
    if not isinstance(project.required_reviews, int) or not low <= project.required_reviews <= high:
        errors["required_reviews"] = f"Must be a whole number from {low} to {high}."
    least, most = rules.MIN_MAJORITY_THRESHOLD, rules.MAX_PROJECT_MAJORITY_THRESHOLD
    if not isinstance(project.majority_threshold, (int, float)) or not (
        least <= project.majority_threshold <= most
    ):
        errors["majority_threshold"] = (
            f"Must be from {least} to {most} ({least} = simple majority)."
        )
    low, high = scheduling.MIN_LEASE_MINUTES, scheduling.MAX_LEASE_MINUTES
    if not isinstance(project.lease_minutes, int) or not low <= project.lease_minutes <= high:
        errors["lease_minutes"] = f"Must be a whole number of minutes from {low} to {high}."
    if not isinstance(project.publishing_enabled, bool):
        errors["publishing_enabled"] = "Must be true or false."
    if (
        not isinstance(project.min_citations, int)
        or isinstance(project.min_citations, bool)
        or not 0 <= project.min_citations <= evidence_policy.MAX_MIN_CITATIONS
    ):
        errors["min_citations"] = (
            f"Must be a whole number from 0 to {evidence_policy.MAX_MIN_CITATIONS} (0 = none required)."
        )
    if not isinstance(project.quote_required, bool):
        errors["quote_required"] = "Must be true or false."
    if (
        not isinstance(project.gold_rate, (int, float))
        or isinstance(project.gold_rate, bool)
        or not 0 <= project.gold_rate <= MAX_GOLD_RATE
    ):
        errors["gold_rate"] = (
            f"Must be a share from 0 to {MAX_GOLD_RATE} (e.g. 0.05: one lease in twenty)."
        )
    if errors:
        raise ValidationError(errors)
    # -0.0 passes the range (it equals 0) and would be stored, recorded and shown as -0.0.
    project.gold_rate = abs(project.gold_rate) if project.gold_rate == 0 else project.gold_rate


@transaction.atomic
def project_update(*, project: Project, actor: User, **changes: Any) -> Project:
    """Change a project's name, organization, review policy, ``publishing_enabled``
    (public pages and feeds) or evidence policy (``min_citations``, ``quote_required``,
    ``allowed_stances`` as a list). Locks the project row. Callers check the admin role
    (API, UI settings, admin). A stricter evidence policy applies to verdicts written
    from then on; the verdicts already written stay as they are.

    The review policy (``required_reviews``, ``consensus_rule``, ``majority_threshold``)
    applies to decisions taken from then on: decided claims (disputed, resolved,
    adjudicated, published) keep their decision. Lowering ``required_reviews`` queues
    ``review.consensus_settle_task`` with the change (its row commits with it): the claims
    in review that already hold the new number of counted verdicts are decided as their
    last verdict would have decided them. A rule or threshold change needs no such run: a
    claim in review holds fewer counted verdicts than required, so the rule has not run
    over it yet and will when its last verdict comes in."""
    allowed = {
        "name",
        "organization",
        "organization_url",
        "required_reviews",
        "consensus_rule",
        "majority_threshold",
        "lease_minutes",
        "publishing_enabled",
        "triage_url",
        "min_citations",
        "quote_required",
        "allowed_stances",
        "gold_rate",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    if "allowed_stances" in changes:
        changes["allowed_stances"] = _stances_stored(changes["allowed_stances"])
    _require_storable_text(**changes)
    _require_public_organization_url(changes.get("organization_url"))
    if "triage_url" in changes:
        changes["triage_url"] = triage_url_checked(changes["triage_url"])
    project = Project.objects.select_for_update(no_key=True).get(pk=project.pk)
    if all(getattr(project, name) == value for name, value in changes.items()):
        # Nothing changes (a form saved as it was shown): nothing to write or record.
        return project
    before = _policy(project)
    old_provider = _provider_origin(project.triage_url)
    for name, value in changes.items():
        setattr(project, name, value)
    _validate_policy(project)
    _clean_and_save(project)
    after = _policy(project)
    if "triage_url" in changes:
        before["triage_provider"] = old_provider
        after["triage_provider"] = _provider_origin(project.triage_url)
    event = event_record(
        actor=actor,
        verb="project.update",
        obj=project,
        project=project,
        before=before,
        after=after,
    )
    if after["required_reviews"] < before["required_reviews"]:
        # Claims in review may now hold the verdicts it asks: the rule runs over them in
        # the background, claim by claim (``review.consensus_settle_task``).
        consensus_settle_schedule(
            project_id=project.pk,
            actor=actor,
            cause={
                "cause": "project.update",
                "event": event.pk,
                "required_reviews": after["required_reviews"],
            },
        )
    return project


def _require_public_organization_url(url: object) -> None:
    """The organization's site is published as the publisher's URL of every fact check:
    a public http(s) site (``public_url``), or empty. ValidationError on
    ``organization_url`` otherwise."""
    if isinstance(url, str) and url.strip():
        try:
            public_url(url)
        except UrlError as exc:
            raise ValidationError({"organization_url": str(exc)}) from None


def _admins_locked(*, project_id: int) -> set[int]:
    """Ids of the project's admin memberships, locked until the transaction ends.

    Every change that can take a project's admin away takes this lock first, in id order:
    concurrent changes then queue instead of deadlocking, and the later one sees the
    earlier one's commit (PostgreSQL re-checks ``role = 'admin'`` on a row it waited for),
    so two demotions of a project's last two admins cannot both see "another admin left".
    ``FOR UPDATE``, not NO KEY: the callers may delete one of these rows. Before the
    chain's head, unlike other deletions (docs/design.md, "Lock order"): no foreign key
    names a membership (a claim or a verdict names the user), so no COMMIT takes
    ``FOR KEY SHARE`` on one, and a lease (``lease_next``, ``lease_claim``) locks its
    reviewer's membership before its head: the head first would deadlock with one.
    """
    return set(
        Membership.objects.select_for_update(no_key=False)
        .filter(project_id=project_id, role=Role.ADMIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _require_an_admin(
    admins: set[int], roles: Mapping[int, str | None], *, new_admins: int = 0
) -> None:
    """Raise if ``roles`` (membership id → new role, None = removed) takes away the last of
    ``admins``. A change that takes no admin away passes even where none is left (old data)."""
    leaving = {pk for pk in admins if pk in roles and roles[pk] != Role.ADMIN}
    if not leaving:
        return
    promoted = {pk for pk, role in roles.items() if role == Role.ADMIN}
    if not (admins - leaving or promoted or new_admins):
        raise ValidationError({"role": LAST_ADMIN})


def member_changes_check(
    *, project_id: int, roles: Mapping[int, str | None], new_admins: int = 0
) -> None:
    """Refuse membership changes that would leave the project without an admin.

    ``roles`` maps existing membership ids to their new role, or to None for a removal;
    ``new_admins`` counts the admins the same change adds as new memberships. For forms
    that write several memberships at once (the admin's project page).

    Locks the project's admin memberships until the caller's transaction ends: call it
    inside the transaction that writes the changes (the admin's change and delete views
    run in one), where the writing services' own checks then see the same rows. Raises
    ValidationError on ``role``.
    """
    _require_an_admin(_admins_locked(project_id=project_id), roles, new_admins=new_admins)


@transaction.atomic
def member_add(*, project: Project, user: User, role: str, actor: User | None) -> Membership:
    """Add ``user`` to ``project`` with ``role``, or change the role of an existing member.

    A member who already has ``role`` is left as they are, and no event is recorded.
    Raises ValidationError on ``role`` for an unknown role, or when the change would demote
    the project's last admin; nothing is written then. Locks the project's admin
    memberships, then the member's row (see ``_admins_locked``).
    """
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    admins = _admins_locked(project_id=project.pk)
    membership = (
        Membership.objects.select_for_update(no_key=True).filter(project=project, user=user).first()
    )
    before = {"role": membership.role} if membership else None
    if membership is None:
        membership = Membership.objects.create(project=project, user=user, role=role)
    elif membership.role == role:
        return membership
    else:
        _require_an_admin(admins, {membership.pk: role})
        membership.role = role
        membership.save(update_fields=["role"])
    event_record(
        actor=actor,
        verb="member.add",
        obj=membership,
        project=project,
        before=before,
        after={"user": user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: User | None) -> None:
    """Take a member out of their project (the admin panel's delete).

    Raises ValidationError on ``role`` if they are its last admin; nothing is written
    then. Removing someone who is no longer a member does nothing. Locks the project's
    admin memberships, then the member's row (see ``_admins_locked``).
    """
    admins = _admins_locked(project_id=membership.project_id)
    # FOR UPDATE, not NO KEY: the row is deleted. Only it: not the user's row. Before the
    # chain's head, as in _admins_locked: no foreign key names a membership.
    current = (
        Membership.objects.select_for_update(of=("self",), no_key=False)
        .select_related("user")
        .filter(pk=membership.pk)
        .first()
    )
    if current is None:
        return
    _require_an_admin(admins, {current.pk: None})
    event_record(
        actor=actor,
        verb="member.remove",
        obj=current,
        project_id=current.project_id,
        before={"user": current.user.get_username(), "role": current.role},
    )
    current.delete()
