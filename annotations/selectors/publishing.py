"""Reads of published fact checks: a claim's publication versions (API, claim page), the
public pages (no sign-in), the feeds and the ClaimReview export.

The public reads answer only for projects with ``publishing_enabled`` and only from
``Publication`` rows: a claim that was never published, another project's claim and a
project that does not publish are the same ``Http404`` as an id that does not exist.
They never read verdicts, reviewers or anything not copied into a version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from annotations.core import publishing
from annotations.models import Claim, Document, Project, Publication, PublicationKind


def version_dict(version: Publication) -> dict[str, Any]:
    """A version as the plain values ``core.publishing`` builds from (and the API shows)."""
    return {
        "claim": version.claim_id,
        "number": version.number,
        "kind": version.kind,
        "statement": version.statement,
        "claimant": version.claimant,
        "rating_key": version.rating_key,
        "rating_label": version.rating_label,
        "rating_value": version.rating_value,
        "best_rating": version.best_rating,
        "worst_rating": version.worst_rating,
        "summary": version.summary,
        "note": version.note,
        "citations": list(version.citations or []),
        "appearance_title": version.appearance_title,
        "appearance_url": version.appearance_url,
        "appearance_date": version.appearance_date.isoformat() if version.appearance_date else None,
        "publisher_name": version.publisher_name,
        "publisher_url": version.publisher_url,
        "published_at": publishing.utc_iso(version.published_at),
        "modified_at": publishing.utc_iso(version.modified_at),
    }


def publications_of_claim(*, claim: Claim) -> QuerySet[Publication]:
    """Every publication version of ``claim``, oldest first (callers checked access)."""
    return Publication.objects.filter(claim=claim).select_related("editor").order_by("number")


# --- addresses -----------------------------------------------------------------------------


def public_base(request_base: str) -> str:
    """``PUBLIC_BASE_URL`` when set, else the asking request's scheme and host."""
    return (getattr(settings, "PUBLIC_BASE_URL", "") or request_base).rstrip("/")


def public_url(*, base: str, slug: str, claim_id: int) -> str:
    return base + reverse("public:factcheck-detail", kwargs={"slug": slug, "pk": claim_id})


def public_index_url(*, base: str, slug: str) -> str:
    return base + reverse("public:factcheck-list", kwargs={"slug": slug})


def public_feed_url(*, base: str, slug: str) -> str:
    return base + reverse("public:feed-json", kwargs={"slug": slug})


# --- public pages ----------------------------------------------------------------------------


def public_project_get(*, slug: str) -> Project:
    """The project if it publishes (Http404 otherwise, as for a slug nobody has)."""
    project = Project.objects.filter(slug=slug, publishing_enabled=True).first()
    if project is None:
        raise Http404
    return project


@dataclass(frozen=True)
class PublicEntry:
    """One fact check on the public index: its latest version, and whether it is retracted."""

    claim_id: int
    latest: Publication

    @property
    def retracted(self) -> bool:
        return self.latest.kind == PublicationKind.RETRACT


def public_claims(*, project: Project) -> QuerySet[Claim]:
    """The project's claims with at least one publication version, newest change first
    (the public index pages through this)."""
    return (
        Claim.objects.filter(project=project)
        .annotate(last_published=Max("publications__modified_at"))
        .filter(last_published__isnull=False)
        .only("id")
        .order_by("-last_published", "-id")
    )


def public_entries(*, claim_ids: Sequence[int]) -> list[PublicEntry]:
    """The latest version of each claim of ``claim_ids``, in that order (one query)."""
    latest: dict[int, Publication] = {}
    for version in Publication.objects.filter(claim_id__in=list(claim_ids)).order_by(
        "claim_id", "number"
    ):
        latest[version.claim_id] = version
    return [PublicEntry(claim_id=pk, latest=latest[pk]) for pk in claim_ids if pk in latest]


def public_versions_get(*, project: Project, claim_id: int) -> list[Publication]:
    """A published claim's versions, oldest first; Http404 when it has none in ``project``."""
    versions = list(
        Publication.objects.filter(project=project, claim_id=claim_id).order_by("number")
    )
    if not versions:
        raise Http404
    return versions


def public_claimreview(
    *, project: Project, versions: Sequence[Publication], base: str
) -> dict[str, Any] | None:
    """The page's ClaimReview JSON-LD (None once retracted)."""
    if not versions:
        return None
    return publishing.claimreview_node(
        [version_dict(v) for v in versions],
        url=public_url(base=base, slug=project.slug, claim_id=versions[0].claim_id),
    )


# --- feeds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    body: bytes
    last_modified: dt.datetime | None


def project_feed(*, project: Project, at: dt.datetime | None, base: str) -> Feed:
    """The project's DataFeed as it stood at ``at`` (now when None): built from the
    versions that had appeared by then, by the same code whatever the instant, so the
    answer for a past instant is byte for byte the answer given then (as long as
    ``PUBLIC_BASE_URL`` is the same)."""
    at = at or timezone.now()
    rows = Publication.objects.filter(project=project, modified_at__lte=at).order_by(
        "claim_id", "number"
    )
    versions = [version_dict(v) for v in rows]
    feed = publishing.feed_at(
        versions,
        at=at,
        slug=project.slug,
        feed_url=public_feed_url(base=base, slug=project.slug),
        page_url=lambda claim_id: public_url(base=base, slug=project.slug, claim_id=claim_id),
    )
    stamp = feed.get("dateModified")
    return Feed(
        body=publishing.feed_bytes(feed),
        last_modified=dt.datetime.fromisoformat(stamp) if stamp else None,
    )


def publications_last_change(*, project: Project) -> dt.datetime | None:
    """When the project's public record last changed: its latest version of any kind (a
    retraction too, which takes an item out of the feeds)."""
    return (
        Publication.objects.filter(project=project)
        .order_by("-modified_at")
        .values_list("modified_at", flat=True)
        .first()
    )


def feed_current_versions(*, project: Project) -> list[Publication]:
    """The latest version of each fact check now in the feed (retractions left out),
    newest change first: the Atom feed's entries."""
    latest: dict[int, Publication] = {}
    for version in Publication.objects.filter(project=project).order_by("claim_id", "number"):
        latest[version.claim_id] = version
    current = [v for v in latest.values() if v.kind != PublicationKind.RETRACT]
    current.sort(key=lambda v: (v.modified_at, v.claim_id), reverse=True)
    return current


# --- the API's ClaimReview export ----------------------------------------------------------------


def document_published_claimreview(*, document: Document, base: str) -> list[dict[str, Any]]:
    """ClaimReview nodes for the document's published (or corrected) fact checks: each
    the latest version, never a resolved-but-unpublished claim and never a retracted one;
    ``url`` is the public page (``PUBLIC_BASE_URL``). In the claims' text order."""
    project = document.project
    rows = Publication.objects.filter(claim__document=document).order_by(
        "claim__start", "claim__end", "claim_id", "number"
    )
    by_claim: dict[int, list[dict[str, Any]]] = {}
    for version in rows:
        by_claim.setdefault(version.claim_id, []).append(version_dict(version))
    nodes = []
    for claim_id, history in by_claim.items():
        node = publishing.claimreview_node(
            history, url=public_url(base=base, slug=project.slug, claim_id=claim_id)
        )
        if node is not None:
            nodes.append(node)
    return nodes
