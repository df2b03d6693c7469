/**
 * The crm-pc-im communication layer on the edge backend (PROTOCOL §9). It keeps the
 * seeds/000 `WebSocketService` call names, so the app's UI, store and `Message` type stay
 * as they are, and adds what the edge offers: one socket per account behind one client,
 * exactly-once delivery across reconnects, request/answer calls and idempotent replies.
 *
 * Runs in Electron's renderer, a browser and Node 20 (pass `WebSocket` from `ws`).
 */
import { ACCOUNT_ID_RE, DIRECTORY_FRAME_TYPES, MAX_TOPICS_PAGE, ROOM_FRAME_TYPES } from "../src/contract/wire";
import type { ClientPayload } from "../src/contract/schemas";
import type { AnswerOf, Channel, Topic } from "../src/contract/wire";
import { AccountConnection } from "./account-room";
import { generateClientId, isWireMessage, toConversation, toCrmMessage, toMessageContext } from "./convert";
import { DirectoryConnection } from "./directory";
import type { ChannelPatch, Registration } from "./directory";
import { ClientEvents } from "./events";
import type { FrameCallback } from "./frame-listeners";
import type { FrameSource } from "./events";
import { toQueuedReply } from "./replies";
import type { QueuedReply } from "./replies";
import { AdapterError } from "./requests";
import type { IncomingFrame } from "./requests";
import type { Position } from "./sequencer";
import { MAX_QUEUED_FRAMES } from "./socket";
import type { FrameSocket } from "./socket";
import { AccountStore, defaultStorage } from "./storage";
import type {
  ConnectOptions,
  ConnectionStateEvent,
  Conversation,
  LoginStatusEvent,
  Message,
  MessageContext,
  MessagePage,
  MessageStatusEvent,
  NotificationEvent,
  NotificationPage,
  PresenceEvent,
  PresenceListEvent,
  QrCodeEvent,
  ReplyInput,
  SendOptions,
  SentReply,
  SeqStorage,
  SyncCompleteEvent,
  SyncProgressEvent,
  SyncResetEvent,
  TopicUpdatedEvent,
} from "./types";
import { claimsAllow, readTokenClaims, toSocketBase } from "./urls";
import type { TokenClaims } from "./urls";

const DEFAULT_HEARTBEAT_MS = 25_000;
/** Frames only the Directory answers (PROTOCOL §6.1), for `emit` without an `accountId`. */
const DIRECTORY_FRAMES: ReadonlySet<string> = new Set(
  DIRECTORY_FRAME_TYPES.filter((type) => !(ROOM_FRAME_TYPES as readonly string[]).includes(type)),
);
/** Two heartbeats without any answer: the socket is half-open, drop it. */
const SILENCE_FACTOR = 2.5;

type Config = {
  base: string;
  token: () => Promise<string>;
  claims: TokenClaims;
  options: ConnectOptions;
  requestTimeout: number;
  ackInterval: number;
  maxFramesPerSecond: number;
};

function tokenGetter(source: ConnectOptions["token"]): () => Promise<string> {
  return async function readToken() {
    const token = typeof source === "function" ? await source() : source;
    if (typeof token !== "string" || token === "")
      throw new AdapterError("unauthorized", "the token getter returned no token");
    return token;
  };
}

/**
 * The client. Create one with `createClient` (or use the default `websocketService`),
 * `connect`, then listen.
 * @example
 * const client = createClient({ token: () => auth.currentToken() });
 * await client.connect("https://im.example.com");
 * client.onMessage((message, context) => store.add(message, context.channelId));
 */
export class WebSocketService {
  #defaults: Partial<ConnectOptions>;
  #config: Config | null = null;
  #directory: DirectoryConnection | null = null;
  #rooms = new Map<string, AccountConnection>();
  #clientId: string;
  #deviceType: string;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #on = new ClientEvents();
  /** Chosen once, so a memory store keeps positions across disconnect() and connect(). */
  #fallbackStorage: SeqStorage | undefined;
  /** Frames emitted while `connect` reads its token, before any socket exists; null otherwise. */
  #early: [event: string, data: object][] | null = null;

