"""``bench.load``'s CPU account: what a parent process and its children spent between two
moments, counted from ``/proc`` (stand-ins here), when children end, start or live through
the load, and when the parent itself is replaced (pure: no server or database)."""

from __future__ import annotations

import os

import pytest

from bench.load import Family, family, family_spent

pytestmark = pytest.mark.db_independent

TICKS = os.sysconf("SC_CLK_TCK")


def stat(ppid: int, cpu_s: float, started: int, reaped_s: float = 0.0) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the name: state, ppid, …, utime (11),
    stime (12), cutime (13), cstime (14), …, starttime (19)."""
    fields = ["S", str(ppid)] + ["0"] * 20
    fields[11] = str(round(cpu_s * TICKS))
    fields[13] = str(round(reaped_s * TICKS))
    fields[19] = str(started)
    return fields


def moment(table: dict[int, list[str]]) -> Family | None:
    return family(1, read=table.get, pids=lambda: [*table, 999])


def test_it_reads_a_parent_and_only_its_children() -> None:
    now = moment({1: stat(0, 2, 10, reaped_s=5), 20: stat(1, 60, 11), 30: stat(7, 9, 12)})
    assert now == Family(1, {1: (10, 2.0), 20: (11, 60.0)}, 5.0)
    assert family(1, read={}.get, pids=list) is None  # the parent has ended


def test_children_that_end_start_or_live_through_are_each_counted_once() -> None:
    # The reviewer's case: at the start the parent had 2 s, a checkpointer 60 s and a
    # backend 40 s. The backend spent 5 s more and ended (the parent reaped all 45 s of
    # it), a new backend spent 10 s, the checkpointer 1 s, the parent nothing: 16 s.
    start = moment({1: stat(0, 2, 10), 20: stat(1, 60, 11), 30: stat(1, 40, 12)})
    end = moment({1: stat(0, 2, 10, reaped_s=45), 20: stat(1, 61, 11), 40: stat(1, 10, 13)})
    assert family_spent(start, end) == pytest.approx(16.0)


def test_a_pid_reused_by_a_new_child_counts_the_new_ones_whole_life() -> None:
    start = moment({1: stat(0, 0, 10), 30: stat(1, 40, 12)})
    # pid 30 ended (40 s reaped) and a new child got pid 30, then spent 3 s
    end = moment({1: stat(0, 0, 10, reaped_s=40), 30: stat(1, 3, 50)})
    assert family_spent(start, end) == pytest.approx(3.0)


def test_a_replaced_parent_has_no_figure() -> None:
    start = moment({1: stat(0, 2, 10), 20: stat(1, 60, 11)})
    restarted = moment({1: stat(0, 0.1, 90), 21: stat(1, 1, 91)})  # the pid, reused
    assert family_spent(start, restarted) is None
    assert family_spent(start, None) is None  # the parent ended
    assert family_spent(None, start) is None
