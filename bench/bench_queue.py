#!/usr/bin/env python
"""Review-queue benchmark: 50 concurrent reviewers leasing and judging claims on PostgreSQL.

Each reviewer is its own OS process with its own database connection and runs
``lease -> submit verdict`` cycles as fast as it can (closed loop; ``--think-ms`` adds a
pause between cycles) until the queue is empty or ``--seconds`` have passed. The same
run then replays the same transitions with a bare psycopg 3 loop (raw SQL, same
tables, same eligibility predicates, same number of connections) on an identical copy
of the dataset, and reports ours / bare.

Before the timed window each worker runs ``--warmup`` cycles (5) that the figures leave
out and the invariants count: a process's and a PostgreSQL connection's first cycles fill
their caches (the Django worker's first cycle took 60 ms of Python and 20 ms of its
backend's CPU against ~7 and ~3.7 ms later, one connection, 2026-12-07), which a server
pays once and a 10-s run of 50 fresh workers paid on a fifth of its reviews.

Measured per engine: lease latency p50/p95/p99 (the whole ``lease_next`` call, i.e. one
transaction), submit latency, leases/s and completed reviews/s, and the invariants:
no (claim, reviewer) pair leased twice, no claim with more leases or current verdicts
than ``required_reviews``, no verdict by the claim's creator, no verdict without its
lease; checked both from the workers' own logs and in the database afterwards.

    .venv/bin/python -m bench.bench_queue --quick             # 5,000 claims, 10 s per engine
    .venv/bin/python -m bench.bench_queue --repeats 3         # 100,000 claims, 30 s per engine
    .venv/bin/python -m bench.bench_queue --quick --workers 1 --profile --explain
    .venv/bin/python -m bench.bench_queue --quick --engines django,unlocked,bare  # the chain's lock

PostgreSQL on 127.0.0.1 only. ``--db`` (default ``…/wb_qbench_<claims>``) holds the
generated QUEUE dataset (bench/generate.py) and is kept between runs; every run works on
a fresh copy made from it as a template (``<db>_django``, ``<db>_bare``), dropped after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import re
import statistics
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_BASE = "postgres://postgres@127.0.0.1:5432"
BENCH = "queue"
TARGETS = {"lease_p95_ms": 20.0, "lease_p99_ms": 50.0, "throughput_ratio": 0.5, "double": 0}
RATING_KEYS = ("true", "mostly_true", "false")

from bench import common  # noqa: E402


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def pct(values: list[float], q: float) -> float | None:
    return common.percentile(values, q) if values else None


# --- databases ------------------------------------------------------------------------------


def admin_conn():
    import psycopg

    return psycopg.connect(f"{PG_BASE}/postgres", autocommit=True)


def db_drop(name: str) -> None:
    from psycopg import sql

    with admin_conn() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def db_clone(template: str, name: str) -> None:
    from psycopg import sql

    db_drop(name)
    with admin_conn() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


def django_use_db(db_name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = db_name


# --- dataset --------------------------------------------------------------------------------


def seed_build(*, claims: int, quick: bool, seed: int) -> dict[str, Any]:
    """The QUEUE dataset from bench/generate.py (generated once per seed database, reused
    while its parameters match): one project needing 3 reviews, the 50 bench reviewers,
    ``claims`` claims in review, no leases or verdicts."""
    from bench import generate

    overrides: dict[str, Any] = {}
    if claims != (generate.QUICK if quick else generate.FULL)["queue"]["claims"]:
        overrides["claims"] = claims
    ds = generate.generate_queue(seed=seed, quick=quick, **overrides)
    generate.queue_reset(ds)  # a seed left dirty by an interrupted run
    generate.analyze()
    return {
        "project": ds.project_id,
        "reviewers": ds.reviewer_ids,
        "creator": ds.creator_id,
        "claims": ds.claims,
        "documents": len(ds.document_ids),
        "required": ds.params["size"]["required_reviews"],
        "generated_s": ds.seconds,
    }


# --- workers --------------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (a PostgreSQL backend on this host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _wait_start(go: Any, start_at: Any) -> float:
    go.wait()
    begin = start_at.value
    delay = begin - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    return begin


def _timed_cycles(
    cycle: Any,
    result: dict[str, Any],
    *,
    warmup: int,
    ready: Any,
    go: Any,
    start_at: Any,
    seconds: float,
    think: float,
    index: int,
    backend: int,
    started: Any = None,
) -> None:
    """A worker's run, either engine: ``warmup`` untimed cycles (their leases in
    ``result["warm"]``, see --warmup), ready, the common start, then ``cycle(begin, leases,
    submits)`` (False: the queue had nothing left) until ``seconds`` have passed, with the
    CPU this process and its PostgreSQL backend spent meanwhile. ``started``: called at the
    start (the profiler's)."""
    for _ in range(warmup):
        if not cycle(time.perf_counter(), result["warm"], []):
            break
    ready.release()
    begin = _wait_start(go, start_at)
    cpu0 = time.process_time()
    server0 = _proc_cpu(backend)
    deadline = begin + seconds
    rng = random.Random(index)
    if think:  # spread the first requests instead of a thundering herd
        time.sleep(rng.uniform(0, think))
    if started is not None:
        started()
    while time.perf_counter() < deadline:
        if not cycle(begin, result["leases"], result["submits"]):
            result["empty"] = True
            break
        if think:
            time.sleep(min(rng.expovariate(1 / think), 10 * think))
    result["end"] = time.perf_counter() - begin
    result["cpu"] = time.process_time() - cpu0
    result["server_cpu"] = _proc_cpu(backend) - server0


def django_worker(
    index: int,
    reviewer_id: int,
    project_id: int,
    db_name: str,
    seconds: float,
    think: float,
    ready: Any,
    go: Any,
    start_at: Any,
    out: Any,
    profile_dir: str | None,
    warmup: int = 0,
) -> None:
    from django.db import connections

    from annotations import services
    from annotations.models import Project

    result: dict[str, Any] = {
        "index": index,
        "warm": [],
        "leases": [],
        "submits": [],
        "errors": [],
        "empty": False,
    }
    profiler = None
    try:
        connections["default"].settings_dict["NAME"] = db_name
        from django.contrib.auth import get_user_model

        reviewer = get_user_model().objects.get(pk=reviewer_id)
        project = Project.objects.get(pk=project_id)
        with connections["default"].cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]

        def cycle(begin: float, leases: list[Any], submits: list[Any]) -> bool:
            """One lease and its verdict; False when the queue had nothing left."""
            t0 = time.perf_counter()
            try:
                assignment = services.lease_next(reviewer=reviewer, project=project)
            except Exception as exc:
                result["errors"].append(f"lease: {exc!r}")
                return True
            t1 = time.perf_counter()
            if assignment is None:
                return False
            claim_id = assignment.claim_id
            leases.append((t0 - begin, t1 - t0, claim_id))
            key = RATING_KEYS[0] if (claim_id + index) % 10 else RATING_KEYS[(claim_id % 2) + 1]
            t2 = time.perf_counter()
            try:
                # As the API submits it (POST /claims/{id}/verdicts/): the claim by id, read
                # with its lock; the harness reads nothing before (the bare loop neither).
                services.verdict_submit_as_member(
                    claim_id=claim_id, reviewer=reviewer, rating=key, confidence="medium"
                )
            except Exception as exc:
                result["errors"].append(f"submit: {exc!r}")
                return True
            t3 = time.perf_counter()
            submits.append((t2 - begin, t3 - t2, claim_id))
            return True

        def profile() -> None:  # worker 0 with --profile, from the start
            nonlocal profiler
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()

        _timed_cycles(
            cycle,
            result,
            warmup=warmup,
            ready=ready,
            go=go,
            start_at=start_at,
            seconds=seconds,
            think=think,
            index=index,
            backend=backend,
            started=profile if profile_dir and index == 0 else None,
        )
    except Exception:
        result["errors"].append(traceback.format_exc())
        ready.release()
    finally:
        if profiler is not None:
            profiler.stop()
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
            Path(profile_dir, "queue_django_worker0.txt").write_text(
                profiler.output_text(unicode=True, color=False, show_all=False)
            )
        connections.close_all()
        out.put(result)


