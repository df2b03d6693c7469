/**
 * The backend under test: `wrangler dev` on a free 127.0.0.1 port with a fresh persist
 * directory, run from a private copy of the source so edits made while the bench runs (wrangler
 * reloads on every change) can't restart it halfway. Also: the workerd processes it started,
 * their resident memory, tokens and pushes.
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Role } from "../src/auth";
import { livingInGroup, mintToken, startWrangler } from "../scripts/backend";
import type { WranglerOptions } from "../scripts/backend";

const run = promisify(execFile);
export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const WORKER_NAME = "hiscrm-im-edge";
const READY_TIMEOUT_MS = 120_000;
/** What the Worker needs to build; everything else in the checkout is left out of the copy. */
const SOURCE_PATHS = ["src", "wrangler.toml", "package.json", "tsconfig.json"];

export type Source = { label: string; commit: string; dirty: boolean };

export type Backend = {
  /** Where the bench sends its requests and sockets: the Worker's own workerd (see `startBackend`). */
  url: string;
  /** wrangler's dev proxy in front of it (`--port`). */
  proxyUrl: string;
  /** wrangler's DevTools proxy to the Worker's isolate. */
  inspectorUrl: string;
  source: Source;
  /** The private copy of the source it runs from. */
  project: string;
  /** Resident memory (KiB) of each workerd process wrangler started, by pid. */
  rss(): Promise<{ total: number; worker: number; byPid: Record<number, number> }>;
  /** The workerd process that runs the Worker and its objects (the other one is wrangler's proxy). */
  workerPid(): Promise<number | null>;
  workerdVersion(): Promise<string>;
  token(role: Role, tenant: string, sub?: string): Promise<string>;
  /** POSTs a push body as a crawler of `tenant`; returns status, time and the answer's text. */
  push(tenant: string, accountId: string, body: string, sub?: string): Promise<Answer>;
  get(path: string, tenant: string): Promise<Answer>;
  log: string;
  stop(): Promise<void>;
};

export type Answer = { status: number; ms: number; text: string };

/**
 * One request on its own connection, timed; a failed connection is status 0 with the reason
 * as text, not a throw. No keep-alive: a pooled connection the server closes while idle can
 * fail the next POST mid-upload (EPIPE) — a client race, not something the backend did.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - started,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", (error) => resolve({ status: 0, ms: performance.now() - started, text: error.message }));
    });
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({
        status: 0,
        ms: performance.now() - started,
        text: `${error.message}${error.code ? ` (${error.code})` : ""}`,
      }),
    );
    req.end(options.body);
  });
}

/** TCP ports a process listens on: its socket inodes, looked up in /proc/net/tcp. */
async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const rows = (await readFile("/proc/net/tcp", "utf8")).split("\n").slice(1);
  const ports: number[] = [];
  for (const row of rows) {
    // "sl local_address rem_address st … inode": state 0A is LISTEN.
    const cols = row.trim().split(/\s+/);
    if (cols[3] === "0A" && inodes.has(cols[9] ?? "")) ports.push(parseInt(cols[1]!.split(":")[1]!, 16));
  }
  return ports;
}

