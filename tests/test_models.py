"""Database invariants: the constraints in annotations.models fire even when a write
bypasses the services, and the models link to their UI pages."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.test import TestCase
from django.urls import resolve
from django.utils import timezone

from annotations import services
from annotations.models import (
    Assignment,
    AssignmentState,
    Claim,
    Consensus,
    ConsensusMethod,
    Document,
    Membership,
    Project,
    Rating,
    Role,
    Source,
    Verdict,
)
from tests.factories import Personas, make_claim, make_document


class ConstraintTestCase(Personas, TestCase):
    """Personas plus one claim; ``assertViolates`` runs a write in its own savepoint."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.other_claim = make_claim(
            document=cls.document, actor=cls.creator, exact="record low of 3.1%"
        )
        cls.rating_true = Rating.objects.get(project=cls.project, key="true")
        cls.rating_false = Rating.objects.get(project=cls.project, key="false")

    def assertViolates(self, write, constraint: str | None = None) -> None:
        with self.assertRaises(IntegrityError) as caught, transaction.atomic():
            write()
        if constraint is None:
            return
        # PostgreSQL names every constraint; SQLite names CHECK constraints and lists the
        # columns of a UNIQUE one.
        message = str(caught.exception)
        if connection.vendor == "sqlite" and "UNIQUE constraint failed" in message:
            return
        self.assertIn(constraint, message)


class ClaimConstraintTests(ConstraintTestCase):
    def _create(self, start: int, end: int) -> Claim:
        return Claim.objects.create(
            project=self.project,
            document=self.document,
            start=start,
            end=end,
            exact="x",
            statement="x",
            created_by=self.creator,
        )

    def test_it_rejects_a_negative_start_on_insert(self) -> None:
        before = Claim.objects.count()
        self.assertViolates(lambda: self._create(-1, 3))
        self.assertEqual(Claim.objects.count(), before)

    def test_it_rejects_start_not_before_end_on_insert(self) -> None:
        for start, end in [(5, 5), (6, 5), (0, 0)]:
            with self.subTest(start=start, end=end):
                before = Claim.objects.count()
                self.assertViolates(
                    lambda s=start, e=end: self._create(s, e),
                    "annotations_claim_start_before_end",
                )
                self.assertEqual(Claim.objects.count(), before)

    def test_it_rejects_a_bad_span_written_by_update(self) -> None:
        rows = Claim.objects.filter(pk=self.claim.pk)
        for changes in [{"start": 10, "end": 4}, {"end": self.claim.start}, {"start": -2}]:
            with self.subTest(changes=changes):
                self.assertViolates(lambda c=changes: rows.update(**c))
                fresh = Claim.objects.get(pk=self.claim.pk)
                self.assertEqual((fresh.start, fresh.end), (self.claim.start, self.claim.end))

    def test_it_accepts_a_one_code_point_span(self) -> None:
        claim = self._create(0, 1)
        self.assertEqual((claim.start, claim.end), (0, 1))

    def test_it_rejects_an_unknown_status(self) -> None:
        self.assertViolates(
            lambda: Claim.objects.filter(pk=self.claim.pk).update(status="archived"),
            "annotations_claim_status_valid",
        )


class VerdictConstraintTests(ConstraintTestCase):
    def _verdict(self, *, revision: int, is_current: bool = True, reviewer=None) -> Verdict:
        return Verdict.objects.create(
            claim=self.claim,
            reviewer=reviewer or self.reviewer_a,
            rating=self.rating_true,
            confidence="high",
            revision=revision,
            is_current=is_current,
        )

    def test_it_allows_one_current_verdict_per_claim_and_reviewer(self) -> None:
        self._verdict(revision=1)
        self.assertViolates(
            lambda: self._verdict(revision=2), "annotations_verdict_one_current_per_reviewer"
        )
        self.assertEqual(Verdict.objects.filter(claim=self.claim).count(), 1)

    def test_it_allows_a_new_current_revision_once_the_old_one_is_superseded(self) -> None:
        first = self._verdict(revision=1)
        Verdict.objects.filter(pk=first.pk).update(is_current=False)
        second = self._verdict(revision=2)
        current = Verdict.objects.filter(
            claim=self.claim, reviewer=self.reviewer_a, is_current=True
        )
        self.assertEqual(list(current), [second])

    def test_it_allows_current_verdicts_of_different_reviewers(self) -> None:
        self._verdict(revision=1)
        self._verdict(revision=1, reviewer=self.reviewer_b)
        self.assertEqual(Verdict.objects.filter(claim=self.claim, is_current=True).count(), 2)

    def test_it_rejects_a_repeated_revision_number(self) -> None:
        self._verdict(revision=1, is_current=False)
        self.assertViolates(
            lambda: self._verdict(revision=1, is_current=False),
            "annotations_verdict_unique_revision",
        )

    def test_it_rejects_an_unknown_confidence(self) -> None:
        verdict = self._verdict(revision=1)
        self.assertViolates(
            lambda: Verdict.objects.filter(pk=verdict.pk).update(confidence="certain"),
            "annotations_verdict_confidence_valid",
        )


