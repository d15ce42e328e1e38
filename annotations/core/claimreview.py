"""Reading earlier fact checks from the formats publishers share them in (pure).

* **ClaimReview JSON-LD** (schema.org): a single ``ClaimReview`` object, a list of them,
  a ``DataFeed`` whose ``dataFeedElement`` items hold them (directly, or as a
  ``DataFeedItem``'s ``item``), or an ``@graph``; nesting of these is followed.
* **Fact Check Tools style**: ``{"claims": [{"text", "claimReview": [{"url", "title",
  "textualRating", "reviewDate", "publisher": {"name"}}]}]}``.
* **JSONL**: one object per line, either the API's own fields (``claim_reviewed``,
  ``headline``, ``url``, ``rating``, ``date``, ``publisher``) or a ClaimReview object.

Each fact check becomes a :class:`Candidate` with the API's field names, or a
:class:`Problem` saying why not (its place in the file as ``label``). Checks of the
values themselves (URL scheme, lengths, storable text) are the service's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotations.core import safejson

FIELDS = ("claim_reviewed", "headline", "url", "rating", "date", "publisher")


@dataclass(frozen=True)
class Candidate:
    label: str  # where it came from: "item 3", "line 12"
    fields: dict[str, Any]  # FIELDS; "date" a datetime.date or None


@dataclass(frozen=True)
class Problem:
    label: str
    message: str


def _types(obj: dict[str, Any]) -> set[str]:
    raw = obj.get("@type", [])
    values = raw if isinstance(raw, list) else [raw]
    return {v.rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def _text(value: Any) -> str:
    """A plain string of a JSON-LD value: a string, a {"@value"} or {"name"}, a list's first."""
    if isinstance(value, list):
        return _text(value[0]) if value else ""
    if isinstance(value, dict):
        return _text(value.get("@value", value.get("name", "")))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _date(value: Any) -> dt.date | str | None:
    """A date from ISO 8601 text (a date-time keeps its date); None when absent; the
    message when it is not a date."""
    text = _text(value)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return f"date: {text[:40]!r} is not an ISO 8601 date."


def _rating(review: dict[str, Any]) -> str:
    rating = review.get("reviewRating")
    if isinstance(rating, list):
        rating = rating[0] if rating else None
    if isinstance(rating, dict):
        name = _text(rating.get("alternateName")) or _text(rating.get("name"))
        if name:
            return name
        value = _text(rating.get("ratingValue"))
        best = _text(rating.get("bestRating"))
        return f"{value}/{best}" if value and best else value
    return _text(rating)


def from_claimreview(obj: dict[str, Any], label: str) -> Candidate | Problem:
    """One schema.org ClaimReview object."""
    claim = _text(obj.get("claimReviewed"))
    if not claim:
        item = obj.get("itemReviewed")
        if isinstance(item, dict):
            claim = _text(item.get("text")) or _text(item.get("name"))
    if not claim:
        return Problem(label, "claimReviewed: a ClaimReview needs the claim it reviewed.")
    date = _date(obj.get("datePublished"))
    if isinstance(date, str):
        return Problem(label, date)
    publisher = obj.get("author") or obj.get("publisher")
    return Candidate(
        label,
        {
            "claim_reviewed": claim,
            "headline": _text(obj.get("headline")) or _text(obj.get("name")),
            "url": _text(obj.get("url")),
            "rating": _rating(obj),
            "date": date,
            "publisher": _text(publisher),
        },
    )


def from_fields(obj: dict[str, Any], label: str) -> Candidate | Problem:
    """An object with the API's own field names (a JSONL line)."""
    unknown = sorted(str(k) for k in obj if k not in FIELDS)
    if unknown:
        return Problem(label, f"unknown field(s): {', '.join(unknown[:10])}.")
    for name in FIELDS:
        if name in obj and obj[name] is not None and not isinstance(obj[name], str):
            return Problem(label, f"{name}: text expected.")
    date = _date(obj.get("date"))
    if isinstance(date, str):
        return Problem(label, date)
    claim = (obj.get("claim_reviewed") or "").strip()
    if not claim:
        return Problem(label, "claim_reviewed: required.")
    fields = {name: (obj.get(name) or "").strip() for name in FIELDS}
    fields.update(claim_reviewed=claim, date=date)
    return Candidate(label, fields)


def _walk(node: Any, label: str) -> Iterator[Candidate | Problem]:
    if isinstance(node, list):
        for i, item in enumerate(node, start=1):
            yield from _walk(item, f"{label}[{i}]" if label else f"item {i}")
        return
    if not isinstance(node, dict):
        yield Problem(label or "document", "not a JSON object.")
        return
    types = _types(node)
    if "ClaimReview" in types:
        yield from_claimreview(node, label or "item 1")
    elif "@graph" in node:
        yield from _walk(node["@graph"], label)
    elif "DataFeed" in types or "dataFeedElement" in node:
        yield from _walk(node.get("dataFeedElement", []), label)
    elif "DataFeedItem" in types or "item" in node:
        yield from _walk(node.get("item", []), label)
    elif isinstance(node.get("claims"), list):  # Fact Check Tools style
        for i, claim in enumerate(node["claims"], start=1):
            yield from _tools_claim(claim, f"{label}claims[{i}]")
    elif "claim_reviewed" in node:
        yield from_fields(node, label or "item 1")
    else:
        yield Problem(label or "document", "neither a ClaimReview nor a feed of them.")


def _tools_claim(claim: Any, label: str) -> Iterator[Candidate | Problem]:
    if not isinstance(claim, dict) or not _text(claim.get("text")):
        yield Problem(label, "text: a claim needs its text.")
        return
    reviews = claim.get("claimReview") or [{}]
    for j, review in enumerate(reviews if isinstance(reviews, list) else [reviews], start=1):
        review = review if isinstance(review, dict) else {}
        date = _date(review.get("reviewDate"))
        if isinstance(date, str):
            yield Problem(f"{label}.claimReview[{j}]", date)
            continue
        yield Candidate(
            f"{label}.claimReview[{j}]",
            {
                "claim_reviewed": _text(claim.get("text")),
                "headline": _text(review.get("title")),
                "url": _text(review.get("url")),
                "rating": _text(review.get("textualRating")),
                "date": date,
                "publisher": _text(review.get("publisher")),
            },
        )


def parse_json(text: str) -> Iterator[Candidate | Problem]:
    """The fact checks of a JSON(-LD) document (see the module's formats)."""
    try:
        data = safejson.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        yield Problem("document", f"not valid JSON: {exc}")
        return
    yield from _walk(data, "")


def parse_jsonl(lines: Iterator[str]) -> Iterator[Candidate | Problem]:
    """The fact checks of a JSONL file, one per non-blank line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        label = f"line {number}"
        try:
            obj = safejson.loads(line)
        except (ValueError, json.JSONDecodeError) as exc:
            yield Problem(label, f"not valid JSON: {exc}")
            continue
        if isinstance(obj, dict) and "ClaimReview" in _types(obj):
            yield from_claimreview(obj, label)
        elif isinstance(obj, dict):
            yield from_fields(obj, label)
        else:
            yield Problem(label, "not a JSON object.")
