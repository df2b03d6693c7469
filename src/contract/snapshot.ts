/**
 * The crawler's snapshot push (PROTOCOL §4). The envelope is validated as a whole (a bad
 * envelope stores nothing); items one by one (a bad item is skipped and reported).
 *
 * Over 300 lines because it is the whole push contract in one place: each item kind's fields,
 * their fast path (`fastItems`, which must accept exactly what the schemas accept) beside the
 * schemas, the envelope, and the limits.
 */
import { z } from "zod";
import { ApiError } from "./errors";
import { contentHash } from "../lib/hash";
import { CRAWLER_LOGINS, accountIdSchema, describeIssues, toIssues } from "./schemas";
import type { Issue } from "./schemas";

/**
 * Strings must be valid Unicode. A lone surrogate can only arrive as a `\uD800` escape (UTF-8
 * cannot carry one), and SQLite would store it as U+FFFD: ids would merge and titles change.
 */
const wellFormed = (text: string) => text.isWellFormed();
const WELL_FORMED = "must be valid Unicode text (it has a lone surrogate)";
const string = () => z.string().refine(wellFormed, WELL_FORMED);

/** Platform ids arrive as strings or as integers; both mean the same id. */
const platformId = z.union([string().min(1).max(256), z.number().int().transform(String)]);
const optionalId = platformId.nullish();
/** Seconds or milliseconds (below 10^12 is seconds); numeric strings are accepted too. */
const time = z
  .union([
    z.number().nonnegative(),
    z
      .string()
      .regex(/^\d{1,16}$/)
      .transform(Number),
  ])
  .nullish();
const text = (max: number) => string().max(max).nullish();
const count = z
  .union([
    z.number().int().nonnegative(),
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform(Number),
  ])
  .nullish();

export const MAX_CONTENT_CHARS = 65_536;
const NAME = 1_024;
const URL = 4_096;

/**
 * An item field: its zod schema, and `fast`, which returns the value zod would give back when
 * the value is already in the form zod gives back (a string id, a number time…), and
 * NOT_CANONICAL otherwise. Items are described once, as tables of fields, and both the zod
 * schema and the fast path come from the table, so they cannot drift apart.
 */
type Field<S extends z.ZodType = z.ZodType> = { schema: S; fast: (value: unknown) => unknown };
const NOT_CANONICAL = Symbol("not canonical");
const absent = (value: unknown) => value === null || value === undefined;
const isId = (value: unknown) =>
  typeof value === "string" && value.length >= 1 && value.length <= 256 && wellFormed(value);

const F = {
  id: { schema: platformId, fast: (v) => (isId(v) ? v : NOT_CANONICAL) },
  optionalId: { schema: optionalId, fast: (v) => (absent(v) || isId(v) ? v : NOT_CANONICAL) },
  time: {
    schema: time,
    fast: (v) => (absent(v) || (typeof v === "number" && Number.isFinite(v) && v >= 0) ? v : NOT_CANONICAL),
  },
  count: {
    schema: count,
    fast: (v) => (absent(v) || (Number.isSafeInteger(v) && (v as number) >= 0) ? v : NOT_CANONICAL),
  },
  text: (max: number): Field<ReturnType<typeof text>> => ({
    schema: text(max),
    fast: (v) => (absent(v) || (typeof v === "string" && v.length <= max && wellFormed(v)) ? v : NOT_CANONICAL),
  }),
  content: {
    schema: string().max(MAX_CONTENT_CHARS),
    fast: (v) => (typeof v === "string" && v.length <= MAX_CONTENT_CHARS && wellFormed(v) ? v : NOT_CANONICAL),
  },
  direction: {
    schema: z.enum(["in", "out"]).nullish(),
    fast: (v) => (absent(v) || v === "in" || v === "out" ? v : NOT_CANONICAL),
  },
  /** A nested object with its own fields (unknown keys kept), or null. */
  nested: <T extends Record<string, Field>>(fields: T) => {
    const rebuild = fastObject(fields);
    const schema = z.looseObject(schemas(fields)).nullish();
    return { schema, fast: (v: unknown) => (absent(v) ? v : (rebuild(v) ?? NOT_CANONICAL)) };
  },
} satisfies Record<string, Field | ((...args: never[]) => Field)>;