class SourceConstraintTests(ConstraintTestCase):
    def test_it_rejects_a_second_row_of_one_citer_for_the_same_normalized_url(self) -> None:
        source = services.source_get_or_create(
            url="https://example.org/a", actor=self.admin, project=self.project
        )
        self.assertViolates(
            lambda: Source.objects.create(
                project=self.project,
                created_by=self.admin,
                url="https://EXAMPLE.org/a#x",
                normalized_url=source.normalized_url,
            ),
            "annotations_source_unique_per_citer",
        )
        self.assertEqual(Source.objects.filter(normalized_url=source.normalized_url).count(), 1)

    def test_it_rejects_a_second_unowned_row_for_the_same_normalized_url(self) -> None:
        services.source_get_or_create(url="https://example.org/b", actor=None, project=self.project)
        self.assertViolates(
            lambda: Source.objects.create(
                project=self.project,
                url="https://example.org/b",
                normalized_url="https://example.org/b",
            ),
            "annotations_source_unique_unowned",
        )


class MembershipConstraintTests(ConstraintTestCase):
    def test_it_rejects_a_second_membership_of_the_same_user(self) -> None:
        self.assertViolates(
            lambda: Membership.objects.create(
                project=self.project, user=self.reviewer_a, role=Role.EDITOR
            )
        )
        self.assertEqual(
            Membership.objects.get(project=self.project, user=self.reviewer_a).role, Role.REVIEWER
        )

    def test_it_allows_the_same_user_in_another_project(self) -> None:
        Membership.objects.create(project=self.other_project, user=self.reviewer_a)
        self.assertEqual(Membership.objects.filter(user=self.reviewer_a).count(), 2)

    def test_it_rejects_an_unknown_role(self) -> None:
        self.assertViolates(
            lambda: Membership.objects.filter(project=self.project, user=self.editor).update(
                role="owner"
            ),
            "annotations_membership_role_valid",
        )


class ProjectConstraintTests(ConstraintTestCase):
    def test_it_rejects_policy_values_out_of_range(self) -> None:
        cases = [
            ({"required_reviews": 0}, "annotations_project_required_reviews_range"),
            ({"required_reviews": 21}, "annotations_project_required_reviews_range"),
            ({"majority_threshold": 0.49}, "annotations_project_majority_threshold_range"),
            ({"majority_threshold": 1.0}, "annotations_project_majority_threshold_range"),
            ({"lease_minutes": 0}, "annotations_project_lease_minutes_range"),
            ({"lease_minutes": 1441}, "annotations_project_lease_minutes_range"),
            ({"consensus_rule": "plurality"}, "annotations_project_consensus_rule_valid"),
        ]
        rows = Project.objects.filter(pk=self.project.pk)
        for changes, constraint in cases:
            with self.subTest(changes=changes):
                self.assertViolates(lambda c=changes: rows.update(**c), constraint)
                fresh = rows.get()
                for name in changes:
                    self.assertEqual(getattr(fresh, name), getattr(self.project, name))

    def test_it_accepts_the_range_boundaries(self) -> None:
        rows = Project.objects.filter(pk=self.project.pk)
        for changes in [
            {"required_reviews": 1, "majority_threshold": 0.5, "lease_minutes": 1},
            {"required_reviews": 20, "majority_threshold": 0.99, "lease_minutes": 1440},
        ]:
            with self.subTest(changes=changes):
                self.assertEqual(rows.update(**changes), 1)
                fresh = rows.get()
                for name, value in changes.items():
                    self.assertEqual(getattr(fresh, name), value)


