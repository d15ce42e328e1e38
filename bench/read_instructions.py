"""Instructions per API document read, counted by valgrind (callgrind), not timed.

    python -m bench.read_instructions --db sqlite:///var/bench.sqlite3
    python -m bench.read_instructions --db postgres://postgres@127.0.0.1:5432/wb_bench

A token-authenticated ``GET /api/v1/documents/{id}/?include=claims`` of the NEWS document
(8,000 characters, 50 claims; ``bench.generate``), through Django's test client in one
process: the process runs twice under ``valgrind --tool=callgrind``, with ``--warmup``
reads and then 0 or ``--reads`` more, and the difference of the two totals, divided by
``--reads``, is what one read costs the server process (Python, Django, the driver;
SQLite's engine runs in the process, PostgreSQL's work does not). Instruction counts
repeat exactly for the same code, data and environment whatever else the machine is
doing, so two commits compare on a shared, noisy machine where times do not. valgrind
must be installed (Debian's ``valgrind``); each run takes about a minute.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import common

TOTALS = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def _reads(count: int, warmup: int, document_id: int, key: str) -> None:
    """The child: ``warmup`` reads, then ``count`` more (under valgrind)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/documents/{document_id}/?include=claims"
    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, response.content[:200]
    for _ in range(count):
        client.get(url)


def _instructions(args: list[str], env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            [
                shutil.which("valgrind") or "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.read_instructions",
                *args,
            ],
            cwd=common.ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found = TOTALS.search(out.read_text())
        assert found, "callgrind wrote no totals"
        return int(found.group(1))


def main() -> None:
    p = common.parser("read_instructions", __doc__.split("\n\n")[0])
    p.add_argument("--reads", type=int, default=200, help="reads counted (200)")
    p.add_argument("--warmup", type=int, default=50, help="reads before counting (50)")
    p.add_argument("--child", nargs=3, metavar=("COUNT", "DOCUMENT", "KEY"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        common.setup_django(args.db, migrate=False)
        count, document, key = args.child
        _reads(int(count), args.warmup, int(document), key)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    common.setup_django(args.db)
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from bench import generate

    dataset = generate.ensure("news", seed=args.seed)
    _, key = AuthToken.objects.create(get_user_model().objects.get(pk=dataset.editor_id))
    document = dataset.document_ids[0]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    common.log(f"counting {args.reads} reads of document {document} under callgrind …")
    base = _instructions(
        ["--db", args.db, "--warmup", str(args.warmup), "--child", "0", str(document), key], env
    )
    total = _instructions(
        [
            "--db",
            args.db,
            "--warmup",
            str(args.warmup),
            "--child",
            str(args.reads),
            str(document),
            key,
        ],
        env,
    )
    common.emit(
        "read_instructions",
        dataset=dataset.name,
        db=args.db,
        metric="api_document_read_with_claims",
        save=not args.no_save,
        label=args.label,
        claims=dataset.claims,
        reads=args.reads,
        instructions_per_read=round((total - base) / args.reads),
    )


if __name__ == "__main__":
    main()
