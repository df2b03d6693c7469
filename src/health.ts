/**
 * Account health (PROTOCOL §10): whether the crawler is alive is never stored, only when it
 * was last seen and how often it said it would come; the state follows from the clock.
 */
import { ApiError } from "./contract/errors";
import type { CrawlerLogin, CrawlerState, Health, StorageState } from "./contract/schemas";

/** The interval a crawler that never said otherwise is held to. */
export const DEFAULT_INTERVAL_MS = 30_000;
/** Past this many intervals without a sign of life the crawler is `late`… */
const LATE_AFTER = 2;
/** …and past this many, `offline`. */
const OFFLINE_AFTER = 5;

/** What the account's room records of its crawler, and sends to the Directory. */
export type HealthRecord = {
  lastSeenAt: number | null;
  intervalMs: number | null;
  login: CrawlerLogin | null;
  error: string | null;
  /** The room's SQLite database size when it last reported (null: before storage was tracked). */
  storageBytes: number | null;
};

/** What one Durable Object may store (the platform's ceiling); a write past it fails. */
export const OBJECT_STORAGE_BYTES = 10_000_000_000;
/** Past this share of the ceiling storage is `full`: what is left is the margin for compaction to work in. */
const FULL_SHARE = 0.95;

/** What SQLite says once a write would take the object past its ceiling. */
const SQLITE_FULL = /SQLITE_FULL|database or disk is full/i;

/**
 * Runs a write; if the object's storage is at its ceiling, the write (a whole transaction:
 * nothing of it is stored) fails as an error that says so, never as an anonymous 500.
 */
export function refuseWhenFull<T>(write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (!(error instanceof Error) || !SQLITE_FULL.test(error.message)) throw error;
    throw new ApiError(
      "internal",
      `the account's storage is full (an account holds ${OBJECT_STORAGE_BYTES / 1e9} GB); nothing of this write was ` +
        "stored. Its channel's health says storage: full; docs/OPERATIONS.md says what an operator can do",
    );
  }
}

/** `high` past `highPercent` % of the object's ceiling, `full` past 95 %. */
export function storageState(bytes: number | null, highPercent: number): StorageState {
  if (bytes === null) return "ok";
  if (bytes > OBJECT_STORAGE_BYTES * FULL_SHARE) return "full";
  return bytes > (OBJECT_STORAGE_BYTES * highPercent) / 100 ? "high" : "ok";
}

/** `online` within 2 intervals of the last sign of life, `late` after, `offline` after 5, `never` without one. */
export function crawlerState(lastSeenAt: number | null, intervalMs: number | null, now: number): CrawlerState {
  if (lastSeenAt === null) return "never";
  const age = now - lastSeenAt;
  const interval = intervalMs ?? DEFAULT_INTERVAL_MS;
  if (age <= LATE_AFTER * interval) return "online";
  return age <= OFFLINE_AFTER * interval ? "late" : "offline";
}

/** When the state will next change after `now` (online → late → offline), or null once offline or never seen. */
export function nextTransition(lastSeenAt: number | null, intervalMs: number | null, now: number): number | null {
  if (lastSeenAt === null) return null;
  const interval = intervalMs ?? DEFAULT_INTERVAL_MS;
  for (const after of [LATE_AFTER, OFFLINE_AFTER]) {
    const at = lastSeenAt + after * interval + 1;
    if (at > now) return at;
  }
  return null;
}

/** The `health` of a Channel as of `now`; `storageHighPercent` is the operator's STORAGE_HIGH_PERCENT. */
export function healthOf(record: HealthRecord, now: number, storageHighPercent: number): Health {
  const health: Health = {
    crawler: crawlerState(record.lastSeenAt, record.intervalMs, now),
    lastSeenAt: record.lastSeenAt,
    intervalMs: record.intervalMs,
    login: record.login ?? "unknown",
    storage: storageState(record.storageBytes, storageHighPercent),
  };
  if (record.error) health.error = record.error;
  return health;
}
