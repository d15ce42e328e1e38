"""Readers for the CheckThat! files shipped under ``fixtures/checkthat/`` (see its README
for the source and licence) and the measures the lab uses (MAP@5, Recall@5, MRR for claim
retrieval; MAP and P@10 over transcripts for check-worthiness)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "checkthat"
RETRIEVAL = ROOT / "checkthat2020-claim-retrieval"
WORTHINESS = ROOT / "checkthat2019-check-worthiness" / "CT19-T1-Training.csv"


def _tsv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    return rows[1:]


@dataclass(frozen=True)
class Retrieval:
    claim_ids: list[str]
    claim_texts: list[str]  # vclaim + " " + title, as the reference figures index them
    query_ids: list[str]
    query_texts: list[str]
    relevant: dict[str, set[str]]


def verified_claims() -> tuple[list[str], list[str]]:
    rows = _tsv(RETRIEVAL / "verified_claims.docs.tsv")
    return [r[0] for r in rows], [(r[1] + " " + (r[2] if len(r) > 2 else "")).strip() for r in rows]


def retrieval(split: str) -> Retrieval:
    ids, texts = verified_claims()
    queries = _tsv(RETRIEVAL / split / "tweets.queries.tsv")
    relevant: dict[str, set[str]] = {}
    for line in (RETRIEVAL / split / "tweet-vclaim-pairs.qrels").read_text().splitlines():
        if line.strip():
            qid, _, did, _ = line.split()
            relevant.setdefault(qid, set()).add(did)
    return Retrieval(ids, texts, [q[0] for q in queries], [q[1] for q in queries], relevant)


def retrieval_measures(
    rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]]
) -> dict[str, float]:
    """MAP@5, Recall@5 and MRR (over the whole ranking given), as in CheckThat! 2020."""
    aps, recalls, rrs = [], [], []
    for ranking, rel in zip(rankings, relevant, strict=True):
        hits, total = 0, 0.0
        for i, d in enumerate(ranking[:5]):
            if d in rel:
                hits += 1
                total += hits / (i + 1)
        aps.append(total / min(len(rel), 5))
        recalls.append(len(rel.intersection(ranking[:5])) / len(rel))
        rrs.append(next((1 / (i + 1) for i, d in enumerate(ranking) if d in rel), 0.0))
    return {
        "map5": round(float(np.mean(aps)), 4),
        "recall5": round(float(np.mean(recalls)), 4),
        "mrr": round(float(np.mean(rrs)), 4),
    }


@dataclass(frozen=True)
class Sentence:
    line: int
    speaker: str
    text: str
    label: int
    transcript: str


def worthiness() -> list[Sentence]:
    with WORTHINESS.open(newline="", encoding="utf-8") as handle:
        return [
            Sentence(
                int(r["line_number"]), r["speaker"], r["text"], int(r["label"]), r["file_name"]
            )
            for r in csv.DictReader(handle)
        ]
