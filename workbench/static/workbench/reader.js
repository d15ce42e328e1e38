// The document reader: select text to claim it, click a highlight to find its claims.
// ES module loaded only on the reader page (CSP: no inline scripts, no style attributes;
// all presentation goes through CSS classes and the hidden attribute).
//
// Offsets. The server counts Unicode code points (Python str indices); JS strings count
// UTF-16 code units, where an emoji outside the BMP is two units but one code point.
// Every paragraph <p data-start="N"> carries the code point offset of its first
// character, and its text nodes hold exactly the characters of that line (the "\n"
// between lines belongs to no paragraph). A DOM boundary point (node, offset) is
// therefore  data-start + (number of code points of the paragraph's text before it),
// counted by iterating the string (for…of / Array.from walk code points, not units).

const TEXT_ID = "document-text";
const QUOTE_LIMIT = 160;
// The quote is sent along with the offsets so the server can catch any disagreement
// about them; very long quotes are left out to keep the GET URL short (the server
// computes the quote from the offsets either way, and the POST carries it).
const EXACT_IN_URL_LIMIT = 1000;

document.documentElement.classList.add("js");

const codePointLength = (text) => {
  let count = 0;
  for (const _ of text) {
    count += 1;
  }
  return count;
};

const paragraphsOf = (container) => Array.from(container.querySelectorAll("p[data-start]"));
const paragraphStart = (paragraph) => Number(paragraph.dataset.start);

/** Code point offset of the DOM boundary point (node, offset), or null outside the text. */
function boundaryOffset(container, node, offset, isEnd) {
  const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  const paragraph = element?.closest("p[data-start]");
  if (paragraph && container.contains(paragraph)) {
    const before = document.createRange();
    before.setStart(paragraph, 0);
    before.setEnd(node, offset);
    // Range.toString() is the concatenated text-node data: no separators are invented.
    return paragraphStart(paragraph) + codePointLength(before.toString());
  }
  // The point lies between paragraphs (e.g. a selection dragged past the end of a line):
  // a start moves forward to the next paragraph, an end back to the end of the previous.
  const point = document.createRange();
  point.setStart(node, offset);
  const paragraphs = paragraphsOf(container);
  if (!isEnd) {
    const next = paragraphs.find((p) => point.comparePoint(p, 0) >= 0);
    return next ? paragraphStart(next) : null;
  }
  const previous = paragraphs.findLast((p) => point.comparePoint(p, p.childNodes.length) <= 0);
  return previous ? paragraphStart(previous) + codePointLength(previous.textContent) : null;
}

/** The document's text in [start, end) as code points, rebuilt from the paragraphs. */
function textBetween(container, start, end) {
  const out = [];
  let position = start;
  for (const paragraph of paragraphsOf(container)) {
    const pStart = paragraphStart(paragraph);
    if (pStart >= end) {
      break;
    }
    const text = paragraph.textContent;
    if (pStart + text.length < start) {
      continue; // UTF-16 length >= code point length, so the line ends before start
    }
    const chars = Array.from(text);
    const pEnd = pStart + chars.length;
    if (pEnd < start) {
      continue;
    }
    for (; position < Math.min(pStart, end); position += 1) {
      out.push("\n"); // only newlines lie between rendered lines
    }
    const to = Math.min(end, pEnd);
    for (; position < to; position += 1) {
      out.push(chars[position - pStart]);
    }
  }
  for (; position < end; position += 1) {
    out.push("\n");
  }
  return out;
}

/** The selection as {start, end, exact} in code points, whitespace trimmed; or null. */
function selectedSpan() {
  const container = document.getElementById(TEXT_ID);
  const selection = document.getSelection();
  if (!container || !selection || selection.rangeCount === 0 || selection.isCollapsed) {
    return null;
  }
  const range = selection.getRangeAt(0);
  if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) {
    return null;
  }
  const start = boundaryOffset(container, range.startContainer, range.startOffset, false);
  const end = boundaryOffset(container, range.endContainer, range.endOffset, true);
  if (start === null || end === null || start >= end) {
    return null;
  }
  const chars = textBetween(container, start, end);
  let first = 0;
  let last = chars.length;
  while (first < last && /\s/u.test(chars[first])) {
    first += 1;
  }
  while (last > first && /\s/u.test(chars[last - 1])) {
    last -= 1;
  }
  if (first === last) {
    return null;
  }
  return { start: start + first, end: start + last, exact: chars.slice(first, last).join("") };
}

// --- selection bar ---------------------------------------------------------------------

let pending = null;
let pointerInBar = false;

const bar = () => document.getElementById("selection-bar");

function showBar(span) {
  const element = bar();
  if (!element) {
    return;
  }
  pending = span;
  const chars = Array.from(span.exact);
  const shown = chars.length > QUOTE_LIMIT ? `${chars.slice(0, QUOTE_LIMIT).join("")}…` : span.exact;
  document.getElementById("selection-quote").textContent = shown; // text, never HTML
  document.getElementById("selection-range").textContent = `characters ${span.start}–${span.end}`;
  element.hidden = false;
}

function hideBar() {
  pending = null;
  const element = bar();
  if (element) {
    element.hidden = true;
  }
}

