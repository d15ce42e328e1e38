"""Sources cited by verdicts, one per normalized http(s) URL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotations.models import (
    Source,
)
from annotations.services._base import (
    User,
    event_record,
)
from annotations.urlnorm import UrlError, check_url, normalize_url


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
    """Find the source by its normalized URL, or create it. http/https only."""
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
