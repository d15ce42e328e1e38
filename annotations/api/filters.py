"""List filters from a fixed vocabulary (django-filter). Nothing a client sends becomes an
ORM lookup name; invalid values are a 400 naming the parameter."""

from __future__ import annotations

import django_filters

from annotations.models import Claim, ClaimStatus, Document


class DocumentFilter(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id", min_value=1)

    class Meta:
        model = Document
        fields = ["project"]


class ClaimFilter(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id", min_value=1)
    document = django_filters.NumberFilter(field_name="document_id", min_value=1)
    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices)

    class Meta:
        model = Claim
        fields = ["project", "document", "status"]