function schemas<T extends Record<string, Field>>(fields: T): { [K in keyof T]: T[K]["schema"] } {
  return Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, field.schema])) as {
    [K in keyof T]: T[K]["schema"];
  };
}

/**
 * What `z.looseObject(schemas(fields)).parse(input)` returns, built without zod, or null when
 * any value is not already canonical (then zod parses it, and reports what is wrong). Same
 * key order as zod: the declared fields that are present, in declaration order, then the
 * other keys in the input's order, `__proto__` left out.
 */
function fastObject(fields: Record<string, Field>): (input: unknown) => Record<string, unknown> | null {
  const entries = Object.entries(fields);
  const required = new Set(
    entries.filter(([, field]) => !field.schema.safeParse(undefined).success).map(([key]) => key),
  );
  return function canonical(input) {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return null;
    const source = input as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, field] of entries) {
      if (!(key in source)) {
        if (required.has(key)) return null;
        continue;
      }
      const value = field.fast(source[key]);
      if (value === NOT_CANONICAL) return null;
      out[key] = value;
    }
    for (const key in source) {
      if (key === "__proto__" || Object.hasOwn(fields, key)) continue;
      out[key] = source[key];
    }
    return out;
  };
}

const userFields = { user_id: F.optionalId, user_name: F.text(NAME), avatar: F.text(URL) };

const contentFields = {
  work_id: F.id,
  title: F.text(NAME * 4),
  cover: F.text(URL),
  publish_time: F.time,
  stats: F.nested({ comment_count: F.count, like_count: F.count }),
};

const commentFields = {
  comment_id: F.optionalId,
  platform_comment_id: F.optionalId,
  work_id: F.id,
  content: F.content,
  author_id: F.optionalId,
  author_name: F.text(NAME),
  author_avatar: F.text(URL),
  create_time: F.time,
  parent_comment_id: F.optionalId,
  like_count: F.count,
};

const conversationFields = {
  conversation_id: F.id,
  participant: F.nested(userFields),
  unread_count: F.count,
  update_time: F.time,
};

const messageFields = {
  msg_id: F.id,
  conversation_id: F.id,
  content: F.content,
  msg_type: F.text(32),
  sender: F.nested(userFields),
  direction: F.direction,
  create_time: F.time,
  file_url: F.text(URL),
  file_name: F.text(NAME),
};

const notificationFields = {
  notification_id: F.id,
  type: F.text(64),
  title: F.text(NAME * 4),
  content: F.text(MAX_CONTENT_CHARS),
  create_time: F.time,
  related_id: F.optionalId,
};

export const contentItem = z.looseObject(schemas(contentFields));

export const commentItem = z
  .looseObject(schemas(commentFields))
  .refine((c) => c.comment_id != null || c.platform_comment_id != null, {
    message: "Required (comment_id or platform_comment_id)",
    path: ["comment_id"],
  });

export const conversationItem = z.looseObject(schemas(conversationFields));
export const messageItem = z.looseObject(schemas(messageFields));
export const notificationItem = z.looseObject(schemas(notificationFields));

export type ContentItem = z.infer<typeof contentItem>;
export type CommentItem = z.infer<typeof commentItem>;
export type ConversationItem = z.infer<typeof conversationItem>;
export type MessageItem = z.infer<typeof messageItem>;
export type NotificationItem = z.infer<typeof notificationItem>;

export const ITEM_KINDS = ["contents", "comments", "conversations", "messages", "notifications"] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

export const itemSchemas = {
  contents: contentItem,
  comments: commentItem,
  conversations: conversationItem,
  messages: messageItem,
  notifications: notificationItem,
} satisfies Record<ItemKind, z.ZodType>;

const fastComment = fastObject(commentFields);

