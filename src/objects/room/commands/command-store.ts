/**
 * Replies and logins the crawler carries out on the platform (PROTOCOL §7), in the
 * AccountRoom's SQLite. Every method that changes something must run inside
 * `transactionSync` (the commit path does it) and returns the events it appended.
 *
 * Over 300 lines because a command's whole life is one state machine over one table (created,
 * taken, stale and taken again, sent or failed, retried, expired): its transitions read best
 * side by side.
 */
import { ApiError } from "../../../contract/errors";
import { compact } from "../../../mapping";
import type { Command, EventFrame, LoginStatus, Message, MessageStatus, TopicKind } from "../../../contract/schemas";
import { channelMessage, freezeMessageEvent, loginStatus, messageStatus, qrcode } from "../events";
import { bodyOf, packBody } from "../store/message-body";
import type { BodyRow } from "../store/message-body";
import { MessageWriter } from "../store/message-writer";
import { PLATFORM_ID, rowidByPlatformId } from "../push/push-items";
import type { RoomStore } from "../store/room-store";

type CommandRow = {
  id: string;
  type: "reply" | "login";
  /** The `sub` of the agent whose reply it is; null for a login, or a reply stored before it was kept. */
  agent: string | null;
  client_msg_id: string | null;
  message_id: string | null;
  topic_id: string | null;
  topic_kind: TopicKind | null;
  reply_to_id: string | null;
  content: string | null;
  status: "pending" | "sent" | "failed";
  attempts: number;
  error: string | null;
  platform_message_id: string | null;
  created_at: number;
  pending_since: number;
  taken_at: number | null;
  stale: number;
};

type LoginRow = {
  command_id: string;
  status: LoginStatus;
  error: string | null;
  image: string | null;
  expires_at: number | null;
  qrcode_seq: number | null;
};

export type ReplyInput = { topicId: string; content: string; replyToId?: string; clientMsgId: string };
export type ResultInput = { status: "sent" | "failed"; platformMessageId?: string; error?: string };
export type CommandSettings = { maxAttempts: number; staleAfterMs: number };

const FINAL_LOGIN: ReadonlySet<LoginStatus> = new Set(["success", "failed", "expired"]);

function toCommand(row: CommandRow): Command {
  return {
    id: row.id,
    type: row.type,
    topicId: row.topic_id,
    topicKind: row.topic_kind,
    replyToId: row.reply_to_id,
    content: row.content,
    createdAt: row.created_at,
    attempts: row.attempts,
    status: row.status,
  };
}

