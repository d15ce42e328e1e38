"""Admin panel: every model, with list columns, filters, search and inlines.

Document text is read-only after creation, events are read-only, and verdicts obey
blind review: a staff user who is only a reviewer in a project sees their own verdicts
until they have submitted on the claim (``access.verdict_scope_for_user``);
superusers and project editors see everything.

Tenancy: a staff user who is not a superuser sees the rows of their projects, and writes
only where their project role allows it (``ProjectTenancyMixin``): members and the rating
scale as a project admin, documents as an editor. Users are deleted through the members
services, so the last-admin rule holds there too (``UserAdmin``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as AuthUserAdmin
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from annotations import access, selectors, services
from annotations.core import spans
from annotations.core.urlnorm import UrlError, check_url
from annotations.models import (
    Assignment,
    Citation,
    Claim,
    ClaimAnchor,
    Consensus,
    Document,
    DocumentRevision,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Source,
    Verdict,
)

# Related-object filters list only the projects that appear in the (scoped) changelist,
# never every project's name.
ONLY_VISIBLE = admin.RelatedOnlyFieldListFilter


class ProjectTenancyMixin(BaseModelAdmin):
    """For admins whose rows point into a project (a ``project`` foreign key).

    Staff who are not superusers may pick, in forms, only the projects where they hold
    ``project_role``, and only documents and claims of projects they belong to; they may
    change or delete only rows of those projects (others are read-only to them).
    ``save_model`` checks the row's project again, so a forged POST is refused (403)
    even if a form let it through. ``ProjectAdmin.get_search_results`` applies the same
    ``project_role`` to the autocomplete of such a ``project`` field: autocomplete filters
    suggestions only, the form field's queryset is what refuses a project.
    """

    project_role: Role = Role.ADMIN

    def allowed_projects(self, request: HttpRequest) -> QuerySet[Project]:
        return access.staff_projects(user=request.user, role=self.project_role)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if not request.user.is_superuser:
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

    def _may_write(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        return self.allowed_projects(request).filter(pk=obj.project_id).exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_write(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_write(request, obj)


def _last_admin_refusals(memberships: Iterable[Membership]) -> list[str]:
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


class MembershipInlineForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # A membership is one person's: to hand it to someone else, remove it and add
            # theirs (each change then goes through its service).
            self.fields["user"].disabled = True


class MembershipInlineFormSet(BaseInlineFormSet):
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


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipInlineForm
    formset = MembershipInlineFormSet
    extra = 0
    autocomplete_fields = ["user"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.creator = request.user
        return formset


class RatingInline(admin.TabularInline):
    model = Rating
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "required_reviews",
        "consensus_rule",
        "lease_minutes",
        "created_at",
    ]
    list_filter = ["consensus_rule"]
    search_fields = ["name", "slug", "organization"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, RatingInline]
    readonly_fields = ["created_by", "created_at"]

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
        if match is None or match.url_name != "autocomplete" or request.user.is_superuser:
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
        if obj is None or request.user.is_superuser:
            return True
        return access.staff_projects(user=request.user, role=Role.ADMIN).filter(pk=obj.pk).exists()

    def has_change_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        # The policy, the members and the scale are the project admins' (as in the API);
        # other members get the page read-only.
        return super().has_change_permission(request, obj) and self._is_project_admin(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._is_project_admin(request, obj)

    def save_model(self, request: HttpRequest, obj: Project, form, change: bool) -> None:
        if change:
            if not self._is_project_admin(request, obj):
                raise PermissionDenied
            # Through the service, as the API's PATCH: policy checks, lock, event.
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            if changes:
                services.project_update(project=obj, actor=request.user, **changes)
            return
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
        )
        obj.pk = created.pk
        obj.created_at = created.created_at

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        if change and not self._is_project_admin(request, form.instance):
            raise PermissionDenied
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
class MembershipAdmin(ProjectTenancyMixin, admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", ("project", ONLY_VISIBLE)]
    search_fields = ["user__username", "project__name"]
    list_select_related = ["user", "project"]
    autocomplete_fields = ["user", "project"]
    form = MembershipAdminForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return access.staff_scope(super().get_queryset(request), user=request.user)

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
        return deleted, counts, perms_needed, [*protected, *_last_admin_refusals(objs)]


@admin.register(Rating)
class RatingAdmin(ProjectTenancyMixin, admin.ModelAdmin):
    list_display = ["label", "key", "ordinal", "position", "project"]
    list_filter = [("project", ONLY_VISIBLE)]
    search_fields = ["key", "label"]
    list_select_related = ["project"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rating]:
        return access.staff_scope(super().get_queryset(request), user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Rating | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Verdicts and consensus records point at the rating: it stays in its project.
            fields.append("project")
        return fields

    def save_model(self, request: HttpRequest, obj: Rating, form, change: bool) -> None:
        self.require_project(request, obj.project_id)
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Rating) -> None:
        self.require_project(request, obj.project_id)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Rating]) -> None:
        for project_id in set(queryset.values_list("project_id", flat=True)):
            self.require_project(request, project_id)
        super().delete_queryset(request, queryset)


class DocumentRevisionInline(admin.TabularInline):
    model = DocumentRevision
    extra = 0
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
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(DocumentRevision)
class DocumentRevisionAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: DocumentRevision | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: DocumentRevision | None = None
    ) -> bool:
        return False


class ClaimInline(admin.TabularInline):
    model = Claim
    extra = 0
    fields = ["start", "end", "exact", "statement", "status", "created_by"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(ProjectTenancyMixin, admin.ModelAdmin):
    list_display = ["title", "project", "publisher", "length", "claim_count", "created_at"]
    list_filter = [("project", ONLY_VISIBLE), "language", "publisher"]
    search_fields = ["title", "publisher", "author", "source_url"]
    list_select_related = ["project"]
    inlines = [ClaimInline, DocumentRevisionInline]
    readonly_fields = ["highlighted_text", "text_sha256", "length", "created_by", "created_at"]
    # Editors add documents (as in the API); reviewers see them read-only.
    project_role = Role.EDITOR

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return access.staff_scope(super().get_queryset(request), user=request.user).defer(
            "raw_text"
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # The canonical text is immutable once stored: claims are anchored to it.
            fields += ["project", "text", "raw_text"]
        return fields

    def get_fields(self, request: HttpRequest, obj: Document | None = None) -> list[str]:
        base = [
            "project",
            "title",
            "source_url",
            "publisher",
            "author",
            "published_date",
            "language",
        ]
        if obj is None:
            return [*base, "text"]
        return [
            *base,
            "highlighted_text",
            "text_sha256",
            "length",
            "raw_text",
            "created_by",
            "created_at",
        ]

    def save_model(self, request: HttpRequest, obj: Document, form, change: bool) -> None:
        self.require_project(request, obj.project_id)
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.document_create(
            project=obj.project,
            data=services.DocumentInput(
                title=obj.title,
                text=obj.text,
                source_url=obj.source_url,
                publisher=obj.publisher,
                author=obj.author,
                published_date=obj.published_date,
                language=obj.language,
            ),
            actor=request.user,
        )
        obj.pk = created.pk

    @admin.display(description="claims")
    def claim_count(self, obj: Document) -> int:
        return obj.claims.count()

    @admin.display(description="Text with claims highlighted")
    def highlighted_text(self, obj: Document) -> str:
        claims = list(selectors.claims_for_reader(document=obj).values_list("id", "start", "end"))
        paragraphs = spans.segment(obj.text, claims)
        return format_html(
            '<div class="wb-admin-text">{}</div>',
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


class ClaimAnchorInline(admin.TabularInline):
    model = ClaimAnchor
    extra = 0
    fields = ["revision", "start", "end", "exact", "status", "replaced_at", "replaced_by", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CitationInline(admin.TabularInline):
    model = Citation
    extra = 0
    autocomplete_fields = ["source"]
    readonly_fields = ["source", "quote", "stance"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class VerdictInline(admin.TabularInline):
    model = Verdict
    extra = 0
    fields = [
        "reviewer",
        "rating",
        "confidence",
        "rationale",
        "revision",
        "is_current",
        "submitted_at",
    ]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verdict]:
        queryset = super().get_queryset(request).select_related("reviewer", "rating")
        return access.verdict_staff_scope(user=request.user, queryset=queryset)


class ConsensusInline(admin.TabularInline):
    model = Consensus
    extra = 0
    fields = [
        "sequence",
        "rating",
        "method",
        "agreement",
        "decided_by",
        "decided_at",
        "note",
        "is_current",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = [
        "short_statement",
        "document",
        "status",
        "anchor_status",
        "start",
        "end",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "anchor_status", ("project", ONLY_VISIBLE)]
    search_fields = ["statement", "exact", "claimant"]
    list_select_related = ["document", "created_by"]
    raw_id_fields = ["document"]
    inlines = [VerdictInline, ConsensusInline, ClaimAnchorInline]
    actions = ["recompute_consensus"]
    readonly_fields = [
        "project",
        "document",
        "start",
        "end",
        "exact",
        "prefix",
        "suffix",
        "version",
        "anchor_status",
        "anchor_revision",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return access.staff_scope(super().get_queryset(request), user=request.user).defer(
            "document__text", "document__raw_text"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Claims are anchored from the reader or the API, where the span is validated.
        return False

    @admin.display(description="statement")
    def short_statement(self, obj: Claim) -> str:
        return obj.statement[:100]

    @admin.action(description="Recompute consensus for the selected claims")
    def recompute_consensus(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        recorded = 0
        for claim in queryset.select_related("project"):
            if not access.sees_everything(request.user) and not access.is_editor(
                access.membership_get(user=request.user, project_id=claim.project_id)
            ):
                continue
            if services.consensus_recompute(claim=claim, actor=request.user) is not None:
                recorded += 1
        self.message_user(
            request,
            f"Recomputed {queryset.count()} claim(s); {recorded} new consensus record(s). See the events.",
            messages.SUCCESS,
        )


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "publisher", "url_link", "published_date", "created_at"]
    actions = ["fetch_titles"]
    # Pages are fetched inside the admin request, so one action handles at most this many.
    FETCH_LIMIT = 20
    search_fields = ["title", "url", "normalized_url", "publisher"]
    readonly_fields = ["normalized_url", "created_by", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return access.source_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

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


@admin.register(Verdict)
class VerdictAdmin(admin.ModelAdmin):
    list_display = [
        "claim",
        "reviewer",
        "rating",
        "confidence",
        "revision",
        "is_current",
        "submitted_at",
    ]
    list_filter = ["is_current", "confidence", ("claim__project", ONLY_VISIBLE)]
    search_fields = ["rationale", "reviewer__username"]
    list_select_related = ["claim", "reviewer", "rating"]
    inlines = [CitationInline]
    readonly_fields = [
        "claim",
        "reviewer",
        "rating",
        "confidence",
        "rationale",
        "revision",
        "is_current",
        "submitted_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verdict]:
        return access.verdict_staff_scope(user=request.user, queryset=super().get_queryset(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Verdict | None = None) -> bool:
        return False


@admin.register(Citation)
class CitationAdmin(admin.ModelAdmin):
    list_display = ["verdict", "source", "stance"]
    list_filter = ["stance"]
    search_fields = ["quote", "source__url", "source__title"]
    list_select_related = ["verdict", "source"]
    readonly_fields = ["verdict", "source", "quote", "stance"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Citation]:
        return access.citation_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Citation | None = None) -> bool:
        return False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["claim", "reviewer", "state", "leased_at", "expires_at", "closed_at"]
    list_filter = ["state", ("project", ONLY_VISIBLE)]
    search_fields = ["reviewer__username", "reason"]
    list_select_related = ["claim", "reviewer"]
    readonly_fields = [
        "project",
        "claim",
        "reviewer",
        "state",
        "leased_at",
        "expires_at",
        "closed_at",
        "reason",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Assignment]:
        return access.assignment_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Assignment | None = None) -> bool:
        return False


@admin.register(Consensus)
class ConsensusAdmin(admin.ModelAdmin):
    list_display = [
        "claim",
        "sequence",
        "rating",
        "method",
        "agreement",
        "decided_by",
        "decided_at",
        "is_current",
    ]
    list_filter = ["method", "is_current", ("claim__project", ONLY_VISIBLE)]
    search_fields = ["note", "claim__statement"]
    list_select_related = ["claim", "rating", "decided_by"]
    readonly_fields = [
        "claim",
        "sequence",
        "rating",
        "method",
        "agreement",
        "verdicts",
        "decided_by",
        "decided_at",
        "note",
        "is_current",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Consensus]:
        return access.consensus_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Consensus | None = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "verb", "object_type", "object_id", "project"]
    list_filter = ["verb", "object_type", ("project", ONLY_VISIBLE)]
    search_fields = ["verb", "actor__username"]
    list_select_related = ["actor", "project"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return access.event_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AuthUserAdmin):
    """django.contrib.auth's user admin, with deletes that go through the members
    services: a user's memberships would otherwise vanish by cascade, without the
    last-admin rule, its lock or a ``member.remove`` event."""

    def get_deleted_objects(
        self, objs: Iterable[AbstractBaseUser], request: HttpRequest
    ) -> tuple[Any, Any, Any, list[str]]:
        """A user who is some project's last admin is listed as protected, with the
        reason, so the confirmation page offers no "Yes"."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        users = [user.pk for user in objs]
        memberships = Membership.objects.filter(user_id__in=users).select_related("project")
        protected = [*protected, *_last_admin_refusals(memberships)]
        if request.user.pk in users and memberships:
            # The member.remove events name the deleting user, whom they would then keep
            # from being deleted (Event.actor is protected): another superuser does it.
            protected.append(
                "Your own account: you are a project member; ask another superuser to delete it."
            )
        return deleted, counts, perms_needed, protected

    def _remove_memberships(self, request: HttpRequest, users: Iterable[Any]) -> None:
        for membership in Membership.objects.filter(user__in=users).order_by("project_id", "pk"):
            services.member_remove(membership=membership, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: AbstractBaseUser) -> None:
        with transaction.atomic():
            self._remove_memberships(request, [obj])
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            self._remove_memberships(request, queryset)
            super().delete_queryset(request, queryset)
