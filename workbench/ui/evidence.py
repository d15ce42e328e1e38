"""Evidence pages (issue 16): a snapshot's archived text (plain, escaped, the cited
quote in ``<mark>``), its WARC download, and "archive again" from the claim page. A
snapshot is visible exactly where its source is (``access``): 404 for anyone else."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotations import access, selectors, services
from annotations.core.numbers import MAX_ID, whole_number
from workbench.ui.htmx import HtmxHttpRequest, redirect_to


@login_required
@require_GET
def snapshot_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    snapshot = access.snapshot_get_for_user(user=request.user, pk=pk)
    # The citation whose quote to mark: an id in ASCII digits (core.numbers), as the API
    # reads one; anything else ("٣", "+3") marks nothing.
    citation = whole_number(request.GET.get("citation", ""))
    start, end = (
        selectors.quote_check_for_user(user=request.user, snapshot=snapshot, citation_id=citation)
        if citation is not None and 0 < citation <= MAX_ID
        else (None, None)
    )
    text = selectors.archived_text(snapshot=snapshot, start=start, end=end)
    return render(
        request,
        "workbench/snapshot_detail.html",
        {"snapshot": snapshot, "source": snapshot.source, "archived": text},
    )


@login_required
@require_GET
def snapshot_warc(request: HtmxHttpRequest, pk: int) -> FileResponse:
    snapshot = access.snapshot_get_for_user(user=request.user, pk=pk)
    handle = selectors.warc_open(snapshot)
    if handle is None:
        raise Http404
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"snapshot-{snapshot.pk}.warc.gz",
        content_type="application/warc",
    )


@login_required
@require_POST
def source_snapshot(request: HtmxHttpRequest, claim_pk: int, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=claim_pk)
    source = access.source_get_for_user(user=request.user, pk=pk)
    services.snapshot_request(source=source, actor=request.user)
    messages.info(request, "A new snapshot of the source is queued; it appears here once taken.")
    return redirect_to(request, reverse("workbench:claim-detail", kwargs={"pk": claim.pk}))
