"""The claimant registry's pages (``workbench/ui/claimants.py``): the list with the names
used on claims but not registered, a claimant's page, the editors' forms, and the
registry's names suggested in the claim forms."""

from __future__ import annotations

from django.test import TestCase
from django.urls import reverse

from annotations import services
from annotations.models import Claimant, ClaimantName, Event
from tests.factories import Personas, make_claim

EXACT = "The mayor said crime fell 20% last year."


class ClaimantPagesTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact=EXACT, claimant="The Mayor"
        )
        cls.list_url = reverse("workbench:claimant-list", kwargs={"slug": cls.project.slug})

    def test_the_list_shows_names_used_on_claims_and_editors_register_them(self) -> None:
        self.client.force_login(self.reviewer_a)
        page = self.client.get(self.list_url)
        self.assertContains(page, "Names used on claims, not registered")
        self.assertContains(page, "The Mayor")
        self.assertNotContains(page, ">Register</button>")
        self.assertEqual(
            self.client.post(self.list_url, {"name": "The Mayor", "kind": "person"}).status_code,
            403,
        )
        self.assertFalse(Claimant.objects.exists())

        self.client.force_login(self.editor)
        self.assertContains(self.client.get(self.list_url), ">Register</button>")
        response = self.client.post(
            self.list_url, {"name": "the mayor", "kind": "person", "aliases": "Mayor Adams\n"}
        )
        claimant = Claimant.objects.get()
        self.assertRedirects(
            response, reverse("workbench:claimant-detail", kwargs={"pk": claimant.pk})
        )
        self.assertEqual(
            set(ClaimantName.objects.values_list("name", flat=True)), {"the mayor", "Mayor Adams"}
        )
        page = self.client.get(response.url)
        self.assertContains(page, self.claim.statement)
        self.assertContains(page, "Mayor Adams")

    def test_a_refused_registration_shows_the_reason_and_writes_nothing(self) -> None:
        services.claimant_create(project=self.project, name="The Mayor", actor=self.editor)
        self.client.force_login(self.editor)
        events = Event.objects.count()
        response = self.client.post(self.list_url, {"name": "THE MAYOR!", "kind": "person"})
        self.assertContains(response, "is already a name of", status_code=422)
        self.assertEqual(Claimant.objects.count(), 1)
        self.assertEqual(Event.objects.count(), events)

    def test_outsiders_get_404_and_reviewers_cannot_edit(self) -> None:
        claimant = services.claimant_create(
            project=self.project, name="The Mayor", actor=self.editor
        )
        detail = reverse("workbench:claimant-detail", kwargs={"pk": claimant.pk})
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(detail).status_code, 404)
        self.assertEqual(self.client.get(self.list_url).status_code, 404)
        self.client.force_login(self.reviewer_a)
        self.assertContains(self.client.get(detail), self.claim.statement)
        self.assertNotContains(self.client.get(detail), "Add alias")
        edit = reverse("workbench:claimant-edit", kwargs={"pk": claimant.pk})
        self.assertEqual(self.client.post(edit, {"name": "X", "kind": "person"}).status_code, 403)

    def test_editors_rename_alias_and_merge_from_the_page(self) -> None:
        mayor = services.claimant_create(project=self.project, name="The Mayor", actor=self.editor)
        adams = services.claimant_create(project=self.project, name="Eric Adams", actor=self.editor)
        self.client.force_login(self.editor)
        url = reverse("workbench:claimant-alias-add", kwargs={"pk": adams.pk})
        self.client.post(url, {"name": "Mayor Adams"})
        self.assertTrue(ClaimantName.objects.filter(claimant=adams, name="Mayor Adams").exists())
        url = reverse("workbench:claimant-merge", kwargs={"pk": mayor.pk})
        response = self.client.post(url, {"into": adams.pk})
        self.assertRedirects(
            response, reverse("workbench:claimant-detail", kwargs={"pk": adams.pk})
        )
        page = self.client.get(response.url)
        self.assertContains(page, self.claim.statement)  # "The Mayor" is Adams's alias now
        claim_page = self.client.get(self.claim.get_absolute_url())
        self.assertContains(
            claim_page, reverse("workbench:claimant-detail", kwargs={"pk": adams.pk})
        )

    def test_claim_forms_suggest_the_registry_names(self) -> None:
        services.claimant_create(
            project=self.project, name="Eric Adams", actor=self.editor, aliases=["Mayor Adams"]
        )
        self.client.force_login(self.creator)
        text = self.document.text
        start = text.index("Unemployment")
        url = reverse("workbench:claim-create", kwargs={"pk": self.document.pk})
        form = self.client.get(url, {"start": start, "end": start + 12})
        self.assertContains(form, 'list="claimant-names"')
        self.assertContains(form, '<option value="Eric Adams" label="Mayor Adams">', html=False)
        self.assertContains(form, '<option value="The Mayor">', html=False)
