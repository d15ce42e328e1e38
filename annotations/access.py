"""Who may do what: the one home of Workbench's access rules.

Every interface asks here: the selectors and services, the exports, the REST API, the
reviewer UI, the admin panel and the management commands. No role comparison is
written anywhere else.

* **Membership and roles.** A user acts in a project through their membership; roles
  are ordered reviewer < editor < admin (``ROLE_RANK``, ``role_at_least``).
* **Lookups.** ``*_get_for_user`` look an object up *through* the caller's memberships:
  a non-member gets ``Http404`` (never a hint that the object exists), a member below
  the role needed gets ``PermissionDenied``. Services, which are called with objects
  already looked up, check with ``membership_require`` (``PermissionDenied`` only).
* **Rights on one object.** Editing or re-anchoring a claim in place (its creator, or an
  editor, only until the first verdict: what was judged is frozen; never once published),
  revising a judged claim (editors: a new claim version), withdrawing one (an editor, or
  its creator before any verdict), opening a project.
* **Blind review.** Until a reviewer has submitted their own verdict on a claim, they
  see no other reviewer's verdict on it, nor anything that reveals one (citations,
  sources cited, consensus records, leases, audit events); editors and admins see all.
  ``can_see_all_verdicts`` decides for one claim, ``verdict_scope_for_user`` across
  claims.
* **Invitations.** A project admin offers a role; only the invited account sees and
  answers it (``invitation_get_for_invitee``: 404 for anybody else), and the inviter
  never learns whether the name they typed is an account until it is accepted
  (``invitation_status_for_inviter``). Only superusers add members directly
  (``can_add_members_directly``).
  claims. The reveal is per claim version: after an editor revises a claim, a reviewer is
  blind again until they have judged the new version.
* **Independent verdicts.** ``verdict_is_post_reveal`` says when a verdict is written
  after its reviewer could see others (post-reveal); ``verdicts_counted`` is what automatic
  consensus and agreement statistics rest on: each reviewer's latest blind verdict on the
  claim's current version.
* **Discussion** (issue 18). A comment on a claim is blind like a verdict: its author,
  editors and admins, and reviewers who have judged the claim's current version see it;
  an editor's note (visibility ``everyone``) every member sees. Any member comments;
  only editors post notes; the author or an editor withdraws a comment
  (``comment_scope_for_user``, ``comments_of_claim``, ``comment_get_for_user``).
* **Notifications** reach only members of the notice's project, and a mention only once
  its recipient may see the comment (``notification_scope_for_user``).
* **Scopes of lists** for the admin panel, where superusers see every row and other
  staff the rows of their projects (``staff_scope`` and the ``*_scope_for_user``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as UserModel
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import Http404

from annotations.compiled import CompiledModels
from annotations.core import lifecycle
from annotations.models import (
    DOCUMENT_TEXT_WINDOW_ARGUMENTS,
    Assignment,
    Citation,
    Claim,
    Claimant,
    ClaimantName,
    ClaimLink,
    ClaimPriority,
    ClaimStatus,
    Comment,
    CommentVisibility,
    Consensus,
    Document,
    Event,
    GoldClaim,
    Invitation,
    InvitationStatus,
    Membership,
    Notification,
    Project,
    Reference,
    Role,
    Source,
    SourceSnapshot,
    Verdict,
    WebhookDelivery,
    WebhookEndpoint,
    document_text_window_arguments,
    document_text_window_expression,
)

if TYPE_CHECKING:
    from django.db.models import Model

# Whoever a request carries: an account of the user model (Django's own: the project sets no
# AUTH_USER_MODEL, and the foreign keys to it are typed with it) or the anonymous user.
User = UserModel | AnonymousUser

ROLE_RANK: dict[str, int] = {Role.REVIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}
EDITOR_ROLES = (Role.EDITOR, Role.ADMIN)

NOT_A_MEMBER = "You are not a member of this project."
EDITORS_ONLY = "Only editors and admins can do this."
CREATOR_OR_EDITOR = "Only the claim's creator or an editor can {action} it."
JUDGED_IS_FROZEN = (
    "This claim has verdicts: what was judged is frozen, so its statement, claimant and span "
    "are no longer edited in place. An editor can revise the claim: that records a new "
    "version, keeps every verdict with the version it judged, and returns it to review."
)
PUBLISHED_IS_FINAL = lifecycle.PUBLISHED_IS_FINAL_TEXT
RETRACTED_IS_FINAL = (
    "This fact check was retracted: it stays as it was published, with its retraction "
    "notice, and is no longer edited, revised or re-anchored."
)
WITHDRAWN_IS_FINAL = "This claim is withdrawn; it is no longer edited."
REVISE_RULE = "Only editors and admins can revise a claim."
WITHDRAW_RULE = "Only editors, or the creator before any verdict, can withdraw a claim."
SOURCE_EDIT_RULE = "Only the source's owner, or an editor of its project, can change it."
OPEN_PROJECT = "Opening a project needs the 'Can add project' permission; ask an administrator."


def _needs_role(role: Role) -> str:
    return f"This needs the {Role(role).label.lower()} role in the project."


# --- membership and roles ----------------------------------------------------------------------


def is_active_user(user: User) -> TypeGuard[UserModel]:
    return bool(user.is_authenticated and user.is_active)


def _require_user(user: User) -> UserModel:
    """The active account ``user`` is; Http404 for anonymous or inactive users."""
    if not is_active_user(user):
        raise Http404
    return user


def roles_at_least(role: Role) -> list[str]:
    """The roles that rank at ``role`` or above (for queries)."""
    return [str(other) for other in Role if ROLE_RANK[other] >= ROLE_RANK[role]]


def role_at_least(membership: Membership | None, role: Role) -> bool:
    """Whether ``membership`` holds ``role`` or a higher one (False for no membership)."""
    return membership is not None and ROLE_RANK.get(membership.role, 0) >= ROLE_RANK[role]


def is_editor(membership: Membership | None) -> bool:
    """Editors and admins: they adjudicate, publish, revise texts and see every verdict."""
    return role_at_least(membership, Role.EDITOR)


def membership_get(*, user: User, project_id: int) -> Membership | None:
    """The user's membership of the project, or None (also for anonymous or inactive users)."""
    if not is_active_user(user):
        return None
    return Membership.objects.filter(user=user, project_id=project_id).first()


