/**
 * Hostile input: generated snapshot pushes and socket frames (PROTOCOL §3, §4, §6).
 *
 * Every push must answer 200 (stored exactly as far as it is valid, the rest reported),
 * 400 or 413 in the §3 shape, never 5xx; every bad frame exactly one `error` frame, the socket
 * staying open. After each property the data pushed before it is intact and the event log
 * replays as 1..N without a gap.
 *
 * Ids inside one property run carry a per-run nonce, so every run talks about items the
 * account has never seen and its expected outcome is exact.
 *
 * Three kinds of input have properties of their own instead of being mixed into the main one,
 * so that each is reported by itself: one name used across kinds inside one push, lone
 * surrogates in what is kept in SQL text columns (topic ids, titles, previews), and msg_type
 * values naming Object.prototype members. One more property holds the validation fast path to
 * zod on the same generated items.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PING } from "../src/protocol";
import { fastItems, itemSchemas, MAX_CONTENT_CHARS, MAX_ITEM_BYTES } from "../src/snapshot";
import { env } from "cloudflare:workers";
import app from "../src/index";
import { comment, conversation, dm, nextTime, TestSocket, token, uid, work } from "./helpers";
import type { Frame, Snapshot } from "./helpers";

// ---------------------------------------------------------------------------
// Plumbing

type Json = any;
type Obj = Record<string, unknown>;

const ITEM_KINDS = ["contents", "comments", "conversations", "messages", "notifications"] as const;
type Kind = (typeof ITEM_KINDS)[number];

const STATUS_OF: Record<string, number> = {
  invalid_body: 400,
  invalid_query: 400,
  invalid_frame: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
};

/** Pushes rotate over a few crawler tokens: the push rate limit is per token, and a property pushes more than 600 a minute. */
const CRAWLERS = 4;
let tokens: Promise<{ agent: string; crawlers: string[] }> | undefined;
let crawlerTurn = 0;

async function mintTokens(): Promise<{ agent: string; crawlers: string[] }> {
  const agent = await token("agent");
  const crawlers: string[] = [];
  for (let i = 0; i < CRAWLERS; i++) crawlers.push(await token("crawler", { sub: `fuzz-crawler-${i}` }));
  return { agent, crawlers };
}

/** Minted on first use, so every test has them whichever tests run before it. */
const fuzzTokens = () => (tokens ??= mintTokens());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Requests go to the Worker's Hono app directly, with the test's bindings. Through
 * `exports.default.fetch` every call gets slower the more calls a test file has made
 * (about 0.3 ms more per call made before), which thousands of generated requests can't afford.
 */
const executionCtx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

async function call(
  path: string,
  { method = "GET", bearer, body }: { method?: string; bearer?: string; body?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await app.fetch(
    new Request(`http://edge.test${path}`, { method, headers, body }),
    env,
    executionCtx,
  );
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

async function postSync(accountId: string, body: string) {
  const { crawlers } = await fuzzTokens();
  const crawler = crawlers[crawlerTurn++ % crawlers.length]!;
  return call(`/api/v1/accounts/${accountId}/sync`, { method: "POST", bearer: crawler, body });
}

const get = async (path: string) => call(path, { bearer: (await fuzzTokens()).agent });

/** An agent's socket on an account room, opened through the app as well. */
async function openSocket(accountId: string, sub = "agent-1"): Promise<TestSocket> {
  const bearer = sub === "agent-1" ? (await fuzzTokens()).agent : await token("agent", { sub });
  const response = await app.fetch(
    new Request(`http://edge.test/api/v1/accounts/${accountId}/ws?token=${bearer}`, {
      headers: { Upgrade: "websocket" },
    }),
    env,
    executionCtx,
  );
  if (response.status !== 101 || !response.webSocket)
    throw new Error(`socket refused with ${response.status}: ${await response.text()}`);
  return new TestSocket(response.webSocket);
}

function messagesPath(accountId: string, topicId: string, query = "limit=200") {
  return `/api/v1/accounts/${accountId}/topics/${encodeURIComponent(topicId)}/messages?${query}`;
}

/**
 * Canonical JSON (keys sorted). Comparisons of generated text go through it: it escapes lone
 * surrogates, and a failure message holding a raw one breaks the test runner's own channel
 * ("Invalid WebSocket frame: invalid UTF-8 sequence") instead of reporting the failure.
 */
function canon(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v as Obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
    ) ?? "undefined"
  );
}
const show = (value: unknown) => canon(value);
/** `toEqual`, safe for any text. */
function eq(actual: unknown, expected: unknown, label?: string): void {
  expect(canon(actual), label).toBe(canon(expected));
}
/** `toMatchObject` on the top-level keys of `expected`, safe for any text; an undefined value means "absent". */
function like(actual: Json, expected: Obj, label?: string): void {
  expect(actual !== null && typeof actual === "object", `${label ?? "value"} is an object`).toBe(true);
  eq(Object.fromEntries(Object.keys(expected).map((k) => [k, actual[k]])), expected, label);
}

/** §3: `{error: {code, message, issues?}}` and nothing else, the code matching the status. */
function expectErrorShape(json: Json, status: number): void {
  expect(json !== null && typeof json === "object", `error body is an object: ${String(json).slice(0, 200)}`).toBe(
    true,
  );
  expect(Object.keys(json)).toEqual(["error"]);
  const error = json.error;
  expect(Object.keys(error).every((k) => k === "code" || k === "message" || k === "issues")).toBe(true);
  expect(typeof error.code).toBe("string");
  expect(STATUS_OF[error.code]).toBe(status);
  expect(typeof error.message).toBe("string");
  expect(error.message.length).toBeGreaterThan(0);
  if ("issues" in error) expectIssues(error.issues);
}

function expectIssues(issues: Json): void {
  expect(Array.isArray(issues)).toBe(true);
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(Object.keys(issue).sort()).toEqual(["message", "path"]);
    expect(typeof issue.path).toBe("string");
    expect(typeof issue.message).toBe("string");
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

/** The account's seq as the channel list shows it. */
async function channelSeq(accountId: string): Promise<number> {
  const res = await get("/api/v1/accounts");
  expect(res.status).toBe(200);
  return res.json.channels.find((c: Json) => c.id === accountId)?.seq ?? 0;
}

/** `sync:start {since: 0}` on a fresh socket: every event in order, and the final `sync:complete`. */
async function replayAll(accountId: string): Promise<{ events: Frame[]; complete: Frame }> {
  const socket = await openSocket(accountId);
  socket.send({ type: "sync:start", id: "replay", payload: { since: 0 } });
  await socket.until((f) => f.length > 0 && f[f.length - 1]!.type === "sync:complete", "sync:complete", 60_000);
  socket.close();
  const frames = socket.frames;
  expect(frames.filter((f) => f.type === "sync:reset")).toEqual([]);
  return {
    events: frames.filter((f) => f.type !== "sync:progress" && f.type !== "sync:complete"),
    complete: frames[frames.length - 1]!,
  };
}

/** Seqs 1..N, each once, in order, N being the room's seq. */
function expectNoGap(events: Frame[], seq: number): void {
  const seqs = events.map((f) => f.payload.seq);
  expect(seqs.length).toBe(seq);
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== i + 1) throw new Error(`replay has seq ${seqs[i]} at position ${i + 1} (want ${i + 1})`);
  }
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const hasLoneSurrogate = (s: string) =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** A snapshot with a well-formed envelope. */
function pushSnapshot(accountId: string, snapshot: Snapshot, extra: Obj = {}) {
  return postSync(
    accountId,
    JSON.stringify({
      type: "worker:data:sync",
      accountId,
      platform: "douyin",
      timestamp: Date.now(),
      snapshot,
      ...extra,
    }),
  );
}

// ---------------------------------------------------------------------------
// Baseline: valid data pushed before a property, that the property must leave alone

type Baseline = {
  accountId: string;
  topics: Json[];
  pages: Record<string, Json[]>;
  events: string[];
  epoch: string;
  seq: number;
};

const BASE_TOPICS = ["base-w1", "base-v1"];

async function seedBaseline(accountId: string): Promise<Baseline> {
  const res = await pushSnapshot(accountId, {
    contents: [work("base-w1", { title: "Base work'); DROP TABLE topics;--" })],
    comments: [
      comment("base-c1", "base-w1", { content: "'); DROP TABLE messages;--" }),
      comment("base-c2", "base-w1", { content: "👨‍👩‍👧‍👦 مرحبا بالعالم \u200B\u200D x\uDBFF\uDFFFy \u202Eabc" }),
      comment("base-c3", "base-w1", { content: '" OR 1=1 -- ; SELECT * FROM account' }),
    ],
    conversations: [conversation("base-v1")],
    messages: [
      dm("base-m1", "base-v1", { content: "שלום 🇨🇳 漢字" }),
      dm("base-m2", "base-v1", { direction: "out", content: "\u0000nul\u0000" }),
    ],
    notifications: [
      {
        notification_id: "base-n1",
        type: "like",
        title: "t",
        content: "n 😀",
        create_time: 1_729_999_600,
        related_id: "base-w1",
      },
    ],
  });
  expect(res.status).toBe(200);
  expect(res.json.rejected).toEqual([]);
  const pages: Record<string, Json[]> = {};
  for (const topic of BASE_TOPICS) {
    const page = await get(messagesPath(accountId, topic));
    expect(page.status).toBe(200);
    pages[topic] = page.json.messages;
  }
  const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics.filter((t: Json) =>
    BASE_TOPICS.includes(t.id),
  );
  const { events, complete } = await replayAll(accountId);
  expectNoGap(events, res.json.seq);
  return {
    accountId,
    topics,
    pages,
    events: events.map((e) => JSON.stringify(e)),
    epoch: complete.payload.epoch,
    seq: res.json.seq,
  };
}

/** The baseline still reads the same, and the whole log replays 1..N. Returns the replay. */
async function expectBaselineIntact(base: Baseline): Promise<{ events: Frame[]; seq: number }> {
  for (const topic of BASE_TOPICS) {
    const page = await get(messagesPath(base.accountId, topic));
    expect(page.status).toBe(200);
    eq(page.json.messages, base.pages[topic], `baseline messages of ${topic}`);
  }
  const topics = (await get(`/api/v1/accounts/${base.accountId}/topics`)).json.topics;
  for (const before of base.topics) {
    const now = topics.find((t: Json) => t.id === before.id);
    like(
      now,
      { kind: before.kind, title: before.title, messageCount: before.messageCount },
      `baseline topic ${before.id}`,
    );
  }
  const { events, complete } = await replayAll(base.accountId);
  expect(complete.payload.epoch).toBe(base.epoch);
  expectNoGap(events, complete.payload.seq);
  eq(
    events.slice(0, base.events.length).map((e) => JSON.stringify(e)),
    base.events,
    "baseline events replayed unchanged",
  );
  // Queries still answer.
  expect((await get(`/api/im/discussions?account_id=${base.accountId}&count=5`)).status).toBe(200);
  expect((await get(`/api/im/conversations?account_id=${base.accountId}&count=5`)).status).toBe(200);
  return { events, seq: complete.payload.seq };
}

/**
 * Runs a property, then checks the baseline whether or not it failed (a failed push must not
 * have left half of itself behind either); the property's own failure is the one reported.
 */
async function thenBaselineIntact(base: Baseline, property: () => Promise<void>): Promise<void> {
  let failure: unknown = null;
  try {
    await property();
  } catch (error) {
    failure = error;
  }
  await expectBaselineIntact(base);
  if (failure) throw failure;
}

// ---------------------------------------------------------------------------
// Text

const SQLISH = [
  "'); DROP TABLE messages;--",
  "Robert'); DROP TABLE students;--",
  '" OR "1"="1',
  "1; DELETE FROM topics WHERE 1=1; --",
  "' UNION SELECT tenant, epoch FROM account --",
  "'; UPDATE account SET seq = 0; --",
  "%s%s%n%x",
  "${7*7}{{7*7}}",
  "<script>alert(1)</script>",
  "\\",
  "\\u0000",
  "null",
  "NULL",
  "undefined",
  "[object Object]",
  "__proto__",
];
const UNICODE = [
  "👨‍👩‍👧‍👦",
  "🇨🇳🏳️‍🌈",
  "😀",
  "مرحبا بالعالم",
  "שלום עולם",
  "\u202Egnp.exe",
  "\u200F\u200E",
  "\u200B\u200C\u200D\uFEFF",
  "e\u0301\u0308",
  "漢字かなカナ한국어",
  "\u0000",
  "\r\n\t",
  "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗̻̓",
  " ",
  "\u2028\u2029",
  "\uFFFD",
  "\uDBFF\uDFFF",
];
const LONE = ["\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uD83D"];

const piece = (lone: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...SQLISH), weight: 2 },
    { arbitrary: fc.constantFrom(...UNICODE), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 6 }), weight: 1 },
    { arbitrary: fc.string({ unit: "grapheme", maxLength: 4 }), weight: 1 },
    { arbitrary: fc.string({ maxLength: 8 }), weight: 2 },
    { arbitrary: fc.constantFrom(...LONE), weight: lone ? 1 : 0 },
  );
