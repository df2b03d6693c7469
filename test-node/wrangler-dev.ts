/**
 * `wrangler dev` from the CLI, as `npm start` runs it (`--env development`), for the tests that
 * need the real thing (the local run, the crash test), as a child process they can kill
 * outright: started in its own process group (wrangler, its node child and the workerd it
 * runs), killed with SIGKILL to the whole group, and checked through /proc that nothing of that
 * group is still running.
 *
 * A killed wrangler cannot remove its bundle directories from `<project>/.wrangler/tmp`, so
 * it runs in a directory of the caller's that mirrors the checkout with symlinks: whatever it
 * leaves behind goes when the caller deletes that directory.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { developmentEnvArgs } from "./dev-environment";

/** The checkout whose backend runs; `EDGE_BACKEND_ROOT` points elsewhere, as for test-node/backend.ts. */
export const BACKEND_ROOT = process.env.EDGE_BACKEND_ROOT ?? fileURLToPath(new URL("..", import.meta.url));

export type DevServer = {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** The process group: the wrangler process's pid. */
  pgid: number;
  /** Everything the group wrote to stdout and stderr so far. */
  output(): string;
  /** SIGKILL to the whole group; resolves once no process of the group is left running. */
  kill(): Promise<void>;
};

export type DevOptions = {
  /** A directory the caller owns and deletes: the project mirror, wrangler's logs and `state/`, the persisted storage. */
  dir: string;
  /** `--var NAME:value` pairs. */
  vars?: Record<string, string>;
  /** Lines of a `.dev.vars` in the project mirror, as a developer keeps their AUTH_SECRET (read by wrangler itself). */
  devVars?: Record<string, string>;
  readyTimeoutMs?: number;
  /** The port to listen on (a restart on the port a browser page is still connected to); a free one when missing. */
  port?: number;
};

/** Every group this module started and has not seen die, so an aborted test leaves nothing behind. */
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

/**
 * Pids of the group's processes that still run. Zombies are left out: they hold no port,
 * no file and no lock, and reaping orphans is the init process's business, not ours.
 */
export function livingInGroup(pgid: number): number[] {
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

/** Not mirrored: wrangler's own scratch, and local settings (.dev.vars, .env) that would change the run. */
const PRIVATE = /^(\.wrangler|\.git|\.dev\.vars.*|\.env.*)$/;

/** `<dir>/project`: every entry of the checkout as a symlink, so the bundle resolves the real sources and node_modules. */
function mirror(dir: string): string {
  const project = join(dir, "project");
  if (!existsSync(project)) {
    mkdirSync(project, { recursive: true });
    for (const entry of readdirSync(BACKEND_ROOT)) {
      if (!PRIVATE.test(entry)) symlinkSync(join(BACKEND_ROOT, entry), join(project, entry));
    }
  }
  return project;
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Starts `wrangler dev` on free ports with state in `<dir>/state`, and waits for `GET /api/v1/status`.
 * Started again with the same `dir`, it finds the same state.
 * @example
 * const dir = await mkdtemp(join(tmpdir(), "crash-"));
 * const dev = await startDev({ dir });
 * await fetch(`${dev.url}/api/v1/status`);
 * await dev.kill();
 */
export async function startDev(options: DevOptions): Promise<DevServer> {
  const [port, inspector] = [options.port ?? (await freePort()), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const vars = Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const project = mirror(options.dir);
  if (options.devVars) {
    const lines = Object.entries(options.devVars).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
    writeFileSync(join(project, ".dev.vars"), `${lines.join("\n")}\n`);
  }
  const child: ChildProcess = spawn(
    join(project, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      ...developmentEnvArgs(project),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      join(options.dir, "state"),
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
      ...vars,
    ],
    {
      cwd: project,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_LOG_PATH: join(options.dir, "logs"),
        CI: "1",
        // wrangler's local trace collector syncs a trace of every request and socket event to
        // disk on the thread that runs the Worker and its objects; production has no such step.
        X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so one kill reaches workerd too
    },
  );
  const pgid = child.pid!;
  groups.add(pgid);
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

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

  const server: DevServer = { url, pgid, output: () => output, kill };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`wrangler dev exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`wrangler dev did not answer in time:\n${output}`);
      try {
        if ((await fetch(`${url}/api/v1/status`, { signal: AbortSignal.timeout(2_000) })).ok) return server;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
  } catch (error) {
    await kill();
    throw error;
  }
}
