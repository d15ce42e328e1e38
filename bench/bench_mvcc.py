#!/usr/bin/env python
"""Queue under MVCC stress: an idle-in-transaction session plus 25,000 churned claims.

The failure this guards against (research note B.6 #29, T7): one forgotten transaction
holds back PostgreSQL's xmin horizon, so the dead row versions that queue churn leaves
behind cannot be vacuumed, every lease scans more of them, and the queue degrades until
it is unusable. The defence is ``idle_in_transaction_session_timeout`` on every app
connection (workbench/settings.py), which ends the holder, after which vacuum can work.

    .venv/bin/python -m bench.bench_mvcc --quick   # 5,000 claims, 5,000 churned
    .venv/bin/python -m bench.bench_mvcc           # 100,000 claims, 25,000 churned

Phases, on a fresh copy of the QUEUE dataset (bench/generate.py):

1. baseline: ``--cycles`` lease → verdict cycles by the 50 reviewers in turn, lease
   latency measured (the whole ``lease_next`` transaction, in-process);
2. a holder connects with the app's own connection options, opens a REPEATABLE READ
   transaction, takes an xid and a snapshot, and goes idle; ``--churn`` claims are
   churned (each claim row updated twice, an assignment inserted and deleted for it,
   as expiring leases do), leaving dead row versions nobody can remove; the cycles are
   measured again (target: lease p95 ≤ 50 ms);
3. the holder is left alone until the server ends it (the timeout is shortened to
   ``--idle-timeout-ms`` for this run, the app default being 60 s); ``VACUUM`` then
   removes the dead versions (what autovacuum does once it can), and the cycles are
   measured a third time.

Pass: the holder is terminated by the server within the timeout + 10 s, its next
statement fails, the dead versions are gone after vacuum, and the lease p95 under bloat
meets the target. PostgreSQL on 127.0.0.1 only; one JSON line per phase and a summary go to
``bench/results/mvcc.jsonl``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.bench_queue import PG_BASE, RATING_KEYS, db_clone, db_drop, django_use_db, seed_build  # noqa: E402

TARGET_LEASE_P95_MS = 50.0
TABLES = ("annotations_claim", "annotations_assignment")


def cycles(reviewers: list[Any], project: Any, count: int, start: int) -> dict[str, Any]:
    """``count`` lease → verdict cycles; lease latency per cycle, in ms."""
    from annotations import services

    leases: list[float] = []
    empty = 0
    for i in range(count):
        reviewer = reviewers[(start + i) % len(reviewers)]
        t0 = time.perf_counter()
        assignment = services.lease_next(reviewer=reviewer, project=project)
        leases.append((time.perf_counter() - t0) * 1000)
        if assignment is None:
            empty += 1
            continue
        services.verdict_submit(
            claim=assignment.claim,
            reviewer=reviewer,
            rating=RATING_KEYS[i % len(RATING_KEYS)],
            confidence="high",
            rationale="MVCC bench",
            citations=(),
        )
    return {"cycles": count, "empty": empty, **common.summary_ms(leases)}


def dead_tuples(conn: Any) -> dict[str, int]:
    rows = conn.execute(
        "SELECT relname, n_dead_tup FROM pg_stat_user_tables WHERE relname = ANY(%s)",
        [list(TABLES)],
    ).fetchall()
    return dict(rows)


def churn(conn: Any, project_id: int, count: int, reviewer_id: int) -> float:
    """Dead row versions as queue churn leaves them: per claim two row updates and one
    expired lease inserted and deleted. The oldest claims in review are churned, i.e. the
    head of the queue, which every lease scans first. Returns seconds taken."""
    t0 = time.perf_counter()
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM annotations_claim WHERE project_id = %s AND status = 'in_review' "
            "ORDER BY id LIMIT %s",
            [project_id, count],
        )
    ]
    for at in range(0, len(ids), 1000):
        batch = ids[at : at + 1000]
        with conn.transaction():
            conn.execute(
                "UPDATE annotations_claim SET version = version + 1 WHERE id = ANY(%s)", [batch]
            )
            conn.execute(
                "UPDATE annotations_claim SET version = version - 1 WHERE id = ANY(%s)", [batch]
            )
            conn.execute(
                "INSERT INTO annotations_assignment "
                "(project_id, claim_id, reviewer_id, state, leased_at, expires_at, closed_at, reason) "
                "SELECT %s, id, %s, 'expired', now(), now() + interval '1 minute', now(), 'mvcc bench' "
                "FROM unnest(%s::bigint[]) AS id",
                [project_id, reviewer_id, batch],
            )
            conn.execute("DELETE FROM annotations_assignment WHERE reason = 'mvcc bench'")
    return time.perf_counter() - t0


def main() -> None:
    parser = common.parser("bench_mvcc", __doc__.split("\n\n")[0])
    parser.set_defaults(db=None)
    parser.add_argument("--claims", type=int, default=None, help="queue size (100000; quick 5000)")
    parser.add_argument(
        "--churn", type=int, default=None, help="claims churned (25000; quick 5000)"
    )
    parser.add_argument("--cycles", type=int, default=300, help="lease → verdict cycles per phase")
    parser.add_argument("--idle-timeout-ms", type=int, default=30_000)
    args = parser.parse_args()
    args.claims = args.claims or (5_000 if args.quick else 100_000)
    args.churn = args.churn or (5_000 if args.quick else 25_000)
    if args.db is None:
        args.db = f"{PG_BASE}/wb_qbench_{args.claims}"
    seed_db = args.db.rsplit("/", 1)[1]
    if not args.db.startswith(PG_BASE + "/") or not seed_db.startswith("wb_"):
        parser.error(f"--db must be a wb_* database on {PG_BASE}")
    # The app's connections, and the holder built from the same options, carry this.
    os.environ["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"] = str(args.idle_timeout_ms)
    common.setup_django(args.db)
    info = seed_build(claims=args.claims, quick=args.quick, seed=args.seed)
    work_db = f"{seed_db}_mvcc"
    django_use_db("postgres")  # a template database must have no other connection
    db_clone(seed_db, work_db)
    django_use_db(work_db)

    import psycopg
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from annotations.models import Project

    project = Project.objects.get(pk=info["project"])
    users = get_user_model().objects.in_bulk(info["reviewers"])
    reviewers = [users[pk] for pk in info["reviewers"]]
    url = f"{PG_BASE}/{work_db}".replace("postgres://", "postgresql://", 1)
    app_options = settings.DATABASES["default"]["OPTIONS"]["options"]
    dataset = f"QUEUE-{args.claims // 1000}k" if args.claims >= 1000 else f"QUEUE-{args.claims}"
    record: dict[str, Any] = {
        "claims": info["claims"],
        "churned": args.churn,
        "idle_timeout_ms": args.idle_timeout_ms,
    }

    def save(metric: str, **figures: Any) -> None:
        common.emit("mvcc", dataset=dataset, db="postgresql", metric=metric,
                    save=not args.no_save, label=args.label, **figures)  # fmt: skip

    try:
        with psycopg.connect(url, autocommit=True) as admin:
            common.log(f"baseline: {args.cycles} cycles")
            baseline = cycles(reviewers, project, args.cycles, 0)
            save("baseline", **baseline, dead=dead_tuples(admin))

            holder = psycopg.connect(url, options=app_options)
            holder.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            holder.execute("SELECT txid_current(), count(*) FROM annotations_claim").fetchone()
            holder_pid = holder.info.backend_pid
            held_at = time.monotonic()
            common.log(f"holder pid {holder_pid} idle in transaction; churning {args.churn} claims")
            churn_s = churn(admin, project.pk, args.churn, info["reviewers"][0])
            admin.execute(f"VACUUM {', '.join(TABLES)}")  # cannot remove what the holder sees
            bloated = cycles(reviewers, project, args.cycles, args.cycles)
            dead_bloated = dead_tuples(admin)
            # The phase only counts if the holder outlived it (else part of it ran on a
            # table vacuum could already clean): lengthen --idle-timeout-ms if not.
            holder_alive_through_bloat = bool(
                admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state LIKE 'idle in transaction%%'",
                    [holder_pid],
                ).fetchone()
            )
            bloated["holder_alive_through_phase"] = holder_alive_through_bloat
            save("bloated", **bloated, dead=dead_bloated, churn_s=round(churn_s, 2))

            common.log("waiting for the server to end the idle transaction …")
            limit = args.idle_timeout_ms / 1000 + 10
            killed_after = None
            while time.monotonic() - held_at < limit:
                alive = admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [holder_pid]
                ).fetchone()
                if not alive:
                    killed_after = round(time.monotonic() - held_at, 1)
                    break
                time.sleep(0.25)
            try:
                holder.execute("SELECT 1")
                holder_failed = False
            except psycopg.Error as exc:  # IdleInTransactionSessionTimeout (25P03)
                holder_failed = True
                record["holder_error"] = type(exc).__name__
            finally:
                holder.close()
            admin.execute(f"VACUUM {', '.join(TABLES)}")
            time.sleep(1)  # the statistics collector reports the vacuum asynchronously
            dead_after = dead_tuples(admin)
            recovered = cycles(reviewers, project, args.cycles, 2 * args.cycles)
            save("after_timeout", **recovered, dead=dead_after)
    finally:
        django_use_db("postgres")
        db_drop(work_db)

    passed = {
        "holder_alive_through_bloated_phase": holder_alive_through_bloat,
        "holder_terminated_by_timeout": killed_after is not None and holder_failed,
        "dead_versions_removed_after": sum(dead_after.values()) < sum(dead_bloated.values()) / 10,
        "lease_p95_under_bloat": bloated["p95_ms"] <= TARGET_LEASE_P95_MS,
    }
    save(
        "summary",
        **record,
        lease_p95_ms={"baseline": baseline["p95_ms"], "bloated": bloated["p95_ms"],
                      "after": recovered["p95_ms"]},
        dead_versions={"bloated": dead_bloated, "after": dead_after},
        holder_killed_after_s=killed_after,
        target_lease_p95_ms=TARGET_LEASE_P95_MS,
        passed=passed,
    )  # fmt: skip
    common.log("PASS" if all(passed.values()) else f"FAIL {passed}")
    raise SystemExit(0 if all(passed.values()) else 1)


if __name__ == "__main__":
    main()
