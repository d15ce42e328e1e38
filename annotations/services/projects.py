"""Projects, their rating scale and members."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from annotations.models import (
    ConsensusRule,
    Membership,
    Project,
    Rating,
    Role,
)
from annotations.services._base import (
    User,
    _clean_and_save,
    event_record,
)

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
) -> Project:
    """Create a project with the default rating scale; the creator becomes its admin."""
    project = Project(
        name=name,
        slug=slug or slugify(name)[:80],
        organization=organization,
        organization_url=organization_url,
        required_reviews=required_reviews,
        consensus_rule=consensus_rule,
        majority_threshold=majority_threshold,
        lease_minutes=lease_minutes,
        created_by=creator,
    )
    _validate_policy(project)
    _clean_and_save(project)
    Rating.objects.bulk_create(
        Rating(project=project, key=key, label=label, ordinal=ordinal, position=index)
        for index, (key, label, ordinal) in enumerate(DEFAULT_SCALE)
    )
    Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    event_record(
        actor=creator, verb="project.create", obj=project, project=project, after=_policy(project)
    )
    return project


def _policy(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "required_reviews": project.required_reviews,
        "consensus_rule": project.consensus_rule,
        "majority_threshold": project.majority_threshold,
        "lease_minutes": project.lease_minutes,
    }


def _validate_policy(project: Project) -> None:
    errors: dict[str, str] = {}
    if not isinstance(project.required_reviews, int) or not 1 <= project.required_reviews <= 20:
        errors["required_reviews"] = "Must be a whole number from 1 to 20."
    if not isinstance(project.majority_threshold, (int, float)) or not (
        0.5 <= project.majority_threshold < 1
    ):
        errors["majority_threshold"] = "Must be at least 0.5 and below 1 (0.5 = simple majority)."
    if not isinstance(project.lease_minutes, int) or not 1 <= project.lease_minutes <= 1440:
        errors["lease_minutes"] = "Must be a whole number of minutes from 1 to 1440."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def project_update(*, project: Project, actor: User, **changes: Any) -> Project:
    """Change a project's name, organization or review policy. Locks the project row."""
    allowed = {
        "name",
        "organization",
        "organization_url",
        "required_reviews",
        "consensus_rule",
        "majority_threshold",
        "lease_minutes",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    project = Project.objects.select_for_update().get(pk=project.pk)
    before = _policy(project)
    for name, value in changes.items():
        setattr(project, name, value)
    _validate_policy(project)
    _clean_and_save(project)
    event_record(
        actor=actor,
        verb="project.update",
        obj=project,
        project=project,
        before=before,
        after=_policy(project),
    )
    return project


@transaction.atomic
def member_add(*, project: Project, user: User, role: str, actor: User | None) -> Membership:
    """Add ``user`` to ``project`` with ``role``, or change the role of an existing member."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    before = {"role": membership.role} if membership else None
    if membership is None:
        membership = Membership.objects.create(project=project, user=user, role=role)
    elif membership.role != role:
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
