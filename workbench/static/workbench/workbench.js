// Shared behaviour for every page. Loaded as an ES module from static files (CSP: no inline scripts).
// Times: <time data-local-time> (the `when` template filter) shows UTC, labelled; here the
// text becomes the browser's local time, the ISO instant stays in `datetime` and `title`.
// Keyboard shortcuts: elements declare data-shortcut="n" and get clicked (or focused, for inputs)
// when the key is pressed outside a text field. "?" opens the page's help (below).

// A radio button or checkbox takes no text: with a rating chosen by its digit (focus is then
// on the radio), "w" must still reach the rationale.
const NOT_TYPED = new Set(["radio", "checkbox", "button", "submit", "reset"]);
const isTyping = (target) =>
  target instanceof HTMLElement &&
  (target.isContentEditable ||
    ["TEXTAREA", "SELECT"].includes(target.tagName) ||
    (target.tagName === "INPUT" && !NOT_TYPED.has(target.type)));

document.documentElement.classList.add("js");

// Help: the <dialog id="page-help"> of _base.html, opened by "?" or the header's Help
// button. Its list of shortcuts is built from the page as it is when opened: every visible
// element with data-shortcut, named by data-shortcut-label, aria-label, its <label> or its
// text (without the <kbd> hint).
const shortcutLabel = (element) => {
  if (element.dataset.shortcutLabel) {
    return element.dataset.shortcutLabel;
  }
  if (element.getAttribute("aria-label")) {
    return element.getAttribute("aria-label");
  }
  const source = element.labels?.[0] ?? element;
  const copy = source.cloneNode(true);
  copy.querySelectorAll("kbd, input").forEach((node) => node.remove());
  return (copy.textContent || element.getAttribute("placeholder") || "").replace(/\s+/g, " ").trim();
};

const isShown = (element) => !element.closest("[hidden], dialog") && !element.disabled;

const fillShortcuts = (list) => {
  list.querySelectorAll("[data-generated]").forEach((node) => node.remove());
  const seen = new Set(["?"]);
  for (const element of document.querySelectorAll("[data-shortcut]")) {
    const key = element.dataset.shortcut;
    if (seen.has(key) || !isShown(element)) {
      continue;
    }
    seen.add(key);
    const term = document.createElement("dt");
    const kbd = document.createElement("kbd");
    kbd.textContent = key;
    term.append(kbd);
    const description = document.createElement("dd");
    description.textContent = shortcutLabel(element) || "(unnamed)";
    term.dataset.generated = description.dataset.generated = "1";
    list.append(term, description);
  }
};

const toggleHelp = () => {
  const dialog = document.getElementById("page-help");
  if (!(dialog instanceof HTMLDialogElement)) {
    return false;
  }
  if (dialog.open) {
    dialog.close();
  } else {
    const list = document.getElementById("page-shortcuts");
    if (list) {
      fillShortcuts(list);
    }
    dialog.showModal();
  }
  return true;
};

document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-help-open]")) {
    toggleHelp();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
    return;
  }
  if (event.key === "?") {
    if (toggleHelp()) {
      event.preventDefault();
    }
    return;
  }
  if (document.querySelector("dialog[open]")) {
    return; // a modal dialog is open: the page behind it takes no shortcuts
  }
  const candidates = document.querySelectorAll(`[data-shortcut="${CSS.escape(event.key)}"]`);
  // Not inside a closed <details> (a collapsed "Revise my verdict" keeps its radios to itself),
  // except the <summary> that opens it.
  const target = Array.from(candidates).find(
    (element) =>
      !element.closest("[hidden]") &&
      !element.disabled &&
      !element.closest("details:not([open]) > :not(summary)"),
  );
  if (!target) {
    return;
  }
  event.preventDefault();
  if (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) && target.type !== "radio") {
    target.focus();
  } else {
    target.click();
    if (target.type === "radio") {
      target.focus();
    }
  }
});

// Copy buttons: data-copy="ID" selects the field with that id and copies its value (the
// token page's new secret, shown once). Delegated, so it works in htmx-swapped content.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  const field = button && document.getElementById(button.dataset.copy);
  if (!field) {
    return;
  }
  field.select();
  navigator.clipboard?.writeText(field.value).then(
    () => { button.textContent = "Copied"; },
    () => { button.textContent = "Press Ctrl+C to copy"; },
  );
});

const localTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "short",
});

const localiseTimes = (root) => {
  root.querySelectorAll("time[data-local-time]:not([data-localised])").forEach((element) => {
    const moment = new Date(element.getAttribute("datetime") || "");
    if (Number.isNaN(moment.getTime())) {
      return;
    }
    element.textContent = localTimeFormat.format(moment);
    element.dataset.localised = "";
  });
};

localiseTimes(document);
document.addEventListener("htmx:afterSettle", () => localiseTimes(document));
