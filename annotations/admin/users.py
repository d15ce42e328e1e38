"""Users: django.contrib.auth's admin, with deletes that go through the members services,
and "Sign out everywhere" (every API token revoked, every session ended) through
``services.sign_out_everywhere``. Knox's token admin is not offered: it would make tokens
outside the services (no event, the secret in a message); tokens are the users' own, made
and revoked on their token page or through the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as AuthGroupAdmin
from django.contrib.auth.admin import UserAdmin as AuthUserAdmin
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from knox.models import AuthToken

from annotations import services
from annotations.admin.tenancy import AsciiNumbersMixin, last_admin_refusals
from annotations.models import Membership

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AsciiNumbersMixin, AuthGroupAdmin):
    """django.contrib.auth's group admin, its permissions picked by ids in ASCII digits."""


@admin.register(User)
class UserAdmin(AsciiNumbersMixin, AuthUserAdmin):
    """django.contrib.auth's user admin, with deletes that go through the members
    services: a user's memberships would otherwise vanish by cascade, without the
    last-admin rule, its lock or a ``member.remove`` event.

    The "Sign out everywhere" action, for staff who may change users, revokes the selected
    users' API tokens and ends their sessions (a ``user.sign_out_everywhere`` event each);
    the acting user's own current session stays."""

    actions = ["sign_out_everywhere"]

    @admin.action(
        description="Sign out everywhere (revoke API tokens, end sessions)",
        permissions=["change"],
    )
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        tokens = sessions = 0
        users = list(queryset.order_by("pk"))
        for user in users:
            keep = request.session.session_key if user.pk == request.user.pk else None
            report = services.sign_out_everywhere(
                user=user, actor=request.user, keep_session_key=keep
            )
            tokens += report.tokens_revoked
            sessions += report.sessions_ended
        self.message_user(
            request,
            f"Signed {len(users)} user(s) out everywhere: {tokens} API token(s) revoked, "
            f"{sessions} session(s) ended.",
            messages.SUCCESS,
        )

    def get_deleted_objects(
        self, objs: Iterable[AbstractBaseUser], request: HttpRequest
    ) -> tuple[Any, Any, Any, list[str]]:
        """A user who is some project's last admin is listed as protected, with the
        reason, so the confirmation page offers no "Yes"."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        users = [user.pk for user in objs]
        memberships = Membership.objects.filter(user_id__in=users).select_related("project")
        protected = [*protected, *last_admin_refusals(memberships)]
        if request.user.pk in users and memberships:
            # The member.remove events name the deleting user, whom they would then keep
            # from being deleted (Event.actor is protected): another superuser does it.
            protected.append(
                "Your own account: you are a project member; ask another superuser to delete it."
            )
        return deleted, counts, perms_needed, protected

    def _remove_memberships(self, request: HttpRequest, users: Iterable[Any]) -> None:
        for membership in Membership.objects.filter(user__in=users).order_by("project_id", "pk"):
            services.member_remove(membership=membership, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: AbstractBaseUser) -> None:
        with transaction.atomic():
            self._remove_memberships(request, [obj])
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            self._remove_memberships(request, queryset)
            super().delete_queryset(request, queryset)
