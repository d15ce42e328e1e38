"""Reviewer web UI, reading side: projects, dashboard, documents and the reader."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from annotations import selectors, spans
from annotations.models import Role


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    projects = selectors.project_list_for_user(user=request.user).order_by("name")
    return render(request, "workbench/project_list.html", {"projects": projects})


@login_required
@require_GET
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project, membership = selectors.project_get_for_user(user=request.user, slug=slug)
    documents = selectors.document_list_for_user(user=request.user, project=project).defer(
        "text", "raw_text"
    )
    return render(
        request,
        "workbench/project_detail.html",
        {"project": project, "membership": membership, "documents": documents},
    )


@login_required
@require_GET
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document, membership = selectors.document_get_for_user(user=request.user, pk=pk)
    claims = list(selectors.claims_for_reader(document=document))
    paragraphs = spans.segment(
        document.text, [(claim.pk, claim.start, claim.end) for claim in claims]
    )
    return render(
        request,
        "workbench/document_detail.html",
        {
            "document": document,
            "membership": membership,
            "claims": claims,
            "paragraphs": paragraphs,
        },
    )


@login_required
@require_GET
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    claim, membership = selectors.claim_get_for_user(user=request.user, pk=pk)
    verdicts = selectors.verdicts_visible_to(user=request.user, claim=claim, membership=membership)
    return render(
        request,
        "workbench/claim_detail.html",
        {
            "claim": claim,
            "membership": membership,
            "verdicts": verdicts,
            "is_editor": selectors.role_at_least(membership, Role.EDITOR),
            "consensus": selectors.consensus_history(claim=claim),
        },
    )


urlpatterns = [
    path("", project_list, name="project-list"),
    path("projects/<slug:slug>/", project_detail, name="project-detail"),
    path("documents/<int:pk>/", document_detail, name="document-detail"),
    path("claims/<int:pk>/", claim_detail, name="claim-detail"),
]
