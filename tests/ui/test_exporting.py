"""The Export menus' downloads (workbench/ui/exporting.py): members only (404 for anyone
else), file names with the project's slug and the date, blind review as in every export;
and the favicon every page links."""

from __future__ import annotations

import json

from django.urls import reverse
from django.utils import timezone

from tests.factories import judge, make_claim, make_document
from tests.ui.reading_base import ReadingViewTestCase


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


class ExportDownloadTests(ReadingViewTestCase):
    def project_url(self, fmt: str) -> str:
        return reverse("workbench:project-export", args=[self.project.slug, fmt])

    def document_url(self, fmt: str) -> str:
        return reverse("workbench:document-export", args=[self.document.pk, fmt])

    def test_every_format_downloads_with_a_named_file(self) -> None:
        self.login(self.reviewer_a)
        today = timezone.localdate().isoformat()
        for fmt, ending in (
            ("json", "json"),
            ("jsonl", "jsonl"),
            ("claimreview", "claimreview.json"),
            ("webannotation", "webannotation.json"),
        ):
            with self.subTest(fmt=fmt):
                response = self.client.get(self.project_url(fmt))
                self.assertEqual(response.status_code, 200)
                self.assertEqual(
                    response["Content-Disposition"],
                    f'attachment; filename="{self.project.slug}-{today}.{ending}"',
                )
                body = _body(response)
                if fmt == "jsonl":
                    self.assertEqual(json.loads(body.splitlines()[0])["id"], self.claim.pk)
                else:
                    json.loads(body)
                response = self.client.get(self.document_url(fmt))
                self.assertEqual(
                    response["Content-Disposition"],
                    f'attachment; filename="{self.project.slug}-document-{self.document.pk}'
                    f'-{today}.{ending}"',
                )

    def test_a_documents_json_lines_hold_its_claims_only_as_the_projects_rows_do(self) -> None:
        other = make_document(
            project=self.project,
            actor=self.creator,
            title="Other",
            text="Elsewhere crime fell 20% last year, said the mayor.\n",
        )
        # Claims of both documents interleave by id: the other document's sit in between.
        foreign = make_claim(document=other, actor=self.creator, exact="crime fell 20% last year")
        second = make_claim(document=self.document, actor=self.creator, exact="last year")
        judge(self.claim, self.reviewer_b, "false")
        self.login(self.reviewer_a)
        project_rows = [
            json.loads(line)
            for line in _body(self.client.get(self.project_url("jsonl"))).splitlines()
        ]
        document_rows = [
            json.loads(line)
            for line in _body(self.client.get(self.document_url("jsonl"))).splitlines()
        ]
        self.assertEqual([row["id"] for row in document_rows], [self.claim.pk, second.pk])
        self.assertIn(foreign.pk, [row["id"] for row in project_rows])
        self.assertEqual(
            document_rows,
            [row for row in project_rows if row["document"]["id"] == self.document.pk],
        )

    def test_non_members_and_unknown_formats_get_404(self) -> None:
        self.login(self.outsider)
        self.assertEqual(self.client.get(self.project_url("json")).status_code, 404)
        self.assertEqual(self.client.get(self.document_url("json")).status_code, 404)
        self.login(self.reviewer_a)
        self.assertEqual(self.client.get(self.project_url("csv")).status_code, 404)
        self.assertEqual(self.client.get(self.document_url("xml")).status_code, 404)

    def test_anonymous_visitors_are_sent_to_sign_in(self) -> None:
        response = self.client.get(self.project_url("json"))
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_blind_review_hides_other_reviewers_verdicts(self) -> None:
        judge(self.claim, self.reviewer_b, "false", rationale="Secret rationale of b.")
        self.login(self.reviewer_a)
        for url in (self.project_url("json"), self.project_url("jsonl"), self.document_url("json")):
            with self.subTest(url=url):
                self.assertNotIn("Secret rationale of b.", _body(self.client.get(url)))
        self.login(self.editor)
        self.assertIn("Secret rationale of b.", _body(self.client.get(self.document_url("json"))))

    def test_dashboard_and_reader_offer_the_export_menu(self) -> None:
        self.login(self.reviewer_a)
        dashboard = self.client.get(self.project.get_absolute_url()).content.decode()
        self.assertIn('class="menu export-menu"', dashboard)
        self.assertIn(self.project_url("claimreview"), dashboard)
        reader = self.client.get(self.document.get_absolute_url()).content.decode()
        self.assertIn(self.document_url("webannotation"), reader)


class FaviconTests(ReadingViewTestCase):
    def test_favicon_ico_redirects_to_the_svg_icon_pages_link(self) -> None:
        response = self.client.get("/favicon.ico")
        self.assertEqual(response.status_code, 301)
        self.assertTrue(response["Location"].endswith("workbench/favicon.svg"))
        self.assertEqual(self.client.get(reverse("login")).status_code, 200)
        self.assertContains(self.client.get(reverse("login")), 'rel="icon"')
