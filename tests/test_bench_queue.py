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


@pytest.mark.db_independent
def test_a_worker_warms_up_untimed_then_runs_until_the_queue_is_empty() -> None:
    """The warm-up's cycles are recorded apart from the timed ones (the figures leave them
    out), the worker says it is ready only after them, and the run stops at the first
    cycle that finds the queue empty."""
    import os
    import threading
    import time
    from types import SimpleNamespace

    queue = list(range(1, 8))  # seven claims: three warm-up cycles, four timed ones
    ready_after: list[int] = []

    def cycle(begin: float, leases: list[object], submits: list[object]) -> bool:
        if not queue:
            return False
        claim = queue.pop(0)
        leases.append((time.perf_counter() - begin, 0.0, claim))
        submits.append((time.perf_counter() - begin, 0.0, claim))
        return True

    class Ready:
        def release(self) -> None:
            ready_after.append(len(queue))

    go = threading.Event()
    go.set()
    result: dict[str, object] = {"warm": [], "leases": [], "submits": [], "empty": False}
    bench_queue._timed_cycles(
        cycle,
        result,
        warmup=3,
        ready=Ready(),
        go=go,
        start_at=SimpleNamespace(value=time.perf_counter()),
        seconds=30.0,
        think=0.0,
        index=0,
        backend=os.getpid(),
    )
    assert [claim for _, _, claim in result["warm"]] == [1, 2, 3]  # type: ignore[attr-defined]
    assert [claim for _, _, claim in result["leases"]] == [4, 5, 6, 7]  # type: ignore[attr-defined]
    assert len(result["submits"]) == 4  # type: ignore[arg-type]
    assert ready_after == [4]  # ready once the warm-up had taken three claims
    assert result["empty"] is True
    assert {"end", "cpu", "server_cpu"} <= set(result)
    assert result["end"] < 30.0  # type: ignore[operator]
