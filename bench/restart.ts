/**
 * Restart under load: N adapters (`client/adapter.ts`, each its own agent and device) watch one
 * account under `wrangler dev` with persisted state; the whole backend is SIGKILLed and started
 * again on the same state (the clients keep one address, see Forwarder), and comments are
 * pushed as soon as it answers. Measured from
 * that moment: when each client has every comment (p50, p99, last), the socket upgrades the
 * server answered per client (Directory and account socket together, 101s and refusals alike),
 * refusals (429/503, 1013 closes), `status_change` frames, and comments lost or delivered twice.
 *
 * A scenario of `npm run bench` (`--only=restart`), or alone:
 * `npx tsx bench/restart.ts [--clients=1000] [--upgrades-per-second=N] [--root=<checkout>] [--deflate=…]`,
 * where `--upgrades-per-second` sets the backend's UPGRADES_PER_SECOND, `--root` runs another
 * checkout's backend and adapter (a `git archive` of an older commit with `node_modules`
 * linked in) for a before/after comparison, and `--deflate=negotiated` lets `wrangler dev`
 * compress every socket, as it alone does (the default, `declined`, answers as deployed: see
 * Forwarder).
 *
 * Upgrades are counted twice. At the server's door (the Forwarder): every upgrade request
 * handed to the backend from the kill on, whatever became of it, with the backend's 101s and
 * 429/503s. And where the client's `ws` meets the server's answer: a 101, an HTTP refusal, or a
 * socket closed with 1013 right after it opened. An attempt whose connection was refused
 * (nothing listening yet) never reached the server and is counted in neither.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import type { Role } from "../src/auth";
import type { createClient, memoryStorage } from "../client/adapter";
import { livingInGroup, mintToken, startDev } from "../scripts/backend";
import { isMain, runMain, UsageError } from "../scripts/cli";
import { directWorkerd, REPO } from "./backend";
import { Forwarder } from "./forwarder";
import { startBare } from "./bare";
import { cpuMs, load } from "./machine";
import { percentile } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "herd";
const ACCOUNT = "herd-account";
const SECRET = `restart-bench-${process.pid}`;
/** Comments pushed right after the restart, in one push. */
const COMMENTS = 5;
/** Clients connected at a time while the herd is set up. */
const SETUP_CONCURRENCY = 25;
const CATCH_UP_TIMEOUT_MS = 90_000;

type AdapterModule = { createClient: typeof createClient; memoryStorage: typeof memoryStorage };
type Client = ReturnType<typeof createClient>;

/** How the herd's sockets end up: as deployed (every deflate offer declined), or as `wrangler dev` alone negotiates them. */
export type Deflate = "declined" | "negotiated";

export type RestartOptions = {
  /** The checkout whose backend and adapter run (default: this one). */
  root?: string;
  progress?: (message: string) => void;
  /** Variables for the backend, beside its AUTH_SECRET. */
  vars?: Record<string, string>;
  /** Default "declined", as the deployed Worker answers (see Forwarder). */
  deflate?: Deflate;
};

export type RestartResult = {
  clients: number;
  deflate: Deflate;
  /** Per client: ms from the backend answering again to its last pushed comment (missing: never). */
  caughtUpMs: number[];
  lost: number;
  duplicated: number;
  /** Upgrades the server answered from the restart on, all clients, both sockets, as the clients saw them. */
  upgrades: number;
  /** Upgrade requests that reached the backend from the restart on, and its 101s and 429/503s to them. */
  door: { requests: number; switched: number; refused: number };
  refusals: number;
  /** Attempts the clients made from the kill on, reaching the server or not. */
  attempts: number;
  /** Why attempts failed, by the runtime's message. */
  errors: Record<string, number>;
  statusChanges: number;
  restartMs: number;
  /** ms for as many upgrades as the herd made (2 per client) to open at once on the bare object: the runtime's floor. */
  floorMs: number;
  /** CPU time of the backend's processes from the moment it answered until every client caught up (or the wait ended). */
  backendCpuMs: number;
  /** The same for this process, which runs every client (and the forwarder). */
  clientsCpuMs: number;
  load: string;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const token = (role: Role, sub: string) => mintToken(role, { tenant: TENANT, sub, secret: SECRET });

/** Counts what the server answered to each upgrade, by the token in its address. */
class UpgradeCounter {
  counting = false;
  upgrades = 0;
  refusals = 0;
  /** Attempts made from the restart on, answered or not. */
  attempts = 0;
  readonly errors = new Map<string, number>();

  /** A `ws` class for the adapter that reports every answered upgrade to `counter`. */
  static socketClass(counter: UpgradeCounter): unknown {
    return class CountedSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        if (counter.counting) counter.attempts++;
        this.on("error", (error: Error) => {
          if (counter.counting) counter.errors.set(error.message, (counter.errors.get(error.message) ?? 0) + 1);
        });
        // ws keeps the handshake request in `_req`; listening to its response changes nothing.
        const request = (this as unknown as { _req?: { once(event: "response", f: () => void): void } })._req;
        request?.once("response", () => counter.answered(true));
        this.once("upgrade", () => counter.answered(false));
        this.once("close", (code: number) => {
          if (code === 1013 && counter.counting) counter.refusals++;
        });
      }
    };
  }

  answered(refused: boolean): void {
    if (!this.counting) return;
    this.upgrades++;
    if (refused) this.refusals++;
  }
}