  constructor(defaults: Partial<ConnectOptions> = {}) {
    this.#defaults = defaults;
    this.#clientId = defaults.clientId ?? generateClientId();
    this.#deviceType = defaults.deviceType ?? "desktop";
  }

  /** Sets options `connect` will use, so an app can keep calling `connect(url)` alone. */
  configure(defaults: Partial<ConnectOptions>): void {
    this.#defaults = { ...this.#defaults, ...defaults };
    if (defaults.clientId) this.#clientId = defaults.clientId;
    if (defaults.deviceType) this.#deviceType = defaults.deviceType;
  }

  /**
   * Opens the Directory socket and the account sockets. Resolves once the Directory is
   * open; rejects if the first attempt fails, and keeps retrying in the background until
   * `disconnect()` (as socket.io did for the seeds/000 service).
   */
  async connect(url: string, options: Partial<ConnectOptions> = {}): Promise<void> {
    if (this.#config) this.disconnect();
    this.#early = [];
    try {
      await this.#open(url, options);
    } catch (error) {
      this.#dropEarly(error instanceof AdapterError ? error.message : String(error));
      throw error;
    }
    const early = this.#early ?? [];
    this.#early = null;
    for (const [event, data] of early) this.emit(event, data);
    await this.#directory?.opened;
  }

  async #open(url: string, options: Partial<ConnectOptions>): Promise<void> {
    const merged = { ...this.#defaults, ...options };
    if (merged.token === undefined) throw new TypeError("connect: a token (or a token getter) is required");
    const opts: ConnectOptions = { ...merged, token: merged.token };
    if (opts.clientId) this.#clientId = opts.clientId;
    if (opts.deviceType) this.#deviceType = opts.deviceType;
    const token = tokenGetter(opts.token);
    const config: Config = {
      base: toSocketBase(url),
      token,
      claims: readTokenClaims(await token()),
      options: { ...opts, storage: opts.storage ?? (this.#fallbackStorage ??= defaultStorage()) },
      requestTimeout: opts.requestTimeout ?? 15_000,
      ackInterval: opts.ackInterval ?? 1000,
      maxFramesPerSecond: opts.maxFramesPerSecond ?? 15,
    };
    const outside = Array.isArray(opts.accounts) ? opts.accounts.filter((id) => !claimsAllow(config.claims, id)) : [];
    if (outside.length > 0)
      throw new AdapterError("forbidden", `connect: ${outside.join(", ")} not among the token's accounts`);
    this.#config = config;
    this.#directory = new DirectoryConnection(
      {
        base: config.base,
        token,
        registration: () => this.#registration(),
        requestTimeout: config.requestTimeout,
        WebSocket: opts.WebSocket,
        reconnect: opts.reconnect,
        maxFramesPerSecond: config.maxFramesPerSecond,
      },
      {
        channels: (channels) => this.#onChannels(channels),
        state: (state) => this.#on.connectionState.emit({ scope: "directory", state }),
        error: (error) => this.#on.error.emit(error, {}),
        tokenExpired: () => this.#on.tokenExpired.emit({}),
        frame: (frame) => this.#on.frame.emit(frame, {}),
        incoming: (frame) => this.#on.byType.emit(frame),
      },
    );
    if (Array.isArray(opts.accounts)) for (const accountId of opts.accounts) this.openAccount(accountId);
  }

  #dropEarly(why: string): void {
    const early = this.#early ?? [];
    this.#early = null;
    for (const [event] of early)
      this.#on.error.emit(new AdapterError("disconnected", `${event}: not sent, ${why}`, { requestType: event }), {});
  }

  /** The crm-pc-im handshake (`client:register`); `deviceId` becomes the client id. */
  async registerClient(deviceId?: string, deviceType?: string): Promise<void> {
    if (!this.#directory?.socket.isOpen)
      throw new AdapterError("disconnected", "registerClient: the client is not connected");
    if (deviceId) this.#clientId = deviceId;
    if (deviceType) this.#deviceType = deviceType;
    await this.#directory.register(this.#registration());
    for (const room of this.#rooms.values()) room.reregister();
  }

  /**
   * Sends exactly `{"type":"ping"}` on every socket each `interval` ms (default: what the
   * server suggested on `registerClient`, else 25 s), and drops a socket that stopped answering.
   */
  startHeartbeat(interval?: number): void {
    this.stopHeartbeat();
    const every = interval ?? this.#directory?.heartbeatInterval ?? DEFAULT_HEARTBEAT_MS;
    this.#heartbeat = setInterval(() => {
      for (const socket of this.#sockets()) {
        socket.reconnectIfSilent(every * SILENCE_FACTOR);
        socket.ping();
      }
    }, every);
  }

  stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /**
   * Closes every socket and rejects what waits for an answer. Replies not yet accepted
   * stay in storage and go out with the next `connect`.
   */
  disconnect(): void {
    this.stopHeartbeat();
    this.#dropEarly("the client was disconnected");
    const reason = new AdapterError("disconnected", "the client was disconnected");
    this.#directory?.close(reason);
    for (const room of this.#rooms.values()) room.close(reason);
    this.#directory = null;
    this.#rooms.clear();
    this.#on.presenceLists.forget();
    this.#config = null;
  }

  /** Whether the Directory socket is open. */
  getIsConnected(): boolean {
    return this.#directory?.socket.isOpen ?? false;
  }

  getClientId(): string {
    return this.#clientId;
  }

  /** The channel list as last received, pinned first, newest first. */
  getChannels(): Channel[] {
    return this.#directory?.channels ?? [];
  }

  /** The accounts that have a socket. */
  getAccounts(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Where an account's stream stands and which replies wait for it. */
  getAccountState(accountId: string): { position: Position; queuedReplies: QueuedReply[]; open: boolean } | undefined {
    const room = this.#rooms.get(accountId);
    return room && { position: room.position, queuedReplies: room.queuedReplies, open: room.socket.isOpen };
  }

  /** Opens an account's socket (once); its events then reach the listeners. */
  openAccount(accountId: string): void {
    this.#room(accountId);
  }

  closeAccount(accountId: string): void {
    this.#rooms.get(accountId)?.close(new AdapterError("disconnected", `account ${accountId} was closed`));
    this.#rooms.delete(accountId);
    this.#on.presenceLists.forget(accountId);
  }

  /** New messages (comments, DMs, replies) as crm `Message`s, each exactly once. */
  onMessage(callback: (message: Message, context: MessageContext) => void): () => void {
    return this.#on.message.add(callback);
  }

  /** A message whose content or fields changed (`message:updated`). */
  onMessageUpdated(callback: (message: Message, context: MessageContext) => void): () => void {
    return this.#on.messageUpdated.add(callback);
  }

  /** A reply's delivery status (`message:status`: pending → sent / failed). */
  onStatus(callback: (event: MessageStatusEvent) => void): () => void {
    return this.#on.status.add(callback);
  }

  onTopicUpdated(callback: (event: TopicUpdatedEvent) => void): () => void {
    return this.#on.topicUpdated.add(callback);
  }

  /** The whole channel list, whenever it arrives or one channel changes. */
  onChannels(callback: (channels: Channel[]) => void): () => void {
    return this.#on.channels.add(callback);
  }

  onNotification(callback: (event: NotificationEvent) => void): () => void {
    return this.#on.notification.add(callback);
  }

  /** A QR code to show an admin (`account:qrcode`; only admin tokens receive it). */
  onQrCode(callback: (event: QrCodeEvent) => void): () => void {
    return this.#on.qrCode.add(callback);
  }

  /** How a QR login is going (`account:login:status`; only admin tokens receive it). */
  onLoginStatus(callback: (event: LoginStatusEvent) => void): () => void {
    return this.#on.loginStatus.add(callback);
  }

  /**
   * A socket was closed because its token expired (4001). The adapter keeps reconnecting
   * with what the token getter returns, so an app that can refresh does nothing; one that
   * cannot asks the user for a new token.
   */
  onTokenExpired(callback: (source: FrameSource) => void): () => void {
    return this.#on.tokenExpired.add(callback);
  }

  /** Other agents coming and going (`status_change`). */
  onPresence(callback: (event: PresenceEvent) => void): () => void {
    return this.#on.presence.add(callback);
  }

  /**
   * Who is online in an account, the whole list whenever it changes: on every (re)connect
   * (`monitor:registered`), on `getPresence`, and on each `status_change` after them. The
   * lists already known are handed over at once, so a listener added after `connect` misses
   * no room that registered first.
   */
  onPresenceList(callback: (event: PresenceListEvent) => void): () => void {
    const off = this.#on.presenceList.add(callback);
    for (const event of this.#on.presenceLists.all()) callback(event);
    return off;
  }

  /** The app must drop what it holds for `accountId` and fetch it again. */
  onSyncReset(callback: (event: SyncResetEvent) => void): () => void {
    return this.#on.syncReset.add(callback);
  }

  /**
   * A long replay after an absence (`sync:progress`, every 100 events): show "catching up
   * `sent`/`total`" until `onSyncComplete` for the same account.
   */
  onSyncProgress(callback: (event: SyncProgressEvent) => void): () => void {
    return this.#on.syncProgress.add(callback);
  }

  /** An account caught up (`sync:complete`) after every (re)connect and gap. */
  onSyncComplete(callback: (event: SyncCompleteEvent) => void): () => void {
    return this.#on.syncComplete.add(callback);
  }

  onConnectionState(callback: (event: ConnectionStateEvent) => void): () => void {
    return this.#on.connectionState.add(callback);
  }

  /** Error frames that answer no request. */
  onError(callback: (error: AdapterError, source: FrameSource) => void): () => void {
    return this.#on.error.add(callback);
  }

  /** Every other frame, and each event frame once, untouched. */
  onFrame(callback: (frame: IncomingFrame, source: FrameSource) => void): () => void {
    return this.#on.frame.add(callback);
  }

  /**
   * The seeds/000 low-level listener: `callback` gets the payload of every frame of type
   * `event` from any socket — each account event once, in order, as `onFrame` sees it;
   * every other frame (answers, `sync:progress`, `status_change`, errors…) as it arrives.
   * Kept across `connect` / `disconnect`. Returns the function that removes it.
   */
  on(event: string, callback: FrameCallback): () => void {
    return this.#on.byType.on(event, callback);
  }

  /** Removes every `on` listener of `event`, or only `callback`. */
  off(event: string, callback?: FrameCallback): void {
    this.#on.byType.off(event, callback);
  }

  /**
   * The seeds/000 low-level send: `{type: event, payload: data}`. A Directory frame
   * (`monitor:request_channels`, `channel:update`, `client:register`) goes to the Directory;
   * any other to the account its `channelId` or `accountId` names, whose socket is opened on
   * demand, else to the only open account. A socket not open yet holds the frame (at most
   * 100) and sends it once open. True when sent or held; false, with an `onError` event
   * saying why, when nothing can take it.
   */
  emit(event: string, data: object = {}): boolean {
    const full = (where: string, source: FrameSource) => {
      const message = `${event}: ${MAX_QUEUED_FRAMES} frames already wait for ${where}`;
      this.#on.error.emit(new AdapterError("queue_full", message, { requestType: event }), source);
      return false;
    };
    if (!this.#directory && this.#early) {
      if (this.#early.length >= MAX_QUEUED_FRAMES) return full("connect to finish", {});
      this.#early.push([event, data]);
      return true;
    }
    const target = this.#emitTarget(event, data);
    if (target instanceof AdapterError) {
      this.#on.error.emit(target, {});
      return false;
    }
    if (target.socket.queue(JSON.stringify({ type: event, payload: data }))) return true;
    const where = target.accountId === undefined ? "the Directory" : `account ${target.accountId}`;
    return full(`${where} to connect`, { accountId: target.accountId });
  }

  /**
   * Posts a reply (`monitor:reply`). A crm `Message`'s `id` (or `clientMsgId`) is the
   * idempotency key: queued while offline, resent after every reconnect until accepted,
   * and posted once. The account is found from the topic when not given.
   */
  sendMessage(message: Message | ReplyInput, options: SendOptions = {}): Promise<SentReply> {
    const sent = this.#sendReply(message, options);
    // Apps written for the void-returning seeds/000 API never await it: they learn from onError.
    sent.catch((error: unknown) => {
      const failure = error instanceof AdapterError ? error : new AdapterError("internal", String(error));
      this.#on.error.emit(failure, { accountId: options.accountId });
    });
    return sent;
  }

  /** Marks a topic read for the team (`monitor:mark_read`); queued while offline. */
  markRead(topicId: string, options: { accountId?: string; seq?: number } = {}): void {
    this.#room(this.#accountFor(topicId, options.accountId, "markRead")).markRead(topicId, options.seq);
  }

  /** Acknowledges a notification (`client:notification:ack`); false when its account is unknown. */
  sendNotificationAck(notificationId: string, accountId?: string): boolean {
    const target = accountId ?? this.#on.notificationAccounts.get(notificationId) ?? this.#onlyAccount();
    if (target === undefined || !this.#config) return false;
    this.#room(target).notificationAck(notificationId);
    return true;
  }

  /**
   * Changes a channel (admin): `channel:update` on the Directory socket. Resolves with the
   * channel once the server's `channel:updated` shows the change.
   */
  async updateChannel(channelId: string, patch: ChannelPatch): Promise<Channel> {
    if (!this.#directory) throw new AdapterError("disconnected", "updateChannel: the client is not connected");
    return this.#directory.updateChannel(channelId, patch);
  }

  /**
   * Starts a QR login for an account (admin): `account:login:start`. Resolves when the room
   * reports the login pending; the QR code and the progress follow through `onQrCode` and
   * `onLoginStatus`.
   */
  async startLogin(accountId: string): Promise<void> {
    await this.#room(accountId).startLogin();
  }

  async requestChannels(): Promise<Channel[]> {
    if (!this.#directory) throw new AdapterError("disconnected", "requestChannels: the client is not connected");
    return this.#directory.requestChannels();
  }

  /**
   * An account's topics, newest first: all of them, in pages after the first answer when the
   * account has more than one answer holds (`nextCursor`).
   */
  async requestTopics(accountId: string): Promise<Topic[]> {
    const room = this.#room(accountId);
    const topics: Topic[] = [];
    let page: ClientPayload<"monitor:request_topics"> = {};
    for (;;) {
      const { payload }: AnswerOf<"monitor:request_topics"> = await room.request("monitor:request_topics", page);
      topics.push(...payload.topics);
      if (payload.nextCursor === undefined) break;
      page = { limit: MAX_TOPICS_PAGE, cursor: payload.nextCursor };
    }
    // Each answer's topics were recorded for replies as it arrived (ClientEvents.roomIncoming).
    return topics;
  }

  /** An account's topics as crm `Conversation`s. */
  async requestConversations(accountId: string): Promise<Conversation[]> {
    return (await this.requestTopics(accountId)).map(toConversation);
  }

  /** A page of a topic's messages, oldest first; pass `page.before` for the previous page. */
  async requestMessages(
    accountId: string,
    topicId: string,
    options: { before?: number; limit?: number } = {},
  ): Promise<MessagePage> {
    this.#on.topicAccounts.set(topicId, accountId);
    const { payload } = await this.#room(accountId).request("monitor:request_messages", { topicId, ...options });
    const wire = payload.messages.filter(isWireMessage);
    const page: MessagePage = {
      messages: wire.map(toCrmMessage),
      contexts: wire.map((message) => toMessageContext(message)),
      hasMore: payload.hasMore,
    };
    if (wire[0]) page.before = wire[0].seq;
    return page;
  }

  /**
   * Who is online in an account now (`monitor:request_presence`): the clients registered in
   * its room, this one included, at most 1,000 listed and `onlineTotal` counting all.
   */
  async getPresence(accountId: string): Promise<PresenceListEvent> {
    const { payload } = await this.#room(accountId).request("monitor:request_presence", {});
    return { accountId, online: payload.online, onlineTotal: payload.onlineTotal };
  }

  /**
   * A page of an account's notifications, newest first, each with `sentAt` (when a client
   * first acknowledged it); pass `page.before` for the older ones.
   */
  async requestNotifications(
    accountId: string,
    options: { before?: number; limit?: number } = {},
  ): Promise<NotificationPage> {
    const { payload } = await this.#room(accountId).request("monitor:request_notifications", options);
    const notifications = payload.notifications;
    // An ack of one of these finds its account without the app naming it.
    for (const notification of notifications) this.#on.notificationAccounts.set(notification.id, accountId);
    const page: NotificationPage = { notifications, hasMore: payload.hasMore };
    const oldest = notifications[notifications.length - 1];
    if (oldest) page.before = oldest.seq;
    return page;
  }

  #registration(): Registration {
    const options = this.#config?.options ?? this.#defaults;
    const registration: Registration = {
      clientId: this.#clientId,
      clientType: options.clientType ?? "monitor",
      deviceType: this.#deviceType,
    };
    if (options.appVersion) registration.appVersion = options.appVersion;
    return registration;
  }

  #sockets(): FrameSocket[] {
    const rooms = [...this.#rooms.values()].map((room) => room.socket);
    return this.#directory ? [this.#directory.socket, ...rooms] : rooms;
  }

  #room(accountId: string): AccountConnection {
    const existing = this.#rooms.get(accountId);
    if (existing) return existing;
    const config = this.#config;
    if (!config) throw new AdapterError("disconnected", "the client is not connected");
    if (!ACCOUNT_ID_RE.test(accountId))
      throw new AdapterError("invalid_argument", `"${accountId}" is not an account id`);
    // The room would refuse the upgrade for good (403): say so now instead of retrying.
    if (!claimsAllow(config.claims, accountId))
      throw new AdapterError("forbidden", `account ${accountId} is not among the token's accounts`);
    const key = `${config.options.storageKey ?? "hiscrm-im"}:${config.claims.tid ?? "default"}:${accountId}`;
    const room = new AccountConnection(
      {
        base: config.base,
        accountId,
        token: config.token,
        registration: () => this.#registration(),
        store: new AccountStore(config.options.storage!, key),
        requestTimeout: config.requestTimeout,
        ackInterval: config.ackInterval,
        WebSocket: config.options.WebSocket,
        reconnect: config.options.reconnect,
        maxFramesPerSecond: config.maxFramesPerSecond,
      },
      {
        deliver: (id, frame) => this.#on.deliver(id, frame),
        reset: (id, room) => this.#on.syncReset.emit({ accountId: id, ...room }),
        state: (id, state) => this.#on.connectionState.emit({ scope: "account", accountId: id, state }),
        error: (id, error) => this.#on.error.emit(error, { accountId: id }),
        tokenExpired: (id) => this.#on.tokenExpired.emit({ accountId: id }),
        frame: (id, frame) => this.#on.roomFrame(id, frame),
        incoming: (id, frame) => this.#on.roomIncoming(id, frame),
        syncProgress: (id, progress) => this.#on.syncProgress.emit({ accountId: id, ...progress }),
        syncComplete: (id, room) => this.#on.syncComplete.emit({ accountId: id, ...room }),
      },
    );
    this.#rooms.set(accountId, room);
    return room;
  }

  #onChannels(channels: Channel[]): void {
    this.#on.channels.emit(channels);
    const config = this.#config;
    if (!config || (config.options.accounts ?? "all") !== "all") return;
    for (const channel of channels) if (claimsAllow(config.claims, channel.id)) this.openAccount(channel.id);
  }

  async #sendReply(message: Message | ReplyInput, options: SendOptions): Promise<SentReply> {
    const reply = toQueuedReply(message, options);
    const accountId = this.#accountFor(reply.topicId, options.accountId, "sendMessage");
    const { payload } = await this.#room(accountId).sendReply(reply);
    return { message: toCrmMessage(payload.message), context: toMessageContext(payload.message) };
  }

  #emitTarget(event: string, data: object): { socket: FrameSocket; accountId?: string } | AdapterError {
    const fail = (code: string, message: string) =>
      new AdapterError(code, `${event}: ${message}`, { requestType: event });
    if (!this.#directory) return fail("disconnected", "the client is not connected");
    if (DIRECTORY_FRAMES.has(event)) return { socket: this.#directory.socket };
    const named = data as { accountId?: unknown; channelId?: unknown };
    const accountId = named.accountId ?? named.channelId ?? this.#onlyAccount();
    if (accountId === undefined) return fail("unknown_account", "name the account in channelId or accountId");
    if (typeof accountId !== "string") return fail("invalid_argument", "channelId / accountId must be a string");
    try {
      return { socket: this.#room(accountId).socket, accountId };
    } catch (error) {
      return error instanceof AdapterError ? fail(error.code, error.message) : fail("internal", String(error));
    }
  }

  #onlyAccount(): string | undefined {
    return this.#rooms.size === 1 ? [...this.#rooms.keys()][0] : undefined;
  }

  #accountFor(topicId: string, explicit: string | undefined, what: string): string {
    if (!this.#config) throw new AdapterError("disconnected", `${what}: the client is not connected`);
    const accountId = explicit ?? this.#on.topicAccounts.get(topicId) ?? this.#onlyAccount();
    if (accountId === undefined) {
      throw new AdapterError(
        "unknown_account",
        `${what}: no account is known for topic "${topicId}"; pass { accountId }`,
      );
    }
    return accountId;
  }
}

/**
 * A new client. `defaults` are used by every `connect`, so `connect(url)` alone works.
 * @example
 * import WebSocket from "ws";
 * const client = createClient({ token: () => refreshToken(), WebSocket });
 */
export function createClient(defaults: Partial<ConnectOptions> = {}): WebSocketService {
  return new WebSocketService(defaults);
}

/** The shared instance, as `websocketService` was in seeds/000; `configure` it before `connect`. */
export const websocketService = new WebSocketService();
export default websocketService;

export {
  convertCrmToMaster,
  convertMasterToCrm,
  generateClientId,
  isWireMessage,
  isCrmMessage,
  isMasterMessage,
  toConversation,
  toCrmMessage,
  toCrmType,
  toMessageContext,
  toMillis,
} from "./convert";
export { AdapterError, RequestTimeoutError } from "./requests";
export { checkToken } from "./token-check";
export type { TokenCheckResult, TokenProblem } from "./token-check";
export type { ChannelPatch } from "./directory";
export { memoryStorage } from "./storage";
export type * from "./types";
export type { FrameSource } from "./events";
export type { FrameCallback } from "./frame-listeners";
export type { IncomingFrame } from "./requests";
export type { QueuedReply } from "./replies";
export type { Position } from "./sequencer";
