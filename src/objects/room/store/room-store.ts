/**
 * The AccountRoom's SQLite storage: the account row and its figures, topic and history reads,
 * read marks, appending to the event log, notifications (the push itself is ../push/push-run.ts;
 * replaying the log and the cursors are event-log.ts). Storage is the truth: nothing here keeps
 * state in memory between calls.
 */
import { ApiError } from "../../../contract/errors";
import { DEFAULT_INTERVAL_MS } from "../../../health";
import { encodeCursor } from "../../../contract/page-cursor";
import type { PageKey } from "../../../contract/page-cursor";
import type { EventFrame, Topic, TopicPage } from "../../../contract/schemas";
import type { CrawlerReport } from "../../../contract/snapshot";
import { DAY_MINUTES, MINUTE_MS } from "../../account-summary";
import type { AccountSummary, RoomFigures } from "../../account-summary";
import { audienceOf, topicUpdated } from "../events";
import { bodyOf } from "./message-body";
import type { BodyRow } from "./message-body";
import { migrate } from "../../../lib/migrate";
import { ROOM_MIGRATIONS } from "./schema";
import { CompatLists } from "./compat-lists";
import { EventLog } from "./event-log";
import { NotificationHistory } from "./notifications";
import { rowToTopic } from "./rows";
import type { AccountRow, PageEntry, TopicRow } from "./rows";

export class RoomStore {
  /** The event log as replays read it, and each client's cursor in it. */
  readonly log: EventLog;
  /** The Douyin-style lists of the compatibility API. */
  readonly compat: CompatLists;
  /** The account's notification history. */
  readonly notifications: NotificationHistory;

  constructor(readonly sql: SqlStorage) {
    this.log = new EventLog(sql, this);
    this.compat = new CompatLists(sql, this);
    this.notifications = new NotificationHistory(sql);
  }

  migrate(): void {
    migrate(this.sql, ROOM_MIGRATIONS);
  }

  account(): AccountRow | null {
    return this.sql.exec<AccountRow>("SELECT * FROM account WHERE id = 1").toArray()[0] ?? null;
  }

  /** The account row, or 403: an account no crawler has pushed to is not part of the tenant. */
  requireAccount(tenant: string, accountId: string): AccountRow {
    const row = this.account();
    if (!row || row.tenant !== tenant || row.account_id !== accountId) {
      throw new ApiError("forbidden", `account ${accountId} is not an account of tenant ${tenant}`);
    }
    return row;
  }

  seq(): number {
    return this.account()?.seq ?? 0;
  }

  /** The account's id: every message's channel. */
  channelId(): string {
    return this.account()?.account_id ?? "";
  }

  // -------------------------------------------------------------------------
  // The push

  /**
   * The account row, created (no items, seq 0) for the first push or health call. `known`: the
   * row as read earlier in the same turn (nothing can have written it since).
   */
  ensureAccount(tenant: string, accountId: string, now: number, known: AccountRow | null): AccountRow {
    if (known) return known;
    this.sql.exec(
      "INSERT INTO account (id, tenant, account_id, epoch, created_at) VALUES (1, ?, ?, ?, ?)",
      tenant,
      accountId,
      crypto.randomUUID(),
      now,
    );
    return this.account()!;
  }

  /** A crawler's health report: the account, created as a first push would, and its sign of life. */
  recordHealthReport(
    tenant: string,
    accountId: string,
    report: CrawlerReport,
    now: number,
    known: AccountRow | null,
  ): { events: [] } {
    this.ensureAccount(tenant, accountId, now, known);
    this.recordSignOfLife(report, now);
    return { events: [] };
  }

  /**
   * A push or a health call: the crawler is alive now. An interval it does not repeat stays
   * as last said; an error it does not repeat is over; a login state it does not give stays.
   */
  recordSignOfLife(report: CrawlerReport | undefined, now: number): void {
    this.sql.exec(
      `UPDATE account SET last_seen_at = ?, interval_ms = COALESCE(?, interval_ms, ?),
         login = COALESCE(?, login), crawler_error = ? WHERE id = 1`,
      now,
      report?.intervalMs ?? null,
      DEFAULT_INTERVAL_MS,
      report?.login ?? null,
      report?.error ?? null,
    );
  }

