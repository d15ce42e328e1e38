"""What the fetcher tests share: the autouse ``network`` guard (any connect beyond
127.0.0.1 is recorded and refused without touching the network, and the system resolver
fails the test), ``answers``/``no_lookup`` resolvers for the tests to pass in, and
``refused``. Each module binds ``network = fetching_guard.network``, which makes the guard
autouse there too. Used by ``tests/core/test_fetching.py`` and
``tests/core/test_fetching_addresses.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from annotations.core.fetching import FetchError, fetch

REAL_CONNECT = socket.socket.connect


@dataclass
class Network:
    """What the code under test tried to do on the network."""

    connects: list[tuple[str, int]] = field(default_factory=list)

    @property
    def remote_connects(self) -> list[tuple[str, int]]:
        return [address for address in self.connects if address[0] != "127.0.0.1"]


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    seen = Network()

    def guarded_connect(sock: socket.socket, address: tuple) -> None:  # type: ignore[type-arg]
        seen.connects.append((address[0], address[1]))
        if address[0] != "127.0.0.1":
            # Refuse like an unreachable host would, without sending anything.
            raise ConnectionRefusedError(f"test guard: no traffic to {address[0]}")
        REAL_CONNECT(sock, address)

    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"real DNS lookup attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    return seen


def answers(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A resolver that knows only ``table``; any other name fails the test."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise AssertionError(f"unexpected lookup of {host!r}")
        return list(table[host])

    return resolve


def no_lookup(host: str, port: int) -> list[str]:
    raise AssertionError(f"no lookup expected, got {host!r}")


def refused(url: str, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, **kwargs)  # type: ignore[arg-type]
    return caught.value
