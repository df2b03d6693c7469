/**
 * §8 Storage and push memory (the platform limits local workerd does not enforce):
 * - bytes stored per comment: the account's `storageBytes` (PROTOCOL §11, the room's
 *   `ctx.storage.sql.databaseSize`) over its messages, after 20,000 comments of ~300 bytes of
 *   JSON with Chinese text, with every event still in the log (the default retention) and once
 *   the room's own pruning alarm has run (a second backend with `EVENT_RETENTION_COUNT` at
 *   1,000: an operator setting; nothing here deletes anything itself);
 * - the JS heap peak of the isolate during pushes of 1k, 10k comments and a body at the push
 *   limit, and two such bodies at once, in workerd held to 128 MB (an isolate's whole memory);
 * - the smallest V8 heap in which a push at the limit, and two at once, still succeed.
 */
import { readConfig } from "../src/config";
import type { Backend } from "./backend";
import { attachHeapSampler } from "./heap";
import type { HeapSampler } from "./heap";
import { comment as snapshotComment, pushBody } from "./snapshots";
import { summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-storage";
const COMMENTS = 20_000;
const PER_PUSH = 2_000;
/** Events the pruning backend keeps: far fewer than the messages, as after a month in production. */
const KEEP_EVENTS = 1_000;
const SECTION = "8. Storage and push memory";
const PHRASES = [
  "太好看了，求同款链接",
  "这个多少钱？在哪里买",
  "已关注，期待下一期",
  "什么时候更新啊",
  "支持一下，拍得真好",
];

/** Comment `k`: the bench's comment with longer Chinese content, ~300 bytes of JSON, as the Douyin crawler sends. */
function comment(account: string, k: number) {
  return {
    ...snapshotComment(account, k, `w${k % 20}`),
    content: `${PHRASES[k % PHRASES.length]} #${k} — great video!`,
    ip_label: "广东",
  };
}

const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

type AccountStats = { messages: number; storageBytes?: number };

async function accountStats(backend: Backend, account: string): Promise<AccountStats> {
  const answer = await backend.get(`/api/v1/accounts/${account}/stats`, TENANT);
  if (answer.status !== 200) throw new Error(`stats of ${account} answered ${answer.status}: ${answer.text}`);
  return JSON.parse(answer.text) as AccountStats;
}

/** Pushes `COMMENTS` comments in windows of `PER_PUSH`; returns the average JSON bytes of one. */
async function fill(b: Bench, backend: Backend, account: string): Promise<number> {
  let json = 0;
  for (let from = 0; from < COMMENTS; from += PER_PUSH) {
    const items = Array.from({ length: PER_PUSH }, (_, i) => comment(account, from + i));
    json += items.reduce((sum, item) => sum + Buffer.byteLength(JSON.stringify(item)), 0);
    const answer = await backend.push(TENANT, account, pushBody(account, { comments: items }));
    if (answer.status !== 200) throw new Error(`push to ${account} answered ${answer.status}: ${answer.text}`);
  }
  return json / COMMENTS;
}

/** Bytes per message now, and the row saying so. */
async function perMessage(backend: Backend, account: string, name: string, notes: string): Promise<Row> {
  const stats = await accountStats(backend, account);
  if (stats.messages !== COMMENTS) throw new Error(`${account} has ${stats.messages} messages, not ${COMMENTS}`);
  const bytes = stats.storageBytes ?? NaN;
  return {
    section: SECTION,
    name,
    value: `${Math.round(bytes / stats.messages)} B/comment`,
    notes: `${mb(bytes)} for ${stats.messages.toLocaleString("en-US")} comments; ${notes}`,
  };
}

/**
 * Waits for the room's alarm to have pruned: it is due a second after the push (or at once, when
 * the push took longer), so `storageBytes` is read until it has not moved for 4.5 s.
 */
async function afterPruning(backend: Backend, account: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const readings: number[] = [];
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    readings.push((await accountStats(backend, account)).storageBytes ?? NaN);
    const last = readings.slice(-3);
    if (last.length === 3 && last.every((bytes) => bytes === last[0])) return;
    if (Date.now() > deadline) throw new Error(`the storage of ${account} was still changing after 30 s`);
  }
}

/** A push body of `count` comments, or the largest one under `maxBytes` when `count` is null. */
function heapBody(account: string, count: number | null, maxBytes: number): { body: string; count: number } {
  const envelope = Buffer.byteLength(pushBody(account, { comments: [] }));
  const items = [];
  let size = envelope;
  for (let k = 0; count === null || k < count; k++) {
    const item = comment(account, k);
    const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (count === null && size + bytes > maxBytes) break;
    size += bytes;
    items.push(item);
  }
  return { body: pushBody(account, { comments: items }), count: items.length };
}

