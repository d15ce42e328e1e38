"""Check-worthiness benchmark on the CLEF-2019 CheckThat! Task 1 training debates
(``fixtures/checkthat/checkthat2019-check-worthiness/``): leave-one-transcript-out.

    python -m bench.bench_triage                 # baseline and model, 19 folds each
    python -m bench.bench_triage --save          # + train on all 19 and write fixtures/triage/model.npz
    python -m bench.bench_triage --skip-baseline --no-speakers   # as for a text without speakers

Each of the 19 transcripts is held out in turn; the scorer is trained on the other 18 and
ranks the held-out transcript's sentences. Average precision and precision at 10 per
transcript, then the mean over transcripts (the lab's MAP and P@10).

* ``baseline``: TF-IDF of words and of character 2-5-grams (scikit-learn's
  ``TfidfVectorizer``, fitted on the training folds), logistic regression (C=1);
* ``model``: ``annotations.core.triage.TriageModel``: hashed TF-IDF words + character
  n-grams (logistic regression), plus the similarity to the nearest check-worthy training
  sentences, the speaker's smoothed record in the training folds, and surface cues.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from bench import checkthat, common

MODEL = Path(__file__).resolve().parent.parent / "fixtures" / "triage" / "model.npz"
BENCH = "triage"


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    ranked = labels[order]
    if not ranked.any():
        return 0.0
    hits = np.cumsum(ranked)
    return float((hits[ranked == 1] / (np.flatnonzero(ranked) + 1)).mean())


def precision_at(scores: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    return float(labels[np.argsort(-scores, kind="stable")[:k]].mean())


def baseline_scores(train_texts, train_labels, test_texts) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    words = TfidfVectorizer(sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    x = sp.hstack([words.fit_transform(train_texts), chars.fit_transform(train_texts)]).tocsr()
    model = LogisticRegression(max_iter=2000).fit(x, train_labels)
    return model.decision_function(
        sp.hstack([words.transform(test_texts), chars.transform(test_texts)]).tocsr()
    )


def loto(name: str, scorer, rows) -> dict[str, object]:
    texts = [r.text for r in rows]
    speakers = [r.speaker for r in rows]
    labels = np.array([r.label for r in rows])
    transcripts = np.array([r.transcript for r in rows])
    per: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    for held in sorted(set(transcripts)):
        test = np.flatnonzero(transcripts == held)
        train = np.flatnonzero(transcripts != held)
        scores = scorer(
            [texts[i] for i in train],
            labels[train],
            [speakers[i] for i in train],
            [texts[i] for i in test],
            [speakers[i] for i in test],
        )
        per[held] = {
            "ap": round(average_precision(scores, labels[test]), 4),
            "p10": round(precision_at(scores, labels[test]), 3),
        }
    return {
        "scorer": name,
        "transcripts": len(per),
        "map": round(float(np.mean([v["ap"] for v in per.values()])), 4),
        "p10": round(float(np.mean([v["p10"] for v in per.values()])), 4),
        "seconds": round(time.perf_counter() - t0, 1),
        "per_transcript": per,
    }


def main() -> None:
    p = common.parser(BENCH, __doc__ or "")
    p.add_argument("--save", action="store_true", help=f"Train on all and write {MODEL.name}.")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--skip-model", action="store_true", help="Only the baseline's folds.")
    p.add_argument("--skip-loto", action="store_true", help="Only --save.")
    p.add_argument("--no-speakers", action="store_true", help="Score without speakers.")
    p.add_argument("--c", type=float, default=1.0)
    p.add_argument("--knn-k", type=int, default=1)
    p.add_argument("--knn-weight", type=float, default=2.0)
    p.add_argument("--speaker-weight", type=float, default=0.0)
    p.add_argument("--cue-weight", type=float, default=0.25)
    args: argparse.Namespace = p.parse_args()
    from annotations.core import triage

    weights = {
        "knn_k": args.knn_k,
        "knn_weight": args.knn_weight,
        "speaker_weight": args.speaker_weight,
        "cue_weight": args.cue_weight,
    }
    rows = checkthat.worthiness()

    def emit(figures: dict[str, object]) -> None:
        common.emit(
            BENCH,
            dataset="checkthat2019-train",
            db="none",
            metric="loto",
            save=not args.no_save,
            label=args.label,
            **figures,
        )

    def model_scorer(train_texts, train_labels, train_speakers, test_texts, test_speakers):
        model = triage.TriageModel.train(
            train_texts, train_labels, speakers=train_speakers, c=args.c, **weights
        )
        return model.score(test_texts, speakers=None if args.no_speakers else test_speakers)

    results = {}
    if not args.skip_loto and not args.skip_baseline:
        results["baseline"] = loto(
            "baseline", lambda a, b, _s, c, _t: baseline_scores(a, b, c), rows
        )
        emit(results["baseline"])
    if not args.skip_loto and not args.skip_model:
        name = "model" + (" (no speakers)" if args.no_speakers else "")
        results["model"] = loto(name, model_scorer, rows)
        results["model"].update(c=args.c, **weights)
        if "baseline" in results:
            results["model"]["map_vs_baseline"] = round(
                results["model"]["map"] / results["baseline"]["map"], 3
            )
        emit(results["model"])
    if args.save:
        t0 = time.perf_counter()
        model = triage.TriageModel.train(
            [r.text for r in rows],
            [r.label for r in rows],
            speakers=[r.speaker for r in rows],
            c=args.c,
            **weights,
        )
        MODEL.parent.mkdir(parents=True, exist_ok=True)
        size = model.save(MODEL)
        common.emit(
            BENCH,
            dataset="checkthat2019-train",
            db="none",
            metric="train_all",
            save=not args.no_save,
            label=args.label,
            sentences=len(rows),
            train_s=round(time.perf_counter() - t0, 1),
            model=str(MODEL.relative_to(common.ROOT)),
            model_bytes=size,
            **weights,
        )


if __name__ == "__main__":
    main()
