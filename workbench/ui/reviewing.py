"""Reviewer web UI, reviewing side: the claim page, the review queue and the editors' disputes.

Every view does four things: look the object up through ``annotations.access`` (404 for
non-members, 403 below the role an action needs), bind a form, call one service, render.
A plain POST redirects (post/redirect/get); an htmx POST gets the updated fragment back
(``template#partial``; the claim page from ``workbench.ui.claim_page``). A service's
ValidationError lands on the form, a QueueConflict becomes a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from annotations import access, selectors, services
from annotations.models import Claim, Project, Rating, Role
from workbench.ui.claim_page import (
    citation_formset,
    correct_initial,
    editor_forms,
    render_claim_page,
)
from workbench.ui.forms import (
    CITATION_PREFIX,
    AdjudicateForm,
    CitationForm,
    CitationFormSet,
    CitationRowForm,
    ClaimEditForm,
    ClaimReviseForm,
    CorrectForm,
    EditorActionForm,
    GoldForm,
    PublishForm,
    ReopenForm,
    RetractForm,
    SkipForm,
    SourceSearchForm,
    VerdictForm,
    WithdrawForm,
)
from workbench.ui.htmx import (
    HtmxHttpRequest,
    attach_errors,
    redirect_to,
    render_page_or_partial,
)
from workbench.ui.live import live_context

DISPUTES_PAGE = "workbench/disputes.html"
QUEUE_EMPTY_PAGE = "workbench/queue_empty.html"


# --- helpers ---------------------------------------------------------------------------------


def _claim_done(
    request: HtmxHttpRequest,
    pk: int,
    notice: str,
    *,
    partial: str = "review-panel",
    level: int = messages.SUCCESS,
) -> HttpResponse:
    """After a write (or a refused one): redirect a browser, refresh the fragment for htmx."""
    if request.htmx:
        return render_claim_page(request, pk, partial=partial, notice=notice, level=level)
    messages.add_message(request, level, notice)
    return redirect("workbench:claim-detail", pk=pk)


def _next_claim(
    request: HtmxHttpRequest, project: Project, done: str, claim: Claim
) -> HttpResponse:
    """The review loop: after a verdict or a skip, the user's next claim from the queue (a
    lease, ``services.lease_next``) or the page that says why there is none, with a message
    "<done> <the claim, linked>" to go back. A redirect for a browser, ``HX-Redirect`` for
    htmx (the whole page changes)."""
    messages.success(
        request,
        format_html(
            '{} <a href="{}">{}</a>',
            done,
            claim.get_absolute_url(),
            truncatechars(claim.statement, 80),
        ),
    )
    assignment = services.lease_next(reviewer=request.user, project=project)
    if assignment is None:
        return redirect_to(request, reverse("workbench:queue-empty", kwargs={"slug": project.slug}))
    return redirect_to(
        request, reverse("workbench:claim-detail", kwargs={"pk": assignment.claim_id})
    )


@dataclass(frozen=True)
class DisputeItem:
    card: selectors.DisputeCard
    adjudicate_form: AdjudicateForm
    reopen_form: ReopenForm
    publish_form: PublishForm


def _dispute_item(
    card: selectors.DisputeCard, ratings: list[Rating], forms: dict[str, Any]
) -> DisputeItem:
    return DisputeItem(card=card, **{**editor_forms(card.claim.pk, ratings), **forms})


def _disputes_page(
    request: HtmxHttpRequest,
    project: Project,
    *,
    claim_id: int | None = None,
    notice: str = "",
    level: int = messages.INFO,
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    """The disputes page; for htmx only the card of ``claim_id``. ``forms`` (bound, with
    errors) go to that card."""
    ratings = selectors.ratings_for_project(project_id=project.pk)
    if request.htmx and claim_id is not None:
        card = selectors.dispute_card_get(project=project, claim_id=claim_id)
        context = {"project": project, "item": _dispute_item(card, ratings, forms)}
        return render_page_or_partial(
            request, DISPUTES_PAGE, "dispute-card", context, notice=notice, level=level
        )
    lists = selectors.dispute_cards_for_editor(project=project)
    partial = "dispute-lists"
    context = {
        "project": project,
        "disputed": [
            _dispute_item(c, ratings, forms if c.claim.pk == claim_id else {})
            for c in lists.disputed
        ],
        "resolved": [
            _dispute_item(c, ratings, forms if c.claim.pk == claim_id else {})
            for c in lists.resolved
        ],
        "disputed_total": lists.disputed_total,
        "resolved_total": lists.resolved_total,
    }
    if not request.htmx:
        context |= live_context(project, "disputes")
    return render_page_or_partial(
        request, DISPUTES_PAGE, partial, context, notice=notice, level=level, status=status
    )


def _editor_response(
    request: HtmxHttpRequest,
    claim: Claim,
    form: EditorActionForm,
    *,
    done: bool,
    notice: str = "",
    level: int = messages.SUCCESS,
) -> HttpResponse:
    """Editors act from the claim page or the disputes page (the form's ``origin``); answer
    on the page they came from: redirect after a plain POST, else that page's fragment."""
    on_disputes = form.origin() == "disputes"
    if done and not request.htmx:
        messages.add_message(request, level, notice)
        if on_disputes:
            return redirect(reverse("workbench:disputes", kwargs={"slug": claim.project.slug}))
        return redirect(claim.get_absolute_url())
    refused = {} if done else {form.form_key: form, "status": 422}
    if on_disputes:
        return _disputes_page(
            request, claim.project, claim_id=claim.pk, notice=notice, level=level, **refused
        )
    return render_claim_page(request, claim.pk, notice=notice, level=level, **refused)


# --- claim page --------------------------------------------------------------------------------


@login_required
@require_GET
def claim_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return render_claim_page(request, pk)


@login_required
@require_POST
def claim_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    form = ClaimEditForm(request.POST, auto_id="claim-%s")
    if form.is_valid():
        try:
            services.claim_update(
                claim=claim,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                statement=form.cleaned_data["statement"],
                claimant=form.cleaned_data["claimant"],
            )
        except services.StaleVersion as exc:
            # Nothing is lost: the user's text stays in the fields, next to the current text.
            form.add_error(
                None,
                f"{exc} Your text is kept below; compare it with the current statement "
                "and save again to replace it.",
            )
            form.rebase(exc.current)
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            # What was judged is frozen (or published): say why, save nothing.
            return render_claim_page(
                request, pk, partial="claim-form", notice=str(exc), level=messages.ERROR, status=409
            )
        else:
            return _claim_done(request, pk, "Claim saved.", partial="claim-form")
    elif "version" in form.errors:
        form.rebase(claim.version)
    return render_claim_page(request, pk, partial="claim-form", status=422, edit_form=form)


@login_required
@require_POST
def claim_revise(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """An editor revises a judged claim: a new version, back to review (services.claim_revise)."""
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = ClaimReviseForm(request.POST, auto_id="revise-%s")
    if form.is_valid():
        try:
            revised = services.claim_revise(
                claim=claim,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                statement=form.cleaned_data["statement"],
                claimant=form.cleaned_data["claimant"],
                note=form.cleaned_data["note"],
            )
        except services.StaleVersion as exc:
            form.add_error(None, f"{exc} Reload the page to revise the current text.")
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            return render_claim_page(
                request, pk, partial="claim-form", notice=str(exc), level=messages.ERROR, status=409
            )
        else:
            return _claim_done(
                request,
                pk,
                f"Claim revised: version {revised.claim_version} is back in review; earlier "
                "verdicts are kept with the version they judged.",
                partial="claim-form",
            )
    elif "version" in form.errors:
        form.rebase(claim.version)
    return render_claim_page(request, pk, partial="claim-form", status=422, revise_form=form)


# The same verdict sent again (``services.verdict_submit``: nothing written).
UNCHANGED = "Your verdict is unchanged: this one was recorded already."


@login_required
@require_POST
def verdict_submit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    ratings = selectors.ratings_for_project(project_id=claim.project_id)
    form = VerdictForm(request.POST, ratings=ratings, auto_id="verdict-%s")
    citations = citation_formset(claim, data=request.POST)
    if "add_citation" in request.POST:  # "Add citation" without JavaScript: one more row
        return render_claim_page(request, pk, **_with_citation_row(claim, form, citations, ratings))
    if all([form.is_valid(), citations.is_valid()]):
        try:
            submitted = services.verdict_submit_as_member(
                claim_id=claim.pk,
                reviewer=request.user,
                citations=citations.citation_inputs(),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            # Keep what the reviewer wrote (their lease may have run out while writing).
            return render_claim_page(
                request,
                pk,
                notice=str(exc),
                level=messages.ERROR,
                status=409,
                verdict_form=form,
                citation_formset=citations,
            )
        else:
            # Submit → next claim; "Submit and stay" (and a revision) stay on the claim. The
            # same verdict over again (a second click) wrote nothing: say so.
            if request.POST.get("after") == "stay":
                done = "Your verdict is recorded." if submitted.written else UNCHANGED
                return _claim_done(request, pk, done)
            done = (
                "Verdict saved on"
                if submitted.written
                else "Verdict unchanged (already recorded) on"
            )
            return _next_claim(request, claim.project, done, claim)
    return render_claim_page(request, pk, status=422, verdict_form=form, citation_formset=citations)


def _with_citation_row(
    claim: Claim, form: VerdictForm, citations: Any, ratings: list[Rating]
) -> dict[str, Any]:
    """The typed verdict as unbound forms (no premature errors) plus an empty citation row."""
    rows = [{name: row[name].value() for name in row.fields} for row in citations.forms]
    formset = citation_formset(claim, initial=rows)
    formset.extra = 1
    verdict = VerdictForm(
        ratings=ratings,
        initial={name: form[name].value() for name in form.fields},
        auto_id="verdict-%s",
    )
    return {"verdict_form": verdict, "citation_formset": formset}


@login_required
@require_GET
def citation_row(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    form = CitationRowForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("index must be a row number from 0 to 49.")
    index = form.cleaned_data["index"]
    row = CitationForm(
        prefix=f"{CITATION_PREFIX}-{index}",
        use_required_attribute=False,
        empty_permitted=True,
        search_url=reverse("workbench:source-search", kwargs={"pk": claim.pk}),
    )
    context = {
        "claim": claim,
        "form": row,
        "index": index,
        "oob": True,
        "next_index": index + 1,
        "can_add_citation": index + 1 < CitationFormSet.absolute_max,
    }
    return render(request, "workbench/_citation_row.html", context)


@login_required
@require_GET
def source_search(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    form = SourceSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    sources = selectors.sources_search_for_user(
        user=request.user, project=claim.project, query=query
    )
    return render(request, "workbench/_source_options.html", {"sources": sources})


# --- review queue ------------------------------------------------------------------------------


@login_required
@require_POST
def queue_next(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, _ = access.project_get_for_user(user=request.user, slug=slug)
    assignment = services.lease_next(reviewer=request.user, project=project)
    if assignment is None:
        return redirect_to(request, reverse("workbench:queue-empty", kwargs={"slug": slug}))
    return redirect_to(
        request, reverse("workbench:claim-detail", kwargs={"pk": assignment.claim_id})
    )


@login_required
@require_GET
def queue_empty(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Where "Review next" lands when it found nothing: why, in figures
    (``selectors.queue_empty_reasons``), and the button to ask again."""
    project, membership = access.project_get_for_user(user=request.user, slug=slug)
    reasons = selectors.queue_empty_reasons(user=request.user, project=project)
    context = {"project": project, "membership": membership, "reasons": reasons}
    return render(request, QUEUE_EMPTY_PAGE, context)


@login_required
@require_POST
def lease_release(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    try:
        services.lease_release(claim=claim, reviewer=request.user)
    except services.QueueConflict as exc:
        return _claim_done(request, pk, str(exc), level=messages.ERROR)
    return _claim_done(request, pk, "Lease released; the claim is back in the queue.")


@login_required
@require_POST
def claim_skip(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    form = SkipForm(request.POST, auto_id="skip-%s")
    if form.is_valid():
        try:
            services.claim_skip(
                claim=claim, reviewer=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            return _claim_done(request, pk, str(exc), level=messages.ERROR)
        else:
            return _next_claim(
                request, claim.project, "Skipped (it will not be offered to you again):", claim
            )
    return render_claim_page(request, pk, status=422, skip_form=form)


@login_required
@require_POST
def claim_withdraw(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Withdraw the claim with a reason (its creator before any verdict, or an editor:
    ``services.claim_withdraw`` checks and audits); the whole page changes."""
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
    form = WithdrawForm(request.POST, auto_id="withdraw-%s")
    if form.is_valid():
        try:
            services.claim_withdraw(
                claim=claim, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            messages.error(request, str(exc))
            return redirect_to(request, claim.get_absolute_url())
        else:
            messages.success(request, "Claim withdrawn: it has left the review queue.")
            return redirect_to(request, claim.get_absolute_url())
    return render_claim_page(request, pk, partial="claim-form", status=422, withdraw_form=form)


# --- editors -----------------------------------------------------------------------------------


@login_required
@require_GET
def disputes(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    project, _ = access.project_get_for_user(user=request.user, slug=slug, role=Role.EDITOR)
    return _disputes_page(request, project)


def _editor_action(
    request: HtmxHttpRequest, claim: Claim, form: Any, act: Callable[[], object], notice: str
) -> HttpResponse:
    """An editor's decision on ``claim``: when ``form`` is valid, ``act()`` (the service
    call, reading ``form.cleaned_data``), then the editor's panel with ``notice``, the
    state's refusal (QueueConflict) or the form's errors (ValidationError, nothing
    written)."""
    if form.is_valid():
        try:
            act()
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.QueueConflict as exc:
            return _editor_response(
                request, claim, form, done=True, notice=str(exc), level=messages.ERROR
            )
        else:
            return _editor_response(request, claim, form, done=True, notice=notice)
    return _editor_response(request, claim, form, done=False)


@login_required
@require_POST
def claim_adjudicate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    ratings = selectors.ratings_for_project(project_id=claim.project_id)
    form = AdjudicateForm(request.POST, ratings=ratings, auto_id=f"adjudicate-{pk}-%s")
    return _editor_action(
        request,
        claim,
        form,
        lambda: services.claim_adjudicate(
            claim=claim,
            editor=request.user,
            rating=form.cleaned_data["rating"],
            note=form.cleaned_data["note"],
        ),
        "Decision recorded.",
    )


@login_required
@require_POST
def claim_reopen(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = ReopenForm(request.POST, auto_id=f"reopen-{pk}-%s")
    return _editor_action(
        request,
        claim,
        form,
        lambda: services.claim_reopen(
            claim=claim, editor=request.user, note=form.cleaned_data["note"]
        ),
        "Reopened: the claim is disputed again.",
    )


@login_required
@require_POST
def claim_gold(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Mark the claim as gold (or change its expected rating), or with ``unmark`` take the
    mark off: editors and admins."""
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    ratings = selectors.ratings_for_project(project_id=claim.project_id)
    form = GoldForm(request.POST, ratings=ratings, auto_id=f"gold-{pk}-%s")
    if request.POST.get("unmark"):
        return _editor_action(
            request,
            claim,
            form,
            lambda: services.gold_unmark(claim=claim, actor=request.user),
            "Gold mark removed.",
        )
    return _editor_action(
        request,
        claim,
        form,
        lambda: services.gold_mark(
            claim=claim,
            actor=request.user,
            rating=form.cleaned_data["rating"] or None,
            note=form.cleaned_data["note"],
        ),
        "Marked as gold: the queue mixes it into reviewers' queues at the project's gold rate.",
    )


@login_required
@require_POST
def claim_publish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = PublishForm(request.POST, auto_id=f"publish-{pk}-%s")
    return _editor_action(
        request,
        claim,
        form,
        lambda: services.claim_publish(
            claim=claim, editor=request.user, summary=form.cleaned_data["summary"]
        ),
        "Published.",
    )


@login_required
@require_POST
def claim_correct(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    ratings = selectors.ratings_for_project(project_id=claim.project_id)
    form = CorrectForm(
        request.POST,
        ratings=ratings,
        initial=correct_initial(claim),
        auto_id=f"correct-{pk}-%s",
    )
    return _editor_action(
        request,
        claim,
        form,
        lambda: services.claim_correct(
            claim=claim, editor=request.user, note=form.cleaned_data["note"], **form.changes()
        ),
        "Correction published.",
    )


@login_required
@require_POST
def claim_retract(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
    form = RetractForm(request.POST, auto_id=f"retract-{pk}-%s")
    return _editor_action(
        request,
        claim,
        form,
        lambda: services.claim_retract(
            claim=claim, editor=request.user, note=form.cleaned_data["note"]
        ),
        "Retracted.",
    )
