"""Tests for the export layer: annotations/core/export_mapping.py (pure mapping), annotations/selectors/export.py
(what a user may see, in a fixed number of queries) and the native import
(services.document_import_native, ``import_documents --format workbench``).

Conformance is checked, by tests/conformance.py, against third-party material copied byte
for byte into fixtures/conformance/ (see its README.md and MANIFEST.tsv): every MUST
assertion of the W3C Web Annotation test suite, and the ClaimReview JSON Schema with its
rating-scale check.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.http import Http404
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations import selectors, services
from annotations.core import export_mapping, spans
from annotations.models import (
    Assignment,
    Citation,
    Claim,
    ClaimStatus,
    Consensus,
    Document,
    Event,
    Membership,
    Project,
    Rating,
    Source,
    Verdict,
)
from annotations.services import CitationInput
from tests import conformance
from tests.factories import (
    Personas,
    judge,
    make_claim,
    make_document,
    make_members,
    make_project,
    make_user,
    take,
)

HERE = Path(__file__).resolve().parent
CONFORMANCE = conformance.DATA
GOLDEN = HERE.parent / "fixtures" / "golden" / "document_export.json"
BASE = "https://desk.example.org"


W3C_REGISTRY = conformance.definitions_registry()
CLAIMREVIEW_SCHEMA = conformance.load_json(conformance.CLAIMREVIEW_SCHEMA)

TIME_KEYS = frozenset({"created_at", "submitted_at", "decided_at", "exported_at"})


def assert_w3c_musts(annotation: dict[str, Any]) -> None:
    failures, report = conformance.check_annotation(annotation, W3C_REGISTRY)
    assert failures == 0, "\n".join(report)
    assert sum(1 for line in report if line.startswith("  pass")) == 54


def assert_claimreview_valid(node: dict[str, Any]) -> None:
    failures, report = conformance.check_claimreview(node, CLAIMREVIEW_SCHEMA)
    assert failures == 0, "\n".join(report)


def renumbered(payload: dict[str, Any]) -> dict[str, Any]:
    """The export with database ids replaced by 1, 2, … in order of appearance (links
    between records kept), so exports from two databases compare field by field."""
    data = copy.deepcopy(payload)
    ids: dict[str, dict[int, int]] = {"claim": {}, "verdict": {}, "source": {}}

    def new_id(kind: str, old: int) -> int:
        return ids[kind].setdefault(old, len(ids[kind]) + 1)

    for source in data["sources"]:
        source["id"] = new_id("source", source["id"])
    for claim in data["claims"]:
        claim["id"] = new_id("claim", claim["id"])
        for verdict in claim["verdicts"]:
            verdict["id"] = new_id("verdict", verdict["id"])
            for citation in verdict["citations"]:
                citation["source"] = ids["source"][citation["source"]]
        for record in claim["consensus"]:
            record["verdicts"] = [ids["verdict"][v] for v in record["verdicts"]]
    return data


def without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "<time>" if key in TIME_KEYS else without_times(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_times(item) for item in value]
    return value


def comparable(payload: dict[str, Any]) -> dict[str, Any]:
    """Everything but the export time, the project's own name/slug/organization and ids."""
    data = renumbered(payload)
    return {
        "scale": data["project"]["scale"],
        "document": data["document"],
        "claims": data["claims"],
        "sources": data["sources"],
    }


# --- the scenario ----------------------------------------------------------------------------

TEXT = (
    "Crime fell 20% last year, the mayor said. "
    'Critics call the "record low" of 3.1% a myth. '
    "The bridge 🌉 cost $2 billion. "
    "A column called it fiction </script><script>alert(1)</script>. "
    "Spending rose\u2028according to @id officials. "
    "Turnout hit 99%"
)
C0 = "Crime fell 20% last year"  # at the very start: empty prefix
C1 = '"record low" of 3.1%'  # quotes
C2 = "The bridge 🌉 cost $2 billion"  # astral-plane emoji
C3 = "fiction </script><script>alert(1)</script>"  # script breakout attempt
C4 = "Spending rose\u2028according to @id officials"  # U+2028 and "@id"
C5 = "Turnout hit 99%"  # at the very end: empty suffix
SECRET = "SECRET rationale of reviewer_a on the U+2028 claim"


