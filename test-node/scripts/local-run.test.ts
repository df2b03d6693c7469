/**
 * The pieces of `npm start`, end to end: `wrangler dev` from the CLI (as start.ts runs it),
 * the crawler with --once, the token command and the watch client, against that backend.
 * The scripts run as a newcomer runs them, from the checkout.
 */
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, REPO_ROOT, startDev } from "../../scripts/backend";
import type { Wrangler } from "../../scripts/backend";

const BIN = join(REPO_ROOT, "node_modules", ".bin");
const SECRET = `local-run-test-${process.pid}`;
/** The scripts sign with this, as they would with AUTH_SECRET exported in a shell. */
const ENV = { ...process.env, AUTH_SECRET: SECRET };

/** Every process this file starts, so none outlives it, whatever happens. */
const children = new Set<ChildProcess>();

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // its own group: tsx and the node process it runs
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

const killAll = () => {
  for (const child of children) killTree(child, "SIGKILL");
};
process.once("exit", killAll);

function start(
  command: string,
  args: string[],
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(join(BIN, command), args, {
    cwd: REPO_ROOT,
    env: ENV,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.add(child);
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => output, exited };
}

async function stop(process: ReturnType<typeof start>, graceMs: number): Promise<void> {
  killTree(process.child, "SIGINT");
  const done = await Promise.race([
    process.exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), graceMs)),
  ]);
  if (!done) killTree(process.child, "SIGKILL");
  killTree(process.child, "SIGKILL");
}

function runScript(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(BIN, "tsx"),
      [join("scripts", script), ...args],
      { cwd: REPO_ROOT, env: ENV, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

let base = "";
let dir = "";
let wrangler: Wrangler | null = null;

async function token(args: string[]): Promise<string> {
  const result = await runScript("token.ts", args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

async function get(path: string, bearer: string): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: response.status, json: await response.json() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-run-"));
  // The secret in .dev.vars, where docs/RUNNING.md tells a developer to keep it; wrangler reads it.
  wrangler = await startDev({ dir, devVars: { AUTH_SECRET: SECRET }, readyTimeoutMs: 100_000 });
  base = wrangler.url;
});

afterAll(async () => {
  if (wrangler) await wrangler.kill();
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the local run", () => {
  it("crawler --once pushes both demo accounts, which agents then see with their topics", async () => {
    const crawl = await runScript("crawler.ts", ["--once", "--url", base]);
    expect(crawl.code, crawl.stdout + crawl.stderr).toBe(0);
    expect(crawl.stdout).toMatch(/douyin-1001 Brand A\s+seq\s+\d+\s+new \d+ works, 40 comments/);
    expect(crawl.stdout).toMatch(/douyin-2002 Brand B\s+seq\s+\d+\s+new \d+ works, 40 comments/);

    const agent = await token(["--role", "agent"]);
    const accounts = await get("/api/v1/accounts", agent);
    expect(accounts.status).toBe(200);
    const channels = accounts.json.channels as { id: string; name: string; messageCount: number }[];
    expect(channels.map((c) => c.id).sort()).toEqual(["douyin-1001", "douyin-2002"]);
    expect(channels.find((c) => c.id === "douyin-1001")).toMatchObject({ name: "Brand A", messageCount: 70 });

    const topics = await get("/api/v1/accounts/douyin-1001/topics", agent);
    expect(topics.status).toBe(200);
    const kinds = new Set((topics.json.topics as { kind: string }[]).map((t) => t.kind));
    expect(kinds).toEqual(new Set(["work", "conversation"]));
    // Every work's title came from the snapshot: no comment arrived before its work.
    expect((topics.json.topics as { title: string }[]).map((t) => t.title)).not.toContain("Untitled work");
  });

  it("a second --once push repeats the window without duplicating it", async () => {
    const agent = await token(["--role", "agent"]);
    const before = (await get("/api/v1/accounts", agent)).json.channels as { id: string; messageCount: number }[];
    const crawl = await runScript("crawler.ts", ["--once", "--url", base]);
    expect(crawl.code, crawl.stdout + crawl.stderr).toBe(0);
    const after = (await get("/api/v1/accounts", agent)).json.channels as { id: string; messageCount: number }[];
    for (const channel of before) {
      const now = after.find((c) => c.id === channel.id)!;
      // Only comments or DMs that arrived since the first push can be new.
      expect(now.messageCount - channel.messageCount).toBeLessThan(10);
    }
  });

  it("the backend checks tokens with AUTH_SECRET from .dev.vars, not the development default", async () => {
    expect((await get("/api/v1/accounts", await token(["--role", "agent"]))).status).toBe(200);
    // The same claims, signed with the built-in development secret.
    const refused = await get("/api/v1/accounts", await mintToken("agent", { ttl: 600 }));
    expect(refused.status).toBe(401);
    expect(refused.json.error.message).toBe("token signature is invalid");
  });

  it("a token limited to one account lists only that account", async () => {
    const agent = await token(["--role", "agent", "--accounts", "douyin-2002"]);
    const accounts = await get("/api/v1/accounts", agent);
    expect((accounts.json.channels as { id: string }[]).map((c) => c.id)).toEqual(["douyin-2002"]);
    expect((await get("/api/v1/accounts/douyin-1001/topics", agent)).status).toBe(403);
  });

  it("a crawler token from the token command cannot read the channel list", async () => {
    const crawler = await token(["--role", "crawler"]);
    expect((await get("/api/v1/accounts", crawler)).status).toBe(403);
  });

  it("watch --since 0 prints the account's history as readable lines, then stops on Ctrl-C", async () => {
    const watch = start("tsx", [join("scripts", "watch.ts"), "douyin-1001", "--url", base, "--since", "0"]);
    try {
      const lines: string[] = [];
      const seen = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 30_000);
        createInterface({ input: watch.child.stdout! }).on("line", (line) => {
          lines.push(line);
          if (lines.some((l) => l.startsWith("sync:complete")) && lines.some((l) => l.startsWith("registered as "))) {
            clearTimeout(timer);
            resolve(true);
          }
        });
      });
      expect(seen, watch.output()).toBe(true);
      expect(lines[0]).toBe(`watching douyin-1001 (tenant demo) at ${base} — Ctrl-C to stop`);
      expect(lines.some((l) => /^#\d+ channel:message comment \[w\d+\] .+: .+/.test(l))).toBe(true);
      expect(lines.some((l) => /^#\d+ channel:message dm \[cv-u\d+\] .+: .+/.test(l))).toBe(true);
      expect(lines.some((l) => /^#\d+ topic:updated \[w\d+\] /.test(l))).toBe(true);
      // Each event once, in seq order.
      const seqs = lines.filter((l) => l.startsWith("#")).map((l) => Number(/^#(\d+)/.exec(l)![1]));
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      watch.child.kill("SIGINT");
      expect(await watch.exited).toBe(0);
    } finally {
      await stop(watch, 2_000);
    }
  });

  it("watch names the problem when the account does not exist", async () => {
    const watch = await runScript("watch.ts", ["douyin-9999", "--url", base]);
    expect(watch.code).toBe(1);
    expect(watch.stderr).toContain(
      "the backend refused the socket: HTTP 403 forbidden: account douyin-9999 is not an account of tenant demo",
    );
  });
});
