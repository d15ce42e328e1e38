"""The audit trail: every service records an Event in its own transaction. Append-only,
so read-only here (each event is a link of its project's hash chain: seq, prev_hash,
hash); only editors and admins of a project read its events (they carry verdicts'
before/after), superusers all of them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin
from annotations.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor", "verb", "object_type", "object_id", "project", "seq"]
    list_filter = ["verb", "object_type", ("project", ONLY_VISIBLE)]
    search_fields = ["verb", "actor__username"]
    list_select_related = ["actor", "project"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return access.event_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )
