"""Members and invitations (issue 13, finding 5a).

A project admin's members page lists the members, invites a username or an email address
and revokes invitations; the answer to an invitation is the same whether or not the name
is an account ("Invitation sent"). Everybody's invitations page lists the invitations
addressed to them, to accept or decline: only an acceptance makes a membership."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import access, services
from annotations.models import Project, Role
from workbench.ui.forms import (
    EvidencePolicyForm,
    GoldRateForm,
    InviteForm,
    PublishingSettingsForm,
    ReviewPolicyForm,
)
from workbench.ui.htmx import HtmxHttpRequest, attach_errors


def _members_page(
    request: HtmxHttpRequest,
    project: Project,
    form: InviteForm,
    *,
    policy_form: EvidencePolicyForm | None = None,
    gold_form: GoldRateForm | None = None,
    review_form: ReviewPolicyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    at = services.now()
    invitations = [
        (invitation, access.invitation_status_for_inviter(invitation, at=at))
        for invitation in access.invitations_of_project(project=project)
    ]
    return render(
        request,
        "workbench/project_members.html",
        {
            "project": project,
            "members": project.memberships.select_related("user").order_by("user__username"),
            "invitations": invitations,
            "form": form,
            "policy_form": policy_form or EvidencePolicyForm.for_project(project),
            "gold_form": gold_form
            or GoldRateForm(initial={"gold_rate": project.gold_rate}, auto_id="gold-%s"),
            "review_form": review_form or ReviewPolicyForm.for_project(project),
        },
        status=status,
    )


def _settings_save(
    request: HtmxHttpRequest, project: Project, form: forms.Form, *, shown_as: str
) -> tuple[Project, HttpResponse | None]:
    """Save a settings form of the members page (its fields are ``project_update``'s):
    the project as saved and None, or the project and the members page again with the
    form's errors, the service's on their fields (422, nothing written). ``shown_as``:
    the form's name in ``_members_page``."""
    if form.is_valid():
        try:
            project = services.project_update(
                project=project, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            attach_errors(form, exc)
    if form.is_valid():
        return project, None
    return project, _members_page(request, project, InviteForm(), status=422, **{shown_as: form})


@login_required
@require_http_methods(["GET", "POST"])
def project_members(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.ADMIN)
    if request.method == "GET":
        return _members_page(request, project, InviteForm())
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _members_page(request, project, form, status=422)
    try:
        services.invitation_create(
            project=project,
            actor=request.user,
            invited_as=form.cleaned_data["username"],
            role=form.cleaned_data["role"],
        )
    except ValidationError as exc:
        attach_errors(form, exc)
        return _members_page(request, project, form, status=422)
    messages.success(
        request,
        f"Invitation sent to “{form.cleaned_data['username'].strip()}”. They become a member "
        "when they accept it.",
    )
    return redirect(reverse("workbench:project-members", kwargs={"slug": project.slug}))


@login_required
@require_POST
def invitation_revoke(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.ADMIN)
    invitation = access.invitation_get_for_admin(user=request.user, project_pk=project.pk, pk=pk)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except services.InvitationClosed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Invitation to “{invitation.invited_as}” revoked.")
    return redirect(reverse("workbench:project-members", kwargs={"slug": project.slug}))


@login_required
@require_GET
def invitation_list(request: HtmxHttpRequest) -> HttpResponse:
    invitations = access.invitations_for_invitee(user=request.user, at=services.now())
    return render(request, "workbench/invitations.html", {"invitations": invitations})


@login_required
@require_POST
def invitation_accept(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    invitation = access.invitation_get_for_invitee(user=request.user, pk=pk)
    try:
        membership = services.invitation_accept(invitation=invitation, user=request.user)
    except (services.InvitationClosed, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("workbench:invitation-list")
    messages.success(
        request,
        f"You joined {invitation.project.name} as {membership.get_role_display().lower()}.",
    )
    return redirect(invitation.project.get_absolute_url())


@login_required
@require_POST
def invitation_decline(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    invitation = access.invitation_get_for_invitee(user=request.user, pk=pk)
    try:
        services.invitation_decline(invitation=invitation, user=request.user)
    except services.InvitationClosed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Invitation to {invitation.project.name} declined.")
    return redirect("workbench:invitation-list")


@login_required
@require_POST
def project_publishing(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Project admins switch the public fact-check pages and feeds on or off."""
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.ADMIN)
    form = PublishingSettingsForm(request.POST)
    form.is_valid()  # a checkbox: absent is off, anything sent is on
    enabled = bool(form.cleaned_data.get("publishing_enabled"))
    services.project_update(project=project, actor=request.user, publishing_enabled=enabled)
    if enabled:
        messages.success(
            request,
            "Publishing is on: published fact checks have public pages under "
            f"/fact-checks/{project.slug}/.",
        )
    else:
        messages.success(request, "Publishing is off: the public pages and feeds answer 404.")
    return redirect(reverse("workbench:project-members", kwargs={"slug": project.slug}))


@login_required
@require_POST
def project_evidence_policy(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Project admins set the evidence policy every new verdict must meet."""
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.ADMIN)
    form = EvidencePolicyForm(request.POST, auto_id="policy-%s")
    project, refused = _settings_save(request, project, form, shown_as="policy_form")
    if refused is not None:
        return refused
    summary = project.evidence_policy_summary or "Verdicts need no citations."
    messages.success(request, f"Evidence policy saved. {summary}")
    return redirect(reverse("workbench:project-members", kwargs={"slug": project.slug}))


@login_required
@require_POST
def project_review_policy(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Project admins set the review policy: verdicts per claim, the consensus rule, the
    lease's length. Lowering the verdicts per claim decides, in the background, the claims
    in review that already hold enough (``services.project_update``)."""
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.ADMIN)
    before = project.required_reviews
    form = ReviewPolicyForm(request.POST, auto_id="review-%s")
    project, refused = _settings_save(request, project, form, shown_as="review_form")
    if refused is not None:
        return refused
    saved = (
        f"Review policy saved: {project.required_reviews} verdict(s) per claim, "
        f"{project.get_consensus_rule_display().lower()} rule, leases of "
        f"{project.lease_minutes} minutes."
    )
    if project.required_reviews < before:
        saved += (
            " Claims in review that already hold that many verdicts are decided in the background."
        )
    messages.success(request, saved)
    return redirect(reverse("workbench:project-members", kwargs={"slug": project.slug}))


@login_required
@require_POST
def project_gold_rate(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Project admins set the share of leases that serve a gold claim (calibration)."""
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.ADMIN)
    form = GoldRateForm(request.POST, auto_id="gold-%s")
    project, refused = _settings_save(request, project, form, shown_as="gold_form")
    if refused is not None:
        return refused
    messages.success(request, f"Gold rate saved: {project.gold_rate:g}.")
    return redirect(reverse("workbench:project-members", kwargs={"slug": project.slug}))
