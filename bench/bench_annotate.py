"""Annotate benchmark: create a claim and submit a verdict through the REST API, on the
BOOK document and on the NEWS article, in-process through ``django.test.Client`` with
token authentication (as a script or the reader's JavaScript would call it).

    python -m bench.bench_annotate --db postgres://postgres@127.0.0.1:5432/wb_bench
    python -m bench.bench_annotate --db sqlite:///var/bench.sqlite3 --quick

Measurements, each over ``--runs`` requests (default 30) after 3 warm-up requests:

* ``create_claim``: ``POST /api/v1/claims/`` with offsets and the quote;
* ``submit_verdict``: ``POST /api/v1/claims/{id}/verdicts/`` with one citation by URL,
  a first verdict on a claim the reviewer holds a lease on (the lease is set up untimed);
* ``submit_verdict_deciding``: the same when two verdicts are in and this third one
  decides consensus (the heaviest write).

Each line has the request's query count (``queries``) and the queries of the service
alone (``service_queries``: without authentication and the lookup). ``--sql`` prints the
SQL of one request of each kind.
"""

from __future__ import annotations

import datetime as dt
import json
import random

from bench import common


def _token_client(user_id: int):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotations import services

    user = get_user_model().objects.get(pk=user_id)
    return Client(HTTP_AUTHORIZATION=f"Token {services.token_create(user=user).secret}")


def _post(client, url: str, body: dict) -> dict:
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 201, (url, response.status_code, response.content[:500])
    return response.json()


class Annotator:
    def __init__(self, ds, seed: int) -> None:
        from annotations.models import Document

        self.ds = ds
        self.document = Document.objects.get(pk=ds.document_ids[0])
        self.text = self.document.text  # the client knows the text; the server must not load it
        self.rng = random.Random(f"annotate-{ds.name}-{seed}")
        self.creator = _token_client(ds.creator_id)
        self.reviewer = _token_client(ds.reviewer_ids[0])
        self.second = ds.reviewer_ids[1:3]

    def claim_body(self) -> dict:
        start = self.rng.randrange(0, self.document.length - 220)
        end = start + self.rng.randint(20, 200)
        return {
            "document": self.document.pk,
            "start": start,
            "end": end,
            "exact": self.text[start:end],
            "statement": "Bench claim",
        }

    def create_claim(self) -> dict:
        return _post(self.creator, "/api/v1/claims/", self.claim_body())

    def leased_claim(self, *, prior_verdicts: int = 0) -> int:
        """A new claim leased to the first reviewer, with ``prior_verdicts`` from others
        (written directly: setup, not measured)."""
        from annotations import services
        from annotations.models import Assignment, Claim, Rating, Verdict

        claim_id = self.create_claim()["id"]
        now = services.now()
        rating = Rating.objects.get(project_id=self.ds.project_id, key="mostly_true")
        for reviewer in self.second[:prior_verdicts]:
            Verdict.objects.create(
                claim_id=claim_id, reviewer_id=reviewer, rating=rating, confidence="high"
            )
        Assignment.objects.create(
            project_id=self.ds.project_id,
            claim_id=claim_id,
            reviewer_id=self.ds.reviewer_ids[0],
            leased_at=now,
            expires_at=now + dt.timedelta(minutes=30),
        )
        assert Claim.objects.filter(pk=claim_id).exists()
        return claim_id

    def verdict_body(self) -> dict:
        n = self.rng.randrange(1000)
        return {
            "rating": "mostly_true",
            "confidence": "medium",
            "rationale": "Matches the figures published by the statistics office.",
            "citations": [
                {
                    "url": f"https://sources.bench.example/{n}",
                    "quote": "The office reported the same figure.",
                    "stance": "supports",
                }
            ],
        }

    def submit(self, claim_id: int) -> dict:
        return _post(self.reviewer, f"/api/v1/claims/{claim_id}/verdicts/", self.verdict_body())


