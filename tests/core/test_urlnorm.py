"""annotations.core.urlnorm: pure Python, no database."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from annotations.core.urlnorm import MAX_URL_LENGTH, UrlError, check_url, normalize_url

pytestmark = pytest.mark.db_independent

# --- check_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a", "https://example.org/a"),
        ("  http://example.org/a?b=1#c \n", "http://example.org/a?b=1#c"),
        ("HTTPS://EXAMPLE.ORG", "HTTPS://EXAMPLE.ORG"),
        ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("https://bücher.de/straße", "https://bücher.de/straße"),
    ],
)
def test_check_url_returns_the_stripped_url(url: str, expected: str) -> None:
    assert check_url(url) == expected


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("javascript:alert(1)", "scheme: javascript"),
        (" JaVaScRiPt:alert(1)", "scheme: javascript"),
        ("data:text/html,<b>x</b>", "scheme: data"),
        ("vbscript:msgbox(1)", "scheme: vbscript"),
        ("file:///etc/passwd", "scheme: file"),
        ("ftp://example.org/", "scheme: ftp"),
        ("//example.org/a", "scheme: none"),
        ("example.org/a", "scheme: none"),
        ("", "Enter a URL"),
        ("   ", "Enter a URL"),
        ("http:///path", "host name"),
        ("https:example.org", "host name"),
        ("https://user:secret@example.org/", "user name or password"),
        ("https://example.org:0/", "Port 0"),
        ("https://example.org:99999/", "Not a valid URL"),
        ("https://exa mple.org/", "spaces"),
        ("https://example.org\\@evil.test/", "backslashes"),
        ("https://example.org/\x00", "control characters"),
        # JSON can spell one ("\ud800"); the reason is spans.storage_problems'.
        (
            "https://example.org/\ud800",
            "The URL is not valid Unicode text: lone surrogate U+D800 at position 20.",
        ),
        ("java\tscript:alert(1)", "control characters"),
        ("https://example.org/" + "a" * MAX_URL_LENGTH, "limited to 2000"),
    ],
)
def test_check_url_refuses_with_a_reason(url: str, fragment: str) -> None:
    with pytest.raises(UrlError, match=re.escape(fragment)):
        check_url(url)


def test_check_url_refuses_non_text() -> None:
    with pytest.raises(UrlError, match="as text"):
        check_url(None)  # type: ignore[arg-type]


# --- normalize_url -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a?utm_source=x#frag", "http://example.com/a"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com.:80/", "http://example.com/"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/?fbclid=1&gclid=2&utm_medium=m&id=7", "https://example.com/?id=7"),
        ("https://example.com/?flag", "https://example.com/?flag="),
        ("https://example.com/%7euser/caf%c3%a9", "https://example.com/~user/caf%C3%A9"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("https://BÜCHER.de/", "https://xn--bcher-kva.de/"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_normalize_url_gives_a_canonical_key(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_normalize_url_keeps_the_path_case() -> None:
    assert normalize_url("https://example.com/Report") != normalize_url(
        "https://example.com/report"
    )


@pytest.mark.parametrize("url", ["javascript:alert(1)", "mailto:a@example.org", "https://a..b/"])
def test_normalize_url_refuses_what_check_url_refuses_or_bad_hosts(url: str) -> None:
    with pytest.raises(UrlError):
        normalize_url(url)


@pytest.mark.parametrize("host", ["a\u00a0", "\u3000a", "a\u2002b", "a\uff05b"])
def test_normalize_url_refuses_a_host_idna_maps_out_of_a_host_name(host: str) -> None:
    # Found by tests/fuzz/test_urlnorm.py: IDNA maps these spaces to " " (and a full-width "%" to
    # "%"), so the key was "http://a /", which check_url itself refuses.
    assert check_url(f"http://{host}/")
    with pytest.raises(UrlError, match="not a valid internationalized domain name"):
        normalize_url(f"http://{host}/")


# --- properties ----------------------------------------------------------------------------

_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", fullmatch=True)
_host = st.builds(
    lambda labels, tld, dot: ".".join(labels) + "." + tld + dot,
    st.lists(_label, min_size=1, max_size=3),
    st.sampled_from(["com", "org", "de", "COM", "xn--p1ai"]),
    st.sampled_from(["", "."]),
)
_port = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
# Path and query characters without "%" (see the percent-escape property below).
_path = st.text(
    alphabet=st.sampled_from(list("abcXYZ019-._~!$&'()*+,;=:@/ éü東")), max_size=20
).map(lambda p: "/" + p)
_query_part = st.text(alphabet=st.sampled_from(list("abcXYZ019-._~+ é")), max_size=6)
_query = st.lists(
    st.tuples(st.one_of(_query_part, st.sampled_from(["utm_source", "fbclid"])), _query_part),
    max_size=4,
).map(lambda pairs: ("?" + "&".join(f"{k}={v}" for k, v in pairs)) if pairs else "")
_fragment = st.one_of(st.just(""), _query_part.map(lambda f: "#" + f))
_scheme = st.sampled_from(["http", "https", "HTTP", "Https"])


@st.composite
def http_urls(draw: st.DrawFn, path: st.SearchStrategy[str] = _path) -> str:
    return (
        draw(_scheme)
        + "://"
        + draw(_host)
        + draw(_port)
        + draw(path)
        + draw(_query)
        + draw(_fragment)
    ).replace(" ", "%20")


@given(http_urls())
@example("HTTP://Example.COM:80/a?utm_source=x#frag")
@example("https://example.com/a%2Fb?x=%26")
def test_normalize_url_is_idempotent(url: str) -> None:
    once = normalize_url(url)
    assert normalize_url(once) == once
    assert urlsplit(once).scheme in {"http", "https"}
    assert "#" not in once


_escaped_path = st.lists(
    st.one_of(
        st.sampled_from(["a", "/", "%", "2", "5", "4", "1", "F", "c3", "%25", "%2F", "%41"]),
    ),
    max_size=8,
).map(lambda parts: "/" + "".join(parts))


@given(http_urls(path=_escaped_path))
@example("http://x.com/%2541")
def test_normalize_url_is_idempotent_with_percent_escapes(url: str) -> None:
    once = normalize_url(url)
    assert normalize_url(once) == once


@given(st.text(max_size=60))
@example(" JaVaScRiPt:alert(1)")
@example("\u0000https://example.org/")
def test_check_url_never_accepts_a_non_http_scheme(text: str) -> None:
    try:
        accepted = check_url(text)
    except UrlError:
        return
    assert urlsplit(accepted).scheme.lower() in {"http", "https"}
    assert re.match(r"(?i)https?://[^/?#]", accepted)


@given(
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9+.\-]{0,10}", fullmatch=True),
    st.sampled_from([":", "://", ":/", ":\\\\"]),
    st.text(max_size=20),
    st.sampled_from(["", " ", "  ", "\n", "\u00a0"]),
)
def test_check_url_accepts_a_scheme_only_if_it_is_http_or_https(
    scheme: str, separator: str, rest: str, padding: str
) -> None:
    url = padding + scheme + separator + rest
    try:
        accepted = check_url(url)
    except UrlError:
        return
    assert scheme.lower() in {"http", "https"}
    assert urlsplit(accepted).scheme.lower() == scheme.lower()
    try:
        normalized = normalize_url(accepted)
    except UrlError:  # e.g. a host that is not a valid IDNA name
        return
    assert normalized.startswith(scheme.lower() + "://")
