/**
 * The crm-pc-im side of the adapter: the types its UI and store already use (seeds/000,
 * seeds/001), the legacy Master message shape, and the adapter's public option and
 * event types. Wire shapes (Channel, Topic, Message…) come from `src/contract/wire.ts`.
 */
import type {
  Channel,
  LoginStatus,
  Message as WireMessage,
  MessageStatus,
  Notification,
  OnlineClient,
  StoredNotification,
  Topic,
} from "../src/contract/wire";

/** The crm-pc-im message type: the UI knows text, files and images only. */
export type CrmMessageType = "TEXT" | "FILE" | "IMAGE";

/** The crm-pc-im `Message`, unchanged: `topic` is the topic id (a work or a DM thread). */
export type Message = {
  id: string;
  fromId: string;
  fromName: string;
  toId: string;
  topic: string;
  content: string;
  type: CrmMessageType;
  /** Milliseconds since the epoch. */
  timestamp: number;
  fileUrl?: string;
  fileName?: string;
};

/** The crm-pc-im `Conversation` a topic is shown as in the conversation list. */
export type Conversation = {
  friendId: string;
  friendName: string;
  friendAvatar: string;
  topic: string;
  lastMessage: string;
  unreadCount: number;
  isFlashing: boolean;
};

/** The fields of a legacy HisCRM Master message; every one may be missing. */
export type MasterMessageFields = {
  id?: string;
  account_id?: string;
  sender_id?: string;
  sender_name?: string;
  from_id?: string;
  from_name?: string;
  topic?: string;
  type?: string;
  content?: string;
  /** Seconds (or milliseconds when ≥ 10^12). */
  created_at?: number;
  timestamp?: number;
  is_new?: number;
  is_sent?: number;
  file_url?: string;
  file_name?: string;
  fileUrl?: string;
  fileName?: string;
};

/** A legacy Master message, either flat or wrapped as `{type, payload}`. */
export type MasterMessage = MasterMessageFields & {
  payload?: MasterMessageFields;
  [key: string]: unknown;
};

/** What a crm `Message` leaves out of the wire message, kept beside it. */
export type MessageContext = {
  channelId: string;
  topicId: string;
  /** The account event that carried the message (0 for messages fetched with `requestMessages`). */
  seq: number;
  /** The message's own, stable seq (the paging cursor). */
  messageSeq: number;
  kind: WireMessage["kind"];
  direction: WireMessage["direction"];
  status?: MessageStatus;
  fromAvatar?: string;
  replyToId?: string;
  /** On an agent's own reply: the id its `sendMessage` used (the crm `Message.id` or `clientMsgId`). */
  clientMsgId?: string;
  /** The wire message, untouched. */
  raw: WireMessage;
};

/** Where a `seq` position is remembered between runs; `localStorage` fits. */
export type SeqStorage = {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
};

/** A token, or a getter called before every (re)connect so an expiring token can be refreshed. */
export type TokenSource = string | (() => string | Promise<string>);

/** When a socket tries again (docs/CLIENT.md, "Reconnects"): a random wait under a doubling cap. */
export type ReconnectOptions = {
  /** The cap of the first retry's random wait, in ms; the cap doubles with each retry after. Default 1000. */
  minDelay?: number;
  /** The largest cap, in ms. Default 5000. */
  maxDelay?: number;
  /** How long a connection must hold before the next drop starts from `minDelay` again, in ms. Default 5000. */
  minUptime?: number;
  /**
   * How long a connection attempt may take, in ms. Default 10000: a room a herd is catching
   * up with answers slowly, and an attempt given up is work the room did for nothing.
   */
  connectTimeout?: number;
  /** Attempts before giving up. Default: never give up. */
  maxRetries?: number;
};