/**
 * Each kind's fast path: most items a crawler sends are already canonical (string ids,
 * numeric times), and for those building the result directly costs a fraction of a zod
 * parse. Anything else, valid or not, goes through zod. What it returns must be what zod
 * returns, key order included, since the item's hash is taken over its JSON; the fuzz test
 * holds it to that.
 */
export const fastItems: Record<ItemKind, (input: unknown) => Record<string, unknown> | null> = {
  contents: fastObject(contentFields),
  comments: (input) => {
    const item = fastComment(input);
    return item && (item.comment_id != null || item.platform_comment_id != null) ? item : null;
  },
  conversations: fastObject(conversationFields),
  messages: fastObject(messageFields),
  notifications: fastObject(notificationFields),
};

const itemList = z.array(z.unknown()).max(100_000).optional();

/**
 * What a crawler says about itself, in a push envelope or on its own to the health route
 * (PROTOCOL §10). Unknown fields are refused: a misspelt `intervalMs` would otherwise be
 * silently replaced by the default.
 */
export const crawlerReport = z.strictObject({
  intervalMs: z.number().int().min(1_000).max(3_600_000).optional(),
  login: z.enum(CRAWLER_LOGINS).optional(),
  version: string().max(64).optional(),
  error: string().max(2_000).optional(),
});
export type CrawlerReport = z.infer<typeof crawlerReport>;

export const pushEnvelope = z.object({
  type: z.literal("worker:data:sync").optional(),
  accountId: accountIdSchema,
  platform: z.string().min(1).max(64).optional(),
  account: z.looseObject({ name: text(NAME), avatar: text(URL), platform_user_id: optionalId }).nullish(),
  timestamp: z
    .number()
    .superRefine((value, ctx) => {
      if (!Number.isInteger(value))
        ctx.addIssue({ code: "custom", message: `must be integer milliseconds since the epoch, got ${value}` });
    })
    .optional(),
  crawler: crawlerReport.optional(),
  snapshot: z.object({
    contents: itemList,
    comments: itemList,
    conversations: itemList,
    messages: itemList,
    notifications: itemList,
  }),
});
export type PushEnvelope = z.infer<typeof pushEnvelope>;

/** The 200 answer to a push (PROTOCOL §4): counts only for the kinds the push carried. */
// ---------------------------------------------------------------------------
// Keys the contract does not know

/** A key of the push the backend ignored (`warnings` in the answer), or refused in strict mode. */
export type Warning = { path: string; message: string };

/** Names crawlers give a list that the contract calls otherwise. */
const LIST_ALIASES: Record<string, ItemKind> = {
  dms: "messages",
  direct_messages: "messages",
  chats: "messages",
  works: "contents",
  videos: "contents",
  posts: "contents",
  notes: "contents",
  convs: "conversations",
  sessions: "conversations",
  notices: "notifications",
};

/** Edit distance, for "did you mean": small keys only, so the quadratic table stays tiny. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

function unknownKey(
  path: string,
  key: string,
  known: readonly string[],
  aliases: Record<string, string> = {},
): Warning {
  const lower = key.toLowerCase();
  let meant: string | undefined = Object.hasOwn(aliases, lower) ? aliases[lower] : undefined;
  if (meant === undefined && key.length <= 64) {
    const [best] = known.map((name) => ({ name, d: distance(lower, name.toLowerCase()) })).sort((x, y) => x.d - y.d);
    if (best && best.d <= Math.max(2, Math.floor(key.length / 3))) meant = best.name;
  }
  const hint = meant ? `did you mean ${meant}?` : `the known keys are ${known.join(", ")}`;
  return { path, message: `unknown key, ignored; ${hint}` };
}

const ENVELOPE_KEYS = Object.keys(pushEnvelope.shape);

/**
 * The keys of a push body and of its snapshot that the contract does not know, each with the
 * key it most likely meant (a misspelt list would otherwise vanish without a word). Items keep
 * the platform's extra fields: only the envelope and the snapshot object are looked at.
 * @example
 * unknownKeys({ accountId: "a", snapshot: { dms: [] } })
 * // [{ path: "snapshot.dms", message: "unknown key, ignored; did you mean messages?" }]
 */
