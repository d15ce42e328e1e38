"""CPU time per API request, in process: what the server's Python spends, without its
HTTP server, thread hand-off or client.

    python -m bench.bench_cpu --db postgres://postgres@127.0.0.1:5432/wb_cpu
    python -m bench.bench_cpu --db sqlite:///var/bench_cpu.sqlite3

The database is emptied (PostgreSQL: dropped and created; SQLite: the file removed) and
migrated; then, through ``django.test.Client`` with token authentication (as the peer
workload's client sends it), three request kinds are timed with ``time.process_time``
(the process's CPU seconds, which other work on a shared machine disturbs far less than
wall time):

* a span claim (``POST /api/v1/claims/``) on one of 40 copies of an article;
* reading one document with its claims (``GET /api/v1/documents/{id}/``);
* a review cycle: the next lease (``POST /api/v1/queue/next/``) and a verdict citing one
  new URL (``POST /api/v1/claims/{id}/verdicts/``), three reviewers in turn, so every third
  verdict decides consensus.

Medians and means of ``--runs`` requests each (400 / 200 / 150 by default), in ms of CPU.
Run it in two trees (e.g. a ``git worktree`` of an older commit) to compare code paths.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench import common

SENTENCE = "The mayor said crime fell 20% last year, while critics cite a 3.1% rise. "


def _fresh(db_url: str) -> None:
    """Empty the benchmark's own database. Only one named for it (``…cpu…``) is dropped, so a
    mistyped URL cannot wipe the generated datasets of the other benchmarks."""
    if "cpu" not in db_url.rsplit("/", 1)[-1]:
        raise SystemExit("bench_cpu drops its database: give it one of its own, named *cpu*")
    if db_url.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, _, name = db_url.replace("postgres://", "postgresql://", 1).rpartition("/")
        name = name.split("?", 1)[0]
        if not name.replace("_", "").isalnum():
            raise SystemExit(f"benchmark database name must be [A-Za-z0-9_]+, got {name!r}")
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    elif db_url.startswith("sqlite:///"):
        Path(db_url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def _cpu_ms(fn: Callable[[int], None], runs: int) -> dict[str, float]:
    samples = []
    for i in range(runs):
        start = time.process_time()
        fn(i)
        samples.append((time.process_time() - start) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 3),
        "mean_ms": round(statistics.mean(samples), 3),
        "runs": runs,
    }


def main() -> None:
    p = common.parser("bench_cpu", __doc__.split("\n\n")[0])
    args = p.parse_args()
    _fresh(args.db)
    common.setup_django(args.db)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotations import services
    from annotations.models import Role

    User = get_user_model()
    admin = User.objects.create_user("admin", password="pw-admin-bench")
    project = services.project_create(creator=admin, name="CPU", required_reviews=3)
    people = {}
    for name in ("creator", "b", "c", "d"):
        people[name] = User.objects.create_user(name, password=f"pw-{name}-bench")
        services.member_add(project=project, user=people[name], role=Role.REVIEWER, actor=None)
    text = SENTENCE * 100
    documents = [
        services.document_create(
            project=project,
            data=services.DocumentInput(title=f"Copy {i}", text=f"{text}Copy {i}."),
            actor=admin,
        )
        for i in range(40)
    ]
    clients = {
        name: Client(HTTP_AUTHORIZATION=f"Token {services.token_create(user=user).secret}")
        for name, user in people.items()
    }
    step = len(SENTENCE)

    def claim(i: int) -> None:
        document = documents[i % len(documents)]
        start = (i // len(documents)) * step
        response = clients["creator"].post(
            "/api/v1/claims/",
            {"document": document.pk, "start": start, "end": start + 20, "statement": "s"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content[:300]

    def read(i: int) -> None:
        response = clients["b"].get(f"/api/v1/documents/{documents[i % len(documents)].pk}/")
        assert response.status_code == 200, response.content[:300]

    def cycle(i: int) -> None:
        client = clients["bcd"[i % 3]]
        response = client.post(
            "/api/v1/queue/next/", {"project": project.pk}, content_type="application/json"
        )
        assert response.status_code == 200, response.content[:300]
        claim_id = response.json()["claim"]["id"]
        response = client.post(
            f"/api/v1/claims/{claim_id}/verdicts/",
            {
                "rating": "true",
                "confidence": "high",
                "rationale": "Checked.",
                "citations": [
                    {"url": f"https://example.org/r/{i}", "quote": "q", "stance": "supports"}
                ],
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content[:300]

    quick = args.quick
    runs = {
        "claim": 60 if quick else 400,
        "read": 30 if quick else 200,
        "cycle": 30 if quick else 150,
    }
    if args.runs:
        runs = dict.fromkeys(runs, args.runs)
    read(0)  # warm-up: imports, first compilation
    figures = {
        "claim_post": _cpu_ms(claim, runs["claim"]),
        "document_read": _cpu_ms(read, runs["read"]),
        "lease_and_verdict": _cpu_ms(cycle, runs["cycle"]),
    }
    common.emit(
        "cpu",
        dataset="CPU-40DOCS",
        db=args.db,
        metric="cpu_per_request",
        save=not args.no_save,
        label=args.label,
        tree=os.getcwd(),
        **figures,
    )
    for name, figure in figures.items():
        common.log(f"{name:18} {figure['median_ms']:7.2f} ms CPU median ({figure['runs']} runs)")


if __name__ == "__main__":
    main()
