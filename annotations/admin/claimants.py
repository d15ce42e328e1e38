"""The claimant registry: read-only here (names, aliases, merges are changed on the
claimant pages and through the API, by editors, through ``services.claimants``); staff see
the registries of the projects they belong to (superusers all)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin, ReadOnlyInline
from annotations.models import Claimant, ClaimantName


class ClaimantNameInline(ReadOnlyInline):
    model = ClaimantName
    fk_name = "claimant"
    fields = ["name", "key", "is_primary", "created_by", "created_at"]
    readonly_fields = fields


@admin.register(Claimant)
class ClaimantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "project", "merged_into", "created_at"]
    list_filter = ["kind", ("project", ONLY_VISIBLE)]
    search_fields = ["name", "names__name", "description"]
    list_select_related = ["project", "merged_into"]
    fields = ["project", "name", "kind", "description", "merged_into", "created_by", "created_at"]
    readonly_fields = fields
    inlines = [ClaimantNameInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claimant]:
        return access.claimant_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        ).distinct()
