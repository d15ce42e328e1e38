"""Fuzzing URL checks (annotations.core.urlnorm): an accepted http(s) URL or a refusal, never
another exception, and never past the length limit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from annotations.core.urlnorm import MAX_URL_LENGTH, UrlError, check_url, normalize_url
from tests.fuzz.strategies import FUZZ, JSON_SCALARS, TEXT_WITH_SURROGATES, UNICODE

pytestmark = pytest.mark.db_independent

URL_CHARS = st.one_of(UNICODE, st.sampled_from(list(":/?#[]@!$&'()*+,;=%-._~ \\\t")))
URLISH = st.builds(
    lambda scheme, sep, host, rest: scheme + sep + host + rest,
    st.sampled_from(["http", "https", "HTTPS", "ftp", "javascript", "", " http"]),
    st.sampled_from(["://", ":", ":/", "", "://user:pw@"]),
    st.text(URL_CHARS, max_size=15),
    st.text(URL_CHARS, max_size=40),
)


@FUZZ
@given(st.one_of(URLISH, TEXT_WITH_SURROGATES))
@example("http://[v1.x]/")
@example("http://[::1%25eth0]/a")
@example("http://a.example/" + "\u00e9" * 700)  # under the limit raw, over it encoded
@example("http://a.example/\ud800")  # percent-encoding raised UnicodeEncodeError
@example("http://a\u00a0/")  # IDNA made the host "a " and the key "http://a /"
def test_normalize_url_returns_an_accepted_http_url_or_refuses(url: str) -> None:
    try:
        once = normalize_url(url)
    except UrlError:
        return
    assert urlsplit(once).scheme in {"http", "https"}
    assert check_url(once) == once
    assert normalize_url(once) == once


def test_normalize_url_refuses_a_url_percent_encoding_takes_past_the_limit() -> None:
    # Found by the fuzzer above: check_url accepts these 1,718 characters, but the key
    # came out 10,218 long (each "é" is "%C3%A9"), which check_url (so normalize_url of
    # its own result) and Source.normalized_url (2,000) refuse.
    url = "https://a.example/" + "\u00e9" * 1_700
    assert check_url(url) == url
    with pytest.raises(UrlError, match="2000 characters once special characters"):
        normalize_url(url)
    ascii_url = "https://a.example/" + "e" * 1_980
    assert normalize_url(ascii_url) == ascii_url


@FUZZ
@given(st.one_of(URLISH, TEXT_WITH_SURROGATES, JSON_SCALARS))
def test_check_url_returns_an_http_url_or_refuses(url: Any) -> None:
    try:
        checked = check_url(url)
    except UrlError:
        return
    assert urlsplit(checked).scheme.lower() in {"http", "https"}
    assert len(checked) <= MAX_URL_LENGTH
    assert check_url(checked) == checked
