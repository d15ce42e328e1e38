"""Sources cited by verdicts: one per project, citer and normalized http(s) URL.

A source is its citer's own record of a page (see ``models.Source``): citing a URL finds
the caller's own row for it in the claim's project, or creates one. Nothing of another
person's citation (their typed URL, their title, that they cited the page at all) is
read or returned on the way, so a reviewer still blind on a claim learns nothing from
citing a page someone else cited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import UniqueConstraint

from annotations import access
from annotations.compiled import CompiledModels, CompiledValues
from annotations.core import cleaning, fetching, htmlpage
from annotations.core.urlnorm import UrlError, normalize_url
from annotations.models import Event, Project, Source
from annotations.selectors.evidence import SOURCE_EVIDENCE_DEFERRED, SOURCE_EVIDENCE_JOINED
from annotations.services import limits
from annotations.services._base import (
    User,
    _require_storable_text,
    _rows_insert_select,
    _saved,
    event_build,
    event_record,
    fields_update,
    public_url,
)
from annotations.services.importing import HTML_CONTENT_TYPES, as_date, fetch_policy


@transaction.atomic
def source_get_or_create(
    *,
    url: str,
    actor: User | None,
    project: Project,
    title: str = "",
    publisher: str = "",
    published_date: dt.date | None = None,
    archive_url: str = "",
) -> Source:
    """``actor``'s source for ``url`` in ``project`` (found by its normalized URL), or a new
    one. http/https only. The caller has checked ``actor``'s membership of ``project``.

    Raises ValidationError on a URL (or archive URL) that is not http(s) or names no
    public host (``public_url``: no loopback, private or other internal address), and on
    text no database can store (NUL, a lone surrogate) in any field."""
    _require_storable_text(url=url, title=title, publisher=publisher, archive_url=archive_url)
    errors = {}
    try:
        normalized = normalize_url(url)
        public_url(url)
    except UrlError as exc:
        raise ValidationError({"url": str(exc)}) from None
    if archive_url:
        try:
            public_url(archive_url)
        except UrlError as exc:
            errors["archive_url"] = str(exc)
    if errors:
        raise ValidationError(errors)
    owner = actor if actor is not None and actor.is_authenticated else None
    mine = Source.objects.filter(project=project, created_by=owner, normalized_url=normalized)
    existing = mine.first()
    if existing is not None:
        return existing
    source = Source(
        project=project,
        url=url.strip(),
        normalized_url=normalized,
        title=title.strip()[:500],
        publisher=publisher,
        published_date=published_date,
        archive_url=archive_url.strip(),
        created_by=owner,
    )
    source.full_clean(exclude=["project", "created_by"], validate_unique=False)
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        # The same citer's concurrent request created it between our check and insert.
        return mine.get()
    event_record(
        actor=actor, verb="source.create", obj=source, project=project, after=_created(source)
    )
    return source


def _created(source: Source) -> dict[str, Any]:
    """A ``source.create`` event's ``after``."""
    return {"url": source.url, "normalized_url": source.normalized_url, "title": source.title}


def _citers_sources_query(*, project_id: int, actor_id: int, urls: Sequence[str]) -> Any:
    return (
        Source.objects.filter(
            project_id=project_id, created_by_id=actor_id, normalized_url__in=urls
        )
        .select_related(*SOURCE_EVIDENCE_JOINED)
        .defer(*SOURCE_EVIDENCE_DEFERRED)
    )


def _citers_sources_compiled(count: int) -> CompiledModels[Source]:
    """``_citers_sources_query`` for ``count`` URLs, compiled once (annotations.compiled):
    every verdict with citations reads it."""
    names = [f"url{i}" for i in range(count)]
    return CompiledModels(
        Source,
        lambda project_id, actor_id, **urls: _citers_sources_query(
            project_id=project_id, actor_id=actor_id, urls=[urls[name] for name in names]
        ),
        project_id=int,
        actor_id=int,
        **dict.fromkeys(names, str),
    )


# Up to this many URLs (a verdict's usual citations) the read is compiled, one per count.
_COMPILED_URL_COUNTS = 8
_CITERS_SOURCES = {
    count: _citers_sources_compiled(count) for count in range(1, _COMPILED_URL_COUNTS + 1)
}


# The citer's source for one URL, as an insert's condition (``_sources_insert_sql``).
_CITERS_SOURCE = CompiledValues(
    Source,
    lambda project_id, actor_id, url: (
        Source.objects.filter(project_id=project_id, created_by_id=actor_id, normalized_url=url)
        .order_by()
        .values("pk")
    ),
    project_id=int,
    actor_id=int,
    url=str,
)
# The columns of a citer's one source per URL (the unique constraint), for ``ON CONFLICT``.
_COLUMNS = {field.name: str(field.column) for field in Source._meta.concrete_fields}
_CITER_KEY = tuple(
    _COLUMNS[name]
    for name in next(
        cast(UniqueConstraint, constraint).fields
        for constraint in Source._meta.constraints
        if constraint.name == "annotations_source_unique_per_citer"
    )
)
_NORMALIZED_URL = _COLUMNS["normalized_url"]


