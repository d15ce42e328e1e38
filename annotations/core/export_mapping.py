"""Export formats: the native JSON shape and its mapping to open vocabularies.

Pure Python, no Django: every function here takes the native export of one document
(a plain dict shaped as ``schemas/workbench-export-1.schema.json`` describes, built by
``annotations.selectors.export.document_native``) and returns plain JSON-ready values, so the
mapping is tested without a database and works on a file someone hands us.

* ``to_claimreview``: schema.org ``ClaimReview`` JSON-LD nodes, one per claim whose
  status is published or corrected and that has a current consensus (a native file's
  mapping; the API's export is built from publication versions, ``core.publishing``).
* ``to_web_annotations``: one W3C Web Annotation per claim, targeting the document with
  a ``TextQuoteSelector`` and a ``TextPositionSelector``.
* ``json_dumps_safe``: JSON text that can sit inside an HTML ``<script>`` element.

Offsets are the native ones: half-open ``[start, end)`` over Unicode code points (Python
``str`` indices), which is exactly the W3C TextPositionSelector convention, so they are
copied through unchanged and never converted to bytes or UTF-16 units here.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from annotations.core import export_tables, spans

logger = logging.getLogger("annotations.export")

NATIVE_SCHEMA = "workbench-export/1"
NATIVE_SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent / "schemas" / "workbench-export-1.schema.json"
)
# The lossless project export (core/export_tables.py): every row with its id and the
# audit chain; its schema reuses version 1's definitions of values.
NATIVE_SCHEMA_2 = export_tables.SCHEMA
NATIVE_SCHEMA_2_PATH = NATIVE_SCHEMA_PATH.with_name("workbench-export-2.schema.json")

ANNOTATION_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
SCHEMA_ORG_CONTEXT = "https://schema.org"

# Only published fact checks are ClaimReviews; resolved-but-unpublished, in-review,
# disputed, withdrawn and retracted claims are not fact checks a reader can rely on.
CLAIMREVIEW_STATUSES = frozenset({"published", "corrected"})

# Escapes that keep JSON text inert inside <script>: "<" and ">" stop "</script>" and
# "<!--" from ending or changing the element, "&" stops entity games in XHTML, and
# U+2028/U+2029 are line terminators in older JavaScript string literals.
# Lone surrogates (U+D800..U+DFFF, e.g. from a JSON "\\ud800" escape in an imported file)
# cannot be encoded as UTF-8, so they stay escaped too: the output always encodes.
_SCRIPT_SAFE_PAIRS = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_dumps_safe(obj: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """``json.dumps`` whose output can be embedded in HTML (``<script>``, attributes).

    Non-ASCII text stays readable (emoji are not escaped); ``<``, ``>``, ``&``, U+2028
    and U+2029 become ``\\uXXXX`` escapes. Those characters can only occur inside JSON
    strings, where the escape means the same character, so ``json.loads`` returns the
    original value. NaN and infinities are refused (they are not JSON).
    """
    text = json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=sort_keys, allow_nan=False)
    # str.translate with a mapping looks up every character in Python; a C-speed scan for
    # each of the five characters, replacing only those present, is ~10x faster (export).
    for char, escape in _SCRIPT_SAFE_PAIRS:
        if char in text:
            text = text.replace(char, escape)
    # One regex scan for the 2,048 surrogates (a replace() pass per surrogate took two
    # thirds of a project export, bench/bench_peer.py); ASCII text has none.
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub(_escape_surrogate, text)
    return text


# --- the native schema -------------------------------------------------------------------


@functools.cache
def native_schema(version: int = 1) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the native export (``version`` 1 or 2), read once."""
    path = NATIVE_SCHEMA_PATH if version == 1 else NATIVE_SCHEMA_2_PATH
    with path.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def native_errors(
    payload: Any, *, definition: str | None = None, limit: int = 50, version: int = 1
) -> list[tuple[str, str]]:
    """Schema problems of a native export as ``(json_pointer, reason)``, sorted by path.

    ``version=2`` checks a lossless project export (``workbench-export/2``) instead.
    With ``definition`` (e.g. ``"projectRow"``) the payload is checked against that entry
    of the schema's ``$defs`` instead of the whole document export. An empty list means
    the payload matches. Needs ``jsonschema`` (a dependency of drf-spectacular, so it is
    present wherever the app runs).

    Also reported, anywhere in the payload, because JSON Schema cannot express them
    (``_value_problems``): strings no database can store (NUL, lone surrogates, which
    JSON escapes can spell) and numbers that are NaN or infinite (Python's json reads
    ``NaN`` and ``Infinity``, and ``minimum``/``maximum`` let NaN through).
    """
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schema = native_schema(version)
    registry = Registry().with_resources(
        (document["$id"], Resource.from_contents(document))
        for document in (native_schema(1), native_schema(2))
    )
    target = schema if definition is None else {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    validator = Draft202012Validator(
        target, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    problems = _value_problems(payload)
    for error in validator.iter_errors(payload):
        pointer = "/" + "/".join(str(part) for part in error.absolute_path)
        problems.append((pointer, error.message))
    problems.sort()
    return problems[:limit]


def _value_problems(payload: Any) -> list[tuple[str, str]]:
    """Every string no database can store and every non-finite number, by JSON pointer.

    A key that cannot be stored is reported at its object (the pointer names no key that
    could not be printed) and not descended into. Iterative: json.loads nests deeper
    than Python recurses.
    """
    problems: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("", payload)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, str):
            problems.extend((pointer or "/", reason) for reason in spans.storage_problems(value))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((pointer or "/", f"{value} is not a finite number"))
        elif isinstance(value, dict):
            for key, item in value.items():
                reasons = spans.storage_problems(key) if isinstance(key, str) else []
                if reasons:
                    problems.extend((pointer or "/", f"key {key!r} {reason}") for reason in reasons)
                else:
                    stack.append((f"{pointer}/{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{pointer}/{index}", item) for index, item in enumerate(value))
    return problems


# --- shared helpers ------------------------------------------------------------------------


def current_consensus(claim: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The claim's current consensus record, or None (never decided, or superseded)."""
    records: Iterable[Mapping[str, Any]] = claim.get("consensus", ())
    for record in records:
        if record.get("is_current"):
            return record
    return None


def scale_bounds(scale: Sequence[Mapping[str, Any]]) -> tuple[int, int] | None:
    """``(worst, best)`` over the scale's ordinal values; None unless there are two distinct."""
    ordinals = {entry["ordinal"] for entry in scale if entry.get("ordinal") is not None}
    if len(ordinals) < 2:
        return None
    return min(ordinals), max(ordinals)


def _utc(timestamp: str) -> str:
    """An ISO 8601 timestamp as UTC with a ``Z`` (the W3C model's preferred form)."""
    value = dt.datetime.fromisoformat(timestamp)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {timestamp!r}")
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _utc_date(timestamp: str) -> str:
    return dt.datetime.fromisoformat(timestamp).astimezone(dt.UTC).date().isoformat()


def _is_web_url(url: Any) -> bool:
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


def _same_name(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


# --- schema.org ClaimReview ------------------------------------------------------------------


def _organization_node(organization: Mapping[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": organization.get("@type") or "Organization"}
    name = (organization.get("name") or "").strip()
    url = (organization.get("url") or "").strip()
    if name:
        node["name"] = name
    if url:
        if not _is_web_url(url):
            raise ValueError(f"organization url must be an absolute http(s) URL, got {url!r}")
        node["url"] = url
    if "name" not in node and "url" not in node:
        raise ValueError("organization needs a name or a url (it is the ClaimReview author)")
    return node


def _claimant_node(claimant: str, document: Mapping[str, Any]) -> dict[str, Any]:
    # The claimant is free text. The only organization we can recognise is the document's
    # own publisher; anyone else named as claimant is taken to be a person.
    kind = "Organization" if _same_name(claimant, document.get("publisher") or "") else "Person"
    return {"@type": kind, "name": claimant.strip()}


def _appearance(document: Mapping[str, Any]) -> dict[str, Any] | None:
    if not _is_web_url(document.get("source_url")):
        return None
    work: dict[str, Any] = {"@type": "CreativeWork", "url": document["source_url"]}
    if document.get("title"):
        work["headline"] = document["title"]
    if document.get("published_date"):
        work["datePublished"] = document["published_date"]
    return work


def _claim_item(claim: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"@type": "Claim"}
    claimant = (claim.get("claimant") or "").strip()
    if claimant:
        item["author"] = _claimant_node(claimant, document)
    if document.get("published_date"):
        item["datePublished"] = document["published_date"]
    appearance = _appearance(document)
    if appearance is not None:
        item["appearance"] = appearance
        # The document is where the claim first appeared only when the claimant is its
        # author or publisher; a quoted claim may well have been made elsewhere first.
        if claimant and (
            _same_name(claimant, document.get("author") or "")
            or _same_name(claimant, document.get("publisher") or "")
        ):
            item["firstAppearance"] = dict(appearance)
    return item


def _review_rating(
    key: str, scale: Mapping[str, Mapping[str, Any]], bounds: tuple[int, int] | None
) -> dict[str, Any]:
    entry = scale.get(key, {})
    label = (entry.get("label") or "").strip() or key
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": label, "name": label}
    ordinal = entry.get("ordinal")
    # Ratings outside the ordinal scale (misleading, unverifiable, ...) carry only their
    # readable label: the ClaimReview schema asks for best/worst whenever a number is
    # given, and a number for "misleading" would claim an order the desk never defined.
    if ordinal is not None and bounds is not None and bounds[0] <= ordinal <= bounds[1]:
        rating["ratingValue"] = ordinal
        rating["bestRating"] = bounds[1]
        rating["worstRating"] = bounds[0]
    return rating


def to_claimreview(
    native_document: Mapping[str, Any],
    *,
    organization: Mapping[str, Any],
    claim_url: Callable[[int], str],
) -> list[dict[str, Any]]:
    """schema.org ClaimReview nodes for the document's settled claims.

    A claim is included when its status is published or corrected and it has a current
    consensus. ``organization`` (``{"name", "url"}``, optionally ``"@type"``) is the fact
    checker and becomes ``author``; ``claim_url(claim_id)`` gives the absolute URL of
    the claim's page. ``datePublished`` is the date (UTC) of the current consensus.
    Raises ValueError when the organization has neither a name nor an http(s) url.
    """
    project = native_document["project"]
    document = native_document["document"]
    scale = {entry["key"]: entry for entry in project["scale"]}
    bounds = scale_bounds(project["scale"])
    author = _organization_node(organization)
    nodes: list[dict[str, Any]] = []
    for claim in native_document["claims"]:
        record = current_consensus(claim)
        if claim["status"] not in CLAIMREVIEW_STATUSES or record is None:
            continue
        nodes.append(
            {
                "@context": SCHEMA_ORG_CONTEXT,
                "@type": "ClaimReview",
                "url": claim_url(claim["id"]),
                "claimReviewed": claim["statement"],
                "datePublished": _utc_date(record["decided_at"]),
                "author": dict(author),
                "reviewRating": _review_rating(record["rating"], scale, bounds),
                "itemReviewed": _claim_item(claim, document),
            }
        )
    return nodes


# --- W3C Web Annotation ----------------------------------------------------------------------


def _textual_body(value: str, purpose: str) -> dict[str, Any]:
    return {"type": "TextualBody", "value": value, "format": "text/plain", "purpose": purpose}


def to_web_annotations(
    native_document: Mapping[str, Any],
    *,
    document_iri: str,
    annotation_iri: Callable[[int], str],
) -> list[dict[str, Any]]:
    """One W3C Web Annotation per claim, in the native claim order.

    * ``motivation`` is ``assessing`` when the claim has a current consensus (the
      annotation then carries a verdict) and ``highlighting`` otherwise (the span is
      marked and described, not yet judged).
    * ``body``: the statement as a TextualBody with purpose ``describing``, plus the
      consensus rating's label with purpose ``assessing`` when there is one.
    * ``target``: the document (``document_iri``) with a TextQuoteSelector (``prefix``
      and ``suffix`` are empty strings at the edges of the text) and a
      TextPositionSelector in code points.
    * ``created`` is the claim's creation time, ``modified`` the time of the current
      consensus; ``creator`` is the claim's author (by username) when known.
    """
    scale = {entry["key"]: entry for entry in native_document["project"]["scale"]}
    annotations: list[dict[str, Any]] = []
    for claim in native_document["claims"]:
        record = current_consensus(claim)
        body = [_textual_body(claim["statement"], "describing")]
        if record is not None:
            label = (scale.get(record["rating"], {}).get("label") or "").strip()
            body.append(_textual_body(label or record["rating"], "assessing"))
        annotation: dict[str, Any] = {
            "@context": ANNOTATION_CONTEXT,
            "id": annotation_iri(claim["id"]),
            "type": "Annotation",
            "motivation": "assessing" if record is not None else "highlighting",
            "created": _utc(claim["created_at"]),
        }
        if record is not None:
            annotation["modified"] = _utc(record["decided_at"])
        if claim.get("created_by"):
            annotation["creator"] = {"type": "Person", "nickname": claim["created_by"]}
        annotation["body"] = body
        annotation["target"] = {
            "type": "SpecificResource",
            "source": document_iri,
            "selector": [
                {
                    "type": "TextQuoteSelector",
                    "exact": claim["exact"],
                    "prefix": claim.get("prefix") or "",
                    "suffix": claim.get("suffix") or "",
                },
                {"type": "TextPositionSelector", "start": claim["start"], "end": claim["end"]},
            ],
        }
        annotations.append(annotation)
    return annotations


def jsonl_chunks(
    rows: Iterable[dict[str, Any]], lines: int = 64, *, label: str = "export"
) -> Iterator[str]:
    """JSON lines joined into chunks of ``lines`` rows: one write per chunk, not per row.

    A client that goes away mid-stream makes the server close this generator
    (GeneratorExit at a ``yield``); that is logged, and closing it also closes the row
    generator, which holds no transaction between its keyset chunks."""
    batch: list[str] = []
    sent = 0
    try:
        for row in rows:
            batch.append(json_dumps_safe(row))
            if len(batch) >= lines:
                sent += len(batch)
                yield "\n".join(batch) + "\n"
                batch.clear()
        if batch:
            yield "\n".join(batch) + "\n"
    except GeneratorExit:
        logger.warning("%s stopped by the client after %d lines", label, sent)
        close = getattr(rows, "close", None)
        if close is not None:
            close()
        raise
