"""API tokens: a password for a new token, revoking the token in use, revoking them all.

Tokens are stored hashed and may expire (``annotations.services.tokens``); a password
change, "sign out everywhere" (the token page, the admin) and ``DELETE /auth/tokens/``
revoke them all.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import services
from annotations.api import serializers as s
from annotations.api.authentication import TokenAuthentication
from annotations.api.permissions import IsActiveUser, TokenRateThrottle
from annotations.api.views._common import ERRORS, parse_body

EXCHANGE = (
    "Exchange a username and password for a **new** API token, sent as "
    "`Authorization: Token <token>`. Every call makes another token, with its expiry "
    "(`null`: until revoked); the secret is shown in this answer only (the server keeps "
    "a hash). The only operation open to anonymous callers: throttled per address, and "
    "failed passwords count towards the sign-in lockout (429 once locked out)."
)
REVOKE = (
    "Revoke the token this request is authenticated with (a script signing out): it "
    "stops working at once. Only a token authenticates this call; a browser session has "
    "no token to revoke."
)
REVOKE_ALL = (
    "Revoke every API token of the caller, the one in use included. Browser sessions "
    "stay signed in; the token page's *Sign out everywhere* ends those too. A password "
    "change revokes every token as well."
)


class TokenApi(APIView):
    """``POST``: a username and password for a new token. ``DELETE``: revoke the token in
    use. See ``EXCHANGE`` and ``REVOKE`` (the OpenAPI descriptions)."""

    def _exchange(self) -> bool:
        """Anything but DELETE is the anonymous password exchange (other verbs: 405)."""
        request = getattr(self, "request", None)
        return getattr(request, "method", "POST") != "DELETE"

    def get_authenticators(self) -> list[Any]:
        # The password exchange ignores any credentials sent along; DELETE needs a token.
        return [] if self._exchange() else [TokenAuthentication()]

    def get_permissions(self) -> list[Any]:
        # Anonymous callers may exchange a password; the query checks hold all the same.
        permissions = super().get_permissions()
        if self._exchange():
            return [p for p in permissions if not isinstance(p, IsActiveUser)]
        return permissions

    def get_throttles(self) -> list[Any]:
        return [TokenRateThrottle()] if self._exchange() else super().get_throttles()

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={
            200: s.TokenSerializer,
            400: ERRORS[400],
            429: OpenApiResponse(description="Too many attempts; try again later"),
        },
        auth=[],
        description=EXCHANGE,
    )
    def post(self, request: Request) -> Response:
        # authenticate() gets Django's request, on which django-axes marks a lockout that
        # its middleware turns into a 429.
        serializer = s.TokenRequestSerializer(
            data=request.data, context={"request": request._request}
        )
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        issued = services.token_create(user=user, actor=user, via="api")
        answer = {
            "token": issued.secret,
            "id": services.token_id(issued.token),
            "expiry": issued.token.expiry,
        }
        return Response(s.TokenSerializer(answer).data)

    @extend_schema(request=None, responses={204: None, 401: ERRORS[401]}, description=REVOKE)
    def delete(self, request: Request) -> Response:
        # It revokes the token it is sent with, nothing named in a body: a body such as
        # {"token": "<another>"} is refused rather than ignored (the outside probe).
        parse_body(s.NoBodySerializer, request)
        services.token_revoke(token=request.auth, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokensApi(APIView):
    """``DELETE``: revoke every API token of the caller (``REVOKE_ALL``)."""

    @extend_schema(
        request=None,
        responses={200: s.TokensRevokedSerializer, 401: ERRORS[401]},
        description=REVOKE_ALL,
    )
    def delete(self, request: Request) -> Response:
        parse_body(s.NoBodySerializer, request)
        revoked = services.tokens_revoke_all(
            user=request.user, actor=request.user, reason="api_revoke_all"
        )
        return Response({"revoked": revoked})
