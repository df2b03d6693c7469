/**
 * The wire contract of PROTOCOL.md §5–§6 as types and zod schemas, shared by the
 * server, the tests and `client/adapter.ts`. It imports nothing from the server so a
 * browser bundle can use it.
 */
import { z } from "zod";

export const ACCOUNT_ID_RE = /^[A-Za-z0-9:_.-]{1,128}$/;
export const accountIdSchema = z.string().regex(ACCOUNT_ID_RE, "must be 1–128 characters of A–Z a–z 0–9 : _ . -");

/** The heartbeat, answered by the runtime without waking the object. */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';

export type Channel = {
  id: string;
  name: string;
  avatar: string;
  platform: string;
  description: string;
  lastMessage: string;
  lastMessageTime: number;
  unreadCount: number;
  messageCount: number;
  isPinned: boolean;
  enabled: boolean;
  lastSyncAt: number | null;
  seq: number;
  health: Health;
};

/** What a crawler may say about the account's platform session (PROTOCOL §10). */
export const CRAWLER_LOGINS = ["logged_in", "logged_out", "expired"] as const;
export type CrawlerLogin = (typeof CRAWLER_LOGINS)[number];
export type CrawlerState = "online" | "late" | "offline" | "never";

/** Is the account's crawler alive, is the account logged in (PROTOCOL §10); derived on read. */
export type Health = {
  crawler: CrawlerState;
  lastSeenAt: number | null;
  intervalMs: number | null;
  login: CrawlerLogin | "unknown";
  error?: string;
  storage: StorageState;
};

/** How full the account's storage is (PROTOCOL §10): `high` past the operator's share of 10 GB, `full` past 95 %. */
export type StorageState = "ok" | "high" | "full";

export type TopicKind = "work" | "conversation";
export type Topic = {
  id: string;
  channelId: string;
  kind: TopicKind;
  title: string;
  avatar?: string;
  lastMessage: string;
  lastMessageTime: number;
  messageCount: number;
  unreadCount: number;
};

export type MessageKind = "comment" | "dm" | "reply";
export type MessageType = "text" | "image" | "video" | "file" | "system";
export type MessageStatus = "pending" | "sent" | "failed";
export type Message = {
  id: string;
  channelId: string;
  topicId: string;
  /** The event number at which the backend first recorded this message; stable, used as the paging cursor. */
  seq: number;
  kind: MessageKind;
  fromId: string;
  fromName: string;
  fromAvatar?: string;
  toId?: string;
  content: string;
  type: MessageType;
  timestamp: number;
  replyToId?: string;
  fileUrl?: string;
  fileName?: string;
  direction: "in" | "out";
  status?: MessageStatus;
};

export type Notification = {
  id: string;
  channelId: string;
  type: string;
  title: string;
  content: string;
  timestamp: number;
  relatedId?: string;
};

/**
 * A notification as the history answers give it (PROTOCOL §11): the live shape plus the event
 * number that recorded it (the paging cursor) and when a client first acknowledged it.
 */
export type StoredNotification = Notification & { seq: number; sentAt: number | null };

/** A tenant's or an account's figures (PROTOCOL §11). */
export type Stats = {
  accounts: number;
  topics: number;
  messages: number;
  unread: number;
  notifications: number;
  clientsOnline: number;
  pushes: { lastHour: number; lastDay: number };
  accountsByHealth: Record<CrawlerState, number>;
  /** One account's SQLite database size in bytes (only in `GET /accounts/:accountId/stats`). */
  storageBytes?: number;
};

/** A client registered in an AccountRoom (PROTOCOL §11): its `clientId` and the token's `sub`. */
export type OnlineClient = { clientId: string; userId: string };

/** `before` and `limit` of a newest-first page (messages, notifications). */
export const pageFields = {
  before: z.number().int().nonnegative().optional(),
  limit: z.number().int().min(1).max(200).default(50),
};

export type ErrorCode =
  | "invalid_body"
  | "invalid_query"
  | "invalid_frame"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "rate_limited"
  | "internal";

