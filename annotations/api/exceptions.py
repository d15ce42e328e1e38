"""One JSON error shape for the API: ``{"field": ["message"]}`` or ``{"detail": "message"}``;
a verdict's citations refused one by one (``services.CitationErrors``) are keyed by
citation index from 0, ``{"citations": {"1": {"url": ["message"]}}}``, as DRF keys a list
field's items.

Services raise Django's ValidationError (400), ``QueueConflict`` (409; a
``DuplicateClaim`` adds ``{"existing": {"id", "url"}}``), ``StaleVersion`` (412) and, for
``Idempotency-Key``, ``KeyReused`` (422) and ``KeyInProgress`` (409); the API maps them
here so views stay thin.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from annotations.services import (
    CitationErrors,
    DuplicateClaim,
    KeyInProgress,
    KeyReused,
    QueueConflict,
    StaleVersion,
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Unprocessable(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The claim has changed since you read it."
    default_code = "precondition_failed"


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send If-Match with the claim's current version (its ETag)."
    default_code = "precondition_required"


def validation_error_data(exc: DjangoValidationError) -> dict[str, Any]:
    if isinstance(exc, CitationErrors) and exc.by_citation:
        # A citation's problems keyed by its index in the list sent (from 0), as DRF keys a
        # list field's item errors (the serializer's own refusals of a citation look the
        # same); what concerns them all under "non_field_errors", as DRF puts a list's.
        citations: dict[str, Any] = {
            str(index): fields for index, fields in sorted(exc.by_citation.items())
        }
        if exc.general:
            citations["non_field_errors"] = exc.general
        return {"citations": citations}
    if hasattr(exc, "error_dict"):
        return {field: _plain(messages) for field, messages in exc.message_dict.items()}
    return {"detail": " ".join(exc.messages)}


def _plain(messages: Any) -> Any:
    return list(messages) if isinstance(messages, (list, tuple)) else [messages]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(validation_error_data(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DuplicateClaim):
        set_rollback()
        url = reverse("api:claim-detail", args=[exc.existing_id])
        request = context.get("request")
        return Response(
            {
                "detail": str(exc),
                "existing": {
                    "id": exc.existing_id,
                    "url": request.build_absolute_uri(url) if request is not None else url,
                },
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, KeyReused):
        exc = Unprocessable(str(exc))
    elif isinstance(exc, (QueueConflict, KeyInProgress)):
        exc = Conflict(str(exc))
    elif isinstance(exc, StaleVersion):
        response = drf_exception_handler(PreconditionFailed(str(exc)), context)
        if response is not None:
            response["ETag"] = f'"{exc.current}"'
        return response
    return drf_exception_handler(exc, context)
