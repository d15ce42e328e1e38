"""annotations.core.urlnorm: pure Python, no database."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from annotations.core import fetching
from annotations.core.urlnorm import (
    MAX_URL_LENGTH,
    UrlError,
    address_refusal,
    check_public_url,
    check_url,
    host_refusal,
    normalize_url,
)

pytestmark = pytest.mark.db_independent

# --- check_public_url ---------------------------------------------------------------------

NOT_PUBLIC_URLS = [
    # The outside probe's addresses.
    ("http://127.0.0.1/admin", "the address 127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
    ("http://[::1]/", "the address ::1 is a loopback address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://localhost/", "localhost is this server itself"),
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    # Other spellings of the same places.
    ("http://LOCALHOST:8000/x", "localhost is this server itself"),
    ("http://localhost./", "localhost is this server itself"),
    ("http://db.localhost/", "db.localhost is this server itself"),
    ("http://127.0.0.1./", "127.0.0.1 is a loopback address"),
    ("http://127.1.2.3:8080/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped IPv6
    ("http://[::ffff:a9fe:a9fe]/", "link-local"),  # the same, in hex
    ("http://[64:ff9b::a00:1]/", "embeds 10.0.0.1"),  # NAT64 around a private address
    ("http://[fe80::1%25eth0]/", "link-local"),  # with a zone
    ("http://[::]/", "unspecified"),
    ("http://2130706433/", "2130706433 is numeric shorthand"),  # decimal 127.0.0.1
    ("http://0x7f.1/", "0x7f.1 is numeric shorthand"),
    ("http://0177.0.0.1/", "numeric shorthand"),  # octal
    ("http://127.1/", "numeric shorthand"),
    ("http://0x7f000001/", "numeric shorthand"),
    ("http://127\u3002\u0030\u3002\u0030\u3002\u0031/", "127.0.0.1 is a loopback address"),
    ("http://\uff11\uff12\uff17.0.0.1/", "127.0.0.1 is a loopback address"),  # full width
    ("http://127%2E0.0.1/", "127.0.0.1 is a loopback address"),  # a browser decodes it
    ("http://192.168.1.20/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://100.64.0.1/", "shared"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[fd12:3456::1]/", "private"),
]


@pytest.mark.parametrize(("url", "reason"), NOT_PUBLIC_URLS)
def test_check_public_url_refuses_an_internal_host_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(UrlError, match="Only public sites are accepted") as caught:
        check_public_url(url)
    assert reason in str(caught.value)
    check_url(url)  # a valid http(s) URL all the same: the host is what is refused


@pytest.mark.parametrize("url", [url for url, _ in NOT_PUBLIC_URLS])
def test_what_input_refuses_the_fetcher_refuses_too(url: str) -> None:
    # The fetcher vets addresses with the same address_refusal, after DNS; a URL refused
    # at input is refused at fetch time (with no lookup for these spellings) as well,
    # except a percent-escaped host, which no resolver decodes: it does not resolve.
    assert fetching.address_refusal is address_refusal
    with pytest.raises(fetching.FetchError) as caught:
        fetching.check_target(url, resolve=lambda host, port: [])
    assert caught.value.code in {"blocked-address", "host", "dns"}


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a",
        "http://8.8.8.8/",
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:8.8.8.8]/",
        "https://localhost.example.org/",  # a name under a public domain
        "https://10.example.org/",
        "https://2024.example.org/",
        "https://bücher.de/straße",
    ],
)
def test_check_public_url_accepts_public_hosts_without_a_lookup(url: str) -> None:
    assert check_public_url(url) == url


def test_allowed_hosts_exempt_an_intranet_host_as_the_fetcher_does() -> None:
    allowed = ["127.0.0.1", "wiki.intranet", "[::1]"]
    for url in ("http://127.0.0.1:8066/x", "http://WIKI.intranet./a", "http://[::1]:9/"):
        assert check_public_url(url, allowed_hosts=allowed) == url
    with pytest.raises(UrlError, match=r"10\.0\.0\.1 is a private address"):
        check_public_url("http://10.0.0.1/", allowed_hosts=allowed)


def test_check_public_url_still_refuses_what_check_url_refuses() -> None:
    with pytest.raises(UrlError, match="scheme: javascript"):
        check_public_url("javascript:alert(1)")


@given(st.text(max_size=40))
def test_host_refusal_never_raises(host: str) -> None:
    assert host_refusal(host) is None or isinstance(host_refusal(host), str)


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
        ("https://example.org/a\x85b", "control characters"),  # C1 (NEL)
        # bidirectional controls: "/\u202egpj.exe" shows as "/exe.jpg" (the outside probe)
        ("https://example.org/\u202egpj.exe", "bidirectional"),
        ("https://example.org/\u2066a", "bidirectional"),
        ("https://exa\u200fmple.org/", "bidirectional"),
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
