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
  /** Pushes one crawler token may make to one account per minute (bursts up to this many). */
  pushesPerMinute: number;
  /** Frames one socket may send per second; more get `rate_limited` error frames. */
  framesPerSecond: number;
  /** WebSocket connection attempts per token per object per minute. */
  connectsPerMinute: number;
  /** Open sockets one account room (or one tenant's Directory) holds at most. */
  maxSocketsPerObject: number;
  /** Open sockets one token holds on one account room (or Directory) at most. */
  maxSocketsPerToken: number;
  /** Largest snapshot push body. */
  maxPushBytes: number;
  /** Largest client frame; larger ones close the socket with 1009 (the platform's own limit is 1 MiB). */
  maxFrameBytes: number;
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
    pushesPerMinute: positiveInt(env.PUSHES_PER_MINUTE, 600),
    framesPerSecond: positiveInt(env.FRAMES_PER_SECOND, 20),
    connectsPerMinute: positiveInt(env.CONNECTS_PER_MINUTE, 60),
    maxSocketsPerObject: Math.min(positiveInt(env.MAX_SOCKETS_PER_OBJECT, 10_000), 32_000),
    maxSocketsPerToken: positiveInt(env.MAX_SOCKETS_PER_TOKEN, 20),
    maxPushBytes: positiveInt(env.MAX_PUSH_BYTES, 16 * 1024 * 1024),
    maxFrameBytes: Math.min(positiveInt(env.MAX_FRAME_BYTES, 1024 * 1024), 1024 * 1024),
  };
}
