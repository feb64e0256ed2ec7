// Load driver for the plan channel: N real Yjs clients (yjs + y-websocket) per room, M rooms.
// One writer per room types keystrokes; every other client in the room records when each
// keystroke arrived. Latency = arrival - typing, measured on one clock (one Node process).
//
//   node bench/yjs_load.mjs '{"rooms": [{"base": "ws://127.0.0.1:8000/collab/plans", "room": "7"}], "clients": 31,
//                             "keystrokes": 200, "interval": 30, "cookie": "kt_sessie=…", "section": "doel"}'
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import WebSocket from "ws";

const options = JSON.parse(process.argv[2]);
const clientsPerRoom = options.clients || 10;
const keystrokes = options.keystrokes || 100;
const interval = options.interval || 30;
const section = options.section || "doel";

class CookieSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, options.cookie ? { headers: { Cookie: options.cookie } } : {});
  }
}

const sent = new Map(); // "client:clock" -> ms
const samples = [];
let received = 0;

// Every keystroke's id in an update; the server may merge several keystrokes into one struct.
function keysOf(update) {
  const keys = [];
  for (const struct of Y.decodeUpdate(update).structs) {
    for (let i = 0; i < struct.length; i++) keys.push(`${struct.id.client}:${struct.id.clock + i}`);
  }
  return keys;
}

function connect(room, index) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(room.base, room.room, doc, {
    WebSocketPolyfill: CookieSocket,
    disableBc: true,
    params: room.tickets ? { ticket: room.tickets[index] } : {},
  });
  provider.awareness.setLocalStateField("section", section);
  doc.on("update", (update, origin) => {
    if (origin === "local") return;
    const now = performance.now();
    for (const key of keysOf(update)) {
      const at = sent.get(key);
      if (at !== undefined) {
        samples.push(now - at);
        received += 1;
      }
    }
  });
  const synced = new Promise((resolve) => provider.on("sync", (ok) => ok && resolve()));
  return { doc, provider, synced };
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

const rooms = options.rooms.map((room) => Array.from({ length: clientsPerRoom }, (_, i) => connect(room, i)));
const connectStart = performance.now();
await Promise.all(rooms.flat().map((c) => c.synced));
const connectMs = performance.now() - connectStart;

const started = performance.now();
await Promise.all(
  rooms.map(
    (clients) =>
      new Promise((resolve) => {
        const writer = clients[0];
        const text = writer.doc.getText(section);
        let typed = 0;
        const tick = () => {
          if (typed >= keystrokes) return resolve();
          const clock = Y.getState(writer.doc.store, writer.doc.clientID);
          sent.set(`${writer.doc.clientID}:${clock}`, performance.now());
          writer.doc.transact(() => text.insert(text.length, "abcdefghij"[typed % 10]), "local");
          typed += 1;
          setTimeout(tick, interval);
        };
        tick();
      }),
  ),
);
const expected = options.rooms.length * keystrokes * (clientsPerRoom - 1);
const deadline = performance.now() + 15000;
while (received < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const elapsed = (performance.now() - started) / 1000;
samples.sort((a, b) => a - b);
const converged = rooms.every((clients) => {
  const texts = clients.map((c) => c.doc.getText(section).toString());
  return texts.every((t) => t === texts[0]);
});
process.stdout.write(
  JSON.stringify({
    clients: clientsPerRoom * options.rooms.length,
    rooms: options.rooms.length,
    connect_ms: Math.round(connectMs),
    keystrokes: options.rooms.length * keystrokes,
    deliveries: received,
    expected,
    lost: expected - received,
    converged,
    updates_per_second: Math.round(received / elapsed),
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: samples[samples.length - 1],
  }) + "\n",
);
rooms.flat().forEach((c) => c.provider.destroy());
setTimeout(() => process.exit(0), 200);