LEASE_SQL = """
SELECT c.id FROM annotations_claim c
WHERE c.project_id = %(project)s AND c.status = 'in_review' AND c.created_by_id <> %(reviewer)s
  AND NOT EXISTS (SELECT 1 FROM annotations_verdict v
                  WHERE v.claim_id = c.id AND v.reviewer_id = %(reviewer)s)
  AND NOT EXISTS (SELECT 1 FROM annotations_assignment a
                  WHERE a.claim_id = c.id AND a.reviewer_id = %(reviewer)s
                    AND a.state IN ('leased', 'skipped'))
  AND COALESCE((SELECT count(*) FROM annotations_assignment a
                WHERE a.claim_id = c.id AND a.state = 'leased' AND a.expires_at > %(now)s), 0)
    + COALESCE((SELECT count(*) FROM annotations_verdict v
                WHERE v.claim_id = c.id AND v.is_current), 0) < %(required)s
  AND c.id <> ALL(%(passed)s)
ORDER BY c.priority, c.due_at, c.created_at, c.id
LIMIT 1
FOR UPDATE OF c {skip}
"""

SLOTS_SQL = """
SELECT (SELECT count(*) FROM annotations_assignment
        WHERE claim_id = %(claim)s AND state = 'leased' AND expires_at > %(now)s)
     + (SELECT count(*) FROM annotations_verdict WHERE claim_id = %(claim)s AND is_current)
"""


