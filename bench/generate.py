"""Deterministic benchmark data, written through bulk paths (COPY on PostgreSQL,
``executemany`` on SQLite), never through the UI or one service call per row.

    python -m bench.generate --db postgres://postgres@127.0.0.1:5432/wb_bench all
    python -m bench.generate --db sqlite:///var/bench.sqlite3 news book --quick

Datasets (one project each; ``--quick`` gives the small smoke sizes in brackets):

=======  ==================================================================================
NEWS     one 8,000-character article, 50 claims, 150 verdicts (3 per claim), 100 sources
BOOK     one 1,000,000-character document [100,000] with astral characters (emoji, flags,
         ZWJ sequences, mathematical letters, CJK extension B), combining marks that have
         no precomposed form, and NFD words and CRLF line ends in the raw text;
         3,000 claims [300], 10% of them starting inside the previous claim; 3 verdicts
         per claim with one citation each; consensus where the three agree
QUEUE    100,000 claims in review [5,000] over 1,000 short documents, 3 required reviews,
         50 reviewers, no verdicts or leases yet (``queue_reset`` puts it back so)
EXPORT   1,000,000 verdict rows [30,000] (3 per claim, one citation each, consensus where
         unanimous); ``--export-sizes`` makes one project per size (default 100k and 1M)
=======  ==================================================================================

The same seed gives the same texts, spans, ratings and timestamps on every database
(ids depend on what the database already holds). A dataset is generated once: its
parameters are stored on the project (``organization``), and a later call with the same
parameters returns the existing one; different parameters wipe and regenerate it.

For other bench modules::

    from bench import common, generate
    common.setup_django(url)
    ds = generate.ensure("queue")                  # or generate.generate_queue(claims=…)
    ds.project_id, ds.reviewer_ids, ds.creator_id
    generate.queue_reset(ds)                        # between runs that consume the queue
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import random
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import common

# --- text ---------------------------------------------------------------------------------------

WORDS = [
    "the",
    "council",
    "budget",
    "report",
    "said",
    "percent",
    "city",
    "state",
    "minister",
    "health",
    "school",
    "water",
    "housing",
    "prices",
    "rose",
    "fell",
    "year",
    "last",
    "month",
    "police",
    "crime",
    "jobs",
    "unemployment",
    "rate",
    "tax",
    "bridge",
    "road",
    "hospital",
    "court",
    "election",
    "vote",
    "voters",
    "poll",
    "survey",
    "data",
    "figures",
    "record",
    "highest",
    "lowest",
    "since",
    "according",
    "official",
    "officials",
    "spokesperson",
    "claimed",
    "statement",
    "government",
    "opposition",
    "party",
    "leader",
    "mayor",
    "governor",
    "senator",
    "study",
    "researchers",
    "found",
    "increase",
    "decrease",
    "million",
    "billion",
    "thousand",
    "households",
    "families",
    "children",
    "students",
    "energy",
    "climate",
    "emissions",
    "carbon",
    "wind",
    "solar",
    "coal",
    "gas",
    "oil",
    "river",
    "harbour",
    "port",
    "trade",
    "imports",
    "exports",
    "tariff",
    "factory",
    "workers",
    "wages",
    "inflation",
    "interest",
    "bank",
    "loans",
    "debt",
    "deficit",
    "spending",
    "plan",
    "program",
    "agency",
    "department",
    "federal",
    "local",
    "national",
    "regional",
    "average",
    "median",
    "total",
    "annual",
    "quarterly",
    "weekly",
    "daily",
    "new",
    "old",
    "first",
    "second",
    "third",
    "major",
    "minor",
    "public",
    "private",
    "independent",
    "analysis",
    "review",
    "evidence",
    "source",
    "sources",
    "claim",
    "claims",
    "misleading",
    "accurate",
    "false",
    "true",
    "mostly",
    "half",
    "context",
    "missing",
    "quote",
    "interview",
    "hearing",
    "committee",
    "inquiry",
    "audit",
    "contract",
    "company",
    "firm",
    "market",
    "shares",
    "investors",
]
# NFC words whose raw (imported) form is decomposed (NFD): canonicalisation recomposes them.
ACCENTED = ("café", "naïve", "Zoë", "résumé", "São Paulo", "Ærøskøbing", "Ångström", "façade")
# Code points outside the BMP (two UTF-16 units each) and multi-code-point graphemes.
ASTRAL = (
    "😀",
    "🌉",
    "🇺🇦",
    "🇧🇷",
    "👩\u200d⚕️",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "𠀋𠀍",
    "🏳️\u200d🌈",
    "𝟙𝟚𝟛",
)
# Base letters with combining marks that have no precomposed form: they stay two or three
# code points after NFC.
COMBINING = ("q\u0303", "x\u0323\u0302", "ñ\u0330", "क्ष", "y\u0330")
assert all(unicodedata.is_normalized("NFC", s) for s in COMBINING + ASTRAL + ACCENTED)
CLAIMANTS = ("the mayor", "the minister", "a spokesperson", "the opposition leader", "", "")


def _sentence(rng: random.Random, *, exotic: float) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 24))]
    roll = rng.random()
    if roll < 0.25:
        words.insert(rng.randrange(len(words)), f"{rng.randint(1, 99)}.{rng.randint(0, 9)}%")
    elif roll < 0.4:
        words.insert(rng.randrange(len(words)), f"${rng.randint(2, 900)} million")
    if rng.random() < exotic:
        words.insert(rng.randrange(len(words)), rng.choice(ASTRAL))
    if rng.random() < exotic:
        words.insert(rng.randrange(len(words)), rng.choice(COMBINING))
    if rng.random() < exotic:
        words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice(".....?!")


def make_text(rng: random.Random, chars: int, *, exotic: float = 0.1) -> str:
    """A canonical text (NFC, ``\\n`` only) of exactly ``chars`` code points, in paragraphs of
    3–12 sentences, ending with a newline."""
    parts: list[str] = []
    size = 0
    while size < chars:
        paragraph = " ".join(_sentence(rng, exotic=exotic) for _ in range(rng.randint(3, 12)))
        parts.append(paragraph)
        size += len(paragraph) + 1
    text = "\n".join(parts)[: chars - 1] + "\n"
    if text[-2:-1] in ("\u200d", " "):  # never end on a dangling joiner or a space
        text = text[:-2] + ".\n"
    assert len(text) == chars and unicodedata.is_normalized("NFC", text), "text not canonical"
    return text


def raw_form(text: str, rng: random.Random) -> str:
    """The text as it might have been imported: CRLF on a third of the lines, and the
    accented words decomposed (NFD). ``spans.canonicalize(raw_form(t)) == t``."""
    lines = text.split("\n")
    out = []
    for line in lines:
        for word in ACCENTED:
            if word in line and rng.random() < 0.5:
                line = line.replace(word, unicodedata.normalize("NFD", word))
        out.append(line)
    return "".join(line + ("\r\n" if rng.random() < 0.33 else "\n") for line in out[:-1]) + out[-1]


def claim_spans(
    rng: random.Random, length: int, count: int, *, overlap: float = 0.1
) -> list[tuple[int, int]]:
    """``count`` spans [start, end) of 20–200 code points (shorter where the text is too
    short for that); a share ``overlap`` of them start inside the previous span (nested or
    crossing), the others lie in their own slot of the text, so about that share overlaps.
    Sorted by start."""
    slot = max(2, (length - 1) // max(count, 1))
    spans: list[tuple[int, int]] = []
    for index in range(count):
        if spans and rng.random() < overlap:
            prev_start, prev_end = spans[-1]
            start = rng.randrange(prev_start, max(prev_start + 1, prev_end - 1))
            end = min(length, start + rng.randint(20, 200))
        else:
            size = rng.randint(min(20, slot - 1), max(min(200, slot - 1), 1))
            base = min(index * slot, length - 2)
            start = base + rng.randrange(0, max(1, slot - size))
            end = min(length, start + max(1, size))
        spans.append((start, max(end, start + 1)))
    spans.sort()
    return spans


# --- database plumbing --------------------------------------------------------------------------


def _connection():
    from django.db import connection

    connection.ensure_connection()
    return connection


def _next_id(model: Any) -> int:
    with _connection().cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')
        return int(cursor.fetchone()[0]) + 1


def _sqlite_value(value: Any) -> Any:
    # Django stores datetimes in SQLite as naive UTC text; adapt the way its backend does.
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def insert_rows(model: Any, fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in ``fields`` order, ids included) into ``model``'s table:
    COPY on PostgreSQL, ``executemany`` in batches on SQLite. Returns the row count."""
    connection = _connection()
    table = model._meta.db_table
    columns = [model._meta.get_field(name).column for name in fields]
    column_sql = ", ".join(f'"{column}"' for column in columns)
    count = 0
    if connection.vendor == "postgresql":
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(f'COPY "{table}" ({column_sql}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    sql = f'INSERT INTO "{table}" ({column_sql}) VALUES ({", ".join(["%s"] * len(columns))})'
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(tuple(map(_sqlite_value, row)))
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _reset_sequences(models: Iterable[Any]) -> None:
    connection = _connection()
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows explicit ids by itself
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'GREATEST((SELECT MAX(id) FROM "{table}"), 1))'
            )


