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
  hidePopover(); // a selection is under way: the details of a highlight would be in the way
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
  document.getElementById("bar-form-slot")?.replaceChildren();
}

// On a narrow screen the claim form opens in the selection bar, next to the selection,
// rather than in the claim list far below the text.
const narrow = () => window.matchMedia("(max-width: 69.99rem)").matches;
const barHasForm = () => Boolean(document.getElementById("bar-form-slot")?.firstElementChild);

let selectionTimer = 0;
function onSelectionChange() {
  window.clearTimeout(selectionTimer);
  selectionTimer = window.setTimeout(() => {
    if (barHasForm()) {
      return; // the form is open in the bar: typing in it must not close it
    }
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
  const inBar = narrow();
  const target = inBar ? "#bar-form-slot" : "#claim-form-slot";
  window.htmx
    .ajax("GET", container.dataset.claimUrl, { target, swap: "innerHTML", values })
    .then(() => {
      if (!inBar) {
        hideBar();
      }
      const slot = document.querySelector(target);
      const field = slot?.querySelector("textarea, #claim-form-errors");
      if (!inBar) {
        slot?.scrollIntoView({ block: "nearest" });
      }
      field?.focus({ preventScroll: inBar });
    });
}

// --- highlights ------------------------------------------------------------------------
//
// Without JavaScript the server splits each paragraph into <mark> runs, each a link to its
// claims. With JavaScript and the CSS Custom Highlight API the paragraph goes back to one
// text node (the same characters, so data-start offsets and the selection code above are
// unaffected; Arabic letters join across a highlight's edge, as no element splits a word)
// and claims are painted as registered highlights styled in CSS with ::highlight(name):
//   wb-tone-<tone>  one per status tone (a tint and an underline style each),
//   wb-depth-<k>    k = 2..5: where at least k live claims overlap (stacked bands),
//   wb-selected     the claims selected from a click or the claim list.
// The claims come from the claim list (data-start/data-end/data-tone), so highlights
// follow the list's filter and the windows loaded so far.

const HAS_HIGHLIGHTS =
  typeof CSS !== "undefined" && "highlights" in CSS && typeof Highlight === "function";
const MAX_DEPTH = 5;
const PREFIX = "wb-";

let models = []; // the paragraphs: {start, end, node, units}, in text order
let claims = []; // {id, start, end, tone, live, item}, in list order
const selectedIds = new Set();

/** UTF-16 index of each code point boundary of text, or null when the two agree. */
function unitMap(text) {
  if (!/[\uD800-\uDFFF]/.test(text)) {
    return null;
  }
  const map = [0];
  let unit = 0;
  for (const char of text) {
    unit += char.length;
    map.push(unit);
  }
  return map;
}

function flattenParagraphs(container) {
  for (const paragraph of paragraphsOf(container)) {
    const only = paragraph.firstChild;
    if (paragraph.childNodes.length !== 1 || only.nodeType !== Node.TEXT_NODE) {
      paragraph.replaceChildren(document.createTextNode(paragraph.textContent));
    }
  }
}

function buildModels(container) {
  models = paragraphsOf(container).map((paragraph) => {
    const node = paragraph.firstChild;
    const text = node ? node.data : "";
    const start = paragraphStart(paragraph);
    return { start, end: start + codePointLength(text), node, units: unitMap(text) };
  });
}

function readClaims() {
  const seen = new Set();
  claims = [];
  for (const item of document.querySelectorAll("#claim-items [data-claim-id][data-start]")) {
    const id = item.dataset.claimId;
    if (seen.has(id)) {
      continue;
    }
    seen.add(id);
    const tone = item.dataset.tone || "in_review";
    claims.push({
      id,
      start: Number(item.dataset.start),
      end: Number(item.dataset.end),
      tone,
      live: tone !== "withdrawn",
      item,
    });
  }
}

/** DOM Ranges covering the code points [start, end) of the loaded paragraphs. */
function rangesFor(start, end) {
  const ranges = [];
  // The first paragraph ending after start (binary search: models are in text order).
  let low = 0;
  let high = models.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (models[middle].end <= start) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  for (let i = low; i < models.length && models[i].start < end; i += 1) {
    const model = models[i];
    const from = Math.max(start, model.start) - model.start;
    const to = Math.min(end, model.end) - model.start;
    if (from < to && model.node) {
      const range = new Range();
      range.setStart(model.node, model.units ? model.units[from] : from);
      range.setEnd(model.node, model.units ? model.units[to] : to);
      ranges.push(range);
    }
  }
  return ranges;
}

function register(name, ranges, priority) {
  const highlight = new Highlight(...ranges);
  highlight.priority = priority;
  CSS.highlights.set(name, highlight);
}

function paintSelected() {
  const ranges = claims.filter((c) => selectedIds.has(c.id)).flatMap((c) => rangesFor(c.start, c.end));
  register(`${PREFIX}selected`, ranges, 20);
}

/** [start, end, depth] runs where live claims overlap at least twice. */
function overlapRuns(list) {
  const events = [];
  for (const claim of list) {
    if (claim.live) {
      events.push([claim.start, 1], [claim.end, -1]);
    }
  }
  events.sort((a, b) => a[0] - b[0]);
  const runs = [];
  let depth = 0;
  for (let i = 0; i < events.length; ) {
    const position = events[i][0];
    for (; i < events.length && events[i][0] === position; i += 1) {
      depth += events[i][1];
    }
    if (depth >= 2 && i < events.length) {
      runs.push([position, events[i][0], depth]);
    }
  }
  return runs;
}

function paint() {
  const container = document.getElementById(TEXT_ID);
  if (!container) {
    return;
  }
  if (!HAS_HIGHLIGHTS || container.dataset.mode === "claim") {
    unwrapMarkLinks(container);
    return;
  }
  flattenParagraphs(container);
  buildModels(container);
  readClaims();
  for (const name of Array.from(CSS.highlights.keys())) {
    if (name.startsWith(PREFIX)) {
      CSS.highlights.delete(name);
    }
  }
  const byTone = new Map();
  for (const claim of claims) {
    const list = byTone.get(claim.tone) ?? [];
    list.push(...rangesFor(claim.start, claim.end));
    byTone.set(claim.tone, list);
  }
  // Withdrawn first, so that live tones paint over it.
  let priority = 0;
  for (const tone of ["withdrawn", "in_review", "resolved", "retracted", "disputed"]) {
    if (byTone.has(tone)) {
      register(`${PREFIX}tone-${tone}`, byTone.get(tone), priority);
    }
    priority += 1;
  }
  const bands = new Map(); // k -> [start, end] spans, adjacent runs merged
  for (const [start, end, depth] of overlapRuns(claims)) {
    for (let k = 2; k <= Math.min(depth, MAX_DEPTH); k += 1) {
      const list = bands.get(k) ?? [];
      const last = list.at(-1);
      if (last && last[1] === start) {
        last[1] = end;
      } else {
        list.push([start, end]);
      }
      bands.set(k, list);
    }
  }
  for (const [k, list] of bands) {
    register(`${PREFIX}depth-${k}`, list.flatMap(([start, end]) => rangesFor(start, end)), 10 + k);
  }
  paintSelected();
}

// Without the Highlight API the server's marks stay. Chromium will not start a text
// selection with a press on a link, so their links are unwrapped (the text nodes stay, so
// offsets are unaffected) and the marks answer clicks; the claim list is the keyboard path.
function unwrapMarkLinks(container) {
  for (const link of container.querySelectorAll("mark > a.claim-link")) {
    link.replaceWith(...link.childNodes);
  }
}

/** The code point offset of the character under the point (x, y), or null. */
function offsetAtPoint(x, y) {
  const container = document.getElementById(TEXT_ID);
  let node = null;
  let offset = 0;
  if (document.caretPositionFromPoint) {
    const caret = document.caretPositionFromPoint(x, y);
    node = caret?.offsetNode;
    offset = caret?.offset ?? 0;
  } else if (document.caretRangeFromPoint) {
    const caret = document.caretRangeFromPoint(x, y);
    node = caret?.startContainer;
    offset = caret?.startOffset ?? 0;
  }
  if (!container || !node || node.nodeType !== Node.TEXT_NODE || !container.contains(node)) {
    return null;
  }
  // The caret sits between two characters; the point is over one of them (in either
  // direction of text), or over neither (past a line's end).
  const data = node.data;
  const unitsAt = (i) => (/[\uD800-\uDBFF]/.test(data[i] ?? "") ? 2 : 1);
  const before = offset > 0 && /[\uDC00-\uDFFF]/.test(data[offset - 1]) ? 2 : 1;
  const candidates = [];
  if (offset < data.length) {
    candidates.push([offset, offset + unitsAt(offset)]);
  }
  if (offset > 0) {
    candidates.push([offset - before, offset]);
  }
  for (const [from, to] of candidates) {
    const range = new Range();
    range.setStart(node, from);
    range.setEnd(node, to);
    for (const rect of range.getClientRects()) {
      if (x >= rect.left - 1 && x <= rect.right + 1 && y >= rect.top - 1 && y <= rect.bottom + 1) {
        return { offset: boundaryOffset(container, node, from, false), rect };
      }
    }
  }
  return null;
}

const claimsAt = (offset) => claims.filter((c) => c.start <= offset && offset < c.end);

// --- the popover: hover or focus details ----------------------------------------------

let popoverSheet = null;
let popoverKey = "";
let hideTimer = 0;
let popoverByPointer = false;

const popover = () => document.getElementById("claim-popover");

/** Place the popover under (or above) rect. Its position lives in a constructed style
 * sheet's custom properties: the page has no style attributes, set by markup or script. */
function placePopover(element, rect) {
  if (!popoverSheet) {
    popoverSheet = new CSSStyleSheet();
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, popoverSheet];
  }
  const box = element.getBoundingClientRect();
  const x = Math.max(8, Math.min(rect.left, window.innerWidth - box.width - 8));
  let y = rect.bottom + 8;
  if (y + box.height > window.innerHeight - 8) {
    y = Math.max(8, rect.top - box.height - 8);
  }
  popoverSheet.replaceSync(
    `#claim-popover { --popover-x: ${Math.round(x)}px; --popover-y: ${Math.round(y)}px; }`,
  );
}

function showPopover(list, rect) {
  const element = popover();
  if (!element || list.length === 0) {
    return;
  }
  window.clearTimeout(hideTimer);
  const key = list.map((c) => c.id).join(" ");
  if (key !== popoverKey || element.hidden) {
    popoverKey = key;
    const heading = document.createElement("p");
    heading.textContent = list.length === 1 ? "1 claim here" : `${list.length} claims here`;
    const items = document.createElement("ul");
    for (const claim of list) {
      const link = claim.item.querySelector("a[href]");
      const li = document.createElement("li");
      li.dataset.claimId = claim.id;
      const swatch = document.createElement("span");
      swatch.className = `tone-swatch tone-${claim.tone}`;
      swatch.setAttribute("aria-hidden", "true");
      const anchor = document.createElement("a");
      anchor.href = link?.getAttribute("href") ?? `#claim-${claim.id}`;
      anchor.textContent = link?.textContent ?? `Claim ${claim.id}`; // text, never HTML
      const status = document.createElement("span");
      const label = claim.item.querySelector(".status");
      status.className = label?.className ?? "status";
      status.textContent = label?.textContent ?? "";
      li.append(swatch, anchor, " ", status);
      items.append(li);
    }
    element.replaceChildren(heading, items);
    element.setAttribute("aria-label", heading.textContent);
  }
  element.hidden = false;
  placePopover(element, rect);
}

function hidePopover(delay = 0) {
  window.clearTimeout(hideTimer);
  hideTimer = window.setTimeout(() => {
    const element = popover();
    if (element) {
      element.hidden = true;
    }
    popoverKey = "";
  }, delay);
}

let hoverFrame = 0;
document.addEventListener("pointermove", (event) => {
  if (!HAS_HIGHLIGHTS || event.pointerType === "touch" || event.buttons !== 0) {
    return;
  }
  const target = event.target;
  if (target instanceof Element && target.closest("#claim-popover")) {
    window.clearTimeout(hideTimer);
    return;
  }
  if (!(target instanceof Element) || !target.closest(`#${TEXT_ID}`)) {
    if (popoverKey && !popover()?.hidden) {
      hidePopover(400);
    }
    return;
  }
  const { clientX, clientY } = event;
  window.cancelAnimationFrame(hoverFrame);
  hoverFrame = window.requestAnimationFrame(() => {
    const hit = offsetAtPoint(clientX, clientY);
    const list = hit ? claimsAt(hit.offset) : [];
    if (list.length) {
      showPopover(list, hit.rect);
      popoverByPointer = true;
    } else if (popoverKey) {
      hidePopover(400);
    }
  });
});

function firstRect(claim) {
  const [range] = rangesFor(claim.start, claim.end);
  return range?.getClientRects()[0] ?? null;
}

// Keyboard: focusing a claim in the list shows the same details, next to its highlight
// when that is on screen, else next to the list item.
document.addEventListener("focusin", (event) => {
  const item = event.target instanceof Element && event.target.closest("#claim-items [data-claim-id]");
  // Only for keyboard focus: a focus moved by script after a click needs no popover.
  if (!item || !HAS_HIGHLIGHTS || !event.target.matches(":focus-visible")) {
    return;
  }
  const claim = claims.find((c) => c.id === item.dataset.claimId);
  if (!claim) {
    return;
  }
  const rect = firstRect(claim);
  const onScreen = rect && rect.bottom > 0 && rect.top < window.innerHeight;
  showPopover([claim], onScreen ? rect : item.getBoundingClientRect());
  popoverByPointer = false;
});
// A popover placed at the pointer would drift from its text: scrolling closes it.
window.addEventListener(
  "scroll",
  () => {
    if (popoverByPointer && popoverKey) {
      hidePopover();
    }
  },
  { passive: true },
);
document.addEventListener("focusout", (event) => {
  if (event.target instanceof Element && event.target.closest("#claim-items")) {
    hidePopover(200);
  }
});

// --- selecting claims ------------------------------------------------------------------

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
  selectedIds.clear();
  for (const id of wanted) {
    selectedIds.add(id);
  }
  if (HAS_HIGHLIGHTS && models.length) {
    paintSelected();
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
  if (scrollText) {
    const claim = claims.find((c) => wanted.has(c.id));
    const rect = claim && firstRect(claim);
    if (firstMark) {
      firstMark.scrollIntoView({ block: "center", behavior });
    } else if (rect) {
      window.scrollBy({ top: rect.top - window.innerHeight / 2, behavior });
    }
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
  if (HAS_HIGHLIGHTS && target.closest(`#${TEXT_ID} p[data-start]`)) {
    if (document.getSelection()?.isCollapsed === false) {
      return; // the click ended a text selection
    }
    const hit = offsetAtPoint(event.clientX, event.clientY);
    const list = hit ? claimsAt(hit.offset) : [];
    if (list.length) {
      // On a phone the list lies far below the text: stay here, the popover has the links.
      selectClaims(list.map((c) => c.id), { scrollList: !narrow() });
      showPopover(list, hit.rect); // touch screens have no hover
      popoverByPointer = true;
    }
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
  } else if (cancel && cancel.closest("#bar-form-slot")) {
    event.preventDefault();
    hideBar();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") {
    return;
  }
  if (popover() && !popover().hidden) {
    hidePopover();
  } else if (pending) {
    hideBar();
  }
});

// After htmx swaps: paint the new text, focus the form's first error, select the claim
// just created, or after a filter land on the claim list's heading.
document.addEventListener("htmx:afterSettle", (event) => {
  paint();
  const errors = document.querySelector("#claim-form-slot #claim-form-errors, #bar-form-slot #claim-form-errors");
  if (errors) {
    errors.focus();
  }
  const created = document.querySelector("#claim-list [data-just-created]");
  if (created) {
    created.removeAttribute("data-just-created");
    selectClaims([created.dataset.claimId]);
    created.querySelector("a")?.focus({ preventScroll: true });
    return;
  }
  const from = event.detail?.requestConfig?.elt;
  if (from instanceof Element && from.closest(".claim-filters")) {
    hidePopover();
    document.getElementById("claim-list-heading")?.focus({ preventScroll: true });
    const status = document.getElementById("reader-status");
    if (status) {
      status.textContent = document.getElementById("claim-list-heading")?.textContent ?? "";
    }
  }
});

paint();

// A link such as /documents/7/#claim-12 (e.g. after creating a claim without htmx).
const fromHash = /^#claim-(\d+)$/.exec(window.location.hash);
if (fromHash) {
  selectClaims([fromHash[1]], { scrollList: true, scrollText: true });
}

/** The registered highlights as {name: [[start, end], …]} in code points (for tests). */
function highlightSpans() {
  const out = {};
  for (const [name, highlight] of CSS.highlights) {
    if (!name.startsWith(PREFIX)) {
      continue;
    }
    out[name] = Array.from(highlight, (range) => {
      const container = document.getElementById(TEXT_ID);
      return [
        boundaryOffset(container, range.startContainer, range.startOffset, false),
        boundaryOffset(container, range.endContainer, range.endOffset, true),
      ];
    }).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }
  return out;
}

// Exposed for the browser tests and the console; not used by the page itself.
export { boundaryOffset, codePointLength, highlightSpans, offsetAtPoint, selectedSpan, textBetween };