export type Issue = { path: string; message: string };
export type ErrorPayload = { code: ErrorCode; message: string; issues?: Issue[] };

// ---------------------------------------------------------------------------
// Client → server frames

const clientId = z.string().min(1).max(128);
const requestId = z.string().min(1).max(128);
const seqSchema = z.number().int().nonnegative();
const topicId = z.string().min(1).max(256);

const frame = <T extends string, P extends z.ZodType>(type: T, payload: P) =>
  z.object({ type: z.literal(type), id: requestId.optional(), payload });

const monitorRegister = frame(
  "monitor:register",
  z.object({
    clientId,
    clientType: z.enum(["monitor", "admin"]).default("monitor"),
    deviceType: z.string().max(64).optional(),
    appVersion: z.string().max(64).optional(),
  }),
);
const clientRegister = frame(
  "client:register",
  z.object({
    client_id: clientId,
    device_id: z.string().max(128).optional(),
    device_type: z.string().max(64).optional(),
    app_version: z.string().max(64).optional(),
  }),
);

/** Frames a client may send to its tenant's Directory (`/api/v1/ws`). */
export const directoryClientFrame = z.discriminatedUnion("type", [
  monitorRegister,
  clientRegister,
  frame("monitor:request_channels", z.object({}).default({})),
  frame(
    "channel:update",
    z.object({
      channelId: accountIdSchema,
      enabled: z.boolean().optional(),
      isPinned: z.boolean().optional(),
      name: z.string().min(1).max(128).optional(),
    }),
  ),
]);
export type DirectoryClientFrame = z.infer<typeof directoryClientFrame>;

/** The platform's limit on a reply's length. */
export const MAX_REPLY_CHARS = 2_000;

/** An agent's reply (PROTOCOL §6.2, §7); the HTTP twin takes the same body without `topicId`. */
export const replyFields = {
  content: z
    .string()
    .refine((text) => text.trim().length > 0, "must not be empty")
    .refine((text) => text.length <= MAX_REPLY_CHARS, `must be at most ${MAX_REPLY_CHARS} characters`),
  replyToId: z.string().min(1).max(256).optional(),
  clientMsgId: z.string().min(1).max(128),
};
const replyPayload = z.object({ topicId, ...replyFields });

/** Frames a client may send to an AccountRoom (`/api/v1/accounts/:id/ws`). */
export const roomClientFrame = z.discriminatedUnion("type", [
  monitorRegister,
  frame("monitor:request_topics", z.object({}).default({})),
  frame("monitor:request_messages", z.object({ topicId, ...pageFields })),
  frame("monitor:mark_read", z.object({ topicId, seq: seqSchema.optional() })),
  frame("sync:start", z.object({ since: seqSchema, epoch: z.string().max(64).optional() })),
  frame("ack", z.object({ seq: seqSchema })),
  frame("client:notification:ack", z.object({ notification_id: z.string().min(1).max(256) })),
  frame("monitor:reply", replyPayload),
  frame("account:login:start", z.object({}).default({})),
  frame("monitor:request_presence", z.object({}).default({})),
  frame("monitor:request_notifications", z.object(pageFields).default({ limit: 50 })),
]);
export type RoomClientFrame = z.infer<typeof roomClientFrame>;

// ---------------------------------------------------------------------------
// Server → client frames

export type EventFrame =
  | { type: "channel:message"; payload: { seq: number; channelId: string; topicId: string; message: Message } }
  | { type: "message:updated"; payload: { seq: number; message: Message } }
  | {
      type: "message:status";
      payload: { seq: number; messageId: string; status: MessageStatus; error?: string; stale?: boolean };
    }
  | { type: "topic:updated"; payload: { seq: number; topic: Topic } }
  | { type: "notification:new"; payload: { seq: number; notification: Notification } }
  | { type: "account:qrcode"; payload: { seq: number; image: string; expiresAt: number } }
  | { type: "account:login:status"; payload: { seq: number; status: LoginStatus; error?: string } };

