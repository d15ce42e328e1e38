"""API: projects, their members and the agreement report (``/projects/``,
``/projects/{id}/members/``, ``/projects/{id}/agreement/``)."""

from __future__ import annotations

from annotations import services
from annotations.models import Event, Membership, Project, Role
from tests.api.base import DEFAULT_SCALE_KEYS, PROJECT_FIELDS, ApiTestCase
from tests.factories import grant, judge, make_claim, make_document, make_user


class ProjectApiTests(ApiTestCase):
    def test_the_list_holds_only_the_callers_projects_with_their_role(self) -> None:
        response = self.get(self.reviewer_a, "/projects/")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(set(body), {"next", "previous", "results"})
        [project] = body["results"]
        self.assertEqual(set(project), PROJECT_FIELDS)
        self.assertEqual(project["id"], self.project.pk)
        self.assertEqual(project["role"], "reviewer")
        self.assertEqual([r["key"] for r in project["scale"]], DEFAULT_SCALE_KEYS)
        self.assertEqual(
            project["scale"][0], {"key": "true", "label": "True", "ordinal": 5, "position": 0}
        )
        self.assertIsNone(project["scale"][-1]["ordinal"])
        outsider_projects = self.get(self.outsider, "/projects/").json()["results"]
        self.assertEqual(
            [(p["id"], p["role"]) for p in outsider_projects], [(self.other_project.pk, "admin")]
        )

    def test_it_creates_a_project_whose_creator_is_admin(self) -> None:
        grant(self.reviewer_a, "add_project")
        response = self.post(
            self.reviewer_a,
            "/projects/",
            {
                "name": "Election desk",
                "organization": "Example News",
                "organization_url": "https://news.example.org/",
                "required_reviews": 3,
                "consensus_rule": "majority",
                "majority_threshold": 0.6,
                "lease_minutes": 45,
            },
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), PROJECT_FIELDS)
        self.assertEqual(
            {k: body[k] for k in ("name", "slug", "required_reviews", "consensus_rule", "role")},
            {
                "name": "Election desk",
                "slug": "election-desk",
                "required_reviews": 3,
                "consensus_rule": "majority",
                "role": "admin",
            },
        )
        self.assertEqual(body["majority_threshold"], 0.6)
        self.assertEqual(len(body["scale"]), 8)
        project = Project.objects.get(pk=body["id"])
        self.assertEqual(
            Membership.objects.get(project=project, user=self.reviewer_a).role, Role.ADMIN
        )
        self.assertTrue(Event.objects.filter(verb="project.create", object_id=project.pk).exists())

    def test_detail_returns_the_project(self) -> None:
        response = self.get(self.editor, f"/projects/{self.project.pk}/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["role"], "editor")
        self.assertEqual(response.json()["name"], "Desk")

    def test_an_admin_changes_the_policy_and_it_is_audited(self) -> None:
        response = self.patch(
            self.admin,
            f"/projects/{self.project.pk}/",
            {"required_reviews": 3, "consensus_rule": "majority", "majority_threshold": 0.66},
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["required_reviews"], 3)
        self.project.refresh_from_db()
        self.assertEqual(
            (self.project.required_reviews, self.project.consensus_rule), (3, "majority")
        )
        event = Event.objects.get(verb="project.update")
        self.assertEqual(event.before["required_reviews"], 2)
        self.assertEqual(event.after["required_reviews"], 3)

    def test_the_slug_never_changes(self) -> None:
        with self.assertNothingWritten():
            response = self.patch(self.admin, f"/projects/{self.project.pk}/", {"slug": "renamed"})
        self.assertFieldError(response, "slug", "Unknown or read-only field")
        self.assertEqual(
            self.get(self.admin, f"/projects/{self.project.pk}/").json()["slug"], "desk"
        )

    def test_bad_policy_values_are_refused_and_nothing_is_written(self) -> None:
        cases = [
            ({"required_reviews": 0}, "required_reviews", "greater than or equal to 1"),
            ({"required_reviews": 21}, "required_reviews", "less than or equal to 20"),
            ({"required_reviews": "two"}, "required_reviews", "whole number in ASCII digits"),
            ({"required_reviews": " 2"}, "required_reviews", "whole number in ASCII digits"),
            ({"required_reviews": "2.0"}, "required_reviews", "whole number in ASCII digits"),
            ({"required_reviews": 2.0}, "required_reviews", "Enter a whole number."),
            ({"majority_threshold": " 0.6"}, "majority_threshold", "number in ASCII"),
            ({"majority_threshold": "0.6 "}, "majority_threshold", "number in ASCII"),
            # Python's int() and float() read other scripts' digits and "_": text takes
            # ASCII only (JSON numbers do anyway).
            ({"required_reviews": "\u0663"}, "required_reviews", "whole number in ASCII digits"),
            ({"lease_minutes": "\uff13\uff10"}, "lease_minutes", "whole number in ASCII digits"),
            ({"min_citations": "1_0"}, "min_citations", "whole number in ASCII digits"),
            ({"majority_threshold": "\u0660.\u0666"}, "majority_threshold", "number in ASCII"),
            ({"majority_threshold": 1.5}, "majority_threshold", "less than or equal to 0.99"),
            ({"majority_threshold": 0.4}, "majority_threshold", "greater than or equal to 0.5"),
            ({"lease_minutes": 0}, "lease_minutes", "greater than or equal to 1"),
            ({"lease_minutes": 1441}, "lease_minutes", "less than or equal to 1440"),
            ({"consensus_rule": "bogus"}, "consensus_rule", '"bogus" is not a valid choice'),
            ({"name": ""}, "name", "may not be blank"),
            ({"name": "x" * 201}, "name", "at most 200 characters (it has 201)"),
            ({"organization_url": "javascript:alert(1)"}, "organization_url", "scheme: javascript"),
            ({"organization_url": "ftp://example.org/"}, "organization_url", "http and https"),
            (
                {"organization_url": "http://169.254.169.254/latest/meta-data"},
                "organization_url",
                "Only public sites are accepted: the address 169.254.169.254 is a link-local",
            ),
            ({"organization_url": "http://localhost/"}, "organization_url", "this server"),
            # The services' reason, not Django's "Enter a valid URL." (its URL check ran
            # first and refused these without saying why).
            (
                {"organization_url": "http://127.1/"},
                "organization_url",
                "Only public sites are accepted: 127.1 is numeric shorthand",
            ),
            (
                {"organization_url": "http://0x7f.1/"},
                "organization_url",
                "Only public sites are accepted: 0x7f.1 is numeric shorthand",
            ),
            (
                {"organization_url": "http://%31%32%37.0.0.1/"},
                "organization_url",
                "Only public sites are accepted: the address 127.0.0.1 is a loopback",
            ),
            (
                {"organization_url": "http://10.0.0.1/"},
                "organization_url",
                "Only public sites are accepted: the address 10.0.0.1 is a private",
            ),
            ({"name": "New\x00desk"}, "name", "Null characters are not allowed"),
            ({"organization": "Fact\x00Desk"}, "organization", "Null characters are not allowed"),
        ]
        for body, field, reason in cases:
            with self.subTest(method="PATCH", body=body), self.assertNothingWritten():
                response = self.patch(self.admin, f"/projects/{self.project.pk}/", body)
                self.assertFieldError(response, field, reason)
            with self.subTest(method="POST", body=body), self.assertNothingWritten():
                response = self.post(self.admin, "/projects/", {"name": "New desk", **body})
                self.assertFieldError(response, field, reason)
        self.project.refresh_from_db()
        self.assertEqual(
            (self.project.name, self.project.required_reviews, self.project.majority_threshold),
            ("Desk", 2, 0.5),
        )
        # A JSON number in another script's digits is no JSON: the parser refuses it.
        with self.assertNothingWritten():
            response = self.client_for(self.admin).patch(
                f"/api/v1/projects/{self.project.pk}/",
                '{"required_reviews": \u0663}'.encode(),
                content_type="application/json",
            )
        self.assertDetail(response, 400, "JSON parse error - Expecting value")
        # ASCII digits as text are still read (without spaces around them, above).
        body = {"required_reviews": "3", "majority_threshold": "0.6"}
        response = self.patch(self.admin, f"/projects/{self.project.pk}/", body)
        self.assertEqual(response.status_code, 200, response.content)
        self.project.refresh_from_db()
        self.assertEqual((self.project.required_reviews, self.project.majority_threshold), (3, 0.6))

    def test_opening_a_project_needs_the_add_project_permission(self) -> None:
        # Otherwise any account could open a project and probe usernames through its members.
        for user in (self.reviewer_a, self.editor, self.outsider):
            with self.subTest(user=user.username), self.assertNothingWritten():
                for body in ({"name": "Mine"}, {}, {"name": "x" * 500}):
                    self.assertDetail(self.post(user, "/projects/", body), 403, "Can add project")
        grant(self.reviewer_a, "add_project")
        response = self.post(self.reviewer_a, "/projects/", {"name": "Mine"})
        self.assertEqual(response.status_code, 201, response.content)

    def test_creating_needs_a_name_and_a_free_slug(self) -> None:
        with self.assertNothingWritten():
            self.assertFieldError(self.post(self.admin, "/projects/", {}), "name", "required")
            self.assertFieldError(
                self.post(self.admin, "/projects/", {"name": "Desk"}), "slug", "already exists"
            )


class MemberApiTests(ApiTestCase):
    def test_members_are_listed_by_username(self) -> None:
        response = self.get(self.reviewer_a, f"/projects/{self.project.pk}/members/")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            [(m["username"], m["role"]) for m in body],
            [
                ("admin", "admin"),
                ("creator", "reviewer"),
                ("editor", "editor"),
                ("reviewer_a", "reviewer"),
                ("reviewer_b", "reviewer"),
                ("reviewer_c", "reviewer"),
            ],
        )
        self.assertEqual(set(body[0]), {"username", "role", "created_at"})

    def test_a_project_admin_cannot_add_a_non_member_directly(self) -> None:
        # Anybody who is not a member is invited (tests/api/test_invitations.py); the
        # answer is the same for an account and for no account (tests/security).
        make_user("newcomer")
        with self.assertNothingWritten():
            response = self.post(
                self.admin,
                f"/projects/{self.project.pk}/members/",
                {"username": "newcomer", "role": "editor"},
            )
        self.assertFieldError(response, "username", "invite them instead")

    def test_a_superuser_adds_a_member_and_it_is_audited(self) -> None:
        newcomer = make_user("newcomer")
        self.admin.is_superuser = True
        self.admin.save()
        response = self.post(
            self.admin,
            f"/projects/{self.project.pk}/members/",
            {"username": "newcomer", "role": "editor"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["username"], "newcomer")
        self.assertEqual(response.json()["role"], "editor")
        self.assertEqual(Membership.objects.get(project=self.project, user=newcomer).role, "editor")
        self.assertTrue(Event.objects.filter(verb="member.add", after__user="newcomer").exists())
        unknown = self.post(
            self.admin,
            f"/projects/{self.project.pk}/members/",
            {"username": "nobody", "role": "editor"},
        )
        self.assertFieldError(unknown, "username", "No active user 'nobody'")

    def test_adding_an_existing_member_changes_their_role(self) -> None:
        response = self.post(
            self.admin,
            f"/projects/{self.project.pk}/members/",
            {"username": "reviewer_a", "role": "editor"},
        )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.reviewer_a).role, "editor"
        )
        self.assertEqual(Membership.objects.filter(project=self.project).count(), 6)

    def test_bad_members_are_refused_and_nothing_is_written(self) -> None:
        make_user("newcomer")
        gone = make_user("gone")
        gone.is_active = False
        gone.save()
        cases = [
            ({"username": "newcomer", "role": "owner"}, "role", '"owner" is not a valid choice'),
            ({"username": "newcomer"}, "role", "required"),
            ({"username": "nobody", "role": "reviewer"}, "username", "invite them instead"),
            ({"username": "gone", "role": "reviewer"}, "username", "invite them instead"),
            ({"role": "reviewer"}, "username", "required"),
        ]
        for body, field, reason in cases:
            with self.subTest(body=body), self.assertNothingWritten():
                response = self.post(self.admin, f"/projects/{self.project.pk}/members/", body)
                self.assertFieldError(response, field, reason)

    def test_demoting_the_last_admin_is_refused_and_nothing_is_written(self) -> None:
        events = Event.objects.count()
        for role in ("editor", "reviewer"):
            with self.subTest(role=role), self.assertNothingWritten():
                response = self.post(
                    self.admin,
                    f"/projects/{self.project.pk}/members/",
                    {"username": "admin", "role": role},
                )
                self.assertFieldError(response, "role", "A project needs at least one admin.")
        self.assertEqual(Event.objects.count(), events)
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.admin).role, "admin"
        )

    def test_an_admin_steps_down_once_another_admin_is_named(self) -> None:
        url = f"/projects/{self.project.pk}/members/"
        promoted = self.post(self.admin, url, {"username": "editor", "role": "admin"})
        self.assertEqual(promoted.status_code, 201, promoted.content)
        response = self.post(self.admin, url, {"username": "admin", "role": "editor"})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["role"], "editor")
        # The new admin cannot step down in turn: they are the last one now.
        refused = self.post(self.editor, url, {"username": "editor", "role": "reviewer"})
        self.assertFieldError(refused, "role", "at least one admin")


class AgreementApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.agreed = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.agreed, cls.reviewer_a, "false")
        judge(cls.agreed, cls.reviewer_b, "false")
        cls.second_document = make_document(
            project=cls.project, actor=cls.editor, text="The river rose two metres.", title="B"
        )
        cls.split = make_claim(
            document=cls.second_document, actor=cls.creator, exact="river rose two metres"
        )
        judge(cls.split, cls.reviewer_a, "true")
        judge(cls.split, cls.reviewer_b, "false")

    def test_it_reports_agreement_over_the_project(self) -> None:
        response = self.get(self.editor, f"/projects/{self.project.pk}/agreement/")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            set(body),
            {"krippendorff_alpha", "percent_agreement", "claims", "verdicts", "reviewers"},
        )
        self.assertEqual(set(body["krippendorff_alpha"]), {"nominal", "ordinal"})
        self.assertEqual((body["claims"], body["verdicts"]), (2, 4))
        self.assertEqual(body["percent_agreement"], 0.5)
        rows = {row["username"]: row for row in body["reviewers"]}
        self.assertEqual(set(rows), {"reviewer_a", "reviewer_b"})
        self.assertEqual(
            set(rows["reviewer_a"]), {"username", "verdicts", "compared", "matched_consensus"}
        )
        self.assertEqual(
            (rows["reviewer_a"]["verdicts"], rows["reviewer_a"]["matched_consensus"]), (2, 1)
        )

    def test_it_reports_agreement_for_one_document(self) -> None:
        response = self.get(
            self.editor,
            f"/projects/{self.project.pk}/agreement/",
            {"document": self.second_document.pk},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual((response.json()["claims"], response.json()["verdicts"]), (1, 2))
        self.assertEqual(response.json()["percent_agreement"], 0.0)

    def test_a_project_without_verdicts_has_no_agreement_figures(self) -> None:
        body = self.get(self.outsider, f"/projects/{self.other_project.pk}/agreement/").json()
        self.assertEqual(
            body,
            {
                "krippendorff_alpha": {"nominal": None, "ordinal": None},
                "percent_agreement": None,
                "claims": 0,
                "verdicts": 0,
                "reviewers": [],
            },
        )

    def test_agreement_tells_a_reviewer_nothing_about_verdicts_they_may_not_see(self) -> None:
        self.project.required_reviews = 3
        self.project.save()
        document = make_document(
            project=self.project, actor=self.editor, text="Rents doubled in a year.", title="C"
        )
        claim = make_claim(document=document, actor=self.creator, exact="Rents doubled")
        judge(claim, self.reviewer_a, "false")
        judge(claim, self.editor, "false")
        services.lease_next(reviewer=self.reviewer_c, project=self.project)
        response = self.get(
            self.reviewer_c, f"/projects/{self.project.pk}/agreement/", {"document": document.pk}
        )
        if response.status_code == 403:
            return
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual((body["verdicts"], body["percent_agreement"]), (0, None), body)
        self.assertEqual(body["reviewers"], [])

    def test_a_bad_document_parameter_is_a_400(self) -> None:
        other_document = make_document(
            project=self.other_project, actor=self.outsider, text="Elsewhere."
        )
        cases = [
            ("abc", "Enter a whole number in ASCII digits."),
            # int() read these as a document id (and "1.0" was already a 400).
            (" 1", "Enter a whole number in ASCII digits."),
            ("1 ", "Enter a whole number in ASCII digits."),
            ("+1", "Enter a whole number in ASCII digits."),
            ("1.0", "Enter a whole number in ASCII digits."),
            ("1_0", "Enter a whole number in ASCII digits."),
            ("\u0661", "Enter a whole number in ASCII digits."),
            ("0", "Out of range"),
            ("-3", "Out of range"),
            (str(2**63), "Out of range"),
            ("9" * 5000, "Out of range"),  # past int()'s 4,300 digits: never a 500
            (str(other_document.pk), "No such document in this project"),
        ]
        for value, reason in cases:
            with self.subTest(document=value):
                response = self.get(
                    self.editor, f"/projects/{self.project.pk}/agreement/", {"document": value}
                )
                self.assertFieldError(response, "document", reason)
