"""Services: evidence (``annotations/services/evidence.py``): snapshots of cited sources,
verified quotes and the link-rot watch, against a web site on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import socket
from collections.abc import Callable
from typing import Any
from unittest import mock

from django.core.management import call_command
from django_tasks_db.models import DBTaskResult
from rest_framework.renderers import JSONRenderer
from warcio.archiveiterator import ArchiveIterator

from annotations import selectors, services
from annotations.api.serializers import VerdictSerializer, verdict_data
from annotations.models import (
    Event,
    QuoteCheck,
    QuoteStatus,
    SourceCheck,
    SourceEvidence,
    SourceSnapshot,
    WebhookDelivery,
)
from annotations.selectors.evidence import evidence_storage
from annotations.services.webhooks import webhook_endpoint_create
from tests.evidence_base import PAGE, EvidenceTestCase
from tests.factories import judge
from tests.services.import_base import _loopback_only  # noqa: F401  (autouse: loopback only)


class SnapshotTests(EvidenceTestCase):
    def test_citing_a_page_stores_a_snapshot_of_the_served_bytes(self) -> None:
        verdict = self.cite(self.reviewer_a)
        source = verdict.citations.get().source
        snapshot = SourceSnapshot.objects.get(source=source)
        self.assertEqual(snapshot.outcome, "ok")
        self.assertEqual(snapshot.sha256, hashlib.sha256(self.page).hexdigest())
        self.assertEqual(snapshot.size, len(self.page))
        self.assertEqual(snapshot.http_status, 200)
        self.assertEqual(snapshot.content_type, "text/html")
        self.assertEqual(snapshot.final_url, self.site.url("/steel"))
        self.assertEqual(snapshot.title, "Steel prices rose 40% in a year")
        self.assertEqual(snapshot.publisher, "The Daily Test")
        self.assertEqual(str(snapshot.published_date), "2024-03-05")
        self.assertIn("steel prices rose by 40 per cent", snapshot.text)
        self.assertNotIn("<p>", snapshot.text)
        # The WARC reads back with warcio: one response record of the served bytes.
        with evidence_storage().open(snapshot.warc, "rb") as handle:
            data = handle.read()
        self.assertEqual(snapshot.warc_sha256, hashlib.sha256(data).hexdigest())
        records = list(ArchiveIterator(io.BytesIO(data)))
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0].rec_type, "response")
        self.assertEqual(records[0].rec_headers.get_header("WARC-Target-URI"), snapshot.final_url)
        self.assertEqual(records[0].http_headers.get_statuscode(), "200")
        records = ArchiveIterator(io.BytesIO(data))
        self.assertEqual(next(iter(records)).content_stream().read(), self.page)
        state = SourceEvidence.objects.get(source=source)
        self.assertEqual((state.latest, state.baseline, state.flag), (snapshot, snapshot, "ok"))
        event = Event.objects.get(verb="source.snapshot")
        self.assertEqual(event.after["sha256"], snapshot.sha256)
        self.assertEqual(event.object_id, snapshot.pk)

    def test_an_archived_citation_is_answered_as_the_verdict_serializer_writes_it(self) -> None:
        # serializers.verdict_data (the verdict's answer, written by hand) against the
        # documented VerdictSerializer, for a citation with its snapshot and quote check.
        verdict = self.cite(self.reviewer_a)
        (verdict,) = selectors.verdicts_visible_to(
            user=self.reviewer_a,
            claim=self.claim,
            membership=self.project.memberships.get(user=self.reviewer_a),
        )
        data = verdict_data(verdict)
        self.assertEqual(data["citations"][0]["evidence"]["quote_status"], "verified")
        self.assertIsNotNone(data["citations"][0]["evidence"]["snapshot"])
        self.assertEqual(
            json.loads(JSONRenderer().render(data)),
            json.loads(JSONRenderer().render(VerdictSerializer(verdict).data)),
        )

    def test_a_second_citation_of_an_archived_source_is_not_fetched_again(self) -> None:
        self.cite(self.reviewer_a)
        self.site.serve("/steel", "<p>changed</p>")
        verdict = self.cite(self.reviewer_b, rating="false")
        self.assertEqual(SourceSnapshot.objects.count(), 2)  # one per citer's source
        # reviewer_b has their own source row and snapshot: the changed page.
        own = SourceSnapshot.objects.get(source=verdict.citations.get().source)
        self.assertEqual(own.sha256, hashlib.sha256(b"<p>changed</p>").hexdigest())
        self.cite_revision_keeps_snapshot()

    def cite_revision_keeps_snapshot(self) -> None:
        # A revision citing the same page: its citation's quote is checked, no new fetch.
        before = SourceSnapshot.objects.count()
        with self.captureOnCommitCallbacks(execute=True):
            revised = services.verdict_submit(
                claim=self.claim,
                reviewer=self.reviewer_a,
                rating="false",
                confidence="low",
                citations=[
                    services.CitationInput(
                        stance="refutes", url=self.site.url("/steel"), quote="records began"
                    )
                ],
            )
        services.verdict_evidence(verdict_id=revised.pk)
        self.assertEqual(SourceSnapshot.objects.count(), before)
        check = QuoteCheck.objects.get(citation=revised.citations.get())
        self.assertEqual(check.status, QuoteStatus.VERIFIED)

    def test_a_failed_fetch_is_a_row_with_its_reason(self) -> None:
        cases = [
            ("/missing", None, "http_error", 404),
            ("/image", ("image/png", b"\x89PNG"), "unsupported_type", None),
        ]
        for reviewer, rating, (path, served, outcome, status) in zip(
            (self.reviewer_a, self.reviewer_b), ("true", "false"), cases, strict=True
        ):
            with self.subTest(path=path):
                if served:
                    self.site.serve(path, served[1], **{"Content-Type": served[0]})
                verdict = self.cite(reviewer, path=path, rating=rating)
                snapshot = SourceSnapshot.objects.get(source=verdict.citations.get().source)
                self.assertEqual((snapshot.outcome, snapshot.http_status), (outcome, status))
                self.assertTrue(snapshot.reason)
                self.assertEqual((snapshot.warc, snapshot.sha256), ("", ""))
                self.assertFalse(QuoteCheck.objects.filter(citation__verdict=verdict).exists())

    def test_a_refused_address_is_recorded_not_raised(self) -> None:
        # Cited while the deployment allowed the host; archived after it stopped doing so.
        verdict = self.cite(self.reviewer_a, run=False)
        with self.settings(WORKBENCH_FETCH_ALLOWED_HOSTS=[]):
            services.verdict_evidence(verdict_id=verdict.pk)
        snapshot = SourceSnapshot.objects.get()
        self.assertEqual(snapshot.outcome, "refused_address")
        self.assertIsNone(SourceEvidence.objects.get(source=snapshot.source).baseline)
        self.assertEqual(verdict.citations.get().source_id, snapshot.source_id)

    def archive_with_dns(self, run: Callable[[], object], answers: dict[str, str]) -> list[str]:
        """``run`` (the archiver) with ``answers`` (host -> address) as DNS; returns the
        addresses a connection was attempted to (the loopback guard still refuses any
        other). A name absent from ``answers`` does not resolve."""
        connects: list[str] = []
        guarded_connect = socket.socket.connect

        def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[Any]:
            if host not in answers:
                raise socket.gaierror(f"test: {host!r} does not resolve")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

        def connect(sock: socket.socket, address: Any) -> None:
            connects.append(address[0])
            guarded_connect(sock, address)

        with (
            mock.patch.object(socket, "getaddrinfo", getaddrinfo),
            mock.patch.object(socket.socket, "connect", connect),
        ):
            run()
        return connects

    def test_a_name_resolving_to_an_internal_address_is_refused_when_archived(self) -> None:
        # Input judges a host name by its spelling (no DNS); the archiver resolves it and
        # refuses an internal answer (a name public when cited can be rebound later).
        url = "http://news.example.org/steel"
        with self.captureOnCommitCallbacks(execute=True):
            verdict = judge(
                self.claim,
                self.reviewer_a,
                "true",
                citations=[services.CitationInput(stance="supports", url=url)],
            )
        source_id = verdict.citations.get().source_id
        for address in ("10.0.0.1", "169.254.169.254", "127.0.0.1"):
            with self.subTest(address=address), self.settings(WORKBENCH_FETCH_ALLOWED_HOSTS=[]):
                connects = self.archive_with_dns(
                    lambda: services.snapshot_take(source_id=source_id),
                    {"news.example.org": address},
                )
                snapshot = SourceSnapshot.objects.filter(source_id=source_id).latest("pk")
                self.assertEqual(snapshot.outcome, "refused_address")
                self.assertIn("resolves to an address which is", snapshot.reason)
                self.assertNotIn(address, snapshot.reason)  # internal addresses not echoed
                self.assertEqual(connects, [])

    def test_a_redirect_to_an_internal_address_is_refused_when_archived(self) -> None:
        # The cited pages (on an allowed host) redirect; every hop is checked again.
        cases = {
            "/to-metadata": "http://169.254.169.254/latest/meta-data",
            "/to-loopback-v6": "http://[::1]/admin",
            "/to-name": "http://intranet.example.org/",
        }
        for path, location in cases.items():
            self.site.serve(path, b"", status=302, Location=location)
        citations = [
            services.CitationInput(stance="supports", url=self.site.url(path)) for path in cases
        ]
        verdict = judge(self.claim, self.reviewer_a, "true", citations=citations)
        connects = self.archive_with_dns(
            lambda: services.verdict_evidence(verdict_id=verdict.pk),
            {"intranet.example.org": "10.1.2.3"},
        )
        outcomes = {
            snapshot.requested_url: snapshot.outcome for snapshot in SourceSnapshot.objects.all()
        }
        self.assertEqual(
            outcomes, {self.site.url(path): "refused_address" for path in cases}, outcomes
        )
        self.assertEqual(connects, ["127.0.0.1"] * len(cases))  # the cited pages only

    def test_a_snapshot_on_demand_is_queued_for_the_owner_or_an_editor(self) -> None:
        verdict = self.cite(self.reviewer_a, run=False)
        source = verdict.citations.get().source
        with self.captureOnCommitCallbacks(execute=True):
            services.snapshot_request(source=source, actor=self.editor)
        task = DBTaskResult.objects.get(task_path="annotations.services.evidence.snapshot_task")
        self.assertEqual(task.args_kwargs["args"], [source.pk, self.editor.pk])
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            services.snapshot_request(source=source, actor=self.reviewer_b)


class QuoteTests(EvidenceTestCase):
    def test_a_present_quote_is_verified_with_its_offsets(self) -> None:
        verdict = self.cite(self.reviewer_a)
        check = QuoteCheck.objects.get(citation=verdict.citations.get())
        self.assertEqual(check.status, QuoteStatus.VERIFIED)
        text = check.snapshot.text
        found = text[check.start : check.end]
        # Typographic dash and apostrophe in the page, plain ones in the quote.
        self.assertEqual(
            found,
            "the sharpest rise since records began — a figure disputed by the builders\u2019 union",
        )
        self.assertEqual(text.index("the sharpest"), check.start)

    def test_an_absent_quote_is_not_found(self) -> None:
        verdict = self.cite(self.reviewer_a, quote="steel prices fell by half")
        check = QuoteCheck.objects.get(citation=verdict.citations.get())
        self.assertEqual(
            (check.status, check.start, check.end), (QuoteStatus.NOT_FOUND, None, None)
        )

    def test_without_a_snapshot_there_is_no_check(self) -> None:
        verdict = self.cite(self.reviewer_a, run=False)
        self.assertFalse(QuoteCheck.objects.filter(citation__verdict=verdict).exists())


class WatchTests(EvidenceTestCase):
    def setUp(self) -> None:
        super().setUp()
        webhook_endpoint_create(
            project=self.project,
            actor=self.admin,
            url="http://127.0.0.1:9/hook",
            event_types=["source.changed"],
        )

    def flags(self) -> list[str]:
        return list(
            WebhookDelivery.objects.order_by("id").values_list("payload__data__flag", flat=True)
        )

    def test_a_changed_page_is_flagged_changed_once(self) -> None:
        verdict = self.cite(self.reviewer_a)
        source = verdict.citations.get().source
        call_command("check_sources", project=self.project.slug, stdout=io.StringIO())
        self.assertEqual(SourceEvidence.objects.get(source=source).flag, "ok")
        self.assertEqual(self.flags(), [])
        self.site.serve("/steel", PAGE.replace("40 per cent", "45 per cent"))
        out = io.StringIO()
        call_command("check_sources", project=self.project.slug, stdout=out)
        self.assertIn("changed", out.getvalue())
        call_command("check_sources", stdout=io.StringIO())
        state = SourceEvidence.objects.get(source=source)
        self.assertEqual(state.flag, "changed")
        self.assertEqual(SourceCheck.objects.filter(source=source).count(), 3)
        self.assertEqual(self.flags(), ["changed"])
        delivery = WebhookDelivery.objects.get()
        self.assertEqual(delivery.event_type, "source.changed")
        self.assertEqual(delivery.payload["data"]["source_id"], source.pk)
        self.assertEqual(Event.objects.filter(verb="source.flag").count(), 1)

    def test_archiving_again_keeps_the_baseline_and_the_flag(self) -> None:
        verdict = self.cite(self.reviewer_a)
        citation = verdict.citations.get()
        source = citation.source
        baseline = SourceEvidence.objects.get(source=source).baseline
        # The page loses the quoted passage; the citer archives it again.
        self.site.serve("/steel", PAGE.replace("the sharpest rise", "a rise"))
        again = services.snapshot_take(source_id=source.pk, requested_by=self.reviewer_a)
        self.assertEqual(again.outcome, "ok")
        state = SourceEvidence.objects.get(source=source)
        self.assertEqual((state.baseline, state.latest), (baseline, again))
        self.assertEqual(state.flag, "changed")
        self.assertEqual(self.flags(), ["changed"])
        # The quote stays verified in the copy that was cited.
        check = QuoteCheck.objects.get(citation=citation)
        self.assertEqual((check.status, check.snapshot), (QuoteStatus.VERIFIED, baseline))
        # Archiving it once more changes nothing: still at risk, no second webhook.
        services.snapshot_take(source_id=source.pk, requested_by=self.reviewer_a)
        self.assertEqual(SourceEvidence.objects.get(source=source).flag, "changed")
        self.assertEqual(self.flags(), ["changed"])

    def test_a_404_is_flagged_gone_and_a_redirect_moved(self) -> None:
        verdict = self.cite(self.reviewer_a)
        source = verdict.citations.get().source
        self.site.serve("/steel", "gone", status=404)
        services.sources_check()
        services.sources_check()
        self.assertEqual(SourceEvidence.objects.get(source=source).flag, "gone")
        self.site.serve("/steel", "", status=301, Location="/elsewhere")
        self.site.serve("/elsewhere", PAGE)
        services.sources_check()
        self.assertEqual(SourceEvidence.objects.get(source=source).flag, "moved")
        self.assertEqual(self.flags(), ["gone", "moved"])

    def test_a_timeout_or_5xx_leaves_the_flag(self) -> None:
        verdict = self.cite(self.reviewer_a)
        self.site.serve("/steel", "oops", status=503)
        services.sources_check()
        check = SourceCheck.objects.get()
        self.assertEqual((check.outcome, check.http_status, check.flag), ("http_error", 503, ""))
        self.assertEqual(
            SourceEvidence.objects.get(source=verdict.citations.get().source).flag, "ok"
        )
        self.assertEqual(self.flags(), [])

    def test_the_sweep_queues_due_checks_once(self) -> None:
        import datetime as dt

        from django.utils import timezone

        self.cite(self.reviewer_a)
        later = timezone.now() + dt.timedelta(hours=25)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(services.sources_check_sweep(at=later), 1)
        self.assertEqual(services.sources_check_sweep(at=later), 0)
        self.assertTrue(
            DBTaskResult.objects.filter(
                task_path="annotations.services.evidence.source_check_task"
            ).exists()
        )
        with self.settings(SOURCE_CHECK_INTERVAL_HOURS=0):
            self.assertEqual(services.sources_check_sweep(at=later + dt.timedelta(days=9)), 0)
