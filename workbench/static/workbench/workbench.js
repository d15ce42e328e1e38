// Shared behaviour for every page. Loaded as an ES module from static files (CSP: no inline scripts).
// Times: <time data-local-time> (the `when` template filter) shows UTC, labelled; here the
// text becomes the browser's local time, the ISO instant stays in `datetime` and `title`.
// Keyboard shortcuts: elements declare data-shortcut="n" and get clicked (or focused, for inputs)
// when the key is pressed outside a text field. "?" lists the shortcuts of the page.

const isTyping = (target) =>
  target instanceof HTMLElement &&
  (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
    return;
  }
  if (event.key === "?") {
    const help = document.getElementById("shortcut-help");
    if (help) {
      help.hidden = !help.hidden;
      event.preventDefault();
    }
    return;
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
