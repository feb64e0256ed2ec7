// A real Yjs client (yjs + y-websocket from npm) for the tests: connect to a plan with a ticket URL,
// optionally type into a section, wait until expected text is present, print the texts as JSON.
//
//   node tests/node/yclient.mjs '{"url": "ws://…/collab/plans/7?ticket=…", "section": "doel",
//                                 "insert": "tekst", "expect": ["a", "b"], "timeout": 10000}'
//
// More options: "typing" (ms per character), "atStart", "expectTexts" ({section: [pieces]}),
// "renew" ({"api": "http://…", "headers": {…}, "case": 7}: on every lost connection fetch a fresh
// single-use ticket and reconnect, as a real API client does), "offline" ({"insert": "…", "ms": 1500}:
// after the first sync go offline, type, come back).
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import WebSocket from "ws";

const options = JSON.parse(process.argv[2]);
const url = new URL(options.url);
const ticket = url.searchParams.get("ticket");
const room = url.pathname.split("/").pop();
const base = `${url.protocol}//${url.host}${url.pathname.slice(0, url.pathname.lastIndexOf("/"))}`;
const sections = options.sections || ["doel", "identiteitsbewijs", "onderdak", "werk_inkomen", "schulden", "zorg", "sociaal_netwerk"];

const doc = new Y.Doc();
const provider = new WebsocketProvider(base, room, doc, {
  WebSocketPolyfill: WebSocket,
  params: ticket ? { ticket } : {},
  disableBc: true,
  maxBackoffTime: 500,
});
provider.awareness.setLocalStateField("section", options.section || null);

const texts = () => Object.fromEntries(sections.map((key) => [key, doc.getText(key).toString()]));
const finish = (code, extra = {}) => {
  process.stdout.write(JSON.stringify({ texts: texts(), closes, ...extra }) + "\n");
  provider.destroy();
  setTimeout(() => process.exit(code), 50);
};

const timer = setTimeout(() => finish(2, { timeout: true, closes }), options.timeout || 10000);
const closes = [];
let renewing = false;
let offlineNow = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function freshTicket() {
  for (;;) {
    try {
      const response = await fetch(`${options.renew.api}/api/v1/cases/${options.renew.case}/plan/ticket`, {
        method: "POST",
        headers: options.renew.headers,
      });
      if (response.ok) return new URL((await response.json()).url).searchParams.get("ticket");
    } catch {
      // the server is restarting or unreachable: try again
    }
    await sleep(300);
  }
}
async function reconnect() {
  if (renewing) return;
  renewing = true;
  provider.disconnect();
  provider.params = { ticket: await freshTicket() };
  renewing = false;
  provider.connect();
}

provider.on("connection-close", (event) => {
  closes.push(event ? event.code : null);
  if (offlineNow) return;
  if (options.renew && !(event && event.code === 4403)) {
    reconnect();
  } else if (event && event.code >= 4000) {
    clearTimeout(timer);
    finish(3, { closed: event.code });
  }
});

let started = false;
provider.on("sync", async (synced) => {
  if (!synced || started) return;
  started = true;
  if (options.offline) {
    offlineNow = true;
    provider.disconnect();
    doc.getText(options.section || "doel").insert(0, options.offline.insert);
    await sleep(options.offline.ms || 1000);
    offlineNow = false;
    await reconnect();
  }
  const text = doc.getText(options.section || "doel");
  if (options.insert) {
    const chunks = options.typing ? [...options.insert] : [options.insert];
    let i = 0;
    const typeNext = () => {
      if (i >= chunks.length) return;
      text.insert(options.atStart ? i : text.length, chunks[i]);
      i += 1;
      setTimeout(typeNext, options.typing || 0);
    };
    typeNext();
  }
  const check = () => {
    const current = text.toString();
    const sectionsDone = Object.entries(options.expectTexts || {}).every(([key, pieces]) =>
      pieces.every((piece) => doc.getText(key).toString().includes(piece)),
    );
    if (sectionsDone && (options.expect || []).every((piece) => current.includes(piece))) {
      clearTimeout(timer);
      // give our own last update time to leave before we go
      setTimeout(() => finish(0), options.linger ?? 300);
    } else {
      setTimeout(check, 25);
    }
  };
  check();
});
