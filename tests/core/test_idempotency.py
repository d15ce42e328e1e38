"""annotations.core.idempotency: keys, request fingerprints, statement keys. Pure Python."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    InvalidKey,
    canonical_body,
    check_key,
    request_fingerprint,
    statement_key,
)

pytestmark = pytest.mark.db_independent

PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)

# --- check_key -------------------------------------------------------------------------------


@given(PRINTABLE.filter(lambda key: len(key) <= MAX_KEY_LENGTH))
def test_printable_ascii_keys_up_to_the_limit_are_kept_as_sent(key: str) -> None:
    assert check_key(key) == key
    assert check_key(f"  {key}\t") == key


def test_a_uuid_and_a_key_of_exactly_the_limit_are_accepted() -> None:
    assert (
        check_key("0b5f3c1e-7a7d-4b8e-9f00-2d4c1a6b9e11") == "0b5f3c1e-7a7d-4b8e-9f00-2d4c1a6b9e11"
    )
    assert check_key("k" * MAX_KEY_LENGTH) == "k" * MAX_KEY_LENGTH


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("k" * (MAX_KEY_LENGTH + 1), f"the most is {MAX_KEY_LENGTH}"),
        ("clé", "printable ASCII"),
        ("a\x00b", "printable ASCII"),
        ("a\nb", "printable ASCII"),
        ("a\x7fb", "printable ASCII"),
    ],
)
def test_bad_keys_are_refused_with_a_message_naming_the_header(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        check_key(raw)
    assert HEADER in str(caught.value)
    assert fragment in str(caught.value)


@given(st.text().filter(lambda key: any(not " " <= c <= "~" for c in key.strip(" \t"))))
def test_any_key_with_a_character_outside_printable_ascii_is_refused(key: str) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)


# --- fingerprints ----------------------------------------------------------------------------


@given(st.dictionaries(st.text(), JSON_VALUES, max_size=6), st.randoms(use_true_random=False))
def test_a_json_body_counts_by_content_not_by_key_order_or_spacing(document, random) -> None:
    items = list(document.items())
    random.shuffle(items)
    compact = json.dumps(document).encode()
    spaced = json.dumps(dict(items), indent=2, ensure_ascii=False).encode()
    assert request_fingerprint("POST", "/api/v1/claims/", compact) == request_fingerprint(
        "POST", "/api/v1/claims/", spaced
    )


@given(JSON_VALUES, JSON_VALUES)
def test_different_json_content_is_a_different_request(first, second) -> None:
    same = json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    fingerprints = {
        request_fingerprint("POST", "/p/", json.dumps(value).encode()) for value in (first, second)
    }
    assert (len(fingerprints) == 1) == same


def test_method_path_and_query_string_count() -> None:
    body = b'{"a": 1}'
    base = request_fingerprint("POST", "/api/v1/claims/", body)
    assert request_fingerprint("post", "/api/v1/claims/", body) == base
    assert request_fingerprint("PUT", "/api/v1/claims/", body) != base
    assert request_fingerprint("POST", "/api/v1/documents/", body) != base
    assert request_fingerprint("POST", "/api/v1/claims/?x=1", body) != base
    assert request_fingerprint("POST", "/api/v1/claims/", b'{"a": 2}') != base


def test_parts_cannot_run_into_each_other() -> None:
    assert request_fingerprint("POST", "/a", b"x") != request_fingerprint("POST", "/a\nx", b"")
    # A JSON body and the raw bytes of its canonical form are different requests.
    assert canonical_body(b'"x"') != canonical_body(b'json:"x"')


@given(st.binary())
def test_any_body_has_a_fingerprint_and_it_is_stable(body: bytes) -> None:
    fingerprint = request_fingerprint("POST", "/p/", body)
    assert len(fingerprint) == 64
    assert fingerprint == request_fingerprint("POST", "/p/", body)


def test_a_body_that_is_not_json_counts_by_its_bytes() -> None:
    assert canonical_body(b"not json") == b"raw:not json"
    assert canonical_body(b"\xff\xfe") == b"raw:\xff\xfe"
    assert canonical_body(b"") == b""
    assert request_fingerprint("POST", "/p/", b"a b") != request_fingerprint("POST", "/p/", b"a  b")


# --- statement keys ------------------------------------------------------------------------


@given(st.lists(st.text(alphabet="abc.,", min_size=1), min_size=1), st.data())
def test_statements_that_differ_only_in_whitespace_have_one_key(words, data) -> None:
    gaps = data.draw(
        st.lists(
            st.text(alphabet=" \t\n\r\u00a0", min_size=1),
            min_size=len(words) + 1,
            max_size=len(words) + 1,
        )
    )
    spaced = gaps[0] + "".join(word + gap for word, gap in zip(words, gaps[1:], strict=True))
    assert statement_key(spaced) == " ".join(words)


def test_case_and_punctuation_still_count() -> None:
    assert statement_key("Crime fell 20%.") != statement_key("crime fell 20%.")
    assert statement_key("Crime fell 20%.") != statement_key("Crime fell 20%")
    assert statement_key("  Crime\n fell\t20%. ") == "Crime fell 20%."
