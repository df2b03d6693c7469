/**
 * One per tenant: the channel list (one row per account, from the summaries AccountRooms
 * send, plus the admin's settings) and the sockets that watch it.
 */
import { ApiError, attempt } from "../contract/errors";
import type { Result } from "../contract/errors";
import { directoryClientFrame } from "../contract/schemas";
import type { Channel, DirectoryClientFrame, Stats } from "../contract/schemas";
import { DAY_MINUTES, MINUTE_MS } from "./account-summary";
import type { AccountSummary } from "./account-summary";
import { DIRECTORY_MIGRATIONS } from "./directory/schema";
import { toChannel } from "./directory/channels";
import type { ChannelRow } from "./directory/channels";
import { RESTRICTED, SocketScopes, UNRESTRICTED } from "./directory/scopes";
import { statsOf, statsRows } from "./directory/stats";
import { migrate } from "../lib/migrate";
import { CommitPath } from "./commit";
import { SocketObject } from "./sockets/socket-object";
import type { FrameHandlers } from "./sockets/socket-object";
import { readIdentity } from "../contract/identity";
import { attachmentOf, saveAttachment, send } from "./sockets/socket";
import type { Attachment } from "./sockets/socket";

export type ChannelPatch = { enabled?: boolean; isPinned?: boolean; name?: string };

