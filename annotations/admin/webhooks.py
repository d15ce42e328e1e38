"""Webhooks (issue 15): read-mostly. Endpoints are made, changed and rotated through the
API (the secret is shown only in the answer that makes it; never here); the panel lists
endpoints and deliveries with their log for the projects a staff user administers, and
replays deliveries (``services.webhook_replay``, refused row by row as the service says)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access, services
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin, ReadOnlyInline, refusal
from annotations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["url", "project", "active", "subscribed", "created_by", "created_at"]
    list_filter = ["active", ("project", ONLY_VISIBLE)]
    search_fields = ["url", "description", "project__name"]
    list_select_related = ["project", "created_by"]
    # Never the secret.
    fields = [
        "project",
        "url",
        "description",
        "event_types",
        "active",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        return access.webhook_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    @admin.display(description="events")
    def subscribed(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types or [])


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "finished_at", "status_code", "error", "outcome"]
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", ("project", ONLY_VISIBLE)]
    search_fields = ["message_id", "endpoint__url"]
    list_select_related = ["endpoint", "project"]
    fields = [
        "project",
        "endpoint",
        "event_type",
        "message_id",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_until",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["replay_deliveries"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return access.webhook_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    def has_replay_permission(self, request: HttpRequest) -> bool:
        # Offered to staff; the service checks the project admin role delivery by delivery.
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description="Replay the selected deliveries", permissions=["replay"])
    def replay_deliveries(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        done, refused = 0, []
        for delivery in queryset.order_by("pk"):
            try:
                services.webhook_replay(delivery=delivery, actor=request.user)
                done += 1
            except (PermissionDenied, ValidationError, services.QueueConflict) as exc:
                refused.append(f"#{delivery.pk}: {refusal(exc)}")
        if done:
            self.message_user(
                request, f"Replayed: {done} deliver{'y' if done == 1 else 'ies'}.", messages.SUCCESS
            )
        for line in refused:
            self.message_user(request, f"Not replayed: {line}", messages.WARNING)
