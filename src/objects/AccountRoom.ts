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
import type { EventFrame, Message, RoomClientFrame, ServerFrame, Topic } from "../protocol";
import type { ItemKind, ParsedPush, Rejected } from "../snapshot";
import { RoomStore } from "./room-store";
import type { AccountSummary, KindCounts } from "./room-store";
import {
  attachmentOf,
  batchOf,
  frameTypes,
  readFrame,
  readIdentity,
  send,
  sendError,
} from "./sockets";
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

export class AccountRoom extends DurableObject<Env> {
  private readonly store: RoomStore;
  private readonly config: Config;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage.sql);
    this.config = readConfig(env as unknown as Record<string, unknown>);
    ctx.blockConcurrencyWhile(async () => this.store.migrate());
    // Answered by the runtime itself: a heartbeat never wakes a hibernated room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // -------------------------------------------------------------------------
  // RPC from the Worker

  /** Applies a crawler's snapshot in one transaction, then fans the new events out. */
  async push(tenant: string, push: ParsedPush): Promise<Result<PushAnswer>> {
    const account = this.store.account();
    if (account && account.tenant !== tenant) {
      return { ok: false, error: { code: "forbidden", message: `account ${push.accountId} is not an account of tenant ${tenant}` } };
    }
    const now = Date.now();
    const result = this.ctx.storage.transactionSync(() => this.store.applyPush(tenant, push, now));
    this.broadcast(result.events);
    await this.sendSummary();
    this.schedulePrune(now);
    return { ok: true, value: { seq: result.seq, counts: result.counts, rejected: result.rejected } };
  }

  async topics(tenant: string, accountId: string): Promise<Result<Topic[]>> {
    return attempt(() => {
      this.store.requireAccount(tenant, accountId);
      return this.store.topics();
    });
  }

  async messages(tenant: string, accountId: string, topicId: string, before: number | undefined, limit: number): Promise<Result<MessagePage>> {
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
          const page = this.store.topicsByKind(query.list === "contents" ? "work" : "conversation", query.offset, query.count);
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
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const tags = identity.role === "crawler" ? ["crawler"] : identity.role === "admin" ? ["reader", "admin"] : ["reader"];
    this.ctx.acceptWebSocket(server, tags);
    const clientId = url.searchParams.get("clientId") || undefined;
    const attachment: Attachment = { sub: identity.sub, role: identity.role, exp: identity.exp, clientId };
    server.serializeAttachment(attachment);
    if (identity.role !== "crawler") {
      const since = url.searchParams.get("since");
      const resumeFrom = since !== null ? Number(since) : clientId ? this.store.cursor(clientId) : null;
      if (resumeFrom !== null) this.replay(server, resumeFrom, url.searchParams.get("epoch") ?? undefined);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const attachment = attachmentOf(ws);
    const incoming = readFrame(message, roomClientFrame, FRAME_TYPES, attachment);
    if (!incoming.ok) {
      sendError(ws, incoming.error, incoming.id);
      if (incoming.close) ws.close(incoming.close, incoming.error.message);
      return;
    }
    const frame = incoming.frame as RoomClientFrame;
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
        .some((other) => other !== ws && other.readyState === WebSocket.OPEN && attachmentOf(other).clientId === attachment.clientId);
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
        send(ws, { type: "monitor:topics", id: frame.id, payload: { channelId: account.account_id, topics: this.store.topics() } });
        return;
      case "monitor:request_messages": {
        const { topicId, before, limit } = frame.payload;
        const page = this.store.messages(topicId, before, limit);
        send(ws, { type: "monitor:messages", id: frame.id, payload: { channelId: account.account_id, topicId, ...page } });
        return;
      }
      case "monitor:mark_read": {
        const event = this.ctx.storage.transactionSync(() => this.store.markRead(frame.payload.topicId, frame.payload.seq));
        if (event) {
          this.broadcast([event]);
          await this.sendSummary();
        }
        return;
      }
      case "sync:start":
        this.replay(ws, frame.payload.since, frame.payload.epoch, frame.id);
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
  private replay(ws: WebSocket, since: number, epoch: string | undefined, id?: string): void {
    const account = this.store.account()!;
    const first = this.store.firstEventSeq();
    const gone = since < account.seq && (first === null || since < first - 1);
    if ((epoch !== undefined && epoch !== account.epoch) || since > account.seq || gone || !Number.isInteger(since) || since < 0) {
      send(ws, { type: "sync:reset", id, payload: { seq: account.seq, epoch: account.epoch } });
      return;
    }
    const total = account.seq - since;
    let sent = 0;
    let chunk: string[] = [];
    for (const frame of this.store.eventsAfter(since)) {
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

  /** Sends events to every agent's socket, in `seq` order, batched. */
  private broadcast(events: EventFrame[]): void {
    if (!events.length) return;
    const texts = events.map((event) => JSON.stringify(event));
    const frames: string[] = [];
    for (let i = 0; i < texts.length; i += LIVE_BATCH) frames.push(batchOf(texts.slice(i, i + LIVE_BATCH)));
    for (const ws of this.ctx.getWebSockets("reader")) for (const frame of frames) send(ws, frame);
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
      await this.ctx.storage.setAlarm(Date.now() + DIRECTORY_RETRY_MS);
    }
  }

  /** Sets an alarm only when the log has outgrown its retention: an idle room never wakes. */
  private schedulePrune(now: number): void {
    const first = this.store.firstEventSeq();
    const seq = this.store.seq();
    const oldest = this.store.oldestEventAt();
    const tooMany = first !== null && seq - first + 1 > this.config.eventRetentionCount * 1.1;
    const tooOld = oldest !== null && oldest < now - this.config.eventRetentionMs;
    if (tooMany || tooOld) void this.ctx.storage.setAlarm(now + 1_000);
  }

  /** Prunes the event log and re-sends the summary; idempotent, as alarms may run twice. */
  override async alarm(): Promise<void> {
    this.store.pruneEvents(Date.now() - this.config.eventRetentionMs, this.config.eventRetentionCount);
    await this.sendSummary();
  }
}

function requireClientId(attachment: Attachment): string {
  if (!attachment.clientId) {
    throw new ApiError("invalid_frame", "send monitor:register (or connect with ?clientId=) before acknowledging");
  }
  return attachment.clientId;
}
