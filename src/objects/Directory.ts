/**
 * One per tenant: the channel list (one row per account, from the summaries AccountRooms
 * send, plus the admin's settings) and the sockets that watch it.
 */
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { Config } from "../config";
import { ApiError, attempt } from "../errors";
import type { Result } from "../errors";
import { directoryClientFrame, PING, PONG } from "../protocol";
import type { Channel, DirectoryClientFrame } from "../protocol";
import type { AccountSummary } from "./room-rows";
import { migrate } from "./migrate";
import { attachmentOf, frameTypes, readIdentity, send, sendError, SocketGuard } from "./sockets";
import type { Attachment } from "./sockets";

const FRAME_TYPES = frameTypes(directoryClientFrame);
/** Socket tags: tokens without an `accounts` claim see every channel; the others are filtered. */
const UNRESTRICTED = "all-accounts";
const RESTRICTED = "some-accounts";

const MIGRATIONS: string[] = [
  `CREATE TABLE channels (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     custom_name TEXT,
     avatar TEXT NOT NULL DEFAULT '',
     platform TEXT NOT NULL DEFAULT '',
     last_message TEXT NOT NULL DEFAULT '',
     last_message_time INTEGER NOT NULL DEFAULT 0,
     unread_count INTEGER NOT NULL DEFAULT 0,
     message_count INTEGER NOT NULL DEFAULT 0,
     is_pinned INTEGER NOT NULL DEFAULT 0,
     enabled INTEGER NOT NULL DEFAULT 1,
     last_sync_at INTEGER,
     seq INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX channels_order ON channels (is_pinned DESC, last_message_time DESC, id);`,
];

type ChannelRow = {
  id: string;
  name: string;
  custom_name: string | null;
  avatar: string;
  platform: string;
  last_message: string;
  last_message_time: number;
  unread_count: number;
  message_count: number;
  is_pinned: number;
  enabled: number;
  last_sync_at: number | null;
  seq: number;
};

export type ChannelPatch = { enabled?: boolean; isPinned?: boolean; name?: string };

function toChannel(row: ChannelRow): Channel {
  return {
    id: row.id,
    name: row.custom_name ?? row.name,
    avatar: row.avatar,
    platform: row.platform,
    description: row.platform,
    lastMessage: row.last_message,
    lastMessageTime: row.last_message_time,
    unreadCount: row.unread_count,
    messageCount: row.message_count,
    isPinned: row.is_pinned === 1,
    enabled: row.enabled === 1,
    lastSyncAt: row.last_sync_at,
    seq: row.seq,
  };
}

const visibleTo = (attachment: Pick<Attachment, "accounts">, channelId: string): boolean =>
  !attachment.accounts || attachment.accounts.includes(channelId);

