"""Documents and their superseded texts.

Editors add documents (``services.document_create``) and change their description
(``services.document_update``: title, source URL, publisher, author, published date,
language, direction); a new document's language is detected when left empty and its
direction follows (``core.language``), so the add form does not ask for it. The text is read-only once stored, since claims are anchored to it, and a
corrected text is a new revision (reader UI, API). Nobody deletes a document here.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from annotations import access, selectors, services
from annotations.admin.tenancy import (
    ONLY_VISIBLE,
    ProjectTenancyMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceForm,
    ServiceModelAdmin,
)
from annotations.core import spans
from annotations.models import Claim, Document, DocumentRevision, Role

NEW_DESCRIPTION = ["title", "source_url", "publisher", "author", "published_date", "language"]
DESCRIPTION = [*NEW_DESCRIPTION, "direction"]


class DocumentRevisionInline(ReadOnlyInline):
    model = DocumentRevision
    fields = [
        "number",
        "length",
        "text_sha256",
        "note",
        "created_at",
        "superseded_at",
        "superseded_by",
    ]
    readonly_fields = fields
    show_change_link = True


@admin.register(DocumentRevision)
class DocumentRevisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Superseded texts: read-only provenance of every correction."""

    list_display = ["document", "number", "length", "superseded_at", "superseded_by"]
    list_filter = [("document__project", ONLY_VISIBLE)]
    search_fields = ["document__title", "note", "text_sha256"]
    list_select_related = ["document", "superseded_by"]
    raw_id_fields = ["document"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DocumentRevision]:
        return access.staff_scope(
            super().get_queryset(request), user=request.user, path="document__project"
        ).defer("raw_text")


class ClaimInline(ReadOnlyInline):
    model = Claim
    fields = ["start", "end", "exact", "statement", "status", "created_by"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Document)
class DocumentAdmin(ProjectTenancyMixin, ServiceModelAdmin):
    list_display = [
        "title",
        "project",
        "publisher",
        "language",
        "direction",
        "length",
        "claim_count",
        "created_at",
    ]
    list_filter = [("project", ONLY_VISIBLE), "language", "direction", "publisher"]
    search_fields = ["title", "publisher", "author", "source_url"]
    list_select_related = ["project"]
    inlines = [ClaimInline, DocumentRevisionInline]
    readonly_fields = ["highlighted_text", "text_sha256", "length", "created_by", "created_at"]
    # Editors add and describe documents (as in the API), superusers too only where they
    # are one (the services check the actor's role); reviewers see them read-only.
    project_role = Role.EDITOR
    operators_write_everywhere = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return access.staff_scope(super().get_queryset(request), user=request.user).defer(
            "raw_text"
        )

    def get_inlines(self, request: HttpRequest, obj: Document | None) -> list[type]:
        # A document being added has no claims or revisions yet.
        return [] if obj is None else list(self.inlines)

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # The canonical text is immutable once stored: claims are anchored to it.
            fields += ["project", "text", "raw_text"]
        return fields

    def get_fields(self, request: HttpRequest, obj: Document | None = None) -> list[str]:
        if obj is None:
            return ["project", *NEW_DESCRIPTION, "text"]
        return [
            "project",
            *DESCRIPTION,
            "highlighted_text",
            "text_sha256",
            "length",
            "raw_text",
            "created_by",
            "created_at",
        ]

    def has_delete_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        # Claims and the audit trail point at documents; no service deletes one.
        return False

    def service_save(self, request: HttpRequest, form: ServiceForm, *, change: bool) -> Document:
        data = form.cleaned_data
        if not change:
            self.require_project(request, data["project"].pk)
            return services.document_create(
                project=data["project"],
                data=services.DocumentInput(
                    text=data["text"], **{n: data[n] for n in NEW_DESCRIPTION}
                ),
                actor=request.user,
            )
        changes = {name: data[name] for name in form.changed_data if name in DESCRIPTION}
        if not changes:
            return form.instance
        return services.document_update(document=form.instance, actor=request.user, **changes)

    @admin.display(description="claims")
    def claim_count(self, obj: Document) -> int:
        return obj.claims.count()

    @admin.display(description="Text with claims highlighted")
    def highlighted_text(self, obj: Document) -> str:
        claims = list(selectors.claims_for_reader(document=obj).values_list("id", "start", "end"))
        paragraphs = spans.segment(obj.text, claims)
        return format_html(
            '<div class="wb-admin-text" lang="{}" dir="{}">{}</div>',
            obj.language or "und",
            obj.direction,
            format_html_join(
                "",
                "<p>{}</p>",
                (
                    (
                        format_html_join(
                            "",
                            "{}",
                            (
                                (
                                    format_html(
                                        '<mark title="claims {}">{}</mark>',
                                        ", ".join(f"#{key}" for key in segment.span_keys),
                                        segment.text,
                                    )
                                    if segment.span_keys
                                    else segment.text,
                                )
                                for segment in paragraph.segments
                            ),
                        ),
                    )
                    for paragraph in paragraphs
                    if paragraph.segments
                ),
            ),
        )
