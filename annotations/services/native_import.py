"""Reading a native export back into a project (the other half of the round trip)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Model

from annotations.core import language as languages
from annotations.core.urlnorm import normalize_url
from annotations.models import (
    Citation,
    Claim,
    ClaimStatus,
    Consensus,
    Document,
    Project,
    Rating,
    Source,
    Verdict,
)
from annotations.services._base import (
    User,
    event_record,
)
from annotations.services.documents import _text_chunks_write
from annotations.services.native_checks import native_date, native_datetime, native_problems
from annotations.services.review import claims_status_restore

# Reads a native export ("workbench-export/1", see annotations/core/export_mapping.py and
# annotations/schemas/workbench-export-1.schema.json) back into a project: the other half
# of the lossless round trip. Owned by the export layer; here because every write goes
# through the services.


def _native_users(names: set[str]) -> tuple[dict[str, User], list[str]]:
    """Users by username; the missing ones are created inactive with unusable passwords."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    users = {
        user.get_username(): user
        for user in user_model._default_manager.filter(**{f"{field}__in": names})
    }
    created = []
    for name in sorted(names - set(users)):
        # get_or_create, not a bulk insert: a concurrent import may create the same name.
        user, was_created = user_model._default_manager.get_or_create(
            **{field: name}, defaults={"is_active": False, "password": make_password(None)}
        )
        users[name] = user
        if was_created:
            created.append(name)
    return users, created


def _native_clean(obj: Model, path: str, **options: Any) -> None:
    """``full_clean`` with errors keyed by the JSON pointer of the offending field."""
    try:
        obj.full_clean(validate_unique=False, **options)
    except ValidationError as exc:
        raise ValidationError(
            {f"{path}/{name}": messages for name, messages in exc.message_dict.items()}
        ) from None


def _native_insert(model: type[Model], objects: list[Any]) -> list[Any]:
    """Insert rows and get their primary keys back (one statement where the backend can)."""
    if not objects:
        return objects
    if connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(objects)
    for obj in objects:
        obj.save(force_insert=True)
    return objects


def _native_timestamps(model: type[Model], objects: list[Any], field: str) -> None:
    # auto_now_add fields get "now" on insert whatever the object holds; the exported
    # value is written back afterwards with one UPDATE (a CASE over the primary keys).
    if objects:
        model._default_manager.bulk_update(objects, [field], batch_size=500)


