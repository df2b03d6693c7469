/**
 * The one way this repository runs its backend locally and signs tokens for it, used by the
 * scripts (`npm start`, `npm run token`, the simulated crawler, `npm run watch`), the bench and
 * the Node tests:
 *
 * - `startWrangler`: `wrangler dev` as a child process in its own process group (wrangler, its
 *   node child and the workerd processes it runs), ready once `GET /api/v1/status` answers.
 *   `stop` lets wrangler tear down; `kill` is SIGKILL to the whole group, checked through /proc.
 * - `startDev`: the same, run from a mirror of the checkout in a directory the caller owns, so
 *   whatever a killed wrangler leaves behind goes with that directory.
 * - `startInProcess`: wrangler's `unstable_startWorker` inside this process, for tests that need
 *   no process of their own.
 * - `mintToken`: a token for any role and tenant, signed with the secret the local backend
 *   verifies with (`devSecret`).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { DEV_AUTH_SECRET, signToken } from "../src/auth";
import type { Claims, Role } from "../src/auth";
import { sleep } from "./cli";

/** This checkout. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The checkout whose backend `startDev` and `startInProcess` run; `EDGE_BACKEND_ROOT` points elsewhere (e.g. an exported commit). */
const BACKEND_ROOT = process.env.EDGE_BACKEND_ROOT ?? REPO_ROOT;

// ---------------------------------------------------------------------------
// Tokens

export type DevSecret = { secret: string; source: string };

/**
 * The secret the local backend verifies tokens with, found the way `wrangler dev` finds it:
 * `.dev.vars` if that file exists, else `.env` and `.env.local`. `AUTH_SECRET` in this
 * process's environment wins (`npm start` hands it on to wrangler).
 */
export function devSecret(env: NodeJS.ProcessEnv = process.env, root = REPO_ROOT): DevSecret {
  if (env.AUTH_SECRET) return { secret: env.AUTH_SECRET, source: "AUTH_SECRET in the environment" };
  const devVars = join(root, ".dev.vars");
  const files = existsSync(devVars)
    ? [devVars]
    : [join(root, ".env"), join(root, ".env.local")].filter((f) => existsSync(f));
  let found: DevSecret | null = null;
  for (const file of files) {
    const secret = parseDotenv(readFileSync(file, "utf8")).AUTH_SECRET;
    if (secret) found = { secret, source: `AUTH_SECRET in ${file.slice(root.length).replace(/^[\\/]/, "")}` };
  }
  return found ?? { secret: DEV_AUTH_SECRET, source: "the built-in development secret" };
}

/** Reads `KEY=value` lines (dotenv style: comments, `export`, quotes) — enough for .dev.vars. */
export function parseDotenv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === "`") && value.length > 1 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, "\n");
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    vars[match[1]!] = value;
  }
  return vars;
}

export type TokenOptions = {
  /** Default `demo`, the tenant `npm start` shows. */
  tenant?: string;
  /** Default `<role>-local`. */
  sub?: string;
  /** The `accounts` claim; every account of the tenant when missing. */
  accounts?: string[];
  /** Seconds until it expires (default an hour); negative for a token that has expired. */
  ttl?: number;
  /** Default the built-in development secret, which `wrangler dev` uses when nothing sets one. */
  secret?: string;
  /** The issue time in seconds (tests of the token itself). */
  now?: number;
};

/**
 * @example
 * await mintToken("agent", { tenant: "acme", ttl: 24 * 3600 })
 * await mintToken("crawler", { secret: devSecret().secret })
 */
export function mintToken(role: Role, options: TokenOptions = {}): Promise<string> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const claims: Claims = {
    sub: options.sub ?? `${role}-local`,
    tid: options.tenant ?? "demo",
    role,
    iat: now,
    exp: now + (options.ttl ?? 3600),
  };
  if (options.accounts) claims.accounts = options.accounts;
  return signToken(claims, options.secret ?? DEV_AUTH_SECRET);
}

// ---------------------------------------------------------------------------
// wrangler dev

