"""The queue's order and deadlines (pure, no Django).

A claim carries a priority (``urgent``, ``high``, ``normal``, ``low``) and an optional
deadline (``due_at``). The queue hands a reviewer the claims assigned to them first, then
the others by priority, then deadline (earliest first, none last), then age (oldest
first, the id breaking ties). The database stores the priority as its rank (1 = urgent)
so that one index on ``(project, status, priority, due_at, created_at, id)`` serves the
order; this module is the one place that maps keys to ranks.

A claim is overdue while its deadline has passed and it is still undecided (in review or
disputed): the flag people act on, shown as text (not only colour) on the dashboard, in
the claim lists and in the API (``overdue``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable

from annotations.core.lifecycle import UNDECIDED

URGENT, HIGH, NORMAL, LOW = "urgent", "high", "normal", "low"
PRIORITY_RANK: dict[str, int] = {URGENT: 1, HIGH: 2, NORMAL: 3, LOW: 4}
PRIORITY_KEY: dict[int, str] = {rank: key for key, rank in PRIORITY_RANK.items()}
PRIORITIES: tuple[str, ...] = tuple(PRIORITY_RANK)
DEFAULT_PRIORITY = NORMAL
# How long a lease may last, in minutes (a project's ``lease_minutes``).
MIN_LEASE_MINUTES, MAX_LEASE_MINUTES = 1, 1440


def priority_key(rank: int) -> str:
    """The key (``urgent`` …) of a stored rank."""
    return PRIORITY_KEY[rank]


def priority_rank(key: str) -> int:
    """The stored rank of a key; KeyError on an unknown key."""
    return PRIORITY_RANK[key]


def is_overdue(*, status: str, due_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a claim's deadline has passed while it is still undecided."""
    return due_at is not None and due_at <= now and status in UNDECIDED


def queue_sort_key(
    *,
    assigned: bool,
    priority: int,
    due_at: dt.datetime | None,
    created_at: dt.datetime,
    pk: Hashable,
) -> tuple[object, ...]:
    """The queue's order as a sort key (smaller first): assigned to the reviewer, then
    priority rank, then deadline with none last, then age and id."""
    return (not assigned, priority, due_at is None, due_at or created_at, created_at, pk)
