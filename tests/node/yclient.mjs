// A real Yjs client (yjs + y-websocket from npm) for the tests: connect to a plan with a ticket URL,
// optionally type into a section, wait until expected text is present, print the texts as JSON.
//
//   node tests/node/yclient.mjs '{"url": "ws://…/collab/plans/7?ticket=…", "section": "doel",
//                                 "insert": "tekst", "expect": ["a", "b"], "timeout": 10000}'
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
  process.stdout.write(JSON.stringify({ texts: texts(), ...extra }) + "\n");
  provider.destroy();
  setTimeout(() => process.exit(code), 50);
};

const timer = setTimeout(() => finish(2, { timeout: true }), options.timeout || 10000);

provider.on("connection-close", (event) => {
  if (event && event.code >= 4000) {
    clearTimeout(timer);
    finish(3, { closed: event.code });
  }
});

provider.on("sync", (synced) => {
  if (!synced) return;
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
    if ((options.expect || []).every((piece) => current.includes(piece))) {
      clearTimeout(timer);
      // give our own last update time to leave before we go
      setTimeout(() => finish(0), options.linger ?? 300);
    } else {
      setTimeout(check, 25);
    }
  };
  check();
});
