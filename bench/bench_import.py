"""Import benchmark: ingesting the BOOK text (1,000,000 characters), and a batch of
10,000 NEWS articles through ``manage.py import_documents --format jsonl``.

    python -m bench.bench_import --db postgres://postgres@127.0.0.1:5432/wb_bench
    python -m bench.bench_import --db sqlite:///var/bench.sqlite3 --quick

Every measurement runs in its own subprocess (peak RSS is VmHWM after resetting it, minus
the RSS before; the text is already in memory, as a request body would be):

* ``book_ingest``: ``services.document_create`` of the raw BOOK text (CRLF, NFD words:
  canonicalisation, hash, validation, insert), ``--runs`` times (default 5; each run is a
  new project so the duplicate check passes);
* ``book_import_command``: ``import_documents`` of the BOOK as a .txt file (read, clean,
  create), once;
* ``news_batch``: ``import_documents --format jsonl`` of 10,000 NEWS articles (``--quick``:
  500), once; documents per second and peak RSS;
* ``over_limit``: a ``POST /api/v1/documents/`` whose body is larger than
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``; the status code (the target is 413).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common


def _book_raw(seed: int, quick: bool) -> str:
    from bench import generate

    chars = (generate.QUICK if quick else generate.FULL)["book"]["chars"]
    rng = random.Random(f"import-book-{seed}")
    return generate.raw_form(generate.make_text(rng, chars, exotic=0.25), rng)


def _fresh_project(slug: str):
    from django.contrib.auth import get_user_model

    from annotations import services
    from bench import generate

    generate.wipe_project(slug)
    cast = generate.ensure_cast()
    admin = get_user_model().objects.get(pk=cast.admin_id)
    return services.project_create(creator=admin, name=slug, slug=slug)


def child_book(db: str, seed: int, quick: bool, runs: int) -> dict:
    common.setup_django(db, migrate=False)
    from annotations import services

    raw = _book_raw(seed, quick)
    size = len(raw.encode("utf-8"))
    times, growth = [], []
    for run in range(runs + 1):
        project = _fresh_project("bench-import-book")
        before = common.rss_mb()
        common.reset_peak_rss()
        started = time.perf_counter()
        services.document_create(
            project=project, data=services.DocumentInput(title="BOOK", text=raw), actor=None
        )
        elapsed = time.perf_counter() - started
        if run:  # the first is a warm-up
            times.append(elapsed * 1000)
            growth.append(common.peak_rss_mb() - before)
    from bench import generate

    generate.wipe_project("bench-import-book")
    return {
        "chars": len(raw),
        "utf8_bytes": size,
        **common.summary_ms(times),
        "peak_rss_growth_mb": round(max(growth), 1),
        "rss_growth_x_text": round(max(growth) * 1024 * 1024 / size, 2),
    }


def child_command(db: str, path: str, fmt: str, slug: str) -> dict:
    common.setup_django(db, migrate=False)
    from django.core.management import call_command

    from bench import generate

    _fresh_project(slug)
    before = common.rss_mb()
    common.reset_peak_rss()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        call_command(
            "import_documents", path, project=slug, format=fmt, no_progress=True, stdout=out
        )
        elapsed = time.perf_counter() - started
        peak = common.peak_rss_mb()
        out.seek(0)
        summary = out.readline().strip()
    from annotations.models import Document

    imported = Document.objects.filter(project__slug=slug).count()
    generate.wipe_project(slug)
    return {
        "seconds": round(elapsed, 2),
        "documents": imported,
        "docs_per_s": round(imported / elapsed, 1),
        "file_bytes": Path(path).stat().st_size,
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "peak_rss_growth_mb": round(peak - before, 1),
        "summary": summary,
    }


def child_over_limit(db: str) -> dict:
    common.setup_django(db, migrate=False)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotations import services
    from bench import generate

    cast = generate.ensure_cast()
    project = _fresh_project("bench-import-limit")
    admin = get_user_model().objects.get(pk=cast.admin_id)
    token = services.token_create(user=admin).secret
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"project": project.pk, "title": "too big", "text": "x" * (limit + 10)})
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/api/v1/documents/", body, content_type="application/json")
    generate.wipe_project("bench-import-limit")
    return {"limit_bytes": limit, "body_bytes": len(body), "status": response.status_code}


def _run_child(args: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_import", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = common.parser("bench_import", __doc__.split("\n\n")[0])
    p.add_argument("--child", choices=["book", "command", "limit"], help="(internal)")
    p.add_argument("--path", default="")
    p.add_argument("--format", default="text")
    p.add_argument("--slug", default="bench-import")
    p.add_argument("--batch", type=int, default=None, help="NEWS articles in the batch")
    args = p.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    if args.child == "book":
        print(json.dumps(child_book(args.db, args.seed, args.quick, runs)))
        return
    if args.child == "command":
        print(json.dumps(child_command(args.db, args.path, args.format, args.slug)))
        return
    if args.child == "limit":
        print(json.dumps(child_over_limit(args.db)))
        return
    common.setup_django(args.db)
    from django.db import connection

    from bench import generate

    generate.ensure_cast()
    connection.close()
    base = ["--db", args.db, "--seed", str(args.seed)] + (["--quick"] if args.quick else [])
    save = {"save": not args.no_save, "label": args.label}
    dataset = f"BOOK{'-quick' if args.quick else ''}"
    common.log("BOOK ingest (services.document_create) …")
    figures = _run_child([*base, "--child", "book", "--runs", str(runs)])
    common.emit("import", dataset=dataset, db=args.db, metric="book_ingest", **figures, **save)
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "book.txt"
        book.write_text(_book_raw(args.seed, args.quick), encoding="utf-8")
        common.log("BOOK through import_documents …")
        figures = _run_child(
            [*base, "--child", "command", "--path", str(book), "--slug", "bench-import-bookfile"]
        )
        common.emit(
            "import", dataset=dataset, db=args.db, metric="book_import_command", **figures, **save
        )
        count = args.batch or (500 if args.quick else 10_000)
        batch = Path(tmp) / "news.jsonl"
        with batch.open("w", encoding="utf-8") as handle:
            for line in generate.news_jsonl_lines(count, seed=args.seed):
                handle.write(line + "\n")
        common.log(f"{count:,} NEWS articles through import_documents --format jsonl …")
        figures = _run_child(
            [*base, "--child", "command", "--path", str(batch), "--format", "jsonl",
             "--slug", "bench-import-batch"]
        )  # fmt: skip
        common.emit(
            "import", dataset=f"NEWS×{count}", db=args.db, metric="news_batch", **figures, **save
        )
    figures = _run_child([*base, "--child", "limit"])
    common.emit("import", dataset="over-limit", db=args.db, metric="over_limit", **figures, **save)


if __name__ == "__main__":
    main()
