"""Finding claims: references (earlier fact checks), claim links and repeat suggestions,
read-only (references are added through the API, the UI's import or ``import_references``,
links are set on the claim page or through the API: each through its audited service);
staff see the rows of the projects they belong to (superusers all)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin
from annotations.models import ClaimLink, Reference, RepeatSuggestion


@admin.register(Reference)
class ReferenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["claim_reviewed", "rating", "publisher", "date", "origin", "project"]
    list_filter = ["origin", ("project", ONLY_VISIBLE)]
    search_fields = ["claim_reviewed", "headline", "publisher", "url"]
    list_select_related = ["project"]
    fields = [
        "project",
        "claim_reviewed",
        "headline",
        "url",
        "rating",
        "date",
        "publisher",
        "origin",
        "origin_name",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Reference]:
        return (
            super()
            .get_queryset(request)
            .defer("vector")
            .filter(project__in=access.staff_projects(user=request.user))
        )


@admin.register(ClaimLink)
class ClaimLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["claim", "reference", "target", "state", "score", "created_by", "created_at"]
    list_filter = ["state", ("project", ONLY_VISIBLE)]
    search_fields = ["claim__statement", "reference__claim_reviewed", "target__statement"]
    list_select_related = ["claim", "reference", "target", "created_by"]
    raw_id_fields = ["claim", "reference", "target"]
    fields = [
        "project",
        "claim",
        "reference",
        "target",
        "state",
        "score",
        "flags",
        "created_by",
        "created_at",
        "decided_by",
        "decided_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClaimLink]:
        return (
            super()
            .get_queryset(request)
            .defer("reference__vector")
            .filter(project__in=access.staff_projects(user=request.user))
        )


@admin.register(RepeatSuggestion)
class RepeatSuggestionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["document", "start", "end", "text", "reference", "claim", "score"]
    list_filter = [("project", ONLY_VISIBLE)]
    search_fields = ["text"]
    list_select_related = ["document", "reference", "claim"]
    raw_id_fields = ["document", "reference", "claim"]
    fields = [
        "project",
        "document",
        "document_revision",
        "start",
        "end",
        "text",
        "reference",
        "claim",
        "score",
        "flags",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepeatSuggestion]:
        return (
            super()
            .get_queryset(request)
            .defer("reference__vector", "document__text", "document__raw_text")
            .filter(project__in=access.staff_projects(user=request.user))
        )
