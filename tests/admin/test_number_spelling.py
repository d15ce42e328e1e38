"""The admin's number fields take a number spelled as the API takes it (``core.numbers``):
the project page's policy (model fields, ``tenancy.AsciiNumbersMixin``), a rating's
ordinal and position (the project page's inline) and the claim page's hidden
``expected_version`` (``claims.ClaimForm``). Other spellings are refused on the field in
the API's words and nothing is written."""

from __future__ import annotations

from annotations.core.numbers import NOT_ASCII_NUMBER, NOT_ASCII_WHOLE_NUMBER
from annotations.models import Claim, Event, Project, Rating
from tests.admin.helpers import (
    AdminTestCase,
    admin_url,
    change_form_data,
    form_errors,
    grant_every_permission,
)
from tests.factories import make_claim

WHOLE = ["\u0663", "\uff13", "+2", " 2", "2.0", "1e1"]
DECIMAL = ["\u0660.\u0666", "\uff10.6", " 0.6", "0.6 ", "0_6"]
POLICY = (
    "required_reviews",
    "majority_threshold",
    "lease_minutes",
    "min_citations",
    "gold_rate",
)


class AdminNumberSpellingTests(AdminTestCase):
    """As the project's admin, staff with every model permission: the project page with its
    scale editable, and the claim page of a claim they may edit."""

    def setUp(self) -> None:
        grant_every_permission(self.admin)
        self.client.force_login(self.admin)

    def page(self, model: type, pk: int) -> dict[str, str]:
        response = self.client.get(admin_url(model, "change", pk))
        self.assertEqual(response.status_code, 200)
        return change_form_data(response)

    def policy(self) -> tuple[object, ...]:
        project = Project.objects.get(pk=self.project.pk)
        ratings = list(
            Rating.objects.filter(project=self.project).values_list("ordinal", "position")
        )
        return (*(getattr(project, name) for name in POLICY), ratings)

    def test_the_project_page_refuses_other_spellings_on_the_field(self) -> None:
        data = self.page(Project, self.project.pk)
        fields = {
            name: DECIMAL if "threshold" in name or "rate" in name else WHOLE for name in POLICY
        }
        fields = {name: spellings for name, spellings in fields.items() if name in data}
        self.assertIn("required_reviews", fields)
        before, events = self.policy(), Event.objects.count()
        url = admin_url(Project, "change", self.project.pk)
        for name, spellings in fields.items():
            message = NOT_ASCII_NUMBER if spellings is DECIMAL else NOT_ASCII_WHOLE_NUMBER
            for text in spellings:
                with self.subTest(field=name, text=text):
                    response = self.client.post(url, {**data, name: text})
                    self.assertEqual(response.status_code, 200)
                    self.assertEqual(response.context["adminform"].form.errors[name], [message])
        for name in ("ratings-0-ordinal", "ratings-0-position"):
            for text in WHOLE:
                with self.subTest(field=name, text=text):
                    response = self.client.post(url, {**data, name: text})
                    self.assertEqual(response.status_code, 200)
                    inline = response.context["inline_admin_formsets"][-1].formset
                    self.assertEqual(
                        inline.forms[0].errors[name.rsplit("-", 1)[1]], [NOT_ASCII_WHOLE_NUMBER]
                    )
        self.assertEqual(self.policy(), before)
        self.assertEqual(Event.objects.count(), events)
        # ASCII saves.
        response = self.client.post(url, {**data, "required_reviews": "3"})
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(Project.objects.get(pk=self.project.pk).required_reviews, 3)

    def test_the_claim_page_refuses_another_spelling_of_its_version(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        data = self.page(Claim, claim.pk) | {"statement": "Crime fell by a fifth."}
        self.assertEqual(data["expected_version"], "1")
        events = Event.objects.count()
        url = admin_url(Claim, "change", claim.pk)
        for text in ["\u0661", "\uff11", "+1", " 1", "1.0", "1e0"]:
            with self.subTest(text=text):
                response = self.client.post(url, {**data, "expected_version": text})
                self.assertEqual(response.status_code, 200)
                errors = response.context["adminform"].form.errors
                self.assertEqual(errors["expected_version"], [NOT_ASCII_WHOLE_NUMBER])
        claim.refresh_from_db()
        self.assertEqual((claim.version, claim.statement), (1, "crime fell 20%"))
        self.assertEqual(Event.objects.count(), events)
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(Claim.objects.get(pk=claim.pk).version, 2)