class ExportScenario(Personas, TestCase):
    """A document whose six claims cover every state the export must carry.

    * c0 (text start): a and b agree (unanimous, #1), the editor reopens (#1 superseded),
      a revises (revision 2, still disputed), the editor adjudicates (#2) and publishes.
    * c1: a and b disagree: disputed.  c2: resolved, ordinal rating ``true``.
    * c3: resolved with ``satire``, a project-specific rating without an ordinal value.
    * c4: only reviewer_a has judged it; reviewer_b holds a lease but has not submitted.
    * c5 (text end): in review, untouched.
    """

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        services.project_update(
            project=cls.project,
            actor=cls.admin,
            organization="Example Fact Desk",
            organization_url="https://factdesk.example.org/",
        )
        Rating.objects.create(
            project=cls.project, key="satire", label="Satire", ordinal=None, position=8
        )
        cls.doc = make_document(
            project=cls.project,
            actor=cls.creator,
            text=TEXT,
            title="City hall claims",
            raw_text=TEXT + "\n<footer>junk</footer>",
            source_url="https://news.example.com/city-hall",
            publisher="Daily Example",
            author="Jane Reporter",
            published_date=dt.date(2024, 3, 5),
            language="en",
        )
        cls.claims = [
            make_claim(document=cls.doc, actor=cls.creator, exact=C0, claimant="the mayor"),
            make_claim(document=cls.doc, actor=cls.creator, exact=C1, claimant="Critics"),
            make_claim(
                document=cls.doc,
                actor=cls.creator,
                exact=C2,
                claimant="Daily Example",
                statement="The new bridge cost $2 billion.",
            ),
            make_claim(
                document=cls.doc,
                actor=cls.creator,
                exact=C3,
                statement='He called it "fiction </script>" \u2028 & more',
            ),
            make_claim(document=cls.doc, actor=cls.creator, exact=C4),
            make_claim(document=cls.doc, actor=cls.creator, exact=C5),
        ]
        cls.stats = services.source_get_or_create(
            url="https://stats.example.gov/crime/2024?utm_source=feed",
            actor=cls.reviewer_a,
            title="Crime statistics 2024",
            publisher="Stats Office",
            published_date=dt.date(2024, 2, 1),
            archive_url="https://archive.example.org/web/2024/stats",
        )
        Source.objects.filter(pk=cls.stats.pk).update(accessed_date=dt.date(2024, 3, 6))
        c0, c1, c2, c3, c4, _ = cls.claims
        a, b = cls.reviewer_a, cls.reviewer_b
        judge(
            c0,
            a,
            "false",
            confidence="medium",
            rationale="Police data show a 3% fall.",
            citations=[CitationInput(stance="refutes", source_id=cls.stats.pk, quote="quote 0")],
        )
        judge(c1, a, "half_true", confidence="medium", rationale="Depends on the series.")
        judge(
            c2,
            a,
            "true",
            confidence="medium",
            rationale="Budget papers.",
            citations=[
                CitationInput(stance="supports", url="https://news.example.com/b", quote="quote 0")
            ],
        )
        judge(c3, a, "satire", confidence="medium", rationale="It is a joke column.")
        judge(
            c4,
            a,
            "mostly_true",
            confidence="medium",
            rationale=SECRET,
            citations=[
                CitationInput(stance="context", url="https://secret.example.net/x", quote="quote 0")
            ],
        )
        judge(
            c0,
            b,
            "false",
            confidence="medium",
            rationale='Stats say "3%".',
            # By URL: B may not name by id a source only A's (still blind) verdict cites.
            citations=[
                CitationInput(stance="refutes", url=cls.stats.url, quote="quote 0"),
                CitationInput(
                    stance="context", url="http://Example.ORG/report#p3", quote="quote 1"
                ),
            ],
        )
        judge(c1, b, "misleading", confidence="medium", rationale="Cherry-picked.")
        judge(
            c2,
            b,
            "true",
            confidence="medium",
            rationale="Confirmed.",
            citations=[
                CitationInput(stance="supports", url="https://news.example.com/b", quote="quote 0")
            ],
        )
        judge(c3, b, "satire", confidence="medium", rationale="Satire site.")
        take(c4, b)
        services.claim_reopen(claim=c0, editor=cls.editor, note="New figures came in.")
        services.verdict_submit(
            claim=c0,
            reviewer=a,
            rating="mostly_false",
            confidence="high",
            rationale="Revised: 17% by the new series.",
            citations=[CitationInput(stance="refutes", source_id=cls.stats.pk, quote="17%")],
        )
        services.claim_adjudicate(
            claim=c0, editor=cls.editor, rating="mostly_false", note="Official data show 17%."
        )
        services.claim_publish(claim=c0, editor=cls.editor)

    def native(self, user: Any) -> dict[str, Any]:
        return selectors.document_native(document=Document.objects.get(pk=self.doc.pk), user=user)

    def claim_of(self, payload: dict[str, Any], exact: str) -> dict[str, Any]:
        return next(claim for claim in payload["claims"] if claim["exact"] == exact)