/** Each live event's type, checked complete against EventFrame by the compiler. */
const eventTypes: Record<EventFrame["type"], true> = {
  "channel:message": true,
  "message:updated": true,
  "message:status": true,
  "topic:updated": true,
  "notification:new": true,
  "account:qrcode": true,
  "account:login:status": true,
};
/** The types of the frames that carry the account's `seq` (live, or replayed by `sync:start`). */
export const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(eventTypes));

export const LOGIN_STATUSES = ["pending", "waiting", "scanned", "success", "failed", "expired"] as const;
export type LoginStatus = (typeof LOGIN_STATUSES)[number];

/** A crawler's report on a command (PROTOCOL §7). */
export const resultBody = z.object({
  status: z.enum(["sent", "failed"]),
  platformMessageId: z.union([z.string().min(1).max(256), z.number().int().transform(String)]).optional(),
  error: z.string().max(2_000).optional(),
});
/** A QR code as a data: URL or an https URL; at most 512 KiB. */
export const qrcodeBody = z.object({
  image: z
    .string()
    .max(512 * 1024, "must be at most 512 KiB")
    .regex(/^(data:image\/[a-z+.-]+;base64,|https?:\/\/)/, "must be a data:image/…;base64, or an http(s) URL"),
  expiresAt: z
    .number()
    .int()
    .positive()
    .transform((t) => (t < 1e12 ? t * 1000 : t)),
});
/** The crawler's news of the login under way. */
export const loginStatusBody = z.object({
  status: z.enum(LOGIN_STATUSES).exclude(["pending"]),
  error: z.string().max(2_000).optional(),
});

/** What the crawler is asked to do on the platform (PROTOCOL §7). */
export type Command = {
  id: string;
  type: "reply" | "login";
  topicId: string | null;
  topicKind: TopicKind | null;
  replyToId: string | null;
  content: string | null;
  createdAt: number;
  attempts: number;
  status: "pending" | "sent" | "failed";
};

export type ServerFrame =
  | EventFrame
  | { type: "batch"; payload: { frames: EventFrame[] } }
  | { type: "error"; id?: string; payload: ErrorPayload }
  | {
      type: "monitor:registered";
      id?: string;
      payload: {
        clientId: string;
        serverTime: number;
        seq?: number;
        epoch?: string;
        online?: OnlineClient[];
        onlineTotal?: number;
      };
    }
  | {
      type: "client:register:success";
      id?: string;
      payload: { client_id: string; server_time: number; heartbeat_interval: number };
    }
  | { type: "monitor:channels"; id?: string; payload: { channels: Channel[] } }
  | { type: "channel:updated"; id?: string; payload: { channel: Channel } }
  | { type: "monitor:topics"; id?: string; payload: { channelId: string; topics: Topic[] } }
  | {
      type: "monitor:messages";
      id?: string;
      payload: { channelId: string; topicId: string; messages: Message[]; hasMore: boolean };
    }
  | {
      type: "monitor:notifications";
      id?: string;
      payload: { notifications: StoredNotification[]; hasMore: boolean };
    }
  | { type: "monitor:presence"; id?: string; payload: { online: OnlineClient[]; onlineTotal: number } }
  | { type: "sync:progress"; id?: string; payload: { sent: number; total: number } }
  | { type: "sync:complete"; id?: string; payload: { seq: number; epoch: string } }
  | { type: "sync:reset"; id?: string; payload: { seq: number; epoch: string } }
  | { type: "ack"; id?: string; payload: { seq: number } }
  | { type: "monitor:reply:accepted"; id?: string; payload: { message: Message } }
  | { type: "command:new"; payload: { command: Command } }
  | { type: "status_change"; payload: { clientId: string; userId: string; status: "online" | "offline" } }
  | { type: "pong" };

/** Turns zod issues into the `{path, message}` list of PROTOCOL §3. */
export function toIssues(error: z.ZodError, prefix = ""): Issue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
    message: i.message,
  }));
}

/** "comments[3].work_id: Required; …" — the human message that names the fields. */
export function describeIssues(issues: Issue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => (i.path ? `${i.path.replace(/\.(\d+)(?=\.|$)/g, "[$1]")}: ${i.message}` : i.message))
    .join("; ");
}
