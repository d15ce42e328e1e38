"""Import from pasted text, an uploaded file or a URL: read, preview, then create.

The steps are separate so the UI can show a preview before anything is written:

1. ``source_from_paste`` / ``source_from_upload`` / ``source_from_url`` read the input into
   a ``RawSource`` (content as text, its format, where it came from). Nothing is written;
   a URL is fetched through ``annotations.core.fetching`` with the limits of the settings
   (``WORKBENCH_FETCH_*``), and a refusal raises ``fetching.FetchError``.
2. ``import_preview`` cleans it (``cleaning.clean_text`` for text, ``htmlpage.extract_html``
   for HTML, ``jsonl.parse_jsonl`` for batches) and says what was removed and whether
   the project already holds the text. It only reads.
3. ``document_import`` / ``documents_import_jsonl`` / ``document_import_url`` create the
   documents through ``services.document_create``, which owns the rules (duplicates by
   text hash, the length limit) and writes the events; the raw input is kept as
   provenance (``Document.raw_text``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from annotations import selectors
from annotations.core import cleaning, fetching, htmlpage, jsonl
from annotations.core import language as languages
from annotations.core.urlnorm import UrlError
from annotations.models import Document, Project
from annotations.services import limits
from annotations.services._base import User, public_url
from annotations.services.documents import DocumentInput, document_create

ImportFormat = Literal["text", "html", "jsonl"]

FORMATS_BY_SUFFIX: dict[str, ImportFormat] = {
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml")
TEXT_CONTENT_TYPES = ("text/plain",)
# A pasted text is HTML when it starts like a page; fragments can be marked as HTML by hand.
_LOOKS_LIKE_HTML = re.compile(r"\A\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([-\w.:]+)""", re.I)
_TITLE_FALLBACK_CHARS = 200
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class RawSource:
    """An import's input as text, before cleaning."""

    content: str
    format: ImportFormat
    url: str = ""  # where it was fetched from (after redirects), for URL imports
    name: str = ""  # the uploaded file's name


@dataclass(frozen=True)
class RemovedPart:
    """Something the cleaner took out: ``line`` is the 1-based first line in the text that
    was cleaned, or None for what HTML extraction dropped as a whole (page furniture)."""

    kind: str
    text: str
    line: int | None


@dataclass(frozen=True)
class ImportPreview:
    source: RawSource
    text: str
    title: str
    author: str = ""
    publisher: str = ""
    published: dt.date | None = None
    source_url: str = ""
    language: str = ""
    removed: tuple[RemovedPart, ...] = ()
    duplicate: Document | None = None  # the project's document with the same text
    records: tuple[jsonl.Record, ...] = ()  # JSONL: the valid lines
    errors: tuple[jsonl.RecordError, ...] = ()  # JSONL: the refused lines

    @property
    def length(self) -> int:
        return len(self.text)

    @property
    def is_batch(self) -> bool:
        return self.source.format == "jsonl"


@dataclass
class BatchResult:
    """Outcome of a JSONL batch: each line imported, skipped as a duplicate or failed."""

    imported: list[Document] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


# --- reading -----------------------------------------------------------------------------------


def fetch_policy(
    content_types: Iterable[str] = HTML_CONTENT_TYPES + TEXT_CONTENT_TYPES,
) -> fetching.FetchPolicy:
    """The fetcher's limits from the settings (``WORKBENCH_FETCH_*``), accepting only
    ``content_types`` (by default what the importers read: HTML and plain text)."""
    return fetching.FetchPolicy(
        allowed_hosts=frozenset(host.lower() for host in settings.WORKBENCH_FETCH_ALLOWED_HOSTS),
        timeout=settings.WORKBENCH_FETCH_TIMEOUT,
        max_bytes=settings.WORKBENCH_FETCH_MAX_BYTES,
        max_redirects=MAX_REDIRECTS,
        content_types=frozenset(content_types),
    )


def source_from_url(url: str) -> RawSource:
    """Fetch ``url`` safely (``annotations.core.fetching``). Raises ``fetching.FetchError`` with a
    message for the user when the fetcher refuses (address, size, time, type, status)."""
    fetched = fetching.fetch(url.strip(), policy=fetch_policy())
    kind: ImportFormat = "html" if fetched.content_type in HTML_CONTENT_TYPES else "text"
    return RawSource(content=fetched.text(), format=kind, url=fetched.url)


def looks_like_html(text: str) -> bool:
    return bool(_LOOKS_LIKE_HTML.match(text))


def source_from_paste(*, text: str, kind: str = "auto") -> RawSource:
    """Pasted text; ``kind`` "auto" takes it as HTML when it starts like a page."""
    if kind not in ("text", "html", "jsonl"):
        kind = "html" if looks_like_html(text) else "text"
    return RawSource(content=text, format=kind)  # type: ignore[arg-type]