class DocumentNativeTests(ExportScenario):
    def test_it_validates_against_the_schema_for_every_member(self) -> None:
        for user in (self.admin, self.editor, self.creator, self.reviewer_a, self.reviewer_c):
            with self.subTest(user=user.get_username()):
                self.assertEqual(export_mapping.native_errors(self.native(user)), [])

    def test_it_carries_the_document_with_text_and_hash(self) -> None:
        document = self.native(self.editor)["document"]
        self.assertEqual(document["text"], TEXT)
        self.assertEqual(document["text_sha256"], spans.text_sha256(TEXT))
        self.assertEqual(document["length"], len(TEXT))
        self.assertEqual(document["published_date"], "2024-03-05")
        self.assertTrue(document["created_at"].endswith("Z"))

    def test_it_lists_claims_in_text_order_with_selectors(self) -> None:
        claims = self.native(self.editor)["claims"]
        self.assertEqual([c["exact"] for c in claims], [C0, C1, C2, C3, C4, C5])
        for claim in claims:
            with self.subTest(exact=claim["exact"]):
                self.assertEqual(TEXT[claim["start"] : claim["end"]], claim["exact"])
                self.assertTrue(TEXT[: claim["start"]].endswith(claim["prefix"]))
                self.assertTrue(TEXT[claim["end"] :].startswith(claim["suffix"]))
        self.assertEqual(claims[0]["prefix"], "")
        self.assertEqual(claims[-1]["suffix"], "")

    def test_editors_get_every_revision_and_the_whole_consensus_history(self) -> None:
        c0 = self.claim_of(self.native(self.editor), C0)
        self.assertEqual(
            [(v["reviewer"], v["revision"], v["is_current"]) for v in c0["verdicts"]],
            [("reviewer_a", 1, False), ("reviewer_b", 1, True), ("reviewer_a", 2, True)],
        )
        self.assertEqual(
            [(r["sequence"], r["method"], r["rating"], r["is_current"]) for r in c0["consensus"]],
            [(1, "unanimous", "false", False), (2, "adjudicated", "mostly_false", True)],
        )
        first, second = c0["consensus"]
        ids = {(v["reviewer"], v["revision"]): v["id"] for v in c0["verdicts"]}
        self.assertEqual(first["verdicts"], [ids["reviewer_a", 1], ids["reviewer_b", 1]])
        self.assertEqual(
            sorted(second["verdicts"]), sorted([ids["reviewer_a", 2], ids["reviewer_b", 1]])
        )
        self.assertEqual(second["decided_by"], "editor")
        self.assertIsNone(first["decided_by"])
        self.assertEqual(second["note"], "Official data show 17%.")
        self.assertEqual(c0["status"], ClaimStatus.PUBLISHED)

    def test_sources_are_those_cited_with_every_field(self) -> None:
        payload = self.native(self.editor)
        cited = {
            citation["source"]
            for claim in payload["claims"]
            for verdict in claim["verdicts"]
            for citation in verdict["citations"]
        }
        self.assertEqual({source["id"] for source in payload["sources"]}, cited)
        stats = next(s for s in payload["sources"] if s["id"] == self.stats.pk)
        self.assertEqual(
            stats,
            {
                "id": self.stats.pk,
                "url": "https://stats.example.gov/crime/2024?utm_source=feed",
                "normalized_url": self.stats.normalized_url,
                "title": "Crime statistics 2024",
                "publisher": "Stats Office",
                "published_date": "2024-02-01",
                "archive_url": "https://archive.example.org/web/2024/stats",
                "accessed_date": "2024-03-06",
            },
        )

    def test_it_refuses_an_outsider(self) -> None:
        with self.assertRaises(Http404):
            self.native(self.outsider)


class BlindReviewExportTests(ExportScenario):
    def test_a_reviewer_sees_no_verdict_on_a_claim_they_have_not_judged(self) -> None:
        payload = self.native(self.reviewer_b)  # holds a lease on c4, has not submitted
        c4 = self.claim_of(payload, C4)
        self.assertEqual(c4["verdicts"], [])
        self.assertEqual(c4["consensus"], [])
        dumped = json.dumps(payload, ensure_ascii=False)
        self.assertNotIn(SECRET, dumped)
        self.assertNotIn("secret.example.net", dumped)

    def test_a_reviewer_who_judged_sees_current_verdicts_but_no_history(self) -> None:
        c0 = self.claim_of(self.native(self.reviewer_b), C0)
        self.assertEqual(
            [(v["reviewer"], v["revision"]) for v in c0["verdicts"]],
            [("reviewer_b", 1), ("reviewer_a", 2)],
        )
        visible = {v["id"] for v in c0["verdicts"]}
        for record in c0["consensus"]:
            with self.subTest(sequence=record["sequence"]):
                self.assertLessEqual(set(record["verdicts"]), visible)
        # #1 was based on reviewer_a's first revision, which is not in this export.
        self.assertEqual(len(c0["consensus"][0]["verdicts"]), 1)

    def test_a_reviewer_who_never_submitted_sees_no_verdict_at_all(self) -> None:
        payload = self.native(self.reviewer_c)
        for claim in payload["claims"]:
            with self.subTest(exact=claim["exact"]):
                self.assertEqual(claim["verdicts"], [])
                for record in claim["consensus"]:
                    self.assertEqual(record["verdicts"], [])
        self.assertEqual(payload["sources"], [])
        dumped = json.dumps(payload, ensure_ascii=False)
        for rationale in (SECRET, "Cherry-picked.", "Police data show a 3% fall."):
            self.assertNotIn(rationale, dumped)

    def test_project_rows_obey_blind_review_too(self) -> None:
        rows = list(selectors.project_rows(project=self.project, user=self.reviewer_b))
        c4 = next(row for row in rows if row["exact"] == C4)
        self.assertEqual(c4["verdicts"], [])
        self.assertEqual(c4["sources"], [])
        self.assertNotIn(SECRET, json.dumps(rows, ensure_ascii=False))


