"""Claim matching (``annotations/core/matching.py``): an exact repeat ranks first, the index
grows and forgets incrementally, reciprocal rank fusion behaves, the re-ranker survives a
JSON round trip, and number/negation differences are flagged."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.core import matching

pytestmark = pytest.mark.db_independent

RERANKER = Path(__file__).resolve().parents[2] / "fixtures" / "matching" / "reranker.json"

CLAIMS = [
    "122 detainees released from Guantanamo Bay under President Obama returned to terrorism.",
    "70 per cent of the people arrested during protests in Charlotte had out-of-state IDs.",
    "A photograph shows a shark swimming on a flooded highway after Hurricane Harvey.",
    "Drinking hot water with lemon cures the coronavirus.",
    "The Pope endorsed Donald Trump for president in 2016.",
    "NASA confirmed that the Earth will experience 15 days of total darkness in November.",
    "Bill Gates said vaccines will be used to reduce the world population.",
    "The CBC deleted Donald Trump's cameo from Home Alone 2.",
    "Eating carrots improves your night vision dramatically.",
    "Australia's bushfires were started by arsonists, not climate change.",
    "Coca-Cola was originally green.",
    "A new law requires all dogs in California to be registered with DNA.",
    "Butterflies survived the Australian fires by drinking water from a wombat hole.",
    "Einstein failed mathematics at school.",
    "The Great Wall of China is visible from space with the naked eye.",
    "Swallowed chewing gum stays in your stomach for seven years.",
    "Wombats herded other animals into their burrows to save them from the fires.",
    "The minimum wage was raised to $15 an hour nationwide in 2019.",
    "Unemployment fell to 3.5 percent, the lowest in fifty years.",
    "The Eiffel Tower grows by 15 centimetres in summer.",
]


@pytest.fixture(scope="module")
def embedder() -> matching.WordLlamaEmbedder:
    return matching.WordLlamaEmbedder()


def _index(embedder=None, reranker=None) -> matching.MatchIndex:
    index = matching.MatchIndex(embedder=embedder, reranker=reranker)
    index.add([f"c{i}" for i in range(len(CLAIMS))], CLAIMS)
    return index


class TestRanking:
    @pytest.mark.parametrize("with_embedder", [False, True])
    @pytest.mark.parametrize("with_reranker", [False, True])
    def test_an_exact_repeat_ranks_first(self, embedder, with_embedder, with_reranker) -> None:
        reranker = matching.Reranker.load(RERANKER) if with_reranker else None
        index = _index(embedder if with_embedder else None, reranker)
        for i, claim in enumerate(CLAIMS):
            results = index.search(claim, 3)
            assert results[0].key == f"c{i}", claim
            assert results[0].text == claim
            assert not results[0].differences.flagged
            assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)

    def test_a_reworded_repeat_is_found(self, embedder) -> None:
        index = _index(embedder, matching.Reranker.load(RERANKER))
        results = index.search(
            "Wow!! wombats are saving animals from the bushfires by herding them", 3
        )
        assert results[0].key == "c16"

    def test_the_limit_and_an_empty_index(self) -> None:
        assert matching.MatchIndex().search("anything", 5) == []
        index = _index()
        assert len(index.search("Donald Trump", 2)) == 2
        assert index.search("Donald Trump", 0) == []

    def test_entries_added_later_are_found_and_discarded_ones_are_not(self, embedder) -> None:
        index = _index(embedder)
        index.search(CLAIMS[0], 1)
        for i in range(40):  # one at a time: blocks merge as they grow
            index.add([f"n{i}"], [f"Statement number {i} about a bridge in town {i}."])
        assert len(index) == len(CLAIMS) + 40
        assert index._bm25.tail_rows == len(CLAIMS) + 40  # small: all in the tail
        assert index.search("Statement number 33 about a bridge in town 33.", 1)[0].key == "n33"
        assert index.discard("n33") == 1
        assert len(index) == len(CLAIMS) + 39
        assert all(r.key != "n33" for r in index.search("Statement number 33 bridge", 10))

    def test_the_merged_index_scores_like_one_built_at_once(self, embedder, monkeypatch) -> None:
        whole = _index(embedder)
        monkeypatch.setattr(matching._Postings, "TAIL_MIN", 3)  # flush and merge blocks often
        piecewise = matching.MatchIndex(embedder=embedder)
        for i, claim in enumerate(CLAIMS):
            piecewise.add([f"c{i}"], [claim])
        for query in ("vaccines reduce population", "fires wombat", "15 days of darkness"):
            a, b = whole.search(query, 5), piecewise.search(query, 5)
            assert [r.key for r in a] == [r.key for r in b]
            assert np.allclose([r.score for r in a], [r.score for r in b])
        assert 1 < len(piecewise._bm25.blocks) <= 6
        assert piecewise._bm25.tail_rows < 3

    def test_empty_and_stop_word_only_texts_are_indexed_and_searchable(self, embedder) -> None:
        index = _index(embedder)
        index.add(["empty", "stop"], ["", "the and of"])
        assert len(index) == len(CLAIMS) + 2
        assert index.search("", 3) is not None
        assert index.search("the and of", 1)[0].key == "stop"

    def test_keys_and_texts_must_pair_up(self) -> None:
        with pytest.raises(ValueError):
            matching.MatchIndex().add(["a"], ["x", "y"])


class TestEmbedder:
    def test_rows_are_unit_length_or_zero(self, embedder) -> None:
        vectors = embedder.embed(["A claim about taxes.", "", "A claim about taxes."])
        assert vectors.shape == (3, 256)
        assert vectors.dtype == np.float32
        assert np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5)
        assert not vectors[1].any()
        assert np.array_equal(vectors[0], vectors[2])

    def test_similar_texts_are_closer_than_unrelated_ones(self, embedder) -> None:
        a, b, c = embedder.embed(
            ["The vaccine causes autism.", "Vaccines lead to autism in kids.", "Rain in Spain."]
        )
        assert a @ b > a @ c

    def test_a_missing_package_directory_is_reported(self, tmp_path) -> None:
        with pytest.raises(matching.EmbedderUnavailableError):
            matching.WordLlamaEmbedder(package_dir=tmp_path)


ranking = st.lists(st.integers(0, 30), unique=True, max_size=12)


class TestFusion:
    @given(st.lists(ranking, min_size=1, max_size=4))
    def test_each_item_gets_a_positive_share_from_every_list_it_is_in(self, rankings) -> None:
        fused = matching.rrf(rankings)
        assert set(fused) == {x for r in rankings for x in r}
        for item, score in fused.items():
            expected = sum(1 / (matching.RRF_K + r.index(item) + 1) for r in rankings if item in r)
            assert score == pytest.approx(expected)

    @given(st.lists(ranking, min_size=1, max_size=4), st.randoms())
    def test_the_order_of_the_lists_does_not_matter(self, rankings, rnd) -> None:
        shuffled = list(rankings)
        rnd.shuffle(shuffled)
        a, b = matching.rrf(rankings), matching.rrf(shuffled)
        assert a.keys() == b.keys()
        assert all(a[k] == pytest.approx(b[k]) for k in a)

    @given(st.lists(ranking.filter(lambda r: len(r) > 1), min_size=1, max_size=4))
    def test_first_everywhere_means_best(self, rankings) -> None:
        top = 99
        fused = matching.rrf([[top, *r] for r in rankings])
        assert max(fused, key=fused.__getitem__) == top

    @given(ranking.filter(lambda r: len(r) > 1), st.data())
    def test_moving_an_item_up_never_lowers_its_score(self, r, data) -> None:
        i = data.draw(st.integers(1, len(r) - 1))
        moved = list(r)
        moved[i - 1], moved[i] = moved[i], moved[i - 1]
        assert matching.rrf([moved])[r[i]] > matching.rrf([r])[r[i]]


class TestReranker:
    def test_the_json_round_trip_keeps_the_scores(self) -> None:
        model = matching.Reranker.load(RERANKER)
        again = matching.Reranker.from_json(model.to_json())
        x = np.random.default_rng(1).normal(size=(7, len(matching.FEATURES)))
        assert np.array_equal(model.score(x), again.score(x))
        assert model == again

    def test_a_reranker_for_other_features_is_refused(self) -> None:
        text = matching.Reranker.load(RERANKER).to_json().replace('"bm25"', '"other"', 1)
        with pytest.raises(ValueError):
            matching.Reranker.from_json(text)

    def test_training_prefers_the_positive_feature(self) -> None:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(200, len(matching.FEATURES)))
        y = x[:, 0] > 0.5
        model = matching.train_reranker(x, y)
        assert model.coef[0] == max(model.coef)


words = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=8)
sentence = st.lists(words, min_size=1, max_size=10).map(" ".join)


class TestDifferences:
    @given(st.text(max_size=80))
    def test_a_text_never_differs_from_itself(self, text) -> None:
        assert not matching.differences(text, text).flagged

    @given(st.text(max_size=60), st.text(max_size=60))
    def test_it_is_symmetric(self, a, b) -> None:
        ab, ba = matching.differences(a, b), matching.differences(b, a)
        assert ab.numbers_only_in_query == ba.numbers_only_in_match
        assert ab.negation_differs == ba.negation_differs

    @given(sentence.filter(lambda s: not matching.has_negation(s)))
    def test_negating_one_side_is_flagged(self, text) -> None:
        assert matching.differences(text, "It is not true that " + text).negation_differs
        assert not matching.differences("not " + text, "never " + text).negation_differs

    @given(st.integers(0, 10**9), st.integers(0, 10**9))
    def test_numbers_differ_exactly_when_they_do(self, a, b) -> None:
        d = matching.differences(f"Sales rose by {a} units", f"Sales rose by {b:,} units")
        assert d.numbers_differ == (a != b)

    @given(st.integers(1, 999), st.sampled_from(["thousand", "million", "billion"]))
    def test_a_scaled_amount_is_its_value(self, n, scale) -> None:
        factor = {"thousand": 10**3, "million": 10**6, "billion": 10**9}[scale]
        d = matching.differences(f"The roof cost {n} {scale} dollars", f"It cost {n * factor:,}")
        assert not d.numbers_differ
        assert matching.differences(f"cost {n} {scale}", f"cost {n + 1} {scale}").numbers_differ

    def test_examples(self) -> None:
        assert matching.extract_numbers("1,000 or 1000.0, 3.5% and ten") == {"1000", "3.5", "10"}
        for text in ("40 million", "40,000,000", "$40m", "40.0 million", "forty million"):
            assert matching.extract_numbers(f"The roof cost {text}.") == {"40000000"}, text
        assert matching.extract_numbers("2.5bn and a thousand") == {"2500000000", "1000"}
        assert matching.extract_numbers("a 40 m tall tower") == {"40"}  # metres, not millions
        assert matching.differences("He didn't win.", "He won.").negation_differs
        d = matching.differences("Unemployment is 3.5%", "Unemployment is 4%")
        assert d.numbers_only_in_query == {"3.5"} and d.numbers_only_in_match == {"4"}

    @settings(max_examples=200)
    @given(st.text(max_size=120))
    def test_normalisation_is_idempotent(self, text) -> None:
        once = matching.normalize_text(text)
        assert matching.normalize_text(once) == once


class TestStoredVectorsAndSimilarity:
    def test_stored_vectors_give_the_same_ranking_as_embedding_anew(self, embedder) -> None:
        fresh = _index(embedder, matching.Reranker.load(RERANKER))
        stored = matching.MatchIndex(embedder=embedder, reranker=matching.Reranker.load(RERANKER))
        vectors = stored.embed(CLAIMS)
        assert vectors is not None
        given: list[np.ndarray | None] = list(vectors)
        given[0] = None  # not stored: embedded when added
        given[1] = np.zeros(3, dtype=np.float32)  # the wrong size: embedded again
        stored.add([f"c{i}" for i in range(len(CLAIMS))], CLAIMS, vectors=given)
        query = "Did the governor really cut school funding by a third?"
        assert [(m.key, round(m.score, 6)) for m in stored.search(query, 3)] == [
            (m.key, round(m.score, 6)) for m in fresh.search(query, 3)
        ]

    @given(st.text(min_size=1, max_size=80))
    @settings(max_examples=30, deadline=None)
    def test_a_text_is_fully_similar_to_itself_and_the_measure_is_symmetric(self, text) -> None:
        index = matching.MatchIndex()
        other = "A completely different sentence about rivers."
        assert index.similarity(text, other) == pytest.approx(index.similarity(other, text))
        if matching.normalize_text(text).strip():
            assert index.similarity(text, text) == pytest.approx(1.0, abs=1e-5)

    def test_a_restatement_is_more_similar_than_an_unrelated_text(self, embedder) -> None:
        index = matching.MatchIndex(embedder=embedder)
        ref = "The city spent 40 million dollars on the new stadium roof."
        assert index.similarity(ref, ref) == pytest.approx(1.0, abs=1e-5)
        near = index.similarity("The city spent 45 million dollars on the stadium roof.", ref)
        far = index.similarity("Cats sleep most of the afternoon.", ref)
        assert near > 0.7 > far


WORDS = st.sampled_from(
    [
        "the",
        "city",
        "spent",
        "40",
        "million",
        "dollars",
        "on",
        "a",
        "roof",
        "not",
        "vaccines",
        "Obama",
        "fires",
        "wombat",
        "café",
        "2019",
        "percent",
        "—",
        "lemon",
        "cures",
    ]
)


class TestMostSimilar:
    """``most_similar`` (every text against every entry at once) gives, per text, the
    allowed live entry ``similarity`` rates highest, with ``similarity``'s own number."""

    @given(
        entries=st.lists(
            st.one_of(
                st.sampled_from(CLAIMS), st.lists(WORDS, min_size=0, max_size=12).map(" ".join)
            ),
            min_size=1,
            max_size=12,
        ),
        queries=st.lists(
            st.one_of(
                st.sampled_from(CLAIMS),
                st.lists(WORDS, min_size=0, max_size=12).map(" ".join),
                st.text(max_size=40),
            ),
            min_size=0,
            max_size=6,
        ),
        discarded=st.sets(st.integers(0, 11), max_size=4),
        refused=st.sets(st.integers(0, 11), max_size=4),
        semantic=st.booleans(),
        compact=st.booleans(),
        chunk=st.integers(1, 4),
    )
    @settings(max_examples=60, deadline=None)
    def test_the_batch_answer_is_the_best_allowed_pairwise_similarity(
        self, embedder, entries, queries, discarded, refused, semantic, compact, chunk
    ) -> None:
        index = matching.MatchIndex(embedder=embedder if semantic else None)
        half = len(entries) // 2
        keys = list(range(len(entries)))
        # Two batches, so that a compacted index has a term-major block and a tail.
        index.add(keys[:half], entries[:half])
        if compact:
            index.compact()
        index.add(keys[half:], entries[half:])
        for key in discarded:
            index.discard(key)
        allowed_keys = [k for k in keys if k not in discarded and k not in refused]
        found = index.most_similar(queries, allowed=lambda k: k not in refused, chunk=chunk)
        assert len(found) == len(queries)
        for query, hit in zip(queries, found, strict=True):
            if not allowed_keys:
                assert hit is None
                continue
            assert hit is not None
            assert hit.key in allowed_keys
            assert hit.text == entries[hit.key]
            assert hit.similarity == pytest.approx(index.similarity(query, hit.text), abs=1e-6)
            best = max(index.similarity(query, entries[k]) for k in allowed_keys)
            assert hit.similarity == pytest.approx(best, abs=1e-6)

    def test_a_verbatim_claim_finds_itself_among_many(self, embedder) -> None:
        index = _index(embedder)
        index.discard("c3")
        found = index.most_similar(
            [CLAIMS[0], CLAIMS[3], "Cats sleep most of the afternoon."],
            allowed=lambda key: key != "c1",
        )
        assert found[0] is not None and found[0].key == "c0"
        assert found[0].similarity == pytest.approx(1.0, abs=1e-5)
        assert found[1] is not None and found[1].key != "c3"  # discarded
        assert found[1].similarity < 0.7
        assert found[2] is not None and found[2].similarity < 0.4
        assert index.most_similar([CLAIMS[1]], allowed=lambda key: False) == [None]


