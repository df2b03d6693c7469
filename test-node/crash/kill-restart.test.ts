/**
 * Crash safety (PROTOCOL §4 "a push is atomic", §6 seq and epoch): `wrangler dev` with
 * persisted state takes pushes without pause while the whole process group (wrangler and
 * workerd) is killed with SIGKILL at random moments and started again on the same state.
 * Afterwards every acknowledged push is fully there at the seq it reported, no push is half
 * there, the event log is 1..N without a gap, and the account's epoch never changed.
 *
 * The kill schedule comes from a seeded generator; the seed is printed, and CRASH_SEED=<seed>
 * repeats the schedule (the pushes in flight at each kill still depend on timing).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../src/auth";
import type { Message, Topic } from "../../src/contract/schemas";
import { livingInGroup, mintToken, startDev } from "../../scripts/backend";
import type { Wrangler } from "../../scripts/backend";

const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
const KILLS = 6;
/** After a round's first acknowledged push, the kill comes this long later (ms, drawn from the seed). */
const ROUND_MS = { min: 100, max: 2_000 };
/** A kill waits until at least this many pushes have been sent and not yet answered. */
const IN_FLIGHT_AT_KILL = 2;
/** After the last restart: pushes that must all succeed, with no kill. */
const CLEAN_MS = 700;
const ACCOUNTS = ["crash-a", "crash-b", "crash-c"];
/** Concurrent pushers per account, so pushes to one room interleave. */
const PUSHERS_PER_ACCOUNT = 2;
/** Comments and DMs in each push: enough that a push cut in half would show. */
const ITEMS = 4;
/** Works and conversations per account, shared by its pushes, so a push also updates rows other pushes wrote. */
const TOPICS = 5;
/** Events a push of fresh items makes: a channel:message per comment and DM, a topic:updated per topic, a notification:new. */
const EVENTS_PER_PUSH = 2 * ITEMS + 2 + 1;
/** Page size for the per-topic message list; topics grow well past it, so paging with `before` is exercised. */
const PAGE = 100;
const TENANT = "crash-tenant";
const SECRET = `crash-test-${process.pid}`;

/** mulberry32: small, seeded, good enough to pick kill moments. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, failure: string, timeoutMs = 30_000, pollMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(failure);
    await sleep(pollMs);
  }
}

const token = (role: Role, sub: string) => mintToken(role, { tenant: TENANT, sub, secret: SECRET });

type Outcome =
  /** 200: the backend says it is stored. */
  | "acked"
  /** A 4xx: the backend says nothing is stored. */
  | "refused"
  /** The connection died, a 5xx, or a body that never arrived: either is possible. */
  | "unknown";

type Push = {
  n: number;
  account: string;
  round: number;
  outcome?: Outcome;
  /** The `seq` of a 200 answer. */
  seq?: number;
  answer?: unknown;
  detail?: string;
  work: string;
  conversation: string;
  messageIds: string[];
  notification: string;
};

/**
 * The events only this push can make: `m:<id>` per comment and DM, `n:<id>` for its
 * notification. Its two `topic:updated` events (`t:<topic>`) name topics other pushes share.
 */
function ownKeys(push: Push): string[] {
  return [...push.messageIds.map((id) => `m:${id}`), `n:${push.notification}`];
}

function newPush(n: number, account: string, round: number): Push {
  return {
    n,
    account,
    round,
    work: `w${n % TOPICS}`,
    conversation: `cv${n % TOPICS}`,
    messageIds: [
      ...Array.from({ length: ITEMS }, (_, j) => `c${n}-${j}`),
      ...Array.from({ length: ITEMS }, (_, j) => `m${n}-${j}`),
    ],
    notification: `n${n}`,
  };
}

