/** The Directory's channel rows (one per account) and how a row is shown as a Channel. */
import type { Channel, CrawlerLogin } from "../../contract/schemas";
import { healthOf } from "../../health";

export type ChannelRow = {
  id: string;
  name: string;
  custom_name: string | null;
  avatar: string;
  platform: string;
  last_message: string;
  last_message_time: number;
  unread_count: number;
  message_count: number;
  is_pinned: number;
  enabled: number;
  last_sync_at: number | null;
  seq: number;
  last_seen_at: number | null;
  interval_ms: number | null;
  login: CrawlerLogin | null;
  crawler_error: string | null;
  storage_bytes: number | null;
};

/** A stored row as a Channel; its health is derived at `now` (storage against `storageHighPercent`), never stored. */
export function toChannel(row: ChannelRow, now: number, storageHighPercent: number): Channel {
  return {
    id: row.id,
    name: row.custom_name ?? row.name,
    avatar: row.avatar,
    platform: row.platform,
    description: row.platform,
    lastMessage: row.last_message,
    lastMessageTime: row.last_message_time,
    unreadCount: row.unread_count,
    messageCount: row.message_count,
    isPinned: row.is_pinned === 1,
    enabled: row.enabled === 1,
    lastSyncAt: row.last_sync_at,
    seq: row.seq,
    health: healthOf(
      {
        lastSeenAt: row.last_seen_at,
        intervalMs: row.interval_ms,
        login: row.login,
        error: row.crawler_error,
        storageBytes: row.storage_bytes,
      },
      now,
      storageHighPercent,
    ),
  };
}
