"""Tests for importers.extract_html: pure Python, no database, no network.

The fixtures in fixtures/html/ are hand-written pages: a news article with the usual
furniture (cookie banner, navigation, ads, share buttons, a table, related links,
comments, footer) and JSON-LD NewsArticle metadata; a page with Open Graph metadata only;
and a page with no article at all.
"""

from __future__ import annotations

import html
import socket
import unicodedata
from pathlib import Path

import pytest

from annotations.core.cleaning import clean_text
from annotations.core.htmlpage import HtmlDocument, extract_html
from annotations.core.spans import canonicalize

pytestmark = pytest.mark.db_independent

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HTML = FIXTURES / "html"


def page(name: str) -> str:
    return (HTML / name).read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Extraction parses the string it is given; any connection or lookup fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access during HTML extraction: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


ARTICLE_PARAGRAPHS = [
    "The finance minister said on Thursday that the economy would grow by 3% next year, "
    "defending a forecast that independent economists have called optimistic.",
    "Speaking in parliament, she said the figure was based on “conservative assumptions” "
    "about exports and household spending, and that the government stood by it.",
    "The Office for Budget Analysis projected growth of 1.2% in its most recent report, "
    "published in January, citing weak investment and slowing demand in Europe.",
    "Opposition members said the government had repeatedly overestimated growth since 2021, "
    "and called for the forecast to be reviewed by an independent panel.",
    "The ministry did not respond to a request for comment on the difference between the "
    "two figures by the time of publication.",
]

BOILERPLATE = [
    "cookies",
    "Subscribe now",
    "Politics",
    "Advertisement",
    "SuperPhone",
    "Holiday deals",
    "Share on",
    "Forecaster",  # the table
    "Finance ministry",
    "Related stories",
    "Markets rally",
    "Ten things you missed",
    "GrowthSkeptic77",  # comments
    "fantasy",
    "All rights reserved",
    "Privacy policy",
    "Newsletter",
    "dataLayer",  # script
    "min-height",  # style
]


@pytest.fixture(scope="module")
def article() -> HtmlDocument:
    return extract_html(
        page("news_article.html"),
        url="https://ledger.example/politics/2025/03/14/budget-row?utm_source=feed",
    )


@pytest.fixture(scope="module")
def og_page() -> HtmlDocument:
    return extract_html(page("open_graph_only.html"))


def test_it_keeps_the_body_paragraphs_one_per_line(article: HtmlDocument) -> None:
    assert article.text.split("\n") == ARTICLE_PARAGRAPHS


@pytest.mark.parametrize("junk", BOILERPLATE)
def test_it_drops_the_page_furniture(article: HtmlDocument, junk: str) -> None:
    assert junk not in article.text


def test_the_headline_is_the_title_not_the_first_line(article: HtmlDocument) -> None:
    assert article.title == "Budget row: minister defends growth forecast"
    assert "Budget row" not in article.text


def test_it_reads_the_json_ld_metadata(article: HtmlDocument) -> None:
    assert article.author == "Jane Okafor"
    assert article.publisher == "The Daily Ledger"
    assert article.published == "2025-03-14"  # datePublished, not dateModified


def test_it_resolves_the_canonical_link_against_the_url(article: HtmlDocument) -> None:
    assert article.canonical_url == "https://ledger.example/politics/2025/03/14/budget-row"


def test_it_reads_the_language_from_the_html_element(article: HtmlDocument) -> None:
    assert article.language == "en-GB"


def test_it_counts_what_was_left_out(article: HtmlDocument) -> None:
    # Navigation, ads, table, related links, comments, footer: several hundred visible
    # characters, but never more than the page shows.
    assert 500 < article.removed_chars < 2000


def test_its_text_is_canonical(article: HtmlDocument) -> None:
    assert canonicalize(article.text) == article.text


def test_a_page_with_open_graph_only_keeps_its_body(og_page: HtmlDocument) -> None:
    lines = og_page.text.split("\n")
    assert len(lines) == 3
    assert lines[0].startswith("The port authority confirmed on Tuesday")
    assert lines[2].endswith("ran aground at low tide.")
    for junk in ("Front page", "Weather", "Quay Street", "Tips:"):
        assert junk not in og_page.text