class ClaimReviewExportTests(ExportScenario):
    def nodes(self) -> list[dict[str, Any]]:
        document = Document.objects.get(pk=self.doc.pk)
        return selectors.document_claimreview(
            document=document, user=self.editor, request_base=BASE
        )

    def test_each_node_validates_against_the_claimreview_schema(self) -> None:
        nodes = self.nodes()
        self.assertEqual(len(nodes), 3)
        for node in nodes:
            with self.subTest(url=node["url"]):
                assert_claimreview_valid(node)

    def test_it_includes_only_resolved_and_published_claims_with_consensus(self) -> None:
        urls = [node["url"] for node in self.nodes()]
        c0, c1, c2, c3, c4, c5 = self.claims
        self.assertEqual(urls, [f"{BASE}{c.get_absolute_url()}" for c in (c0, c2, c3)])
        for excluded in (c1, c4, c5):
            self.assertNotIn(f"{BASE}{excluded.get_absolute_url()}", urls)

    def test_ordinal_ratings_carry_the_scale_and_others_only_their_label(self) -> None:
        c0, c2, c3 = self.nodes()
        self.assertEqual(
            c0["reviewRating"],
            {
                "@type": "Rating",
                "alternateName": "Mostly false",
                "name": "Mostly false",
                "ratingValue": 2,
                "bestRating": 5,
                "worstRating": 1,
            },
        )
        self.assertEqual(c2["reviewRating"]["ratingValue"], 5)
        self.assertEqual(
            c3["reviewRating"], {"@type": "Rating", "alternateName": "Satire", "name": "Satire"}
        )

    def test_it_names_the_desk_as_author_and_the_claimant_as_claim_author(self) -> None:
        c0, c2, c3 = self.nodes()
        self.assertEqual(
            c0["author"],
            {
                "@type": "Organization",
                "name": "Example Fact Desk",
                "url": "https://factdesk.example.org/",
            },
        )
        self.assertEqual(c0["claimReviewed"], C0)
        self.assertEqual(c0["itemReviewed"]["author"], {"@type": "Person", "name": "the mayor"})
        self.assertEqual(
            c0["itemReviewed"]["appearance"],
            {
                "@type": "CreativeWork",
                "url": "https://news.example.com/city-hall",
                "headline": "City hall claims",
                "datePublished": "2024-03-05",
            },
        )
        self.assertNotIn("firstAppearance", c0["itemReviewed"])
        # The publisher of the document is the claimant: an organization, first appearance.
        self.assertEqual(c2["itemReviewed"]["author"]["@type"], "Organization")
        self.assertEqual(c2["itemReviewed"]["firstAppearance"], c2["itemReviewed"]["appearance"])
        self.assertNotIn("author", c3["itemReviewed"])
        decided = Consensus.objects.get(claim=self.claims[0], is_current=True).decided_at
        self.assertEqual(c0["datePublished"], decided.astimezone(dt.UTC).date().isoformat())


class WebAnnotationExportTests(ExportScenario):
    def annotations(self) -> list[dict[str, Any]]:
        document = Document.objects.get(pk=self.doc.pk)
        return selectors.document_web_annotations(
            document=document, user=self.editor, request_base=BASE + "/"
        )

    def test_every_annotation_passes_every_w3c_must_assertion(self) -> None:
        annotations = self.annotations()
        self.assertEqual(len(annotations), 6)
        for annotation in annotations:
            with self.subTest(id=annotation["id"]):
                assert_w3c_musts(annotation)

    def test_selectors_quote_the_text_at_the_edges_and_in_odd_strings(self) -> None:
        annotations = self.annotations()
        for annotation, exact in zip(annotations, (C0, C1, C2, C3, C4, C5), strict=True):
            quote, position = annotation["target"]["selector"]
            with self.subTest(exact=exact):
                self.assertEqual(quote["type"], "TextQuoteSelector")
                self.assertEqual(position["type"], "TextPositionSelector")
                self.assertEqual(quote["exact"], exact)
                self.assertEqual(TEXT[position["start"] : position["end"]], exact)
        self.assertEqual(annotations[0]["target"]["selector"][0]["prefix"], "")
        self.assertEqual(annotations[-1]["target"]["selector"][0]["suffix"], "")
        self.assertEqual(annotations[0]["target"]["source"], f"{BASE}{self.doc.get_absolute_url()}")

    def test_motivation_and_bodies_follow_the_consensus(self) -> None:
        by_exact = {a["target"]["selector"][0]["exact"]: a for a in self.annotations()}
        published = by_exact[C0]
        self.assertEqual(published["motivation"], "assessing")
        self.assertEqual(
            [(b["purpose"], b["value"]) for b in published["body"]],
            [("describing", C0), ("assessing", "Mostly false")],
        )
        self.assertIn("modified", published)
        self.assertEqual(published["creator"], {"type": "Person", "nickname": "creator"})
        for exact in (C1, C4, C5):
            with self.subTest(exact=exact):
                self.assertEqual(by_exact[exact]["motivation"], "highlighting")
                self.assertEqual([b["purpose"] for b in by_exact[exact]["body"]], ["describing"])
                self.assertNotIn("modified", by_exact[exact])

    def test_safe_json_of_the_annotations_cannot_break_out_of_a_script(self) -> None:
        annotations = self.annotations()
        text = export_mapping.json_dumps_safe(annotations)
        self.assertNotIn("</script>", text)
        self.assertNotIn("<", text)
        self.assertNotIn("\u2028", text)
        self.assertIn("🌉", text)
        self.assertEqual(json.loads(text), annotations)


# --- round trip ------------------------------------------------------------------------------


