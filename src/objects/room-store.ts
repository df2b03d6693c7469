/**
 * The AccountRoom's SQLite storage: schema, the push transaction and the reads. Storage is
 * the truth: nothing here keeps state in memory between calls.
 */
import { ApiError } from "../errors";
import { migrate } from "./migrate";
import {
  commentMessage,
  conversationHead,
  dmMessage,
  notificationOf,
  placeholderHead,
  topicOf,
  workHead,
} from "../mapping";
import type { TopicHead } from "../mapping";
import type { EventFrame, Message, Notification, Topic, TopicKind } from "../protocol";
import type {
  CommentItem,
  ContentItem,
  ConversationItem,
  ItemKind,
  MessageItem,
  NotificationItem,
  ParsedPush,
  Rejected,
  ValidItem,
} from "../snapshot";

/** Append-only: each entry runs once, in order, in the constructor. Never edit an applied one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE account (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     tenant TEXT NOT NULL,
     account_id TEXT NOT NULL,
     epoch TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     seq INTEGER NOT NULL DEFAULT 0,
     platform TEXT NOT NULL DEFAULT '',
     name TEXT,
     avatar TEXT,
     platform_user_id TEXT,
     account_ts INTEGER NOT NULL DEFAULT 0,
     last_message TEXT NOT NULL DEFAULT '',
     last_message_time INTEGER NOT NULL DEFAULT 0,
     message_count INTEGER NOT NULL DEFAULT 0,
     unread_count INTEGER NOT NULL DEFAULT 0,
     last_sync_at INTEGER
   );
   CREATE TABLE topics (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     raw TEXT,
     hash TEXT,
     ts INTEGER NOT NULL DEFAULT 0,
     title TEXT NOT NULL,
     avatar TEXT,
     base_time INTEGER NOT NULL,
     last_message TEXT NOT NULL DEFAULT '',
     last_message_time INTEGER NOT NULL DEFAULT 0,
     message_count INTEGER NOT NULL DEFAULT 0,
     unread_count INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0,
     sort_time INTEGER NOT NULL
   );
   CREATE INDEX topics_by_time ON topics (sort_time DESC, id);
   CREATE TABLE messages (
     id TEXT PRIMARY KEY,
     platform_id TEXT UNIQUE,
     kind TEXT NOT NULL,
     topic_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     timestamp INTEGER NOT NULL,
     inbound INTEGER NOT NULL,
     hash TEXT,
     ts INTEGER NOT NULL DEFAULT 0,
     raw TEXT,
     body TEXT NOT NULL
   );
   CREATE INDEX messages_by_topic ON messages (topic_id, seq);
   CREATE INDEX messages_by_kind_time ON messages (kind, timestamp DESC, seq DESC);
   CREATE TABLE notifications (
     id TEXT PRIMARY KEY,
     seq INTEGER NOT NULL,
     hash TEXT NOT NULL,
     ts INTEGER NOT NULL,
     raw TEXT NOT NULL,
     body TEXT NOT NULL
   );
   CREATE TABLE events (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, frame TEXT NOT NULL);
   CREATE TABLE cursors (client_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL);`,
  // Replies and logins the crawler carries out (PROTOCOL §7); admin-only events (login).
  `ALTER TABLE events ADD COLUMN audience TEXT NOT NULL DEFAULT 'all';
   CREATE TABLE commands (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     client_msg_id TEXT UNIQUE,
     message_id TEXT,
     topic_id TEXT,
     topic_kind TEXT,
     reply_to_id TEXT,
     content TEXT,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     platform_message_id TEXT,
     created_at INTEGER NOT NULL,
     pending_since INTEGER NOT NULL,
     taken_at INTEGER,
     stale INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX commands_pending ON commands (status, pending_since);
   CREATE TABLE login (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     command_id TEXT NOT NULL,
     status TEXT NOT NULL,
     error TEXT,
     image TEXT,
     expires_at INTEGER,
     qrcode_seq INTEGER
   );`,
];

/** Events only admins may see (login control, QR codes); everything else goes to every agent. */
export const ADMIN_ONLY: ReadonlySet<EventFrame["type"]> = new Set(["account:qrcode", "account:login:status"]);

type AccountRow = {
  tenant: string;
  account_id: string;
  epoch: string;
  seq: number;
  platform: string;
  name: string | null;
  avatar: string | null;
  platform_user_id: string | null;
  account_ts: number;
  last_message: string;
  last_message_time: number;
  message_count: number;
  unread_count: number;
  last_sync_at: number | null;
};

type TopicRow = {
  id: string;
  kind: TopicKind;
  raw: string | null;
  hash: string | null;
  ts: number;
  title: string;
  avatar: string | null;
  base_time: number;
  last_message: string;
  last_message_time: number;
  message_count: number;
  unread_count: number;
  read_seq: number;
};

