"""One broken invariant, as ``manage.py check_integrity`` reports it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    object: str
    invariant: str
    found: str
    expected: str

    def line(self) -> str:
        return f"{self.object}: {self.invariant}: found {self.found}; expected {self.expected}"


def clip(value: object, limit: int = 60) -> str:
    """``value`` for a message: text quoted and cut at ``limit`` characters."""
    if not isinstance(value, str):
        return repr(value)
    return repr(value if len(value) <= limit else value[:limit] + "…")
