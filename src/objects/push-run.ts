/**
 * One snapshot push applied to an AccountRoom's SQLite, inside the caller's
 * `transactionSync`: what is new or changed, the rows, the events, the counts.
 */
import { commentMessage, conversationHead, dmMessage, notificationOf, placeholderHead, workHead } from "../mapping";
import type { TopicHead } from "../mapping";
import type { EventFrame, Message, Notification, TopicKind } from "../protocol";
import type {
  CommentItem,
  ContentItem,
  ConversationItem,
  ItemKind,
  MessageItem,
  NotificationItem,
  Rejected,
  RoomPush,
  ValidItem,
} from "../snapshot";
import { MAX_REJECTED, tooManyRejected } from "../snapshot";
import { ADMIN_ONLY, preview, rowToTopic } from "./room-rows";
import type { AccountRow, KindCounts, MessageRow, PushResult, TopicRow } from "./room-rows";

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
export class PushRun {
  private seq: number;
  private readonly events: EventFrame[] = [];
  private readonly eventTexts: string[] = [];
  private readonly touched = new Set<string>();
  /** Items this push rejects here; the Worker's own rejections are only counted (`push.rejectedCount`). */
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
    private readonly push: RoomPush,
    private readonly now: number,
  ) {
    this.seq = account.seq;
    this.rejected = [];
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
    // Thrown inside the transaction: nothing of the push is stored.
    if (this.push.rejectedCount + this.rejected.length > MAX_REJECTED) {
      throw tooManyRejected(this.rejected, this.push.rejectedCount);
    }
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
