"""One limit, one message, every way in: the services enforce ``services.limits`` and the
API, the reviewer UI, the admin and the commands refuse the same over-long text with the
same words, writing nothing."""

from __future__ import annotations

import copy
import html

from django.core.exceptions import ValidationError
from django.test import TestCase

from annotations import selectors, services
from annotations.models import Claim, Event, Verdict
from annotations.services import limits
from tests.factories import Personas, make_claim, take


def too_long(limit: int) -> str:
    return f"Ensure this value has at most {limit} characters (it has {limit + 1})."


class LimitTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact="The mayor said crime fell 20%"
        )

    def assertNothingWritten(self) -> object:
        test = self

        class Guard:
            def __enter__(self) -> None:
                self.counts = (
                    Event.objects.count(),
                    Claim.objects.count(),
                    Verdict.objects.count(),
                )

            def __exit__(self, *exc: object) -> None:
                after = (Event.objects.count(), Claim.objects.count(), Verdict.objects.count())
                test.assertEqual(after, self.counts, "something was written")

        return Guard()

    def test_the_messages_are_django_s_max_length_message(self) -> None:
        self.assertEqual(
            limits.length_errors(statement=("s" * 5001, limits.MAX_STATEMENT)),
            {"statement": [too_long(5000)]},
        )
        self.assertEqual(limits.length_errors(statement=("s" * 5000, limits.MAX_STATEMENT)), {})
        self.assertEqual(limits.length_errors(statement=(None, limits.MAX_STATEMENT)), {})

    def test_the_services_refuse_over_long_text_themselves(self) -> None:
        # The admin and the commands call these directly: no serializer or form in front.
        start = self.document.text.index("Critics")
        cases = [
            (
                "claim_create statement",
                lambda: services.claim_create(
                    document=self.document,
                    start=start,
                    end=start + 7,
                    actor=self.creator,
                    statement="s" * (limits.MAX_STATEMENT + 1),
                ),
                "statement",
                limits.MAX_STATEMENT,
            ),
            (
                "claim_create claimant",
                lambda: services.claim_create(
                    document=self.document,
                    start=start,
                    end=start + 7,
                    actor=self.creator,
                    claimant="c" * (limits.MAX_CLAIMANT + 1),
                ),
                "claimant",
                limits.MAX_CLAIMANT,
            ),
            (
                "claim_update statement",
                lambda: services.claim_update(
                    claim=self.claim,
                    actor=self.creator,
                    expected_version=self.claim.version,
                    statement="s" * (limits.MAX_STATEMENT + 1),
                ),
                "statement",
                limits.MAX_STATEMENT,
            ),
            (
                "claim_skip reason",
                lambda: services.claim_skip(
                    claim=self.claim,
                    reviewer=self.reviewer_a,
                    reason="r" * (limits.MAX_REASON + 1),
                ),
                "reason",
                limits.MAX_REASON,
            ),
            (
                "claim_withdraw reason",
                lambda: services.claim_withdraw(
                    claim=self.claim, actor=self.editor, reason="r" * (limits.MAX_REASON + 1)
                ),
                "reason",
                limits.MAX_REASON,
            ),
            (
                "claim_reanchor note",
                lambda: services.claim_reanchor(
                    claim=self.claim,
                    start=0,
                    end=9,
                    actor=self.editor,
                    note="n" * (limits.MAX_NOTE + 1),
                ),
                "note",
                limits.MAX_NOTE,
            ),
            (
                "document_create title",
                lambda: services.document_create(
                    project=self.project,
                    data=services.DocumentInput(
                        title="t" * (limits.MAX_TITLE + 1), text="A new text entirely."
                    ),
                    actor=self.editor,
                ),
                "title",
                limits.MAX_TITLE,
            ),
        ]
        for label, call, field, limit in cases:
            with self.subTest(label), self.assertNothingWritten():
                with self.assertRaises(ValidationError) as caught:
                    call()
                self.assertEqual(caught.exception.message_dict[field], [too_long(limit)])

    def test_the_api_answers_400_with_the_same_message(self) -> None:
        self.client.force_login(self.creator)
        start = self.document.text.index("Critics")
        with self.assertNothingWritten():
            response = self.client.post(
                "/api/v1/claims/",
                {
                    "document": self.document.pk,
                    "start": start,
                    "end": start + 7,
                    "statement": "s" * (limits.MAX_STATEMENT + 1),
                },
                content_type="application/json",
            )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json(), {"statement": [too_long(limits.MAX_STATEMENT)]})
        self.client.force_login(self.reviewer_a)
        with self.assertNothingWritten():
            response = self.client.post(
                f"/api/v1/claims/{self.claim.pk}/skip/",
                {"reason": "r" * (limits.MAX_REASON + 1)},
                content_type="application/json",
            )
        self.assertEqual(response.json(), {"reason": [too_long(limits.MAX_REASON)]})

    def test_the_reviewer_ui_shows_the_same_message(self) -> None:
        self.client.force_login(self.creator)
        start = self.document.text.index("Critics")
        with self.assertNothingWritten():
            response = self.client.post(
                f"/documents/{self.document.pk}/claims/new/",
                {
                    "start": start,
                    "end": start + 7,
                    "exact": "Critics",
                    "statement": "s" * (limits.MAX_STATEMENT + 1),
                },
            )
        self.assertEqual(response.status_code, 422)
        self.assertIn(html.escape(too_long(limits.MAX_STATEMENT)), response.content.decode())
        self.client.force_login(self.reviewer_a)
        take(self.claim, self.reviewer_a)  # a lease shows the skip form
        with self.assertNothingWritten():
            response = self.client.post(
                f"/claims/{self.claim.pk}/skip/", {"reason": "r" * (limits.MAX_REASON + 1)}
            )
        self.assertIn(html.escape(too_long(limits.MAX_REASON)), response.content.decode())

    def test_the_native_import_refuses_what_the_services_would(self) -> None:
        export = selectors.document_native(document=self.document, user=self.editor)
        edited = copy.deepcopy(export)
        edited["claims"][0]["statement"] = "s" * (limits.MAX_STATEMENT + 1)
        fresh = services.project_create(creator=self.admin, name="Restore")
        with self.assertNothingWritten(), self.assertRaises(ValidationError) as caught:
            services.document_import_native(project=fresh, payload=edited, actor=self.admin)
        self.assertEqual(
            caught.exception.message_dict["/claims/0/statement"], [too_long(limits.MAX_STATEMENT)]
        )
        # The untouched export goes in: the check refuses only what services refuse.
        services.document_import_native(project=fresh, payload=export, actor=self.admin)
        self.assertEqual(Claim.objects.filter(project=fresh).count(), 1)
