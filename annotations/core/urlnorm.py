"""Pure Python: URL checks and normalization for cited sources.

Only http and https are accepted anywhere a user gives a URL; everything else
(javascript:, data:, file:, vbscript:, ...) is refused at input so it can never be
rendered as an active link. A URL of a public source (a citation, a source's archive copy,
a document's origin, an organization's site) must also name a public host
(``check_public_url``): no loopback, private, link-local, multicast, reserved or
unspecified address, however it is spelled, and no ``localhost``; the fetcher
(``fetching``) judges addresses by the same ``address_refusal`` after DNS. Two spellings
of the same address normalize to one key, so a source is stored once however reviewers
paste it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

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

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Labels made of digits or 0x-hex only: inet_aton's shorthand IPv4 forms ("127.1",
# "2130706433", "0177.0.0.1", "0x7f.1").  No real host name looks like this.
NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*$")
# Shared address space (RFC 6598, carrier-grade NAT); not "private" to every Python.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# NAT64 well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Local-use NAT64 (RFC 8215): translates into the operator's own network.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
NOT_PUBLIC = (
    "Loopback, private, link-local, multicast, reserved and unspecified addresses and "
    "localhost are not."
)


# Unicode's Bidi_Control characters: invisible, they reorder the text around them.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


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
    if any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch in " \\" for ch in cleaned):
        raise UrlError("URLs may not contain spaces, backslashes or control characters.")
    if any(ch in _BIDI_CONTROLS for ch in cleaned):
        # U+202E turns "…/\u202egpj.exe" into "…/exe.jpg" on screen (the outside probe):
        # a cited link would read as another address on the claim page and the fact check.
        raise UrlError(
            "URLs may not contain control characters, bidirectional ones (U+202E …) included."
        )
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


# --- public hosts ---------------------------------------------------------------------


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` must not be contacted, or None if it is a public unicast address.

    Addresses that embed an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are judged by
    what they embed as well, since that is where the packets can end up.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if address.ipv4_mapped is not None:
            # ::ffff:a.b.c.d *is* a.b.c.d to a dual-stack socket; judge only that.
            return address_refusal(address.ipv4_mapped)
        if address in _LOCAL_NAT64:
            return "a local-use NAT64 address"
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.extend(address.teredo)
        for inner in embedded:
            reason = address_refusal(inner)
            if reason is not None:
                return f"an address that embeds {inner}, which is {reason}"
        if address in _NAT64:
            # The prefix itself counts as reserved to ipaddress; the embedded address
            # passed, so this is an ordinary public host behind a NAT64 gateway.
            return None
        if address.is_site_local:
            return "a site-local address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "a shared address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        # Catch-all for special-purpose ranges the flags above miss (documentation,
        # benchmarking, ...): whatever IANA does not list as globally reachable.
        (not address.is_global, "not a public address"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def host_refusal(host: str) -> str | None:
    """Why a URL's ``host`` (``urlsplit``'s ``hostname``: no brackets) names no public
    site as it is spelled, or None. No lookup: a literal address (IPv4, IPv6 with an
    IPv4-mapped or other embedded address) is judged by ``address_refusal``; numeric
    shorthand that libc reads as IPv4 (``2130706433``, ``0x7f.1``) and ``localhost`` or a
    name under it are refused whatever they stand for. The host is judged as it will be
    looked up or a browser reads it: percent-escapes decoded, lower case, without a
    trailing dot, IDNA-mapped (``127。0。0。1`` and full-width digits become
    ``127.0.0.1``)."""
    if "%" in host and ":" not in host:  # an IPv6 literal's zone is "%25eth0"
        # A browser reads a percent-escape in a host name (127%2E0.0.1 is 127.0.0.1).
        try:
            host = unquote(host, errors="strict")
        except UnicodeDecodeError:
            return None  # bytes that are no name: nothing can be looked up
    host = host.lower().rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").rstrip(".")
        except UnicodeError:
            return None  # not a host name at all: normalize_url says so
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        reason = address_refusal(address)
        return None if reason is None else f"the address {host} is {reason}"
    if NUMERIC_HOST.match(host):
        return f"{host} is numeric shorthand for an IP address, not a host name"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this server itself"
    return None


def check_public_url(url: str, *, allowed_hosts: Collection[str] = ()) -> str:
    """``check_url``, and a host that names a public site (``host_refusal``: no loopback,
    private, link-local, multicast, reserved or unspecified address, no ``localhost``, no
    numeric shorthand), unless ``allowed_hosts`` names it (an intranet's own sources, as
    ``fetching.FetchPolicy.allowed_hosts``). Checks the spelling only, with no DNS lookup:
    the fetcher resolves the name and vets every address it connects to, on every hop.
    Returns the URL stripped, or raises UrlError."""
    cleaned = check_url(url)
    host = urlsplit(cleaned).hostname or ""
    allowed = {name.strip("[]").rstrip(".").lower() for name in allowed_hosts}
    if host.rstrip(".") in allowed:
        return cleaned
    reason = host_refusal(host)
    if reason is not None:
        raise UrlError(f"Only public sites are accepted: {reason}. {NOT_PUBLIC}")
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
