"""Sources: one row per project, owner and normalized http(s) URL (``models.Source``).

Staff see the sources ``access.source_scope_for_user`` allows (their own, their projects'
as editors, others' once blind review shows a verdict citing them). Adding one goes
through ``services.source_get_or_create`` in a project the user belongs to (the normalized
URL, the owner, the event); a URL that is already the user's source there is refused on
the form rather than added twice. The URL never changes afterwards (the verdicts citing a
source would then point at another page); its description changes through
``services.source_update``, for those ``access.source_can_edit`` allows. Nobody deletes a
source here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.html import format_html

from annotations import access, services
from annotations.admin.tenancy import ONLY_VISIBLE, ServiceForm, ServiceModelAdmin
from annotations.core.urlnorm import UrlError, check_url, normalize_url
from annotations.models import Source

ADD_FIELDS = ["project", "url", "title", "publisher", "published_date", "archive_url"]
DESCRIPTION = ["title", "publisher", "published_date", "accessed_date", "archive_url"]
ALREADY_A_SOURCE = (
    "This address is already one of your sources in this project (the same URL once normalized)."
)


@admin.register(Source)
class SourceAdmin(ServiceModelAdmin):
    list_display = ["__str__", "project", "publisher", "url_link", "published_date", "created_at"]
    actions = ["fetch_titles"]
    # Pages are fetched inside the admin request, so one action handles at most this many.
    FETCH_LIMIT = 20
    search_fields = ["title", "url", "normalized_url", "publisher"]
    list_filter = [("project", ONLY_VISIBLE), "published_date"]
    list_select_related = ["project"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return access.source_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    def get_fields(self, request: HttpRequest, obj: Source | None = None) -> list[str]:
        if obj is None:
            return ADD_FIELDS
        return ["project", "url", "normalized_url", *DESCRIPTION, "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Source | None = None) -> list[str]:
        if obj is None:
            return []
        return ["project", "url", "normalized_url", "created_by", "created_at"]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "project":
            # The service files the source under the user's membership of the project.
            kwargs["queryset"] = access.projects_for_user(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or access.source_can_edit(user=request.user, source=obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        # Citations point at sources; no service deletes one.
        return False

    def service_save(self, request: HttpRequest, form: ServiceForm, *, change: bool) -> Source:
        data = form.cleaned_data
        if not change:
            try:
                normalized = normalize_url(data["url"])
            except UrlError:
                normalized = None  # the service says what is wrong with it
            mine = Source.objects.filter(
                project=data["project"], created_by=request.user, normalized_url=normalized
            )
            if normalized and mine.exists():
                raise ValidationError({"url": ALREADY_A_SOURCE})
            return services.source_get_or_create(
                actor=request.user, **{name: data[name] for name in ADD_FIELDS}
            )
        changes = {name: data[name] for name in form.changed_data if name in DESCRIPTION}
        if not changes:
            return form.instance
        return services.source_update(source=form.instance, actor=request.user, **changes)

    @admin.display(description="URL")
    def url_link(self, obj: Source) -> str:
        # Only http(s) URLs are stored (services.source_get_or_create); a row written any
        # other way is shown as text, never as a javascript:/data: link.
        try:
            url = check_url(obj.url)
        except UrlError:
            return obj.url[:80]
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, url[:80])

    @admin.action(description="Fetch titles: fill blank title and publisher from each page")
    def fetch_titles(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        # One safe fetch per source (annotations.core.fetching, via the service); a refusal is
        # reported and the others go on. Fields a person filled in are never replaced.
        fetched, filled, refused = 0, 0, []
        for source in queryset.order_by("pk")[: self.FETCH_LIMIT]:
            before = (source.title, source.publisher)
            try:
                source = services.source_fetch_metadata(source=source, actor=request.user)
            except ValidationError as exc:
                refused.append(f"{source.url[:80]}: {' '.join(exc.messages)}")
                continue
            fetched += 1
            filled += (source.title, source.publisher) != before
        self.message_user(
            request, f"Fetched {fetched} page(s); filled in {filled} source(s).", messages.SUCCESS
        )
        for line in refused:
            self.message_user(request, f"Not fetched: {line}", messages.WARNING)
