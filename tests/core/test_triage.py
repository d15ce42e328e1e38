"""Check-worthiness triage (``annotations/core/triage.py``): sentence offsets are exact for
any text, abbreviations and decimals do not split, and a trained model scores the same
after a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.core import triage

pytestmark = pytest.mark.db_independent

# Arbitrary unicode plus the characters the splitter reacts to, emoji (incl. ZWJ and
# flags), CJK, right-to-left scripts and combining marks.
SPECIAL = [
    *".!?\u2026\u3002\uff01\uff1f\n\r\t \u00a0\"'\u201d)]\u00bb",
    "👍🏽",
    "👨‍👩‍👧",
    "🇫🇷",
    "中文",
    "日本語。",
    "עברית",
    "العربية؟",
    "e\u0301",
    "Mr.",
    "U.S.",
    "3.5",
    "\u200f",
]
texts = st.lists(st.one_of(st.text(max_size=6), st.sampled_from(SPECIAL)), max_size=40).map("".join)


class TestSplitSentences:
    @settings(max_examples=400)
    @given(texts)
    def test_offsets_are_exact_and_cover_every_visible_character(self, text) -> None:
        sentences = triage.split_sentences(text)
        covered = [False] * len(text)
        last_end = 0
        for s in sentences:
            assert text[s.start : s.end] == s.text
            assert s.text and s.text == s.text.strip()
            assert last_end <= s.start < s.end
            last_end = s.end
            for i in range(s.start, s.end):
                covered[i] = True
        assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))

    def test_examples(self) -> None:
        text = "Mr. Smith said unemployment fell to 3.5% in the U.S. last year. Really?  Yes!\nNext"
        assert [s.text for s in triage.split_sentences(text)] == [
            "Mr. Smith said unemployment fell to 3.5% in the U.S. last year.",
            "Really?",
            "Yes!",
            "Next",
        ]
        assert [s.text for s in triage.split_sentences("我很好。你呢\uff1f好的")] == [
            "我很好。",
            "你呢\uff1f",
            "好的",
        ]
        assert [s.text for s in triage.split_sentences('He said "No way." Then left.')] == [
            'He said "No way."',
            "Then left.",
        ]
        assert triage.split_sentences("  \n ") == []


WORTHY = [
    "Unemployment fell to 3.5 percent, the lowest in fifty years.",
    "We spent $6 trillion in the Middle East.",
    "Crime went up 20 percent in 2016.",
    "She voted for the war in Iraq in 2002.",
    "Our trade deficit with China is $500 billion a year.",
    "Taxes rose for 80 percent of families.",
]
OTHER = [
    "Thank you very much.",
    "Good evening, everybody.",
    "Let me ask you something.",
    "I think that's wonderful.",
    "We're going to talk about it.",
    "It's great to be here tonight.",
    "Please, go ahead.",
    "You know what I mean?",
]


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[int]]:
    texts = (WORTHY + OTHER) * 3
    return texts, ([1] * len(WORTHY) + [0] * len(OTHER)) * 3


class TestTriageModel:
    def test_it_ranks_factual_sentences_first(self, corpus) -> None:
        model = triage.TriageModel.train(*corpus)
        scores = model.score(["In 2015 the deficit was 400 billion dollars.", "Thank you all."])
        assert scores[0] > scores[1]

    def test_save_and_load_give_the_same_scores(self, corpus, tmp_path) -> None:
        model = triage.TriageModel.train(*corpus)
        path = tmp_path / "triage.npz"
        size = model.save(path)
        assert size == path.stat().st_size
        again = triage.TriageModel.load(path)
        probe = ["Crime went up 30 percent.", "Good night.", "我很好。", ""]
        assert np.allclose(model.score(probe), again.score(probe))

    def test_save_and_load_keep_speakers_neighbours_and_weights(self, corpus, tmp_path) -> None:
        texts, labels = corpus
        speakers = ["CANDIDATE" if y else "MODERATOR" for y in labels]
        model = triage.TriageModel.train(
            texts, labels, speakers=speakers, knn_k=2, knn_weight=3.0, speaker_weight=1.0
        )
        model.save(tmp_path / "m.npz")
        again = triage.TriageModel.load(tmp_path / "m.npz")
        assert again.speakers == model.speakers
        assert (again.knn_k, again.knn_weight, again.speaker_weight) == (2, 3.0, 1.0)
        assert again.positives.shape == (len(WORTHY) * 3, 2**20)
        probe = ["Crime went up 30 percent.", "Good night."]
        who = ["candidate", None]
        assert np.allclose(model.score(probe, speakers=who), again.score(probe, speakers=who))

    def test_the_speaker_record_moves_the_score(self, corpus) -> None:
        texts, labels = corpus
        speakers = ["CANDIDATE" if y else "MODERATOR" for y in labels]
        model = triage.TriageModel.train(texts, labels, speakers=speakers, speaker_weight=1.0)
        same = ["Taxes went up.", "Taxes went up.", "Taxes went up."]
        a, b, unknown = model.score(same, speakers=["Candidate ", "moderator", "someone else"])
        assert a > unknown > b
        with pytest.raises(ValueError):
            model.score(same, speakers=["x"])

    def test_a_repeated_check_worthy_sentence_scores_higher(self, corpus) -> None:
        near = triage.TriageModel.train(*corpus, knn_weight=8.0)
        far = triage.TriageModel.train(*corpus, knn_weight=0.0)
        repeat = ["We spent $6 trillion in the Middle East."]
        assert near.score(repeat)[0] > far.score(repeat)[0]

    def test_rank_text_returns_exact_spans_best_first(self, corpus) -> None:
        model = triage.TriageModel.train(*corpus)
        text = "Good evening. Taxes rose by 12 percent in 2019! Thank you."
        ranked = model.rank_text(text)
        assert ranked[0][0].text == "Taxes rose by 12 percent in 2019!"
        assert all(text[s.start : s.end] == s.text for s, _ in ranked)
        assert [score for _, score in ranked] == sorted((sc for _, sc in ranked), reverse=True)

    def test_training_needs_both_labels(self) -> None:
        with pytest.raises(ValueError):
            triage.TriageModel.train(["a", "b"], [0, 0])

    def test_a_model_of_an_unknown_format_is_refused(self, corpus, tmp_path) -> None:
        path = tmp_path / "m.npz"
        triage.TriageModel.train(*corpus).save(path)
        data = dict(np.load(path))
        data["format"] = np.array([99])
        np.savez(path, **data)
        with pytest.raises(ValueError):
            triage.TriageModel.load(path)
