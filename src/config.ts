import { ApiError } from "./contract/errors";

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
  /** Socket upgrades one object takes per second (bursts up to this many); more are closed with 1013. */
  upgradesPerSecond: number;
  /** Open sockets one token holds on one account room (or Directory) at most. */
  maxSocketsPerToken: number;
  /** Largest snapshot push body. */
  maxPushBytes: number;
  /** Largest client frame; larger ones close the socket with 1009 (the platform's own limit is 1 MiB). */
  maxFrameBytes: number;
  /** An account's storage is `high` (PROTOCOL §10) past this percentage of the 10 GB an object holds. */
  storageHighPercent: number;
  /** Past this percentage of the 10 GB, the room moves its oldest messages to R2 (docs/OPERATIONS.md, "Storage"). */
  archivePercent: number;
  /** Accounts one tenant may have; the first push (or health report) of one more is refused. */
  maxAccountsPerTenant: number;
};

/** The vars the settings are read from; docs/OPERATIONS.md describes each. */
type SettingName =
  | "EVENT_RETENTION_DAYS"
  | "EVENT_RETENTION_COUNT"
  | "HEARTBEAT_INTERVAL_MS"
  | "COMMAND_MAX_ATTEMPTS"
  | "COMMAND_STALE_SECONDS"
  | "PUSHES_PER_MINUTE"
  | "FRAMES_PER_SECOND"
  | "CONNECTS_PER_MINUTE"
  | "MAX_SOCKETS_PER_OBJECT"
  | "MAX_SOCKETS_PER_TOKEN"
  | "UPGRADES_PER_SECOND"
  | "MAX_PUSH_BYTES"
  | "MAX_FRAME_BYTES"
  | "STORAGE_HIGH_PERCENT"
  | "ARCHIVE_PERCENT"
  | "MAX_ACCOUNTS_PER_TENANT";

/**
 * What `readConfig` reads: the setting vars, each optional. The Worker's `Env` is one: it has
 * those that wrangler.toml sets, and a setting it leaves out takes its default.
 */
export type SettingVars = { readonly [Name in SettingName]?: unknown };

/**
 * The push limit, from the bench's JS heap peaks (docs/OPERATIONS.md): at its peak a push takes
 * the isolate, which the Worker and its objects share, about 13 times its body, and two of the
 * largest pushes at once must fit in an isolate's 128 MB.
 */
export const DEFAULT_MAX_PUSH_BYTES = 4 * 1024 * 1024;
/** The most MAX_PUSH_BYTES may be: an operator may lower the limit, never raise it past the memory budget. */
const MAX_PUSH_BYTES_CAP = DEFAULT_MAX_PUSH_BYTES;

/**
 * A setting that must be a whole number from 1 to `max`. Unset (or empty) gives the default;
 * anything else that is not such a number is refused, naming the var, rather than quietly
 * replaced: an operator who wrote `MAX_PUSH_BYTES = "4MB"` finds out on the first request.
 */
function setting(env: SettingVars, name: SettingName, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = env[name];
  if (value === undefined || value === null || value === "") return fallback;
  const n =
    typeof value === "number" ? value : typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(n) && n >= 1 && n <= max) return n;
  const range = max === Number.MAX_SAFE_INTEGER ? "a whole number above 0" : `a whole number from 1 to ${max}`;
  throw new ApiError(
    "misconfigured",
    `setting ${name} must be ${range}, not ${JSON.stringify(value)} (wrangler.toml [vars])`,
  );
}

/**
 * Settings already read for the Worker, by env object: the runtime hands every request the
 * same env (equal by identity) for as long as the bindings stay as they are, so each is read
 * once, not on every request. A new env (new vars) is read anew; one set wrong is never kept.
 */
const known = new WeakMap<SettingVars, Readonly<Config>>();

/** The Worker's settings for a request: `readConfig`, once per env. */
export function requestConfig(env: SettingVars): Readonly<Config> {
  let config = known.get(env);
  if (!config) {
    config = Object.freeze(readConfig(env));
    known.set(env, config);
  }
  return config;
}

/**
 * The settings from the Worker's or an object's env; throws naming the first var that is set
 * wrong. Each call reads them anew into an object of the caller's own (an object reads them
 * once, when it starts).
 */
export function readConfig(env: SettingVars): Config {
  return {
    eventRetentionMs: setting(env, "EVENT_RETENTION_DAYS", 30, 36_500) * 24 * 3600 * 1000,
    eventRetentionCount: setting(env, "EVENT_RETENTION_COUNT", 100_000),
    heartbeatIntervalMs: setting(env, "HEARTBEAT_INTERVAL_MS", 25_000),
    commandMaxAttempts: setting(env, "COMMAND_MAX_ATTEMPTS", 3),
    commandStaleMs: setting(env, "COMMAND_STALE_SECONDS", 600) * 1000,
    pushesPerMinute: setting(env, "PUSHES_PER_MINUTE", 600),
    framesPerSecond: setting(env, "FRAMES_PER_SECOND", 20),
    connectsPerMinute: setting(env, "CONNECTS_PER_MINUTE", 60),
    // Below the platform's 32,768 WebSockets per object.
    maxSocketsPerObject: setting(env, "MAX_SOCKETS_PER_OBJECT", 10_000, 32_000),
    maxSocketsPerToken: setting(env, "MAX_SOCKETS_PER_TOKEN", 20),
    upgradesPerSecond: setting(env, "UPGRADES_PER_SECOND", 500),
    maxPushBytes: setting(env, "MAX_PUSH_BYTES", DEFAULT_MAX_PUSH_BYTES, MAX_PUSH_BYTES_CAP),
    // The platform's own limit on a WebSocket message.
    maxFrameBytes: setting(env, "MAX_FRAME_BYTES", 1024 * 1024, 1024 * 1024),
    // Below 95 %, where storage is `full`.
    storageHighPercent: setting(env, "STORAGE_HIGH_PERCENT", 80, 94),
    // Below `high` by default, so cold history has moved out before anyone is warned.
    archivePercent: setting(env, "ARCHIVE_PERCENT", 70, 94),
    maxAccountsPerTenant: setting(env, "MAX_ACCOUNTS_PER_TENANT", 10_000),
  };
}
