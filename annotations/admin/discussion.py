"""Claim discussions and notifications (issue 18), read-only: comments are written and
withdrawn on the claim page and through the API (audited services). Comments obey blind
review here too (``access.comment_scope_for_user``): a staff user who is only a reviewer
in a project reads other reviewers' comments on a claim once they have judged it.
Notifications: superusers see every one, other staff their own, each naming who acted only
as the notice itself does (a status notice names nobody)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin
from annotations.core.discussion import notification_actor
from annotations.models import Comment, Notification, NotificationSettings


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "claim", "author", "visibility", "created_at", "withdrawn_at", "project"]
    list_filter = ["visibility", ("project", ONLY_VISIBLE)]
    search_fields = ["body", "author__username"]
    list_select_related = ["author", "project", "claim"]
    raw_id_fields = ["claim"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return access.comment_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "recipient", "kind", "claim", "shown_actor", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["recipient__username", "key"]
    list_select_related = ["recipient", "actor", "claim"]
    raw_id_fields = ["claim", "comment"]
    readonly_fields = ["shown_actor"]

    @admin.display(description="actor")
    def shown_actor(self, obj: Notification) -> str:
        """Who acted, as the notice shows them (``core.discussion.notification_actor``): a
        status notice names nobody, so a claim's creator does not learn here either which
        reviewer's verdict decided it (blind review)."""
        name = obj.actor.get_username() if obj.actor is not None else None
        return notification_actor(kind=obj.kind, actor=name) or "-"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        """The row's fields with the actor as the notice shows them, not the stored one."""
        fields = [f for f in super().get_fields(request, obj) if f not in ("actor", "shown_actor")]
        return [*fields, "shown_actor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return access.notification_staff_scope(
            user=request.user, queryset=super().get_queryset(request)
        )


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "email_enabled", "updated_at"]
    list_filter = ["email_enabled"]
    search_fields = ["user__username"]
    list_select_related = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationSettings]:
        queryset = super().get_queryset(request)
        return (
            queryset if access.sees_everything(request.user) else queryset.filter(user=request.user)
        )