def test_a_page_with_open_graph_only_gets_its_metadata_from_it(og_page: HtmlDocument) -> None:
    assert og_page.title == "Harbour dredging to start in May"  # not the <title>
    assert og_page.publisher == "Coastal Courier"
    assert og_page.published == "2024-04-02"  # article:published_time
    assert og_page.canonical_url == "https://courier.example/news/harbour-dredging"
    assert og_page.language == "en-US"  # og:locale, there is no <html lang>
    assert og_page.author == ""


def test_a_page_without_main_text_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^no main text found$"):
        extract_html(page("empty.html"))


@pytest.mark.parametrize(
    "markup",
    ["", "   ", "<html></html>", "<p></p>", "<body><nav><a href='/'>Home</a></nav></body>"],
)
def test_trivial_input_has_no_main_text(markup: str) -> None:
    with pytest.raises(ValueError, match="no main text found"):
        extract_html(markup)


def test_the_sample_article_wrapped_in_a_page_comes_back_paragraph_for_paragraph() -> None:
    cleaned = clean_text((FIXTURES / "seed" / "sample_article.txt").read_text(encoding="utf-8"))
    paragraphs = [line for line in cleaned.text.split("\n") if line.strip()]
    body = "\n".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
    wrapped = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(cleaned.title)}</title></head>
<body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/about">About us</a></nav>
<article><h1>{html.escape(cleaned.title)}</h1>
{body}
</article>
<footer><p>The post appeared first on The Duran.</p><p>Copyright 2017 The Duran</p></footer>
</body></html>"""

    document = extract_html(wrapped, url="https://theduran.example/russia-china-us/")

    assert document.title == cleaned.title
    # trafilatura normalises whitespace as a reader sees it: no-break spaces and runs
    # of spaces in the sample become one plain space; the words are all there, in order.
    expected = [" ".join(paragraph.split()) for paragraph in paragraphs]
    assert document.text.split("\n") == expected
    for junk in ("Home", "About us", "appeared first", "Copyright"):
        assert junk not in document.text
    assert document.language == "en"


def test_it_canonicalises_the_text() -> None:
    decomposed = (
        "Cafe\u0301 owners said the re\u0301gime of inspections had changed twice this year."
    )
    markup = (
        "<html><body><article>"
        f"<p>{decomposed}</p>\r\n<p>A second paragraph with enough words to count as text here.</p>"
        "</article></body></html>"
    )
    document = extract_html(markup)
    assert "\r" not in document.text
    assert unicodedata.is_normalized("NFC", document.text)
    assert document.text.split("\n")[0] == unicodedata.normalize("NFC", decomposed)


def test_it_does_not_guess_a_published_date_the_page_does_not_declare() -> None:
    markup = """<html><head><title>Council meets</title></head><body>
<article><p>The town council met on 12 March 2019 to discuss the budget for the coming year and
the repairs to the old bridge, which has been closed since the winter floods.</p>
<p>Members agreed to ask the regional government for a grant to cover most of the cost.</p>
</article><footer>Updated 2024-05-06</footer></body></html>"""
    document = extract_html(markup, url="https://town.example/2018/01/02/council-meets")
    assert document.published == ""
    assert document.publisher == ""  # the host name is not a publisher
    assert document.title == "Council meets"


def test_it_reads_a_declared_date_in_another_format() -> None:
    markup = """<html><head><title>Council meets</title>
<meta name="date" content="March 14, 2025"></head><body>
<article><p>The town council met to discuss the budget for the coming year and the repairs
to the old bridge, which has been closed since the winter floods.</p></article></body></html>"""
    assert extract_html(markup).published == "2025-03-14"


def test_it_ignores_non_http_canonical_links_and_profile_url_authors() -> None:
    markup = """<html><head><title>Notes</title>
<link rel="canonical" href="javascript:alert(1)">
<meta name="author" content="https://social.example/@someone"></head><body>
<article><p>A paragraph long enough to be the main text of this page, with a few more
words so that the extractor keeps it as the article body.</p></article></body></html>"""
    document = extract_html(markup, url="https://notes.example/a")
    assert document.canonical_url == ""
    assert document.author == ""


def test_broken_json_ld_is_only_a_missing_hint() -> None:
    markup = """<html lang="fr"><head><title>Le pont</title>
<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": </script>
</head><body><article><p>Le conseil municipal a voté mardi les travaux de réparation du vieux
pont, fermé depuis les inondations de l'hiver dernier.</p></article></body></html>"""
    document = extract_html(markup)
    assert document.language == "fr"
    assert document.published == ""
    assert document.text.startswith("Le conseil municipal a voté mardi")
