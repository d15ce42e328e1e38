"""The review record: verdicts, their citations, consensus records and queue leases.

Only the services write these (``verdict_submit``, ``claim_adjudicate``, the queue), so
the panel shows them read-only, scoped by blind review: a staff user who is a reviewer in
a project sees other reviewers' verdicts, citations and consensus records only on claims
they have judged themselves, and only their own leases (``access.*_scope_for_user``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from annotations import access, services
from annotations.admin.tenancy import ONLY_VISIBLE, ReadOnlyAdminMixin, ReadOnlyInline
from annotations.models import (
    Assignment,
    Citation,
    Consensus,
    GoldClaim,
    Reservation,
    Role,
    Verdict,
)

VERDICT_FIELDS = [
    "claim",
    "reviewer",
    "rating",
    "confidence",
    "rationale",
    "revision",
    "is_current",
    "claim_version",
    "post_reveal",
    "submitted_at",
]
CONSENSUS_FIELDS = [
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


class CitationInline(ReadOnlyInline):
    model = Citation
    fields = readonly_fields = ["source", "quote", "stance"]


class VerdictInline(ReadOnlyInline):
    model = Verdict
    fields = readonly_fields = VERDICT_FIELDS[1:]
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verdict]:
        queryset = super().get_queryset(request).select_related("reviewer", "rating")
        return access.verdict_staff_scope(user=request.user, queryset=queryset)


class ConsensusInline(ReadOnlyInline):
    model = Consensus
    fields = readonly_fields = [f for f in CONSENSUS_FIELDS if f not in ("claim", "verdicts")]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Consensus]:
        # A consensus names the verdicts it rests on: blind review holds here too.
        return access.consensus_scope_for_user(
            user=request.user, queryset=super().get_queryset(request).select_related("rating")
        )


@admin.register(Verdict)
class VerdictAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [name for name in VERDICT_FIELDS if name != "rationale"]
    list_filter = ["is_current", "post_reveal", "confidence", ("claim__project", ONLY_VISIBLE)]
    search_fields = ["rationale", "reviewer__username"]
    list_select_related = ["claim", "reviewer", "rating"]
    inlines = [CitationInline]
    readonly_fields = VERDICT_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Verdict]:
        return access.verdict_staff_scope(user=request.user, queryset=super().get_queryset(request))


@admin.register(Citation)
class CitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["verdict", "source", "stance"]
    list_filter = ["stance"]
    search_fields = ["quote", "source__url", "source__title"]
    list_select_related = ["verdict", "source"]
    readonly_fields = ["verdict", "source", "quote", "stance"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Citation]:
        return access.citation_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Directed assignment: read-only rows; "Unassign" goes through the service (editors
    of the claim's project, in review only, one audit event each)."""

    list_display = ["claim", "reviewer", "assigned_by", "created_at"]
    list_filter = [("project", ONLY_VISIBLE)]
    search_fields = ["reviewer__username", "claim__statement"]
    list_select_related = ["claim", "reviewer", "assigned_by"]
    readonly_fields = ["project", "claim", "reviewer", "assigned_by", "created_at"]
    actions = ["unassign"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Reservation]:
        # Who else reviews a claim is the desk's business: editors of its project only.
        return access.staff_scope(
            super().get_queryset(request), user=request.user, role=Role.EDITOR
        )

    @admin.action(description="Unassign the selected reviewers (frees their slots)")
    def unassign(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        done, refused = 0, []
        for reservation in queryset.select_related("claim", "reviewer").order_by("pk"):
            try:
                services.claim_unassign(
                    claim=reservation.claim,
                    editor=request.user,
                    username=reservation.reviewer.get_username(),
                )
                done += 1
            except (PermissionDenied, services.QueueConflict, Http404) as exc:
                refused.append(f"#{reservation.pk}: {exc}")
        if done:
            self.message_user(request, f"Unassigned {done} reviewer(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, f"Not unassigned: {line}", messages.WARNING)


@admin.register(Consensus)
class ConsensusAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [f for f in CONSENSUS_FIELDS if f not in ("verdicts", "note")]
    list_filter = ["method", "is_current", ("claim__project", ONLY_VISIBLE)]
    search_fields = ["note", "claim__statement"]
    list_select_related = ["claim", "rating", "decided_by"]
    readonly_fields = CONSENSUS_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Consensus]:
        return access.consensus_scope_for_user(
            user=request.user, queryset=super().get_queryset(request)
        )


@admin.register(GoldClaim)
class GoldClaimAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Gold marks (issue 18), for the editors of their projects: marked and unmarked with
    the claim admin's actions (or on the claim page), which call the services."""

    list_display = ["claim", "rating", "marked_by", "marked_at"]
    list_filter = [("project", ONLY_VISIBLE)]
    search_fields = ["claim__statement", "note"]
    list_select_related = ["claim", "rating", "marked_by"]
    readonly_fields = ["project", "claim", "rating", "note", "marked_by", "marked_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[GoldClaim]:
        # Nothing here is for reviewers: which claims are gold is the editors' to know.
        return access.staff_scope(
            super().get_queryset(request), user=request.user, role=Role.EDITOR
        )
