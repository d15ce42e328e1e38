"""Export benchmark: the streamed JSONL project export (``GET /api/v1/projects/{id}/export/``)
of the EXPORT datasets, against a raw psycopg (or sqlite3) fetch of the same rows.

    python -m bench.bench_export --db postgres://postgres@127.0.0.1:5432/wb_bench
    python -m bench.bench_export --db sqlite:///var/bench.sqlite3 --quick

Each size (verdict rows: 100,000 and 1,000,000; ``--quick``: 10,000 and 30,000) runs in
its own subprocess, so its peak RSS (VmHWM) is its own. In that process, after a
warm-up export of a small project: the export is read to the end by an in-process
``django.test.Client`` as editor (who sees every verdict), timing the first chunk
(time to first byte) and the whole; then the raw driver fetches the verdict rows joined
with their claim, document, reviewer, rating, citation and source through a server-side
cursor. ``rows_per_s`` counts verdict rows; ``lines_per_s`` counts JSONL lines (claims).
``--repeat`` exports each size that many times in its process (median reported).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from bench import common

RAW_SQL = """
SELECT c.id, c.start, c."end", c.exact, c.prefix, c.suffix, c.statement, c.claimant,
       c.status, c.version, c.created_at, d.id, d.title, cu.username,
       v.id, u.username, r.key, v.confidence, v.rationale, v.revision, v.is_current,
       v.submitted_at, ct.quote, ct.stance, s.id, s.url, s.normalized_url, s.title,
       s.publisher, s.published_date, s.archive_url, s.accessed_date
FROM annotations_verdict v
JOIN annotations_claim c ON c.id = v.claim_id
JOIN annotations_document d ON d.id = c.document_id
JOIN auth_user cu ON cu.id = c.created_by_id
JOIN auth_user u ON u.id = v.reviewer_id
JOIN annotations_rating r ON r.id = v.rating_id
LEFT JOIN annotations_citation ct ON ct.verdict_id = v.id
LEFT JOIN annotations_source s ON s.id = ct.source_id
WHERE c.project_id = {param}
ORDER BY c.id, v.submitted_at, v.id
"""


def raw_fetch(db_url: str, project_id: int) -> tuple[int, float]:
    """(rows, seconds) for the raw driver reading the same rows, all of them."""
    started = time.perf_counter()
    rows = 0
    if common.db_vendor(db_url) == "postgresql":
        import psycopg

        with (
            psycopg.connect(common.psycopg_url(db_url)) as conn,
            conn.transaction(),
            conn.cursor(name="bench_raw") as cursor,
        ):
            cursor.itersize = 2000
            cursor.execute(RAW_SQL.format(param="%s"), [project_id])
            for _ in cursor:
                rows += 1
    else:
        import sqlite3

        path = db_url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path)
        try:
            cursor = conn.execute(RAW_SQL.format(param="?"), [project_id])
            while batch := cursor.fetchmany(2000):
                rows += len(batch)
        finally:
            conn.close()
    return rows, time.perf_counter() - started


def export_once(client, url: str) -> dict:
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    first = None
    size = lines = 0
    for chunk in response.streaming_content:
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return {"seconds": time.perf_counter() - started, "ttfb_ms": (first or 0) * 1000,
            "bytes": size, "lines": lines}  # fmt: skip


def child(db_url: str, verdicts: int, quick: bool, seed: int, repeat: int) -> None:
    """Runs in the subprocess: one size, printing one JSON object on stdout."""
    common.setup_django(db_url, migrate=False)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from bench import generate

    ds = generate.ensure("export", seed=seed, quick=quick, verdicts=verdicts)
    warm = generate.ensure("news", seed=seed, quick=quick)
    client = Client()
    client.force_login(get_user_model().objects.get(pk=ds.editor_id))
    # Warm up imports, URL resolution and the connection on a small project.
    export_once(client, reverse("api:project-export", kwargs={"pk": warm.project_id}))
    url = reverse("api:project-export", kwargs={"pk": ds.project_id})
    results = []
    growth = []
    for _ in range(repeat):
        before = common.rss_mb()
        common.reset_peak_rss()
        results.append(export_once(client, url))
        growth.append(common.peak_rss_mb() - before)
    raw_rows, raw_seconds = raw_fetch(db_url, ds.project_id)
    seconds = statistics.median(r["seconds"] for r in results)
    out = {
        "verdict_rows": ds.verdicts,
        "claims": ds.claims,
        "lines": results[0]["lines"],
        "bytes": results[0]["bytes"],
        "repeats": repeat,
        "seconds": round(seconds, 3),
        "rows_per_s": round(ds.verdicts / seconds),
        "lines_per_s": round(results[0]["lines"] / seconds),
        "ttfb_ms": round(statistics.median(r["ttfb_ms"] for r in results), 1),
        "ttfb_ms_max": round(max(r["ttfb_ms"] for r in results), 1),
        "rss_before_mb": before,
        "peak_rss_mb": common.peak_rss_mb(),
        "peak_rss_growth_mb": round(max(growth), 1),
        "raw_rows": raw_rows,
        "raw_seconds": round(raw_seconds, 3),
        "raw_rows_per_s": round(raw_rows / raw_seconds),
    }
    out["ratio_to_raw"] = round(out["rows_per_s"] / out["raw_rows_per_s"], 3)
    assert out["lines"] == ds.claims, (out["lines"], ds.claims)
    print(json.dumps(out), flush=True)


def main() -> None:
    p = common.parser("bench_export", __doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=None, help="verdict rows per size, comma-separated")
    p.add_argument("--repeat", type=int, default=None, help="exports per size (default 3, 1M: 1)")
    p.add_argument("--child", type=int, default=None, help=argparse_hidden())
    args = p.parse_args()
    if args.child is not None:
        child(args.db, args.child, args.quick, args.seed, args.repeat or 1)
        return
    common.setup_django(args.db)
    from bench import generate

    sizes = generate.ensure_exports(args.sizes, seed=args.seed, quick=args.quick)
    generate.ensure("news", seed=args.seed, quick=args.quick)
    from django.db import connection

    connection.close()
    by_size = {}
    for verdicts in sizes:
        repeat = args.repeat or (1 if verdicts >= 1_000_000 else 3)
        common.log(f"export of {verdicts:,} verdict rows ×{repeat} in a subprocess …")
        command = [
            sys.executable, "-m", "bench.bench_export", "--db", args.db, "--child",
            str(verdicts), "--seed", str(args.seed), "--repeat", str(repeat),
        ] + (["--quick"] if args.quick else [])  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        by_size[verdicts] = figures
        common.emit(
            "export", dataset=f"EXPORT-{verdicts}", db=args.db, metric="project_jsonl",
            **figures, save=not args.no_save, label=args.label,
        )  # fmt: skip
    if len(by_size) >= 2:
        small, large = by_size[min(by_size)], by_size[max(by_size)]
        common.emit(
            "export", dataset="EXPORT", db=args.db, metric="rss_flatness",
            sizes=[min(by_size), max(by_size)],
            peak_rss_growth_mb=[small["peak_rss_growth_mb"], large["peak_rss_growth_mb"]],
            growth_difference_mb=round(
                large["peak_rss_growth_mb"] - small["peak_rss_growth_mb"], 1
            ),
            save=not args.no_save, label=args.label,
        )  # fmt: skip


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