class RoundTripTests(ExportScenario):
    def test_an_export_imported_into_a_fresh_project_exports_the_same(self) -> None:
        original = self.native(self.editor)
        importer = make_user("importer")
        target = make_project(creator=importer, name="Other newsroom")
        document = services.document_import_native(project=target, payload=original, actor=importer)
        again = selectors.document_native(document=document, user=importer)
        self.assertEqual(export_mapping.native_errors(again), [])
        self.assertEqual(comparable(again), comparable(original))
        # The project-specific rating came along with its label and position.
        satire = Rating.objects.get(project=target, key="satire")
        self.assertEqual((satire.label, satire.ordinal, satire.position), ("Satire", None, 8))
        # Existing users and sources were reused, not duplicated.
        self.assertEqual(get_user_model().objects.filter(username="reviewer_a").count(), 1)
        self.assertEqual(Source.objects.filter(normalized_url=self.stats.normalized_url).count(), 1)
        event = Event.objects.get(verb="document.import")
        self.assertEqual(event.object_id, document.pk)
        self.assertEqual(event.after["claims"], 6)
        self.assertEqual(event.after["ratings_created"], ["satire"])
        self.assertEqual(event.after["users_created"], [])

    def test_it_compares_field_by_field(self) -> None:
        """Spell the lossless promise out per field, so a dropped field names itself."""
        original = renumbered(self.native(self.editor))
        importer = make_user("importer")
        target = make_project(creator=importer, name="Other newsroom")
        document = services.document_import_native(
            project=target, payload=self.native(self.editor), actor=importer
        )
        again = renumbered(selectors.document_native(document=document, user=importer))
        fields = {
            "document": [
                "title", "text", "text_sha256", "length", "raw_text", "source_url", "publisher",
                "author", "published_date", "language", "created_at",
            ],
            "claim": [
                "id", "start", "end", "exact", "prefix", "suffix", "statement", "claimant",
                "status", "version", "created_by", "created_at",
            ],
            "verdict": [
                "id", "reviewer", "rating", "confidence", "rationale", "revision", "is_current",
                "submitted_at", "citations",
            ],
            "consensus": [
                "sequence", "rating", "method", "agreement", "decided_by", "decided_at", "note",
                "is_current", "verdicts",
            ],
            "source": [
                "id", "url", "normalized_url", "title", "publisher", "published_date",
                "archive_url", "accessed_date",
            ],
        }  # fmt: skip
        for name in fields["document"]:
            with self.subTest(document=name):
                self.assertEqual(again["document"][name], original["document"][name])
        self.assertEqual(len(again["claims"]), len(original["claims"]))
        for old, new in zip(original["claims"], again["claims"], strict=True):
            for name in fields["claim"]:
                with self.subTest(claim=old["exact"], field=name):
                    self.assertEqual(new[name], old[name])
            self.assertEqual(len(new["verdicts"]), len(old["verdicts"]))
            for old_v, new_v in zip(old["verdicts"], new["verdicts"], strict=True):
                for name in fields["verdict"]:
                    with self.subTest(claim=old["exact"], verdict=old_v["id"], field=name):
                        self.assertEqual(new_v[name], old_v[name])
            self.assertEqual(len(new["consensus"]), len(old["consensus"]))
            for old_r, new_r in zip(old["consensus"], new["consensus"], strict=True):
                for name in fields["consensus"]:
                    with self.subTest(claim=old["exact"], sequence=old_r["sequence"], field=name):
                        self.assertEqual(new_r[name], old_r[name])
        for old_s, new_s in zip(original["sources"], again["sources"], strict=True):
            for name in fields["source"]:
                with self.subTest(source=old_s["url"], field=name):
                    self.assertEqual(new_s[name], old_s[name])

    def test_an_export_imported_into_an_empty_database_gives_the_same_data(self) -> None:
        original = json.loads(json.dumps(self.native(self.editor)))  # as read from a file
        for model in (
            Event, Consensus, Citation, Verdict, Assignment, Claim, Document, Source, Rating,
            Membership, Project,
        ):  # fmt: skip
            model.objects.all().delete()
        get_user_model().objects.all().delete()
        self.assertFalse(get_user_model().objects.exists())

        importer = make_user("importer")
        target = make_project(creator=importer, name="Restored desk")
        document = services.document_import_native(project=target, payload=original, actor=importer)
        again = selectors.document_native(document=document, user=importer)
        self.assertEqual(comparable(again), comparable(original))

        created = ["admin", "creator", "editor", "reviewer_a", "reviewer_b"]
        users = get_user_model().objects.filter(username__in=created)
        self.assertEqual(sorted(u.username for u in users), created[1:])  # admin did nothing
        for user in users:
            with self.subTest(username=user.username):
                self.assertFalse(user.is_active)
                self.assertFalse(user.has_usable_password())
                self.assertFalse(Membership.objects.filter(user=user).exists())
        self.assertEqual(
            Event.objects.get(verb="document.import").after["users_created"], created[1:]
        )
        self.assertEqual(Source.objects.count(), len(original["sources"]))


