"""Sources cited by verdicts, one per normalized http(s) URL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotations.core import cleaning, fetching, htmlpage
from annotations.core.urlnorm import UrlError, check_url, normalize_url
from annotations.models import (
    Source,
)
from annotations.services._base import (
    User,
    _require_storable_text,
    event_record,
)
from annotations.services.importing import HTML_CONTENT_TYPES, as_date, fetch_policy


@transaction.atomic
def source_get_or_create(
    *,
    url: str,
    actor: User | None,
    title: str = "",
    publisher: str = "",
    published_date: dt.date | None = None,
    archive_url: str = "",
) -> Source:
    """Find the source by its normalized URL, or create it. http/https only.

    Raises ValidationError on a URL that is not http(s), and on text no database can
    store (NUL, a lone surrogate) in any field."""
    _require_storable_text(url=url, title=title, publisher=publisher, archive_url=archive_url)
    errors = {}
    try:
        normalized = normalize_url(url)
    except UrlError as exc:
        raise ValidationError({"url": str(exc)}) from None
    if archive_url:
        try:
            check_url(archive_url)
        except UrlError as exc:
            errors["archive_url"] = str(exc)
    if errors:
        raise ValidationError(errors)
    existing = Source.objects.filter(normalized_url=normalized).first()
    if existing is not None:
        return existing
    source = Source(
        url=url.strip(),
        normalized_url=normalized,
        title=title.strip()[:500],
        publisher=publisher,
        published_date=published_date,
        archive_url=archive_url.strip(),
        created_by=actor,
    )
    source.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        # Another request created the same normalized URL between our check and insert.
        return Source.objects.get(normalized_url=normalized)
    event_record(
        actor=actor,
        verb="source.create",
        obj=source,
        after={"url": source.url, "normalized_url": normalized, "title": source.title},
    )
    return source


def sources_get_or_create(*, urls: Iterable[str], actor: User | None) -> list[Source]:
    return [source_get_or_create(url=url, actor=actor) for url in urls]


def source_fetch_metadata(*, source: Source, actor: User | None) -> Source:
    """Fill ``source``'s blank title, publisher and published date from its page.

    The page is fetched through the safe fetcher (``annotations.core.fetching``: public http(s)
    addresses only, unless ``WORKBENCH_FETCH_ALLOWED_HOSTS`` names the host; the time, size
    and redirect limits of ``WORKBENCH_FETCH_*``; HTML only) before any transaction is
    opened; then the source row is locked and only fields that are still blank are
    filled, so nothing a person wrote is replaced. Records a ``source.fetch_metadata``
    event when something changed.

    Raises ValidationError on ``url`` (its code is the fetcher's refusal code, e.g.
    ``private_address``) when the page cannot be fetched.
    """
    try:
        fetched = fetching.fetch(source.url, policy=fetch_policy(HTML_CONTENT_TYPES))
    except fetching.FetchError as exc:
        raise ValidationError({"url": ValidationError(exc.message, code=exc.code)}) from None
    found = _page_metadata(fetched.text(), url=fetched.url)
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        before = {name: getattr(locked, name) for name in found}
        changes = {name: value for name, value in found.items() if value and not before[name]}
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean(validate_unique=False)
        locked.save(update_fields=list(changes))
        event_record(
            actor=actor,
            verb="source.fetch_metadata",
            obj=locked,
            before={name: _jsonable(before[name]) for name in changes},
            after={name: _jsonable(value) for name, value in changes.items()},
        )
    return locked


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _page_metadata(html: str, *, url: str) -> dict[str, object]:
    """Title, publisher and date a page declares (HTML meta, Open Graph, JSON-LD)."""
    title: str | None
    publisher: str | None
    published: object
    try:
        page = htmlpage.extract_html(html, url=url)
        title, publisher, published = page.title, page.publisher, page.published
    except ValueError:
        # A page without main text (a landing page, a data portal) still has a title.
        # Imported here, like in core.htmlpage: trafilatura is slow to import.
        import trafilatura

        meta = trafilatura.extract_metadata(html, default_url=url or None)
        title, publisher, published = (
            (meta.title, meta.sitename, meta.date) if meta is not None else ("", "", "")
        )
    # A page's own words, cleaned like imported text: NUL in a <title> is not the
    # editor's to fix, and PostgreSQL would refuse it.
    title, publisher = (cleaning.drop_control_characters(v or "") for v in (title, publisher))
    return {
        "title": " ".join(title.split())[:500],
        "publisher": " ".join(publisher.split())[:200],
        "published_date": as_date(published),
    }
