"""Reader benchmark: the BOOK document page (first window, then every further window as
htmx loads it) and the NEWS page, in-process through ``django.test.Client``.

    python -m bench.bench_reader --db postgres://postgres@127.0.0.1:5432/wb_bench
    python -m bench.bench_reader --db sqlite:///var/bench.sqlite3 --quick

One JSON line per measurement: server time median/p95 over the runs (``--runs``,
default 30; further windows: every window of the book, passes repeated until there are at
least that many samples), HTML size and query count. ``--profile`` prints a cProfile of
one first-window request instead (pyinstrument if installed: ``--profile pyinstrument``).
"""

from __future__ import annotations

import re

from bench import common

NEXT = re.compile(r'class="reader-more" hx-get="([^"]+)"')
HX = {"HTTP_HX_REQUEST": "true"}


def _client(user_id: int):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    return client


def _get(client, url: str, **headers: str):
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return response


def _window_urls(client, first_url: str) -> list[str]:
    """Every further window's URL, following the chain of "continue reading" links."""
    urls = []
    html = _get(client, first_url).content.decode()
    while match := NEXT.search(html):
        url = match.group(1).replace("&amp;", "&")
        urls.append(url)
        html = _get(client, url, **HX).content.decode()
    return urls


def measure_page(client, url: str, runs: int, **headers: str) -> dict:
    queries, response, _ = common.count_queries(lambda: _get(client, url, **headers))
    samples = common.repeat_ms(lambda: _get(client, url, **headers), runs=runs)
    return {**common.summary_ms(samples), "html_bytes": len(response.content), "queries": queries}


def main() -> None:
    p = common.parser("bench_reader", __doc__.split("\n\n")[0])
    p.add_argument("--profile", nargs="?", const="cprofile", choices=["cprofile", "pyinstrument"])
    args = p.parse_args()
    common.setup_django(args.db)
    from bench import generate

    runs = common.runs_for(args)
    book = generate.ensure("book", seed=args.seed, quick=args.quick)
    news = generate.ensure("news", seed=args.seed, quick=args.quick)
    client = _client(book.reviewer_ids[0])
    from annotations.models import Document

    book_url = Document(pk=book.document_ids[0]).get_absolute_url()
    news_url = Document(pk=news.document_ids[0]).get_absolute_url()
    if args.profile:
        _profile(args.profile, lambda: _get(client, book_url))
        return
    save = {"save": not args.no_save, "label": args.label}
    dataset = f"BOOK{'-quick' if args.quick else ''}"
    common.log(f"BOOK {book.chars:,} chars, {book.claims:,} claims: first window …")
    first = measure_page(client, book_url, runs)
    common.emit(
        "reader", dataset=dataset, db=args.db, metric="first_window", chars=book.chars,
        claims=book.claims, **first, **save,
    )  # fmt: skip
    urls = _window_urls(client, book_url)
    common.log(f"… {len(urls)} further windows")
    samples: list[float] = []
    sizes: list[int] = []
    counts: set[int] = set()
    for url in urls:
        n, response, _ = common.count_queries(lambda url=url: _get(client, url, **HX))
        counts.add(n)
        sizes.append(len(response.content))
    while urls and len(samples) < runs:
        for url in urls:
            samples.append(common.time_ms(lambda url=url: _get(client, url, **HX))[0])
    if urls:
        common.emit(
            "reader", dataset=dataset, db=args.db, metric="further_window", windows=len(urls),
            **common.summary_ms(samples), html_bytes_max=max(sizes),
            html_bytes_median=sorted(sizes)[len(sizes) // 2], queries=max(counts),
            queries_distinct=sorted(counts), **save,
        )  # fmt: skip
    # A window opened directly (no-JS link or a bookmark), from the middle of the book.
    if urls:
        middle = urls[len(urls) // 2]
        common.emit(
            "reader", dataset=dataset, db=args.db, metric="window_page_middle",
            **measure_page(client, middle, runs), **save,
        )  # fmt: skip
    common.emit(
        "reader", dataset="NEWS", db=args.db, metric="page", chars=news.chars,
        claims=news.claims, **measure_page(client, news_url, runs), **save,
    )  # fmt: skip


def _profile(kind: str, fn) -> None:
    fn()  # warm caches first
    if kind == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(5):
            fn()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False))
        return
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(5):
        fn()
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
