"""Rows the database can hold but the services would not write render everywhere: no 500.

A resolved or published claim whose consensus is not current (written by hand, by an old
version, or restored from a partial backup) must show "no consensus" in every list, page
and export, never break the whole document. A published claim with no verdict at all
(the issue 14 probe: the admin could set Published, then the API failed for the whole
document) can no longer be written: the database refuses it, even by a raw UPDATE.
"""

from __future__ import annotations

import json

from django.db import IntegrityError, transaction
from django.test import TestCase

from annotations import services
from annotations.models import Claim, ClaimStatus, Consensus
from tests.factories import Personas, judge, make_claim


class OddRowTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.normal = make_claim(
            document=cls.document, actor=cls.creator, exact="The mayor said crime fell 20%"
        )
        cls.orphaned_consensus = make_claim(
            document=cls.document, actor=cls.creator, exact="Unemployment is at a record low"
        )
        cls.published_bare = make_claim(
            document=cls.document, actor=cls.creator, exact="Critics say the new bridge"
        )
        for reviewer in (cls.reviewer_a, cls.reviewer_b):
            judge(cls.normal, reviewer, "false")
        for reviewer in (cls.reviewer_a, cls.reviewer_b):
            judge(cls.orphaned_consensus, reviewer, "true")
        # What no service writes: a resolved claim whose consensus is no longer current. (A
        # published claim nobody judged cannot be written at all: see the test below; it
        # stays in review.)
        Consensus.objects.filter(claim=cls.orphaned_consensus).update(is_current=False)

    def test_the_database_refuses_a_published_claim_nobody_judged(self) -> None:
        with self.assertRaises(IntegrityError), transaction.atomic():
            Claim.objects.filter(pk=self.published_bare.pk).update(status=ClaimStatus.PUBLISHED)
        self.assertEqual(Claim.objects.get(pk=self.published_bare.pk).status, ClaimStatus.IN_REVIEW)

    def setUp(self) -> None:
        self.client.force_login(self.editor)

    def test_the_api_lists_and_details_answer_with_no_consensus(self) -> None:
        for url in (
            f"/api/v1/claims/{self.orphaned_consensus.pk}/",
            f"/api/v1/claims/{self.published_bare.pk}/",
            f"/api/v1/claims/?document={self.document.pk}",
            f"/api/v1/documents/{self.document.pk}/?include=claims",
        ):
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200, response.content[:300])
        claims = self.client.get(f"/api/v1/documents/{self.document.pk}/?include=claims").json()
        by_id = {claim["id"]: claim for claim in claims["claims"]}
        self.assertIsNone(by_id[self.orphaned_consensus.pk]["consensus"])
        self.assertIsNone(by_id[self.published_bare.pk]["consensus"])
        self.assertEqual(by_id[self.normal.pk]["consensus"]["rating"], "false")
        self.assertEqual(by_id[self.orphaned_consensus.pk]["status"], "resolved")

    def test_the_pages_render(self) -> None:
        project = self.project
        for url in (
            self.orphaned_consensus.get_absolute_url(),
            self.published_bare.get_absolute_url(),
            self.document.get_absolute_url(),
            project.get_absolute_url(),
            f"/projects/{project.slug}/disputes/",
            f"/projects/{project.slug}/documents/",
        ):
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
        page = self.client.get(self.published_bare.get_absolute_url()).content.decode()
        self.assertIn("No consensus yet", page)

    def test_the_exports_answer(self) -> None:
        base = f"/api/v1/documents/{self.document.pk}/export/"
        for fmt in ("json", "claimreview", "webannotation"):
            with self.subTest(format=fmt):
                response = self.client.get(base, {"format": fmt})
                self.assertEqual(response.status_code, 200)
        # Only published fact checks are ClaimReviews: resolved is not published.
        self.assertEqual(self.client.get(base, {"format": "claimreview"}).json(), [])
        services.claim_publish(claim=self.normal, editor=self.editor, summary="It rose.")
        reviews = self.client.get(base, {"format": "claimreview"}).json()
        self.assertEqual([review["claimReviewed"] for review in reviews], [self.normal.statement])
        response = self.client.get(f"/api/v1/projects/{self.project.pk}/export/")
        rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
        by_id = {row["id"]: row for row in rows}
        self.assertIsNone(by_id[self.orphaned_consensus.pk]["consensus"])
        self.assertIsNone(by_id[self.published_bare.pk]["consensus"])

    def test_a_reviewer_sees_the_same_lists(self) -> None:
        self.client.force_login(self.reviewer_c)
        response = self.client.get(f"/api/v1/claims/?document={self.document.pk}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.json()["results"]), 3)

    def test_services_refuse_to_go_on_from_the_odd_state(self) -> None:
        # Publishing needs a resolved claim; the unjudged one is left as it is.
        with self.assertRaises(services.QueueConflict):
            services.claim_publish(
                claim=self.published_bare,
                editor=self.editor,
                summary="Checked against the official figures.",
            )
