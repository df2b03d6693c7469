/**
 * Where one room's upgrade line is (docs/OPERATIONS.md, "Reconnect herds"): `wrangler dev`
 * with shedding off (`UPGRADES_PER_SECOND` at its largest), then waves of raw sockets (offering
 * permessage-deflate, as real clients do) that
 * all open at once on one account, each resuming from the same `seq` (so each has a replay
 * to get), at a given number in flight. For each wave: upgrades served per second and the
 * time from the upgrade request to `sync:complete` (p50, p99). The line is the rate the room
 * still serves while that time stays short of the client's connect timeout.
 *
 * `npx tsx bench/upgrade-rate.ts [--sockets=2000]`
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { signToken } from "../src/auth";
import { isMain, runMain } from "../scripts/cli";
import { startDev } from "../test-node/wrangler-dev";
import { load } from "./machine";

const SECRET = `upgrade-rate-${process.pid}`;
const ACCOUNT = "line-account";
/** Events each socket replays: one push of this many comments before the waves. */
const BACKLOG = 50;

const token = (sub: string, role: "agent" | "crawler" = "agent") =>
  signToken({ sub, tid: "line", role, exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET);

/** Opens one socket from `since`, resolves with ms until `sync:complete` (or rejects). */
function resume(url: string, tokenText: string, since: number): Promise<{ ms: number; ws: WebSocket }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // ws's default offer (permessage-deflate), as browsers and the adapter make it.
    const ws = new WebSocket(`${url}/api/v1/accounts/${ACCOUNT}/ws?token=${tokenText}&since=${since}`);
    ws.on("message", (data: Buffer) => {
      if (data.toString().includes('"sync:complete"')) resolve({ ms: performance.now() - started, ws });
    });
    ws.once("error", reject);
    ws.once("close", (code) => reject(new Error(`closed with ${code}`)));
  });
}

async function wave(url: string, tokens: string[], since: number) {
  const started = performance.now();
  const results = await Promise.allSettled(tokens.map((t) => resume(url, t, since)));
  const seconds = (performance.now() - started) / 1000;
  const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  for (const { ws } of ok) ws.terminate();
  const times = ok.map((r) => r.ms).sort((a, b) => a - b);
  const at = (p: number) => (times.length ? times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)]! : NaN);
  return {
    sockets: tokens.length,
    failed: tokens.length - ok.length,
    perSecond: ok.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

async function main(): Promise<number> {
  const arg = process.argv.find((a) => a.startsWith("--sockets="));
  const largest = arg ? Number(arg.slice("--sockets=".length)) : 2000;
  const dir = await mkdtemp(join(tmpdir(), "upgrade-rate-"));
  const dev = await startDev({ dir, vars: { AUTH_SECRET: SECRET, UPGRADES_PER_SECOND: "1000000" } });
  try {
    const comments = Array.from({ length: BACKLOG }, (_, i) => ({
      comment_id: `c${i}`,
      work_id: "w1",
      content: `comment ${i}`,
      create_time: 1_750_000_000 + i,
    }));
    const pushed = await fetch(`${dev.url}/api/v1/accounts/${ACCOUNT}/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${await token("crawler", "crawler")}`, "content-type": "application/json" },
      body: JSON.stringify({ accountId: ACCOUNT, snapshot: { comments } }),
    });
    if (!pushed.ok) throw new Error(`push answered ${pushed.status}`);
    for (let size = 250; size <= largest; size *= 2) {
      const tokens = await Promise.all(Array.from({ length: size }, (_, i) => token(`w${size}-${i}`)));
      const result = await wave(dev.url, tokens, 0);
      console.log(
        `${size} at once: ${result.perSecond.toFixed(0)} upgrades/s served, to sync:complete p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms, ${result.failed} failed; load ${load()}`,
      );
    }
  } finally {
    await dev.kill();
    await rm(dir, { recursive: true, force: true });
  }
  return 0;
}

if (isMain(import.meta.url)) runMain(main, "usage: npx tsx bench/upgrade-rate.ts [--sockets=2000]");
