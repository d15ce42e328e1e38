"""Check-worthiness suggestions through the API: GET /documents/{id}/suggestions/ (best
first, ?all=1), accept (a claim on the exact span, recorded), dismiss (with a reason,
recorded), refusals (400 naming the field, nothing written; 403; 404), the HTTP provider
(used, validated, fallback)."""

from __future__ import annotations

import json

from django.test import override_settings

from annotations import services
from annotations.core import triage
from annotations.models import (
    Claim,
    Event,
    SuggestionDecision,
    SuggestionVerdict,
    TriageRun,
)
from tests.api.base import CLAIM_FIELDS, ApiTestCase
from tests.factories import make_claim
from tests.triage_provider import Provider

TEXT = (
    "Good evening and welcome to the debate tonight.\n"
    "Unemployment fell to 3.1 percent last year, the lowest rate since 1969.\n"
    "I want to thank everyone for coming.\n"
    "We spent $2 billion on the new bridge, more than any other state.\n"
    "Thank you.\n"
    "Crime rose by 20 percent in the capital in 2019.\n"
)

LOCAL = override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"])


class SuggestionApiBase(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.doc = services.document_create(
            project=cls.project,
            data=services.DocumentInput(title="Debate", text=TEXT),
            actor=cls.editor,
        )
        cls.sentences = triage.split_sentences(TEXT)

    def path(self, suffix: str = "") -> str:
        return f"/documents/{self.doc.pk}/suggestions/{suffix}"

    def sentence(self, startswith: str) -> triage.Sentence:
        return next(s for s in self.sentences if s.text.startswith(startswith))

    def written(self) -> tuple[int, int, int]:
        return (Claim.objects.count(), SuggestionDecision.objects.count(), Event.objects.count())


class SuggestionListTests(SuggestionApiBase):
    def test_it_lists_open_sentences_best_first_on_their_exact_spans(self) -> None:
        response = self.get(self.reviewer_a, self.path())
        self.assertEqual(response.status_code, 200, response.content)
        results = response.json()["results"]
        self.assertEqual(len(results), len(self.sentences))  # 6 sentences, TRIAGE_TOP_N = 10
        for row in results:
            self.assertEqual(
                set(row), {"start", "end", "text", "score", "agent", "status", "reason"}
            )
            self.assertEqual(TEXT[row["start"] : row["end"]], row["text"])
            self.assertEqual((row["agent"], row["status"]), ("builtin", "open"))
        scores = [row["score"] for row in results]
        self.assertEqual(scores, sorted(scores, reverse=True))
        # The model ranks a statistic above a greeting.
        texts = [row["text"] for row in results]
        self.assertLess(texts.index(self.sentence("Unemployment").text), texts.index("Thank you."))

    def test_it_lists_the_top_n_by_default_and_every_sentence_with_all(self) -> None:
        with override_settings(TRIAGE_TOP_N=2):
            top = self.get(self.reviewer_a, self.path()).json()["results"]
            every = self.get(self.reviewer_a, self.path(), {"all": "1"}).json()["results"]
        self.assertEqual(len(top), 2)
        self.assertEqual(len(every), len(self.sentences))
        self.assertEqual(every[:2], top)

    def test_claimed_sentences_are_left_out_and_marked_with_all(self) -> None:
        unemployment = self.sentence("Unemployment")
        make_claim(document=self.doc, actor=self.creator, exact="3.1 percent")
        listed = self.get(self.reviewer_a, self.path()).json()["results"]
        self.assertNotIn(unemployment.start, [row["start"] for row in listed])
        every = self.get(self.reviewer_a, self.path(), {"all": "1"}).json()["results"]
        status = {row["start"]: row["status"] for row in every}
        self.assertEqual(status[unemployment.start], "claimed")

    def test_unknown_or_bad_parameters_are_400(self) -> None:
        self.assertFieldError(
            self.get(self.reviewer_a, self.path(), {"limit": "3"}), "limit", "Unknown"
        )
        self.assertFieldError(self.get(self.reviewer_a, self.path(), {"all": "maybe"}), "all")
        # all= is a boolean by the API's one rule: yes, on, 2 or " 1" is a 400 (yes and a
        # padded 1 used to be read as all=1).
        for value in ("yes", "no", "on", "2", " 1", "1 "):
            self.assertFieldError(
                self.get(self.reviewer_a, self.path(), {"all": value}),
                "all",
                "Enter true or false (or 1 or 0).",
            )

    def test_all_takes_true_false_1_or_0(self) -> None:
        make_claim(document=self.doc, actor=self.creator, exact="3.1 percent")
        every = self.get(self.reviewer_a, self.path(), {"all": "1"}).json()["results"]
        best = self.get(self.reviewer_a, self.path()).json()["results"]
        self.assertNotEqual(every, best)
        for value in ("true", "True", "TRUE"):
            self.assertEqual(
                self.get(self.reviewer_a, self.path(), {"all": value}).json()["results"], every
            )
        for value in ("0", "false", "False", ""):
            self.assertEqual(
                self.get(self.reviewer_a, self.path(), {"all": value}).json()["results"], best
            )

    def test_outsiders_get_404_and_anonymous_401(self) -> None:
        self.assertEqual(self.get(self.outsider, self.path()).status_code, 404)
        self.assertEqual(self.get(None, self.path()).status_code, 401)
        self.assertEqual(
            self.get(self.reviewer_a, "/documents/999999/suggestions/").status_code, 404
        )

    def test_a_stored_run_is_served_and_a_revision_is_ranked_again(self) -> None:
        run = services.suggestions_store(document_id=self.doc.pk)
        assert run is not None
        self.assertEqual(run.suggestions.count(), len(self.sentences))
        self.assertTrue(run.model_version.startswith("triage-"))
        self.assertTrue(Event.objects.filter(verb="suggestions.compute", object_id=run.pk).exists())
        # What is served is what is stored (here: scores changed in the table).
        run.suggestions.filter(start=self.sentence("Thank you").start).update(score=1000.0)
        first = self.get(self.reviewer_a, self.path()).json()["results"][0]
        self.assertEqual(first["text"], "Thank you.")
        # A new revision is not served the old revision's run.
        services.document_revise(
            document=self.doc, text=TEXT + "Taxes doubled.\n", actor=self.editor
        )
        results = self.get(self.reviewer_a, self.path(), {"all": "1"}).json()["results"]
        self.assertEqual(len(results), len(self.sentences) + 1)
        self.assertNotEqual(results[0]["score"], 1000.0)


class SuggestionAcceptTests(SuggestionApiBase):
    def test_accept_creates_a_claim_on_the_exact_span_and_records_the_decision(self) -> None:
        sentence = self.sentence("We spent")
        response = self.post(
            self.reviewer_a,
            self.path("accept/"),
            {"start": sentence.start, "end": sentence.end, "claimant": "Governor"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body["claim"]), CLAIM_FIELDS)
        claim = Claim.objects.get(pk=body["claim"]["id"])
        self.assertEqual((claim.start, claim.end), (sentence.start, sentence.end))
        self.assertEqual(claim.exact, sentence.text)
        self.assertEqual(claim.statement, sentence.text)
        self.assertEqual(claim.claimant, "Governor")
        self.assertEqual(claim.created_by, self.reviewer_a)
        decision = SuggestionDecision.objects.get()
        self.assertEqual(decision.decision, SuggestionVerdict.ACCEPTED)
        self.assertEqual(
            (decision.start, decision.end, decision.text, decision.claim_id, decision.actor),
            (sentence.start, sentence.end, sentence.text, claim.pk, self.reviewer_a),
        )
        self.assertEqual(decision.agent, "builtin")
        self.assertEqual(body["decision"]["id"], decision.pk)
        self.assertEqual(body["decision"]["score"], decision.score)
        event = Event.objects.get(verb="suggestion.accept")
        self.assertEqual(event.after["claim"], claim.pk)
        self.assertTrue(Event.objects.filter(verb="claim.create", object_id=claim.pk).exists())
        # It leaves the list; with all=1 it is marked accepted.
        listed = self.get(self.reviewer_a, self.path()).json()["results"]
        self.assertNotIn(sentence.start, [row["start"] for row in listed])
        every = self.get(self.reviewer_a, self.path(), {"all": "1"}).json()["results"]
        self.assertIn(
            "accepted", [row["status"] for row in every if row["start"] == sentence.start]
        )
        # Training data.
        from annotations import selectors

        self.assertEqual(selectors.suggestion_training_rows(), [(sentence.text, 1)])

    def test_accepting_twice_is_a_conflict(self) -> None:
        sentence = self.sentence("We spent")
        data = {"start": sentence.start, "end": sentence.end}
        self.assertEqual(self.post(self.reviewer_a, self.path("accept/"), data).status_code, 201)
        before = self.written()
        response = self.post(self.reviewer_b, self.path("accept/"), data)
        self.assertEqual(response.status_code, 409, response.content)
        self.assertEqual(self.written(), before)

    def test_bad_input_is_400_naming_the_field_and_writes_nothing(self) -> None:
        sentence = self.sentence("We spent")
        cases = [
            ({"start": sentence.start}, "end"),
            ({"start": "x", "end": sentence.end}, "start"),
            ({"start": sentence.start, "end": sentence.end, "extra": 1}, "extra"),
            ({"start": sentence.start, "end": sentence.end - 1}, "start"),  # not a sentence
            ({"start": sentence.start, "end": sentence.end, "statement": "x" * 5001}, "statement"),
            ({"start": sentence.start, "end": sentence.end, "claimant": "a\x00b"}, "claimant"),
        ]
        for data, field in cases:
            with self.subTest(field=field, data=str(data)[:60]):
                before = self.written()
                with self.assertNothingWritten():
                    response = self.post(self.reviewer_a, self.path("accept/"), data)
                self.assertFieldError(response, field)
                self.assertEqual(self.written(), before)
                self.assertFalse(TriageRun.objects.exists())

    def test_outsider_gets_404_and_writes_nothing(self) -> None:
        sentence = self.sentence("We spent")
        with self.assertNothingWritten():
            response = self.post(
                self.outsider, self.path("accept/"), {"start": sentence.start, "end": sentence.end}
            )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(SuggestionDecision.objects.exists())

    def test_any_member_may_accept_since_any_member_may_claim_a_selection(self) -> None:
        sentence = self.sentence("Crime rose")
        response = self.post(
            self.reviewer_c, self.path("accept/"), {"start": sentence.start, "end": sentence.end}
        )
        self.assertEqual(response.status_code, 201, response.content)


class SuggestionDismissTests(SuggestionApiBase):
    def test_an_editor_dismisses_with_a_reason_and_it_is_recorded(self) -> None:
        sentence = self.sentence("I want")
        response = self.post(
            self.editor,
            self.path("dismiss/"),
            {"start": sentence.start, "end": sentence.end, "reason": "  A courtesy.  "},
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(
            (body["decision"], body["reason"], body["claim"]), ("dismissed", "A courtesy.", None)
        )
        self.assertEqual(body["text"], sentence.text)
        self.assertEqual(body["actor"], "editor")
        decision = SuggestionDecision.objects.get()
        self.assertEqual(decision.reason, "A courtesy.")
        self.assertFalse(Claim.objects.filter(document=self.doc).exists())
        event = Event.objects.get(verb="suggestion.dismiss")
        self.assertEqual(event.after["reason"], "A courtesy.")
        listed = self.get(self.reviewer_a, self.path()).json()["results"]
        self.assertNotIn(sentence.start, [row["start"] for row in listed])
        every = self.get(self.reviewer_a, self.path(), {"all": "1"}).json()["results"]
        (row,) = [row for row in every if row["start"] == sentence.start]
        self.assertEqual((row["status"], row["reason"]), ("dismissed", "A courtesy."))
        # Accepting a dismissed sentence is a conflict.
        again = self.post(
            self.reviewer_a, self.path("accept/"), {"start": sentence.start, "end": sentence.end}
        )
        self.assertEqual(again.status_code, 409)

    def test_a_reason_is_required_and_nothing_is_written_without_one(self) -> None:
        sentence = self.sentence("I want")
        for data in (
            {"start": sentence.start, "end": sentence.end},
            {"start": sentence.start, "end": sentence.end, "reason": "   "},
            {"start": sentence.start, "end": sentence.end, "reason": "x" * 2001},
        ):
            with self.subTest(data=str(data)[:60]), self.assertNothingWritten():
                response = self.post(self.editor, self.path("dismiss/"), data)
                self.assertFieldError(response, "reason")
        self.assertFalse(SuggestionDecision.objects.exists())

    def test_a_reviewer_cannot_dismiss(self) -> None:
        sentence = self.sentence("I want")
        with self.assertNothingWritten():
            response = self.post(
                self.reviewer_a,
                self.path("dismiss/"),
                {"start": sentence.start, "end": sentence.end, "reason": "noise"},
            )
        self.assertEqual(response.status_code, 403, response.content)
        self.assertIn("editors", response.json()["detail"])
        self.assertFalse(SuggestionDecision.objects.exists())

    def test_outsider_gets_404(self) -> None:
        sentence = self.sentence("I want")
        response = self.post(
            self.outsider,
            self.path("dismiss/"),
            {"start": sentence.start, "end": sentence.end, "reason": "noise"},
        )
        self.assertEqual(response.status_code, 404)


@LOCAL
class HttpProviderTests(SuggestionApiBase):
    def use(self, provider: Provider) -> None:
        response = self.patch(
            self.admin, f"/projects/{self.project.pk}/", {"triage_url": provider.url}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["triage_provider"], "http")
        self.assertEqual(response.json()["triage_url"], provider.url)

    def test_the_projects_provider_ranks_the_sentences(self) -> None:
        with Provider() as provider:
            self.use(provider)
            results = self.get(self.reviewer_a, self.path(), {"all": "1"}).json()["results"]
            # Accepting records the provider as the agent.
            first = results[0]
            response = self.post(
                self.reviewer_a,
                self.path("accept/"),
                {"start": first["start"], "end": first["end"]},
            )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["decision"]["agent"], "http")
        self.assertEqual(response.json()["decision"]["model_version"], "127.0.0.1")
        request = provider.received[0]
        self.assertEqual(request["document_id"], self.doc.pk)
        self.assertEqual(request["text"], TEXT)
        self.assertEqual(
            request["sentences"],
            [{"start": s.start, "end": s.end, "text": s.text} for s in self.sentences],
        )
        self.assertEqual({row["agent"] for row in results}, {"http"})
        # Longest first, as the provider scored them.
        self.assertEqual(
            [row["text"] for row in results],
            [s.text for s in sorted(self.sentences, key=lambda s: (-len(s.text), s.start))],
        )

    def test_span_suggestions_are_used_when_they_quote_the_text(self) -> None:
        start = TEXT.index("$2 billion")

        def answer(request: dict) -> tuple[int, bytes]:
            return 200, json.dumps(
                {
                    "suggestions": [
                        {"start": start, "end": start + 10, "text": "$2 billion", "score": 0.9}
                    ]
                }
            ).encode()

        with Provider(answer) as provider:
            self.use(provider)
            results = self.get(self.reviewer_a, self.path()).json()["results"]
        self.assertEqual(
            [(r["start"], r["end"], r["text"], r["agent"]) for r in results],
            [(start, start + 10, "$2 billion", "http")],
        )

    def test_a_bad_answer_or_a_failure_falls_back_to_the_built_in_model(self) -> None:
        start = TEXT.index("$2 billion")
        bad_answers = {
            "misquoted span": {
                "suggestions": [
                    {"start": start, "end": start + 10, "text": "$3 billion", "score": 1}
                ]
            },
            "span out of the text": {
                "suggestions": [{"start": 0, "end": len(TEXT) + 5, "text": "x", "score": 1}]
            },
            "too few scores": {"scores": [1.0]},
            "a score that is text": {"scores": ["1"] * len(self.sentences)},
            "extra key": {"scores": [1.0] * len(self.sentences), "model": "x"},
            "not an object": [1, 2],
        }
        for name, answer_json in bad_answers.items():
            with (
                self.subTest(name),
                Provider(lambda r, a=answer_json: (200, json.dumps(a).encode())) as provider,
            ):
                self.use(provider)
                with self.assertLogs("annotations.services.suggestions", "WARNING"):
                    response = self.get(self.reviewer_a, self.path(), {"all": "1"})
                self.assertEqual(response.status_code, 200)
                results = response.json()["results"]
                self.assertEqual({row["agent"] for row in results}, {"builtin"})
                self.assertEqual(len(results), len(self.sentences))
        for name, reply in {
            "HTTP 500": (500, b"{}"),
            "not JSON": (200, b"<html>"),
        }.items():
            with self.subTest(name), Provider(lambda r, reply=reply: reply) as provider:
                self.use(provider)
                with self.assertLogs("annotations.services.suggestions", "WARNING"):
                    results = self.get(self.reviewer_a, self.path()).json()["results"]
                self.assertEqual({row["agent"] for row in results}, {"builtin"})

    def test_an_answer_over_the_size_limit_is_not_read_past_it(self) -> None:
        scores = json.dumps({"scores": [1.0] * len(self.sentences)}).encode()
        with (
            Provider(lambda r: (200, scores)) as provider,
            override_settings(WORKBENCH_FETCH_MAX_BYTES=len(scores) - 1),
        ):
            self.use(provider)
            with self.assertLogs("annotations.services.suggestions", "WARNING") as logs:
                results = self.get(self.reviewer_a, self.path()).json()["results"]
        self.assertEqual({row["agent"] for row in results}, {"builtin"})
        self.assertIn("too-large", logs.output[0])

    def test_the_fallback_is_recorded_on_the_stored_run(self) -> None:
        with Provider(lambda r: (503, b"")) as provider:
            self.use(provider)
            with self.assertLogs("annotations.services.suggestions", "WARNING"):
                run = services.suggestions_store(document_id=self.doc.pk)
        assert run is not None
        self.assertEqual(run.agent, "builtin")
        self.assertIn("HTTP 503", run.fallback_reason)
        event = Event.objects.get(verb="suggestions.compute")
        self.assertIn("HTTP 503", event.after["fallback_reason"])

    def test_an_unreachable_address_is_refused_when_stored(self) -> None:
        with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=[]), self.assertNothingWritten():
            response = self.patch(
                self.admin,
                f"/projects/{self.project.pk}/",
                {"triage_url": "http://127.0.0.1:9/x"},
            )
        self.assertFieldError(response, "triage_url")
        response = self.patch(
            self.admin, f"/projects/{self.project.pk}/", {"triage_url": "ftp://example.org/x"}
        )
        self.assertFieldError(response, "triage_url")

    def test_only_admins_set_it_and_only_admins_read_it(self) -> None:
        response = self.patch(
            self.editor, f"/projects/{self.project.pk}/", {"triage_url": "https://example.org/rank"}
        )
        self.assertEqual(response.status_code, 403)
        self.patch(
            self.admin,
            f"/projects/{self.project.pk}/",
            {"triage_url": "https://example.org/rank?token=s3cret"},
        )
        seen = self.get(self.reviewer_a, f"/projects/{self.project.pk}/").json()
        self.assertEqual((seen["triage_provider"], seen["triage_url"]), ("http", None))
        event = Event.objects.filter(verb="project.update").latest("seq")
        self.assertEqual(event.after["triage_provider"], "https://example.org/…")
        self.assertNotIn("s3cret", json.dumps(event.after))
