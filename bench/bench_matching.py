"""Claim-matching benchmark on CheckThat! 2020 Task 2 (English), shipped in
``fixtures/checkthat/`` — no database: the engine (``annotations.core.matching``) in process.

    python -m bench.bench_matching --train     # fit the re-ranker on train, write it, then measure
    python -m bench.bench_matching             # measure with fixtures/matching/reranker.json
    python -m bench.bench_matching --latency   # + query latency at 100k synthetic references
    python -m bench.bench_matching --api --db postgres://…/wb_match_bench   # through the app

``--api`` measures the app instead of the bare engine: the references are stored in a
project of the ``--db`` database through ``services.references_create`` (embeddings stored
with them), and every query is a ``POST /api/v1/projects/{id}/matches/`` through Django's
test client (token authentication, the per-process index cache, the blind-review filter):
MAP@5/Recall@5 on dev at 10,375 references, then p50/p95 latency and RSS at each of
``--api-sizes`` (default 10,375 and 100,000; the verified claims plus perturbed copies).

Measurements (one JSON line each, ``bench/results/matching.jsonl``):

* ``quality``: MAP@5, Recall@5, MRR on ``dev`` (197 tweets vs 10,375 verified claims) for
  ``bm25s (reference)`` (the shared README's reference system, when ``bm25s`` is installed:
  a dev extra), ``bm25`` (the engine's BM25 alone), ``rrf`` (reciprocal rank fusion of BM25, character
  n-grams, word n-grams and embeddings, no training) and ``reranked`` (the learned fusion);
  with ``--train`` also the re-ranker's 5-fold cross-validation on ``train`` (800 tweets);
* ``latency``: query p50/p95 over the dev tweets against 100,000 references (the verified
  claims plus perturbed copies: words dropped, swapped, numbers changed, prefixes added),
  with build time, index bytes and RSS;
* ``memory``: RSS of the process before and after loading the embedder and the index.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import numpy as np

from bench import checkthat, common

RERANKER = Path(__file__).resolve().parent.parent / "fixtures" / "matching" / "reranker.json"
BENCH = "matching"


def _emit(args: argparse.Namespace, metric: str, **figures: object) -> None:
    common.emit(
        BENCH,
        dataset="checkthat2020",
        db="none",
        metric=metric,
        save=not args.no_save,
        label=args.label,
        **figures,
    )


def _rank(index, text: str, mode: str, limit: int = 50) -> list[str]:
    from annotations.core import matching

    if mode == "reranked":
        return [str(m.key) for m in index.search(text, limit)]
    if mode == "rrf":
        saved, index.reranker = index.reranker, None
        try:
            return [str(m.key) for m in index.search(text, limit)]
        finally:
            index.reranker = saved
    if mode == "bm25":
        scores, _ = index._bm25_scores(matching.normalize_text(text))
        top = np.argsort(-scores, kind="stable")[:limit]
        return [str(k) for k in index.keys_at(top.tolist())]
    raise ValueError(mode)


def _features(index, data: checkthat.Retrieval):
    groups = []
    for qid, text in zip(data.query_ids, data.query_texts, strict=True):
        cand, x = index.candidate_features(text)
        keys = index.keys_at(cand.tolist())
        y = np.array([k in data.relevant[qid] for k in keys])
        groups.append((keys, x, y))
    return groups


def _eval_groups(reranker, groups, relevant) -> dict[str, float]:
    rankings = []
    for keys, x, _ in groups:
        s = reranker.score(x)
        order = np.lexsort((np.arange(len(keys)), -s))
        rankings.append([keys[i] for i in order])
    return checkthat.retrieval_measures(rankings, relevant)


def train(args: argparse.Namespace, index) -> None:
    from annotations.core import matching

    data = checkthat.retrieval("train")
    t0 = time.perf_counter()
    groups = _features(index, data)
    covered = np.mean([y.any() for _, _, y in groups])
    relevant = [data.relevant[q] for q in data.query_ids]
    # 5-fold cross-validation over train tweets: the honest train figure.
    order = list(range(len(groups)))
    random.Random(args.seed).shuffle(order)
    folds = [order[i::5] for i in range(5)]
    cv_rankings: list[list[str]] = [[] for _ in groups]
    for fold in folds:
        held = set(fold)
        x = np.vstack([groups[i][1] for i in order if i not in held])
        y = np.concatenate([groups[i][2] for i in order if i not in held])
        model = matching.train_reranker(x, y, c=args.c)
        for i in fold:
            keys, xi, _ = groups[i]
            s = model.score(xi)
            cv_rankings[i] = [keys[j] for j in np.lexsort((np.arange(len(keys)), -s))]
    cv = checkthat.retrieval_measures(cv_rankings, relevant)
    x = np.vstack([g[1] for g in groups])
    y = np.concatenate([g[2] for g in groups])
    model = matching.train_reranker(
        x,
        y,
        c=args.c,
        trained_on="CheckThat! 2020 Task 2 English train (800 tweets, 10,375 verified claims)",
        candidates_per_query=round(len(y) / len(groups), 1),
        positives=int(y.sum()),
    )
    RERANKER.parent.mkdir(parents=True, exist_ok=True)
    RERANKER.write_text(model.to_json() + "\n", encoding="utf-8")
    _emit(
        args,
        "train",
        split="train",
        cv_folds=5,
        **{f"cv_{k}": v for k, v in cv.items()},
        in_sample=_eval_groups(model, groups, relevant),
        candidates_cover=round(float(covered), 4),
        seconds=round(time.perf_counter() - t0, 1),
        reranker=str(RERANKER.relative_to(common.ROOT)),
        reranker_bytes=RERANKER.stat().st_size,
    )
    index.reranker = model


def bm25s_rankings(data: checkthat.Retrieval, limit: int = 50) -> list[list[str]] | None:
    """The reference figure's system: bm25s with English stop words (if installed)."""
    try:
        import bm25s
    except ImportError:
        return None
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(data.claim_texts, stopwords="en", show_progress=False), show_progress=False
    )
    found, _ = retriever.retrieve(
        bm25s.tokenize(data.query_texts, stopwords="en", show_progress=False),
        k=limit,
        show_progress=False,
    )
    return [[data.claim_ids[j] for j in row] for row in found]


