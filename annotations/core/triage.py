"""Check-worthiness triage: split a text into sentences with exact offsets and rank them by
how worth checking they are.

Pure Python + numpy/scipy/scikit-learn (no Django).

* :func:`split_sentences` returns ``Sentence(start, end, text)`` with ``text ==
  original[start:end]`` for any text (code-point offsets, the convention of
  ``annotations.core.spans``): a suggestion can be turned into a claim on that exact span.
* :class:`TriageModel` scores sentences: a logistic regression over TF-IDF of words and of
  character 2- to 5-grams (hashed, IDF from the training sentences), plus weighted: the
  similarity to the nearest check-worthy training sentences, the speaker's record (when
  known) and a few surface cues (length, numbers, percentages, years, large-number words,
  comparatives, first person, negation, questions). Trained on the CLEF-2019 CheckThat!
  Task 1 debates (``fixtures/checkthat/``; measured by ``bench/bench_triage.py``), saved
  as a compressed ``.npz`` of plain arrays (no pickle).

numpy, scipy and scikit-learn are imported inside the functions that use them: the sentence
splitter and the provider helpers are imported by every web worker, which should not load
them until a model is used (``tests/test_lazy_imports.py``).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annotations.core.matching import has_negation

if TYPE_CHECKING:  # numpy, scipy and scikit-learn load on first use (see the docstring)
    import numpy as np
    import numpy.typing as npt
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

__all__ = [
    "ProviderAnswerError",
    "Scored",
    "Sentence",
    "TriageModel",
    "cue_features",
    "provider_answer_parse",
    "provider_request",
    "ranked",
    "split_sentences",
    "suggestion_problem",
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
    import numpy as np

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
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer

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
    import numpy as np
    import scipy.sparse as sp

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


_SPEAKER_PRIOR = 20.0  # pseudo-sentences at the overall rate behind each speaker's rate


@dataclass
class TriageModel:
    """A trained check-worthiness scorer (higher = more worth checking; only the order of
    sentences within one text matters). The score adds up:

    * the logit of a logistic regression over hashed TF-IDF of words and of character
      2- to 5-grams;
    * ``knn_weight`` x the mean cosine (character n-gram TF-IDF) of the sentence to its
      ``knn_k`` nearest check-worthy training sentences: speakers repeat their claims
      from one speech to the next;
    * ``speaker_weight`` x the speaker's smoothed log-odds of check-worthy sentences in the
      training data, when the caller knows the speaker (0 for an unknown one);
    * ``cue_weight`` x the logit of a small logistic regression over :data:`CUES`.

    Embeddings (WordLlama, of the sentence and of its neighbours) were measured too and
    made the ranking worse (bench/README.md), so the model does not use them."""

    idf_words: npt.NDArray[np.float32]
    idf_chars: npt.NDArray[np.float32]
    text_coef: npt.NDArray[np.float32]  # words (2**20) | chars (2**20)
    text_intercept: float
    positives: sp.csr_matrix  # character TF-IDF rows of the check-worthy training sentences
    speakers: dict[str, float]  # speaker (casefolded) -> log-odds relative to the base rate
    cue_coef: npt.NDArray[np.float32]
    cue_mean: npt.NDArray[np.float32]
    cue_scale: npt.NDArray[np.float32]
    knn_k: int = 1
    knn_weight: float = 2.0
    speaker_weight: float = 0.0
    cue_weight: float = 0.25

    # -- features --

    def _chars(self, texts: Sequence[str]) -> sp.csr_matrix:
        return _tfidf(_hashers()[1].transform(texts), self.idf_chars)

    def _text_matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        import scipy.sparse as sp

        words = _hashers()[0]
        return sp.csr_matrix(
            sp.hstack(
                [_tfidf(words.transform(texts), self.idf_words), self._chars(texts)],
                format="csr",
            )
        )

    @staticmethod
    def _cues(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        return np.array([cue_features(t) for t in texts], dtype=np.float32).reshape(
            len(texts), len(CUES)
        )

    # -- training and scoring --

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        *,
        speakers: Sequence[str] | None = None,
        c: float = 1.0,
        **weights: Any,
    ) -> TriageModel:
        """Fit on sentences and 0/1 labels (and, if known, each sentence's speaker).
        ``weights``: ``knn_k``, ``knn_weight``, ``speaker_weight``, ``cue_weight``."""
        import numpy as np
        import scipy.sparse as sp
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(labels) or (speakers is not None and len(speakers) != len(texts)):
            raise ValueError("texts, labels and speakers differ in length")
        y = np.asarray(labels, dtype=np.int8)
        if len(set(y.tolist())) != 2:
            raise ValueError("training needs both check-worthy and other sentences")
        words, chars = _hashers()
        idfs = []
        for vec in (words, chars):
            counts = vec.transform(texts)
            df = np.bincount(counts.indices, minlength=2**20).astype(np.float32)
            idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
            idf[df == 0] = 0.0  # unseen hashes carry no weight (and no learned coefficient)
            idfs.append(idf.astype(np.float32))
        base = float(y.mean())
        speaker_odds: dict[str, float] = {}
        if speakers is not None:
            counts_by: dict[str, list[int]] = {}
            for name, label in zip(speakers, y.tolist(), strict=True):
                counts_by.setdefault(name.strip().casefold(), []).append(label)
            for name, seen in counts_by.items():
                rate = (sum(seen) + _SPEAKER_PRIOR * base) / (len(seen) + _SPEAKER_PRIOR)
                speaker_odds[name] = float(np.log(rate / (1 - rate)) - np.log(base / (1 - base)))
        cues = cls._cues(texts)
        mean = cues.mean(axis=0)
        scale = cues.std(axis=0)
        scale[scale == 0] = 1.0
        model = cls(
            idf_words=idfs[0],
            idf_chars=idfs[1],
            text_coef=np.zeros(0, np.float32),
            text_intercept=0.0,
            positives=sp.csr_matrix((0, 2**20), dtype=np.float32),
            speakers=speaker_odds,
            cue_coef=np.zeros(len(CUES), np.float32),
            cue_mean=mean.astype(np.float32),
            cue_scale=scale.astype(np.float32),
            **weights,
        )
        text = model._text_matrix(texts)
        text_lr = LogisticRegression(C=c, max_iter=3000).fit(text, y)
        model.text_coef = text_lr.coef_[0].astype(np.float32)
        model.text_intercept = float(text_lr.intercept_[0])
        model.positives = sp.csr_matrix(text[np.flatnonzero(y == 1)][:, 2**20 :])
        cue_lr = LogisticRegression(C=0.1, max_iter=3000).fit((cues - mean) / scale, y)
        model.cue_coef = cue_lr.coef_[0].astype(np.float32)
        return model

    def score(
        self, texts: Sequence[str], *, speakers: Sequence[str | None] | None = None
    ) -> npt.NDArray[np.float64]:
        """One score per sentence."""
        import numpy as np

        if not texts:
            return np.zeros(0)
        if speakers is not None and len(speakers) != len(texts):
            raise ValueError("texts and speakers differ in length")
        text = self._text_matrix(texts)
        out = text @ self.text_coef.astype(np.float64) + self.text_intercept
        if self.knn_weight and self.positives.shape[0]:
            sims = (text[:, 2**20 :] @ self.positives.T).toarray()
            k = min(self.knn_k, sims.shape[1])
            out += self.knn_weight * np.sort(sims, axis=1)[:, -k:].mean(axis=1)
        if self.speaker_weight and speakers is not None:
            out += self.speaker_weight * np.array(
                [self.speakers.get((s or "").strip().casefold(), 0.0) for s in speakers]
            )
        if self.cue_weight:
            cues = (self._cues(texts) - self.cue_mean) / self.cue_scale
            out += self.cue_weight * (cues @ self.cue_coef.astype(np.float64))
        return np.asarray(out, dtype=np.float64)

    def rank_text(self, text: str) -> list[tuple[Sentence, float]]:
        """The sentences of ``text`` with their scores, best first (ties in text order)."""
        import numpy as np

        sentences = split_sentences(text)
        scores = self.score([s.text for s in sentences])
        order = np.lexsort((np.arange(len(sentences)), -scores))
        return [(sentences[i], float(scores[i])) for i in order]

    # -- persistence --

    _SPARSE = ("idf_words", "idf_chars", "text_coef")
    _SCALARS = ("text_intercept", "knn_weight", "speaker_weight", "cue_weight")

    def save(self, path: Path) -> int:
        """Write the model as a compressed ``.npz`` of plain arrays (no pickle; the large
        vectors stored sparse); returns its size in bytes."""
        import numpy as np

        names = sorted(self.speakers)
        arrays: dict[str, npt.NDArray[Any]] = {
            "format": np.array([FORMAT_VERSION]),
            "scalars": np.array([getattr(self, n) for n in self._SCALARS], dtype=np.float64),
            "knn_k": np.array([self.knn_k]),
            "text_coef_size": np.array([self.text_coef.size]),
            "positives_data": self.positives.data.astype(np.float32),
            "positives_indices": self.positives.indices.astype(np.int32),
            "positives_indptr": self.positives.indptr.astype(np.int64),
            "speaker_names": np.array(names, dtype=np.str_),
            "speaker_odds": np.array([self.speakers[n] for n in names], dtype=np.float64),
            "cue_coef": self.cue_coef,
            "cue_mean": self.cue_mean,
            "cue_scale": self.cue_scale,
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
        import numpy as np
        import scipy.sparse as sp

        with np.load(path, allow_pickle=False) as data:
            if int(data["format"][0]) != FORMAT_VERSION:
                raise ValueError(f"unknown triage model format {int(data['format'][0])}")

            def dense(name: str, size: int) -> npt.NDArray[np.float32]:
                out = np.zeros(size, dtype=np.float32)
                out[data[f"{name}_index"]] = data[f"{name}_value"]
                return out

            text_intercept, knn_weight, speaker_weight, cue_weight = (
                float(v) for v in data["scalars"]
            )
            indptr = data["positives_indptr"]
            return cls(
                idf_words=dense("idf_words", 2**20),
                idf_chars=dense("idf_chars", 2**20),
                text_coef=dense("text_coef", int(data["text_coef_size"][0])),
                text_intercept=text_intercept,
                positives=sp.csr_matrix(
                    (data["positives_data"], data["positives_indices"], indptr),
                    shape=(len(indptr) - 1, 2**20),
                ),
                speakers=dict(
                    zip(
                        (str(n) for n in data["speaker_names"]),
                        (float(v) for v in data["speaker_odds"]),
                        strict=True,
                    )
                ),
                cue_coef=data["cue_coef"].astype(np.float32),
                cue_mean=data["cue_mean"].astype(np.float32),
                cue_scale=data["cue_scale"].astype(np.float32),
                knn_k=int(data["knn_k"][0]),
                knn_weight=knn_weight,
                speaker_weight=speaker_weight,
                cue_weight=cue_weight,
            )


# --- suggestions from any provider ---------------------------------------------------------
#
# Whatever ranks the sentences (the built-in model, a project's HTTP endpoint), what it
# suggests must be a span of the document's text that says what the suggestion quotes:
# accepting one creates a claim on exactly that span.

MAX_PROVIDER_SUGGESTIONS = 100_000


@dataclass(frozen=True)
class Scored:
    """A suggested span ``[start, end)`` (code points), the text there and its score."""

    start: int
    end: int
    text: str
    score: float


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def suggestion_problem(text: str, start: object, end: object, quoted: object) -> str | None:
    """Why the suggestion ``[start, end)`` quoting ``quoted`` is not a span of ``text``
    saying exactly that (None when it is): offsets must be whole numbers with
    ``0 <= start < end <= len(text)`` and ``text[start:end] == quoted``."""
    if not _is_int(start) or not _is_int(end):
        return "start and end must be whole numbers"
    assert isinstance(start, int) and isinstance(end, int)
    if not 0 <= start < end <= len(text):
        return f"[{start}, {end}) is not a span of a text of {len(text)} characters"
    if not isinstance(quoted, str):
        return "the quoted text must be a string"
    if text[start:end] != quoted:
        return f"the text at [{start}, {end}) is not the quoted text"
    return None


def ranked(items: Sequence[Scored]) -> list[Scored]:
    """``items`` best first; equal scores in text order."""
    return sorted(items, key=lambda item: (-item.score, item.start, item.end))


class ProviderAnswerError(ValueError):
    """A provider's answer does not follow the contract; the message says where."""


def provider_request(
    *, document_id: int, revision: int, language: str, text: str, sentences: Sequence[Sentence]
) -> dict[str, Any]:
    """The JSON body sent to a project's HTTP provider (the documented contract)."""
    return {
        "document_id": document_id,
        "revision": revision,
        "language": language,
        "text": text,
        "sentences": [{"start": s.start, "end": s.end, "text": s.text} for s in sentences],
    }


def _score(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderAnswerError(f"{where}: a score must be a number")
    score = float(value)
    if not math.isfinite(score):
        raise ProviderAnswerError(f"{where}: a score must be finite")
    return score


def provider_answer_parse(
    answer: object, *, text: str, sentences: Sequence[Sentence]
) -> list[Scored]:
    """The suggestions in a provider's decoded JSON ``answer``, checked strictly (any
    deviation raises ProviderAnswerError; nothing of a bad answer is used):

    * ``{"scores": [s0, s1, ...]}``: one finite number per sentence sent, in order; or
    * ``{"suggestions": [{"start", "end", "text", "score"}, ...]}``: spans of ``text`` in
      code points, each quoting exactly the text there (``suggestion_problem``), no span
      twice.

    No other keys. Returns them in the order given."""
    if not isinstance(answer, dict) or len(answer) != 1:
        raise ProviderAnswerError('the answer must be {"scores": [...]} or {"suggestions": [...]}')
    ((key, items),) = answer.items()
    if not isinstance(items, list):
        raise ProviderAnswerError(f"{key}: must be a list")
    if key == "scores":
        if len(items) != len(sentences):
            raise ProviderAnswerError(f"scores: {len(items)} scores for {len(sentences)} sentences")
        out = []
        for index, (sentence, value) in enumerate(zip(sentences, items, strict=True)):
            problem = suggestion_problem(text, sentence.start, sentence.end, sentence.text)
            if problem is not None:  # the sentences are ours; this is a bug upstream
                raise ProviderAnswerError(f"sentence {index}: {problem}")
            out.append(
                Scored(
                    sentence.start, sentence.end, sentence.text, _score(value, f"scores.{index}")
                )
            )
        return out
    if key != "suggestions":
        raise ProviderAnswerError(f"unknown key {key[:40]!r}: use scores or suggestions")
    if len(items) > MAX_PROVIDER_SUGGESTIONS:
        raise ProviderAnswerError(f"suggestions: more than {MAX_PROVIDER_SUGGESTIONS:,}")
    seen: set[tuple[int, int]] = set()
    out = []
    for index, item in enumerate(items):
        where = f"suggestions.{index}"
        if not isinstance(item, dict) or set(item) != {"start", "end", "text", "score"}:
            raise ProviderAnswerError(f"{where}: must be an object with start, end, text, score")
        problem = suggestion_problem(text, item["start"], item["end"], item["text"])
        if problem is not None:
            raise ProviderAnswerError(f"{where}: {problem}")
        span = (item["start"], item["end"])
        if span in seen:
            raise ProviderAnswerError(f"{where}: the span [{span[0]}, {span[1]}) comes twice")
        seen.add(span)
        out.append(Scored(item["start"], item["end"], item["text"], _score(item["score"], where)))
    return out
