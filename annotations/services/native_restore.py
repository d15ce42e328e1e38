"""Restoring a lossless project export (``workbench-export/2``) into an empty database.

The other half of ``selectors.export_v2.project_native``. Every row comes back with its
original primary key and every audit event with its stored ``seq``, ``prev_hash`` and
``hash`` (inserted as they are, not recorded again), because the chain hashes database
ids (project, actor, object): only the same ids verify. So a restore needs a database
with no workbench data at all, and refuses anything else.

The restore records NO event of its own: appending one would make the restored chain
differ from the exported one. The operator's command output (``import_documents``) is
the record of the restore.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction
from django.db.models import Model

from annotations.core import auditchain, evidence_policy, export_mapping, export_tables
from annotations.models import (
    Assignment,
    AuditHead,
    Citation,
    Claim,
    ClaimAnchor,
    Claimant,
    ClaimantName,
    ClaimLink,
    ClaimStatus,
    ClaimVersion,
    Comment,
    Consensus,
    Document,
    DocumentRevision,
    Event,
    GoldClaim,
    IdempotencyKey,
    Invitation,
    Membership,
    Project,
    Publication,
    QuoteCheck,
    Rating,
    Reference,
    RepeatSuggestion,
    Reservation,
    Source,
    SourceCheck,
    SourceEvidence,
    SourceSnapshot,
    Stance,
    Suggestion,
    SuggestionDecision,
    TriageRun,
    Verdict,
)
from annotations.selectors import matching as match_selectors
from annotations.selectors.audit import audit_verify
from annotations.selectors.integrity import integrity_violations
from annotations.services.documents import _text_chunks_write
from annotations.services.review import claims_status_restore

_MODELS: dict[str, type[Model]] = {
    "memberships": Membership,
    "documents": Document,
    "document_revisions": DocumentRevision,
    "claims": Claim,
    "claim_versions": ClaimVersion,
    "claim_anchors": ClaimAnchor,
    "sources": Source,
    "source_snapshots": SourceSnapshot,
    "source_evidence": SourceEvidence,
    "source_checks": SourceCheck,
    "verdicts": Verdict,
    "citations": Citation,
    "quote_checks": QuoteCheck,
    "consensus": Consensus,
    "assignments": Assignment,
    "publications": Publication,
    "claimants": Claimant,
    "claimant_names": ClaimantName,
    "references": Reference,
    "claim_links": ClaimLink,
    "repeat_suggestions": RepeatSuggestion,
    "triage_runs": TriageRun,
    "suggestions": Suggestion,
    "suggestion_decisions": SuggestionDecision,
    "reservations": Reservation,
    "comments": Comment,
    "gold_claims": GoldClaim,
}
# Tables that must be empty before a restore (every table of the workbench's data).
_WORKBENCH_TABLES: tuple[type[Model], ...] = (
    Project,
    Rating,
    Invitation,
    IdempotencyKey,
    Event,
    AuditHead,
    *_MODELS.values(),
)


def _refuse(errors: dict[str, list[str]] | str) -> ValidationError:
    return ValidationError(errors if isinstance(errors, dict) else {"restore": [errors]})


def _check_empty() -> None:
    counts = {
        model._meta.verbose_name_plural: model._default_manager.count()
        for model in _WORKBENCH_TABLES
    }
    found = [f"{count} {name}" for name, count in counts.items() if count]
    if found:
        raise _refuse(
            "The database is not empty (" + ", ".join(found) + "). A lossless restore keeps "
            "the exported ids and audit chain, so it goes into a new, empty database only: "
            "create one, run manage.py migrate, and restore there."
        )


def _check_chain(payload: dict[str, Any]) -> list[auditchain.Entry]:
    """The file's audit events as chain entries, verified link by link against the
    file's head; ValidationError naming the first event that does not hold."""
    project_id = payload["project"]["id"]
    entries = [
        auditchain.Entry(project=project_id, **{k: v for k, v in item.items()})
        for item in payload["audit"]["events"]
    ]
    head = payload["audit"]["head"]
    report = auditchain.verify(entries, project=project_id, head=(head["seq"], head["hash"]))
    if report.problem is not None:
        at_end = report.problem.index >= len(entries)
        raise ValidationError(
            {
                "/audit/head" if at_end else f"/audit/events/{report.problem.index}": [
                    f"The audit chain in the file does not verify: {report.problem.message} "
                    "Nothing was restored."
                ]
            }
        )
    return entries