export function unknownKeys(body: unknown): Warning[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return [];
  const warnings: Warning[] = [];
  for (const key of Object.keys(body)) {
    if (!ENVELOPE_KEYS.includes(key)) warnings.push(unknownKey(key, key, ENVELOPE_KEYS));
  }
  const snapshot = (body as { snapshot?: unknown }).snapshot;
  if (typeof snapshot === "object" && snapshot !== null && !Array.isArray(snapshot)) {
    for (const key of Object.keys(snapshot)) {
      if (!(ITEM_KINDS as readonly string[]).includes(key)) {
        warnings.push(unknownKey(`snapshot.${key}`, key, ITEM_KINDS, LIST_ALIASES));
      }
    }
  }
  return warnings;
}

export type PushResponse = {
  ok: true;
  seq: number;
  counts: Partial<Record<ItemKind, { received: number; new: number; updated: number }>>;
  rejected: Rejected[];
  /** Keys of the body the backend ignored (`unknownKeys`); refused instead with `Prefer: handling=strict`. */
  warnings: Warning[];
};

/**
 * An item that passed validation: its platform id, its JSON (the validated item, unknown
 * fields kept) and that JSON's hash. Only this crosses into the AccountRoom, which parses
 * the JSON again only for items whose hash it has not seen.
 */
export type ValidItem = { index: number; id: string; json: string; hash: string };
export type Rejected = { kind: ItemKind; index: number; issues: Issue[] };

/**
 * A push reports at most this many rejected items. More is a crawler sending garbage, and a
 * report of hundreds of thousands would take more memory than a Worker has; such a push is
 * refused whole (400), naming the first problems, and nothing of it is stored.
 */
export const MAX_REJECTED = 10_000;

/**
 * The 400 for a push with more than MAX_REJECTED rejected items, naming the first ones: of
 * validation's, or, when the account's room refused the last ones, of the room's after
 * `failedValidation` items that validation had rejected.
 */
export function tooManyRejected(rejected: Rejected[], failedValidation = 0): ApiError {
  const issues = rejected.slice(0, 20).flatMap((r) =>
    r.issues.map((issue) => ({
      path: ["snapshot", r.kind, String(r.index), issue.path].filter(Boolean).join("."),
      message: issue.message,
    })),
  );
  return new ApiError(
    "invalid_body",
    `more than ${MAX_REJECTED} items of the snapshot are rejected, more than one push reports; nothing was stored. ` +
      (failedValidation ? `${failedValidation} failed validation; the first the account refused: ` : "The first: ") +
      describeIssues(issues),
    issues,
  );
}

export type ParsedPush = {
  accountId: string;
  platform: string | undefined;
  account: { name?: string; avatar?: string; platformUserId?: string };
  timestamp: number;
  crawler: CrawlerReport | undefined;
  items: Record<ItemKind, ValidItem[]>;
  received: Record<ItemKind, number>;
  rejected: Rejected[];
};

/** Times before this are refused: no platform crawled here has anything older. */
export const EARLIEST_TIME_MS = Date.UTC(2000, 0, 1);
/** Times further ahead of the server's clock than this are refused (a clock far off, microseconds taken for ms). */
export const MAX_TIME_AHEAD_MS = 24 * 3600 * 1000;

/** Each kind's time field: seconds since the epoch (PROTOCOL §4), milliseconds from 10^12 on; 0 or absent is unknown. */
const TIME_FIELD: Record<ItemKind, string> = {
  contents: "publish_time",
  comments: "create_time",
  conversations: "update_time",
  messages: "create_time",
  notifications: "create_time",
};

/** `time` as a year, for a message: what a crawler author recognises at once (a µs time is year 58,902). */
function yearOf(ms: number): string {
  const year = new Date(ms).getUTCFullYear();
  return Number.isNaN(year) ? "no date at all" : `year ${year}`;
}

/**
 * Why a time is outside 2000-01-01 … a day from `now`, or null when it is inside (or unknown).
 * @param value an item time (seconds, or ms from 10^12 on) or, with `unit: "ms"`, the envelope's
 */
