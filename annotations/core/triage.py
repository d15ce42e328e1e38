"""Check-worthiness triage: split a text into sentences with exact offsets and rank them by
how worth checking they are.

Pure Python + numpy/scipy/scikit-learn (no Django).

* :func:`split_sentences` returns ``Sentence(start, end, text)`` with ``text ==
  original[start:end]`` for any text (code-point offsets, the convention of
  ``annotations.core.spans``): a suggestion can be turned into a claim on that exact span.
* :class:`TriageModel` scores sentences: a logistic regression over TF-IDF of words and of
  character 2- to 5-grams (hashed, IDF from the training sentences) plus, weighted, one
  over a few surface cues (length, numbers, percentages, years, large-number words,
  comparatives, first person, negation, questions) and, when an embedder is given, the
  sentence's static embedding and its neighbours' (the sentence before and after in the
  same text). Trained on the
  CLEF-2019 CheckThat! Task 1 debates (``fixtures/checkthat/``; measured by
  ``bench/bench_triage.py``), saved as a compressed ``.npz`` of plain arrays (no pickle).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from annotations.core.matching import Embedder, has_negation

__all__ = [
    "Sentence",
    "TriageModel",
    "cue_features",
    "split_sentences",
]

FORMAT_VERSION = 1

# --- sentence splitting --------------------------------------------------------------------

# A sentence ends at a terminator run (with closing quotes/brackets after it) followed by
# whitespace or the end of the text; CJK full-width terminators end one even without a
# following space; a line break always ends one.
_END = re.compile(
    r"""(?:[.!?\u2026\u203c\u2047-\u2049]+['"\u2019\u201d)\]\u00bb]*(?=\s|$)"""
    r"""|[\u3002\uff01\uff1f\uff61]+['"\u2019\u201d)\]\u300d\u300f\uff09]*"""
    r"""|\u06d4|\u061f(?=\s|$))"""
    r"""|\n"""
)
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "no",
        "gov",
        "sen",
        "rep",
        "gen",
        "col",
        "lt",
        "sgt",
        "inc",
        "ltd",
        "co",
        "corp",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "approx",
        "fig",
        "p",
        "pp",
        "vol",
    }
)
_LAST_WORD = re.compile(r"([^\W\d_]+(?:\.[^\W\d_]+)*)\.$")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def _is_abbreviation(text: str, dot_end: int) -> bool:
    """Whether the '.' ending at ``dot_end`` closes an abbreviation or an initial."""
    m = _LAST_WORD.search(text, max(0, dot_end - 20), dot_end)
    if m is None:
        return False
    word = m.group(1)
    if "." in word:  # U.S., e.g., i.e.
        return True
    return word.casefold() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text``, in order, without surrounding whitespace, each with
    ``text[start:end] == sentence.text``. Every non-whitespace character of ``text`` is in
    exactly one sentence."""
    out: list[Sentence] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end()
        if m.group() == "\n":
            end = m.start()
        elif m.group().rstrip("'\"\u2019\u201d)]\u00bb") == "." and _is_abbreviation(
            text, m.start() + 1
        ):
            continue
        _append(out, text, start, end)
        start = m.end()
    _append(out, text, start, len(text))
    return out


def _append(out: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append(Sentence(start, end, text[start:end]))


# --- features ------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_BIG = frozenset({"million", "millions", "billion", "billions", "trillion", "thousand", "hundred"})
_PERCENT = frozenset({"percent", "per", "cent", "%"})
_FIRST = frozenset({"i", "we", "my", "our"})
_SECOND = frozenset({"you", "your"})
_FUTURE = frozenset({"will", "would", "should", "going", "gonna"})
_COMPARE = frozenset({"more", "less", "fewer", "most", "least", "than", "increase", "decrease"})

CUES: tuple[str, ...] = (
    "words",
    "log_words",
    "digit",
    "percent",
    "question",
    "capitalised_share",
    "big_number",
    "first_person",
    "second_person",
    "negation",
    "year",
    "future",
    "comparative",
)


def cue_features(sentence: str) -> list[float]:
    """Surface cues of a sentence, in the order of :data:`CUES`."""
    words = sentence.split()
    tokens = [t.casefold() for t in _TOKEN.findall(sentence)]
    token_set = set(tokens)
    n = len(words)
    return [
        float(n),
        float(np.log1p(n)),
        float(bool(_DIGIT.search(sentence))),
        float("%" in sentence or bool(token_set & _PERCENT)),
        float(sentence.rstrip().endswith("?")),
        sum(1 for w in words[1:] if w[:1].isupper()) / (n + 1),
        float(bool(token_set & _BIG)),
        float(bool(token_set & _FIRST)),
        float(bool(token_set & _SECOND)),
        float(has_negation(sentence)),
        float(bool(_YEAR.search(sentence))),
        float(bool(token_set & _FUTURE)),
        float(bool(token_set & _COMPARE) or any(t.endswith("est") and len(t) > 5 for t in tokens)),
    ]


def _hashers() -> tuple[HashingVectorizer, HashingVectorizer]:
    common: dict[str, Any] = {
        "n_features": 2**20,
        "alternate_sign": False,
        "norm": None,
        "dtype": np.float32,
    }
    return (
        HashingVectorizer(**common),
        HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common),
    )


def _tfidf(counts: sp.csr_matrix, idf: npt.NDArray[np.float32]) -> sp.csr_matrix:
    out = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    out.data = (1.0 + np.log(out.data)) * idf[out.indices]
    lengths = np.diff(out.indptr)
    rows = np.repeat(np.arange(out.shape[0]), lengths)
    sq = np.bincount(rows, weights=out.data.astype(np.float64) ** 2, minlength=out.shape[0])
    norms = np.ones(out.shape[0], dtype=np.float32)
    nonzero = sq > 0
    norms[nonzero] = np.sqrt(sq[nonzero]).astype(np.float32)
    out.data /= np.repeat(norms, lengths)
    return out


def _neighbours(vectors: npt.NDArray[np.float32], groups: Sequence[Any]) -> npt.NDArray[np.float32]:
    """Each row's previous and next row within its group (zeros at a group's edges)."""
    n = len(vectors)
    prev = np.zeros_like(vectors)
    nxt = np.zeros_like(vectors)
    if n:
        same_prev = np.array([i > 0 and groups[i - 1] == groups[i] for i in range(n)])
        same_next = np.array([i + 1 < n and groups[i + 1] == groups[i] for i in range(n)])
        prev[1:][same_prev[1:]] = vectors[:-1][same_prev[1:]]
        nxt[:-1][same_next[:-1]] = vectors[1:][same_next[:-1]]
    return np.hstack([prev, nxt])


@dataclass
class TriageModel:
    """A trained check-worthiness scorer: ``score`` = text logit + ``dense_weight`` x dense
    logit (higher = more worth checking; only the order within a text matters).

    Two logistic regressions, fitted separately because one over both feature kinds was
    too slow to validate (the dense columns made the sparse solver crawl): one over the
    hashed TF-IDF of words and character 2- to 5-grams, one over the standardised dense
    features (:data:`CUES`, and with an embedder the sentence's embedding and its
    neighbours')."""

    idf_words: npt.NDArray[np.float32]
    idf_chars: npt.NDArray[np.float32]
    text_coef: npt.NDArray[np.float32]  # words (2**20) | chars (2**20)
    text_intercept: float
    dense_coef: npt.NDArray[np.float32]
    dense_intercept: float
    dense_mean: npt.NDArray[np.float32]
    dense_scale: npt.NDArray[np.float32]
    uses_embeddings: bool
    dense_weight: float = 1.0

    # -- features --

    @staticmethod
    def _dense(
        texts: Sequence[str], groups: Sequence[Any], embedder: Embedder | None
    ) -> npt.NDArray[np.float32]:
        cues = np.array([cue_features(t) for t in texts], dtype=np.float32).reshape(
            len(texts), len(CUES)
        )
        if embedder is None:
            return cues
        vectors = embedder.embed(list(texts))
        return np.hstack([cues, vectors, _neighbours(vectors, groups)]).astype(np.float32)

    def _text_matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        words, chars = _hashers()
        return sp.csr_matrix(
            sp.hstack(
                [
                    _tfidf(words.transform(texts), self.idf_words),
                    _tfidf(chars.transform(texts), self.idf_chars),
                ],
                format="csr",
            )
        )

    # -- training and scoring --

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        *,
        groups: Sequence[Any] | None = None,
        embedder: Embedder | None = None,
        c: float = 1.0,
        dense_c: float = 0.1,
        dense_weight: float = 1.0,
    ) -> TriageModel:
        """Fit on sentences and 0/1 labels. ``groups`` names each sentence's text (its
        neighbours are taken within it); by default all sentences are one text."""
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        y = np.asarray(labels, dtype=np.int8)
        if len(set(y.tolist())) != 2:
            raise ValueError("training needs both check-worthy and other sentences")
        groups = list(groups) if groups is not None else [0] * len(texts)
        words, chars = _hashers()
        idfs = []
        for vec in (words, chars):
            counts = vec.transform(texts)
            df = np.bincount(counts.indices, minlength=2**20).astype(np.float32)
            idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
            idf[df == 0] = 0.0  # unseen hashes carry no weight (and no learned coefficient)
            idfs.append(idf.astype(np.float32))
        dense = cls._dense(texts, groups, embedder)
        mean = dense.mean(axis=0)
        scale = dense.std(axis=0)
        scale[scale == 0] = 1.0
        model = cls(
            idf_words=idfs[0],
            idf_chars=idfs[1],
            text_coef=np.zeros(0, np.float32),
            text_intercept=0.0,
            dense_coef=np.zeros(0, np.float32),
            dense_intercept=0.0,
            dense_mean=mean.astype(np.float32),
            dense_scale=scale.astype(np.float32),
            uses_embeddings=embedder is not None,
            dense_weight=dense_weight,
        )
        text_lr = LogisticRegression(C=c, max_iter=3000).fit(model._text_matrix(texts), y)
        model.text_coef = text_lr.coef_[0].astype(np.float32)
        model.text_intercept = float(text_lr.intercept_[0])
        dense_lr = LogisticRegression(C=dense_c, max_iter=3000).fit((dense - mean) / scale, y)
        model.dense_coef = dense_lr.coef_[0].astype(np.float32)
        model.dense_intercept = float(dense_lr.intercept_[0])
        return model

    def score(
        self,
        texts: Sequence[str],
        *,
        groups: Sequence[Any] | None = None,
        embedder: Embedder | None = None,
    ) -> npt.NDArray[np.float64]:
        """One score per sentence (consecutive sentences of one text by default)."""
        if self.uses_embeddings and embedder is None:
            raise ValueError("this model was trained with embeddings: pass the embedder")
        if not texts:
            return np.zeros(0)
        groups = list(groups) if groups is not None else [0] * len(texts)
        text_logit = self._text_matrix(texts) @ self.text_coef.astype(np.float64)
        dense = self._dense(texts, groups, embedder if self.uses_embeddings else None)
        dense_logit = ((dense - self.dense_mean) / self.dense_scale) @ self.dense_coef
        return np.asarray(
            text_logit
            + self.text_intercept
            + self.dense_weight * (dense_logit.astype(np.float64) + self.dense_intercept),
            dtype=np.float64,
        )

    def rank_text(
        self, text: str, *, embedder: Embedder | None = None
    ) -> list[tuple[Sentence, float]]:
        """The sentences of ``text`` with their scores, best first (ties in text order)."""
        sentences = split_sentences(text)
        scores = self.score([s.text for s in sentences], embedder=embedder)
        order = np.lexsort((np.arange(len(sentences)), -scores))
        return [(sentences[i], float(scores[i])) for i in order]

    # -- persistence --

    _SPARSE = ("idf_words", "idf_chars", "text_coef")

    def save(self, path: Path) -> int:
        """Write the model as a compressed ``.npz`` of plain arrays (the large vectors
        stored sparse); returns its size in bytes."""
        arrays: dict[str, npt.NDArray[Any]] = {
            "format": np.array([FORMAT_VERSION]),
            "scalars": np.array(
                [self.text_intercept, self.dense_intercept, self.dense_weight], dtype=np.float64
            ),
            "dense_coef": self.dense_coef,
            "dense_mean": self.dense_mean,
            "dense_scale": self.dense_scale,
            "uses_embeddings": np.array([self.uses_embeddings]),
            "text_coef_size": np.array([self.text_coef.size]),
        }
        for name in self._SPARSE:
            values = getattr(self, name)
            nz = np.flatnonzero(values).astype(np.int32)
            arrays[f"{name}_index"] = nz
            arrays[f"{name}_value"] = values[nz].astype(np.float32)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        path.write_bytes(buffer.getvalue())
        return len(buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> TriageModel:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"][0]) != FORMAT_VERSION:
                raise ValueError(f"unknown triage model format {int(data['format'][0])}")

            def dense(name: str, size: int) -> npt.NDArray[np.float32]:
                out = np.zeros(size, dtype=np.float32)
                out[data[f"{name}_index"]] = data[f"{name}_value"]
                return out

            text_intercept, dense_intercept, dense_weight = (float(v) for v in data["scalars"])
            return cls(
                idf_words=dense("idf_words", 2**20),
                idf_chars=dense("idf_chars", 2**20),
                text_coef=dense("text_coef", int(data["text_coef_size"][0])),
                text_intercept=text_intercept,
                dense_coef=data["dense_coef"].astype(np.float32),
                dense_intercept=dense_intercept,
                dense_mean=data["dense_mean"].astype(np.float32),
                dense_scale=data["dense_scale"].astype(np.float32),
                uses_embeddings=bool(data["uses_embeddings"][0]),
                dense_weight=dense_weight,
            )
