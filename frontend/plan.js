// The plan van aanpak editor: one Y.Text per section, bound to a plain <textarea> (text only,
// never HTML), synced over the standard y-websocket protocol. Shows who types where.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";

const editors = new Map(); // root element -> { provider, doc, undo }

function socketBase() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/collab/plans`;
}

// The smallest change turning `before` into `after`: [index, deleted, inserted].
export function textDiff(before, after) {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  return [start, endBefore - start, after.slice(start, endAfter)];
}

function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.max(textarea.scrollHeight + 2, 48)}px`;
}

function bindSection(textarea, ytext, doc, awareness, key, undo) {
  let shadow = ytext.toString();
  textarea.value = shadow;
  autosize(textarea);
  textarea.addEventListener("input", () => {
    const next = textarea.value;
    const [index, removed, inserted] = textDiff(shadow, next);
    shadow = next;
    doc.transact(() => {
      if (removed) ytext.delete(index, removed);
      if (inserted) ytext.insert(index, inserted);
    }, "local");
    autosize(textarea);
  });
  ytext.observe((event, transaction) => {
    if (transaction.origin === "local") return;
    let start = textarea.selectionStart;
    let end = textarea.selectionEnd;
    let position = 0;
    for (const op of event.delta) {
      if (op.retain) {
        position += op.retain;
      } else if (op.insert) {
        const length = typeof op.insert === "string" ? op.insert.length : 1;
        if (position < start) start += length;
        if (position < end) end += length;
        position += length;
      } else if (op.delete) {
        if (position < start) start -= Math.min(op.delete, start - position);
        if (position < end) end -= Math.min(op.delete, end - position);
      }
    }
    shadow = ytext.toString();
    const focused = document.activeElement === textarea;
    textarea.value = shadow;
    if (focused) textarea.setSelectionRange(start, end);
    autosize(textarea);
  });
  textarea.addEventListener("focus", () => awareness.setLocalStateField("section", key));
  textarea.addEventListener("blur", () => awareness.setLocalStateField("section", null));
  textarea.addEventListener("keydown", (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (!mod || event.key.toLowerCase() !== "z") return;
    event.preventDefault();
    if (event.shiftKey) undo.redo();
    else undo.undo();
  });
}

function renderAwareness(root, awareness, ownId) {
  const typing = new Map();
  awareness.getStates().forEach((state, clientId) => {
    if (clientId === ownId || !state || !state.section || !state.user) return;
    if (!typing.has(state.section)) typing.set(state.section, []);
    typing.get(state.section).push(state.user);
  });
  root.querySelectorAll("[data-typing]").forEach((slot) => {
    const users = typing.get(slot.dataset.typing) || [];
    slot.replaceChildren(
      ...users.map((user) => {
        const chip = document.createElement("span");
        chip.className = "kt-chip";
        chip.textContent = `${user.name} typt`;
        chip.style.setProperty("--chip", user.color || "#154273");
        return chip;
      }),
    );
    slot.closest(".kt-plan__section")?.classList.toggle("kt-plan__section--busy", users.length > 0);
  });
}

function start(root) {
  if (editors.has(root)) return;
  const caseId = root.dataset.case;
  const status = root.querySelector("[data-plan-status]");
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(socketBase(), caseId, doc, { maxBackoffTime: 5000 });
  const textareas = [...root.querySelectorAll("[data-plan-text]")];
  const texts = textareas.map((t) => doc.getText(t.dataset.planText));
  const undo = new Y.UndoManager(texts, { trackedOrigins: new Set(["local"]) });
  let bound = false;
  provider.on("status", ({ status: state }) => {
    if (!status) return;
    if (state === "connected") status.textContent = "Verbonden — wijzigingen worden direct opgeslagen";
    else if (state === "connecting") status.textContent = "Verbinden…";
    else status.textContent = "Verbinding verbroken — uw tekst blijft bewaard en wordt verstuurd zodra de verbinding terug is";
    status.classList.toggle("kt-status--error", state === "disconnected");
  });
  provider.on("connection-close", (event) => {
    if (event && (event.code === 4401 || event.code === 4403)) {
      provider.shouldConnect = false;
      if (status) {
        status.textContent = event.code === 4401 ? "U bent niet (meer) ingelogd; laad de pagina opnieuw." : "Geen toegang tot dit plan.";
        status.classList.add("kt-status--error");
      }
    }
  });
  provider.on("sync", (synced) => {
    if (!synced || bound) return;
    bound = true;
    textareas.forEach((textarea, i) => {
      bindSection(textarea, texts[i], doc, provider.awareness, textarea.dataset.planText, undo);
      textarea.disabled = false; // read-only participants keep the readonly attribute
    });
  });
  provider.awareness.setLocalStateField("section", null);
  provider.awareness.on("change", () => renderAwareness(root, provider.awareness, doc.clientID));
  editors.set(root, { provider, doc, undo });
}

function stop(root) {
  const editor = editors.get(root);
  if (!editor) return;
  editor.provider.awareness.setLocalState(null);
  editor.provider.destroy();
  editor.doc.destroy();
  editors.delete(root);
}

function scan(scope) {
  scope.querySelectorAll?.("[data-plan-editor]").forEach(start);
}

// htmx replaces fragments: stop editors that leave the page, start the ones that arrive.
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!target) return;
  editors.forEach((_editor, root) => {
    if (target === root || target.contains(root)) stop(root);
  });
});
document.addEventListener("htmx:load", (event) => scan(event.target));
document.addEventListener("DOMContentLoaded", () => scan(document));
if (document.readyState !== "loading") scan(document);
window.addEventListener("pagehide", () => editors.forEach((_e, root) => stop(root)));
window.ktPlanEditors = editors; // for tests and debugging
