"""Webhooks of a project (issue 15): endpoints, their deliveries with the log, replay.

Project admins only: a non-member gets 404, a member below admin 403. An endpoint's
secret is in the answer that makes it (create, rotate-secret) and nowhere else."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, services
from annotations.api import serializers as s
from annotations.api.filters import WebhookDeliveryFilter
from annotations.api.views._common import ERRORS, parse_body
from annotations.models import Role, WebhookDelivery, WebhookEndpoint

PENDING = {409: OpenApiResponse(description="The delivery is still pending")}


def _endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "active": endpoint.active,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def _issued(issued: services.IssuedEndpoint) -> dict[str, Any]:
    return {**_endpoint(issued.endpoint), "secret": issued.secret}


class WebhookEndpointsApi(APIView):
    pagination_class = None

    @extend_schema(responses={200: s.WebhookEndpointSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        endpoints = access.webhook_endpoints_of_project(project=project)
        return Response(
            s.WebhookEndpointSerializer([_endpoint(e) for e in endpoints], many=True).data
        )

    @extend_schema(
        request=s.WebhookEndpointCreateSerializer,
        responses={201: s.WebhookEndpointSecretSerializer, **ERRORS},
        description=(
            "Add an endpoint. The answer carries its signing secret (whsec_…), the only "
            "time it is shown; rotate-secret makes a new one."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        project, _ = access.project_get_for_user(user=request.user, pk=pk, role=Role.ADMIN)
        data = parse_body(s.WebhookEndpointCreateSerializer, request)
        issued = services.webhook_endpoint_create(project=project, actor=request.user, **data)
        return Response(
            s.WebhookEndpointSecretSerializer(_issued(issued)).data, status=status.HTTP_201_CREATED
        )


class WebhookEndpointDetailApi(APIView):
    @extend_schema(responses={200: s.WebhookEndpointSerializer, **ERRORS})
    def get(self, request: Request, pk: int, endpoint_pk: int) -> Response:
        endpoint = access.webhook_endpoint_get_for_admin(
            user=request.user, project_pk=pk, pk=endpoint_pk
        )
        return Response(s.WebhookEndpointSerializer(_endpoint(endpoint)).data)

    @extend_schema(
        request=s.WebhookEndpointUpdateSerializer,
        responses={200: s.WebhookEndpointSerializer, **ERRORS},
    )
    def patch(self, request: Request, pk: int, endpoint_pk: int) -> Response:
        endpoint = access.webhook_endpoint_get_for_admin(
            user=request.user, project_pk=pk, pk=endpoint_pk
        )
        data = parse_body(s.WebhookEndpointUpdateSerializer, request)
        endpoint = services.webhook_endpoint_update(
            endpoint=endpoint, actor=request.user, changes=data
        )
        return Response(s.WebhookEndpointSerializer(_endpoint(endpoint)).data)

    @extend_schema(request=None, responses={204: None, **ERRORS})
    def delete(self, request: Request, pk: int, endpoint_pk: int) -> Response:
        endpoint = access.webhook_endpoint_get_for_admin(
            user=request.user, project_pk=pk, pk=endpoint_pk
        )
        parse_body(s.NoBodySerializer, request)
        services.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.WebhookEndpointSecretSerializer, **ERRORS},
        description="A new signing secret, shown this once; the old one stops signing now.",
    )
    def post(self, request: Request, pk: int, endpoint_pk: int) -> Response:
        endpoint = access.webhook_endpoint_get_for_admin(
            user=request.user, project_pk=pk, pk=endpoint_pk
        )
        parse_body(s.NoBodySerializer, request)
        issued = services.webhook_endpoint_rotate(endpoint=endpoint, actor=request.user)
        return Response(s.WebhookEndpointSecretSerializer(_issued(issued)).data)


class WebhookDeliveriesApi(generics.ListAPIView):
    """An endpoint's deliveries, oldest first (keyset pages), each with its attempts."""

    serializer_class = s.WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator's call
            return WebhookDelivery.objects.none()
        endpoint = access.webhook_endpoint_get_for_admin(
            user=self.request.user, project_pk=self.kwargs["pk"], pk=self.kwargs["endpoint_pk"]
        )
        return WebhookDelivery.objects.filter(endpoint=endpoint).prefetch_related("log")

    @extend_schema(responses={200: s.WebhookDeliverySerializer(many=True), **ERRORS})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class WebhookDeliveryReplayApi(APIView):
    @extend_schema(
        request=None,
        responses={202: s.WebhookDeliverySerializer, **PENDING, **ERRORS},
        description=(
            "Send a delivered or failed delivery again, now, with the same webhook-id and "
            "body (the worker sends it)."
        ),
    )
    def post(self, request: Request, pk: int, endpoint_pk: int, delivery_pk: int) -> Response:
        delivery = access.webhook_delivery_get_for_admin(
            user=request.user, project_pk=pk, endpoint_pk=endpoint_pk, pk=delivery_pk
        )
        parse_body(s.NoBodySerializer, request)
        delivery = services.webhook_replay(delivery=delivery, actor=request.user)
        delivery = WebhookDelivery.objects.prefetch_related("log").get(pk=delivery.pk)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
