"""UI: evidence on the claim page (quote status, archived copy, flags), the archived
text page (escaped plain text, the quote in <mark>), the WARC download, "archive again",
and the dashboard's sources at risk; 404 for non-members and blind reviewers."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from annotations.models import SourceSnapshot, WebhookDelivery
from annotations.services.webhooks import webhook_endpoint_create
from tests.evidence_base import PAGE, EvidenceTestCase
from tests.services.import_base import _loopback_only  # noqa: F401  (autouse: loopback only)


class EvidencePageTests(EvidenceTestCase):
    def get_html(self, user: object, url: str) -> str:
        self.client.force_login(user)
        answer = self.client.get(url)
        self.assertEqual(answer.status_code, 200)
        return answer.content.decode()

    def test_the_claim_page_shows_the_verified_quote_and_the_archived_copy(self) -> None:
        self.cite(self.reviewer_a)
        snapshot = SourceSnapshot.objects.get()
        html = self.get_html(self.reviewer_a, self.claim.get_absolute_url())
        self.assertIn("Quote verified", html)
        self.assertIn(reverse("workbench:snapshot-detail", args=[snapshot.pk]), html)
        self.assertIn(snapshot.sha256[:10], html)
        self.assertIn("Archive again", html)

    def test_the_archived_text_is_plain_with_the_quote_marked(self) -> None:
        verdict = self.cite(self.reviewer_a)
        snapshot = SourceSnapshot.objects.get()
        citation = verdict.citations.get()
        url = reverse("workbench:snapshot-detail", args=[snapshot.pk]) + f"?citation={citation.pk}"
        html = self.get_html(self.reviewer_a, url)
        self.assertIn('<mark id="quote">the sharpest rise since records began', html)
        self.assertNotIn("<article>", html)
        self.assertIn(snapshot.sha256, html)
        warc = self.client.get(reverse("workbench:snapshot-warc", args=[snapshot.pk]))
        self.assertEqual(warc.status_code, 200)
        self.assertIn("attachment", warc["Content-Disposition"])

    def test_a_citation_id_in_other_digits_marks_nothing(self) -> None:
        verdict = self.cite(self.reviewer_a)
        snapshot = SourceSnapshot.objects.get()
        pk = str(verdict.citations.get().pk)
        base = reverse("workbench:snapshot-detail", args=[snapshot.pk])
        self.assertIn('<mark id="quote">', self.get_html(self.reviewer_a, f"{base}?citation={pk}"))
        arabic_indic = pk.translate({ord("0") + d: 0x660 + d for d in range(10)})
        for spelled in (arabic_indic, f"+{pk}", f"{pk}.0", f" {pk}"):
            with self.subTest(citation=spelled):
                query = urlencode({"citation": spelled})
                html = self.get_html(self.reviewer_a, f"{base}?{query}")
                self.assertNotIn('<mark id="quote">', html)

    def test_page_markup_in_the_text_is_escaped(self) -> None:
        self.site.serve(
            "/steel",
            PAGE.replace("records began", "records began &lt;script&gt;alert(1)&lt;/script&gt;"),
        )
        self.cite(self.reviewer_a, quote="records began")
        snapshot = SourceSnapshot.objects.get()
        self.assertIn("<script>alert(1)</script>", snapshot.text)
        html = self.get_html(
            self.reviewer_a, reverse("workbench:snapshot-detail", args=[snapshot.pk])
        )
        self.assertNotIn("<script>alert(1)", html)
        self.assertIn("&lt;script&gt;alert(1)", html)

    def test_outsiders_and_blind_reviewers_get_404(self) -> None:
        self.cite(self.reviewer_a)
        snapshot = SourceSnapshot.objects.get()
        for user in (self.outsider, self.reviewer_b):
            self.client.force_login(user)
            for name in ("workbench:snapshot-detail", "workbench:snapshot-warc"):
                with self.subTest(user=user.username, view=name):
                    answer = self.client.get(reverse(name, args=[snapshot.pk]))
                    self.assertEqual(answer.status_code, 404)

    def test_archive_again_queues_a_snapshot(self) -> None:
        verdict = self.cite(self.reviewer_a)
        source_id = verdict.citations.get().source_id
        self.client.force_login(self.reviewer_a)
        url = reverse("workbench:source-snapshot", args=[self.claim.pk, source_id])
        with self.captureOnCommitCallbacks(execute=True):
            answer = self.client.post(url)
        self.assertRedirects(answer, self.claim.get_absolute_url(), fetch_redirect_response=False)
        self.assertTrue(
            DBTaskResult.objects.filter(
                task_path="annotations.services.evidence.snapshot_task"
            ).exists()
        )
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.post(url).status_code, 404)

    def test_changed_and_gone_show_on_the_claim_page_and_dashboard_with_one_webhook_each(
        self,
    ) -> None:
        webhook_endpoint_create(
            project=self.project,
            actor=self.admin,
            url="http://127.0.0.1:9/hook",
            event_types=["source.changed"],
        )
        self.cite(self.reviewer_a)
        self.site.serve("/steel", PAGE.replace("40 per cent", "45 per cent"))
        call_command("check_sources", stdout=io.StringIO())
        call_command("check_sources", stdout=io.StringIO())
        html = self.get_html(self.reviewer_a, self.claim.get_absolute_url())
        self.assertIn("Source changed", html)
        dashboard = self.get_html(self.editor, self.project.get_absolute_url())
        self.assertIn("Sources at risk", dashboard)
        self.assertIn("flag-changed", dashboard)
        self.site.serve("/steel", "", status=404)
        call_command("check_sources", stdout=io.StringIO())
        call_command("check_sources", stdout=io.StringIO())
        html = self.get_html(self.reviewer_a, self.claim.get_absolute_url())
        self.assertIn("Source gone", html)
        flags = list(WebhookDelivery.objects.order_by("id").values_list("payload", flat=True))
        self.assertEqual([p["data"]["flag"] for p in flags], ["changed", "gone"])
        # The blind reviewer's dashboard does not list another reviewer's source.
        self.assertNotIn(
            "Sources at risk", self.get_html(self.reviewer_b, self.project.get_absolute_url())
        )
