"""Claims in the admin: edits through ``services.claim_update`` by the creator or an
editor only, status changes only through the admin actions (the review services), no
deletes. ``attacker`` is staff with every ``annotations`` model permission but only a
reviewer in the project: the issue's probe (a) and (b)."""

from __future__ import annotations

from typing import Any

from django.test import TestCase

from annotations import access, services
from annotations.models import Claim, ClaimStatus, Consensus, Event
from annotations.services import limits
from tests.admin.helpers import (
    admin_url,
    change_form_data,
    form_errors,
    grant_every_permission,
)
from tests.factories import Personas, judge, make_claim, make_user


class ClaimAdminTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.root = make_user("root", is_staff=True, is_superuser=True)
        cls.attacker = cls.reviewer_a
        for user in (cls.attacker, cls.editor, cls.creator):
            grant_every_permission(user)
        # Someone else's claim (the creator's), still in review.
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def state(self, claim: Claim) -> tuple[Any, ...]:
        claim = Claim.objects.get(pk=claim.pk)
        return claim.statement, claim.claimant, claim.status, claim.version

    def post_change(self, claim: Claim, **data: str) -> Any:
        return self.client.post(admin_url(Claim, "change", claim.pk), data)

    def page_data(self, claim: Claim) -> dict[str, str]:
        """What the change page posts back unchanged (with its inlines' management forms)."""
        response = self.client.get(admin_url(Claim, "change", claim.pk))
        self.assertEqual(response.status_code, 200)
        return change_form_data(response)


class ClaimChangeAttackTests(ClaimAdminTestCase):
    def setUp(self) -> None:
        self.client.force_login(self.attacker)

    def test_it_refuses_a_staff_reviewer_who_changes_someone_elses_claim(self) -> None:
        before, events = self.state(self.claim), Event.objects.count()
        response = self.post_change(
            self.claim,
            statement="Crime doubled.",
            claimant="Attacker",
            status=ClaimStatus.PUBLISHED,
            version="99",
            expected_version=str(self.claim.version),
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.state(self.claim), before)
        self.assertEqual(Event.objects.count(), events)
        # Every API view of the claim and its document still answers.
        for path in (
            f"/api/v1/claims/{self.claim.pk}/",
            f"/api/v1/claims/?document={self.document.pk}",
            f"/api/v1/documents/{self.document.pk}/?include=claims",
        ):
            with self.subTest(path=path):
                self.assertEqual(self.client.get(path).status_code, 200)

    def test_it_shows_someone_elses_claim_read_only(self) -> None:
        response = self.client.get(admin_url(Claim, "change", self.claim.pk))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, 'name="statement"')
        self.assertNotContains(response, 'name="_save"')

    def test_the_creator_edits_the_statement_but_never_the_status(self) -> None:
        own = make_claim(document=self.document, actor=self.attacker, exact="record low")
        response = self.post_change(
            own,
            **self.page_data(own)
            | {"statement": "Unemployment is at 3.1%.", "status": "published", "version": "99"},
        )
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(
            self.state(own), ("Unemployment is at 3.1%.", "", ClaimStatus.IN_REVIEW, 2)
        )
        event = Event.objects.get(verb="claim.update", object_id=own.pk)
        self.assertEqual((event.actor, event.after["status"]), (self.attacker, "in_review"))

    def test_nobody_deletes_a_claim(self) -> None:
        other = make_claim(document=self.document, actor=self.reviewer_b, exact="record low")
        for user in (self.attacker, self.editor, self.root):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                url = admin_url(Claim, "delete", other.pk)
                self.assertEqual(self.client.get(url).status_code, 403)
                self.assertEqual(self.client.post(url, {"post": "yes"}).status_code, 403)
                self.client.post(
                    admin_url(Claim, "changelist"),
                    {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
                )
                self.assertTrue(Claim.objects.filter(pk=other.pk).exists())
        self.assertFalse(
            Event.objects.filter(object_type="claim", object_id=other.pk).exclude(
                verb="claim.create"
            )
        )


class ClaimEditTests(ClaimAdminTestCase):
    def setUp(self) -> None:
        self.client.force_login(self.editor)

    def test_an_editor_edits_through_the_service(self) -> None:
        data = self.page_data(self.claim) | {"statement": "Crime fell by a fifth."}
        response = self.post_change(self.claim, **data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(
            self.state(self.claim), ("Crime fell by a fifth.", "", ClaimStatus.IN_REVIEW, 2)
        )
        event = Event.objects.get(verb="claim.update", object_id=self.claim.pk)
        self.assertEqual(event.actor, self.editor)
        self.assertEqual(
            (event.before["statement"], event.after["statement"], event.after["version"]),
            ("crime fell 20%", "Crime fell by a fifth.", 2),
        )

    def test_an_unchanged_page_writes_nothing(self) -> None:
        events = Event.objects.count()
        response = self.post_change(self.claim, **self.page_data(self.claim))
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.state(self.claim)[3], 1)
        self.assertEqual(Event.objects.count(), events)

    def test_it_refuses_an_over_long_statement_with_the_services_message(self) -> None:
        statement = "x" * (limits.MAX_STATEMENT + 1)
        expected = limits.length_errors(statement=(statement, limits.MAX_STATEMENT))["statement"]
        before, events = self.state(self.claim), Event.objects.count()
        response = self.post_change(
            self.claim, **self.page_data(self.claim) | {"statement": statement}
        )
        self.assertEqual(response.status_code, 200)  # the form again, not a server error
        self.assertEqual(response.context["adminform"].form.errors["statement"], expected)
        self.assertContains(response, expected[0])
        self.assertEqual(self.state(self.claim), before)
        self.assertEqual(Event.objects.count(), events)

    def test_a_page_shown_again_has_written_nothing(self) -> None:
        # Valid claim fields, but the inlines' management forms are missing: the admin shows
        # the page again, so the service's write is undone.
        data = {
            name: value
            for name, value in self.page_data(self.claim).items()
            if not name.endswith("_FORMS")
        }
        response = self.post_change(self.claim, **data | {"statement": "Half-saved."})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "ManagementForm data is missing")
        self.assertEqual(self.state(self.claim)[::3], ("crime fell 20%", 1))
        self.assertFalse(Event.objects.filter(verb="claim.update"))

    def test_it_refuses_to_save_over_a_newer_version(self) -> None:
        data = self.page_data(self.claim) | {"statement": "Mine."}
        services.claim_update(
            claim=self.claim, actor=self.creator, expected_version=1, statement="Theirs."
        )
        response = self.post_change(self.claim, **data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "The claim was changed by someone else (now version 2).")
        self.assertEqual(self.state(self.claim)[0], "Theirs.")
        self.assertEqual(Event.objects.filter(verb="claim.update").count(), 1)


