"""bench/bench_queue.py's CPU bound: the reviews per second the machine's cores allow at
the CPU one review cost, and the "unlocked" engine's statement (no workers are started here)."""

from __future__ import annotations

import pytest

from bench import bench_queue


@pytest.mark.db_independent
def test_the_cpu_bound_is_the_cores_over_the_cpu_a_review_costs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench_queue.os, "cpu_count", lambda: 2)
    # 11 ms of Python and 9 ms of PostgreSQL per review: 2 cores finish at most 100 a second
    figures = {"client_cpu_ms_per_review": 11.0, "db_cpu_ms_per_review": 9.0}
    assert bench_queue.cpu_bound(figures) == 100.0
    assert bench_queue.cpu_bound({**figures, "db_cpu_ms_per_review": 0.0}) == 181.8


@pytest.mark.db_independent
def test_without_reviews_there_is_no_bound() -> None:
    assert bench_queue.cpu_bound({"client_cpu_ms_per_review": None}) is None
    assert bench_queue.cpu_bound({}) is None


# Builds the append statement for the test database's backend (no query runs).
def test_the_unlocked_engine_appends_without_the_heads_lock_and_restores() -> None:
    from django.db import connection
    from django.utils import timezone

    from annotations.models import Event
    from annotations.services import _base

    def statement() -> str:
        event = Event(project_id=1, verb="claim.create", object_type="claim", object_id=7)
        event.created_at = timezone.now()
        return _base._append_statement(connection, [event], chain=1)[0]

    locked = statement()
    assert "FOR NO KEY UPDATE" in locked and 'UPDATE "annotations_audithead"' in locked
    original = bench_queue.chain_unlocked()
    try:
        unlocked = statement()
    finally:
        _base._append_statement = original
    assert "FOR NO KEY UPDATE" not in unlocked
    assert 'UPDATE "annotations_audithead"' not in unlocked and "moved AS (SELECT 1" in unlocked
    assert statement() == locked