def bare_worker(
    index: int,
    reviewer_id: int,
    project_id: int,
    db_name: str,
    seconds: float,
    think: float,
    required: int,
    rating_ids: list[int],
    ready: Any,
    go: Any,
    start_at: Any,
    out: Any,
    warmup: int = 0,
) -> None:
    """The same transitions in raw SQL: lease = SELECT ... FOR UPDATE SKIP LOCKED, re-check
    the free slots under the row lock, INSERT the assignment; submit = lock the claim,
    INSERT the verdict, UPDATE the assignment, and UPDATE the claim's status when the
    required verdicts are in. No audit events, no consensus record, no membership lock."""
    import psycopg

    result: dict[str, Any] = {
        "index": index,
        "warm": [],
        "leases": [],
        "submits": [],
        "errors": [],
        "empty": False,
    }
    try:
        conn = psycopg.connect(f"{PG_BASE}/{db_name}", autocommit=False)
        lease_skip = LEASE_SQL.format(skip="SKIP LOCKED")
        lease_wait = LEASE_SQL.format(skip="")
        backend = conn.info.backend_pid

        def cycle(begin: float, leases: list[Any], submits: list[Any]) -> bool:
            """One lease and its verdict; False when the queue had nothing left."""
            t0 = time.perf_counter()
            now = dt.datetime.now(dt.UTC)
            params = {
                "project": project_id,
                "reviewer": reviewer_id,
                "now": now,
                "required": required,
                "passed": [],
            }
            claim_id = None
            with conn.transaction():
                sql = lease_skip
                for _ in range(50):
                    row = conn.execute(sql, params).fetchone()
                    if row is None:
                        if sql is lease_skip:
                            sql = lease_wait  # everything locked right now: wait for one
                            continue
                        break
                    taken = conn.execute(SLOTS_SQL, {"claim": row[0], "now": now}).fetchone()[0]
                    if taken >= required:
                        params["passed"].append(row[0])
                        continue
                    conn.execute(
                        "INSERT INTO annotations_assignment (project_id, claim_id, reviewer_id, state,"
                        " leased_at, expires_at, reason) VALUES (%s, %s, %s, 'leased', %s, %s, '')",
                        (project_id, row[0], reviewer_id, now, now + dt.timedelta(minutes=30)),
                    )
                    claim_id = row[0]
                    break
            t1 = time.perf_counter()
            if claim_id is None:
                return False
            leases.append((t0 - begin, t1 - t0, claim_id))
            rating = rating_ids[0] if (claim_id + index) % 10 else rating_ids[(claim_id % 2) + 1]
            t2 = time.perf_counter()
            now = dt.datetime.now(dt.UTC)
            with conn.transaction():
                conn.execute(
                    "SELECT id FROM annotations_claim WHERE id = %s FOR UPDATE", (claim_id,)
                )
                conn.execute(
                    "INSERT INTO annotations_verdict (claim_id, reviewer_id, rating_id, confidence,"
                    " rationale, revision, is_current, document_revision, submitted_at)"
                    " VALUES (%s, %s, %s, 'medium', '', 1, true, 1, %s)",
                    (claim_id, reviewer_id, rating, now),
                )
                conn.execute(
                    "UPDATE annotations_assignment SET state = 'submitted', closed_at = %s"
                    " WHERE claim_id = %s AND reviewer_id = %s AND state = 'leased'",
                    (now, claim_id, reviewer_id),
                )
                done = conn.execute(
                    "SELECT count(*) FROM annotations_verdict WHERE claim_id = %s AND is_current",
                    (claim_id,),
                ).fetchone()[0]
                if done >= required:
                    # Resolved rests on a consensus row (the lifecycle's check constraint);
                    # a status change leaves the version alone.
                    (record,) = conn.execute(
                        "INSERT INTO annotations_consensus (claim_id, sequence, rating_id,"
                        " method, agreement, decided_at, note, is_current)"
                        " VALUES (%s, 1, %s, 'unanimous', 1.0, %s, '', true) RETURNING id",
                        (claim_id, rating, now),
                    ).fetchone()
                    conn.execute(
                        "UPDATE annotations_claim SET status = 'resolved', consensus_id = %s,"
                        " updated_at = %s WHERE id = %s",
                        (record, now, claim_id),
                    )
            t3 = time.perf_counter()
            submits.append((t2 - begin, t3 - t2, claim_id))
            return True

        _timed_cycles(
            cycle,
            result,
            warmup=warmup,
            ready=ready,
            go=go,
            start_at=start_at,
            seconds=seconds,
            think=think,
            index=index,
            backend=backend,
        )
        conn.close()
    except Exception:
        result["errors"].append(traceback.format_exc())
        ready.release()
    finally:
        out.put(result)


