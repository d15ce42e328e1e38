"""Every admin page renders; document text is shown safely and read-only; events are
read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model

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
    Source,
    Verdict,
)
from tests.admin.helpers import AdminTestCase, admin_url
from tests.factories import judge, make_claim, make_document


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
