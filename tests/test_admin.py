"""Admin panel: every page renders, document text is safe and immutable, events are
read-only, blind review and project scoping hold for staff who are not superusers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.test import RequestFactory, TestCase
from django.urls import reverse

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    ClaimStatus,
    Consensus,
    ConsensusMethod,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Role,
    Source,
    Verdict,
)
from tests.factories import Personas, judge, make_claim, make_document, make_user


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


class AdminPagesTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        document = cls.document
        cls.resolved = make_claim(document=document, actor=cls.creator, exact="crime fell 20%")
        cls.disputed = make_claim(document=document, actor=cls.creator, exact="record low")
        cls.open = make_claim(document=document, actor=cls.creator, exact="$2 billion")
        citation = services.CitationInput(
            stance="supports", url="https://stats.example.org/crime?utm_source=x", quote="-20%"
        )
        for reviewer in (cls.reviewer_a, cls.reviewer_b):
            judge(
                cls.resolved, reviewer, "true", rationale="Matches the stats.", citations=[citation]
            )
        judge(cls.disputed, cls.reviewer_a, "true")
        judge(cls.disputed, cls.reviewer_b, "false")
        services.claim_adjudicate(
            claim=cls.disputed, editor=cls.editor, rating="mostly_true", note="Close enough."
        )
        services.lease_next(reviewer=cls.reviewer_c, project=cls.project)

    def test_it_builds_rows_in_every_state(self) -> None:
        self.assertEqual(Claim.objects.get(pk=self.resolved.pk).status, ClaimStatus.RESOLVED)
        self.assertEqual(
            set(Consensus.objects.values_list("method", flat=True)),
            {ConsensusMethod.UNANIMOUS, ConsensusMethod.ADJUDICATED},
        )
        self.assertTrue(
            Assignment.objects.filter(
                claim=self.open, reviewer=self.reviewer_c, state=AssignmentState.LEASED
            ).exists()
        )

    def test_it_renders_changelist_and_change_page_of_every_model_with_rows(self) -> None:
        visited: set[type[Model]] = set()
        for model in admin.site._registry:
            with self.subTest(model=model._meta.label):
                response = self.client.get(admin_url(model, "changelist"))
                self.assertEqual(response.status_code, 200)
                obj = model._default_manager.order_by("pk").first()
                if obj is None:
                    continue
                response = self.client.get(admin_url(model, "change", obj.pk))
                self.assertEqual(response.status_code, 200)
                visited.add(model)
        self.assertLessEqual(
            {
                Project,
                Membership,
                Rating,
                Document,
                Claim,
                Source,
                Verdict,
                Citation,
                Assignment,
                Consensus,
                Event,
            },
            visited,
        )

    def test_it_lists_every_verdict_for_a_superuser(self) -> None:
        response = self.client.get(admin_url(Verdict, "changelist"))
        self.assertEqual(
            {v.pk for v in response.context["cl"].result_list},
            set(Verdict.objects.values_list("pk", flat=True)),
        )

    def test_it_highlights_claims_in_the_document_text(self) -> None:
        extra = make_claim(document=self.document, actor=self.creator, exact="fell 20% last year")
        response = self.client.get(admin_url(Document, "change", self.document.pk))
        self.assertContains(response, f'<mark title="claims #{self.resolved.pk}">crime </mark>')
        self.assertContains(
            response, f'<mark title="claims #{self.resolved.pk}, #{extra.pk}">fell 20%</mark>'
        )
        self.assertContains(response, f'<mark title="claims #{extra.pk}"> last year</mark>')
        self.assertContains(response, f'<mark title="claims #{self.disputed.pk}">record low</mark>')

    def test_it_escapes_html_in_the_document_text(self) -> None:
        document = make_document(
            project=self.project,
            actor=self.creator,
            title="Script sample",
            text='Intro <script>alert(1)</script> & <b onmouseover="x()">bold</b>\n',
        )
        claim = make_claim(document=document, actor=self.creator, exact="<script>alert(1)</script>")
        response = self.client.get(admin_url(Document, "change", document.pk))
        self.assertContains(
            response,
            f'<mark title="claims #{claim.pk}">&lt;script&gt;alert(1)&lt;/script&gt;</mark>',
        )
        self.assertContains(response, "&lt;b onmouseover=&quot;x()&quot;&gt;bold&lt;/b&gt;")
        self.assertNotContains(response, "<script>alert(1)</script>")
        self.assertNotContains(response, '<b onmouseover="x()">')

    def test_it_shows_document_text_read_only_on_the_change_page(self) -> None:
        response = self.client.get(admin_url(Document, "change", self.document.pk))
        self.assertNotContains(response, 'name="text"')
        self.assertNotIn("text", response.context["adminform"].form.fields)
        self.assertNotIn("raw_text", response.context["adminform"].form.fields)
        self.assertContains(response, "Text with claims highlighted")

    def test_it_offers_a_text_area_on_the_add_page(self) -> None:
        response = self.client.get(admin_url(Document, "add"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<textarea name="text"')

    def test_it_keeps_events_read_only(self) -> None:
        event = Event.objects.order_by("pk").first()
        self.assertEqual(self.client.get(admin_url(Event, "add")).status_code, 403)
        self.assertEqual(self.client.get(admin_url(Event, "delete", event.pk)).status_code, 403)
        self.assertEqual(
            self.client.post(admin_url(Event, "change", event.pk), {"verb": "x"}).status_code,
            403,
        )
        self.assertEqual(Event.objects.get(pk=event.pk).verb, event.verb)
        change = self.client.get(admin_url(Event, "change", event.pk))
        self.assertEqual(change.status_code, 200)
        self.assertNotContains(change, 'name="_save"')
        changelist = self.client.get(admin_url(Event, "changelist"))
        self.assertNotContains(changelist, admin_url(Event, "add"))
        self.assertNotIn(
            "delete_selected",
            changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request),
        )


class AdminProjectAddTests(AdminTestCase):
    def _add_page(self, members: Sequence[tuple[Any, str]] = ()) -> dict[str, str]:
        data = {
            "name": "Admin desk",
            "slug": "admin-desk",
            "organization": "Org",
            "organization_url": "https://example.org",
            "required_reviews": "3",
            "consensus_rule": "majority",
            "majority_threshold": "0.6",
            "lease_minutes": "45",
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
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        project = Project.objects.get(slug="admin-desk")
        self.assertEqual(
            sorted(Membership.objects.filter(project=project).values_list("user", "role")),
            sorted([(self.root.pk, Role.ADMIN), (self.reviewer_a.pk, Role.REVIEWER)]),
        )

    def test_a_new_project_records_only_the_members_it_adds(self) -> None:
        members = [(self.root, Role.ADMIN), (self.reviewer_a, Role.REVIEWER)]
        response = self.client.post(admin_url(Project, "add"), self._add_page(members))
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
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
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
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


class AdminBlindReviewTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        grant_view_permissions(cls.reviewer_a)
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.verdict_b = judge(
            cls.claim, cls.reviewer_b, "mostly_false", rationale="B-SECRET-RATIONALE"
        )

    def setUp(self) -> None:
        self.client.force_login(self.reviewer_a)

    def _listed_verdicts(self) -> set[int]:
        response = self.client.get(admin_url(Verdict, "changelist"))
        self.assertEqual(response.status_code, 200)
        return {v.pk for v in response.context["cl"].result_list}

    def test_it_hides_other_verdicts_until_the_reviewer_submits(self) -> None:
        services.lease_next(reviewer=self.reviewer_a, project=self.project)
        self.assertEqual(self._listed_verdicts(), set())
        change = self.client.get(admin_url(Verdict, "change", self.verdict_b.pk))
        self.assertEqual(change.status_code, 302)
        claim_page = self.client.get(admin_url(Claim, "change", self.claim.pk))
        self.assertEqual(claim_page.status_code, 200)
        self.assertNotContains(claim_page, "B-SECRET-RATIONALE")

        own = services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_a, rating="true", confidence="low"
        )

        self.assertEqual(self._listed_verdicts(), {own.pk, self.verdict_b.pk})
        change = self.client.get(admin_url(Verdict, "change", self.verdict_b.pk))
        self.assertContains(change, "B-SECRET-RATIONALE")
        self.assertContains(
            self.client.get(admin_url(Claim, "change", self.claim.pk)), "B-SECRET-RATIONALE"
        )

    def test_it_shows_everything_to_a_staff_editor(self) -> None:
        grant_view_permissions(self.editor)
        self.client.force_login(self.editor)
        self.assertEqual(self._listed_verdicts(), {self.verdict_b.pk})

    def test_it_does_not_leak_the_verdict_through_the_event_log(self) -> None:
        event = Event.objects.get(verb="verdict.submit", object_id=self.verdict_b.pk)
        response = self.client.get(admin_url(Event, "change", event.pk))
        # Reviewers do not get the audit trail at all: the admin redirects away from it.
        self.assertEqual(response.status_code, 302)
        self.assertNotIn(b"B-SECRET-RATIONALE", response.content)
        listing = self.client.get(admin_url(Event, "changelist"))
        self.assertNotContains(listing, "B-SECRET-RATIONALE")


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


def change_form_data(response) -> dict[str, str]:
    """The POST data a browser would send back unchanged from an admin change page:
    the main form's and every inline form's current values, with the management forms."""
    data: dict[str, str] = {}

    def add(form) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


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
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
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

    def test_the_project_page_hands_the_admin_role_over_in_one_save(self) -> None:
        data = self._project_page()
        # The admin's own row comes first on the page: the save must still promote before
        # it demotes.
        data[f"{self._inline_prefix(data, self.admin)}-role"] = Role.REVIEWER
        data[f"{self._inline_prefix(data, self.editor)}-role"] = Role.ADMIN
        data[f"{self._inline_prefix(data, self.reviewer_c)}-DELETE"] = "on"
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
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
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        self.assertEqual(self._membership(self.admin).role, Role.ADMIN)
        self.assertFalse(
            Membership.objects.filter(project=self.project, user=self.outsider).exists()
        )


def grant_codenames(user, *codenames: str) -> None:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="annotations", codename__in=codenames)
    )


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

    def test_it_refuses_a_membership_in_a_project_the_user_does_not_administer(self) -> None:
        for project in (self.other_project, self.third_project):
            with self.subTest(project=project.name):
                events = Event.objects.count()
                role = Membership.objects.filter(project=project, user=self.admin).first()
                response = self._add_membership(project, self.admin)
                self.assertEqual(response.status_code, 200)  # the form again, with the error
                self.assertIn("project", response.context["adminform"].form.errors)
                self.assertEqual(
                    Membership.objects.filter(project=project, user=self.admin).first(), role
                )
                if role is not None:
                    self.assertEqual(Membership.objects.get(pk=role.pk).role, Role.REVIEWER)
                self.assertEqual(Event.objects.count(), events)

    def test_it_offers_only_administered_projects_in_the_form(self) -> None:
        response = self.client.get(admin_url(Membership, "add"))
        self.assertEqual(response.status_code, 200)
        choices = response.context["adminform"].form.fields["project"].queryset
        self.assertEqual(list(choices), [self.project])

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

    def test_it_still_adds_a_membership_in_an_administered_project(self) -> None:
        response = self._add_membership(self.project, self.outsider, Role.REVIEWER)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        membership = Membership.objects.get(project=self.project, user=self.outsider)
        self.assertEqual(membership.role, Role.REVIEWER)
        self.assertTrue(
            Event.objects.filter(verb="member.add", object_id=membership.pk, actor=self.admin)
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
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        self.assertTrue(Rating.objects.filter(project=self.project, key="satire"))


class AdminProjectChangeTests(AdminTestCase):
    """The project page changes the policy through services.project_update and records
    members only when their role changes."""

    def test_it_changes_the_policy_through_the_service(self) -> None:
        data = change_form_data(self.client.get(admin_url(Project, "change", self.project.pk)))
        self.assertNotIn("slug", data)  # the URL name is fixed once created
        data |= {"name": "Renamed desk", "required_reviews": "3"}
        members = Event.objects.filter(verb__in=["member.add", "member.remove"]).count()
        response = self.client.post(admin_url(Project, "change", self.project.pk), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
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


class AdminUserDeleteTests(AdminTestCase):
    """Deleting a user in the auth admin removes their memberships through the members
    service: the last-admin rule holds and every removal is recorded."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # ``editor`` becomes Desk's only admin; ``admin`` (its creator) a reviewer.
        services.member_add(project=cls.project, user=cls.editor, role=Role.ADMIN, actor=None)
        services.member_add(project=cls.project, user=cls.admin, role=Role.REVIEWER, actor=None)

    def _user_url(self, view: str, *args: object) -> str:
        return reverse(f"admin:auth_user_{view}", args=args)

    def test_deleting_a_projects_last_admin_is_refused(self) -> None:
        url = self._user_url("delete", self.editor.pk)
        page = self.client.get(url)
        self.assertContains(page, "Cannot delete user")
        self.assertContains(page, "Desk: A project needs at least one admin.")
        events = Event.objects.count()
        response = self.client.post(url, {"post": "yes"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A project needs at least one admin.")
        self.assertTrue(type(self.editor).objects.filter(pk=self.editor.pk).exists())
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.editor).role, Role.ADMIN
        )
        self.assertEqual(Event.objects.count(), events)

    def test_bulk_deleting_a_last_admin_is_refused_for_all(self) -> None:
        events = Event.objects.count()
        response = self.client.post(
            self._user_url("changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [self.editor.pk, self.reviewer_c.pk],
                "post": "yes",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "A project needs at least one admin.")
        self.assertEqual(
            type(self.editor).objects.filter(pk__in=[self.editor.pk, self.reviewer_c.pk]).count(),
            2,
        )
        self.assertEqual(Event.objects.count(), events)

    def test_deleting_a_member_records_the_removal(self) -> None:
        membership = Membership.objects.get(project=self.project, user=self.reviewer_c)
        response = self.client.post(self._user_url("delete", self.reviewer_c.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(type(self.reviewer_c).objects.filter(pk=self.reviewer_c.pk).exists())
        event = Event.objects.get(verb="member.remove", object_id=membership.pk)
        self.assertEqual(
            (event.actor, event.project_id, event.before),
            (self.root, self.project.pk, {"user": "reviewer_c", "role": "reviewer"}),
        )

    def test_bulk_deleting_members_records_each_removal(self) -> None:
        services.member_add(
            project=self.other_project, user=self.reviewer_b, role=Role.EDITOR, actor=None
        )
        users = [self.reviewer_b.pk, self.reviewer_c.pk]
        memberships = set(Membership.objects.filter(user__in=users).values_list("pk", flat=True))
        self.assertEqual(len(memberships), 3)
        response = self.client.post(
            self._user_url("changelist"),
            {"action": "delete_selected", "_selected_action": users, "post": "yes"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(type(self.reviewer_b).objects.filter(pk__in=users).exists())
        self.assertEqual(
            set(
                Event.objects.filter(verb="member.remove", actor=self.root).values_list(
                    "object_id", flat=True
                )
            ),
            memberships,
        )

    def test_deleting_an_admin_while_another_remains_works(self) -> None:
        services.member_add(project=self.project, user=self.reviewer_a, role=Role.ADMIN, actor=None)
        response = self.client.post(self._user_url("delete", self.editor.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            list(
                Membership.objects.filter(project=self.project, role=Role.ADMIN).values_list(
                    "user", flat=True
                )
            ),
            [self.reviewer_a.pk],
        )
        self.assertTrue(Event.objects.filter(verb="member.remove", before__user="editor"))

    def test_a_member_cannot_delete_their_own_account(self) -> None:
        services.member_add(
            project=self.other_project, user=self.root, role=Role.REVIEWER, actor=None
        )
        page = self.client.get(self._user_url("delete", self.root.pk))
        self.assertContains(page, "Your own account")
        response = self.client.post(self._user_url("delete", self.root.pk), {"post": "yes"})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(type(self.root).objects.filter(pk=self.root.pk).exists())