def analyze(*models: Any) -> None:
    """Refresh the planner's statistics (PostgreSQL ANALYZE, SQLite ANALYZE): of
    ``models``' tables, or of the whole database when none are named."""
    connection = _connection()
    names = [connection.ops.quote_name(model._meta.db_table) for model in models]
    with connection.cursor() as cursor:
        if not names:
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(names)}")
        else:
            for name in names:
                cursor.execute(f"ANALYZE {name}")


# --- users and sources shared by every dataset ----------------------------------------------------

BENCH_PASSWORD = "bench-password"
REVIEWER_COUNT = 50
SOURCE_COUNT = 10_000


@dataclass(frozen=True)
class Cast:
    admin_id: int
    editor_id: int
    creator_id: int
    reviewer_ids: list[int]


def ensure_cast(reviewers: int = REVIEWER_COUNT) -> Cast:
    """bench-admin, bench-editor, bench-creator and bench-r001… (password ``bench-password``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    names = ["bench-admin", "bench-editor", "bench-creator"] + [
        f"bench-r{i:03d}" for i in range(1, reviewers + 1)
    ]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    missing = [name for name in names if name not in existing]
    if missing:
        password = make_password(BENCH_PASSWORD)
        user_model.objects.bulk_create(
            user_model(username=name, password=password, is_staff=name == "bench-admin")
            for name in missing
        )
    ids = dict(user_model.objects.filter(username__in=names).values_list("username", "id"))
    return Cast(
        admin_id=ids["bench-admin"],
        editor_id=ids["bench-editor"],
        creator_id=ids["bench-creator"],
        reviewer_ids=[ids[f"bench-r{i:03d}"] for i in range(1, reviewers + 1)],
    )


def ensure_sources(project: Any, owner_id: int, count: int = SOURCE_COUNT) -> list[int]:
    """Ids of ``count`` sources https://sources.bench.example/<n> of ``project``, owned by
    ``owner_id`` (sources belong to a project and a citer; created once)."""
    from annotations.models import Source

    prefix = "https://sources.bench.example/"
    mine = Source.objects.filter(
        project=project, created_by_id=owner_id, normalized_url__startswith=prefix
    )
    have = mine.count()
    if have < count:
        from django.db import transaction

        existing = set(mine.values_list("normalized_url", flat=True))
        first = _next_id(Source)
        now = _T0
        rows = []
        for n in range(count):
            url = f"{prefix}{n}"
            if url in existing:
                continue
            rows.append(
                (
                    first + len(rows), project.pk, owner_id, url, url, f"Source {n}",
                    "Bench Wire", "", now,
                )
            )  # fmt: skip
        with transaction.atomic():
            insert_rows(
                Source,
                [
                    "id", "project_id", "created_by_id", "url", "normalized_url", "title",
                    "publisher", "archive_url", "created_at",
                ],
                rows,
            )  # fmt: skip
            _reset_sequences([Source])
    return list(mine.order_by("id").values_list("id", flat=True)[:count])


# --- datasets -----------------------------------------------------------------------------------

_T0 = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Dataset:
    """What a benchmark needs to know about a generated dataset."""

    name: str
    slug: str
    project_id: int
    document_ids: list[int]
    creator_id: int
    editor_id: int
    admin_id: int
    reviewer_ids: list[int]
    claims: int
    verdicts: int
    chars: int  # characters of the largest document
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0  # generation time (0 when it already existed)


FULL = {
    "news": {"chars": 8_000, "claims": 50, "sources": 100},
    "book": {"chars": 1_000_000, "claims": 3_000, "sources": 10_000},
    "queue": {"claims": 100_000, "documents": 1_000, "reviewers": 50, "required_reviews": 3},
    "export": {"verdicts": 1_000_000, "sources": 10_000},
}
QUICK = {
    "news": FULL["news"],
    "book": {"chars": 100_000, "claims": 300, "sources": 1_000},
    "queue": {"claims": 5_000, "documents": 50, "reviewers": 50, "required_reviews": 3},
    "export": {"verdicts": 30_000, "sources": 1_000},
}


def _fingerprint(kind: str, seed: int, params: dict[str, Any]) -> str:
    return "bench " + json.dumps({"kind": kind, "seed": seed, **params}, sort_keys=True)


def _load(kind: str, slug: str, params: dict[str, Any]) -> Dataset | None:
    from django.db.models import Max

    from annotations.models import Claim, Document, Project, Verdict

    project = Project.objects.filter(slug=slug).first()
    if project is None:
        return None
    if project.organization != _fingerprint(kind, params["seed"], params["size"]):
        return None
    cast = ensure_cast()
    documents = list(
        Document.objects.filter(project=project).order_by("id").values_list("id", flat=True)
    )
    return Dataset(
        name=kind.upper(),
        slug=slug,
        project_id=project.pk,
        document_ids=documents,
        creator_id=cast.creator_id,
        editor_id=cast.editor_id,
        admin_id=cast.admin_id,
        reviewer_ids=cast.reviewer_ids,
        claims=Claim.objects.filter(project=project).count(),
        verdicts=Verdict.objects.filter(claim__project=project).count(),
        chars=Document.objects.filter(project=project).aggregate(m=Max("length"))["m"] or 0,
        params=params,
    )


def wipe_project(slug: str) -> None:
    """Delete a benchmark project and everything in it, with set-based deletes (the ORM's
    collector would load a million rows to delete them)."""
    from annotations.models import (
        Assignment,
        AuditHead,
        Citation,
        Claim,
        ClaimAnchor,
        Consensus,
        Document,
        DocumentRevision,
        DocumentTextChunk,
        Event,
        Membership,
        Notification,
        Project,
        Rating,
        Source,
        Verdict,
    )

    project = Project.objects.filter(slug=slug).first()
    if project is None:
        return
    p = project.pk
    t = {m: m._meta.db_table for m in (Claim, Verdict, Consensus, Document)}
    claims = f'SELECT id FROM "{t[Claim]}" WHERE project_id = {p}'
    verdicts = f'SELECT id FROM "{t[Verdict]}" WHERE claim_id IN ({claims})'
    consensus = f'SELECT id FROM "{t[Consensus]}" WHERE claim_id IN ({claims})'
    statements = [
        # In review again, with no consensus to point at (the lifecycle's check constraint).
        f"UPDATE \"{Claim._meta.db_table}\" SET status = 'in_review', version = 1, "
        f"claim_version = 1, consensus_id = NULL WHERE project_id = {p}",
        f'DELETE FROM "{Consensus.verdicts.through._meta.db_table}" WHERE consensus_id IN ({consensus})',
        f'DELETE FROM "{t[Consensus]}" WHERE claim_id IN ({claims})',
        f'DELETE FROM "{Citation._meta.db_table}" WHERE verdict_id IN ({verdicts})',
        f'DELETE FROM "{t[Verdict]}" WHERE claim_id IN ({claims})',
        f'DELETE FROM "{Assignment._meta.db_table}" WHERE project_id = {p}',
        # A benchmark's deciding verdicts notify the claims' creators; its citations made
        # sources (bench_annotate).
        f'DELETE FROM "{Notification._meta.db_table}" WHERE project_id = {p}',
        f'DELETE FROM "{Source._meta.db_table}" WHERE project_id = {p}',
        f'DELETE FROM "{ClaimAnchor._meta.db_table}" WHERE claim_id IN ({claims})',
        f'DELETE FROM "{t[Claim]}" WHERE project_id = {p}',
        f'DELETE FROM "{DocumentRevision._meta.db_table}" WHERE document_id IN '
        f'(SELECT id FROM "{t[Document]}" WHERE project_id = {p})',
        f'DELETE FROM "{DocumentTextChunk._meta.db_table}" WHERE document_id IN '
        f'(SELECT id FROM "{t[Document]}" WHERE project_id = {p})',
        f'DELETE FROM "{t[Document]}" WHERE project_id = {p}',
        f'DELETE FROM "{Event._meta.db_table}" WHERE project_id = {p}',
        f'DELETE FROM "{AuditHead._meta.db_table}" WHERE chain = {p}',
        f'DELETE FROM "{Rating._meta.db_table}" WHERE project_id = {p}',
        f'DELETE FROM "{Membership._meta.db_table}" WHERE project_id = {p}',
        f'DELETE FROM "{Project._meta.db_table}" WHERE id = {p}',
    ]
    from django.db import transaction

    with transaction.atomic(), _connection().cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _project(kind: str, slug: str, seed: int, size: dict[str, Any], cast: Cast, **policy: Any):
    from annotations.models import Membership, Role
    from annotations.services import project_create

    wipe_project(slug)
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(pk=cast.admin_id)
    project = project_create(
        creator=admin,
        name=f"Bench {kind.upper()}",
        slug=slug,
        organization=_fingerprint(kind, seed, size),
        **policy,
    )
    Membership.objects.bulk_create(
        [Membership(project=project, user_id=cast.editor_id, role=Role.EDITOR)]
        + [
            Membership(project=project, user_id=uid, role=Role.REVIEWER)
            for uid in [cast.creator_id, *cast.reviewer_ids]
        ]
    )
    return project


@dataclass
class _Writer:
    """Accumulates rows per table and flushes them in chunks (bounded memory)."""

    ids: dict[str, int] = field(default_factory=dict)
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    FIELDS = {
        "claim": [
            "id", "project", "document", "start", "end", "exact", "prefix", "suffix",
            "statement", "claimant", "status", "version", "anchor_status", "anchor_revision",
            "created_by", "created_at", "updated_at", "consensus",
        ],
        "verdict": [
            "id", "claim", "reviewer", "rating", "confidence", "rationale", "revision",
            "is_current", "document_revision", "submitted_at",
        ],
        "citation": ["id", "verdict", "source", "quote", "stance"],
        "consensus": [
            "id", "claim", "sequence", "rating", "method", "agreement", "decided_at", "note",
            "is_current",
        ],
        "consensus_verdicts": ["id", "consensus", "verdict"],
    }  # fmt: skip

    def start(self) -> None:
        for name in self.FIELDS:
            self.ids[name] = _next_id(self.model(name))
            self.rows[name] = []
            self.counts[name] = 0

    @staticmethod
    def model(name: str) -> Any:
        from annotations.models import Citation, Claim, Consensus, Verdict

        return {
            "claim": Claim,
            "verdict": Verdict,
            "citation": Citation,
            "consensus": Consensus,
            "consensus_verdicts": Consensus.verdicts.through,
        }[name]

    def take_id(self, name: str) -> int:
        value = self.ids[name]
        self.ids[name] += 1
        return value

    def add(self, name: str, row: tuple[Any, ...]) -> None:
        self.rows[name].append(row)

    def flush(self) -> None:
        for name, rows in self.rows.items():
            if rows:
                model = self.model(name)
                columns = [
                    model._meta.get_field(f).attname if f != "id" else "id"
                    for f in self.FIELDS[name]
                ]
                self.counts[name] += insert_rows(model, columns, rows)
                rows.clear()

    def finish(self) -> None:
        self.flush()
        _reset_sequences(self.model(name) for name in self.FIELDS)


def _documents(
    project: Any, cast: Cast, texts: Sequence[tuple[str, str, str]], *, language: str = "en"
) -> list[int]:
    """Insert documents (title, text, raw_text) and return their ids, in order."""
    from annotations.core import spans, textchunks
    from annotations.core.language import direction_of
    from annotations.models import Document, DocumentTextChunk

    first = _next_id(Document)
    rows = []
    for index, (title, text, raw) in enumerate(texts):
        rows.append(
            (
                first + index,
                project.pk,
                title,
                text,
                spans.text_sha256(text),
                len(text),
                raw,
                f"https://news.bench.example/{project.slug}/{index}",
                "Bench Wire",
                "",
                language,
                direction_of(language),
                1,
                cast.creator_id,
                _T0 - dt.timedelta(days=1, seconds=index),
            )
        )
    insert_rows(
        Document,
        [
            "id", "project_id", "title", "text", "text_sha256", "length", "raw_text",
            "source_url", "publisher", "author", "language", "direction", "revision",
            "created_by_id", "created_at",
        ],
        rows,
    )  # fmt: skip
    _reset_sequences([Document])
    # A long text's chunks, as services.documents._text_chunks_write writes them (ids from
    # the table's sequence): windows deep in a book are read from them.
    insert_rows(
        DocumentTextChunk,
        ["document_id", "seq", "text"],
        (
            (row[0], seq, chunk)
            for row in rows
            if textchunks.chunked(len(row[3]))
            for seq, chunk in enumerate(textchunks.split(row[3]))
        ),
    )
    return [row[0] for row in rows]


def _claims_and_reviews(
    writer: _Writer,
    *,
    rng: random.Random,
    project: Any,
    cast: Cast,
    document_id: int,
    text: str,
    spans_: Sequence[tuple[int, int]],
    rating_ids: dict[str, int],
    source_ids: Sequence[int],
    verdicts_per_claim: int,
    claim_index: int,
    max_verdicts: int | None = None,
    status_in_review: bool = False,
) -> tuple[int, int]:
    """Rows for claims on one document, each with its verdicts, citations and consensus.
    Returns (claims written, verdicts written). Each status is one the claim lifecycle
    reaches (``core.lifecycle``), and a decided claim points at its consensus row (taken
    first; the build's transaction defers the foreign key to the end)."""
    from annotations.core import lifecycle
    from annotations.core import spans as spanlib

    keys = list(rating_ids)
    scale = keys[:5]  # the ordinal part of the default scale
    verdicts_written = 0
    for number, (start, end) in enumerate(spans_):
        selector = spanlib.make_selector(text, start, end)
        claim_id = writer.take_id("claim")
        created = _T0 + dt.timedelta(seconds=claim_index + number)
        n_verdicts = verdicts_per_claim
        if max_verdicts is not None:
            n_verdicts = max(0, min(n_verdicts, max_verdicts - verdicts_written))
        reviewers = rng.sample(cast.reviewer_ids, n_verdicts) if n_verdicts else []
        unanimous = rng.random() < 0.7
        first = rng.choice(scale)
        ratings = [first if unanimous else rng.choice(keys) for _ in reviewers]
        agreed = n_verdicts > 0 and len(set(ratings)) == 1 and n_verdicts == verdicts_per_claim
        if status_in_review or n_verdicts < verdicts_per_claim:
            status = "in_review"
        else:
            status = "resolved" if agreed else "disputed"
        consensus_id = writer.take_id("consensus") if lifecycle.needs_consensus(status) else None
        assert lifecycle.path_to(status) is not None, status
        writer.add(
            "claim",
            (
                claim_id, project.pk, document_id, start, end, selector.exact, selector.prefix,
                selector.suffix, selector.exact[:300], rng.choice(CLAIMANTS), status,
                1, "anchored", 1, cast.creator_id, created, created, consensus_id,
            ),
        )  # fmt: skip
        verdict_ids = []
        for k, (reviewer, key) in enumerate(zip(reviewers, ratings, strict=True)):
            verdict_id = writer.take_id("verdict")
            verdict_ids.append(verdict_id)
            writer.add(
                "verdict",
                (
                    verdict_id, claim_id, reviewer, rating_ids[key],
                    rng.choice(("low", "medium", "high")),
                    _sentence(rng, exotic=0.0), 1, True, 1,
                    created + dt.timedelta(minutes=5 * (k + 1)),
                ),
            )  # fmt: skip
            writer.add(
                "citation",
                (
                    writer.take_id("citation"), verdict_id, rng.choice(source_ids),
                    _sentence(rng, exotic=0.0)[:120], rng.choice(("supports", "refutes", "context")),
                ),
            )  # fmt: skip
        verdicts_written += len(verdict_ids)
        if consensus_id is not None:
            writer.add(
                "consensus",
                (
                    consensus_id, claim_id, 1, rating_ids[first], "unanimous", 1.0,
                    created + dt.timedelta(minutes=5 * (n_verdicts + 1)), "", True,
                ),
            )  # fmt: skip
            for verdict_id in verdict_ids:
                writer.add(
                    "consensus_verdicts",
                    (writer.take_id("consensus_verdicts"), consensus_id, verdict_id),
                )
    return len(spans_), verdicts_written


def _rating_ids(project: Any) -> dict[str, int]:
    from annotations.models import Rating

    return dict(
        Rating.objects.filter(project=project).order_by("position").values_list("key", "id")
    )


GENERATED_VERB = "bench.generate"


def creation_events(slug: str) -> int:
    """The audit events the services would have written for the generated rows: one
    ``document.create``, ``claim.create`` and ``verdict.submit`` per row (in that order,
    ids ascending, at the rows' own times), chained after the project's head like
    ``services._base.event_record`` does (``core.auditchain``), then one
    ``bench.generate`` event marking the end of the generated part (``queue_reset`` cuts
    the chain back to it). ``check_integrity`` and ``verify_audit`` pass on the result.
    Rows are read back in chunks; returns the number of events written."""
    from annotations.core import auditchain
    from annotations.models import AuditHead, Claim, Document, Event, Project, Verdict
    from annotations.services._base import _chain_head

    project = Project.objects.get(slug=slug)
    # The rows were inserted by this transaction: without statistics of them the planner
    # took each keyset chunk of the verdicts for a read of a near-empty table (a hash join
    # over every verdict, 20 s a chunk for EXPORT-1M). ANALYZE here sees them; only the
    # tables read back, whose locks it holds until the generation commits.
    analyze(Document, Claim, Verdict)
    head = _chain_head(project.pk)  # locked as the app's writers lock it (its queue first)
    seq, prev_hash = head.seq, head.hash
    first_id = _next_id(Event)
    fields = [
        "id", "project_id", "seq", "actor_id", "verb", "object_type", "object_id", "before",
        "after", "created_at", "prev_hash", "hash",
    ]  # fmt: skip

    def dump(value: Any) -> Any:
        return None if value is None else json.dumps(value)

    sources: list[tuple[str, Any]] = [
        (
            "document",
            Document.objects.filter(project=project).values_list(
                "pk", "created_by_id", "created_at", "title", "text_sha256", "length"
            ),
        ),
        (
            "claim",
            Claim.objects.filter(project=project).values_list(
                "pk", "created_by_id", "created_at", "start", "end", "statement"
            ),
        ),
        (
            "verdict",
            Verdict.objects.filter(claim__project=project).values_list(
                "pk", "reviewer_id", "submitted_at", "rating__key", "confidence", "revision"
            ),
        ),
    ]
    verbs = {"document": "document.create", "claim": "claim.create", "verdict": "verdict.submit"}
    keys = {
        "document": ("title", "text_sha256", "length"),
        "claim": ("start", "end", "statement"),
        "verdict": ("rating", "confidence", "revision"),
    }

    def chunks() -> Iterator[list[tuple[str, str, int | None, int | None, dt.datetime, Any]]]:
        # Keyset chunks read whole before they are written: a COPY cannot run while a
        # cursor of the same connection is still being read.
        for object_type, queryset in sources:
            last = 0
            while True:
                chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:5000])
                if not chunk:
                    break
                yield [
                    (
                        object_type,
                        verbs[object_type],
                        pk,
                        actor,
                        at,
                        dict(zip(keys[object_type], rest, strict=True)),
                    )
                    for pk, actor, at, *rest in chunk
                ]
                last = chunk[-1][0]
        yield [("bench", GENERATED_VERB, None, None, _T0, {"slug": slug})]

    written = 0
    next_id = first_id
    for chunk in chunks():
        rows = []
        for object_type, verb, pk, actor, at, after in chunk:
            seq += 1
            entry = auditchain.seal(
                project=project.pk, seq=seq, actor=actor, verb=verb, object_type=object_type,
                object_id=pk, before=None, after=after, created_at=at, prev_hash=prev_hash,
            )  # fmt: skip
            rows.append(
                (
                    next_id, project.pk, seq, actor, verb, object_type, pk, None,
                    dump(entry.after), at, prev_hash, entry.hash,
                )
            )  # fmt: skip
            next_id += 1
            prev_hash = entry.hash
        written += insert_rows(Event, fields, rows)
    _reset_sequences([Event])
    AuditHead.objects.filter(chain=project.pk).update(seq=seq, hash=prev_hash)
    return written


