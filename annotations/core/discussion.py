"""Pure logic of claim discussions: plain text made into safe HTML, and ``@username`` mentions.

A comment is plain text, never Markdown: what a member typed is shown as typed. The only
markup the workbench adds is a link for each ``http://`` or ``https://`` address of a
public site (``urlnorm.check_public_url``, the rule every URL a user gives is held to),
with ``rel="nofollow noopener noreferrer"``; everything else is escaped (``linkify``).
Other schemes (``javascript:``, ``data:``, ``ftp:``) and addresses that name no public
site (``http://127.0.0.1/``, ``http://localhost/``, ``http://10.0.0.1/``: a click from a
colleague's browser would reach its own machine or network) stay text.

No Django here: strings in, strings out (tests in tests/core/test_discussion.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from dataclasses import dataclass

from annotations.core.urlnorm import UrlError, check_public_url

LINK_REL = "nofollow noopener noreferrer"

# An address runs to the next whitespace or character that cannot be in a URL unescaped
# (quotes and angle brackets); punctuation that usually ends a sentence is trimmed after.
_URL = re.compile(r"\bhttps?://[^\s<>\"'`\x00-\x1f\x7f]+", re.IGNORECASE)
_TRAILING = ".,;:!?*'\""
_PAIRS = {")": "(", "]": "[", "}": "{"}

# Usernames as Django's default validator allows them (letters, digits and @.+-_), minus
# a trailing dot (the end of a sentence). The ``@`` must not follow a word character, so
# e-mail addresses are not mentions.
_MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]*[\w+-]|\w)")
MAX_MENTIONS = 20


@dataclass(frozen=True)
class Segment:
    """A run of a comment's text; ``url`` is set when the run is a link to it."""

    text: str
    url: str | None = None


def _trim(candidate: str) -> str:
    """``candidate`` without the sentence punctuation and unbalanced closing brackets it ends
    with (``(see https://a.example/x)`` links ``https://a.example/x``)."""
    while candidate:
        last = candidate[-1]
        if last in _TRAILING or (
            last in _PAIRS and candidate.count(last) > candidate.count(_PAIRS[last])
        ):
            candidate = candidate[:-1]
        else:
            break
    return candidate


def _is_public(url: str, allowed_hosts: Collection[str]) -> bool:
    try:
        check_public_url(url, allowed_hosts=allowed_hosts)
    except UrlError:
        return False
    return True


def link_segments(text: str, *, allowed_hosts: Collection[str] = ()) -> list[Segment]:
    """``text`` split into plain runs and links to public http/https sites (a host
    ``allowed_hosts`` names counts as public, as in ``check_public_url``), in order;
    joined, their texts give ``text`` back."""
    segments: list[Segment] = []
    position = 0
    for match in _URL.finditer(text):
        url = _trim(match.group(0))
        if "://" not in url or url.endswith("://") or not _is_public(url, allowed_hosts):
            continue
        start = match.start()
        if start > position:
            segments.append(Segment(text[position:start]))
        segments.append(Segment(url, url))
        position = start + len(url)
    if position < len(text):
        segments.append(Segment(text[position:]))
    return segments


def linkify(text: str, *, allowed_hosts: Collection[str] = ()) -> str:
    """``text`` as HTML: every character escaped, addresses of public http/https sites
    (``link_segments``) made into links that leave no referrer and pass no ranking
    (``LINK_REL``)."""
    parts = []
    for segment in link_segments(text, allowed_hosts=allowed_hosts):
        escaped = html.escape(segment.text, quote=True)
        if segment.url is None:
            parts.append(escaped)
        else:
            href = html.escape(segment.url, quote=True)
            parts.append(f'<a href="{href}" rel="{LINK_REL}">{escaped}</a>')
    return "".join(parts)


def mentioned_usernames(text: str) -> list[str]:
    """The distinct usernames ``text`` mentions as ``@name``, first mention first, at most
    ``MAX_MENTIONS`` (a comment cannot page a whole desk). Case is kept; matching them to
    accounts is the caller's."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        name = match.group(1)
        if name.casefold() not in {n.casefold() for n in seen}:
            seen[name] = None
        if len(seen) >= MAX_MENTIONS:
            break
    return list(seen)


_TITLES = {
    "mentioned": "{actor} mentioned you on claim {claim}",
    "assigned": "{actor} assigned you claim {claim}",
    "disputed": "Claim {claim} is disputed and needs an editor's decision",
    "decided": "Your claim {claim} was decided",
    "published": "Your claim {claim} was published",
    "lease_expiring": "Your lease on claim {claim} is about to expire",
}


# The kinds whose notice names who acted (their title does): a mention's author, the
# editor who assigned. A status notice names nobody: a claim decided by the rule was decided
# by a reviewer's verdict, and its creator, who may not see the claim's verdicts (blind
# review), must not learn who judged it from the notice either.
ACTOR_NAMED = frozenset(kind for kind, title in _TITLES.items() if "{actor}" in title)


def notification_actor(*, kind: str, actor: str | None) -> str | None:
    """Who acted, as a notice of ``kind`` shows it (the API's ``actor``): the name when the
    kind names them (``ACTOR_NAMED``), else None."""
    return actor if kind in ACTOR_NAMED else None


def notification_title(*, kind: str, actor: str, claim_id: int | None) -> str:
    """The one line a notification shows. It names the kind, who acted and the claim, and
    never a rating or what another reviewer wrote: blind review holds in every notice."""
    template = _TITLES.get(kind, "Notification about claim {claim}")
    return template.format(actor=actor or "Someone", claim=claim_id if claim_id else "?")
