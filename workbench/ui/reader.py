"""The reader's presenter: a document's text as paragraphs of highlighted segments, cut into
windows so a book-length text never becomes one multi-megabyte page. Dataclasses and
functions fed by the selectors; the views only pick the window and render.

Offsets are code points (see ``annotations.core.spans``). The reader's JavaScript
(``static/workbench/reader.js``) converts browser selections, which JS counts in UTF-16
code units, to code points before it asks for the claim form; the server re-validates
every offset and quote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Q

from annotations import access, selectors
from annotations.access import User
from annotations.core import spans
from annotations.models import Claim, ClaimStatus, Document, Membership

# Deeper overlaps share the darkest highlight; the data-claims list still names them all.
MAX_DEPTH_CLASS = 4
# The reader renders a long document in windows of this many code points (cut at a line
# end), so a book-length text never becomes one multi-megabyte page.
READER_WINDOW = 50_000
# … and at most about this many claims per window (the HTML grows with them too).
READER_MAX_CLAIMS = 250


# Highlight tones: the reader colours a claim by its status, grouped as a reader tells them
# apart (the legend, the filters, the CSS ``tone-*`` classes and reader.js use these keys).
TONES: dict[str, tuple[str, tuple[ClaimStatus, ...]]] = {
    "in_review": ("In review", (ClaimStatus.IN_REVIEW,)),
    "disputed": ("Disputed", (ClaimStatus.DISPUTED,)),
    "resolved": (
        "Resolved or published",
        (ClaimStatus.RESOLVED, ClaimStatus.PUBLISHED, ClaimStatus.CORRECTED),
    ),
    "retracted": ("Retracted", (ClaimStatus.RETRACTED,)),
    "withdrawn": ("Withdrawn", (ClaimStatus.WITHDRAWN,)),
}
_TONE_OF = {status: tone for tone, (_, statuses) in TONES.items() for status in statuses}


def claim_tone(status: str) -> str:
    """The highlight tone (a ``TONES`` key) of a claim with this status."""
    return _TONE_OF.get(status, "in_review")


@dataclass(frozen=True, slots=True)
class ReaderFilter:
    """The claim list's filter (``?status=<tone>``, ``?mine=1``); the highlights follow it."""

    tone: str = ""  # a TONES key, or "" for every status
    mine: bool = False  # only the claims the user created

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ReaderFilter:
        """Unknown values are ignored (the unfiltered reader), never an error."""
        tone = query.get("status", "")
        return cls(tone if tone in TONES else "", query.get("mine") == "1")

    @property
    def active(self) -> bool:
        return bool(self.tone or self.mine)

    def params(self) -> list[tuple[str, str]]:
        return [("status", self.tone)] * bool(self.tone) + [("mine", "1")] * self.mine

    def keeps(self, claim: Claim, user: User) -> bool:
        if self.tone and claim_tone(claim.status) != self.tone:
            return False
        return not self.mine or claim.created_by_id == user.pk


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One status tone in the reader's legend, which is also its filter."""

    tone: str
    label: str
    count: int | None  # claims of this tone in the text (None for a windowed document)
    url: str
    current: bool


@dataclass(frozen=True, slots=True)
class SentencePart:
    """A run of a paragraph in the no-JavaScript "claim a sentence" mode: a sentence
    (``claimable``, linked to the claim form for ``[start, end)``) or the space between."""

    text: str
    start: int
    end: int
    claimable: bool


@dataclass(frozen=True, slots=True)
class ReaderSegment:
    """One run of a paragraph as the reader shows it."""

    text: str
    claim_ids: str  # space-separated ids of the covering claims ("" for plain text)
    # "claim depth-N" (N live claims) or "claim withdrawn" (withdrawn claims only), plus
    # "starts"/"ends" where a claim begins or ends
    css: str
    link_id: int | None  # the innermost covering claim, the no-JavaScript link target
    title: str = ""  # names the withdrawn claims among the covering ones; "" if none


@dataclass(frozen=True, slots=True)
class ReaderParagraph:
    start: int  # code point offset of the first character, for the JavaScript
    segments: list[ReaderSegment]
    sentences: list[SentencePart] | None = None  # set in the "claim a sentence" mode


@dataclass(frozen=True, slots=True)
class ReaderWindow:
    """The part ``[start, end)`` of a document's text that one response renders."""

    start: int
    end: int
    next_start: int | None  # where the next window begins; None at the end of the text
    text: str


def _withdrawn_title(withdrawn: int, live: int) -> str:
    if not withdrawn:
        return ""
    if not live:
        return "Withdrawn claim" if withdrawn == 1 else f"{withdrawn} withdrawn claims"
    return (
        "Includes a withdrawn claim" if withdrawn == 1 else f"Includes {withdrawn} withdrawn claims"
    )