def _generate(kind: str, slug: str, seed: int, size: dict[str, Any], build) -> Dataset:
    params = {"seed": seed, "size": size}
    existing = _load(kind, slug, params)
    if existing is not None:
        return existing
    from django.db import transaction

    started = time.perf_counter()
    cast = ensure_cast()
    with transaction.atomic():
        build(cast)
        creation_events(slug)
    analyze()
    seconds = time.perf_counter() - started
    loaded = _load(kind, slug, params)
    assert loaded is not None
    return Dataset(**{**loaded.__dict__, "seconds": round(seconds, 1)})


def generate_news(*, seed: int = 1, quick: bool = False, slug: str = "bench-news") -> Dataset:
    """NEWS: one article of 8,000 characters, 50 claims, 150 verdicts (3 each)."""
    size = (QUICK if quick else FULL)["news"]

    def build(cast: Cast) -> None:
        rng = random.Random(f"news-{seed}")
        project = _project("news", slug, seed, size, cast, required_reviews=3)
        text = make_text(rng, size["chars"], exotic=0.1)
        [document_id] = _documents(
            project, cast, [("Bench NEWS article", text, raw_form(text, rng))]
        )
        writer = _Writer()
        writer.start()
        _claims_and_reviews(
            writer,
            rng=rng,
            project=project,
            cast=cast,
            document_id=document_id,
            text=text,
            spans_=claim_spans(rng, len(text), size["claims"]),
            rating_ids=_rating_ids(project),
            source_ids=ensure_sources(project, cast.creator_id, size["sources"]),
            verdicts_per_claim=3,
            claim_index=0,
        )
        writer.finish()

    return _generate("news", slug, seed, size, build)