def quality(args: argparse.Namespace, index, split: str) -> None:
    data = checkthat.retrieval(split)
    relevant = [data.relevant[q] for q in data.query_ids]
    reference = bm25s_rankings(data)
    if reference is not None:
        _emit(
            args,
            "quality",
            split=split,
            mode="bm25s (reference)",
            queries=len(reference),
            references=len(data.claim_ids),
            **checkthat.retrieval_measures(reference, relevant),
        )
    modes = ["bm25", "rrf"] + (["reranked"] if index.reranker is not None else [])
    for mode in modes:
        t0 = time.perf_counter()
        rankings = [_rank(index, t, mode) for t in data.query_texts]
        ms = (time.perf_counter() - t0) * 1000 / len(rankings)
        _emit(
            args,
            "quality",
            split=split,
            mode=mode,
            queries=len(rankings),
            references=len(index),
            **checkthat.retrieval_measures(rankings, relevant),
            mean_query_ms=round(ms, 2),
        )


_NUM = re.compile(r"\d+")


def synthetic(texts: list[str], n: int, seed: int) -> list[str]:
    """``n`` references: the texts, then perturbed copies of them."""
    rng = random.Random(seed)
    prefixes = ["Viral post claims", "A meme says", "Rumor:", "Fact check:", "Did", "Claim:"]
    out = list(texts[:n])
    while len(out) < n:
        words = rng.choice(texts).split()
        op = rng.random()
        if op < 0.3 and len(words) > 4:
            del words[rng.randrange(len(words))]
        elif op < 0.55 and len(words) > 3:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif op < 0.8:
            words.insert(0, rng.choice(prefixes))
        text = " ".join(words)
        text = _NUM.sub(lambda m: str(int(m.group()) + rng.randint(1, 9)), text, count=1)
        out.append(text)
    return out


