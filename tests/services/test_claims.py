"""Services: claims, their spans and edits (``annotations/services/claims.py``)."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.db import transaction

from annotations import services
from annotations.models import Claim, ClaimStatus, Document, Event
from tests.factories import make_claim, make_document
from tests.services.base import ServiceTestCase, counts

# Astral emoji, a ZWJ sequence, a combining mark NFC composes (e + U+0301) and one it
# cannot (q + U+0307), CJK and right-to-left Arabic.
UNICODE_TEXT = (
    "🌉🎉 Breaking: the mayor said crime fell 20%.\n"
    "Cafe\u0301 owners and the q\u0307 symbol stay as typed.\n"
    "東京の人口は1400万人を超えた。\n"
    "قال الوزير إن التضخم انخفض.\n"
    "A family 👩\u200d👩\u200d👧 ends the text."
)


class ClaimCreateTests(ServiceTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.unicode_document = make_document(
            project=cls.project, actor=cls.creator, text=UNICODE_TEXT, title="Unicode"
        )

    def _targets(self, text: str) -> list[tuple[str, int, int]]:
        quotes = [
            "🌉🎉",  # at offset 0: empty prefix
            "crime fell 20%",
            "Caf\u00e9 owners",
            "q\u0307 symbol",
            "東京の人口は1400万人を超えた。",
            "قال الوزير إن التضخم انخفض.",
            "👩\u200d👩\u200d👧",
            "ends the text.",  # at the very end: empty suffix
        ]
        return [(q, text.index(q), text.index(q) + len(q)) for q in quotes]

    def test_it_stores_exact_prefix_and_suffix_in_code_points(self) -> None:
        text = self.unicode_document.text
        self.assertEqual(text, unicodedata.normalize("NFC", UNICODE_TEXT))
        loaded = self.unicode_document
        deferred = Document.objects.defer("text", "raw_text").get(pk=loaded.pk)
        for label, document in [("text loaded", loaded), ("text deferred", deferred)]:
            for quote, start, end in self._targets(text):
                with self.subTest(document=label, quote=quote):
                    claim = services.claim_create(
                        document=document,
                        start=start,
                        end=end,
                        exact=quote,
                        actor=self.creator,
                        statement=f"{quote} ({label})",  # not the same claim twice
                    )
                    self.assertEqual(claim.exact, quote)
                    self.assertEqual(claim.exact, text[start:end])
                    self.assertEqual(claim.prefix, text[max(0, start - 32) : start])
                    self.assertEqual(claim.suffix, text[end : end + 32])
                    stored = Claim.objects.get(pk=claim.pk)
                    self.assertEqual(
                        (stored.start, stored.end, stored.exact, stored.prefix, stored.suffix),
                        (start, end, quote, claim.prefix, claim.suffix),
                    )

    def test_it_cuts_context_at_32_code_points(self) -> None:
        text = self.unicode_document.text
        start = text.index("東京")
        claim = services.claim_create(
            document=self.unicode_document, start=start, end=start + 2, actor=self.creator
        )
        self.assertEqual(len(claim.prefix), 32)
        self.assertEqual(len(claim.suffix), 32)
        self.assertTrue(claim.prefix.endswith("typed.\n"))
        self.assertEqual(claim.exact, "東京")

    def test_it_computes_the_quote_when_exact_is_not_sent(self) -> None:
        text = self.unicode_document.text
        claim = services.claim_create(
            document=self.unicode_document, start=0, end=2, actor=self.creator
        )
        self.assertEqual((claim.exact, claim.prefix), ("🌉🎉", ""))
        self.assertEqual(claim.suffix, text[2:34])

    def test_it_accepts_an_nfd_exact_for_nfc_text(self) -> None:
        text = self.unicode_document.text
        start = text.index("Caf\u00e9")
        claim = services.claim_create(
            document=self.unicode_document,
            start=start,
            end=start + 4,
            exact="Cafe\u0301",
            actor=self.creator,
        )
        self.assertEqual(claim.exact, "Caf\u00e9")

    def test_it_rejects_invalid_spans_naming_the_field_and_writes_nothing(self) -> None:
        text = self.document.text
        length = len(text)
        cases = [
            ({"start": -1, "end": 3}, "start", "must not be negative"),
            ({"start": 0, "end": length + 1}, "end", f"past the end of the text (length {length})"),
            ({"start": length, "end": length + 2}, "end", "past the end"),
            ({"start": 4, "end": 4}, "end", "greater than start"),
            ({"start": 9, "end": 4}, "end", "greater than start"),
            ({"start": "0", "end": 3}, "start", "must be an integer, got str"),
            ({"start": 0, "end": 3.0}, "end", "must be an integer, got float"),
            ({"start": True, "end": 3}, "start", "must be an integer, got bool"),
            ({"start": None, "end": 3}, "start", "must be an integer"),
            ({"start": 4, "end": 9, "exact": "major"}, "exact", f'"{text[4:9]}"'),
            ({"start": 4, "end": 9, "exact": 5}, "exact", "must be a string"),
        ]
        for span, field, fragment in cases:
            with self.subTest(span=span):
                before = counts(Claim, Event)
                with self.assertRaises(ValidationError) as caught:
                    services.claim_create(document=self.document, actor=self.creator, **span)
                self.assertFieldError(caught.exception, field, fragment)
                self.assertEqual(counts(Claim, Event), before)

    def test_it_quotes_the_actual_text_when_exact_does_not_match(self) -> None:
        text = self.document.text
        start = text.index("crime")
        with self.assertRaises(ValidationError) as caught:
            services.claim_create(
                document=self.document,
                start=start,
                end=start + 10,
                exact="crime rose",
                actor=self.creator,
            )
        message = self.assertFieldError(caught.exception, "exact")
        self.assertIn('the text there is "crime fell"', message)
        self.assertIn('got "crime rose"', message)

    def test_it_defaults_the_statement_to_the_exact_text(self) -> None:
        for statement, expected in [
            ("", "crime fell 20%"),
            ("   ", "crime fell 20%"),
            ("  Crime fell by a fifth.  ", "Crime fell by a fifth."),
        ]:
            # Each in a rolled-back block: the first two are the same claim twice.
            with self.subTest(statement=statement), transaction.atomic():
                claim = make_claim(
                    document=self.document,
                    actor=self.creator,
                    exact="crime fell 20%",
                    statement=statement,
                    claimant="  The mayor ",
                )
                self.assertEqual(claim.statement, expected)
                self.assertEqual(claim.claimant, "The mayor")
                transaction.set_rollback(True)

    def test_a_new_claims_two_times_are_one_value_and_an_edit_moves_one(self) -> None:
        # models.UpdatedAtField: a masked gold claim shows its creation time as its last
        # change (access.claim_present), which a new claim's own times must match exactly.
        claim = make_claim(document=self.document, actor=self.creator, exact="crime fell 20%")
        claim.refresh_from_db()
        self.assertEqual(claim.updated_at, claim.created_at)
        edited = services.claim_update(
            claim=claim, actor=self.creator, expected_version=claim.version, statement="Edited."
        )
        edited.refresh_from_db()
        self.assertGreater(edited.updated_at, edited.created_at)

    def test_it_puts_the_claim_in_the_documents_project_in_review(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="record low")
        self.assertEqual(claim.project, self.document.project)
        self.assertEqual(Claim.objects.get(pk=claim.pk).project_id, self.project.pk)
        self.assertEqual((claim.status, claim.version), (ClaimStatus.IN_REVIEW, 1))
        self.assertEqual(claim.created_by, self.creator)

    def test_it_records_a_claim_create_event(self) -> None:
        claim = make_claim(document=self.document, actor=self.creator, exact="record low")
        event = Event.objects.get(verb="claim.create", object_id=claim.pk)
        self.assertEqual(
            (event.actor, event.project, event.object_type), (self.creator, self.project, "claim")
        )
        self.assertEqual(event.after["exact"], "record low")
        self.assertEqual((event.after["start"], event.after["end"]), (claim.start, claim.end))
        self.assertEqual(event.after["version"], 1)


class ClaimUpdateTests(ServiceTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")

    def test_it_updates_at_the_expected_version_and_bumps_it(self) -> None:
        claim = services.claim_update(
            claim=self.claim,
            actor=self.editor,
            expected_version=1,
            statement="  Crime fell by 20% last year.  ",
            claimant="Mayor",
        )
        self.assertEqual(claim.version, 2)
        stored = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual(
            (stored.statement, stored.claimant, stored.version),
            ("Crime fell by 20% last year.", "Mayor", 2),
        )

    def test_it_records_before_and_after(self) -> None:
        services.claim_update(
            claim=self.claim, actor=self.editor, expected_version=1, statement="New wording"
        )
        event = Event.objects.get(verb="claim.update", object_id=self.claim.pk)
        self.assertEqual(event.actor, self.editor)
        self.assertEqual(
            (event.before["statement"], event.before["version"]), ("crime fell 20%", 1)
        )
        self.assertEqual((event.after["statement"], event.after["version"]), ("New wording", 2))

    def test_it_raises_stale_version_and_changes_nothing(self) -> None:
        services.claim_update(
            claim=self.claim, actor=self.editor, expected_version=1, statement="First edit"
        )
        before = counts(Event)
        with self.assertRaises(services.StaleVersion) as caught:
            services.claim_update(
                claim=self.claim, actor=self.editor, expected_version=1, statement="Second edit"
            )
        self.assertEqual(caught.exception.current, 2)
        self.assertIn("version 2", str(caught.exception))
        stored = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((stored.statement, stored.version), ("First edit", 2))
        self.assertEqual(counts(Event), before)

    def test_it_rejects_an_empty_statement(self) -> None:
        before = counts(Event)
        with self.assertRaises(ValidationError) as caught:
            services.claim_update(
                claim=self.claim, actor=self.editor, expected_version=1, statement="  "
            )
        self.assertFieldError(caught.exception, "statement", "empty")
        stored = Claim.objects.get(pk=self.claim.pk)
        self.assertEqual((stored.statement, stored.version), ("crime fell 20%", 1))
        self.assertEqual(counts(Event), before)


class DuplicateClaimTests(ServiceTestCase):
    """The one rule of what counts as the same claim (``claim_duplicate_of``)."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(
            document=cls.document,
            actor=cls.creator,
            exact="crime fell 20%",
            statement="Crime fell.",
        )

    def create(self, **fields: object) -> Claim:
        start = self.document.text.index("crime fell 20%")
        return services.claim_create(
            document=self.document,
            start=fields.pop("start", start),  # type: ignore[arg-type]
            end=fields.pop("end", start + 14),  # type: ignore[arg-type]
            actor=self.reviewer_a,
            **fields,  # type: ignore[arg-type]
        )

    def test_the_same_span_and_statement_is_refused_and_nothing_is_written(self) -> None:
        before = counts(Claim, Event)
        for statement in ("Crime fell.", " Crime\t fell. \n"):
            with self.subTest(statement=statement):
                with self.assertRaises(services.DuplicateClaim) as caught:
                    self.create(statement=statement)
                self.assertEqual(caught.exception.existing_id, self.claim.pk)
                self.assertIn(f"claim {self.claim.pk}", str(caught.exception))
                self.assertIsInstance(caught.exception, services.QueueConflict)
        self.assertEqual(counts(Claim, Event), before)

    def test_near_duplicates_are_other_claims(self) -> None:
        start = self.document.text.index("crime fell 20%")
        for fields in (
            {"statement": "Crime fell!"},
            {"statement": "crime fell."},
            {"statement": "Crime fell.", "end": start + 13},
            {"statement": "Crime fell.", "start": start + 1},
        ):
            with self.subTest(fields=fields):
                self.assertIsNotNone(self.create(**fields).pk)

    def test_a_withdrawn_claim_does_not_count(self) -> None:
        services.claim_withdraw(claim=self.claim, actor=self.creator, reason="Wrong")
        self.assertIsNone(
            services.claim_duplicate_of(
                document=self.document,
                start=self.claim.start,
                end=self.claim.end,
                statement="Crime fell.",
            )
        )
        self.assertNotEqual(self.create(statement="Crime fell.").pk, self.claim.pk)

    def test_only_claims_anchored_in_the_current_text_count(self) -> None:
        Claim.objects.filter(pk=self.claim.pk).update(anchor_revision=0)  # an older text's offsets
        self.assertIsNotNone(self.create(statement="Crime fell.").pk)