def _check_usernames(payload: dict[str, Any]) -> None:
    """Every username a row names must be one of the export's ``users``."""
    known = {item["username"] for item in payload["users"]}
    errors: dict[str, list[str]] = {}
    ids = Counter(item["id"] for item in payload["users"])
    names = Counter(item["username"] for item in payload["users"])
    for index, item in enumerate(payload["users"]):
        if ids[item["id"]] > 1 or names[item["username"]] > 1:
            errors[f"/users/{index}"] = ["An account appears twice (same id or username)."]
    named = [("/project/created_by", payload["project"]["created_by"])]
    for name, table in export_tables.TABLES:
        for index, item in enumerate(payload.get(name, ())):
            named.extend(
                (f"/{name}/{index}/{column}", item[column])
                for column, kind in table
                if kind == "user"
            )
    for pointer, username in named:
        if username is not None and username not in known:
            errors[pointer] = [f"No user {username!r} in users."]
    if errors:
        raise ValidationError(errors)


def _evidence_policy(policy: dict[str, Any] | None) -> dict[str, Any]:
    """The project's evidence policy columns from the export's ``evidence_policy`` (the
    schema has checked it); None (an export from before the policy) is the open policy."""
    if policy is None:
        return {}
    return {
        "min_citations": policy["min_citations"],
        "quote_required": policy["quote_required"],
        "allowed_stances": evidence_policy.stances_text(policy["allowed_stances"], Stance.values),
    }


def _users(payload: dict[str, Any]) -> dict[str, int]:
    """The export's accounts with their ids: an account with the same id and username is
    used as it is; missing ones are created with their id and an UNUSABLE password
    (nobody signs in as them until an admin sets one). Any other clash is refused."""
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    wanted = {item["id"]: item for item in payload["users"]}
    by_id = {
        pk: name
        for pk, name in user_model._default_manager.filter(pk__in=wanted).values_list("pk", field)
    }
    by_name = dict(
        user_model._default_manager.filter(
            **{f"{field}__in": [item["username"] for item in wanted.values()]}
        ).values_list(field, "pk")
    )
    errors: dict[str, list[str]] = {}
    create = []
    for index, item in enumerate(payload["users"]):
        pk, name = item["id"], item["username"]
        if by_id.get(pk, name) != name or by_name.get(name, pk) != pk:
            errors[f"/users/{index}"] = [
                f"User {name!r} has id {pk} in the export, but this database has "
                + (
                    f"{by_id[pk]!r} with id {pk}."
                    if pk in by_id and by_id[pk] != name
                    else f"{name!r} with id {by_name[name]}."
                )
                + " Restore into a database without these accounts."
            ]
        elif pk not in by_id:
            create.append(
                user_model(
                    pk=pk,
                    **{field: name},
                    is_active=item["is_active"],
                    password=make_password(None),
                )
            )
    if errors:
        raise ValidationError(errors)
    user_model._default_manager.bulk_create(create)
    return {item["username"]: item["id"] for item in payload["users"]}


def _rows(name: str, payload: dict[str, Any], user_ids: dict[str, int], **extra: Any) -> list[Any]:
    model = _MODELS[name]
    table = dict(export_tables.TABLES)[name]
    objects = []
    for item in payload.get(name, ()):
        values = {
            export_tables.attribute(column, kind): export_tables.read_value(
                kind,
                item[column]
                if (name, column) not in export_tables.OPTIONAL_COLUMNS
                else item.get(column, export_tables.OPTIONAL_COLUMNS[name, column]),
                user_ids,
            )
            for column, kind in table
        }
        values.update(extra)
        # "pk": the evidence state and quote checks are keyed by their source and citation.
        objects.append(model(pk=item["id"], **values))
    return objects


def _insert(name: str, objects: list[Any]) -> None:
    """Insert with the exported ids, then write the exported timestamps back over those
    ``auto_now``/``auto_now_add`` set on insert (one UPDATE per batch)."""
    if not objects:
        return
    model = _MODELS[name]
    times = [column for column, kind in dict(export_tables.TABLES)[name] if kind == "time"]
    # The insert sets auto_now(_add) attributes on the objects themselves: keep the
    # exported values to put back.
    exported = [[getattr(obj, column) for column in times] for obj in objects]
    model._default_manager.bulk_create(objects, batch_size=500)
    for obj, values in zip(objects, exported, strict=True):
        for column, value in zip(times, values, strict=True):
            setattr(obj, column, value)
    if times:
        model._default_manager.bulk_update(objects, times, batch_size=500)