/**
 * Which environment of a checkout's wrangler.toml runs locally. This project's top level is
 * production and `[env.development]` is what `npm start` and the tests run; a checkout from
 * before that split (a bench's `--ref`), or another Worker (bench/bare.ts), has no such
 * environment, and its top level is what runs locally.
 */
function developmentEnvironment(root: string): "development" | undefined {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  return /^\s*\[+env\.development[\].]/m.test(toml) ? "development" : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Pids of a process group's processes that still run. Zombies are left out: they hold no
 * port, no file and no lock, and reaping orphans is the init process's business.
 */
export function livingInGroup(pgid: number): number[] {
  if (!existsSync("/proc")) return [];
  const living: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(join("/proc", entry, "stat"), "utf8");
    } catch {
      continue; // Exited while we looked.
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z") living.push(Number(entry));
  }
  return living;
}

export type WranglerOptions = {
  /** The checkout (or copy of one) to run; its node_modules holds wrangler. */
  project: string;
  /** A free one when missing. */
  port?: number;
  /** wrangler's DevTools proxy; a free one when missing. */
  inspectorPort?: number;
  /** Where the local storage lives; wrangler's own `.wrangler/state` when missing. */
  persistTo?: string;
  /** `--var NAME:value` pairs. */
  vars?: Record<string, string>;
  /** wrangler's `--log-level`; its own default (every request logged) when missing. */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /**
   * wrangler's local trace collector syncs a trace of every request and socket event to disk on
   * the thread that runs the Worker and its objects; production has no such step. The bench and
   * the tests turn it off (`X_LOCAL_OBSERVABILITY=true` in the environment turns it back on).
   */
  localTraces?: boolean;
  /** More environment for wrangler (e.g. MINIFLARE_WORKERD_V8_FLAGS). */
  env?: Record<string, string>;
  /** Every line wrangler writes, as it comes. */
  onLine?: (line: string) => void;
  /** Default 120 s. */
  readyTimeoutMs?: number;
  /** Aborting while it starts kills it and rejects. */
  signal?: AbortSignal;
};

export type Wrangler = {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  inspectorPort: number;
  /** The process group: the wrangler process's pid. */
  pgid: number;
  /** Resolves with the exit code once the wrangler process has exited. */
  exited: Promise<number>;
  /** SIGINT, so wrangler tears its runtime down; whatever of the group is left after `graceMs` is killed. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole group; resolves once no process of the group is left running. */
  kill(): Promise<void>;
};

/** Every group started here and not seen dying, so an aborted run leaves nothing behind. */
const groups = new Set<number>();
process.once("exit", () => {
  for (const pgid of groups) signalGroup(pgid, "SIGKILL");
});

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone.
  }
}

/** The lines kept to explain a wrangler that exits or hangs while it starts. */
const TAIL_LINES = 60;

/**
 * @example
 * const dev = await startWrangler({ project: REPO_ROOT, port: 8787, onLine: console.log });
 * await fetch(`${dev.url}/api/v1/status`);
 * await dev.stop();
 */