def latency(args: argparse.Namespace, embedder, reranker) -> None:
    from annotations.core import matching

    n = 10_000 if args.quick else 100_000
    _, texts = checkthat.verified_claims()
    refs = synthetic(texts, n, args.seed)
    rss0 = common.rss_mb()
    index = matching.MatchIndex(embedder=embedder, reranker=reranker)
    t0 = time.perf_counter()
    index.add(list(range(n)), refs)
    build_s = time.perf_counter() - t0
    rss1 = common.rss_mb()
    queries = checkthat.retrieval("dev").query_texts
    runs = args.runs or len(queries)
    samples = [
        common.time_ms(lambda q=q: index.search(q, 5))[0]
        for q in (queries * (runs // len(queries) + 1))[:runs]
    ]
    # Incremental add of one entry into the full index, then a query.
    adds = [
        common.time_ms(lambda i=i: index.add([n + i], [f"{refs[i]} again {i}"]))[0]
        for i in range(50)
    ]
    _emit(
        args,
        "latency",
        references=len(index),
        queries=len(samples),
        **{f"query_{k}": v for k, v in common.summary_ms(samples).items()},
        add_one_median_ms=round(float(np.median(adds)), 2),
        add_one_max_ms=round(float(np.max(adds)), 2),
        build_s=round(build_s, 1),
        index_mb=round(index.nbytes / 2**20, 1),
        rss_growth_mb=round(rss1 - rss0, 1),
        rss_mb=common.rss_mb(),
    )


def _api_project(size: int, refs: list[str]) -> tuple[object, dict[int, int]]:
    """The bench project holding ``size`` references (made once, reused), and a map from
    reference id to its position in ``refs``."""
    from django.contrib.auth import get_user_model

    from annotations import services
    from annotations.models import Project, Reference

    slug = f"matching-bench-{size}"
    user, _ = get_user_model().objects.get_or_create(username="matching-bench")
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        project = services.project_create(creator=user, name=f"Matching {size}", slug=slug)
    stored = Reference.objects.filter(project=project).count()
    if stored not in (0, size):
        raise SystemExit(f"{slug} holds {stored} references, not {size}: drop the database")
    if stored == 0:
        t0 = time.perf_counter()
        for start in range(0, size, 1000):
            services.references_create(
                project=project,
                items=[
                    services.ReferenceInput(claim_reviewed=t) for t in refs[start : start + 1000]
                ],
                actor=user,
            )
        common.log(f"stored {size} references in {time.perf_counter() - t0:.0f} s")
    ids = list(
        Reference.objects.filter(project=project).order_by("id").values_list("id", flat=True)
    )
    return project, {pk: i for i, pk in enumerate(ids)}


def api(args: argparse.Namespace) -> None:
    common.setup_django(args.db)
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    from annotations.selectors import matching as match_selectors

    claim_ids, texts = checkthat.verified_claims()
    dev = checkthat.retrieval("dev")
    sizes = [int(x) for x in args.api_sizes.split(",")]
    if args.quick:
        sizes = [min(s, 2_000) for s in sizes]
    for size in sizes:
        refs = synthetic(texts, size, args.seed) if size > len(texts) else texts[:size]
        project, position = _api_project(size, refs)
        user = get_user_model().objects.get(username="matching-bench")
        _, token = AuthToken.objects.create(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        path = f"/api/v1/projects/{project.pk}/matches/"
        match_selectors.engine_reset()
        rss0 = common.rss_mb()

        def ask(text: str, client: APIClient = client, path: str = path) -> list[dict]:
            response = client.post(path, {"text": text, "limit": 5}, format="json")
            assert response.status_code == 200, response.content[:300]
            return response.json()["results"]

        cold_ms, _ = common.time_ms(lambda: ask("warm up"))
        rss1 = common.rss_mb()
        if size == len(texts):
            rankings = [
                [claim_ids[position[r["id"]]] for r in ask(q) if r["kind"] == "reference"]
                for q in dev.query_texts
            ]
            relevant = [dev.relevant[q] for q in dev.query_ids]
            _emit_db(
                args,
                "quality",
                split="dev",
                mode="api",
                references=size,
                **checkthat.retrieval_measures(rankings, relevant),
            )
        runs = args.runs or len(dev.query_texts)
        queries = (dev.query_texts * (runs // len(dev.query_texts) + 1))[:runs]
        samples = [common.time_ms(lambda q=q: ask(q))[0] for q in queries]
        _emit_db(
            args,
            "api_latency",
            references=size,
            queries=len(samples),
            **{f"query_{k}": v for k, v in common.summary_ms(samples).items()},
            first_query_ms=round(cold_ms, 1),
            index_rss_growth_mb=round(rss1 - rss0, 1),
            rss_mb=common.rss_mb(),
            engine=match_selectors.engine_status()["note"],
        )


def repeat_scan(args: argparse.Namespace) -> None:
    """Time the background repeat scan of one document of ``--repeat-chars`` characters
    (dev tweets, some verified claims verbatim, and filler sentences) against the
    10,375-reference project of ``--api``."""
    common.setup_django(args.db)
    from django.contrib.auth import get_user_model

    from annotations import services
    from annotations.models import RepeatSuggestion
    from annotations.selectors import matching as match_selectors

    _, texts = checkthat.verified_claims()
    project, _ = _api_project(len(texts), texts)
    user = get_user_model().objects.get(username="matching-bench")
    rng = random.Random(args.seed)
    tweets = checkthat.retrieval("dev").query_texts
    parts: list[str] = []
    size = verbatim = 0
    while size < args.repeat_chars:
        pick = rng.random()
        if pick < 0.1:
            sentence = rng.choice(texts)
            verbatim += 1
        elif pick < 0.4:
            sentence = rng.choice(tweets).replace("\n", " ")
        else:
            sentence = f"The committee met on day {rng.randint(1, 9999)} and adjourned."
        parts.append(sentence.strip().rstrip(".") + ".")
        size += len(parts[-1]) + 1
    text = f"Run {time.time()}. " + " ".join(parts)[: args.repeat_chars]
    document = services.document_create(
        project=project,
        data=services.DocumentInput(title=f"repeat bench {rng.random()}", text=text),
        actor=user,
    )
    match_selectors.engine_reset()
    match_selectors.matches_for_user(
        project_id=project.pk, user=user, membership=None, text="warm up", limit=1
    )
    seconds, found = common.time_ms(lambda: services.repeats_scan(document_id=document.pk))
    _emit_db(
        args,
        "repeat_scan",
        references=len(texts),
        document_chars=len(text),
        sentences=len(parts),
        repeats=found,
        verbatim_claims=verbatim,
        seconds=round(seconds / 1000, 1),
        stored=RepeatSuggestion.objects.filter(document=document).count(),
    )


def _emit_db(args: argparse.Namespace, metric: str, **figures: object) -> None:
    common.emit(
        BENCH,
        dataset="checkthat2020",
        db=common.db_vendor(args.db),
        metric=metric,
        save=not args.no_save,
        label=args.label,
        **figures,
    )


def main() -> None:
    p = common.parser(BENCH, __doc__ or "")
    p.add_argument("--train", action="store_true", help="Fit the re-ranker on train first.")
    p.add_argument("--latency", action="store_true", help="Also time 100k references.")
    p.add_argument("--no-embedder", action="store_true", help="Lexical signals only.")
    p.add_argument("--c", type=float, default=1.0, help="Re-ranker regularisation (train).")
    p.add_argument("--api", action="store_true", help="Measure through the app's API (--db).")
    p.add_argument("--api-sizes", default="10375,100000", help="References per --api run.")
    p.add_argument(
        "--repeat-chars", type=int, default=0, help="Time a repeat scan of a document this long."
    )
    args = p.parse_args()
    if args.repeat_chars:
        repeat_scan(args)
        return
    if args.api:
        api(args)
        return
    from annotations.core import matching

    rss0 = common.rss_mb()
    embedder = None if args.no_embedder else matching.WordLlamaEmbedder()
    rss1 = common.rss_mb()
    reranker = None
    if not args.train and RERANKER.exists():
        reranker = matching.Reranker.load(RERANKER)
    ids, texts = checkthat.verified_claims()
    index = matching.MatchIndex(embedder=embedder, reranker=reranker)
    t0 = time.perf_counter()
    index.add(ids, texts)
    _emit(
        args,
        "memory",
        embedder=None if embedder is None else "wordllama l2_supercat 256",
        rss_start_mb=rss0,
        embedder_rss_mb=round(rss1 - rss0, 1),
        references=len(index),
        build_s=round(time.perf_counter() - t0, 2),
        index_mb=round(index.nbytes / 2**20, 1),
        rss_mb=common.rss_mb(),
    )
    if args.train:
        train(args, index)
    quality(args, index, "dev")
    if args.latency:
        latency(args, embedder, index.reranker)


if __name__ == "__main__":
    main()