def _citers_sources(*, project_id: int, actor_id: int, urls: list[str]) -> list[Source]:
    """The citer's sources in the project for ``urls`` (normalized, distinct), their
    evidence joined as ``selectors.evidence.citations_with_evidence`` reads it."""
    if not urls:
        return []
    compiled = _CITERS_SOURCES.get(len(urls))
    if compiled is None:
        return list(_citers_sources_query(project_id=project_id, actor_id=actor_id, urls=urls))
    return compiled.objects(
        project_id=project_id, actor_id=actor_id, **{f"url{i}": url for i, url in enumerate(urls)}
    )


def sources_for_urls(
    *, urls: Sequence[str], actor: User, project: Project
) -> tuple[list[Source], list[Event]]:
    """``source_get_or_create`` for several URLs a citer cites at once (a verdict's
    citations): the citer's existing sources for them (their evidence joined, as
    ``selectors.evidence.citations_with_evidence`` reads it) and one insert of the missing
    ones (``_sources_insert``), in one statement on PostgreSQL (``_sources_read_and_insert``,
    up to ``_COMPILED_URL_COUNTS`` URLs), else the read, then the insert. The caller has
    checked each URL (``normalize_url`` and the column's validators) and ``actor``'s
    membership; each new source is checked by its fields (``full_clean``) before anything
    is written.

    A concurrent request of the same citer that created one of them first, after this
    statement's snapshot, is no error: its row is read (a second query, only then) and
    it is theirs, with their ``source.create``.

    Returns the sources in the order of ``urls`` and, unsaved, the ``source.create``
    events of the ones this call inserted, for the caller to append with its own
    (``events_record``)."""
    by_url = {normalize_url(url): url.strip() for url in reversed(urls)}
    # In one order, the normalized URLs': two requests of the same citer inserting the same
    # URLs wait for each other's rows in the same order, never each for the other's.
    candidates = [
        Source(project=project, url=url, normalized_url=normalized, created_by=actor)
        for normalized, url in sorted(by_url.items())
    ]
    for source in candidates:
        source.full_clean(exclude=["project", "created_by"], validate_unique=False)
    connection = connections[router.db_for_write(Source)]
    read = _CITERS_SOURCES.get(len(candidates))
    if connection.vendor == "postgresql" and read is not None:
        found, inserted = _sources_read_and_insert(
            connection, read, candidates, project_id=project.pk, actor_id=actor.pk
        )
    else:
        # SQLite (no data-modifying WITH), or more URLs than the read is compiled for: the
        # read, then the insert of what it did not find.
        found = _citers_sources(project_id=project.pk, actor_id=actor.pk, urls=list(by_url))
        known = {source.normalized_url for source in found}
        inserted = _sources_insert(
            connection,
            [c for c in candidates if c.normalized_url not in known],
            project_id=project.pk,
            actor_id=actor.pk,
        )
    by_normalized = {source.normalized_url: source for source in found}
    new = [source for source in candidates if source.normalized_url in inserted]
    for source in new:
        _saved(source, inserted[source.normalized_url], connection)
        # A new source has no evidence yet: answering so needs no query.
        Source.evidence.related.set_cached_value(source, None)
        by_normalized[source.normalized_url] = source
    missing = [normalized for normalized in by_url if normalized not in by_normalized]
    if missing:
        # Neither read nor inserted: the same citer's concurrent request inserted it after
        # this statement's snapshot and committed (the insert waited for it, then skipped
        # it). It is read now; its event is that request's.
        for source in _citers_sources(project_id=project.pk, actor_id=actor.pk, urls=missing):
            by_normalized[source.normalized_url] = source
    events = [
        event_build(
            actor=actor,
            verb="source.create",
            object_type="source",
            object_id=source.pk,
            project_id=project.pk,
            after=_created(source),
        )
        for source in new
    ]
    return [by_normalized[normalize_url(url)] for url in urls], events


