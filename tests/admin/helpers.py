"""Shared pieces of the admin tests: URLs, personas with staff rights, the data a browser
posts back from a change page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import Model
from django.test import TestCase
from django.urls import reverse

from tests.factories import Personas, make_user


def admin_url(model: type[Model] | Model, view: str, *args: object) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def grant_view_permissions(user) -> None:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="annotations", codename__startswith="view_"
        )
    )


class AdminTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.root = make_user("root", is_staff=True, is_superuser=True)

    def setUp(self) -> None:
        self.client.force_login(self.root)


def change_form_data(response) -> dict[str, Any]:
    """The POST data a browser would send back unchanged from an admin change page:
    the main form's and every inline form's current values, with the management forms
    (a list for a field of several checkboxes)."""
    data: dict[str, Any] = {}

    def add(form) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            if isinstance(value, (list, tuple)):
                data[form.add_prefix(name)] = [str(item) for item in value]
            else:
                data[form.add_prefix(name)] = "on" if value is True else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


def grant_every_permission(user: AbstractBaseUser) -> None:
    """Make ``user`` staff with every ``annotations`` model permission (add, change,
    delete, view of every model), as a desk might grant "trusted staff": what they may do
    is then up to their project role alone."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="annotations"))


def grant_codenames(user, *codenames: str) -> None:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="annotations", codename__in=codenames)
    )


def form_errors(response) -> object:
    """A failed admin save's errors, for an assertion's message (not the whole context)."""
    context = getattr(response, "context", None)
    if not context or "adminform" not in context:
        return None
    errors = [context["adminform"].form.errors]
    errors += [inline.formset.errors for inline in context.get("inline_admin_formsets", [])]
    return [*errors, context.get("errors")]
