"""Documents: canonical text, hash, provenance; single and bulk creation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.core import spans
from annotations.core.urlnorm import UrlError, check_url
from annotations.models import (
    Document,
    Event,
    Project,
)
from annotations.services import limits
from annotations.services._base import (
    User,
    _storable_text_errors,
    event_record,
)

BULK_INSERT_BATCH = 50  # documents per INSERT of a bulk import


@dataclass(frozen=True)
class DocumentInput:
    title: str
    text: str
    raw_text: str | None = None
    source_url: str = ""
    publisher: str = ""
    author: str = ""
    published_date: dt.date | None = None
    language: str = ""


def _document_build(*, project: Project, data: DocumentInput, actor: User | None) -> Document:
    errors: dict[str, str | list[str]] = {}
    if not isinstance(data.text, str) or not data.text.strip():
        errors["text"] = "The document text is empty."
    elif len(data.text) > settings.WORKBENCH_MAX_DOCUMENT_CHARS:
        errors["text"] = (
            f"The text has {len(data.text):,} characters; the limit is "
            f"{settings.WORKBENCH_MAX_DOCUMENT_CHARS:,} (WORKBENCH_MAX_DOCUMENT_CHARS)."
        )
    if not (data.title or "").strip():
        errors["title"] = "A title is required."
    errors.update(limits.length_errors(title=((data.title or "").strip(), limits.MAX_TITLE)))
    if data.source_url:
        try:
            check_url(data.source_url)
        except UrlError as exc:
            errors["source_url"] = str(exc)
    # Before the hash (UTF-8 cannot encode a lone surrogate) and before PostgreSQL (NUL).
    unstorable = _storable_text_errors(
        title=data.title,
        text=data.text,
        raw_text=data.raw_text,
        source_url=data.source_url,
        publisher=data.publisher,
        author=data.author,
        language=data.language,
    )
    errors.update({name: messages for name, messages in unstorable.items() if name not in errors})
    if errors:
        raise ValidationError(errors)
    text = spans.canonicalize(data.text)
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
        language=data.language,
        created_by=actor,
    )
    # project and created_by are loaded objects (the caller checked access): validating
    # them would cost one existence query per document, 500 queries for a bulk import.
    document.full_clean(
        exclude=["text_sha256", "project", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    return document


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
    # In batches: one INSERT of 1,000 book-sized texts is a query string as large as all
    # of them (psycopg binds client-side), on top of the texts themselves.
    created = Document.objects.bulk_create(
        [document for _, document in built], batch_size=BULK_INSERT_BATCH
    )
    Event.objects.bulk_create(
        Event(
            actor=actor,
            verb="document.create",
            object_type="document",
            object_id=document.pk,
            project=project,
            after={
                "title": document.title,
                "text_sha256": document.text_sha256,
                "length": document.length,
            },
        )
        for document in created
    )
    return created