const textOf = (lone: boolean) => fc.array(piece(lone), { maxLength: 4 }).map((parts) => parts.join(""));
/**
 * Well-formed Unicode: what every validated item field holds (the backend rejects lone
 * surrogates there, naming the field; their own property below). `anyText` may hold lone
 * surrogates: unknown fields keep them exactly, escaped in the stored JSON.
 */
const cleanText = textOf(false);
const anyText = textOf(true);

/**
 * One code point each (field limits count code points), JSON-encoding to at most two UTF-16
 * units, so a field at its limit stays far below the item limit.
 */
const FILL = ["a", "漢", "😀", '"', "\\", "é", "\u200F"];

/** A string of `size` code points, built when sent; printed short in a counterexample. */
class Sized {
  constructor(
    readonly size: number,
    readonly fill: string,
  ) {}
  toJSON(): string {
    return this.fill.repeat(this.size);
  }
  [fc.toStringMethod](): string {
    return `Sized(${this.size} × ${JSON.stringify(this.fill)})`;
  }
}
const sized = (size: number, fill: string) => new Sized(size, fill).toJSON();

/** An array or object nested `depth` deep; printed short in a counterexample. */
class Nested {
  constructor(
    readonly depth: number,
    readonly object: boolean,
  ) {}
  toJSON(): unknown {
    let value: unknown = "bottom";
    for (let i = 0; i < this.depth; i++) value = this.object ? { d: value } : [value];
    return value;
  }
  [fc.toStringMethod](): string {
    return `Nested(${this.depth}, ${this.object ? "objects" : "arrays"})`;
  }
}

/** Generated values with their big strings built (nested values stay lazy: JSON.stringify builds them). */
function resolve(value: unknown): unknown {
  if (value instanceof Sized) return value.toJSON();
  if (value instanceof Nested) return value;
  if (Array.isArray(value)) return value.map(resolve);
  if (value && typeof value === "object") {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) define(out, k, resolve(v));
    return out;
  }
  return value;
}
/** At most `units` UTF-16 units, never splitting a surrogate pair. */
function clip(text: string, units: number): string {
  let out = "";
  for (const ch of text) {
    if (out.length + ch.length > units) break;
    out += ch;
  }
  return out;
}

const NAME = 1_024;
const URL_MAX = 4_096;
const TITLE = 4 * NAME;
const ID_MAX = 256;

// ---------------------------------------------------------------------------
// Item recipes

/** How a slot's id looks in one run: a string (with hostile text), a number, a negative number, exactly 256 units. */
type IdForm = { form: "str" | "num" | "neg" | "long"; suffix: string; fill: string };
const idForm = (): fc.Arbitrary<IdForm> =>
  fc.record({
    form: fc.constantFrom("str", "str", "str", "num", "neg", "long"),
    suffix: cleanText.map((s) => clip(s, 160)),
    fill: fc.constantFrom(...FILL),
  });

const TAG_INDEX = { w: 0, v: 1, c: 2, m: 3, n: 4 } as const;
type Tag = keyof typeof TAG_INDEX;

/** The id of slot `slot` in run `nonce`, as sent (a number for numeric forms unless `asString`). */
function idValue(tag: Tag, nonce: number, slot: number, form: IdForm, asString: boolean): string | number {
  const n = 1_000_000_000 + nonce * 1000 + TAG_INDEX[tag] * 100 + slot;
  switch (form.form) {
    case "num":
      return asString ? String(n) : n;
    case "neg":
      return asString ? String(-n) : -n;
    case "str":
      return `${tag}${nonce}.${slot}:${form.suffix}`;
    case "long": {
      const head = `${tag}${nonce}.${slot}~`;
      return head + sized(ID_MAX - head.length, form.fill);
    }
  }
}

type Mutation =
  | { op: "set"; field: string; value: unknown; path: string }
  | { op: "drop"; fields: string[]; path: string }
  | { op: "replace"; value: unknown; path: "" }
  | { op: "oversize"; path: "" };

type Recipe = {
  slot: number;
  asString: boolean;
  /** comments only: which id field(s) carry the id */
  idStyle: "comment_id" | "platform_comment_id" | "both";
  topic: number;
  topicAsString: boolean;
  fields: Obj;
  extras: [string, unknown][];
  mutation: Mutation | null;
};

const DEEP_MAX = 2_000;

const extraKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "x_nested"),
  fc.string({ maxLength: 12 }).map((s) => `x_${s}`),
);
const extraValue = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  { arbitrary: anyText, weight: 2 },
  {
    arbitrary: fc
      .record({ depth: fc.integer({ min: 10, max: DEEP_MAX }), object: fc.boolean() })
      .map((d) => new Nested(d.depth, d.object)),
    weight: 1,
  },
);
const extras = fc.array(fc.tuple(extraKey, extraValue), { maxLength: 3 });

// Valid values
const optionalId = fc.oneof(
  cleanText.filter((s) => s.length >= 1 && s.length <= ID_MAX),
  fc.integer({ min: -1e12, max: 1e12 }),
  fc.constantFrom(null, 0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
);
const time = fc.oneof(
  fc.integer({ min: 1, max: 2_000_000_000 }),
  fc.integer({ min: 1e12, max: 2e12 }),
  fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, 1.7e308, Number.MAX_SAFE_INTEGER, 999_999_999_999, 1e12, null),
  fc.stringMatching(/^\d{1,16}$/),
);
const count = fc.oneof(fc.nat(), fc.constantFrom(Number.MAX_SAFE_INTEGER, null), fc.stringMatching(/^\d{1,15}$/));
const atLimit = (max: number) => fc.constantFrom(...FILL).map((fill) => new Sized(max, fill));
const text = (max: number) =>
  fc.oneof(
    { arbitrary: cleanText.map((s) => clip(s, max)), weight: 30 },
    { arbitrary: fc.constantFrom(null, ""), weight: 5 },
    { arbitrary: atLimit(max), weight: 1 },
  );
const requiredText = (max: number) =>
  fc.oneof(
    { arbitrary: cleanText, weight: 30 },
    { arbitrary: fc.constant(""), weight: 2 },
    { arbitrary: atLimit(max), weight: 1 },
  );
const user = () =>
  fc.oneof(
    {
      arbitrary: fc.record({ user_id: optionalId, user_name: text(NAME), avatar: text(URL_MAX) }, { requiredKeys: [] }),
      weight: 5,
    },
    { arbitrary: fc.constant(null), weight: 1 },
  );
/** A platform msg_type; names of Object.prototype members are left to their own property below. */
const msgType = fc
  .oneof(
    fc.constantFrom(
      "text",
      "image",
      "IMAGE",
      "Picture",
      "video",
      "file",
      "audio",
      "voice",
      "system",
      "notice",
      "emoji",
      "sticker",
      "toString",
      "valueOf",
      null,
    ),
    cleanText.map((s) => clip(s, 32)),
  )
  .filter((t) => t === null || !(t.toLowerCase() in {}));

// Invalid values, each definitely rejected
const over = (max: number) => fc.constantFrom(...FILL).map((fill) => new Sized(max + 1, fill));
const badOptionalId = fc.oneof(fc.constantFrom("", 1.5, -0.25, true, {}, [], 2 ** 53, -(2 ** 53), 1e300), over(ID_MAX));
const badRequiredId = fc.oneof(badOptionalId, fc.constant(null));
const badText = (max: number) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(5, 0, true, false, {}, [], ["text"]), weight: 3 },
    { arbitrary: over(max), weight: 1 },
  );
const badRequiredText = (max: number) => fc.oneof(badText(max), fc.constant(null));
const badTime = fc.constantFrom(-1, -1e-9, "12abc", "", "1e10", "1.5", "-5", " 5", "12345678901234567", true, {}, []);
const badCount = fc.constantFrom(-1, 1.5, "abc", "", "-1", "1.5", "1234567890123456", 2 ** 53, true, {}, []);
const badDirection = fc.constantFrom("IN", "sideways", "", 1, true, {}, []);
/** A bad user object and the path suffix its issue names. */
const badUser: fc.Arbitrary<[unknown, string]> = fc.oneof(
  fc.constantFrom<[unknown, string]>(["x", ""], [[], ""], [5, ""], [true, ""]),
  badOptionalId.map((v): [unknown, string] => [{ user_id: v }, ".user_id"]),
  badText(NAME).map((v): [unknown, string] => [{ user_name: v }, ".user_name"]),
  badText(URL_MAX).map((v): [unknown, string] => [{ avatar: v }, ".avatar"]),
);
const badStats: fc.Arbitrary<[unknown, string]> = fc.oneof(
  fc.constantFrom<[unknown, string]>(["x", ""], [[], ""], [7, ""]),
  badCount.map((v): [unknown, string] => [{ comment_count: v }, ".comment_count"]),
  badCount.map((v): [unknown, string] => [{ like_count: v }, ".like_count"]),
);
const notAnObject = fc.constantFrom("item", 5, null, true, [], [{ comment_id: "x" }], "");

