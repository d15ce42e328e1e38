"""The claimant registry as pages and the API read it: autocomplete, the list with claim
counts, a claimant's claims (ratings as blind review allows) and their repeats.

A claim names its claimant as typed text; it belongs to a registered claimant when the
text's key (``core.claimants.name_key``) is one of the claimant's names. Keys are
computed here in Python from the project's distinct claimant texts (one query that reads
two short columns), since the key folds case, accents and punctuation in ways no
portable SQL expression does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from annotations import access
from annotations.core.claimants import name_key, prefix_matches
from annotations.core.matching import normalize_text
from annotations.models import Claim, Claimant, ClaimantName, Membership, Project
from annotations.selectors.matching import claim_ratings_visible

# Distinct claimant texts read for autocomplete and counts: enough for any desk's
# registry; past it the rarest names are left out of suggestions (never out of pages).
MAX_NAMES_SCANNED = 20_000


def _claimant_texts(project_id: int) -> dict[str, int]:
    """Each distinct claimant text of the project's claims → how many claims carry it."""
    rows = (
        Claim.objects.filter(project_id=project_id)
        .exclude(claimant="")
        .values("claimant")
        .annotate(n=Count("id"))
        .order_by("-n")[:MAX_NAMES_SCANNED]
    )
    return {row["claimant"]: row["n"] for row in rows}


def _registry_keys(project_id: int) -> dict[str, int]:
    """Every registered key of the project → its claimant's id."""
    return dict(
        ClaimantName.objects.filter(project_id=project_id).values_list("key", "claimant_id")
    )


@dataclass(frozen=True)
class Suggestion:
    name: str
    claimant_id: int | None


def claimant_suggestions(*, project: Project, query: str, limit: int = 10) -> list[Suggestion]:
    """Autocomplete for a claimant field: registered names and aliases first (an alias
    suggests its claimant's name), then claimant texts already used on claims that no
    claimant has registered."""
    names = ClaimantName.objects.filter(
        project=project, claimant__merged_into__isnull=True
    ).values_list("name", "claimant_id", "claimant__name")
    by_name: dict[str, tuple[int, str]] = {n: (cid, primary) for n, cid, primary in names}
    out: list[Suggestion] = []
    shown: set[str] = set()
    for name in prefix_matches(query, by_name, limit=limit * 2):
        claimant_id, primary = by_name[name]
        if primary not in shown:
            shown.add(primary)
            out.append(Suggestion(primary, claimant_id))
    registered = set(_registry_keys(project.pk))
    unregistered = [t for t in _claimant_texts(project.pk) if name_key(t) not in registered]
    for name in prefix_matches(query, unregistered, limit=limit):
        if name not in shown:
            shown.add(name)
            out.append(Suggestion(name, None))
    return out[:limit]


MAX_DATALIST = 500


def claimant_for_text(*, project_id: int, text: str) -> Claimant | None:
    """The registered claimant (the one kept, after merges) that ``text`` names, or None."""
    key = name_key(text)
    if not key:
        return None
    found = ClaimantName.objects.filter(project_id=project_id, key=key).select_related("claimant")
    name = found.first()
    return name.claimant if name is not None else None


def claimant_datalist(*, project: Project) -> list[tuple[str, str]]:
    """The options of a claim form's ``<datalist id="claimant-names">``, as (value, label):
    each registered name and alias (an alias's value is its claimant's name, its label the
    alias, so typing "the President" offers the registered name), then the names used on
    claims that no claimant registered, most used first; at most ``MAX_DATALIST``."""
    names = list(
        ClaimantName.objects.filter(project=project).values_list(
            "name", "claimant__name", "key", "claimant__merged_into"
        )
    )
    registered = {key for _, _, key, _ in names}
    options = [
        (primary, "" if name == primary else name)
        for name, primary, _, merged in names
        if merged is None
    ][:MAX_DATALIST]
    for text in _claimant_texts(project.pk):
        if len(options) >= MAX_DATALIST:
            break
        if name_key(text) not in registered:
            registered.add(name_key(text))
            options.append((text, ""))
    return options


@dataclass
class RegistryEntry:
    claimant: Claimant
    aliases: list[str]
    claims: int


@dataclass
class UnregisteredName:
    name: str
    claims: int


