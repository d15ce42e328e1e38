"""The rating scale in the admin (its own pages and the project page) and the rating
services behind it: project admins only, an event for every change, the key fixed once
created, and no deleting a rating in use or a project's last."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from annotations import services
from annotations.models import Event, Project, Rating
from annotations.services.ratings import KEY_FIXED
from tests.admin.helpers import (
    admin_url,
    change_form_data,
    form_errors,
    grant_every_permission,
)
from tests.factories import Personas, judge, make_claim


class RatingAdminTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        for user in (cls.admin, cls.editor):
            grant_every_permission(user)
        claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(claim, cls.reviewer_a, "true")  # "true" is in use from here on
        cls.used = Rating.objects.get(project=cls.project, key="true")
        cls.unused = Rating.objects.get(project=cls.project, key="not_checkable")

    def setUp(self) -> None:
        self.client.force_login(self.admin)

    def rating_events(self) -> list[tuple[str, Any, Any]]:
        return list(
            Event.objects.filter(verb__startswith="rating.")
            .order_by("pk")
            .values_list("verb", "before", "after")
        )


class RatingAdminTests(RatingAdminTestCase):
    def test_a_project_admin_relabels_through_the_service_and_the_key_stays(self) -> None:
        response = self.client.post(
            admin_url(Rating, "change", self.used.pk),
            {"key": "truthy", "label": "Accurate", "ordinal": "5", "position": "0"},
        )
        self.assertEqual(response.status_code, 302, form_errors(response))
        rating = Rating.objects.get(pk=self.used.pk)
        self.assertEqual((rating.key, rating.label), ("true", "Accurate"))
        self.assertEqual(
            self.rating_events(), [("rating.update", {"label": "True"}, {"label": "Accurate"})]
        )

    def test_a_rating_in_use_is_not_deleted(self) -> None:
        url = admin_url(Rating, "delete", self.used.pk)
        page = self.client.get(url)
        self.assertContains(page, "Cannot delete rating")
        self.assertContains(page, "a rating in use cannot be deleted.")
        response = self.client.post(url, {"post": "yes"})
        self.assertEqual(response.status_code, 200)  # the refusal again, not a server error
        self.assertTrue(Rating.objects.filter(pk=self.used.pk).exists())
        self.assertEqual(self.rating_events(), [])

    def test_an_unused_rating_is_deleted_through_the_service(self) -> None:
        response = self.client.post(admin_url(Rating, "delete", self.unused.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Rating.objects.filter(pk=self.unused.pk).exists())
        self.assertEqual(
            self.rating_events(),
            [
                (
                    "rating.delete",
                    {
                        "key": "not_checkable",
                        "label": "Not checkable",
                        "ordinal": None,
                        "position": 7,
                    },
                    None,
                )
            ],
        )

    def test_bulk_deleting_refuses_a_rating_in_use(self) -> None:
        response = self.client.post(
            admin_url(Rating, "changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [self.used.pk, self.unused.pk],
                "post": "yes",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "a rating in use cannot be deleted.")
        self.assertEqual(Rating.objects.filter(pk__in=[self.used.pk, self.unused.pk]).count(), 2)

    def test_an_editor_changes_nothing(self) -> None:
        self.client.force_login(self.editor)
        response = self.client.post(
            admin_url(Rating, "change", self.unused.pk),
            {"label": "Taken over", "ordinal": "", "position": "7"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            self.client.post(admin_url(Rating, "delete", self.unused.pk)).status_code, 403
        )
        self.assertEqual(Rating.objects.get(pk=self.unused.pk).label, "Not checkable")
        self.assertEqual(self.rating_events(), [])


class ProjectPageScaleTests(RatingAdminTestCase):
    """The scale inline of the project page writes through the same services."""

    def page(self) -> dict[str, str]:
        response = self.client.get(admin_url(Project, "change", self.project.pk))
        self.assertEqual(response.status_code, 200)
        return change_form_data(response)

    def prefix(self, data: dict[str, str], rating: Rating) -> str:
        return next(
            key.removesuffix("-id")
            for key, value in data.items()
            if key.startswith("ratings-") and key.endswith("-id") and value == str(rating.pk)
        )

    def test_it_adds_changes_and_deletes_through_the_services(self) -> None:
        data = self.page()
        data[f"{self.prefix(data, self.used)}-label"] = "Accurate"
        data[f"{self.prefix(data, self.unused)}-DELETE"] = "on"
        new = int(data["ratings-TOTAL_FORMS"])
        data |= {
            "ratings-TOTAL_FORMS": str(new + 1),
            f"ratings-{new}-key": "satire",
            f"ratings-{new}-label": "Satire",
            f"ratings-{new}-position": "9",
        }
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(
            [verb for verb, _, _ in self.rating_events()],
            ["rating.create", "rating.update", "rating.delete"],
        )
        self.assertTrue(Rating.objects.filter(project=self.project, key="satire"))
        self.assertEqual(Rating.objects.get(pk=self.used.pk).label, "Accurate")
        self.assertFalse(Rating.objects.filter(pk=self.unused.pk).exists())

    def test_deleting_a_rating_in_use_is_refused_above_the_scale(self) -> None:
        data = self.page()
        data[f"{self.prefix(data, self.used)}-DELETE"] = "on"
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 200)  # the page again, not a server error
        # Django's inline check names the verdicts that protect the rating.
        self.assertContains(response, "would require deleting the following protected")
        self.assertTrue(Rating.objects.filter(pk=self.used.pk).exists())
        self.assertEqual(self.rating_events(), [])

    def test_the_page_keeps_a_project_one_rating(self) -> None:
        tiny = services.project_create(
            creator=self.admin,
            name="Tiny",
            scale=[{"key": "only", "label": "Only", "ordinal": None, "position": 0}],
        )
        only = Rating.objects.get(project=tiny)
        response = self.client.get(admin_url(Project, "change", tiny.pk))
        data = change_form_data(response)
        data[f"{self.prefix(data, only)}-DELETE"] = "on"
        response = self.client.post(admin_url(Project, "change", tiny.pk), data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A project needs at least one rating.")
        self.assertTrue(Rating.objects.filter(pk=only.pk).exists())
        self.assertEqual(self.rating_events(), [])

    def test_the_key_of_a_rating_is_fixed_on_the_page(self) -> None:
        data = self.page()
        data[f"{self.prefix(data, self.used)}-key"] = "renamed"
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(Rating.objects.get(pk=self.used.pk).key, "true")

    def test_a_new_project_comes_with_the_default_scale_and_no_scale_rows(self) -> None:
        response = self.client.get(admin_url(Project, "add"))
        self.assertEqual(
            [inline.formset.prefix for inline in response.context["inline_admin_formsets"]],
            ["memberships"],
        )


class RatingServiceTests(RatingAdminTestCase):
    def test_it_checks_a_rating_as_project_create_checks_a_scale(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.rating_create(
                project=self.project, actor=self.admin, key="no spaces", label="", position=-1
            )
        self.assertEqual(
            caught.exception.message_dict,
            {
                "key": [
                    "The key must be 1 to 40 letters, digits, '-' or '_' (e.g. 'mostly_true')."
                ],
                "label": ["The label must be text of 1 to 80 characters."],
                "position": ["The position must be a whole number from 0 to 32767."],
            },
        )
        with self.assertRaises(ValidationError) as caught:
            services.rating_create(project=self.project, actor=self.admin, key="true", label="T")
        self.assertEqual(
            caught.exception.message_dict["key"],
            ["This project's scale already has the key 'true'."],
        )
        self.assertEqual(self.rating_events(), [])

    def test_the_key_is_fixed_and_other_fields_refused(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.rating_update(rating=self.unused, actor=self.admin, key="x", project=1)
        self.assertEqual(
            caught.exception.message_dict,
            {"key": [KEY_FIXED], "project": ["This field cannot be changed."]},
        )

    def test_an_unchanged_rating_records_nothing(self) -> None:
        services.rating_update(rating=self.unused, actor=self.admin, label="Not checkable")
        self.assertEqual(self.rating_events(), [])

    def test_only_project_admins_change_the_scale(self) -> None:
        calls = {
            "create": lambda user: services.rating_create(
                project=self.project, actor=user, key="satire", label="Satire"
            ),
            "update": lambda user: services.rating_update(
                rating=self.unused, actor=user, label="Nope"
            ),
            "delete": lambda user: services.rating_delete(rating=self.unused, actor=user),
        }
        for name, call in calls.items():
            for user in (self.editor, self.outsider):
                with (
                    self.subTest(call=name, user=user.username),
                    self.assertRaises(PermissionDenied),
                ):
                    call(user)
        self.assertEqual(self.rating_events(), [])

    def test_a_project_keeps_one_rating(self) -> None:
        project = services.project_create(
            creator=self.admin,
            name="Tiny",
            scale=[{"key": "only", "label": "Only", "ordinal": None, "position": 0}],
        )
        only = Rating.objects.get(project=project)
        with self.assertRaisesMessage(ValidationError, "A project needs at least one rating."):
            services.rating_delete(rating=only, actor=self.admin)
        services.ratings_delete_check(ratings=[only], added=1)  # a replacement in the same save

    def test_a_rating_in_use_stays(self) -> None:
        with self.assertRaisesMessage(ValidationError, "is used by 1 verdict(s)"):
            services.rating_delete(rating=self.used, actor=self.admin)
        self.assertTrue(Rating.objects.filter(pk=self.used.pk).exists())
