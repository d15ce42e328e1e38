"""Published fact checks as readers and platforms get them (pure, no Django).

A claim's publication history is a list of versions (``services.publishing`` writes them,
``selectors.publishing`` reads them as plain dicts, ``version_dict``'s shape): version 1
publishes, later ones correct or retract. From that list alone, these functions build:

* ``claimreview_node``: the schema.org ClaimReview of a claim's latest version
  (``datePublished`` = version 1, ``dateModified`` = the latest correction, the public
  correction notes as ``correction``); None once retracted;
* ``feed_at``: the schema.org ``DataFeed`` of a project's current ClaimReviews as it stood
  at an instant: the latest version per claim among those that appeared up to then,
  retracted claims left out;
* ``feed_bytes``: that feed serialized deterministically, so the same versions give the
  same bytes whenever they are asked for (the ``?at=`` promise).

Nothing here reads a clock or a setting: the instant and every URL are passed in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from annotations.core.export_mapping import SCHEMA_ORG_CONTEXT, json_dumps_safe

PUBLISH = "publish"
CORRECT = "correct"
RETRACT = "retract"
KINDS = (PUBLISH, CORRECT, RETRACT)

Version = Mapping[str, Any]


def utc_iso(value: dt.datetime) -> str:
    """An aware datetime as ISO 8601 UTC with microseconds and ``Z``: one spelling per
    instant, so a feed built twice from the same rows is the same text."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: publication times are instants")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant (with a timezone or ``Z``) as an aware UTC datetime.

    ValueError for anything else: a date alone or a local time names no instant."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        raise ValueError("Give an ISO 8601 instant, e.g. 2026-05-01T10:00:00Z.")
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 instant, e.g. 2026-05-01T10:00:00Z."
        ) from None
    if value.tzinfo is None:
        raise ValueError("Give the instant with its timezone, e.g. 2026-05-01T10:00:00Z.")
    return value.astimezone(dt.UTC)


def _rating(version: Version) -> dict[str, Any]:
    label = version["rating_label"] or version["rating_key"]
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": label, "name": label}
    value, best, worst = version["rating_value"], version["best_rating"], version["worst_rating"]
    # Only a rating on the ordinal scale carries numbers (see export_mapping._review_rating).
    if value is not None and best is not None and worst is not None and worst <= value <= best:
        rating["ratingValue"] = value
        rating["bestRating"] = best
        rating["worstRating"] = worst
    return rating


def _author(version: Version) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": "Organization", "name": version["publisher_name"]}
    if str(version.get("publisher_url") or "").lower().startswith(("http://", "https://")):
        node["url"] = version["publisher_url"]
    return node


def _item_reviewed(version: Version) -> dict[str, Any]:
    item: dict[str, Any] = {"@type": "Claim"}
    if version["claimant"]:
        item["author"] = {"@type": "Person", "name": version["claimant"]}
    if version.get("appearance_date"):
        item["datePublished"] = version["appearance_date"]
    url = version.get("appearance_url") or ""
    if url.lower().startswith(("http://", "https://")):
        work: dict[str, Any] = {"@type": "CreativeWork", "url": url}
        if version.get("appearance_title"):
            work["headline"] = version["appearance_title"]
        if version.get("appearance_date"):
            work["datePublished"] = version["appearance_date"]
        item["appearance"] = work
    return item


def claimreview_node(versions: Sequence[Version], *, url: str) -> dict[str, Any] | None:
    """The ClaimReview of a claim's published fact check, from its versions in order
    (oldest first), or None when there is none or the latest is a retraction.

    ``url`` is the absolute public page. ``datePublished`` is version 1's time,
    ``dateModified`` the latest version's once there was a correction; the corrections'
    public notes are listed under ``correction`` (schema.org ``CorrectionComment``)."""
    if not versions or versions[-1]["kind"] == RETRACT:
        return None
    latest = versions[-1]
    node: dict[str, Any] = {
        "@context": SCHEMA_ORG_CONTEXT,
        "@type": "ClaimReview",
        "url": url,
        "claimReviewed": latest["statement"],
        "datePublished": latest["published_at"],
        "author": _author(latest),
        "reviewRating": _rating(latest),
        "reviewBody": latest["summary"],
        "itemReviewed": _item_reviewed(latest),
    }
    corrections = [v for v in versions if v["kind"] == CORRECT]
    if corrections:
        node["dateModified"] = latest["modified_at"]
        node["correction"] = [
            {"@type": "CorrectionComment", "text": v["note"], "datePublished": v["modified_at"]}
            for v in corrections
        ]
    return node


def histories(versions: Iterable[Version]) -> dict[int, list[Version]]:
    """Versions grouped by claim, each claim's in number order."""
    by_claim: dict[int, list[Version]] = {}
    for version in versions:
        by_claim.setdefault(version["claim"], []).append(version)
    for history in by_claim.values():
        history.sort(key=lambda v: v["number"])
    return by_claim


def feed_at(
    versions: Iterable[Version],
    *,
    at: dt.datetime,
    slug: str,
    feed_url: str,
    page_url: Callable[[int], str],
) -> dict[str, Any]:
    """The project's DataFeed as it stood at ``at``: versions that appeared after ``at``
    are ignored, each remaining claim contributes its latest version's ClaimReview unless
    that version retracted it. Items are newest change first (then by claim id);
    ``dateModified`` is the latest change up to ``at`` (a retraction counts: it changed the
    feed), absent while nothing was published. ``name`` and ``feed_url`` describe the
    feed; ``page_url(claim_id)`` is a claim's absolute public page."""
    cutoff = utc_iso(at)
    # utc_iso spells every instant the same way, so string order is time order.
    seen = [v for v in versions if v["modified_at"] <= cutoff]
    items: list[tuple[str, int, dict[str, Any]]] = []
    for claim_id, history in histories(seen).items():
        node = claimreview_node(history, url=page_url(claim_id))
        if node is None:
            continue
        latest = history[-1]
        items.append(
            (
                latest["modified_at"],
                claim_id,
                {
                    "@type": "DataFeedItem",
                    "dateCreated": latest["published_at"],
                    "dateModified": latest["modified_at"],
                    "item": node,
                },
            )
        )
    items.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    newest = max(seen, key=lambda v: (v["modified_at"], v["claim"], v["number"]), default=None)
    feed: dict[str, Any] = {
        "@context": SCHEMA_ORG_CONTEXT,
        "@type": "DataFeed",
        "name": f"{newest['publisher_name']}: fact checks" if newest else slug,
        "url": feed_url,
    }
    if newest is not None:
        feed["dateModified"] = newest["modified_at"]
    feed["dataFeedElement"] = [item for _, _, item in items]
    return feed


def feed_bytes(feed: Mapping[str, Any]) -> bytes:
    """The feed as UTF-8 JSON, the same bytes for the same feed (key order as built, no
    whitespace variation), safe to embed in HTML."""
    return json_dumps_safe(feed, indent=1).encode("utf-8") + b"\n"


def latest_change(versions: Iterable[Version], *, at: dt.datetime) -> str | None:
    """The latest ``modified_at`` up to ``at`` (the feed's Last-Modified), or None."""
    cutoff = utc_iso(at)
    stamps = [v["modified_at"] for v in versions if v["modified_at"] <= cutoff]
    return max(stamps) if stamps else None


def body_digest(body: bytes) -> str:
    """The feed's ETag value: SHA-256 of its bytes (the same bytes, the same tag)."""
    return hashlib.sha256(body).hexdigest()