export class Directory extends SocketObject<DirectoryClientFrame> {
  private readonly sql: SqlStorage;
  private readonly commit: CommitPath<Channel>;
  private readonly scopes: SocketScopes;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, directoryClientFrame);
    this.sql = ctx.storage.sql;
    this.scopes = new SocketScopes(ctx, this.sql);
    this.commit = new CommitPath<Channel>(ctx.storage, {
      broadcast: (channels) => channels.forEach((channel) => this.announce(channel)),
    });
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, DIRECTORY_MIGRATIONS);
      // A restart (a deploy) drops every socket without a close: their rows go with them.
      if (!ctx.getWebSockets().length) this.sql.exec("DELETE FROM socket_accounts");
    });
  }

  // -------------------------------------------------------------------------
  // RPC

  /** An AccountRoom's summary after a push or a read mark; stored, then sent to watchers. */
  async updateSummary(summary: AccountSummary): Promise<void> {
    this.commit.apply(() => this.storeSummary(summary));
  }

  /** The summary's row (unless the room's seq went back: an older summary sent again) and push counts. */
  private storeSummary(summary: AccountSummary): { events: Channel[] } {
    const { health, figures } = summary;
    this.sql.exec(
      `INSERT INTO channels (id, name, avatar, platform, last_message, last_message_time, unread_count, message_count,
         last_sync_at, seq, last_seen_at, interval_ms, login, crawler_error, topic_count, notification_count, clients,
         storage_bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, avatar = excluded.avatar, platform = excluded.platform,
         last_message = excluded.last_message, last_message_time = excluded.last_message_time,
         unread_count = excluded.unread_count, message_count = excluded.message_count,
         last_sync_at = excluded.last_sync_at, seq = excluded.seq, last_seen_at = excluded.last_seen_at,
         interval_ms = excluded.interval_ms, login = excluded.login, crawler_error = excluded.crawler_error,
         topic_count = excluded.topic_count, notification_count = excluded.notification_count,
         clients = excluded.clients,
         storage_bytes = COALESCE(excluded.storage_bytes, channels.storage_bytes)
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
      health.lastSeenAt,
      health.intervalMs,
      health.login,
      health.error,
      figures?.topics ?? 0,
      figures?.notifications ?? 0,
      JSON.stringify(figures?.clients ?? []),
      health.storageBytes ?? null,
    );
    if (figures?.pushMinutes.length) this.countPushes(summary.id, figures.pushMinutes);
    const channel = this.channel(summary.id);
    return { events: channel ? [channel] : [] };
  }

  /**
   * Takes a room's push counts: each minute's whole count so far, so a count seen twice or out
   * of order (a summary sent again) never adds up twice, and minutes past the day go.
   */
  private countPushes(channelId: string, minutes: [number, number][]): void {
    this.sql.exec(
      `INSERT INTO push_minutes (channel, minute, n)
         SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true
       ON CONFLICT (channel, minute) DO UPDATE SET n = MAX(n, excluded.n)`,
      channelId,
      JSON.stringify(minutes),
    );
    const thisMinute = Math.floor(Date.now() / MINUTE_MS);
    this.sql.exec("DELETE FROM push_minutes WHERE channel = ? AND minute <= ?", channelId, thisMinute - DAY_MINUTES);
  }

  /**
   * Whether a room may create its account (its first push or health report): always for an
   * account the tenant has, else only below MAX_ACCOUNTS_PER_TENANT. An admitted account keeps
   * its place, whether its first push then stores anything or not.
   */
  async admitAccount(accountId: string): Promise<Result<void>> {
    const known = this.sql.exec(
      "SELECT 1 FROM channels WHERE id = ? UNION ALL SELECT 1 FROM admitted WHERE id = ?",
      accountId,
      accountId,
    );
    if (known.toArray().length) return { ok: true, value: undefined };
    const { n } = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM (SELECT id FROM channels UNION SELECT id FROM admitted)")
      .one();
    const max = this.config.maxAccountsPerTenant;
    if (n >= max) {
      const message = `this tenant already has ${n} accounts, the most MAX_ACCOUNTS_PER_TENANT (${max}) allows; account ${accountId} is not created`;
      return { ok: false, error: { code: "forbidden", message } };
    }
    this.sql.exec("INSERT INTO admitted (id) VALUES (?)", accountId);
    return { ok: true, value: undefined };
  }

  /** The channel list, pinned first then newest; only the accounts a token may see. */
  async channels(accounts?: string[]): Promise<Channel[]> {
    return this.list(accounts && new Set(accounts));
  }

  /**
   * The statistics of the tenant's accounts (PROTOCOL §11), of those in `accounts` when the
   * token names some; `accountId` for one account (403 when it is not one of the tenant's).
   */
  async stats(accounts?: string[], accountId?: string): Promise<Result<Stats>> {
    const claim = accounts && new Set(accounts);
    return attempt(() => {
      const now = Date.now();
      const rows = statsRows(this.sql, now).filter(
        (row) => (!claim || claim.has(row.id)) && (!accountId || row.id === accountId),
      );
      if (accountId && !rows.length) {
        throw new ApiError("forbidden", `account ${accountId} is not an account of this tenant`);
      }
      const stats = statsOf(rows, now);
      return accountId ? { ...stats, storageBytes: rows[0]!.storage_bytes ?? 0 } : stats;
    });
  }

  async updateChannel(channelId: string, patch: ChannelPatch): Promise<Result<Channel>> {
    return attempt(() => this.patch(channelId, patch));
  }

  // -------------------------------------------------------------------------
  // Sockets

  override async fetch(request: Request): Promise<Response> {
    const identity = readIdentity(request);
    // Sockets that may see every account are found by tag, without any lookup.
    const accepted = this.sockets.accept(identity, [identity.role, SocketScopes.tag(identity.accounts)]);
    if (!accepted.ok) return accepted.response;
    if (identity.accounts) this.scopes.save(accepted.attachment.id, identity.accounts);
    if (accepted.alarmAt !== undefined) {
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > accepted.alarmAt) await this.ctx.storage.setAlarm(accepted.alarmAt);
    }
    return accepted.response;
  }

  /** The one alarm a Directory has: closing the sockets whose token expired (sockets/expiry.ts). */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sockets.expiry.sweep(now);
    const next = this.sockets.expiry.alarmAt(now);
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  protected readonly frames: FrameHandlers<DirectoryClientFrame> = {
    "monitor:register": (ws, attachment, frame) => {
      attachment.clientId = frame.payload.clientId;
      saveAttachment(ws, attachment);
      const payload = { clientId: frame.payload.clientId, serverTime: Date.now() };
      send(ws, { type: "monitor:registered", id: frame.id, payload });
      send(ws, { type: "monitor:channels", id: frame.id, payload: { channels: this.list(this.scopes.of(ws)) } });
    },
    "client:register": (ws, attachment, frame) => {
      attachment.clientId = frame.payload.client_id;
      saveAttachment(ws, attachment);
      const payload = {
        client_id: frame.payload.client_id,
        server_time: Date.now(),
        heartbeat_interval: this.config.heartbeatIntervalMs,
      };
      send(ws, { type: "client:register:success", id: frame.id, payload });
    },
    "monitor:request_channels": (ws, _attachment, frame) => {
      send(ws, { type: "monitor:channels", id: frame.id, payload: { channels: this.list(this.scopes.of(ws)) } });
    },
    "channel:update": (ws, attachment, frame) => {
      if (attachment.role !== "admin") throw new ApiError("forbidden", "channel:update needs the admin role");
      const { channelId, ...patch } = frame.payload;
      const scope = this.scopes.of(ws);
      if (scope && !scope.has(channelId))
        throw new ApiError("forbidden", `account ${channelId} is outside this token's accounts`);
      this.patch(channelId, patch);
    },
  };

  protected override onSocketClosed(_ws: WebSocket, attachment: Attachment): void {
    this.scopes.forget(attachment);
  }

  /** The channels, pinned first then newest; only those in `scope` when the token is restricted. */
  private list(scope?: ReadonlySet<string>): Channel[] {
    const now = Date.now();
    return this.sql
      .exec<ChannelRow>("SELECT * FROM channels ORDER BY is_pinned DESC, last_message_time DESC, id")
      .toArray()
      .filter((row) => !scope || scope.has(row.id))
      .map((row) => toChannel(row, now, this.config.storageHighPercent));
  }

  private patch(channelId: string, patch: ChannelPatch): Channel {
    return this.commit.apply(() => this.storePatch(channelId, patch)).events[0]!;
  }

  private storePatch(channelId: string, patch: ChannelPatch): { events: Channel[] } {
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
    return { events: [this.channel(channelId)!] };
  }

  /** A channel as its row says now. */
  private channel(channelId: string): Channel | null {
    const row = this.sql.exec<ChannelRow>("SELECT * FROM channels WHERE id = ?", channelId).toArray()[0];
    return row ? toChannel(row, Date.now(), this.config.storageHighPercent) : null;
  }

  /** Sends a committed channel as `channel:updated` to every socket allowed to see it. */
  private announce(channel: Channel): void {
    const channelId = channel.id;
    const frame = JSON.stringify({ type: "channel:updated", payload: { channel } });
    for (const ws of this.sockets.sockets(UNRESTRICTED)) send(ws, frame);
    const restricted = this.sockets.sockets(RESTRICTED);
    if (restricted.length) {
      const allowed = this.scopes.allowed(channelId);
      for (const ws of restricted) if (allowed.has(attachmentOf(ws).id)) send(ws, frame);
    }
  }
}
