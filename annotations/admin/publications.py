"""Publication versions: immutable once written (``services.publishing``), so read-only
here, as an inline on the claim and as their own list; staff see the versions of the
projects they belong to (superusers all)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin, ReadOnlyInline
from annotations.models import Publication

PUBLICATION_FIELDS = [
    "claim",
    "project",
    "number",
    "kind",
    *Publication.SNAPSHOT_FIELDS,
    "consensus",
    "published_at",
    "modified_at",
    "editor",
]


class PublicationInline(ReadOnlyInline):
    model = Publication
    fk_name = "claim"
    fields = ["number", "kind", "rating_label", "statement", "note", "modified_at", "editor"]
    readonly_fields = fields


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["claim", "number", "kind", "rating_label", "modified_at", "editor", "project"]
    list_filter = ["kind", ("project", ONLY_VISIBLE)]
    search_fields = ["statement", "summary", "note"]
    list_select_related = ["claim", "editor", "project"]
    readonly_fields = PUBLICATION_FIELDS
    fields = PUBLICATION_FIELDS
    date_hierarchy = "modified_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Publication]:
        return (
            super()
            .get_queryset(request)
            .filter(project__in=access.staff_projects(user=request.user))
        )