export class Directory extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly config: Config;
  private readonly guard: SocketGuard;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.config = readConfig(env as unknown as Record<string, unknown>);
    this.guard = new SocketGuard(ctx, this.config);
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // -------------------------------------------------------------------------
  // RPC

  /** An AccountRoom's summary after a push or a read mark; stored, then sent to watchers. */
  async updateSummary(summary: AccountSummary): Promise<void> {
    this.sql.exec(
      `INSERT INTO channels (id, name, avatar, platform, last_message, last_message_time, unread_count, message_count, last_sync_at, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, avatar = excluded.avatar, platform = excluded.platform,
         last_message = excluded.last_message, last_message_time = excluded.last_message_time,
         unread_count = excluded.unread_count, message_count = excluded.message_count,
         last_sync_at = excluded.last_sync_at, seq = excluded.seq
       WHERE excluded.seq >= channels.seq`,
      summary.id,
      summary.name,
      summary.avatar,
      summary.platform,
      summary.lastMessage,
      summary.lastMessageTime,
      summary.unreadCount,
      summary.messageCount,
      summary.lastSyncAt,
      summary.seq,
    );
    this.announce(summary.id);
  }

  /** The channel list, pinned first then newest; only the accounts a token may see. */
  async channels(accounts?: string[]): Promise<Channel[]> {
    return this.list(accounts);
  }

  async updateChannel(channelId: string, patch: ChannelPatch): Promise<Result<Channel>> {
    return attempt(() => this.patch(channelId, patch));
  }

  // -------------------------------------------------------------------------
  // Sockets

  override async fetch(request: Request): Promise<Response> {
    const identity = readIdentity(request);
    const refused = this.guard.admit(identity);
    if (refused) return refused;
    const pair = new WebSocketPair();
    const attachment: Attachment = {
      sub: identity.sub,
      role: identity.role,
      exp: identity.exp,
      accounts: identity.accounts,
    };
    // Sockets that may see every account are found by tag, without reading attachments.
    const scope = identity.accounts ? RESTRICTED : UNRESTRICTED;
    this.ctx.acceptWebSocket(pair[1], [identity.role, scope, SocketGuard.tag(identity)]);
    pair[1].serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const received = this.guard.receive(ws, message, directoryClientFrame, FRAME_TYPES);
    if (!received) return;
    const { attachment } = received;
    const frame = received.frame as DirectoryClientFrame;
    try {
      this.handle(ws, attachment, frame);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      sendError(ws, error, frame.id);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  private handle(ws: WebSocket, attachment: Attachment, frame: DirectoryClientFrame): void {
    switch (frame.type) {
      case "monitor:register":
        attachment.clientId = frame.payload.clientId;
        ws.serializeAttachment(attachment);
        send(ws, {
          type: "monitor:registered",
          id: frame.id,
          payload: { clientId: frame.payload.clientId, serverTime: Date.now() },
        });
        send(ws, { type: "monitor:channels", id: frame.id, payload: { channels: this.list(attachment.accounts) } });
        return;
      case "client:register":
        attachment.clientId = frame.payload.client_id;
        ws.serializeAttachment(attachment);
        send(ws, {
          type: "client:register:success",
          id: frame.id,
          payload: {
            client_id: frame.payload.client_id,
            server_time: Date.now(),
            heartbeat_interval: this.config.heartbeatIntervalMs,
          },
        });
        return;
      case "monitor:request_channels":
        send(ws, { type: "monitor:channels", id: frame.id, payload: { channels: this.list(attachment.accounts) } });
        return;
      case "channel:update": {
        if (attachment.role !== "admin") throw new ApiError("forbidden", "channel:update needs the admin role");
        const { channelId, ...patch } = frame.payload;
        if (!visibleTo(attachment, channelId))
          throw new ApiError("forbidden", `account ${channelId} is outside this token's accounts`);
        this.patch(channelId, patch);
        return;
      }
    }
  }

  private list(accounts?: string[]): Channel[] {
    return this.sql
      .exec<ChannelRow>("SELECT * FROM channels ORDER BY is_pinned DESC, last_message_time DESC, id")
      .toArray()
      .filter((row) => visibleTo({ accounts }, row.id))
      .map(toChannel);
  }

  private patch(channelId: string, patch: ChannelPatch): Channel {
    const row = this.sql.exec<ChannelRow>("SELECT * FROM channels WHERE id = ?", channelId).toArray()[0];
    if (!row) throw new ApiError("forbidden", `account ${channelId} is not an account of this tenant`);
    this.sql.exec(
      `UPDATE channels SET enabled = COALESCE(?, enabled), is_pinned = COALESCE(?, is_pinned),
         custom_name = COALESCE(?, custom_name) WHERE id = ?`,
      patch.enabled === undefined ? null : Number(patch.enabled),
      patch.isPinned === undefined ? null : Number(patch.isPinned),
      patch.name ?? null,
      channelId,
    );
    return this.announce(channelId)!;
  }

  /** Sends a channel's current row as `channel:updated` to every socket allowed to see it. */
  private announce(channelId: string): Channel | null {
    const row = this.sql.exec<ChannelRow>("SELECT * FROM channels WHERE id = ?", channelId).toArray()[0];
    if (!row) return null;
    const channel = toChannel(row);
    const frame = JSON.stringify({ type: "channel:updated", payload: { channel } });
    for (const ws of this.ctx.getWebSockets(UNRESTRICTED)) send(ws, frame);
    for (const ws of this.ctx.getWebSockets(RESTRICTED)) {
      if (visibleTo(attachmentOf(ws), channelId)) send(ws, frame);
    }
    return channel;
  }
}