def membership_require(
    *,
    user: User,
    project_id: int,
    role: Role = Role.REVIEWER,
    lock: bool = False,
    membership: Membership | None = None,
    read: CompiledModels[Membership] | None = None,
) -> Membership:
    """The user's membership, for services (the caller has looked the object up already):
    PermissionDenied when they are not a member, or below ``role``. ``lock`` takes the
    membership row's lock until the transaction ends (to serialize one member's calls).
    ``membership``: the one the caller read with the object (``claim_get_for_user``), so
    that it is not read again (no query; a membership of another user or project is
    ignored and read). ``read``: a ``project_read`` to read it with (its lock and the
    caller's own facts in the same statement); it decides the locking, so ``lock`` and
    ``membership`` are refused with it."""
    if read is not None and (lock or membership is not None):
        raise TypeError(
            "membership_require: read= decides the lock; pass neither lock nor membership"
        )
    if not is_active_user(user):
        raise PermissionDenied(NOT_A_MEMBER)
    if read is not None:
        membership = read.first(user_id=user.pk, pk=project_id)
    elif (
        membership is None
        or lock
        or membership.user_id != user.pk
        or membership.project_id != project_id
    ):
        membership = _MEMBERSHIP_READS[lock].first(user_id=user.pk, project_id=project_id)
    if membership is None:
        raise PermissionDenied(NOT_A_MEMBER)
    if not role_at_least(membership, role):
        raise PermissionDenied(EDITORS_ONLY if role == Role.EDITOR else _needs_role(role))
    return membership


def membership_get_or_404(*, user: User, project_id: int) -> Membership:
    """The user's membership, or Http404 (exports: a non-member learns nothing)."""
    membership = membership_get(user=user, project_id=project_id)
    if membership is None:
        raise Http404
    return membership


def project_admins(*, project: Project) -> QuerySet[Membership]:
    """The project's admin memberships, oldest first, with their users."""
    return (
        Membership.objects.filter(project=project, role=Role.ADMIN)
        .select_related("user")
        .order_by("id")
    )


def roles_by_project(*, user: User) -> dict[int, str]:
    """The user's role in each of their projects (project id → role)."""
    if not is_active_user(user):
        return {}
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


def can_open_project(user: User) -> bool:
    """Projects are opened by people an administrator trusts with it (Django's "Can add
    project" permission): otherwise any account could open a project and probe which
    usernames exist by adding them as members."""
    return is_active_user(user) and user.has_perm("annotations.add_project")


# --- lookups -------------------------------------------------------------------------------


def projects_for_user(*, user: User, role: Role = Role.REVIEWER) -> QuerySet[Project]:
    """The projects where ``user`` holds ``role`` or a higher one."""
    if not is_active_user(user):
        return Project.objects.none()
    return Project.objects.filter(
        pk__in=Membership.objects.filter(user=user, role__in=roles_at_least(role)).values(
            "project_id"
        )
    )


def project_get_for_user(
    *,
    user: User,
    pk: int | None = None,
    slug: str | None = None,
    role: Role = Role.REVIEWER,
    read: CompiledModels[Membership] | None = None,
) -> tuple[Project, Membership]:
    """The project if ``user`` is a member with at least ``role``: Http404 for non-members,
    PermissionDenied for members below ``role``. ``read`` (with ``pk``): a
    ``project_read`` to look it up with (the membership locked, the caller's own facts)."""
    user = _require_user(user)
    if pk is not None:
        membership = (read or _PROJECT_READ_BY_PK).first(user_id=user.pk, pk=pk)
    else:
        lookup = {"project__slug": slug}
        membership = (
            Membership.objects.select_related("project").filter(user=user, **lookup).first()
        )
    if membership is None:
        raise Http404
    _require_role(membership, role)
    return membership.project, membership


def project_read(*, lock: bool = False, **facts: Any) -> CompiledModels[Membership]:
    """The read of a project by id with the caller's membership (``project_get_for_user``,
    ``membership_require``), compiled once (annotations.compiled): build it at import.
    ``lock`` also locks the membership's row (only it) until the transaction ends, as
    ``membership_require(lock=True)`` does; ``facts``: expressions on the membership row
    (``OuterRef("user_id")``, ``OuterRef("project_id")``) the caller needs in the same
    statement, set on the membership. On PostgreSQL a fact is read in the statement's
    snapshot, taken before any wait for the lock: only what may be that old belongs here."""
    return CompiledModels(
        Membership,
        lambda user_id, pk: (
            (
                Membership.objects.select_for_update(of=("self",), no_key=True)
                if lock
                else Membership.objects
            )
            .select_related("project")
            .filter(user_id=user_id, project__pk=pk)
            .annotate(**facts)
            .order_by("pk")[:1]
        ),
        user_id=int,
        pk=int,
    )


# A project with the caller's membership, by id (every API call that names a project).
# ``first()``'s order, by the membership's id.
_PROJECT_READ_BY_PK = project_read()
# The membership row, locked (``membership_require(lock=True)``), and as read otherwise.
_MEMBERSHIP_READS = {
    lock: CompiledModels(
        Membership,
        lambda user_id, project_id, lock=lock: (
            (
                Membership.objects.select_for_update(no_key=True)
                if lock
                else Membership.objects.all()
            )
            .filter(user_id=user_id, project_id=project_id)
            .order_by("pk")[:1]
        ),
        user_id=int,
        project_id=int,
    )
    for lock in (True, False)
}


def _require_role(membership: Membership, role: Role) -> None:
    if not role_at_least(membership, role):
        raise PermissionDenied(_needs_role(role))


def _with_membership[M: (Document, Claim)](queryset: QuerySet[M], user: UserModel) -> QuerySet[M]:
    """``queryset`` (of objects with a ``project``) limited to the user's projects, with
    the user's membership read through the same join: lookup and access check in one query."""
    return queryset.filter(project__memberships__user=user).annotate(
        membership_id=F("project__memberships__id"),
        membership_role=F("project__memberships__role"),
        membership_created_at=F("project__memberships__created_at"),
    )


def _get_with_membership[M: (Document, Claim)](
    template: CompiledModels[M], *, user: UserModel, role: Role, **arguments: Any
) -> tuple[M, Membership]:
    """The row of ``template`` (a ``_with_membership`` read of one document or claim, compiled
    once: ``_DOCUMENT_READS``, ``_CLAIM_READ``) and the user's membership of its project,
    read in one query: Http404 for a non-member, PermissionDenied below ``role``."""
    obj = template.first(user_id=user.pk, **arguments)
    if obj is None:
        raise Http404
    membership = Membership(
        id=obj.membership_id,  # type: ignore[attr-defined]  # annotated by _with_membership
        project=obj.project,
        user=user,
        role=obj.membership_role,  # type: ignore[attr-defined]  # annotated by _with_membership
        created_at=obj.membership_created_at,  # type: ignore[attr-defined]  # annotated by _with_membership
    )
    _require_role(membership, role)
    return obj, membership


def _one_with_membership[M: (Document, Claim)](
    queryset: QuerySet[M], *, pk: int, user_id: int
) -> QuerySet[M]:
    return _with_membership(queryset.filter(pk=pk), UserModel(pk=user_id))[:1]


def _documents(*, with_text: bool) -> QuerySet[Document]:
    queryset = Document.objects.select_related("project")
    return queryset if with_text else queryset.defer("text", "raw_text")


