"""List filters from a fixed vocabulary (django-filter). Nothing a client sends becomes an
ORM lookup name; invalid values are a 400 naming the parameter, and so are unknown
parameters (``annotations.api.query``)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from annotations import access
from annotations.api.query import BOOLEAN_VALUES, NOT_BOOLEAN, boolean_value
from annotations.core.numbers import MAX_ID
from annotations.core.webhooks import EVENT_TYPES
from annotations.formfields import AsciiIntegerField
from annotations.models import (
    Claim,
    ClaimStatus,
    DeliveryStatus,
    Document,
    Notification,
    Reference,
    WebhookDelivery,
)


class BooleanQueryField(forms.Field):
    """A boolean query value by the API's one rule (``query.boolean_value``: ``true``/``1``,
    ``false``/``0``); anything else is invalid (``query.NOT_BOOLEAN``). Empty is no value
    (no filter)."""

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        parsed = boolean_value(value) if isinstance(value, str) else None
        if parsed is None:
            raise forms.ValidationError(NOT_BOOLEAN, code="invalid")
        return parsed


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter (``BooleanQueryField``), ``boolean`` in the schema. django-filter's
    reads ``yes``, ``on`` and anything else it does not know as no filter."""

    field_class = BooleanQueryField


# An id's schema: the model field is not found from ``project_id``, so drf-spectacular would
# declare ``number`` while ``1.0`` is refused.
@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number from 1 to ``MAX_ID`` (no fractions, no overflow)."""

    field_class = AsciiIntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class DocumentFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")

    class Meta:
        model = Document
        fields = ["project"]


class ClaimFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    document = IdFilter(field_name="document_id")
    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices, method="filter_status")

    class Meta:
        model = Claim
        fields = ["project", "document", "status"]

    def filter_status(self, queryset: QuerySet[Claim], name: str, value: str) -> QuerySet[Claim]:
        # By the status the caller is shown (a gold claim presents as in review to reviewers).
        user = getattr(self.request, "user", None)
        if user is None:
            return queryset.filter(status=value)
        return queryset.filter(access.claim_status_presented_q(user=user, status=value))


class WebhookDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.ChoiceFilter(choices=[(name, name) for name in EVENT_TYPES])

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type"]


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, and nothing else: a list takes its filterset's parameters (and its
    paginator's), and ``annotations.api.query.KnownQueryParams`` refuses any other query
    parameter with a 400 naming it, before the view runs. Request data never names an ORM
    lookup (``?reviewer__password__startswith=`` is refused, not ignored), and there is no
    ``?ordering=``: lists are ordered by id for keyset pagination."""

    def query_param_names(self, view: Any) -> set[str]:
        """The names this backend reads for ``view`` (its filterset's fields)."""
        filterset_class = self.get_filterset_class(view)
        return set(filterset_class.base_filters) if filterset_class is not None else set()


class ReferenceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        max_length=200,
        help_text="Substring of claim, headline, publisher or rating",
    )

    class Meta:
        model = Reference
        fields = ["q"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # applied by selectors.matching.references_list


class NotificationFilter(django_filters.FilterSet):
    unread = StrictBooleanFilter(
        method="only_unread",
        help_text=f"True: only unread notifications (false: all): {BOOLEAN_VALUES}.",
    )

    class Meta:
        model = Notification
        fields = ["unread"]

    def only_unread(
        self, queryset: QuerySet[Notification], name: str, value: bool
    ) -> QuerySet[Notification]:
        return queryset.filter(read_at__isnull=True) if value else queryset
