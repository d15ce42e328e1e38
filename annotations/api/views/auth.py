"""Signing scripts in: a username and password for an API token."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.api import serializers as s
from annotations.api.permissions import TokenRateThrottle
from annotations.api.views._common import ERRORS


class TokenApi(APIView):
    """Exchange a username and password for an API token (``Authorization: Token …``).

    The only view open to anonymous callers. Throttled per address, and failed passwords
    count towards the django-axes lockout of the login page (429 once locked out)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [TokenRateThrottle]

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={
            200: s.TokenSerializer,
            400: ERRORS[400],
            429: OpenApiResponse(description="Too many attempts; try again later"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # authenticate() gets Django's request, on which django-axes marks a lockout that
        # its middleware turns into a 429.
        serializer = s.TokenRequestSerializer(
            data=request.data, context={"request": request._request}
        )
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
