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
from annotations.models import Claim, ClaimStatus, Rating
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
    WithdrawForm,
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


def _reviews(n: int) -> str:
    return f"{n} review" if n == 1 else f"{n} reviews"


def review_progress_text(claim: Claim, review: selectors.ClaimReview) -> str:
    """ "1 of 2 reviews in" where the page shows every verdict to the user
    (``review.reviews_in``), else only how many the project's policy asks for, while the
    claim is in review (a decided, disputed or withdrawn claim needs no more)."""
    required = claim.project.required_reviews
    if review.reviews_in is None:
        return f"{_reviews(required)} needed" if claim.status == ClaimStatus.IN_REVIEW else ""
    return f"{review.reviews_in} of {_reviews(required)} in"


def claim_status_text(claim: Claim, review: selectors.ClaimReview) -> str:
    """The claim's status in a fact-checker's words, from what the page already shows the
    user (a masked gold claim reads as in review: ``claim`` went through
    ``access.claims_present_for``, ``review.consensus`` is then empty)."""
    current = next((record for record in review.consensus if record.is_current), None)
    decided = f"{current.rating.label} ({current.get_method_display().lower()})" if current else ""
    if claim.status == ClaimStatus.IN_REVIEW:
        if review.reviews_in is None:
            return "In review"
        missing = claim.project.required_reviews - review.reviews_in
        return (
            f"In review — waiting for {missing} more {'review' if missing == 1 else 'reviews'}"
            if missing > 0
            else "In review"
        )
    if claim.status == ClaimStatus.DISPUTED:
        return "Disputed — waiting for an editor"
    if claim.status == ClaimStatus.RESOLVED:
        return f"Resolved: {decided}" if decided else "Resolved"
    if claim.status in (ClaimStatus.PUBLISHED, ClaimStatus.CORRECTED):
        label = claim.get_status_display()
        return f"{label}: {decided}" if decided else label
    return claim.get_status_display()


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
        "withdraw_form": WithdrawForm(auto_id="withdraw-%s"),
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
        "status_text": claim_status_text(claim, review),
        "progress_text": review_progress_text(claim, review),
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