class NativeImportValidationTests(ExportScenario):
    def setUp(self) -> None:
        self.payload = self.native(self.editor)
        self.importer = make_user("importer")
        self.target = make_project(creator=self.importer, name="Target desk")

    def assert_rejected(self, payload: dict[str, Any], path: str) -> ValidationError:
        counts = (Document.objects.count(), Claim.objects.count(), Verdict.objects.count())
        with self.assertRaises(ValidationError) as caught:
            services.document_import_native(
                project=self.target, payload=payload, actor=self.importer
            )
        self.assertIn(path, caught.exception.message_dict, caught.exception.message_dict)
        self.assertEqual(
            (Document.objects.count(), Claim.objects.count(), Verdict.objects.count()), counts
        )
        return caught.exception

    def test_it_reports_schema_errors_with_their_path(self) -> None:
        cases = [
            ("/claims/0/start", lambda p: p["claims"][0].update(start=-1)),
            ("/claims/1", lambda p: p["claims"][1].update(bogus=True)),
            ("/schema", lambda p: p.update(schema="workbench-export/2")),
            (
                "/claims/0/verdicts/0/confidence",
                lambda p: p["claims"][0]["verdicts"][0].update(confidence="sure"),
            ),
            ("/sources/0/url", lambda p: p["sources"][0].update(url="javascript:alert(1)")),
        ]
        for path, change in cases:
            with self.subTest(path=path):
                payload = copy.deepcopy(self.payload)
                change(payload)
                self.assert_rejected(payload, path)

    def test_it_reports_records_that_do_not_fit_together(self) -> None:
        cases = [
            ("/claims/2/exact", lambda p: p["claims"][2].update(exact="not in the text")),
            ("/claims/2/prefix", lambda p: p["claims"][2].update(prefix="nope")),
            ("/claims/5/end", lambda p: p["claims"][5].update(end=len(TEXT) + 1)),
            ("/document/text_sha256", lambda p: p["document"].update(text_sha256="0" * 64)),
            ("/claims/0/verdicts/0/rating", lambda p: p["claims"][0]["verdicts"][0].update(rating="nope")),
            ("/claims/0/verdicts/0/citations/0/source", lambda p: p["claims"][0]["verdicts"][0]["citations"][0].update(source=999_999)),
            ("/claims/0/consensus/0/verdicts/0", lambda p: p["claims"][0]["consensus"][0]["verdicts"].__setitem__(0, 999_999)),
            ("/claims/0/created_at", lambda p: p["claims"][0].update(created_at="2024-02-30T10:00:00Z")),
        ]  # fmt: skip
        for path, change in cases:
            with self.subTest(path=path):
                payload = copy.deepcopy(self.payload)
                change(payload)
                self.assert_rejected(payload, path)

    def test_it_refuses_a_document_the_project_already_has(self) -> None:
        services.document_import_native(
            project=self.target, payload=self.payload, actor=self.importer
        )
        error = self.assert_rejected(self.payload, "text")
        self.assertEqual(error.error_dict["text"][0].code, "duplicate")

    def test_the_import_command_recognises_a_workbench_file(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "export.json"
            path.write_text(json.dumps(self.payload), encoding="utf-8")
            for extra in ([], ["--format", "workbench"]):
                out = io.StringIO()
                call_command(
                    "import_documents",
                    str(path),
                    "--project",
                    self.target.slug,
                    "--no-progress",
                    *extra,
                    stdout=out,
                    stderr=io.StringIO(),
                )
                expected = (
                    "Imported 1, skipped 0" if not extra else "Imported 0, skipped 1 duplicate"
                )
                with self.subTest(extra=extra):
                    self.assertIn(expected, out.getvalue())
        imported = Document.objects.get(project=self.target)
        self.assertEqual(imported.claims.count(), 6)

    def test_the_import_command_reports_a_broken_export(self) -> None:
        payload = copy.deepcopy(self.payload)
        payload["claims"][0]["exact"] = "wrong"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "broken.json"
            path.write_text(json.dumps(payload), encoding="utf-8")
            out = io.StringIO()
            call_command(
                "import_documents", str(path), "--project", self.target.slug, "--no-progress",
                stdout=out, stderr=io.StringIO(),
            )  # fmt: skip
        self.assertIn("failed 1", out.getvalue())
        self.assertIn("/claims/0/exact", out.getvalue())
        self.assertFalse(Document.objects.filter(project=self.target).exists())


# --- golden file -----------------------------------------------------------------------------


class GoldenExportTests(TestCase):
    """A small deterministic export against fixtures/golden/document_export.json.

    Ids are renumbered and timestamps replaced; regenerate with WB_UPDATE_GOLDEN=1 after
    an intended change of the format, and review the diff.
    """

    @classmethod
    def setUpTestData(cls) -> None:
        cls.admin = make_user("golden_admin")
        cls.project = make_project(
            creator=cls.admin,
            name="Golden desk",
            organization="Golden Desk",
            organization_url="https://golden.example.org/",
        )
        cls.creator, cls.ann, cls.bob = make_members(cls.project, "gina", "ann", "bob")
        cls.document = make_document(
            project=cls.project,
            actor=cls.creator,
            title="Budget speech",
            text="The deficit halved in 2023. Taxes did not rise.",
            source_url="https://example.org/speech",
            publisher="Example Times",
            published_date=dt.date(2024, 1, 15),
            language="en",
        )
        first = make_claim(
            document=cls.document,
            actor=cls.creator,
            exact="The deficit halved in 2023",
            claimant="Finance minister",
        )
        make_claim(document=cls.document, actor=cls.creator, exact="Taxes did not rise")
        for reviewer, rating in ((cls.ann, "mostly_true"), (cls.bob, "mostly_true")):
            judge(
                first,
                reviewer,
                rating,
                rationale=f"{reviewer.get_username()}: fell by 45%.",
                citations=[
                    CitationInput(
                        stance="supports", url="https://stats.example.org/deficit", quote="45%"
                    )
                ],
            )

    def test_it_matches_the_golden_file(self) -> None:
        payload = selectors.document_native(
            document=self.document, user=self.admin, now=dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
        )
        self.assertEqual(payload["exported_at"], "2024-06-01T00:00:00.000000Z")
        self.assertEqual(export_mapping.native_errors(payload), [])
        actual = without_times(renumbered(payload))
        if os.environ.get("WB_UPDATE_GOLDEN"):
            GOLDEN.parent.mkdir(parents=True, exist_ok=True)
            GOLDEN.write_text(
                json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
        self.assertEqual(actual, expected)


# --- query counts and the streamed project export ---------------------------------------------


class QueryCountTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=1)
        cls.small = make_document(
            project=cls.project, actor=cls.creator, text="Only one claim here.", title="1"
        )
        cls.large = make_document(
            project=cls.project,
            actor=cls.creator,
            title="30",
            text=" ".join(f"Sentence {i} makes claim {i}." for i in range(30)),
        )
        claims = [make_claim(document=cls.small, actor=cls.creator, exact="one claim")]
        claims += [
            make_claim(document=cls.large, actor=cls.creator, exact=f"Sentence {i} makes")
            for i in range(30)
        ]
        for index, claim in enumerate(claims):
            judge(
                claim,
                cls.reviewer_a,
                "true",
                confidence="low",
                citations=[
                    CitationInput(stance="supports", url=f"https://example.org/s/{index % 4}")
                ],
            )

    def count(self, document: Document, user: Any) -> int:
        fresh = Document.objects.get(pk=document.pk)
        with CaptureQueriesContext(connection) as context:
            payload = selectors.document_native(document=fresh, user=user)
        judged = user.get_username() != "reviewer_b"
        self.assertEqual(bool(payload["claims"][0]["verdicts"]), judged)
        return len(context.captured_queries)

    def test_document_native_needs_the_same_queries_for_1_and_30_claims(self) -> None:
        for user in (self.editor, self.reviewer_a, self.reviewer_b):
            with self.subTest(user=user.get_username()):
                small = self.count(self.small, user)
                self.assertLessEqual(small, 10)
                fresh = Document.objects.get(pk=self.large.pk)
                with self.assertNumQueries(small):
                    payload = selectors.document_native(document=fresh, user=user)
                self.assertEqual(len(payload["claims"]), 30)


class ProjectRowsTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=1)
        cls.doc = make_document(
            project=cls.project,
            actor=cls.creator,
            title="Twenty",
            text=" ".join(f"Claim number {i:02d} is here." for i in range(20)),
        )
        cls.claims = [
            make_claim(document=cls.doc, actor=cls.creator, exact=f"Claim number {i:02d}")
            for i in reversed(range(20))  # ids in the opposite order of the text
        ]
        for _ in range(5):
            lease = services.lease_next(reviewer=cls.reviewer_a, project=cls.project)
            assert lease is not None
            services.verdict_submit(
                claim=lease.claim,
                reviewer=cls.reviewer_a,
                rating="false",
                confidence="high",
                citations=[CitationInput(stance="refutes", url="https://example.org/r")],
            )

    def test_it_streams_every_claim_in_id_order_in_chunks(self) -> None:
        rows = list(selectors.project_rows(project=self.project, user=self.editor, chunk_size=7))
        self.assertEqual(len(rows), 20)
        ids = [row["id"] for row in rows]
        self.assertEqual(ids, sorted(claim.pk for claim in self.claims))
        self.assertEqual(rows, list(selectors.project_rows(project=self.project, user=self.editor)))

    def test_each_row_validates_and_carries_the_current_consensus(self) -> None:
        rows = list(selectors.project_rows(project=self.project, user=self.editor, chunk_size=7))
        for row in rows:
            with self.subTest(id=row["id"]):
                self.assertEqual(export_mapping.native_errors(row, definition="projectRow"), [])
                self.assertEqual(row["document"], {"id": self.doc.pk, "title": "Twenty"})
                self.assertEqual(self.doc.text[row["start"] : row["end"]], row["exact"])
        decided = [row for row in rows if row["consensus"] is not None]
        self.assertEqual(len(decided), 5)
        self.assertTrue(all(row["consensus"]["rating"] == "false" for row in decided))
        self.assertTrue(all(row["sources"][0]["url"] == "https://example.org/r" for row in decided))

    def test_each_chunk_costs_the_same_queries(self) -> None:
        def queries(chunk_size: int) -> int:
            with CaptureQueriesContext(connection) as context:
                rows = list(
                    selectors.project_rows(
                        project=self.project, user=self.editor, chunk_size=chunk_size
                    )
                )
            self.assertEqual(len(rows), 20)
            return len(context.captured_queries)

        # The membership check, then at most five queries per chunk (claims, verdicts,
        # citations, consensus, consensus links), however many claims a chunk holds;
        # a full last chunk costs one more query to find nothing after it.
        self.assertLessEqual(queries(20), 1 + 5 + 1)
        self.assertLessEqual(queries(7), 1 + 3 * 5)

    def test_it_refuses_an_outsider_before_streaming(self) -> None:
        with self.assertRaises(Http404):
            selectors.project_rows(project=self.project, user=self.outsider)


