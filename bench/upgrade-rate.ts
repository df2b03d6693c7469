/**
 * Where one room's upgrade line is (docs/OPERATIONS.md, "Reconnect herds"): `wrangler dev`
 * with shedding off (`UPGRADES_PER_SECOND` at its largest), then waves of raw sockets that
 * all open at once on one account, each resuming from the same `seq` (so each has a replay
 * to get), at a given number in flight. For each wave: upgrades served per second and the
 * time from the upgrade request to `sync:complete` (p50, p99). The line is the rate the room
 * still serves while that time stays short of the client's connect timeout.
 *
 * Each wave runs three times, interleaved: resuming with the replay; resuming with nothing to
 * replay (the upgrade alone: the Worker's auth, the room's accept, `sync:complete`); and against
 * the bare Durable Object (bench/bare/), which accepts and does nothing else — the runtime's
 * own upgrade rate on this machine, the floor under any herd.
 *
 * Every socket offers permessage-deflate, as browsers and `ws` do, and reaches both backends
 * through a door (bench/forwarder.ts) that declines the offer as the deployed Worker does
 * (`no_web_socket_compression`): under `wrangler dev` Miniflare's entry Worker would take it up.
 * `--deflate=negotiated` connects straight to the backends and measures that.
 *
 * `npx tsx bench/upgrade-rate.ts [--sockets=2000] [--deflate=negotiated]`
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { isMain, runMain, UsageError } from "../scripts/cli";
import { livingInGroup, mintToken, startDev } from "../scripts/backend";
import { directWorkerd, REPO } from "./backend";
import { startBare } from "./bare";
import { decliningDoor } from "./forwarder";
import { cpuMs, load } from "./machine";
import { percentile } from "./stats";

const SECRET = `upgrade-rate-${process.pid}`;
const ACCOUNT = "line-account";
/** Events each socket replays: one push of this many comments before the waves. */
const BACKLOG = 50;
/** Pause after a wave's sockets are closed, so their closing is not in the next wave's time. */
const SETTLE_MS = 3_000;

const token = (sub: string, role: "agent" | "crawler" = "agent") =>
  mintToken(role, { tenant: "line", sub, secret: SECRET });

/** Whether the backends take the deflate offer up, as `wrangler dev` does (`--deflate=negotiated`). */
const negotiated = process.argv.includes("--deflate=negotiated");

/** Opens one socket, resolves with ms until `done` (or rejects). */
function open(url: string, done: "open" | "sync:complete"): Promise<{ ms: number; ws: WebSocket }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // ws's default offer (permessage-deflate), as browsers and the adapter make it.
    const ws = new WebSocket(url);
    if (done === "open") ws.once("open", () => resolve({ ms: performance.now() - started, ws }));
    ws.on("message", (data: Buffer) => {
      if (data.toString().includes('"sync:complete"')) resolve({ ms: performance.now() - started, ws });
    });
    ws.once("error", reject);
    ws.once("close", (code) => reject(new Error(`closed with ${code}`)));
  });
}

async function wave(urls: string[], done: "open" | "sync:complete", pids: number[]) {
  const cpuBefore = await cpuMs(pids);
  const started = performance.now();
  const results = await Promise.allSettled(urls.map((url) => open(url, done)));
  const seconds = (performance.now() - started) / 1000;
  const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const cpuPerUpgrade = ((await cpuMs(pids)) - cpuBefore) / Math.max(1, ok.length);
  for (const { ws } of ok) ws.terminate();
  // The next wave starts once the server has seen these go.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const times = ok.map((r) => r.ms);
  return {
    sockets: urls.length,
    failed: urls.length - ok.length,
    perSecond: ok.length / seconds,
    cpuPerUpgrade,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
  };
}

async function main(): Promise<number> {
  const unknown = process.argv.slice(2).find((a) => !a.startsWith("--sockets=") && a !== "--deflate=negotiated");
  if (unknown) throw new UsageError(`unknown argument ${unknown}`);
  const arg = process.argv.find((a) => a.startsWith("--sockets="));
  const largest = arg ? Number(arg.slice("--sockets=".length)) : 2000;
  const dir = await mkdtemp(join(tmpdir(), "upgrade-rate-"));
  const dev = await startDev({ dir, vars: { AUTH_SECRET: SECRET, UPGRADES_PER_SECOND: "1000000" } });
  const bare = await startBare(REPO);
  // As deployed, each backend is reached through a door that declines the deflate offer.
  const doors = negotiated ? [] : [await decliningDoor(dev.url), await decliningDoor(bare.url)];
  const devUrl = doors[0]?.url ?? dev.url;
  const bareUrl = (doors[1]?.url ?? bare.url).replace("http", "ws");
  // The workerd that runs each Worker and its objects (the other one of wrangler dev is its proxy).
  const edgePids = [(await directWorkerd(livingInGroup(dev.pgid))).pid];
  const barePids = [(await bare.workerPid())!];
  try {
    const comments = Array.from({ length: BACKLOG }, (_, i) => ({
      comment_id: `c${i}`,
      work_id: "w1",
      content: `comment ${i}`,
      create_time: 1_750_000_000 + i,
    }));
    const pushed = await fetch(`${devUrl}/api/v1/accounts/${ACCOUNT}/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${await token("crawler", "crawler")}`, "content-type": "application/json" },
      body: JSON.stringify({ accountId: ACCOUNT, snapshot: { comments } }),
    });
    if (!pushed.ok) throw new Error(`push answered ${pushed.status}`);
    const seq = ((await pushed.json()) as { seq: number }).seq;
    const room = `${devUrl.replace("http", "ws")}/api/v1/accounts/${ACCOUNT}/ws`;
    for (let size = 250; size <= largest; size *= 2) {
      const tokens = await Promise.all(Array.from({ length: size }, (_, i) => token(`w${size}-${i}`)));
      const waves = [
        {
          what: "with a 50-event replay",
          result: await wave(
            tokens.map((t) => `${room}?token=${t}&since=0`),
            "sync:complete",
            edgePids,
          ),
        },
        {
          what: "nothing to replay",
          result: await wave(
            tokens.map((t) => `${room}?token=${t}&since=${seq}`),
            "sync:complete",
            edgePids,
          ),
        },
        {
          what: "bare object (the floor)",
          result: await wave(
            tokens.map((_, i) => `${bareUrl}/ws?room=w${size}&i=${i}`),
            "open",
            barePids,
          ),
        },
      ];
      for (const { what, result } of waves) {
        console.log(
          `${size} at once, ${what}: ${result.perSecond.toFixed(0)} upgrades/s served, ${result.cpuPerUpgrade.toFixed(1)} ms of the backend's CPU each, p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms, ${result.failed} failed; load ${load()}`,
        );
      }
    }
  } finally {
    for (const { door } of doors) door.close();
    await bare.stop();
    await dev.kill();
    await rm(dir, { recursive: true, force: true });
  }
  return 0;
}

if (isMain(import.meta.url))
  runMain(main, "usage: npx tsx bench/upgrade-rate.ts [--sockets=2000] [--deflate=negotiated]");
