/** The AccountRoom's stored rows, and what is read from them the same way everywhere. */
import { topicOf } from "../../../mapping";
import type { TopicHead } from "../../../mapping";
import type { CrawlerLogin, EventFrame, Message, Topic, TopicKind } from "../../../contract/schemas";
import type { ItemKind, Rejected } from "../../../contract/snapshot";

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
  last_seen_at: number | null;
  interval_ms: number | null;
  login: CrawlerLogin | null;
  crawler_error: string | null;
  summary_retry_at: number | null;
  pushes_reported: number | null;
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
  /** What the list is ordered by, newest first (the topic's last message time, or its base time). */
  sort_time: number;
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

/** A message of a history page: its JSON when it is in SQLite, its batch when it is in R2. */
export type PageEntry = { seq: number; body: string } | { seq: number; batch: number };

/** What a topic list shows for a message that has no text (an image, a file). */
export function preview(message: Message): string {
  if (message.content) return message.content;
  return message.type === "text" ? "" : `[${message.type}]`;
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
