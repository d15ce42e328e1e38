"""The checks a native export passes before it is read back into a project: those its
JSON Schema cannot express (offsets against the text, ids that repeat, references between
records, ratings against the scale, usernames, dates, and the services' text limits).

Every problem is reported at once, keyed by the JSON pointer of the value, so one pass
over the report fixes the file. ``native_import.document_import_native`` calls
``native_problems`` after the schema check and before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Field

from annotations.core import spans
from annotations.core.urlnorm import UrlError, check_url, normalize_url
from annotations.models import (
    Project,
    Rating,
)
from annotations.services import limits


def native_datetime(value: str) -> dt.datetime:
    # The schema only admits timestamps with a timezone, so the result is aware.
    return dt.datetime.fromisoformat(value)


def native_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def native_problems(payload: dict[str, Any], *, project: Project) -> dict[str, list[str]]:
    """Cross-record checks the JSON Schema cannot express, keyed by JSON pointer."""
    from django.contrib.auth import get_user_model

    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    document = payload["document"]
    text = document["text"]
    if spans.canonicalize(text) != text:
        add("/document/text", "The text is not canonical (NFC, \\n line endings).")
    if spans.text_sha256(text) != document["text_sha256"]:
        add(
            "/document/text_sha256",
            f"Does not match the text (its sha256 is {spans.text_sha256(text)}).",
        )
    if len(text) != document["length"]:
        add("/document/length", f"The text has {len(text)} code points, not {document['length']}.")
    if len(text) > settings.WORKBENCH_MAX_DOCUMENT_CHARS:
        add(
            "/document/text",
            f"The text has {len(text):,} characters; the limit is "
            f"{settings.WORKBENCH_MAX_DOCUMENT_CHARS:,} (WORKBENCH_MAX_DOCUMENT_CHARS).",
        )
    if document["source_url"]:
        try:
            check_url(document["source_url"])
        except UrlError as exc:
            add("/document/source_url", str(exc))

    rating_keys = set(Rating.objects.filter(project=project).values_list("key", flat=True))
    scale_keys: set[str] = set()
    for index, entry in enumerate(payload["project"]["scale"]):
        if entry["key"] in scale_keys:
            add(f"/project/scale/{index}/key", f"Rating key {entry['key']!r} appears twice.")
        scale_keys.add(entry["key"])
    known_ratings = rating_keys | scale_keys

    user_model = get_user_model()
    # USERNAME_FIELD names one of the user model's own fields, never a reverse relation.
    username_field = cast("Field[Any, Any]", user_model._meta.get_field(user_model.USERNAME_FIELD))

    def check_lengths(path: str, **fields: tuple[object, int]) -> None:
        # The services' limits, with their message (a longer text cannot have been
        # written through them).
        for name, messages in limits.length_errors(**fields).items():
            for message in messages:
                add(f"{path}/{name}", message)

    def check_username(path: str, name: str) -> None:
        try:
            username_field.run_validators(name)
        except ValidationError as exc:
            add(path, f"Not a valid username {name!r}: {' '.join(exc.messages)}")

    source_ids: set[int] = set()
    for index, source in enumerate(payload["sources"]):
        path = f"/sources/{index}"
        if source["id"] in source_ids:
            add(f"{path}/id", f"Source id {source['id']} appears twice.")
        source_ids.add(source["id"])
        if source.get("created_by"):
            check_username(f"{path}/created_by", source["created_by"])
        try:
            normalize_url(source["url"])
        except UrlError as exc:
            add(f"{path}/url", str(exc))
        if source["archive_url"]:
            try:
                check_url(source["archive_url"])
            except UrlError as exc:
                add(f"{path}/archive_url", str(exc))

    claim_ids: set[int] = set()
    verdict_ids: set[int] = set()
    for claim_index, claim in enumerate(payload["claims"]):
        path = f"/claims/{claim_index}"
        if claim["id"] in claim_ids:
            add(f"{path}/id", f"Claim id {claim['id']} appears twice.")
        claim_ids.add(claim["id"])
        check_username(f"{path}/created_by", claim["created_by"])
        if claim["statement"] != claim["exact"]:
            # A claim created without a statement states its quote, however long.
            check_lengths(path, statement=(claim["statement"], limits.MAX_STATEMENT))
        start, end = claim["start"], claim["end"]
        try:
            spans.validate_span(len(text), start, end)
        except spans.SpanError as exc:
            add(f"{path}/{exc.field}", exc.message)
        else:
            if text[start:end] != claim["exact"]:
                add(f"{path}/exact", f"Does not match the text at [{start}, {end}).")
            prefix, suffix = claim["prefix"], claim["suffix"]
            if len(prefix) > start or text[start - len(prefix) : start] != prefix:
                add(f"{path}/prefix", f"Is not the text just before {start}.")
            if text[end : end + len(suffix)] != suffix:
                add(f"{path}/suffix", f"Is not the text just after {end}.")
        revisions: set[tuple[str, int]] = set()
        current: set[str] = set()
        claim_verdicts: set[int] = set()
        for verdict_index, verdict in enumerate(claim["verdicts"]):
            vpath = f"{path}/verdicts/{verdict_index}"
            if verdict["id"] in verdict_ids:
                add(f"{vpath}/id", f"Verdict id {verdict['id']} appears twice.")
            verdict_ids.add(verdict["id"])
            claim_verdicts.add(verdict["id"])
            check_username(f"{vpath}/reviewer", verdict["reviewer"])
            check_lengths(vpath, rationale=(verdict["rationale"], limits.MAX_RATIONALE))
            if len(verdict["citations"]) > limits.MAX_CITATIONS:
                add(f"{vpath}/citations", limits.TOO_MANY_CITATIONS)
            if verdict["rating"] not in known_ratings:
                add(f"{vpath}/rating", f"Unknown rating {verdict['rating']!r}: not in any scale.")
            key = (verdict["reviewer"], verdict["revision"])
            if key in revisions:
                add(f"{vpath}/revision", f"Revision {key[1]} of {key[0]!r} appears twice.")
            revisions.add(key)
            if verdict["is_current"]:
                if verdict["reviewer"] in current:
                    add(f"{vpath}/is_current", f"{key[0]!r} has two current verdicts.")
                current.add(verdict["reviewer"])
            for citation_index, citation in enumerate(verdict["citations"]):
                check_lengths(
                    f"{vpath}/citations/{citation_index}",
                    quote=(citation["quote"], limits.MAX_QUOTE),
                )
                if citation["source"] not in source_ids:
                    add(
                        f"{vpath}/citations/{citation_index}/source",
                        f"No source with id {citation['source']} in sources.",
                    )
        sequences: set[int] = set()
        current_records = 0
        for record_index, record in enumerate(claim["consensus"]):
            rpath = f"{path}/consensus/{record_index}"
            if record["sequence"] in sequences:
                add(f"{rpath}/sequence", f"Sequence {record['sequence']} appears twice.")
            sequences.add(record["sequence"])
            current_records += record["is_current"]
            if current_records > 1 and record["is_current"]:
                add(f"{rpath}/is_current", "A claim has at most one current consensus.")
            if record["rating"] not in known_ratings:
                add(f"{rpath}/rating", f"Unknown rating {record['rating']!r}: not in any scale.")
            if record["decided_by"] is not None:
                check_username(f"{rpath}/decided_by", record["decided_by"])
            for link_index, verdict_id in enumerate(record["verdicts"]):
                if verdict_id not in claim_verdicts:
                    add(
                        f"{rpath}/verdicts/{link_index}",
                        f"No verdict with id {verdict_id} on this claim.",
                    )
    for path, value, parse in _native_time_fields(payload):
        try:
            parse(value)
        except ValueError as exc:
            add(path, f"Not a valid date or time {value!r}: {exc}.")
    return errors


def _native_time_fields(
    payload: dict[str, Any],
) -> Iterable[tuple[str, str, Any]]:
    """Every timestamp and date of a (schema-valid) payload: (path, value, parser)."""
    yield "/exported_at", payload["exported_at"], native_datetime
    yield "/document/created_at", payload["document"]["created_at"], native_datetime
    if payload["document"]["published_date"]:
        yield "/document/published_date", payload["document"]["published_date"], native_date
    for index, source in enumerate(payload["sources"]):
        for name in ("published_date", "accessed_date"):
            if source[name]:
                yield f"/sources/{index}/{name}", source[name], native_date
    for claim_index, claim in enumerate(payload["claims"]):
        path = f"/claims/{claim_index}"
        yield f"{path}/created_at", claim["created_at"], native_datetime
        for index, verdict in enumerate(claim["verdicts"]):
            yield f"{path}/verdicts/{index}/submitted_at", verdict["submitted_at"], native_datetime
        for index, record in enumerate(claim["consensus"]):
            yield f"{path}/consensus/{index}/decided_at", record["decided_at"], native_datetime