  /** Tallies a push in its minute; minutes older than a day are dropped. Inside the push's transaction. */
  recordPush(now: number): void {
    const minute = Math.floor(now / MINUTE_MS);
    this.sql.exec(
      "INSERT INTO push_minutes (minute, n) VALUES (?, 1) ON CONFLICT (minute) DO UPDATE SET n = n + 1",
      minute,
    );
    this.sql.exec("DELETE FROM push_minutes WHERE minute <= ?", minute - DAY_MINUTES);
  }

  /**
   * The figures for the statistics, but who is online (that is the sockets'). Push counts from
   * the minute `reported` on (the account row's `pushes_reported`; null: the whole day), so a
   * push costs the same at the end of a busy day as at its start.
   */
  figures(reported: number | null): Omit<RoomFigures, "clients"> {
    const count = (table: "topics" | "notifications") =>
      this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    const pushMinutes = this.sql
      .exec<{ minute: number; n: number }>(
        "SELECT minute, n FROM push_minutes WHERE minute >= ? ORDER BY minute",
        reported ?? 0,
      )
      .toArray()
      .map((row): [number, number] => [row.minute, row.n]);
    return { topics: count("topics"), notifications: count("notifications"), pushMinutes };
  }

  /** The Directory took the push counts up to `minute`: later summaries start there. */
  pushesReported(minute: number): void {
    this.sql.exec(
      "UPDATE account SET pushes_reported = ? WHERE id = 1 AND (pushes_reported IS NULL OR pushes_reported < ?)",
      minute,
      minute,
    );
  }

  /** A summary the Directory did not take is due again at `at` (null: it took the last one). */
  summaryRetry(at: number | null): void {
    this.sql.exec("UPDATE account SET summary_retry_at = ? WHERE id = 1", at);
  }

  // -------------------------------------------------------------------------
  // Reads

  /**
   * A page of topics, newest first (by `sort_time`, then id): `limit` of them after `after`,
   * with the cursor of the next page when more follow.
   */
  topics(limit: number, after?: PageKey): TopicPage {
    const channelId = this.account()?.account_id ?? "";
    const rows = (
      after
        ? this.sql.exec<TopicRow>(
            `SELECT * FROM topics WHERE sort_time <= ? AND (sort_time < ? OR id > ?)
             ORDER BY sort_time DESC, id LIMIT ?`,
            after.time,
            after.time,
            after.id,
            limit + 1,
          )
        : this.sql.exec<TopicRow>("SELECT * FROM topics ORDER BY sort_time DESC, id LIMIT ?", limit + 1)
    ).toArray();
    if (rows.length <= limit) return { topics: rows.map((row) => rowToTopic(channelId, row)) };
    rows.length = limit;
    const last = rows[limit - 1]!;
    return {
      topics: rows.map((row) => rowToTopic(channelId, row)),
      nextCursor: encodeCursor({ time: last.sort_time, id: last.id }),
    };
  }

  topic(topicId: string): Topic | null {
    const row = this.sql.exec<TopicRow>("SELECT * FROM topics WHERE id = ?", topicId).toArray()[0];
    return row ? rowToTopic(this.account()?.account_id ?? "", row) : null;
  }

