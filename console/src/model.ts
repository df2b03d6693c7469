/**
 * What the console shows, kept up to date from `client/adapter.ts` — the same adapter the
 * Electron client runs. Views read `model.state` and call the actions; every change is
 * announced to `subscribe`rs.
 */
import { createClient } from "../../client/adapter";
import type {
  Channel,
  ChannelPatch,
  ConnectionState,
  LoginStatus,
  NotificationEvent,
  PresenceListEvent,
  Topic,
  WebSocketService,
  WireMessage,
} from "../../client/adapter";

/** Messages asked for per page, on opening a topic and on each scroll to the top. */
export const PAGE_SIZE = 50;
const MAX_NOTIFICATIONS = 100;
/** Stored notifications read per account when the list opens, for this many accounts at most. */
const NOTIFICATIONS_PER_ACCOUNT = 20;
const NOTIFICATION_ACCOUNTS = 50;
const VIEW_KEY = "hiscrm-console:view";

export type ReplyStatus = { status: "pending" | "sent" | "failed"; stale?: boolean; error?: string };

/** A reply typed here that the room has not accepted yet (offline, or on its way). */
export type OutgoingReply = { clientMsgId: string; topicId: string; content: string; error?: string };

export type LoginState = { status?: LoginStatus; error?: string; qr?: { image: string; expiresAt: number } };

export type State = {
  role: string;
  subject: string;
  channels: Channel[];
  channelId: string | null;
  topics: Topic[];
  topicsLoading: boolean;
  topicId: string | null;
  /** The open topic's messages, oldest first: the pages loaded so far plus what arrived live. */
  messages: WireMessage[];
  hasOlder: boolean;
  loadingOlder: boolean;
  outgoing: OutgoingReply[];
  statuses: Map<string, ReplyStatus>;
  notifications: NotificationEvent[];
  unseenNotifications: number;
  directory: ConnectionState;
  accounts: Map<string, ConnectionState>;
  /** Accounts whose history was reset (`sync:reset`) and reloaded, for the banner. */
  resets: string[];
  logins: Map<string, LoginState>;
  /** Who is online per account (this console included), kept live by the adapter. */
  online: Map<string, PresenceListEvent>;
  /** The last action that failed, in words. */
  problem: string | null;
};

type View = { channelId: string | null; topicId: string | null };

function loadView(): View {
  try {
    const view = JSON.parse(localStorage.getItem(VIEW_KEY) ?? "null") as Partial<View> | null;
    return { channelId: view?.channelId ?? null, topicId: view?.topicId ?? null };
  } catch {
    return { channelId: null, topicId: null };
  }
}

function byNewest(a: Topic, b: Topic): number {
  return b.lastMessageTime - a.lastMessageTime;
}

/**
 * Two lists of notifications as one, newest first (by the platform's time, then by `seq`),
 * each notification of an account once, at most MAX_NOTIFICATIONS.
 */
function mergeNotifications(a: NotificationEvent[], b: NotificationEvent[]): NotificationEvent[] {
  const byKey = new Map<string, NotificationEvent>();
  for (const event of [...a, ...b]) byKey.set(`${event.accountId}\u0000${event.notification.id}`, event);
  return [...byKey.values()]
    .sort((x, y) => y.notification.timestamp - x.notification.timestamp || y.seq - x.seq)
    .slice(0, MAX_NOTIFICATIONS);
}

function newId(): string {
  return `web-${crypto.randomUUID()}`;
}

/**
 * @example
 * const model = new ConsoleModel({ url: location.origin, token, role: "agent", subject: "ann", onExpired });
 * model.subscribe(render); await model.start();
 */
export class ConsoleModel {
  state: State;
  #client: WebSocketService;
  #listeners = new Set<() => void>();
  #onExpired: () => void;
  #url: string;
  /** Bumped whenever the open topic changes, so a late page of another topic is dropped. */
  #openCount = 0;
  /** The notifications that arrived live and were not seen yet, to acknowledge when they are. */
  #unseen: NotificationEvent[] = [];