# --- the pure mapping --------------------------------------------------------------------------


def desk_project_block() -> dict[str, Any]:
    """The ``project`` block of a native export for a project "desk" with the default
    scale and a two-review unanimous policy."""
    return {
        "name": "Desk",
        "slug": "desk",
        "organization": "",
        "organization_url": "",
        "scale": [
            {"key": key, "label": label, "ordinal": ordinal, "position": position}
            for position, (key, label, ordinal) in enumerate(services.DEFAULT_SCALE)
        ],
        "policy": {
            "required_reviews": 2,
            "consensus_rule": "unanimous",
            "majority_threshold": 0.5,
            "lease_minutes": 30,
        },
    }


def native_fixture(
    text: str, selectors: list[spans.Selector], *, statements: list[str] | None = None
) -> dict[str, Any]:
    """A minimal native export (no database) with one claim per selector."""
    claims = [
        {
            "id": index + 1,
            "start": selector.start,
            "end": selector.end,
            "exact": selector.exact,
            "prefix": selector.prefix,
            "suffix": selector.suffix,
            "statement": (statements or [])[index] if statements else selector.exact,
            "claimant": "",
            "status": "in_review",
            "version": 1,
            "created_by": "gina",
            "created_at": "2024-05-01T12:00:00.000000Z",
            "verdicts": [],
            "consensus": [],
        }
        for index, selector in enumerate(selectors)
    ]
    return {
        "schema": export_mapping.NATIVE_SCHEMA,
        "exported_at": "2024-05-02T00:00:00.000000Z",
        "project": desk_project_block(),
        "document": {
            "title": "t",
            "text": text,
            "text_sha256": spans.text_sha256(text),
            "length": len(text),
            "raw_text": text,
            "source_url": "",
            "publisher": "",
            "author": "",
            "published_date": None,
            "language": "",
            "created_at": "2024-05-01T11:00:00.000000Z",
        },
        "claims": claims,
        "sources": [],
    }


