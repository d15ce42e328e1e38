"""Plain helpers that build rows through the services, so real invariants run: ``make_*``
for rows, ``make_member(s)`` for users holding a role, ``take``/``judge`` for the queue, and
the ``Personas`` cast."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission

from annotations import services
from annotations.models import Assignment, Claim, Document, Project, Role, Verdict

SAMPLE_TEXT = (
    "The mayor said crime fell 20% last year.\n"
    "Unemployment is at a record low of 3.1%, officials claim.\n"
    "\n"
    "Critics say the new bridge cost $2 billion. 🌉 Others disagree.\n"
)


def make_user(username: str, **extra: Any) -> AbstractBaseUser:
    return get_user_model().objects.create_user(
        username=username, password="pw-" + username, **extra
    )


def api_token(user: AbstractBaseUser) -> str:
    """A new API token for ``user``, made as the token endpoint makes one: its secret."""
    return services.token_create(user=user).secret


def grant(user: AbstractBaseUser, codename: str) -> None:
    """Give ``user`` the annotations model permission ``codename`` (e.g. ``add_project``)."""
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="annotations", codename=codename)
    )
    # Django caches permissions on the instance; drop the cache so has_perm sees the grant.
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)


def make_project(*, creator: AbstractBaseUser, name: str = "Desk", **policy: Any) -> Project:
    return services.project_create(creator=creator, name=name, **policy)


def add_member(project: Project, user: AbstractBaseUser, role: str = Role.REVIEWER) -> None:
    services.member_add(project=project, user=user, role=role, actor=None)


def make_member(
    project: Project, username: str, role: str = Role.REVIEWER, **extra: Any
) -> AbstractBaseUser:
    """A new user (password ``pw-<username>``) who holds ``role`` in ``project``."""
    user = make_user(username, **extra)
    add_member(project, user, role)
    return user


def make_members(
    project: Project, *usernames: str, role: str = Role.REVIEWER
) -> list[AbstractBaseUser]:
    """New users, in the order given, each holding ``role`` in ``project``."""
    return [make_member(project, username, role) for username in usernames]


def make_document(
    *,
    project: Project,
    actor: AbstractBaseUser | None = None,
    text: str = SAMPLE_TEXT,
    title: str = "Sample",
    **meta: Any,
) -> Document:
    return services.document_create(
        project=project, data=services.DocumentInput(title=title, text=text, **meta), actor=actor
    )


def make_claim(
    *,
    document: Document,
    actor: AbstractBaseUser,
    exact: str | None = None,
    start: int | None = None,
    end: int | None = None,
    **extra: Any,
) -> Claim:
    if exact is not None:
        start = document.text.index(exact)
        end = start + len(exact)
    assert start is not None and end is not None
    return services.claim_create(
        document=document, start=start, end=end, actor=actor, exact=exact, **extra
    )


def take(claim: Claim, reviewer: AbstractBaseUser, *, now: dt.datetime | None = None) -> Assignment:
    """Lease ``claim`` to ``reviewer`` from the queue; fails unless the queue offers that claim.

    The queue hands out the oldest eligible claim, so tests take claims in creation order.
    """
    lease = services.lease_next(reviewer=reviewer, project=claim.project, now=now)
    assert lease is not None and lease.claim_id == claim.pk, (
        f"{reviewer} was offered claim {lease and lease.claim_id}, expected {claim.pk}"
    )
    return lease


def judge(
    claim: Claim,
    reviewer: AbstractBaseUser,
    rating: str,
    *,
    confidence: str = "high",
    rationale: str = "",
    citations: Iterable[services.CitationInput] = (),
    now: dt.datetime | None = None,
) -> Verdict:
    """Take ``claim`` from the queue as ``reviewer`` (see ``take``) and submit a verdict on it."""
    take(claim, reviewer, now=now)
    return services.verdict_submit(
        claim=claim,
        reviewer=reviewer,
        rating=rating,
        confidence=confidence,
        rationale=rationale,
        citations=list(citations),
        now=now,
    )


class Personas:
    """Shared cast for TestCase classes: call ``cls.make_personas()`` in ``setUpTestData``.

    ``creator`` writes claims, ``reviewer_a``/``reviewer_b``/``reviewer_c`` review them,
    ``editor`` adjudicates, ``admin`` owns the project, ``outsider`` belongs to no project.
    """

    @classmethod
    def make_personas(cls, **policy: Any) -> None:
        cls.admin = make_user("admin")
        grant(cls.admin, "add_project")  # opened the desk: may open projects
        cls.project = make_project(creator=cls.admin, name="Desk", **policy)
        cls.editor = make_member(cls.project, "editor", Role.EDITOR)
        cls.creator, cls.reviewer_a, cls.reviewer_b, cls.reviewer_c = make_members(
            cls.project, "creator", "reviewer_a", "reviewer_b", "reviewer_c"
        )
        cls.outsider = make_user("outsider")
        cls.other_project = make_project(creator=cls.outsider, name="Other desk")
        cls.document = make_document(project=cls.project, actor=cls.creator)