# The reads of one object with the caller's membership, on every API and page request:
# compiled once (annotations.compiled), since building and compiling them took a quarter
# of a claim's creation (bench/bench_peer.py --profile).
_DOCUMENT_READS = {
    with_text: CompiledModels(
        Document,
        lambda pk, user_id, with_text=with_text: _one_with_membership(
            _documents(with_text=with_text), pk=pk, user_id=user_id
        ),
        pk=int,
        user_id=int,
    )
    for with_text in (True, False)
}
# Only the document's row is locked: locking the project's (or the membership's) would
# queue every creation in the project behind one another. ``text[start:end]`` is read in
# the same statement (``locked_window_text``).
_DOCUMENT_LOCKED_READS = {
    with_text: CompiledModels(
        Document,
        lambda pk, user_id, with_text=with_text, **window: _one_with_membership(
            _documents(with_text=with_text)
            .select_for_update(of=("self",), no_key=True)
            .annotate(locked_window_text=document_text_window_expression(**window)),
            pk=pk,
            user_id=user_id,
        ),
        pk=int,
        user_id=int,
        **dict.fromkeys(DOCUMENT_TEXT_WINDOW_ARGUMENTS, int),
    )
    for with_text in (True, False)
}


# A claim with the caller's membership, and the creator (the claim page's byline: an inner
# join), compiled once.
_CLAIM_READ = CompiledModels(
    Claim,
    lambda pk, user_id: _one_with_membership(
        Claim.objects.select_related("project", "document", "created_by").defer(
            "document__text", "document__raw_text"
        ),
        pk=pk,
        user_id=user_id,
    ),
    pk=int,
    user_id=int,
)


def claim_read(
    *, lock: bool = False, facts: Callable[..., dict[str, Any]] | None = None, **arguments: type
) -> CompiledModels[Claim]:
    """A read of a claim by id with the caller's membership, for ``claim_get_for_user(read=…)``
    (the same rule and the same join), compiled once (annotations.compiled): build it at
    import. The claim comes with its project (no byline). ``lock`` also locks the claim's
    row, and only it (``of=("self",)``: locking the project's would queue every write of
    the project behind one row), until the transaction ends: the claim's fields are then
    the locked row's as it is once the lock is held. ``facts(user_id=…, **values)``:
    expressions on the claim (``OuterRef("pk")``, ``OuterRef("project_id")``) the caller
    needs in the same statement, set on the claim; ``arguments``: the types of the values
    they take besides ``user_id`` (given to ``claim_get_for_user``). On PostgreSQL a fact
    is read in the statement's snapshot, taken before any wait for the lock: only what may
    be that old belongs in a locking read."""

    def build(pk: int, user_id: int, **values: Any) -> QuerySet[Claim]:
        queryset = Claim.objects.select_related("project")
        if lock:
            queryset = queryset.select_for_update(of=("self",), no_key=True)
        if facts is not None:
            queryset = queryset.annotate(**facts(user_id=user_id, **values))
        return _one_with_membership(queryset, pk=pk, user_id=user_id)

    return CompiledModels(Claim, build, pk=int, user_id=int, **arguments)


def document_list_for_user(*, user: User, project: Project | None = None) -> QuerySet[Document]:
    queryset = Document.objects.filter(project__in=projects_for_user(user=user))
    if project is not None:
        queryset = queryset.filter(project=project)
    return queryset


def document_get_for_user(
    *,
    user: User,
    pk: int,
    with_text: bool = True,
    role: Role = Role.REVIEWER,
    locked_window: tuple[int, int] | None = None,
) -> tuple[Document, Membership]:
    """The document and the caller's membership: Http404 for non-members, PermissionDenied
    below ``role``. Without ``with_text`` its text is not loaded (read windows instead).

    ``locked_window=(start, end)`` (inside a transaction) also locks the document's row
    until the transaction ends and reads ``text[start:end]`` in the same statement, for a
    service that needs both (``selectors.document_text_window(for_update=True)`` then
    answers from it): a claim's creation costs one query fewer."""
    user = _require_user(user)
    if locked_window is None:
        return _get_with_membership(_DOCUMENT_READS[with_text], pk=pk, user=user, role=role)
    start, end = locked_window
    document, membership = _get_with_membership(
        _DOCUMENT_LOCKED_READS[with_text],
        pk=pk,
        user=user,
        role=role,
        **document_text_window_arguments(start, end),
    )
    document.locked_window = (start, document.locked_window_text)  # type: ignore[attr-defined]
    return document, membership


def claim_list_for_user(*, user: User) -> QuerySet[Claim]:
    return Claim.objects.filter(project__in=projects_for_user(user=user))


def claim_get_for_user(
    *,
    user: User,
    pk: int,
    role: Role = Role.REVIEWER,
    read: CompiledModels[Claim] | None = None,
    **values: Any,
) -> tuple[Claim, Membership]:
    """The claim if ``user`` belongs to its project (Http404 otherwise) with at least
    ``role`` (PermissionDenied otherwise), read in one statement with its project, document
    (no text) and creator. ``read``: a ``claim_read`` to look it up with instead (its lock,
    the caller's facts in the same statement; ``values``: the values its facts take)."""
    if values and read is None:
        raise TypeError("claim_get_for_user: values are for a read= with facts")
    user = _require_user(user)
    return _get_with_membership(read or _CLAIM_READ, pk=pk, user=user, role=role, **values)


# --- rights on one claim -----------------------------------------------------------------------


def claim_is_judged(*, claim: Claim) -> bool:
    """Whether any verdict, of any version, was ever submitted on ``claim``."""
    return Verdict.objects.filter(claim=claim).exists()


def claim_frozen_reason(*, claim: Claim, has_verdicts: bool) -> str | None:
    """Why ``claim``'s statement, claimant and span cannot be changed in place now (None
    when they can): published claims never (corrections come through the publishing
    workflow; retracted ones stay as published), withdrawn claims never, judged claims
    never (an editor revises them)."""
    if claim.status == ClaimStatus.RETRACTED:
        return RETRACTED_IS_FINAL
    if claim.status in lifecycle.PUBLIC:
        return PUBLISHED_IS_FINAL
    if claim.status == ClaimStatus.WITHDRAWN:
        return WITHDRAWN_IS_FINAL
    if has_verdicts:
        return JUDGED_IS_FROZEN
    return None


def claim_creator_or_editor(*, claim: Claim, membership: Membership | None, user: User) -> bool:
    if is_editor(membership):
        return True
    return membership is not None and is_active_user(user) and claim.created_by_id == user.pk


def claim_can_edit(
    *, claim: Claim, membership: Membership | None, user: User, has_verdicts: bool | None = None
) -> bool:
    """Statement, claimant and anchor edits in place: the claim's creator, or an
    editor/admin, and only while nothing froze it (``claim_frozen_reason``: no verdict yet,
    not published, not withdrawn). ``has_verdicts`` when the caller knows it (else read)."""
    if not claim_creator_or_editor(claim=claim, membership=membership, user=user):
        return False
    if has_verdicts is None:
        has_verdicts = claim_is_judged(claim=claim)
    return claim_frozen_reason(claim=claim, has_verdicts=has_verdicts) is None


def claim_edit_require(
    *, claim: Claim, membership: Membership | None, user: User, action: str = "edit"
) -> None:
    """PermissionDenied unless ``user`` is someone who may edit ``claim`` (its creator or an
    editor). Whether the claim's state still allows the edit (``claim_frozen_reason``) is
    the writing service's check, under the claim's lock (a 409, not a 403)."""
    if not claim_creator_or_editor(claim=claim, membership=membership, user=user):
        raise PermissionDenied(CREATOR_OR_EDITOR.format(action=action))


