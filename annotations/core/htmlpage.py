"""A web page's main text and what the page says about itself (title, author, date…).

Pure Python (no Django): stdlib HTML parsing for the page's declared facts, trafilatura
for the main text. trafilatura is imported inside ``extract_html``, so this module stays
quick to import. Nothing here fetches: trafilatura only parses the string it is given
(the HTML import fetches through ``annotations.core.fetching``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from annotations.core import safejson, spans
from annotations.core.cleaning import drop_control_characters

__all__ = ["HtmlDocument", "extract_html"]


@dataclass(frozen=True)
class HtmlDocument:
    """A web page's main text and what the page says about itself.

    ``text`` is canonical (spans.canonicalize): the article's paragraphs, one per line,
    without the headline (that is ``title``) and without navigation, ads, related links,
    comments, tables or footers.  Whitespace inside a line is as trafilatura renders it
    (runs and no-break spaces become one space), and it keeps one copy of a paragraph
    (over 50 characters) repeated right after itself.  Metadata fields are "" when the
    page does not declare them; ``published`` is ``YYYY-MM-DD``; ``removed_chars`` counts
    the page's visible characters (whitespace runs counted once) not kept in ``text``.
    """

    title: str
    text: str
    author: str
    publisher: str
    published: str
    canonical_url: str
    language: str
    removed_chars: int


# Elements whose content is never visible page text.
_HTML_HIDDEN = frozenset({"script", "style", "noscript", "template", "title", "svg", "head"})
# Declared publication dates; the page's own words, not a guess from its text.
_HTML_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "dc.date.issued",
    "dc.date",
    "dcterms.issued",
    "sailthru.date",
)
_ISO_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")


class _PageFacts(HTMLParser):
    """One pass over the page for the fallbacks trafilatura may not supply."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.lang = ""
        self.canonical = ""
        self.meta: dict[str, str] = {}  # lower-case name/property/itemprop -> first content
        self.json_ld: list[str] = []
        self.times: list[str] = []  # <time datetime> values
        self.visible_chars = 0
        self._hidden: list[str] = []
        self._in_title = False
        self._in_json_ld = False
        self._title_parts: list[str] = []
        self._json_parts: list[str] = []
        self._pending_space = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "html" and not self.lang:
            self.lang = values.get("lang", "") or values.get("xml:lang", "")
        elif tag == "body":
            self._hidden = [name for name in self._hidden if name != "head"]  # </head> omitted
        elif tag == "meta":
            key = values.get("property") or values.get("name") or values.get("itemprop")
            if not key and values.get("http-equiv", "").lower() == "content-language":
                key = "content-language"
            if key and values.get("content"):
                self.meta.setdefault(key.strip().lower(), values["content"].strip())
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            if "canonical" in rels and values.get("href") and not self.canonical:
                self.canonical = values["href"].strip()
        elif tag == "time" and values.get("datetime"):
            self.times.append(values["datetime"])
        if tag in _HTML_HIDDEN:
            self._hidden.append(tag)
            self._in_title = tag == "title" and not self.title
            self._in_json_ld = tag == "script" and "ld+json" in values.get("type", "").lower()

    def handle_endtag(self, tag: str) -> None:
        if tag not in _HTML_HIDDEN or tag not in self._hidden:
            return
        while self._hidden:
            if self._hidden.pop() == tag:
                break
        if tag == "title" and self._in_title:
            self.title = " ".join("".join(self._title_parts).split())
            self._in_title = False
        elif tag == "script" and self._in_json_ld:
            self.json_ld.append("".join(self._json_parts))
            self._json_parts = []
            self._in_json_ld = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        elif self._in_json_ld:
            self._json_parts.append(data)
        if self._hidden:
            return
        # Count as a reader sees it: each run of whitespace is one character.
        words = data.split()
        if not words:
            self._pending_space = self._pending_space or bool(data)
            return
        if self._pending_space or data[0].isspace():
            self.visible_chars += 1
        self.visible_chars += sum(len(word) for word in words) + len(words) - 1
        self._pending_space = data[-1].isspace()


def _json_ld_values(sources: list[str], key: str) -> Iterator[object]:
    def walk(node: object) -> Iterator[object]:
        if isinstance(node, dict):
            if key in node:
                yield node[key]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for source in sources:
        try:
            # Bounded nesting, so walk() (recursive) never meets a RecursionError either.
            data = safejson.loads(source, allow_constants=True, unique_keys=False)
        except ValueError:
            continue  # broken or absurdly deep JSON-LD is common; it is only a hint
        yield from walk(data)


