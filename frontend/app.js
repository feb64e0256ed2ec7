// Behaviour for every page: htmx (with the CSRF header), copy buttons, drop zones, dialogs.
import htmx from "./htmx-global.js";
import "htmx-ext-sse";

htmx.config.includeIndicatorStyles = false; // our CSP allows no inline styles
htmx.config.allowEval = false;
htmx.config.allowScriptTags = false;
htmx.config.selfRequestsOnly = true;
htmx.config.historyCacheSize = 0; // never keep pages with personal data in localStorage

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["x-csrftoken"] = csrfToken();
});

// Show server errors of htmx requests in the page's live region instead of failing silently.
document.addEventListener("htmx:responseError", (event) => {
  const region = document.getElementById("status-message");
  if (!region) return;
  const status = event.detail.xhr.status;
  region.textContent =
    status === 404
      ? "Dit onderdeel bestaat niet (meer) of u heeft er geen toegang toe."
      : status === 403
        ? "De pagina is verlopen. Laad de pagina opnieuw en probeer het nog eens."
        : "Er ging iets mis bij het opslaan. Probeer het opnieuw.";
  region.classList.add("kt-status--error");
});
document.addEventListener("htmx:sendError", () => {
  const region = document.getElementById("status-message");
  if (region) {
    region.textContent = "Geen verbinding met de server. Controleer uw netwerk en probeer het opnieuw.";
    region.classList.add("kt-status--error");
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  const text = target.value ?? target.textContent;
  try {
    await navigator.clipboard.writeText(text.trim());
    button.dataset.label ??= button.textContent;
    button.textContent = "Gekopieerd";
    setTimeout(() => (button.textContent = button.dataset.label), 2000);
  } catch {
    target.select?.();
  }
});

// Forms with data-confirm ask before submitting (e.g. revoking an API key).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// A submit button with data-busy-text shows progress and cannot be pressed twice.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (!button || !button.dataset.busyText || event.defaultPrevented) return;
  setTimeout(() => {
    button.disabled = true;
    button.classList.add("utrecht-button--busy");
    button.textContent = button.dataset.busyText;
  }, 0);
});

// A drop zone wraps a file input: dropping a file puts it in the input.
function setupDropZones(root) {
  root.querySelectorAll("[data-dropzone]").forEach((zone) => {
    if (zone.dataset.ready) return;
    zone.dataset.ready = "1";
    const input = zone.querySelector('input[type="file"]');
    const label = zone.querySelector("[data-dropzone-name]");
    const show = () => {
      if (label) label.textContent = input.files.length ? input.files[0].name : "";
    };
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach((type) =>
      zone.addEventListener(type, (e) => {
        e.preventDefault();
        zone.classList.add("kt-dropzone--active");
      }),
    );
    ["dragleave", "drop"].forEach((type) =>
      zone.addEventListener(type, () => zone.classList.remove("kt-dropzone--active")),
    );
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      if (e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show();
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });
}

// Elements with data-autosubmit submit their form on change (filters).
document.addEventListener("change", (event) => {
  const el = event.target.closest("[data-autosubmit]");
  if (el && el.form) el.form.requestSubmit();
});

// Print buttons (no inline onclick under our CSP).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

document.addEventListener("DOMContentLoaded", () => setupDropZones(document));
document.addEventListener("htmx:load", (event) => setupDropZones(event.target));

// After an htmx swap the server may say where focus belongs (HX-Trigger-After-Settle: kt-focus).
document.addEventListener("kt-focus", (event) => {
  const selector = event.detail && event.detail.value;
  const el = selector && document.querySelector(selector);
  if (el && !el.disabled) el.focus();
  else if (el) el.closest("[tabindex]")?.focus();
});

// Alt + arrow up/down on an agenda item moves it (the same as its ↑/↓ buttons).
document.addEventListener("keydown", (event) => {
  if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
  const item = event.target.closest && event.target.closest("[data-item]");
  if (!item) return;
  const button = item.querySelector(`[data-move="${event.key === "ArrowUp" ? "omhoog" : "omlaag"}"]`);
  if (button && !button.disabled) {
    event.preventDefault();
    button.click();
  }
});

// A read-only address field (the calendar feed) selects itself, ready to copy.
document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
});

// A checkbox ticked through htmx keeps keyboard focus on the same line, at once after the swap
// (an outerHTML swap replaces the target, so look the new one up by its id).
document.addEventListener("htmx:afterSwap", (event) => {
  const id = event.detail.target && event.detail.target.id;
  const fresh = id && document.getElementById(id);
  const first = fresh && fresh.querySelector("[autofocus]");
  if (first) first.focus();
});