def generate_book(*, seed: int = 1, quick: bool = False, slug: str = "bench-book") -> Dataset:
    """BOOK: one 1,000,000-character document (astral characters, combining marks; NFD and
    CRLF in its raw text), 3,000 claims with 10% overlapping, 3 verdicts each."""
    size = (QUICK if quick else FULL)["book"]

    def build(cast: Cast) -> None:
        from annotations.core import spans

        rng = random.Random(f"book-{seed}")
        project = _project("book", slug, seed, size, cast, required_reviews=3)
        text = make_text(rng, size["chars"], exotic=0.25)
        raw = raw_form(text, rng)
        assert spans.canonicalize(raw) == text, "raw text does not canonicalize to the text"
        [document_id] = _documents(project, cast, [("Bench BOOK", text, raw)])
        writer = _Writer()
        writer.start()
        _claims_and_reviews(
            writer,
            rng=rng,
            project=project,
            cast=cast,
            document_id=document_id,
            text=text,
            spans_=claim_spans(rng, len(text), size["claims"]),
            rating_ids=_rating_ids(project),
            source_ids=ensure_sources(project, cast.creator_id, size["sources"]),
            verdicts_per_claim=3,
            claim_index=0,
        )
        writer.finish()

    return _generate("book", slug, seed, size, build)