def _embed_references(references: list[Reference]) -> None:
    """Compute the restored references' embeddings again (the export does not carry
    them: they are derived from ``claim_reviewed`` by the shipped model)."""
    for start in range(0, len(references), 1000):
        batch = references[start : start + 1000]
        vectors = match_selectors.embed([row.claim_reviewed for row in batch])
        for row, vector in zip(batch, vectors, strict=True):
            row.vector = vector
        Reference.objects.bulk_update(batch, ["vector"], batch_size=500)


def _reset_sequences() -> None:
    """Move every id sequence past the restored ids, so new rows get fresh ones
    (PostgreSQL; SQLite's AUTOINCREMENT follows the largest id by itself)."""
    models = [get_user_model(), *_WORKBENCH_TABLES]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _schema_problems(payload: dict[str, Any]) -> None:
    problems = export_mapping.native_errors(payload, version=2)
    if problems:
        grouped: dict[str, list[str]] = {}
        for pointer, reason in problems:
            grouped.setdefault(pointer, []).append(reason)
        raise ValidationError(grouped)


@transaction.atomic
def project_restore_native(*, payload: dict[str, Any]) -> Project:
    """Restore the project of a lossless export into an empty database. All or nothing.

    In order, refusing with ValidationError (keyed by JSON pointer, or ``restore``) before
    anything stays written:

    * the payload must match ``schemas/workbench-export-2.schema.json`` (and hold no NUL,
      lone surrogate or non-finite number), and name no account outside its ``users``;
    * its audit chain must verify (every event's hash over its content, every link to the
      event before, the head): a file whose events were edited, removed or reordered is
      refused, naming the first such event;
    * the database must hold no workbench data (no project, rating, document, claim,
      verdict, source, event, chain head, invitation, idempotency key …); accounts may
      exist only when their id and username both match the export's;
    * the rows are inserted with their ids (a reference to a row the export lacks, or
      rows breaking a database constraint, refuse the restore) (accounts the database lacks are created with
      their ids, the exported active flag and an unusable password), the events as they
      are, the chain head from the file, the sequences moved past the ids;
    * the restored project must then pass ``verify_audit`` and every ``check_integrity``
      invariant, or nothing is kept.

    Records no event (see the module's docstring).
    """
    _schema_problems(payload)
    _check_usernames(payload)
    entries = _check_chain(payload)
    _check_empty()
    user_ids = _users(payload)

    data = payload["project"]
    policy = data["policy"]
    project = Project(
        id=data["id"],
        name=data["name"],
        slug=data["slug"],
        organization=data["organization"],
        organization_url=data["organization_url"],
        required_reviews=policy["required_reviews"],
        consensus_rule=policy["consensus_rule"],
        majority_threshold=policy["majority_threshold"],
        lease_minutes=policy["lease_minutes"],
        # Optional: exports written before publishing have neither this nor publications.
        publishing_enabled=bool(data.get("publishing_enabled", False)),
        # Optional: exports written before the HTTP triage provider have none.
        triage_url=data.get("triage_url", ""),
        # Optional: exports written before gold calibration restore without it.
        gold_rate=data.get("gold_rate", 0.0),
        # Optional too: exports written before the evidence policy restore with the open one.
        **_evidence_policy(data.get("evidence_policy")),
        created_by_id=user_ids[data["created_by"]] if data["created_by"] else None,
    )
    try:
        with transaction.atomic():
            project.save(force_insert=True)
            Project.objects.filter(pk=project.pk).update(
                created_at=export_tables.parse_time(data["created_at"])
            )
            Rating.objects.bulk_create(
                [
                    Rating(
                        id=entry["id"],
                        project=project,
                        **{column: entry[column] for column, _ in export_tables.RATING},
                    )
                    for entry in data["scale"]
                ]
            )
            _insert("memberships", _rows("memberships", payload, user_ids, project_id=project.pk))
            documents = _rows("documents", payload, user_ids, project_id=project.pk)
            _insert("documents", documents)
            _text_chunks_write(documents)  # derived: not in the export, written again
            _insert("document_revisions", _rows("document_revisions", payload, user_ids))
            # In review and without a consensus pointer until the records exist.
            claims = _rows(
                "claims", payload, user_ids, project_id=project.pk,
                status=ClaimStatus.IN_REVIEW, consensus_id=None,
            )  # fmt: skip
            Claim.objects.bulk_create(claims, batch_size=500)
            _insert("claim_versions", _rows("claim_versions", payload, user_ids))
            _insert("claim_anchors", _rows("claim_anchors", payload, user_ids))
            _insert("sources", _rows("sources", payload, user_ids, project_id=project.pk))
            # Evidence (absent from exports written before it: none then).
            _insert("source_snapshots", _rows("source_snapshots", payload, user_ids))
            _insert("source_evidence", _rows("source_evidence", payload, user_ids))
            _insert("source_checks", _rows("source_checks", payload, user_ids))
            _insert("verdicts", _rows("verdicts", payload, user_ids))
            _insert("citations", _rows("citations", payload, user_ids))
            _insert("quote_checks", _rows("quote_checks", payload, user_ids))
            records = _rows("consensus", payload, user_ids)
            _insert("consensus", records)
            Consensus.verdicts.through.objects.bulk_create(
                [
                    Consensus.verdicts.through(consensus_id=item["id"], verdict_id=verdict_id)
                    for item in payload["consensus"]
                    for verdict_id in item["verdicts"]
                ],
                batch_size=500,
            )
            by_id = {record.pk: record for record in records}
            claims_status_restore(
                [
                    (
                        claim,
                        item["status"],
                        by_id.get(item["consensus"]) if item["consensus"] else None,
                        f"/claims/{index}/status",
                    )
                    for index, (claim, item) in enumerate(
                        zip(claims, payload["claims"], strict=True)
                    )
                ]
            )
            # Written last: the status restore above saves claims (updated_at is auto_now).
            for claim, item in zip(claims, payload["claims"], strict=True):
                claim.created_at = export_tables.parse_time(item["created_at"])
                claim.updated_at = export_tables.parse_time(item["updated_at"])
            Claim.objects.bulk_update(claims, ["created_at", "updated_at"], batch_size=500)
            _insert("assignments", _rows("assignments", payload, user_ids, project_id=project.pk))
            _insert("publications", _rows("publications", payload, user_ids, project_id=project.pk))
            # Optional: exports written before the claimant registry have neither.
            _insert("claimants", _rows("claimants", payload, user_ids, project_id=project.pk))
            _insert(
                "claimant_names", _rows("claimant_names", payload, user_ids, project_id=project.pk)
            )
            # Optional: exports written before finding claims have none of these.
            references = _rows("references", payload, user_ids, project_id=project.pk)
            _insert("references", references)
            _embed_references(references)
            for name in ("claim_links", "repeat_suggestions", "suggestion_decisions"):
                _insert(name, _rows(name, payload, user_ids, project_id=project.pk))
            _insert("triage_runs", _rows("triage_runs", payload, user_ids))
            _insert("suggestions", _rows("suggestions", payload, user_ids))
            _insert("reservations", _rows("reservations", payload, user_ids, project_id=project.pk))
            # Optional: exports written before discussions (issue 18) have none.
            _insert("comments", _rows("comments", payload, user_ids, project_id=project.pk))
            # Optional: exports written before gold calibration have none.
            _insert("gold_claims", _rows("gold_claims", payload, user_ids, project_id=project.pk))
            Event.objects.bulk_create(
                [
                    Event(
                        id=entry.id,
                        project_id=project.pk,
                        seq=entry.seq,
                        actor_id=entry.actor,
                        verb=entry.verb,
                        object_type=entry.object_type,
                        object_id=entry.object_id,
                        before=entry.before,
                        after=entry.after,
                        created_at=dt.datetime.fromisoformat(entry.created_at),
                        prev_hash=entry.prev_hash,
                        hash=entry.hash,
                    )
                    for entry in entries
                ],
                batch_size=500,
            )
            head = payload["audit"]["head"]
            AuditHead.objects.create(chain=project.pk, seq=head["seq"], hash=head["hash"])
            # Foreign keys are checked at commit (deferred): check them here, where a
            # dangling reference is still this restore's refusal, not a failed commit.
            connection.check_constraints()
    except IntegrityError as exc:
        # A reference to a row the export lacks, or two rows breaking a constraint.
        raise _refuse(f"The export's rows do not fit together: {exc}") from None
    _reset_sequences()

    report = audit_verify(project_id=project.pk)
    if report.problem is not None:
        raise _refuse(f"The restored audit chain does not verify: {report.problem.message}")
    problems = [violation.line() for _, violation in integrity_violations(project.pk)]
    if problems:
        raise _refuse(
            f"The restored project breaks {len(problems)} invariant(s): " + "; ".join(problems[:20])
        )
    return project
