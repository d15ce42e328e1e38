"""The claim page as the user may see it now, for every view that answers with it or with
one of its fragments: the reviewing views (edit, verdict, skip, lease, editors' actions)
and the re-anchor views. One lookup through ``access``, one selector for the review state,
the page's unbound forms, and any bound forms the caller passes in their place.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from annotations import access, selectors
from annotations.core import scheduling
from annotations.models import Claim, Rating
from workbench.ui.forms import (
    CITATION_PREFIX,
    AdjudicateForm,
    AssignForm,
    CitationFormSet,
    ClaimEditForm,
    ClaimReviseForm,
    ClaimScheduleForm,
    CommentForm,
    CorrectForm,
    GoldForm,
    PublishForm,
    ReopenForm,
    RetractForm,
    SkipForm,
    VerdictForm,
)
from workbench.ui.htmx import HtmxHttpRequest, render_page_or_partial

CLAIM_PAGE = "workbench/claim_detail.html"


def citation_formset(
    claim: Claim, *, data: Any = None, initial: list[dict[str, Any]] | None = None
) -> Any:
    """The verdict's citation rows; the URL field searches the claim project's sources."""
    return CitationFormSet(
        data,
        initial=initial,
        prefix=CITATION_PREFIX,
        extra_rows=0 if initial else 1,
        form_kwargs={"search_url": reverse("workbench:source-search", kwargs={"pk": claim.pk})},
    )


def editor_forms(claim_id: int, ratings: list[Rating]) -> dict[str, Any]:
    """The editors' unbound forms for one claim (ids unique per claim: the disputes page
    shows many)."""
    return {
        "adjudicate_form": AdjudicateForm(ratings=ratings, auto_id=f"adjudicate-{claim_id}-%s"),
        "reopen_form": ReopenForm(auto_id=f"reopen-{claim_id}-%s"),
        "publish_form": PublishForm(auto_id=f"publish-{claim_id}-%s"),
    }


def correct_initial(claim: Claim) -> dict[str, str]:
    """The correction form starts from the latest published version's wording."""
    latest = selectors.publications_of_claim(claim=claim).last()
    if latest is None:
        return {}
    return {"statement": latest.statement, "claimant": latest.claimant, "summary": latest.summary}


def _claim_forms(claim: Claim, review: selectors.ClaimReview) -> dict[str, Any]:
    """Unbound forms of the claim page; a revision starts from the user's current verdict."""
    own = review.own_verdict
    verdict_initial = (
        {"rating": own.rating.key, "confidence": own.confidence, "rationale": own.rationale}
        if own
        else None
    )
    citations = [
        {"url": c.source.url, "quote": c.quote, "stance": c.stance}
        for c in (own.citations.all() if own else ())
    ]
    return {
        "edit_form": ClaimEditForm(
            initial={
                "statement": claim.statement,
                "claimant": claim.claimant,
                "version": claim.version,
            },
            auto_id="claim-%s",
        ),
        "revise_form": ClaimReviseForm(
            initial={
                "statement": claim.statement,
                "claimant": claim.claimant,
                "version": claim.version,
            },
            auto_id="revise-%s",
        ),
        "verdict_form": VerdictForm(
            ratings=review.ratings, initial=verdict_initial, auto_id="verdict-%s"
        ),
        "citation_formset": citation_formset(claim, initial=citations),
        "evidence_policy": claim.project.evidence_policy_summary,
        "skip_form": SkipForm(auto_id="skip-%s"),
        **editor_forms(claim.pk, review.ratings),
        "correct_form": CorrectForm(
            ratings=review.ratings,
            initial=correct_initial(claim) if review.can_correct else {},
            auto_id=f"correct-{claim.pk}-%s",
        ),
        "retract_form": RetractForm(auto_id=f"retract-{claim.pk}-%s"),
        "schedule_form": ClaimScheduleForm(
            initial={
                "priority": scheduling.priority_key(claim.priority),
                "due_at": timezone.localtime(claim.due_at) if claim.due_at else None,
            },
            auto_id="schedule-%s",
        ),
        "assign_form": AssignForm(auto_id="assign-%s"),
        "comment_form": CommentForm(auto_id="comment-%s"),
        "gold_form": GoldForm(
            ratings=review.ratings,
            initial={"rating": review.gold.rating.key, "note": review.gold.note}
            if review.gold
            else {},
            auto_id=f"gold-{claim.pk}-%s",
        ),
        "public_url": (
            reverse("public:factcheck-detail", kwargs={"slug": claim.project.slug, "pk": claim.pk})
            if review.publications and claim.project.publishing_enabled
            else ""
        ),
    }


def render_claim_page(
    request: HtmxHttpRequest,
    pk: int,
    *,
    partial: str = "review-panel",
    notice: str = "",
    level: int = messages.INFO,
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    """The claim page (or for htmx its ``partial``) as the user may see it now; ``forms``
    replace the unbound defaults, e.g. a bound form with errors (then ``status`` 422), or
    the re-anchor panel's state as ``reanchor``."""
    claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
    access.claims_present_for(user=request.user, claims=[claim], membership=membership)
    review = selectors.claim_review_get(user=request.user, claim=claim, membership=membership)
    context = {
        "claim": claim,
        "review": review,
        # The discussion as the user may read it (blind review: ``access.comments_of_claim``).
        "thread": selectors.claim_thread(claim=claim, user=request.user, membership=membership),
        **_claim_forms(claim, review),
        # Callables: the template runs them only where it shows their part (the registry
        # link under the claimant; the suggestions of the edit and revise forms).
        "registered_claimant": functools.partial(
            selectors.claimant_for_text, project_id=claim.project_id, text=claim.claimant
        ),
        "claimant_options": functools.partial(selectors.claimant_datalist, project=claim.project),
        **forms,
    }
    return render_page_or_partial(
        request, CLAIM_PAGE, partial, context, notice=notice, level=level, status=status
    )