# --- running and checking ---------------------------------------------------------------------


def run_phase(
    engine: str,
    *,
    db_name: str,
    info: dict[str, Any],
    args: argparse.Namespace,
    rating_ids: list[int],
) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    from django.db import connections

    connections.close_all()  # nothing open across fork
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    out = ctx.Queue()
    reviewers = info["reviewers"][: args.workers]
    procs = []
    for index, reviewer_id in enumerate(reviewers):
        if engine in ("django", "unlocked"):
            target, extra = (
                django_worker,
                (
                    ready,
                    go,
                    start_at,
                    out,
                    args.profile_dir if args.profile else None,
                    args.warmup,
                ),
            )
        else:
            target, extra = (
                bare_worker,
                (info["required"], rating_ids, ready, go, start_at, out, args.warmup),
            )
        proc = ctx.Process(
            target=target,
            args=(
                index,
                reviewer_id,
                info["project"],
                db_name,
                args.seconds,
                args.think_ms / 1000,
                *extra,
            ),
            name=f"{engine}-{index}",
        )
        proc.start()
        procs.append(proc)
    for _ in procs:
        ready.acquire(timeout=120)
    start_at.value = time.perf_counter() + 0.2
    go.set()
    results = []
    hard_deadline = time.monotonic() + args.seconds + 120
    for _ in procs:
        results.append(out.get(timeout=max(1.0, hard_deadline - time.monotonic())))
    for proc in procs:
        proc.join(timeout=10)
    return summarize(engine, results, db_name=db_name, info=info, args=args)