  /**
   * A page of a topic's messages, oldest first, strictly before `before` (a Message.seq): the
   * rows still here and the key rows of those moved to R2 (../history/cold-history.ts), merged by seq, so
   * a page crosses from one to the other with no gap and no repeat.
   */
  messagePage(topicId: string, before: number | undefined, limit: number): { entries: PageEntry[]; hasMore: boolean } {
    if (!this.sql.exec("SELECT 1 FROM topics WHERE id = ?", topicId).toArray().length) {
      throw new ApiError("not_found", `topic ${topicId} does not exist`);
    }
    const below = before ?? Number.MAX_SAFE_INTEGER;
    const rows = this.sql
      .exec<BodyRow>(
        "SELECT id, topic_id, seq, kind, body FROM messages WHERE topic_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        topicId,
        below,
        limit + 1,
      )
      .toArray();
    const channelId = this.channelId();
    const entries: PageEntry[] = rows.map((row) => ({ seq: row.seq, body: bodyOf(row, channelId) }));
    // Both, always: a reply a command still names stays here while older and newer ones move.
    const cold = this.sql
      .exec<{ seq: number; batch: number }>(
        "SELECT seq, batch FROM archived WHERE topic_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        topicId,
        below,
        limit + 1,
      )
      .toArray();
    if (cold.length) {
      entries.push(...cold);
      entries.sort((a, b) => b.seq - a.seq);
    }
    return { entries: entries.slice(0, limit).reverse(), hasMore: entries.length > limit };
  }

  /** The account's summary for the Directory; `a`: its row, when the caller has just read it. */
  summary(a = this.account()): AccountSummary | null {
    if (!a) return null;
    return {
      id: a.account_id,
      name: a.name || a.account_id,
      avatar: a.avatar ?? "",
      platform: a.platform,
      lastMessage: a.last_message,
      lastMessageTime: a.last_message_time,
      unreadCount: a.unread_count,
      messageCount: a.message_count,
      lastSyncAt: a.last_sync_at,
      seq: a.seq,
      health: {
        lastSeenAt: a.last_seen_at,
        intervalMs: a.interval_ms,
        login: a.login,
        error: a.crawler_error,
        storageBytes: this.sql.databaseSize,
      },
    };
  }

  // -------------------------------------------------------------------------
  // Read marks, events

  /**
   * Moves a topic's team-shared read mark forward to `seq` (default: everything so far) and
   * appends the `topic:updated` event. Must run inside `transactionSync`.
   */
  markRead(topicId: string, seq: number | undefined): EventFrame | null {
    const row = this.sql.exec<TopicRow>("SELECT * FROM topics WHERE id = ?", topicId).toArray()[0];
    if (!row) throw new ApiError("not_found", `topic ${topicId} does not exist`);
    const account = this.account()!;
    const mark = Math.min(seq ?? account.seq, account.seq);
    if (mark <= row.read_seq) return null;
    const count = (table: "messages" | "archived") =>
      this.sql
        .exec<{ n: number }>(
          `SELECT COUNT(*) AS n FROM ${table} WHERE topic_id = ? AND seq > ? AND inbound = 1`,
          topicId,
          mark,
        )
        .one().n;
    // Messages moved to R2 keep their place in the count (cold-history.ts).
    const unread = count("messages") + count("archived");
    this.sql.exec("UPDATE topics SET read_seq = ?, unread_count = ? WHERE id = ?", mark, unread, topicId);
    this.sql.exec("UPDATE account SET unread_count = unread_count - ? WHERE id = 1", row.unread_count - unread);
    const topic = rowToTopic(account.account_id, { ...row, read_seq: mark, unread_count: unread });
    return this.emit((seq) => topicUpdated(seq, topic));
  }

  /** Appends one event with the next `seq`. Must run inside `transactionSync`. */
  emit(make: (seq: number) => EventFrame): EventFrame {
    const seq = this.seq() + 1;
    const frame = make(seq);
    this.sql.exec(
      "INSERT INTO events (seq, at, frame, audience) VALUES (?, ?, ?, ?)",
      seq,
      Date.now(),
      JSON.stringify(frame),
      audienceOf(frame),
    );
    this.sql.exec("UPDATE account SET seq = ? WHERE id = 1", seq);
    return frame;
  }

  /** The current state of a topic as a `topic:updated` event. Must run inside `transactionSync`. */
  emitTopic(topicId: string): EventFrame {
    const topic = this.topic(topicId)!;
    return this.emit((seq) => topicUpdated(seq, topic));
  }
}
