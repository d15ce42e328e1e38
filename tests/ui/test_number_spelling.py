"""The UI's number fields take a number spelled as the API takes it (``core.numbers``):
other scripts' digits, a full-width digit, ``+2``, `` 2``, ``2.0`` or ``1e1`` for a whole
number, spaces or ``_`` around a decimal, are refused on the field in the API's words,
through the view, and nothing is written (no change, no audit event). ASCII still saves.
The field-by-field and property checks are in tests/test_number_spelling.py."""

from __future__ import annotations

from django.test import Client, TestCase
from django.urls import reverse

from annotations.core.numbers import NOT_ASCII_NUMBER, NOT_ASCII_WHOLE_NUMBER
from annotations.models import Claim, Event, Project
from tests.factories import Personas, make_claim

WHOLE = ["\u0663", "\uff13", "+2", " 2", "2 ", "2.0", "1e1", "1_0"]
DECIMAL = ["\u0660.\u0666", "\uff10.6", " 0.6", "0.6 ", "0_6"]
REQUIRED = "This field is required."

REVIEW_POLICY = {
    "required_reviews": "3",
    "consensus_rule": "majority",
    "majority_threshold": "0.6",
    "lease_minutes": "45",
}
EVIDENCE_POLICY = {"min_citations": "1", "allowed_stances": ["supports"]}

# (URL name, the form's name in the page's context, the rest of a valid post, number fields)
SETTINGS_FORMS = [
    (
        "project-review-policy",
        "review_form",
        REVIEW_POLICY,
        {"required_reviews": WHOLE, "majority_threshold": DECIMAL, "lease_minutes": WHOLE},
    ),
    ("project-gold-rate", "gold_form", {"gold_rate": "0.05"}, {"gold_rate": DECIMAL}),
    ("project-evidence-policy", "policy_form", EVIDENCE_POLICY, {"min_citations": WHOLE}),
]
SETTINGS = (
    "required_reviews",
    "consensus_rule",
    "majority_threshold",
    "lease_minutes",
    "gold_rate",
    "min_citations",
    "allowed_stances",
)


class MembersPageNumberSpellingTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)

    def setUp(self) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(self.admin)
        page = self.client.get(reverse("workbench:project-members", args=[self.project.slug]))
        self.token = page.context["csrf_token"]

    def settings(self) -> tuple[object, ...]:
        project = Project.objects.get(pk=self.project.pk)
        return tuple(getattr(project, name) for name in SETTINGS)

    def post(self, url_name: str, data: dict[str, object]):
        url = reverse(f"workbench:{url_name}", args=[self.project.slug])
        return self.client.post(url, {**data, "csrfmiddlewaretoken": self.token})

    def test_other_spellings_are_refused_on_the_field_and_nothing_is_written(self) -> None:
        before, events = self.settings(), Event.objects.count()
        for url_name, shown_as, good, fields in SETTINGS_FORMS:
            for field, spellings in fields.items():
                message = NOT_ASCII_NUMBER if spellings is DECIMAL else NOT_ASCII_WHOLE_NUMBER
                for text, expected in [*((t, message) for t in spellings), ("", REQUIRED)]:
                    with self.subTest(field=field, text=text):
                        refused = self.post(url_name, {**good, field: text})
                        self.assertEqual(refused.status_code, 422)
                        self.assertEqual(refused.context[shown_as].errors[field], [expected])
                        self.assertContains(refused, expected, status_code=422)
        self.assertEqual(self.settings(), before)
        self.assertEqual(Event.objects.count(), events)

    def test_ascii_still_saves_as_the_api_reads_it(self) -> None:
        # "+0.6" and "6e-1" are ASCII numbers the API's project update also takes.
        done = self.post("project-review-policy", {**REVIEW_POLICY, "majority_threshold": "+6e-1"})
        self.assertEqual(done.status_code, 302)
        self.assertEqual(self.post("project-gold-rate", {"gold_rate": "0.05"}).status_code, 302)
        self.assertEqual(self.post("project-evidence-policy", EVIDENCE_POLICY).status_code, 302)
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual(
            (
                project.required_reviews,
                project.majority_threshold,
                project.lease_minutes,
                project.gold_rate,
                project.min_citations,
            ),
            (3, 0.6, 45, 0.05, 1),
        )


class ClaimFormsNumberSpellingTests(Personas, TestCase):
    """The hidden numbers of the reader's claim form (the span) and the claim page's edit
    form (the version it started from)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def test_a_span_spelled_otherwise_creates_no_claim(self) -> None:
        self.client.force_login(self.creator)
        url = reverse("workbench:claim-create", args=[self.document.pk])
        claims, events = Claim.objects.count(), Event.objects.count()
        for field in ("start", "end"):
            for text in WHOLE:
                with self.subTest(field=field, text=text):
                    data = {"start": "0", "end": "5", "statement": "Something checkable"}
                    refused = self.client.post(url, {**data, field: text})
                    self.assertEqual(refused.status_code, 422)
                    self.assertEqual(
                        refused.context["form"].errors[field], [NOT_ASCII_WHOLE_NUMBER]
                    )
        self.assertEqual((Claim.objects.count(), Event.objects.count()), (claims, events))

    def test_a_version_spelled_otherwise_saves_no_edit(self) -> None:
        self.client.force_login(self.creator)
        url = reverse("workbench:claim-edit", args=[self.claim.pk])
        events = Event.objects.count()
        for text in ["\u0661", "\uff11", "+1", " 1", "1.0", "1e0"]:
            with self.subTest(text=text):
                data = {"statement": "Crime fell by a fifth", "claimant": "", "version": text}
                refused = self.client.post(url, data)
                self.assertEqual(refused.status_code, 422)
                self.assertEqual(
                    refused.context["edit_form"].errors["version"], [NOT_ASCII_WHOLE_NUMBER]
                )
        claim = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((claim.version, claim.statement), (1, self.claim.statement))
        self.assertEqual(Event.objects.count(), events)
        data = {"statement": "Crime fell by a fifth", "claimant": "", "version": "1"}
        self.assertEqual(self.client.post(url, data).status_code, 302)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).version, 2)
