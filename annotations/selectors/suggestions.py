"""Reads about check-worthiness suggestions: what the desk decided about a document's
sentences, which spans are claimed, and the decisions as training data."""

from __future__ import annotations

from annotations.models import (
    Claim,
    ClaimStatus,
    Document,
    Project,
    SuggestionDecision,
    SuggestionVerdict,
)


def suggestion_decisions_by_span(*, document: Document) -> dict[tuple[int, int], tuple[str, str]]:
    """``(start, end) -> (decision, reason)`` of the decisions on the current revision."""
    rows = SuggestionDecision.objects.filter(
        document=document, revision=document.revision
    ).values_list("start", "end", "decision", "reason")
    return {(start, end): (decision, reason) for start, end, decision, reason in rows}


def claimed_spans(*, document: Document) -> list[tuple[int, int]]:
    """The spans of the claims anchored in the current revision that are not withdrawn."""
    return list(
        Claim.objects.filter(document=document, anchor_revision=document.revision)
        .exclude(status=ClaimStatus.WITHDRAWN)
        .values_list("start", "end")
    )


def suggestion_training_rows(*, project: Project | None = None) -> list[tuple[str, int]]:
    """``(sentence, label)`` of every decision (of ``project``, or of all projects): 1 for
    accepted (check-worthy), 0 for dismissed; oldest first. A sentence decided both ways
    (in two documents) counts as decided each time."""
    queryset = SuggestionDecision.objects.order_by("created_at", "id")
    if project is not None:
        queryset = queryset.filter(project=project)
    return [
        (text, int(decision == SuggestionVerdict.ACCEPTED))
        for text, decision in queryset.values_list("text", "decision")
    ]