export type ConnectOptions = {
  token: TokenSource;
  /** Sent to the server so it can keep a cursor per device; generated when missing. */
  clientId?: string;
  deviceType?: string;
  appVersion?: string;
  clientType?: "monitor" | "admin";
  /**
   * Which accounts get a socket: `"all"` (default) follows the Directory's channel list,
   * a list opens exactly those. More can be opened later with `openAccount`.
   */
  accounts?: "all" | string[];
  /** A `WebSocket` constructor (e.g. `ws` in Node 20); defaults to the global one. */
  WebSocket?: unknown;
  /** Where the last seen `seq` of each account is kept. Default: `localStorage` when present, else memory. */
  storage?: SeqStorage;
  /** Prefix of the storage keys. Default `"hiscrm-im"`. */
  storageKey?: string;
  /** How long `requestTopics`, `requestMessages` and `registerClient` wait for an answer, in ms. Default 15000. */
  requestTimeout?: number;
  reconnect?: ReconnectOptions;
  /** Tell each room the last seq delivered (`ack {seq}`) at most this often, in ms; 0 turns it off. Default 1000. */
  ackInterval?: number;
  /**
   * Frames each socket sends per second at most, bursts spread out (the backend drops what
   * goes over its own per-socket limit, 20 by default); 0 for no limit. Default 15.
   */
  maxFramesPerSecond?: number;
};

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export type ConnectionStateEvent = {
  /** `"directory"` for the channel-list socket, else the account's socket. */
  scope: "directory" | "account";
  accountId?: string;
  state: ConnectionState;
};

/** The app must drop what it holds for the account and fetch it again. */
export type SyncResetEvent = { accountId: string; seq: number; epoch: string };

export type MessageStatusEvent = {
  accountId: string;
  seq: number;
  messageId: string;
  status: MessageStatus;
  error?: string;
  /** A reply nobody has taken for `COMMAND_STALE_SECONDS` (true), or taken again (false). */
  stale?: boolean;
};

export type TopicUpdatedEvent = { accountId: string; seq: number; topic: Topic; conversation: Conversation };

export type NotificationEvent = { accountId: string; seq: number; notification: Notification };

/** A QR code for an admin to scan (`account:qrcode`, admins only); `image` is a URL, often `data:image/…`. */
export type QrCodeEvent = { accountId: string; seq: number; image: string; expiresAt: number };

/** How a QR login is going (`account:login:status`, admins only). */
export type LoginStatusEvent = { accountId: string; seq: number; status: LoginStatus; error?: string };

/** A long replay under way (`sync:progress`): `sent` of `total` missed events so far. */
export type SyncProgressEvent = { accountId: string; sent: number; total: number };

/** A replay finished (`sync:complete`): the account is caught up to `seq`. */
export type SyncCompleteEvent = { accountId: string; seq: number; epoch: string };

/** Who is online in an account (PROTOCOL §11): at most 1,000 listed, `onlineTotal` counts all. */
export type PresenceListEvent = { accountId: string; online: OnlineClient[]; onlineTotal: number };

export type PresenceEvent = { accountId: string; clientId: string; userId: string; status: "online" | "offline" };

/** What `sendMessage` needs besides the text: a crm `Message` (its `id` is the idempotency key) or this. */
export type ReplyInput = {
  topicId: string;
  content: string;
  /** Idempotency key: the same id twice posts once. Generated when missing. */
  clientMsgId?: string;
  replyToId?: string;
};

export type SendOptions = {
  /** The account the topic belongs to; found from what the adapter has seen when missing. */
  accountId?: string;
  /** For a comment reply, the comment answered. */
  replyToId?: string;
};

/** A reply the backend has accepted (`monitor:reply:accepted`). */
export type SentReply = { message: Message; context: MessageContext };

export type MessagePage = {
  messages: Message[];
  contexts: MessageContext[];
  hasMore: boolean;
  /** Pass as `before` to get the page before this one. */
  before?: number;
};

/** A page of an account's notifications, newest first (PROTOCOL §11). */
export type NotificationPage = {
  notifications: StoredNotification[];
  hasMore: boolean;
  /** Pass as `before` to get the page of older ones. */
  before?: number;
};

export type { Channel, LoginStatus, Notification, OnlineClient, StoredNotification, Topic, WireMessage };