def claim_can_direct(*, membership: Membership | None) -> bool:
    """Directing the queue (a claim's priority and deadline, who reviews it) is the
    editors' call; reviewers see only whether a claim is assigned to them (the list of
    assignees is the desk's business, like the other reviewers' verdicts)."""
    return is_editor(membership)


def claim_can_revise(*, claim: Claim, membership: Membership | None) -> bool:
    """Revising a claim (a new version, back to review): editors and admins, while the
    lifecycle allows it (not published, not withdrawn)."""
    return is_editor(membership) and lifecycle.allowed(claim.status, lifecycle.Action.REVISE)


def claim_revise_require(*, membership: Membership | None) -> None:
    """PermissionDenied unless the member may revise claims (editors and admins)."""
    if not is_editor(membership):
        raise PermissionDenied(REVISE_RULE)


def claim_can_withdraw(
    *, claim: Claim, membership: Membership | None, user: User, has_verdicts: bool
) -> bool:
    """Editors and admins; the claim's creator too, as long as nobody has judged it."""
    if is_editor(membership):
        return True
    return (
        membership is not None
        and is_active_user(user)
        and claim.created_by_id == user.pk
        and not has_verdicts
    )


# --- blind review ------------------------------------------------------------------------------


def can_see_all_verdicts(
    *, membership: Membership | None, claim: Claim, user: User, judged: bool | None = None
) -> bool:
    """Editors and admins always; a reviewer once they have submitted a verdict on the
    claim's current version (``claim_version``). ``judged``: whether they have, when the
    caller already read it (no query then)."""
    if is_editor(membership):
        return True
    if membership is None or not is_active_user(user):
        return False
    if judged is not None:
        return judged
    return Verdict.objects.filter(
        claim=claim, reviewer=user, claim_version=claim.claim_version, calibration=False
    ).exists()


def can_see_consensus(*, claim: Claim, sees_all_verdicts: bool) -> bool:
    """Whether a member sees ``claim``'s consensus records (its outcome and those it
    superseded). Out of review, every member does. While the claim collects verdicts (in
    review or disputed: revised or reopened after a decision), only those who see all its
    verdicts (``sees_all_verdicts``: ``can_see_all_verdicts``, editors and a reviewer who
    judged its current version): an earlier outcome would tell a reviewer still to judge
    it how the desk judged it before."""
    return sees_all_verdicts or claim.status not in (ClaimStatus.IN_REVIEW, ClaimStatus.DISPUTED)


def claim_can_take(
    *, claim: Claim, user: User, judged: bool, skipped: bool, leased: bool = False
) -> bool:
    """Whether "Review this claim" is offered to ``user`` (claim page, reader): in review
    (as shown to them), not theirs, not judged in its current version, skipped or already
    leased by them. The queue's own rules decide when it is taken
    (``services.leases._ineligible_reason``: a full claim answers with the reason)."""
    return (
        claim.status == ClaimStatus.IN_REVIEW
        and claim.created_by_id != user.pk
        and not (judged or skipped or leased)
    )


def claims_judged_by(*, user: User, claims: Sequence[Claim]) -> set[int]:
    """The ids of ``claims`` on whose current version ``user`` has submitted a verdict:
    ``can_see_all_verdicts``'s reviewer rule for many claims in one query (lists that
    show a claim's rating only to editors, those who judged it, or once it is public)."""
    if not claims or not is_active_user(user):
        return set()
    versions = {claim.pk: claim.claim_version for claim in claims}
    return {
        pk
        for pk, version in Verdict.objects.filter(
            claim_id__in=list(versions), reviewer=user, calibration=False
        ).values_list("claim_id", "claim_version")
        if versions[pk] == version
    }


def verdict_is_post_reveal(*, claim: Claim, reviewer: User) -> bool:
    """Whether a verdict ``reviewer`` submits now on ``claim`` is post-reveal: the one
    definition. A reviewer's first verdict on a claim version is blind. A later one (a
    revision) is post-reveal when another reviewer's verdict on that version was already
    there: the reviewer's own verdict had opened the others to them
    (``can_see_all_verdicts``; editors see them anyway). Call it under the claim's lock,
    before writing the verdict."""
    # Calibration verdicts (gold claims) are never seen by, nor show, anyone else's.
    on_version = Verdict.objects.filter(
        claim=claim, claim_version=claim.claim_version, calibration=False
    )
    if not on_version.filter(reviewer_id=reviewer.pk).exists():
        return False
    return on_version.exclude(reviewer_id=reviewer.pk).exists()


def verdict_is_post_reveal_expression(*, reviewer: User) -> ExpressionWrapper[Q]:
    """``verdict_is_post_reveal`` as an expression on a Claim queryset (the same rule), for
    a service that reads it with the claim's other facts in one query."""
    on_version = Verdict.objects.filter(
        claim_id=OuterRef("pk"), claim_version=OuterRef("claim_version"), calibration=False
    )
    return ExpressionWrapper(
        Q(Exists(on_version.filter(reviewer_id=reviewer.pk)))
        & Q(Exists(on_version.exclude(reviewer_id=reviewer.pk))),
        output_field=BooleanField(),
    )


def verdicts_counted(queryset: QuerySet[Verdict] | None = None) -> QuerySet[Verdict]:
    """The verdicts automatic consensus and agreement statistics rest on (of ``queryset``):
    for each claim and reviewer, their latest blind (not post-reveal) verdict on the
    claim's current version. Post-reveal revisions are kept and shown, never counted; nor
    are calibration verdicts on gold claims (they score their reviewer, nothing else)."""
    queryset = Verdict.objects.all() if queryset is None else queryset
    later_blind = Verdict.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer_id=OuterRef("reviewer_id"),
        claim_version=OuterRef("claim_version"),
        post_reveal=False,
        revision__gt=OuterRef("revision"),
    )
    return queryset.filter(
        post_reveal=False, calibration=False, claim_version=F("claim__claim_version")
    ).exclude(Exists(later_blind))


def verdicts_counted_for_reviewer(*, user: User, queryset: QuerySet[Verdict]) -> QuerySet[Verdict]:
    """``verdicts_counted`` as a reviewer's own figures (dashboard, agreement) show them:
    with their own current calibration verdicts, so that their figures move after a gold
    claim exactly as after an ordinary claim in review (gold calibration, issue 18).
    Figures for editors, and consensus, rest on ``verdicts_counted`` alone."""
    counted = verdicts_counted(queryset)
    if not is_active_user(user):
        return counted
    own_calibration = queryset.filter(
        reviewer=user,
        calibration=True,
        is_current=True,
        claim_version=F("claim__claim_version"),
    )
    return counted | own_calibration


def sees_everything(user: User) -> bool:
    """The admin panel's superusers: every row of every project (their writes still go
    through the services, which check membership)."""
    return is_active_user(user) and bool(getattr(user, "is_superuser", False))


