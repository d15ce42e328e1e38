"""The claimant registry through the API: registry, autocomplete, a claimant's claims with
ratings as blind review allows, repeats, and the editors' changes (audited; refused with
400 and nothing written on bad input; 404 for non-members, 403 for reviewers)."""

from __future__ import annotations

from annotations import services
from annotations.models import Claimant, ClaimantName, Event
from tests.api.base import ApiTestCase
from tests.factories import judge, make_claim, make_document

TEXT = (
    "Joe Biden said inflation is falling.\n"
    "President Biden said inflation is falling.\n"
    "The senator said taxes rose.\n"
    "Ms. Smith said wages grew.\n"
)


class ClaimantApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.doc = make_document(project=cls.project, actor=cls.creator, text=TEXT, title="Quotes")
        cls.first = make_claim(
            document=cls.doc,
            actor=cls.creator,
            exact="Joe Biden said inflation is falling.",
            statement="Inflation is falling.",
            claimant="Joe Biden",
        )
        cls.second = make_claim(
            document=cls.doc,
            actor=cls.creator,
            exact="President Biden said inflation is falling.",
            statement="inflation  is falling.",
            claimant="president biden",
        )
        cls.other = make_claim(
            document=cls.doc,
            actor=cls.creator,
            exact="The senator said taxes rose.",
            statement="Taxes rose.",
            claimant="The Senator",
        )
        cls.biden = services.claimant_create(
            project=cls.project,
            name="Joe  Biden",
            actor=cls.editor,
            aliases=["President Biden"],
        )

    # --- reading ------------------------------------------------------------------------------

    def test_the_registry_lists_claimants_with_aliases_and_claim_counts(self) -> None:
        response = self.get(self.reviewer_a, f"/projects/{self.project.pk}/claimants/")
        self.assertEqual(response.status_code, 200, response.content)
        [entry] = response.json()
        self.assertEqual(entry["name"], "Joe Biden")
        self.assertEqual([a["name"] for a in entry["aliases"]], ["President Biden"])
        self.assertEqual(entry["claims"], 2)
        self.assertEqual(entry["kind"], "person")

    def test_a_claimants_page_lists_claims_by_any_of_their_names_and_their_repeats(self) -> None:
        body = self.get(self.editor, f"/claimants/{self.biden.pk}/").json()
        self.assertEqual(
            sorted(c["id"] for c in body["recent_claims"]), [self.first.pk, self.second.pk]
        )
        self.assertEqual(
            body["repeats"],
            [{"statement": "Inflation is falling.", "claims": [self.first.pk, self.second.pk]}],
        )

    def test_ratings_follow_blind_review(self) -> None:
        judge(self.first, self.reviewer_a, "false")
        judge(self.first, self.reviewer_b, "false")
        self.first.refresh_from_db()
        self.assertEqual(self.first.status, "resolved")

        def rating(user) -> str | None:
            body = self.get(user, f"/claimants/{self.biden.pk}/").json()
            return next(c["rating"] for c in body["recent_claims"] if c["id"] == self.first.pk)

        self.assertIsNotNone(rating(self.editor))
        self.assertIsNotNone(rating(self.reviewer_a))  # judged it
        self.assertIsNone(rating(self.reviewer_c))  # has not: blind
        self.assertIsNone(rating(self.creator))

    def test_autocomplete_suggests_registered_names_then_names_used_on_claims(self) -> None:
        path = f"/projects/{self.project.pk}/claimants/suggest/"
        body = self.get(self.reviewer_a, path, {"q": "pres"}).json()
        self.assertEqual(body["results"], [{"name": "Joe Biden", "claimant": self.biden.pk}])
        body = self.get(self.reviewer_a, path, {"q": "sen"}).json()
        self.assertEqual(body["results"], [{"name": "The Senator", "claimant": None}])
        self.assertFieldError(self.get(self.reviewer_a, path, {"q": "x", "limit": "0"}), "limit")
        self.assertEqual(self.get(self.reviewer_a, path, {"q": "x", "limit": "5"}).status_code, 200)
        # int() read these as a limit of 5: the limit takes ASCII digits only.
        self.assertFieldError(
            self.get(self.reviewer_a, path, {"q": "x", "limit": "9" * 5000}), "limit", "Between"
        )  # past int()'s 4,300 digits: the range's 400, not a 500
        for limit in (" 5", "5 ", "+5", "5.0", "5_0", "\u0665", "abc"):
            with self.subTest(limit=limit):
                self.assertFieldError(
                    self.get(self.reviewer_a, path, {"q": "x", "limit": limit}),
                    "limit",
                    "Enter a whole number in ASCII digits.",
                )
        self.assertFieldError(self.get(self.reviewer_a, path, {"who": "x"}), "who")

    def test_non_members_get_404_everywhere(self) -> None:
        for path in (
            f"/projects/{self.project.pk}/claimants/",
            f"/projects/{self.project.pk}/claimants/suggest/?q=jo",
            f"/claimants/{self.biden.pk}/",
        ):
            with self.subTest(path=path):
                self.assertEqual(self.get(self.outsider, path).status_code, 404)
        with self.assertNothingWritten():
            response = self.post(
                self.outsider, f"/claimants/{self.biden.pk}/aliases/", {"name": "x"}
            )
        self.assertEqual(response.status_code, 404)

    # --- writing -----------------------------------------------------------------------------

    def test_an_editor_registers_a_claimant_and_the_event_records_it(self) -> None:
        response = self.post(
            self.editor,
            f"/projects/{self.project.pk}/claimants/",
            {"name": "The Senator", "kind": "person", "aliases": ["Senator Jones"]},
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(body["recent_claims"][0]["id"], self.other.pk)
        event = Event.objects.filter(verb="claimant.create").latest("id")
        self.assertEqual(event.after["aliases"], ["Senator Jones"])
        self.assertEqual(event.actor, self.editor)

    def test_reviewers_may_not_change_the_registry(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.reviewer_a, f"/projects/{self.project.pk}/claimants/", {"name": "Someone"}
            )
        self.assertEqual(response.status_code, 403)
        with self.assertNothingWritten():
            response = self.patch(self.reviewer_a, f"/claimants/{self.biden.pk}/", {"name": "X"})
        self.assertEqual(response.status_code, 403)

    def test_a_spelling_already_registered_is_refused_and_nothing_written(self) -> None:
        for data, field in (
            ({"name": "JOE BIDEN."}, "name"),
            ({"name": "Someone", "aliases": ["president   biden"]}, "aliases"),
            ({"name": "Someone", "aliases": ["Sam", "sam"]}, "aliases"),
            ({"name": " ... "}, "name"),
            ({"name": "Someone", "kind": "robot"}, "kind"),
            ({"name": "x" * 201}, "name"),
            ({"name": "Someone", "colour": "red"}, "colour"),
        ):
            with self.subTest(data=data), self.assertNothingWritten():
                response = self.post(self.editor, f"/projects/{self.project.pk}/claimants/", data)
                self.assertFieldError(response, field)

    def test_rename_keeps_the_old_name_as_an_alias(self) -> None:
        response = self.patch(
            self.editor, f"/claimants/{self.biden.pk}/", {"name": "Joseph R. Biden"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        names = set(
            ClaimantName.objects.filter(claimant=self.biden).values_list("name", "is_primary")
        )
        self.assertEqual(
            names,
            {("Joseph R. Biden", True), ("Joe Biden", False), ("President Biden", False)},
        )
        event = Event.objects.filter(verb="claimant.update").latest("id")
        self.assertEqual(event.before["name"], "Joe Biden")
        self.assertEqual(event.after["name"], "Joseph R. Biden")

    def test_aliases_are_added_and_removed(self) -> None:
        response = self.post(self.editor, f"/claimants/{self.biden.pk}/aliases/", {"name": "POTUS"})
        self.assertEqual(response.status_code, 201, response.content)
        alias_id = response.json()["id"]
        response = self.client_for(self.editor).delete(
            f"/api/v1/claimants/{self.biden.pk}/aliases/{alias_id}/"
        )
        self.assertEqual(response.status_code, 204)
        self.assertFalse(ClaimantName.objects.filter(pk=alias_id).exists())
        primary = ClaimantName.objects.get(claimant=self.biden, is_primary=True)
        with self.assertNothingWritten():
            response = self.client_for(self.editor).delete(
                f"/api/v1/claimants/{self.biden.pk}/aliases/{primary.pk}/"
            )
        self.assertFieldError(response, "alias", "rename")

    def test_merge_moves_every_name_and_keeps_the_merged_row(self) -> None:
        senator = services.claimant_create(
            project=self.project, name="The Senator", actor=self.editor
        )
        response = self.post(
            self.editor, f"/claimants/{senator.pk}/merge/", {"into": self.biden.pk}
        )
        self.assertEqual(response.status_code, 200, response.content)
        senator.refresh_from_db()
        self.assertEqual(senator.merged_into_id, self.biden.pk)
        self.assertEqual(response.json()["id"], self.biden.pk)
        self.assertEqual(
            sorted(c["id"] for c in response.json()["recent_claims"]),
            [self.first.pk, self.second.pk, self.other.pk],
        )
        # The merged claimant is left out of the registry and refuses further changes.
        registry = self.get(self.editor, f"/projects/{self.project.pk}/claimants/").json()
        self.assertEqual([e["id"] for e in registry], [self.biden.pk])
        with self.assertNothingWritten():
            response = self.post(self.editor, f"/claimants/{senator.pk}/aliases/", {"name": "Z"})
        self.assertFieldError(response, "claimant", "merged")

    def test_merge_refuses_another_projects_claimant(self) -> None:
        other = Claimant.objects.create(project=self.other_project, name="Elsewhere")
        with self.assertNothingWritten():
            response = self.post(
                self.editor, f"/claimants/{self.biden.pk}/merge/", {"into": other.pk}
            )
        self.assertFieldError(response, "into")