const set = (field: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> =>
  value.map((v) => ({ op: "set", field, value: v, path: field }));
const setNested = (field: string, value: fc.Arbitrary<[unknown, string]>): fc.Arbitrary<Mutation> =>
  value.map(([v, suffix]) => ({ op: "set", field, value: v, path: field + suffix }));
const drop = (fields: string[], path = fields[0]!): fc.Arbitrary<Mutation> => fc.constant({ op: "drop", fields, path });
const wholeItem: fc.Arbitrary<Mutation>[] = [
  notAnObject.map((value): Mutation => ({ op: "replace", value, path: "" })),
];
/** An item over the item limit: rarer than the others, each one is a quarter MiB. */
const oversize = fc.constant<Mutation>({ op: "oversize", path: "" });

type KindSpec = {
  tag: Tag;
  idField: string;
  /** the topic reference: comments → works, DMs → conversations */
  topicField?: string;
  topicTag?: Tag;
  required: Record<string, fc.Arbitrary<unknown>>;
  optional: Record<string, fc.Arbitrary<unknown>>;
  mutations: fc.Arbitrary<Mutation>[];
};

/** Text in validated fields is generated well-formed; lone surrogates have their own property below. */
const SPECS: Record<Kind, KindSpec> = {
  contents: {
    tag: "w",
    idField: "work_id",
    required: {},
    optional: {
      title: text(TITLE),
      cover: text(URL_MAX),
      publish_time: time,
      stats: fc.oneof(fc.record({ comment_count: count, like_count: count }, { requiredKeys: [] }), fc.constant(null)),
    },
    mutations: [
      drop(["work_id"]),
      set("work_id", badRequiredId),
      set("title", badText(TITLE)),
      set("cover", badText(URL_MAX)),
      set("publish_time", badTime),
      setNested("stats", badStats),
      ...wholeItem,
    ],
  },
  comments: {
    tag: "c",
    idField: "comment_id",
    topicField: "work_id",
    topicTag: "w",
    required: { content: requiredText(MAX_CONTENT_CHARS) },
    optional: {
      author_id: optionalId,
      author_name: text(NAME),
      author_avatar: text(URL_MAX),
      create_time: time,
      parent_comment_id: optionalId,
      like_count: count,
    },
    mutations: [
      drop(["comment_id", "platform_comment_id"]),
      set("comment_id", badOptionalId),
      set("platform_comment_id", badOptionalId),
      drop(["work_id"]),
      set("work_id", badRequiredId),
      drop(["content"]),
      set("content", badRequiredText(MAX_CONTENT_CHARS)),
      set("author_id", badOptionalId),
      set("author_name", badText(NAME)),
      set("author_avatar", badText(URL_MAX)),
      set("create_time", badTime),
      set("parent_comment_id", badOptionalId),
      set("like_count", badCount),
      ...wholeItem,
    ],
  },
  conversations: {
    tag: "v",
    idField: "conversation_id",
    required: {},
    optional: { participant: user(), unread_count: count, update_time: time },
    mutations: [
      drop(["conversation_id"]),
      set("conversation_id", badRequiredId),
      setNested("participant", badUser),
      set("unread_count", badCount),
      set("update_time", badTime),
      ...wholeItem,
    ],
  },
  messages: {
    tag: "m",
    idField: "msg_id",
    topicField: "conversation_id",
    topicTag: "v",
    required: { content: requiredText(MAX_CONTENT_CHARS) },
    optional: {
      msg_type: msgType,
      sender: user(),
      direction: fc.constantFrom("in", "out", null),
      create_time: time,
      file_url: text(URL_MAX),
      file_name: text(NAME),
    },
    mutations: [
      drop(["msg_id"]),
      set("msg_id", badRequiredId),
      drop(["conversation_id"]),
      set("conversation_id", badRequiredId),
      drop(["content"]),
      set("content", badRequiredText(MAX_CONTENT_CHARS)),
      set("msg_type", badText(32)),
      setNested("sender", badUser),
      set("direction", badDirection),
      set("create_time", badTime),
      set("file_url", badText(URL_MAX)),
      set("file_name", badText(NAME)),
      ...wholeItem,
    ],
  },
  notifications: {
    tag: "n",
    idField: "notification_id",
    required: {},
    optional: {
      type: text(64),
      title: text(TITLE),
      content: text(MAX_CONTENT_CHARS),
      create_time: time,
      related_id: optionalId,
    },
    mutations: [
      drop(["notification_id"]),
      set("notification_id", badRequiredId),
      set("type", badText(64)),
      set("title", badText(TITLE)),
      set("content", badText(MAX_CONTENT_CHARS)),
      set("create_time", badTime),
      set("related_id", badOptionalId),
      ...wholeItem,
    ],
  },
};

const SLOTS = 6;
const TOPIC_SLOTS = 2;

const recipe = (kind: Kind): fc.Arbitrary<Recipe> => {
  const spec = SPECS[kind];
  return fc.record({
    slot: fc.nat({ max: SLOTS - 1 }),
    asString: fc.boolean(),
    idStyle: fc.constantFrom("comment_id", "comment_id", "platform_comment_id", "both"),
    topic: fc.nat({ max: TOPIC_SLOTS - 1 }),
    topicAsString: fc.boolean(),
    fields: fc.record(
      { ...spec.required, ...spec.optional },
      { requiredKeys: Object.keys(spec.required) as never[] },
    ) as unknown as fc.Arbitrary<Obj>,
    extras,
    mutation: fc.oneof(
      { arbitrary: fc.constant(null), weight: 60 },
      { arbitrary: fc.oneof(...spec.mutations), weight: 20 },
      { arbitrary: oversize, weight: 1 },
    ),
  });
};

type Names = Record<Tag, IdForm[]>;
const names: fc.Arbitrary<Names> = fc.record({
  w: fc.array(idForm(), { minLength: TOPIC_SLOTS, maxLength: TOPIC_SLOTS }),
  v: fc.array(idForm(), { minLength: TOPIC_SLOTS, maxLength: TOPIC_SLOTS }),
  c: fc.array(idForm(), { minLength: SLOTS, maxLength: SLOTS }),
  m: fc.array(idForm(), { minLength: SLOTS, maxLength: SLOTS }),
  n: fc.array(idForm(), { minLength: SLOTS, maxLength: SLOTS }),
});

type PushCase = { names: Names; items: Partial<Record<Kind, Recipe[]>>; repeat: boolean };
const pushCase: fc.Arbitrary<PushCase> = fc.record({
  names,
  items: fc.record(
    Object.fromEntries(ITEM_KINDS.map((kind) => [kind, fc.array(recipe(kind), { maxLength: 6 })])) as Record<
      Kind,
      fc.Arbitrary<Recipe[]>
    >,
    { requiredKeys: [] },
  ),
  repeat: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
});

function define(target: Obj, key: string, value: unknown): void {
  // `__proto__` as an own key, the way JSON.parse makes it.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The item as sent, or the non-object that replaces it. */
function materialize(kind: Kind, r: Recipe, n: Names, nonce: number): unknown {
  const spec = SPECS[kind];
  const item: Obj = {};
  // Works and conversations are the run's topics: their slots are the topic slots.
  const slot = kind === "contents" || kind === "conversations" ? r.topic : r.slot;
  const id = idValue(spec.tag, nonce, slot, n[spec.tag][slot]!, r.asString);
  if (kind === "comments") {
    if (r.idStyle !== "platform_comment_id") item.comment_id = id;
    if (r.idStyle === "platform_comment_id") item.platform_comment_id = id;
    if (r.idStyle === "both") item.platform_comment_id = `alt${nonce}.${r.slot}`;
  } else {
    item[spec.idField] = id;
  }
  if (spec.topicField && spec.topicTag) {
    item[spec.topicField] = idValue(spec.topicTag, nonce, r.topic, n[spec.topicTag][r.topic]!, r.topicAsString);
  }
  for (const [key, value] of Object.entries(r.fields)) item[key] = resolve(value);
  for (const [key, value] of r.extras) define(item, key, resolve(value));
  const m = r.mutation;
  if (!m) return item;
  switch (m.op) {
    case "set":
      item[m.field] = resolve(m.value);
      return item;
    case "drop":
      for (const field of m.fields) delete item[field];
      return item;
    case "replace":
      return resolve(m.value);
    case "oversize":
      item.x_padding = "x".repeat(MAX_ITEM_BYTES);
      return item;
  }
}

const ID_FIELDS = new Set([
  "comment_id",
  "platform_comment_id",
  "work_id",
  "author_id",
  "parent_comment_id",
  "msg_id",
  "conversation_id",
  "notification_id",
  "related_id",
]);
const TIME_FIELDS = new Set(["create_time", "publish_time", "update_time"]);
const COUNT_FIELDS = new Set(["like_count", "unread_count"]);

/** What the server keeps of a valid item's known fields: ids as strings, numeric strings as numbers. */
function normalize(kind: Kind, item: Obj): Obj {
  const spec = SPECS[kind];
  const known = new Set([
    spec.idField,
    "platform_comment_id",
    spec.topicField,
    ...Object.keys(spec.required),
    ...Object.keys(spec.optional),
  ]);
  const out: Obj = {};
  for (const [key, value] of Object.entries(item)) {
    if (!known.has(key)) continue;
    if (ID_FIELDS.has(key) && typeof value === "number") out[key] = String(value);
    else if ((TIME_FIELDS.has(key) || COUNT_FIELDS.has(key)) && typeof value === "string") out[key] = Number(value);
    else if ((key === "sender" || key === "participant") && value && typeof value === "object") {
      const u = { ...(value as Obj) };
      if (typeof u.user_id === "number") u.user_id = String(u.user_id);
      out[key] = u;
    } else if (key === "stats" && value && typeof value === "object") {
      const s = { ...(value as Obj) };
      for (const k of ["comment_count", "like_count"]) if (typeof s[k] === "string") s[k] = Number(s[k]);
      out[key] = s;
    } else out[key] = value;
  }
  return out;
}

function itemId(kind: Kind, item: Obj): string {
  if (kind === "comments") return String(item.comment_id ?? item.platform_comment_id);
  return String(item[SPECS[kind].idField]);
}

/** Milliseconds the backend shows for a time field, or null when it falls back to "now". */
function millis(value: unknown): number | null {
  if (typeof value !== "number" || !(value > 0)) return null;
  return value < 1e12 ? Math.round(value * 1000) : Math.round(value);
}

const MESSAGE_TYPES = ["text", "image", "video", "file", "system"];
const CANONICAL_TYPES: Record<string, string> = {
  text: "text",
  image: "image",
  video: "video",
  file: "file",
  system: "system",
};

function expectComment(message: Json, c: Obj, accountId: string): void {
  const ms = millis(c.create_time);
  like(
    message,
    {
      id: itemId("comments", c),
      channelId: accountId,
      topicId: c.work_id,
      kind: "comment",
      type: "text",
      direction: "in",
      content: c.content,
      fromId: c.author_id ?? "unknown",
      fromName: (c.author_name as string) || "Unknown user",
      replyToId: c.parent_comment_id ?? undefined,
      fromAvatar: c.author_avatar ?? undefined,
      ...(ms === null ? {} : { timestamp: ms }),
    },
    `comment ${show(itemId("comments", c))}`,
  );
  expect(typeof message.timestamp).toBe("number");
}

function expectDm(message: Json, m: Obj, accountId: string): void {
  const sender = (m.sender ?? {}) as Obj;
  const ms = millis(m.create_time);
  like(
    message,
    {
      id: m.msg_id,
      channelId: accountId,
      topicId: m.conversation_id,
      kind: "dm",
      content: m.content,
      direction: m.direction ?? "in",
      fromId: sender.user_id ?? "unknown",
      fromName: (sender.user_name as string) || "Unknown user",
      fromAvatar: sender.avatar ?? undefined,
      fileUrl: m.file_url ?? undefined,
      fileName: m.file_name ?? undefined,
      ...(ms === null ? {} : { timestamp: ms }),
    },
    `dm ${show(m.msg_id)}`,
  );
  expect(MESSAGE_TYPES, `type of dm ${show(m.msg_id)} with msg_type ${show(m.msg_type)}`).toContain(message.type);
  const canonical = typeof m.msg_type === "string" ? CANONICAL_TYPES[m.msg_type.toLowerCase()] : "text";
  if (canonical) expect(message.type).toBe(canonical);
}

// ---------------------------------------------------------------------------
// The expected outcome of one generated push

type Planned = {
  body: Json;
  /** per kind: the items in order, valid (merged, normalized) by id, invalid by index with their path */
  valid: Record<Kind, Map<string, Obj>>;
  invalid: { kind: Kind; index: number; path: string }[];
  received: Partial<Record<Kind, number>>;
};

function plan(accountId: string, c: PushCase, nonce: number): Planned {
  const snapshot: Obj = {};
  const valid = Object.fromEntries(ITEM_KINDS.map((k) => [k, new Map<string, Obj>()])) as Record<
    Kind,
    Map<string, Obj>
  >;
  const invalid: Planned["invalid"] = [];
  const received: Partial<Record<Kind, number>> = {};
  for (const kind of ITEM_KINDS) {
    const recipes = c.items[kind];
    if (!recipes) continue;
    const items = recipes.map((r) => materialize(kind, r, c.names, nonce));
    snapshot[kind] = items;
    received[kind] = items.length;
    recipes.forEach((r, index) => {
      if (r.mutation) {
        invalid.push({ kind, index, path: r.mutation.path });
        return;
      }
      const item = normalize(kind, items[index] as Obj);
      const id = itemId(kind, item);
      valid[kind].set(id, { ...valid[kind].get(id), ...item });
    });
  }
  return {
    body: { type: "worker:data:sync", accountId, platform: "douyin", timestamp: Date.now(), snapshot },
    valid,
    invalid,
    received,
  };
}

/** Events a push of fresh items makes: one per new message and notification, one topic:updated per touched topic. */
function expectedEvents(p: Planned): number {
  const touched = new Set<string>([...p.valid.contents.keys(), ...p.valid.conversations.keys()]);
  for (const c of p.valid.comments.values()) touched.add(c.work_id as string);
  for (const m of p.valid.messages.values()) touched.add(m.conversation_id as string);
  return p.valid.comments.size + p.valid.messages.size + p.valid.notifications.size + touched.size;
}

function expectPushAnswer(res: { status: number; json: Json }, p: Planned): void {
  if (res.status !== 200) throw new Error(`push answered ${res.status}: ${JSON.stringify(res.json).slice(0, 500)}`);
  const json = res.json;
  expect(json.ok).toBe(true);
  expect(Object.keys(json.counts).sort()).toEqual(Object.keys(p.received).sort());
  const rejectedBy = new Map<string, Json>();
  for (const r of json.rejected) {
    expect(ITEM_KINDS).toContain(r.kind);
    expect(
      Number.isInteger(r.index) && r.index >= 0 && r.index < (p.received[r.kind as Kind] ?? 0),
      `rejected index ${r.kind}[${r.index}] in range`,
    ).toBe(true);
    expectIssues(r.issues);
    rejectedBy.set(`${r.kind}[${r.index}]`, r);
  }
  for (const bad of p.invalid) {
    const r = rejectedBy.get(`${bad.kind}[${bad.index}]`);
    expect(r, `${bad.kind}[${bad.index}] should be rejected naming "${bad.path}"`).toBeDefined();
    const paths = r.issues.map((i: Json) => i.path);
    expect(paths, `${bad.kind}[${bad.index}] issue paths`).toContain(bad.path);
  }
  expect(
    json.rejected.length,
    `only the invalid items are rejected: ${JSON.stringify(json.rejected).slice(0, 500)}`,
  ).toBe(p.invalid.length);
  for (const kind of Object.keys(p.received) as Kind[]) {
    const counts = json.counts[kind];
    const rejected = p.invalid.filter((b) => b.kind === kind).length;
    expect(counts.received).toBe(p.received[kind]);
    expect(counts, `${kind} counts`).toEqual({ received: p.received[kind], new: p.valid[kind].size, updated: 0 });
    // received = stored (new/updated/unchanged, duplicates merged) + rejected
    expect(counts.new + counts.updated + rejected).toBeLessThanOrEqual(counts.received);
  }
}

/** Every message of a topic, oldest first, over HTTP. */
async function topicMessages(accountId: string, topicId: string): Promise<Json[]> {
  const page = await get(messagesPath(accountId, topicId));
  if (page.status !== 200)
    throw new Error(`GET messages of ${JSON.stringify(topicId)} answered ${page.status}: ${JSON.stringify(page.json)}`);
  expect(page.json.hasMore).toBe(false);
  return page.json.messages;
}

type Model = {
  comments: Map<string, Obj>;
  dms: Map<string, Obj>;
  contents: Map<string, Obj>;
  conversations: Map<string, Obj>;
  notifications: Map<string, Obj>;
};

async function checkStored(accountId: string, p: Planned, seqBefore: number, seqAfter: number): Promise<void> {
  const byTopic = new Map<string, { kind: "comments" | "messages"; items: Obj[] }>();
  for (const kind of ["comments", "messages"] as const) {
    for (const item of p.valid[kind].values()) {
      const topic = (kind === "comments" ? item.work_id : item.conversation_id) as string;
      const entry = byTopic.get(topic) ?? { kind, items: [] };
      entry.items.push(item);
      byTopic.set(topic, entry);
    }
  }
  for (const [topicId, { kind, items }] of byTopic) {
    const messages = await topicMessages(accountId, topicId);
    eq(
      messages.map((m) => m.id).sort(),
      items.map((i) => itemId(kind, i)).sort(),
      `message ids of topic ${show(topicId)}`,
    );
    const seqs = messages.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    for (const m of messages)
      expect(m.seq > seqBefore && m.seq <= seqAfter, `message seq ${m.seq} in (${seqBefore}, ${seqAfter}]`).toBe(true);
    for (const item of items) {
      const message = messages.find((m) => m.id === itemId(kind, item));
      if (kind === "comments") expectComment(message, item, accountId);
      else expectDm(message, item, accountId);
    }
    if (kind === "messages") {
      // The Douyin-style twin of the same list.
      const compat = await get(
        `/api/im/messages?account_id=${accountId}&conversation_id=${encodeURIComponent(topicId)}&count=100`,
      );
      expect(compat.status).toBe(200);
      expect(compat.json.status_code).toBe(0);
      const list = compat.json.data.messages;
      expect(list.length).toBe(items.length);
      for (const entry of list) {
        const message = messages.find((m) => m.id === entry.msg_id);
        expect(message, `compat msg_id ${show(entry.msg_id)}`).toBeDefined();
        eq(
          entry,
          {
            msg_id: message.id,
            conversation_id: topicId,
            sender: { uid: message.fromId, nickname: message.fromName },
            content: message.content,
            msg_type: message.type,
            create_time: Math.floor(message.timestamp / 1000),
          },
          "compat message",
        );
      }
    }
  }
}

/** Pages through a compatibility list to its end. */
async function compatAll(path: string, list: string): Promise<Json[]> {
  const all: Json[] = [];
  for (let cursor = 0; ;) {
    const res = await get(`${path}&count=100&cursor=${cursor}`);
    expect(res.status).toBe(200);
    all.push(...res.json.data[list]);
    cursor = res.json.data.cursor;
    if (!res.json.data.has_more) return all;
  }
}

/** Everything the property stored, read back through the topic list, the compat API and the replay. */
async function checkModel(accountId: string, model: Model, events: Frame[]): Promise<void> {
  const topics: Json[] = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
  const topicById = new Map(topics.map((t) => [t.id, t]));
  for (const [id, item] of model.contents) {
    const topic = topicById.get(id);
    expect(topic, `work topic ${show(id)}`).toBeDefined();
    like(
      topic,
      { kind: "work", title: (item.title as string) || "Untitled work", avatar: item.cover ?? undefined },
      `work topic ${show(id)}`,
    );
  }
  for (const [id, item] of model.conversations) {
    const topic = topicById.get(id);
    const participant = (item.participant ?? {}) as Obj;
    expect(topic, `conversation topic ${show(id)}`).toBeDefined();
    like(
      topic,
      {
        kind: "conversation",
        title: (participant.user_name as string) || "Unknown user",
        avatar: participant.avatar ?? undefined,
      },
      `conversation topic ${show(id)}`,
    );
  }
  const perTopic = new Map<string, { count: number; unread: number }>();
  for (const c of model.comments.values()) {
    const entry = perTopic.get(c.work_id as string) ?? { count: 0, unread: 0 };
    perTopic.set(c.work_id as string, { count: entry.count + 1, unread: entry.unread + 1 });
  }
  for (const m of model.dms.values()) {
    const entry = perTopic.get(m.conversation_id as string) ?? { count: 0, unread: 0 };
    perTopic.set(m.conversation_id as string, {
      count: entry.count + 1,
      unread: entry.unread + ((m.direction ?? "in") === "in" ? 1 : 0),
    });
  }
  for (const [id, figures] of perTopic) {
    like(
      topicById.get(id),
      { messageCount: figures.count, unreadCount: figures.unread },
      `figures of topic ${show(id)}`,
    );
  }

  const contents = await compatAll(`/api/im/contents?account_id=${accountId}`, "contents");
  const contentById = new Map(contents.map((c) => [c.aweme_id, c]));
  for (const [id, item] of model.contents) {
    const stats = (item.stats ?? {}) as Obj;
    like(
      contentById.get(id),
      {
        desc: item.title ?? "",
        statistics: { comment_count: stats.comment_count ?? 0, digg_count: stats.like_count ?? 0 },
      },
      `compat content ${show(id)}`,
    );
  }
  const conversations = await compatAll(`/api/im/conversations?account_id=${accountId}`, "conversations");
  const conversationById = new Map(conversations.map((c) => [c.conversation_id, c]));
  for (const [id, item] of model.conversations) {
    const participant = (item.participant ?? {}) as Obj;
    like(
      conversationById.get(id)?.user,
      { uid: participant.user_id ?? "", nickname: (participant.user_name as string) || "Unknown user" },
      `compat conversation ${show(id)}`,
    );
  }
  const discussions = await compatAll(`/api/im/discussions?account_id=${accountId}`, "discussions");
  const discussionById = new Map(discussions.map((d) => [d.cid, d]));
  expect(discussionById.size).toBe(discussions.length);
  for (const [id, c] of model.comments) {
    like(
      discussionById.get(id),
      {
        text: c.content,
        aweme_id: c.work_id,
        user: { uid: c.author_id ?? "unknown", nickname: (c.author_name as string) || "Unknown user" },
      },
      `compat discussion ${show(id)}`,
    );
  }
  const unified = await compatAll(`/api/im/unified-messages?account_id=${accountId}`, "messages");
  const unifiedIds = new Set(unified.map((u) => `${u.type}:${u.id}`));
  for (const id of model.comments.keys())
    expect(unifiedIds.has(`comment:${id}`), `unified comment ${show(id)}`).toBe(true);
  for (const id of model.dms.keys()) expect(unifiedIds.has(`message:${id}`), `unified message ${show(id)}`).toBe(true);

  // Every new message and notification went out exactly once, with its exact content.
  const sent = new Map<string, Json>();
  for (const e of events) {
    if (e.type === "channel:message") {
      const key = `${e.payload.message.kind}:${e.payload.message.id}`;
      expect(sent.has(key), `one channel:message for ${show(key)}`).toBe(false);
      sent.set(key, e.payload.message);
    }
    if (e.type === "notification:new") {
      const key = `notification:${e.payload.notification.id}`;
      expect(sent.has(key), `one notification:new for ${show(key)}`).toBe(false);
      sent.set(key, e.payload.notification);
    }
  }
  for (const [id, c] of model.comments)
    eq(sent.get(`comment:${id}`)?.content, c.content, `event of comment ${show(id)}`);
  for (const [id, m] of model.dms) eq(sent.get(`dm:${id}`)?.content, m.content, `event of dm ${show(id)}`);
  for (const [id, n] of model.notifications) {
    const notification = sent.get(`notification:${id}`);
    expect(notification, `notification ${show(id)}`).toBeDefined();
    const ms = millis(n.create_time);
    like(
      notification,
      {
        id,
        channelId: accountId,
        type: (n.type as string) || "system",
        title: n.title ?? "",
        content: n.content ?? "",
        relatedId: n.related_id ?? undefined,
        ...(ms === null ? {} : { timestamp: ms }),
      },
      `notification ${show(id)}`,
    );
  }
}

let nonceCounter = 0;
/** A fresh number per property execution (shrinking included), so ids never repeat. */
const nextNonce = () => ++nonceCounter;

/**
 * Runs of each property. The push properties send one generated body per run (a repeat of a
 * body not counted), each checking its own count; the totals test holds their sum to 1,000.
 */
const RUNS = {
  pushes: 520,
  envelopes: 500,
  sharedIds: 100,
  loneSurrogates: 40,
  msgType: 30,
  frames: 250,
  validation: 600,
} as const;
/** The properties that each send one generated push body per run. */
const PUSH_PROPERTIES = ["pushes", "envelopes", "sharedIds", "loneSurrogates", "msgType"] as const;

// ---------------------------------------------------------------------------

describe("generated snapshot pushes", () => {
  it(`${RUNS.pushes} generated pushes of valid, mutated and duplicated items: each 200 with exact counts, valid items stored exactly, invalid ones rejected naming the field`, async () => {
    const accountId = uid("fuzz-items");
    const base = await seedBaseline(accountId);
    let seq = base.seq;
    const model: Model = {
      comments: new Map(),
      dms: new Map(),
      contents: new Map(),
      conversations: new Map(),
      notifications: new Map(),
    };
    // One body per run, a repeat not counted: this property's share of the 1,000 in the totals.
    const sent = { bodies: 0, items: 0 };
    await fc.assert(
      fc.asyncProperty(pushCase, async (c) => {
        const nonce = nextNonce();
        const p = plan(accountId, c, nonce);
        const body = JSON.stringify(p.body);
        const res = await postSync(accountId, body);
        sent.bodies++;
        sent.items += Object.values(p.received).reduce((a, b) => a + b, 0);
        const seqBefore = seq;
        // Kept up to date before any assertion, so a shrinking run starts from the room's real seq.
        if (res.status === 200) seq = res.json.seq;
        expectPushAnswer(res, p);
        expect(res.json.seq).toBe(seqBefore + expectedEvents(p));
        await checkStored(accountId, p, seqBefore, seq);
        if (c.repeat) {
          // The same body again: nothing new, nothing updated, no event.
          const again = await postSync(accountId, body);
          const seqFirst = seq;
          if (again.status === 200) seq = again.json.seq;
          expect(again.status).toBe(200);
          expect(again.json.seq).toBe(seqFirst);
          eq(again.json.rejected, res.json.rejected, "the same rejections");
          for (const kind of Object.keys(p.received)) {
            expect(again.json.counts[kind]).toEqual({ received: p.received[kind as Kind], new: 0, updated: 0 });
          }
        }
        for (const [id, item] of p.valid.comments) model.comments.set(id, item);
        for (const [id, item] of p.valid.messages) model.dms.set(id, item);
        for (const [id, item] of p.valid.contents) model.contents.set(id, item);
        for (const [id, item] of p.valid.conversations) model.conversations.set(id, item);
        for (const [id, item] of p.valid.notifications) model.notifications.set(id, item);
      }),
      { numRuns: RUNS.pushes },
    );
    console.log(`generated: ${sent.bodies} push bodies (${sent.items} items)`);
    expect(sent.bodies).toBe(RUNS.pushes);
    const { events, seq: replayed } = await expectBaselineIntact(base);
    expect(replayed).toBe(seq);
    await checkModel(accountId, model, events);
  }, 240_000);
});

// ---------------------------------------------------------------------------
// Envelopes

type EnvelopeCase =
  | {
      op: "valid";
      withType: boolean;
      platform: string | null;
      account: unknown;
      timestamp: number | null;
      extras: [string, unknown][];
    }
  | { op: "notJson"; text: string }
  | { op: "truncated"; at: number }
  | { op: "notObject"; value: unknown }
  | {
      op: "set";
      field: "accountId" | "type" | "platform" | "timestamp" | "account" | "snapshot";
      value: unknown;
      path: string;
    }
  | { op: "drop"; field: "accountId" | "snapshot" }
  | { op: "otherAccount" }
  | { op: "list"; kind: Kind; value: unknown }
  | { op: "tooMany"; kind: Kind }
  | { op: "tooBig" };

const notJson = fc
  .oneof(
    fc.string(),
    anyText,
    fc.constantFrom(
      "{oops",
      "{'accountId': 'x'}",
      '{"accountId":',
      "undefined",
      "NaN",
      "[1,]",
      '{"a":1,}',
      "\uFEFF",
      "",
      " ",
    ),
  )
  .filter((text) => {
    try {
      // A leading byte order mark is dropped when the body is decoded.
      JSON.parse(text.replace(/^\uFEFF/, ""));
      return false;
    } catch {
      return true;
    }
  });

const envelopeCase: fc.Arbitrary<EnvelopeCase> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("valid" as const),
      withType: fc.boolean(),
      platform: fc.oneof(
        fc.constant(null),
        cleanText.map((s) => clip(s, 64)).filter((s) => s.length > 0),
      ),
      account: fc.oneof(
        fc.constant(undefined),
        fc.constant(null),
        fc.record({ name: text(NAME), avatar: text(URL_MAX), platform_user_id: optionalId }, { requiredKeys: [] }),
      ),
      timestamp: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
      extras: fc.array(fc.tuple(extraKey, extraValue), { maxLength: 3 }),
    }),
  },
  { weight: 3, arbitrary: notJson.map((text) => ({ op: "notJson" as const, text })) },
  {
    weight: 2,
    arbitrary: fc
      .double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
      .map((at) => ({ op: "truncated" as const, at })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
        fc.array(fc.jsonValue(), { maxLength: 3 }),
      )
      .map((value) => ({ op: "notObject" as const, value })),
  },
  {
    weight: 8,
    arbitrary: fc.oneof(
      fc
        .constantFrom<unknown>(5, "", "a b", "ü", "../x", "a/b", "acc?x", null, true, {}, [], "x".repeat(129))
        .map((value) => ({ op: "set" as const, field: "accountId" as const, value, path: "accountId" })),
      fc
        .constantFrom<unknown>("worker:data:push", "", 5, null)
        .map((value) => ({ op: "set" as const, field: "type" as const, value, path: "type" })),
      fc
        .constantFrom<unknown>("", "p".repeat(65), 5, null, {})
        .map((value) => ({ op: "set" as const, field: "platform" as const, value, path: "platform" })),
      fc
        .constantFrom<unknown>(0, -1, 1.5, "1730000000000", 2 ** 53, null, true)
        .map((value) => ({ op: "set" as const, field: "timestamp" as const, value, path: "timestamp" })),
      fc
        .constantFrom<unknown>("x", [], 5, true)
        .map((value) => ({ op: "set" as const, field: "account" as const, value, path: "account" })),
      badText(NAME).map((v) => ({
        op: "set" as const,
        field: "account" as const,
        value: { name: v },
        path: "account.name",
      })),
      badText(URL_MAX).map((v) => ({
        op: "set" as const,
        field: "account" as const,
        value: { avatar: v },
        path: "account.avatar",
      })),
      badOptionalId.map((v) => ({
        op: "set" as const,
        field: "account" as const,
        value: { platform_user_id: v },
        path: "account.platform_user_id",
      })),
      fc
        .constantFrom<unknown>(null, "x", [], 5, true)
        .map((value) => ({ op: "set" as const, field: "snapshot" as const, value, path: "snapshot" })),
      fc.constantFrom("accountId" as const, "snapshot" as const).map((field) => ({ op: "drop" as const, field })),
      fc.constant({ op: "otherAccount" as const }),
      fc
        .tuple(fc.constantFrom(...ITEM_KINDS), fc.constantFrom<unknown>({}, "x", 5, null, true, { 0: {} }))
        .map(([kind, value]) => ({ op: "list" as const, kind, value })),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...ITEM_KINDS).map((kind) => ({ op: "tooMany" as const, kind })) },
  { weight: 1, arbitrary: fc.constant({ op: "tooBig" as const }) },
);

