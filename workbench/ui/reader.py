"""The reader's presenter: a document's text as paragraphs of highlighted segments, cut into
windows so a book-length text never becomes one multi-megabyte page. Dataclasses and
functions fed by the selectors; the views only pick the window and render.

Offsets are code points (see ``annotations.core.spans``). The reader's JavaScript
(``static/workbench/reader.js``) converts browser selections, which JS counts in UTF-16
code units, to code points before it asks for the claim form; the server re-validates
every offset and quote.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def reader_context(
    document: Document,
    membership: Membership,
    created_claim_id: int | None = None,
    *,
    start: int = 0,
    continuation: bool = False,
    user: User,
) -> dict[str, object]:
    """The reader for the window at ``start``. A ``continuation`` (the next window fetched
    by htmx under the previous one) lists only the claims that begin in it: those that
    began earlier are already in the page's claim list."""
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
    listed = [c for c in claims if c.start >= window.start] if continuation else claims
    # "Review this claim" where the queue could let the user in (access.claim_can_take).
    takeable = {
        c.pk
        for c in listed
        if access.claim_can_take(claim=c, user=user, judged=c.judged_by_me, skipped=c.skipped_by_me)
    }
    whole = window.start == 0 and window.next_start is None
    url = document.get_absolute_url()
    return {
        "document": document,
        "project": document.project,
        "membership": membership,
        "is_editor": access.is_editor(membership),
        "claims": listed,
        "claim_total": len(claims)
        if whole
        else selectors.claims_for_reader(document=document).count(),
        "paragraphs": reader_paragraphs(window.text, claims, window.start),
        "window": window,
        "windowed": not whole,
        "continuation": continuation,
        "next_url": f"{url}?start={window.next_start}" if window.next_start is not None else "",
        "created_claim_id": created_claim_id,
        "takeable": takeable,
    }