async function push(url: string, comments: { id: string; content: string }[]): Promise<void> {
  const response = await fetch(`${url}/api/v1/accounts/${ACCOUNT}/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${await token("crawler", "herd-crawler")}`, "content-type": "application/json" },
    body: JSON.stringify({
      type: "worker:data:sync",
      accountId: ACCOUNT,
      platform: "douyin",
      timestamp: Date.now(),
      snapshot: {
        contents: [{ work_id: "w1", title: "Launch video", publish_time: 1_750_000_000 }],
        comments: comments.map((c, i) => ({
          comment_id: c.id,
          work_id: "w1",
          content: c.content,
          author_id: `author-${i}`,
          author_name: `Author ${i}`,
          create_time: 1_750_000_000 + i,
        })),
      },
    }),
  });
  if (!response.ok) throw new Error(`push answered ${response.status}: ${await response.text()}`);
}

/**
 * One run: starts its own `wrangler dev` (state in a temporary directory), sets up the herd,
 * kills and restarts the backend, pushes, and waits for every client to catch up.
 */
export async function restartUnderLoad(count: number, options: RestartOptions = {}): Promise<RestartResult> {
  const { root = REPO, progress = () => {}, vars: extraVars = {}, deflate = "declined" } = options;
  const { createClient, memoryStorage } = (await import(join(root, "client/adapter.ts"))) as AdapterModule;
  const dir = await mkdtemp(join(tmpdir(), "restart-bench-"));
  const vars = { AUTH_SECRET: SECRET, ...extraVars };
  const counter = new UpgradeCounter();
  const WebSocketClass = UpgradeCounter.socketClass(counter);
  const clients: Client[] = [];
  const seen: Map<string, number>[] = [];
  const lastSeenAt: number[] = [];
  let statusChanges = 0;
  const forwarder = new Forwarder(deflate === "declined");
  const url = await forwarder.listen();
  let dev = await startDev({ dir, root, vars, readyTimeoutMs: 120_000 });
  try {
    forwarder.target = (await directWorkerd(livingInGroup(dev.pgid))).port;
    await push(url, [{ id: "before", content: "before the restart" }]);
    progress(`restart: connecting ${count} clients (load ${load()})`);
    const connectOne = async (i: number) => {
      const client = createClient({
        token: await token("agent", `agent-${i}`),
        clientId: `desk-${i}`,
        accounts: [ACCOUNT],
        storage: memoryStorage(),
        WebSocket: WebSocketClass,
      });
      clients[i] = client;
      seen[i] = new Map();
      client.onMessage((message) => {
        seen[i]!.set(message.id, (seen[i]!.get(message.id) ?? 0) + 1);
        lastSeenAt[i] = performance.now();
      });
      client.on("status_change", () => {
        if (counter.counting) statusChanges++;
      });
      await client.connect(url);
      await until(() => client.getAccountState(ACCOUNT)?.position.seq != null, `client ${i} to be ready`, 120_000);
    };
    for (let next = 0; next < count; next += SETUP_CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(SETUP_CONCURRENCY, count - next) }, (_, k) => connectOne(next + k)),
      );
    }
    await push(url, [{ id: "live", content: "live before the restart" }]);
    await until(() => seen.every((s) => s.has("live")), "every client to have the live comment", 60_000);
    progress(`restart: ${count} clients ready; killing the backend (load ${load()})`);
    await dev.kill();
    forwarder.drop();
    const killedAt = performance.now();
    counter.counting = true;
    forwarder.counting = true;
    dev = await startDev({ dir, root, vars, readyTimeoutMs: 120_000 });
    forwarder.target = (await directWorkerd(livingInGroup(dev.pgid))).port;
    const upAt = performance.now();
    const backendPids = livingInGroup(dev.pgid);
    const cpuAtUp = await cpuMs(backendPids);
    const ownCpuAtUp = process.cpuUsage();
    const comments = Array.from({ length: COMMENTS }, (_, k) => ({ id: `after-${k}`, content: `after ${k}` }));
    await push(url, comments);
    progress(`restart: backend answered ${((upAt - killedAt) / 1000).toFixed(1)} s after the kill; pushed`);
    const hasAll = (i: number) => comments.every((c) => seen[i]!.has(c.id));
    await until(() => clients.every((_, i) => hasAll(i)), "every client to catch up", CATCH_UP_TIMEOUT_MS).catch(
      () => {},
    );
    const backendCpuMs = (await cpuMs(backendPids)) - cpuAtUp;
    const ownCpu = process.cpuUsage(ownCpuAtUp);
    const clientsCpuMs = (ownCpu.user + ownCpu.system) / 1000;
    for (const client of clients) client.disconnect();
    await dev.kill();
    progress(`restart: the same ${2 * count} upgrades at once on the bare object`);
    const floorMs = await bareFloor(2 * count, deflate);
    // Duplicates that arrive late still count: give them a moment.
    await sleep(2_000);
    const caughtUpMs = clients.flatMap((_, i) => (hasAll(i) ? [lastSeenAt[i]! - upAt] : []));
    const duplicated = seen.reduce((sum, s) => sum + [...s.values()].filter((n) => n > 1).length, 0);
    const lost = clients.filter((_, i) => !hasAll(i)).length;
    return {
      clients: count,
      deflate,
      caughtUpMs,
      lost,
      duplicated,
      upgrades: counter.upgrades,
      refusals: counter.refusals,
      door: { ...forwarder.door },
      attempts: counter.attempts,
      errors: Object.fromEntries(counter.errors),
      statusChanges,
      restartMs: upAt - killedAt,
      backendCpuMs,
      clientsCpuMs,
      floorMs,
      load: load(),
    };
  } finally {
    for (const client of clients) client?.disconnect();
    forwarder.close();
    await dev.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The runtime's floor under a herd on this machine: ms until `count` sockets opened all at once
 * on the bare Durable Object (bench/bare/), which accepts them and does nothing else, each tried
 * again at once if its connection failed. They offer deflate as the adapters do and go through
 * a door as the herd does, which declines the offer when the herd's is declined.
 */
async function bareFloor(count: number, deflate: Deflate): Promise<number> {
  const bare = await startBare(REPO);
  const door = new Forwarder(deflate === "declined");
  door.target = Number(new URL(bare.url).port);
  const url = (await door.listen()).replace("http", "ws");
  const sockets: WebSocket[] = [];
  try {
    const started = performance.now();
    // A connection the listener had no room for is tried again at once, until every socket is open.
    const openOne = (i: number): Promise<void> =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`${url}/ws?room=herd&i=${i}`);
        sockets.push(ws);
        ws.once("open", () => resolve());
        ws.once("error", () => resolve(openOne(i)));
      });
    await Promise.all(Array.from({ length: count }, (_, i) => openOne(i)));
    return performance.now() - started;
  } finally {
    for (const ws of sockets) ws.terminate();
    door.close();
    await bare.stop();
  }
}