const MAX_PUSH = 16 * 1024 * 1024;

type EnvelopePlan = {
  body: string;
  status: 200 | 400 | 413;
  path?: string;
  message?: RegExp;
  canary?: { kind: "comments" | "messages"; topicId: string; id: string; content: string };
};

function planEnvelope(accountId: string, c: EnvelopeCase, nonce: number): EnvelopePlan {
  const content = `canary ${nonce} '); DROP TABLE events;-- 😀`;
  const comments = { kind: "comments" as const, topicId: `canary-w${nonce}`, id: `canary-c${nonce}`, content };
  const messages = { kind: "messages" as const, topicId: `canary-v${nonce}`, id: `canary-m${nonce}`, content };
  const canaryItem = (canary: typeof comments | typeof messages) =>
    canary.kind === "comments"
      ? { comment_id: canary.id, work_id: canary.topicId, content, author_id: "canary-author" }
      : { msg_id: canary.id, conversation_id: canary.topicId, content, sender: { user_id: "canary-author" } };
  const envelope: Obj = {
    type: "worker:data:sync",
    accountId,
    platform: "douyin",
    timestamp: Date.now(),
    snapshot: { comments: [canaryItem(comments)] },
  };
  const json = (): string => JSON.stringify(envelope);
  switch (c.op) {
    case "valid": {
      if (!c.withType) delete envelope.type;
      if (c.platform === null) delete envelope.platform;
      else envelope.platform = c.platform;
      if (c.account !== undefined) envelope.account = resolve(c.account);
      if (c.timestamp === null) delete envelope.timestamp;
      else envelope.timestamp = c.timestamp;
      for (const [key, value] of c.extras) if (!Object.hasOwn(envelope, key)) define(envelope, key, resolve(value));
      return { body: json(), status: 200, canary: comments };
    }
    case "notJson":
      return { body: c.text, status: 400, message: /not valid JSON/ };
    case "truncated": {
      const text = json();
      return { body: text.slice(0, Math.floor(c.at * text.length)), status: 400, message: /not valid JSON/ };
    }
    case "notObject":
      return { body: JSON.stringify(c.value), status: 400 };
    case "set":
      envelope[c.field] = resolve(c.value);
      return { body: json(), status: 400, path: c.path, canary: c.field === "snapshot" ? undefined : comments };
    case "drop":
      delete envelope[c.field];
      return { body: json(), status: 400, path: c.field, canary: c.field === "snapshot" ? undefined : comments };
    case "otherAccount":
      envelope.accountId = `${accountId}-other`;
      return { body: json(), status: 400, path: "accountId", message: /must equal/, canary: comments };
    case "list": {
      const canary = c.kind === "comments" ? messages : comments;
      envelope.snapshot = { [canary.kind]: [canaryItem(canary)], [c.kind]: c.value };
      return { body: json(), status: 400, path: `snapshot.${c.kind}`, canary };
    }
    case "tooMany": {
      const canary = c.kind === "comments" ? messages : comments;
      envelope.snapshot = { [canary.kind]: [canaryItem(canary)] };
      // 100,001 items, one over the limit of a list; spliced in as text to keep the body cheap.
      const list = `[${"0,".repeat(100_000)}0]`;
      return {
        body: json().replace(/}}$/, `,${JSON.stringify(c.kind)}:${list}}}`),
        status: 400,
        path: `snapshot.${c.kind}`,
        canary,
      };
    }
    case "tooBig":
      envelope.padding = "x".repeat(MAX_PUSH);
      return { body: json(), status: 413, canary: comments };
  }
}