def verdict_shown_to_reviewer(
    *, user: User, reviewer_id: int, calibration: bool, claim_judged: bool, claim_masked: bool
) -> bool:
    """One verdict row as ``verdict_scope_for_user`` decides it for a reviewer (not an
    editor), from facts the caller has read for many rows at once: their own verdict; or
    another's ordinary verdict on a claim they have judged (``claims_judged_by``) that does
    not present to them as in review (``gold_masked_ids``)."""
    return reviewer_id == user.pk or (not calibration and claim_judged and not claim_masked)


def verdict_scope_for_user(
    *, user: User, queryset: QuerySet[Verdict] | None = None
) -> QuerySet[Verdict]:
    """Verdicts across claims that ``user`` may see: in their projects, and either their own,
    on claims they have judged themselves, or in projects where they are an editor/admin.
    A calibration verdict (gold claim) neither opens a claim's verdicts to its reviewer nor
    is shown to another reviewer."""
    queryset = Verdict.objects.all() if queryset is None else queryset
    if not is_active_user(user):
        return queryset.none()
    editor_projects = _project_ids(user, Role.EDITOR)
    judged_by_user = Verdict.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer=user,
        claim_version=OuterRef("claim__claim_version"),
        calibration=False,
    )
    return queryset.filter(claim__project_id__in=_project_ids(user, Role.REVIEWER)).filter(
        Q(reviewer=user)
        | Q(claim__project_id__in=editor_projects)
        | Q(Exists(judged_by_user), calibration=False)
    )


def _project_ids(user: UserModel, role: Role) -> QuerySet[Membership, int]:
    return Membership.objects.filter(user=user, role__in=roles_at_least(role)).values_list(
        "project_id", flat=True
    )


def _sources_visible(user: UserModel) -> Q:
    """Sources of the user's projects that they may see: their own (they cited or added
    it), every source of a project where they are an editor, and another member's source
    once a verdict the user may see cites it (``verdict_scope_for_user``: blind review)."""
    visible = verdict_scope_for_user(user=user).values("id")
    return Q(project_id__in=_project_ids(user, Role.REVIEWER)) & (
        Q(created_by=user)
        | Q(project_id__in=_project_ids(user, Role.EDITOR))
        | Q(Exists(Citation.objects.filter(source_id=OuterRef("pk"), verdict_id__in=visible)))
    )


def sources_for_user(*, user: User, project_id: int | None = None) -> QuerySet[Source]:
    """The sources ``user`` may see (see ``_sources_visible``), optionally of one project."""
    if not is_active_user(user):
        return Source.objects.none()
    queryset = Source.objects.filter(_sources_visible(user))
    return queryset if project_id is None else queryset.filter(project_id=project_id)


def source_get_for_user(*, user: User, pk: int) -> Source:
    """A source the user may see (``sources_for_user``); Http404 otherwise, exactly as for
    an id that does not exist."""
    user = _require_user(user)
    source = sources_for_user(user=user).filter(pk=pk).first()
    if source is None:
        raise Http404
    return source


def source_for_citation(*, user: User, pk: int, project_id: int) -> Source | None:
    """The source ``pk`` if ``user`` may name it by id in a citation on a claim of
    ``project_id``: a source of that project they may see. None otherwise, exactly as for
    an id that does not exist, so an id never reveals what another project, or a reviewer
    still blind to the user, cited."""
    return sources_for_user(user=user, project_id=project_id).filter(pk=pk).first()


def source_can_edit(*, user: User, source: Source) -> bool:
    """Changing a source's description (title, publisher, dates; never its URL): its owner
    while they are a member of its project, or an editor of that project."""
    membership = membership_get(user=user, project_id=source.project_id)
    if membership is None:
        return False
    return is_editor(membership) or source.created_by_id == membership.user_id


def source_edit_require(*, user: User, source: Source) -> None:
    """PermissionDenied unless ``user`` may change ``source``'s description (``source_can_edit``)."""
    if not source_can_edit(user=user, source=source):
        raise PermissionDenied(SOURCE_EDIT_RULE)


def snapshot_get_for_user(*, user: User, pk: int) -> SourceSnapshot:
    """A snapshot of a source the user may see (``sources_for_user``): a snapshot is
    visible exactly where its source is, so blind review and projects hold for archived
    copies too. Http404 otherwise, exactly as for an id that does not exist."""
    user = _require_user(user)
    snapshot = (
        SourceSnapshot.objects.filter(pk=pk, source__in=sources_for_user(user=user))
        .select_related("source")
        .first()
    )
    if snapshot is None:
        raise Http404
    return snapshot


def snapshot_request_require(*, user: User, source: Source) -> None:
    """PermissionDenied unless ``user`` may ask for a new snapshot of ``source``: whoever
    may change its description (its owner, an editor of its project)."""
    source_edit_require(user=user, source=source)


# --- gold calibration (issue 18) ---------------------------------------------------------------
#
# Editors mark decided claims as gold; the queue serves them to reviewers as ordinary claims
# in review. The one rule: to a plain reviewer who has not judged it for real, a resolved
# gold claim *presents* as an ordinary claim in review: status ``in_review``, no consensus
# (``claims_present_for`` masks the loaded rows, never the database). Editors and admins
# see it as it is, with its gold mark. Every reviewer-facing read of claims (API, pages,
# htmx fragments, exports) passes its rows through ``claims_present_for``; it costs the
# same one query whether or not any claim is gold, so the timing says nothing either.

GOLD_RULE = "Only editors and admins can mark gold claims."


def gold_masked_ids(*, user: User, claim_ids: Sequence[int]) -> set[int]:
    """The ids of ``claim_ids`` that present as in review to ``user`` (see above): resolved
    gold claims of projects where ``user`` is a plain reviewer, without a verdict of theirs
    (other than a calibration verdict) on the claim's current version."""
    if not claim_ids or not is_active_user(user):
        return set()
    judged = Verdict.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer=user,
        claim_version=OuterRef("claim__claim_version"),
        calibration=False,
    )
    return set(
        GoldClaim.objects.filter(
            claim_id__in=list(claim_ids),
            claim__status=ClaimStatus.RESOLVED,
            project_id__in=Membership.objects.filter(user=user, role=Role.REVIEWER).values(
                "project_id"
            ),
        )
        # Its creator is never served it, and was told when it was decided: not masked.
        .exclude(claim__created_by=user)
        .exclude(Exists(judged))
        .order_by()
        .values_list("claim_id", flat=True)
    )


# What a masked gold claim shows instead of its own values (``claim_present``; the admin
# panel's and the API's filters find it under these: ``claim_field_presented_q``).
PRESENTED: dict[str, object] = {
    "status": ClaimStatus.IN_REVIEW,
    "priority": ClaimPriority.NORMAL,
    "due_at": None,
}


