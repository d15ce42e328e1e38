"""Claim matching: rank earlier fact-checks (references) against a new text.

Pure Python + numpy/scipy/scikit-learn (no Django). Four signals are computed for every
indexed entry and fused:

* **BM25** over hashed words (English stop words dropped), computed exactly at query time
  from term-major postings, so adding entries never needs a re-weighting pass;
* **character n-grams** (3 to 5, inside word boundaries) and **word uni+bigrams**: documents
  hold l2-normalised sublinear term frequencies, the query carries the IDF (from document
  frequencies kept up to date on every add), a cosine-like score;
* **semantic**: mean-pooled static token embeddings from the ``wordllama`` wheel, whose
  256-d ``l2_supercat`` weights and tokenizer ship *inside* the wheel; they are read from
  the installed package files directly (``safetensors`` + ``tokenizers``), so nothing is
  ever downloaded and wordllama's own loader (which would try to download, and looks for
  its tokenizer in the wrong folder) is not used.

Fusion: a small learned re-ranker (logistic regression over per-candidate features, trained
on the CheckThat! 2020 *train* split, stored as a JSON of coefficients: see
``bench/bench_matching.py --train``) when one is given, else reciprocal rank fusion.

The index supports incremental ``add`` and ``discard`` (a tombstone). Postings are kept
in blocks merged geometrically (like a binary counter), so adding entries one at a time
costs O(log N) amortised and a query touches O(log N) blocks.

:func:`differences` flags what a match may get wrong even when it is worded alike: numbers
that differ, and negation on one side only. Nothing is ever merged on a match: the score
is a suggestion for a person.

numpy, scipy and scikit-learn are imported inside the functions that use them, not at the
top: the text helpers (``normalize_text``, ``differences``, ...) are imported by every web
worker, which must not pay ~100 MB for libraries only an index build or a search needs
(``tests/test_lazy_imports.py``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:  # numpy, scipy and scikit-learn load on first use (see the docstring)
    import numpy as np
    import numpy.typing as npt
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

    FloatArray = npt.NDArray[np.float32]

__all__ = [
    "FEATURES",
    "Differences",
    "EmbedderUnavailableError",
    "Match",
    "MatchIndex",
    "Reranker",
    "WordLlamaEmbedder",
    "differences",
    "extract_numbers",
    "has_negation",
    "normalize_text",
    "plain_view",
    "rrf",
    "train_reranker",
]

N_FEATURES = 2**20  # hashed vocabulary size of each lexical signal
BM25_K1 = 1.5
BM25_B = 0.75
# Candidates taken from the top of each signal before fusion.
DEFAULT_CANDIDATES = 30
# Character n-grams found in more than this share of the entries (" th", "the ", "ion")
# are skipped at query time: at 100k entries their postings made up most of a query's
# time (bench/README.md). Below the cap's count nothing is skipped.
CHARS_MAX_DF_SHARE = 0.05
CHARS_MIN_DF_CAP = 1_000
RRF_K = 10  # small k: the top ranks of each list dominate (measured on train; see bench/README)

# --- normalisation -------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2032": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC, typographic quotes and dashes made plain, whitespace runs collapsed, trimmed.
    Case is kept (the vectorisers fold it; the flags need the original words)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _SPACE.sub(" ", text).strip()


# A second view of a query: the claim without what a social-media post wraps it in (links,
# the trailing "— Name (@handle) Month D, YYYY" signature of an embedded tweet, the # and @
# markers). Each signal is computed for both views and the re-ranker weighs them: the
# author's name often helps (it is what the fact check names), the links and the date
# only add noise (bench/README.md: +0.02 MAP@5 on CheckThat! 2020 dev).
_SIGNATURE = re.compile(r"\u2014\s*[^\u2014]*\(@\w+\)\s*\w+ \d+, \d{4}\s*$")
_LINK = re.compile(r"(?:pic\.twitter\.com/|https?://)\S+")
_MARKER = re.compile(r"[@#](\w+)")


def plain_view(text: str) -> str:
    """``text`` without links, a trailing tweet signature and ``#``/``@`` markers
    (before :func:`normalize_text`, which turns the signature's em dash into a hyphen)."""
    text = _LINK.sub(" ", _SIGNATURE.sub(" ", text))
    return _MARKER.sub(r"\1", text)


# --- number and negation flags -------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")
_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
    "billion": "1000000000",
    "trillion": "1000000000000",
    "half": "0.5",
    "dozen": "12",
}
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "nowhere",
        "neither",
        "nor",
        "without",
        "cannot",
        "hardly",
    }
)


def _canonical_number(raw: str) -> str:
    raw = raw.replace(",", "").lstrip("+")
    try:
        value = float(raw)
    except ValueError:  # pragma: no cover - the pattern only matches numerals
        return raw
    if math.isfinite(value) and value == int(value) and abs(value) < 1e18:
        return str(int(value))
    return repr(value)


