"""Services: text no database can store (NUL, lone surrogates), refused by every service
that stores user text (``annotations/services/_base.py``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Citation,
    Claim,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Source,
    Verdict,
)
from tests.factories import SAMPLE_TEXT, make_claim
from tests.services.base import ServiceTestCase, counts

NUL_MESSAGE = "Contains a NUL character (U+0000) at position"
SURROGATE_MESSAGE = "Is not valid Unicode text: lone surrogate U+D800"


class StorableTextTests(ServiceTestCase):
    """NUL (PostgreSQL text columns refuse it: DataError, a 500) and lone surrogates (not
    Unicode, UTF-8 cannot encode them) in anything a user types are refused by the service
    with a ValidationError on the field, before any query, on every backend, and nothing
    is written. The API's serializers refuse them first; commands, the admin, the UI and
    imports reach the services directly."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    def assertRefused(self, call: Any, field: str, message: str = NUL_MESSAGE) -> None:
        models = (Project, Membership, Rating, Document, Claim, Source, Verdict, Citation, Event)
        before = counts(*models)
        with self.assertRaises(ValidationError) as caught:
            call()
        self.assertFieldError(caught.exception, field, message)
        self.assertEqual(counts(*models), before)

    def test_document_create_refuses_every_field_it_stores(self) -> None:
        def create(**fields: Any) -> Any:
            data = {"title": "Budget", "text": "Taxes fell.", **fields}
            return lambda: services.document_create(
                project=self.project, data=services.DocumentInput(**data), actor=self.editor
            )

        cases = [
            ("title", {"title": "Bud\x00get"}, NUL_MESSAGE + " 3"),
            ("text", {"text": "Taxes\x00fell."}, NUL_MESSAGE + " 5"),
            ("text", {"text": "Taxes \ud800 fell."}, SURROGATE_MESSAGE + " at position 6"),
            ("raw_text", {"raw_text": "Taxes\x00fell."}, NUL_MESSAGE),
            ("publisher", {"publisher": "\x00"}, NUL_MESSAGE),
            ("author", {"author": "A.\ud800"}, SURROGATE_MESSAGE),
            ("language", {"language": "e\x00n"}, NUL_MESSAGE),
        ]
        for field, fields, message in cases:
            with self.subTest(field=field, fields=repr(fields)):
                self.assertRefused(create(**fields), field, message)

    def test_bulk_creation_keys_the_refusal_by_index(self) -> None:
        items = [
            services.DocumentInput(title="Fine", text="A fine text."),
            services.DocumentInput(title="Bad", text="A bad\x00text."),
        ]
        self.assertRefused(
            lambda: services.document_create_many(
                project=self.project, items=items, actor=self.editor
            ),
            "1.text",
        )

    def test_claims_refuse_it_in_statement_claimant_and_exact(self) -> None:
        start = SAMPLE_TEXT.index("crime fell 20%")

        def create(**fields: Any) -> Any:
            return lambda: services.claim_create(
                document=self.document, start=start, end=start + 14, actor=self.creator, **fields
            )

        self.assertRefused(create(statement="Crime\x00fell"), "statement")
        self.assertRefused(create(claimant="the \ud800mayor"), "claimant", SURROGATE_MESSAGE)
        self.assertRefused(create(exact="crime\x00fell 20%"), "exact")
        self.assertRefused(
            lambda: services.claim_update(
                claim=self.claim, actor=self.creator, expected_version=1, statement="a\x00b"
            ),
            "statement",
        )

    def test_verdicts_refuse_it_in_rationale_rating_and_citations(self) -> None:
        def submit(**fields: Any) -> Any:
            data = {"rating": "false", "confidence": "high", **fields}
            return lambda: services.verdict_submit(
                claim=self.claim, reviewer=self.reviewer_a, **data
            )

        self.assertRefused(submit(rationale="Police\x00data."), "rationale")
        self.assertRefused(submit(rating="fal\x00se"), "rating")
        cite = services.CitationInput(
            stance="refutes", url="https://stats.example.gov/", quote="3\x00%"
        )
        self.assertRefused(
            submit(citations=[cite]), "citations", "Citation 1, quote: " + NUL_MESSAGE
        )
        self.assertEqual(
            Assignment.objects.get(reviewer=self.reviewer_a).state, AssignmentState.LEASED
        )

    def test_editors_and_reviewers_notes_refuse_it(self) -> None:
        self.assertRefused(
            lambda: services.claim_skip(
                claim=self.claim, reviewer=self.reviewer_a, reason="a\x00b"
            ),
            "reason",
        )
        self.assertRefused(
            lambda: services.claim_withdraw(claim=self.claim, actor=self.editor, reason="\x00"),
            "reason",
        )
        self.assertRefused(
            lambda: services.claim_reopen(claim=self.claim, editor=self.editor, note="\ud800"),
            "note",
            SURROGATE_MESSAGE,
        )
        self.assertRefused(
            lambda: services.document_revise(
                document=self.document, text=SAMPLE_TEXT + " More.", actor=self.editor, note="\x00"
            ),
            "note",
        )

    def test_sources_and_projects_refuse_it(self) -> None:
        self.assertRefused(
            lambda: services.source_get_or_create(
                url="https://example.org/a",
                actor=self.reviewer_a,
                project=self.project,
                title="Re\x00port",
            ),
            "title",
        )
        self.assertRefused(
            lambda: services.project_create(creator=self.editor, name="Desk\x00two"), "name"
        )
        self.assertRefused(
            lambda: services.project_create(
                creator=self.editor, name="Desk two", organization="Fact \ud800Desk"
            ),
            "organization",
            SURROGATE_MESSAGE,
        )
        self.assertRefused(
            lambda: services.project_update(project=self.project, actor=self.admin, name="\x00"),
            "name",
        )
