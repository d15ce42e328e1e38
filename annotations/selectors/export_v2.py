"""The lossless project export (``workbench-export/2``,
``schemas/workbench-export-2.schema.json``): every row of a project with its primary key,
and the project's audit chain with its hashes, so that ``services.project_restore_native``
can rebuild the project in an empty database where ``check_integrity`` and
``verify_audit`` pass and a second export is byte-identical to the first (only
``exported_at`` differs).

It carries every verdict of every reviewer (current or not, blind or post-reveal) and every
comment of the claims' discussions (withdrawn ones with their text): editors and admins only (``access.EDITORS_ONLY`` for anyone else, Http404 for non-members).

The tables (columns and how each value is written) are ``core.export_tables``; rows are
in id order, so the same database always gives the same bytes. The whole project is read
into memory (one query per table): a backup tool, not a streamed API answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.utils import timezone

from annotations import access
from annotations.access import User
from annotations.core import auditchain, export_tables
from annotations.models import (
    Assignment,
    Citation,
    Claim,
    ClaimAnchor,
    Claimant,
    ClaimantName,
    ClaimLink,
    ClaimVersion,
    Comment,
    Consensus,
    Document,
    DocumentRevision,
    GoldClaim,
    Membership,
    Project,
    Publication,
    QuoteCheck,
    Rating,
    Reference,
    RepeatSuggestion,
    Reservation,
    Role,
    Source,
    SourceCheck,
    SourceEvidence,
    SourceSnapshot,
    Suggestion,
    SuggestionDecision,
    TriageRun,
    Verdict,
)
from annotations.selectors.audit import audit_entries, audit_head

# Each table's rows, as a queryset filter on the project.
_ROWS: dict[str, tuple[type[Model], str]] = {
    "memberships": (Membership, "project"),
    "documents": (Document, "project"),
    "document_revisions": (DocumentRevision, "document__project"),
    "claims": (Claim, "project"),
    "claim_versions": (ClaimVersion, "claim__project"),
    "claim_anchors": (ClaimAnchor, "claim__project"),
    "sources": (Source, "project"),
    "source_snapshots": (SourceSnapshot, "source__project"),
    "source_evidence": (SourceEvidence, "source__project"),
    "source_checks": (SourceCheck, "source__project"),
    "verdicts": (Verdict, "claim__project"),
    "citations": (Citation, "verdict__claim__project"),
    "quote_checks": (QuoteCheck, "citation__verdict__claim__project"),
    "consensus": (Consensus, "claim__project"),
    "assignments": (Assignment, "project"),
    "publications": (Publication, "project"),
    "claimants": (Claimant, "project"),
    "claimant_names": (ClaimantName, "project"),
    "references": (Reference, "project"),
    "claim_links": (ClaimLink, "project"),
    "repeat_suggestions": (RepeatSuggestion, "project"),
    "triage_runs": (TriageRun, "document__project"),
    "suggestions": (Suggestion, "run__document__project"),
    "suggestion_decisions": (SuggestionDecision, "project"),
    "reservations": (Reservation, "project"),
    "comments": (Comment, "project"),
    "gold_claims": (GoldClaim, "project"),
}


def _table_rows(
    model: type[Model], path: str, project: Project, table: export_tables.Table
) -> list[tuple[Any, ...]]:
    columns = [export_tables.attribute(column, kind) for column, kind in table]
    return list(
        # "pk": the evidence state and quote checks are keyed by their source and citation.
        model._default_manager.filter(**{path: project}).order_by("pk").values_list("pk", *columns)
    )


def project_native(
    *, project: Project, user: User, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The lossless export of ``project`` for ``user``, an editor or admin of it."""
    membership = access.membership_get_or_404(user=user, project_id=project.pk)
    if not access.is_editor(membership):
        raise PermissionDenied(access.EDITORS_ONLY)
    project = Project.objects.get(pk=project.pk)
    head = audit_head(project_id=project.pk) or (0, auditchain.GENESIS)
    events = list(audit_entries(project_id=project.pk, upto=head[0]))

    raw: dict[str, list[tuple[Any, ...]]] = {
        name: _table_rows(model, path, project, dict(export_tables.TABLES)[name])
        for name, (model, path) in _ROWS.items()
    }
    links: dict[int, list[int]] = {}
    for consensus_id, verdict_id in (
        Consensus.verdicts.through.objects.filter(consensus__claim__project=project)
        .order_by("consensus_id", "verdict_id")
        .values_list("consensus_id", "verdict_id")
    ):
        links.setdefault(consensus_id, []).append(verdict_id)

    # Every account a row or an event names, with its id (the chain hashes actor ids).
    user_ids: set[int] = {project.created_by_id} if project.created_by_id else set()
    for name, table in export_tables.TABLES:
        for index, (_, kind) in enumerate(table, start=1):
            if kind == "user":
                user_ids.update(row[index] for row in raw[name] if row[index] is not None)
    user_ids.update(entry.actor for entry in events if entry.actor is not None)
    accounts = (
        get_user_model()
        ._default_manager.filter(pk__in=user_ids)
        .order_by("pk")
        .values_list("pk", get_user_model().USERNAME_FIELD, "is_active")
    )
    usernames = {pk: name for pk, name, _ in accounts}

    def rows(name: str) -> list[dict[str, Any]]:
        table = dict(export_tables.TABLES)[name]
        out = []
        for row in raw[name]:
            item: dict[str, Any] = {"id": row[0]}
            for (column, kind), value in zip(table, row[1:], strict=True):
                item[column] = export_tables.write_value(kind, value, usernames)
            if name == "consensus":
                item["verdicts"] = links.get(row[0], [])
            out.append(item)
        return out

    scale = Rating.objects.filter(project=project).order_by("id")
    return {
        "schema": export_tables.SCHEMA,
        "exported_at": export_tables.timestamp(now or timezone.now()),
        "users": [
            {"id": pk, "username": name, "is_active": active} for pk, name, active in accounts
        ],
        "project": {
            "id": project.pk,
            "name": project.name,
            "slug": project.slug,
            "organization": project.organization,
            "organization_url": project.organization_url,
            "policy": {
                "required_reviews": project.required_reviews,
                "consensus_rule": project.consensus_rule,
                "majority_threshold": project.majority_threshold,
                "lease_minutes": project.lease_minutes,
            },
            "created_by": usernames.get(project.created_by_id) if project.created_by_id else None,
            "created_at": export_tables.timestamp(project.created_at),
            "scale": [
                {
                    "id": rating.pk,
                    **{column: getattr(rating, column) for column, _ in export_tables.RATING},
                }
                for rating in scale
            ],
            "publishing_enabled": project.publishing_enabled,
            # The HTTP provider's URL may hold a credential: admins read it, editors don't.
            **(
                {"triage_url": project.triage_url}
                if access.role_at_least(membership, Role.ADMIN)
                else {}
            ),
            "gold_rate": project.gold_rate,
            "evidence_policy": {
                "min_citations": project.min_citations,
                "quote_required": project.quote_required,
                "allowed_stances": list(project.evidence_policy.allowed_stances),
            },
        },
        **{name: rows(name) for name, _ in export_tables.TABLES},
        "audit": {
            "head": {"seq": head[0], "hash": head[1]},
            "events": [
                {
                    "id": entry.id,
                    "seq": entry.seq,
                    "actor": entry.actor,
                    "verb": entry.verb,
                    "object_type": entry.object_type,
                    "object_id": entry.object_id,
                    "before": entry.before,
                    "after": entry.after,
                    "created_at": entry.created_at,
                    "prev_hash": entry.prev_hash,
                    "hash": entry.hash,
                }
                for entry in events
            ],
        },
    }