describe("generated envelopes", () => {
  it(`${RUNS.envelopes} generated envelopes, broken and valid: 400/413 in the §3 shape storing nothing, or 200 storing the snapshot`, async () => {
    const accountId = uid("fuzz-envelope");
    const base = await seedBaseline(accountId);
    let seq = base.seq;
    // One body per run: this property's share of the 1,000 in the totals.
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(envelopeCase, async (c) => {
        const nonce = nextNonce();
        const p = planEnvelope(accountId, c, nonce);
        const res = await postSync(accountId, p.body);
        sent++;
        const seqBefore = seq;
        if (res.status === 200) seq = res.json.seq;
        expect(res.status, JSON.stringify(res.json).slice(0, 300)).toBe(p.status);
        if (p.status === 200) {
          expect(res.json.seq).toBe(seqBefore + 2);
          expect(res.json.counts).toEqual({ comments: { received: 1, new: 1, updated: 0 } });
          expect(res.json.rejected).toEqual([]);
          const messages = await topicMessages(accountId, p.canary!.topicId);
          expect(messages.map((m) => [m.id, m.content])).toEqual([[p.canary!.id, p.canary!.content]]);
          return;
        }
        expectErrorShape(res.json, p.status);
        const error = res.json.error;
        expect(error.code).toBe(p.status === 413 ? "payload_too_large" : "invalid_body");
        if (p.message) expect(error.message).toMatch(p.message);
        if (p.path !== undefined) {
          expect(
            error.issues?.map((i: Json) => i.path),
            error.message,
          ).toContain(p.path);
          // The message names the field.
          expect(error.message).toContain(p.path);
        }
        // Nothing stored: the canary item is not there, and the next 200 (and the final replay) finds the seq unmoved.
        if (p.canary) {
          const page = await get(messagesPath(accountId, p.canary.topicId));
          expect(page.status).toBe(404);
          expectErrorShape(page.json, 404);
        }
      }),
      { numRuns: RUNS.envelopes },
    );
    expect(sent).toBe(RUNS.envelopes);
    const { seq: replayed } = await expectBaselineIntact(base);
    expect(replayed).toBe(seq);
    expect(await channelSeq(accountId)).toBe(seq);
  }, 120_000);
});

// ---------------------------------------------------------------------------
// Ids shared across kinds inside one push

type SharedItem = { id: number; topic: number; content: string };
type SharedCase = { comments: SharedItem[]; messages: SharedItem[]; contents: number[]; conversations: number[] };
const sharedItem = fc.record({ id: fc.nat({ max: 2 }), topic: fc.nat({ max: 2 }), content: cleanText });
const sharedCase: fc.Arbitrary<SharedCase> = fc.record({
  comments: fc.array(sharedItem, { minLength: 1, maxLength: 4 }),
  messages: fc.array(sharedItem, { minLength: 1, maxLength: 4 }),
  contents: fc.array(fc.nat({ max: 2 }), { maxLength: 2 }),
  conversations: fc.array(fc.nat({ max: 2 }), { maxLength: 2 }),
});

const ID_PATHS = ["comment_id", "platform_comment_id", "msg_id", "work_id", "conversation_id"];

/**
 * One name used as a comment id, a DM id, a work and a conversation in the same push. What is
 * refused across two pushes ("already a comment of this account") must be refused, not
 * crash or mix kinds, inside one.
 */
async function checkSharedIds(accountId: string, c: SharedCase, nonce: number): Promise<void> {
  const name = (k: number) => `x${nonce}.${k}`;
  const snapshot = {
    contents: c.contents.map((k) => ({ work_id: name(k), title: `work ${k}` })),
    conversations: c.conversations.map((k) => ({ conversation_id: name(k), participant: { user_name: `buyer ${k}` } })),
    comments: c.comments.map((i) => ({ comment_id: name(i.id), work_id: name(i.topic), content: i.content })),
    messages: c.messages.map((i) => ({ msg_id: name(i.id), conversation_id: name(i.topic), content: i.content })),
  };
  const res = await pushSnapshot(accountId, snapshot);
  if (res.status !== 200)
    throw new Error(`push answered ${res.status}: ${JSON.stringify(res.json)} for ${JSON.stringify(snapshot)}`);
  const rejected = new Set<string>();
  for (const r of res.json.rejected) {
    expectIssues(r.issues);
    expect(ID_PATHS, JSON.stringify(r)).toContain(r.issues[0].path);
    rejected.add(`${r.kind}[${r.index}]`);
  }
  const topics: Json[] = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
  const kindOf = new Map(topics.map((t) => [t.id, t.kind]));
  const seen = new Map<string, Json>();
  for (let k = 0; k <= 2; k++) {
    const topicKind = kindOf.get(name(k));
    if (!topicKind) continue;
    for (const message of await topicMessages(accountId, name(k))) {
      // A work holds comments, a conversation DMs.
      expect([message.kind, topicKind], `message ${message.id} in topic ${name(k)}`).toEqual([
        topicKind === "work" ? "comment" : "dm",
        topicKind,
      ]);
      expect(seen.has(message.id), `message id ${message.id} stored once`).toBe(false);
      seen.set(message.id, message);
    }
  }
  for (const kind of ["comments", "messages"] as const) {
    const items = c[kind];
    const groups = new Map<number, number[]>();
    items.forEach((item, index) => groups.set(item.id, [...(groups.get(item.id) ?? []), index]));
    for (const [id, indices] of groups) {
      if (indices.some((i) => rejected.has(`${kind}[${i}]`))) continue;
      const last = items[indices[indices.length - 1]!]!;
      const message = seen.get(name(id));
      expect(message, `${kind} ${name(id)} is stored or rejected`).toBeDefined();
      like(
        message,
        { kind: kind === "comments" ? "comment" : "dm", topicId: name(last.topic), content: last.content },
        `${kind} ${name(id)}`,
      );
    }
  }
}

describe("validation without zod", () => {
  it(`on the items of ${RUNS.validation} generated pushes, the fast path returns exactly what zod returns, or leaves the item to zod`, () => {
    const taken = Object.fromEntries(ITEM_KINDS.map((kind) => [kind, 0])) as Record<Kind, number>;
    fc.assert(
      fc.property(pushCase, fc.nat(), (c, nonce) => {
        for (const kind of ITEM_KINDS) {
          for (const r of c.items[kind] ?? []) {
            // As the Worker sees it: parsed from the body's text.
            const value: unknown = JSON.parse(JSON.stringify(materialize(kind, r, c.names, nonce)) ?? "null");
            const fast = fastItems[kind](value);
            if (fast === null) continue;
            taken[kind]++;
            const zod = itemSchemas[kind].safeParse(value);
            expect(zod.success, `zod refuses what the fast path took: ${show(value)}`).toBe(true);
            // Byte for byte, key order too: the content hash is taken over this JSON.
            expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
          }
        }
      }),
      { numRuns: RUNS.validation },
    );
    // Canonical items are most of what is generated: each kind's fast path was taken.
    for (const kind of ITEM_KINDS) expect(taken[kind], kind).toBeGreaterThan(RUNS.validation / 10);
  }, 60_000);
});

