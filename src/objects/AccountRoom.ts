/**
 * One per (tenant, account): the account's history in SQLite, its event log (`seq`), and the
 * hibernatable sockets of the agents watching it.
 */
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { Config } from "../config";
import { ApiError, attempt } from "../errors";
import type { Result } from "../errors";
import { PING, PONG, roomClientFrame } from "../protocol";
import type { Command, EventFrame, LoginStatus, Message, RoomClientFrame, ServerFrame, Topic } from "../protocol";
import { unpackPush } from "../snapshot";
import type { ItemKind, PackedPush, Rejected } from "../snapshot";
import { CommandStore } from "./command-store";
import type { ReplyInput, ResultInput } from "./command-store";
import { ADMIN_ONLY } from "./room-rows";
import type { AccountSummary, KindCounts } from "./room-rows";
import { RoomStore } from "./room-store";
import { RateLimiter } from "./limiter";
import { attachmentOf, batchOf, frameTypes, readIdentity, send, sendError, SocketGuard } from "./sockets";
import type { Attachment } from "./sockets";

const FRAME_TYPES = frameTypes(roomClientFrame);
/** Replay sends `sync:progress` after every this many events, each group as one batch frame. */
const REPLAY_CHUNK = 100;
/** Live events of one push go out in batch frames of at most this many events. */
const LIVE_BATCH = 200;
/** Retry delay for a summary the Directory did not take. */
const DIRECTORY_RETRY_MS = 30_000;

export type PushAnswer = { seq: number; counts: Record<ItemKind, KindCounts>; rejected: Rejected[] };
export type MessagePage = { messages: Message[]; hasMore: boolean };
export type ReplyAnswer = { message: Message; created: boolean };

