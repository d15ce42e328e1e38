"""Offset integrity across store, export and re-import (B.6 #25).

Random texts with astral characters, combining marks, CRLF and lone CR, NFD sequences
and zero-width joiners are stored (canonicalized), claims are anchored at random spans,
the document is exported as W3C Web Annotations and natively, and the native export is
re-imported into another project: every TextPositionSelector still selects its
TextQuoteSelector's ``exact`` in the stored text, and every re-imported claim has the same
offsets and the same quote. The browser's UTF-16 offsets convert to code points and back
without drift.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from annotations import selectors, services
from annotations.core import spans
from annotations.models import Claim
from tests.factories import make_project, make_user

PIECES = st.sampled_from(
    ["a", "Z", " ", "\r\n", "\r", "\n", "😀", "👩\u200d💻", "e\u0301", "\u0065\u0308", "ﬁ",
     "\u00e9", "\U0001d538", "\u200b", "\u2028", "ß", "İ", "\t", "\u0301", "日本"]
)  # fmt: skip
TEXTS = st.lists(PIECES, min_size=3, max_size=120).map("".join)


class OffsetRoundTripTests(HypothesisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = make_user("offsets")

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(raw=TEXTS, data=st.data())
    def test_spans_survive_store_export_and_reimport(self, raw: str, data: st.DataObject) -> None:
        if not raw.strip():
            return
        project = make_project(creator=self.user, name="Offsets", slug="offsets")
        document = services.document_create(
            project=project,
            data=services.DocumentInput(title="T", text=raw),
            actor=self.user,
        )
        text = document.text
        self.assertEqual(text, spans.canonicalize(raw))
        count = data.draw(st.integers(min_value=1, max_value=4))
        for index in range(count):
            start = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
            end = data.draw(st.integers(min_value=start + 1, max_value=len(text)))
            # A span may be drawn twice: another statement makes it another claim (not a 409).
            services.claim_create(
                document=document, start=start, end=end, actor=self.user, statement=f"s{index}"
            )
        stored = list(Claim.objects.filter(document=document).values_list("start", "end", "exact"))
        for start, end, exact in stored:
            self.assertEqual(text[start:end], exact)
            # The browser counts UTF-16 units; the conversion is exact both ways.
            for offset in (start, end):
                units = spans.codepoint_to_utf16(text, offset)
                self.assertEqual(units, len(text[:offset].encode("utf-16-le")) // 2)
                self.assertEqual(spans.utf16_to_codepoint(text, units), offset)

        annotations = selectors.document_web_annotations(
            document=document, user=self.user, request_base="https://desk.example"
        )
        self.assertEqual(len(annotations), len(stored))
        for annotation in annotations:
            quote, position = annotation["target"]["selector"]
            selected = text[position["start"] : position["end"]]
            self.assertEqual(selected, quote["exact"])
            self.assertTrue(text[: position["start"]].endswith(quote["prefix"]))
            self.assertTrue(text[position["end"] :].startswith(quote["suffix"]))

        native = selectors.document_native(document=document, user=self.user)
        target = make_project(creator=self.user, name="Copy", slug="copy")
        copy = services.document_import_native(project=target, payload=native, actor=self.user)
        self.assertEqual(copy.text, text)
        copied = list(Claim.objects.filter(document=copy).values_list("start", "end", "exact"))
        self.assertEqual(sorted(copied), sorted(stored))
        for start, end, exact in copied:
            self.assertEqual(copy.text[start:end], exact)


@given(TEXTS)
@settings(max_examples=200)
def test_utf16_conversion_round_trips_at_every_code_point(text: str) -> None:
    for offset in range(len(text) + 1):
        units = spans.codepoint_to_utf16(text, offset)
        assert spans.utf16_to_codepoint(text, units) == offset