class ClaimActionTests(ClaimAdminTestCase):
    """Status changes are admin actions calling the review services, refused row by row
    with the services' reasons."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.resolved = cls.claim
        for reviewer in (cls.reviewer_b, cls.reviewer_c):
            judge(cls.resolved, reviewer, "true")
        cls.open = make_claim(document=cls.document, actor=cls.creator, exact="record low")

    def act(self, action: str, *claims: Claim, **data: str) -> Any:
        body = {"action": action, "_selected_action": [c.pk for c in claims], **data}
        if "confirm" not in data:
            body["index"] = "0"  # as posted from the changelist
        return self.client.post(admin_url(Claim, "changelist"), body, follow=True)

    def status(self, claim: Claim) -> str:
        return Claim.objects.get(pk=claim.pk).status

    def status_events(self, claim: Claim) -> list[tuple[str, Any]]:
        return list(
            Event.objects.filter(verb="claim.status", object_id=claim.pk)
            .order_by("pk")
            .values_list("actor__username", "after__status")
        )

    def test_an_editor_publishes_and_a_reviewer_is_refused(self) -> None:
        self.client.force_login(self.attacker)
        page = self.act("publish_claims", self.resolved)
        self.assertContains(page, '<textarea name="text"')  # asks for the readers' summary
        response = self.act("publish_claims", self.resolved, confirm="yes", text="Checked.")
        self.assertContains(response, f"Not published: #{self.resolved.pk}")
        self.assertContains(response, access.EDITORS_ONLY)
        self.assertEqual(self.status(self.resolved), ClaimStatus.RESOLVED)

        self.client.force_login(self.editor)
        response = self.act(
            "publish_claims", self.resolved, self.open, confirm="yes", text="Checked the data."
        )
        self.assertContains(response, "Published: 1 claim(s).")
        self.assertContains(response, "Only resolved claims can be published.")
        self.assertEqual(self.status(self.resolved), ClaimStatus.PUBLISHED)
        self.assertEqual(self.status(self.open), ClaimStatus.IN_REVIEW)
        self.assertEqual(self.status_events(self.resolved)[-1], ("editor", "published"))

    def test_reopening_asks_for_a_note_then_goes_through_the_service(self) -> None:
        self.client.force_login(self.editor)
        page = self.act("reopen_claims", self.resolved)
        self.assertTemplateUsed(page, "admin/annotations/claim/status_confirmation.html")
        self.assertContains(page, '<textarea name="text"')
        self.assertContains(page, f'value="{self.resolved.pk}"')
        self.assertEqual(self.status(self.resolved), ClaimStatus.RESOLVED)

        again = self.act("reopen_claims", self.resolved, confirm="yes", text="  ")
        self.assertContains(again, "This field is required.")
        self.assertEqual(self.status(self.resolved), ClaimStatus.RESOLVED)

        done = self.act("reopen_claims", self.resolved, confirm="yes", text="New figures out.")
        self.assertContains(done, "Reopened: 1 claim(s).")
        self.assertEqual(self.status(self.resolved), ClaimStatus.DISPUTED)
        event = Event.objects.filter(verb="claim.status", object_id=self.resolved.pk).latest("pk")
        self.assertEqual(
            (event.actor, event.after),
            (self.editor, {"status": "disputed", "note": "New figures out."}),
        )
        self.assertFalse(Consensus.objects.filter(claim=self.resolved, is_current=True))
        self.assertTrue(Event.objects.filter(verb="consensus.supersede", actor=self.editor))

    def test_a_reviewer_cannot_reopen(self) -> None:
        self.client.force_login(self.attacker)
        events = Event.objects.count()
        response = self.act("reopen_claims", self.resolved, confirm="yes", text="Mine now.")
        self.assertContains(response, access.EDITORS_ONLY)
        self.assertEqual(self.status(self.resolved), ClaimStatus.RESOLVED)
        self.assertEqual(Event.objects.count(), events)

    def test_withdrawing_follows_the_withdraw_rule(self) -> None:
        own = make_claim(document=self.document, actor=self.attacker, exact="$2 billion")
        self.client.force_login(self.attacker)
        response = self.act("withdraw_claims", self.open, own, confirm="yes", text="Not checkable.")
        self.assertContains(response, "Withdrawn: 1 claim(s).")
        self.assertContains(response, f"Not withdrawn: #{self.open.pk}")
        self.assertContains(response, access.WITHDRAW_RULE)
        self.assertEqual(self.status(self.open), ClaimStatus.IN_REVIEW)
        self.assertEqual(self.status(own), ClaimStatus.WITHDRAWN)
        self.assertEqual(self.status_events(own), [("reviewer_a", "withdrawn")])

        self.client.force_login(self.editor)
        self.act("withdraw_claims", self.open, confirm="yes", text="Duplicate.")
        self.assertEqual(self.status(self.open), ClaimStatus.WITHDRAWN)

    def test_over_long_reasons_are_refused_with_the_services_limit(self) -> None:
        self.client.force_login(self.editor)
        text = "x" * (limits.MAX_REASON + 1)
        response = self.act("withdraw_claims", self.open, confirm="yes", text=text)
        message = limits.length_errors(reason=(text, limits.MAX_REASON))["reason"][0]
        self.assertContains(response, message)
        self.assertEqual(self.status(self.open), ClaimStatus.IN_REVIEW)

    def test_recomputing_is_the_editors_and_leaves_an_event(self) -> None:
        self.client.force_login(self.attacker)
        response = self.act("recompute_consensus", self.resolved)
        self.assertContains(response, access.EDITORS_ONLY)
        self.assertFalse(Event.objects.filter(verb="consensus.recompute"))

        self.client.force_login(self.editor)
        response = self.act("recompute_consensus", self.resolved)
        self.assertContains(response, "Recomputed: 1 claim(s).")
        self.assertEqual(
            list(
                Event.objects.filter(verb="consensus.recompute").values_list(
                    "actor__username", "after"
                )
            ),
            [("editor", {"outcome": "unchanged"})],
        )

    def test_a_superuser_acts_as_the_member_they_are(self) -> None:
        self.client.force_login(self.root)
        response = self.act("publish_claims", self.resolved, confirm="yes", text="Checked.")
        self.assertContains(response, access.NOT_A_MEMBER)
        self.assertEqual(self.status(self.resolved), ClaimStatus.RESOLVED)


class ClaimLifecycleAdminTests(ClaimAdminTestCase):
    """Issue 14: the admin cannot set Published on a claim with no verdicts, nor edit a
    published or judged claim in place; the page says why."""

    def test_no_status_is_set_by_hand_even_by_a_superuser(self) -> None:
        self.client.force_login(self.root)
        data = {**self.page_data(self.claim), "status": ClaimStatus.PUBLISHED}
        self.client.post(admin_url(Claim, "change", self.claim.pk), data)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.IN_REVIEW)
        self.client.force_login(self.editor)  # the publish action is an editor's, in the project
        response = self.client.post(
            admin_url(Claim, "changelist"),
            {
                "action": "publish_claims",
                "_selected_action": [self.claim.pk],
                "confirm": "yes",
                "text": "Checked.",
            },
            follow=True,
        )
        self.assertContains(response, "Only resolved claims can be published.")
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).status, ClaimStatus.IN_REVIEW)

    def test_a_published_claim_is_read_only_with_the_reason(self) -> None:
        for reviewer in (self.reviewer_b, self.reviewer_c):
            judge(self.claim, reviewer, "true")
        services.claim_publish(
            claim=self.claim, editor=self.editor, summary="Checked against the official figures."
        )
        self.client.force_login(self.editor)
        page = self.client.get(admin_url(Claim, "change", self.claim.pk))
        self.assertContains(page, "corrections come through the publishing workflow")
        self.assertNotContains(page, 'name="statement"')
        before = self.state(self.claim)
        self.post_change(self.claim, statement="The opposite.", expected_version="1")
        self.assertEqual(self.state(self.claim), before)


class GoldInTheAdminTests(Personas, TestCase):
    """A staff member who is a plain reviewer sees a gold claim in the admin panel as the
    reviewer UI and the API show it: in review, normal priority, no deadline, found under
    those filters and not under its stored values; superusers and editors see it as is."""

    @classmethod
    def setUpTestData(cls) -> None:
        import datetime as dt

        from annotations import services
        from tests.factories import judge, make_claim

        cls.make_personas(required_reviews=2)
        cls.gold = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.gold, cls.reviewer_b, "false")
        judge(cls.gold, cls.reviewer_c, "false")
        services.claim_schedule(
            claim=Claim.objects.get(pk=cls.gold.pk),
            actor=cls.editor,
            priority="urgent",
            due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
        services.gold_mark(claim=Claim.objects.get(pk=cls.gold.pk), actor=cls.editor)
        from tests.admin.helpers import grant_view_permissions

        grant_view_permissions(cls.reviewer_a)
        grant_view_permissions(cls.editor)

    def listed(self, **filters: str) -> list[int]:
        response = self.client.get(admin_url(Claim, "changelist"), filters)
        self.assertEqual(response.status_code, 200)
        return [claim.pk for claim in response.context["cl"].result_list]

    def test_a_plain_reviewer_sees_it_in_review(self) -> None:
        self.client.force_login(self.reviewer_a)
        self.assertIn(self.gold.pk, self.listed(status="in_review"))
        self.assertNotIn(self.gold.pk, self.listed(status="resolved"))
        self.assertIn(self.gold.pk, self.listed(priority="3"))
        self.assertNotIn(self.gold.pk, self.listed(priority="1"))
        shown = {
            c.pk: c
            for c in self.client.get(admin_url(Claim, "changelist")).context["cl"].result_list
        }
        self.assertEqual(
            (shown[self.gold.pk].status, shown[self.gold.pk].priority, shown[self.gold.pk].due_at),
            ("in_review", 3, None),
        )
        page = self.client.get(admin_url(Claim, "change", self.gold.pk))
        self.assertEqual(page.context["original"].status, "in_review")
        self.assertNotContains(page, "Resolved")

    def test_editors_see_it_as_it_is(self) -> None:
        self.client.force_login(self.editor)
        self.assertIn(self.gold.pk, self.listed(status="resolved"))
        self.assertIn(self.gold.pk, self.listed(priority="1"))