type MessageRow = {
  id: string;
  kind: string;
  topic_id: string;
  seq: number;
  hash: string | null;
  ts: number;
  raw: string | null;
  body: string;
};

export type KindCounts = { received: number; new: number; updated: number };
export type PushResult = {
  seq: number;
  counts: Record<ItemKind, KindCounts>;
  rejected: Rejected[];
  events: EventFrame[];
  /** `events` as the JSON text stored in the log (and sent live), in the same order. */
  eventTexts: string[];
};

/** The account's figures the Directory shows as a Channel. */
export type AccountSummary = {
  id: string;
  name: string;
  avatar: string;
  platform: string;
  lastMessage: string;
  lastMessageTime: number;
  unreadCount: number;
  messageCount: number;
  lastSyncAt: number | null;
  seq: number;
};

/** What a topic list shows for a message that has no text (an image, a file). */
export function preview(message: Message): string {
  if (message.content) return message.content;
  return message.type === "text" ? "" : `[${message.type}]`;
}

export class RoomStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    migrate(this.sql, MIGRATIONS);
  }

  account(): AccountRow | null {
    return this.sql.exec<AccountRow>("SELECT * FROM account WHERE id = 1").toArray()[0] ?? null;
  }

  /** The account row, or 403: an account no crawler has pushed to is not part of the tenant. */
  requireAccount(tenant: string, accountId: string): AccountRow {
    const row = this.account();
    if (!row || row.tenant !== tenant || row.account_id !== accountId) {
      throw new ApiError("forbidden", `account ${accountId} is not an account of tenant ${tenant}`);
    }
    return row;
  }

  seq(): number {
    return this.account()?.seq ?? 0;
  }

  // -------------------------------------------------------------------------
  // The push

  /**
   * Applies one validated snapshot. Must run inside `transactionSync`: either every valid
   * item and every event is stored, or (on a throw) none is.
   */
  applyPush(tenant: string, push: ParsedPush, now: number): PushResult {
    let account = this.account();
    if (!account) {
      this.sql.exec(
        "INSERT INTO account (id, tenant, account_id, epoch, created_at) VALUES (1, ?, ?, ?, ?)",
        tenant,
        push.accountId,
        crypto.randomUUID(),
        now,
      );
      account = this.account()!;
    }
    const run = new PushRun(this.sql, account, push, now);
    return run.apply();
  }

  // -------------------------------------------------------------------------
  // Reads

  topics(): Topic[] {
    const channelId = this.account()?.account_id ?? "";
    return this.sql
      .exec<TopicRow>("SELECT * FROM topics ORDER BY sort_time DESC, id")
      .toArray()
      .map((row) => rowToTopic(channelId, row));
  }

  topic(topicId: string): Topic | null {
    const row = this.sql.exec<TopicRow>("SELECT * FROM topics WHERE id = ?", topicId).toArray()[0];
    return row ? rowToTopic(this.account()?.account_id ?? "", row) : null;
  }

  topicRaw(topicId: string): Record<string, unknown> | null {
    const row = this.sql.exec<{ raw: string | null }>("SELECT raw FROM topics WHERE id = ?", topicId).toArray()[0];
    return row?.raw ? (JSON.parse(row.raw) as Record<string, unknown>) : null;
  }

  /** A page of a topic's messages, oldest first, strictly before `before` (a Message.seq). */
  messages(topicId: string, before: number | undefined, limit: number): { messages: Message[]; hasMore: boolean } {
    if (!this.sql.exec("SELECT 1 FROM topics WHERE id = ?", topicId).toArray().length) {
      throw new ApiError("not_found", `topic ${topicId} does not exist`);
    }
    const rows = this.sql
      .exec<{ body: string }>(
        "SELECT body FROM messages WHERE topic_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        topicId,
        before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    const hasMore = rows.length > limit;
    const messages = rows
      .slice(0, limit)
      .reverse()
      .map((r) => JSON.parse(r.body) as Message);
    return { messages, hasMore };
  }

  /** Messages of some kinds across the account, newest first, by offset (the compatibility API). */
  messagesByKind(
    kinds: string[],
    offset: number,
    count: number,
    topicId?: string,
  ): { messages: Message[]; hasMore: boolean } {
    const placeholders = kinds.map(() => "?").join(", ");
    const topicFilter = topicId === undefined ? "" : " AND topic_id = ?";
    const rows = this.sql
      .exec<{ body: string }>(
        `SELECT body FROM messages WHERE kind IN (${placeholders})${topicFilter}
         ORDER BY timestamp DESC, seq DESC LIMIT ? OFFSET ?`,
        ...kinds,
        ...(topicId === undefined ? [] : [topicId]),
        count + 1,
        offset,
      )
      .toArray();
    return { messages: rows.slice(0, count).map((r) => JSON.parse(r.body) as Message), hasMore: rows.length > count };
  }

  /** Topics of one kind with their item, newest first, by offset (the compatibility API). */
  topicsByKind(
    kind: TopicKind,
    offset: number,
    count: number,
  ): { topics: { topic: Topic; raw: Record<string, unknown> | null }[]; hasMore: boolean } {
    const channelId = this.account()?.account_id ?? "";
    const rows = this.sql
      .exec<TopicRow>(
        "SELECT * FROM topics WHERE kind = ? ORDER BY sort_time DESC, id LIMIT ? OFFSET ?",
        kind,
        count + 1,
        offset,
      )
      .toArray();
    return {
      topics: rows.slice(0, count).map((row) => ({
        topic: rowToTopic(channelId, row),
        raw: row.raw ? (JSON.parse(row.raw) as Record<string, unknown>) : null,
      })),
      hasMore: rows.length > count,
    };
  }

  summary(): AccountSummary | null {
    const a = this.account();
    if (!a) return null;
    return {
      id: a.account_id,
      name: a.name || a.account_id,
      avatar: a.avatar ?? "",
      platform: a.platform,
      lastMessage: a.last_message,
      lastMessageTime: a.last_message_time,
      unreadCount: a.unread_count,
      messageCount: a.message_count,
      lastSyncAt: a.last_sync_at,
      seq: a.seq,
    };
  }

  // -------------------------------------------------------------------------
  // Read marks, events, cursors

  /**
   * Moves a topic's team-shared read mark forward to `seq` (default: everything so far) and
   * appends the `topic:updated` event. Must run inside `transactionSync`.
   */
  markRead(topicId: string, seq: number | undefined): EventFrame | null {
    const row = this.sql.exec<TopicRow>("SELECT * FROM topics WHERE id = ?", topicId).toArray()[0];
    if (!row) throw new ApiError("not_found", `topic ${topicId} does not exist`);
    const account = this.account()!;
    const mark = Math.min(seq ?? account.seq, account.seq);
    if (mark <= row.read_seq) return null;
    const unread = this.sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM messages WHERE topic_id = ? AND seq > ? AND inbound = 1",
        topicId,
        mark,
      )
      .one().n;
    this.sql.exec("UPDATE topics SET read_seq = ?, unread_count = ? WHERE id = ?", mark, unread, topicId);
    this.sql.exec("UPDATE account SET unread_count = unread_count - ? WHERE id = 1", row.unread_count - unread);
    const topic = rowToTopic(account.account_id, { ...row, read_seq: mark, unread_count: unread });
    return this.emit((seq) => ({ type: "topic:updated", payload: { seq, topic } }));
  }

  /** Appends one event with the next `seq`. Must run inside `transactionSync`. */
  emit<F extends EventFrame>(make: (seq: number) => F): F {
    const seq = this.seq() + 1;
    const frame = make(seq);
    appendEvent(this.sql, frame, seq, Date.now());
    this.sql.exec("UPDATE account SET seq = ? WHERE id = 1", seq);
    return frame;
  }

  /** The current state of a topic as a `topic:updated` event. Must run inside `transactionSync`. */
  emitTopic(topicId: string): EventFrame {
    const topic = this.topic(topicId)!;
    return this.emit((seq) => ({ type: "topic:updated", payload: { seq, topic } }));
  }

  /** The oldest seq still kept, or null when the log is empty. */
  firstEventSeq(): number | null {
    return this.sql.exec<{ s: number | null }>("SELECT MIN(seq) AS s FROM events").one().s;
  }

  /** How many events after `since` a socket of this audience would be replayed. */
  countEventsAfter(since: number, admin: boolean): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM events WHERE seq > ? AND (audience = 'all' OR ?)",
        since,
        admin ? 1 : 0,
      )
      .one().n;
  }

  /** Stored event frames after `since`, in order, as the JSON text that was sent live. */
  *eventsAfter(since: number, admin: boolean): Generator<string> {
    let from = since;
    for (;;) {
      const rows = this.sql
        .exec<{ seq: number; frame: string }>(
          "SELECT seq, frame FROM events WHERE seq > ? AND (audience = 'all' OR ?) ORDER BY seq LIMIT 500",
          from,
          admin ? 1 : 0,
        )
        .toArray();
      for (const row of rows) yield row.frame;
      if (rows.length < 500) return;
      from = rows[rows.length - 1]!.seq;
    }
  }

  /** Drops events older than the retention, keeping at least the newest `keep`. */
  pruneEvents(olderThan: number, keepAtMost: number): number {
    const seq = this.seq();
    const cursor = this.sql.exec(
      "DELETE FROM events WHERE seq <= ? OR (at < ? AND seq <= ?)",
      seq - keepAtMost,
      olderThan,
      seq - 1,
    );
    return cursor.rowsWritten;
  }

  oldestEventAt(): number | null {
    return this.sql.exec<{ at: number }>("SELECT at FROM events ORDER BY seq LIMIT 1").toArray()[0]?.at ?? null;
  }

  cursor(clientId: string): number | null {
    return (
      this.sql.exec<{ seq: number }>("SELECT seq FROM cursors WHERE client_id = ?", clientId).toArray()[0]?.seq ?? null
    );
  }

  /** Stores a client's cursor; it only moves forward and never past the room's seq. */
  saveCursor(clientId: string, seq: number): number {
    const value = Math.min(seq, this.seq());
    this.sql.exec(
      `INSERT INTO cursors (client_id, seq, at) VALUES (?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET seq = MAX(seq, excluded.seq), at = excluded.at`,
      clientId,
      value,
      Date.now(),
    );
    return this.cursor(clientId)!;
  }

  notificationSeq(notificationId: string): number | null {
    return (
      this.sql.exec<{ seq: number }>("SELECT seq FROM notifications WHERE id = ?", notificationId).toArray()[0]?.seq ??
      null
    );
  }
}

