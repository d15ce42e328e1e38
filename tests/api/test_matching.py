"""Finding claims through the API (issue 17): references, matches, links, repeats."""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult

from annotations import services
from annotations.models import ClaimLink, Event, Reference, RepeatSuggestion, Role
from annotations.selectors import matching as match_selectors
from tests.api.base import ApiTestCase
from tests.factories import judge, make_claim, make_document, make_member

REPEATS_TASK = "annotations.services.references.repeats_scan_batch_task"

REFERENCES = [
    {
        "claim_reviewed": "The city spent 40 million dollars on the new stadium roof.",
        "headline": "No, the stadium roof did not cost 40 million",
        "url": "https://factcheck.example.org/stadium-roof",
        "rating": "False",
        "date": "2024-03-01",
        "publisher": "Example Checks",
    },
    {
        "claim_reviewed": "Vaccines cause autism in young children.",
        "rating": "Pants on fire",
        "url": "https://factcheck.example.org/vaccines",
    },
    {"claim_reviewed": "Unemployment fell to its lowest level in fifty years last spring."},
    {"claim_reviewed": "The river has flooded the old town every winter since 1990."},
]


class MatchingApiBase(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.refs = services.references_create(
            project=cls.project,
            items=[services.ReferenceInput(**_input(r)) for r in REFERENCES],
            actor=cls.editor,
        )

    def setUp(self) -> None:
        match_selectors.engine_reset()


def _input(raw: dict[str, str]) -> dict[str, object]:
    import datetime as dt

    data: dict[str, object] = dict(raw)
    if "date" in data:
        data["date"] = dt.date.fromisoformat(str(data["date"]))
    return data


class ReferencesApiTests(MatchingApiBase):
    def path(self) -> str:
        return f"/projects/{self.project.pk}/references/"

    def test_it_creates_references_in_bulk_and_answers_their_ids_in_order(self) -> None:
        items = [{"claim_reviewed": f"Claim number {i} about the budget."} for i in range(3)]
        response = self.post(self.editor, self.path(), items)
        self.assertEqual(response.status_code, 201, response.content)
        ids = response.json()["ids"]
        self.assertEqual(len(ids), 3)
        texts = [Reference.objects.get(pk=pk).claim_reviewed for pk in ids]
        self.assertEqual(texts, [item["claim_reviewed"] for item in items])
        self.assertEqual(
            Event.objects.filter(verb="reference.create", object_id__in=ids).count(), 3
        )

    def test_a_bad_item_is_a_400_naming_index_and_field_and_nothing_is_written(self) -> None:
        items = [
            {"claim_reviewed": "A fine claim about taxes."},
            {"claim_reviewed": "Another claim.", "url": "javascript:alert(1)"},
        ]
        before = Reference.objects.count()
        with self.assertNothingWritten():
            response = self.post(self.editor, self.path(), items)
        self.assertFieldError(response, "1.url")
        items[1]["url"] = "http://10.0.0.1/fact-check"  # published with the reference
        with self.assertNothingWritten():
            response = self.post(self.editor, self.path(), items)
        self.assertFieldError(response, "1.url", "10.0.0.1 is a private address")
        missing = self.post(self.editor, self.path(), [{"headline": "no claim"}])
        self.assertFieldError(missing, "0.claim_reviewed")
        self.assertEqual(Reference.objects.count(), before)

    def test_too_many_items_are_refused(self) -> None:
        from annotations.services import limits

        items = [{"claim_reviewed": "x"}] * (limits.MAX_REFERENCES_PER_REQUEST + 1)
        response = self.post(self.editor, self.path(), items)
        self.assertEqual(response.status_code, 400)

    def test_roles_reviewers_read_editors_write_outsiders_get_404(self) -> None:
        self.assertEqual(self.get(self.reviewer_a, self.path()).status_code, 200)
        body = [{"claim_reviewed": "Some claim."}]
        self.assertEqual(self.post(self.reviewer_a, self.path(), body).status_code, 403)
        self.assertEqual(self.get(self.outsider, self.path()).status_code, 404)
        self.assertEqual(self.post(self.outsider, self.path(), body).status_code, 404)

    def test_the_list_is_paginated_and_searchable(self) -> None:
        response = self.get(self.reviewer_a, self.path(), {"page_size": 2})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.json()["results"]), 2)
        self.assertIsNotNone(response.json()["next"])
        found = self.get(self.reviewer_a, self.path(), {"q": "stadium"}).json()["results"]
        self.assertEqual([r["id"] for r in found], [self.refs[0].pk])


