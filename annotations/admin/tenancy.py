"""What the admins of this package share: project tenancy, read-only admins, forms whose
save is a service call, number fields spelled as the API spells them, and the wording of
refusals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import BaseModelAdmin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models as db_models
from django.db import router, transaction
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse

from annotations import access, services
from annotations.formfields import (
    AsciiFloatField,
    AsciiIntegerField,
    AsciiModelChoiceField,
    AsciiModelMultipleChoiceField,
    integer_key,
    not_an_id,
)
from annotations.models import Claim, Document, Membership, Project, Role

NOT_PICKED_BY_ID = (
    "Rows are ticked by their ids in ASCII digits; no action was taken and nothing changed."
)

# Related-object filters list only the projects that appear in the (scoped) changelist,
# never every project's name.
ONLY_VISIBLE = admin.RelatedOnlyFieldListFilter


class AsciiNumbersMixin(BaseModelAdmin):
    """The form fields made for the model's number columns take the API's spelling
    (``AsciiIntegerField``, ``AsciiFloatField``); a column with choices stays a choice.
    The admin's own integer widgets are kept (``BigIntegerField`` has its own entry in
    Django's defaults, so it is named here too). A row chosen by id (a foreign key's,
    one-to-one's or many-to-many's select, autocomplete or raw-id field) takes the id in
    ASCII digits (``AsciiModelChoiceField``, ``AsciiModelMultipleChoiceField``): any other
    text is an invalid choice, and the page shown again selects nothing for it (Django's
    autocomplete widget would look it up and fail). The admin matches a relation's entry
    by its exact class, so each is named."""

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> Any:
        """An action on the rows ticked in a list, named by their ids in ASCII digits: any
        other text (``"٣"``, ``"+4"``, ``"abc"``) acts on no row and says so, where Django
        would read the first ones as ids and fail (500) on the last."""
        picked = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        across = request.POST.get("select_across") == "1"
        if (
            not across
            and integer_key(self.model._meta.pk)
            and any(not_an_id(value) for value in picked)
        ):
            self.message_user(request, NOT_PICKED_BY_ID, messages.WARNING)
            return None
        return super().response_action(request, queryset, *args, **kwargs)  # type: ignore[misc]

    formfield_overrides = {
        db_models.IntegerField: {"form_class": AsciiIntegerField},
        db_models.BigIntegerField: {"form_class": AsciiIntegerField},
        db_models.FloatField: {"form_class": AsciiFloatField},
        db_models.ForeignKey: {"form_class": AsciiModelChoiceField},
        db_models.OneToOneField: {"form_class": AsciiModelChoiceField},
        db_models.ManyToManyField: {"form_class": AsciiModelMultipleChoiceField},
    }


class ProjectTenancyMixin(BaseModelAdmin):
    """For admins whose rows point into a project (a ``project`` foreign key).

    Staff may pick, in forms, only the projects where they hold ``project_role``, and only
    documents and claims of projects they belong to; they may change or delete only rows of
    those projects (others are read-only to them). ``require_project`` checks the row's
    project again on save, so a forged POST is refused (403) even if a form let it through.
    ``ProjectAdmin.get_search_results`` applies the same ``project_role`` to the
    autocomplete of such a ``project`` field: autocomplete filters suggestions only, the
    form field's queryset is what refuses a project.

    Superusers are the trusted operators of project administration (members, policy): they
    write those rows in any project, e.g. to give a project that lost its admins a new one.
    Admins whose services check the actor's own membership (documents, the rating scale)
    set ``operators_write_everywhere = False``: superusers are then offered the projects
    they belong to, as the services will accept, like everyone else.
    """

    project_role: Role = Role.ADMIN
    operators_write_everywhere: bool = True

    def allowed_projects(self, request: HttpRequest) -> QuerySet[Project]:
        if self.operators_write_everywhere:
            return access.staff_projects(user=request.user, role=self.project_role)
        return access.projects_for_user(user=request.user, role=self.project_role)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        related = db_field.related_model
        if related is Project:
            kwargs["queryset"] = self.allowed_projects(request)
        elif related in (Document, Claim):
            member_of = access.staff_projects(user=request.user)
            kwargs["queryset"] = related.objects.filter(project__in=member_of)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def require_project(self, request: HttpRequest, project_id: int | None) -> None:
        """Raise PermissionDenied unless ``request.user`` may write rows of the project."""
        if not self.allowed_projects(request).filter(pk=project_id).exists():
            raise PermissionDenied

    def may_write(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None:
            return True
        return self.allowed_projects(request).filter(pk=obj.project_id).exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self.may_write(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self.may_write(request, obj)


class ReadOnlyAdminMixin(AsciiNumbersMixin):
    """Rows that only the services write (verdicts, consensus, leases, audit events,
    superseded texts): shown, never added, changed or deleted in the panel."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class ServiceForm(forms.ModelForm):
    """A model form whose save is a service call.

    The service is called as the last step of the form's validation (``_post_clean``), so
    that what it refuses (its limits, text no database can store, a URL that is not
    http(s), a stale version) comes back as errors on the form, in the service's own words,
    and nothing is written; ``ServiceModelAdmin.save_model`` then only adopts the row the
    service wrote. Should the page be shown again although the form was valid (an inline's
    data missing from the POST), ``ServiceModelAdmin.changeform_view`` undoes the write.
    """

    # Set per request by ServiceModelAdmin.get_form: (form) -> the saved row.
    service_save: Callable[[ServiceForm], Model] | None = None
    saved: Model | None = None

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors or self.service_save is None:
            return
        try:
            self.saved = self.service_save(self)
        except ValidationError as exc:
            add_service_errors(self, exc)


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on ``form``: on the field it names when the form has
    that field, above the form (naming the field) otherwise."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        if name in form.fields:
            form.add_error(name, errors)
        elif name == NON_FIELD_ERRORS:
            form.add_error(None, errors)
        else:
            form.add_error(None, [f"{name}: {text}" for text in ValidationError(errors).messages])


