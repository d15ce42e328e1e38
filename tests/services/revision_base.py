"""What the revision tests share: ``RevisionTestCase`` (a report whose four claims a
revision leaves unchanged, moves, changes and orphans), the old and new texts, and a CSP
check for the pages. Used by ``tests/services/test_revisions.py``,
``tests/core/test_passages.py``, ``tests/api/test_revisions.py`` and
``tests/ui/test_revisions.py``.
"""

from __future__ import annotations

import re

from django.test import TestCase

from annotations import services
from annotations.models import Claim
from tests.factories import Personas, make_claim, make_document

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)

OLD = (
    "The mayor said crime fell 20% last year, according to the city report.\n"
    "An extra filler line that nobody will claim at all.\n"
    "Unemployment is at a record low of 3.1%, officials claim.\n"
    "Critics say the new bridge cost $2 billion over budget, the auditor found.\n"
    "Others disagree about the tunnel entirely and loudly.\n"
    "The end of the article comes here with a closing line.\n"
)
# One edit per outcome: text inserted between claims A and B (A unchanged, B moved), C's
# quoted figure corrected (changed inside), D's line deleted (orphaned).
NEW = (
    OLD.replace("An extra filler line", "An extra filler line (corrected)")
    .replace("$2 billion", "$3 billion")
    .replace("Others disagree about the tunnel entirely and loudly.\n", "")
)
QUOTES = {
    "a": "crime fell 20% last year",
    "b": "a record low of 3.1%",
    "c": "the new bridge cost $2 billion",
    "d": "Others disagree about the tunnel entirely",
}
CLOSING = "The end of the article"


class RevisionTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.report_doc = make_document(
            project=cls.project, actor=cls.editor, text=OLD, title="Report"
        )
        cls.claims = {
            key: make_claim(document=cls.report_doc, actor=cls.creator, exact=quote)
            for key, quote in QUOTES.items()
        }

    def revise(
        self, text: str = NEW, note: str = "publisher's correction"
    ) -> services.RevisionReport:
        return services.document_revise(
            document=self.report_doc, text=text, actor=self.editor, note=note
        )

    def claim(self, key: str) -> Claim:
        return Claim.objects.get(pk=self.claims[key].pk)

    def assert_csp_clean(self, html: str) -> None:
        self.assertIsNone(INLINE_SCRIPT.search(html), "inline <script> without src")
        self.assertIsNone(STYLE_ATTRIBUTE.search(html), "style= attribute")
