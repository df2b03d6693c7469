/**
 * §1 Fan-out latency: from the crawler's push request to the new `channel:message` on every
 * socket of the account, with 1, 100 and 1,000 clients; then the same through the floor (a
 * plain Node `ws` broadcast server, floor.ts) with a frame of the same size.
 */
import { request } from "./backend";
import { awaitAll, framesOf, openClients } from "./clients";
import type { Client } from "./clients";
import { startFloor } from "./floor";
import { MEMORY } from "./idle";
import { comment, pushBody } from "./snapshots";
import { mib, ms, ratio, sleep, summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-fanout";
const SIZES = [1, 100, 1_000];
const WARMUP = 3;
const TIMEOUT_MS = 15_000;

type Trial = { all: number; first: number; http: number; frameBytes: number };

function trialsFor(clients: number, quick: boolean): number {
  const full = clients >= 1_000 ? 20 : 30;
  return quick ? Math.ceil(full / 4) : full;
}

/** Whether a text carries the `channel:message` of comment `id`. */
function carries(text: string, id: string): boolean {
  return framesOf(text).some((f) => f.type === "channel:message" && f.payload?.message?.id === id);
}

/** One trial: send the push, wait until every client has the message. */
async function trial(clients: Client[], id: string, send: () => Promise<number>): Promise<Trial> {
  let frameBytes = 0;
  const waiting = awaitAll(clients, `"${id}"`, TIMEOUT_MS, (text) => {
    if (!carries(text, id)) return false;
    frameBytes = Buffer.byteLength(text);
    return true;
  });
  const started = performance.now();
  let http: number;
  try {
    http = await send();
  } catch (error) {
    waiting.cancel();
    throw error;
  }
  const arrivals = await waiting.done;
  return { all: Math.max(...arrivals) - started, first: Math.min(...arrivals) - started, http, frameBytes };
}

export async function fanout(b: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  const edge: Record<number, number[]> = {};
  const edgeFirst: Record<number, number[]> = {};
  let frameBytes = 0;
  for (const size of SIZES) {
    const account = `fanout-${size}`;
    const seeded = await b.backend.push(TENANT, account, pushBody(account, { comments: [comment(account, 0, "w0")] }));
    if (seeded.status !== 200) throw new Error(`seeding ${account} answered ${seeded.status}: ${seeded.text}`);
    b.progress(`fan-out: opening ${size} socket(s) on ${account}`);
    const set = await openClients(size, async (i) => {
      const token = await b.backend.token("agent", TENANT, `agent-${i}`);
      return `${b.backend.url.replace("http", "ws")}/api/v1/accounts/${account}/ws?token=${token}`;
    });
    await sleep(500);
    const trials = trialsFor(size, b.quick);
    const samples: Trial[] = [];
    for (let k = 1; k <= WARMUP + trials; k++) {
      const id = `${account}-c${k}`;
      const body = pushBody(account, { comments: [comment(account, k, "w0")] });
      const result = await trial(set.clients, id, async () => {
        const answer = await b.backend.push(TENANT, account, body);
        if (answer.status !== 200) throw new Error(`push to ${account} answered ${answer.status}: ${answer.text}`);
        return answer.ms;
      });
      if (k > WARMUP) samples.push(result);
      frameBytes = Math.max(frameBytes, result.frameBytes);
      await sleep(30);
    }
    if (set.unexpected.length)
      b.fail(`fan-out ${size}: ${set.unexpected.length} socket(s) failed: ${set.unexpected[0]}`);
    await set.close();
    edge[size] = samples.map((s) => s.all);
    edgeFirst[size] = samples.map((s) => s.first);
    const all = summarize(edge[size]!);
    b.progress(`fan-out: ${size} client(s): median ${ms(all.median)}, p99 ${ms(all.p99)} (${trials} trials)`);
  }

  b.progress(`fan-out floor: plain Node ws server, ${frameBytes}-byte frame`);
  const floor = await startFloor();
  try {
    for (const size of SIZES) {
      const rssBefore = await floor.rss();
      const set = await openClients(size, async () => floor.url.replace("http", "ws"));
      await sleep(500);
      if (size === 1_000) {
        // As for the edge: 1,000 sockets, then 1,000 more (the margin, once the process is warm).
        const rssAfter = await floor.rss();
        const more = await openClients(size, async () => floor.url.replace("http", "ws"));
        await sleep(500);
        const rssMore = await floor.rss();
        await more.close();
        rows.push(
          {
            section: MEMORY,
            name: "floor: the Node ws server, first 1,000 sockets",
            value: mib(rssAfter - rssBefore),
            notes: `${mib(rssBefore)} → ${mib(rssAfter)}`,
          },
          {
            section: MEMORY,
            name: "floor: 1,000 more sockets (2,000 open)",
            value: mib(rssMore - rssAfter),
            notes: `${mib(rssAfter)} → ${mib(rssMore)}`,
          },
        );
      }
      const trials = trialsFor(size, b.quick);
      const samples: number[] = [];
      for (let k = 1; k <= WARMUP + trials; k++) {
        const id = `floor-${size}-c${k}`;
        const c = { ...comment(`floor-${size}`, k, "w0"), comment_id: id };
        const body = pushBody(`floor-${size}`, { comments: [c] });
        const result = await trial(set.clients, id, async () => {
          const answer = await request(`${floor.url}/push?size=${frameBytes}`, { method: "POST", body });
          if (answer.status !== 200) throw new Error(`floor answered ${answer.status}: ${answer.text}`);
          return answer.ms;
        });
        if (k > WARMUP) samples.push(result.all);
        await sleep(30);
      }
      await set.close();
      const f = summarize(samples);
      const e = summarize(edge[size]!);
      const first = summarize(edgeFirst[size]!);
      const label = size === 1 ? "1 client" : `${size.toLocaleString("en-US")} clients`;
      rows.push({
        section: "1. Fan-out (push → message on every socket)",
        name: `${label}: edge`,
        median: e.median,
        p99: e.p99,
        n: e.n,
        notes: size > 1 ? `first socket: median ${ms(first.median)}` : "",
      });
      rows.push({
        section: "1. Fan-out (push → message on every socket)",
        name: `${label}: floor (Node ws)`,
        median: f.median,
        p99: f.p99,
        n: f.n,
        notes: `edge/floor: ${ratio(e.median / f.median)} median, ${ratio(e.p99 / f.p99)} p99`,
      });
      b.progress(`fan-out floor: ${size} client(s): median ${ms(f.median)}, p99 ${ms(f.p99)}`);
    }
  } finally {
    await floor.stop();
  }
  return rows;
}