function pushBody(push: Push): string {
  const time = 1_750_000_000_000 + push.n * 100;
  const user = {
    user_id: `u-${push.conversation}`,
    user_name: `User ${push.conversation}`,
    avatar: `https://a.test/${push.conversation}.png`,
  };
  return JSON.stringify({
    type: "worker:data:sync",
    accountId: push.account,
    platform: "douyin",
    timestamp: Date.now(),
    snapshot: {
      contents: [
        {
          work_id: push.work,
          title: `Work ${push.work}`,
          publish_time: 1_750_000_000,
          stats: { comment_count: ITEMS, like_count: push.n },
        },
      ],
      comments: Array.from({ length: ITEMS }, (_, j) => ({
        comment_id: `c${push.n}-${j}`,
        work_id: push.work,
        content: `comment ${j} of push ${push.n}`,
        author_id: `a${push.n}-${j}`,
        author_name: `Author ${j}`,
        create_time: time + j,
      })),
      conversations: [
        { conversation_id: push.conversation, participant: user, unread_count: ITEMS, update_time: time + 50 },
      ],
      messages: Array.from({ length: ITEMS }, (_, j) => ({
        msg_id: `m${push.n}-${j}`,
        conversation_id: push.conversation,
        content: `dm ${j} of push ${push.n}`,
        msg_type: "text",
        sender: user,
        direction: "in",
        create_time: time + 10 + j,
      })),
      notifications: [
        {
          notification_id: push.notification,
          type: "like",
          title: "like",
          content: `push ${push.n}`,
          create_time: time + 60,
          related_id: push.work,
        },
      ],
    },
  });
}

// ---------------------------------------------------------------------------
// The backend's current life, and the pushers that follow it across restarts

let dev: Wrangler | null = null;
/** Holds the persisted state (and wrangler's scratch); the same for every restart. */
let dir = "";
/** Where pushes go while the backend is up; null while it is down. */
let live: { url: string; round: number } | null = null;
let wake: () => void = () => {};
let resumed = new Promise<void>((resolve) => (wake = resolve));
let stopping = false;

function resume(url: string, round: number): void {
  live = { url, round };
  wake();
}

function pause(): void {
  live = null;
  resumed = new Promise<void>((resolve) => (wake = resolve));
}

const pushes: Push[] = [];
let counter = 0;

