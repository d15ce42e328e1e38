"""Claimant names (``annotations.core.claimants``): which spellings are one name, and the
autocomplete's order."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core.claimants import display_name, name_key, prefix_matches

pytestmark = pytest.mark.db_independent

names = st.text(min_size=0, max_size=40)


@given(names)
def test_a_key_is_its_own_key(name: str) -> None:
    assert name_key(name_key(name)) == name_key(name)


@given(names)
def test_case_spacing_and_punctuation_do_not_change_the_key(name: str) -> None:
    noisy = "  " + name.upper().replace(" ", " \t ") + ". "
    assert name_key(noisy) == name_key(name.upper())
    assert name_key(name.upper()) == name_key(name.casefold().upper())


@given(names)
def test_a_key_is_lower_case_words_joined_by_single_spaces(name: str) -> None:
    key = name_key(name)
    assert key == key.strip()
    assert "  " not in key
    assert all(word.isalnum() for word in key.split(" ") if word)
    assert key == key.casefold() or not key


def test_accents_and_compatibility_forms_are_one_key() -> None:
    assert name_key("Joé  Bídén") == name_key("joe biden") == "joe biden"
    assert name_key("\uff2a\uff4f\uff45 Biden") == "joe biden"  # full-width letters
    assert name_key("O'Rourke, Beto") == name_key("o rourke beto")


def test_different_words_stay_different_names() -> None:
    assert name_key("President Biden") != name_key("Joe Biden")
    assert name_key("Biden") != name_key("Joe Biden")


def test_a_name_without_letters_or_digits_has_no_key() -> None:
    assert name_key(" .,;- ") == ""
    assert name_key("") == ""


def test_other_scripts_keep_their_letters() -> None:
    assert name_key("Владимир  Путин") == "владимир путин"
    assert name_key("習近平") == "習近平"


@given(names)
def test_display_name_is_trimmed_nfc_with_single_spaces(name: str) -> None:
    shown = display_name(name)
    assert shown == shown.strip()
    assert "  " not in shown
    assert unicodedata.is_normalized("NFC", shown)


def test_prefix_matches_whole_names_first_then_later_words() -> None:
    pool = ["Joe Biden", "Bidenomics Institute", "Hunter Biden", "Jill Biden", "Bob"]
    assert prefix_matches("bid", pool, limit=10) == [
        "Bidenomics Institute",
        "Hunter Biden",
        "Jill Biden",
        "Joe Biden",
    ]
    assert prefix_matches("jo", pool, limit=10) == ["Joe Biden"]
    assert prefix_matches("BIDEN", pool, limit=2) == ["Bidenomics Institute", "Hunter Biden"]


def test_prefix_matches_one_entry_per_key_and_nothing_for_an_empty_query() -> None:
    assert prefix_matches("jo", ["Joe Biden", "joe  biden.", "JOE BIDEN"], limit=10) == [
        "Joe Biden"
    ]
    assert prefix_matches("", ["Joe"], limit=10) == []
    assert prefix_matches("jo", ["Joe"], limit=0) == []


@given(st.lists(names, max_size=20), names, st.integers(min_value=0, max_value=25))
def test_prefix_matches_only_returns_names_that_match(
    pool: list[str], query: str, limit: int
) -> None:
    found = prefix_matches(query, pool, limit=limit)
    assert len(found) <= limit
    assert len({name_key(n) for n in found}) == len(found)
    wanted = name_key(query)
    for name in found:
        assert name in pool
        key = name_key(name)
        assert any(
            key.split(" ")[i:] and " ".join(key.split(" ")[i:]).startswith(wanted)
            for i in range(len(key.split(" ")))
        )
