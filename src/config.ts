/**
 * Operator settings, from `[vars]` in wrangler.toml (or the dashboard). Each has a default
 * so a fresh checkout runs; docs/OPERATIONS.md lists them.
 */
export type Config = {
  /** Keep replayable events at least this long. */
  eventRetentionMs: number;
  /** …and at most this many (the newest). */
  eventRetentionCount: number;
  /** Suggested heartbeat interval, sent to crm-pc-im clients on `client:register`. */
  heartbeatIntervalMs: number;
  /** A reply the crawler failed this many times is failed for good. */
  commandMaxAttempts: number;
  /** A command no crawler took within this long is shown to agents as stale. */
  commandStaleMs: number;
};

function positiveInt(value: unknown, fallback: number): number {
  const n = typeof value === "string" ? Number(value) : typeof value === "number" ? value : NaN;
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function readConfig(env: Record<string, unknown>): Config {
  return {
    eventRetentionMs: positiveInt(env.EVENT_RETENTION_DAYS, 30) * 24 * 3600 * 1000,
    eventRetentionCount: positiveInt(env.EVENT_RETENTION_COUNT, 100_000),
    heartbeatIntervalMs: positiveInt(env.HEARTBEAT_INTERVAL_MS, 25_000),
    commandMaxAttempts: positiveInt(env.COMMAND_MAX_ATTEMPTS, 3),
    commandStaleMs: positiveInt(env.COMMAND_STALE_SECONDS, 600) * 1000,
  };
}