class TestPlainView:
    """The query's second view: a post's links, tweet signature and #/@ markers removed;
    the claim's words kept."""

    def test_a_tweet_loses_its_links_signature_and_markers(self) -> None:
        tweet = (
            "Wombats are herding animals into burrows #AustraliaFires @BBC "
            "https://t.co/abc123 pic.twitter.com/xyz — Jane Doe (@jane_doe) January 14, 2020"
        )
        plain = matching.normalize_text(matching.plain_view(tweet))
        assert plain == "Wombats are herding animals into burrows AustraliaFires BBC"

    def test_a_tweets_signature_date_is_no_number_difference(self) -> None:
        index = _index()
        tweet = (
            "Unemployment fell to 3.5 percent, the lowest in fifty years! https://t.co/x1 "
            "— Jane Doe (@janedoe) May 3, 2024"
        )
        [best] = index.search(tweet, 1)
        assert best.text == CLAIMS[18]
        assert not best.differences.numbers_differ, best.differences

    def test_a_sentence_without_them_is_unchanged(self) -> None:
        text = "Unemployment fell to 3.5 percent — the lowest in fifty years."
        assert matching.plain_view(text) == text

    @given(sentence)
    def test_plain_words_are_kept(self, text: str) -> None:
        assert matching.plain_view(text) == text

    @given(st.text(max_size=200), st.sampled_from(["https://t.co/", "http://x.example/a?b="]))
    def test_no_link_survives(self, text: str, link: str) -> None:
        plain = matching.plain_view(f"{text} {link}{text.split()[0] if text.split() else 'x'}")
        assert re.search(r"https?://\S", plain) is None

    def test_the_plain_view_is_what_the_plain_features_score(self, embedder) -> None:
        index = _index(embedder)
        plain_cols = [matching.FEATURES.index(f"plain_{name}") for name in ("bm25", "chars")]
        own_cols = [matching.FEATURES.index(name) for name in ("bm25", "chars")]
        # Without anything to strip, both views score the same.
        _, x = index.candidate_features(CLAIMS[3])
        assert np.array_equal(x[:, plain_cols], x[:, own_cols])
        # A tweet's link and signature change the full view's scores, not the plain one's.
        tweet = CLAIMS[3] + " https://t.co/zz9 — A Person (@aperson) March 3, 2020"
        cand, x = index.candidate_features(tweet)
        plain_cand, plain_x = index.candidate_features(CLAIMS[3])
        common = np.intersect1d(cand, plain_cand)
        assert common.size > 0
        rows = np.searchsorted(cand, common)
        plain_rows = np.searchsorted(plain_cand, common)
        assert np.allclose(x[rows][:, plain_cols[0]], plain_x[plain_rows][:, own_cols[0]])

    @settings(max_examples=40, deadline=None)
    @given(
        st.sampled_from(CLAIMS),
        st.lists(st.sampled_from(["#Fires", "@nasa", "https://t.co/q1", "#wombat"]), max_size=3),
        st.booleans(),
    )
    def test_the_plain_signals_equal_the_full_computation(
        self, embedder, claim: str, extras: list[str], signed: bool
    ) -> None:
        index = _INDEXES.setdefault("embedded", _index(embedder))
        tweet = " ".join([claim, *extras])
        if signed:
            tweet += " — Jo Smith (@jo_smith) May 2, 2021"
        plain = matching.normalize_text(matching.plain_view(tweet))
        cand = np.arange(len(CLAIMS), dtype=np.int64)[::2]
        bm25, semantic, chars, words = index._plain_at(cand, plain)
        direct, _ = index._signals(plain)
        assert np.allclose(semantic, direct[1][cand], atol=1e-5)
        for got, want in zip((bm25, chars, words), (direct[0], direct[2], direct[3]), strict=True):
            assert np.array_equal(got, want), tweet


_INDEXES: dict[str, matching.MatchIndex] = {}
