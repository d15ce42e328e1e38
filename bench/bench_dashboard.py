"""Project page benchmark: a big project's page (the dashboard every member opens) and its
agreement figures (``selectors.agreement_report``: Krippendorff's alpha, percent agreement,
per-reviewer matches) on the EXPORT datasets, for the editor (every verdict) and a
reviewer (only what blind review lets them see).

    python -m bench.bench_dashboard --db postgres://postgres@127.0.0.1:5432/wb_bench
    python -m bench.bench_dashboard --db sqlite:///var/bench.sqlite3 --quick

Each (size, role) runs in its own subprocess, so its peak RSS (VmHWM) is its own: the
worker's memory is what the figures cost it. In that process: the agreement figures
(``--runs``, default 3, median), the worker's CPU time for them (what holds the GIL from
the worker's other requests), then the page through ``django.test.Client`` (median of
``--runs``) with its query count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from bench import common


def measure(db: str, seed: int, quick: bool, verdicts: int, role: str, runs: int) -> dict:
    """Runs in the subprocess: one (size, role), printing one JSON object on stdout."""
    common.setup_django(db, migrate=False)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotations import selectors
    from annotations.models import Project
    from bench import generate

    ds = generate.ensure("export", seed=seed, quick=quick, verdicts=verdicts)
    project = Project.objects.get(pk=ds.project_id)
    user = get_user_model().objects.get(pk=ds.editor_id if role == "editor" else ds.reviewer_ids[0])
    rss_before = common.rss_mb()
    walls, cpus = [], []
    for _ in range(runs):
        cpu = time.process_time()
        wall, report = common.time_ms(
            lambda: selectors.agreement_report(project=project, user=user)
        )
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append(wall)
    client = Client()
    client.force_login(user)
    url = project.get_absolute_url()
    queries, response, _ = common.count_queries(lambda: client.get(url))
    assert response.status_code == 200, response.status_code
    pages = [common.time_ms(lambda: client.get(url))[0] for _ in range(runs)]
    return {
        "verdicts": ds.verdicts,
        "role": role,
        "agreement_ms": round(statistics.median(walls), 1),
        "agreement_cpu_ms": round(statistics.median(cpus), 1),
        "agreement_verdicts": report.verdicts,
        "page_ms": round(statistics.median(pages), 1),
        "page_queries": queries,
        "rss_before_mb": rss_before,
        "peak_rss_mb": common.peak_rss_mb(),
        "numpy_loaded": "numpy" in sys.modules,
    }


def main() -> None:
    p = common.parser("bench_dashboard", __doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=None, help="verdict rows per size, comma-separated")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    runs = common.runs_for(args, default=3, quick=2)
    if args.child:
        verdicts, role = args.child.split(":")
        print(json.dumps(measure(args.db, args.seed, args.quick, int(verdicts), role, runs)))
        return
    common.setup_django(args.db)
    from bench import generate

    sizes = generate.ensure_exports(args.sizes, seed=args.seed, quick=args.quick)
    for verdicts in sizes:
        for role in ("editor", "reviewer"):
            common.log(f"project page of {verdicts:,} verdicts as {role} in a subprocess …")
            command = [sys.executable, "-m", "bench.bench_dashboard", "--db", args.db]
            command += ["--seed", str(args.seed), "--runs", str(runs)]
            command += ["--child", f"{verdicts}:{role}"] + (["--quick"] if args.quick else [])
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            common.emit(
                "dashboard",
                dataset=f"EXPORT-{verdicts}",
                db=args.db,
                metric="project_page",
                save=not args.no_save,
                label=args.label,
                **result,
            )


if __name__ == "__main__":
    main()