  constructor(options: { url: string; token: string; role: string; subject: string; onExpired: () => void }) {
    this.#url = options.url;
    this.#onExpired = options.onExpired;
    const view = loadView();
    this.state = {
      role: options.role,
      subject: options.subject,
      channels: [],
      channelId: view.channelId,
      topics: [],
      topicsLoading: false,
      topicId: view.topicId,
      messages: [],
      hasOlder: false,
      loadingOlder: false,
      outgoing: [],
      statuses: new Map(),
      notifications: [],
      unseenNotifications: 0,
      directory: "connecting",
      accounts: new Map(),
      resets: [],
      logins: new Map(),
      online: new Map(),
      problem: null,
    };
    this.#client = createClient({
      token: options.token,
      clientType: options.role === "admin" ? "admin" : "monitor",
      deviceType: "web",
      storageKey: "hiscrm-console",
      clientId: this.#clientId(),
    });
    this.#listen();
  }

  get isAdmin(): boolean {
    return this.state.role === "admin";
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Opens the sockets, then the channel and topic that were open before a reload. */
  async start(): Promise<void> {
    await this.#client.connect(this.#url);
    this.#client.startHeartbeat();
    const { channelId, topicId } = this.state;
    if (channelId) await this.openChannel(channelId, topicId);
  }

  stop(): void {
    document.removeEventListener("visibilitychange", this.#onVisible);
    this.#client.disconnect();
    this.#listeners.clear();
  }

  async openChannel(channelId: string, topicId: string | null = null): Promise<void> {
    this.#set({ channelId, topicId: null, topics: [], messages: [], topicsLoading: true, outgoing: [] });
    this.#saveView();
    try {
      const topics = await this.#client.requestTopics(channelId);
      if (this.state.channelId !== channelId) return;
      this.#set({ topics: [...topics].sort(byNewest), topicsLoading: false });
      if (topicId && topics.some((topic) => topic.id === topicId)) await this.openTopic(topicId);
    } catch (error) {
      this.#fail(`Could not load the topics of ${channelId}`, error);
      this.#set({ topicsLoading: false });
    }
  }

  async openTopic(topicId: string): Promise<void> {
    const channelId = this.state.channelId;
    if (!channelId) return;
    const open = ++this.#openCount;
    this.#set({
      topicId,
      messages: [],
      hasOlder: false,
      loadingOlder: true,
      outgoing: this.#queued(channelId, topicId),
    });
    this.#saveView();
    try {
      const page = await this.#client.requestMessages(channelId, topicId, { limit: PAGE_SIZE });
      if (open !== this.#openCount) return;
      // Live messages that came while the page was on its way are kept, once.
      const live = this.state.messages.filter((m) => !page.contexts.some((c) => c.raw.id === m.id));
      this.#set({
        messages: [...page.contexts.map((context) => context.raw), ...live],
        hasOlder: page.hasMore,
        loadingOlder: false,
      });
      this.markRead();
    } catch (error) {
      this.#fail("Could not load the messages", error);
      this.#set({ loadingOlder: false });
    }
  }

  /** The page before the oldest message shown; nothing when one is loading or none is left. */
  async loadOlder(): Promise<void> {
    const { channelId, topicId, messages, hasOlder, loadingOlder } = this.state;
    if (!channelId || !topicId || !hasOlder || loadingOlder) return;
    const oldest = messages[0];
    if (!oldest) return;
    const open = this.#openCount;
    this.#set({ loadingOlder: true });
    try {
      const page = await this.#client.requestMessages(channelId, topicId, { before: oldest.seq, limit: PAGE_SIZE });
      if (open !== this.#openCount) return;
      const known = new Set(this.state.messages.map((m) => m.id));
      const older = page.contexts.map((context) => context.raw).filter((m) => !known.has(m.id));
      this.#set({ messages: [...older, ...this.state.messages], hasOlder: page.hasMore, loadingOlder: false });
    } catch (error) {
      this.#fail("Could not load older messages", error);
      this.#set({ loadingOlder: false });
    }
  }

  /** Marks the open topic read for the team, when this tab is being looked at and it has unread messages. */
  markRead(): void {
    const { channelId, topicId, topics } = this.state;
    if (!channelId || !topicId || document.visibilityState !== "visible") return;
    const topic = topics.find((t) => t.id === topicId);
    if (topic && topic.unreadCount === 0) return;
    this.#client.markRead(topicId, { accountId: channelId });
  }

  /** Sends a reply to the open topic; it shows as outgoing until the room accepts it. */
  reply(content: string): void {
    const { channelId, topicId } = this.state;
    const text = content.trim();
    if (!channelId || !topicId || text === "") return;
    const clientMsgId = newId();
    this.#set({ outgoing: [...this.state.outgoing, { clientMsgId, topicId, content: text }] });
    this.#client.sendMessage({ topicId, content: text, clientMsgId }, { accountId: channelId }).then(
      ({ context }) => {
        this.#set({ outgoing: this.state.outgoing.filter((o) => o.clientMsgId !== clientMsgId) });
        this.#addMessage(context.raw);
      },
      (error: Error) => {
        this.#set({
          outgoing: this.state.outgoing.map((o) =>
            o.clientMsgId === clientMsgId ? { ...o, error: error.message } : o,
          ),
        });
      },
    );
  }

  async updateChannel(channelId: string, patch: ChannelPatch): Promise<void> {
    try {
      await this.#client.updateChannel(channelId, patch);
    } catch (error) {
      this.#fail(`Could not change ${channelId}`, error);
    }
  }

  async startLogin(accountId: string): Promise<void> {
    this.#setLogin(accountId, { status: "pending" });
    try {
      await this.#client.startLogin(accountId);
    } catch (error) {
      this.#setLogin(accountId, { status: "failed", error: (error as Error).message });
    }
  }

  /** The notifications have been seen: those that arrived live are acknowledged to their rooms. */
  seeNotifications(): void {
    for (const { notification, accountId } of this.#unseen)
      this.#client.sendNotificationAck(notification.id, accountId);
    this.#unseen = [];
    this.#set({ unseenNotifications: 0 });
  }

  /**
   * Reads the stored notifications of the channels (newest first, the first
   * NOTIFICATION_ACCOUNTS channels of the list) into the list, beside those that arrived live,
   * so the list is not empty for what came before the console opened. An account whose
   * request fails adds nothing; the list shows what the others gave.
   */
  async loadNotifications(): Promise<void> {
    const pages = await Promise.all(
      this.state.channels.slice(0, NOTIFICATION_ACCOUNTS).map(async ({ id: accountId }) => {
        const page = await this.#client
          .requestNotifications(accountId, { limit: NOTIFICATIONS_PER_ACCOUNT })
          .catch(() => null);
        return (page?.notifications ?? []).map((notification) => ({ accountId, seq: notification.seq, notification }));
      }),
    );
    this.#set({ notifications: mergeNotifications(this.state.notifications, pages.flat()) });
  }

  dismissResets(): void {
    this.#set({ resets: [] });
  }

  dismissProblem(): void {
    this.#set({ problem: null });
  }

  #listen(): void {
    const client = this.#client;
    client.onChannels((channels) => this.#set({ channels }));
    client.onPresenceList((event) => this.#set({ online: new Map(this.state.online).set(event.accountId, event) }));
    client.onConnectionState((event) => {
      if (event.scope === "directory") this.#set({ directory: event.state });
      else if (event.accountId) this.#set({ accounts: new Map(this.state.accounts).set(event.accountId, event.state) });
    });
    client.onMessage((_message, context) => {
      if (context.channelId !== this.state.channelId || context.topicId !== this.state.topicId) return;
      this.#addMessage(context.raw);
    });
    client.onMessageUpdated((_message, context) => {
      const updated = context.raw;
      if (this.state.messages.some((m) => m.id === updated.id))
        this.#set({ messages: this.state.messages.map((m) => (m.id === updated.id ? updated : m)) });
    });
    client.onStatus((event) => {
      const status: ReplyStatus = { status: event.status };
      if (event.stale !== undefined) status.stale = event.stale;
      if (event.error !== undefined) status.error = event.error;
      this.#set({ statuses: new Map(this.state.statuses).set(event.messageId, status) });
    });
    client.onTopicUpdated(({ accountId, topic }) => {
      if (accountId !== this.state.channelId) return;
      const topics = [...this.state.topics.filter((t) => t.id !== topic.id), topic].sort(byNewest);
      this.#set({ topics });
      // A message arriving in the topic being read is read.
      if (topic.id === this.state.topicId && topic.unreadCount > 0) this.markRead();
    });
    client.onNotification((event) => {
      this.#unseen = [...this.#unseen, event].slice(-MAX_NOTIFICATIONS);
      this.#set({
        notifications: mergeNotifications(this.state.notifications, [event]),
        unseenNotifications: this.#unseen.length,
      });
    });
    client.onSyncReset(({ accountId }) => {
      this.#set({ resets: [...new Set([...this.state.resets, accountId])] });
      // What was shown of this account may have gaps: fetch it again.
      if (accountId === this.state.channelId) void this.openChannel(accountId, this.state.topicId);
    });
    client.onQrCode(({ accountId, image, expiresAt }) => this.#setLogin(accountId, { qr: { image, expiresAt } }));
    client.onLoginStatus(({ accountId, status, error }) => {
      const login: LoginState = { status };
      if (error !== undefined) login.error = error;
      if (status === "success" || status === "failed" || status === "expired") login.qr = undefined;
      this.#setLogin(accountId, login);
    });
    client.onTokenExpired(() => this.#onExpired());
    document.addEventListener("visibilitychange", this.#onVisible);
  }

  /** Coming back to the tab reads the open topic. */
  #onVisible = (): void => this.markRead();

  #addMessage(message: WireMessage): void {
    if (message.channelId !== this.state.channelId || message.topicId !== this.state.topicId) return;
    if (this.state.messages.some((m) => m.id === message.id)) return;
    let outgoing = this.state.outgoing;
    if (message.kind === "reply") {
      // A reply typed here (perhaps before a reload) is now the room's message.
      const index = outgoing.findIndex((o) => o.topicId === message.topicId && o.content === message.content);
      if (index >= 0) outgoing = outgoing.filter((_, i) => i !== index);
    }
    const messages = [...this.state.messages, message];
    // Live messages come in seq order; a reply accepted before its event keeps the order too.
    if (messages.length > 1 && messages.at(-2)!.seq > message.seq) messages.sort((a, b) => a.seq - b.seq);
    this.#set({ messages, outgoing });
  }

  /** Replies the adapter still holds for this topic (typed before a reload, not yet accepted). */
  #queued(channelId: string, topicId: string): OutgoingReply[] {
    const queued = this.#client.getAccountState(channelId)?.queuedReplies ?? [];
    return queued
      .filter((reply) => reply.topicId === topicId)
      .map((reply) => ({ clientMsgId: reply.clientMsgId, topicId, content: reply.content }));
  }

  #setLogin(accountId: string, change: LoginState): void {
    const login = { ...this.state.logins.get(accountId), ...change };
    this.#set({ logins: new Map(this.state.logins).set(accountId, login) });
  }

  #fail(what: string, error: unknown): void {
    this.#set({ problem: `${what}: ${(error as Error).message ?? String(error)}` });
  }

  #saveView(): void {
    try {
      localStorage.setItem(VIEW_KEY, JSON.stringify({ channelId: this.state.channelId, topicId: this.state.topicId }));
    } catch {
      // The view is a convenience; without storage a reload starts at the channel list.
    }
  }

  /** One id per browser, so the room keeps one resume cursor for it. */
  #clientId(): string {
    const key = "hiscrm-console:client-id";
    try {
      const existing = localStorage.getItem(key);
      if (existing) return existing;
      const id = newId();
      localStorage.setItem(key, id);
      return id;
    } catch {
      return newId();
    }
  }

  #set(change: Partial<State>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.#listeners) listener();
  }
}
