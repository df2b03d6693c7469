/**
 * The statistics of PROTOCOL §11 from the Directory's channel rows and push counts: one
 * pass over the accounts asked about, never a message read.
 */
import { crawlerState } from "../../health";
import type { Stats } from "../../contract/schemas";
import { DAY_MINUTES, HOUR_MINUTES, MINUTE_MS } from "../account-summary";

/** What the Directory keeps per account for the statistics, as its room last reported. */
export type StatsRow = {
  unread_count: number;
  message_count: number;
  topic_count: number;
  notification_count: number;
  /** JSON: the room's registered `clientId`s. */
  clients: string;
  /** Pushes in the current minute and the 59 before it, and in the current one and the 1,439 before it. */
  pushes_hour: number;
  pushes_day: number;
  last_seen_at: number | null;
  interval_ms: number | null;
};

/** Every channel's row for the statistics at `now`, its pushes summed over the windows. */
export function statsRows(sql: SqlStorage, now: number): (StatsRow & { id: string; storage_bytes: number | null })[] {
  const thisMinute = Math.floor(now / MINUTE_MS);
  return sql
    .exec<StatsRow & { id: string; storage_bytes: number | null }>(
      `SELECT id, unread_count, message_count, topic_count, notification_count, clients,
         COALESCE(p.hour, 0) AS pushes_hour, COALESCE(p.day, 0) AS pushes_day,
         last_seen_at, interval_ms, storage_bytes
       FROM channels LEFT JOIN (
         SELECT channel, SUM(CASE WHEN minute > ? THEN n ELSE 0 END) AS hour, SUM(n) AS day
         FROM push_minutes WHERE minute > ? GROUP BY channel
       ) AS p ON p.channel = channels.id`,
      thisMinute - HOUR_MINUTES,
      thisMinute - DAY_MINUTES,
    )
    .toArray();
}

/** Adds up the rows; `clientsOnline` counts a client registered in several rooms once. */
export function statsOf(rows: StatsRow[], now: number): Stats {
  const clients = new Set<string>();
  const stats: Stats = {
    accounts: rows.length,
    topics: 0,
    messages: 0,
    unread: 0,
    notifications: 0,
    clientsOnline: 0,
    pushes: { lastHour: 0, lastDay: 0 },
    accountsByHealth: { online: 0, late: 0, offline: 0, never: 0 },
  };
  for (const row of rows) {
    stats.topics += row.topic_count;
    stats.messages += row.message_count;
    stats.unread += row.unread_count;
    stats.notifications += row.notification_count;
    for (const clientId of JSON.parse(row.clients) as string[]) clients.add(clientId);
    stats.pushes.lastHour += row.pushes_hour;
    stats.pushes.lastDay += row.pushes_day;
    stats.accountsByHealth[crawlerState(row.last_seen_at, row.interval_ms, now)]++;
  }
  stats.clientsOnline = clients.size;
  return stats;
}