def _short_documents(
    rng: random.Random, project: Any, cast: Cast, count: int, chars: int
) -> tuple[list[int], list[str]]:
    texts = []
    for index in range(count):
        body = make_text(rng, chars - 12, exotic=0.05)
        texts.append(body + f"[doc {index:06d}]")
    ids = _documents(project, cast, [(f"Bench item {i}", t, t) for i, t in enumerate(texts)])
    return ids, texts


def generate_queue(
    *,
    seed: int = 1,
    quick: bool = False,
    claims: int | None = None,
    documents: int | None = None,
    required_reviews: int | None = None,
    slug: str = "bench-queue",
) -> Dataset:
    """QUEUE: 100,000 claims in review over 1,000 documents, 3 required reviews, the 50
    bench reviewers as members; no verdicts or leases. Keyword overrides change the size
    (and so the stored fingerprint)."""
    size = dict((QUICK if quick else FULL)["queue"])
    if claims is not None:
        size["claims"] = claims
    if documents is not None:
        size["documents"] = documents
    if required_reviews is not None:
        size["required_reviews"] = required_reviews

    def build(cast: Cast) -> None:
        rng = random.Random(f"queue-{seed}")
        project = _project(
            "queue", slug, seed, size, cast, required_reviews=size["required_reviews"]
        )
        doc_count = max(1, min(size["documents"], size["claims"]))
        doc_ids, texts = _short_documents(rng, project, cast, doc_count, 1_500)
        per_doc = math.ceil(size["claims"] / doc_count)
        rating_ids = _rating_ids(project)
        writer = _Writer()
        writer.start()
        written = 0
        for doc_id, text in zip(doc_ids, texts, strict=True):
            n = min(per_doc, size["claims"] - written)
            if n <= 0:
                break
            done, _ = _claims_and_reviews(
                writer,
                rng=rng,
                project=project,
                cast=cast,
                document_id=doc_id,
                text=text,
                spans_=claim_spans(rng, len(text), n),
                rating_ids=rating_ids,
                source_ids=[],
                verdicts_per_claim=0,
                claim_index=written,
                status_in_review=True,
            )
            written += done
            if len(writer.rows["claim"]) >= 20_000:
                writer.flush()
        writer.finish()

    return _generate("queue", slug, seed, size, build)