@transaction.atomic
def document_import_native(
    *, project: Project, payload: dict[str, Any], actor: User | None
) -> Document:
    """Import one native export (``"schema": "workbench-export/1"``) into ``project``.

    All or nothing, in one transaction. In order:

    * The payload is validated against ``annotations/schemas/workbench-export-1.schema.json``
      (``export_mapping.native_errors``, which also refuses strings holding NUL or a lone
      surrogate and numbers that are NaN or infinite, anywhere) and then across records
      (text hash and length, every ``exact``/``prefix``/``suffix`` against the text,
      citation and consensus links, rating keys, usernames). Problems raise
      ValidationError keyed by JSON pointer (``"/claims/0/exact"``) with the reason, e.g.
      ``{"/claims/3/statement": ["contains a NUL character (U+0000) at position 5"]}``,
      before anything is written; the same payload is refused on SQLite and PostgreSQL.
    * A document whose canonical text the project already holds raises ValidationError
      with code ``duplicate`` on ``text``.
    * Rating keys missing from the project's scale are added from the payload's scale
      (label, ordinal, position); existing keys are used as they are, never changed.
    * Users are matched by username. A username that does not exist is created as an
      INACTIVE user with an UNUSABLE password (so the record keeps who did what, but
      nobody can sign in as them until an admin activates the account and sets a
      password). Imported users are not made project members: an export must never
      grant access.
    * Sources are found by normalized URL (normalized again with today's rules), or
      created with every exported field.
    * The document, its claims (span, quote, context, statement, claimant, status,
      version, created_at), every verdict revision (revision, is_current, submitted_at),
      citations and the consensus history (sequence, method, agreement, decided_by,
      decided_at, note, is_current, verdict links) are recreated with their timestamps.
      The document's ``created_by`` is ``actor``; ids are new.
    * The project's evidence policy is not applied: the verdicts are history, written
      under another project's policy or before there was one (docs/design.md, Decisions).
    * One ``document.import`` event records what was created.

    Leases (assignments) and the original audit trail are not part of the export.
    """
    from annotations.core import export_mapping

    problems = export_mapping.native_errors(payload)
    if problems:
        grouped: dict[str, list[str]] = {}
        for pointer, reason in problems:
            grouped.setdefault(pointer, []).append(reason)
        raise ValidationError(grouped)
    errors = native_problems(payload, project=project)
    if errors:
        raise ValidationError(errors)

    data = payload["document"]
    duplicate = ValidationError(
        {
            "text": ValidationError(
                f"This project already has a document with the same text "
                f"(sha256 {data['text_sha256'][:12]}…).",
                code="duplicate",
            )
        }
    )
    if Document.objects.filter(project=project, text_sha256=data["text_sha256"]).exists():
        raise duplicate

    # Scale: add the keys the project lacks.
    ratings = {rating.key: rating for rating in Rating.objects.filter(project=project)}
    new_ratings = [
        Rating(
            project=project,
            key=entry["key"],
            label=entry["label"],
            ordinal=entry["ordinal"],
            position=entry["position"],
        )
        for entry in payload["project"]["scale"]
        if entry["key"] not in ratings
    ]
    for rating in _native_insert(Rating, new_ratings):
        ratings[rating.key] = rating

    names = {claim["created_by"] for claim in payload["claims"]}
    for claim in payload["claims"]:
        names.update(verdict["reviewer"] for verdict in claim["verdicts"])
        names.update(r["decided_by"] for r in claim["consensus"] if r["decided_by"])
    names.update(source["created_by"] for source in payload["sources"] if source.get("created_by"))
    users, users_created = _native_users(names)

    document = Document(
        project=project,
        title=data["title"],
        text=data["text"],
        text_sha256=data["text_sha256"],
        length=data["length"],
        raw_text=data["raw_text"],
        source_url=data["source_url"],
        publisher=data["publisher"],
        author=data["author"],
        published_date=native_date(data["published_date"]),
        language=data["language"],
        # Exports written before the direction was exported: the one the language implies.
        direction=data.get("direction") or languages.direction_of(data["language"]),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _native_clean(
        document, "/document", exclude=["project", "created_by"], validate_constraints=False
    )
    try:
        with transaction.atomic():
            document.save(force_insert=True)
            _text_chunks_write([document])  # derived: not in the export, written again
    except IntegrityError:
        # Another import of the same text committed between our check and this insert.
        raise duplicate from None
    document.created_at = native_datetime(data["created_at"])
    _native_timestamps(Document, [document], "created_at")

    # Sources: each belongs to the project and its owner (``models.Source``): the owner the
    # export names (editors' exports), else the first reviewer whose verdict cites it, else
    # the importer. An owner's existing source for the same page is reused.
    citers: dict[int, str] = {}
    for claim in payload["claims"]:
        for verdict in claim["verdicts"]:
            for citation in verdict["citations"]:
                citers.setdefault(citation["source"], verdict["reviewer"])
    owned: dict[tuple[int | None, str], list[tuple[int, dict[str, Any]]]] = {}
    for index, entry in enumerate(payload["sources"]):
        name = entry.get("created_by") or citers.get(entry["id"])
        owner = users[name] if name else document.created_by
        key = (owner.pk if owner is not None else None, normalize_url(entry["url"]))
        owned.setdefault(key, []).append((index, entry))
    found: dict[tuple[int | None, str], Source] = {}
    for source in Source.objects.filter(
        project=project, normalized_url__in={normalized for _, normalized in owned}
    ):
        found.setdefault((source.created_by_id, source.normalized_url), source)
    created_sources = []
    for (owner_id, normalized), entries in owned.items():
        if (owner_id, normalized) in found:
            continue
        index, entry = entries[0]
        source = Source(
            project=project,
            url=entry["url"],
            normalized_url=normalized,
            title=entry["title"],
            publisher=entry["publisher"],
            published_date=native_date(entry["published_date"]),
            archive_url=entry["archive_url"],
            accessed_date=native_date(entry["accessed_date"]),
            created_by_id=owner_id,
        )
        _native_clean(source, f"/sources/{index}", exclude=["project", "created_by"])
        created_sources.append(source)
        found[(owner_id, normalized)] = source
    _native_insert(Source, created_sources)
    sources = {entry["id"]: found[key] for key, entries in owned.items() for _, entry in entries}

    claims = []
    for index, entry in enumerate(payload["claims"]):
        claim = Claim(
            project=project,
            document=document,
            start=entry["start"],
            end=entry["end"],
            exact=entry["exact"],
            prefix=entry["prefix"],
            suffix=entry["suffix"],
            statement=entry["statement"],
            claimant=entry["claimant"],
            # In review until its consensus records exist; ``claims_status_restore`` then
            # replays the recorded status through the lifecycle.
            status=ClaimStatus.IN_REVIEW,
            version=entry["version"],
            claim_version=entry.get("claim_version", 1),
            created_by=users[entry["created_by"]],
        )
        _native_clean(
            claim,
            f"/claims/{index}",
            exclude=["project", "document", "created_by"],
            validate_constraints=False,
        )
        claims.append(claim)
    _native_insert(Claim, claims)
    for claim, entry in zip(claims, payload["claims"], strict=True):
        claim.created_at = native_datetime(entry["created_at"])
    _native_timestamps(Claim, claims, "created_at")

    verdicts: dict[int, Verdict] = {}
    verdict_rows: list[tuple[Verdict, dict[str, Any]]] = []
    for claim, entry in zip(claims, payload["claims"], strict=True):
        for item in entry["verdicts"]:
            verdict = Verdict(
                claim=claim,
                reviewer=users[item["reviewer"]],
                rating=ratings[item["rating"]],
                confidence=item["confidence"],
                rationale=item["rationale"],
                revision=item["revision"],
                is_current=item["is_current"],
                claim_version=item.get("claim_version", 1),
                post_reveal=item.get("post_reveal", False),
            )
            verdicts[item["id"]] = verdict
            verdict_rows.append((verdict, item))
    _native_insert(Verdict, [verdict for verdict, _ in verdict_rows])
    for verdict, item in verdict_rows:
        verdict.submitted_at = native_datetime(item["submitted_at"])
    _native_timestamps(Verdict, [verdict for verdict, _ in verdict_rows], "submitted_at")

    citations = [
        Citation(
            verdict=verdict,
            source=sources[citation["source"]],
            quote=citation["quote"],
            stance=citation["stance"],
        )
        for verdict, item in verdict_rows
        for citation in item["citations"]
    ]
    _native_insert(Citation, citations)

    records: list[tuple[Consensus, dict[str, Any]]] = []
    for claim, entry in zip(claims, payload["claims"], strict=True):
        for item in entry["consensus"]:
            record = Consensus(
                claim=claim,
                sequence=item["sequence"],
                rating=ratings[item["rating"]],
                method=item["method"],
                agreement=item["agreement"],
                decided_by=users[item["decided_by"]] if item["decided_by"] else None,
                note=item["note"],
                is_current=item["is_current"],
            )
            records.append((record, item))
    _native_insert(Consensus, [record for record, _ in records])
    for record, item in records:
        record.decided_at = native_datetime(item["decided_at"])
    _native_timestamps(Consensus, [record for record, _ in records], "decided_at")
    links = [
        Consensus.verdicts.through(consensus_id=record.pk, verdict_id=verdicts[verdict_id].pk)
        for record, item in records
        for verdict_id in item["verdicts"]
    ]
    Consensus.verdicts.through.objects.bulk_create(links)
    current = {record.claim_id: record for record, item in records if item["is_current"]}
    claims_status_restore(
        [
            (claim, entry["status"], current.get(claim.pk), f"/claims/{index}/status")
            for index, (claim, entry) in enumerate(zip(claims, payload["claims"], strict=True))
        ]
    )

    event_record(
        actor=actor,
        verb="document.import",
        obj=document,
        project=project,
        after={
            "schema": payload["schema"],
            "title": document.title,
            "text_sha256": document.text_sha256,
            "exported_at": payload["exported_at"],
            "from_project": payload["project"]["slug"],
            "claims": len(claims),
            "verdicts": len(verdict_rows),
            "citations": len(citations),
            "consensus": len(records),
            "sources_created": len(created_sources),
            "ratings_created": [rating.key for rating in new_ratings],
            "users_created": users_created,
        },
    )
    return document
