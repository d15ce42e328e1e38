"""Claimant names: how two spellings of one name are recognised as the same.

Pure Python (no Django). A claimant registry keys every name and alias by
:func:`name_key`, so "Joe Biden", "joe  biden", "JOE BIDEN." and "Joé Biden" are one key,
while different words stay different keys: nothing is guessed beyond spelling (a title
such as "President" is a different name until an editor makes it an alias).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["display_name", "name_key", "prefix_matches"]

# Letters and digits (any script) are kept; everything else separates words.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_key(name: str) -> str:
    """The key a name is registered and looked up under: compatibility-normalised,
    case-folded, accents dropped, punctuation removed, words joined by single spaces.
    An empty key means the name has no letters or digits (not a name)."""
    folded = _strip_marks(unicodedata.normalize("NFKC", name)).casefold()
    return " ".join(_WORD.findall(folded))


def display_name(name: str) -> str:
    """A name as it is shown and stored: NFC, whitespace runs collapsed, trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", name)).strip()


def prefix_matches(query: str, names: Iterable[str], *, limit: int) -> list[str]:
    """Autocomplete: the ``names`` whose key starts with the query's key, or one of whose
    words does (typing "bid" finds "Joe Biden"); whole-name prefixes first, then the rest,
    each group alphabetical by key; one entry per key, at most ``limit``."""
    wanted = name_key(query)
    if not wanted or limit <= 0:
        return []
    first: dict[str, str] = {}
    later: dict[str, str] = {}
    for name in names:
        key = name_key(name)
        if not key or key in first or key in later:
            continue
        if key.startswith(wanted):
            first[key] = name
        elif any(word.startswith(wanted) for word in _word_suffixes(key)):
            later[key] = name
    ordered = [first[k] for k in sorted(first)] + [later[k] for k in sorted(later)]
    return ordered[:limit]


def _word_suffixes(key: str) -> list[str]:
    """The key from each of its words on: "joe r biden" → "r biden", "biden"."""
    words = key.split(" ")
    return [" ".join(words[i:]) for i in range(1, len(words))]