_SCALES = {
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
    "k": 10**3,
    "m": 10**6,
    "mn": 10**6,
    "bn": 10**9,
    "tn": 10**12,
}
# A numeral with its scale: "40 million", "2.5 billion", "$40m", "3bn" (a letter suffix
# only when attached: "40 m" may be metres).
_SCALED = re.compile(
    r"(?<![\w.])([-+]?\d[\d,]*(?:\.\d+)?)(?:\s*(thousand|million|billion|trillion)s?\b"
    r"|(k|m|mn|bn|tn)\b)",
    re.IGNORECASE,
)


def _scaled(number: str, scale: str) -> str:
    try:
        value = float(number.replace(",", "").lstrip("+")) * _SCALES[scale.casefold()]
    except ValueError:  # pragma: no cover - the pattern only matches numerals
        return number
    return _canonical_number(repr(value)) if math.isfinite(value) else number


def extract_numbers(text: str) -> frozenset[str]:
    """The numbers a text states, canonical (``1,000`` and ``1000`` and ``1000.0`` are one;
    a scale is applied: ``40 million``, ``40,000,000`` and ``$40m`` are one; the words one
    to twelve, tens, hundred … trillion, half and dozen count too, ``three million`` as
    3000000)."""
    normalized = normalize_text(text)
    found: set[str] = set()
    rest: list[str] = []
    last = 0
    for match in _SCALED.finditer(normalized):
        found.add(_scaled(match.group(1), match.group(2) or match.group(3)))
        rest.append(normalized[last : match.start()])
        last = match.end()
    rest.append(normalized[last:])
    remainder = " ".join(rest)
    found.update(_canonical_number(m.group()) for m in _NUMBER.finditer(remainder))
    words = _WORD.findall(remainder.casefold())
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
            continue
        following = words[index + 1] if index + 1 < len(words) else ""
        scale = following.removesuffix("s")
        if (word in _NUMBER_WORDS or word == "a") and scale in (
            "thousand",
            "million",
            "billion",
            "trillion",
        ):
            base = 1 if word == "a" else float(_NUMBER_WORDS[word])
            found.add(_canonical_number(repr(base * _SCALES[scale])))
            skip = True
        elif word in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[word])
    return frozenset(found)


def has_negation(text: str) -> bool:
    """Whether the text holds a grammatical negation (``not``, ``never``, ``n't`` …)."""
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if word in _NEGATIONS or word.endswith(("n't", "n\u2019t")):
            return True
    return False


@dataclass(frozen=True)
class Differences:
    """What differs between a text and its match. ``flagged`` when anything does."""

    numbers_only_in_query: frozenset[str]
    numbers_only_in_match: frozenset[str]
    negation_differs: bool

    @property
    def numbers_differ(self) -> bool:
        return bool(self.numbers_only_in_query or self.numbers_only_in_match)

    @property
    def flagged(self) -> bool:
        return self.numbers_differ or self.negation_differs


def differences(query: str, match: str) -> Differences:
    """Flag number and negation differences between ``query`` and ``match`` (pure).

    Numbers differ when one side states a number the other does not; negation differs
    when exactly one side is negated. Deliberately simple and symmetric: it marks a match
    for a closer look, it does not decide anything."""
    q, m = extract_numbers(query), extract_numbers(match)
    return Differences(
        numbers_only_in_query=q - m,
        numbers_only_in_match=m - q,
        negation_differs=has_negation(query) != has_negation(match),
    )


# --- embeddings ----------------------------------------------------------------------------


class Embedder(Protocol):
    dim: int

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """One l2-normalised float32 row per text (a zero row for a text without tokens)."""
        ...


class EmbedderUnavailableError(RuntimeError):
    """The embedding package is not installed (or its bundled files are missing)."""


_WORDLLAMA_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_WORDLLAMA_WEIGHTS = "weights/l2_supercat_256.safetensors"


