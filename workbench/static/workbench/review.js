// Claim page and disputes page behaviour, loaded as an ES module (CSP: no inline scripts).
// - Lease countdown: <time datetime="…" data-countdown> shows the time left, updated each second.
// - Source search: the citation URL field asks the server for matching sources as `q`.
// - Focus: a new citation row gets the focus; after a refused form, the first invalid field does.
// - Ctrl+Enter (Cmd+Enter) in the verdict form submits it with its default button (submit and next).
// - Focus: on load the claim's heading (the statement) takes the focus, so keyboard and screen
//   reader users start on the claim they were sent to (the review loop lands here).
// - Rating keys 1..9 keep working while a radio of the verdict form has the focus (workbench.js
//   ignores keys typed into form fields, radios included).

const pad = (value) => String(value).padStart(2, "0");

const formatLeft = (ms) => {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${minutes}:${pad(seconds)}`;
};

const startCountdowns = (root) => {
  root.querySelectorAll("time[data-countdown]:not([data-countdown-started])").forEach((element) => {
    element.dataset.countdownStarted = "";
    const expires = Date.parse(element.getAttribute("datetime") || "");
    if (Number.isNaN(expires)) {
      return;
    }
    let timer = 0;
    const tick = () => {
      if (!element.isConnected) {
        window.clearInterval(timer);
        return;
      }
      const left = expires - Date.now();
      if (left > 0) {
        element.textContent = formatLeft(left);
        return;
      }
      window.clearInterval(timer);
      element.textContent = "none, expired";
      const bar = element.closest(".lease-bar");
      if (bar) {
        bar.classList.add("lease-expired");
        bar.querySelector("[data-lease-expired]")?.removeAttribute("hidden");
      }
    };
    tick();
    timer = window.setInterval(tick, 1000);
  });
};

startCountdowns(document);
document.addEventListener("htmx:afterSettle", () => startCountdowns(document));

document.addEventListener("htmx:configRequest", (event) => {
  const element = event.detail.elt;
  if (element instanceof HTMLInputElement && element.hasAttribute("data-source-search")) {
    delete event.detail.parameters[element.name];
    event.detail.parameters.q = element.value;
  }
});

document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  if (target instanceof HTMLElement && target.id === "citation-rows") {
    const rows = target.querySelectorAll(".citation-row");
    rows[rows.length - 1]?.querySelector("input")?.focus();
    return;
  }
  if (event.detail.requestConfig?.verb === "post") {
    const invalid = document.querySelector('[aria-invalid="true"], .form-errors[role="alert"]');
    if (invalid instanceof HTMLElement) {
      if (!invalid.matches("input, textarea, select")) {
        invalid.tabIndex = -1;
      }
      invalid.focus();
    }
  }
});

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (
    event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey ||
    !(target instanceof HTMLInputElement) || target.type !== "radio" || !/^[1-9]$/.test(event.key)
  ) {
    return;
  }
  const form = target.closest("#verdict-form");
  const choice = form?.querySelector(`.rating-choices input[data-shortcut="${event.key}"]`);
  if (choice instanceof HTMLInputElement) {
    event.preventDefault();
    choice.click();
    choice.focus();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.defaultPrevented) {
    return;
  }
  const form = event.target instanceof Element ? event.target.closest("#verdict-form") : null;
  const submitter = form?.querySelector("[data-submit-default]");
  if (form instanceof HTMLFormElement && submitter instanceof HTMLElement) {
    // A click, not requestSubmit(): htmx sends the clicked button's name and value.
    event.preventDefault();
    submitter.click();
  }
});

const heading = document.getElementById("claim-heading");
if (heading && !window.location.hash && document.activeElement === document.body) {
  heading.focus({ preventScroll: true });
}