/** The port of `pid` that answers `GET /api/v1/status` as the Worker does. */
export async function workerPort(pid: number): Promise<number | null> {
  for (const port of await listeningPorts(pid)) {
    const controller = new AbortController();
    // A ref'd timer: a port that never answers must not let the process exit meanwhile.
    const timer = setTimeout(() => controller.abort(), 2_000);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/status`, { signal: controller.signal });
      if (response.status === 200 && ((await response.json()) as { status?: string }).status === "ok") return port;
    } catch {
      // The inspector or the debug port.
    } finally {
      clearTimeout(timer);
    }
  }
  return null;
}

/** The workerd that runs the Worker (not wrangler's proxy) among a dev server's processes, and its port. */
export async function directWorkerd(pids: number[]): Promise<{ pid: number; port: number }> {
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes("workerd") || !cmdline.includes("--inspector-addr")) continue;
    const port = await workerPort(pid);
    if (port !== null) return { pid, port };
  }
  throw new Error("the Worker's own workerd was not found");
}

/**
 * The project's wrangler.toml without its `[assets]` and `[build]` tables: the bench copy holds
 * no console (PROTOCOL §12) to build or serve, and every request it makes goes to the Worker.
 */
export function withoutConsole(toml: string): string {
  return toml.replace(/^\[(assets|build)\]\n(?:(?!\[).*\n?)*/gm, "");
}

/** Copies the working tree's source (or, with `ref`, a commit's; with `from`, another checkout's) into `dir`. */
async function exportSource(dir: string, ref: string | undefined, from = REPO): Promise<Source> {
  if (from !== REPO) {
    // Another Worker (bench/bare.ts) may have no package.json or tsconfig.json: wrangler needs neither.
    for (const path of SOURCE_PATHS) {
      await cp(join(from, path), join(dir, path), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
    return { label: from, commit: "", dirty: true };
  }
  const head = (await run("git", ["rev-parse", "--short", ref ?? "HEAD"], { cwd: REPO })).stdout.trim();
  if (ref) {
    const archive = join(dir, "..", "source.tar");
    await run("git", ["archive", "--format=tar", "-o", archive, ref, "--", ...SOURCE_PATHS], { cwd: REPO });
    await run("tar", ["-xf", archive, "-C", dir]);
    return { label: `${ref} (${head})`, commit: head, dirty: false };
  }
  for (const path of SOURCE_PATHS) await cp(join(REPO, path), join(dir, path), { recursive: true });
  const status = (await run("git", ["status", "--porcelain", "--", ...SOURCE_PATHS], { cwd: REPO })).stdout.trim();
  return {
    label: `working tree at ${head}${status ? " + uncommitted changes" : ""}`,
    commit: head,
    dirty: status !== "",
  };
}

export async function vmRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
}

/**
 * Starts `wrangler dev` from a copy of the source.
 * @example
 * const backend = await startBackend({});
 * await backend.push("bench", "acct-1", JSON.stringify({ accountId: "acct-1", snapshot: {} }));
 * await backend.stop();
 */
export async function startBackend(options: {
  ref?: string;
  from?: string;
  viaProxy?: boolean;
  /** Operator settings to run with instead of wrangler.toml's (`--var NAME:value`). */
  vars?: Record<string, string>;
  /** V8 flags for workerd (miniflare's MINIFLARE_WORKERD_V8_FLAGS), e.g. a heap limit. */
  v8Flags?: string[];
}): Promise<Backend> {
  const root = await mkdtemp(join(tmpdir(), "hiscrm-bench-"));
  const project = join(root, "project");
  await mkdir(project);
  const source = await exportSource(project, options.ref, options.from);
  const toml = join(project, "wrangler.toml");
  await writeFile(toml, withoutConsole(await readFile(toml, "utf8")));
  await symlink(join(REPO, "node_modules"), join(project, "node_modules"));
  const log = join(root, "wrangler.log");
  const logStream = createWriteStream(log);
  const dev = await startWrangler({
    project,
    persistTo: join(root, "state"),
    // BENCH_LOG_LEVEL=info (with BENCH_KEEP_LOG) to see every request wrangler served.
    logLevel: (process.env.BENCH_LOG_LEVEL as WranglerOptions["logLevel"]) ?? "warn",
    vars: options.vars,
    // X_LOCAL_OBSERVABILITY=true measures with wrangler's local trace collector.
    localTraces: false,
    env: options.v8Flags ? { MINIFLARE_WORKERD_V8_FLAGS: options.v8Flags.join(" ") } : {},
    onLine: (line) => logStream.write(`${line}\n`),
    readyTimeoutMs: READY_TIMEOUT_MS,
  }).catch((error: Error) => {
    logStream.end();
    throw new Error(`${error.message}\n(wrangler's whole output: ${log})`);
  });
  const proxyUrl = dev.url;

  /** The workerd processes of wrangler's group (started detached, so the group is exactly its processes). */
  async function workerds(): Promise<number[]> {
    const comms = await Promise.all(
      livingInGroup(dev.pgid).map(
        async (pid) => [pid, await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")] as const,
      ),
    );
    return comms.filter(([, comm]) => comm.trim() === "workerd").map(([pid]) => pid);
  }

  async function workerPid(): Promise<number | null> {
    for (const pid of await workerds()) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (cmdline.includes("--inspector-addr")) return pid;
    }
    return null;
  }

  async function token(role: Role, tenant: string, sub = `bench-${role}`): Promise<string> {
    return mintToken(role, { tenant, sub, ttl: 6 * 3600 });
  }

  const crawlerTokens = new Map<string, Promise<string>>();
  function crawlerToken(tenant: string, sub: string): Promise<string> {
    const key = `${tenant}\n${sub}`;
    if (!crawlerTokens.has(key)) crawlerTokens.set(key, token("crawler", tenant, sub));
    return crawlerTokens.get(key)!;
  }

  // wrangler dev runs two workerd processes: the Worker's, and a proxy on --port that forwards
  // every request and socket to it. The bench talks to the Worker's directly, as production
  // has no such hop: under sustained load the proxy's pooled connections to the Worker get
  // reset now and then, and it answers the POST with a 503 ("Your worker restarted
  // mid-request") although nothing restarted; it also doubles the memory of every socket.
  const pid = await workerPid();
  const direct = pid === null ? null : await workerPort(pid);
  if (!direct && !options.viaProxy) {
    await dev.kill();
    throw new Error("the Worker's own workerd port was not found; run with --via-proxy");
  }
  const url = options.viaProxy ? proxyUrl : `http://127.0.0.1:${direct}`;

  return {
    url,
    proxyUrl,
    inspectorUrl: `ws://127.0.0.1:${dev.inspectorPort}/ws`,
    source,
    project,
    log,
    workerPid,
    async rss() {
      const byPid: Record<number, number> = {};
      for (const pid of await workerds()) byPid[pid] = await vmRssKiB(pid).catch(() => 0);
      const worker = await workerPid();
      return {
        total: Object.values(byPid).reduce((a, b) => a + b, 0),
        worker: worker === null ? 0 : (byPid[worker] ?? 0),
        byPid,
      };
    },
    async workerdVersion() {
      const pid = await workerPid();
      if (pid === null) return "unknown";
      const exe = await readlink(`/proc/${pid}/exe`);
      return (await run(exe, ["--version"])).stdout.trim();
    },
    token,
    async push(tenant, accountId, body, sub = "bench-crawler") {
      const authorization = `Bearer ${await crawlerToken(tenant, sub)}`;
      return request(`${url}/api/v1/accounts/${encodeURIComponent(accountId)}/sync`, {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body,
      });
    },
    async get(path, tenant) {
      const authorization = `Bearer ${await token("agent", tenant, "bench-reader")}`;
      return request(`${url}${path}`, { headers: { authorization } });
    },
    async stop() {
      await dev.stop();
      await new Promise((resolve) => logStream.end(resolve));
      // BENCH_KEEP_LOG=<file> keeps wrangler's output of the run, to look into a failure.
      if (process.env.BENCH_KEEP_LOG) await cp(log, process.env.BENCH_KEEP_LOG);
      await rm(root, { recursive: true, force: true });
    },
  };
}
