"""The admin's choice of a row by id (a foreign key's or many-to-many's select, autocomplete
or raw-id field) takes an id spelled in ASCII digits (``formfields.AsciiModelChoiceField``,
applied by ``tenancy.AsciiNumbersMixin``): another spelling, or text that is no id at all,
is an invalid choice on the field, the page is shown again (no 500 from the autocomplete
widget re-rendering it) and nothing is written."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import models
from django.test import RequestFactory

from annotations.formfields import AsciiModelChoiceField, AsciiModelMultipleChoiceField
from annotations.models import Event, Membership, Project
from tests.admin.helpers import AdminTestCase, admin_url, change_form_data, form_errors

INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."
# Each is refused as a user's id: other scripts' digits, a sign, spaces, a decimal, text,
# a number past every id.
NOT_IDS = [
    "\u0666",  # Arabic-Indic six
    "\uff16",  # full-width six
    " 6",
    "6 ",
    "+6",
    "6.0",
    "6e0",
    "abc",
    "-1",
    "99999999999999999999999",
]


class AdminIdChoiceTests(AdminTestCase):
    """As the superuser, on the project page: a new member row (the user's autocomplete)."""

    def new_member_data(self, user: str) -> dict[str, object]:
        response = self.client.get(admin_url(Project, "change", self.project.pk))
        self.assertEqual(response.status_code, 200)
        data = change_form_data(response)
        total = int(data["memberships-TOTAL_FORMS"])
        return {
            **data,
            "memberships-TOTAL_FORMS": str(total + 1),
            f"memberships-{total}-project": str(self.project.pk),
            f"memberships-{total}-role": "reviewer",
            f"memberships-{total}-user": user,
        }

    def test_the_project_page_refuses_an_id_not_in_ascii_digits_as_an_invalid_choice(
        self,
    ) -> None:
        url = admin_url(Project, "change", self.project.pk)
        outsider = str(self.outsider.pk)
        members = set(Membership.objects.values_list("pk", "user_id", "role"))
        events = Event.objects.count()
        for user in [
            *NOT_IDS,
            *(text.replace("6", outsider) for text in NOT_IDS if "6" in text),
            "\u0660" * (len(outsider) - 1) + outsider[-1] if len(outsider) > 1 else "\u0660",
        ]:
            with self.subTest(user=user):
                response = self.client.post(url, self.new_member_data(user))
                self.assertEqual(response.status_code, 200, form_errors(response))
                inline = response.context["inline_admin_formsets"][0].formset
                self.assertEqual(inline.forms[-1].errors["user"], [INVALID_CHOICE])
                self.assertContains(response, INVALID_CHOICE)
        self.assertEqual(set(Membership.objects.values_list("pk", "user_id", "role")), members)
        self.assertEqual(Event.objects.count(), events)
        # The outsider's id in ASCII digits makes them a member.
        response = self.client.post(url, self.new_member_data(outsider))
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertTrue(
            Membership.objects.filter(project=self.project, user=self.outsider).exists()
        )

    def test_the_project_pages_row_counts_are_read_in_ascii_digits_only(self) -> None:
        # The inlines' management forms (memberships, ratings): another spelling of a row
        # count is the formset's tampered-with error, and nothing is saved.
        url = admin_url(Project, "change", self.project.pk)
        data = self.new_member_data(str(self.outsider.pk))
        members = set(Membership.objects.values_list("pk", "user_id", "role"))
        events = Event.objects.count()
        total = data["memberships-TOTAL_FORMS"]
        for name, value in (
            ("memberships-TOTAL_FORMS", "\u0660" * (len(total) - 1) + chr(0x660 + int(total[-1]))),
            ("memberships-TOTAL_FORMS", "+" + total),
            ("memberships-INITIAL_FORMS", " " + data["memberships-INITIAL_FORMS"]),
            ("ratings-TOTAL_FORMS", data["ratings-TOTAL_FORMS"] + ".0"),
        ):
            with self.subTest(name=name, value=value):
                response = self.client.post(url, {**data, name: value})
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "ManagementForm data is missing or has been tampered")
        self.assertEqual(set(Membership.objects.values_list("pk", "user_id", "role")), members)
        self.assertEqual(Event.objects.count(), events)

    def test_the_membership_page_refuses_an_id_not_in_ascii_digits(self) -> None:
        url = admin_url(Membership, "add")
        members = Membership.objects.count()
        events = Event.objects.count()
        outsider = str(self.outsider.pk)
        for user in [*NOT_IDS, f"+{outsider}", f" {outsider}"]:
            with self.subTest(user=user):
                response = self.client.post(
                    url, {"user": user, "project": str(self.project.pk), "role": "reviewer"}
                )
                self.assertEqual(response.status_code, 200)
                self.assertEqual(
                    response.context["adminform"].form.errors["user"], [INVALID_CHOICE]
                )
        for project in ["\u0661", f"+{self.project.pk}", "abc", f"{self.project.pk}.0"]:
            with self.subTest(project=project):
                response = self.client.post(
                    url, {"user": outsider, "project": project, "role": "reviewer"}
                )
                self.assertEqual(response.status_code, 200)
                self.assertEqual(
                    response.context["adminform"].form.errors["project"], [INVALID_CHOICE]
                )
        self.assertEqual(Membership.objects.count(), members)
        self.assertEqual(Event.objects.count(), events)


