/**
 * The AccountRoom's stored rows and the small writes both the push and the command queue
 * make: a message with its figures, an event in the log.
 */
import { topicOf } from "../mapping";
import type { TopicHead } from "../mapping";
import type { EventFrame, Message, Topic, TopicKind } from "../protocol";
import type { ItemKind, Rejected } from "../snapshot";

/** Events only admins may see (login control, QR codes); everything else goes to every agent. */
export const ADMIN_ONLY: ReadonlySet<EventFrame["type"]> = new Set(["account:qrcode", "account:login:status"]);

export type AccountRow = {
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

export type TopicRow = {
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

export type MessageRow = {
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

export function appendEvent(sql: SqlStorage, frame: EventFrame, seq: number, at: number): void {
  const audience = ADMIN_ONLY.has(frame.type) ? "admin" : "all";
  sql.exec(
    "INSERT INTO events (seq, at, frame, audience) VALUES (?, ?, ?, ?)",
    seq,
    at,
    JSON.stringify(frame),
    audience,
  );
}

export function rowToTopic(channelId: string, row: TopicRow): Topic {
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