describe("ids shared across kinds in one push", () => {
  it("a name used as comment id, DM id, work and conversation at once is stored consistently or rejected naming the id, never a 5xx", async () => {
    const accountId = uid("fuzz-shared");
    const base = await seedBaseline(accountId);
    // One body per run: this property's share of the 1,000 in the totals.
    let sent = 0;
    await thenBaselineIntact(base, () =>
      fc.assert(
        fc.asyncProperty(sharedCase, async (c) => {
          await checkSharedIds(accountId, c, nextNonce());
          sent++;
        }),
        { numRuns: RUNS.sharedIds },
      ),
    );
    expect(sent).toBe(RUNS.sharedIds);
  }, 60_000);

  it("regression: a comment and a DM with the same id in one push", async () => {
    const accountId = uid("shared-id");
    const res = await postSync(
      accountId,
      JSON.stringify({
        accountId,
        snapshot: {
          comments: [{ comment_id: "X", work_id: "w1", content: "a comment" }],
          messages: [{ msg_id: "X", conversation_id: "cv1", content: "a DM" }],
        },
      }),
    );
    // The same two items in two pushes: the second is rejected "X is already a comment of this account".
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.rejected).toEqual([
      { kind: "messages", index: 0, issues: [{ path: "msg_id", message: expect.any(String) }] },
    ]);
  });

  it("regression: a DM never lands in a work that a comment of the same push created", async () => {
    const accountId = uid("shared-topic");
    const res = await postSync(
      accountId,
      JSON.stringify({
        accountId,
        snapshot: {
          comments: [{ comment_id: "c1", work_id: "T", content: "a comment" }],
          messages: [{ msg_id: "m1", conversation_id: "T", content: "a DM" }],
        },
      }),
    );
    expect(res.status).toBe(200);
    const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
    expect(topics.map((t: Json) => [t.id, t.kind])).toEqual([["T", "work"]]);
    const messages = await topicMessages(accountId, "T");
    // As across two pushes: the DM is rejected, naming conversation_id.
    expect(messages.map((m) => m.kind)).toEqual(["comment"]);
    expect(res.json.rejected).toEqual([
      { kind: "messages", index: 0, issues: [{ path: "conversation_id", message: expect.any(String) }] },
    ]);
  });
});

// ---------------------------------------------------------------------------
// Text that is not well-formed UTF-16 in the fields kept in SQL columns

type LoneCase = { topicSuffix: string; title: string; participant: string; comment: string; dm: string };
const withLone = fc
  .tuple(cleanText, fc.constantFrom(...LONE), cleanText)
  .map(([a, lone, b]) => a + lone + b)
  .filter((s) => hasLoneSurrogate(s));
const loneCase: fc.Arbitrary<LoneCase> = fc.record({
  topicSuffix: fc.oneof(
    fc.constant(""),
    withLone.map((s) => clip(s, 100)),
  ),
  title: fc.oneof(cleanText, withLone),
  participant: fc.oneof(cleanText, withLone),
  comment: withLone,
  dm: withLone,
});

/** Each item is either stored exactly (ids, titles, last-message previews) or rejected naming the field. */
async function checkLone(accountId: string, c: LoneCase, nonce: number): Promise<void> {
  const workId = `lw${nonce}${c.topicSuffix}`;
  const conversationId = `lv${nonce}${c.topicSuffix}`;
  const t = nextTime();
  const snapshot = {
    contents: [{ work_id: workId, title: c.title }],
    conversations: [{ conversation_id: conversationId, participant: { user_id: "p", user_name: c.participant } }],
    comments: [{ comment_id: `lc${nonce}`, work_id: workId, content: c.comment, create_time: t }],
    messages: [{ msg_id: `lm${nonce}`, conversation_id: conversationId, content: c.dm, create_time: t }],
  };
  const res = await pushSnapshot(accountId, snapshot);
  expect(res.status).toBe(200);
  const rejected = new Map<string, string[]>(
    res.json.rejected.map((r: Json) => [r.kind, r.issues.map((i: Json) => i.path)]),
  );
  const refused = (kind: Kind, fields: string[]): boolean => {
    const paths = rejected.get(kind);
    if (paths)
      expect(
        paths.some((p) => fields.includes(p)),
        `${kind} rejected for ${show(paths)}`,
      ).toBe(true);
    return paths !== undefined;
  };
  const topics: Json[] = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
  const topic = (id: string): Json => {
    const found = topics.find((x) => x.id === id);
    expect(
      found,
      `topic ${show(id)} listed with its exact id; listed: ${show(topics.map((x) => x.id).slice(0, 6))}`,
    ).toBeDefined();
    return found;
  };
  // (An empty title shows the placeholder.)
  if (!refused("contents", ["work_id", "title"]))
    eq(topic(workId).title, c.title || "Untitled work", "work title round-trips");
  if (!refused("conversations", ["conversation_id", "participant.user_name"])) {
    eq(topic(conversationId).title, c.participant || "Unknown user", "participant name round-trips");
  }
  if (!refused("comments", ["work_id", "content"]))
    eq(topic(workId).lastMessage, c.comment, "the work's lastMessage round-trips");
  if (!refused("messages", ["conversation_id", "content"]))
    eq(topic(conversationId).lastMessage, c.dm, "the conversation's lastMessage round-trips");
}

describe("lone surrogates", () => {
  it("in topic ids, titles, participant names and last messages: stored exactly or rejected naming the field", async () => {
    const accountId = uid("fuzz-lone");
    const base = await seedBaseline(accountId);
    // One body per run: this property's share of the 1,000 in the totals.
    let sent = 0;
    await thenBaselineIntact(base, () =>
      fc.assert(
        fc.asyncProperty(loneCase, async (c) => {
          await checkLone(accountId, c, nextNonce());
          sent++;
        }),
        { numRuns: RUNS.loneSurrogates },
      ),
    );
    expect(sent).toBe(RUNS.loneSurrogates);
  }, 60_000);

  it("regression: a work id, a title and a last message with a lone surrogate", async () => {
    const accountId = uid("lone");
    const snapshot = {
      contents: [{ work_id: "w\uD800", title: "title \uDC00" }],
      comments: [{ comment_id: "c1", work_id: "w\uD800", content: "last \uD83D" }],
    };
    const res = await pushSnapshot(accountId, snapshot);
    expect(res.status).toBe(200);
    // Refusing such text (naming the field) would be as good as keeping it exactly; what is kept must be exact.
    if (res.json.rejected.length === 0) {
      const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
      eq(
        topics.map((t: Json) => [t.id, t.title, t.lastMessage]),
        [["w\uD800", "title \uDC00", "last \uD83D"]],
      );
    } else {
      for (const r of res.json.rejected) expect(["work_id", "title", "content"]).toContain(r.issues[0].path);
    }
  });
});

// ---------------------------------------------------------------------------
// msg_type values that name Object.prototype members

describe("msg_type", () => {
  it("any msg_type, whatever its case, maps to one of the Message types", async () => {
    const accountId = uid("fuzz-msgtype");
    const base = await seedBaseline(accountId);
    // One body per run: this property's share of the 1,000 in the totals.
    let sent = 0;
    await thenBaselineIntact(base, () =>
      fc.assert(
        fc.asyncProperty(
          fc.mixedCase(fc.constantFrom("constructor", "__proto__", "tostring", "valueof", "hasownproperty", "text")),
          async (msgType) => {
            const nonce = nextNonce();
            const conversationId = `mt${nonce}`;
            const res = await pushSnapshot(accountId, {
              messages: [{ msg_id: `m${nonce}`, conversation_id: conversationId, content: "x", msg_type: msgType }],
            });
            sent++;
            expect(res.status).toBe(200);
            const [message] = await topicMessages(accountId, conversationId);
            expect(MESSAGE_TYPES, `type of msg_type ${JSON.stringify(msgType)}`).toContain(message.type);
            const compat = await get(`/api/im/messages?account_id=${accountId}&conversation_id=${conversationId}`);
            expect(MESSAGE_TYPES).toContain(compat.json.data.messages[0].msg_type);
          },
        ),
        { numRuns: RUNS.msgType },
      ),
    );
    expect(sent).toBe(RUNS.msgType);
  }, 30_000);

  it.each(["constructor", "__proto__"])("regression: msg_type %j", async (msgType) => {
    const accountId = uid("msgtype");
    const res = await pushSnapshot(accountId, {
      messages: [{ msg_id: "m1", conversation_id: "cv1", content: "x", msg_type: msgType }],
    });
    expect(res.status).toBe(200);
    const [message] = await topicMessages(accountId, "cv1");
    expect(message.type).toBe("text");
  });
});

// ---------------------------------------------------------------------------
// One big push

describe("nesting deeper than JSON.stringify reaches", () => {
  it("in an unknown field of an item, of the envelope, or as the item itself: 200, each item stored exactly or rejected", async () => {
    const accountId = uid("fuzz-deep");
    const base = await seedBaseline(accountId);
    const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const deepObject = (depth: number) => `${'{"d":'.repeat(depth)}0${"}".repeat(depth)}`;
    const items = [
      `{"comment_id":"d1","work_id":"deep","content":"'); DROP TABLE messages;--","x_deep":${deep(100_000)}}`,
      `{"comment_id":"d2","work_id":"deep","content":"😀","x_deep":${deepObject(50_000)}}`,
      `{"comment_id":"d3","work_id":"deep","content":"too big","x_deep":${deep(1_000_000)}}`,
      deep(100_000),
    ];
    const body = `{"accountId":"${accountId}","x_envelope":${deepObject(100_000)},"snapshot":{"comments":[${items.join(",")}]}}`;
    const res = await postSync(accountId, body);
    expect(res.status, show(res.json).slice(0, 300)).toBe(200);
    expect(res.json.counts.comments.received).toBe(4);
    const rejected = new Map<number, Json>(res.json.rejected.map((r: Json) => [r.index, r]));
    for (const r of res.json.rejected) expectIssues(r.issues);
    // The item that is an array, and the one over the item limit, are rejected.
    expect(rejected.has(3)).toBe(true);
    expect(rejected.get(2)?.issues[0].path).toBe("");
    const stored = (await topicMessages(accountId, "deep")).map((m) => [m.id, m.content]);
    const expected = [
      ["d1", "'); DROP TABLE messages;--"],
      ["d2", "😀"],
    ].filter((_, i) => !rejected.has(i));
    eq(stored, expected, "the deep items stored");
    expect(res.json.counts.comments.new).toBe(expected.length);
    await expectBaselineIntact(base);
  }, 60_000);
});

describe("50,000 comments in one push", () => {
  it("is stored in one 200, pages still work, and the same push again makes no event", async () => {
    const accountId = uid("fuzz-50k");
    const start = 1_731_000_000;
    const comments = Array.from({ length: 50_000 }, (_, i) => ({
      comment_id: `c${i}`,
      work_id: "w50k",
      content: i % 1000 === 0 ? `'); DROP TABLE messages;-- 😀 ${i}` : `comment ${i}`,
      author_id: `u${i % 97}`,
      author_name: `Fan ${i % 97}`,
      create_time: start + i,
    }));
    const body = JSON.stringify({
      type: "worker:data:sync",
      accountId,
      platform: "douyin",
      timestamp: Date.now(),
      snapshot: { comments },
    });
    expect(new TextEncoder().encode(body).length).toBeLessThan(MAX_PUSH);
    const first = await postSync(accountId, body);
    expect(first.status, JSON.stringify(first.json).slice(0, 300)).toBe(200);
    expect(first.json.counts).toEqual({ comments: { received: 50_000, new: 50_000, updated: 0 } });
    expect(first.json.rejected).toEqual([]);
    expect(first.json.seq).toBe(50_001);

    const page = await get(messagesPath(accountId, "w50k", "limit=50"));
    expect(page.status).toBe(200);
    expect(page.json.hasMore).toBe(true);
    expect(page.json.messages.map((m: Json) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `c${49_950 + i}`));
    const older = await get(messagesPath(accountId, "w50k", `limit=50&before=${page.json.messages[0].seq}`));
    expect(older.json.messages.map((m: Json) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `c${49_900 + i}`));
    expect(older.json.hasMore).toBe(true);
    const oldest = await get(messagesPath(accountId, "w50k", "limit=50&before=51"));
    expect(oldest.json.messages.map((m: Json) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    expect(oldest.json.hasMore).toBe(false);
    const compat = await get(`/api/im/discussions?account_id=${accountId}&count=100&cursor=49900`);
    expect(compat.json.data.discussions.map((d: Json) => d.cid)).toEqual(
      Array.from({ length: 100 }, (_, i) => `c${99 - i}`),
    );
    expect(compat.json.data.has_more).toBe(false);
    const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
    expect(topics[0]).toMatchObject({
      id: "w50k",
      messageCount: 50_000,
      unreadCount: 50_000,
      lastMessage: "comment 49999",
    });

    const socket = await openSocket(accountId);
    const again = await postSync(accountId, body);
    expect(again.status).toBe(200);
    expect(again.json.seq).toBe(50_001);
    expect(again.json.counts).toEqual({ comments: { received: 50_000, new: 0, updated: 0 } });
    await socket.settle(200);
    expect(socket.events()).toEqual([]);
    socket.close();
  }, 90_000);
});

// ---------------------------------------------------------------------------
// Socket frames

const ROOM_TYPES = [
  "monitor:register",
  "monitor:request_topics",
  "monitor:request_messages",
  "monitor:mark_read",
  "sync:start",
  "ack",
  "client:notification:ack",
  "monitor:reply",
  "account:login:start",
];
const KNOWN_TYPES = new Set(ROOM_TYPES);
const ABSENT = Symbol("absent");
const REAL_EPOCH = Symbol("the room's epoch");

const codePoints = (s: string) => [...s].length;
const isString = (min: number, max: number) => (v: unknown) =>
  typeof v === "string" && codePoints(v) >= min && codePoints(v) <= max;
const isSeq = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isLimit = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= 200;
const isReplyContent = (v: unknown) => typeof v === "string" && v.trim().length > 0 && v.length <= 2_000;

/** A request that is valid, and whose answer the room's (unchanging) baseline determines. */
type Valid =
  | { k: "topics" }
  | { k: "messages"; topicId: string; limit: number | typeof ABSENT; before: number | typeof ABSENT }
  | { k: "missingTopic"; topicId: string }
  | { k: "sync"; since: number; epoch: string | typeof ABSENT | typeof REAL_EPOCH }
  | { k: "register"; clientId: string }
  | { k: "ack" }
  | { k: "notificationAck"; notificationId: string }
  | { k: "login" };

type FrameData =
  | { kind: "binary"; bytes: Uint8Array }
  | { kind: "text"; text: string }
  | { kind: "json"; value: unknown }
  | { kind: "deep"; type: string; depth: number }
  | {
      kind: "object";
      type: unknown;
      id: unknown;
      payload: unknown;
      extras: [string, unknown][];
      valid: Valid | null;
      badPath: string | null;
    };

const frameId = fc.oneof(
  { weight: 4, arbitrary: fc.constant<unknown>(ABSENT) },
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 24 }) },
  { weight: 2, arbitrary: anyText },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(5, null, true, {}, [], 1.5, "") },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(new Sized(129, "i"), new Sized(100_000, "漢")) },
);
const frameExtras = fc.array(
  fc.tuple(
    fc.string({ maxLength: 8 }).map((k) => `x_${k}`),
    extraValue,
  ),
  { maxLength: 2 },
);

