/**
 * One snapshot push applied to an AccountRoom's SQLite, inside the caller's
 * `transactionSync` (the commit path's): what is new or changed, the rows, the events, the
 * counts.
 *
 * Over 300 lines because one push is one pass with shared bookkeeping (the seq, the counts, the
 * topics touched, the placeholders its messages create): every step reads and writes it.
 */
import {
  commentMessage,
  conversationHead,
  dmMessage,
  notificationOf,
  placeholderHead,
  workHead,
} from "../../../mapping";
import type { TopicHead } from "../../../mapping";
import type { EventFrame, Message, Notification, TopicKind } from "../../../contract/schemas";
import type {
  CommentItem,
  ContentItem,
  ConversationItem,
  ItemKind,
  MessageItem,
  NotificationItem,
  Rejected,
  ValidItem,
} from "../../../contract/snapshot";
import type { RoomPush } from "../../../contract/push-pack";
import { MAX_REJECTED, tooManyRejected } from "../../../contract/snapshot";
import {
  audienceOf,
  channelMessage,
  channelMessageText,
  freezeMessageEvent,
  messageUpdated,
  notificationNew,
  topicUpdated,
} from "../events";
import { bodyOf, packBody } from "../store/message-body";
import { packRaw, unpackRaw } from "../store/message-raw";
import { MessageWriter } from "../store/message-writer";
import { preview, rowToTopic } from "../store/rows";
import type { AccountRow, KindCounts, MessageRow, PushResult, TopicRow } from "../store/rows";
import { isUnchanged, merge, rowidByPlatformId, storedCandidates } from "./push-items";
import type { StoredItem } from "./push-items";
import { RowBuffer } from "../../../lib/row-buffer";
import type { RoomStore } from "../store/room-store";

/**
 * Applies one validated snapshot. Must run inside `transactionSync`: either every valid item
 * and every event is stored, or (on a throw) none is. `known`: the account row as read earlier
 * in the same turn.
 */
export function applyPush(
  store: RoomStore,
  tenant: string,
  push: RoomPush,
  now: number,
  known: AccountRow | null,
): PushResult {
  const account = store.ensureAccount(tenant, push.accountId, now, known);
  const result = new PushRun(store.sql, account, push, now).apply();
  store.recordSignOfLife(push.crawler, now);
  store.recordPush(now);
  return result;
}

type Pending = { message: Message; raw: string; hash: string; item: ValidItem; kind: "comments" | "messages" };

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
  /** Topic kinds looked up in this push; kinds never change. */
  private readonly topicKinds = new Map<string, TopicKind>();
  /** Topics looked up in this push and not found (yet): forgotten whenever a topic is inserted. */
  private readonly missingTopics = new Set<string>();
  /** What this push's new messages will create: placeholder topics, and message ids by kind. */
  private readonly placeholders = new Map<string, TopicKind>();
  private readonly freshIds = new Map<string, string>();
  private readonly eventRows: RowBuffer;
  private readonly messages: MessageWriter;

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
    this.eventRows = new RowBuffer(sql, "INSERT INTO events (seq, at, frame, audience, message)", 5);
    this.messages = new MessageWriter(sql, account.account_id);
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

  /**
   * Appends an event (buffered: the rows are written before the push returns). A new
   * message's event is stored as the rowid of its message (`messageRow`), not as text.
   */
  private emit(frame: EventFrame, text = JSON.stringify(frame), messageRow: number | null = null): void {
    this.eventRows.add(this.seq, this.now, messageRow === null ? text : "", audienceOf(frame), messageRow);
    this.events.push(frame);
    this.eventTexts.push(text);
  }

  /** A topic's kind, or null if it does not exist (yet). */
  private topicKind(id: string): TopicKind | null {
    const known = this.topicKinds.get(id);
    if (known !== undefined) return known;
    if (this.missingTopics.has(id)) return null;
    const kind = this.sql.exec<{ kind: TopicKind }>("SELECT kind FROM topics WHERE id = ?", id).toArray()[0]?.kind;
    if (kind === undefined) this.missingTopics.add(id);
    else this.topicKinds.set(id, kind);
    return kind ?? null;
  }

  private reject(kind: ItemKind, item: ValidItem, path: string, message: string): void {
    this.rejected.push({ kind, index: item.index, issues: [{ path, message }] });
    // Thrown inside the transaction: nothing of the push is stored.
    if (this.push.rejectedCount + this.rejected.length > MAX_REJECTED) {
      throw tooManyRejected(this.rejected, this.push.rejectedCount);
    }
  }

  /** Whether a stored item is left as it is: same incoming hash, or this push is older. */
  private unchanged(stored: StoredItem | undefined, item: ValidItem): boolean {
    return stored !== undefined && isUnchanged(stored.hash, stored.ts, stored.raw !== null, item, this.push.timestamp);
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
    // A cached "no such topic" may be this very row under another spelling of its id. Each
    // miss is forgotten at most once, so this stays linear in the push (it walked every
    // topic of the push on each insert before: quadratic).
    this.missingTopics.clear();
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
      const candidates = storedCandidates(this.sql, items, expected);
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
        if (storedKind !== null && isUnchanged(storedHash, storedTs!, hasRaw === 1, item, this.push.timestamp))
          continue;
        const stored = storedKind !== null ? this.storedMessage(item.id) : undefined;
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
    for (const pending of fresh) this.insertMessage(pending);
    this.messages.flush();
  }

  /** The stored row of the message with this platform id, its raw item as it was sent. */
  private storedMessage(platformId: string): MessageRow {
    const row = this.sql
      .exec<MessageRow>(
        `SELECT id, kind, topic_id, seq, hash, ts, raw, body FROM messages WHERE rowid = ${rowidByPlatformId("?")}`,
        platformId,
        platformId,
      )
      .one();
    const body = bodyOf(row, this.account.account_id);
    return { ...row, body, raw: unpackRaw(row.raw, JSON.parse(body) as Message) };
  }

  /** Stores a new message (buffered, with its figures) and its event. */
  private insertMessage({ message, raw, hash, item, kind }: Pending): void {
    const topicKind: TopicKind = kind === "comments" ? "work" : "conversation";
    if (this.topicKind(message.topicId) === null) {
      this.insertTopic(message.topicId, placeholderHead(topicKind, message), null, null);
    }
    this.seq++;
    message.seq = this.seq;
    const body = this.messages.add(message, { platformId: item.id, hash, ts: this.push.timestamp, raw });
    this.emit(channelMessage(this.seq, message), channelMessageText(this.seq, message, body), this.seq);
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
    freezeMessageEvent(this.sql, stored.seq, stored.body);
    this.sql.exec(
      "UPDATE messages SET hash = ?, ts = ?, raw = ?, body = ?, timestamp = ? WHERE id = ?",
      item.hash,
      Math.max(stored.ts, this.push.timestamp),
      packRaw(raw, message),
      packBody(JSON.stringify(message), message, this.account.account_id),
      message.timestamp,
      stored.id,
    );
    // PROTOCOL §4: a changed item makes one update event, even when the change (a like
    // count) is not part of the Message a client shows.
    this.seq++;
    this.emit(messageUpdated(this.seq, message));
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
    this.emit(topicUpdated(this.seq, rowToTopic(this.account.account_id, row)));
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
    this.emit(notificationNew(this.seq, notification));
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