async function send(push: Push, url: string, bearer: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${url}/api/v1/accounts/${push.account}/sync`, {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
      body: pushBody(push),
      signal: AbortSignal.timeout(20_000),
    });
  } catch (error) {
    push.outcome = "unknown";
    push.detail = String((error as Error).cause ?? error);
    return;
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    push.outcome = "unknown";
    push.detail = `status ${response.status}, body lost: ${String((error as Error).cause ?? error)}`;
    return;
  }
  push.detail = `${response.status} ${text.slice(0, 200)}`;
  if (response.status === 200) {
    const answer = JSON.parse(text) as { ok: boolean; seq: number };
    push.outcome = "acked";
    push.seq = answer.seq;
    push.answer = answer;
  } else {
    push.outcome = response.status >= 400 && response.status < 500 ? "refused" : "unknown";
  }
}

/** Pushes to one account, one push at a time, for as long as the test runs; waits while the backend is down. */
async function pusher(account: string, k: number): Promise<void> {
  const bearers = new Map<number, string>();
  while (!stopping) {
    const target = live;
    if (!target) {
      await resumed;
      continue;
    }
    // A fresh crawler per round keeps each one far below the per-token push limit.
    let bearer = bearers.get(target.round);
    if (!bearer)
      bearers.set(target.round, (bearer = await token("crawler", `crawler-${account}-${k}-r${target.round}`)));
    const push = newPush(++counter, account, target.round);
    pushes.push(push);
    await send(push, target.url, bearer);
  }
}

// ---------------------------------------------------------------------------
// Reading an account back

type RoomView = {
  registered: { seq: number; epoch: string };
  events: { seq: number; type: string; key: string }[];
  complete?: { seq: number; epoch: string };
};

/** Registers on the account's room socket, and with `replay` reads the whole event log with `sync:start {since: 0}`. */
async function readRoom(url: string, account: string, replay: boolean): Promise<RoomView> {
  const bearer = await token("agent", "crash-checker");
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/accounts/${account}/ws?token=${bearer}`);
  try {
    return await new Promise<RoomView>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${account}: the room socket did not finish in time`)), 30_000);
      const done = (view: RoomView) => {
        clearTimeout(timer);
        resolve(view);
      };
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const view: Partial<RoomView> = { events: [] };
      ws.on("unexpected-response", (_request, response) =>
        fail(new Error(`${account}: the socket upgrade answered ${response.statusCode}`)),
      );
      ws.on("error", fail);
      ws.on("open", () =>
        ws.send(
          JSON.stringify({
            type: "monitor:register",
            id: "register",
            payload: { clientId: "crash-checker", clientType: "monitor" },
          }),
        ),
      );
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as { type: string; id?: string; payload?: any };
        const frames = frame.type === "batch" ? (frame.payload.frames as (typeof frame)[]) : [frame];
        for (const f of frames) {
          switch (f.type) {
            case "monitor:registered":
              view.registered = { seq: f.payload.seq, epoch: f.payload.epoch };
              if (!replay) return done(view as RoomView);
              ws.send(JSON.stringify({ type: "sync:start", id: "replay", payload: { since: 0 } }));
              break;
            case "sync:complete":
              view.complete = f.payload;
              return done(view as RoomView);
            case "sync:reset":
            case "error":
              return fail(new Error(`${account}: ${JSON.stringify(f)}`));
            case "channel:message":
              view.events!.push({ seq: f.payload.seq, type: f.type, key: `m:${f.payload.message.id}` });
              break;
            case "topic:updated":
              view.events!.push({ seq: f.payload.seq, type: f.type, key: `t:${f.payload.topic.id}` });
              break;
            case "notification:new":
              view.events!.push({ seq: f.payload.seq, type: f.type, key: `n:${f.payload.notification.id}` });
              break;
            default:
              // Any other event is one no push of this test can make.
              if (typeof f.payload?.seq === "number")
                view.events!.push({ seq: f.payload.seq, type: f.type, key: `?:${f.type}` });
          }
        }
      });
    });
  } finally {
    ws.terminate();
  }
}

async function getJson(url: string, path: string): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, {
    headers: { Authorization: `Bearer ${await token("agent", "crash-checker")}` },
  });
  return { status: response.status, json: await response.json() };
}

/** A topic's messages through the HTTP route, page by page (oldest first within a page, pages going back). */
async function topicMessages(url: string, account: string, topicId: string): Promise<Message[]> {
  const pages: Message[][] = [];
  let before: number | undefined;
  for (;;) {
    const query = `limit=${PAGE}${before === undefined ? "" : `&before=${before}`}`;
    const { status, json } = await getJson(
      url,
      `/api/v1/accounts/${account}/topics/${encodeURIComponent(topicId)}/messages?${query}`,
    );
    if (status !== 200) throw new Error(`${account}/${topicId} messages answered ${status}: ${JSON.stringify(json)}`);
    pages.unshift(json.messages);
    if (!json.hasMore) return pages.flat();
    before = (json.messages as Message[])[0]!.seq;
  }
}

/** Every comment and DM id the account has stored, by the compatibility API (not gated by topics). */
async function allMessageIds(url: string, account: string): Promise<string[]> {
  const ids: string[] = [];
  for (let cursor = 0; ;) {
    const { status, json } = await getJson(
      url,
      `/api/im/unified-messages?account_id=${account}&types=comment,message&count=100&cursor=${cursor}`,
    );
    if (status !== 200) throw new Error(`${account} unified-messages answered ${status}: ${JSON.stringify(json)}`);
    ids.push(...(json.data.messages as { id: string }[]).map((m) => m.id));
    if (!json.data.has_more) return ids;
    cursor = json.data.cursor;
  }
}

async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

// ---------------------------------------------------------------------------
// The run

type Observation = { round: number; account: string; seq: number; epoch: string; ackedBefore: number };
type AccountState = {
  room: RoomView;
  topics: Topic[];
  messages: Map<string, Message[]>;
  storedIds: string[];
};

const observations: Observation[] = [];
/** Process groups of the killed backends. */
const killed: number[] = [];
const rounds: { round: number; upMs: number; killAfterMs: number; inFlight: number }[] = [];
const finalState = new Map<string, AccountState>();
let cleanFrom = Infinity;

/** Right after a start, before any push: each account that has an acknowledged push, as the room reports it. */
async function observe(url: string, round: number): Promise<void> {
  for (const account of ACCOUNTS) {
    const acked = pushes.filter((p) => p.account === account && p.outcome === "acked");
    if (!acked.length) continue;
    const { registered } = await readRoom(url, account, false);
    observations.push({ round, account, ...registered, ackedBefore: Math.max(...acked.map((p) => p.seq!)) });
  }
}

beforeAll(async () => {
  console.log(`crash test seed ${SEED} (CRASH_SEED=${SEED} repeats the kill schedule)`);
  const rng = random(SEED);
  dir = await mkdtemp(join(tmpdir(), "crash-"));
  const vars = { AUTH_SECRET: SECRET };
  const pushers = ACCOUNTS.flatMap((account) =>
    Array.from({ length: PUSHERS_PER_ACCOUNT }, (_, k) => pusher(account, k)),
  );
  try {
    for (let round = 0; round <= KILLS; round++) {
      const started = Date.now();
      dev = await startDev({ dir, vars });
      const upMs = Date.now() - started;
      await observe(dev.url, round);
      if (round === KILLS) break;
      const runFor = Math.round(ROUND_MS.min + rng() * (ROUND_MS.max - ROUND_MS.min));
      resume(dev.url, round);
      await until(
        () => pushes.some((p) => p.round === round && p.outcome === "acked"),
        `round ${round}: no push acknowledged`,
      );
      await sleep(runFor);
      // Kill only at a moment when pushes are on their way: sent, with no answer yet.
      const unanswered = () => pushes.filter((p) => p.round === round && !p.outcome).length;
      await until(() => unanswered() >= IN_FLIGHT_AT_KILL, `round ${round}: no push in flight to kill`, 5_000, 1);
      const inFlight = unanswered();
      killed.push(dev.pgid);
      const killing = dev.kill(); // SIGKILL goes out now, before any pusher can see an answer
      pause();
      await killing;
      dev = null;
      rounds.push({ round, upMs, killAfterMs: runFor, inFlight });
    }
    // The last life: pushes go on, nothing is killed; then everything is read back.
    cleanFrom = counter + 1;
    resume(dev!.url, KILLS);
    await sleep(CLEAN_MS);
  } finally {
    stopping = true;
    pause();
    wake();
    await Promise.all(pushers);
  }
  const readStarted = Date.now();
  for (const account of ACCOUNTS) {
    const url = dev!.url;
    const room = await readRoom(url, account, true);
    const topics = (await getJson(url, `/api/v1/accounts/${account}/topics`)).json.topics as Topic[];
    const lists = await inParallel(topics, 8, (topic) => topicMessages(url, account, topic.id));
    const messages = new Map(topics.map((topic, i) => [topic.id, lists[i]!]));
    finalState.set(account, { room, topics, messages, storedIds: await allMessageIds(url, account) });
  }
  const count = (outcome: Outcome) => pushes.filter((p) => p.outcome === outcome).length;
  const landed = pushes.filter((p) => p.outcome === "unknown" && stored(p)).length;
  console.log(
    `crash test: ${KILLS} kills, ${pushes.length} pushes: ${count("acked")} acknowledged, ${count("refused")} refused,` +
      ` ${count("unknown")} cut off by a kill (${landed} of them stored); killed ${rounds.map((r) => `${r.killAfterMs}`).join(", ")} ms` +
      ` after each round's first 200 with ${rounds.map((r) => r.inFlight).join(", ")} pushes in flight;` +
      ` starts took ${rounds.map((r) => r.upMs).join(", ")} ms; reading back took ${Date.now() - readStarted} ms`,
  );
}, 150_000);

