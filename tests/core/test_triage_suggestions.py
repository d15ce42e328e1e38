"""The check every provider's suggestion passes (``core.triage.suggestion_problem``) and the
strict reading of an HTTP provider's answer (``provider_answer_parse``): a suggestion whose
text is not the document's text at its offsets is refused, for any text."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from annotations.core import triage
from tests.core.test_triage import texts

pytestmark = pytest.mark.db_independent


class TestSuggestionProblem:
    @settings(max_examples=400)
    @given(texts, st.integers(-3, 60), st.integers(-3, 60), st.text(max_size=8))
    def test_it_accepts_exactly_the_spans_that_quote_the_text(
        self, text: str, start: int, end: int, quoted: str
    ) -> None:
        exact = 0 <= start < end <= len(text) and text[start:end] == quoted
        assert (triage.suggestion_problem(text, start, end, quoted) is None) == exact

    @settings(max_examples=300)
    @given(texts, st.data())
    def test_every_sentence_passes_and_any_other_quote_is_refused(
        self, text: str, data: st.DataObject
    ) -> None:
        sentences = triage.split_sentences(text)
        for sentence in sentences:
            assert (
                triage.suggestion_problem(text, sentence.start, sentence.end, sentence.text) is None
            )
        assume(sentences)
        sentence = data.draw(st.sampled_from(sentences))
        other = data.draw(st.text(max_size=10).filter(lambda t: t != sentence.text))
        assert triage.suggestion_problem(text, sentence.start, sentence.end, other) is not None

    def test_offsets_must_be_whole_numbers(self) -> None:
        for start, end in ((True, 2), (0, 2.0), ("0", 2), (None, 2)):
            assert triage.suggestion_problem("abc", start, end, "ab") is not None


class TestProviderAnswer:
    @settings(max_examples=200)
    @given(texts, st.data())
    def test_a_span_answer_is_used_whole_or_refused_whole(
        self, text: str, data: st.DataObject
    ) -> None:
        sentences = triage.split_sentences(text)
        assume(sentences)
        chosen = data.draw(st.lists(st.sampled_from(sentences), unique=True, min_size=1))
        items = [
            {"start": s.start, "end": s.end, "text": s.text, "score": float(i)}
            for i, s in enumerate(chosen)
        ]
        parsed = triage.provider_answer_parse(
            {"suggestions": items}, text=text, sentences=sentences
        )
        assert [(p.start, p.end, p.text) for p in parsed] == [
            (s.start, s.end, s.text) for s in chosen
        ]
        # One item moved by one code point (or quoting other text) spoils the whole answer.
        index = data.draw(st.integers(0, len(items) - 1))
        shift = data.draw(st.sampled_from([-1, 1]))
        bad = dict(items[index])
        bad["start"] += shift
        assume(bad["start"] < 0 or text[bad["start"] : bad["end"]] != bad["text"])
        spoiled = [*items[:index], bad, *items[index + 1 :]]
        with pytest.raises(triage.ProviderAnswerError):
            triage.provider_answer_parse({"suggestions": spoiled}, text=text, sentences=sentences)

    @given(texts)
    def test_a_score_answer_needs_one_finite_number_per_sentence(self, text: str) -> None:
        sentences = triage.split_sentences(text)
        scores = [float(i) for i in range(len(sentences))]
        parsed = triage.provider_answer_parse({"scores": scores}, text=text, sentences=sentences)
        assert [p.score for p in parsed] == scores
        assert all(text[p.start : p.end] == p.text for p in parsed)
        for wrong in ([*scores, 1.0], [*scores[:-1], math.inf] if scores else [1.0]):
            with pytest.raises(triage.ProviderAnswerError):
                triage.provider_answer_parse({"scores": wrong}, text=text, sentences=sentences)

    def test_it_refuses_answers_off_the_contract(self) -> None:
        text = "One. Two."
        sentences = triage.split_sentences(text)
        good = {"start": 0, "end": 4, "text": "One.", "score": 1}
        for answer in (
            None,
            [],
            {},
            {"scores": [1, 2], "extra": 1},
            {"scores": "12"},
            {"scores": [1, True]},
            {"scores": [1, float("nan")]},
            {"suggestions": [good, good]},
            {"suggestions": [{**good, "extra": 1}]},
            {"suggestions": [{k: v for k, v in good.items() if k != "text"}]},
            {"suggestions": [{**good, "score": "1"}]},
            {"ranks": [1, 2]},
        ):
            with pytest.raises(triage.ProviderAnswerError):
                triage.provider_answer_parse(answer, text=text, sentences=sentences)

    def test_ranked_is_best_first_then_in_text_order(self) -> None:
        items = [
            triage.Scored(5, 9, "b", 1.0),
            triage.Scored(0, 4, "a", 1.0),
            triage.Scored(10, 12, "c", 2.0),
        ]
        assert [i.text for i in triage.ranked(items)] == ["c", "a", "b"]
