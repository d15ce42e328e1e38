"""Evidence (issue 16): snapshots of cited sources, the link-rot watch's checks and each
source's evidence state, read-only (the worker writes them through
``services.evidence``). Staff see the rows of the sources ``access.source_scope_for_user``
allows them (blind review included). A snapshot's text is shown as plain text; its WARC
is downloaded from the claim page or the API, never from a media URL."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations import access
from annotations.admin.tenancy import ReadOnlyAdminMixin
from annotations.models import Source, SourceCheck, SourceEvidence, SourceSnapshot


def _visible_sources(request: HttpRequest) -> QuerySet[Source]:
    return access.source_scope_for_user(user=request.user, queryset=Source.objects.all())


@admin.register(SourceSnapshot)
class SourceSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "source", "outcome", "http_status", "size", "fetched_at"]
    list_filter = ["outcome"]
    search_fields = ["requested_url", "final_url", "sha256", "title"]
    list_select_related = ["source"]
    raw_id_fields = ["source", "requested_by"]
    date_hierarchy = "fetched_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceSnapshot]:
        return super().get_queryset(request).filter(source__in=_visible_sources(request))


@admin.register(SourceCheck)
class SourceCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "source", "outcome", "http_status", "flag", "checked_at"]
    list_filter = ["flag", "outcome"]
    search_fields = ["final_url", "sha256"]
    list_select_related = ["source"]
    raw_id_fields = ["source", "baseline"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceCheck]:
        return super().get_queryset(request).filter(source__in=_visible_sources(request))


@admin.register(SourceEvidence)
class SourceEvidenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["source", "flag", "flag_since", "checked_at", "next_check_at"]
    list_filter = ["flag"]
    search_fields = ["source__url", "source__title"]
    list_select_related = ["source"]
    raw_id_fields = ["source", "latest", "baseline"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceEvidence]:
        return super().get_queryset(request).filter(source__in=_visible_sources(request))
