"""Tests for annotations.core.textchunks: pure functions, no database, no Django."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core.textchunks import CHUNK, Cover, chunked, covering, split

pytestmark = pytest.mark.db_independent

# Astral (non-BMP) characters among the rest: one code point each, as SQL substr counts.
PIECES = st.text(
    alphabet=st.one_of(
        st.sampled_from(["😀", "👍", "\U0001f3fd", "\u0301", "\n", "a", "日", "ש"]),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=40,
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """A text of up to four chunks and a bit, lengths near the chunk boundaries likely."""
    piece = draw(PIECES)
    length = draw(
        st.one_of(
            st.integers(0, 4 * CHUNK + 100),
            st.sampled_from(
                [k * CHUNK + d for k in range(5) for d in (-1, 0, 1) if k * CHUNK + d >= 0]
            ),
        )
    )
    return (piece * (length // len(piece) + 1))[:length]


@given(texts())
def test_split_joins_to_the_text(text: str) -> None:
    chunks = split(text)
    assert "".join(chunks) == text
    assert all(len(chunk) == CHUNK for chunk in chunks[:-1])
    assert not chunks or 0 < len(chunks[-1]) <= CHUNK
    assert len(chunks) == -(-len(text) // CHUNK)


@given(texts(), st.data())
def test_covering_chunks_hold_the_window(text: str, data: st.DataObject) -> None:
    chunks = split(text)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(
        st.one_of(
            st.integers(start, len(text)),
            st.integers(start, min(len(text), start + 3 * CHUNK)),
            st.integers(start, min(len(text), start + 80)),
        )
    )
    cover = covering(start, end)
    assert cover.first <= cover.last
    joined = "".join(chunks[cover.first : cover.last + 1])
    assert joined[cover.offset : cover.offset + (end - start)] == text[start:end]


def test_covering_at_the_boundaries() -> None:
    assert covering(0, 0) == Cover(first=0, last=0, offset=0)
    assert covering(0, CHUNK) == Cover(first=0, last=0, offset=0)
    assert covering(CHUNK - 1, CHUNK + 1) == Cover(first=0, last=1, offset=CHUNK - 1)
    assert covering(CHUNK, CHUNK) == Cover(first=1, last=1, offset=0)
    assert covering(CHUNK + 5, 3 * CHUNK + 1) == Cover(first=1, last=3, offset=5)
    with pytest.raises(ValueError):
        covering(-1, 3)


def test_short_texts_are_not_chunked() -> None:
    assert not chunked(CHUNK)
    assert chunked(CHUNK + 1)
    assert split("") == []
    assert split("👍" * (CHUNK + 1)) == ["👍" * CHUNK, "👍"]