let selectionTimer = 0;
function onSelectionChange() {
  window.clearTimeout(selectionTimer);
  selectionTimer = window.setTimeout(() => {
    const span = selectedSpan();
    if (span) {
      showBar(span);
    } else if (!pointerInBar && document.getSelection()?.isCollapsed) {
      // Keep the bar while the user is pressing its button (some browsers collapse the
      // selection on that press).
      hideBar();
    }
  }, 120);
}

document.addEventListener("selectionchange", onSelectionChange);
document.addEventListener("pointerdown", (event) => {
  pointerInBar = Boolean(event.target.closest?.("#selection-bar"));
}, true);
document.addEventListener("pointerup", () => {
  window.setTimeout(() => {
    pointerInBar = false;
  }, 300);
}, true);

function requestClaimForm() {
  const container = document.getElementById(TEXT_ID);
  if (!pending || !container || !window.htmx) {
    return;
  }
  const values = { start: pending.start, end: pending.end };
  if (codePointLength(pending.exact) <= EXACT_IN_URL_LIMIT) {
    values.exact = pending.exact;
  }
  window.htmx
    .ajax("GET", container.dataset.claimUrl, { target: "#claim-form-slot", swap: "innerHTML", values })
    .then(() => {
      hideBar();
      const slot = document.getElementById("claim-form-slot");
      const field = slot?.querySelector("textarea, #claim-form-errors");
      slot?.scrollIntoView({ block: "nearest" });
      field?.focus();
    });
}

// --- highlights and the claim list -----------------------------------------------------

// Without JavaScript each highlight is a link to its claim in the list. Chromium will not
// start a text selection with a press on a link or on any focusable element, so with
// JavaScript the links are unwrapped (the text nodes stay, so offsets are unaffected) and
// highlights answer mouse clicks only. Keyboard users have the same path from the claim
// list, which holds every claim in text order: "Show in text" marks its highlights.
function enhanceHighlights() {
  for (const link of document.querySelectorAll(`#${TEXT_ID} mark > a.claim-link`)) {
    link.replaceWith(...link.childNodes);
  }
}

function selectClaims(ids, { scrollList = true, scrollText = false } = {}) {
  const wanted = new Set(ids.map(String));
  let firstItem = null;
  for (const item of document.querySelectorAll("#claim-list [data-claim-id]")) {
    const on = wanted.has(item.dataset.claimId);
    item.classList.toggle("is-selected", on);
    if (on) {
      item.setAttribute("aria-current", "true");
      firstItem ??= item;
    } else {
      item.removeAttribute("aria-current");
    }
  }
  let firstMark = null;
  for (const mark of document.querySelectorAll(`#${TEXT_ID} mark[data-claims]`)) {
    const on = mark.dataset.claims.split(" ").some((id) => wanted.has(id));
    mark.classList.toggle("is-related", on);
    if (on) {
      firstMark ??= mark;
    }
  }
  const status = document.getElementById("reader-status");
  if (status) {
    status.textContent = firstItem
      ? `${wanted.size} claim${wanted.size === 1 ? "" : "s"} selected.`
      : "";
  }
  const behavior = window.matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
  if (scrollList && firstItem) {
    firstItem.scrollIntoView({ block: "nearest", behavior });
  }
  if (scrollText && firstMark) {
    firstMark.scrollIntoView({ block: "center", behavior });
  }
  return { firstItem, firstMark };
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) {
    return;
  }
  if (target.closest("#claim-this")) {
    requestClaimForm();
    return;
  }
  const mark = target.closest(`#${TEXT_ID} mark[data-claims]`);
  if (mark) {
    event.preventDefault();
    if (document.getSelection()?.isCollapsed !== false) {
      selectClaims(mark.dataset.claims.split(" "));
    } // else the click ended a text selection: leave it to the selection bar
    return;
  }
  const show = target.closest("[data-show-claim]");
  if (show) {
    selectClaims([show.dataset.showClaim], { scrollList: false, scrollText: true });
    return;
  }
  const cancel = target.closest("[data-action='cancel-claim']");
  if (cancel && cancel.closest("#claim-form-slot")) {
    event.preventDefault();
    document.getElementById("claim-form-slot").replaceChildren();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && pending) {
    hideBar();
  }
});

// After htmx swaps: focus the form's first error, or select the claim just created.
document.addEventListener("htmx:afterSettle", () => {
  enhanceHighlights();
  const errors = document.querySelector("#claim-form-slot #claim-form-errors");
  if (errors) {
    errors.focus();
  }
  const created = document.querySelector("#claim-list [data-just-created]");
  if (created) {
    created.removeAttribute("data-just-created");
    selectClaims([created.dataset.claimId]);
    created.querySelector("a")?.focus({ preventScroll: true });
  }
});

enhanceHighlights();

// A link such as /documents/7/#claim-12 (e.g. after creating a claim without htmx).
const fromHash = /^#claim-(\d+)$/.exec(window.location.hash);
if (fromHash) {
  selectClaims([fromHash[1]], { scrollList: true, scrollText: true });
}

// Exposed for the browser tests and the console; not used by the page itself.
export { boundaryOffset, codePointLength, selectedSpan, textBetween };