class WordLlamaEmbedder:
    """WordLlama's ``l2_supercat`` 256-d token embeddings, mean-pooled, l2-normalised.

    Reads the two files the ``wordllama`` wheel ships (16 MB of float16 weights, 1.8 MB
    tokenizer) from the installed package without importing it (its import configures the
    root logger) and without its loader (which downloads what it cannot find, and looks
    for the bundled tokenizer under ``tokenizer/`` instead of ``tokenizers/``). The
    matrix takes 33 MB as float32."""

    dim = 256

    def __init__(self, package_dir: Path | None = None) -> None:
        import numpy as np

        if package_dir is None:
            spec = importlib.util.find_spec("wordllama")
            if spec is None or not spec.submodule_search_locations:
                raise EmbedderUnavailableError("the wordllama package is not installed")
            package_dir = Path(next(iter(spec.submodule_search_locations)))
        tokenizer_path = package_dir / _WORDLLAMA_TOKENIZER
        weights_path = package_dir / _WORDLLAMA_WEIGHTS
        if not tokenizer_path.is_file() or not weights_path.is_file():
            raise EmbedderUnavailableError(
                f"wordllama's bundled files are missing in {package_dir}"
            )
        from safetensors import safe_open
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        with safe_open(str(weights_path), framework="np") as f:
            self._vectors: FloatArray = np.ascontiguousarray(
                f.get_tensor("embedding.weight"), dtype=np.float32
            )
        self.dim = int(self._vectors.shape[1])

    def embed(self, texts: Sequence[str]) -> FloatArray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        nonempty = lengths > 0
        if not nonempty.any():
            return out
        ids = np.fromiter(
            (i for e in encodings for i in e.ids), dtype=np.int64, count=int(lengths.sum())
        )
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[nonempty]
        sums = np.add.reduceat(self._vectors[ids], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        out[nonempty] = sums / np.maximum(norms, 1e-12)
        return out


# --- lexical postings ----------------------------------------------------------------------


def _vectorizers() -> tuple[HashingVectorizer, HashingVectorizer, HashingVectorizer]:
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer

    common: dict[str, Any] = {
        "n_features": N_FEATURES,
        "alternate_sign": False,
        "norm": None,
        "dtype": np.float32,
    }
    bm25 = HashingVectorizer(stop_words="english", **common)
    words = HashingVectorizer(ngram_range=(1, 2), stop_words="english", **common)
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)
    return bm25, words, chars


