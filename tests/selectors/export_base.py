"""What the export tests share: ``ExportScenario`` (a document whose six claims cover
every state the export must carry), the conformance checks (W3C Web Annotation MUSTs,
the ClaimReview schema) and ``renumbered`` (database ids replaced by 1, 2, …, so exports
from two databases compare). Used by ``tests/selectors/test_export.py``,
``tests/services/test_native_import.py`` and ``tests/core/test_export_mapping.py``.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.test import TestCase

from annotations import selectors, services
from annotations.models import Document, Rating, Source
from annotations.services import CitationInput
from tests import conformance
from tests.factories import Personas, judge, make_claim, make_document, take

W3C_REGISTRY = conformance.definitions_registry()
CLAIMREVIEW_SCHEMA = conformance.load_json(conformance.CLAIMREVIEW_SCHEMA)


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
            project=cls.project,
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
        services.claim_publish(
            claim=c0, editor=cls.editor, summary="Checked against the official figures."
        )

    def native(self, user: Any) -> dict[str, Any]:
        return selectors.document_native(document=Document.objects.get(pk=self.doc.pk), user=user)

    def claim_of(self, payload: dict[str, Any], exact: str) -> dict[str, Any]:
        return next(claim for claim in payload["claims"] if claim["exact"] == exact)