def reader_paragraphs(text: str, claims: list[Claim], offset: int = 0) -> list[ReaderParagraph]:
    """Paragraphs of ``text``, which starts at code point ``offset`` of the document (a
    reader window); claims reaching outside the window are clipped to it, but "starts" and
    "ends" mark only their real ends."""
    window_end = offset + len(text)
    bounds = {claim.pk: (claim.start - offset, claim.end - offset) for claim in claims}
    withdrawn = {claim.pk for claim in claims if claim.status == ClaimStatus.WITHDRAWN}
    tones = {claim.pk: claim_tone(claim.status) for claim in claims}
    clipped = [
        (c.pk, max(c.start, offset) - offset, min(c.end, window_end) - offset) for c in claims
    ]
    paragraphs = []
    for paragraph in spans.segment(text, [span for span in clipped if span[1] < span[2]]):
        if not paragraph.segments:  # an empty line
            continue
        segments = []
        for segment in paragraph.segments:
            keys = segment.span_keys
            if not keys:
                segments.append(ReaderSegment(segment.text, "", "", None))
                continue
            # A withdrawn claim keeps its highlight (its history is kept) but must not look
            # live: it adds no depth and no edges to live claims' highlights, and where it
            # is all there is the run gets the muted "withdrawn" style instead.
            live = [key for key in keys if key not in withdrawn]
            shown = live or keys
            css = ["claim", f"depth-{min(len(live), MAX_DEPTH_CLASS)}" if live else "withdrawn"]
            if any(bounds[key][0] == segment.start for key in shown):
                css.append("starts")
            if any(bounds[key][1] == segment.end for key in shown):
                css.append("ends")
            innermost = min(shown, key=lambda key: (bounds[key][1] - bounds[key][0], key))
            if live:  # the innermost live claim's status tone (withdrawn has its own style)
                css.append(f"tone-{tones[innermost]}")
            segments.append(
                ReaderSegment(
                    segment.text,
                    " ".join(str(key) for key in keys),
                    " ".join(css),
                    innermost,
                    _withdrawn_title(len(keys) - len(live), len(live)),
                )
            )
        paragraphs.append(ReaderParagraph(offset + paragraph.start, segments))
    return paragraphs


def sentence_paragraphs(text: str, offset: int = 0) -> list[ReaderParagraph]:
    """Paragraphs of ``text`` (a window starting at document offset ``offset``) cut into
    sentences and the space between them: the no-JavaScript "claim a sentence" mode."""
    sentences = spans.sentence_spans(text)
    paragraphs = []
    index = 0
    for paragraph in spans.segment(text, []):
        if paragraph.start == paragraph.end:  # an empty line
            continue
        parts = []
        position = paragraph.start
        while index < len(sentences) and sentences[index][0] < paragraph.end:
            start, end = sentences[index]
            if start > position:
                parts.append(
                    SentencePart(text[position:start], offset + position, offset + start, False)
                )
            parts.append(SentencePart(text[start:end], offset + start, offset + end, True))
            position = end
            index += 1
        if position < paragraph.end:
            parts.append(
                SentencePart(
                    text[position : paragraph.end], offset + position, offset + paragraph.end, False
                )
            )
        paragraphs.append(ReaderParagraph(offset + paragraph.start, [], parts))
    return paragraphs


def reader_window(document: Document, start: int) -> ReaderWindow:
    """The window of about READER_WINDOW code points from ``start``, cut after the last line
    end in it (a line longer than half a window is cut mid-line; offsets stay exact).
    Only the window's text is read from the database."""
    end = min(document.length, start + READER_WINDOW)
    text = selectors.document_text_window(document=document, start=start, end=end)
    if end < document.length:
        cut = text.rfind("\n")
        if cut >= READER_WINDOW // 2:
            text = text[: cut + 1]
            end = start + cut + 1
    return ReaderWindow(start, end, end if end < document.length else None, text)


def window_shortened(window: ReaderWindow, claims: list[Claim]) -> tuple[ReaderWindow, list[Claim]]:
    """A densely annotated window ends before its READER_MAX_CLAIMS-th claim starts (at a
    line end when there is one), so its HTML stays bounded however many claims there are."""
    limit = claims[READER_MAX_CLAIMS].start - window.start
    if limit <= 0:  # that many claims start at the very first character: keep them all
        return window, claims
    cut = window.text.rfind("\n", 0, limit)
    end = window.start + (cut + 1 if cut >= 0 else limit)
    kept = [claim for claim in claims if claim.start < end]
    return ReaderWindow(window.start, end, end, window.text[: end - window.start]), kept


