"""Projects and their members: the policy through ``services.project_create/update``,
members through ``services.member_add/remove`` (the last-admin rule, its lock, events).
Only superusers add members here; project admins invite (``invitations``) and change or
remove existing members.

Project pages are the project admins' (superusers': any project); other members see them
read-only. The rating scale on the project page is in ``ratings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from annotations import access, services
from annotations.admin.ratings import RatingInline, ratings_save
from annotations.admin.tenancy import (
    ONLY_VISIBLE,
    AsciiNumbersMixin,
    ProjectTenancyMixin,
    ServiceForm,
    ServiceModelAdmin,
    last_admin_refusals,
)
from annotations.core import evidence_policy
from annotations.formfields import AsciiManagementFormMixin
from annotations.models import Membership, Project, Rating, Role, Stance


class MembershipInlineForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # A membership is one person's: to hand it to someone else, remove it and add
            # theirs (each change then goes through its service).
            self.fields["user"].disabled = True


class MembershipInlineFormSet(AsciiManagementFormMixin, BaseInlineFormSet):
    creator: Any = None  # the signed-in user, set by MembershipInline.get_formset

    def clean(self) -> None:
        """Refuse a save that leaves the project without an admin; the error shows above
        the members. The check locks the project's admins until the admin's change view
        commits, so a concurrent demotion elsewhere waits for this save."""
        super().clean()
        if any(self.errors):
            return
        if self.instance.pk is None:
            self._clean_new_project()
            return
        roles: dict[int, str | None] = {}
        new_admins = 0
        for form in self.forms:
            if not form.has_changed():
                continue
            deleted = self._should_delete_form(form)
            if form.instance.pk is not None:
                roles[form.instance.pk] = None if deleted else form.cleaned_data.get("role")
            elif not deleted and form.cleaned_data.get("role") == Role.ADMIN:
                new_admins += 1
        if roles:
            try:
                services.member_changes_check(
                    project_id=self.instance.pk, roles=roles, new_admins=new_admins
                )
            except ValidationError as exc:
                raise ValidationError(exc.messages) from None

    def _clean_new_project(self) -> None:
        """A new project's creator becomes its admin (services.project_create); a row
        that would make them anything else is refused here instead of failing on save."""
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            data = form.cleaned_data
            if data.get("user") == self.creator and data.get("role") != Role.ADMIN:
                raise ValidationError(
                    "You become the admin of a project you create: keep your own row as "
                    "admin (hand the role over after saving)."
                )


class MembershipInline(AsciiNumbersMixin, admin.TabularInline):
    model = Membership
    form = MembershipInlineForm
    formset = MembershipInlineFormSet
    extra = 0
    autocomplete_fields = ["user"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.creator = request.user
        return formset

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Project admins invite (issue 13, finding 5a); only superusers add accounts
        # directly. Existing members' roles stay editable here.
        return access.can_add_members_directly(request.user) and super().has_add_permission(
            request, obj
        )


class ProjectAdminForm(ServiceForm):
    """The project with its allowed stances as checkboxes (stored as one text), saved
    through ``services.project_create`` / ``project_update`` (``ServiceForm``): what they
    refuse comes back on the form."""

    allowed_stances = forms.MultipleChoiceField(
        choices=Stance.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Allowed stances",
        help_text="Evidence policy: the stances a citation may take.",
        error_messages={"required": "Allow at least one stance."},
    )

    # Text, checked by the service (``services.public_url``, through ``ServiceForm``): the
    # model's URLField said "Enter a valid URL." of numeric shorthand (127.1) before the
    # service could name the reason, as the API does.
    organization_url = forms.CharField(
        label="Organization URL",
        max_length=200,
        required=False,
        widget=forms.URLInput,
        help_text="A public http(s) site, published as the publisher of every fact check.",
    )

    class Meta:
        model = Project
        # The admin's own field list (ModelAdmin.get_fields) decides what is shown.
        fields = [
            "name",
            "slug",
            "organization",
            "organization_url",
            "required_reviews",
            "consensus_rule",
            "majority_threshold",
            "lease_minutes",
            "publishing_enabled",
            "min_citations",
            "quote_required",
            "allowed_stances",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["allowed_stances"] = list(
            evidence_policy.stances_split(self.instance.allowed_stances)
        )

    def _get_validation_exclusions(self) -> set[str]:
        # The URL is the service's to judge (``public_url``, which names the reason): the
        # model's URLField would refuse numeric shorthand first, with "Enter a valid URL."
        return {*super()._get_validation_exclusions(), "organization_url"}

    def clean_allowed_stances(self) -> str:
        return evidence_policy.stances_text(self.cleaned_data["allowed_stances"], Stance.values)


@admin.register(Project)
class ProjectAdmin(ServiceModelAdmin):
    form = ProjectAdminForm
    list_display = [
        "name",
        "slug",
        "required_reviews",
        "consensus_rule",
        "lease_minutes",
        "publishing_enabled",
        "min_citations",
        "quote_required",
        "created_at",
    ]
    list_filter = ["consensus_rule", "publishing_enabled", "quote_required"]
    search_fields = ["name", "slug", "organization"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_by", "created_at"]
    # The check-worthiness provider's URL may carry a token and is vetted by the fetcher's
    # rules: project admins set it through the API (PATCH /projects/{id}/), not here, where
    # other staff members of the project would read it.
    exclude = ["triage_url"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """A number's form field takes its range from the model field's validators (the
        ranges of the project's check constraints), so the form names the real bounds:
        a positive field's own form field would say "greater than or equal to 0"."""
        for validator in getattr(db_field, "validators", ()):
            if isinstance(validator, MinValueValidator):
                kwargs.setdefault("min_value", validator.limit_value)
            elif isinstance(validator, MaxValueValidator):
                kwargs.setdefault("max_value", validator.limit_value)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return access.staff_scope(super().get_queryset(request), user=request.user, path="pk")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Project], search_term: str
    ) -> tuple[QuerySet[Project], bool]:
        """The autocomplete of another model's ``project`` field (it runs this admin's
        get_queryset and get_search_results) offers the projects that model's admin lets
        the user pick (``ProjectTenancyMixin.allowed_projects``), not every project they
        belong to; a field whose admin says nothing offers only admin-role projects."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = request.resolver_match
        if (
            match is None
            or match.url_name != "autocomplete"
            or access.sees_everything(request.user)
        ):
            return queryset, may_have_duplicates
        try:
            source = self.admin_site.get_model_admin(
                apps.get_model(request.GET["app_label"], request.GET["model_name"])
            )
        except (KeyError, LookupError, NotRegistered):
            return queryset.none(), False
        if isinstance(source, ProjectTenancyMixin):
            allowed = source.allowed_projects(request)
        else:
            allowed = access.staff_projects(user=request.user, role=Role.ADMIN)
        return queryset.filter(pk__in=allowed.values("pk")), may_have_duplicates

    def get_inlines(
        self, request: HttpRequest, obj: Project | None
    ) -> list[type[InlineModelAdmin]]:
        # A new project comes with the default scale (services.project_create): its ratings
        # are edited once the project exists.
        return [MembershipInline] if obj is None else [MembershipInline, RatingInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Project | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # The slug is the project's URL name: fixed once created (as in the API).
            fields.append("slug")
        return fields

    def get_prepopulated_fields(
        self, request: HttpRequest, obj: Project | None = None
    ) -> dict[str, Any]:
        return {} if obj is not None else super().get_prepopulated_fields(request, obj)

    def _is_project_admin(self, request: HttpRequest, obj: Project | None) -> bool:
        if obj is None:
            return True
        return access.staff_projects(user=request.user, role=Role.ADMIN).filter(pk=obj.pk).exists()

    def has_change_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        # The policy, the members and the scale are the project admins' (as in the API);
        # other members get the page read-only.
        return super().has_change_permission(request, obj) and self._is_project_admin(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        # A project's audit trail protects it (Event.project), and no service deletes one.
        return False

    def service_save(self, request: HttpRequest, form: ServiceForm, *, change: bool) -> Project:
        obj = form.instance
        if change:
            if not self._is_project_admin(request, obj):
                raise PermissionDenied
            # Through the service, as the API's PATCH: policy checks, lock, event.
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            if "allowed_stances" in changes:
                changes["allowed_stances"] = evidence_policy.stances_split(
                    changes["allowed_stances"]
                )
            if not changes:
                return obj
            return services.project_update(
                project=Project.objects.get(pk=obj.pk), actor=request.user, **changes
            )
        # New projects go through the service: default scale, creator as admin, event.
        created = services.project_create(
            creator=request.user,
            name=obj.name,
            slug=obj.slug,
            organization=obj.organization,
            organization_url=obj.organization_url,
            required_reviews=obj.required_reviews,
            consensus_rule=obj.consensus_rule,
            majority_threshold=obj.majority_threshold,
            lease_minutes=obj.lease_minutes,
            publishing_enabled=obj.publishing_enabled,
            min_citations=obj.min_citations,
            quote_required=obj.quote_required,
            allowed_stances=evidence_policy.stances_split(obj.allowed_stances),
        )
        obj.created_at = created.created_at
        return created

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if change and not self._is_project_admin(request, form.instance):
            raise PermissionDenied
        if formset.model is Rating:
            ratings_save(request, project=form.instance, formset=formset)
            return
        # Members change through the services (lock, last-admin rule, event). Admins are
        # added or promoted first and members removed last, so a save that hands the admin
        # role from one member to another never passes through a moment without one. Rows
        # that leave a member's role as it is (the creator's own row on a new project)
        # are skipped: nothing changes, so nothing is recorded.
        changed = formset.save(commit=False)
        current = {
            user_id: (pk, role)
            for pk, user_id, role in Membership.objects.filter(project=form.instance).values_list(
                "pk", "user_id", "role"
            )
        }
        for membership in sorted(changed, key=lambda m: m.role != Role.ADMIN):
            pk, role = current.get(membership.user_id, (None, None))
            if role == membership.role:
                membership.pk = pk
                continue
            saved = services.member_add(
                project=form.instance,
                user=membership.user,
                role=membership.role,
                actor=request.user,
            )
            membership.pk = saved.pk
        for membership in formset.deleted_objects:
            services.member_remove(membership=membership, actor=request.user)


class MembershipAdminForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk is not None and "role" in cleaned:
            # Raises {"role": [...]} for the project's last admin; the locks it takes last
            # until the change view's transaction commits.
            services.member_changes_check(
                project_id=self.instance.project_id, roles={self.instance.pk: cleaned["role"]}
            )
        return cleaned


@admin.register(Membership)
class MembershipAdmin(ProjectTenancyMixin, AsciiNumbersMixin, admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", ("project", ONLY_VISIBLE)]
    search_fields = ["user__username", "project__name"]
    list_select_related = ["user", "project"]
    autocomplete_fields = ["user", "project"]
    form = MembershipAdminForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return access.staff_scope(super().get_queryset(request), user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Project admins invite; only superusers add an account without its consent.
        return access.can_add_members_directly(request.user) and super().has_add_permission(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Moving a membership to another person or project would be a removal in disguise.
            fields += ["project", "user"]
        return fields

    def save_model(self, request: HttpRequest, obj: Membership, form, change: bool) -> None:
        self.require_project(request, obj.project_id)
        saved = services.member_add(
            project=obj.project, user=obj.user, role=obj.role, actor=request.user
        )
        obj.pk = saved.pk
        obj.created_at = saved.created_at

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        self.require_project(request, obj.project_id)
        services.member_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        with transaction.atomic():
            for membership in queryset.order_by("project_id", "pk"):
                self.require_project(request, membership.project_id)
                services.member_remove(membership=membership, actor=request.user)

    def get_deleted_objects(
        self, objs: Iterable[Membership], request: HttpRequest
    ) -> tuple[Any, Any, Any, list[str]]:
        """Removing a project's last admin is refused on the confirmation page (listed as
        protected, so the admin offers no "Yes"); the delete itself goes through the service."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, [*protected, *last_admin_refusals(objs)]