def _service_queries(annotator: Annotator) -> dict[str, int]:
    """Queries of the services alone, called as the API views call them."""
    from django.contrib.auth import get_user_model

    from annotations import access, services

    user_model = get_user_model()
    creator = user_model.objects.get(pk=annotator.ds.creator_id)
    reviewer = user_model.objects.get(pk=annotator.ds.reviewer_ids[0])
    body = annotator.claim_body()
    document, _ = access.document_get_for_user(
        user=creator, pk=body.pop("document"), with_text=False
    )
    create, _, _ = common.count_queries(
        lambda: services.claim_create(document=document, actor=creator, **body)
    )
    claim_id = annotator.leased_claim()
    claim, _ = access.claim_get_for_user(user=reviewer, pk=claim_id)
    submit, _, _ = common.count_queries(
        lambda: services.verdict_submit(
            claim=claim, reviewer=reviewer, rating="mostly_true", confidence="medium",
            citations=[services.CitationInput(stance="supports", url="https://sources.bench.example/7")],
        )
    )  # fmt: skip
    return {"create_claim": create, "submit_verdict": submit}


def measure(annotator: Annotator, runs: int, show_sql: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    # create claim
    for _ in range(3):
        annotator.create_claim()
    queries, _, sql = common.count_queries(annotator.create_claim)
    _show(show_sql, "create_claim", sql)
    samples = [common.time_ms(annotator.create_claim)[0] for _ in range(runs)]
    out["create_claim"] = {**common.summary_ms(samples), "queries": queries}
    # submit verdict (first of three)
    for _ in range(3):
        annotator.submit(annotator.leased_claim())
    queries, _, sql = common.count_queries(lambda: annotator.submit(annotator.leased_claim()))
    claim_id = annotator.leased_claim()
    queries, _, sql = common.count_queries(lambda: annotator.submit(claim_id))
    _show(show_sql, "submit_verdict", sql)
    samples = []
    for _ in range(runs):
        claim_id = annotator.leased_claim()
        samples.append(common.time_ms(lambda claim_id=claim_id: annotator.submit(claim_id))[0])
    out["submit_verdict"] = {**common.summary_ms(samples), "queries": queries}
    # the deciding third verdict
    claim_id = annotator.leased_claim(prior_verdicts=2)
    queries, _, sql = common.count_queries(lambda: annotator.submit(claim_id))
    _show(show_sql, "submit_verdict_deciding", sql)
    samples = []
    for _ in range(runs):
        claim_id = annotator.leased_claim(prior_verdicts=2)
        samples.append(common.time_ms(lambda claim_id=claim_id: annotator.submit(claim_id))[0])
    out["submit_verdict_deciding"] = {**common.summary_ms(samples), "queries": queries}
    service = _service_queries(annotator)
    out["create_claim"]["service_queries"] = service["create_claim"]
    out["submit_verdict"]["service_queries"] = service["submit_verdict"]
    return out


def _show(enabled: bool, title: str, sql: list[str]) -> None:
    if enabled:
        common.log(f"--- {title}: {len(sql)} queries")
        for line in sql:
            common.log("  " + line[:300])


def main() -> None:
    p = common.parser("bench_annotate", __doc__.split("\n\n")[0])
    p.add_argument("--sql", action="store_true", help="print the SQL of one request of each kind")
    args = p.parse_args()
    common.setup_django(args.db)
    from bench import generate

    runs = common.runs_for(args)
    results = {}
    for kind in ("news", "book"):
        ds = generate.ensure(kind, seed=args.seed, quick=args.quick)
        common.log(f"{ds.name}: {ds.chars:,} characters, {ds.claims:,} claims")
        results[ds.name] = measure(Annotator(ds, args.seed), runs, args.sql)
        for metric, figures in results[ds.name].items():
            common.emit(
                "annotate", dataset=f"{ds.name}{'-quick' if args.quick else ''}", db=args.db,
                metric=metric, chars=ds.chars, **figures, save=not args.no_save,
                label=args.label,
            )  # fmt: skip
    for metric in results["BOOK"]:
        book, news = results["BOOK"][metric], results["NEWS"][metric]
        common.emit(
            "annotate", dataset="BOOK/NEWS", db=args.db, metric=f"{metric}_ratio",
            median_ratio=round(book["median_ms"] / news["median_ms"], 3),
            p95_ratio=round(book["p95_ms"] / news["p95_ms"], 3),
            queries=[news["queries"], book["queries"]], save=not args.no_save, label=args.label,
        )  # fmt: skip


if __name__ == "__main__":
    main()
