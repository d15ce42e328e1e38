"""The project pages: creation and policy through the services, and a project never
loses its last admin through the panel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotations import services
from annotations.models import Event, Membership, Project, Rating, Role
from tests.admin.helpers import AdminTestCase, admin_url, change_form_data, form_errors


def add_page_data(members: Sequence[tuple[Any, str]] = ()) -> dict[str, Any]:
    """The add page's POST: a valid project with ``members`` as (user, role) rows."""
    data: dict[str, Any] = {
        "name": "Admin desk",
        "slug": "admin-desk",
        "organization": "Org",
        "organization_url": "https://example.org",
        "required_reviews": "3",
        "consensus_rule": "majority",
        "majority_threshold": "0.6",
        "lease_minutes": "45",
        "min_citations": "0",
        # The page offers every stance checked.
        "allowed_stances": ["supports", "refutes", "context"],
    }
    for prefix, rows in (("memberships", members), ("ratings", [])):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(rows)),
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    for i, (user, role) in enumerate(members):
        data |= {f"memberships-{i}-user": str(user.pk), f"memberships-{i}-role": role}
    return data


class AdminProjectAddTests(AdminTestCase):
    def _add_page(self, members: Sequence[tuple[Any, str]] = ()) -> dict[str, Any]:
        return add_page_data(members)

    def test_a_new_project_cannot_make_its_creator_less_than_admin(self) -> None:
        events = Event.objects.count()
        response = self.client.post(
            admin_url(Project, "add"), self._add_page([(self.root, Role.REVIEWER)])
        )
        self.assertEqual(response.status_code, 200)  # the form again, not a server error
        self.assertContains(response, "You become the admin of a project you create")
        self.assertFalse(Project.objects.filter(slug="admin-desk").exists())
        self.assertEqual(Event.objects.count(), events)

    def test_a_new_project_takes_its_first_members_from_the_page(self) -> None:
        members = [(self.root, Role.ADMIN), (self.reviewer_a, Role.REVIEWER)]
        response = self.client.post(admin_url(Project, "add"), self._add_page(members))
        self.assertEqual(response.status_code, 302, form_errors(response))
        project = Project.objects.get(slug="admin-desk")
        self.assertEqual(
            sorted(Membership.objects.filter(project=project).values_list("user", "role")),
            sorted([(self.root.pk, Role.ADMIN), (self.reviewer_a.pk, Role.REVIEWER)]),
        )

    def test_a_new_project_records_only_the_members_it_adds(self) -> None:
        members = [(self.root, Role.ADMIN), (self.reviewer_a, Role.REVIEWER)]
        response = self.client.post(admin_url(Project, "add"), self._add_page(members))
        self.assertEqual(response.status_code, 302, form_errors(response))
        project = Project.objects.get(slug="admin-desk")
        self.assertEqual(
            list(
                Event.objects.filter(verb="member.add", project=project).values_list(
                    "after__user", "after__role"
                )
            ),
            [("reviewer_a", "reviewer")],
        )

    def test_it_creates_the_project_through_the_service(self) -> None:
        data = self._add_page()
        response = self.client.post(admin_url(Project, "add"), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        project = Project.objects.get(slug="admin-desk")
        self.assertEqual(
            (project.required_reviews, project.consensus_rule, project.lease_minutes),
            (3, "majority", 45),
        )
        self.assertEqual(project.created_by, self.root)
        self.assertEqual(
            list(Rating.objects.filter(project=project).values_list("key", flat=True)),
            [key for key, _, _ in services.DEFAULT_SCALE],
        )
        self.assertEqual(
            list(Membership.objects.filter(project=project).values_list("user", "role")),
            [(self.root.pk, Role.ADMIN)],
        )
        self.assertTrue(
            Event.objects.filter(verb="project.create", object_id=project.pk, actor=self.root)
        )


NOT_PUBLIC_ORGANIZATION_URLS = [
    ("http://127.0.0.1/desk", "the address 127.0.0.1 is a loopback address"),
    ("http://10.0.0.1/", "the address 10.0.0.1 is a private address"),
    ("http://localhost/", "localhost is this server itself"),
    # Django's URL check said only "Enter a valid URL." of these.
    ("http://127.1/", "127.1 is numeric shorthand for an IP address"),
    ("http://0x7f.1/", "0x7f.1 is numeric shorthand for an IP address"),
    ("http://%31%32%37.0.0.1/", "the address 127.0.0.1 is a loopback address"),
]


class AdminOrganizationUrlTests(AdminTestCase):
    """A project's organization URL is refused with the services' reason
    (``services.public_url``), as the API and every other URL field give it, on the add
    and the change page; a loopback address reached the service and was a 500."""

    def counts(self) -> tuple[int, ...]:
        return tuple(model.objects.count() for model in (Project, Membership, Rating, Event))

    def assertRefused(self, response: Any, reason: str) -> None:
        self.assertEqual(response.status_code, 200)  # the form again, not a server error
        errors = response.context["adminform"].form.errors
        self.assertEqual(list(errors), ["organization_url"], errors)
        [message] = errors["organization_url"]
        self.assertTrue(message.startswith(f"Only public sites are accepted: {reason}"), message)

    def test_a_non_public_organization_url_is_refused_with_the_reason(self) -> None:
        add = add_page_data()
        change_url = admin_url(Project, "change", self.project.pk)
        change = change_form_data(self.client.get(change_url))
        before = self.counts()
        for url, reason in NOT_PUBLIC_ORGANIZATION_URLS:
            with self.subTest(page="add", url=url):
                response = self.client.post(
                    admin_url(Project, "add"), add | {"organization_url": url}
                )
                self.assertRefused(response, reason)
            with self.subTest(page="change", url=url):
                response = self.client.post(change_url, change | {"organization_url": url})
                self.assertRefused(response, reason)
        self.assertEqual(self.counts(), before)
        self.project.refresh_from_db()
        self.assertEqual(self.project.organization_url, "")
        # A public site is taken.
        response = self.client.post(
            change_url, change | {"organization_url": "https://desk.example.org/"}
        )
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.project.refresh_from_db()
        self.assertEqual(self.project.organization_url, "https://desk.example.org/")


class AdminLastAdminTests(AdminTestCase):
    """A project never loses its last admin through the admin panel either."""

    def _membership(self, user) -> Membership:
        return Membership.objects.get(project=self.project, user=user)

    def _inline_prefix(self, data: dict[str, str], user) -> str:
        pk = str(self._membership(user).pk)
        return next(
            key.removesuffix("-id")
            for key, value in data.items()
            if key.startswith("memberships-") and key.endswith("-id") and value == pk
        )

    def _project_page(self) -> dict[str, str]:
        response = self.client.get(admin_url(Project, "change", self.project.pk))
        self.assertEqual(response.status_code, 200)
        return change_form_data(response)

    def test_the_membership_page_refuses_to_demote_the_last_admin(self) -> None:
        membership = self._membership(self.admin)
        events = Event.objects.count()
        response = self.client.post(
            admin_url(Membership, "change", membership.pk), {"role": Role.EDITOR}
        )
        self.assertEqual(response.status_code, 200)  # the form again, with the error
        self.assertEqual(
            response.context["adminform"].form.errors["role"],
            ["A project needs at least one admin."],
        )
        self.assertContains(response, "A project needs at least one admin.")
        self.assertEqual(self._membership(self.admin).role, Role.ADMIN)
        self.assertEqual(Event.objects.count(), events)

    def test_the_membership_page_changes_a_role_through_the_service(self) -> None:
        membership = self._membership(self.reviewer_a)
        response = self.client.post(
            admin_url(Membership, "change", membership.pk), {"role": Role.EDITOR}
        )
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(self._membership(self.reviewer_a).role, Role.EDITOR)
        event = Event.objects.filter(verb="member.add", object_id=membership.pk).latest("id")
        self.assertEqual((event.actor, event.before), (self.root, {"role": "reviewer"}))

    def test_the_membership_page_keeps_project_and_person_read_only(self) -> None:
        membership = self._membership(self.admin)
        response = self.client.post(
            admin_url(Membership, "change", membership.pk),
            {"role": Role.ADMIN, "project": self.other_project.pk, "user": self.editor.pk},
        )
        self.assertEqual(response.status_code, 302)
        membership.refresh_from_db()
        self.assertEqual((membership.project, membership.user), (self.project, self.admin))

    def test_deleting_the_last_admin_is_refused(self) -> None:
        membership = self._membership(self.admin)
        url = admin_url(Membership, "delete", membership.pk)
        page = self.client.get(url)
        self.assertContains(page, "Cannot delete membership")
        self.assertContains(page, "A project needs at least one admin.")
        events = Event.objects.count()
        response = self.client.post(url, {"post": "yes"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A project needs at least one admin.")
        self.assertTrue(Membership.objects.filter(pk=membership.pk).exists())
        self.assertEqual(Event.objects.count(), events)

    def test_bulk_deleting_every_admin_is_refused(self) -> None:
        services.member_add(
            project=self.project, user=self.editor, role=Role.ADMIN, actor=self.admin
        )
        admins = list(
            Membership.objects.filter(project=self.project, role=Role.ADMIN).values_list(
                "pk", flat=True
            )
        )
        response = self.client.post(
            admin_url(Membership, "changelist"),
            {"action": "delete_selected", "_selected_action": admins, "post": "yes"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A project needs at least one admin.")
        self.assertEqual(Membership.objects.filter(pk__in=admins).count(), 2)

    def test_deleting_an_admin_while_another_remains_goes_through_the_service(self) -> None:
        services.member_add(
            project=self.project, user=self.editor, role=Role.ADMIN, actor=self.admin
        )
        membership = self._membership(self.admin)
        response = self.client.post(admin_url(Membership, "delete", membership.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Membership.objects.filter(pk=membership.pk).exists())
        self.assertTrue(
            Event.objects.filter(verb="member.remove", object_id=membership.pk, actor=self.root)
        )

    def test_the_project_page_refuses_to_demote_or_remove_the_last_admin(self) -> None:
        for change in ("demote", "remove"):
            with self.subTest(change=change):
                data = self._project_page()
                prefix = self._inline_prefix(data, self.admin)
                if change == "demote":
                    data[f"{prefix}-role"] = Role.REVIEWER
                else:
                    data[f"{prefix}-DELETE"] = "on"
                data["name"] = "Renamed desk"
                events = Event.objects.count()
                response = self.client.post(admin_url(Project, "change", self.project.pk), data)
                self.assertEqual(response.status_code, 200)  # the page again, with the error
                formset = next(
                    inline.formset
                    for inline in response.context["inline_admin_formsets"]
                    if inline.formset.model is Membership
                )
                self.assertEqual(formset.non_form_errors(), ["A project needs at least one admin."])
                self.assertContains(response, "A project needs at least one admin.")
                self.assertEqual(self._membership(self.admin).role, Role.ADMIN)
                self.assertEqual(Project.objects.get(pk=self.project.pk).name, "Desk")
                self.assertEqual(Event.objects.count(), events)

    def test_the_project_page_words_an_out_of_range_policy_by_field(self) -> None:
        """Not the database constraint's name: the field's range, on the field."""
        for field, value, message in (
            ("required_reviews", "0", "greater than or equal to 1"),
            ("required_reviews", "-3", "greater than or equal to 1"),
            ("required_reviews", "21", "less than or equal to 20"),
            ("lease_minutes", "0", "greater than or equal to 1"),
            ("lease_minutes", "1441", "less than or equal to 1440"),
            ("majority_threshold", "0.4", "greater than or equal to 0.5"),
            ("majority_threshold", "1", "less than or equal to 0.99"),
            ("majority_threshold", "0.995", "less than or equal to 0.99"),
            ("lease_minutes", "-1", "greater than or equal to 1"),
        ):
            with self.subTest(field=field, value=value):
                data = {**self._project_page(), field: value}
                events = Event.objects.count()
                response = self.client.post(admin_url(Project, "change", self.project.pk), data)
                self.assertEqual(response.status_code, 200)
                errors = response.context["adminform"].form.errors
                self.assertIn(message, " ".join(errors[field]))
                self.assertNotContains(response, "is violated")
                self.assertEqual(Event.objects.count(), events)

    def test_the_project_page_hands_the_admin_role_over_in_one_save(self) -> None:
        data = self._project_page()
        # The admin's own row comes first on the page: the save must still promote before
        # it demotes.
        data[f"{self._inline_prefix(data, self.admin)}-role"] = Role.REVIEWER
        data[f"{self._inline_prefix(data, self.editor)}-role"] = Role.ADMIN
        data[f"{self._inline_prefix(data, self.reviewer_c)}-DELETE"] = "on"
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(self._membership(self.admin).role, Role.REVIEWER)
        self.assertEqual(self._membership(self.editor).role, Role.ADMIN)
        self.assertFalse(
            Membership.objects.filter(project=self.project, user=self.reviewer_c).exists()
        )
        self.assertEqual(
            sorted(
                Event.objects.filter(
                    actor=self.root, verb__in=["member.add", "member.remove"]
                ).values_list("verb", "before__role")
            ),
            [("member.add", "admin"), ("member.add", "editor"), ("member.remove", "reviewer")],
        )

    def test_the_project_page_does_not_let_a_membership_change_hands(self) -> None:
        data = self._project_page()
        prefix = self._inline_prefix(data, self.admin)
        data[f"{prefix}-user"] = str(self.outsider.pk)
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(self._membership(self.admin).role, Role.ADMIN)
        self.assertFalse(
            Membership.objects.filter(project=self.project, user=self.outsider).exists()
        )


class AdminProjectChangeTests(AdminTestCase):
    """The project page changes the policy through services.project_update and records
    members only when their role changes."""

    def test_it_changes_the_policy_through_the_service(self) -> None:
        data = change_form_data(self.client.get(admin_url(Project, "change", self.project.pk)))
        self.assertNotIn("slug", data)  # the URL name is fixed once created
        data |= {"name": "Renamed desk", "required_reviews": "3"}
        members = Event.objects.filter(verb__in=["member.add", "member.remove"]).count()
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual(
            (project.name, project.required_reviews, project.slug), ("Renamed desk", 3, "desk")
        )
        event = Event.objects.get(verb="project.update", object_id=self.project.pk)
        self.assertEqual(event.actor, self.root)
        self.assertEqual((event.before["name"], event.before["required_reviews"]), ("Desk", 2))
        self.assertEqual(
            (event.after["name"], event.after["required_reviews"]), ("Renamed desk", 3)
        )
        # The member rows came back unchanged: no member event.
        self.assertEqual(
            Event.objects.filter(verb__in=["member.add", "member.remove"]).count(), members
        )


class AdminEvidencePolicyTests(AdminTestCase):
    """The evidence policy on the project page: through services.project_update, audited
    with before and after; an empty set of stances is refused on the form."""

    def test_it_changes_the_evidence_policy_through_the_service(self) -> None:
        page = self.client.get(admin_url(Project, "change", self.project.pk))
        self.assertContains(page, 'name="allowed_stances"')
        data = change_form_data(page)
        self.assertEqual(data["allowed_stances"], ["supports", "refutes", "context"])
        data |= {"min_citations": "1", "quote_required": "on", "allowed_stances": ["refutes"]}
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual(
            (project.min_citations, project.quote_required, project.allowed_stances),
            (1, True, "refutes"),
        )
        event = Event.objects.get(verb="project.update", object_id=self.project.pk)
        self.assertEqual(event.actor, self.root)
        keys = ("min_citations", "quote_required", "allowed_stances")
        self.assertEqual(
            {k: event.before[k] for k in keys},
            {
                "min_citations": 0,
                "quote_required": False,
                "allowed_stances": ["supports", "refutes", "context"],
            },
        )
        self.assertEqual(
            {k: event.after[k] for k in keys},
            {"min_citations": 1, "quote_required": True, "allowed_stances": ["refutes"]},
        )

    def test_it_refuses_a_policy_without_stances_or_past_the_limit(self) -> None:
        data = change_form_data(self.client.get(admin_url(Project, "change", self.project.pk)))
        events = Event.objects.count()
        for change, message in (
            ({"allowed_stances": []}, "Allow at least one stance."),
            ({"min_citations": "51"}, "less than or equal to 50"),
        ):
            with self.subTest(change):
                response = self.client.post(
                    admin_url(Project, "change", self.project.pk), data | change
                )
                self.assertEqual(response.status_code, 200)
                self.assertIn(message, str(form_errors(response)))
        self.assertEqual(Event.objects.count(), events)
        self.assertEqual(Project.objects.get(pk=self.project.pk).min_citations, 0)
