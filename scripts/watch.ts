/**
 * `npm run watch -- <accountId> [--tenant demo] [--url http://127.0.0.1:8787] [--since <seq>]`
 * `npm run watch -- --directory [--tenant demo] [--url …]`
 *
 * A tiny terminal client: opens an AccountRoom socket (or the tenant's Directory) with an
 * agent token, registers, and prints every frame on one readable line. It reconnects with the
 * client's own socket (client/socket.ts: backoff, heartbeat, a fresh token per attempt) and
 * resumes after the last `seq` it printed, as a real client does (PROTOCOL §6).
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { FrameSocket } from "../client/socket";
import type { Channel, EventFrame, Message, ServerFrame } from "../src/contract/schemas";
import { ACCOUNT_ID_RE, EVENT_TYPES } from "../src/contract/schemas";
import { isMain, parseBaseUrl, parseFlags, runMain, UsageError } from "./cli";
import { devSecret, mintToken } from "./backend";

export const WATCH_USAGE = `usage: npm run watch -- <accountId> [--tenant <tid>] [--url <base>] [--since <seq>]
       npm run watch -- --directory [--tenant <tid>] [--url <base>]

  <accountId>  the account (channel) to watch, e.g. douyin-1001
  --directory  watch the tenant's channel list instead (channel:updated frames)
  --tenant     tenant (default demo)
  --url        the backend (default http://127.0.0.1:8787)
  --since      replay the account's events after this seq first (0 = its whole kept history)`;

export type WatchOptions = { url: string; tenant: string; accountId: string | null; since: number | null };

const WATCH_FLAGS = { tenant: "string", url: "string", directory: "boolean", since: "string" } as const;

/** Parses the watch command's arguments (see WATCH_USAGE). */
export function parseWatchArgs(argv: readonly string[]): WatchOptions {
  const { flags, positionals } = parseFlags(argv, WATCH_FLAGS, { maxPositionals: 1 });
  const accountId = positionals[0] ?? null;
  if (flags.directory && accountId !== null) throw new UsageError("give either an accountId or --directory, not both");
  if (!flags.directory && accountId === null)
    throw new UsageError("give the accountId to watch (e.g. douyin-1001), or --directory");
  if (accountId !== null && !ACCOUNT_ID_RE.test(accountId)) {
    throw new UsageError(
      `accountId must be 1–128 characters of A–Z a–z 0–9 : _ . - (got ${JSON.stringify(accountId)})`,
    );
  }
  const tenant = flags.tenant ?? "demo";
  if (!ACCOUNT_ID_RE.test(tenant))
    throw new UsageError(`--tenant must be 1–128 characters of A–Z a–z 0–9 : _ . - (got ${JSON.stringify(tenant)})`);
  let since: number | null = null;
  if (flags.since !== undefined) {
    if (flags.directory) throw new UsageError("--since is for an account, not --directory");
    since = Number(flags.since);
    if (!/^\d+$/.test(flags.since) || !Number.isSafeInteger(since)) {
      throw new UsageError(`--since must be a seq, a whole number ≥ 0 (got ${JSON.stringify(flags.since)})`);
    }
  }
  return { url: parseBaseUrl(flags.url ?? "http://127.0.0.1:8787"), tenant, accountId, since };
}

/** The socket URL: `ws(s)://…/api/v1/ws` or `…/accounts/:id/ws`, with the token and resume point. */
export function socketUrl(
  options: WatchOptions,
  token: string,
  resume: { clientId?: string; since?: number; epoch?: string } = {},
): string {
  const url = new URL(options.url);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname =
    options.accountId === null ? "/api/v1/ws" : `/api/v1/accounts/${encodeURIComponent(options.accountId)}/ws`;
  url.searchParams.set("token", token);
  if (resume.clientId) url.searchParams.set("clientId", resume.clientId);
  if (resume.since !== undefined) url.searchParams.set("since", String(resume.since));
  if (resume.epoch) url.searchParams.set("epoch", resume.epoch);
  return url.href;
}