def claim_present(claim: Claim) -> None:
    """Present ``claim`` (a loaded row, never saved afterwards) as an ordinary claim in
    review: the status and consensus a reviewer sees on a claim still collecting verdicts."""
    claim.consensus_id = None
    # The queue passes a gold claim over by its own order: shown with the editors' urgency
    # or deadline, a claim the queue never offers would stand out (the outside probe).
    for name, value in PRESENTED.items():
        setattr(claim, name, value)
    # A claim in review is saved again (``updated_at``) when its words, span, schedule or
    # status change; a gold claim's resolution, mark and schedule are not shown, so neither
    # is the time they moved (the outside probe): it shows its creation time, as a claim
    # whose words were never edited does (``models.UpdatedAtField``: the same value).
    if not {"created_at", "updated_at"} & claim.get_deferred_fields():
        claim.updated_at = claim.created_at
    claim.gold_masked = True  # type: ignore[attr-defined]  # read by the presenters
    if hasattr(claim, "current_consensus"):
        claim.current_consensus = []  # a prefetch's to_attr


def claims_present_for[C: Claim](
    *, user: User, claims: Sequence[C], membership: Membership | None = None
) -> Sequence[C]:
    """``claims`` as ``user`` may see them: gold claims masked (``gold_masked_ids``); each
    claim's ``gold_masked`` says which were. ``membership`` (claims of one project, when
    the caller has it): an editor's claims are never masked, so no query is needed."""
    # Only a resolved claim can be masked (``gold_masked_ids``' own rule): with none among
    # them, no query.
    resolved = [claim.pk for claim in claims if claim.status == ClaimStatus.RESOLVED]
    masked = set() if is_editor(membership) else gold_masked_ids(user=user, claim_ids=resolved)
    for claim in claims:
        if claim.pk in masked:
            claim_present(claim)
        else:
            claim.gold_masked = False  # type: ignore[attr-defined]  # read by the presenters
    return claims


def _gold_masked_q(user: UserModel) -> Q:
    """``gold_masked_ids`` as a filter on claims (for lists filtered or counted by status)."""
    return (
        Q(
            Exists(
                GoldClaim.objects.filter(
                    claim_id=OuterRef("pk"),
                    project_id__in=Membership.objects.filter(user=user, role=Role.REVIEWER).values(
                        "project_id"
                    ),
                )
            ),
            status=ClaimStatus.RESOLVED,
        )
        & ~Q(created_by=user)
        & ~Q(
            Exists(
                Verdict.objects.filter(
                    claim_id=OuterRef("pk"),
                    reviewer=user,
                    claim_version=OuterRef("claim_version"),
                    calibration=False,
                )
            )
        )
    )


def claim_field_presented_q(*, user: User, field: str, value: object) -> Q:
    """A filter on claims by a field's value as ``user`` is shown it (``claims_present_for``:
    ``PRESENTED`` for a masked gold claim), for lists filtered by status or priority: a
    masked gold claim is found under its shown value only."""
    wanted = Q(**{field: value})
    if not is_active_user(user):
        return wanted
    masked = _gold_masked_q(user)
    if str(PRESENTED[field]) == str(value):
        return wanted | masked
    return wanted & ~masked


def claim_status_presented_q(*, user: User, status: str) -> Q:
    """``claim_field_presented_q`` on the status (lists filtered by status)."""
    return claim_field_presented_q(user=user, field="status", value=status)


def claim_gold_masked(*, user: User) -> Case:
    """Whether a claim presents to ``user`` as in review (``gold_masked_ids``), as a boolean
    expression (the streamed project export)."""
    if not is_active_user(user):
        return Case(default=Value(False))
    return Case(When(_gold_masked_q(user), then=Value(True)), default=Value(False))


def claim_status_presented(*, user: User) -> Case:
    """The status ``user`` is shown, as an expression (counts by status on the dashboard)."""
    if not is_active_user(user):
        return Case(default=F("status"))
    return Case(When(_gold_masked_q(user), then=Value(ClaimStatus.IN_REVIEW)), default=F("status"))


def gold_manage_require(*, user: User, project_id: int) -> Membership:
    """Editors and admins mark and unmark gold claims and read calibration verdicts."""
    membership = membership_require(user=user, project_id=project_id)
    if not is_editor(membership):
        raise PermissionDenied(GOLD_RULE)
    return membership


# --- invitations ---------------------------------------------------------------------------

INVITATION_CLOSED = "This invitation is no longer open."
DIRECT_ADD_RULE = (
    "Not a member of this project: invite them instead "
    "(POST /api/v1/projects/{id}/invitations/); they become a member when they accept."
)


def can_add_members_directly(user: User) -> bool:
    """Adding an account to a project without its consent (and learning whether a username
    exists) is for superusers (trusted operators) and the management commands; project
    admins invite (issue 13, finding 5a) and change the roles of existing members."""
    return sees_everything(user)


def invitation_is_open(invitation: Invitation, *, at: dt.datetime) -> bool:
    return invitation.status == InvitationStatus.PENDING and invitation.expires_at > at


def invitations_for_invitee(*, user: User, at: dt.datetime) -> QuerySet[Invitation]:
    """The open invitations addressed to ``user``'s account, newest first."""
    if not is_active_user(user):
        return Invitation.objects.none()
    return Invitation.objects.filter(
        invitee=user, status=InvitationStatus.PENDING, expires_at__gt=at
    ).select_related("project", "invited_by")


def invitation_get_for_invitee(*, user: User, pk: int) -> Invitation:
    """An invitation addressed to ``user`` (in any state); Http404 for anybody else's,
    exactly as for an id that does not exist."""
    user = _require_user(user)
    invitation = Invitation.objects.select_related("project").filter(pk=pk, invitee=user).first()
    if invitation is None:
        raise Http404
    return invitation


def invitations_of_project(*, project: Project) -> QuerySet[Invitation]:
    """A project's invitations for its admins (who looked the project up with the admin
    role), newest first."""
    return Invitation.objects.filter(project=project).select_related("invited_by")


def invitation_get_for_admin(*, user: User, project_pk: int, pk: int) -> Invitation:
    """An invitation of a project where ``user`` is an admin: Http404 for non-members (and
    other projects' ids), PermissionDenied below admin."""
    project, _ = project_get_for_user(user=user, pk=project_pk, role=Role.ADMIN)
    invitation = invitations_of_project(project=project).filter(pk=pk).first()
    if invitation is None:
        raise Http404
    return invitation


def invitation_status_for_inviter(invitation: Invitation, *, at: dt.datetime) -> str:
    """The state a project admin sees: accepted, revoked, expired or pending. A decline
    reads as pending (then expired): it would tell the inviter that the name is an account,
    which only the invitee's acceptance may do."""
    if invitation.status in (InvitationStatus.ACCEPTED, InvitationStatus.REVOKED):
        return invitation.status
    if invitation.expires_at <= at:
        return "expired"
    return InvitationStatus.PENDING


def invitation_scope_for_user(
    *, user: User, queryset: QuerySet[Invitation]
) -> QuerySet[Invitation]:
    """The admin panel: invitations of the projects where ``user`` is an admin."""
    return staff_scope(queryset, user=user, role=Role.ADMIN)


# --- scopes of lists (the admin panel) -------------------------------------------------------