class MatchesApiTests(MatchingApiBase):
    def path(self) -> str:
        return f"/projects/{self.project.pk}/matches/"

    def test_an_exact_restatement_of_a_reference_ranks_first(self) -> None:
        for ref in self.refs:
            with self.subTest(ref=ref.claim_reviewed):
                response = self.post(
                    self.reviewer_a, self.path(), {"text": ref.claim_reviewed, "limit": 3}
                )
                self.assertEqual(response.status_code, 200, response.content)
                first = response.json()["results"][0]
                self.assertEqual((first["kind"], first["id"]), ("reference", ref.pk))
                self.assertEqual(first["claim_reviewed"], ref.claim_reviewed)
                self.assertFalse(first["flags"]["numbers_differ"])

    def test_results_have_the_documented_shape_best_first(self) -> None:
        response = self.post(
            self.reviewer_a, self.path(), {"text": "Did the stadium roof cost 40 million?"}
        )
        results = response.json()["results"]
        self.assertLessEqual(len(results), 5)
        scores = [r["score"] for r in results]
        self.assertEqual(scores, sorted(scores, reverse=True))
        first = results[0]
        self.assertEqual(
            set(first),
            {"kind", "id", "score", "claim_reviewed", "rating", "url", "status", "flags"},
        )
        self.assertEqual(first["rating"], "False")
        self.assertIn("engine", response.json())

    def test_numbers_and_negation_that_differ_are_flagged(self) -> None:
        text = "The city spent 90 million dollars on the new stadium roof."
        first = self.post(self.reviewer_a, self.path(), {"text": text}).json()["results"][0]
        self.assertEqual(first["id"], self.refs[0].pk)
        self.assertTrue(first["flags"]["numbers_differ"])
        self.assertEqual(first["flags"]["numbers_only_in_text"], ["90000000"])  # by value
        negated = "Vaccines do not cause autism in young children."
        first = self.post(self.reviewer_a, self.path(), {"text": negated}).json()["results"][0]
        self.assertEqual(first["id"], self.refs[1].pk)
        self.assertTrue(first["flags"]["negation_differs"])

    def test_outsiders_get_404_and_bad_bodies_400(self) -> None:
        self.assertEqual(self.post(self.outsider, self.path(), {"text": "x"}).status_code, 404)
        self.assertFieldError(self.post(self.reviewer_a, self.path(), {}), "text")
        self.assertFieldError(
            self.post(self.reviewer_a, self.path(), {"text": "x", "limit": 0}), "limit"
        )
        self.assertFieldError(
            self.post(self.reviewer_a, self.path(), {"text": "x", "other": 1}), "other"
        )

    def test_a_new_reference_is_found_by_the_next_search(self) -> None:
        text = "Wind turbines kill more birds than cats do every year."
        self.post(self.reviewer_a, self.path(), {"text": text})  # builds the index
        (new,) = services.references_create(
            project=self.project,
            items=[services.ReferenceInput(claim_reviewed=text)],
            actor=self.editor,
        )
        first = self.post(self.reviewer_a, self.path(), {"text": text}).json()["results"][0]
        self.assertEqual(first["id"], new.pk)

    def test_a_blind_reviewer_sees_a_claims_statement_but_not_its_rating(self) -> None:
        text = "The mayor doubled the police budget in two years."
        document = make_document(project=self.project, actor=self.creator, text=text + " More.")
        claim = make_claim(document=document, actor=self.creator, exact=text)
        for user in (self.reviewer_b, self.reviewer_c):
            judge(claim, user, "false")
        claim.refresh_from_db()
        self.assertEqual(claim.status, "resolved")

        def found(user: object) -> dict[str, object]:
            results = self.post(user, self.path(), {"text": text}).json()["results"]
            return next(r for r in results if r["kind"] == "claim" and r["id"] == claim.pk)

        self.assertIsNone(found(self.reviewer_a)["rating"])
        self.assertEqual(found(self.reviewer_a)["statement"], text)
        self.assertIsNotNone(found(self.reviewer_b)["rating"])
        self.assertIsNotNone(found(self.editor)["rating"])

    def test_it_runs_lexical_only_without_embeddings(self) -> None:
        with self.settings(MATCHING_SEMANTIC=False):
            match_selectors.engine_reset()
            response = self.post(
                self.reviewer_a, self.path(), {"text": REFERENCES[1]["claim_reviewed"]}
            )
            self.assertEqual(response.json()["results"][0]["id"], self.refs[1].pk)
            self.assertIn("lexical only", response.json()["engine"])
        match_selectors.engine_reset()