/** One line of text: newlines shown as ⏎, long text cut with …. */
function clip(text: string, max = 120): string {
  const flat = text.replace(/\r?\n/g, " ⏎ ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function describeMessage(message: Message): string {
  const who = message.direction === "out" ? `${message.fromName} (out)` : message.fromName;
  let text = clip(message.content);
  if (message.type !== "text") text += ` [${message.type}${message.fileUrl ? ` ${message.fileUrl}` : ""}]`;
  const reply = message.replyToId ? ` ↪ ${message.replyToId}` : "";
  const status = message.status ? ` (${message.status})` : "";
  return `${message.kind} [${message.topicId}] ${who}${reply}: ${text}${status}`;
}

/** "douyin-1001 Brand A · crawler online, logged_in · seq 97 · 61 unread of 71 · last: Love this! 💕" */
export function describeChannel(channel: Channel): string {
  const flags = [channel.isPinned ? "pinned" : "", channel.enabled ? "" : "disabled"].filter(Boolean);
  const { health } = channel;
  return [
    `${channel.id} ${channel.name}${flags.length ? ` (${flags.join(", ")})` : ""}`,
    `crawler ${health.crawler}, ${health.login}${health.error ? ` (${clip(health.error, 60)})` : ""}`,
    `seq ${channel.seq}`,
    `${channel.unreadCount} unread of ${channel.messageCount}`,
    `last: ${clip(channel.lastMessage, 80)}`,
  ].join(" · ");
}

function describeEvent(frame: EventFrame): string {
  const head = `#${frame.payload.seq} ${frame.type}`;
  switch (frame.type) {
    case "channel:message":
    case "message:updated":
      return `${head} ${describeMessage(frame.payload.message)}`;
    case "message:status":
      return `${head} ${frame.payload.messageId} ${frame.payload.status}${frame.payload.error ? `: ${frame.payload.error}` : ""}`;
    case "topic:updated": {
      const t = frame.payload.topic;
      return `${head} [${t.id}] ${clip(t.title, 60)} · ${t.messageCount} messages · ${t.unreadCount} unread`;
    }
    case "notification:new": {
      const n = frame.payload.notification;
      return `${head} ${n.type} · ${clip(n.title, 60)}${n.content ? ` · ${clip(n.content, 60)}` : ""}`;
    }
    case "account:qrcode":
      return `${head} a login QR code (${frame.payload.image.length} characters), expires ${new Date(frame.payload.expiresAt).toLocaleTimeString()}`;
    case "account:login:status":
      return `${head} ${frame.payload.status}${frame.payload.error ? `: ${frame.payload.error}` : ""}`;
    default: {
      const other = frame as { type: string; payload: unknown };
      return `#${(other.payload as { seq?: number }).seq} ${other.type} ${clip(JSON.stringify(other.payload), 160)}`;
    }
  }
}

type AnyFrame = { type: string; id?: string; payload?: Record<string, unknown> };

/**
 * A server frame as readable lines (a batch gives one line per frame; a pong none).
 * @example
 * formatFrame({ type: "channel:message", payload: { seq: 42, … } }) // ["#42 channel:message comment [w1] 小明: 好喜欢这个视频 😍"]
 */
export function formatFrame(input: ServerFrame | AnyFrame): string[] {
  const frame = input as ServerFrame;
  switch (frame.type) {
    case "batch":
      return frame.payload.frames.flatMap((inner) => formatFrame(inner));
    case "channel:message":
    case "message:updated":
    case "message:status":
    case "topic:updated":
    case "notification:new":
    case "account:qrcode":
    case "account:login:status":
      return [describeEvent(frame)];
    case "monitor:reply:accepted":
      return [`reply accepted: ${describeMessage(frame.payload.message)}`];
    case "monitor:messages":
      return [
        `messages of [${frame.payload.topicId}] (${frame.payload.messages.length}${frame.payload.hasMore ? ", more before" : ""}):`,
        ...frame.payload.messages.map((m) => `  #${m.seq} ${describeMessage(m)}`),
      ];
    case "monitor:registered": {
      const { clientId, seq, epoch } = frame.payload;
      return [
        `registered as ${clientId}${seq !== undefined ? ` · account at seq ${seq}` : ""}${epoch ? ` · epoch ${epoch}` : ""}`,
      ];
    }
    case "monitor:channels":
      return [
        `channels (${frame.payload.channels.length}):`,
        ...frame.payload.channels.map((c) => `  ${describeChannel(c)}`),
      ];
    case "channel:updated":
      return [`channel:updated ${describeChannel(frame.payload.channel)}`];
    case "monitor:topics":
      return [
        `topics (${frame.payload.topics.length}):`,
        ...frame.payload.topics.map((t) => `  [${t.id}] ${t.kind} ${clip(t.title, 60)} · ${t.unreadCount} unread`),
      ];
    case "sync:progress":
      return [`sync:progress ${frame.payload.sent}/${frame.payload.total}`];
    case "sync:complete":
      return [`sync:complete · caught up at seq ${frame.payload.seq}`];
    case "sync:reset":
      return [
        `sync:reset · history not available from there; the account is at seq ${frame.payload.seq} (epoch ${frame.payload.epoch})`,
      ];
    case "status_change":
      return [`status_change ${frame.payload.userId} (${frame.payload.clientId}) ${frame.payload.status}`];
    case "error": {
      const { code, message } = frame.payload;
      return [`error ${code}: ${message}`];
    }
    default: {
      const other = input as AnyFrame;
      if (other.type === "pong") return [];
      return [`${other.type}${other.payload ? ` ${clip(JSON.stringify(other.payload), 160)}` : ""}`];
    }
  }
}

/** The event frames inside a frame (a batch's, or the frame itself), for seq tracking. */
function eventsOf(frame: AnyFrame): AnyFrame[] {
  if (frame.type === "batch") return ((frame.payload?.frames ?? []) as AnyFrame[]).flatMap(eventsOf);
  return [frame];
}

const HEARTBEAT_MS = 25_000;
/** A socket silent this long (a half-open connection) is replaced. */
const SILENCE_MS = 2 * HEARTBEAT_MS + 5_000;
const RECONNECT = { minDelay: 1_000, maxDelay: 5_000 };

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (parseFlags(argv, WATCH_FLAGS, { maxPositionals: 1 }).help) {
    console.log(WATCH_USAGE);
    return 0;
  }
  const options = parseWatchArgs(argv);
  const { secret } = devSecret();
  const clientId = `watch-${randomUUID().slice(0, 8)}`;
  const target =
    options.accountId === null
      ? `the channel list of tenant ${options.tenant}`
      : `${options.accountId} (tenant ${options.tenant})`;
  console.log(`watching ${target} at ${options.url} — Ctrl-C to stop`);

  let lastSeq: number | null = options.since;
  let epoch: string | undefined;
  let opened = false;
  let waitingSaid = false;
  /** The HTTP status of a refusal that trying again cannot mend (401, 403, 404). */
  let refusedFor = 0;

  return new Promise<number>((resolve) => {
    let stopping = false;
    // The client's own reconnecting socket: backoff, a fresh token and resume point per attempt.
    const socket = new FrameSocket(
      {
        url: async () => {
          const token = await mintToken("agent", {
            tenant: options.tenant,
            sub: "watch-local",
            ttl: 24 * 3600,
            secret,
          });
          const resume = options.accountId === null ? {} : { clientId, since: lastSeq ?? undefined, epoch };
          return socketUrl(options, token, resume);
        },
        WebSocket,
        reconnect: RECONNECT,
      },
      {
        open() {
          opened = true;
          waitingSaid = false;
          socket.send(
            JSON.stringify({
              type: "monitor:register",
              id: "register",
              payload: { clientId, clientType: "monitor", deviceType: "terminal" },
            }),
          );
        },
        frame(frame) {
          for (const line of linesOf(frame as AnyFrame)) console.log(line);
        },
        state() {},
        failure(error) {
          if (opened || waitingSaid || stopping || refusedFor) return;
          waitingSaid = true;
          const reason = error.message.replace(/^socket error: /, "");
          console.error(
            reason.startsWith("refused with")
              ? `the backend ${reason}; retrying…`
              : `cannot reach ${options.url} (${reason}); is \`npm start\` running? retrying…`,
          );
        },
        closed(code, reason) {
          if (!opened || stopping) return;
          opened = false;
          console.error(`socket closed (${code}${reason ? ` ${reason}` : ""}); reconnecting…`);
        },
        refused(status, error) {
          if (status !== 401 && status !== 403 && status !== 404) return; // 429 and 5xx: tried again
          if (refusedFor) return;
          refusedFor = status;
          console.error(
            `the backend refused the socket: HTTP ${status}${error ? ` ${error.code}: ${error.message}` : ""}`,
          );
          if (status === 403 && options.accountId !== null) {
            console.error(
              `(an account exists once a crawler has pushed it; is \`npm start\` or \`npm run crawler\` running for tenant ${options.tenant}?)`,
            );
          }
          if (status === 401) console.error("(does the backend use another AUTH_SECRET? see docs/RUNNING.md)");
          stop(1);
        },
        tokenExpired() {}, // each attempt mints a fresh token
      },
    );
    const heartbeat = setInterval(() => {
      socket.ping();
      socket.reconnectIfSilent(SILENCE_MS);
    }, HEARTBEAT_MS);
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      clearInterval(heartbeat);
      socket.close();
      resolve(code);
      // Don't linger on a slow close handshake.
      setTimeout(() => process.exit(code), 500).unref();
    };
    // `on`, not `once`: one Ctrl-C may arrive twice (from the terminal and relayed by npm/tsx).
    process.on("SIGINT", () => stop(0));
    process.on("SIGTERM", () => stop(0));

    /** What a frame prints: its events once each (at-least-once delivery drops a repeat), in seq order. */
    function linesOf(frame: AnyFrame): string[] {
      if (frame.type === "monitor:registered" && typeof frame.payload?.epoch === "string") epoch = frame.payload.epoch;
      if (frame.type === "sync:reset" && typeof frame.payload?.seq === "number") {
        lastSeq = frame.payload.seq;
        epoch = frame.payload.epoch as string;
      }
      if (frame.type === "monitor:registered" && typeof frame.payload?.seq === "number") {
        lastSeq = Math.max(lastSeq ?? 0, frame.payload.seq);
      }
      const fresh = eventsOf(frame).filter((inner) => {
        const seq = inner.payload?.seq;
        if (!EVENT_TYPES.has(inner.type) || typeof seq !== "number") return true;
        if (lastSeq !== null && seq <= lastSeq) return false;
        lastSeq = seq;
        return true;
      });
      return fresh.flatMap((inner) => formatFrame(inner));
    }
  });
}

if (isMain(import.meta.url)) runMain(main, WATCH_USAGE);
