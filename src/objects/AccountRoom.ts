/**
 * One per (tenant, account): the account's history in SQLite, its event log (`seq`), and the
 * hibernatable sockets of the agents watching it and of its crawler. Read top to bottom it is
 * PROTOCOL §4, §7 and §6.2. Its parts are in room/: push/ (a snapshot becomes rows), store/
 * (the SQLite tables and their reads), delivery/ (events to sockets, presence), commands/
 * (replies and logins for the crawler), history/ (messages moved to R2), housekeeping.ts (the
 * alarm and the Directory summary); the socket runtime both objects share is sockets/.
 */
import { ApiError, attempt, failed } from "../contract/errors";
import type { Result } from "../contract/errors";
import { readIdentity } from "../contract/identity";
import { unpackPush } from "../contract/push-pack";
import type { PackedPush } from "../contract/push-pack";
import { roomClientFrame } from "../contract/schemas";
import type {
  Command,
  EventFrame,
  Health,
  LoginStatus,
  Message,
  RoomClientFrame,
  StoredNotification,
  TopicPage,
} from "../contract/schemas";
import type { CrawlerReport, ItemKind, Rejected } from "../contract/snapshot";
import { healthOf, refuseWhenFull } from "../health";
import type { ReplyAnswer } from "./room/commands/command-delivery";
import type { ReplyInput, ResultInput } from "./room/commands/command-store";
import { CRAWLER, READER } from "./room/delivery/fanout";
import { roomFrames, topicPage } from "./room/frames";
import type { TopicPageQuery } from "./room/frames";
import { roomParts } from "./room/parts";
import type { RoomParts } from "./room/parts";
import { applyPush } from "./room/push/push-run";
import type { CompatQuery } from "./room/store/compat-lists";
import type { AccountRow, KindCounts } from "./room/store/rows";
import { send } from "./sockets/socket";
import type { Attachment } from "./sockets/socket";
import { SocketObject } from "./sockets/socket-object";
import type { FrameHandlers } from "./sockets/socket-object";

export type PushAnswer = { seq: number; counts: Record<ItemKind, KindCounts>; rejected: Rejected[] };
export type MessagePage = { messages: Message[]; hasMore: boolean };
export type NotificationPage = { notifications: StoredNotification[]; hasMore: boolean };