def window_start_around(document: Document, offset: int) -> int:
    """A window start shortly before ``offset``: the start of its line when that is near
    (one window for a short document, so the whole text shows as before)."""
    if document.length <= READER_WINDOW:
        return 0
    base = max(0, offset - READER_WINDOW // 4)
    before = selectors.document_text_window(document=document, start=base, end=offset)
    cut = before.rfind("\n")
    return base + cut + 1 if cut >= 0 else base


def _legend(claims: list[Claim], url: str, chosen: ReaderFilter, whole: bool) -> list[LegendEntry]:
    counts = Counter(claim_tone(claim.status) for claim in claims)
    entries = []
    for tone, (label, _) in TONES.items():
        params = ReaderFilter(tone, chosen.mine).params()
        entries.append(
            LegendEntry(
                tone,
                label,
                counts[tone] if whole else None,
                f"{url}?{urlencode(params)}",
                chosen.tone == tone,
            )
        )
    return entries


def _filtered_count(document: Document, chosen: ReaderFilter, user: User) -> int:
    """How many of the document's claims pass the filter, counted as ``user`` is shown
    them (a masked gold claim counts under the status it presents)."""
    condition = Q()
    if chosen.tone:
        condition = Q(pk__in=[])
        for status in TONES[chosen.tone][1]:
            condition |= access.claim_status_presented_q(user=user, status=status)
    if chosen.mine:
        condition &= Q(created_by=user)
    return selectors.claims_for_reader(document=document).filter(condition).count()


def reader_context(
    document: Document,
    membership: Membership,
    created_claim_id: int | None = None,
    *,
    start: int = 0,
    continuation: bool = False,
    user: User,
    chosen: ReaderFilter | None = None,
    claim_mode: bool = False,
) -> dict[str, object]:
    """The reader for the window at ``start``. A ``continuation`` (the next window fetched
    by htmx under the previous one) lists only the claims that begin in it: those that
    began earlier are already in the page's claim list. ``chosen``: the claim list's
    filter, which the highlights follow. ``claim_mode``: the text as sentences, each a
    link to the claim form (claiming without JavaScript)."""
    chosen = chosen or ReaderFilter()
    window = reader_window(document, start)
    claims = list(
        selectors.claims_for_reader(
            document=document, start=window.start, end=window.end, judged_by=user
        )
    )
    if len(claims) > READER_MAX_CLAIMS:
        window, claims = window_shortened(window, claims)
    # As the member is shown them: a gold claim presents to a reviewer as in review.
    access.claims_present_for(user=membership.user, claims=claims, membership=membership)
    for claim in claims:
        claim.tone = claim_tone(claim.status)  # type: ignore[attr-defined]
    shown = [c for c in claims if chosen.keeps(c, user)]
    listed = [c for c in shown if c.start >= window.start] if continuation else shown
    # "Review this claim" where the queue could let the user in (access.claim_can_take).
    takeable = {
        c.pk
        for c in listed
        if access.claim_can_take(claim=c, user=user, judged=c.judged_by_me, skipped=c.skipped_by_me)
    }
    whole = window.start == 0 and window.next_start is None
    url = document.get_absolute_url()
    if whole:
        claim_total, shown_total = len(claims), len(shown)
    elif chosen.active:  # the filtered count instead of the total: no extra query
        claim_total, shown_total = None, _filtered_count(document, chosen, user)
    else:
        claim_total = shown_total = selectors.claims_for_reader(document=document).count()
    params = chosen.params() + [("claim", "1")] * claim_mode
    next_url = ""
    if window.next_start is not None:
        next_url = f"{url}?{urlencode([('start', str(window.next_start)), *params])}"
    return {
        "document": document,
        "project": document.project,
        "membership": membership,
        "is_editor": access.is_editor(membership),
        "claims": listed,
        "claim_total": claim_total,
        "shown_total": shown_total,
        "paragraphs": sentence_paragraphs(window.text, window.start)
        if claim_mode
        else reader_paragraphs(window.text, shown, window.start),
        "window": window,
        "windowed": not whole,
        "continuation": continuation,
        "next_url": next_url,
        "created_claim_id": created_claim_id,
        "takeable": takeable,
        "chosen": chosen,
        "legend": _legend(claims, url, chosen, whole),
        "all_url": f"{url}?{urlencode(ReaderFilter('', chosen.mine).params())}".rstrip("?"),
        "mine_url": f"{url}?{urlencode(ReaderFilter(chosen.tone, not chosen.mine).params())}".rstrip(
            "?"
        ),
        "claim_mode": claim_mode,
        "claim_mode_url": f"{url}?{urlencode([*chosen.params(), ('claim', '1')])}",
        "reading_url": f"{url}?{urlencode(chosen.params())}".rstrip("?"),
    }