const unknownType = fc.oneof(
  fc.string({ maxLength: 30 }).filter((t) => !KNOWN_TYPES.has(t)),
  anyText.filter((t) => !KNOWN_TYPES.has(t)),
  fc.constantFrom<unknown>(
    "ping",
    "pong",
    "batch",
    "error",
    "monitor:topics",
    "channel:update",
    "client:register",
    "monitor:request_channels",
    "MONITOR:REQUEST_TOPICS",
    "monitor:request_topics ",
    " monitor:request_topics",
    "monitor:reply\u0000",
    "__proto__",
    "constructor",
    "toString",
    "",
    "x".repeat(10_000),
  ),
  fc.constantFrom<unknown>(
    5,
    null,
    true,
    {},
    [],
    ["monitor:request_topics"],
    { type: "monitor:request_topics" },
    ABSENT,
  ),
);
/** Exactly `{"type":"ping"}` is the heartbeat, answered by the runtime out of order with the room's answers. */
const isHeartbeat = (f: FrameData) =>
  f.kind === "object" && f.type === "ping" && f.id === ABSENT && f.payload === ABSENT && f.extras.length === 0;

const BAD_PAYLOADS: [string, unknown, string][] = [
  ["monitor:register", {}, "payload.clientId"],
  ["monitor:register", { clientId: "" }, "payload.clientId"],
  ["monitor:register", { clientId: 5 }, "payload.clientId"],
  ["monitor:register", { clientId: "c".repeat(129) }, "payload.clientId"],
  ["monitor:register", { clientId: "c", clientType: "robot" }, "payload.clientType"],
  ["monitor:register", { clientId: "c", deviceType: "d".repeat(65) }, "payload.deviceType"],
  ["monitor:register", { clientId: "c", appVersion: 5 }, "payload.appVersion"],
  ["monitor:request_messages", {}, "payload.topicId"],
  ["monitor:request_messages", { topicId: "" }, "payload.topicId"],
  ["monitor:request_messages", { topicId: "t".repeat(257) }, "payload.topicId"],
  ["monitor:request_messages", { topicId: "base-w1", before: -1 }, "payload.before"],
  ["monitor:request_messages", { topicId: "base-w1", before: "3" }, "payload.before"],
  ["monitor:request_messages", { topicId: "base-w1", limit: 0 }, "payload.limit"],
  ["monitor:request_messages", { topicId: "base-w1", limit: 201 }, "payload.limit"],
  ["monitor:request_messages", { topicId: "base-w1", limit: "10" }, "payload.limit"],
  ["monitor:mark_read", {}, "payload.topicId"],
  ["monitor:mark_read", { topicId: 7 }, "payload.topicId"],
  ["monitor:mark_read", { topicId: "base-w1", seq: -1 }, "payload.seq"],
  ["monitor:mark_read", { topicId: "base-w1", seq: "1" }, "payload.seq"],
  ["sync:start", {}, "payload.since"],
  ["sync:start", { since: -1 }, "payload.since"],
  ["sync:start", { since: "0" }, "payload.since"],
  ["sync:start", { since: null }, "payload.since"],
  ["sync:start", { since: 0, epoch: 5 }, "payload.epoch"],
  ["sync:start", { since: 0, epoch: "e".repeat(65) }, "payload.epoch"],
  ["ack", {}, "payload.seq"],
  ["ack", { seq: 2 ** 53 }, "payload.seq"],
  ["client:notification:ack", {}, "payload.notification_id"],
  ["client:notification:ack", { notification_id: "" }, "payload.notification_id"],
  ["client:notification:ack", { notification_id: "n".repeat(257) }, "payload.notification_id"],
  ["monitor:reply", {}, "payload.topicId"],
  ["monitor:reply", { topicId: "base-w1", content: "", clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: " \n\t\u3000", clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: "r".repeat(2_001), clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: 5, clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: "hi" }, "payload.clientMsgId"],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k".repeat(129) }, "payload.clientMsgId"],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k", replyToId: "" }, "payload.replyToId"],
  ["monitor:reply", { topicId: "", content: "hi", clientMsgId: "k" }, "payload.topicId"],
];
/** [type, a valid payload, the field to spoil, what the field accepts] */
const SPOILABLE: [string, Obj, string, (v: unknown) => boolean][] = [
  ["monitor:register", { clientId: "c" }, "clientId", isString(1, 128)],
  ["monitor:request_messages", { topicId: "base-w1" }, "topicId", isString(1, 256)],
  ["monitor:request_messages", { topicId: "base-w1" }, "before", isSeq],
  ["monitor:request_messages", { topicId: "base-w1" }, "limit", isLimit],
  ["monitor:mark_read", { topicId: "base-w1" }, "topicId", isString(1, 256)],
  ["monitor:mark_read", { topicId: "base-w1" }, "seq", isSeq],
  ["sync:start", { since: 0 }, "since", isSeq],
  ["sync:start", { since: 0 }, "epoch", isString(0, 64)],
  ["ack", { seq: 0 }, "seq", isSeq],
  ["client:notification:ack", { notification_id: "n" }, "notification_id", isString(1, 256)],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k" }, "content", isReplyContent],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k" }, "clientMsgId", isString(1, 128)],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k" }, "topicId", isString(1, 256)],
];
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  anyText,
  fc.double(),
  fc.integer(),
  fc.constantFrom<unknown>(null, -1, 2 ** 53, "", new Sized(300, "😀")),
);

const badPayloadFrame: fc.Arbitrary<FrameData> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...BAD_PAYLOADS), frameId, frameExtras)
    .map(([[type, payload, path], id, extras]): FrameData => ({
      kind: "object",
      type,
      id,
      payload,
      extras,
      valid: null,
      badPath: path,
    })),
  fc
    .tuple(fc.constantFrom(...SPOILABLE), junk, frameId)
    .filter(([[, , , accepts], value]) => !accepts(resolve(value)))
    .map(([[type, base, field], value, id]): FrameData => ({
      kind: "object",
      type,
      id,
      payload: { ...base, [field]: value },
      extras: [],
      valid: null,
      badPath: `payload.${field}`,
    })),
  fc
    .tuple(fc.constantFrom(...ROOM_TYPES), fc.constantFrom<unknown>("x", 5, null, true, [], [{}]), frameId)
    .map(([type, payload, id]): FrameData => ({
      kind: "object",
      type,
      id,
      payload,
      extras: [],
      valid: null,
      badPath: "payload",
    })),
);

const validFrame: fc.Arbitrary<FrameData> = fc
  .tuple(
    fc.oneof(
      fc
        .constantFrom<unknown>(ABSENT, {}, { x_junk: [1, "'); DROP TABLE topics;--"] })
        .map((payload) => ["monitor:request_topics", payload, { k: "topics" }] as const),
      fc
        .record({
          topicId: fc.constantFrom(...BASE_TOPICS),
          limit: fc.oneof(fc.constant<typeof ABSENT>(ABSENT), fc.integer({ min: 1, max: 200 })),
          before: fc.oneof(fc.constant<typeof ABSENT>(ABSENT), fc.nat({ max: 30 })),
        })
        .map((v) => {
          const payload: Obj = { topicId: v.topicId };
          if (v.limit !== ABSENT) payload.limit = v.limit;
          if (v.before !== ABSENT) payload.before = v.before;
          return ["monitor:request_messages", payload, { k: "messages", ...v }] as const;
        }),
      anyText
        .map((s) => `nope-${clip(s, 200)}`)
        .map((topicId) => ["monitor:request_messages", { topicId }, { k: "missingTopic", topicId }] as const),
      fc
        .record({
          since: fc.oneof(fc.nat({ max: 12 }), fc.integer({ min: 13, max: 1e9 })),
          epoch: fc.oneof(
            fc.constant<typeof ABSENT>(ABSENT),
            fc.constant<typeof REAL_EPOCH>(REAL_EPOCH),
            fc.string({ maxLength: 64 }),
          ),
        })
        .map((v) => ["sync:start", v, { k: "sync", ...v }] as const),
      fc
        .record({
          clientId: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), anyText.filter(isString(1, 128))),
          clientType: fc.constantFrom("monitor", "admin", ABSENT),
          deviceType: fc.oneof(fc.constant(ABSENT), fc.string({ maxLength: 64 })),
        })
        .map((v) => {
          const payload: Obj = { clientId: v.clientId };
          if (v.clientType !== ABSENT) payload.clientType = v.clientType;
          if (v.deviceType !== ABSENT) payload.deviceType = v.deviceType;
          return ["monitor:register", payload, { k: "register", clientId: v.clientId }] as const;
        }),
      fc
        .oneof(fc.nat({ max: 100 }), fc.constant(Number.MAX_SAFE_INTEGER))
        .map((seq) => ["ack", { seq }, { k: "ack" }] as const),
      fc
        .oneof(fc.constant("base-n1"), anyText.filter(isString(1, 256)))
        .map(
          (notificationId) =>
            [
              "client:notification:ack",
              { notification_id: notificationId },
              { k: "notificationAck", notificationId },
            ] as const,
        ),
      fc.constantFrom<unknown>(ABSENT, {}).map((payload) => ["account:login:start", payload, { k: "login" }] as const),
    ),
    frameId,
    frameExtras,
  )
  .map(([[type, payload, valid], id, extras]): FrameData => ({
    kind: "object",
    type,
    id,
    payload,
    extras,
    valid: valid as Valid,
    badPath: null,
  }));

const frameData: fc.Arbitrary<FrameData> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.uint8Array({ maxLength: 256 }),
        fc.constant(new TextEncoder().encode('{"type":"monitor:request_topics","id":"b"}')),
      )
      .map((bytes): FrameData => ({ kind: "binary", bytes })),
  },
  { weight: 2, arbitrary: notJson.map((text): FrameData => ({ kind: "text", text })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
        fc.constant(new Nested(1_000, false)),
      )
      .map((value): FrameData => ({ kind: "json", value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        type: fc.constantFrom("monitor:request_topics", "sync:start", "monitor:explode"),
        depth: fc.integer({ min: 1_000, max: 200_000 }),
      })
      .map((v): FrameData => ({ kind: "deep", ...v })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        unknownType,
        frameId,
        fc.oneof(fc.constant<unknown>(ABSENT), fc.jsonValue({ maxDepth: 2 }), fc.constant(new Nested(1_000, true))),
        frameExtras,
      )
      .map(([type, id, payload, extras]): FrameData => ({
        kind: "object",
        type,
        id,
        payload,
        extras,
        valid: null,
        badPath: null,
      }))
      .filter((f) => !isHeartbeat(f)),
  },
  { weight: 4, arbitrary: badPayloadFrame },
  { weight: 4, arbitrary: validFrame },
);

type Expect =
  | { t: "error"; code: string; id: string | undefined; path?: string; message?: RegExp }
  | { t: "topics"; id: string | undefined }
  | { t: "messages"; id: string | undefined; topicId: string; limit: number; before: number | undefined }
  | { t: "replay"; id: string | undefined; since: number }
  | { t: "reset"; id: string | undefined }
  | { t: "registered"; id: string | undefined; clientId: string }
  | { t: "ack"; id: string | undefined }
  | { t: "notificationAck"; id: string | undefined; known: boolean };