class DocumentConstraintTests(ConstraintTestCase):
    def _copy(self, project: Project) -> Document:
        return Document.objects.create(
            project=project,
            title="Copy",
            text=self.document.text,
            text_sha256=self.document.text_sha256,
            length=self.document.length,
        )

    def test_it_rejects_the_same_text_twice_in_a_project(self) -> None:
        self.assertViolates(lambda: self._copy(self.project))
        self.assertEqual(Document.objects.filter(project=self.project).count(), 1)

    def test_it_allows_the_same_text_in_another_project(self) -> None:
        copy = self._copy(self.other_project)
        self.assertEqual(copy.text_sha256, self.document.text_sha256)

    def test_it_rejects_a_negative_length(self) -> None:
        self.assertViolates(lambda: Document.objects.filter(pk=self.document.pk).update(length=-1))


class ConsensusConstraintTests(ConstraintTestCase):
    def _record(self, sequence: int, *, is_current: bool = True) -> Consensus:
        return Consensus.objects.create(
            claim=self.claim,
            sequence=sequence,
            rating=self.rating_true,
            method=ConsensusMethod.UNANIMOUS,
            is_current=is_current,
        )

    def test_it_allows_one_current_consensus_per_claim(self) -> None:
        self._record(1)
        self.assertViolates(lambda: self._record(2), "annotations_consensus_one_current")
        self.assertEqual(Consensus.objects.filter(claim=self.claim).count(), 1)

    def test_it_keeps_superseded_records_beside_the_current_one(self) -> None:
        self._record(1, is_current=False)
        self._record(2, is_current=False)
        current = self._record(3)
        self.assertEqual(
            list(Consensus.objects.filter(claim=self.claim, is_current=True)), [current]
        )

    def test_it_rejects_a_repeated_sequence(self) -> None:
        self._record(1, is_current=False)
        self.assertViolates(
            lambda: self._record(1, is_current=False), "annotations_consensus_unique_sequence"
        )

    def test_it_rejects_an_unknown_method(self) -> None:
        record = self._record(1)
        self.assertViolates(
            lambda: Consensus.objects.filter(pk=record.pk).update(method="coin_toss"),
            "annotations_consensus_method_valid",
        )


class AssignmentConstraintTests(ConstraintTestCase):
    def _lease(self, claim: Claim, state: str = AssignmentState.LEASED) -> Assignment:
        now = timezone.now()
        return Assignment.objects.create(
            project=self.project,
            claim=claim,
            reviewer=self.reviewer_a,
            state=state,
            leased_at=now,
            expires_at=now + dt.timedelta(minutes=30),
        )

    def test_it_allows_one_leased_assignment_per_project_and_reviewer(self) -> None:
        self._lease(self.claim)
        self.assertViolates(
            lambda: self._lease(self.other_claim),
            "annotations_assignment_one_lease_per_reviewer",
        )
        self.assertEqual(Assignment.objects.filter(reviewer=self.reviewer_a).count(), 1)

    def test_it_allows_closed_assignments_beside_the_lease(self) -> None:
        self._lease(self.claim, AssignmentState.SUBMITTED)
        self._lease(self.claim, AssignmentState.RELEASED)
        lease = self._lease(self.other_claim)
        self.assertEqual(
            list(Assignment.objects.filter(reviewer=self.reviewer_a, state="leased")), [lease]
        )

    def test_it_rejects_an_expiry_not_after_the_lease(self) -> None:
        lease = self._lease(self.claim)
        self.assertViolates(
            lambda: Assignment.objects.filter(pk=lease.pk).update(expires_at=lease.leased_at),
            "annotations_assignment_expiry_after_lease",
        )


class AbsoluteUrlTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def test_it_links_each_model_to_its_ui_page(self) -> None:
        cases = [
            (self.project, f"/projects/{self.project.slug}/", "workbench:project-detail"),
            (self.document, f"/documents/{self.document.pk}/", "workbench:document-detail"),
            (self.claim, f"/claims/{self.claim.pk}/", "workbench:claim-detail"),
        ]
        for obj, url, view_name in cases:
            with self.subTest(model=type(obj).__name__):
                self.assertEqual(obj.get_absolute_url(), url)
                self.assertEqual(resolve(url).view_name, view_name)

    def test_it_uses_the_slug_for_projects(self) -> None:
        project = services.project_create(creator=self.admin, name="Election desk 2026")
        self.assertEqual(project.get_absolute_url(), "/projects/election-desk-2026/")

    def test_it_links_documents_of_any_project(self) -> None:
        document = make_document(
            project=self.other_project, actor=self.outsider, text="Another text."
        )
        self.assertEqual(document.get_absolute_url(), f"/documents/{document.pk}/")