def staff_projects(*, user: User, role: Role = Role.REVIEWER) -> QuerySet[Project]:
    """Every project for a superuser; else the projects where ``user`` holds ``role``."""
    if sees_everything(user):
        return Project.objects.all()
    return projects_for_user(user=user, role=role)


def staff_scope[M: Model](
    queryset: QuerySet[M], *, user: User, path: str = "project", role: Role = Role.REVIEWER
) -> QuerySet[M]:
    """``queryset`` limited to rows whose ``path`` project is one of ``staff_projects``."""
    if sees_everything(user):
        return queryset
    return queryset.filter(**{f"{path}__in": projects_for_user(user=user, role=role)})


def staff_may_write(*, user: User, obj: Model | None, role: Role, path: str = "project") -> bool:
    """Whether ``user`` holds ``role`` in the project of ``obj`` (``path`` names it)."""
    if obj is None or sees_everything(user):
        return True
    *through, last = path.split("__")
    for part in through:
        obj = getattr(obj, part)
    project_id = getattr(obj, f"{last}_id")
    return projects_for_user(user=user, role=role).filter(pk=project_id).exists()


def verdict_staff_scope(*, user: User, queryset: QuerySet[Verdict]) -> QuerySet[Verdict]:
    return (
        queryset if sees_everything(user) else verdict_scope_for_user(user=user, queryset=queryset)
    )


def citation_scope_for_user(*, user: User, queryset: QuerySet[Citation]) -> QuerySet[Citation]:
    """Citations of verdicts the user may see (blind review)."""
    if sees_everything(user):
        return queryset
    return queryset.filter(verdict_id__in=verdict_scope_for_user(user=user).values("id"))


def source_scope_for_user(*, user: User, queryset: QuerySet[Source]) -> QuerySet[Source]:
    """The sources ``user`` may see (``sources_for_user``): not what another project, or a
    co-reviewer they are still blind to, cited."""
    if sees_everything(user):
        return queryset
    if not is_active_user(user):
        return queryset.none()
    return queryset.filter(_sources_visible(user))


def assignment_scope_for_user(
    *, user: User, queryset: QuerySet[Assignment]
) -> QuerySet[Assignment]:
    """Who leased, skipped or submitted a claim is the editors' to see; a reviewer sees only
    their own queue entries."""
    if sees_everything(user):
        return queryset
    if not is_active_user(user):
        return queryset.none()
    return queryset.filter(
        Q(project_id__in=_project_ids(user, Role.EDITOR))
        | Q(reviewer=user, project_id__in=_project_ids(user, Role.REVIEWER))
    )


def consensus_scope_for_user(*, user: User, queryset: QuerySet[Consensus]) -> QuerySet[Consensus]:
    """A consensus names the verdicts it rests on, so reviewers see it only on claims they
    have judged themselves; editors and admins see their projects'."""
    if sees_everything(user):
        return queryset
    if not is_active_user(user):
        return queryset.none()
    judged = Verdict.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer=user,
        claim_version=OuterRef("claim__claim_version"),
        calibration=False,
    )
    return queryset.filter(
        Q(claim__project_id__in=_project_ids(user, Role.EDITOR))
        | Q(Exists(judged), claim__project_id__in=_project_ids(user, Role.REVIEWER))
    )


def event_scope_for_user(*, user: User, queryset: QuerySet[Event]) -> QuerySet[Event]:
    """Events carry verdicts' before/after, so only editors and admins read their projects'
    audit trail."""
    if sees_everything(user):
        return queryset
    if not is_active_user(user):
        return queryset.none()
    return queryset.filter(project_id__in=_project_ids(user, Role.EDITOR))


# --- claimants ---------------------------------------------------------------------------------

CLAIMANTS_RULE = "Only editors and admins can change the claimant registry."


def claimant_get_for_user(
    *, user: User, pk: int, role: Role = Role.REVIEWER
) -> tuple[Claimant, Membership]:
    """A claimant of the registry and the caller's membership of its project: Http404 for
    non-members, PermissionDenied below ``role``. Every member may read the registry: it holds names
    the project's claims already show to every member."""
    user = _require_user(user)
    claimant = Claimant.objects.select_related("project", "merged_into").filter(pk=pk).first()
    if claimant is None:
        raise Http404
    membership = membership_get(user=user, project_id=claimant.project_id)
    if membership is None:
        raise Http404
    if not role_at_least(membership, role):
        raise PermissionDenied(CLAIMANTS_RULE if role == Role.EDITOR else _needs_role(role))
    return claimant, membership


def claimant_manage_require(*, user: User, project_id: int) -> Membership:
    """Editors and admins change the registry (create, rename, aliases, merge)."""
    membership = membership_require(user=user, project_id=project_id)
    if not is_editor(membership):
        raise PermissionDenied(CLAIMANTS_RULE)
    return membership


def claimant_scope_for_user[M: (Claimant, ClaimantName)](
    *, user: User, queryset: QuerySet[M]
) -> QuerySet[M]:
    """The admin panel's list: the registries of the user's projects."""
    if sees_everything(user):
        return queryset
    if not is_active_user(user):
        return queryset.none()
    return queryset.filter(project_id__in=_project_ids(user, Role.REVIEWER))


# --- webhooks ------------------------------------------------------------------------------------


def webhook_endpoints_of_project(*, project: Project) -> QuerySet[WebhookEndpoint]:
    """A project's webhook endpoints, for its admins (who looked the project up with the
    admin role), oldest first."""
    return WebhookEndpoint.objects.filter(project=project).order_by("id")


def webhook_endpoint_get_for_admin(*, user: User, project_pk: int, pk: int) -> WebhookEndpoint:
    """An endpoint of a project where ``user`` is an admin: Http404 for non-members (and
    other projects' ids), PermissionDenied below admin."""
    project, _ = project_get_for_user(user=user, pk=project_pk, role=Role.ADMIN)
    endpoint = webhook_endpoints_of_project(project=project).filter(pk=pk).first()
    if endpoint is None:
        raise Http404
    return endpoint


def webhook_delivery_get_for_admin(
    *, user: User, project_pk: int, endpoint_pk: int, pk: int
) -> WebhookDelivery:
    """A delivery of an endpoint of a project where ``user`` is an admin (as above)."""
    endpoint = webhook_endpoint_get_for_admin(user=user, project_pk=project_pk, pk=endpoint_pk)
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint, pk=pk).first()
    if delivery is None:
        raise Http404
    return delivery


def webhook_scope_for_user[M: (WebhookEndpoint, WebhookDelivery)](
    *, user: User, queryset: QuerySet[M]
) -> QuerySet[M]:
    """The admin panel: webhooks of the projects where ``user`` is an admin."""
    return staff_scope(queryset, user=user, role=Role.ADMIN)


# --- finding claims (issue 17): references and links ------------------------------------------
#
# A project's references are its desk's archive (and other publishers' fact checks it
# imported): every member reads them and searches them (matching is how a reviewer learns
# a claim was checked before); editors and admins add them. They are not public: a desk's
# archive may hold unpublished work, and published fact checks are public on their own
# sites already. A claim's links are set by the claim's creator or an editor
# (``claim_creator_or_editor``); what an earlier claim's link shows of its verdicts follows
# blind review (``selectors.matching.claim_links_for_user``).

