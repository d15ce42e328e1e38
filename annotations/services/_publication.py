"""Writing one publication version (``Publication``): the snapshot of what readers see.

Shared by ``review.claim_publish`` (version 1) and ``publishing.claim_correct`` /
``claim_retract`` (later versions); it imports neither, so both can import it. The
callers hold the claim's lock and record the status change; this writes the row and its
``publication.<kind>`` event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from annotations.models import Citation, Claim, Consensus, Publication, Rating, Verdict
from annotations.services import webhooks
from annotations.services._base import User, event_record


def citations_snapshot(consensus: Consensus | None) -> list[dict[str, str]]:
    """The sources the decision rests on (the citations of its verdicts), as readers see
    them: URL, title, publisher, archived copy, quoted passage and stance, each once, in a
    fixed order. No reviewer is named."""
    if consensus is None:
        return []
    verdict_ids = list(consensus.verdicts.values_list("pk", flat=True))
    if not verdict_ids:
        # A correction's record lists the verdicts current when it was made.
        verdict_ids = list(
            Verdict.objects.filter(
                claim_id=consensus.claim_id, is_current=True, calibration=False
            ).values_list("pk", flat=True)
        )
    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    for citation in Citation.objects.filter(verdict_id__in=verdict_ids).select_related("source"):
        source = citation.source
        key = (source.url, citation.quote, citation.stance)
        seen.setdefault(
            key,
            {
                "url": source.url,
                "title": source.title,
                "publisher": source.publisher,
                "archive_url": source.archive_url,
                "quote": citation.quote,
                "stance": citation.stance,
            },
        )
    return [seen[key] for key in sorted(seen)]


def rating_snapshot(rating: Rating) -> dict[str, Any]:
    """The rating as the project's scale has it now: key, label (alternateName) and, for
    a rating on the ordinal scale, its value with the scale's best and worst."""
    ordinals = sorted(
        {
            o
            for o in Rating.objects.filter(project_id=rating.project_id).values_list(
                "ordinal", flat=True
            )
            if o is not None
        }
    )
    on_scale = rating.ordinal is not None and len(ordinals) >= 2
    return {
        "rating_key": rating.key,
        "rating_label": rating.label,
        "rating_value": rating.ordinal if on_scale else None,
        "best_rating": ordinals[-1] if on_scale else None,
        "worst_rating": ordinals[0] if on_scale else None,
    }


def publication_append(
    *,
    claim: Claim,
    kind: str,
    editor: User,
    now: dt.datetime,
    consensus: Consensus | None,
    statement: str,
    claimant: str,
    summary: str,
    note: str = "",
    rating: Rating | None = None,
    previous: Publication | None = None,
    citations: list[dict[str, str]] | None = None,
) -> Publication:
    """Append the claim's next publication version (caller holds the claim lock).

    The first version (``previous`` None) snapshots the appearance and the publisher from
    the document and project; later versions carry them over from ``previous``, so a
    correction changes only what it says it changes. ``rating`` None keeps the previous
    version's rating; ``citations`` None snapshots the sources of ``consensus``."""
    document = claim.document
    project = claim.project
    if previous is None:
        carried: dict[str, Any] = {
            "appearance_title": document.title,
            "appearance_url": document.source_url,
            "appearance_date": document.published_date,
            "publisher_name": (project.organization or project.name).strip(),
            # Only an http(s) address is published (a row written around the services may
            # hold anything; the services accept only http(s)).
            "publisher_url": project.organization_url
            if project.organization_url.lower().startswith(("http://", "https://"))
            else "",
            "published_at": now,
        }
    else:
        carried = {
            name: getattr(previous, name)
            for name in (
                "appearance_title",
                "appearance_url",
                "appearance_date",
                "publisher_name",
                "publisher_url",
                "published_at",
            )
        }
        # Versions appear in order even if the clock stepped back.
        now = max(now, previous.modified_at)
    if rating is not None:
        rated = rating_snapshot(rating)
    elif previous is not None:
        rated = {
            name: getattr(previous, name)
            for name in (
                "rating_key",
                "rating_label",
                "rating_value",
                "best_rating",
                "worst_rating",
            )
        }
    else:
        raise ValueError("the first publication needs a rating")
    version = Publication(
        claim=claim,
        project_id=claim.project_id,
        number=(previous.number + 1) if previous else 1,
        kind=kind,
        statement=statement,
        claimant=claimant,
        consensus=consensus,
        summary=summary,
        note=note,
        citations=citations_snapshot(consensus) if citations is None else citations,
        modified_at=now,
        editor=editor,
        **rated,
        **carried,
    )
    version.full_clean()
    version.save()
    event_record(
        actor=editor,
        verb=f"publication.{kind}",
        obj=version,
        project_id=claim.project_id,
        after={
            "claim": claim.pk,
            "number": version.number,
            "rating": version.rating_key,
            "statement": statement,
            "claimant": claimant,
            "summary": summary,
            "note": note,
        },
    )
    webhooks.claim_publication(
        project=project,
        claim_id=claim.pk,
        kind=kind,
        number=version.number,
        rating=version.rating_key,
    )
    return version


def publication_latest(claim: Claim) -> Publication | None:
    return Publication.objects.filter(claim=claim).order_by("-number").first()
