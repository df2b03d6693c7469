/**
 * §5 Memory per warm socket: the edge beside its fan-out peers, each in a process of its own that
 * nothing else has used. 1,000 sockets are opened first and stay open (the runtime's warm-up
 * falls on them); then 1,000 more, whose growth of the server process's resident memory is what
 * a socket costs; for the two workerd peers then 1,000 more again, the other way:
 * - as deployed: the clients offer permessage-deflate, as browsers do, through a door that
 *   declines the offer as the deployed Worker does (forwarder.ts); the sockets end uncompressed;
 * - deflate taken up: the same offer straight to `wrangler dev`, whose entry Worker negotiates
 *   it (docs/DESIGN.md), so each socket keeps a compression context.
 * The edge's sockets are agents' account sockets, each with its own token, open and not
 * registered; the bare object's (bare.ts) are plain hibernatable sockets; the Socket.IO 4
 * server (the seed's shape) and the plain `ws` server decline deflate by default.
 */
import type { Backend } from "./backend";
import { startBare } from "./bare";
import { openClients } from "./clients";
import { startFloor, startPeer } from "./floor";
import type { Floor } from "./floor";
import { decliningDoor } from "./forwarder";
import { MEMORY } from "./idle";
import { openSocketIoClients } from "./socketio";
import { comment, pushBody } from "./snapshots";
import { mib, ratio, sleep, summarize } from "./stats";
import type { Bench, Row } from "./types";

const SOCKETS = 1_000;
const TENANT = "bench-memory";
const ACCOUNT = "memory-1";

type Opened = { unexpected: string[]; deflated?: number; close(): Promise<void> };

/** One server: its process's resident KiB, and how to open `count` sockets numbered from `first`. */
type Server = {
  label: string;
  rss(): Promise<number>;
  open(first: number, count: number, way: "deployed" | "negotiated"): Promise<Opened>;
};

type Step = { kbPerSocket: number; notes: string };

/** Resident KiB once the process has settled: the median of three samples. */
async function settledRss(server: Server): Promise<number> {
  await sleep(2_000);
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(await server.rss());
    await sleep(500);
  }
  return summarize(samples).median;
}

/** The warm set, then one more set per way, all kept open until the end; KB per socket of each way. */
async function warmSockets(b: Bench, server: Server, ways: ("deployed" | "negotiated")[]): Promise<Step[]> {
  const sets: Opened[] = [];
  try {
    b.progress(`memory: ${server.label}: opening ${SOCKETS} sockets to warm the runtime`);
    sets.push(await server.open(0, SOCKETS, "deployed"));
    let before = await settledRss(server);
    const steps: Step[] = [];
    for (const way of ways) {
      const set = await server.open(sets.length * SOCKETS, SOCKETS, way);
      sets.push(set);
      const after = await settledRss(server);
      const open = (sets.length - 1) * SOCKETS;
      const deflate = set.deflated === undefined ? "" : `; deflate on ${set.deflated}/${SOCKETS}`;
      steps.push({
        kbPerSocket: ((after - before) * 1024) / 1000 / SOCKETS,
        notes: `${mib(before)} → ${mib(after)}, ${open.toLocaleString("en-US")} open before${deflate}`,
      });
      before = after;
    }
    for (const set of sets) {
      if (set.unexpected.length)
        b.fail(`memory: ${server.label}: ${set.unexpected.length} socket(s) failed: ${set.unexpected[0]}`);
    }
    b.progress(`memory: ${server.label}: ${steps.map((s) => `${s.kbPerSocket.toFixed(0)} KB`).join(", ")} a socket`);
    return steps;
  } finally {
    await Promise.all(sets.map((set) => set.close()));
  }
}

/** A workerd peer: "deployed" sockets go through a declining door, "negotiated" ones straight in. */
async function workerdServer(
  label: string,
  backend: Backend,
  urlOf: (base: string, i: number) => Promise<string>,
): Promise<{ server: Server; close(): void }> {
  const { url: doorUrl, door } = await decliningDoor(backend.url);
  const bases = { deployed: doorUrl.replace("http", "ws"), negotiated: backend.url.replace("http", "ws") };
  return {
    server: {
      label,
      rss: async () => (await backend.rss()).worker,
      open: (first, count, way) => openClients(count, (i) => urlOf(bases[way], first + i)),
    },
    close: () => door.close(),
  };
}

function nodeServer(label: string, floor: Floor, open: Server["open"]): Server {
  return { label, rss: () => floor.rss(), open };
}

/** A row of section 5; with `bare`, the edge's figure beside the bare object's. */
function row(name: string, step: Step, bare?: Step): Row {
  const ratioToBare = bare ? `; edge÷bare ${ratio(step.kbPerSocket / bare.kbPerSocket)}` : "";
  return {
    section: MEMORY,
    name: `per warm socket: ${name}`,
    value: `${Math.round(step.kbPerSocket)} KB`,
    notes: step.notes + ratioToBare,
  };
}

export async function memory(b: Bench): Promise<Row[]> {
  b.progress("memory: starting a fresh edge, bare object broadcast, Socket.IO and ws server");
  const started = await Promise.allSettled([
    b.startBackend({}),
    startBare(b.backend.project),
    startPeer("./socketio-server.ts"),
    startFloor(),
  ] as const);
  const [edge, bare, socketIo, floor] = started.map((s) => (s.status === "fulfilled" ? s.value : null)) as [
    Backend | null,
    Backend | null,
    Floor | null,
    Floor | null,
  ];
  const doors: { close(): void }[] = [];
  try {
    for (const s of started) if (s.status === "rejected") throw s.reason;
    const seeded = await edge!.push(TENANT, ACCOUNT, pushBody(ACCOUNT, { comments: [comment(ACCOUNT, 0, "w0")] }));
    if (seeded.status !== 200) throw new Error(`seeding ${ACCOUNT} answered ${seeded.status}: ${seeded.text}`);
    const edgeServer = await workerdServer("edge", edge!, async (base, i) => {
      const token = await edge!.token("agent", TENANT, `agent-${i}`);
      return `${base}/api/v1/accounts/${ACCOUNT}/ws?token=${token}`;
    });
    const bareServer = await workerdServer("bare object", bare!, async (base) => `${base}/ws?room=memory`);
    doors.push(edgeServer, bareServer);
    const [e, eNegotiated] = await warmSockets(b, edgeServer.server, ["deployed", "negotiated"]);
    const [o, oNegotiated] = await warmSockets(b, bareServer.server, ["deployed", "negotiated"]);
    const [s] = await warmSockets(
      b,
      nodeServer("Socket.IO", socketIo!, async (_first, count) => {
        const set = await openSocketIoClients(socketIo!.url, "memory", count);
        return { unexpected: set.unexpected, close: () => set.close() };
      }),
      ["deployed"],
    );
    const wsUrl = floor!.url.replace("http", "ws");
    const [w] = await warmSockets(
      b,
      nodeServer("ws server", floor!, (_first, count) => openClients(count, async () => wsUrl)),
      ["deployed"],
    );
    return [
      row("edge, deflate offered and declined (as deployed)", e!, o!),
      row("bare Durable Object broadcast, the same", o!),
      row("edge, deflate taken up by wrangler dev", eNegotiated!, oNegotiated!),
      row("bare object, deflate taken up by wrangler dev", oNegotiated!),
      row("Socket.IO 4 (the seed's shape)", s!),
      row("plain ws server", w!),
    ];
  } finally {
    for (const door of doors) door.close();
    await Promise.all([edge?.stop(), bare?.stop(), socketIo?.stop(), floor?.stop()]);
  }
}
