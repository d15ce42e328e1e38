"""The UI's number fields take a number spelled as the API takes it (``core.numbers``):
other scripts' digits, a full-width digit, ``+2``, `` 2``, ``2.0`` or ``1e1`` for a whole
number, spaces or ``_`` around a decimal, are refused on the field in the API's words,
through the view, and nothing is written (no change, no audit event). ASCII still saves.
The field-by-field and property checks are in tests/test_number_spelling.py."""

from __future__ import annotations

from django.test import Client, TestCase
from django.urls import reverse

from annotations import services
from annotations.core.numbers import NOT_ASCII_NUMBER, NOT_ASCII_WHOLE_NUMBER
from annotations.models import Citation, Claim, Event, Project, Source, Verdict
from tests.factories import Personas, judge, make_claim
from tests.ui.reviewing_base import verdict_post

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


class HiddenVersionTests(Personas, TestCase):
    """The claim page's edit and revise forms carry the version they started from, hidden:
    an unreadable one is said above the form, naming the field, and the form comes back on
    the claim's current version (not the bad value), nothing written."""

    BAD = ["\u0661", "\uff11", "+1", " 1", "1.0", "1e0", "abc", "0", "-1"]

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def setUp(self) -> None:
        self.claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")

    def assertRefusedVisibly(self, url: str, data: dict[str, str], form_name: str) -> None:
        claim = Claim.objects.get(pk=self.claim.pk)
        before = (claim.version, claim.claim_version, claim.statement)
        events = Event.objects.count()
        for text in self.BAD:
            for htmx in (False, True):
                with self.subTest(text=text, htmx=htmx):
                    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
                    response = self.client.post(url, {**data, "version": text}, **extra)
                    self.assertEqual(response.status_code, 200 if htmx else 422)
                    html = response.content.decode()
                    self.assertIn('class="form-errors" role="alert"', html)
                    self.assertIn("This form is out of date or was altered (version: ", html)
                    form = response.context[form_name]
                    self.assertEqual(form["version"].value(), str(claim.version))
                    self.assertIn(
                        f'<input type="hidden" name="version" value="{claim.version}"', html
                    )
                    self.assertIn(data["statement"], html)  # the user's text is kept
        claim = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((claim.version, claim.claim_version, claim.statement), before)
        self.assertEqual(Event.objects.count(), events)

    def test_the_edit_form_says_an_unreadable_version_and_resets_it(self) -> None:
        self.client.force_login(self.creator)
        url = reverse("workbench:claim-edit", args=[self.claim.pk])
        data = {"statement": "Crime fell by a fifth", "claimant": ""}
        self.assertRefusedVisibly(url, data, "edit_form")
        # The form as shown again (the current version) saves.
        response = self.client.post(url, {**data, "version": str(self.claim.version)})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).statement, "Crime fell by a fifth")

    def test_the_revise_form_says_an_unreadable_version_and_resets_it(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        self.client.force_login(self.editor)
        url = reverse("workbench:claim-revise", args=[self.claim.pk])
        data = {"statement": "Crime fell 20% downtown.", "claimant": "", "note": ""}
        self.assertRefusedVisibly(url, data, "revise_form")
        version = Claim.objects.get(pk=self.claim.pk).version
        response = self.client.post(url, {**data, "version": str(version)})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Claim.objects.get(pk=self.claim.pk).claim_version, 2)


class CitationFormsetManagementTests(Personas, TestCase):
    """The verdict form's citation rows: the formset's management counts are read in ASCII
    digits only; another spelling is the formset's own error and no verdict is written."""

    MANAGEMENT = "ManagementForm data is missing or has been tampered with."

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)
        cls.url = reverse("workbench:verdict-submit", kwargs={"pk": cls.claim.pk})

    def counts(self) -> list[int]:
        return [m.objects.count() for m in (Verdict, Citation, Source, Event)]

    def test_management_counts_spelled_otherwise_save_no_verdict(self) -> None:
        self.client.force_login(self.reviewer_a)
        rows = [{"url": "https://stats.example.org/crime", "quote": "", "stance": "refutes"}]
        cases = [
            *(("citations-TOTAL_FORMS", text) for text in ["\uff11", "+1", " 1", "1.0", "1e0"]),
            ("citations-TOTAL_FORMS", "\u0662"),
            ("citations-INITIAL_FORMS", "\u0660"),
            ("citations-MIN_NUM_FORMS", "+0"),
            ("citations-MAX_NUM_FORMS", "+5"),
            ("citations-MAX_NUM_FORMS", "\u0665"),
        ]
        before = self.counts()
        for name, text in cases:
            for htmx in (False, True):
                with self.subTest(field=name, text=text, htmx=htmx):
                    data = {**verdict_post(rows=rows), name: text}
                    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
                    response = self.client.post(self.url, data, **extra)
                    self.assertEqual(response.status_code, 200 if htmx else 422)
                    self.assertIn(self.MANAGEMENT, response.content.decode())
                    self.assertEqual(self.counts(), before)
        # ASCII saves.
        response = self.client.post(self.url, verdict_post(rows=rows))
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Verdict.objects.get(claim=self.claim).citations.count(), 1)
