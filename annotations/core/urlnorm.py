"""Pure Python: URL checks and normalization for cited sources.

Only http and https are accepted anywhere a user gives a URL; everything else
(javascript:, data:, file:, vbscript:, ...) is refused at input so it can never be
rendered as an active link. Two spellings of the same address normalize to one key,
so a source is stored once however reviewers paste it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from annotations.core import spans

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000
# Tracking parameters carry no meaning for the reference itself.
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_KEYS = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "ref_src"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
# RFC 3986 reg-name, percent-escapes aside: what an internationalized host must map to.
_REG_NAME = _UNRESERVED | frozenset("!$&'()*+,;=")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


class UrlError(ValueError):
    """The URL is not an absolute http(s) address; the message says why."""


def check_url(url: str) -> str:
    """Return the URL stripped of surrounding whitespace, or raise UrlError."""
    if not isinstance(url, str):
        raise UrlError("Enter a URL as text.")
    cleaned = url.strip()
    if not cleaned:
        raise UrlError("Enter a URL.")
    if len(cleaned) > MAX_URL_LENGTH:
        raise UrlError(f"URLs are limited to {MAX_URL_LENGTH} characters.")
    if any(ord(ch) < 32 or ch in "\x7f \\" for ch in cleaned):
        raise UrlError("URLs may not contain spaces, backslashes or control characters.")
    # A JSON "\ud800" escape makes a lone surrogate; percent-encoding it would raise.
    # (NUL, the other thing no column stores, is a control character: refused above.)
    problems = spans.storage_problems(cleaned)
    if problems:
        raise UrlError(f"The URL {problems[0]}.")
    try:
        parts = urlsplit(cleaned)
        port = parts.port
    except ValueError as exc:
        raise UrlError(f"Not a valid URL: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "none"
        raise UrlError(f"Only http and https URLs are allowed (scheme: {shown}).")
    if not parts.hostname:
        raise UrlError("The URL needs a host name, e.g. https://example.org/page.")
    if parts.username or parts.password:
        raise UrlError("URLs with a user name or password are not allowed.")
    if port == 0:
        raise UrlError("Port 0 is not a valid port.")
    return cleaned


def normalize_url(url: str) -> str:
    """A canonical key for ``url``: lower-case scheme and host, no default port,
    no fragment, no tracking parameters, sorted query, percent-encoding made uniform.
    Raises UrlError as ``check_url`` does, for a host that is not a valid IDNA name, and
    when the key would be longer than MAX_URL_LENGTH."""
    parts = urlsplit(check_url(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.startswith("[") else host
    except UnicodeError:
        raise UrlError("The host name is not a valid internationalized domain name.") from None
    if not host.isascii() and not set(ascii_host) <= _REG_NAME:
        # IDNA maps a no-break or ideographic space to " ": the key would be a URL that
        # check_url refuses (found by tests/fuzz/test_urlnorm.py).
        raise UrlError("The host name is not a valid internationalized domain name.")
    host = ascii_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalize_path(parts.path) or "/"
    query_pairs = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in _TRACKING_KEYS and not key.startswith(_TRACKING_PREFIXES)
    ]
    query = urlencode(sorted(query_pairs))
    normalized = urlunsplit((scheme, netloc, path, query, ""))
    if len(normalized) > MAX_URL_LENGTH:
        # Percent-encoding makes a URL longer (an "é" becomes "%C3%A9"): the key must
        # itself be a URL check_url accepts, so normalizing it again gives it back.
        raise UrlError(
            f"URLs are limited to {MAX_URL_LENGTH} characters once special characters "
            "are percent-encoded."
        )
    return normalized


def _normalize_path(path: str) -> str:
    """RFC 3986 normalization of percent-encoding: decode escapes of unreserved characters,
    upper-case the others, encode what may not appear raw. ``%2F`` stays encoded (it is not
    ``/``), and a decoded ``%`` is never decoded again, so the result is a fixed point."""
    out: list[str] = []
    index = 0
    while index < len(path):
        char = path[index]
        match = _ESCAPE.match(path, index) if char == "%" else None
        if match is not None:
            decoded = chr(int(match.group(1), 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + match.group(1).upper())
            index = match.end()
            continue
        if char in _PATH_SAFE:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        index += 1
    return "".join(out)