def summarize(
    engine: str,
    results: list[dict[str, Any]],
    *,
    db_name: str,
    info: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    leases = [lease for r in results for lease in r["leases"]]
    submits = [s for r in results for s in r["submits"]]
    errors = [e for r in results for e in r["errors"]]
    ends = [r.get("end", args.seconds) for r in results]
    elapsed = max(ends) if ends else args.seconds
    lease_lat = [lat for _, lat, _ in leases]
    submit_lat = [lat for _, lat, _ in submits]
    # steady state: leave out the first second (connection warm-up, plan cache)
    steady = [lat for t, lat, _ in leases if t >= 1.0] or lease_lat
    # The invariants count the warm-up's leases too (they are in the database as well).
    every = [(r["index"], claim) for r in results for _, _, claim in [*r["warm"], *r["leases"]]]
    pairs = Counter(every)
    per_claim = Counter(claim for _, claim in every)
    client_checks = {
        "pair_leased_twice": sum(1 for n in pairs.values() if n > 1),
        "claims_over_required": sum(1 for n in per_claim.values() if n > info["required"]),
    }
    db_checks = invariants(db_name, required=info["required"])
    double = client_checks["pair_leased_twice"] + db_checks["pair_leased_twice"]
    over = client_checks["claims_over_required"] + sum(
        v for k, v in db_checks.items() if k != "pair_leased_twice"
    )
    n_reviews = len(submits)
    return {
        "engine": engine,
        "workers": len(results),
        "elapsed_s": round(elapsed, 3),
        "leases": len(leases),
        "reviews": n_reviews,
        "warmup_leases": sum(len(r["warm"]) for r in results),
        "leases_per_s": round(len(leases) / elapsed, 1) if elapsed else None,
        "reviews_per_s": round(n_reviews / elapsed, 1) if elapsed else None,
        "lease_p50_ms": ms(pct(lease_lat, 50)),
        "lease_p95_ms": ms(pct(lease_lat, 95)),
        "lease_p99_ms": ms(pct(lease_lat, 99)),
        "lease_max_ms": ms(max(lease_lat)) if lease_lat else None,
        "lease_steady_p95_ms": ms(pct(steady, 95)),
        "submit_p50_ms": ms(pct(submit_lat, 50)),
        "submit_p95_ms": ms(pct(submit_lat, 95)),
        "submit_p99_ms": ms(pct(submit_lat, 99)),
        # CPU per completed review: the workers' own (Python) and their PostgreSQL backends'
        "client_cpu_ms_per_review": round(
            1000 * sum(r.get("cpu", 0) for r in results) / n_reviews, 3
        )
        if n_reviews
        else None,
        "db_cpu_ms_per_review": round(
            1000 * sum(r.get("server_cpu", 0) for r in results) / n_reviews, 3
        )
        if n_reviews
        else None,
        "queue_emptied": any(r["empty"] for r in results),
        "errors": len(errors),
        "error_samples": [e[-300:] for e in errors[:3]],
        "double_assignments": double,
        "over_required": over,
        "client_checks": client_checks,
        "db_checks": db_checks,
    }


def invariants(db_name: str, *, required: int) -> dict[str, int]:
    """Counted in the database after the run; every figure must be 0."""
    import psycopg

    queries = {
        # a reviewer holding or having used two leases on one claim
        "pair_leased_twice": """SELECT count(*) FROM (SELECT claim_id, reviewer_id
            FROM annotations_assignment WHERE state IN ('leased', 'submitted')
            GROUP BY 1, 2 HAVING count(*) > 1) t""",
        # more live/used leases on a claim than review slots (nothing is released here)
        "claims_over_required_leases": f"""SELECT count(*) FROM (SELECT claim_id
            FROM annotations_assignment WHERE state IN ('leased', 'submitted')
            GROUP BY 1 HAVING count(*) > {required}) t""",
        "claims_over_required_verdicts": f"""SELECT count(*) FROM (SELECT claim_id
            FROM annotations_verdict WHERE is_current GROUP BY 1 HAVING count(*) > {required}) t""",
        "claims_repeat_reviewer": """SELECT count(*) FROM (SELECT claim_id FROM annotations_verdict
            WHERE is_current GROUP BY 1 HAVING count(*) <> count(DISTINCT reviewer_id)) t""",
        "verdicts_by_creator": """SELECT count(*) FROM annotations_verdict v
            JOIN annotations_claim c ON c.id = v.claim_id WHERE v.reviewer_id = c.created_by_id""",
        "verdicts_without_lease": """SELECT count(*) FROM annotations_verdict v WHERE NOT EXISTS (
            SELECT 1 FROM annotations_assignment a WHERE a.claim_id = v.claim_id
              AND a.reviewer_id = v.reviewer_id AND a.state = 'submitted')""",
    }
    with psycopg.connect(f"{PG_BASE}/{db_name}") as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in queries.items()}