export class AccountRoom extends SocketObject<RoomClientFrame> {
  protected readonly frames: FrameHandlers<RoomClientFrame>;
  private readonly room: RoomParts;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, roomClientFrame);
    this.room = roomParts(ctx, env, this.config, this.sockets);
    this.frames = roomFrames(this.room);
    ctx.blockConcurrencyWhile(async () => this.room.store.migrate());
  }

  // -------------------------------------------------------------------------
  // §4 The push

  /** Applies a crawler's snapshot in one transaction, then fans the new events out. */
  async push(tenant: string, crawler: string, packed: PackedPush): Promise<Result<PushAnswer>> {
    const admitted = await this.room.crawlers.admit(tenant, crawler, packed.accountId);
    if (!admitted.ok) return admitted;
    const account = admitted.value;
    const push = unpackPush(packed);
    const now = Date.now();
    const applied = attempt(() =>
      refuseWhenFull(() => this.room.commit.apply(() => applyPush(this.room.store, tenant, push, now, account))),
    );
    if (!applied.ok) return applied;
    const { seq, counts, rejected } = applied.value;
    await this.room.housekeeping.afterSignOfLife(now);
    return { ok: true, value: { seq, counts, rejected } };
  }

  /**
   * A crawler's health report with nothing to push (PROTOCOL §10): a sign of life, counted
   * against the same per-token limit as pushes. Creates the account, as a first push would.
   */
  async health(tenant: string, crawler: string, accountId: string, report: CrawlerReport): Promise<Result<Health>> {
    const admitted = await this.room.crawlers.admit(tenant, crawler, accountId);
    if (!admitted.ok) return admitted;
    const account = admitted.value;
    const now = Date.now();
    await this.room.commit.run(
      () => this.room.store.recordHealthReport(tenant, accountId, report, now, account),
      () => this.room.housekeeping.afterSignOfLife(now),
    );
    return { ok: true, value: healthOf(this.room.store.summary()!.health, now, this.config.storageHighPercent) };
  }

  // -------------------------------------------------------------------------
  // §5, §7, §8 over HTTP: each call names its tenant and account, checked against the room's own.

  /** An agent's reply (the HTTP twin of `monitor:reply`). */
  async reply(tenant: string, accountId: string, input: ReplyInput, agent: string): Promise<Result<ReplyAnswer>> {
    return this.inAccount(tenant, accountId, () => this.room.commandDelivery.reply(input, agent));
  }

  /** Commands in one status, for the crawler; listing pending ones counts as taking them. */
  async listCommands(tenant: string, accountId: string, status: Command["status"]): Promise<Result<Command[]>> {
    return this.inAccount(tenant, accountId, async () => {
      const commands = this.room.commands.list(status, 100);
      if (status === "pending") this.room.commandDelivery.take(commands);
      await this.room.housekeeping.scheduleAlarm(Date.now());
      return commands;
    });
  }

  async commandResult(tenant: string, accountId: string, id: string, input: ResultInput): Promise<Result<Command>> {
    return this.inAccount(tenant, accountId, async () => {
      const outcome = await this.room.commit.run(
        () => this.room.commands.result(id, input, Date.now()),
        async ({ retry, command }) => {
          if (retry) this.room.commandDelivery.offer(command);
          await this.room.housekeeping.scheduleAlarm(Date.now());
        },
      );
      return outcome.command;
    });
  }

  /** Starts a QR login (the HTTP twin of `account:login:start`). */
  async startLogin(tenant: string, accountId: string): Promise<Result<Command>> {
    return this.inAccount(tenant, accountId, () => this.room.commandDelivery.login());
  }

  async qrcode(tenant: string, accountId: string, image: string, expiresAt: number): Promise<Result<number>> {
    return this.loginStep(tenant, accountId, () => this.room.commands.qrcode(image, expiresAt, Date.now()));
  }

  async loginStatus(tenant: string, accountId: string, status: LoginStatus, error?: string): Promise<Result<number>> {
    const result = await this.loginStep(tenant, accountId, () => this.room.commands.loginStatus(status, error));
    // A QR login that succeeded turns the channel's health to logged_in.
    if (result.ok && status === "success") await this.room.housekeeping.sendSummary();
    return result;
  }

  /** A page of the topic list (the HTTP twin of `monitor:request_topics`). */
  async topics(tenant: string, accountId: string, page: TopicPageQuery): Promise<Result<TopicPage>> {
    return this.inAccount(tenant, accountId, () => topicPage(this.room.store, page));
  }

  async messages(
    tenant: string,
    accountId: string,
    topicId: string,
    before: number | undefined,
    limit: number,
  ): Promise<Result<MessagePage>> {
    return this.inAccount(tenant, accountId, () => this.room.cold.messages(topicId, before, limit));
  }

  /** The account's notifications, newest first (the HTTP twin of `monitor:request_notifications`). */
  async notifications(
    tenant: string,
    accountId: string,
    before: number | undefined,
    limit: number,
  ): Promise<Result<NotificationPage>> {
    return this.inAccount(tenant, accountId, () => this.room.store.notifications.page(before, limit));
  }

  /** The Douyin-style lists of the compatibility API (PROTOCOL §8), newest first by offset. */
  async compat(
    tenant: string,
    accountId: string,
    query: CompatQuery,
  ): Promise<Result<{ items: unknown[]; hasMore: boolean }>> {
    return this.inAccount(tenant, accountId, () => this.room.cold.compatPage(query));
  }

  /** Runs `call` if this room is the tenant's account; an ApiError it throws becomes a failed Result. */
  private async inAccount<T>(
    tenant: string,
    accountId: string,
    call: (account: AccountRow) => T | Promise<T>,
  ): Promise<Result<T>> {
    try {
      return { ok: true, value: await call(this.room.store.requireAccount(tenant, accountId)) };
    } catch (error) {
      if (error instanceof ApiError) return failed(error);
      throw error;
    }
  }

  private async loginStep(tenant: string, accountId: string, step: () => EventFrame[]): Promise<Result<number>> {
    return this.inAccount(tenant, accountId, async () => {
      await this.room.commit.run(
        () => ({ events: step() }),
        () => this.room.housekeeping.scheduleAlarm(Date.now()),
      );
      return this.room.store.seq();
    });
  }

  // -------------------------------------------------------------------------
  // §6.2 The account's sockets

  /** A WebSocket upgrade the Worker has authenticated (identity in a header it sets). */
  override async fetch(request: Request): Promise<Response> {
    const identity = readIdentity(request);
    const url = new URL(request.url);
    const accountId = url.searchParams.get("accountId") ?? "";
    const account = this.room.store.account();
    if (!account || account.tenant !== identity.tid || account.account_id !== accountId) {
      const error = new ApiError("forbidden", `account ${accountId} is not an account of tenant ${identity.tid}`);
      return Response.json({ error: error.payload }, { status: 403 });
    }
    const clientId = url.searchParams.get("clientId") || undefined;
    const tags = identity.role === "crawler" ? [CRAWLER] : [READER, identity.role];
    const accepted = this.sockets.accept(identity, tags, { clientId });
    if (!accepted.ok) return accepted.response;
    if (accepted.alarmAt !== undefined) await this.room.housekeeping.alarmAtMost(accepted.alarmAt);
    if (identity.role === "crawler") {
      // A (re)connecting crawler gets every command still waiting for it.
      const pending = this.room.commands.list("pending", 100);
      for (const command of pending) send(accepted.ws, { type: "command:new", payload: { command } });
      this.room.commandDelivery.take(pending);
    } else {
      const since = url.searchParams.get("since");
      const resumeFrom =
        since !== null ? Number(since) : clientId ? this.room.store.log.cursor(identity.sub, clientId) : null;
      const epoch = url.searchParams.get("epoch") ?? undefined;
      if (resumeFrom !== null) this.room.fanout.replay(accepted.ws, resumeFrom, epoch, identity.role === "admin");
    }
    return accepted.response;
  }

  /** A crawler's socket only listens: every frame from it is refused. */
  protected override admitFrame(attachment: Attachment, frame: RoomClientFrame): void {
    if (attachment.role === "crawler") throw new ApiError("forbidden", `a crawler socket cannot send ${frame.type}`);
  }

  /** A registered client's last socket went away: the others see it go offline. */
  protected override async onSocketClosed(ws: WebSocket, attachment: Attachment): Promise<void> {
    if (this.room.fanout.unregister(attachment)) {
      this.room.fanout.presence(ws, attachment, "offline");
      await this.room.housekeeping.summarySoon(Date.now());
    }
  }

  /** The alarm: room/housekeeping.ts. */
  override async alarm(): Promise<void> {
    await this.room.housekeeping.alarm(Date.now());
  }
}