export class AccountRoom extends DurableObject<Env> {
  private readonly store: RoomStore;
  private readonly commands: CommandStore;
  private readonly config: Config;
  private readonly guard: SocketGuard;
  private readonly pushes: RateLimiter;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage.sql);
    this.config = readConfig(env as unknown as Record<string, unknown>);
    this.guard = new SocketGuard(ctx, this.config);
    this.pushes = new RateLimiter(this.config.pushesPerMinute, 60_000);
    this.commands = new CommandStore(ctx.storage.sql, this.store, {
      maxAttempts: this.config.commandMaxAttempts,
      staleAfterMs: this.config.commandStaleMs,
    });
    ctx.blockConcurrencyWhile(async () => this.store.migrate());
    // Answered by the runtime itself: a heartbeat never wakes a hibernated room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // -------------------------------------------------------------------------
  // RPC from the Worker

  /** Applies a crawler's snapshot in one transaction, then fans the new events out. */
  async push(tenant: string, crawler: string, packed: PackedPush): Promise<Result<PushAnswer>> {
    const allowed = this.pushes.take(crawler);
    if (!allowed.ok) {
      const seconds = Math.ceil(allowed.retryAfterMs / 1000);
      return {
        ok: false,
        error: {
          code: "rate_limited",
          message: `more than ${this.config.pushesPerMinute} pushes a minute for this token; retry in ${seconds} s`,
        },
      };
    }
    const account = this.store.account();
    if (account && account.tenant !== tenant) {
      return {
        ok: false,
        error: { code: "forbidden", message: `account ${packed.accountId} is not an account of tenant ${tenant}` },
      };
    }
    const push = unpackPush(packed);
    const now = Date.now();
    const applied = attempt(() => this.ctx.storage.transactionSync(() => this.store.applyPush(tenant, push, now)));
    if (!applied.ok) return applied;
    const result = applied.value;
    this.broadcast(result.events, result.eventTexts);
    await this.sendSummary();
    await this.scheduleAlarm(now);
    return { ok: true, value: { seq: result.seq, counts: result.counts, rejected: result.rejected } };
  }

  /** An agent's reply (the HTTP twin of `monitor:reply`). */
  async reply(tenant: string, accountId: string, input: ReplyInput, agent: string): Promise<Result<ReplyAnswer>> {
    const account = attempt(() => this.store.requireAccount(tenant, accountId));
    if (!account.ok) return account;
    try {
      return { ok: true, value: await this.storeReply(input, agent) };
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, error: error.payload };
      throw error;
    }
  }

  /** Commands in one status, for the crawler; listing pending ones counts as taking them. */
  async listCommands(tenant: string, accountId: string, status: Command["status"]): Promise<Result<Command[]>> {
    const account = attempt(() => this.store.requireAccount(tenant, accountId));
    if (!account.ok) return account;
    const commands = this.commands.list(status, 100);
    if (status === "pending") this.take(commands.map((c) => c.id));
    await this.scheduleAlarm(Date.now());
    return { ok: true, value: commands };
  }

  async commandResult(tenant: string, accountId: string, id: string, input: ResultInput): Promise<Result<Command>> {
    const outcome = attempt(() => {
      this.store.requireAccount(tenant, accountId);
      return this.ctx.storage.transactionSync(() => this.commands.result(id, input, Date.now()));
    });
    if (!outcome.ok) return outcome;
    this.broadcast(outcome.value.events);
    if (outcome.value.retry) this.offer([outcome.value.command]);
    await this.scheduleAlarm(Date.now());
    return { ok: true, value: outcome.value.command };
  }

  /** Starts a QR login (the HTTP twin of `account:login:start`). */
  async startLogin(tenant: string, accountId: string): Promise<Result<Command>> {
    const account = attempt(() => this.store.requireAccount(tenant, accountId));
    if (!account.ok) return account;
    return { ok: true, value: await this.login() };
  }

  async qrcode(tenant: string, accountId: string, image: string, expiresAt: number): Promise<Result<number>> {
    return this.loginStep(tenant, accountId, () => this.commands.qrcode(image, expiresAt, Date.now()));
  }

  async loginStatus(tenant: string, accountId: string, status: LoginStatus, error?: string): Promise<Result<number>> {
    return this.loginStep(tenant, accountId, () => this.commands.loginStatus(status, error));
  }

  private async loginStep(tenant: string, accountId: string, step: () => EventFrame[]): Promise<Result<number>> {
    const outcome = attempt(() => {
      this.store.requireAccount(tenant, accountId);
      return this.ctx.storage.transactionSync(step);
    });
    if (!outcome.ok) return outcome;
    this.broadcast(outcome.value);
    await this.scheduleAlarm(Date.now());
    return { ok: true, value: this.store.seq() };
  }

  async topics(tenant: string, accountId: string): Promise<Result<Topic[]>> {
    return attempt(() => {
      this.store.requireAccount(tenant, accountId);
      return this.store.topics();
    });
  }

  async messages(
    tenant: string,
    accountId: string,
    topicId: string,
    before: number | undefined,
    limit: number,
  ): Promise<Result<MessagePage>> {
    return attempt(() => {
      this.store.requireAccount(tenant, accountId);
      return this.store.messages(topicId, before, limit);
    });
  }

  /** The Douyin-style lists of the compatibility API (PROTOCOL §8), newest first by offset. */
  async compat(
    tenant: string,
    accountId: string,
    query:
      | { list: "conversations" | "contents"; offset: number; count: number }
      | { list: "messages"; conversationId: string; offset: number; count: number }
      | { list: "discussions" | "unified"; kinds: ("comment" | "dm")[]; offset: number; count: number },
  ): Promise<Result<{ items: unknown[]; hasMore: boolean }>> {
    return attempt(() => {
      this.store.requireAccount(tenant, accountId);
      switch (query.list) {
        case "conversations":
        case "contents": {
          const page = this.store.topicsByKind(
            query.list === "contents" ? "work" : "conversation",
            query.offset,
            query.count,
          );
          return { items: page.topics, hasMore: page.hasMore };
        }
        case "messages": {
          const page = this.store.messagesByKind(["dm", "reply"], query.offset, query.count, query.conversationId);
          return { items: page.messages, hasMore: page.hasMore };
        }
        case "discussions":
        case "unified": {
          const page = this.store.messagesByKind(query.kinds, query.offset, query.count);
          return { items: page.messages, hasMore: page.hasMore };
        }
      }
    });
  }

  // -------------------------------------------------------------------------
  // Sockets

  /** A WebSocket upgrade the Worker has authenticated (identity in a header it sets). */
  override async fetch(request: Request): Promise<Response> {
    const identity = readIdentity(request);
    const url = new URL(request.url);
    const accountId = url.searchParams.get("accountId") ?? "";
    const account = this.store.account();
    if (!account || account.tenant !== identity.tid || account.account_id !== accountId) {
      const error = new ApiError("forbidden", `account ${accountId} is not an account of tenant ${identity.tid}`);
      return Response.json({ error: error.payload }, { status: 403 });
    }
    const refused = this.guard.admit(identity);
    if (refused) return refused;
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const tags = [
      ...(identity.role === "crawler" ? ["crawler"] : ["reader", identity.role]),
      SocketGuard.tag(identity),
    ];
    this.ctx.acceptWebSocket(server, tags);
    const clientId = url.searchParams.get("clientId") || undefined;
    const attachment: Attachment = { sub: identity.sub, role: identity.role, exp: identity.exp, clientId };
    server.serializeAttachment(attachment);
    if (identity.role === "crawler") {
      // A (re)connecting crawler gets every command still waiting for it.
      const pending = this.commands.list("pending", 100);
      for (const command of pending) send(server, { type: "command:new", payload: { command } });
      this.take(pending.map((c) => c.id));
    } else {
      const since = url.searchParams.get("since");
      const resumeFrom = since !== null ? Number(since) : clientId ? this.store.cursor(clientId) : null;
      if (resumeFrom !== null)
        this.replay(server, resumeFrom, url.searchParams.get("epoch") ?? undefined, identity.role === "admin");
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const received = this.guard.receive(ws, message, roomClientFrame, FRAME_TYPES);
    if (!received) return;
    const { attachment } = received;
    const frame = received.frame as RoomClientFrame;
    if (attachment.role === "crawler") {
      sendError(ws, new ApiError("forbidden", `a crawler socket cannot send ${frame.type}`), frame.id);
      return;
    }
    try {
      await this.handle(ws, attachment, frame);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      sendError(ws, error, frame.id);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const attachment = attachmentOf(ws);
    if (attachment.registered && attachment.clientId) {
      const stillHere = this.ctx
        .getWebSockets("reader")
        .some(
          (other) =>
            other !== ws && other.readyState === WebSocket.OPEN && attachmentOf(other).clientId === attachment.clientId,
        );
      if (!stillHere) this.presence(ws, attachment, "offline");
    }
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1011, "socket error");
  }

  private async handle(ws: WebSocket, attachment: Attachment, frame: RoomClientFrame): Promise<void> {
    const account = this.store.account()!;
    switch (frame.type) {
      case "monitor:register": {
        const wasRegistered = attachment.registered && attachment.clientId === frame.payload.clientId;
        attachment.clientId = frame.payload.clientId;
        attachment.registered = true;
        ws.serializeAttachment(attachment);
        send(ws, {
          type: "monitor:registered",
          id: frame.id,
          payload: { clientId: frame.payload.clientId, serverTime: Date.now(), seq: account.seq, epoch: account.epoch },
        });
        if (!wasRegistered) this.presence(ws, attachment, "online");
        return;
      }
      case "monitor:request_topics":
        send(ws, {
          type: "monitor:topics",
          id: frame.id,
          payload: { channelId: account.account_id, topics: this.store.topics() },
        });
        return;
      case "monitor:request_messages": {
        const { topicId, before, limit } = frame.payload;
        const page = this.store.messages(topicId, before, limit);
        send(ws, {
          type: "monitor:messages",
          id: frame.id,
          payload: { channelId: account.account_id, topicId, ...page },
        });
        return;
      }
      case "monitor:mark_read": {
        const event = this.ctx.storage.transactionSync(() =>
          this.store.markRead(frame.payload.topicId, frame.payload.seq),
        );
        if (event) {
          this.broadcast([event]);
          await this.sendSummary();
        }
        return;
      }
      case "sync:start":
        this.replay(ws, frame.payload.since, frame.payload.epoch, attachment.role === "admin", frame.id);
        return;
      case "monitor:reply": {
        const { message } = await this.storeReply(frame.payload, attachment.sub);
        send(ws, { type: "monitor:reply:accepted", id: frame.id, payload: { message } });
        return;
      }
      case "account:login:start":
        if (attachment.role !== "admin") throw new ApiError("forbidden", "account:login:start needs the admin role");
        await this.login();
        return;
      case "ack": {
        const seq = this.store.saveCursor(requireClientId(attachment), frame.payload.seq);
        if (frame.id) send(ws, { type: "ack", id: frame.id, payload: { seq } });
        return;
      }
      case "client:notification:ack": {
        const clientId = requireClientId(attachment);
        const notificationSeq = this.store.notificationSeq(frame.payload.notification_id);
        if (notificationSeq === null) {
          throw new ApiError("not_found", `notification ${frame.payload.notification_id} does not exist`);
        }
        const seq = this.store.saveCursor(clientId, notificationSeq);
        if (frame.id) send(ws, { type: "ack", id: frame.id, payload: { seq } });
        return;
      }
    }
  }

  /**
   * Sends the events after `since` in order, as batches with `sync:progress` between them,
   * then `sync:complete`; or `sync:reset` when they can't be given (pruned, other epoch).
   * Synchronous from first read to last send, so no live event can slip in between.
   */
  private replay(ws: WebSocket, since: number, epoch: string | undefined, admin: boolean, id?: string): void {
    const account = this.store.account()!;
    const first = this.store.firstEventSeq();
    const gone = since < account.seq && (first === null || since < first - 1);
    if (
      (epoch !== undefined && epoch !== account.epoch) ||
      since > account.seq ||
      gone ||
      !Number.isInteger(since) ||
      since < 0
    ) {
      send(ws, { type: "sync:reset", id, payload: { seq: account.seq, epoch: account.epoch } });
      return;
    }
    const total = this.store.countEventsAfter(since, admin);
    let sent = 0;
    let chunk: string[] = [];
    for (const frame of this.store.eventsAfter(since, admin)) {
      chunk.push(frame);
      if (chunk.length === REPLAY_CHUNK) {
        send(ws, batchOf(chunk));
        sent += chunk.length;
        chunk = [];
        send(ws, { type: "sync:progress", id, payload: { sent, total } });
      }
    }
    if (chunk.length) send(ws, batchOf(chunk));
    send(ws, { type: "sync:complete", id, payload: { seq: account.seq, epoch: account.epoch } });
  }

  /** Sends events to the agents' and admins' sockets, in `seq` order, batched; admin-only events to admins. */
  private broadcast(events: EventFrame[], stored?: string[]): void {
    const admins = this.ctx.getWebSockets("admin");
    const agents = this.ctx.getWebSockets("agent");
    if (!events.length || (!admins.length && !agents.length)) return;
    // A push hands over the JSON it stored: the frame sent live is the frame replayed.
    const texts = stored ?? events.map((event) => JSON.stringify(event));
    const forAdmins = batches(texts);
    const forAgents = events.some((e) => ADMIN_ONLY.has(e.type))
      ? batches(texts.filter((_, i) => !ADMIN_ONLY.has(events[i]!.type)))
      : forAdmins;
    for (const ws of admins) for (const frame of forAdmins) send(ws, frame);
    for (const ws of agents) for (const frame of forAgents) send(ws, frame);
  }

  /** Stores a reply and its command; a new one goes out to everyone and to the crawler. */
  private async storeReply(input: ReplyInput, agent: string): Promise<ReplyAnswer> {
    const outcome = this.ctx.storage.transactionSync(() => this.commands.reply(input, agent, Date.now()));
    if (outcome.created) {
      this.broadcast(outcome.events);
      this.offer([outcome.command]);
      await this.sendSummary();
      await this.scheduleAlarm(Date.now());
    }
    return { message: outcome.message, created: outcome.created };
  }

  private async login(): Promise<Command> {
    const outcome = this.ctx.storage.transactionSync(() => this.commands.login(Date.now()));
    if (outcome.created) {
      this.broadcast(outcome.events);
      this.offer([outcome.command]);
      await this.scheduleAlarm(Date.now());
    }
    return outcome.command;
  }

  /** Sends commands to the crawler sockets, if any; delivered ones count as taken. */
  private offer(commands: Command[]): void {
    const crawlers = this.ctx.getWebSockets("crawler");
    if (!crawlers.length) return;
    for (const command of commands) {
      const frame = JSON.stringify({ type: "command:new", payload: { command } } satisfies ServerFrame);
      for (const ws of crawlers) send(ws, frame);
    }
    this.take(commands.map((c) => c.id));
  }

  private take(ids: string[]): void {
    if (!ids.length) return;
    const events = this.ctx.storage.transactionSync(() => this.commands.take(ids, Date.now()));
    this.broadcast(events);
  }

  private presence(from: WebSocket, attachment: Attachment, status: "online" | "offline"): void {
    const frame = JSON.stringify({
      type: "status_change",
      payload: { clientId: attachment.clientId!, userId: attachment.sub, status },
    } satisfies ServerFrame);
    for (const ws of this.ctx.getWebSockets("reader")) if (ws !== from) send(ws, frame);
  }

  // -------------------------------------------------------------------------
  // The Directory and housekeeping

  /** Tells the tenant's Directory the account's summary; retried by the alarm if it fails. */
  private async sendSummary(): Promise<void> {
    const account = this.store.account();
    const summary: AccountSummary | null = this.store.summary();
    if (!account || !summary) return;
    try {
      const directory = this.env.DIRECTORY.get(this.env.DIRECTORY.idFromName(account.tenant));
      await directory.updateSummary(summary);
    } catch (error) {
      console.error("directory update failed; retrying from the alarm", error);
      await this.alarmAtMost(Date.now() + DIRECTORY_RETRY_MS);
    }
  }

  /**
   * Sets the alarm for the earliest thing that needs it: a command going stale, a QR code
   * expiring, a log outgrowing its retention. Nothing pending → no alarm: an idle room
   * never wakes.
   */
  private async scheduleAlarm(now: number): Promise<void> {
    const first = this.store.firstEventSeq();
    const oldest = this.store.oldestEventAt();
    const tooMany = first !== null && this.store.seq() - first + 1 > this.config.eventRetentionCount * 1.1;
    const tooOld = oldest !== null && oldest < now - this.config.eventRetentionMs;
    const deadlines = [this.commands.nextDeadline(), tooMany || tooOld ? now + 1_000 : null].filter(
      (t): t is number => t !== null,
    );
    if (deadlines.length) await this.alarmAtMost(Math.min(...deadlines));
  }

  /** Moves the alarm earlier, never later: one alarm serves every deadline. */
  private async alarmAtMost(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Prunes, expires QR codes and stale commands, re-sends the summary; idempotent (alarms may run twice). */
  override async alarm(): Promise<void> {
    const now = Date.now();
    if (!this.store.account()) return;
    this.store.pruneEvents(now - this.config.eventRetentionMs, this.config.eventRetentionCount);
    const events = this.ctx.storage.transactionSync(() => this.commands.expire(now));
    this.broadcast(events);
    await this.sendSummary();
    await this.scheduleAlarm(now);
  }
}

function requireClientId(attachment: Attachment): string {
  if (!attachment.clientId) {
    throw new ApiError("invalid_frame", "send monitor:register (or connect with ?clientId=) before acknowledging");
  }
  return attachment.clientId;
}

/** Event texts as frames of at most LIVE_BATCH events each. */
function batches(texts: string[]): string[] {
  const frames: string[] = [];
  for (let i = 0; i < texts.length; i += LIVE_BATCH) frames.push(batchOf(texts.slice(i, i + LIVE_BATCH)));
  return frames;
}
