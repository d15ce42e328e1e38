"""Editors' reviewer statistics (issue 18): a page and its CSV download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotations import access, selectors
from annotations.models import Role
from workbench.ui.htmx import HtmxHttpRequest


@login_required
@require_GET
def reviewer_stats(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, membership = access.project_get_for_user(
        user=request.user, slug=slug, role=Role.EDITOR
    )
    return render(
        request,
        "workbench/project_reviewers.html",
        {
            "project": project,
            "membership": membership,
            "figures": selectors.reviewer_statistics(project=project),
            "gold_claims": selectors.gold_claims_of_project(project=project),
        },
    )


@login_required
@require_GET
def reviewer_stats_csv(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.EDITOR)
    figures = selectors.reviewer_statistics(project=project)
    response = StreamingHttpResponse(
        selectors.reviewer_statistics_csv(figures), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-reviewers.csv"'
    return response
