"""A project's evidence policy: what the citations of every verdict must meet.

Three rules, each off by default (so a project that never set a policy behaves as before):
at least ``min_citations`` citations per verdict, a non-blank quote on every citation
(``quote_required``), and only ``allowed_stances``. The stances themselves are the
caller's (``models.Stance``): this module knows them only as strings, in the caller's
order. A set of stances is stored as one text, the stances in that order joined by
commas (``stances_text``), so the database can check it against the finite list of
valid texts (``stance_texts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

MAX_MIN_CITATIONS = 50  # a verdict carries at most 50 citations (services.limits)

MIN_CITATIONS = "min_citations"
QUOTE_REQUIRED = "quote_required"
STANCE_NOT_ALLOWED = "stance_not_allowed"


@dataclass(frozen=True)
class EvidencePolicy:
    min_citations: int
    quote_required: bool
    allowed_stances: tuple[str, ...]


@dataclass(frozen=True)
class Cited:
    """What the policy reads of one citation."""

    stance: str
    quote: str = ""


@dataclass(frozen=True)
class Breach:
    """One broken rule: ``index`` is the citation's (from 0), None for the verdict as a
    whole; ``field`` the citation's field at fault (``quote``, ``stance``) or None."""

    rule: str
    index: int | None
    field: str | None
    message: str


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _or_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def policy_breaches(policy: EvidencePolicy, citations: Sequence[Cited]) -> list[Breach]:
    """Every rule of ``policy`` that ``citations`` (one verdict's) break: first the count,
    then citation by citation its quote and its stance. Empty when the verdict complies."""
    breaches: list[Breach] = []
    if len(citations) < policy.min_citations:
        breaches.append(
            Breach(
                MIN_CITATIONS,
                None,
                None,
                "This project's evidence policy requires at least "
                f"{_plural(policy.min_citations, 'citation')} per verdict.",
            )
        )
    for index, citation in enumerate(citations):
        if policy.quote_required and not citation.quote.strip():
            breaches.append(
                Breach(
                    QUOTE_REQUIRED,
                    index,
                    "quote",
                    "This project's evidence policy requires a quote from the source "
                    "for every citation.",
                )
            )
        if citation.stance not in policy.allowed_stances:
            breaches.append(
                Breach(
                    STANCE_NOT_ALLOWED,
                    index,
                    "stance",
                    f"This project's evidence policy does not allow {citation.stance!r} "
                    f"citations; use {_or_list(policy.allowed_stances)}.",
                )
            )
    return breaches


def policy_is_open(policy: EvidencePolicy, all_stances: Iterable[str]) -> bool:
    """True for the default policy: no rule refuses any verdict."""
    return (
        policy.min_citations == 0
        and not policy.quote_required
        and set(all_stances) <= set(policy.allowed_stances)
    )


def policy_summary(policy: EvidencePolicy, all_stances: Sequence[str]) -> str:
    """The policy in one sentence for the people who write verdicts, e.g. "This project
    requires at least 1 quoted citation per verdict."; empty for the open policy."""
    if policy_is_open(policy, all_stances):
        return ""
    parts: list[str] = []
    if policy.min_citations:
        kind = "quoted citation" if policy.quote_required else "citation"
        parts.append(f"at least {_plural(policy.min_citations, kind)} per verdict")
    elif policy.quote_required:
        parts.append("a quote from the source in every citation")
    allowed = [stance for stance in all_stances if stance in policy.allowed_stances]
    if len(allowed) < len(all_stances):
        parts.append(f"citations of stance {_or_list(allowed)} only")
    return f"This project requires {'; '.join(parts)}."


def stances_text(stances: Iterable[str], order: Sequence[str]) -> str:
    """``stances`` as stored: those of ``order`` present, in its order, comma-joined.
    Raises ValueError naming a stance not in ``order``."""
    chosen = set(stances)
    unknown = sorted(chosen - set(order))
    if unknown:
        raise ValueError(f"Unknown stance {unknown[0]!r}; use one of {', '.join(order)}.")
    return ",".join(stance for stance in order if stance in chosen)


def stances_split(text: str) -> tuple[str, ...]:
    """The stances of a stored text (the inverse of ``stances_text``)."""
    return tuple(stance for stance in text.split(",") if stance)


def stance_texts(order: Sequence[str]) -> list[str]:
    """Every valid stored text: each non-empty subset of ``order``, in order."""
    return [
        ",".join(subset)
        for size in range(1, len(order) + 1)
        for subset in combinations(order, size)
    ]