def queue_reset(dataset: Dataset) -> None:
    """Put a QUEUE dataset back to its generated state: no leases, verdicts, consensus or
    events after the generated ones; every claim in review at version 1."""
    from django.db import transaction

    from annotations.models import (
        Assignment,
        AuditHead,
        Citation,
        Claim,
        Consensus,
        Event,
        Verdict,
    )

    p = dataset.project_id
    generated = int(
        Event.objects.filter(project_id=p, verb=GENERATED_VERB)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
        or 1
    )
    claims = f'SELECT id FROM "{Claim._meta.db_table}" WHERE project_id = {p}'
    verdicts = f'SELECT id FROM "{Verdict._meta.db_table}" WHERE claim_id IN ({claims})'
    consensus = f'SELECT id FROM "{Consensus._meta.db_table}" WHERE claim_id IN ({claims})'
    statements = [
        # In review again, with no consensus to point at (the lifecycle's check constraint).
        f"UPDATE \"{Claim._meta.db_table}\" SET status = 'in_review', version = 1, "
        f"claim_version = 1, consensus_id = NULL WHERE project_id = {p}",
        f'DELETE FROM "{Consensus.verdicts.through._meta.db_table}" WHERE consensus_id IN ({consensus})',
        f'DELETE FROM "{Consensus._meta.db_table}" WHERE claim_id IN ({claims})',
        f'DELETE FROM "{Citation._meta.db_table}" WHERE verdict_id IN ({verdicts})',
        f'DELETE FROM "{Verdict._meta.db_table}" WHERE claim_id IN ({claims})',
        f'DELETE FROM "{Assignment._meta.db_table}" WHERE project_id = {p}',
        # The audit chain goes back to where generation ended (its ``bench.generate``
        # event): later events are cut from the end, so the chain still verifies.
        f'DELETE FROM "{Event._meta.db_table}" WHERE project_id = {p} AND seq > {generated}',
        f'UPDATE "{AuditHead._meta.db_table}" SET seq = {generated}, hash = '
        f'(SELECT hash FROM "{Event._meta.db_table}" WHERE project_id = {p} AND seq = {generated}) '
        f"WHERE chain = {p}",
    ]
    with transaction.atomic(), _connection().cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def generate_export(
    *, seed: int = 1, quick: bool = False, verdicts: int | None = None, slug: str | None = None
) -> Dataset:
    """EXPORT: ``verdicts`` verdict rows (default 1,000,000), 3 per claim with a citation
    each, over documents of 2,000 characters holding 100 claims; consensus where unanimous."""
    size = dict((QUICK if quick else FULL)["export"])
    if verdicts is not None:
        size["verdicts"] = verdicts
    slug = slug or f"bench-export-{size['verdicts']}"
    total = size["verdicts"]
    claim_count = math.ceil(total / 3)

    def build(cast: Cast) -> None:
        rng = random.Random(f"export-{seed}-{total}")
        project = _project("export", slug, seed, size, cast, required_reviews=3)
        per_doc = 100
        doc_ids, texts = _short_documents(
            rng, project, cast, math.ceil(claim_count / per_doc), 2_000
        )
        rating_ids = _rating_ids(project)
        source_ids = ensure_sources(project, cast.creator_id, size["sources"])
        writer = _Writer()
        writer.start()
        claims_written = verdicts_written = 0
        for doc_id, text in zip(doc_ids, texts, strict=True):
            n = min(per_doc, claim_count - claims_written)
            done, v = _claims_and_reviews(
                writer,
                rng=rng,
                project=project,
                cast=cast,
                document_id=doc_id,
                text=text,
                spans_=claim_spans(rng, len(text), n),
                rating_ids=rating_ids,
                source_ids=source_ids,
                verdicts_per_claim=3,
                claim_index=claims_written,
                max_verdicts=total - verdicts_written,
            )
            claims_written += done
            verdicts_written += v
            if len(writer.rows["verdict"]) >= 60_000:
                writer.flush()
        writer.finish()
        assert verdicts_written == total, (verdicts_written, total)

    return _generate("export", slug, seed, size, build)