/** The result as text: one line a person can compare. */
export function describeResult(result: RestartResult): string {
  const sorted = [...result.caughtUpMs].sort((a, b) => a - b);
  const s = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? "—" : `${(ms / 1000).toFixed(1)} s`);
  return [
    `${result.clients} clients (deflate ${result.deflate === "declined" ? "offered and declined, as deployed" : "negotiated, as wrangler dev alone does"}): caught up p50 ${s(percentile(sorted, 50))}, p99 ${s(percentile(sorted, 99))}, last ${s(sorted.at(-1))}`,
    `upgrade requests reaching the server ${(result.door.requests / result.clients).toFixed(2)}/client (${result.door.requests}: ${result.door.switched} switched, ${result.door.refused} refused with 429/503)`,
    `upgrades answered as the clients saw them ${(result.upgrades / result.clients).toFixed(2)}/client (${result.upgrades}), refusals ${result.refusals}, attempts from the kill on ${result.attempts}`,
    `failed attempts by cause ${JSON.stringify(result.errors)}`,
    `status_change frames ${result.statusChanges}, lost ${result.lost}, duplicated ${result.duplicated}`,
    `the runtime's floor: ${2 * result.clients} upgrades at once on the bare object took ${s(result.floorMs)}`,
    `backend CPU until caught up ${s(result.backendCpuMs)} (${(result.backendCpuMs / result.clients).toFixed(1)} ms per client), the clients' ${s(result.clientsCpuMs)}`,
    `restart took ${s(result.restartMs)}; load ${result.load}`,
  ].join("; ");
}

