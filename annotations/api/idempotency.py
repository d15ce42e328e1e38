"""``Idempotency-Key`` on the API's creating POSTs: one decorator, ``@idempotent``.

A client that sends ``Idempotency-Key: <key>`` (printable ASCII, at most 255 characters;
a UUID) can send the same request again, e.g. after a 503 or a timeout left it unsure
whether the first one landed: the repeat gets the first answer (same status and JSON
body, plus ``Idempotent-Replayed: true``) and writes nothing. The same key with another
body or on another endpoint is a 422; a bad key a 400 naming the header. Without the
header nothing changes. The rules, the transaction and the storage are the service's
(``services.idempotency_run``); this module only speaks HTTP: it reads the header and the
body, decides which answers are kept (2xx only) and documents the header in the schema.

Put ``@idempotent`` ABOVE the method's ``@extend_schema`` (outermost): it adds the
header parameter and the 409/422 answers to what that declaration says.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse, RawPostDataException
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from annotations import services
from annotations.core import idempotency as core

REPLAYED_HEADER = "Idempotent-Replayed"

PARAMETER = OpenApiParameter(
    core.HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Optional, to make a retry safe: a key of your choice (printable ASCII, at most "
        f"{core.MAX_KEY_LENGTH} characters; a UUID), new for each new request. Sending the "
        f"same request again with the same key (after a timeout or a 503) returns the first "
        f"answer with `{REPLAYED_HEADER}: true` and writes nothing; the same key with another "
        f"body or endpoint is a 422. Keys are yours alone and kept for "
        f"{services.idempotency.DEFAULT_TTL_HOURS} hours by default. Only successful answers "
        f"are kept: after a 4xx, fix the request and send it with the same key."
    ),
)
RESPONSES = {
    409: OpenApiResponse(
        description="Conflict; with Idempotency-Key also: a request with this key is in progress"
    ),
    422: OpenApiResponse(description="Idempotency-Key already used for a different request"),
}

Handler = Callable[..., HttpResponse]
Prepare = Callable[..., Any]


def _key(request: Request) -> str | None:
    """The checked key, None without the header; ``ValidationError`` naming the header."""
    raw = request.headers.get(core.HEADER)
    if raw is None:
        return None
    try:
        return core.check_key(raw)
    except core.InvalidKey as exc:
        raise ValidationError({core.HEADER: [str(exc)]}) from None


def _keyed(request: Request, key: str) -> services.IdempotentRequest:
    method = request.method or "POST"
    path = request.get_full_path()
    return services.IdempotentRequest(
        user=request.user,
        key=key,
        method=method,
        path=path,
        fingerprint=core.request_fingerprint(method, path, _body(request)),
    )


def _body(request: Request) -> bytes:
    try:
        return request.body
    except RawPostDataException:  # already parsed from the stream: its content counts
        return JSONRenderer().render(request.data)


def _kept(response: HttpResponse) -> services.StoredAnswer | None:
    """The answer to keep for a repeat: a successful JSON answer, rendered as sent."""
    if not 200 <= response.status_code < 300 or not isinstance(response, Response):
        return None
    body = b"" if response.data is None else JSONRenderer().render(response.data)
    return services.StoredAnswer(status_code=response.status_code, body=body.decode())


def replayed(answer: services.StoredAnswer) -> HttpResponse:
    response = HttpResponse(
        answer.body.encode(), status=answer.status_code, content_type="application/json"
    )
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(handler: Handler | None = None, *, prepare: Prepare | None = None) -> Any:
    """Decorate a creating ``post`` of an APIView (see the module's docstring).

    ``prepare(view, request, *args, **kwargs)``, if given, runs after the key is checked and
    before the transaction opens, for slow work that must not hold it (fetching a URL); its
    result reaches the handler as ``prepared=``. A repeat is answered before it runs.
    """

    def decorate(method: Handler) -> Handler:
        @functools.wraps(method)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
            prepared: dict[str, Any] = {}

            def call() -> HttpResponse:
                if prepare is not None and "prepared" not in prepared:
                    prepared["prepared"] = prepare(view, request, *args, **kwargs)
                return method(view, request, *args, **kwargs, **prepared)

            def produce() -> tuple[HttpResponse, services.StoredAnswer | None]:
                response = call()
                return response, _kept(response)

            def refuse(refusal: Exception) -> HttpResponse:
                # The request's own refusals come first (404 for a non-member, 400 for a
                # bad body); only a request that would succeed is refused for its key.
                response = services.idempotency_dry_run(produce=call)
                if not 200 <= response.status_code < 300:
                    return response
                raise refusal

            try:
                key = _key(request)
            except ValidationError as refusal:
                return refuse(refusal)
            if key is None:
                return call()
            keyed = _keyed(request, key)
            try:
                if prepare is not None:
                    # A repeat is answered before preparing (no second fetch).
                    stored = services.idempotency_stored(request=keyed)
                    if stored is not None:
                        return replayed(stored)
                    prepared["prepared"] = prepare(view, request, *args, **kwargs)
                outcome = services.idempotency_run(request=keyed, produce=produce)
            except services.KeyReused as refusal:
                return refuse(refusal)
            if isinstance(outcome, services.Replay):
                return replayed(outcome.answer)
            return outcome

        _document(wrapper)
        return wrapper

    return decorate(handler) if handler is not None else decorate


def _document(wrapper: Any) -> None:
    """Add the header and the 409/422 answers to the operation's schema, on top of the
    method's own ``@extend_schema`` (the same hook drf-spectacular's decorator uses)."""
    kwargs = dict(getattr(wrapper, "kwargs", {}))
    base = kwargs.get("schema") or api_settings.DEFAULT_SCHEMA_CLASS

    class IdempotentSchema(base):  # type: ignore[misc, valid-type]
        def get_override_parameters(self) -> list[Any]:
            return [*super().get_override_parameters(), PARAMETER]

        def get_response_serializers(self) -> Any:
            responses = super().get_response_serializers()
            if isinstance(responses, dict):
                return {**RESPONSES, **responses, 422: RESPONSES[422]}
            return responses

    kwargs["schema"] = IdempotentSchema
    wrapper.kwargs = kwargs
