/**
 * The statistics of PROTOCOL §11 from the Directory's channel rows: one pass over the
 * accounts asked about, never a message read.
 */
import { crawlerState } from "../health";
import type { Stats } from "../protocol";

/** What the Directory keeps per account for the statistics, as its room last reported. */
export type StatsRow = {
  unread_count: number;
  message_count: number;
  topic_count: number;
  notification_count: number;
  /** JSON: the room's registered `clientId`s. */
  clients: string;
  /** JSON: `[minute, pushes]` of the room's last day. */
  push_minutes: string;
  last_seen_at: number | null;
  interval_ms: number | null;
};

const MINUTE_MS = 60_000;

/** Adds up the rows; `clientsOnline` counts a client registered in several rooms once. */
export function statsOf(rows: StatsRow[], now: number): Stats {
  const thisMinute = Math.floor(now / MINUTE_MS);
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
    for (const [minute, pushes] of JSON.parse(row.push_minutes) as [number, number][]) {
      // Sliding windows over whole minutes: the current one and the 59 (1,439) before it.
      if (minute > thisMinute - 60) stats.pushes.lastHour += pushes;
      if (minute > thisMinute - 1_440) stats.pushes.lastDay += pushes;
    }
    stats.accountsByHealth[crawlerState(row.last_seen_at, row.interval_ms, now)]++;
  }
  stats.clientsOnline = clients.size;
  return stats;
}
