"""Reading the audit chains: verification against the database and the JSONL download.

The hashing and the walk are the pure ``core.auditchain``; here the events are read in
keyset chunks of ``seq`` (constant memory, no transaction held between chunks).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from annotations.core import auditchain
from annotations.models import AuditHead, Event, Project

SCHEMA = "workbench-audit/1"
# The event columns behind each field of a line (the two foreign keys by their ids).
_COLUMNS = tuple(
    {"project": "project_id", "actor": "actor_id"}.get(name, name)
    for name in auditchain.LINE_FIELDS
)
_SEQ = auditchain.LINE_FIELDS.index("seq")


def _chain_events(project_id: int | None) -> QuerySet[Event]:
    if project_id is None:
        return Event.objects.filter(project__isnull=True)
    return Event.objects.filter(project_id=project_id)


def audit_entries(
    *, project_id: int | None, upto: int | None = None, chunk_size: int = 2000
) -> Iterator[auditchain.Entry]:
    """The events of one chain (``project_id``; None = the global chain) in ``seq``
    order as ``auditchain.Entry`` values, read in keyset chunks; ``upto`` stops at that
    seq."""
    events = _chain_events(project_id).order_by("seq").values_list(*_COLUMNS)
    if upto is not None:
        events = events.filter(seq__lte=upto)
    last = 0
    while True:
        chunk = list(events.filter(seq__gt=last)[:chunk_size])
        for row in chunk:
            values = dict(zip(auditchain.LINE_FIELDS, row, strict=True))
            values["created_at"] = auditchain.timestamp(values["created_at"])
            yield auditchain.Entry(**values)
        if len(chunk) < chunk_size:
            return
        last = chunk[-1][_SEQ]


def audit_head(*, project_id: int | None) -> tuple[int, str] | None:
    """The chain head row's (seq, hash), or None when the chain has none."""
    return AuditHead.objects.filter(chain=project_id or 0).values_list("seq", "hash").first()


def audit_chains() -> list[int | None]:
    """Every chain that has events or a head: project ids in order, then None (global)."""
    ids = set(
        Event.objects.filter(project__isnull=False)
        .order_by()
        .values_list("project_id", flat=True)
        .distinct()
    )
    ids |= set(AuditHead.objects.filter(chain__gt=0).values_list("chain", flat=True))
    chains: list[int | None] = sorted(ids)
    if (
        Event.objects.filter(project__isnull=True).exists()
        or AuditHead.objects.filter(chain=0).exists()
    ):
        chains.append(None)
    return chains


def audit_verify(
    *, project_id: int | None, anchors: dict[int, str] | None = None
) -> auditchain.Report:
    """Recompute one chain from the database and check it ends at its head row."""
    head = audit_head(project_id=project_id)
    report = auditchain.verify(
        audit_entries(project_id=project_id), project=project_id, head=head, anchors=anchors
    )
    if report.ok and head is None and report.count:
        problem = auditchain.Problem(
            report.count,
            "truncated",
            None,
            report.head_seq,
            "the chain has no head row (it was deleted): its end cannot be checked.",
        )
        return auditchain.Report(report.count, report.head_seq, report.head_hash, problem)
    return report


def audit_rows(*, project: Project, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """The project's audit log as ``audit.jsonl`` lines: a header naming the chain and its
    head, then every event up to that head with its hashes (``auditchain.entry_to_json``).
    Access is the caller's to check (editors only: events carry verdicts' contents)."""
    head = audit_head(project_id=project.pk) or (0, auditchain.GENESIS)
    yield {
        "schema": SCHEMA,
        "project": {"id": project.pk, "slug": project.slug, "name": project.name},
        "head": {"seq": head[0], "hash": head[1]},
        "exported_at": timezone.now().isoformat(),
        "hash": "sha256 over the canonical JSON of each event, prev_hash included "
        "(annotations/core/auditchain.py); verify with manage.py verify_audit --file",
    }
    for entry in audit_entries(project_id=project.pk, upto=head[0], chunk_size=chunk_size):
        yield auditchain.entry_to_json(entry)
