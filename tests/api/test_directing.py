"""API: review from the claim page (``/claims/{id}/lease/``), directed assignment
(``/claims/{id}/assign/``, ``DELETE /claims/{id}/assign/{username}/``), priority and
deadline (``PATCH /claims/{id}/schedule/``, and at creation), ``overdue`` in the claim."""

from __future__ import annotations

import json

from annotations import services
from annotations.models import Event, Reservation
from tests.api.base import CLAIM_FIELDS, ApiTestCase
from tests.factories import make_claim


class DirectingApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.later = make_claim(document=cls.document, actor=cls.creator, exact="record low of 3.1%")

    # --- review from the claim page ------------------------------------------------------

    def test_lease_takes_the_chosen_claim_in_the_queue_representation(self) -> None:
        response = self.post(self.reviewer_a, f"/claims/{self.later.pk}/lease/")
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(set(body), {"claim", "lease_expires_at"})
        self.assertEqual(set(body["claim"]), CLAIM_FIELDS)
        self.assertEqual(body["claim"]["id"], self.later.pk)
        # "Review next" now returns the same lease.
        again = self.post(self.reviewer_a, "/queue/next/", {"project": self.project.pk})
        self.assertEqual(again.json(), body)

    def test_lease_refusals_are_409_with_the_reason(self) -> None:
        with self.assertNothingWritten():
            response = self.post(self.creator, f"/claims/{self.claim.pk}/lease/")
        self.assertDetail(response, 409, "You created this claim")
        self.post(self.reviewer_a, f"/claims/{self.claim.pk}/lease/")
        response = self.post(self.reviewer_a, f"/claims/{self.later.pk}/lease/")
        self.assertDetail(response, 409, "another claim")

    def test_lease_is_404_for_outsiders_and_refuses_a_body(self) -> None:
        self.assertEqual(
            self.post(self.outsider, f"/claims/{self.claim.pk}/lease/").status_code, 404
        )
        response = self.post(self.reviewer_a, f"/claims/{self.claim.pk}/lease/", {"x": 1})
        self.assertFieldError(response, "x")

    # --- directed assignment -------------------------------------------------------------

    def test_editors_assign_and_unassign(self) -> None:
        response = self.post(
            self.editor, f"/claims/{self.claim.pk}/assign/", {"reviewers": ["reviewer_b"]}
        )
        self.assertEqual(response.status_code, 200, response.content)
        [row] = response.json()
        self.assertEqual(row["reviewer"], "reviewer_b")
        self.assertEqual(row["assigned_by"], "editor")
        self.assertTrue(row["waiting"])
        self.assertEqual(self.get(self.editor, f"/claims/{self.claim.pk}/assign/").json(), [row])
        self.assertTrue(Event.objects.filter(verb="claim.assign").exists())
        response = self.client_for(self.editor).delete(
            f"/api/v1/claims/{self.claim.pk}/assign/reviewer_b/"
        )
        self.assertEqual(response.status_code, 204)
        self.assertFalse(Reservation.objects.exists())
        self.assertTrue(Event.objects.filter(verb="claim.unassign").exists())
        response = self.client_for(self.editor).delete(
            f"/api/v1/claims/{self.claim.pk}/assign/reviewer_b/"
        )
        self.assertEqual(response.status_code, 404)

    def test_assign_400_names_each_bad_username_and_writes_nothing(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.editor,
                f"/claims/{self.claim.pk}/assign/",
                {"reviewers": ["ghost", "outsider", "creator", "reviewer_a"]},
            )
        self.assertFieldError(
            response, "reviewers", "ghost: no member", "outsider: no member", "creator: created"
        )
        for body in ({"reviewers": []}, {"reviewers": "reviewer_a"}, {}):
            with self.subTest(body=body), self.assertNothingWritten():
                self.assertFieldError(
                    self.post(self.editor, f"/claims/{self.claim.pk}/assign/", body), "reviewers"
                )

    def test_assign_beyond_the_free_slots_is_409(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.editor,
                f"/claims/{self.claim.pk}/assign/",
                {"reviewers": ["reviewer_a", "reviewer_b", "reviewer_c"]},
            )
        self.assertDetail(response, 409, "Only 2 review slot")

    def test_reviewers_get_403_and_outsiders_404(self) -> None:
        path = f"/claims/{self.claim.pk}/assign/"
        body = {"reviewers": ["reviewer_b"]}
        with self.assertNothingWritten():
            self.assertEqual(self.post(self.reviewer_a, path, body).status_code, 403)
            self.assertEqual(self.post(self.outsider, path, body).status_code, 404)
            self.assertEqual(self.get(self.reviewer_a, path).status_code, 403)

    def test_the_assigned_reviewer_sees_no_more_than_any_reviewer(self) -> None:
        before = self.get(self.reviewer_c, f"/claims/{self.claim.pk}/").json()
        services.claim_assign(claim=self.claim, editor=self.editor, usernames=["reviewer_b"])
        mine = self.get(self.reviewer_b, f"/claims/{self.claim.pk}/").json()
        theirs = self.get(self.reviewer_c, f"/claims/{self.claim.pk}/").json()
        self.assertEqual(set(mine), set(theirs))
        self.assertEqual(mine, theirs)
        # The assignment shows in no reviewer's answer: the same as before it was made.
        self.assertEqual(theirs, before)
        self.assertNotIn("reviewer_b", json.dumps(mine))

    # --- priority and deadline -----------------------------------------------------------

    def test_editors_set_priority_and_deadline_and_overdue_shows(self) -> None:
        path = f"/claims/{self.claim.pk}/schedule/"
        response = self.patch(
            self.editor, path, {"priority": "urgent", "due_at": "2020-01-01T00:00:00Z"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(body["priority"], "urgent")
        self.assertEqual(body["due_at"], "2020-01-01T00:00:00Z")
        self.assertIs(body["overdue"], True)
        event = Event.objects.get(verb="claim.schedule")
        self.assertEqual(event.before["priority"], "normal")
        self.assertEqual(event.after["priority"], "urgent")
        cleared = self.patch(self.editor, path, {"due_at": None}).json()
        self.assertEqual((cleared["due_at"], cleared["overdue"]), (None, False))

    def test_schedule_refusals(self) -> None:
        path = f"/claims/{self.claim.pk}/schedule/"
        with self.assertNothingWritten():
            self.assertFieldError(self.patch(self.editor, path, {"priority": "asap"}), "priority")
            self.assertFieldError(self.patch(self.editor, path, {"due_at": "soon"}), "due_at")
            # A time without its zone would be read in the server's: refused, as ?at= is.
            naive = self.patch(self.editor, path, {"due_at": "2031-12-01T00:00:00"})
            self.assertFieldError(naive, "due_at")
            self.assertIn("time zone", str(naive.json()["due_at"]))
            self.assertFieldError(self.patch(self.editor, path, {"status": "resolved"}), "status")
            self.assertEqual(
                self.patch(self.reviewer_a, path, {"priority": "low"}).status_code, 403
            )
            self.assertEqual(self.patch(self.outsider, path, {"priority": "low"}).status_code, 404)

    def test_create_with_priority_is_for_editors(self) -> None:
        body = {
            "document": self.document.pk,
            "start": 0,
            "end": 9,
            "priority": "high",
            "due_at": "2031-01-01T00:00:00Z",
        }
        with self.assertNothingWritten():
            self.assertEqual(self.post(self.reviewer_a, "/claims/", body).status_code, 403)
        response = self.post(self.editor, "/claims/", body)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["priority"], "high")
        self.assertIs(response.json()["overdue"], False)
        self.assertFieldError(
            self.post(self.editor, "/claims/", {**body, "start": 10, "priority": "asap"}),
            "priority",
        )
