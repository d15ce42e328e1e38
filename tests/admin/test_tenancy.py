"""Staff who are not superusers see the rows of their projects, and write only where
their project role allows it (``tenancy.ProjectTenancyMixin``)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from annotations import services
from annotations.models import (
    Assignment,
    Claim,
    Consensus,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Verdict,
)
from tests.admin.helpers import (
    AdminTestCase,
    admin_url,
    form_errors,
    grant_codenames,
    grant_view_permissions,
)
from tests.factories import make_claim, make_document


class AdminProjectScopeTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        grant_view_permissions(cls.outsider)
        cls.own_document = make_document(
            project=cls.other_project,
            actor=cls.outsider,
            title="Outsider notes",
            text="The outsider's own text.",
        )
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def setUp(self) -> None:
        self.client.force_login(self.outsider)

    def test_it_lists_only_documents_of_the_users_projects(self) -> None:
        response = self.client.get(admin_url(Document, "changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual([d.pk for d in response.context["cl"].result_list], [self.own_document.pk])
        self.assertNotContains(response, self.document.title + "</a>")

    def test_it_refuses_the_change_page_of_another_projects_document(self) -> None:
        response = self.client.get(admin_url(Document, "change", self.document.pk))
        self.assertEqual(response.status_code, 302)
        self.assertNotContains(response, "crime fell", status_code=302)

    def test_it_scopes_every_project_model(self) -> None:
        cases = [
            (Claim, self.claim.pk),
            (Membership, Membership.objects.filter(project=self.project).first().pk),
            (Rating, Rating.objects.filter(project=self.project).first().pk),
            (Event, Event.objects.filter(project=self.project).first().pk),
            (Verdict, None),
            (Assignment, None),
            (Consensus, None),
        ]
        for model, pk in cases:
            with self.subTest(model=model.__name__):
                response = self.client.get(admin_url(model, "changelist"))
                self.assertEqual(response.status_code, 200)
                listed = {obj.pk for obj in response.context["cl"].result_list}
                self.assertNotIn(pk, listed)
                for obj in response.context["cl"].result_list:
                    project_id = getattr(obj, "project_id", None) or obj.claim.project_id
                    self.assertEqual(project_id, self.other_project.pk)

    def test_it_lists_only_the_users_projects(self) -> None:
        response = self.client.get(admin_url(Project, "changelist"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            [p.pk for p in response.context["cl"].result_list], [self.other_project.pk]
        )
        refused = self.client.get(admin_url(Project, "change", self.project.pk))
        self.assertEqual(refused.status_code, 302)


class AdminTenancyTests(AdminTestCase):
    """Staff who are not superusers write only into projects where their role allows it:
    a foreign key to a project is limited in the form, in the autocomplete and again on
    save, so a forged POST cannot make anyone a member of someone else's project."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # ``admin`` administers Desk (A), is a reviewer in Third desk (C) and no member
        # of Other desk (B).
        cls.third_project = services.project_create(creator=cls.outsider, name="Third desk")
        services.member_add(
            project=cls.third_project, user=cls.admin, role=Role.REVIEWER, actor=None
        )
        grant_codenames(
            cls.admin,
            "add_membership",
            "change_membership",
            "view_membership",
            "view_project",
            "change_project",
            "add_rating",
            "view_rating",
            "add_document",
            "view_document",
        )

    def setUp(self) -> None:
        self.client.force_login(self.admin)

    def _add_membership(self, project: Project, user, role: str = Role.ADMIN):
        return self.client.post(
            admin_url(Membership, "add"),
            {"project": str(project.pk), "user": str(user.pk), "role": role},
        )

    def test_staff_add_no_membership_directly_not_even_in_their_own_project(self) -> None:
        # Project admins invite (issue 13, finding 5a): an account joins by accepting.
        self.assertEqual(self.client.get(admin_url(Membership, "add")).status_code, 403)
        for project in (self.project, self.other_project, self.third_project):
            with self.subTest(project=project.name):
                events = Event.objects.count()
                before = list(Membership.objects.filter(project=project).values_list("pk", "role"))
                response = self._add_membership(project, self.outsider, Role.REVIEWER)
                self.assertEqual(response.status_code, 403)
                self.assertEqual(
                    list(Membership.objects.filter(project=project).values_list("pk", "role")),
                    before,
                )
                self.assertEqual(Event.objects.count(), events)

    def test_the_autocomplete_offers_only_administered_projects(self) -> None:
        url = reverse("admin:autocomplete")
        query = {"app_label": "annotations", "model_name": "membership", "field_name": "project"}
        for term in ("", "desk"):
            with self.subTest(term=term):
                response = self.client.get(url, {**query, "term": term})
                self.assertEqual(response.status_code, 200)
                ids = [result["id"] for result in response.json()["results"]]
                self.assertEqual(ids, [str(self.project.pk)])
        # A superuser is offered every project.
        self.client.force_login(self.root)
        ids = {result["id"] for result in self.client.get(url, query).json()["results"]}
        self.assertEqual(
            ids, {str(p.pk) for p in (self.project, self.other_project, self.third_project)}
        )

    def test_a_superuser_still_adds_a_membership_directly(self) -> None:
        self.client.force_login(self.root)
        response = self._add_membership(self.project, self.outsider, Role.REVIEWER)
        self.assertEqual(response.status_code, 302, form_errors(response))
        membership = Membership.objects.get(project=self.project, user=self.outsider)
        self.assertEqual(membership.role, Role.REVIEWER)
        self.assertTrue(
            Event.objects.filter(verb="member.add", object_id=membership.pk, actor=self.root)
        )

    def test_save_refuses_a_project_the_form_did_not_offer(self) -> None:
        # The server-side check behind the form: a row that reaches save_model anyway.
        request = RequestFactory().post("/")
        request.user = self.admin
        model_admin = admin.site.get_model_admin(Membership)
        forged = Membership(project=self.other_project, user=self.admin, role=Role.ADMIN)
        events = Event.objects.count()
        with self.assertRaises(PermissionDenied):
            model_admin.save_model(request, forged, form=None, change=False)
        self.assertFalse(Membership.objects.filter(project=self.other_project, user=self.admin))
        self.assertEqual(Event.objects.count(), events)

    def test_a_reviewer_cannot_promote_themselves(self) -> None:
        own = Membership.objects.get(project=self.third_project, user=self.admin)
        page = self.client.get(admin_url(Membership, "change", own.pk))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'name="_save"')  # read-only
        events = Event.objects.count()
        response = self.client.post(admin_url(Membership, "change", own.pk), {"role": Role.ADMIN})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Membership.objects.get(pk=own.pk).role, Role.REVIEWER)
        self.assertEqual(Event.objects.count(), events)

    def test_a_reviewer_cannot_change_the_project_or_its_members(self) -> None:
        page = self.client.get(admin_url(Project, "change", self.third_project.pk))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'name="_save"')
        own = Membership.objects.get(project=self.third_project, user=self.admin)
        data = {
            "name": "Taken over",
            "required_reviews": "1",
            "consensus_rule": "unanimous",
            "majority_threshold": "0.5",
            "lease_minutes": "30",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(own.pk),
            "memberships-0-project": str(self.third_project.pk),
            "memberships-0-role": Role.ADMIN,
            "ratings-TOTAL_FORMS": "0",
            "ratings-INITIAL_FORMS": "0",
        }
        events = Event.objects.count()
        response = self.client.post(admin_url(Project, "change", self.third_project.pk), data)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Project.objects.get(pk=self.third_project.pk).name, "Third desk")
        self.assertEqual(Membership.objects.get(pk=own.pk).role, Role.REVIEWER)
        self.assertEqual(Event.objects.count(), events)

    def test_it_refuses_ratings_and_documents_in_other_projects(self) -> None:
        rating = {"key": "satire", "label": "Satire", "ordinal": "", "position": "9"}
        document = {"title": "Planted", "text": "Planted text.", "language": "en"}
        for model, data, allowed in (
            (Rating, rating, [self.project]),
            (Document, document, [self.project]),
        ):
            for project in (self.other_project, self.third_project):
                with self.subTest(model=model.__name__, project=project.name):
                    rows = model.objects.count()
                    response = self.client.post(
                        admin_url(model, "add"), {**data, "project": str(project.pk)}
                    )
                    self.assertEqual(response.status_code, 200)
                    form = response.context["adminform"].form
                    self.assertIn("project", form.errors)
                    self.assertEqual(list(form.fields["project"].queryset), allowed)
                    self.assertEqual(model.objects.count(), rows)
        response = self.client.post(
            admin_url(Rating, "add"), {**rating, "project": str(self.project.pk)}
        )
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertTrue(Rating.objects.filter(project=self.project, key="satire"))