afterAll(async () => {
  stopping = true;
  wake();
  if (dev) await dev.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Problems as lines, so a failure names every push and seq involved at once. */
function report(problems: string[]): string {
  return problems.length ? `${problems.length} problem(s) (seed ${SEED}):\n${problems.slice(0, 40).join("\n")}` : "";
}

type Log = { byKey: Map<string, number[]>; bySeq: Map<number, string> };

const logs = new Map<string, Log>();

/** The account's replayed events by key (every seq a key has) and by seq. */
function logOf(account: string): Log {
  let log = logs.get(account);
  if (!log) {
    log = { byKey: new Map(), bySeq: new Map() };
    for (const { seq, key } of finalState.get(account)!.room.events) {
      log.byKey.set(key, [...(log.byKey.get(key) ?? []), seq]);
      log.bySeq.set(seq, key);
    }
    logs.set(account, log);
  }
  return log;
}

const stored = (push: Push): boolean => logOf(push.account).byKey.has(`n:${push.notification}`);

function describePush(push: Push): string {
  return `push ${push.n} (${push.account}, round ${push.round}, ${push.outcome}${push.seq === undefined ? "" : ` seq ${push.seq}`})`;
}

/**
 * Where a push's events are: null when none exists; otherwise its block of seqs, which must
 * hold every one of its events and nothing else, end at the seq it was answered with, and
 * contain exactly its two topic:updated events between its own.
 */
function blockOf(push: Push, problems: string[]): { first: number; last: number } | null {
  const { byKey, bySeq } = logOf(push.account);
  const keys = ownKeys(push);
  const present = keys.filter((key) => byKey.has(key));
  if (present.length === 0) return null;
  const what = describePush(push);
  if (present.length !== keys.length) {
    const missing = keys.filter((key) => !byKey.has(key));
    problems.push(
      `${what} is half there: ${present.length}/${keys.length} of its own events; missing ${missing.join(", ")}`,
    );
  }
  const seqs = present.map((key) => byKey.get(key)![0]!).sort((a, b) => a - b);
  const first = seqs[0]!;
  const last = seqs[seqs.length - 1]!;
  if (last - first !== EVENTS_PER_PUSH - 1) {
    problems.push(`${what}: its events are not one block of ${EVENTS_PER_PUSH}: seqs ${seqs.join(", ")}`);
  } else {
    const between: string[] = [];
    for (let seq = first; seq <= last; seq++)
      if (!seqs.includes(seq)) between.push(bySeq.get(seq) ?? `(no event at ${seq})`);
    const expected = [`t:${push.work}`, `t:${push.conversation}`].sort();
    if (JSON.stringify(between.sort()) !== JSON.stringify(expected)) {
      problems.push(
        `${what}: between its events at ${first}..${last} are ${between.join(", ")}; expected ${expected.join(", ")}`,
      );
    }
  }
  if (push.seq !== undefined && last !== push.seq)
    problems.push(`${what}: answered seq ${push.seq}, but its events are at ${first}..${last}`);
  return { first, last };
}

describe("SIGKILL of wrangler dev while crawlers push", () => {
  it("kills happened with pushes in flight, and pushes went on after every restart", () => {
    for (let round = 0; round < KILLS; round++) {
      const mine = pushes.filter((p) => p.round === round);
      expect(
        mine.some((p) => p.outcome === "acked"),
        `round ${round} acknowledged no push`,
      ).toBe(true);
      expect(rounds[round]!.inFlight, `round ${round}: pushes in flight at the kill`).toBeGreaterThanOrEqual(
        IN_FLIGHT_AT_KILL,
      );
    }
    // A push in flight may still have been answered just before the kill; across all the
    // kills, some must have been cut off, or the checks below prove nothing about a crash.
    expect(pushes.filter((p) => p.outcome === "unknown").length).toBeGreaterThan(0);
    const clean = pushes.filter((p) => p.n >= cleanFrom);
    expect(clean.length).toBeGreaterThan(0);
    // No kill in the last life: every push there must succeed.
    expect(clean.filter((p) => p.outcome !== "acked").map((p) => `push ${p.n}: ${p.detail}`)).toEqual([]);
  });

  it("nothing of a killed backend survives: no wrangler, no workerd", () => {
    expect(killed).toHaveLength(KILLS);
    expect(killed.flatMap(livingInGroup)).toEqual([]);
  });

  it("storage survives every restart: the epoch never changes and no acknowledged seq is lost", () => {
    const problems: string[] = [];
    for (const account of ACCOUNTS) {
      const seen = observations.filter((o) => o.account === account);
      const epochs = new Set([...seen.map((o) => o.epoch), finalState.get(account)!.room.complete!.epoch]);
      if (epochs.size !== 1) problems.push(`${account}: epoch changed across restarts: ${[...epochs].join(" → ")}`);
      for (const o of seen) {
        if (o.seq < o.ackedBefore)
          problems.push(
            `${account}: after restart ${o.round} the room is at seq ${o.seq}, but seq ${o.ackedBefore} was acknowledged before the kill`,
          );
      }
    }
    expect(observations.length).toBeGreaterThan(0);
    expect(problems.length, report(problems)).toBe(0);
  });

  it("the event log replayed from 0 is seq 1..N, no gap, no duplicate, each event in exactly one whole push", () => {
    const problems: string[] = [];
    for (const account of ACCOUNTS) {
      const { room } = finalState.get(account)!;
      const seqs = room.events.map((e) => e.seq);
      const n = seqs.length;
      if (room.complete!.seq !== n || room.registered.seq !== n) {
        problems.push(
          `${account}: ${n} events replayed, but sync:complete says seq ${room.complete!.seq} and monitor:registered seq ${room.registered.seq}`,
        );
      }
      seqs.forEach((seq, i) => {
        const previous = i === 0 ? 0 : seqs[i - 1]!;
        if (seq === previous + 1) return;
        const what = seq <= previous ? "repeats or goes back" : `skips ${seq - previous - 1} seq(s)`;
        problems.push(
          `${account}: the log ${what}: seq ${seq} follows ${previous || "the start"} (replayed event #${i + 1})`,
        );
      });
      const mine = pushes.filter((p) => p.account === account);
      const owners = new Set(mine.flatMap(ownKeys));
      const topics = new Set(mine.flatMap((p) => [`t:${p.work}`, `t:${p.conversation}`]));
      for (const [key, at] of logOf(account).byKey) {
        if (key.startsWith("t:") ? !topics.has(key) : !owners.has(key))
          problems.push(`${account}: event ${key} at seq ${at.join(", ")} belongs to no push`);
        else if (!key.startsWith("t:") && at.length > 1)
          problems.push(`${account}: ${key} has ${at.length} events (seqs ${at.join(", ")})`);
      }
      // The pushes' blocks tile the log: every seq in one block, none in two.
      const covered = new Map<number, number>();
      for (const push of mine) {
        const block = blockOf(push, []);
        if (!block) continue;
        const overlapped = new Set<number>();
        for (let seq = block.first; seq <= block.last; seq++) {
          if (covered.has(seq)) overlapped.add(covered.get(seq)!);
          covered.set(seq, push.n);
        }
        for (const other of overlapped)
          problems.push(
            `${account}: the events of pushes ${other} and ${push.n} interleave (${push.n} is at ${block.first}..${block.last})`,
          );
      }
      const loose = seqs.filter((seq) => !covered.has(seq));
      if (loose.length)
        problems.push(
          `${account}: ${loose.length} event(s) outside every push's block, at seqs ${loose.slice(0, 20).join(", ")}`,
        );
    }
    expect(problems.length, report(problems)).toBe(0);
  });

  it("every push that got 200 is fully there, at the seq it reported", () => {
    const problems: string[] = [];
    const acked = pushes.filter((p) => p.outcome === "acked");
    expect(acked.length).toBeGreaterThan(50);
    const fresh = JSON.stringify({ received: ITEMS, new: ITEMS, updated: 0 });
    for (const push of acked) {
      const answer = push.answer as { ok: boolean; counts: Record<string, unknown>; rejected: unknown[] };
      if (
        !answer.ok ||
        answer.rejected.length ||
        JSON.stringify(answer.counts.comments) !== fresh ||
        JSON.stringify(answer.counts.messages) !== fresh
      ) {
        problems.push(`${describePush(push)}: unexpected answer ${JSON.stringify(answer)}`);
      }
      if (!blockOf(push, problems)) problems.push(`${describePush(push)} got 200, but none of its events exist`);
    }
    expect(problems.length, report(problems)).toBe(0);
  });

  it("a push whose answer was lost is fully there or fully absent, and a refused push is absent", () => {
    const problems: string[] = [];
    for (const push of pushes.filter((p) => p.outcome !== "acked")) {
      const block = blockOf(push, problems);
      if (push.outcome === "refused" && block)
        problems.push(`${describePush(push)} was refused (${push.detail}), but its events exist`);
    }
    expect(problems.length, report(problems)).toBe(0);
  });

  it("topics and stored messages hold exactly the items of the pushes in the log, at their events' seqs", () => {
    const problems: string[] = [];
    for (const account of ACCOUNTS) {
      const { topics, messages, storedIds } = finalState.get(account)!;
      const { byKey } = logOf(account);
      const expected = new Map<string, string[]>();
      for (const push of pushes.filter((p) => p.account === account)) {
        for (const topicId of [push.work, push.conversation]) if (!expected.has(topicId)) expected.set(topicId, []);
        if (!stored(push)) continue;
        expected.get(push.work)!.push(...push.messageIds.slice(0, ITEMS));
        expected.get(push.conversation)!.push(...push.messageIds.slice(ITEMS));
      }
      const topicById = new Map(topics.map((t) => [t.id, t]));
      for (const topic of topics)
        if (!expected.has(topic.id)) problems.push(`${account}: topic ${topic.id} belongs to no push`);
      for (const [topicId, ids] of expected) {
        const topic = topicById.get(topicId);
        if (!ids.length) {
          if (topic) problems.push(`${account}: topic ${topicId} exists, but none of its pushes is in the log`);
          continue;
        }
        if (!topic) {
          problems.push(`${account}: topic ${topicId} is missing, but ${ids.length} of its messages are in the log`);
          continue;
        }
        if (topic.messageCount !== ids.length)
          problems.push(
            `${account}: topic ${topicId} counts ${topic.messageCount} messages; the log has ${ids.length}`,
          );
        const listed = messages.get(topicId) ?? [];
        const want = new Set(ids);
        const got = new Set(listed.map((m) => m.id));
        if (got.size !== listed.length) problems.push(`${account}: topic ${topicId} lists some message twice`);
        const extra = [...got].filter((id) => !want.has(id));
        const missing = ids.filter((id) => !got.has(id));
        if (extra.length)
          problems.push(
            `${account}: topic ${topicId} lists messages of pushes not wholly in the log: ${extra.slice(0, 20).join(", ")}`,
          );
        if (missing.length)
          problems.push(
            `${account}: topic ${topicId} lacks messages of pushes in the log: ${missing.slice(0, 20).join(", ")}`,
          );
        listed.forEach((m, i) => {
          const at = byKey.get(`m:${m.id}`)?.[0];
          if (at !== undefined && m.seq !== at)
            problems.push(`${account}: message ${m.id} has seq ${m.seq}; its channel:message event is at ${at}`);
          if (i > 0 && m.seq <= listed[i - 1]!.seq)
            problems.push(
              `${account}: topic ${topicId} pages out of order at ${m.id} (seq ${m.seq} after ${listed[i - 1]!.seq})`,
            );
        });
      }
      // The compatibility list reads the messages table without going through topics.
      const all = [...expected.values()].flat();
      const storedSet = new Set(storedIds);
      if (storedSet.size !== storedIds.length) problems.push(`${account}: the compatibility list repeats message ids`);
      const wanted = new Set(all);
      const orphans = storedIds.filter((id) => !wanted.has(id));
      const lost = all.filter((id) => !storedSet.has(id));
      if (orphans.length)
        problems.push(`${account}: messages stored without their push's events: ${orphans.slice(0, 20).join(", ")}`);
      if (lost.length) problems.push(`${account}: messages in the log but not stored: ${lost.slice(0, 20).join(", ")}`);
    }
    expect(problems.length, report(problems)).toBe(0);
  });
});
