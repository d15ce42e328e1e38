"""The claimant registry in the UI (issue 17, deliverable 5): the list with search and the
names used on claims that no claimant has registered yet, a page per claimant (their
claims with ratings as blind review allows, their repeats), and the editors' forms:
register, rename, aliases, merge. Claim forms suggest the registry's names through
``<datalist id="claimant-names">`` (``selectors.claimant_datalist``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import access, selectors, services
from annotations.models import Claimant, Project, Role
from workbench.ui.forms import (
    ClaimantAliasForm,
    ClaimantCreateForm,
    ClaimantEditForm,
    ClaimantMergeForm,
)
from workbench.ui.htmx import HtmxHttpRequest, attach_errors


def _registry_page(
    request: HtmxHttpRequest,
    project: Project,
    membership: Any,
    form: ClaimantCreateForm,
    *,
    status: int = 200,
) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    return render(
        request,
        "workbench/claimant_list.html",
        {
            "project": project,
            "registry": selectors.claimant_registry(project=project, query=query),
            "query": query,
            "is_editor": access.is_editor(membership),
            "form": form,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def claimant_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    if request.method == "GET":
        project, membership = access.project_get_for_user(user=request.user, slug=slug)
        return _registry_page(request, project, membership, ClaimantCreateForm())
    project, membership = access.project_get_for_user(
        user=request.user, slug=slug, role=Role.EDITOR
    )
    form = ClaimantCreateForm(request.POST)
    if form.is_valid():
        try:
            claimant = services.claimant_create(
                project=project, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"“{claimant.name}” is in the registry.")
            return redirect(reverse("workbench:claimant-detail", kwargs={"pk": claimant.pk}))
    return _registry_page(request, project, membership, form, status=422)


def _claimant_page(
    request: HtmxHttpRequest,
    claimant: Claimant,
    membership: Any,
    forms: dict[str, Form] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    is_editor = access.is_editor(membership)
    context: dict[str, Any] = {
        "project": claimant.project,
        "page": selectors.claimant_page(
            claimant=claimant, user=request.user, membership=membership
        ),
        "is_editor": is_editor,
    }
    if is_editor and claimant.merged_into_id is None:
        merge = ClaimantMergeForm()
        merge.fields["into"].choices = [
            (c.pk, c.name)
            for c in Claimant.objects.filter(
                project_id=claimant.project_id, merged_into__isnull=True
            ).exclude(pk=claimant.pk)
        ]
        context |= {
            "edit_form": ClaimantEditForm(
                initial={
                    "name": claimant.name,
                    "kind": claimant.kind,
                    "description": claimant.description,
                }
            ),
            "alias_form": ClaimantAliasForm(),
            "merge_form": merge,
        }
        if forms:
            for name, form in forms.items():
                if name == "merge_form":
                    form.fields["into"].choices = merge.fields["into"].choices  # type: ignore[attr-defined]
                context[name] = form
    return render(request, "workbench/claimant_detail.html", context, status=status)


@login_required
@require_GET
def claimant_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claimant, membership = access.claimant_get_for_user(user=request.user, pk=pk)
    return _claimant_page(request, claimant, membership)


def _done(request: HtmxHttpRequest, claimant: Claimant, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("workbench:claimant-detail", kwargs={"pk": claimant.pk}))


@login_required
@require_POST
def claimant_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claimant, membership = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = ClaimantEditForm(request.POST)
    if form.is_valid():
        try:
            claimant = services.claimant_update(
                claimant=claimant, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _done(request, claimant, "Saved.")
    return _claimant_page(request, claimant, membership, {"edit_form": form}, status=422)


@login_required
@require_POST
def claimant_alias_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claimant, membership = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = ClaimantAliasForm(request.POST)
    if form.is_valid():
        try:
            alias = services.claimant_alias_add(
                claimant=claimant, name=form.cleaned_data["name"], actor=request.user
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _done(request, claimant, f"Alias “{alias.name}” added.")
    return _claimant_page(request, claimant, membership, {"alias_form": form}, status=422)


@login_required
@require_POST
def claimant_alias_remove(request: HtmxHttpRequest, pk: int, alias_pk: int) -> HttpResponse:
    claimant, _ = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    try:
        services.claimant_alias_remove(claimant=claimant, alias_id=alias_pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("workbench:claimant-detail", kwargs={"pk": claimant.pk}))
    return _done(request, claimant, "Alias removed.")


@login_required
@require_POST
def claimant_merge(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claimant, membership = access.claimant_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = ClaimantMergeForm(request.POST)
    form.fields["into"].choices = [  # type: ignore[attr-defined]
        (c.pk, c.name)
        for c in Claimant.objects.filter(
            project_id=claimant.project_id, merged_into__isnull=True
        ).exclude(pk=claimant.pk)
    ]
    if form.is_valid():
        into = Claimant.objects.get(pk=form.cleaned_data["into"])
        try:
            target = services.claimant_merge(claimant=claimant, into=into, actor=request.user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _done(request, target, f"“{claimant.name}” merged into “{target.name}”.")
    return _claimant_page(request, claimant, membership, {"merge_form": form}, status=422)