async function heapRows(b: Bench, backend: Backend, heap: HeapSampler, maxPushBytes: number): Promise<Row[]> {
  const rows: Row[] = [];
  const trials = b.quick ? 1 : 3;
  const cases: { name: string; count: number | null; concurrent: number }[] = [
    { name: "1,000 comments", count: 1_000, concurrent: 1 },
    { name: "10,000 comments", count: 10_000, concurrent: 1 },
    { name: `a body at the push limit (${mb(maxPushBytes)})`, count: null, concurrent: 1 },
    { name: "two bodies at the push limit at once", count: null, concurrent: 2 },
  ];
  for (const { name, count, concurrent } of cases) {
    const peaks: number[] = [];
    const totals: number[] = [];
    const growths: number[] = [];
    let body = { body: "", count: 0 };
    for (let trial = 0; trial < trials; trial++) {
      const accounts = Array.from(
        { length: concurrent },
        (_, i) => `heap-${count ?? "max"}-${concurrent}-${trial}-${i}`,
      );
      const bodies = accounts.map((account) => heapBody(account, count, maxPushBytes));
      body = bodies[0]!;
      const {
        value: answers,
        peak,
        start,
        samples,
      } = await heap.during(Promise.all(accounts.map((account, i) => backend.push(TENANT, account, bodies[i]!.body))));
      for (const answer of answers) {
        if (answer.status !== 200) b.fail(`heap, ${name}: answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      }
      peaks.push(peak.heap);
      totals.push(peak.total);
      growths.push(peak.heap - start.heap);
      b.progress(
        `storage: during ${name}: heap peak ${mb(peak.heap)} (from ${mb(start.heap)}), ` +
          `with ArrayBuffers ${mb(peak.total)}; ${samples} samples`,
      );
    }
    const peak = summarize(peaks);
    rows.push({
      section: SECTION,
      name: `JS heap peak, push of ${name}`,
      value: mb(peak.max),
      notes:
        `largest of ${peak.n} (median ${mb(peak.median)}; grew by up to ${mb(summarize(growths).max)}), ` +
        `${mb(summarize(totals).max)} with ArrayBuffers; ` +
        `${body.count.toLocaleString("en-US")} comments, ${mb(Buffer.byteLength(body.body))} body each; ` +
        `the whole isolate (Worker and objects) held to a ${ISOLATE_MB} MB heap, sampled through the inspector`,
    });
  }
  return rows;
}

/** An isolate's memory on the platform (MB). */
const ISOLATE_MB = 128;
/** Old-space sizes (MB) tried, smallest first; the young generation is held to 2 MB semi-spaces. */
const HEAP_LIMITS = [32, 48, 64, 96, 128];

/**
 * The smallest V8 heap in which pushes at the limit still succeed: a backend per heap size
 * (workerd with `--max-old-space-size`), one push at the limit and then two at once. Where the
 * sampled peak counts garbage V8 had no reason to collect yet, this is what the push needs.
 */
async function heapLimitRows(b: Bench, maxPushBytes: number): Promise<Row[]> {
  const cases = [
    { name: "one body at the push limit", concurrent: 1 },
    { name: "two bodies at the push limit at once", concurrent: 2 },
  ];
  const rows: Row[] = [];
  for (const { name, concurrent } of cases) {
    let fits: number | null = null;
    const refused: number[] = [];
    for (const limit of HEAP_LIMITS) {
      const backend = await b.startBackend({
        v8Flags: [`--max-old-space-size=${limit}`, "--max-semi-space-size=2"],
      });
      try {
        const accounts = Array.from({ length: concurrent }, (_, i) => `limit-${limit}-${i}`);
        const answers = await Promise.all(
          accounts.map((account) => backend.push(TENANT, account, heapBody(account, null, maxPushBytes).body)),
        );
        const ok = answers.every((answer) => answer.status === 200);
        b.progress(`storage: ${name} with a ${limit} MB heap: ${answers.map((a) => a.status).join(", ")}`);
        if (ok) {
          fits = limit;
          break;
        }
        refused.push(limit);
      } finally {
        await backend.stop();
      }
    }
    if (fits === null) b.fail(`storage: ${name} fails even with a ${HEAP_LIMITS.at(-1)} MB heap`);
    rows.push({
      section: SECTION,
      name: `smallest V8 heap that takes ${name}`,
      value: fits === null ? `> ${HEAP_LIMITS.at(-1)} MB` : `${fits} MB`,
      notes:
        `${mb(maxPushBytes)} body each; ` +
        (refused.length
          ? `workerd gave up at ${refused.join(", ")} MB`
          : `${HEAP_LIMITS[0]} MB is the smallest tried`) +
        " (--max-old-space-size, 2 MB semi-spaces)",
    });
  }
  return rows;
}

export async function storage(b: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  const json = await fill(b, b.backend, "storage-kept");
  b.progress(`storage: ${COMMENTS} comments of ${Math.round(json)} B JSON pushed; every event kept`);
  rows.push(
    await perMessage(
      b.backend,
      "storage-kept",
      "bytes per comment, every event kept",
      `${Math.round(json)} B JSON each`,
    ),
  );

  const maxPushBytes = readConfig({}).maxPushBytes;
  rows.push(...(await heapLimitRows(b, maxPushBytes)));
  // Sampled in an isolate held to the platform's 128 MB, so V8 collects as it must there:
  // unbounded, it leaves garbage of earlier pushes in the heap and the peaks say little.
  const capped = await b.startBackend({ v8Flags: [`--max-old-space-size=${ISOLATE_MB}`, "--max-semi-space-size=2"] });
  try {
    // Its inspector answers only once the Worker has run: one request first.
    await capped.get("/api/v1/status", TENANT);
    const heap = await attachHeapSampler(capped.inspectorUrl);
    try {
      rows.push(...(await heapRows(b, capped, heap, maxPushBytes)));
    } finally {
      heap.close();
    }
  } finally {
    await capped.stop();
  }
  const pruning = await b.startBackend({ vars: { EVENT_RETENTION_COUNT: String(KEEP_EVENTS) } });
  try {
    await fill(b, pruning, "storage-pruned");
    await afterPruning(pruning, "storage-pruned");
    rows.push(
      await perMessage(
        pruning,
        "storage-pruned",
        "bytes per comment, after the pruning alarm",
        `EVENT_RETENTION_COUNT ${KEEP_EVENTS.toLocaleString("en-US")}; the room's own alarm pruned the rest`,
      ),
    );
  } finally {
    await pruning.stop();
  }
  return rows;
}