class ClaimLinksApiTests(MatchingApiBase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        text = "The new stadium roof cost the city 40 million dollars."
        cls.doc = make_document(project=cls.project, actor=cls.creator, text=text + " Fine.")
        cls.claim = make_claim(document=cls.doc, actor=cls.creator, exact=text)

    def path(self) -> str:
        return f"/claims/{self.claim.pk}/links/"

    def test_the_creator_links_and_an_editor_confirms_each_change_audited(self) -> None:
        response = self.post(
            self.creator, self.path(), {"kind": "reference", "id": self.refs[0].pk}
        )
        self.assertEqual(response.status_code, 201, response.content)
        link = response.json()
        self.assertEqual(
            (link["state"], link["kind"], link["rating"]), ("suggested", "reference", "False")
        )
        confirmed = self.patch(self.editor, f"{self.path()}{link['id']}/", {"state": "confirmed"})
        self.assertEqual(confirmed.status_code, 200, confirmed.content)
        self.assertEqual(confirmed.json()["state"], "confirmed")
        self.assertEqual(confirmed.json()["decided_by"], self.editor.pk)
        verbs = list(
            Event.objects.filter(object_type="claimlink", object_id=link["id"])
            .order_by("seq")
            .values_list("verb", flat=True)
        )
        self.assertEqual(verbs, ["claim.link", "claim.link_decide"])
        rejected = self.patch(self.creator, f"{self.path()}{link['id']}/", {"state": "rejected"})
        self.assertEqual(rejected.json()["state"], "rejected")
        again = self.post(self.creator, self.path(), {"kind": "reference", "id": self.refs[0].pk})
        self.assertEqual(again.status_code, 409)

    def test_others_may_not_link_and_outsiders_get_404(self) -> None:
        body = {"kind": "reference", "id": self.refs[0].pk}
        self.assertEqual(self.post(self.reviewer_a, self.path(), body).status_code, 403)
        self.assertEqual(self.post(self.outsider, self.path(), body).status_code, 404)
        self.assertEqual(self.get(self.outsider, self.path()).status_code, 404)
        link = services.claim_link_create(
            claim=self.claim, actor=self.creator, reference=self.refs[0]
        )
        response = self.patch(self.reviewer_a, f"{self.path()}{link.pk}/", {"state": "confirmed"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(ClaimLink.objects.get(pk=link.pk).state, "suggested")

    def test_a_link_to_another_projects_reference_is_a_400(self) -> None:
        (other,) = services.references_create(
            project=self.other_project,
            items=[services.ReferenceInput(claim_reviewed="Elsewhere.")],
            actor=self.outsider,
        )
        with self.assertNothingWritten():
            response = self.post(self.creator, self.path(), {"kind": "reference", "id": other.pk})
        self.assertFieldError(response, "id")


class BlindLinkTests(MatchingApiBase):
    def test_a_reviewer_sees_a_linked_earlier_verdict_only_after_their_own(self) -> None:
        text = "Crime fell by half in the harbour district."
        earlier_doc = make_document(project=self.project, actor=self.creator, text=text + " X.")
        earlier = make_claim(document=earlier_doc, actor=self.creator, exact=text)
        for user in (self.reviewer_b, self.reviewer_c):
            judge(earlier, user, "false")
        later_doc = make_document(project=self.project, actor=self.creator, text=text + " Y.")
        later = make_claim(document=later_doc, actor=self.creator, exact=text)
        services.claim_link_create(claim=later, actor=self.creator, target=earlier)
        path = f"/claims/{later.pk}/links/"
        (row,) = self.get(self.reviewer_a, path).json()
        self.assertIsNone(row["rating"])
        self.assertIsNotNone(self.get(self.editor, path).json()[0]["rating"])
        judge(later, self.reviewer_a, "false")
        self.assertIsNotNone(self.get(self.reviewer_a, path).json()[0]["rating"])


class RepeatDetectionTests(MatchingApiBase):
    def test_creating_a_document_queues_a_scan_that_finds_a_references_claim(self) -> None:
        text = (
            "Opening remarks were brief. The city spent 40 million dollars on the new "
            "stadium roof. Then the council moved on to parking rules for the summer."
        )
        with self.captureOnCommitCallbacks(execute=True):
            document = make_document(project=self.project, actor=self.creator, text=text)
        task = DBTaskResult.objects.get(task_path=REPEATS_TASK, args_kwargs__args=[[document.pk]])
        self.assertEqual(task.args_kwargs["args"], [[document.pk]])
        self.assertEqual(services.repeats_scan_batch_task.call([document.pk]), 1)
        (repeat,) = RepeatSuggestion.objects.filter(document=document)
        self.assertEqual(text[repeat.start : repeat.end], repeat.text)
        self.assertEqual(repeat.reference_id, self.refs[0].pk)
        self.assertFalse(repeat.flags["numbers_differ"])
        response = self.get(self.reviewer_a, f"/documents/{document.pk}/repeats/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual([r["match_id"] for r in response.json()], [self.refs[0].pk])
        self.assertEqual(
            self.get(self.outsider, f"/documents/{document.pk}/repeats/").status_code, 404
        )
        self.assertTrue(
            Event.objects.filter(verb="document.repeats_scan", object_id=document.pk).exists()
        )

    def test_a_scan_flags_a_changed_number_and_replaces_earlier_suggestions(self) -> None:
        text = "The city spent 45 million dollars on the new stadium roof, said the mayor."
        document = make_document(project=self.project, actor=self.creator, text=text)
        services.repeats_scan(document_id=document.pk)
        services.repeats_scan(document_id=document.pk)
        (repeat,) = RepeatSuggestion.objects.filter(document=document)
        self.assertTrue(repeat.flags["numbers_differ"])

    def test_nothing_is_found_in_an_unrelated_text(self) -> None:
        document = make_document(
            project=self.project, actor=self.creator, text="Cats sleep most of the afternoon."
        )
        self.assertEqual(services.repeats_scan(document_id=document.pk), 0)


class ReviewerOnlyTests(MatchingApiBase):
    def test_a_reviewer_member_may_search(self) -> None:
        make_member(self.project, "late_reviewer", Role.REVIEWER)
        response = self.post(
            self.reviewer_a,
            f"/projects/{self.project.pk}/matches/",
            {"text": REFERENCES[2]["claim_reviewed"]},
        )
        self.assertEqual(response.json()["results"][0]["id"], self.refs[2].pk)


class RepeatRescanTests(MatchingApiBase):
    def test_a_revised_text_is_scanned_again_and_only_its_current_repeats_show(self) -> None:
        document = make_document(
            project=self.project, actor=self.creator, text="Nothing here repeats anything at all."
        )
        self.assertEqual(services.repeats_scan(document_id=document.pk), 0)
        with self.captureOnCommitCallbacks(execute=True):
            services.document_revise(
                document=document, text=f"Now: {REFERENCES[3]['claim_reviewed']}", actor=self.editor
            )
        # One scan queued by the creation, one by the revision.
        tasks = DBTaskResult.objects.filter(
            task_path=REPEATS_TASK, args_kwargs__args=[[document.pk]]
        )
        self.assertEqual(tasks.count(), 2)
        self.assertEqual(services.repeats_scan(document_id=document.pk), 1)
        response = self.get(self.reviewer_a, f"/documents/{document.pk}/repeats/")
        self.assertEqual([r["match_id"] for r in response.json()], [self.refs[3].pk])


class IndexCurrencyTests(MatchingApiBase):
    """The per-process index follows the database: edited and withdrawn claims."""

    def test_an_edited_statement_is_matched_by_its_new_wording_and_a_withdrawn_claim_not(
        self,
    ) -> None:
        text = "Ferries to the island were cancelled all of last August."
        document = make_document(project=self.project, actor=self.creator, text=text + " Z.")
        claim = make_claim(document=document, actor=self.creator, exact=text)
        path = f"/projects/{self.project.pk}/matches/"

        def claim_ids(query: str) -> list[int]:
            results = self.post(self.reviewer_a, path, {"text": query}).json()["results"]
            return [r["id"] for r in results if r["kind"] == "claim"]

        self.assertIn(claim.pk, claim_ids(text))
        new = "Parking fees at the harbour tripled within one decade."
        services.claim_update(
            claim=claim, actor=self.creator, expected_version=claim.version, statement=new
        )
        self.assertEqual(claim_ids(new)[0], claim.pk)
        services.claim_withdraw(claim=claim, actor=self.creator, reason="Duplicate.")
        self.assertNotIn(claim.pk, claim_ids(new))


class WarmUpTests(MatchingApiBase):
    """A server process builds the indexes of projects with references when it starts
    (``MATCHING_WARM_UP``), so the first search does not pay for the build."""

    def test_warm_up_builds_the_index_and_the_first_search_does_not_build_again(self) -> None:
        from unittest import mock

        other = services.project_create(creator=self.editor, name="No archive", slug="no-archive")
        self.assertEqual(match_selectors.warm_up(), [self.project.pk])
        entry = match_selectors._indexes[self.project.pk]
        self.assertEqual(entry.refs[0], max(r.pk for r in self.refs))
        self.assertEqual(len(entry.index), len(REFERENCES))
        self.assertNotIn(other.pk, match_selectors._indexes)
        with mock.patch.object(match_selectors, "_build", wraps=match_selectors._build) as build:
            results = self.post(
                self.reviewer_a,
                f"/projects/{self.project.pk}/matches/",
                {"text": REFERENCES[0]["claim_reviewed"]},
            ).json()["results"]
        build.assert_not_called()
        self.assertEqual(results[0]["id"], self.refs[0].pk)

    def test_the_server_starts_it_in_a_thread_only_when_on(self) -> None:
        from unittest import mock

        from django.test import override_settings

        with override_settings(MATCHING_WARM_UP=False):
            self.assertIsNone(match_selectors.start_warm_up())
        with (
            override_settings(MATCHING_WARM_UP=True),
            mock.patch.object(match_selectors, "warm_up") as warm_up,
            mock.patch.object(match_selectors.connections, "close_all") as close_all,
        ):
            thread = match_selectors.start_warm_up()
            assert thread is not None
            thread.join(timeout=30)
        warm_up.assert_called_once_with()
        close_all.assert_called_once_with()