def _sublinear_l2(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Rows of counts -> 1 + log(tf), each row scaled to unit length."""
    import numpy as np
    import scipy.sparse as sp

    out = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    out.data = (1.0 + np.log(out.data)).astype(np.float32)
    lengths = np.diff(out.indptr)
    rows = np.repeat(np.arange(out.shape[0]), lengths)
    sq = np.bincount(rows, weights=out.data.astype(np.float64) ** 2, minlength=out.shape[0])
    norms = np.ones(out.shape[0], dtype=np.float32)
    nonzero = sq > 0
    norms[nonzero] = np.sqrt(sq[nonzero]).astype(np.float32)
    out.data /= np.repeat(norms, lengths)
    return out


class _Postings:
    """Postings of one lexical signal, kept like a small LSM tree.

    Recent entries sit in an entry-major *tail* (cheap to append to, scanned in full by a
    query); when the tail passes ``max(TAIL_MIN, TAIL_SHARE * main)`` rows it is turned
    into a term-major block (terms x entries: a query reads only its terms' rows), and
    term-major blocks merge geometrically, so there are O(log N) of them."""

    TAIL_MIN = 4_096
    TAIL_SHARE = 0.05

    def __init__(self) -> None:
        import numpy as np

        self.blocks: list[sp.csr_matrix] = []  # term-major, in entry order
        self.main_rows = 0
        self.tail: list[sp.csr_matrix] = []  # entry-major, after the blocks
        self.tail_rows = 0
        self.df = np.zeros(N_FEATURES, dtype=np.int32)
        self._where: npt.NDArray[np.int32] | None = None

    def add(self, doc_major: sp.csr_matrix) -> None:
        """Append entries given as a (entries x terms) matrix."""
        import numpy as np
        import scipy.sparse as sp

        if doc_major.shape[0] == 0:
            return
        self.df += np.bincount(doc_major.indices, minlength=N_FEATURES).astype(np.int32)
        self.tail.append(sp.csr_matrix(doc_major, dtype=np.float32))
        self.tail_rows += doc_major.shape[0]
        if self.tail_rows >= max(self.TAIL_MIN, self.TAIL_SHARE * self.main_rows):
            self._flush()

    def _tail_matrix(self) -> sp.csr_matrix | None:
        import scipy.sparse as sp

        if not self.tail:
            return None
        if len(self.tail) > 1:
            self.tail = [sp.csr_matrix(sp.vstack(self.tail, format="csr"))]
        return self.tail[0]

    def _flush(self) -> None:
        import numpy as np
        import scipy.sparse as sp

        tail = self._tail_matrix()
        if tail is None:
            return
        self.blocks.append(sp.csr_matrix(tail.T, dtype=np.float32))
        self.main_rows += tail.shape[0]
        self.tail, self.tail_rows = [], 0
        while len(self.blocks) >= 2 and self.blocks[-1].shape[1] * 2 >= self.blocks[-2].shape[1]:
            last = self.blocks.pop()
            self.blocks[-1] = sp.csr_matrix(sp.hstack([self.blocks[-1], last], format="csr"))

    def postings(
        self, terms: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Every (entry, position of the term in ``terms``, value) for the given terms."""
        import numpy as np

        entries, positions, values = [], [], []
        offset = 0
        for block in self.blocks:
            coo = block[terms].tocoo()
            entries.append(coo.col.astype(np.int64) + offset)
            positions.append(coo.row.astype(np.int64))
            values.append(coo.data)
            offset += block.shape[1]
        tail = self._tail_matrix()
        if tail is not None and terms.size:
            # A term -> position table kept between queries (filling a fresh 2**20 array
            # cost more than the rest of a query on a small index); only the query's own
            # terms are set, and reset after.
            if self._where is None:
                self._where = np.full(N_FEATURES, -1, dtype=np.int32)
            where = self._where
            where[terms] = np.arange(terms.size, dtype=np.int32)
            try:
                hit = where[tail.indices].astype(np.int64)
            finally:
                where[terms] = -1
            keep = hit >= 0
            rows = np.repeat(np.arange(tail.shape[0], dtype=np.int64), np.diff(tail.indptr))
            entries.append(rows[keep] + offset)
            positions.append(hit[keep])
            values.append(tail.data[keep])
        if not entries:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(entries), np.concatenate(positions), np.concatenate(values)

    def dot(self, query: sp.csr_matrix, n: int, max_df: float | None = None) -> FloatArray:
        """``query`` (1 x terms) times every entry: one dense score per entry. Terms in
        more than ``max_df`` entries are skipped (their postings are long and their IDF
        low; the query keeps its full norm)."""
        import numpy as np

        terms = query.indices.astype(np.int32)
        data = query.data
        if max_df is not None:
            keep = self.df[terms] <= max_df
            terms, data = terms[keep], data[keep]
        entries, positions, values = self.postings(terms)
        weights = values.astype(np.float64) * data[positions]
        return np.bincount(entries, weights=weights, minlength=n).astype(np.float32)

    @property
    def nbytes(self) -> int:
        parts = [*self.blocks, *self.tail]
        return int(
            sum(b.data.nbytes + b.indices.nbytes + b.indptr.nbytes for b in parts) + self.df.nbytes
        )


def _idf(df: npt.NDArray[np.int32], n: int) -> npt.NDArray[np.float64]:
    import numpy as np

    return np.log((n + 1.0) / (df + 1.0)) + 1.0


# --- fusion --------------------------------------------------------------------------------


def rrf(
    rankings: Sequence[Sequence[int]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> dict[int, float]:
    """Reciprocal rank fusion: each list gives ``weight / (k + rank)`` (rank from 1) to
    its items; the fused score is the sum. Items absent from a list get nothing from it."""
    scores: dict[int, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else float(weights[i])
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return scores


FEATURES: tuple[str, ...] = (
    "bm25",
    "bm25_rel",
    "bm25_rr",
    "semantic",
    "semantic_rel",
    "semantic_rr",
    "chars",
    "chars_rel",
    "chars_rr",
    "words",
    "words_rel",
    "words_rr",
    "cover_match",
    "cover_query",
    "shared_numbers",
    "match_numbers_missing",
    "log_query_words",
    "log_match_words",
    # The same four signals for the query's plain view (``plain_view``).
    "plain_bm25",
    "plain_bm25_rel",
    "plain_bm25_rr",
    "plain_semantic",
    "plain_semantic_rel",
    "plain_semantic_rr",
    "plain_chars",
    "plain_chars_rel",
    "plain_chars_rr",
    "plain_words",
    "plain_words_rel",
    "plain_words_rr",
)


@dataclass(frozen=True)
class Reranker:
    """Logistic regression over :data:`FEATURES`, applied with numpy only."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    features: tuple[str, ...] = FEATURES
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def score(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        import numpy as np

        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        return np.asarray(1.0 / (1.0 + np.exp(-(z + self.intercept))), dtype=np.float64)

    def to_json(self) -> str:
        return json.dumps(
            {
                "features": list(self.features),
                "mean": list(self.mean),
                "scale": list(self.scale),
                "coef": list(self.coef),
                "intercept": self.intercept,
                "meta": self.meta,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Reranker:
        data = json.loads(text)
        features = tuple(data["features"])
        if features != FEATURES:
            raise ValueError("the re-ranker was trained on other features than this engine's")
        n = len(features)
        vectors = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "coef")]
        if any(len(v) != n for v in vectors):
            raise ValueError("the re-ranker's vectors do not match its features")
        mean, scale, coef = vectors
        return cls(
            mean=mean,
            scale=scale,
            coef=coef,
            intercept=float(data["intercept"]),
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def load(cls, path: Path) -> Reranker:
        return cls.from_json(path.read_text(encoding="utf-8"))


def train_reranker(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], *, c: float = 1.0, **meta: Any
) -> Reranker:
    """Fit the re-ranker on candidate features (``MatchIndex.candidate_features``) and
    labels (the candidate is a right match)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y)
    return Reranker(
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        meta=meta,
    )


_PLAIN_COLUMN = FEATURES.index("plain_bm25")


def _columns(values: FloatArray, top: float, x: npt.NDArray[np.float64], col: int) -> None:
    """One signal's three re-ranker columns from ``col`` on: its value at each candidate,
    the value relative to ``top``, and the reciprocal of its competition rank among the
    candidates (ties share the better rank)."""
    import numpy as np

    v = values.astype(np.float64)
    ordered = np.sort(v)
    ranks = 1.0 + (v.size - np.searchsorted(ordered, v, side="right"))
    x[:, col] = v
    x[:, col + 1] = v / top if top > 0 else 0.0
    x[:, col + 2] = 1.0 / ranks


_NO_NUMBERS: frozenset[str] = frozenset()


def _numbers_shared(numbers: frozenset[str]) -> frozenset[str]:
    return numbers or _NO_NUMBERS  # one shared empty set for the many entries without


# --- the index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    key: Hashable
    text: str
    score: float  # the re-ranker's probability, or the fused RRF score without one
    differences: Differences


class Similar(NamedTuple):
    """An entry found by :meth:`MatchIndex.most_similar`, with its similarity."""

    key: Hashable
    text: str
    similarity: float


class MatchIndex:
    """Entries (``key``, ``text``) searchable by :meth:`search`; incremental.

    ``embedder=None`` runs lexical-only (the semantic features are then 0; the shipped
    re-ranker was trained with them, so use RRF, ``reranker=None``, in that case).

    Not thread-safe: ``add``/``discard`` mutate arrays a concurrent ``search`` reads; a
    server that shares one index between threads must hold a lock around writes, or build
    a new index and swap it. Discarded entries still count in the document frequencies and
    the mean length (as in most inverted indexes until a rebuild)."""

    def __init__(
        self, *, embedder: Embedder | None = None, reranker: Reranker | None = None
    ) -> None:
        import numpy as np

        self.embedder = embedder
        self.reranker = reranker
        self._bm25_vec, self._words_vec, self._chars_vec = _vectorizers()
        self._keys: list[Hashable] = []
        self._texts: list[str] = []
        self._numbers: list[frozenset[str]] = []  # extract_numbers of each entry
        self._alive = np.zeros(0, dtype=bool)
        self._lengths = np.zeros(0, dtype=np.float32)  # BM25 document lengths
        self._bm25 = _Postings()
        self._words = _Postings()
        self._chars = _Postings()
        self._doc_words: list[sp.csr_matrix] = []  # entry-major BM25 terms, for overlaps
        dim = embedder.dim if embedder is not None else 0
        self._vectors: FloatArray = np.zeros((0, dim), dtype=np.float32)
        self._count = 0

    def __len__(self) -> int:
        return int(self._alive.sum())

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (postings, vectors, lengths; not the texts)."""
        doc_words = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in self._doc_words)
        return int(
            self._bm25.nbytes
            + self._words.nbytes
            + self._chars.nbytes
            + doc_words
            + self._vectors[: self._count].nbytes
            + self._lengths.nbytes
            + self._alive.nbytes
        )

    def add(
        self,
        keys: Sequence[Hashable],
        texts: Sequence[str],
        batch: int = 20_000,
        *,
        vectors: Sequence[FloatArray | None] | None = None,
    ) -> None:
        """Index entries; the same key may be added again (use :meth:`discard` first).

        ``vectors`` (one per entry, or None where it is not known) are embeddings computed
        earlier by :meth:`embed` (stored with the entry), so that rebuilding an index does
        not embed every text again; a vector of the wrong size is computed anew."""
        if len(keys) != len(texts):
            raise ValueError("keys and texts differ in length")
        if vectors is not None and len(vectors) != len(texts):
            raise ValueError("keys and vectors differ in length")
        for start in range(0, len(texts), batch):
            self._add_batch(
                keys[start : start + batch],
                texts[start : start + batch],
                None if vectors is None else vectors[start : start + batch],
            )

    def embed(self, texts: Sequence[str]) -> FloatArray | None:
        """The embeddings ``add`` would compute for ``texts`` (None without an embedder)."""
        if self.embedder is None:
            return None
        return self.embedder.embed([normalize_text(t) for t in texts])

    def _add_batch(
        self,
        keys: Sequence[Hashable],
        texts: Sequence[str],
        known: Sequence[FloatArray | None] | None = None,
    ) -> None:
        import numpy as np
        import scipy.sparse as sp

        normalized = [normalize_text(t) for t in texts]
        n = len(normalized)
        if n == 0:
            return
        bm25_counts = self._bm25_vec.transform(normalized)
        self._bm25.add(bm25_counts)
        self._doc_words.append(sp.csr_matrix(bm25_counts))
        self._words.add(_sublinear_l2(self._words_vec.transform(normalized)))
        self._chars.add(_sublinear_l2(self._chars_vec.transform(normalized)))
        lengths = np.asarray(bm25_counts.sum(axis=1), dtype=np.float32).ravel()
        self._lengths = np.concatenate([self._lengths, lengths])
        self._alive = np.concatenate([self._alive, np.ones(n, dtype=bool)])
        if self.embedder is not None:
            vecs = self._vectors_for(normalized, known)
            need = self._count + n
            if need > self._vectors.shape[0]:
                grown = np.zeros((max(need, 2 * self._vectors.shape[0]), vecs.shape[1]), np.float32)
                grown[: self._count] = self._vectors[: self._count]
                self._vectors = grown
            self._vectors[self._count : need] = vecs
        self._keys.extend(keys)
        self._texts.extend(texts)
        self._numbers.extend(_numbers_shared(extract_numbers(t)) for t in texts)
        self._count += n
        while len(self._doc_words) >= 2 and (
            self._doc_words[-1].shape[0] * 2 >= self._doc_words[-2].shape[0]
        ):
            last = self._doc_words.pop()
            self._doc_words[-1] = sp.csr_matrix(
                sp.vstack([self._doc_words[-1], last], format="csr")
            )

    def _vectors_for(
        self, normalized: Sequence[str], known: Sequence[FloatArray | None] | None
    ) -> FloatArray:
        import numpy as np

        assert self.embedder is not None
        dim = self.embedder.dim
        if known is None:
            return self.embedder.embed(normalized)
        out = np.zeros((len(normalized), dim), dtype=np.float32)
        missing = [i for i, v in enumerate(known) if v is None or np.shape(v) != (dim,)]
        for i, v in enumerate(known):
            if v is not None and np.shape(v) == (dim,):
                out[i] = v
        if missing:
            out[missing] = self.embedder.embed([normalized[i] for i in missing])
        return out

    def compact(self) -> None:
        """Turn the entries added since the last flush into term-major blocks: a query then
        reads only its terms' postings instead of scanning every recent entry (call it
        after adding a large batch; the tail is otherwise flushed at 4,096 entries)."""
        for postings in (self._bm25, self._words, self._chars):
            postings._flush()

    def discard(self, key: Hashable) -> int:
        """Remove every entry with ``key`` from the results (a tombstone); how many."""
        hits = [i for i, k in enumerate(self._keys) if k == key and self._alive[i]]
        self._alive[hits] = False
        return len(hits)

    # -- scoring --

    def _query_vector(self, vec: HashingVectorizer, df: npt.NDArray[np.int32], text: str) -> Any:
        import numpy as np

        q = _sublinear_l2(vec.transform([text]))
        q.data = (q.data * _idf(df[q.indices], self._count)).astype(np.float32)
        return q

    def _bm25_scores(self, text: str) -> tuple[FloatArray, sp.csr_matrix]:
        import numpy as np

        q = self._bm25_vec.transform([text])
        terms = q.indices.astype(np.int32)
        scores = np.zeros(self._count, dtype=np.float32)
        if terms.size == 0 or self._count == 0:
            return scores, q
        n = self._count
        df = self._bm25.df[terms].astype(np.float64)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        avgdl = float(self._lengths.mean()) or 1.0
        entries, positions, tf = self._bm25.postings(terms)
        tf = tf.astype(np.float64)
        dl = self._lengths[entries]
        w = tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl))
        scores = np.bincount(entries, weights=w * idf[positions], minlength=n).astype(np.float32)
        return scores, q

    def _lexical(self, text: str) -> tuple[FloatArray, FloatArray, FloatArray, sp.csr_matrix]:
        """BM25, character and word n-gram scores of every entry for ``text``, and its
        hashed BM25 terms."""
        bm25, q_words = self._bm25_scores(text)
        words = self._words.dot(
            self._query_vector(self._words_vec, self._words.df, text), self._count
        )
        chars = self._chars.dot(
            self._query_vector(self._chars_vec, self._chars.df, text),
            self._count,
            max_df=max(CHARS_MIN_DF_CAP, CHARS_MAX_DF_SHARE * self._count),
        )
        return bm25, chars, words, q_words

    def _semantic(self, text: str, at: npt.NDArray[np.int64] | None = None) -> FloatArray:
        """The embedding cosine of ``text`` with every entry, or with the entries ``at``."""
        import numpy as np

        size = self._count if at is None else at.size
        if self.embedder is None:
            return np.zeros(size, dtype=np.float32)
        vectors = self._vectors[: self._count] if at is None else self._vectors[at]
        return np.asarray(vectors @ self.embedder.embed([text])[0], dtype=np.float32)

    def _signals(self, text: str) -> tuple[list[FloatArray], sp.csr_matrix]:
        bm25, chars, words, q_words = self._lexical(text)
        return [bm25, self._semantic(text), chars, words], q_words

    def _plain_at(
        self, cand: npt.NDArray[np.int64], plain: str
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The four signals for the query's plain view: the lexical ones over every entry
        like the query's own (BM25 and words cost under a millisecond at 100k entries,
        characters a few), the embedding's cosine at the candidates only (the product with
        every vector would cost as much as the rest of the query: bench/README.md)."""
        bm25, chars, words, _ = self._lexical(plain)
        return bm25, self._semantic(plain, at=cand), chars, words

    def _candidates(self, signals: list[FloatArray], depth: int) -> npt.NDArray[np.int64]:
        import numpy as np

        all_alive = bool(self._alive.all())
        alive = np.arange(self._count) if all_alive else np.flatnonzero(self._alive)
        picked: set[int] = set()
        for s in signals:
            live = s if all_alive else s[alive]
            k = min(depth, live.size)
            if k == 0:
                continue
            top = np.argpartition(-live, k - 1)[:k]
            picked.update(alive[top].tolist())
        return np.array(sorted(picked), dtype=np.int64)

    def _doc_terms(self, entry: int) -> npt.NDArray[np.int32]:
        """The hashed BM25 terms of one entry."""
        import numpy as np

        for block in self._doc_words:
            if entry < block.shape[0]:
                return np.asarray(block.indices[block.indptr[entry] : block.indptr[entry + 1]])
            entry -= block.shape[0]
        raise IndexError(entry)

    def _signal_columns(
        self,
        signals: list[FloatArray],
        cand: npt.NDArray[np.int64],
        x: npt.NDArray[np.float64],
        col: int,
    ) -> None:
        """Each signal's value at the candidates, relative to its best over every live
        entry, and reciprocal rank among the candidates: three columns of ``x`` from
        ``col`` on."""
        all_alive = bool(self._alive.all())
        for s in signals:
            top = float(s.max() if all_alive else s[self._alive].max())
            _columns(s[cand], top, x, col)
            col += 3

    @staticmethod
    def _candidate_columns(
        values_list: list[FloatArray], x: npt.NDArray[np.float64], col: int
    ) -> None:
        """Like ``_signal_columns`` for signals known at the candidates only: the value is
        taken relative to the best candidate's."""
        for values in values_list:
            _columns(values, float(values.max()) if values.size else 0.0, x, col)
            col += 3

    def candidate_features(
        self, text: str, *, depth: int = DEFAULT_CANDIDATES
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The candidate entries (positions) for ``text`` and their :data:`FEATURES`
        (candidates come from the signals of ``text`` itself; its plain view only adds
        features, and costs nothing more when it is the same text)."""
        import numpy as np

        plain = normalize_text(plain_view(text))
        text = normalize_text(text)
        signals, q_words = self._signals(text)
        cand = self._candidates(signals, depth)
        x = np.zeros((cand.size, len(FEATURES)), dtype=np.float64)
        if cand.size == 0:
            return cand, x
        self._signal_columns(signals, cand, x, 0)
        # The plain view: BM25, characters and words over every entry, the embedding at
        # the candidates (``_plain_at``); the same text costs nothing more.
        if plain == text or not plain:
            bm25, chars, words = signals[0], signals[2], signals[3]
            semantic = signals[1][cand]
        else:
            bm25, semantic, chars, words = self._plain_at(cand, plain)
        self._signal_columns([bm25], cand, x, _PLAIN_COLUMN)
        self._candidate_columns([semantic], x, _PLAIN_COLUMN + 3)
        self._signal_columns([chars, words], cand, x, _PLAIN_COLUMN + 6)
        col = 3 * len(signals)
        query_terms = set(q_words.indices.tolist())
        query_numbers = extract_numbers(text)
        for i, entry in enumerate(cand.tolist()):
            doc_terms = self._doc_terms(entry)
            shared = len(query_terms.intersection(doc_terms.tolist()))
            doc_numbers = self._numbers[entry]
            x[i, col] = shared / (len(doc_terms) + 1)
            x[i, col + 1] = shared / (len(query_terms) + 1)
            x[i, col + 2] = len(doc_numbers & query_numbers)
            x[i, col + 3] = float(bool(doc_numbers - query_numbers))
            x[i, col + 4] = math.log1p(len(query_terms))
            x[i, col + 5] = math.log1p(len(doc_terms))
        return cand, x

    def search(self, text: str, limit: int = 5, *, depth: int = DEFAULT_CANDIDATES) -> list[Match]:
        """The best ``limit`` entries for ``text``, best first."""
        import numpy as np

        if limit <= 0 or not self._alive.any():
            return []
        cand, x = self.candidate_features(text, depth=depth)
        if self.reranker is not None:
            scores = self.reranker.score(x)
        else:
            # RRF of the four signals' ranks among the candidates (the *_rr columns).
            rr = x[:, [2, 5, 8, 11]] if self.embedder is not None else x[:, [2, 8, 11]]
            with np.errstate(divide="ignore"):
                scores = np.where(rr > 0, 1.0 / (RRF_K + 1.0 / rr), 0.0).sum(axis=1)
        order = np.lexsort((cand, -scores))[:limit]
        # Flags compare the claim, not a post's wrapping (a signature's date is no number
        # the fact check should have).
        claim = plain_view(text).strip() or text
        return [
            Match(
                key=self._keys[cand[i]],
                text=self._texts[cand[i]],
                score=float(scores[i]),
                differences=differences(claim, self._texts[cand[i]]),
            )
            for i in order
        ]

    def similarity(self, text: str, other: str) -> float:
        """How alike two texts are, on their own (no index statistics, so the same at any
        index size; 1.0 for the same wording): the cosine of their character 3-5-gram
        profiles (sublinear counts), averaged with the cosine of their embeddings when
        there is an embedder. A threshold on it says "this is a repeat" where the
        re-ranker's score (which depends on the other candidates) would not."""
        a, b = normalize_text(text), normalize_text(other)
        grams = _sublinear_l2(self._chars_vec.transform([a, b]))
        chars = float(grams[0].multiply(grams[1]).sum())
        if self.embedder is None:
            return chars
        vectors = self.embedder.embed([a, b])
        return 0.5 * chars + 0.5 * max(0.0, float(vectors[0] @ vectors[1]))

    def _chars_scores(self, queries: sp.csr_matrix) -> FloatArray:
        """``queries`` (rows of sublinear-l2 character profiles, as :meth:`similarity`
        builds them) times every entry's stored profile: a dense (queries x entries)
        matrix of character cosines. The character postings hold exactly those profiles
        (term-major blocks, then the entry-major tail), so nothing is rebuilt."""
        import numpy as np

        out = np.zeros((queries.shape[0], self._count), dtype=np.float64)
        offset = 0
        for block in self._chars.blocks:  # terms x entries
            width = block.shape[1]
            out[:, offset : offset + width] = (queries @ block).toarray()
            offset += width
        tail = self._chars._tail_matrix()  # entries x terms
        if tail is not None:
            out[:, offset : offset + tail.shape[0]] = (queries @ tail.T).toarray()
        return out

    def most_similar(
        self,
        texts: Sequence[str],
        *,
        allowed: Callable[[Hashable], bool] | None = None,
        chunk: int = 512,
    ) -> list[Similar | None]:
        """For each text, the live entry whose key ``allowed`` accepts (every live entry
        without it) that is most like the text by :meth:`similarity`, with that similarity
        (the same number :meth:`similarity` gives for the pair; ties go to the entry added
        first); None when no entry is allowed. All texts are compared with all entries by
        matrix products, ``chunk`` texts at a time (fewer when the index is large, so that
        one chunk's dense scores stay near 100 MB). The character cosines are summed in
        float64 (float32 sums over a few hundred n-grams drift by ~1e-6)."""
        import numpy as np
        import scipy.sparse as sp

        mask = self._alive[: self._count].copy()
        if allowed is not None:
            for i in np.flatnonzero(mask).tolist():
                mask[i] = bool(allowed(self._keys[i]))
        if not texts:
            return []
        if not mask.any():
            return [None] * len(texts)
        vectors = self._vectors[: self._count] if self.embedder is not None else None
        refused = None if mask.all() else ~mask
        rows = max(1, min(chunk, (8 * 1024 * 1024) // max(1, self._count)))
        out: list[Similar | None] = []
        for start in range(0, len(texts), rows):
            normalized = [normalize_text(t) for t in texts[start : start + rows]]
            grams = sp.csr_matrix(
                _sublinear_l2(self._chars_vec.transform(normalized)), dtype=np.float64
            )
            scores = self._chars_scores(grams)
            if vectors is not None:
                assert self.embedder is not None
                semantic = self.embedder.embed(normalized) @ vectors.T  # float32, as similarity
                np.maximum(semantic, 0.0, out=semantic)
                scores += semantic
                scores *= 0.5
            if refused is not None:
                scores[:, refused] = -np.inf
            best = np.argmax(scores, axis=1)
            for row, entry in enumerate(best.tolist()):
                out.append(
                    Similar(self._keys[entry], self._texts[entry], float(scores[row, entry]))
                )
        return out

    def keys_at(self, positions: Iterable[int]) -> list[Hashable]:
        return [self._keys[p] for p in positions]
