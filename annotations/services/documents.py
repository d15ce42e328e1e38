"""Documents: canonical text, hash, provenance; single and bulk creation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import router, transaction

from annotations import access
from annotations.core import language as languages
from annotations.core import spans, textchunks
from annotations.core.urlnorm import UrlError
from annotations.models import (
    Document,
    DocumentTextChunk,
    Project,
    Role,
    TextDirection,
)
from annotations.services import limits
from annotations.services._base import (
    User,
    _storable_text_errors,
    event_build,
    event_record,
    events_record,
    fields_update,
    public_url,
    rows_copy,
    tasks_enqueue_with_transaction,
)
from annotations.services.references import repeats_tasks
from annotations.services.suggestions import suggestions_tasks

BULK_INSERT_BATCH = 50  # documents per INSERT of a bulk import
CHUNK_INSERT_BATCH = 20  # text chunks (up to 64 kB each) per INSERT


@dataclass(frozen=True)
class DocumentInput:
    title: str
    text: str
    raw_text: str | None = None
    source_url: str = ""
    publisher: str = ""
    author: str = ""
    published_date: dt.date | None = None
    language: str = ""  # BCP 47; detected from the text when empty
    direction: str = ""  # ltr, rtl or auto; from the language (or the text) when empty


_DIRECTIONS = frozenset(["", *TextDirection.values])  # the enum builds its list per call


def _metadata_errors(
    *,
    title: object,
    source_url: object = "",
    publisher: object = "",
    author: object = "",
    language: object = "",
    direction: object = "",
) -> dict[str, str | list[str]]:
    """Problems with a document's description, by field: a title is required, every text
    is within its limit (``limits``), the source URL is http(s) on a public host
    (``public_url``), the language is a BCP 47
    tag (or empty) and the direction one of ``TextDirection``, and no field holds text a
    database cannot store (NUL, a lone surrogate)."""
    errors: dict[str, str | list[str]] = {}
    if not isinstance(title, str) or not title.strip():
        errors["title"] = "A title is required."
    errors.update(
        limits.length_errors(
            title=(title.strip() if isinstance(title, str) else title, limits.MAX_TITLE),
            publisher=(publisher, limits.MAX_PUBLISHER),
            author=(author, limits.MAX_AUTHOR),
            language=(language, limits.MAX_LANGUAGE),
        )
    )
    if source_url:
        try:
            public_url(source_url)  # type: ignore[arg-type]
        except UrlError as exc:
            errors["source_url"] = str(exc)
    unstorable = _storable_text_errors(
        title=title, source_url=source_url, publisher=publisher, author=author, language=language
    )
    errors.update({name: messages for name, messages in unstorable.items() if name not in errors})
    if "language" not in errors and isinstance(language, str):
        problem = languages.language_error(language)
        if problem:
            errors["language"] = problem
    if direction not in _DIRECTIONS:
        errors["direction"] = "The direction is one of ltr, rtl or auto."
    return errors


def _document_build(*, project: Project, data: DocumentInput, actor: User | None) -> Document:
    errors: dict[str, str | list[str]] = {}
    if not isinstance(data.text, str) or not data.text.strip():
        errors["text"] = "The document text is empty."
    elif len(data.text) > settings.WORKBENCH_MAX_DOCUMENT_CHARS:
        errors["text"] = (
            f"The text has {len(data.text):,} characters; the limit is "
            f"{settings.WORKBENCH_MAX_DOCUMENT_CHARS:,} (WORKBENCH_MAX_DOCUMENT_CHARS)."
        )
    errors.update(
        _metadata_errors(
            title=data.title,
            source_url=data.source_url,
            publisher=data.publisher,
            author=data.author,
            language=data.language,
            direction=data.direction,
        )
    )
    # Before the hash (UTF-8 cannot encode a lone surrogate) and before PostgreSQL (NUL).
    unstorable = _storable_text_errors(text=data.text, raw_text=data.raw_text)
    errors.update({name: messages for name, messages in unstorable.items() if name not in errors})
    if errors:
        raise ValidationError(errors)
    text = spans.canonicalize(data.text)
    # A language given (by a person, the page's markup, the batch file) wins; otherwise
    # detect it from the start of the text. The direction follows the language, or the text.
    language, direction = languages.language_and_direction(
        text=text, language=languages.normalize_tag(data.language), direction=data.direction
    )
    document = Document(
        project=project,
        title=data.title.strip(),
        text=text,
        text_sha256=spans.text_sha256(text),
        length=len(text),
        raw_text=data.text if data.raw_text is None else data.raw_text,
        source_url=data.source_url.strip(),
        publisher=data.publisher,
        author=data.author,
        published_date=data.published_date,
        language=language,
        direction=direction,
        created_by=actor,
    )
    _document_clean(document)
    return document


# Every field but the source URL: what ``_document_clean`` leaves out when the values are
# of the declared types.
_ALL_BUT_SOURCE_URL = [
    field.name for field in Document._meta.concrete_fields if field.name != "source_url"
]


def _document_clean(document: Document) -> None:
    """The model's checks (``full_clean``) that ``_document_build``'s own have not made.

    Those cover the title, the text, the lengths (the limits are the columns' own), NUL,
    the language and the direction; what they leave is the source URL's syntax as the
    column's ``URLValidator`` reads it (stricter about host names than ``check_url``), so
    only that field is cleaned. A value of another type than ``DocumentInput`` declares
    (which ``full_clean`` would convert, a date given as text) gets the whole
    ``full_clean`` as before. ``full_clean`` for each of a bulk import's documents was
    about a tenth of its CPU. project and created_by are loaded objects (the caller
    checked access): validating them would cost one existence query per document."""
    plain = (
        type(document.raw_text) is str
        and type(document.publisher) is str
        and type(document.author) is str
        and (document.published_date is None or type(document.published_date) is dt.date)
    )
    if not plain:
        document.full_clean(
            exclude=["text_sha256", "project", "created_by"],
            validate_unique=False,
            validate_constraints=False,
        )
    elif document.source_url:
        document.clean_fields(exclude=_ALL_BUT_SOURCE_URL)


def _duplicate_error(document: Document) -> ValidationError:
    message = f"This project already has a document with the same text (sha256 {document.text_sha256[:12]}…)."
    return ValidationError({"text": ValidationError(message, code="duplicate")})


@transaction.atomic
def document_create(*, project: Project, data: DocumentInput, actor: User | None) -> Document:
    """Store a document's canonical text (NFC, ``\\n``), its hash and the raw text as provenance.

    Raises ValidationError (code ``duplicate`` on the text field) when the project already
    holds the same canonical text, and on any field whose text holds NUL or a lone
    surrogate (no database column stores them; importers drop control characters from
    the text they clean, see ``cleaning.drop_control_characters``).
    """
    document = _document_build(project=project, data=data, actor=actor)
    if Document.objects.filter(project=project, text_sha256=document.text_sha256).exists():
        raise _duplicate_error(document)
    document.save()
    _text_chunks_write([document])
    event_record(
        actor=actor,
        verb="document.create",
        obj=document,
        project=project,
        after={
            "title": document.title,
            "text_sha256": document.text_sha256,
            "length": document.length,
        },
    )
    text_tasks_enqueue([document.pk])
    return document


@transaction.atomic
def document_create_many(
    *, project: Project, items: Sequence[DocumentInput], actor: User | None
) -> list[Document]:
    """Bulk import: all documents or none. Errors are keyed ``"<index>.<field>"``."""
    built: list[tuple[int, Document]] = []
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            document = _document_build(project=project, data=item, actor=actor)
        except ValidationError as exc:
            errors.update(
                {f"{index}.{field}": messages for field, messages in exc.message_dict.items()}
            )
            continue
        if document.text_sha256 in seen:
            errors[f"{index}.text"] = ["Same text as an earlier item of this request."]
            continue
        seen.add(document.text_sha256)
        built.append((index, document))
    existing = set(
        Document.objects.filter(project=project, text_sha256__in=seen).values_list(
            "text_sha256", flat=True
        )
    )
    for index, document in built:
        if document.text_sha256 in existing:
            errors[f"{index}.text"] = _duplicate_error(document).messages
    if errors:
        raise ValidationError(errors)
    created = _documents_insert([document for _, document in built])
    _text_chunks_write(created)
    events_record(
        [
            event_build(
                actor=actor,
                verb="document.create",
                object_type="document",
                object_id=document.pk,
                project_id=project.pk,
                after={
                    "title": document.title,
                    "text_sha256": document.text_sha256,
                    "length": document.length,
                },
            )
            for document in created
        ]
    )
    text_tasks_enqueue([document.pk for document in created])
    return created


def text_tasks_enqueue(document_ids: Sequence[int]) -> None:
    """Queue what follows a new text, in the caller's transaction (the rows commit with
    it, or not at all) and with one INSERT on the database queue: its check-worthy
    sentences (``suggestions_tasks``) and its scan for repeats (``repeats_tasks``). Every
    path that stores a text calls it: creation (one and bulk) and revision."""
    tasks_enqueue_with_transaction(
        [*suggestions_tasks(document_ids), *repeats_tasks(document_ids)],
        alias=router.db_for_write(Document),
    )


def _documents_insert(documents: list[Document]) -> list[Document]:
    """Insert new documents, setting their ids in list order: one ``COPY`` on PostgreSQL
    (``rows_copy``: it streams the texts instead of quoting them into INSERT statements,
    and a 500-document import spends a fraction of the time). Elsewhere ``bulk_create``
    in batches of ``BULK_INSERT_BATCH``: one INSERT of 1,000 book-sized texts would be a
    statement as large as all of them, on top of the texts themselves."""
    if not rows_copy(documents):
        return Document.objects.bulk_create(documents, batch_size=BULK_INSERT_BATCH)
    return documents


def _text_chunks_write(documents: Iterable[Document], *, replace: bool = False) -> None:
    """Write the text chunks (``DocumentTextChunk``) of saved ``documents``: the one place
    they are written. Every path that stores a document's text calls it: creation (one
    and bulk), revision (``replace``: the old chunks are deleted first, in the same
    transaction), native import and restore. Only documents longer than
    ``textchunks.CHUNK`` get chunks; ``raw_text`` is never chunked. No query when none
    of them is long (and nothing is replaced)."""
    documents = list(documents)
    if replace:
        DocumentTextChunk.objects.filter(document__in=[d.pk for d in documents]).delete()
    rows = [
        DocumentTextChunk(document_id=document.pk, seq=seq, text=chunk)
        for document in documents
        if textchunks.chunked(len(document.text))
        for seq, chunk in enumerate(textchunks.split(document.text))
    ]
    if rows:
        DocumentTextChunk.objects.bulk_create(rows, batch_size=CHUNK_INSERT_BATCH)


# A document's description: what ``document_update`` may change. The text is not in it.
DOCUMENT_METADATA = (
    "title",
    "source_url",
    "publisher",
    "author",
    "published_date",
    "language",
    "direction",
)
TEXT_FIXED = (
    "The text cannot be changed: claims are anchored to it. Import the corrected text as a "
    "new revision instead."
)


@transaction.atomic
def document_update(*, document: Document, actor: User, **changes: Any) -> Document:
    """Change a document's description (``DOCUMENT_METADATA``: title, source URL,
    publisher, author, published date, language, direction) and record ``document.update``
    with what changed; nothing is recorded when nothing did. A new language without a
    direction brings the direction it implies (``core.language.direction_of``; ``auto``
    when it implies none). The text never changes here: claims are
    anchored to it, and a corrected text is a new revision (``document_revise``).

    Needs the editor role in the document's project (PermissionDenied). Raises
    ValidationError by field on ``text``/``raw_text`` (``TEXT_FIXED``) or any other field
    outside the description, and on the checks ``document_create`` makes of the same
    fields (a title, ``limits``, http(s) source URL, storable text); nothing is written
    then. Locks the document row.
    """
    unknown = sorted(set(changes) - set(DOCUMENT_METADATA))
    if unknown:
        raise ValidationError(
            {
                name: TEXT_FIXED
                if name in ("text", "raw_text")
                else "This field cannot be changed."
                for name in unknown
            }
        )
    access.membership_require(user=actor, project_id=document.project_id, role=Role.EDITOR)
    for name in ("title", "source_url", "language"):
        if isinstance(changes.get(name), str):
            changes[name] = changes[name].strip()
    locked = (
        Document.objects.select_for_update(no_key=True)
        .defer("text", "raw_text")
        .get(pk=document.pk)
    )
    before = {name: getattr(locked, name) for name in DOCUMENT_METADATA}
    text_fields = {name: before[name] for name in DOCUMENT_METADATA if name != "published_date"}
    errors = _metadata_errors(**{**text_fields, **_without(changes, "published_date")})
    errors = {name: messages for name, messages in errors.items() if name in changes}
    if errors:
        raise ValidationError(errors)
    if "language" in changes:
        changes["language"] = languages.normalize_tag(changes["language"])
        if "direction" not in changes and changes["language"] != locked.language:
            changes["direction"] = languages.direction_of(changes["language"])
    if changes.get("direction") == "":  # "as the language says"
        changes["direction"] = languages.direction_of(changes.get("language", locked.language))
    fields_update(
        locked, changes, actor=actor, verb="document.update", project_id=locked.project_id
    )
    return locked


def _without(mapping: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key != name}
