/**
 * §1 Fan-out latency: from a push request to the new `channel:message` on every socket of the
 * account, with 1, 100 and 1,000 clients, for the edge and three peers, interleaved trial by
 * trial in one run so the machine's load falls on all alike:
 * - the edge, with clients that offer permessage-deflate as browsers do, and with clients that don't;
 * - the bare Durable Object broadcast (bare.ts), the runtime's floor, both ways too;
 * - a Socket.IO 4 server in the seed's shape (socketio-server.ts);
 * - a plain `ws` server (floor-server.ts).
 * Also what each way costs on the wire per socket and push (memory per socket: memory.ts).
 */
import { request } from "./backend";
import type { Backend } from "./backend";
import { startBare } from "./bare";
import { awaitAll, framesOf, openClients } from "./clients";
import type { ClientSet, Receiver } from "./clients";
import { startFloor, startPeer } from "./floor";
import type { Floor } from "./floor";
import { openSocketIoClients } from "./socketio";
import { comment, pushBody } from "./snapshots";
import { ms, ratio, sleep, summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-fanout";
const SIZES = [1, 100, 1_000];
const WARMUP = 3;
const TIMEOUT_MS = 15_000;
const SECTION = "1. Fan-out (push → message on every socket)";

type Trial = { all: number; first: number; text: string };

/** A set of clients of one peer, open on one account (or room). */
type Opened = {
  receivers: Receiver[];
  unexpected: string[];
  /** ws clients only: how many negotiated deflate, and the bytes they have read. */
  sockets?: ClientSet;
  close(): Promise<void>;
};

/** One server under test: how to open its clients and how to make it send message `id`. */
type Peer = {
  key: string;
  name: string;
  open(size: number): Promise<Opened>;
  /** The id of the comment trial `k` makes it send. */
  idOf(size: number, k: number): string;
  send(size: number, k: number, id: string): Promise<void>;
};

function trialsFor(clients: number, quick: boolean): number {
  const full = clients >= 1_000 ? 20 : 30;
  return quick ? Math.ceil(full / 4) : full;
}

/** Whether a text carries the `channel:message` of comment `id`. */
function carries(text: string, id: string): boolean {
  return framesOf(text).some((f) => f.type === "channel:message" && f.payload?.message?.id === id);
}

/** One trial: make the peer send, wait until every client has the message. */
async function trial(receivers: Receiver[], id: string, send: () => Promise<void>): Promise<Trial> {
  let text = "";
  const waiting = awaitAll(receivers, `"${id}"`, TIMEOUT_MS, (t) => {
    if (!carries(t, id)) return false;
    text = t;
    return true;
  });
  const started = performance.now();
  try {
    await send();
  } catch (error) {
    waiting.cancel();
    throw error;
  }
  const arrivals = await waiting.done;
  return { all: Math.max(...arrivals) - started, first: Math.min(...arrivals) - started, text };
}

async function ok(what: string, answer: Promise<{ status: number; text: string }>): Promise<void> {
  const { status, text } = await answer;
  if (status !== 200) throw new Error(`${what} answered ${status}: ${text.slice(0, 200)}`);
}

function fromSet(set: ClientSet): Opened {
  return { receivers: set.clients, unexpected: set.unexpected, sockets: set, close: () => set.close() };
}

/**
 * The edge: one account per size and offer, each socket its own agent token. `version` names
 * another build of it (`--against`), benched side by side with the working tree's.
 */
function edgePeer(backend: Backend, deflate: boolean, version?: string): Peer {
  const suffix = deflate ? "" : "-plain";
  const account = (size: number) => `fanout-${size}${suffix}`;
  const name = version ? `edge at ${version}` : "edge";
  return {
    key: `${version ? "against" : "edge"}${suffix}`,
    name: deflate ? name : `${name}, deflate not offered`,
    idOf: (size, k) => `${account(size)}-c${k}`,
    async open(size) {
      const id = account(size);
      await ok(`seeding ${id}`, backend.push(TENANT, id, pushBody(id, { comments: [comment(id, 0, "w0")] })));
      const set = await openClients(
        size,
        async (i) => {
          const token = await backend.token("agent", TENANT, `agent${suffix}-${i}`);
          return `${backend.url.replace("http", "ws")}/api/v1/accounts/${id}/ws?token=${token}`;
        },
        { deflate },
      );
      return fromSet(set);
    },
    async send(size, k) {
      const id = account(size);
      await ok(`push to ${id}`, backend.push(TENANT, id, pushBody(id, { comments: [comment(id, k, "w0")] })));
    },
  };
}

/** The bare object: it sends the POST's body as it is, so the bench posts the edge's own frame. */
function barePeer(bare: Backend, deflate: boolean, frame: () => { text: string; id: string }): Peer {
  const suffix = deflate ? "" : "-plain";
  const room = (size: number) => `bare-${size}${suffix}`;
  return {
    key: `bare${suffix}`,
    idOf: (size, k) => `bare${suffix}-${size}-c${k}`,
    name: deflate ? "bare Durable Object broadcast" : "bare object, deflate not offered",
    async open(size) {
      const url = `${bare.url.replace("http", "ws")}/ws?room=${room(size)}`;
      return fromSet(await openClients(size, async () => url, { deflate }));
    },
    async send(size, _k, id) {
      const sample = frame();
      const body = sample.text.split(sample.id).join(id);
      await ok("bare object", request(`${bare.url}/push?room=${room(size)}`, { method: "POST", body }));
    },
  };
}

function socketIoPeer(server: Floor): Peer {
  const room = (size: number) => `sio-${size}`;
  return {
    key: "socketio",
    idOf: (size, k) => `socketio-${size}-c${k}`,
    name: "Socket.IO 4 (the seed's shape)",
    async open(size) {
      const set = await openSocketIoClients(server.url, room(size), size);
      return { receivers: set.clients, unexpected: set.unexpected, close: () => set.close() };
    },
    async send(size, k, id) {
      const body = pushBody(room(size), { comments: [{ ...comment(room(size), k, "w0"), comment_id: id }] });
      await ok("socket.io server", request(`${server.url}/push`, { method: "POST", body }));
    },
  };
}

function wsPeer(server: Floor, frameBytes: () => number): Peer {
  return {
    key: "ws",
    idOf: (size, k) => `ws-${size}-c${k}`,
    name: "plain ws server",
    open: async (size) => fromSet(await openClients(size, async () => server.url.replace("http", "ws"))),
    async send(size, k, id) {
      const body = pushBody(`ws-${size}`, { comments: [{ ...comment(`ws-${size}`, k, "w0"), comment_id: id }] });
      await ok("ws server", request(`${server.url}/push?size=${frameBytes()}`, { method: "POST", body }));
    },
  };
}

/** The fan-out rows (section 1) and the per-socket send cost. */
export async function fanout(b: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  b.progress("fan-out: starting the bare object broadcast (wrangler dev), the Socket.IO and ws servers");
  const [bareStart, socketIoStart, floorStart] = await Promise.allSettled([
    startBare(b.backend.project),
    startPeer("./socketio-server.ts"),
    startFloor(),
  ]);
  const value = <T>(s: PromiseSettledResult<T>): T | null => (s.status === "fulfilled" ? s.value : null);
  const [bare, socketIo, floor] = [value(bareStart), value(socketIoStart), value(floorStart)];
  try {
    // Whichever did start is stopped below.
    for (const s of [bareStart, socketIoStart, floorStart]) if (s.status === "rejected") throw s.reason;
    if (!bare || !socketIo || !floor) throw new Error("a peer did not start");
    let sample = { text: "", id: "" };
    const edge = edgePeer(b.backend, true);
    const peers: Peer[] = [
      edge,
      edgePeer(b.backend, false),
      barePeer(bare, true, () => sample),
      barePeer(bare, false, () => sample),
      socketIoPeer(socketIo),
      wsPeer(floor, () => Buffer.byteLength(sample.text)),
    ];
    if (b.against)
      peers.push(edgePeer(b.against, true, b.against.source.label), edgePeer(b.against, false, b.against.source.label));
    const medians: Record<string, Record<number, number>> = {};
    for (const size of SIZES) {
      b.progress(`fan-out: opening ${size} socket(s) for each of ${peers.length} peers`);
      const opened = new Map<Peer, Opened>();
      for (const peer of peers) opened.set(peer, await peer.open(size));
      await sleep(500);
      // The edge's frame, which the bare object will send in place of its own.
      const probeId = `fanout-${size}-c1000000`;
      const first = await trial(opened.get(edge)!.receivers, probeId, () => edge.send(size, 1_000_000, probeId));
      sample = { text: first.text, id: probeId };

      const trials = trialsFor(size, b.quick);
      const samples = new Map<Peer, Trial[]>(peers.map((p) => [p, []]));
      const bytesAtStart = new Map<Peer, number>();
      for (let k = 1; k <= WARMUP + trials; k++) {
        if (k === WARMUP + 1) for (const p of peers) bytesAtStart.set(p, opened.get(p)!.sockets?.bytesRead() ?? 0);
        // Each round starts with another peer, so none always follows the same one.
        for (let j = 0; j < peers.length; j++) {
          const peer = peers[(k + j) % peers.length]!;
          const set = opened.get(peer)!;
          const id = peer.idOf(size, k);
          const result = await trial(set.receivers, id, () => peer.send(size, k, id));
          if (k > WARMUP) samples.get(peer)!.push(result);
          await sleep(30);
        }
      }
      const wire = new Map<Peer, number>();
      for (const peer of peers) {
        const sockets = opened.get(peer)!.sockets;
        if (sockets) wire.set(peer, (sockets.bytesRead() - bytesAtStart.get(peer)!) / (trials * size));
      }
      for (const peer of peers) {
        const set = opened.get(peer)!;
        if (set.unexpected.length)
          b.fail(`fan-out ${peer.name} ${size}: ${set.unexpected.length} socket(s) failed: ${set.unexpected[0]}`);
        await set.close();
      }

      const label = size === 1 ? "1 client" : `${size.toLocaleString("en-US")} clients`;
      const median = (key: string) =>
        summarize(samples.get(peers.find((p) => p.key === key)!)!.map((s) => s.all)).median;
      for (const peer of peers) {
        const all = summarize(samples.get(peer)!.map((s) => s.all));
        (medians[peer.key] ??= {})[size] = all.median;
        const notes: string[] = [];
        const sockets = opened.get(peer)!.sockets;
        if (sockets)
          notes.push(
            `deflate on ${sockets.deflated}/${size}; ${Math.round(wire.get(peer)!)} B/socket/push on the wire`,
          );
        // docs/DESIGN.md, "Compression: none for live frames": locally Miniflare's entry Worker
        // takes an offer up; the deployed Worker declines every one.
        if (peer.key === "edge-plain") notes.push("as deployed, whatever the client offers");
        if (peer.key === "edge") notes.push("deflate taken up by wrangler dev; the deployed Worker declines it");
        if (peer.key.startsWith("against")) {
          notes.push(`edge÷this ${ratio(median(peer.key.replace("against", "edge")) / all.median)}`);
        }
        if (peer.key.startsWith("edge")) {
          const bareKey = peer.key.replace("edge", "bare");
          notes.push(
            `edge÷bare ${ratio(all.median / median(bareKey))}`,
            `edge÷Socket.IO ${ratio(all.median / median("socketio"))}`,
          );
          if (size > 1) notes.push(`first socket ${ms(summarize(samples.get(peer)!.map((s) => s.first)).median)}`);
        }
        rows.push({
          section: SECTION,
          name: `${label}: ${peer.name}`,
          median: all.median,
          p99: all.p99,
          n: all.n,
          notes: notes.join("; "),
        });
      }
      b.progress(`fan-out ${size}: ${peers.map((p) => `${p.key} ${ms(medians[p.key]![size]!)}`).join(", ")}`);
    }
    for (const key of ["edge", "edge-plain", "bare", "bare-plain"]) {
      const m = medians[key]!;
      rows.push({
        section: SECTION,
        name: `per-socket send cost: ${peers.find((p) => p.key === key)!.name}`,
        value: `${(((m[1_000]! - m[1]!) / 999) * 1000).toFixed(0)} µs`,
        notes: "(median at 1,000 − median at 1) / 999: the room's thread time per extra socket",
      });
    }
  } finally {
    await Promise.all([bare?.stop(), socketIo?.stop(), floor?.stop()]);
  }
  return rows;
}
