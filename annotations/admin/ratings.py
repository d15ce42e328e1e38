"""The rating scale, on its own pages and on the project page: every change through
``services.rating_create/update/delete``, which need the admin role in the project (for
superusers too: ``operators_write_everywhere`` is off) and record an event.

A rating's key is fixed once it exists (the API, the exports and the audit trail name the
rating by it), and a rating in use by verdicts or consensus records, or a project's last,
is never deleted: the delete page lists why, and offers no "Yes".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from annotations import access, services
from annotations.admin.tenancy import (
    ONLY_VISIBLE,
    AsciiNumbersMixin,
    ProjectTenancyMixin,
    ServiceForm,
    ServiceModelAdmin,
)
from annotations.formfields import AsciiManagementFormMixin
from annotations.models import Project, Rating, Role

EDITABLE = ("label", "ordinal", "position")


class RatingInlineForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["key"].disabled = True  # services.rating_update: KEY_FIXED


class RatingInlineFormSet(AsciiManagementFormMixin, BaseInlineFormSet):
    def clean(self) -> None:
        """Refuse, above the ratings, to delete one in use or the project's last; the save
        (``ratings_save``) then passes the services' own checks."""
        super().clean()
        if any(self.errors):
            return
        deleted, added = [], 0
        for form in self.forms:
            if form.instance.pk is not None and self._should_delete_form(form):
                deleted.append(form.instance)
            elif form.instance.pk is None and form.has_changed():
                added += not self._should_delete_form(form)
        try:
            services.ratings_delete_check(ratings=deleted, added=added)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class RatingInline(AsciiNumbersMixin, admin.TabularInline):
    """The scale on the project page: for the project's admins, read-only to others."""

    model = Rating
    form = RatingInlineForm
    formset = RatingInlineFormSet
    fields = ["key", "label", "ordinal", "position"]
    extra = 0

    def _may_edit(self, request: HttpRequest, obj: Project | None) -> bool:
        return (
            obj is not None
            and access.projects_for_user(user=request.user, role=Role.ADMIN)
            .filter(pk=obj.pk)
            .exists()
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)


def ratings_save(request: HttpRequest, *, project: Project, formset: BaseInlineFormSet) -> None:
    """Write the scale rows of the project page through the services: additions first, so
    that a save replacing every rating never passes through a scale without one."""
    formset.save(commit=False)
    for rating in formset.new_objects:
        created = services.rating_create(
            project=project,
            actor=request.user,
            key=rating.key,
            label=rating.label,
            ordinal=rating.ordinal,
            position=rating.position,
        )
        rating.pk = created.pk
    for rating, changed in formset.changed_objects:
        changes = {name: getattr(rating, name) for name in changed if name in EDITABLE}
        if changes:
            services.rating_update(rating=rating, actor=request.user, **changes)
    for rating in formset.deleted_objects:
        services.rating_delete(rating=rating, actor=request.user)


@admin.register(Rating)
class RatingAdmin(ProjectTenancyMixin, ServiceModelAdmin):
    list_display = ["label", "key", "ordinal", "position", "project"]
    list_filter = [("project", ONLY_VISIBLE)]
    search_fields = ["key", "label"]
    list_select_related = ["project"]
    operators_write_everywhere = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rating]:
        return access.staff_scope(super().get_queryset(request), user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Rating | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Verdicts and consensus records point at the rating: it stays in its project,
            # under its key.
            fields += ["project", "key"]
        return fields

    def service_save(self, request: HttpRequest, form: ServiceForm, *, change: bool) -> Rating:
        data = form.cleaned_data
        if not change:
            self.require_project(request, data["project"].pk)
            return services.rating_create(
                project=data["project"],
                actor=request.user,
                key=data["key"],
                label=data["label"],
                ordinal=data["ordinal"],
                position=data["position"],
            )
        changes = {name: data[name] for name in form.changed_data if name in EDITABLE}
        if not changes:
            return form.instance
        return services.rating_update(rating=form.instance, actor=request.user, **changes)

    def get_deleted_objects(
        self, objs: Iterable[Rating], request: HttpRequest
    ) -> tuple[Any, Any, Any, list[str]]:
        """A rating in use, or a project's last, is refused with the services' reason, so
        the confirmation page says why and offers no "Yes" (rather than Django's note that
        verdicts may not be deleted, which is true but not the reason)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        try:
            services.ratings_delete_check(ratings=list(objs))
        except ValidationError as exc:
            return deleted, counts, set(), exc.messages
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Rating) -> None:
        self.require_project(request, obj.project_id)
        services.rating_delete(rating=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Rating]) -> None:
        with transaction.atomic():
            for rating in queryset.order_by("project_id", "pk"):
                self.require_project(request, rating.project_id)
                services.rating_delete(rating=rating, actor=request.user)