def _annotations(native: dict[str, Any]) -> list[dict[str, Any]]:
    return export_mapping.to_web_annotations(
        native,
        document_iri="https://example.org/documents/1/",
        annotation_iri=lambda claim_id: f"https://example.org/claims/{claim_id}/",
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_web_annotation_selectors_always_quote_the_text(data: st.DataObject) -> None:
    # Any text a document can hold: no lone surrogates and no NUL (no database stores
    # them, so export_mapping.native_errors refuses them).
    alphabet = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
    text = data.draw(st.text(alphabet=alphabet, min_size=1, max_size=120))
    selectors = []
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(text) - 1))
        end = data.draw(st.integers(start + 1, len(text)))
        selectors.append(spans.make_selector(text, start, end))
    native = native_fixture(text, selectors)
    assert export_mapping.native_errors(native) == []
    annotations = _annotations(native)
    assert len(annotations) == len(selectors)
    for annotation in annotations:
        quote, position = annotation["target"]["selector"]
        start, end = position["start"], position["end"]
        assert quote["exact"] == text[start:end]
        assert text[:start].endswith(quote["prefix"])
        assert text[end:].startswith(quote["suffix"])
        assert json.loads(export_mapping.json_dumps_safe(annotation)) == annotation


def test_a_claim_spanning_the_whole_text_passes_the_w3c_musts() -> None:
    text = '"</script>@id\u2028😀"'
    native = native_fixture(
        text, [spans.make_selector(text, 0, len(text))], statements=['"</script>@id\u2028😀"']
    )
    (annotation,) = _annotations(native)
    quote = annotation["target"]["selector"][0]
    assert (quote["prefix"], quote["exact"], quote["suffix"]) == ("", text, "")
    assert_w3c_musts(annotation)


def test_claimreview_skips_claims_without_a_current_consensus() -> None:
    text = "A claim. Another claim."
    native = native_fixture(
        text, [spans.make_selector(text, 0, 7), spans.make_selector(text, 9, 22)]
    )
    decided = {
        "sequence": 1,
        "rating": "false",
        "method": "unanimous",
        "agreement": 1.0,
        "decided_by": None,
        "decided_at": "2024-05-03T23:30:00.000000-02:00",
        "note": "",
        "is_current": True,
        "verdicts": [],
    }
    native["claims"][0].update(status="resolved", consensus=[decided])
    native["claims"][1].update(status="resolved", consensus=[{**decided, "is_current": False}])
    nodes = export_mapping.to_claimreview(
        native, organization={"name": "Desk"}, claim_url=lambda i: f"https://example.org/c/{i}"
    )
    assert [node["url"] for node in nodes] == ["https://example.org/c/1"]
    assert nodes[0]["datePublished"] == "2024-05-04"  # the UTC date
    assert nodes[0]["reviewRating"]["ratingValue"] == 1
    assert "appearance" not in nodes[0]["itemReviewed"]  # the document has no URL
    assert_claimreview_valid(nodes[0])


def test_claimreview_needs_an_organization_name_or_web_url() -> None:
    native = native_fixture("x", [])
    for organization in ({}, {"name": " "}, {"url": "ftp://example.org/"}):
        try:
            export_mapping.to_claimreview(native, organization=organization, claim_url=str)
        except ValueError:
            continue
        raise AssertionError(f"accepted {organization!r}")


def test_claimreview_numbers_need_two_distinct_ordinals() -> None:
    assert export_mapping.scale_bounds([{"ordinal": 3}, {"ordinal": None}]) is None
    assert export_mapping.scale_bounds([{"ordinal": 3}, {"ordinal": 1}, {"ordinal": 2}]) == (1, 3)


SAFE_CASES: list[Any] = [
    "</script><script>alert(1)</script>",
    "<!-- x --> & &amp;",
    "line\u2028separator\u2029paragraph",
    {"@id": "</SCRIPT>", "quote": '"', "emoji": "🌉😀"},
    ["a", 1, 2.5, None, True, {"nested": ["</script>"]}],
]


def test_json_dumps_safe_round_trips_and_never_closes_a_script() -> None:
    for value in SAFE_CASES:
        text = export_mapping.json_dumps_safe(value)
        assert json.loads(text) == value
        for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
            assert forbidden not in text
        assert "</script>" not in text.lower()


def test_json_dumps_safe_keeps_emoji_readable_and_refuses_nan() -> None:
    assert export_mapping.json_dumps_safe({"e": "🌉"}) == '{"e": "🌉"}'
    try:
        export_mapping.json_dumps_safe(float("nan"))
    except ValueError:
        return
    raise AssertionError("NaN was serialized")


def test_the_conformance_files_are_unmodified_copies() -> None:
    """Every file listed in fixtures/conformance/MANIFEST.tsv still has its upstream git blob
    hash, so the checks above run against the third-party rules, not an edited copy."""
    import csv
    import hashlib

    with (CONFORMANCE / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) > 150
    for row in rows:
        content = (CONFORMANCE / row["local_path"]).read_bytes()
        blob = hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False)
        assert blob.hexdigest() == row["git_blob_sha1"], row["local_path"]
