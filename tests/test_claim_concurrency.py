"""Creating claims on one span at the same time (PostgreSQL only: row locks, real
concurrency). The API's path (``services.claim_create_as_member``) locks the document in
its access check and inserts a claim unless one already holds the span; the duplicate
rule is read only when one does. Under the document lock exactly one of several identical
creations wins and the others are told which claim they duplicate; different statements
on one span are all kept."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import TransactionTestCase

from annotations import services
from annotations.models import Claim, Event, Role
from tests.factories import make_document, make_member, make_project, make_user
from tests.test_audit_concurrency import THREADS, run_together


@pytest.mark.postgres("row locks on the document under concurrent claim creations")
class ClaimCreationConcurrencyTests(TransactionTestCase):
    def setUp(self) -> None:
        admin = make_user("admin")
        self.project = make_project(creator=admin, name="Busy desk", required_reviews=1)
        self.members = [
            make_member(self.project, f"checker{n}", Role.REVIEWER) for n in range(THREADS)
        ]
        text = "The council said the budget rose 12.5% last year, officials claim.\n" * 50
        self.document = make_document(project=self.project, actor=admin, text=text)

    def create(self, member: object, statement: str) -> Claim:
        return services.claim_create_as_member(
            user=member, document_id=self.document.pk, start=4, end=46, statement=statement
        )

    def test_the_same_claim_at_once_is_created_once(self) -> None:
        errors = run_together(
            [lambda m=m: self.create(m, "The budget  rose 12.5%") for m in self.members]
        )
        claims = list(Claim.objects.filter(document=self.document))
        self.assertEqual(len(claims), 1)
        duplicates = [e for e in errors if isinstance(e, services.DuplicateClaim)]
        self.assertEqual(len(duplicates), THREADS - 1, errors)
        self.assertEqual({d.existing_id for d in duplicates}, {claims[0].pk})
        self.assertEqual(Event.objects.filter(verb="claim.create").count(), 1)

    def test_other_statements_on_one_span_are_all_kept(self) -> None:
        errors = run_together(
            [lambda m=m, n=n: self.create(m, f"Reading {n}") for n, m in enumerate(self.members)]
        )
        self.assertEqual(errors, [None] * THREADS)
        statements = Claim.objects.filter(document=self.document).values_list(
            "statement", flat=True
        )
        self.assertEqual(sorted(statements), sorted(f"Reading {n}" for n in range(THREADS)))
        self.assertEqual(Event.objects.filter(verb="claim.create").count(), THREADS)

    def test_a_non_member_is_refused_and_nothing_is_written(self) -> None:
        stranger = make_user("stranger")
        with self.assertRaises(Http404):
            self.create(stranger, "Not mine")
        self.assertFalse(Claim.objects.exists())