def _decode(data: bytes, fmt: ImportFormat) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if fmt == "html":
        # Pages saved from a browser declare their encoding in the first kilobytes.
        declared = _META_CHARSET.search(data[:4096])
        if declared:
            try:
                return data.decode(declared.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                return None
    return None


def source_from_upload(*, name: str, data: bytes) -> RawSource:
    """An uploaded .txt, .html/.htm or .jsonl file. Raises ValidationError on ``file`` for
    another extension or text that cannot be decoded (UTF-8, or the page's declared
    charset for HTML)."""
    suffix = PurePosixPath(name).suffix.lower()
    fmt = FORMATS_BY_SUFFIX.get(suffix)
    if fmt is None:
        raise ValidationError(
            {"file": "Upload a .txt, .html/.htm or .jsonl file."}, code="file_type"
        )
    content = _decode(data, fmt)
    if content is None:
        raise ValidationError({"file": "The file is not UTF-8 text."}, code="encoding")
    return RawSource(content=content, format=fmt, name=name)


# --- previewing ----------------------------------------------------------------------------------


def _checked_url(url: str) -> str:
    try:
        return public_url(url) if url else ""
    except UrlError:
        # A page's canonical link may be relative or otherwise unusable (or name an
        # internal host, which a document's source URL may not): leave it out.
        return ""


def _fallback_title(source: RawSource, text: str) -> str:
    if source.name:
        return PurePosixPath(source.name).stem
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first:
        return first[:_TITLE_FALLBACK_CHARS]
    return urlsplit(source.url).hostname or ""


def _removed(removals: Iterable[cleaning.Removal], *, shift: int = 0) -> tuple[RemovedPart, ...]:
    return tuple(
        RemovedPart(kind=r.kind, text=r.text, line=r.line - shift)
        for r in removals
        if not (shift and r.kind == "title" and r.line == 1)
    )


def clean_body(text: str) -> tuple[str, tuple[RemovedPart, ...]]:
    """Clean a text whose title is known from elsewhere (HTML metadata, a JSONL record): the
    cleaner's "first line is the title" rule must not take its first paragraph."""
    cleaned = cleaning.clean_text("title\n" + text)
    return cleaned.text, _removed(cleaned.removed, shift=1)


def _preview_text(source: RawSource, clean: bool) -> ImportPreview:
    if not clean:
        return ImportPreview(
            source=source, text=source.content, title=_fallback_title(source, source.content)
        )
    cleaned = cleaning.clean_text(source.content)
    return ImportPreview(
        source=source,
        text=cleaned.text,
        title=cleaned.title or _fallback_title(source, cleaned.text),
        publisher=cleaned.publisher,
        source_url=source.url,
        removed=_removed(cleaned.removed),
    )


def _preview_html(source: RawSource, clean: bool) -> ImportPreview:
    try:
        page = htmlpage.extract_html(source.content, url=source.url)
    except ValueError:
        raise ValidationError(
            "No main text found in the page: it may be an index, a form or built by "
            "JavaScript. Paste the article text instead.",
            code="no_main_text",
        ) from None
    text = page.text
    removed: tuple[RemovedPart, ...] = ()
    if clean:
        text, removed = clean_body(page.text)
    if page.removed_chars:
        furniture = RemovedPart(
            kind="page-furniture",
            text=f"{page.removed_chars:,} characters outside the main content "
            "(navigation, scripts, styles, ads, comments)",
            line=None,
        )
        removed = (furniture, *removed)
    return ImportPreview(
        source=source,
        text=text,
        title=page.title or _fallback_title(source, text),
        author=page.author,
        publisher=page.publisher,
        published=as_date(page.published),
        source_url=_checked_url(page.canonical_url) or _checked_url(source.url),
        # A page's own tag when it is one ("en_US" read as en-US); else detected on create.
        language=languages.normalize_tag(page.language),
        removed=removed,
    )


def as_date(value: object) -> dt.date | None:
    """A page's published date (date, datetime or ISO string) as a date, or None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _preview_jsonl(source: RawSource) -> ImportPreview:
    records: list[jsonl.Record] = []
    errors: list[jsonl.RecordError] = []
    for item in jsonl.parse_jsonl(jsonl.jsonl_lines(source.content)):
        if isinstance(item, jsonl.RecordError):
            errors.append(item)
        else:
            records.append(item)
    return ImportPreview(
        source=source, text="", title="", records=tuple(records), errors=tuple(errors)
    )


def import_preview(
    *, source: RawSource, clean: bool = True, project: Project | None = None
) -> ImportPreview:
    """What importing ``source`` would store: cleaned text, metadata, what was removed and,
    given ``project``, the document that already holds the same text. Writes nothing.

    Raises ValidationError (code ``no_main_text``) for an HTML page without main text."""
    if source.format == "jsonl":
        return _preview_jsonl(source)
    preview = (_preview_html if source.format == "html" else _preview_text)(source, clean)
    if project is not None and preview.text.strip():
        duplicate = selectors.document_duplicate_get(project=project, text=preview.text)
        if duplicate is not None:
            preview = replace(preview, duplicate=duplicate)
    return preview


# --- creating ----------------------------------------------------------------------------------


def extracted_title(value: str) -> str:
    """A title found in the input (a page's metadata, a text's first line, a JSONL record),
    shortened to what a document title holds; a title a person types is refused instead
    when it is too long (``services.document_create``)."""
    return value.strip()[: limits.MAX_TITLE]


def document_input(
    preview: ImportPreview,
    *,
    title: str = "",
    author: str = "",
    publisher: str = "",
    published_date: dt.date | None = None,
    source_url: str = "",
    language: str = "",
) -> DocumentInput:
    """The document ``preview`` describes; a non-empty argument replaces the extracted value.

    The raw input is kept as provenance minus what no database can store (NUL)."""
    return DocumentInput(
        title=title.strip() or extracted_title(preview.title),
        text=preview.text,
        raw_text=cleaning.storable_raw_text(preview.source.content),
        source_url=source_url.strip() or preview.source_url,
        publisher=publisher.strip() or preview.publisher,
        author=author.strip() or preview.author,
        published_date=published_date or preview.published,
        language=language.strip() or preview.language,
    )


def document_import(
    *, project: Project, preview: ImportPreview, actor: User | None, **overrides: object
) -> Document:
    """Create the document of a single-document preview (``overrides``: see ``document_input``).

    Editors and admins only (the caller checks the role). Raises ValidationError from
    ``document_create``: code ``duplicate`` on ``text`` when the project holds the text.
    """
    if preview.is_batch:
        raise ValidationError({"file": "A JSONL batch is imported with documents_import_jsonl."})
    return document_create(
        project=project,
        data=document_input(preview, **overrides),  # type: ignore[arg-type]
        actor=actor,
    )


def document_import_url(
    *, project: Project, url: str, actor: User | None, clean: bool = True, title: str = ""
) -> Document:
    """Fetch ``url`` safely, extract and clean it, and create the document.

    Raises ``fetching.FetchError`` when the fetcher refuses the URL, ValidationError as
    ``document_create`` does (code ``duplicate`` when the project holds the text). The
    fetch happens before any transaction is opened.
    """
    preview = import_preview(source=source_from_url(url), clean=clean)
    return document_import(project=project, preview=preview, actor=actor, title=title)


def record_input(record: jsonl.Record, *, clean: bool) -> tuple[DocumentInput, int]:
    """The document of one JSONL record, and how many junk blocks cleaning removed.

    Cleaning (``clean``) is ``clean_text`` for the text and drops control characters from
    the title, publisher and author, as a text file's title loses them; uncleaned, they
    go to ``document_create`` as written, which refuses NUL on the field. The raw text
    is kept as provenance minus what no database can store, either way."""
    text, removed = record.text, 0
    title, publisher, author = record.title, record.publisher, record.author
    if clean:
        title, publisher, author = (
            cleaning.drop_control_characters(value).strip() for value in (title, publisher, author)
        )
        cleaned = cleaning.clean_text(record.text)
        # A record carries its title as metadata, so the first line stays body text unless
        # the cleaner recognised it as that same title.
        if title and cleaned.title != title:
            text, parts = clean_body(record.text)
            removed = len(parts)
        else:
            text = cleaned.text
            removed = sum(1 for removal in cleaned.removed if removal.kind != "title")
        title = title or cleaned.title
        publisher = publisher or cleaned.publisher
    published = dt.date.fromisoformat(record.published) if record.published else None
    data = DocumentInput(
        title=extracted_title(title) or f"line {record.line}",
        text=text,
        raw_text=cleaning.storable_raw_text(record.text),
        source_url=record.source_url,
        publisher=publisher,
        author=author,
        published_date=published,
        language=record.language,
    )
    return data, removed


def is_duplicate(exc: ValidationError) -> bool:
    """Whether ``exc`` is ``document_create``'s "same text already in the project"."""
    errors = getattr(exc, "error_dict", {}).get("text") or []
    return any(error.code == "duplicate" for error in errors)


def error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def documents_import_jsonl(
    *, project: Project, preview: ImportPreview, actor: User | None, clean: bool = True
) -> BatchResult:
    """Import every valid line of a JSONL preview, each in its own transaction: a duplicate
    or a refused line is reported with its line number and never stops the batch. Lines the
    parser refused are reported as failed. Editors and admins only (the caller checks)."""
    result = BatchResult(failed=[(error.line, error.reason) for error in preview.errors])
    for record in preview.records:
        data, _ = record_input(record, clean=clean)
        try:
            result.imported.append(document_create(project=project, data=data, actor=actor))
        except ValidationError as exc:
            target = result.duplicates if is_duplicate(exc) else result.failed
            target.append((record.line, error_text(exc)))
    result.failed.sort()
    return result
