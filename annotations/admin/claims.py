"""Claims: the statement and claimant are edited through ``services.claim_update``, and
only by someone the API would let edit (``access.claim_can_edit``: the claim's creator or
an editor, until the first verdict; never once published); everyone else gets the page
read-only, with the reason shown ("Edit rule"). Editors revise a judged claim from the
claim page or the API (``services.claim_revise``); its earlier versions show here. The span, status, version, anchor and
consensus are read-only: claims are anchored from the reader or the API, where the span
is validated, and their status changes through the review services, which the admin
actions below call (reopen, publish, retract, withdraw, recompute consensus), refusing
row by row what the user may not do; publication versions show read-only (corrections
are made from the claim page or the API, where the new wording and rating are entered). Nobody deletes a claim here: withdraw it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from annotations import access, services
from annotations.admin.publications import PublicationInline
from annotations.admin.review import ConsensusInline, VerdictInline
from annotations.admin.tenancy import (
    ONLY_VISIBLE,
    ReadOnlyInline,
    ServiceForm,
    ServiceModelAdmin,
    refusal,
)
from annotations.formfields import AsciiIntegerField
from annotations.models import Claim, ClaimAnchor, ClaimPriority, ClaimStatus, ClaimVersion
from annotations.services import limits

EDITABLE = ("statement", "claimant")
CONFIRMATION_TEMPLATE = "admin/annotations/claim/status_confirmation.html"


class ClaimAnchorInline(ReadOnlyInline):
    model = ClaimAnchor
    fields = ["revision", "start", "end", "exact", "status", "replaced_at", "replaced_by", "note"]
    readonly_fields = fields


class ClaimVersionInline(ReadOnlyInline):
    model = ClaimVersion
    fields = [
        "number",
        "statement",
        "claimant",
        "exact",
        "start",
        "end",
        "status",
        "replaced_at",
        "replaced_by",
        "note",
    ]
    readonly_fields = fields


class ClaimForm(ServiceForm):
    # The version the page showed: saving over someone else's newer edit is refused
    # (services.StaleVersion), as the API's If-Match does. Without it, the row as read now.
    expected_version = AsciiIntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["expected_version"].initial = self.instance.version


class NoteForm(forms.Form):
    """What the reopen and withdraw actions ask for, bounded as the services bound it."""

    def __init__(self, *args: Any, label: str, max_length: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"] = forms.CharField(
            label=label, max_length=max_length, widget=forms.Textarea(attrs={"rows": 4})
        )


class _PresentedFilter(admin.SimpleListFilter):
    """Filter on what the user is shown: a gold claim presents to a plain reviewer as an
    ordinary claim in review, normal priority (``access.claims_present_for``), so filtering
    by the stored value would single it out."""

    field: str
    options: Any

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        return [(str(value), label) for value, label in self.options]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        value = self.value()
        if value is None:
            return queryset
        if access.sees_everything(request.user):
            return queryset.filter(**{self.field: value})
        return queryset.filter(
            access.claim_field_presented_q(user=request.user, field=self.field, value=value)
        )


class StatusFilter(_PresentedFilter):
    title = "status"
    parameter_name = "status"
    field = "status"
    options = ClaimStatus.choices


class PriorityFilter(_PresentedFilter):
    title = "priority"
    parameter_name = "priority"
    field = "priority"
    options = ClaimPriority.choices


@admin.register(Claim)
class ClaimAdmin(ServiceModelAdmin):
    form = ClaimForm
    list_display = [
        "short_statement",
        "document",
        "status",
        "priority",
        "due_at",
        "anchor_status",
        "start",
        "end",
        "created_by",
        "created_at",
    ]
    list_filter = [StatusFilter, PriorityFilter, "anchor_status", ("project", ONLY_VISIBLE)]
    search_fields = ["statement", "exact", "claimant"]
    list_select_related = ["document", "created_by"]
    raw_id_fields = ["document"]
    inlines = [
        VerdictInline,
        ConsensusInline,
        PublicationInline,
        ClaimVersionInline,
        ClaimAnchorInline,
    ]
    actions = [
        "set_priority_urgent",
        "set_priority_high",
        "set_priority_normal",
        "set_priority_low",
        "reopen_claims",
        "publish_claims",
        "retract_claims",
        "withdraw_claims",
        "recompute_consensus",
        "mark_gold",
        "unmark_gold",
    ]
    fields = [
        "project",
        "document",
        "start",
        "end",
        "exact",
        "prefix",
        "suffix",
        "statement",
        "claimant",
        "status",
        "priority",
        "due_at",
        "edit_rule",
        "version",
        "claim_version",
        "consensus",
        "anchor_status",
        "anchor_revision",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if name not in EDITABLE]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return access.staff_scope(super().get_queryset(request), user=request.user).defer(
            "document__text", "document__raw_text"
        )

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        """The claim as the user is shown it (a gold claim masked for a plain reviewer, as
        in the reviewer UI and the API); superusers see every row as it is."""
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and not access.sees_everything(request.user):
            access.claims_present_for(user=request.user, claims=[obj])
        return obj

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        if not access.sees_everything(request.user):
            access.claims_present_for(user=request.user, claims=list(changelist.result_list))
        return changelist

    def get_fields(self, request: HttpRequest, obj: Claim | None = None) -> list[str]:
        if obj is not None and self.has_change_permission(request, obj):
            return [*self.fields, "expected_version"]
        return list(self.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Claims are anchored from the reader or the API, where the span is validated.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Claim | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        membership = access.membership_get(user=request.user, project_id=obj.project_id)
        return access.claim_can_edit(claim=obj, membership=membership, user=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Claim | None = None) -> bool:
        # Verdicts, leases and the audit trail refer to claims: withdraw one instead.
        return False

    def service_save(self, request: HttpRequest, form: ServiceForm, *, change: bool) -> Claim:
        claim = form.instance
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if not changes:
            return claim
        expected = form.cleaned_data.get("expected_version") or claim.version
        try:
            return services.claim_update(
                claim=claim, actor=request.user, expected_version=expected, **changes
            )
        except (services.StaleVersion, services.QueueConflict) as exc:
            raise ValidationError(str(exc)) from None

    @admin.display(description="statement")
    def short_statement(self, obj: Claim) -> str:
        return obj.statement[:100]

    @admin.display(description="edit rule")
    def edit_rule(self, obj: Claim) -> str:
        """Why the statement, claimant and span are not editable in place (if they are not)."""
        reason = access.claim_frozen_reason(
            claim=obj, has_verdicts=access.claim_is_judged(claim=obj)
        )
        return reason or "Editable in place by its creator or an editor (no verdict yet)."

    # --- status changes: admin actions that call the review services -------------------

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Claim],
        *,
        done: str,
        call: Callable[[Claim], object],
    ) -> list[object]:
        """``call`` the service on each claim in its own transaction; report what was done
        and, claim by claim, what was refused and why (the services' words)."""
        results, refused = [], []
        for claim in queryset.select_related("project").order_by("pk"):
            try:
                results.append(call(claim))
            except (PermissionDenied, ValidationError, services.QueueConflict) as exc:
                refused.append(f"#{claim.pk} “{claim.statement[:60]}”: {refusal(exc)}")
        if results:
            self.message_user(
                request, f"{done.capitalize()}: {len(results)} claim(s).", messages.SUCCESS
            )
        for line in refused:
            self.message_user(request, f"Not {done}: {line}", messages.WARNING)
        return results

    def _confirm(
        self,
        request: HttpRequest,
        queryset: QuerySet[Claim],
        *,
        action: str,
        title: str,
        label: str,
        max_length: int,
        done: str,
        call: Callable[[Claim, str], object],
    ) -> TemplateResponse | None:
        """The intermediate page of an action that needs a note or a reason: ask for it,
        then apply the action to the selected claims (the standard admin pattern of
        ``delete_selected``: the page posts the selection and the action back)."""
        data = request.POST if "confirm" in request.POST else None
        form = NoteForm(data, label=label, max_length=max_length)
        if form.is_valid():
            text = form.cleaned_data["text"]
            self._apply(request, queryset, done=done, call=lambda claim: call(claim, text))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "claims": list(queryset.order_by("pk")),
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit": title,
        }
        return TemplateResponse(request, CONFIRMATION_TEMPLATE, context)

    # --- the queue: priority (deadlines are set on the claim page or through the API) ---

    def _set_priority(self, request: HttpRequest, queryset: QuerySet[Claim], key: str) -> None:
        self._apply(
            request,
            queryset,
            done=f"set to {key} priority",
            call=lambda claim: services.claim_schedule(
                claim=claim, actor=request.user, priority=key
            ),
        )

    @admin.action(description="Set priority: urgent", permissions=["change"])
    def set_priority_urgent(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        self._set_priority(request, queryset, "urgent")

    @admin.action(description="Set priority: high", permissions=["change"])
    def set_priority_high(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        self._set_priority(request, queryset, "high")

    @admin.action(description="Set priority: normal", permissions=["change"])
    def set_priority_normal(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        self._set_priority(request, queryset, "normal")

    @admin.action(description="Set priority: low", permissions=["change"])
    def set_priority_low(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        self._set_priority(request, queryset, "low")

    @admin.action(
        description="Reopen the selected claims (asks for a note)", permissions=["change"]
    )
    def reopen_claims(
        self, request: HttpRequest, queryset: QuerySet[Claim]
    ) -> TemplateResponse | None:
        return self._confirm(
            request,
            queryset,
            action="reopen_claims",
            title="Reopen claims",
            label="Why are they reopened?",
            max_length=limits.MAX_NOTE,
            done="reopened",
            call=lambda claim, note: services.claim_reopen(
                claim=claim, editor=request.user, note=note
            ),
        )

    @admin.action(
        description="Withdraw the selected claims (asks for a reason)", permissions=["change"]
    )
    def withdraw_claims(
        self, request: HttpRequest, queryset: QuerySet[Claim]
    ) -> TemplateResponse | None:
        return self._confirm(
            request,
            queryset,
            action="withdraw_claims",
            title="Withdraw claims",
            label="Why are they withdrawn?",
            max_length=limits.MAX_REASON,
            done="withdrawn",
            call=lambda claim, reason: services.claim_withdraw(
                claim=claim, actor=request.user, reason=reason
            ),
        )

    @admin.action(
        description="Publish the selected resolved claims (asks for the readers' summary)",
        permissions=["change"],
    )
    def publish_claims(
        self, request: HttpRequest, queryset: QuerySet[Claim]
    ) -> TemplateResponse | None:
        return self._confirm(
            request,
            queryset,
            action="publish_claims",
            title="Publish claims",
            label="Summary for readers (what was checked and what was found)",
            max_length=limits.MAX_SUMMARY,
            done="published",
            call=lambda claim, summary: services.claim_publish(
                claim=claim, editor=request.user, summary=summary
            ),
        )

    @admin.action(
        description="Retract the selected published claims (asks for the public notice)",
        permissions=["change"],
    )
    def retract_claims(
        self, request: HttpRequest, queryset: QuerySet[Claim]
    ) -> TemplateResponse | None:
        return self._confirm(
            request,
            queryset,
            action="retract_claims",
            title="Retract claims",
            label="Public retraction notice (why it is retracted)",
            max_length=limits.MAX_NOTE,
            done="retracted",
            call=lambda claim, note: services.claim_retract(
                claim=claim, editor=request.user, note=note
            ),
        )

    @admin.action(
        description="Mark the selected resolved claims as gold (their consensus rating)",
        permissions=["change"],
    )
    def mark_gold(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        self._apply(
            request,
            queryset,
            done="marked as gold",
            call=lambda claim: services.gold_mark(claim=claim, actor=request.user),
        )

    @admin.action(description="Remove the gold mark of the selected claims", permissions=["change"])
    def unmark_gold(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        self._apply(
            request,
            queryset,
            done="unmarked",
            call=lambda claim: services.gold_unmark(claim=claim, actor=request.user),
        )

    @admin.action(description="Recompute consensus for the selected claims", permissions=["change"])
    def recompute_consensus(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        results = self._apply(
            request,
            queryset,
            done="recomputed",
            call=lambda claim: services.consensus_recompute(claim=claim, actor=request.user),
        )
        if results:
            recorded = sum(result is not None for result in results)
            self.message_user(
                request, f"{recorded} new consensus record(s); see the events.", messages.INFO
            )
