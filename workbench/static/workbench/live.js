// Live updates: what others change, shown without moving the text under the reader's eyes.
// ES module (CSP: no inline scripts, no style attributes: presentation by classes and
// the hidden attribute). The server's messages say only which claim and document changed
// and which pages show it (workbench/ui/live.py); this script then re-fetches the page's
// ordinary views, which apply every access rule.
//
// * reader: new claims of this document are counted in a "3 new — show" button; pressing
//   it re-fetches the reader (#reader). Status changes of claims already listed update
//   their status badge in place.
// * dashboard: "Updated — refresh" re-fetches the figures (.dashboard).
// * disputes: "2 new disputes — show" re-fetches the lists (#dispute-lists).
//
// Transport: EventSource on the project's stream (it resumes with Last-Event-ID); when
// the browser has none, the server answers 204 (streams off), or the stream fails three
// times without opening, it polls the JSON feed instead.

const root = document.getElementById("live-updates");
const POLL_MS = 1500;
const POLL_HIDDEN_MS = 15000;
const SETTLE_MS = 250; // changes arriving together are handled together

const state = {
  cursor: root ? Number(root.dataset.liveCursor || 0) : 0,
  newClaims: new Set(),
  newDisputes: new Set(),
  updated: false,
  pendingStatus: false,
  timer: 0,
};

const page = root?.dataset.livePage;
const documentId = root?.dataset.liveDocument;
const button = root?.querySelector("[data-live-show]");

const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

function render() {
  let label = "";
  if (page === "reader") {
    const count = state.newClaims.size;
    label = count ? `${count} new — show` : state.updated ? "Text updated — show" : "";
  } else if (page === "disputes") {
    const count = state.newDisputes.size;
    label = count ? `${plural(count, "new dispute")} — show` : state.updated ? "Updated — show" : "";
  } else if (page === "dashboard") {
    label = state.updated ? "Updated — refresh" : "";
  }
  button.textContent = label;
  button.hidden = !label;
  root.classList.toggle("is-active", Boolean(label));
}

/** Whether the page lists claim `id` already. */
function listed(id) {
  if (page === "disputes") {
    return Boolean(document.getElementById(`dispute-${id}`));
  }
  return Boolean(document.querySelector(`#claim-items [data-claim-id="${CSS.escape(String(id))}"]`));
}

function receive(change) {
  const pages = change.pages || [];
  if (!pages.includes(page)) {
    return;
  }
  if (page === "reader") {
    if (String(change.document) !== documentId) {
      return;
    }
    if (change.claim === null) {
      state.updated = true; // the text itself was revised
    } else if (listed(change.claim)) {
      state.pendingStatus = true;
    } else if (change.new) {
      state.newClaims.add(change.claim);
    } // a claim of a part of the text not loaded yet: it shows when that part loads
  } else if (page === "disputes") {
    if (change.disputed && !listed(change.claim)) {
      state.newDisputes.add(change.claim);
    } else {
      state.updated = true;
    }
  } else {
    state.updated = true;
  }
  window.clearTimeout(state.timer);
  state.timer = window.setTimeout(settle, SETTLE_MS);
}

function settle() {
  render();
  if (state.pendingStatus) {
    state.pendingStatus = false;
    refreshBadges();
  }
}

/** Reader: re-fetch the page and copy the status badges of the claims listed here. Only
 * the badges change, so no line of text moves. */
async function refreshBadges() {
  const response = await fetch(window.location.pathname, { credentials: "same-origin" });
  if (!response.ok) {
    return;
  }
  const fetched = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const item of document.querySelectorAll("#claim-items [data-claim-id]")) {
    const fresh = fetched.getElementById(item.id);
    const badge = item.querySelector(".status");
    const freshBadge = fresh?.querySelector(".status");
    if (!fresh || !badge || !freshBadge || badge.textContent === freshBadge.textContent) {
      continue;
    }
    badge.className = freshBadge.className;
    badge.textContent = freshBadge.textContent;
    item.dataset.status = fresh.dataset.status;
  }
}

function show() {
  if (!window.htmx) {
    window.location.reload();
    return;
  }
  const fresh = [...state.newClaims].map(String);
  let request;
  if (page === "reader") {
    request = window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#reader", swap: "outerHTML", select: "#reader" });
  } else if (page === "disputes") {
    request = window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#dispute-lists", swap: "outerHTML" });
  } else {
    request = window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: ".dashboard", swap: "outerHTML", select: ".dashboard" });
  }
  state.newClaims.clear();
  state.newDisputes.clear();
  state.updated = false;
  render();
  request.then(() => {
    // Point at what arrived: the new claims in the list (the text itself stays put).
    let first = null;
    for (const id of fresh) {
      const item = document.querySelector(`#claim-items [data-claim-id="${CSS.escape(id)}"]`);
      item?.classList.add("is-new");
      first ??= item;
    }
    first?.scrollIntoView({ block: "nearest" });
    first?.querySelector("a")?.focus({ preventScroll: true });
  });
}

// --- transport ---------------------------------------------------------------------------

function connected(mode) {
  root.dataset.liveState = "open";
  root.dataset.liveMode = mode;
}

function handle(data, id) {
  if (id) {
    state.cursor = Math.max(state.cursor, Number(id));
  }
  receive(data);
}

let pollTimer = 0;
let polling = false; // one request at a time: a tab coming back while one is out waits for it
async function poll() {
  window.clearTimeout(pollTimer);
  if (polling) {
    return;
  }
  polling = true;
  let stop = false;
  try {
    const response = await fetch(`${root.dataset.liveChanges}?after=${state.cursor}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status === 401 || response.status === 404 || response.status === 403) {
      stop = true; // signed out or no longer a member: nothing more to follow
    } else if (response.ok) {
      const body = await response.json();
      for (const change of body.changes) {
        receive(change);
      }
      state.cursor = Math.max(state.cursor, Number(body.cursor));
      connected("poll");
    }
  } catch {
    // offline for a moment: try again at the next tick
  }
  polling = false;
  if (!stop) {
    pollTimer = window.setTimeout(poll, document.hidden ? POLL_HIDDEN_MS : POLL_MS);
  }
}

function startPolling() {
  root.dataset.liveMode = "poll";
  poll();
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      poll();
    }
  });
}

function startStream() {
  const source = new EventSource(`${root.dataset.liveEvents}?after=${state.cursor}`);
  let failures = 0;
  source.addEventListener("open", () => {
    failures = 0;
    connected("stream");
  });
  source.addEventListener("message", (event) => {
    handle(JSON.parse(event.data), event.lastEventId);
  });
  source.addEventListener("error", () => {
    failures += 1;
    root.dataset.liveState = "reconnecting";
    // CLOSED: the server refused the stream (204: streams are off; 401; 404), or it
    // failed again and again: poll instead.
    if (source.readyState === EventSource.CLOSED || failures >= 3) {
      source.close();
      startPolling();
    }
  });
}

if (root && button) {
  button.addEventListener("click", show);
  if ("EventSource" in window) {
    startStream();
  } else {
    startPolling();
  }
}