def ensure(kind: str, *, seed: int = 1, quick: bool = False, **overrides: Any) -> Dataset:
    """The dataset ``kind`` (news, book, queue, export), generated if missing."""
    makers = {
        "news": generate_news,
        "book": generate_book,
        "queue": generate_queue,
        "export": generate_export,
    }
    return makers[kind](seed=seed, quick=quick, **overrides)


def ensure_exports(sizes: str | None, *, seed: int = 1, quick: bool = False) -> list[int]:
    """The EXPORT datasets of ``sizes`` (verdict rows, comma-separated; default 100,000 and
    1,000,000, ``quick`` 10,000 and 30,000), generated if missing: their sizes, in order."""
    default = "10000,30000" if quick else "100000,1000000"
    verdicts = [int(size) for size in (sizes or default).split(",")]
    for size in verdicts:
        ensure("export", seed=seed, quick=quick, verdicts=size)
    return verdicts


def news_jsonl_lines(count: int, *, seed: int = 1) -> Iterator[str]:
    """``count`` distinct NEWS articles (8,000 characters) as JSONL lines for
    ``import_documents --format jsonl``; raw text with CRLF and NFD words."""
    rng = random.Random(f"news-batch-{seed}")
    for index in range(count):
        text = make_text(rng, 8_000 - 20, exotic=0.1) + f"Dateline {index:08d}.\n"
        yield json.dumps(
            {
                "title": f"Bench wire story {index}",
                "text": raw_form(text, rng),
                "url": f"https://news.bench.example/batch/{seed}/{index}",
                "publisher": "Bench Wire",
                "language": "en",
            },
            ensure_ascii=False,
        )


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- command line -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("datasets", nargs="*", default=["all"], help="news book queue export | all")
    p.add_argument("--db", default=common.DEFAULT_DB, help="benchmark database URL")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="small smoke sizes")
    p.add_argument(
        "--export-sizes",
        default=None,
        help="comma-separated verdict counts for EXPORT projects (default 100000,1000000; "
        "--quick: 10000,30000)",
    )
    p.add_argument("--fresh", action="store_true", help="wipe and regenerate even if present")
    args = p.parse_args(argv)
    kinds = ["news", "book", "queue", "export"] if "all" in args.datasets else args.datasets
    common.setup_django(args.db)
    sizes = [
        int(v)
        for v in (args.export_sizes or ("10000,30000" if args.quick else "100000,1000000")).split(
            ","
        )
    ]
    for kind in kinds:
        targets: list[dict[str, Any]] = (
            [{"verdicts": n} for n in sizes] if kind == "export" else [{}]
        )
        for overrides in targets:
            if args.fresh:
                slug = (
                    f"bench-export-{overrides['verdicts']}" if kind == "export" else f"bench-{kind}"
                )
                wipe_project(slug)
            started = time.perf_counter()
            ds = ensure(kind, seed=args.seed, quick=args.quick, **overrides)
            elapsed = time.perf_counter() - started
            print(
                json.dumps(
                    {
                        "dataset": ds.name,
                        "slug": ds.slug,
                        "project_id": ds.project_id,
                        "documents": len(ds.document_ids),
                        "claims": ds.claims,
                        "verdicts": ds.verdicts,
                        "max_chars": ds.chars,
                        "generated_s": ds.seconds,
                        "elapsed_s": round(elapsed, 1),
                        "db": common.db_vendor(args.db),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
