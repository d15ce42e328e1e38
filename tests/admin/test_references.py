"""Finding claims in the admin: references, links and repeat suggestions render, read-only."""

from __future__ import annotations

from annotations import services
from annotations.models import ClaimLink, Reference, RepeatSuggestion
from tests.admin.helpers import AdminTestCase, admin_url
from tests.factories import make_claim, make_document


class ReferenceAdminTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        (cls.reference,) = services.references_create(
            project=cls.project,
            items=[services.ReferenceInput(claim_reviewed="The bridge cost $2 billion <b>x</b>.")],
            actor=cls.editor,
        )
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="$2 billion")
        cls.link = services.claim_link_create(
            claim=cls.claim, actor=cls.creator, reference=cls.reference
        )
        doc = make_document(
            project=cls.project, actor=cls.creator, text="The bridge cost $2 billion <b>x</b>."
        )
        services.repeats_scan(document_id=doc.pk)

    def test_every_page_renders_and_nothing_can_be_changed(self) -> None:
        self.assertEqual(RepeatSuggestion.objects.count(), 1)
        for model, obj in (
            (Reference, self.reference),
            (ClaimLink, self.link),
            (RepeatSuggestion, RepeatSuggestion.objects.get()),
        ):
            with self.subTest(model=model.__name__):
                self.assertEqual(self.client.get(admin_url(model, "changelist")).status_code, 200)
                page = self.client.get(admin_url(model, "change", obj.pk))
                self.assertEqual(page.status_code, 200)
                self.assertNotContains(page, "<b>x</b>")
                self.assertEqual(self.client.get(admin_url(model, "add")).status_code, 403)