REFERENCES_WRITE_ROLE = Role.EDITOR


def claim_link_get_for_user(
    *, user: User, claim_pk: int, pk: int
) -> tuple[Claim, Membership, ClaimLink]:
    """A link of a claim the user may see (Http404 otherwise, as for an id that does not
    exist), with the claim and the user's membership."""
    claim, membership = claim_get_for_user(user=user, pk=claim_pk)
    link = ClaimLink.objects.filter(claim=claim, pk=pk).first()
    if link is None:
        raise Http404
    return claim, membership, link


def reference_get_in_project(*, project_id: int, pk: int) -> Reference | None:
    """A reference of ``project_id`` (a claim links only to its own project's)."""
    return Reference.objects.filter(project_id=project_id, pk=pk).defer("vector").first()


def link_target_claim_in_project(*, project_id: int, pk: int) -> Claim | None:
    """A claim of ``project_id`` that is not withdrawn (a link's earlier claim)."""
    return (
        Claim.objects.filter(project_id=project_id, pk=pk)
        .exclude(status=ClaimStatus.WITHDRAWN)
        .first()
    )


# --- discussion and notifications (issue 18) ---------------------------------------------------

NOTES_ARE_EDITORS = "Only editors and admins post notes visible to everyone."
WITHDRAW_COMMENT_RULE = "Only the comment's author or an editor can withdraw it."


def _comments_visible(user: UserModel) -> Q:
    """The blind rule for comments, across claims: in the user's projects, and either an
    editor's note to everyone, the user's own, any in a project where they are an editor,
    or one on a claim whose current version they have judged (``can_see_all_verdicts``)."""
    judged = Verdict.objects.filter(
        claim_id=OuterRef("claim_id"),
        reviewer=user,
        claim_version=OuterRef("claim__claim_version"),
        calibration=False,  # as can_see_all_verdicts: a calibration verdict reveals nothing
    )
    return Q(project_id__in=_project_ids(user, Role.REVIEWER)) & (
        Q(author=user)
        | Q(project_id__in=_project_ids(user, Role.EDITOR))
        | (
            (
                (
                    Q(visibility=CommentVisibility.EVERYONE)
                    & ~Q(_gold_masked(OuterRef("claim_id"), user))
                )
                | Q(Exists(judged))
            )
            & ~Q(Exists(_calibrating_author(OuterRef("claim_id"))))
        )
    )


def _gold_masked(claim_id: Any, user: UserModel) -> Exists:
    """The claim presents to ``user`` as an ordinary claim in review (``_gold_masked_q``):
    the editors' notes, written while it was being decided, are not shown to them."""
    return Exists(Claim.objects.filter(pk=claim_id).filter(_gold_masked_q(user)))


def _calibrating_author(claim_id: Any) -> QuerySet[Assignment]:
    """The comment's author was served the claim as a gold claim (a calibration lease): their
    comments are theirs and the editors' only, like their calibration verdict, so the
    claim's real reviewers do not learn it is being served again."""
    return Assignment.objects.filter(
        claim_id=claim_id, reviewer_id=OuterRef("author_id"), calibration=True
    )


def comment_scope_for_user(*, user: User, queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    """The comments ``user`` may read (``_comments_visible``); the admin panel's superusers
    read every one. Exports and the admin panel use this; a claim's thread uses
    ``comments_of_claim``."""
    if sees_everything(user):
        return queryset
    if not is_active_user(user):
        return queryset.none()
    return queryset.filter(_comments_visible(user))


def comments_of_claim(
    *, claim: Claim, user: User, others_visible: bool | None = None, membership: Membership | None
) -> QuerySet[Comment]:
    """The thread of ``claim`` as ``user`` (a member, looked up with the claim) may read it:
    every comment once they see every verdict (``can_see_all_verdicts``; pass
    ``others_visible`` when the caller knows it), else notes to everyone and their own."""
    queryset = Comment.objects.filter(claim=claim)
    if not is_active_user(user) or membership is None:
        return queryset.none()
    if is_editor(membership):
        return queryset
    if others_visible is None:
        others_visible = can_see_all_verdicts(membership=membership, claim=claim, user=user)
    if others_visible:
        return queryset.filter(Q(author=user) | ~Q(Exists(_calibrating_author(claim.pk))))
    return queryset.filter(
        Q(author=user)
        | (Q(visibility=CommentVisibility.EVERYONE) & ~Q(_gold_masked(claim.pk, user)))
    )


def comment_visibility_require(*, membership: Membership, visibility: str) -> None:
    """Notes to everyone are the editors'; ValidationError on ``visibility`` otherwise (a
    reviewer's comment is always blind)."""
    if visibility == CommentVisibility.EVERYONE and not is_editor(membership):
        raise ValidationError({"visibility": [NOTES_ARE_EDITORS]})


def comment_get_for_user(
    *, user: User, claim_pk: int, pk: int
) -> tuple[Claim, Membership, Comment]:
    """A comment of a claim the user may read (Http404 otherwise, as for an id that does not
    exist), with the claim and the user's membership."""
    claim, membership = claim_get_for_user(user=user, pk=claim_pk)
    comment = comments_of_claim(claim=claim, user=user, membership=membership).filter(pk=pk).first()
    if comment is None:
        raise Http404
    return claim, membership, comment


def comment_can_withdraw(*, comment: Comment, membership: Membership | None, user: User) -> bool:
    """The author (while a member) or an editor of the project."""
    if membership is None or not is_active_user(user):
        return False
    return is_editor(membership) or comment.author_id == user.pk


def comment_withdraw_require(*, comment: Comment, membership: Membership, user: User) -> None:
    if not comment_can_withdraw(comment=comment, membership=membership, user=user):
        raise PermissionDenied(WITHDRAW_COMMENT_RULE)


def notification_scope_for_user(
    *, user: User, queryset: QuerySet[Notification] | None = None
) -> QuerySet[Notification]:
    """``user``'s own notifications of the projects they belong to now; a mention only
    while its comment is one they may read (blind review, not withdrawn)."""
    queryset = Notification.objects.all() if queryset is None else queryset
    if not is_active_user(user):
        return queryset.none()
    readable = Comment.objects.filter(_comments_visible(user), withdrawn_at__isnull=True)
    return queryset.filter(recipient=user, project_id__in=_project_ids(user, Role.REVIEWER)).filter(
        Q(comment__isnull=True) | Q(comment_id__in=readable.values("id"))
    )


def notification_get_for_user(*, user: User, pk: int) -> Notification:
    """One of ``user``'s notifications (``notification_scope_for_user``); Http404 otherwise."""
    user = _require_user(user)
    notification = notification_scope_for_user(user=user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification


def notification_staff_scope(
    *, user: User, queryset: QuerySet[Notification]
) -> QuerySet[Notification]:
    """The admin panel: superusers see every notification, other staff their own."""
    if sees_everything(user):
        return queryset
    return notification_scope_for_user(user=user, queryset=queryset)
