"""What the service tests share: ``ServiceTestCase`` (the personas and a field-error
assertion) and ``counts`` of rows, to show that nothing was written."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.test import TestCase

from tests.factories import Personas


def counts(*models: type[Model]) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}


class ServiceTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def assertFieldError(self, exc: ValidationError, field: str, fragment: str = "") -> str:
        self.assertIn(field, exc.message_dict, exc.message_dict)
        message = " ".join(exc.message_dict[field])
        self.assertIn(fragment, message)
        return message