export class CommandStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly room: RoomStore,
    private readonly settings: CommandSettings,
  ) {}

  private row(id: string): CommandRow | undefined {
    return this.sql.exec<CommandRow>("SELECT * FROM commands WHERE id = ?", id).toArray()[0];
  }

  /** A stored message's JSON, as it was written. */
  private body(id: string): string {
    const row = this.sql.exec<BodyRow>("SELECT id, topic_id, seq, kind, body FROM messages WHERE id = ?", id).one();
    return bodyOf(row, this.room.channelId());
  }

  private message(id: string): Message {
    return JSON.parse(this.body(id)) as Message;
  }

  /**
   * Stores an agent's reply as a pending message and a command. The same `clientMsgId`
   * again gives back the same message and makes nothing new.
   */
  reply(
    input: ReplyInput,
    agent: string,
    now: number,
    archived: Message | null = null,
  ): { message: Message; command: Command; created: boolean; events: EventFrame[] } {
    // An agent's clientMsgId is its own: another agent's same id is another reply.
    const existing = this.sql
      .exec<CommandRow>(
        "SELECT * FROM commands WHERE client_msg_id = ? AND (agent = ? OR agent IS NULL) ORDER BY agent IS NULL LIMIT 1",
        input.clientMsgId,
        agent,
      )
      .toArray()[0];
    if (existing) {
      if (existing.topic_id !== input.topicId || existing.content !== input.content) {
        throw new ApiError("conflict", `clientMsgId ${input.clientMsgId} was already used for a different reply`, [
          { path: "clientMsgId", message: "already used for a different reply" },
        ]);
      }
      return { message: this.message(existing.message_id!), command: toCommand(existing), created: false, events: [] };
    }
    const topic = this.sql
      .exec<{ kind: TopicKind; raw: string | null }>("SELECT kind, raw FROM topics WHERE id = ?", input.topicId)
      .toArray()[0];
    if (!topic)
      throw new ApiError("not_found", `topic ${input.topicId} does not exist`, [
        { path: "topicId", message: "no such topic" },
      ]);
    let replyTo: { platform_id: string | null; id: string } | undefined;
    if (input.replyToId !== undefined) {
      replyTo = this.sql
        .exec<{ platform_id: string | null; id: string }>(
          `SELECT ${PLATFORM_ID} AS platform_id, id FROM messages WHERE id = ? AND topic_id = ?`,
          input.replyToId,
          input.topicId,
        )
        .toArray()[0];
      // A message moved to R2 (cold-history.ts) is a crawler's: its id is its platform id.
      if (!replyTo && archived) replyTo = { platform_id: archived.id, id: archived.id };
      if (!replyTo) {
        throw new ApiError("not_found", `replyToId ${input.replyToId} is not a message of topic ${input.topicId}`, [
          { path: "replyToId", message: "no such message in this topic" },
        ]);
      }
    }
    const account = this.room.account()!;
    const participant = topic.raw
      ? (JSON.parse(topic.raw) as { participant?: { user_id?: string } }).participant?.user_id
      : undefined;
    const toId = replyTo
      ? (archived ?? this.message(replyTo.id)).fromId
      : topic.kind === "conversation"
        ? participant
        : undefined;
    const seq = account.seq + 1;
    const message: Message = compact({
      id: `reply-${crypto.randomUUID()}`,
      channelId: account.account_id,
      topicId: input.topicId,
      seq,
      kind: "reply",
      fromId: account.platform_user_id ?? account.account_id,
      fromName: account.name || account.account_id,
      fromAvatar: account.avatar ?? undefined,
      toId,
      content: input.content,
      type: "text",
      timestamp: now,
      replyToId: input.replyToId,
      direction: "out",
      status: "pending",
      clientMsgId: input.clientMsgId,
    });
    const writer = new MessageWriter(this.sql, account.account_id);
    writer.add(message, { platformId: null, hash: null, ts: now, raw: JSON.stringify({ agent }) });
    writer.flush();
    const created = this.room.emit((s) => channelMessage(s, message));
    const topicEvent = this.room.emitTopic(input.topicId);
    const id = crypto.randomUUID();
    this.sql.exec(
      `INSERT INTO commands (id, type, agent, client_msg_id, message_id, topic_id, topic_kind, reply_to_id, content, status, created_at, pending_since)
       VALUES (?, 'reply', ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      id,
      agent,
      input.clientMsgId,
      message.id,
      input.topicId,
      topic.kind,
      replyTo ? (replyTo.platform_id ?? replyTo.id) : null,
      input.content,
      now,
      now,
    );
    return { message, command: toCommand(this.row(id)!), created: true, events: [created, topicEvent] };
  }

  /** Starts a QR login, or gives back the one already under way. */
  login(now: number): { command: Command; created: boolean; events: EventFrame[] } {
    const current = this.loginRow();
    if (current && !FINAL_LOGIN.has(current.status)) {
      return { command: toCommand(this.row(current.command_id)!), created: false, events: [] };
    }
    const id = crypto.randomUUID();
    this.sql.exec(
      "INSERT INTO commands (id, type, status, created_at, pending_since) VALUES (?, 'login', 'pending', ?, ?)",
      id,
      now,
      now,
    );
    this.sql.exec(
      `INSERT INTO login (id, command_id, status) VALUES (1, ?, 'pending')
       ON CONFLICT (id) DO UPDATE SET command_id = excluded.command_id, status = 'pending', error = NULL,
         image = NULL, expires_at = NULL, qrcode_seq = NULL`,
      id,
    );
    const event = this.room.emit((seq) => loginStatus(seq, "pending"));
    return { command: toCommand(this.row(id)!), created: true, events: [event] };
  }

  private loginRow(): LoginRow | undefined {
    return this.sql.exec<LoginRow>("SELECT * FROM login WHERE id = 1").toArray()[0];
  }

  /** The commands in one status, oldest first. */
  list(status: Command["status"], limit: number): Command[] {
    return this.sql
      .exec<CommandRow>("SELECT * FROM commands WHERE status = ? ORDER BY pending_since, id LIMIT ?", status, limit)
      .toArray()
      .map(toCommand);
  }

  /** Records that the crawler has these commands now; a command taken after it went stale is no longer stale. */
  take(ids: string[], now: number): EventFrame[] {
    const events: EventFrame[] = [];
    for (const id of ids) {
      const row = this.row(id);
      if (!row || row.status !== "pending" || row.taken_at !== null) continue;
      this.sql.exec("UPDATE commands SET taken_at = ?, stale = 0 WHERE id = ?", now, id);
      if (row.stale && row.message_id) {
        events.push(this.status(row.message_id, "pending", undefined, false));
      }
    }
    return events;
  }

  /** The crawler's report on a command. The same report twice changes nothing the second time. */
  result(id: string, input: ResultInput, now: number): { command: Command; events: EventFrame[]; retry: boolean } {
    const row = this.row(id);
    if (!row) throw new ApiError("not_found", `command ${id} does not exist`);
    const same = { command: toCommand(row), events: [], retry: false };
    if (row.status === "sent") {
      if (input.status === "sent") return same;
      throw new ApiError("conflict", `command ${id} was already reported sent`);
    }
    if (row.status === "failed") {
      if (input.status === "failed") return same;
      throw new ApiError("conflict", `command ${id} failed for good after ${row.attempts} attempts`);
    }
    // A failure reported again before the crawler took the command anew is the same report.
    if (input.status === "failed" && row.taken_at === null && row.attempts > 0) return same;

    const events: EventFrame[] = [];
    if (input.status === "sent") {
      this.sql.exec(
        "UPDATE commands SET status = 'sent', platform_message_id = ?, error = NULL WHERE id = ?",
        input.platformMessageId ?? null,
        id,
      );
      if (row.message_id) {
        // The crawler's copy in a later snapshot carries this id: it must find this message.
        const taken =
          input.platformMessageId !== undefined &&
          this.sql.exec(`SELECT ${rowidByPlatformId("?")} AS r`, input.platformMessageId, input.platformMessageId).one()
            .r !== null;
        if (input.platformMessageId !== undefined && !taken) {
          this.sql.exec("UPDATE messages SET platform_id = ? WHERE id = ?", input.platformMessageId, row.message_id);
        }
        events.push(this.status(row.message_id, "sent"));
      }
      return { command: toCommand(this.row(id)!), events, retry: false };
    }
    const attempts = row.attempts + 1;
    const error = input.error ?? "the crawler reported a failure";
    const final = attempts >= this.settings.maxAttempts;
    this.sql.exec(
      `UPDATE commands SET attempts = ?, error = ?, status = ?, taken_at = NULL, stale = 0, pending_since = ? WHERE id = ?`,
      attempts,
      error,
      final ? "failed" : "pending",
      now,
      id,
    );
    if (row.message_id) events.push(this.status(row.message_id, final ? "failed" : "pending", error));
    if (row.type === "login" && final) events.push(...this.finishLogin("failed", error));
    return { command: toCommand(this.row(id)!), events, retry: !final };
  }

  /** Sets a reply's status in its message and appends `message:status`. */
  private status(messageId: string, status: MessageStatus, error?: string, stale?: boolean): EventFrame {
    const body = this.body(messageId);
    const before = JSON.parse(body) as Message;
    freezeMessageEvent(this.sql, before.seq, body);
    const message = { ...before, status };
    const packed = packBody(JSON.stringify(message), message, this.room.channelId());
    this.sql.exec("UPDATE messages SET body = ? WHERE id = ?", packed, messageId);
    return this.room.emit((seq) => messageStatus(seq, messageId, status, error, stale));
  }

  /** The crawler's QR code for the login under way; admins only, dropped at its expiry. */
  qrcode(image: string, expiresAt: number, now: number): EventFrame[] {
    const login = this.loginRow();
    if (!login || FINAL_LOGIN.has(login.status)) {
      throw new ApiError("conflict", "no login is under way; an admin starts one with account:login:start");
    }
    if (expiresAt <= now) {
      throw new ApiError("invalid_body", "expiresAt: must be in the future", [
        { path: "expiresAt", message: "must be in the future" },
      ]);
    }
    const event = this.room.emit((seq) => qrcode(seq, image, expiresAt));
    this.sql.exec(
      "UPDATE login SET image = ?, expires_at = ?, qrcode_seq = ?, status = 'waiting' WHERE id = 1",
      image,
      expiresAt,
      event.payload.seq,
    );
    return [event];
  }

  loginStatus(status: LoginStatus, error: string | undefined): EventFrame[] {
    const login = this.loginRow();
    if (!login) throw new ApiError("conflict", "no login is under way; an admin starts one with account:login:start");
    if (FINAL_LOGIN.has(login.status)) {
      if (login.status === status) return [];
      throw new ApiError("conflict", `the login already ended (${login.status})`);
    }
    if (FINAL_LOGIN.has(status)) return this.finishLogin(status, error);
    this.sql.exec("UPDATE login SET status = ?, error = ? WHERE id = 1", status, error ?? null);
    return [this.room.emit((seq) => loginStatus(seq, status, error))];
  }

  private finishLogin(status: LoginStatus, error: string | undefined): EventFrame[] {
    const login = this.loginRow()!;
    this.sql.exec("UPDATE login SET status = ?, error = ? WHERE id = 1", status, error ?? null);
    this.sql.exec(
      "UPDATE commands SET status = ?, error = COALESCE(?, error) WHERE id = ? AND status = 'pending'",
      status === "success" ? "sent" : "failed",
      error ?? null,
      login.command_id,
    );
    this.dropQrcode();
    // A QR login that succeeded is a fresh session; a failed or expired QR code leaves the session as it was.
    if (status === "success") this.sql.exec("UPDATE account SET login = 'logged_in' WHERE id = 1");
    return [this.room.emit((seq) => loginStatus(seq, status, error))];
  }

  /** Removes the QR image from storage: from the login row and from its event in the log. */
  private dropQrcode(): void {
    const login = this.loginRow();
    if (!login?.image) return;
    if (login.qrcode_seq !== null) {
      const frame = qrcode(login.qrcode_seq, "", login.expires_at!);
      this.sql.exec("UPDATE events SET frame = ? WHERE seq = ?", JSON.stringify(frame), login.qrcode_seq);
    }
    this.sql.exec("UPDATE login SET image = NULL WHERE id = 1");
  }

  /** Housekeeping for the alarm: expired QR codes, and commands nobody took in time. */
  expire(now: number): EventFrame[] {
    const login = this.loginRow();
    if (login?.image && login.expires_at !== null && login.expires_at <= now) this.dropQrcode();
    const events: EventFrame[] = [];
    const overdue = this.sql
      .exec<CommandRow>(
        "SELECT * FROM commands WHERE status = 'pending' AND taken_at IS NULL AND stale = 0 AND pending_since <= ? ORDER BY pending_since",
        now - this.settings.staleAfterMs,
      )
      .toArray();
    for (const row of overdue) {
      this.sql.exec("UPDATE commands SET stale = 1 WHERE id = ?", row.id);
      if (row.message_id)
        events.push(this.status(row.message_id, "pending", "no crawler has taken this reply yet", true));
      else {
        events.push(this.room.emit((seq) => loginStatus(seq, "pending", "no crawler has taken the login request yet")));
      }
    }
    return events;
  }

  /** When the alarm must next run for commands and QR codes, if ever. */
  nextDeadline(): number | null {
    const oldest = this.sql
      .exec<{ t: number | null }>(
        "SELECT MIN(pending_since) AS t FROM commands WHERE status = 'pending' AND taken_at IS NULL AND stale = 0",
      )
      .one().t;
    const login = this.loginRow();
    const candidates = [
      oldest === null ? null : oldest + this.settings.staleAfterMs,
      login?.image ? login.expires_at : null,
    ];
    const times = candidates.filter((t): t is number => t !== null);
    return times.length ? Math.min(...times) : null;
  }
}
