"""The lock order of a write that deletes a row or changes its key (PostgreSQL only: row
locks, real concurrency; docs/design.md, "Row locks").

Such a write locks the row ``FOR UPDATE``, which conflicts with the ``FOR KEY SHARE`` a
deferred foreign key check takes at COMMIT. The committing writer holds its project's
audit chain head by then (its events are appended): had the deleter locked the row first
and then waited for the head, each would wait on the other and PostgreSQL would abort one
(``deadlock detected``, a 500). The deleter locks the chain head first
(``services._base.chain_lock``), so it waits for that commit, then sees the new row that
names the one it meant to delete. ``TransactionTestCase`` so that the threads see each
other's commits.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import TransactionTestCase, override_settings

from annotations import selectors, services
from annotations.models import (
    Document,
    Event,
    Rating,
    RepeatSuggestion,
    Verdict,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import make_claim, make_document, make_member, make_project, make_user, take
from tests.test_fk_lock_concurrency import race_the_commit


@pytest.mark.postgres("row locks and deferred foreign key checks across two connections")
class DeleteLockOrderTests(TransactionTestCase):
    def setUp(self) -> None:
        self.admin = make_user("admin")
        self.project = make_project(creator=self.admin, name="Desk")

    def test_a_rating_deleted_while_a_verdict_names_it_is_refused_not_deadlocked(self) -> None:
        rating = services.rating_create(
            project=self.project, actor=self.admin, key="odd", label="Odd"
        )
        creator = make_member(self.project, "creator")
        reviewer = make_member(self.project, "reviewer")
        claim = make_claim(
            document=make_document(project=self.project, actor=creator),
            actor=creator,
            start=0,
            end=20,
        )
        take(claim, reviewer)
        # The verdict's transaction holds the chain head, and its key check on the rating
        # waits for the commit; the deletion waits for the head (locked the wrong way
        # round: for the head while it holds the rating).
        results, errors, waited = race_the_commit(
            lambda: services.verdict_submit(
                claim=claim, reviewer=reviewer, rating="odd", confidence="high"
            ),
            lambda: services.rating_delete(rating=rating, actor=self.admin),
        )
        self.assertEqual(waited, [True])
        self.assertIsNone(errors[0], repr(errors[0]))
        # The deletion waited for the verdict's commit, then saw the rating in use.
        self.assertIsInstance(errors[1], ValidationError, repr(errors[1]))
        self.assertIn("in use", str(errors[1]))
        self.assertEqual(Verdict.objects.get(pk=results[0].pk).rating_id, rating.pk)
        self.assertTrue(Rating.objects.filter(pk=rating.pk).exists())
        self.assertFalse(Event.objects.filter(verb="rating.delete").exists())
        report = selectors.audit_verify(project_id=self.project.pk)
        self.assertTrue(report.ok, report.problem)

    def test_an_endpoint_deleted_while_a_delivery_to_it_commits_takes_it_along(self) -> None:
        # One verdict decides consensus: its write puts a consensus.reached delivery in
        # the endpoint's outbox (a row naming the endpoint) and holds the chain head.
        project = make_project(creator=self.admin, name="Quick", required_reviews=1)
        with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"]):
            endpoint = services.webhook_endpoint_create(
                project=project,
                actor=self.admin,
                url="https://hooks.example.org/in",
                event_types=["consensus.reached"],
            ).endpoint
        creator = make_member(project, "creator")
        reviewer = make_member(project, "reviewer")
        claim = make_claim(
            document=make_document(project=project, actor=creator), actor=creator, start=0, end=20
        )
        take(claim, reviewer)
        results, errors, waited = race_the_commit(
            lambda: services.verdict_submit(
                claim=claim, reviewer=reviewer, rating="false", confidence="high"
            ),
            lambda: services.webhook_endpoint_delete(endpoint=endpoint, actor=self.admin),
        )
        self.assertEqual(waited, [True])
        self.assertEqual(errors, [None, None])
        self.assertTrue(Verdict.objects.filter(pk=results[0].pk).exists())
        self.assertFalse(WebhookEndpoint.objects.filter(pk=endpoint.pk).exists())
        self.assertFalse(WebhookDelivery.objects.exists())
        # The deletion waited for the verdict's commit and took its delivery along.
        deleted = Event.objects.get(project=project, verb="webhook.delete")
        self.assertEqual(deleted.after, {"endpoint": endpoint.pk, "deliveries_deleted": 1})
        report = selectors.audit_verify(project_id=project.pk)
        self.assertTrue(report.ok, report.problem)

    def test_a_document_revised_while_a_repeat_scan_commits_waits_for_it(self) -> None:
        # The scan stores a repeat suggestion (a row naming the document) without locking
        # the document, and holds the chain head; the revision changes the document's key.
        editor = make_member(self.project, "editor", "editor")
        document = make_document(project=self.project, actor=editor)
        services.references_create(
            project=self.project,
            items=[
                services.ReferenceInput(claim_reviewed="The mayor said crime fell 20% last year.")
            ],
            actor=editor,
        )
        results, errors, waited = race_the_commit(
            lambda: services.repeats_scan(document_id=document.pk),
            lambda: services.document_revise(
                document=document, text="The mayor said crime fell 25% last year.\n", actor=editor
            ),
        )
        self.assertEqual(waited, [True])
        self.assertEqual(errors, [None, None])
        self.assertEqual(results[0], 1)
        self.assertEqual(RepeatSuggestion.objects.filter(document=document).count(), 1)
        self.assertEqual(Document.objects.get(pk=document.pk).revision, 2)
        verbs = list(
            Event.objects.filter(project=self.project)
            .order_by("-seq")
            .values_list("verb", flat=True)[:2]
        )
        self.assertEqual(verbs, ["document.revise", "document.repeats_scan"])
        report = selectors.audit_verify(project_id=self.project.pk)
        self.assertTrue(report.ok, report.problem)
