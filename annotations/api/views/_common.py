"""What the API views share: error documentation, parsing a body or a query parameter,
resolving a project named in a body, and the claim's ETag."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiResponse,
)
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from annotations import access, selectors
from annotations.access import User
from annotations.api.exceptions import PreconditionRequired
from annotations.api.serializers import InputSerializer, plain_body
from annotations.core.numbers import MAX_ID, NOT_ASCII_WHOLE_NUMBER, whole_number
from annotations.dbcursor import unprepared
from annotations.models import Claim, Project, Role

ERRORS = {
    400: OpenApiResponse(description="Invalid input: {field: [message]}"),
    401: OpenApiResponse(description="Not authenticated"),
    403: OpenApiResponse(description="Role too low for this action"),
    404: OpenApiResponse(description="Not found, or not a member of the project"),
}


class UnpreparedList:
    """A list view (before ``generics.ListAPIView`` in its bases) whose page is read
    unprepared (``dbcursor.unprepared``): a plan kept for all its runs, costed for an
    average project or user, would sort a big one's rows for one page."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        with unprepared():
            return super().list(request, *args, **kwargs)  # type: ignore[misc]


def int_param(request: Request, name: str, *, required: bool = False) -> int | None:
    """The id in query parameter ``name``: ASCII digits (``spelled_as_whole_number``),
    from 1 to ``MAX_ID``; empty or absent is None."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if required:
            raise ValidationError({name: ["This query parameter is required."]})
        return None
    value = whole_number(raw)
    if value is None:
        raise ValidationError({name: [NOT_ASCII_WHOLE_NUMBER]})
    if not 0 < value <= MAX_ID:
        raise ValidationError({name: ["Out of range."]})
    return value


def parse_body(
    serializer_class: type[InputSerializer], request: Request, **kwargs: Any
) -> dict[str, Any]:
    """The body, validated by an ``InputSerializer`` (unknown and read-only keys refused):
    a plain body (``serializers.plain_body``) without DRF's per-field machinery, any other
    by the serializer, which words the errors."""
    if not kwargs:
        data = plain_body(serializer_class, request.data)
        if data is not None:
            return data
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def project_from_body(request: Request, project_id: int, *, role: Role) -> Project:
    try:
        project, _ = access.project_get_for_user(user=request.user, pk=project_id, role=role)
    except Http404:
        raise project_unknown(project_id) from None
    return project


def project_unknown(project_id: int) -> ValidationError:
    """The 400 on ``project`` for a body naming a project the caller does not belong to
    (the same whether it exists or not)."""
    return ValidationError({"project": [f"No project with id {project_id} that you belong to."]})


def etag(claim: Claim) -> str:
    return f'"{claim.version}"'


def if_match_version(request: Request) -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired()
    value = header.strip().removeprefix("W/").strip('"')
    # The version as the ETag spells it: ASCII digits ("+3", "1_0" or "٣" are no version).
    version = whole_number(value)
    if version is None or not 0 <= version <= MAX_ID:
        raise ValidationError({"If-Match": ['Send the claim\'s ETag, e.g. If-Match: "3".']})
    return version


def claim_reloaded(claim: Claim, user: User) -> Claim:
    """The claim as stored now, as ``user`` is shown it (``selectors.claim_presented``)."""
    return selectors.claim_presented(pk=claim.pk, user=user)