export async function startWrangler(options: WranglerOptions): Promise<Wrangler> {
  const port = options.port ?? (await freePort());
  const inspectorPort = options.inspectorPort ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const environment = developmentEnvironment(options.project);
  const args = [
    "dev",
    ...(environment ? ["--env", environment] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    ...(options.persistTo ? ["--persist-to", options.persistTo] : []),
    ...(options.logLevel ? ["--log-level", options.logLevel] : []),
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const traces =
    options.localTraces === false ? { X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false" } : {};
  const child: ChildProcess = spawn(join(options.project, "node_modules", ".bin", "wrangler"), args, {
    cwd: options.project,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...traces, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so one signal reaches workerd too
  });
  const pgid = child.pid!;
  groups.add(pgid);
  const tail: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine?.(line);
    });
  }
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );

  async function kill(): Promise<void> {
    signalGroup(pgid, "SIGKILL");
    await Promise.race([exited, sleep(5_000)]);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const living = livingInGroup(pgid);
      if (!living.length) break;
      if (Date.now() > deadline) throw new Error(`processes of group ${pgid} survived SIGKILL: ${living.join(", ")}`);
      signalGroup(pgid, "SIGKILL");
      await sleep(50);
    }
    groups.delete(pgid);
  }

  async function stop(graceMs = 5_000): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGINT");
      } catch {
        // Already gone.
      }
      await Promise.race([exited, sleep(graceMs)]);
    }
    await kill();
  }

  const wrangler: Wrangler = { url, port, inspectorPort, pgid, exited, stop, kill };
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const output = () => (tail.length ? `; its last lines:\n${tail.join("\n")}` : "");
  try {
    for (;;) {
      if (options.signal?.aborted) throw new Error("stopped while wrangler dev was starting");
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`wrangler dev exited (code ${child.exitCode ?? child.signalCode})${output()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`wrangler dev did not answer ${url}/api/v1/status within ${timeoutMs / 1000} s${output()}`);
      }
      try {
        if ((await fetch(`${url}/api/v1/status`, { signal: AbortSignal.timeout(2_000) })).ok) return wrangler;
      } catch {
        // Not listening yet.
      }
      await sleep(200);
    }
  } catch (error) {
    await kill();
    throw error;
  }
}

/** Not mirrored: wrangler's own scratch, and local settings (.dev.vars, .env) that would change the run. */
const PRIVATE = /^(\.wrangler|\.git|\.dev\.vars.*|\.env.*)$/;

export type DevOptions = Omit<WranglerOptions, "project" | "persistTo"> & {
  /** A directory the caller owns and deletes: the project mirror, wrangler's logs and `state/`, the persisted storage. */
  dir: string;
  /** Lines of a `.dev.vars` in the mirror, as a developer keeps their AUTH_SECRET (read by wrangler itself). */
  devVars?: Record<string, string>;
  /** The checkout to mirror; default `BACKEND_ROOT`. */
  root?: string;
};

/**
 * `wrangler dev` as `npm start` runs it, from `<dir>/project` (every entry of `root` as a
 * symlink, so the bundle resolves the real sources and node_modules) with its state in
 * `<dir>/state`: started again with the same `dir`, it finds the same state. Quiet (warnings
 * only) and without local traces unless told otherwise.
 * @example
 * const dev = await startDev({ dir: await mkdtemp(join(tmpdir(), "crash-")) });
 * await dev.kill();
 */
export function startDev({ dir, devVars, root = BACKEND_ROOT, ...options }: DevOptions): Promise<Wrangler> {
  const project = join(dir, "project");
  if (!existsSync(project)) {
    mkdirSync(project, { recursive: true });
    for (const entry of readdirSync(root)) {
      if (!PRIVATE.test(entry)) symlinkSync(join(root, entry), join(project, entry));
    }
  }
  if (devVars) {
    const lines = Object.entries(devVars).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
    writeFileSync(join(project, ".dev.vars"), `${lines.join("\n")}\n`);
  }
  return startWrangler({
    logLevel: "warn",
    localTraces: false,
    ...options,
    project,
    persistTo: join(dir, "state"),
    env: { WRANGLER_LOG_PATH: join(dir, "logs"), CI: "1", ...options.env },
  });
}

// ---------------------------------------------------------------------------
// In this process

export type InProcess = {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Disposes of the Worker and deletes its storage. */
  stop(): Promise<void>;
};

/**
 * The Worker and its objects in this process (wrangler's `unstable_startWorker`, as
 * `[env.development]`) on a free port, with fresh storage in a temporary directory.
 */
export async function startInProcess(): Promise<InProcess> {
  const { unstable_startWorker } = await import("wrangler");
  const persist = await mkdtemp(join(tmpdir(), "hiscrm-edge-"));
  const worker = await unstable_startWorker({
    config: join(BACKEND_ROOT, "wrangler.toml"),
    env: developmentEnvironment(BACKEND_ROOT),
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist,
      logLevel: "error",
      watch: false,
    },
  });
  await worker.ready;
  const url = (await worker.url).origin;
  return {
    url,
    async stop() {
      await worker.dispose();
      await rm(persist, { recursive: true, force: true });
    },
  };
}
