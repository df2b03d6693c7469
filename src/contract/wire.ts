/**
 * The half of the wire contract (PROTOCOL.md §3, §5–§7) that builds nothing at load: the
 * types, constants and pure helpers a client needs. `schemas.ts` re-exports all of it
 * beside the zod schemas the server validates with, so there is one source for both; a
 * browser bundle that imports only this module carries no zod.
 */

export const ACCOUNT_ID_RE = /^[A-Za-z0-9:_.-]{1,128}$/;

/** Who a token speaks for (PROTOCOL §2): its `role` claim. */
export const ROLES = ["crawler", "agent", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** The close codes the backend ends a socket with (PROTOCOL §6). */
export const CLOSE_CODES = {
  /** A client frame over the frame limit. */
  tooBig: 1009,
  /** Load shed (an upgrade over the object's rate); reason `retry after <seconds> s`. */
  tryAgainLater: 1013,
  /** The socket's token expired. */
  tokenExpired: 4001,
} as const;

/** The frame types a client may send to its tenant's Directory (`/api/v1/ws`); schemas.ts validates each. */
export const DIRECTORY_FRAME_TYPES = [
  "monitor:register",
  "client:register",
  "monitor:request_channels",
  "channel:update",
] as const;
/** The frame types a client may send to an AccountRoom (`/api/v1/accounts/:id/ws`). */
export const ROOM_FRAME_TYPES = [
  "monitor:register",
  "monitor:request_topics",
  "monitor:request_messages",
  "monitor:mark_read",
  "sync:start",
  "ack",
  "client:notification:ack",
  "monitor:reply",
  "account:login:start",
  "monitor:request_presence",
  "monitor:request_notifications",
] as const;

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

/** A topic list asked for with no `limit` holds at most this many, the newest (PROTOCOL §6.2, §8). */
export const MAX_TOPICS_LISTED = 1_000;
/** The most a topic list asked for with a `limit` holds. */
export const MAX_TOPICS_PAGE = 200;

/**
 * Topics newest first. `nextCursor` is there when more topics follow: give it back as
 * `cursor` for the next page; its absence means the list is complete.
 */
export type TopicPage = { topics: Topic[]; nextCursor?: string };

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
  /** On an agent's reply: the `clientMsgId` its client sent, so the sender shows it once. */
  clientMsgId?: string;
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
  | "internal"
  /** The deployment is set up wrong (its AUTH_SECRET, a setting in [vars]): every request answers 503 naming it. */
  | "misconfigured";

export type Issue = { path: string; message: string };
export type ErrorPayload = { code: ErrorCode; message: string; issues?: Issue[] };

/** The platform's limit on a reply's length. */
export const MAX_REPLY_CHARS = 2_000;
/** The longest topic id a frame may name. */
export const MAX_TOPIC_ID_CHARS = 256;
/** The longest `clientMsgId` a reply may carry. */
export const MAX_CLIENT_MSG_ID_CHARS = 128;

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
  | { type: "monitor:topics"; id?: string; payload: TopicPage & { channelId: string } }
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

/**
 * The requests a client makes and the frame that answers each (with the request's `id`); any
 * of them may instead be answered by an `error` frame with that `id` (PROTOCOL §6).
 */
export const ANSWERS = {
  "monitor:request_topics": "monitor:topics",
  "monitor:request_messages": "monitor:messages",
  "monitor:request_presence": "monitor:presence",
  "monitor:request_notifications": "monitor:notifications",
  "monitor:reply": "monitor:reply:accepted",
  "client:register": "client:register:success",
  "monitor:request_channels": "monitor:channels",
} as const;
export type RequestType = keyof typeof ANSWERS;
/** The frame that answers a request of type T. */
export type AnswerOf<T extends RequestType> = Extract<ServerFrame, { type: (typeof ANSWERS)[T] }>;

/** "comments[3].work_id: Required; …" — the human message that names the fields. */
export function describeIssues(issues: Issue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => (i.path ? `${i.path.replace(/\.(\d+)(?=\.|$)/g, "[$1]")}: ${i.message}` : i.message))
    .join("; ");
}
