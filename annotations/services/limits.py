"""How much text the services store per field, and the one message for going over.

The services enforce these limits themselves, so every way in (the API, the reviewer
UI, the admin panel, the management commands) refuses the same input with the same
message. Serializers and forms read the same constants, which gives the browser its
``maxlength`` and the OpenAPI schema its ``maxLength``, and they report with the same
message: Django's ``MaxLengthValidator`` ("Ensure this value has at most 5000
characters (it has 5001).").

Fields stored in a ``CharField`` take their bound from the column, so the two cannot
drift apart; the free-text fields (``TextField`` columns) are bounded here.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from annotations.core.urlnorm import MAX_URL_LENGTH
from annotations.models import Claim, Document, Invitation, Project, Reference, Source

# Free text, in TextField columns.
MAX_STATEMENT = 5_000  # a claim in the checker's words
MAX_RATIONALE = 20_000  # a verdict's reasoning
MAX_QUOTE = 5_000  # the passage of a source a citation quotes
MAX_NOTE = 5_000  # an editor's decision, a reopening, a text revision, a re-anchoring
MAX_REASON = 2_000  # why a claim is skipped or withdrawn
MAX_SUMMARY = 10_000  # a published fact check's summary for readers
MAX_COMMENT = 5_000  # one comment in a claim's discussion
MAX_CITATIONS = 50  # citations per verdict
MAX_OPEN_INVITATIONS = 200  # invitations of one project awaiting an answer at once
MAX_REFERENCES_PER_REQUEST = 1_000  # references per POST (the import command sends batches)
TOO_MANY_CITATIONS = f"At most {MAX_CITATIONS} citations per verdict."

# Bounded by their columns.
MAX_CLAIMANT: int = Claim._meta.get_field("claimant").max_length  # type: ignore[assignment]
MAX_TITLE: int = Document._meta.get_field("title").max_length  # type: ignore[assignment]
MAX_PUBLISHER: int = Document._meta.get_field("publisher").max_length  # type: ignore[assignment]
MAX_AUTHOR: int = Document._meta.get_field("author").max_length  # type: ignore[assignment]
MAX_LANGUAGE: int = Document._meta.get_field("language").max_length  # type: ignore[assignment]
MAX_PROJECT_NAME: int = Project._meta.get_field("name").max_length  # type: ignore[assignment]
MAX_ORGANIZATION: int = Project._meta.get_field("organization").max_length  # type: ignore[assignment]
MAX_SOURCE_TITLE: int = Source._meta.get_field("title").max_length  # type: ignore[assignment]
MAX_URL = MAX_URL_LENGTH
MAX_REFERENCE_HEADLINE: int = Reference._meta.get_field("headline").max_length  # type: ignore[assignment]
MAX_REFERENCE_RATING: int = Reference._meta.get_field("rating").max_length  # type: ignore[assignment]
# The username or email address an invitation names.
MAX_INVITED_AS: int = Invitation._meta.get_field("invited_as").max_length  # type: ignore[assignment]


def length_errors(**fields: tuple[object, int]) -> dict[str, list[str]]:
    """``{field: [message]}`` for each ``field=(value, limit)`` whose text is longer than
    ``limit`` characters; values that are not text are left to other checks."""
    errors: dict[str, list[str]] = {}
    for name, (value, limit) in fields.items():
        if not isinstance(value, str) or len(value) <= limit:  # the validator's own test
            continue
        try:
            MaxLengthValidator(limit)(value)
        except ValidationError as exc:
            errors[name] = list(exc.messages)
    return errors


def require_lengths(**fields: tuple[object, int]) -> None:
    """Raise ValidationError keyed by field when a text is over its limit (see
    ``length_errors``). Call it before anything is written."""
    errors = length_errors(**fields)
    if errors:
        raise ValidationError(errors)