@dataclass
class Registry:
    entries: list[RegistryEntry]
    unregistered: list[UnregisteredName]


def claimant_registry(*, project: Project, query: str = "") -> Registry:
    """The project's claimants (not merged ones) with their aliases and claim counts, and
    the claimant texts of claims that match no registered name (for editors to register),
    both filtered by ``query`` (a name prefix, as autocomplete) when given."""
    keys = _registry_keys(project.pk)
    counts: dict[int, int] = defaultdict(int)
    loose: dict[str, list[object]] = {}
    for text, n in _claimant_texts(project.pk).items():
        key = name_key(text)
        if not key:
            continue
        if key in keys:
            counts[keys[key]] += n
        else:
            entry = loose.setdefault(key, [text, 0])
            entry[1] = int(entry[1]) + n  # type: ignore[call-overload]
    claimants = list(
        Claimant.objects.filter(project=project, merged_into__isnull=True).prefetch_related("names")
    )
    if query:
        wanted = set(
            prefix_matches(query, [n.name for c in claimants for n in c.names.all()], limit=10_000)
        )
        claimants = [c for c in claimants if any(n.name in wanted for n in c.names.all())]
        loose_texts = set(prefix_matches(query, [str(v[0]) for v in loose.values()], limit=10_000))
        loose = {k: v for k, v in loose.items() if v[0] in loose_texts}
    entries = [
        RegistryEntry(
            claimant=c,
            aliases=[n.name for n in c.names.all() if not n.is_primary],
            claims=counts.get(c.pk, 0),
        )
        for c in claimants
    ]
    unregistered = sorted(
        (UnregisteredName(str(text), int(n)) for text, n in loose.values()),  # type: ignore[call-overload]
        key=lambda u: (-u.claims, name_key(u.name)),
    )
    return Registry(entries=entries, unregistered=unregistered)


@dataclass
class ClaimantClaim:
    claim: Claim
    rating: str | None
    """The consensus rating's label where the user may see it (editors; a reviewer who
    judged the claim; anyone once it is published), else None."""


@dataclass
class Repeat:
    statement: str
    claims: list[Claim] = field(default_factory=list)


@dataclass
class ClaimantPage:
    claimant: Claimant
    aliases: list[ClaimantName]
    claims: list[ClaimantClaim]
    repeats: list[Repeat]
    merged: list[Claimant]


def claimant_claims_queryset(*, claimant: Claimant) -> QuerySet[Claim]:
    """The claims whose claimant text is one of ``claimant``'s names (any spelling with the
    same key), newest first."""
    keys = set(ClaimantName.objects.filter(claimant=claimant).values_list("key", flat=True))
    texts = [t for t in _all_claimant_texts(claimant.project_id) if name_key(t) in keys]
    return Claim.objects.filter(project_id=claimant.project_id, claimant__in=texts).order_by(
        "-created_at", "-id"
    )


def _all_claimant_texts(project_id: int) -> list[str]:
    return list(
        Claim.objects.filter(project_id=project_id)
        .exclude(claimant="")
        .values_list("claimant", flat=True)
        .distinct()
    )


def claimant_page(
    *, claimant: Claimant, user: access.User, membership: Membership, limit: int = 500
) -> ClaimantPage:
    """What a claimant's page shows ``user``: names, the claims attributed to them (newest
    first, at most ``limit``) with ratings as blind review allows, and their repeats:
    statements they made more than once (the same words, up to case, spacing, quotes and
    dashes), each with its claims oldest first."""
    claims = list(
        claimant_claims_queryset(claimant=claimant).select_related("document", "consensus__rating")[
            :limit
        ]
    )
    ratings = claim_ratings_visible(claims=claims, user=user, membership=membership)
    groups: dict[str, Repeat] = {}
    for claim in reversed(claims):
        key = normalize_text(claim.statement).casefold()
        groups.setdefault(key, Repeat(statement=claim.statement)).claims.append(claim)
    return ClaimantPage(
        claimant=claimant,
        aliases=list(ClaimantName.objects.filter(claimant=claimant, is_primary=False)),
        claims=[ClaimantClaim(claim=c, rating=ratings[c.pk]) for c in claims],
        repeats=[r for r in groups.values() if len(r.claims) > 1],
        merged=list(Claimant.objects.filter(merged_into=claimant)),
    )
