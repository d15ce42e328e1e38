"""Invitations (issue 13, finding 5a): read-only here. Project admins invite through the
API or the project's members page, and only the invited account accepts; superusers add
members directly on the project and membership pages.

Staff see the invitations of the projects they administer, as the inviter sees them: the
name typed and the state, never whether it named an account (a decline reads as pending).
Superusers see every invitation with its invitee and true state."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access, services
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin
from annotations.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "invited_as",
        "project",
        "role",
        "state",
        "invited_by",
        "created_at",
        "expires_at",
    ]
    list_filter = ["role", ("project", ONLY_VISIBLE)]
    search_fields = ["invited_as", "project__name"]
    list_select_related = ["project", "invited_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        return access.invitation_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    def get_fields(self, request: HttpRequest, obj: Invitation | None = None) -> list[str]:
        fields = [
            "project",
            "invited_as",
            "role",
            "state",
            "invited_by",
            "created_at",
            "expires_at",
        ]
        if access.sees_everything(request.user):
            fields += ["invitee", "status", "responded_at"]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Invitation | None = None) -> list[str]:
        return self.get_fields(request, obj)

    @admin.display(description="state")
    def state(self, obj: Invitation) -> str:
        return access.invitation_status_for_inviter(obj, at=services.now())