def explain(db_name: str, info: dict[str, Any], label: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the pick ``lease_next`` runs on PostgreSQL
    (``leases._PICK_SQL``, SKIP LOCKED) for the first reviewer, inside a rolled-back
    transaction (it takes row locks)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from annotations.models import AssignmentState, ClaimStatus, Project
    from annotations.services import leases

    django_use_db(db_name)
    project = Project.objects.get(pk=info["project"])
    params = {
        "project": project.pk,
        "reviewer": info["reviewers"][0],
        "in_review": ClaimStatus.IN_REVIEW.value,
        "leased": AssignmentState.LEASED.value,
        "skipped": AssignmentState.SKIPPED.value,
        "now": timezone.now(),
        "required": project.required_reviews,
        "passed_over": [],
    }
    text = ""
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + leases._PICK_SQL + " SKIP LOCKED", params)
            text = "\n".join(row[0] for row in cur.fetchall())
            transaction.set_rollback(True)
    finally:
        connection.close()
    print(f"--- EXPLAIN ANALYZE of the pick ({label}, {db_name}) ---\n{text}\n", file=sys.stderr)
    return text


def dead_tuples(db_name: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/{db_name}") as conn:
        rows = conn.execute(
            "SELECT relname, n_dead_tup FROM pg_stat_user_tables WHERE relname IN "
            "('annotations_claim', 'annotations_assignment', 'annotations_verdict')"
        ).fetchall()
    return dict(rows)


# The engine "unlocked" (a measurement, never a mode of the app): the Django engine with the
# audit chain's head neither locked nor moved, so no write waits for another's COMMIT. Every
# event is sealed after the same head (the chain of that copy is broken, and its unique seq
# constraint is dropped first); the copy is dropped after the run. What it saves is the most
# that appending the chain without its lock (events sealed later, in commit order) could gain.
UNLOCKED_DROP = "ALTER TABLE annotations_event DROP CONSTRAINT annotations_event_chain_seq"
_MOVED = re.compile(r'moved AS \(UPDATE "annotations_audithead" .*? RETURNING [^)]*\)')


def chain_unlocked() -> Any:
    """Patch ``services._base._append_statement`` (in this process, inherited by the forked
    workers) to append without the head's lock; returns the original to restore."""
    from annotations.services import _base

    original = _base._append_statement
    queued = f" AND {_base.chain_queue_sql('%s')}"

    def statement(*args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
        sql, params = original(*args, **kwargs)
        # The chain's advisory lock and its one parameter go too (the second of the head's).
        at = sql.index(queued)
        del params[sql[:at].count("%s")]
        unlocked = _MOVED.sub(
            "moved AS (SELECT 1 AS moved)",
            sql.replace(queued, "", 1).replace(" FOR NO KEY UPDATE)", ")"),
        )
        assert "FOR NO KEY UPDATE" not in unlocked and "advisory" not in unlocked, "changed"
        return unlocked, params

    _base._append_statement = statement
    return original


def cpu_bound(figures: dict[str, Any]) -> float | None:
    """The most reviews per second this machine's cores could complete at the CPU one review
    cost in the run (the workers' Python plus their PostgreSQL backends): a closed loop that
    runs near it is bound by CPU, not by waiting on a lock, and only less work per review
    raises it."""
    client, server = figures.get("client_cpu_ms_per_review"), figures.get("db_cpu_ms_per_review")
    if not client or server is None:
        return None
    return round((os.cpu_count() or 1) * 1000 / (client + server), 1)


def main() -> None:
    parser = common.parser("bench_queue", __doc__.split("\n\n")[0])
    parser.set_defaults(db=None)
    parser.add_argument(
        "--claims", type=int, default=None, help="claims in the queue (100000; --quick 5000)"
    )
    parser.add_argument("--workers", type=int, default=50, help="concurrent reviewers (50)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="time limit per engine (30; --quick 10)"
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause after each cycle, exponentially distributed (0 = closed loop)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="runs per engine, order alternating; medians reported",
    )
    parser.add_argument(
        "--engines",
        default="django,bare",
        help="django, bare, and unlocked: the Django engine with the audit chain appended "
        "without its head lock, to measure what that lock costs (never a mode of the app)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE before/after (stderr)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=5,
        help="lease-and-verdict cycles each worker runs before the timed window, its leases "
        "counted by the invariants, not the figures: the first cycles of a process and of a "
        "PostgreSQL connection fill their caches (a long-running server pays it once); "
        "0: cold workers, as before round 15",
    )
    parser.add_argument("--profile", action="store_true", help="pyinstrument on Django worker 0")
    parser.add_argument("--profile-dir", default=str(common.RESULTS / "profiles"))
    args = parser.parse_args()
    if args.claims is None:
        args.claims = 5_000 if args.quick else 100_000
    if args.seconds is None:
        args.seconds = 10.0 if args.quick else 30.0
    if args.workers > 80:
        parser.error("at most 80 workers (PostgreSQL max_connections is shared)")
    if args.db is None:
        args.db = f"{PG_BASE}/wb_qbench_{args.claims}"
    if not args.db.startswith(PG_BASE + "/"):
        parser.error(f"--db must be a database on {PG_BASE} (SKIP LOCKED needs PostgreSQL)")
    seed_db = args.db.rsplit("/", 1)[1]
    if not seed_db.startswith("wb_"):
        parser.error("--db: benchmark databases are named wb_* (copies of it are dropped)")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    dataset = f"QUEUE-{args.claims // 1000}k" if args.claims >= 1000 else f"QUEUE-{args.claims}"

    common.log(f"seed database {seed_db}: generating or reusing QUEUE ({args.claims} claims)")
    common.setup_django(args.db)
    info = seed_build(claims=args.claims, quick=args.quick, seed=args.seed)
    if len(info["reviewers"]) < args.workers:
        raise SystemExit("the dataset has fewer reviewers than --workers")
    from annotations.models import Rating

    by_key = dict(
        Rating.objects.filter(project_id=info["project"], key__in=RATING_KEYS).values_list(
            "key", "id"
        )
    )
    rating_ids = [by_key[k] for k in RATING_KEYS]
    django_use_db("postgres")

    def save(**record: Any) -> None:
        common.emit(
            "queue",
            dataset=dataset,
            db="postgresql",
            save=not args.no_save,
            label=args.label,
            **record,
        )

    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    for repeat in range(args.repeats):
        order = engines if repeat % 2 == 0 else list(reversed(engines))
        for engine in order:
            db_name = f"{seed_db}_{engine}"
            common.log(
                f"repeat {repeat + 1}/{args.repeats}: {engine}, {args.workers} workers, "
                f"{args.seconds:g} s on {db_name}"
            )
            db_clone(seed_db, db_name)
            if engine == "unlocked":
                import psycopg

                with psycopg.connect(f"{PG_BASE}/{db_name}", autocommit=True) as conn:
                    conn.execute(UNLOCKED_DROP)
            if args.explain and repeat == 0 and engine == "django":
                explain(db_name, info, "fresh")
            django_use_db(db_name)
            load_start = os.getloadavg()[0]  # the machine is shared: note how busy it was
            restore = chain_unlocked() if engine == "unlocked" else None
            try:
                summary = run_phase(
                    engine, db_name=db_name, info=info, args=args, rating_ids=rating_ids
                )
            finally:
                if restore is not None:
                    from annotations.services import _base

                    _base._append_statement = restore
            summary["repeat"] = repeat
            summary["loadavg_start"] = load_start
            summary["loadavg_end"] = os.getloadavg()[0]
            summary["dead_tuples_after"] = dead_tuples(db_name)
            if args.explain and repeat == 0 and engine == "django":
                explain(db_name, info, "after the run")
            runs[engine].append(summary)
            save(
                metric="queue_run",
                claims=info["claims"],
                required_reviews=info["required"],
                think_ms=args.think_ms,
                quick=args.quick,
                **summary,
            )
            django_use_db("postgres")
            db_drop(db_name)

    def med(engine: str, key: str) -> float | None:
        values = [r[key] for r in runs.get(engine, []) if r.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    figures: dict[str, Any] = {
        "repeats": args.repeats,
        "workers": args.workers,
        "seconds": args.seconds,
        "think_ms": args.think_ms,
        "claims": info["claims"],
        "quick": args.quick,
        "targets": TARGETS,
    }
    keys = (
        "lease_p50_ms",
        "lease_p95_ms",
        "lease_p99_ms",
        "submit_p50_ms",
        "submit_p95_ms",
        "leases_per_s",
        "reviews_per_s",
        "client_cpu_ms_per_review",
        "db_cpu_ms_per_review",
    )
    for engine in engines:
        figures[engine] = {key: med(engine, key) for key in keys}
        figures[engine].update(
            double_assignments=sum(r["double_assignments"] for r in runs[engine]),
            over_required=sum(r["over_required"] for r in runs[engine]),
            errors=sum(r["errors"] for r in runs[engine]),
            reviews_per_s_runs=[r["reviews_per_s"] for r in runs[engine]],
        )
        figures[engine]["cpu_bound_reviews_per_s"] = cpu_bound(figures[engine])
    if "django" in runs and "bare" in runs and figures["bare"]["reviews_per_s"]:
        ours, bare = figures["django"], figures["bare"]
        figures["ratio_reviews_per_s"] = round(ours["reviews_per_s"] / bare["reviews_per_s"], 3)
        figures["ratio_leases_per_s"] = round(ours["leases_per_s"] / bare["leases_per_s"], 3)
        figures["ratio_lease_p95"] = (
            round(ours["lease_p95_ms"] / bare["lease_p95_ms"], 2) if bare["lease_p95_ms"] else None
        )
    if "django" in runs and "unlocked" in runs and figures["django"]["reviews_per_s"]:
        figures["ratio_unlocked_to_django"] = round(
            figures["unlocked"]["reviews_per_s"] / figures["django"]["reviews_per_s"], 3
        )
    if "django" in runs:
        ours = figures["django"]
        figures["pass"] = {
            "lease_p95": ours["lease_p95_ms"] is not None
            and ours["lease_p95_ms"] <= TARGETS["lease_p95_ms"],
            "lease_p99": ours["lease_p99_ms"] is not None
            and ours["lease_p99_ms"] <= TARGETS["lease_p99_ms"],
            # paced runs deliver the offered load on both engines: no throughput verdict
            "throughput_ratio": None
            if args.think_ms
            else figures.get("ratio_reviews_per_s", 0) >= TARGETS["throughput_ratio"],
            "zero_double_assignments": ours["double_assignments"] == 0
            and ours["over_required"] == 0,
        }
    save(metric="queue_summary", **figures)


if __name__ == "__main__":
    main()