def _declared_date(facts: _PageFacts, extracted: str) -> str:
    """The publication date the page declares, as YYYY-MM-DD, or ""."""
    declared = [facts.meta[key] for key in _HTML_DATE_KEYS if facts.meta.get(key)]
    declared += [v for v in _json_ld_values(facts.json_ld, "datePublished") if isinstance(v, str)]
    declared += facts.times
    for value in declared:
        match = _ISO_DATE.match(value)
        if match:
            try:
                return date.fromisoformat(match.group(1)).isoformat()
            except ValueError:
                continue
    # A declared date in another format: trafilatura's date parser read it.  Without any
    # declaration its date would be a guess (a footer's "updated", a URL), so none.
    return extracted if declared else ""


def _absolute_http_url(href: str, base: str) -> str:
    if not href:
        return ""
    try:
        resolved = urljoin(base, href) if base else href
        parts = urlsplit(resolved)
        hostname = parts.hostname
    except ValueError:
        # A malformed link ("http://[x/a": "Invalid IPv6 URL") is only a missing hint;
        # letting it out would read as "no main text found" to the callers.
        return ""
    return resolved if parts.scheme in ("http", "https") and hostname else ""


def _metadata_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(item) for item in value if item)
    return " ".join(str(value).split()) if value else ""


def _body_lines(raw: str, title: str) -> list[str]:
    # Inside a line the text stays as trafilatura gives it (quotes must match the page);
    # only the ends of lines are trimmed and empty lines dropped.
    lines = [line.strip() for line in raw.split("\n")]
    lines = [line for line in lines if line]
    # trafilatura keeps the <h1>; the headline is the document's title, as with
    # clean_text, so it does not open the body a second time.
    if lines and title and " ".join(lines[0].split()).casefold() == title.casefold():
        lines = lines[1:]
    return lines


def _url_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def extract_html(html: str, *, url: str = "") -> HtmlDocument:
    """Extract the main text and metadata of a web page given as a string.

    Main text by trafilatura, tuned for precision (boilerplate, comments and tables
    dropped), paragraphs kept one per line; title, author and publisher from its
    metadata (``<meta>``, Open Graph, JSON-LD), falling back to ``<title>``,
    ``og:title``, ``og:site_name``, ``article:published_time``, ``<link rel=canonical>``
    and ``<html lang>``.  ``url`` (where the page came from) only resolves relative
    links and helps metadata; nothing is fetched.  Raises ValueError("no main text
    found") when the page has no main text.
    """
    import trafilatura

    # Control characters in a page are parse errors a browser never shows; NUL in the
    # text or a <meta> value would make the document unstorable (PostgreSQL).
    html = drop_control_characters(html)
    facts = _PageFacts()
    try:
        facts.feed(html)
        facts.close()
    except AssertionError:  # pragma: no cover - html.parser's last-resort complaint
        pass

    def extraction(*, with_metadata: bool) -> object:
        return trafilatura.bare_extraction(
            html,
            url=url or None,
            favor_precision=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            include_formatting=False,
            with_metadata=with_metadata,
        )

    try:
        document = extraction(with_metadata=True)
    except AssertionError:
        # htmldate (trafilatura's date finder) asserts on some malformed trees, e.g. an
        # <svg> left without a parent (found by tests/fuzz/test_htmlpage.py): keep the text and
        # the page's own <meta> facts, without trafilatura's metadata.
        document = extraction(with_metadata=False)

    def field(name: str) -> str:
        return _metadata_text(getattr(document, name, None)) if document is not None else ""

    meta = facts.meta
    title = field("title") or meta.get("og:title", "") or facts.title
    title = " ".join(title.split())

    raw_text = getattr(document, "text", None) if document is not None else None
    lines = _body_lines(raw_text if isinstance(raw_text, str) else "", title)
    text = spans.canonicalize("\n".join(lines))
    if not text.strip():
        raise ValueError("no main text found")

    host = _url_host(url).removeprefix("www.")
    publisher = field("sitename")
    if publisher and publisher.lower().removeprefix("www.") == host:
        publisher = ""  # trafilatura's stand-in when the page names no publisher
    publisher = publisher or meta.get("og:site_name", "") or meta.get("publisher", "")

    author = field("author") or meta.get("author", "")
    if author.startswith(("http://", "https://")):
        author = ""  # article:author is often a profile URL, not a name

    canonical = _absolute_http_url(facts.canonical or meta.get("og:url", ""), url)
    language = facts.lang or meta.get("content-language", "") or meta.get("og:locale", "")
    language = language.split(",")[0].strip().replace("_", "-")

    kept = len(" ".join(text.split()))
    return HtmlDocument(
        title=title,
        text=text,
        author=" ".join(author.split()),
        publisher=" ".join(publisher.split()),
        published=_declared_date(facts, field("date")),
        canonical_url=canonical,
        language=language,
        removed_chars=max(0, facts.visible_chars - kept),
    )
