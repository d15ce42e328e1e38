"""Tests for annotations.core.fetching, addresses: which addresses are refused (internal
and special ones) or accepted (public unicast), and every refusal that comes before any
connection (blocked answers, literal and shorthand IPs, localhost, other schemes,
malformed URLs, failed lookups), under the same network guard as ``test_fetching.py``.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from annotations.core.fetching import FetchPolicy, address_refusal
from tests.core import fetching_guard
from tests.core.fetching_guard import Network, answers, no_lookup, refused

pytestmark = pytest.mark.db_independent

network = fetching_guard.network  # the autouse network guard, for this module too
REAL_GETADDRINFO = socket.getaddrinfo


# --- address classification (pure) ---------------------------------------------------------

BLOCKED_ADDRESSES = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (CGNAT)
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",  # site-local (deprecated)
    "ff02::1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
    "2002:a00:1::1",  # 6to4 around 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2001:db8::1",  # documentation
]
PUBLIC_ADDRESSES = [
    "93.184.215.14",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 around a public address
    "2002:808:808::1",  # 6to4 around a public address
]


@pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
def test_it_classifies_internal_and_special_addresses_as_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_it_accepts_public_unicast_addresses(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


# --- refusals before any connection ----------------------------------------------------------


@pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
def test_it_refuses_a_name_resolving_to_a_blocked_address(address: str, network: Network) -> None:
    error = refused("http://evil.example/", resolve=answers({"evil.example": [address]}))
    assert error.code == "blocked-address"
    assert network.connects == []


def test_it_refuses_when_any_of_several_answers_is_blocked(network: Network) -> None:
    resolve = answers({"mixed.example": ["93.184.215.14", "2606:4700::1111", "10.0.0.1"]})
    error = refused("https://mixed.example/", resolve=resolve)
    assert error.code == "blocked-address"
    assert error.message == (
        "mixed.example resolves to an address which is a private address; only public sites can be."
    )
    assert "10.0.0.1" not in error.message  # no map of internal names for the user
    assert network.connects == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8000/admin/",
        "http://0.0.0.0/",
        "http://10.1.2.3:8080/",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fd00::1]/",
        "https://[2002:7f00:1::]/",
        "http://100.100.100.200/",  # Alibaba metadata (shared space)
    ],
)
def test_it_refuses_literal_blocked_ips_without_a_lookup(url: str, network: Network) -> None:
    error = refused(url, resolve=no_lookup)
    assert error.code == "blocked-address"
    assert error.message.endswith("cannot be fetched; only public sites can be.")
    assert network.connects == []


@pytest.mark.parametrize(
    "spelling",
    ["2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.1", "017700000001", "0x7f.0.0.1"],
)
def test_libc_reads_numeric_shorthand_as_loopback(spelling: str) -> None:
    # Why these spellings are refused: the system resolver turns them into 127.0.0.1.
    # AI_NUMERICHOST parses locally, it never sends a DNS query.
    infos = REAL_GETADDRINFO(spelling, 80, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    assert {info[4][0] for info in infos} == {"127.0.0.1"}


@pytest.mark.parametrize(
    "spelling",
    ["2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.1", "017700000001", "0x7f.0.0.1"],
)
def test_it_refuses_numeric_shorthand_hosts(spelling: str, network: Network) -> None:
    for url in (f"http://{spelling}/", f"https://{spelling}:443/x"):
        error = refused(url, resolve=no_lookup)
        assert error.code == "host"
    # Even when listed as allowed: a normal spelling is the only one accepted.
    error = refused(
        f"http://{spelling}/",
        resolve=no_lookup,
        policy=FetchPolicy(allowed_hosts=frozenset({spelling})),
    )
    assert error.code == "host"
    assert network.connects == []


@pytest.mark.parametrize(
    "url", ["http://localhost/", "http://LOCALHOST./", "http://api.localhost:8000/"]
)
def test_it_refuses_localhost_without_a_lookup(url: str, network: Network) -> None:
    assert refused(url, resolve=no_lookup).code == "host"
    assert network.connects == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_stats",
        "ftp://example.org/file.txt",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "dict://127.0.0.1:11211/stats",
        "//example.org/no-scheme",
    ],
)
def test_it_refuses_schemes_other_than_http_and_https(url: str, network: Network) -> None:
    assert refused(url, resolve=no_lookup).code == "scheme"
    assert network.connects == []


@pytest.mark.parametrize(
    "url", ["http://user:pass@example.org/", "http:///nohost", "http://exa mple.org/"]
)
def test_it_refuses_malformed_urls(url: str, network: Network) -> None:
    assert refused(url, resolve=no_lookup).code == "host"
    assert network.connects == []


def test_a_failed_lookup_is_a_dns_error(network: Network) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert refused("http://nowhere.example/", resolve=fail).code == "dns"
    assert refused("http://empty.example/", resolve=answers({"empty.example": []})).code == "dns"
    assert network.connects == []


def test_the_default_resolver_asks_getaddrinfo_and_checks_every_answer(
    monkeypatch: pytest.MonkeyPatch, network: Network
) -> None:
    asked: list[tuple[object, ...]] = []

    def fake_getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:  # type: ignore[type-arg]
        asked.append((host, port))
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fd00::1", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    error = refused("https://dual.example/")
    assert error.code == "blocked-address"
    assert asked == [("dual.example", 443)]
    assert network.connects == []


def test_it_connects_only_to_the_vetted_address_once_resolved(network: Network) -> None:
    # DNS rebinding: the second answer would be internal. There is no second lookup;
    # the connection goes to the address that was checked (refused here by the guard,
    # which sends nothing).
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["93.184.215.14"] if len(calls) == 1 else ["127.0.0.1"]

    error = refused("http://rebind.example/", resolve=rebinding)
    assert error.code == "connection"
    assert calls == ["rebind.example"]
    assert network.connects == [("93.184.215.14", 80)]