def _sources_insert(
    connection: Any, candidates: Sequence[Source], *, project_id: int, actor_id: int
) -> dict[str, int]:
    """Insert ``candidates`` (unsaved sources of one citer in one project) in one statement
    (``_sources_insert_sql``); the new rows' ids by normalized URL. No query without
    candidates."""
    if not candidates:
        return {}
    statement, params = _sources_insert_sql(
        connection, candidates, project_id=project_id, actor_id=actor_id
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return {normalized: pk for pk, normalized in cursor.fetchall()}


def _sources_insert_sql(
    connection: Any, candidates: Sequence[Source], *, project_id: int, actor_id: int
) -> tuple[str, list[Any]]:
    """``INSERT … RETURNING id, normalized_url`` of ``candidates`` (``_rows_insert_select``):
    each only where the citer has no source for its URL in the statement's snapshot (so an
    existing one takes no value of the id sequence), and ``ON CONFLICT`` on the citer's URL
    (``_CITER_KEY``) doing nothing, so that one a concurrent request of the same citer
    inserted after the snapshot is skipped (and not returned) once that request commits."""
    qn = connection.ops.quote_name
    rows = []
    for source in candidates:
        clash_sql, clash_params = _CITERS_SOURCE.bind(
            project_id=project_id, actor_id=actor_id, url=source.normalized_url
        ).as_sql(connection.alias)
        rows.append((source, f"NOT EXISTS ({clash_sql})", clash_params))
    return _rows_insert_select(
        connection,
        rows,
        conflict=_CITER_KEY,
        returning=f"{qn(str(Source._meta.pk.column))}, {qn(_NORMALIZED_URL)}",
    )


def _sources_read_and_insert(
    connection: Any,
    read: CompiledModels[Source],
    candidates: Sequence[Source],
    *,
    project_id: int,
    actor_id: int,
) -> tuple[list[Source], dict[str, int]]:
    """PostgreSQL: the citer's sources for the ``candidates``' URLs, read by ``read``
    (``_citers_sources_compiled``, for as many URLs), and the insert of the others
    (``_sources_insert_sql``), in one statement: ``WITH new AS (INSERT …) <the read> UNION
    ALL <the new rows>``. The read does not see the rows its statement inserts (one
    snapshot), and the insert only writes a URL the same snapshot has no row for, so each
    URL is in one branch, or in none when a concurrent request of the same citer inserted
    it after the snapshot (``ON CONFLICT`` skipped it). The read's rows come with two null
    columns after its own, the new rows with the read's columns null and then their id and
    normalized URL. Returns the sources read and the new ids by normalized URL."""
    qn = connection.ops.quote_name
    alias = connection.alias
    bound = read.bind(
        project_id=project_id,
        actor_id=actor_id,
        **{f"url{i}": source.normalized_url for i, source in enumerate(candidates)},
    )
    read_sql, read_params = bound.as_sql(alias)
    width = bound.width(alias)
    insert_sql, insert_params = _sources_insert_sql(
        connection, candidates, project_id=project_id, actor_id=actor_id
    )
    pk, normalized = qn(str(Source._meta.pk.column)), qn(_NORMALIZED_URL)
    statement = (
        f"WITH new AS ({insert_sql}) "  # noqa: S608
        f"SELECT found.*, NULL, NULL FROM ({read_sql}) found "
        f"UNION ALL SELECT {'NULL, ' * width}new.{pk}, new.{normalized} FROM new"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*insert_params, *read_params])
        rows = cursor.fetchall()
    found = read.instances(alias, [row for row in rows if row[width] is None])
    return found, {row[width + 1]: row[width] for row in rows if row[width] is not None}


# A source's description: what ``source_update`` may change. The address is not in it.
SOURCE_DESCRIPTION = ("title", "publisher", "published_date", "accessed_date", "archive_url")
URL_FIXED = (
    "A source's URL cannot be changed: every citation of it points there. Cite the other "
    "address as a new source."
)


@transaction.atomic
def source_update(*, source: Source, actor: User, **changes: Any) -> Source:
    """Change a source's description (``SOURCE_DESCRIPTION``: title, publisher, published
    and accessed dates, archive URL) and record ``source.update`` with what changed;
    nothing is recorded when nothing did. Never its URL: the verdicts that cite it would
    then point at another page than the one they judged.

    Only someone ``access.source_can_edit`` allows (PermissionDenied otherwise). Raises
    ValidationError by field on ``url``/``normalized_url`` (``URL_FIXED``) or any other
    field outside the description, on text no database can store, a title over its limit
    (``limits``) and an archive URL that is not http(s); nothing is written then. Locks the
    source row.
    """
    unknown = sorted(set(changes) - set(SOURCE_DESCRIPTION))
    if unknown:
        raise ValidationError(
            {
                name: URL_FIXED
                if name in ("url", "normalized_url")
                else "This field cannot be changed."
                for name in unknown
            }
        )
    locked = Source.objects.select_for_update(no_key=True).get(pk=source.pk)
    access.source_edit_require(user=actor, source=locked)
    _require_storable_text(**changes)
    for name in ("title", "archive_url"):
        if isinstance(changes.get(name), str):
            changes[name] = changes[name].strip()
    errors = limits.length_errors(title=(changes.get("title"), limits.MAX_SOURCE_TITLE))
    if changes.get("archive_url"):
        try:
            public_url(changes["archive_url"])
        except UrlError as exc:
            errors["archive_url"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    fields_update(locked, changes, actor=actor, verb="source.update", project_id=locked.project_id)
    return locked


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
        locked = Source.objects.select_for_update(no_key=True).get(pk=source.pk)
        # Only what is still blank: nothing a person wrote is replaced.
        blank = {
            name: value for name, value in found.items() if value and not getattr(locked, name)
        }
        fields_update(
            locked, blank, actor=actor, verb="source.fetch_metadata", project_id=locked.project_id
        )
    return locked


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