/**
 * Stores a new message and keeps its topic's and the account's figures (count, unread, last
 * message) in step. `message.seq` must already be its event's seq.
 */
export function insertMessage(
  sql: SqlStorage,
  message: Message,
  source: { platformId: string | null; hash: string | null; ts: number; raw: string | null },
): void {
  const inbound = message.direction === "in" ? 1 : 0;
  sql.exec(
    `INSERT INTO messages (id, platform_id, kind, topic_id, seq, timestamp, inbound, hash, ts, raw, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    message.id,
    source.platformId,
    message.kind,
    message.topicId,
    message.seq,
    message.timestamp,
    inbound,
    source.hash,
    source.ts,
    source.raw,
    JSON.stringify(message),
  );
  const text = preview(message);
  sql.exec(
    `UPDATE topics SET message_count = message_count + 1,
       unread_count = unread_count + ?,
       last_message = CASE WHEN ? >= last_message_time THEN ? ELSE last_message END,
       last_message_time = MAX(last_message_time, ?),
       sort_time = MAX(sort_time, ?)
     WHERE id = ?`,
    inbound,
    message.timestamp,
    text,
    message.timestamp,
    message.timestamp,
    message.topicId,
  );
  sql.exec(
    `UPDATE account SET message_count = message_count + 1, unread_count = unread_count + ?,
       last_message = CASE WHEN ? >= last_message_time THEN ? ELSE last_message END,
       last_message_time = MAX(last_message_time, ?)
     WHERE id = 1`,
    inbound,
    message.timestamp,
    text,
    message.timestamp,
  );
}

function appendEvent(sql: SqlStorage, frame: EventFrame, seq: number, at: number): void {
  const audience = ADMIN_ONLY.has(frame.type) ? "admin" : "all";
  sql.exec(
    "INSERT INTO events (seq, at, frame, audience) VALUES (?, ?, ?, ?)",
    seq,
    at,
    JSON.stringify(frame),
    audience,
  );
}

/**
 * SQLite on Durable Objects binds at most 100 parameters per statement: multi-row inserts
 * and `IN (…)` lookups go in chunks that stay under it.
 */
const MAX_BOUND = 100;

/**
 * Rows for one table, inserted many per statement. A push of 10k new comments is 10k rows
 * in messages and in events; one statement per row spends most of its time crossing into
 * SQLite, not in it.
 */
class RowBuffer {
  private readonly perStatement: number;
  private readonly fullSql: string;
  private values: SqlStorageValue[] = [];

  constructor(
    private readonly sql: SqlStorage,
    private readonly head: string,
    private readonly columns: number,
  ) {
    this.perStatement = Math.floor(MAX_BOUND / columns);
    this.fullSql = this.statement(this.perStatement);
  }

  add(...row: SqlStorageValue[]): void {
    this.values.push(...row);
    if (this.values.length === this.perStatement * this.columns) this.flush();
  }

  flush(): void {
    if (!this.values.length) return;
    const rows = this.values.length / this.columns;
    this.sql.exec(rows === this.perStatement ? this.fullSql : this.statement(rows), ...this.values);
    this.values = [];
  }

  private statement(rows: number): string {
    const row = `(${new Array(this.columns).fill("?").join(", ")})`;
    return `${this.head} VALUES ${new Array(rows).fill(row).join(", ")}`;
  }
}

/** What inserting messages adds to a topic's (or the account's) figures, kept to write once. */
class Tally {
  count = 0;
  unread = 0;
  /** The newest time among the messages, and the preview of the last one inserted with it… */
  time = -Infinity;
  text = "";
  /** …and that message's place in the push's insertion order. */
  position = -1;

  add(message: Message, inbound: number, position: number): void {
    this.count++;
    this.unread += inbound;
    // Same rule as the per-message UPDATE: a message at least as new as the newest so far wins.
    if (message.timestamp >= this.time) {
      this.time = message.timestamp;
      this.text = preview(message);
      this.position = position;
    }
  }
}

function rowToTopic(channelId: string, row: TopicRow): Topic {
  const head: TopicHead = {
    kind: row.kind,
    title: row.title,
    avatar: row.avatar ?? undefined,
    baseTime: row.base_time,
  };
  return topicOf(channelId, row.id, head, {
    lastMessage: row.last_message,
    lastMessageTime: row.last_message_time,
    messageCount: row.message_count,
    unreadCount: row.unread_count,
  });
}

/** Merges a stored item with a newer one: fields the crawler left out keep their value. */
function merge(stored: string | null, incoming: string): { json: string; value: Record<string, unknown> } {
  const next = JSON.parse(incoming) as Record<string, unknown>;
  if (!stored) return { json: incoming, value: next };
  const value = { ...(JSON.parse(stored) as Record<string, unknown>), ...next };
  return { json: JSON.stringify(value), value };
}

type Pending = { message: Message; raw: string; hash: string; item: ValidItem; kind: "comments" | "messages" };

/** The stored row of a message a push may have to write: [kind, hash, ts, has_raw], or kind null when there is none. */
type MessageBrief = [kind: string | null, hash: string | null, ts: number | null, hasRaw: number];

/** One push being applied: the counters and the events it makes. */
class PushRun {
  private seq: number;
  private readonly events: EventFrame[] = [];
  private readonly eventTexts: string[] = [];
  private readonly touched = new Set<string>();
  private readonly rejected: Rejected[];
  private readonly counts = {} as Record<ItemKind, KindCounts>;
  private readonly selfId: string | undefined;
  /** Topic kinds looked up in this push (null: no such topic yet); kinds never change. */
  private readonly topicKinds = new Map<string, TopicKind | null>();
  /** What this push's new messages will create: placeholder topics, and message ids by kind. */
  private readonly placeholders = new Map<string, TopicKind>();
  private readonly freshIds = new Map<string, string>();
  private readonly eventRows: RowBuffer;
  private readonly messageRows: RowBuffer;

  constructor(
    private readonly sql: SqlStorage,
    private readonly account: AccountRow,
    private readonly push: ParsedPush,
    private readonly now: number,
  ) {
    this.seq = account.seq;
    this.rejected = [...push.rejected];
    for (const kind of Object.keys(push.received) as ItemKind[]) {
      this.counts[kind] = { received: push.received[kind], new: 0, updated: 0 };
    }
    this.selfId = push.account.platformUserId ?? account.platform_user_id ?? undefined;
    this.eventRows = new RowBuffer(sql, "INSERT INTO events (seq, at, frame, audience)", 4);
    this.messageRows = new RowBuffer(
      sql,
      "INSERT INTO messages (id, platform_id, kind, topic_id, seq, timestamp, inbound, hash, ts, raw, body)",
      11,
    );
  }

  apply(): PushResult {
    for (const item of this.push.items.contents) this.topicItem("contents", item);
    for (const item of this.push.items.conversations) this.topicItem("conversations", item);
    this.messageItems();
    for (const id of this.touched) this.topicEvent(id);
    for (const item of this.push.items.notifications) this.notificationItem(item);
    this.accountFields();
    this.eventRows.flush();
    this.rejected.sort((a, b) => (a.kind === b.kind ? a.index - b.index : a.kind < b.kind ? -1 : 1));
    return {
      seq: this.seq,
      counts: this.counts,
      rejected: this.rejected,
      events: this.events,
      eventTexts: this.eventTexts,
    };
  }

  /** Appends an event (buffered: the rows are written before the push returns). */
  private emit(frame: EventFrame, text = JSON.stringify(frame)): void {
    this.eventRows.add(this.seq, this.now, text, ADMIN_ONLY.has(frame.type) ? "admin" : "all");
    this.events.push(frame);
    this.eventTexts.push(text);
  }

  /** A topic's kind, or null if it does not exist (yet). */
  private topicKind(id: string): TopicKind | null {
    let kind = this.topicKinds.get(id);
    if (kind === undefined) {
      kind = this.sql.exec<{ kind: TopicKind }>("SELECT kind FROM topics WHERE id = ?", id).toArray()[0]?.kind ?? null;
      this.topicKinds.set(id, kind);
    }
    return kind;
  }

  /**
   * The items that are new or may have changed, by their place in `items`: SQLite compares
   * each item's hash with its stored row, so an unchanged item costs an index lookup and
   * nothing is read back for it. A stored row of another kind is returned whatever its hash
   * (it is rejected). Rows come back by position, not by id: an id is matched the way SQLite
   * sees it (a lone UTF-16 surrogate does not survive the trip), exactly as a lookup per item.
   */
  private candidates(items: ValidItem[], kind: "comment" | "dm"): (MessageBrief | undefined)[] {
    const found: (MessageBrief | undefined)[] = new Array(items.length);
    const perStatement = Math.floor((MAX_BOUND - 1) / 2);
    for (let start = 0; start < items.length; start += perStatement) {
      const chunk = items.slice(start, start + perStatement);
      const values: SqlStorageValue[] = [];
      for (const item of chunk) values.push(item.id, item.hash);
      const rows = this.sql
        .exec(
          `WITH incoming (i, platform_id, hash) AS (VALUES ${chunk.map((_, i) => `(${i}, ?, ?)`).join(", ")})
           SELECT incoming.i, m.kind, m.hash, m.ts, m.raw IS NOT NULL
           FROM incoming LEFT JOIN messages AS m ON m.platform_id = incoming.platform_id
           WHERE m.hash IS NOT incoming.hash OR m.kind NOT IN (?, 'reply')`,
          ...values,
          kind,
        )
        .raw<[number, ...MessageBrief]>();
      for (const [i, ...brief] of rows) found[start + i] = brief;
    }
    return found;
  }

  private reject(kind: ItemKind, item: ValidItem, path: string, message: string): void {
    this.rejected.push({ kind, index: item.index, issues: [{ path, message }] });
  }

  /** Whether a stored item is left as it is: same incoming hash, or this push is older. */
  private unchanged(
    stored: { hash: string | null; ts: number; raw: string | null } | undefined,
    item: ValidItem,
  ): boolean {
    if (!stored) return false;
    return this.unchangedBrief(stored.hash, stored.ts, stored.raw !== null, item);
  }

  private unchangedBrief(hash: string | null, ts: number, hasRaw: boolean, item: ValidItem): boolean {
    if (hash === item.hash) return true;
    return hasRaw && this.push.timestamp < ts;
  }

  private topicItem(kind: "contents" | "conversations", item: ValidItem): void {
    const topicKind: TopicKind = kind === "contents" ? "work" : "conversation";
    const stored = this.sql.exec<TopicRow>("SELECT * FROM topics WHERE id = ?", item.id).toArray()[0];
    if (stored && stored.kind !== topicKind) {
      const field = kind === "contents" ? "work_id" : "conversation_id";
      this.reject(kind, item, field, `${item.id} is already a ${stored.kind} of this account`);
      return;
    }
    if (this.unchanged(stored, item)) return;
    const { json, value } = merge(stored?.raw ?? null, item.json);
    if (stored?.raw === json) {
      this.sql.exec(
        "UPDATE topics SET hash = ?, ts = MAX(ts, ?) WHERE id = ?",
        item.hash,
        this.push.timestamp,
        item.id,
      );
      return;
    }
    const head =
      kind === "contents"
        ? workHead(value as ContentItem, stored?.base_time ?? this.now)
        : conversationHead(value as ConversationItem, stored?.base_time ?? this.now);
    if (stored) {
      this.sql.exec(
        `UPDATE topics SET raw = ?, hash = ?, ts = ?, title = ?, avatar = ?, base_time = ?,
           sort_time = MAX(last_message_time, ?) WHERE id = ?`,
        json,
        item.hash,
        Math.max(stored.ts, this.push.timestamp),
        head.title,
        head.avatar ?? null,
        head.baseTime,
        head.baseTime,
        item.id,
      );
      this.counts[kind].updated++;
    } else {
      this.insertTopic(item.id, head, json, item.hash);
      this.counts[kind].new++;
    }
    this.touched.add(item.id);
  }

  private insertTopic(id: string, head: TopicHead, raw: string | null, hash: string | null): void {
    // A cached "no such topic" may be this very row under another spelling of its id.
    for (const [key, kind] of this.topicKinds) if (kind === null) this.topicKinds.delete(key);
    this.topicKinds.set(id, head.kind);
    this.sql.exec(
      `INSERT INTO topics (id, kind, raw, hash, ts, title, avatar, base_time, sort_time)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      head.kind,
      raw,
      hash,
      raw === null ? 0 : this.push.timestamp,
      head.title,
      head.avatar ?? null,
      head.baseTime,
      head.baseTime,
    );
  }

  /** Comments and DMs: changed ones in snapshot order, new ones in time order. */
  private messageItems(): void {
    const fresh: Pending[] = [];
    for (const kind of ["comments", "messages"] as const) {
      const expected = kind === "comments" ? "comment" : "dm";
      // Ids are unique within a kind (parseItems merges repeats), so one lookup up front sees
      // exactly what a lookup per item would: nothing of this kind is written before its turn.
      const items = this.push.items[kind];
      const candidates = this.candidates(items, expected);
      for (let position = 0; position < items.length; position++) {
        const item = items[position]!;
        const brief = candidates[position];
        // Not a candidate: stored, of this kind, with this very hash.
        if (!brief) continue;
        const [storedKind, storedHash, storedTs, hasRaw] = brief;
        // Another kind with this id: stored before, or new earlier in this very push.
        const otherKind = storedKind ?? this.freshIds.get(item.id) ?? null;
        if (otherKind !== null && otherKind !== expected && otherKind !== "reply") {
          const field = kind === "comments" ? "comment_id" : "msg_id";
          this.reject(kind, item, field, `${item.id} is already a ${otherKind} of this account`);
          continue;
        }
        if (storedKind !== null && this.unchangedBrief(storedHash, storedTs!, hasRaw === 1, item)) continue;
        const stored =
          storedKind !== null
            ? this.sql
                .exec<MessageRow>(
                  "SELECT id, kind, topic_id, seq, hash, ts, raw, body FROM messages WHERE platform_id = ?",
                  item.id,
                )
                .one()
            : undefined;
        const { json, value } = merge(stored?.raw ?? null, item.json);
        if (stored && stored.raw === json) {
          this.sql.exec(
            "UPDATE messages SET hash = ?, ts = MAX(ts, ?) WHERE id = ?",
            item.hash,
            this.push.timestamp,
            stored.id,
          );
          continue;
        }
        // An item without a time keeps the time it was first seen with, not this push's.
        const fallbackTime = stored ? (JSON.parse(stored.body) as Message).timestamp : this.now;
        const ctx = { channelId: this.account.account_id, seq: stored?.seq ?? 0, selfId: this.selfId, fallbackTime };
        const mapped =
          kind === "comments" ? commentMessage(value as CommentItem, ctx) : dmMessage(value as MessageItem, ctx);
        const topicKind: TopicKind = kind === "comments" ? "work" : "conversation";
        const topic = this.topicKind(mapped.topicId) ?? this.placeholders.get(mapped.topicId) ?? null;
        if (topic && topic !== topicKind) {
          const field = kind === "comments" ? "work_id" : "conversation_id";
          this.reject(kind, item, field, `${mapped.topicId} is a ${topic} of this account, not a ${topicKind}`);
          continue;
        }
        if (stored) {
          this.updateMessage(kind, stored, mapped, json, item);
        } else {
          if (!topic) this.placeholders.set(mapped.topicId, topicKind);
          this.freshIds.set(item.id, expected);
          fresh.push({ message: mapped, raw: json, hash: item.hash, item, kind });
        }
      }
    }
    fresh.sort((a, b) => a.message.timestamp - b.message.timestamp);
    const topics = new Map<string, Tally>();
    const account = new Tally();
    fresh.forEach((pending, position) => this.insertMessage(pending, position, topics, account));
    this.messageRows.flush();
    // What `insertMessage` (the exported one) does per message, once per topic and once for
    // the account. In the order of each topic's last message: should two topic ids be one row
    // to SQLite (ids that differ only in a lone surrogate), the last message still wins.
    const byLast = [...topics.entries()].sort((a, b) => a[1].position - b[1].position);
    for (const [topicId, tally] of byLast) {
      this.sql.exec(
        `UPDATE topics SET message_count = message_count + ?,
           unread_count = unread_count + ?,
           last_message = CASE WHEN ? >= last_message_time THEN ? ELSE last_message END,
           last_message_time = MAX(last_message_time, ?),
           sort_time = MAX(sort_time, ?)
         WHERE id = ?`,
        tally.count,
        tally.unread,
        tally.time,
        tally.text,
        tally.time,
        tally.time,
        topicId,
      );
    }
    if (account.count) {
      this.sql.exec(
        `UPDATE account SET message_count = message_count + ?, unread_count = unread_count + ?,
           last_message = CASE WHEN ? >= last_message_time THEN ? ELSE last_message END,
           last_message_time = MAX(last_message_time, ?)
         WHERE id = 1`,
        account.count,
        account.unread,
        account.time,
        account.text,
        account.time,
      );
    }
  }

  /** Stores a new message (buffered) and its event; its figures go into the tallies. */
  private insertMessage(
    { message, raw, hash, item, kind }: Pending,
    position: number,
    topics: Map<string, Tally>,
    account: Tally,
  ): void {
    const topicKind: TopicKind = kind === "comments" ? "work" : "conversation";
    if (this.topicKind(message.topicId) === null) {
      this.insertTopic(message.topicId, placeholderHead(topicKind, message), null, null);
    }
    this.seq++;
    message.seq = this.seq;
    const inbound = message.direction === "in" ? 1 : 0;
    const body = JSON.stringify(message);
    this.messageRows.add(
      message.id,
      item.id,
      message.kind,
      message.topicId,
      message.seq,
      message.timestamp,
      inbound,
      hash,
      this.push.timestamp,
      raw,
      body,
    );
    let tally = topics.get(message.topicId);
    if (!tally) topics.set(message.topicId, (tally = new Tally()));
    tally.add(message, inbound, position);
    account.add(message, inbound, position);
    const frame: EventFrame = {
      type: "channel:message",
      payload: { seq: this.seq, channelId: message.channelId, topicId: message.topicId, message },
    };
    // Exactly JSON.stringify(frame), reusing the message's JSON instead of serialising it again.
    const text = `{"type":"channel:message","payload":{"seq":${this.seq},"channelId":${JSON.stringify(message.channelId)},"topicId":${JSON.stringify(message.topicId)},"message":${body}}}`;
    this.emit(frame, text);
    this.counts[kind].new++;
    this.touched.add(message.topicId);
  }

  private updateMessage(
    kind: "comments" | "messages",
    stored: MessageRow,
    mapped: Message,
    raw: string,
    item: ValidItem,
  ): void {
    const previous = JSON.parse(stored.body) as Message;
    // A sent reply seen again in a snapshot stays the agent's reply: only its platform fields change.
    const message: Message =
      stored.kind === "reply"
        ? { ...previous, content: mapped.content, timestamp: mapped.timestamp }
        : { ...mapped, id: stored.id, seq: stored.seq, topicId: stored.topic_id };
    this.sql.exec(
      "UPDATE messages SET hash = ?, ts = ?, raw = ?, body = ?, timestamp = ? WHERE id = ?",
      item.hash,
      Math.max(stored.ts, this.push.timestamp),
      raw,
      JSON.stringify(message),
      message.timestamp,
      stored.id,
    );
    // PROTOCOL §4: a changed item makes one update event, even when the change (a like
    // count) is not part of the Message a client shows.
    this.seq++;
    this.emit({ type: "message:updated", payload: { seq: this.seq, message } });
    this.counts[kind].updated++;
    this.sql.exec(
      "UPDATE topics SET last_message = ? WHERE id = ? AND last_message_time = ?",
      preview(message),
      message.topicId,
      message.timestamp,
    );
    this.touched.add(message.topicId);
  }

  private topicEvent(id: string): void {
    const row = this.sql.exec<TopicRow>("SELECT * FROM topics WHERE id = ?", id).one();
    this.seq++;
    this.emit({ type: "topic:updated", payload: { seq: this.seq, topic: rowToTopic(this.account.account_id, row) } });
  }

  private notificationItem(item: ValidItem): void {
    const stored = this.sql
      .exec<{ hash: string; ts: number; raw: string; seq: number; body: string }>(
        "SELECT hash, ts, raw, seq, body FROM notifications WHERE id = ?",
        item.id,
      )
      .toArray()[0];
    if (this.unchanged(stored, item)) return;
    const { json, value } = merge(stored?.raw ?? null, item.json);
    const fallbackTime = stored ? (JSON.parse(stored.body) as Notification).timestamp : this.now;
    const notification: Notification = notificationOf(value as NotificationItem, this.account.account_id, fallbackTime);
    if (stored) {
      // PROTOCOL has no "notification changed" frame: the newer fields are kept, silently.
      this.sql.exec(
        "UPDATE notifications SET hash = ?, ts = ?, raw = ?, body = ? WHERE id = ?",
        item.hash,
        Math.max(stored.ts, this.push.timestamp),
        json,
        JSON.stringify(notification),
        item.id,
      );
      if (stored.raw !== json) this.counts.notifications.updated++;
      return;
    }
    this.seq++;
    this.sql.exec(
      "INSERT INTO notifications (id, seq, hash, ts, raw, body) VALUES (?, ?, ?, ?, ?, ?)",
      item.id,
      this.seq,
      item.hash,
      this.push.timestamp,
      json,
      JSON.stringify(notification),
    );
    this.emit({ type: "notification:new", payload: { seq: this.seq, notification } });
    this.counts.notifications.new++;
  }

  /** Name, avatar, platform: only a push at least as new as the last one that set them. */
  private accountFields(): void {
    const { account: fields, platform, timestamp } = this.push;
    const newer = timestamp >= this.account.account_ts;
    this.sql.exec(
      `UPDATE account SET seq = ?, last_sync_at = ?,
         name = CASE WHEN ? THEN COALESCE(?, name) ELSE name END,
         avatar = CASE WHEN ? THEN COALESCE(?, avatar) ELSE avatar END,
         platform_user_id = CASE WHEN ? THEN COALESCE(?, platform_user_id) ELSE platform_user_id END,
         platform = CASE WHEN ? AND ? IS NOT NULL THEN ? ELSE platform END,
         account_ts = MAX(account_ts, ?)
       WHERE id = 1`,
      this.seq,
      this.now,
      newer ? 1 : 0,
      fields.name ?? null,
      newer ? 1 : 0,
      fields.avatar ?? null,
      newer ? 1 : 0,
      fields.platformUserId ?? null,
      newer || !this.account.platform ? 1 : 0,
      platform ?? null,
      platform ?? null,
      timestamp,
    );
  }
}