type Room = { seq: number; epoch: string };

/** The frame as sent and what the room must answer, read from PROTOCOL §6 and §3. */
function frameOf(f: FrameData, room: Room): { data: string | Uint8Array; expect: Expect } {
  const error = (id: string | undefined, path?: string, message?: RegExp): Expect => ({
    t: "error",
    code: "invalid_frame",
    id,
    path,
    message,
  });
  switch (f.kind) {
    case "binary":
      return { data: f.bytes, expect: error(undefined, undefined, /binary/) };
    case "text":
      return { data: f.text, expect: error(undefined, undefined, /not valid JSON/) };
    case "json":
      return { data: JSON.stringify(f.value), expect: error(undefined, undefined, /JSON object/) };
    case "deep": {
      // Nested deeper than JSON.stringify goes, so written out as text.
      const data = `{"type":${JSON.stringify(f.type)},"payload":${"[".repeat(f.depth)}${"]".repeat(f.depth)}}`;
      return {
        data,
        expect: KNOWN_TYPES.has(f.type) ? error(undefined, "payload") : error(undefined, "type", /unknown frame type/),
      };
    }
    case "object": {
      const obj: Obj = {};
      if (f.type !== ABSENT) obj.type = f.type;
      if (f.id !== ABSENT) obj.id = resolve(f.id);
      if (f.payload !== ABSENT) {
        const payload = resolve(f.payload) as Obj;
        if (f.valid?.k === "sync") {
          // The room's epoch is known only at run time.
          if (f.valid.epoch === REAL_EPOCH) payload.epoch = room.epoch;
          else if (f.valid.epoch === ABSENT) delete payload.epoch;
        }
        obj.payload = payload;
      }
      for (const [key, value] of f.extras) define(obj, key, resolve(value));
      const id = typeof obj.id === "string" ? obj.id : undefined;
      const data = JSON.stringify(obj);
      if (typeof f.type !== "string" || !KNOWN_TYPES.has(f.type))
        return { data, expect: error(id, "type", /unknown frame type/) };
      if (f.badPath) return { data, expect: error(id, f.badPath) };
      if (!(!("id" in obj) || isString(1, 128)(obj.id))) return { data, expect: error(id, "id") };
      const v = f.valid!;
      switch (v.k) {
        case "topics":
          return { data, expect: { t: "topics", id } };
        case "messages":
          return {
            data,
            expect: {
              t: "messages",
              id,
              topicId: v.topicId,
              limit: v.limit === ABSENT ? 50 : v.limit,
              before: v.before === ABSENT ? undefined : v.before,
            },
          };
        case "missingTopic":
          return { data, expect: { t: "error", code: "not_found", id, message: /does not exist/ } };
        case "sync": {
          const wrongEpoch = typeof v.epoch === "string" && v.epoch !== room.epoch;
          return {
            data,
            expect: wrongEpoch || v.since > room.seq ? { t: "reset", id } : { t: "replay", id, since: v.since },
          };
        }
        case "register":
          return { data, expect: { t: "registered", id, clientId: v.clientId } };
        case "ack":
          return { data, expect: { t: "ack", id } };
        case "notificationAck":
          return { data, expect: { t: "notificationAck", id, known: v.notificationId === "base-n1" } };
        case "login":
          return { data, expect: { t: "error", code: "forbidden", id } };
      }
    }
  }
}

function expectErrorFrame(frame: Frame, e: Extract<Expect, { t: "error" }>): void {
  expect(frame.type, show(frame).slice(0, 300)).toBe("error");
  expect(Object.keys(frame).every((k) => k === "type" || k === "id" || k === "payload")).toBe(true);
  expect("id" in frame, `id of ${show(frame).slice(0, 200)}`).toBe(e.id !== undefined);
  eq(frame.id, e.id, "error frame id");
  expect(Object.keys(frame.payload).every((k) => k === "code" || k === "message" || k === "issues")).toBe(true);
  expect(frame.payload.code).toBe(e.code);
  expect(typeof frame.payload.message).toBe("string");
  expect(frame.payload.message.length).toBeGreaterThan(0);
  if (e.message) expect(frame.payload.message).toMatch(e.message);
  if ("issues" in frame.payload) expectIssues(frame.payload.issues);
  if (e.path) {
    expect(
      frame.payload.issues?.map((i: Json) => i.path),
      show(frame.payload),
    ).toContain(e.path);
    expect(frame.payload.message).toContain(e.path);
  }
}

function expectAnswerId(frame: Frame, id: string | undefined): void {
  expect("id" in frame, `id of ${show(frame).slice(0, 200)}`).toBe(id !== undefined);
  eq(frame.id, id, `id of ${frame.type}`);
}

type PooledSocket = { socket: TestSocket; registered: boolean; tokens: number; at: number };
const FRAME_BUDGET = 18;

/** Waits until this socket may send `n` frames without passing 20 a second (kept at 18 for slack). */
async function pace(p: PooledSocket, n: number): Promise<void> {
  for (;;) {
    const now = Date.now();
    p.tokens = Math.min(FRAME_BUDGET, p.tokens + ((now - p.at) * FRAME_BUDGET) / 1000);
    p.at = now;
    if (p.tokens >= n) {
      p.tokens -= n;
      return;
    }
    await sleep(Math.ceil(((n - p.tokens) * 1000) / FRAME_BUDGET) + 5);
  }
}

/** Checks the answers to one run's frames, in order, against what each frame must get. */
function expectAnswers(answers: Frame[], expects: Expect[], pooled: PooledSocket, base: Baseline, room: Room): void {
  let at = 0;
  const next = (what: string): Frame => {
    const frame = answers[at++];
    if (!frame) throw new Error(`missing answer (${what}); got ${JSON.stringify(answers.map((a) => a.type))}`);
    return frame;
  };
  for (const e of expects) {
    switch (e.t) {
      case "error":
        expectErrorFrame(next(`error ${e.code}`), e);
        break;
      case "topics": {
        const frame = next("monitor:topics");
        expect(frame.type).toBe("monitor:topics");
        expectAnswerId(frame, e.id);
        eq(frame.payload, { channelId: base.accountId, topics: base.topics }, "monitor:topics");
        break;
      }
      case "messages": {
        const frame = next("monitor:messages");
        expect(frame.type, JSON.stringify(frame).slice(0, 300)).toBe("monitor:messages");
        expectAnswerId(frame, e.id);
        const older = base.pages[e.topicId]!.filter((m) => e.before === undefined || m.seq < e.before);
        eq(
          frame.payload,
          {
            channelId: base.accountId,
            topicId: e.topicId,
            messages: older.slice(-e.limit),
            hasMore: older.length > e.limit,
          },
          "monitor:messages",
        );
        break;
      }
      case "replay": {
        for (let seq = e.since + 1; seq <= room.seq; seq++)
          expect(JSON.stringify(next(`event ${seq}`))).toBe(base.events[seq - 1]);
        const frame = next("sync:complete");
        expect(frame.type).toBe("sync:complete");
        expectAnswerId(frame, e.id);
        expect(frame.payload).toEqual({ seq: room.seq, epoch: room.epoch });
        break;
      }
      case "reset": {
        const frame = next("sync:reset");
        expect(frame.type).toBe("sync:reset");
        expectAnswerId(frame, e.id);
        expect(frame.payload).toEqual({ seq: room.seq, epoch: room.epoch });
        break;
      }
      case "registered": {
        const frame = next("monitor:registered");
        expect(frame.type).toBe("monitor:registered");
        expectAnswerId(frame, e.id);
        like(frame.payload, { clientId: e.clientId, seq: room.seq, epoch: room.epoch }, "monitor:registered");
        expect(typeof frame.payload.serverTime).toBe("number");
        pooled.registered = true;
        break;
      }
      case "ack":
      case "notificationAck": {
        if (!pooled.registered) {
          expectErrorFrame(next("error: not registered"), {
            t: "error",
            code: "invalid_frame",
            id: e.id,
            message: /monitor:register/,
          });
        } else if (e.t === "notificationAck" && !e.known) {
          expectErrorFrame(next("error: unknown notification"), { t: "error", code: "not_found", id: e.id });
        } else if (e.id !== undefined) {
          const frame = next("ack");
          expect(frame.type).toBe("ack");
          expectAnswerId(frame, e.id);
          expect(isSeq(frame.payload.seq) && frame.payload.seq <= room.seq).toBe(true);
        }
        break;
      }
    }
  }
  expect(
    answers.slice(at).map((a) => a.type),
    "no answer beyond one per frame",
  ).toEqual([]);
}

describe("generated socket frames", () => {
  it(`${RUNS.frames} runs of random frames (garbage, unknown types, bad payloads, valid requests): one error frame per bad frame, the socket stays open, nothing stored changes`, async () => {
    const accountId = uid("fuzz-frames");
    const base = await seedBaseline(accountId);
    const room: Room = { seq: base.seq, epoch: base.epoch };
    const pool: PooledSocket[] = [];
    for (const sub of ["fuzz-frames-a", "fuzz-frames-b", "fuzz-frames-c"]) {
      for (let i = 0; i < 8; i++)
        pool.push({
          socket: await openSocket(accountId, sub),
          registered: false,
          tokens: FRAME_BUDGET,
          at: Date.now(),
        });
    }
    let turn = 0;
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frameData, { minLength: 1, maxLength: 8 }), async (frames) => {
        const nonce = nextNonce();
        const pooled = pool[turn++ % pool.length]!;
        const { socket } = pooled;
        const built = frames.map((f) => frameOf(f, room));
        await pace(pooled, built.length + 1);
        const start = socket.frames.length;
        for (const { data } of built) {
          expect(data).not.toBe(PING);
          socket.ws.send(data);
        }
        sent += built.length;
        // A request after the frames: the room answers in order, so its answer closes this run's answers.
        const sentinel = `sentinel-${nonce}`;
        socket.send({ type: "monitor:request_topics", id: sentinel });
        await socket.until((all) => all.slice(start).some((f) => f.id === sentinel), `answer to ${sentinel}`, 10_000);
        const received = socket.frames.slice(start).filter((f) => f.type !== "status_change");
        const end = received.findIndex((f) => f.id === sentinel);
        expectAnswers(
          received.slice(0, end),
          built.map((b) => b.expect),
          pooled,
          base,
          room,
        );
        // Nothing stored changed, and the socket is still open.
        eq(received[end]!.payload.topics, base.topics, "topics after the frames");
        expect(socket.closed).toBeNull();
      }),
      { numRuns: RUNS.frames },
    );
    console.log(`generated: ${sent} frames`);
    expect(sent).toBeGreaterThanOrEqual(1_000);
    for (const p of pool) {
      expect(p.socket.closed).toBeNull();
      p.socket.close();
    }
    const { seq } = await expectBaselineIntact(base);
    expect(seq).toBe(base.seq);
    eq((await get(`/api/v1/accounts/${accountId}/topics`)).json.topics, base.topics, "topics after the property");
  }, 120_000);

  it("a frame over 1 MiB closes its socket with 1009, text or binary; a frame of exactly 1 MiB does not", async () => {
    const accountId = uid("fuzz-big");
    const base = await seedBaseline(accountId);
    const MiB = 1024 * 1024;
    const padded = (bytes: number) => {
      const head = '{"type":"monitor:request_topics","id":"big","payload":{"pad":"';
      return `${head}${"x".repeat(bytes - head.length - 3)}"}}`;
    };
    const over: [string, string | Uint8Array][] = [
      ["ASCII text of 1 MiB + 1 byte", padded(MiB + 1)],
      ["text of 349,526 three-byte characters (1 MiB + 2 bytes as UTF-8)", "漢".repeat(349_526)],
      ["binary of 1 MiB + 1 byte", new Uint8Array(MiB + 1)],
    ];
    for (const [what, data] of over) {
      const socket = await openSocket(accountId, "fuzz-big");
      socket.ws.send(data);
      await socket.until(() => socket.closed !== null, `close after ${what}`, 10_000);
      expect(socket.closed!.code, what).toBe(1009);
      for (const frame of socket.frames)
        expectErrorFrame(frame, { t: "error", code: "payload_too_large", id: undefined });
    }
    const exact = padded(MiB);
    expect(new TextEncoder().encode(exact).length).toBe(MiB);
    const socket = await openSocket(accountId, "fuzz-big");
    socket.ws.send(exact);
    const answer = await socket.next("monitor:topics", "big");
    eq(answer.payload.topics, base.topics, "topics");
    expect(socket.closed).toBeNull();
    socket.close();
    await expectBaselineIntact(base);
  }, 60_000);
});

/**
 * Each push property counts the bodies it sent and checks one per run; the frame property checks
 * its own 1,000 frames. What is left to hold is the sum over the push properties, which no
 * single property sees.
 */
describe("totals", () => {
  it("the push properties send at least 1,000 generated pushes between them", () => {
    const pushes = PUSH_PROPERTIES.reduce((sum, property) => sum + RUNS[property], 0);
    expect(pushes).toBeGreaterThanOrEqual(1_000);
  });
});