export function timeIssue(value: unknown, now: number, unit: "item" | "ms"): string | null {
  if (typeof value !== "number" || (unit === "item" && value === 0)) return null;
  const ms = unit === "ms" || value >= 1e12 ? value : value * 1000;
  if (ms >= EARLIEST_TIME_MS && ms <= now + MAX_TIME_AHEAD_MS) return null;
  const expected =
    unit === "ms"
      ? "integer milliseconds since the epoch"
      : "seconds since the epoch (or milliseconds, from 10^12 on; 0 for unknown)";
  return `must be a time from 2000-01-01 to a day from now, in ${expected}; got ${value} (${yearOf(ms)})`;
}

/** An item whose JSON is larger than this is rejected (a SQLite row holds at most 2 MB). */
export const MAX_ITEM_BYTES = 256 * 1024;

function itemId(kind: ItemKind, item: Record<string, unknown>): string {
  switch (kind) {
    case "contents":
      return item.work_id as string;
    case "comments":
      return (item.comment_id ?? item.platform_comment_id) as string;
    case "conversations":
      return item.conversation_id as string;
    case "messages":
      return item.msg_id as string;
    case "notifications":
      return item.notification_id as string;
  }
}

/**
 * Validates every item of an already valid envelope. Items that repeat an id inside one
 * push are merged in order (later fields win), so a push never makes two events for one item.
 * Throws `invalid_body` (400) past MAX_REJECTED invalid items.
 */
export function parseItems(envelope: PushEnvelope, receivedAt: number): ParsedPush {
  const timestampIssue = timeIssue(envelope.timestamp, receivedAt, "ms");
  if (timestampIssue) {
    throw new ApiError("invalid_body", `timestamp: ${timestampIssue}`, [
      { path: "timestamp", message: timestampIssue },
    ]);
  }
  const rejected: Rejected[] = [];
  const reject = (kind: ItemKind, index: number, issues: Issue[]) => {
    rejected.push({ kind, index, issues });
    if (rejected.length > MAX_REJECTED) throw tooManyRejected(rejected);
  };
  const received = {} as Record<ItemKind, number>;
  const items = {} as Record<ItemKind, ValidItem[]>;
  for (const kind of ITEM_KINDS) {
    const raw = envelope.snapshot[kind] ?? [];
    received[kind] = raw.length;
    const byId = new Map<string, { index: number; id: string; item: Record<string, unknown>; json: string }>();
    raw.forEach((value, index) => {
      let item = fastItems[kind](value);
      if (!item) {
        const parsed = itemSchemas[kind].safeParse(value);
        if (!parsed.success) {
          reject(kind, index, toIssues(parsed.error));
          return;
        }
        item = parsed.data as Record<string, unknown>;
      }
      const outOfRange = timeIssue(item[TIME_FIELD[kind]], receivedAt, "item");
      if (outOfRange) {
        reject(kind, index, [{ path: TIME_FIELD[kind], message: outOfRange }]);
        return;
      }
      const id = itemId(kind, item);
      const previous = byId.get(id);
      const merged = previous ? { ...previous.item, ...item } : item;
      let json: string;
      try {
        json = JSON.stringify(merged);
      } catch {
        reject(kind, index, [{ path: "", message: "item cannot be serialised (too deeply nested)" }]);
        return;
      }
      if (json.length > MAX_ITEM_BYTES) {
        reject(kind, index, [{ path: "", message: `item is larger than ${MAX_ITEM_BYTES / 1024} KiB` }]);
        return;
      }
      byId.set(id, { index, id, item: merged, json });
    });
    items[kind] = [...byId.values()].map(({ index, id, json }) => ({ index, id, json, hash: contentHash(json) }));
  }
  const account = envelope.account ?? {};
  return {
    accountId: envelope.accountId,
    platform: envelope.platform,
    account: {
      name: account.name ?? undefined,
      avatar: account.avatar ?? undefined,
      platformUserId: account.platform_user_id ?? undefined,
    },
    timestamp: envelope.timestamp ?? receivedAt,
    crawler: envelope.crawler,
    items,
    received,
    rejected,
  };
}