/**
 * The bench scenario: 300 clients (100 with --quick) against a backend of its own — what the
 * 2-core bench machine can bring back at all (docs/BENCHMARKS.md); 1,000 with the script alone.
 */
export async function restart(bench: Pick<Bench, "quick" | "progress" | "fail">): Promise<Row[]> {
  const count = bench.quick ? 100 : 300;
  const result = await restartUnderLoad(count, { progress: bench.progress });
  if (result.lost)
    bench.fail(`restart: ${result.lost} of ${count} clients had not got every comment 90 s after the push`);
  if (result.duplicated) bench.fail(`restart: ${result.duplicated} comments delivered twice`);
  const sorted = [...result.caughtUpMs].sort((a, b) => a - b);
  const notes = `every client offers deflate, declined as the deployed Worker declines it; backend answered ${(result.restartMs / 1000).toFixed(1)} s after the kill; load ${result.load}; the runtime's floor: the same ${2 * count} upgrades at once on the bare object took ${(result.floorMs / 1000).toFixed(1)} s`;
  return [
    {
      section: "restart",
      name: `${count} clients: every comment after the backend answers`,
      median: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      n: sorted.length,
      notes: `last ${((sorted.at(-1) ?? 0) / 1000).toFixed(1)} s; ${notes}`,
    },
    {
      section: "restart",
      name: "upgrade requests reaching the server per client (both sockets)",
      value: (result.door.requests / count).toFixed(2),
      notes: `${result.door.requests} counted at the server's door: ${result.door.switched} switched, ${result.door.refused} refused with 429/503; the clients saw ${result.upgrades} answered, ${result.refusals} refusals (429/503 or 1013); ${result.attempts} attempts from the kill on, ${result.errors["WebSocket was closed before the connection was established"] ?? 0} given up at the connect timeout`,
    },
    {
      section: "restart",
      name: "backend CPU from answering until every client caught up",
      value: `${(result.backendCpuMs / count).toFixed(1)} ms/client`,
      notes: `${(result.backendCpuMs / 1000).toFixed(1)} s in all, every process of wrangler dev (workerd runs the Worker and both objects); the clients, all in the bench's process, used ${(result.clientsCpuMs / 1000).toFixed(1)} s`,
    },
    { section: "restart", name: "status_change frames after the restart", value: String(result.statusChanges) },
    { section: "restart", name: "comments lost / delivered twice", value: `${result.lost} / ${result.duplicated}` },
  ];
}

async function main(): Promise<number> {
  let count = 1000;
  let root = REPO;
  let deflate: Deflate = "declined";
  const vars: Record<string, string> = {};
  for (const arg of process.argv.slice(2)) {
    if (arg.startsWith("--clients=")) count = Number(arg.slice("--clients=".length));
    else if (arg === "--deflate=negotiated" || arg === "--deflate=declined")
      deflate = arg.slice("--deflate=".length) as Deflate;
    else if (arg.startsWith("--upgrades-per-second="))
      vars.UPGRADES_PER_SECOND = arg.slice("--upgrades-per-second=".length);
    else if (arg.startsWith("--root=")) root = arg.slice("--root=".length);
    else throw new UsageError(`unknown argument ${arg}`);
  }
  const result = await restartUnderLoad(count, { root, progress: (message) => console.log(message), vars, deflate });
  console.log(describeResult(result));
  return result.lost || result.duplicated ? 1 : 0;
}

if (isMain(import.meta.url))
  runMain(
    main,
    "usage: npx tsx bench/restart.ts [--clients=1000] [--upgrades-per-second=N] [--root=<checkout>] [--deflate=declined|negotiated]",
  );