class EveryAdminIdChoiceTests(AdminTestCase):
    def test_every_admin_and_inline_chooses_rows_by_ascii_ids(self) -> None:
        """Every relation of every registered admin and inline gets the ASCII id field, so a
        new admin inherits it (``tenancy.AsciiNumbersMixin``)."""
        request = RequestFactory().get("/")
        request.user = self.root
        checked = 0
        for model_admin in admin.site._registry.values():
            admins = [model_admin, *model_admin.get_inline_instances(request)]
            for each in admins:
                for field in each.model._meta.get_fields():
                    if not (field.concrete and (field.many_to_one or field.many_to_many)):
                        continue
                    if field.many_to_many and not isinstance(field, models.ManyToManyField):
                        continue
                    if field.many_to_many and not field.remote_field.through._meta.auto_created:
                        continue
                    formfield = each.formfield_for_dbfield(field, request)
                    if formfield is None:
                        continue
                    expected = (
                        AsciiModelMultipleChoiceField
                        if field.many_to_many
                        else AsciiModelChoiceField
                    )
                    with self.subTest(admin=type(each).__name__, field=field.name):
                        self.assertIsInstance(formfield, expected)
                        checked += 1
        self.assertGreater(checked, 20)


class AdminManyIdChoiceTests(AdminTestCase):
    def test_the_user_page_refuses_a_group_id_not_in_ascii_digits(self) -> None:
        """A many-to-many (a user's groups) takes each id in ASCII digits."""
        group = Group.objects.create(name="desk")
        url = admin_url(self.outsider, "change", self.outsider.pk)
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        data = change_form_data(response)
        joined = self.outsider.date_joined
        data.pop("date_joined", None)  # a split field: its two inputs
        data.update(
            date_joined_0=joined.strftime("%Y-%m-%d"), date_joined_1=joined.strftime("%H:%M:%S")
        )
        pk = str(group.pk)
        for text in ["\u0660" + pk, "\uff10" + pk, f"+{pk}", f" {pk}", f"{pk}.0", "abc"]:
            with self.subTest(text=text):
                response = self.client.post(url, {**data, "groups": [text]})
                self.assertEqual(response.status_code, 200)
                message = f"Select a valid choice. {text} is not one of the available choices."
                self.assertEqual(response.context["adminform"].form.errors["groups"], [message])
                self.assertFalse(self.outsider.groups.exists())
        response = self.client.post(url, {**data, "groups": [pk]})
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(list(self.outsider.groups.all()), [group])

    def test_a_list_action_acts_only_on_rows_ticked_by_ascii_ids(self) -> None:
        """``_selected_action`` (the ticked rows) takes ids in ASCII digits: Django read
        ``"٣"`` or ``"+4"`` as the row and acted on it, and failed (500) on ``"abc"``."""
        from annotations.admin.tenancy import NOT_PICKED_BY_ID
        from annotations.models import Claim
        from tests.factories import make_claim

        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        pk = str(claim.pk)
        url = admin_url(Claim, "changelist")
        events = Event.objects.count()
        for text in [chr(0x660 + int(d)) for d in pk], [f"+{pk}"], [f"{pk}.0"], ["abc"]:
            picked = "".join(text)
            with self.subTest(picked=picked):
                body = {"action": "set_priority_low", "_selected_action": [picked], "index": "0"}
                response = self.client.post(url, body, follow=True)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, NOT_PICKED_BY_ID)
                self.assertEqual(Claim.objects.get(pk=claim.pk).priority, claim.priority)
        self.assertEqual(Event.objects.count(), events)
        body = {"action": "set_priority_low", "_selected_action": [pk], "index": "0"}
        response = self.client.post(url, body, follow=True)
        self.assertNotContains(response, NOT_PICKED_BY_ID)
        # The action ran on the row (the superuser, no editor of the project, is refused
        # by the service, row by row, in its words).
        (message,) = [str(m) for m in response.context["messages"]]
        self.assertTrue(message.startswith(f"Not set to low priority: #{pk} "), message)

    def test_the_group_page_refuses_a_permission_id_past_every_column(self) -> None:
        """SQLite failed (500, OverflowError) on an id past 64 bits; PostgreSQL refused it."""
        url = admin_url(Group, "add")
        for text in ["11111111111111111111111", str(2**63), "\u0661"]:
            with self.subTest(text=text):
                response = self.client.post(url, {"name": "g", "permissions": [text]})
                self.assertEqual(response.status_code, 200)
                self.assertIn("permissions", response.context["adminform"].form.errors)
        self.assertFalse(Group.objects.exists())
