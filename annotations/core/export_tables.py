"""The tables of the lossless project export (``workbench-export/2``): which columns each
carries and how a value is written, shared by the export (``selectors.export_v2``) and
the restore (``services.native_restore``) so the two cannot drift apart.

Pure data and pure conversions: no Django. A table is a list of ``(column, kind)``:

* ``value``: written as stored (text, numbers, booleans, JSON);
* ``user``: a foreign key to an account, written as its username (``users`` gives ids);
* ``ref``: any other foreign key, written as the referenced row's id (or null);
* ``time``: a timestamp, UTC with six fraction digits and ``Z`` (``timestamp``);
* ``date``: a date, ``YYYY-MM-DD`` or null.

Every row also carries its ``id`` first: a restore keeps every primary key, because the
audit chain hashes ids (``core.auditchain``) and must verify after a restore.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SCHEMA = "workbench-export/2"

Table = tuple[tuple[str, str], ...]

MEMBERSHIP: Table = (("user", "user"), ("role", "value"), ("created_at", "time"))
RATING: Table = (
    ("key", "value"),
    ("label", "value"),
    ("ordinal", "value"),
    ("position", "value"),
)
DOCUMENT: Table = (
    ("title", "value"),
    ("text", "value"),
    ("text_sha256", "value"),
    ("length", "value"),
    ("raw_text", "value"),
    ("source_url", "value"),
    ("publisher", "value"),
    ("author", "value"),
    ("published_date", "date"),
    ("language", "value"),
    ("direction", "value"),
    ("revision", "value"),
    ("created_by", "user"),
    ("created_at", "time"),
)
DOCUMENT_REVISION: Table = (
    ("document", "ref"),
    ("number", "value"),
    ("text", "value"),
    ("text_sha256", "value"),
    ("length", "value"),
    ("raw_text", "value"),
    ("note", "value"),
    ("created_at", "time"),
    ("superseded_at", "time"),
    ("superseded_by", "user"),
)
CLAIM: Table = (
    ("document", "ref"),
    ("start", "value"),
    ("end", "value"),
    ("exact", "value"),
    ("prefix", "value"),
    ("suffix", "value"),
    ("statement", "value"),
    ("claimant", "value"),
    ("status", "value"),
    ("version", "value"),
    ("claim_version", "value"),
    ("consensus", "ref"),
    ("anchor_status", "value"),
    ("anchor_revision", "value"),
    ("created_by", "user"),
    ("created_at", "time"),
    ("updated_at", "time"),
    ("priority", "value"),
    ("due_at", "time"),
)
CLAIM_VERSION: Table = (
    ("claim", "ref"),
    ("number", "value"),
    ("statement", "value"),
    ("claimant", "value"),
    ("start", "value"),
    ("end", "value"),
    ("exact", "value"),
    ("prefix", "value"),
    ("suffix", "value"),
    ("anchor_revision", "value"),
    ("status", "value"),
    ("note", "value"),
    ("replaced_at", "time"),
    ("replaced_by", "user"),
)
CLAIM_ANCHOR: Table = (
    ("claim", "ref"),
    ("revision", "value"),
    ("start", "value"),
    ("end", "value"),
    ("exact", "value"),
    ("prefix", "value"),
    ("suffix", "value"),
    ("status", "value"),
    ("replaced_at", "time"),
    ("replaced_by", "user"),
    ("note", "value"),
)
SOURCE: Table = (
    ("url", "value"),
    ("normalized_url", "value"),
    ("title", "value"),
    ("publisher", "value"),
    ("published_date", "date"),
    ("archive_url", "value"),
    ("accessed_date", "date"),
    ("created_by", "user"),
    ("created_at", "time"),
)
VERDICT: Table = (
    ("claim", "ref"),
    ("reviewer", "user"),
    ("rating", "ref"),
    ("confidence", "value"),
    ("rationale", "value"),
    ("revision", "value"),
    ("is_current", "value"),
    ("document_revision", "value"),
    ("claim_version", "value"),
    ("post_reveal", "value"),
    ("submitted_at", "time"),
    ("calibration", "value"),
)
CITATION: Table = (
    ("verdict", "ref"),
    ("source", "ref"),
    ("quote", "value"),
    ("stance", "value"),
)
CONSENSUS: Table = (
    ("claim", "ref"),
    ("sequence", "value"),
    ("claim_version", "value"),
    ("rating", "ref"),
    ("method", "value"),
    ("agreement", "value"),
    ("decided_by", "user"),
    ("decided_at", "time"),
    ("note", "value"),
    ("is_current", "value"),
)
ASSIGNMENT: Table = (
    ("claim", "ref"),
    ("reviewer", "user"),
    ("state", "value"),
    ("leased_at", "time"),
    ("expires_at", "time"),
    ("closed_at", "time"),
    ("reason", "value"),
    ("calibration", "value"),
)
PUBLICATION: Table = (
    ("claim", "ref"),
    ("project", "ref"),
    ("number", "value"),
    ("kind", "value"),
    ("statement", "value"),
    ("claimant", "value"),
    ("consensus", "ref"),
    ("rating_key", "value"),
    ("rating_label", "value"),
    ("rating_value", "value"),
    ("best_rating", "value"),
    ("worst_rating", "value"),
    ("summary", "value"),
    ("note", "value"),
    ("citations", "value"),
    ("appearance_title", "value"),
    ("appearance_url", "value"),
    ("appearance_date", "date"),
    ("publisher_name", "value"),
    ("publisher_url", "value"),
    ("published_at", "time"),
    ("modified_at", "time"),
    ("editor", "user"),
)
COMMENT: Table = (
    ("claim", "ref"),
    ("author", "user"),
    ("body", "value"),
    ("visibility", "value"),
    ("claim_version", "value"),
    ("created_at", "time"),
    ("withdrawn_at", "time"),
    ("withdrawn_by", "user"),
)
CLAIMANT: Table = (
    ("name", "value"),
    ("kind", "value"),
    ("description", "value"),
    ("merged_into", "ref"),
    ("created_by", "user"),
    ("created_at", "time"),
)
CLAIMANT_NAME: Table = (
    ("claimant", "ref"),
    ("name", "value"),
    ("key", "value"),
    ("is_primary", "value"),
    ("created_by", "user"),
    ("created_at", "time"),
)
# Evidence (issue 16). A snapshot's WARC file stays in the evidence storage; the row names
# it (``warc``) with its SHA-256. The evidence state and quote checks are keyed by their
# source and citation: their ``id`` is that row's id.
SOURCE_SNAPSHOT: Table = (
    ("source", "ref"),
    ("outcome", "value"),
    ("reason", "value"),
    ("requested_url", "value"),
    ("final_url", "value"),
    ("http_status", "value"),
    ("content_type", "value"),
    ("sha256", "value"),
    ("size", "value"),
    ("warc", "value"),
    ("warc_sha256", "value"),
    ("text", "value"),
    ("title", "value"),
    ("publisher", "value"),
    ("published_date", "date"),
    ("fetched_at", "time"),
    ("requested_by", "user"),
)
SOURCE_EVIDENCE: Table = (
    ("latest", "ref"),
    ("baseline", "ref"),
    ("flag", "value"),
    ("flag_since", "time"),
    ("checked_at", "time"),
    ("next_check_at", "time"),
)
SOURCE_CHECK: Table = (
    ("source", "ref"),
    ("baseline", "ref"),
    ("checked_at", "time"),
    ("outcome", "value"),
    ("reason", "value"),
    ("http_status", "value"),
    ("sha256", "value"),
    ("final_url", "value"),
    ("flag", "value"),
)
QUOTE_CHECK: Table = (
    ("snapshot", "ref"),
    ("status", "value"),
    ("start", "value"),
    ("end", "value"),
    ("checked_at", "time"),
)
# Finding claims (issue 17). A reference's embedding (``vector``) is not carried: it is
# derived from ``claim_reviewed`` by the shipped model, and a restore computes it again.
REFERENCE: Table = (
    ("claim_reviewed", "value"),
    ("headline", "value"),
    ("url", "value"),
    ("rating", "value"),
    ("date", "date"),
    ("publisher", "value"),
    ("origin", "value"),
    ("origin_name", "value"),
    ("created_by", "user"),
    ("created_at", "time"),
)
CLAIM_LINK: Table = (
    ("claim", "ref"),
    ("reference", "ref"),
    ("target", "ref"),
    ("state", "value"),
    ("score", "value"),
    ("flags", "value"),
    ("created_by", "user"),
    ("created_at", "time"),
    ("decided_by", "user"),
    ("decided_at", "time"),
)
REPEAT_SUGGESTION: Table = (
    ("document", "ref"),
    ("document_revision", "value"),
    ("start", "value"),
    ("end", "value"),
    ("text", "value"),
    ("reference", "ref"),
    ("claim", "ref"),
    ("score", "value"),
    ("flags", "value"),
    ("created_at", "time"),
)
TRIAGE_RUN: Table = (
    ("document", "ref"),
    ("revision", "value"),
    ("agent", "value"),
    ("model_version", "value"),
    ("fallback_reason", "value"),
    ("created_at", "time"),
)
SUGGESTION: Table = (
    ("run", "ref"),
    ("start", "value"),
    ("end", "value"),
    ("text", "value"),
    ("score", "value"),
)
SUGGESTION_DECISION: Table = (
    ("document", "ref"),
    ("revision", "value"),
    ("start", "value"),
    ("end", "value"),
    ("text", "value"),
    ("score", "value"),
    ("agent", "value"),
    ("model_version", "value"),
    ("decision", "value"),
    ("reason", "value"),
    ("claim", "ref"),
    ("actor", "user"),
    ("created_at", "time"),
)
EVENT: Table = (
    ("seq", "value"),
    ("actor", "ref"),
    ("verb", "value"),
    ("object_type", "value"),
    ("object_id", "value"),
    ("before", "value"),
    ("after", "value"),
    ("created_at", "time"),
    ("prev_hash", "value"),
    ("hash", "value"),
)

# Directed assignment (issue 18): a review slot held for a named reviewer.
RESERVATION: Table = (
    ("claim", "ref"),
    ("reviewer", "user"),
    ("assigned_by", "user"),
    ("created_at", "time"),
)

# Columns added after version 2 was first written: a file without them restores with
# these values (and the schema does not require them).
OPTIONAL_COLUMNS: dict[tuple[str, str], Any] = {
    ("documents", "direction"): "auto",  # the browser goes by the text
    ("claims", "priority"): 3,  # normal
    ("claims", "due_at"): None,
    ("verdicts", "calibration"): False,
    ("assignments", "calibration"): False,
}

# Gold calibration (issue 18): an editor's mark on a resolved claim, its expected rating.
GOLD_CLAIM: Table = (
    ("claim", "ref"),
    ("rating", "ref"),
    ("note", "value"),
    ("marked_by", "user"),
    ("marked_at", "time"),
)

# The export's tables, in the order a restore inserts them (referenced rows first; the
# claims' consensus pointer is set once the consensus records exist). Events come last,
# under "audit".
TABLES: tuple[tuple[str, Table], ...] = (
    ("memberships", MEMBERSHIP),
    ("documents", DOCUMENT),
    ("document_revisions", DOCUMENT_REVISION),
    ("claims", CLAIM),
    ("claim_versions", CLAIM_VERSION),
    ("claim_anchors", CLAIM_ANCHOR),
    ("sources", SOURCE),
    ("source_snapshots", SOURCE_SNAPSHOT),
    ("source_evidence", SOURCE_EVIDENCE),
    ("source_checks", SOURCE_CHECK),
    ("verdicts", VERDICT),
    ("citations", CITATION),
    ("quote_checks", QUOTE_CHECK),
    ("consensus", CONSENSUS),
    ("assignments", ASSIGNMENT),
    ("publications", PUBLICATION),
    ("claimants", CLAIMANT),
    ("claimant_names", CLAIMANT_NAME),
    ("references", REFERENCE),
    ("claim_links", CLAIM_LINK),
    ("repeat_suggestions", REPEAT_SUGGESTION),
    ("triage_runs", TRIAGE_RUN),
    ("suggestions", SUGGESTION),
    ("suggestion_decisions", SUGGESTION_DECISION),
    ("reservations", RESERVATION),
    ("comments", COMMENT),
    ("gold_claims", GOLD_CLAIM),
)


def timestamp(value: dt.datetime | None) -> str | None:
    """UTC, always six fraction digits and ``Z``: one instant, one string (as the audit
    chain writes ``created_at``)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("The export needs timezone-aware times.")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {value!r}")
    return parsed


def parse_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def write_value(kind: str, value: Any, usernames: dict[int, str]) -> Any:
    """One column's value as the export writes it (``value`` is the row's attribute:
    the id for ``user`` and ``ref`` columns)."""
    if kind == "user":
        return usernames[value] if value is not None else None
    if kind == "time":
        return timestamp(value)
    if kind == "date":
        return value.isoformat() if value is not None else None
    return value


def read_value(kind: str, value: Any, user_ids: dict[str, int]) -> Any:
    """One exported column's value as the row's attribute (ids for references)."""
    if kind == "user":
        return user_ids[value] if value is not None else None
    if kind == "time":
        return parse_time(value)
    if kind == "date":
        return parse_date(value)
    return value


def attribute(column: str, kind: str) -> str:
    """The model attribute a column is read from and written to (``<fk>_id`` for keys)."""
    return f"{column}_id" if kind in ("user", "ref") else column