class ServiceModelAdmin(AsciiNumbersMixin, admin.ModelAdmin):
    """An admin whose add and change pages save through a service: ``service_save`` gets
    the validated form and returns the row the service wrote (see ``ServiceForm``)."""

    form = ServiceForm
    # Marks a request whose form wrote through its service but was not saved (yet).
    UNSAVED = "_workbench_admin_service_unsaved"

    def service_save(self, request: HttpRequest, form: ServiceForm, *, change: bool) -> Model:
        raise NotImplementedError

    def _service_call(self, request: HttpRequest, form: ServiceForm, *, change: bool) -> Model:
        saved = self.service_save(request, form, change=change)
        setattr(request, self.UNSAVED, True)
        return saved

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[ServiceForm]:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        # get_form builds a new class per call (modelform_factory), so this is per request.
        form_class.service_save = staticmethod(
            partial(self._service_call, request, change=obj is not None)
        )
        return form_class

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().changeform_view(request, *args, **kwargs)
            if getattr(request, self.UNSAVED, False):
                # The form's service wrote, but the page is shown again instead of saved
                # (an inline did not validate): a page shown again has written nothing.
                transaction.set_rollback(True)
        return response

    def save_model(self, request: HttpRequest, obj: Model, form: ServiceForm, change: bool) -> None:
        if form.saved is None:  # the form saves when it validates; nothing else may write
            raise PermissionDenied
        setattr(request, self.UNSAVED, False)
        obj.pk = form.saved.pk


def refusal(exc: Exception) -> str:
    """The reason a service gave for refusing, as one line."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You may not do this."


def last_admin_refusals(memberships: Iterable[Membership]) -> list[str]:
    """Why removing ``memberships`` would leave a project without an admin: one line per
    such project, for the delete confirmation's "protected" list (the admin then offers
    no "Yes"). Locks the projects' admins until the delete view's transaction ends."""
    leaving: dict[int, dict[int, str | None]] = defaultdict(dict)
    names: dict[int, str] = {}
    for membership in memberships:
        leaving[membership.project_id][membership.pk] = None
        names[membership.project_id] = str(membership.project)
    refusals = []
    for project_id in sorted(leaving):
        try:
            with transaction.atomic():
                services.member_changes_check(project_id=project_id, roles=leaving[project_id])
        except ValidationError as exc:
            refusals.append(
                f"{names[project_id]}: {' '.join(exc.messages)} Make another member admin first."
            )
    return refusals
