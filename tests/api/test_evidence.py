"""API: evidence (snapshots, their text and WARC, the quote status on verdict citations),
with access: 404 for non-members and for a reviewer still blind to the citer."""

from __future__ import annotations

import io

from rest_framework.test import APIClient
from warcio.archiveiterator import ArchiveIterator

from annotations.models import SourceSnapshot
from tests.evidence_base import EvidenceTestCase
from tests.services.import_base import _loopback_only  # noqa: F401  (autouse: loopback only)

API = "/api/v1"


class EvidenceApiTests(EvidenceTestCase):
    def api(self, user: object) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    def test_verdict_citations_carry_the_quote_status_and_the_snapshot(self) -> None:
        verdict = self.cite(self.reviewer_a)
        snapshot = SourceSnapshot.objects.get()
        answer = self.api(self.reviewer_a).get(f"{API}/claims/{self.claim.pk}/verdicts/")
        self.assertEqual(answer.status_code, 200, answer.content)
        rows = answer.json()
        rows = rows["results"] if isinstance(rows, dict) else rows
        (row,) = [r for r in rows if r["id"] == verdict.pk]
        evidence = row["citations"][0]["evidence"]
        self.assertEqual(evidence["quote_status"], "verified")
        self.assertEqual(evidence["flag"], "ok")
        self.assertEqual(evidence["snapshot"]["sha256"], snapshot.sha256)
        self.assertEqual(evidence["snapshot"]["id"], snapshot.pk)
        self.assertTrue(evidence["snapshot"]["fetched_at"])
        self.assertEqual(
            snapshot.text[evidence["quote_start"] : evidence["quote_end"]][:20],
            "the sharpest rise si",
        )

    def test_snapshot_text_and_warc_for_those_who_may_see_the_source(self) -> None:
        self.cite(self.reviewer_a)
        snapshot = SourceSnapshot.objects.get()
        answer = self.api(self.reviewer_a).get(f"{API}/snapshots/{snapshot.pk}/")
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(answer.json()["text"], snapshot.text)
        warc = self.api(self.editor).get(f"{API}/snapshots/{snapshot.pk}/warc/")
        self.assertEqual(warc.status_code, 200)
        self.assertIn("attachment", warc["Content-Disposition"])
        records = list(ArchiveIterator(io.BytesIO(b"".join(warc.streaming_content))))
        self.assertEqual(records[0].rec_type, "response")
        listed = self.api(self.editor).get(f"{API}/sources/{snapshot.source_id}/snapshots/")
        self.assertEqual([row["id"] for row in listed.json()], [snapshot.pk])

    def test_outsiders_and_blind_reviewers_get_404(self) -> None:
        self.cite(self.reviewer_a)
        snapshot = SourceSnapshot.objects.get()
        for user in (self.outsider, self.reviewer_b):
            client = self.api(user)
            for url in (
                f"{API}/snapshots/{snapshot.pk}/",
                f"{API}/snapshots/{snapshot.pk}/warc/",
                f"{API}/sources/{snapshot.source_id}/snapshots/",
            ):
                with self.subTest(user=user.username, url=url):
                    self.assertEqual(client.get(url).status_code, 404)
            self.assertEqual(
                client.post(f"{API}/sources/{snapshot.source_id}/snapshots/").status_code, 404
            )

    def test_a_snapshot_on_demand_is_accepted_for_the_citer_and_editors_only(self) -> None:
        verdict = self.cite(self.reviewer_a, run=False)
        source_id = verdict.citations.get().source_id
        url = f"{API}/sources/{source_id}/snapshots/"
        self.assertEqual(self.api(self.reviewer_a).post(url).status_code, 202)
        self.assertEqual(self.api(self.editor).post(url).status_code, 202)
        self.cite(self.reviewer_b, rating="false", run=False)  # now reviewer_b sees it
        self.assertEqual(self.api(self.reviewer_b).post(url).status_code, 403)
        # A body is refused (the operation reads none), and queues nothing.
        from django_tasks_db.models import DBTaskResult

        queued = DBTaskResult.objects.count()
        for body in ({"bogus": 1}, "{bad"):
            with self.subTest(body=body), self.captureOnCommitCallbacks(execute=True):
                answer = self.api(self.reviewer_a).post(
                    url, body, format="json" if isinstance(body, dict) else None,
                    content_type=None if isinstance(body, dict) else "application/json",
                )  # fmt: skip
                self.assertEqual(answer.status_code, 400, answer.content)
        self.assertEqual(DBTaskResult.objects.count(), queued)
