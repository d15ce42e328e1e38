"""Verdicts, citations, consensus records and events in the admin obey blind review."""

from __future__ import annotations

from annotations import services
from annotations.models import Claim, Event, Verdict
from tests.admin.helpers import AdminTestCase, admin_url, grant_view_permissions
from tests.factories import judge, make_claim


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


class AdminConsensusBlindTests(AdminTestCase):
    """The claim page's consensus records obey blind review too: an adjudication note
    reveals how the others judged."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        grant_view_permissions(cls.reviewer_a)
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.claim, cls.reviewer_b, "true")
        judge(cls.claim, cls.reviewer_c, "false")
        services.claim_adjudicate(
            claim=cls.claim, editor=cls.editor, rating="mostly_true", note="ADJUDICATION-SECRET"
        )

    def test_a_reviewer_who_has_not_judged_sees_no_consensus_on_the_claim_page(self) -> None:
        self.client.force_login(self.reviewer_a)
        page = self.client.get(admin_url(Claim, "change", self.claim.pk))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, "ADJUDICATION-SECRET")
        self.client.force_login(self.root)
        self.assertContains(
            self.client.get(admin_url(Claim, "change", self.claim.pk)), "ADJUDICATION-SECRET"
        )
