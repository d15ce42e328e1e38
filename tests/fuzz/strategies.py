"""Fuzzers: arbitrary input into the functions that read what users and files hand us.

tests/core/test_spans.py, tests/core/test_cleaning.py, tests/core/test_urlnorm.py and
tests/core/test_reanchor_properties.py check properties over well-formed input (texts
made of chosen characters, URLs built from parts). The modules of tests/fuzz/ throw
anything at the same functions: all of Unicode, control characters, lone combining
marks, CR/LF mixes at any position, lone surrogates (``json.loads('"\\ud800"')`` makes
them, so every JSON reader can meet them), bytes decoded as a reader would, random JSON,
HTML-ish soup. Each test asserts only what the function documents: its result, or its
one documented exception.

This module holds what they share: the ``FUZZ`` settings and the text and JSON
strategies.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

from annotations.core import spans

FUZZ = settings(max_examples=150, deadline=None)

# Characters that break naive text code, placed anywhere (not only at line boundaries).
AWKWARD = st.sampled_from(
    [
        "\r", "\n", "\r\n", "\n\r", "\r\r\n", "\x00", "\t", "\x0b", "\x0c", "\x1c", "\x1e",
        "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\u200d", "\u202e",
        "\u0301", "\u0308\u0301", "\u0338", "\u0345", "\u3099", "e\u0301", "\u1100\u1161",
        "\U0001f44d\U0001f3fd", "\U0001f1e9\U0001f1ea", "\ufffd", "\U0010ffff", " ", "\u00a0",
        "{", "}", ";", ":", "@media", "<script>", "Source", "The post a appeared first on b.",
    ]
)  # fmt: skip
# All of Unicode except surrogates (what a UTF-8 file or a browser can send) ...
UNICODE = st.characters(codec="utf-8")
TEXT = st.lists(st.one_of(st.text(UNICODE, max_size=12), AWKWARD), max_size=30).map("".join)
# ... and, separately, lone surrogates, which only JSON escapes produce.
SURROGATE = st.characters(categories=["Cs"])
TEXT_WITH_SURROGATES = st.lists(
    st.one_of(st.text(UNICODE, max_size=8), AWKWARD, SURROGATE), max_size=20
).map("".join)


def _is_canonical(value: str) -> bool:
    return spans.canonicalize(value) == value


# --- any JSON value ---------------------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(UNICODE, max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
