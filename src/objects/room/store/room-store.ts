/**
 * The AccountRoom's SQLite storage: reads, read marks, the event log, cursors (the
 * push itself is ../push/push-run.ts). Storage is the truth: nothing here keeps state in memory
 * between calls.
 */
import { ApiError } from "../../../contract/errors";
import { DEFAULT_INTERVAL_MS } from "../../../health";
import { encodeCursor } from "../../../contract/page-cursor";
import type { PageKey } from "../../../contract/page-cursor";
import type {
  EventFrame,
  Notification,
  StoredNotification,
  Topic,
  TopicKind,
  TopicPage,
} from "../../../contract/schemas";
import type { CrawlerReport } from "../../../contract/snapshot";
import { DAY_MINUTES, MINUTE_MS } from "../../account-summary";
import type { AccountSummary, RoomFigures } from "../../account-summary";
import { audienceOf, storedMessageFrame, topicUpdated } from "../events";
import { bodyOf } from "./message-body";
import type { BodyRow } from "./message-body";
import { migrate } from "../../../lib/migrate";
import { ROOM_MIGRATIONS } from "./schema";
import { rowToTopic } from "./rows";
import { MAX_BOUND } from "../../../lib/row-buffer";
import type { AccountRow, PageEntry, TopicRow } from "./rows";

/** A page of a compatibility list: topics with their item, or messages (see `messagesByKind`). */
export type CompatRows =
  | { items: { topic: Topic; raw: Record<string, unknown> | null }[]; hasMore: boolean }
  | { entries: PageEntry[]; hasMore: boolean };

/** Which compatibility list to read, and where (PROTOCOL §8). */
export type CompatQuery =
  | { list: "conversations" | "contents"; offset: number; count: number }
  | { list: "messages"; conversationId: string; offset: number; count: number }
  | { list: "discussions" | "unified"; kinds: ("comment" | "dm")[]; offset: number; count: number };

export class RoomStore {
  constructor(readonly sql: SqlStorage) {}

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

  /**
   * One page of a Douyin-style list of the compatibility API (PROTOCOL §8), newest first by
   * offset: topics with their item, or messages (`entries`, resolved by cold-history.ts).
   */
  compatPage(query: CompatQuery): CompatRows {
    switch (query.list) {
      case "conversations":
      case "contents": {
        const kind = query.list === "contents" ? "work" : "conversation";
        const page = this.topicsByKind(kind, query.offset, query.count);
        return { items: page.topics, hasMore: page.hasMore };
      }
      case "messages":
        return this.messagesByKind(["dm", "reply"], query.offset, query.count, query.conversationId);
      case "discussions":
      case "unified":
        return this.messagesByKind(query.kinds, query.offset, query.count);
    }
  }

  /**
   * Messages of some kinds across the account, newest first, by offset (the compatibility API):
   * those still here and those moved to R2 in one order, as if none had moved.
   */
  messagesByKind(
    kinds: string[],
    offset: number,
    count: number,
    topicId?: string,
  ): { entries: PageEntry[]; hasMore: boolean } {
    const where = `kind IN (${kinds.map(() => "?").join(", ")})${topicId === undefined ? "" : " AND topic_id = ?"}`;
    const params = topicId === undefined ? kinds : [...kinds, topicId];
    const keys = this.sql
      .exec<{ r: number | null; seq: number; batch: number | null }>(
        `SELECT rowid AS r, seq, NULL AS batch, timestamp FROM messages WHERE ${where}
         UNION ALL SELECT NULL, seq, batch, timestamp FROM archived WHERE ${where}
         ORDER BY timestamp DESC, seq DESC LIMIT ? OFFSET ?`,
        ...params,
        ...params,
        count + 1,
        offset,
      )
      .toArray();
    const page = keys.slice(0, count);
    const bodies = new Map<number, string>();
    const rowids = page.flatMap((key) => (key.r === null ? [] : [key.r]));
    const channelId = this.channelId();
    for (let start = 0; start < rowids.length; start += MAX_BOUND) {
      const chunk = rowids.slice(start, start + MAX_BOUND);
      const rows = this.sql.exec<BodyRow & { r: number }>(
        `SELECT rowid AS r, id, topic_id, seq, kind, body FROM messages WHERE rowid IN (${chunk.map(() => "?").join(", ")})`,
        ...chunk,
      );
      for (const row of rows) bodies.set(row.r, bodyOf(row, channelId));
    }
    const entries = page.map((key): PageEntry =>
      key.r === null ? { seq: key.seq, batch: key.batch! } : { seq: key.seq, body: bodies.get(key.r)! },
    );
    return { entries, hasMore: keys.length > count };
  }

  /** Topics of one kind with their item, newest first, by offset (the compatibility API). */
  topicsByKind(
    kind: TopicKind,
    offset: number,
    count: number,
  ): { topics: { topic: Topic; raw: Record<string, unknown> | null }[]; hasMore: boolean } {
    const channelId = this.account()?.account_id ?? "";
    const rows = this.sql
      .exec<TopicRow>(
        "SELECT * FROM topics WHERE kind = ? ORDER BY sort_time DESC, id LIMIT ? OFFSET ?",
        kind,
        count + 1,
        offset,
      )
      .toArray();
    return {
      topics: rows.slice(0, count).map((row) => ({
        topic: rowToTopic(channelId, row),
        raw: row.raw ? (JSON.parse(row.raw) as Record<string, unknown>) : null,
      })),
      hasMore: rows.length > count,
    };
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
  // Read marks, events, cursors

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

  /** The oldest seq still kept, or null when the log is empty. */
  firstEventSeq(): number | null {
    return this.oldestEvent()?.seq ?? null;
  }

  /** How many events after `since` a socket of this audience would be replayed. */
  countEventsAfter(since: number, admin: boolean): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM events WHERE seq > ? AND (audience = 'all' OR ?)",
        since,
        admin ? 1 : 0,
      )
      .one().n;
  }

  /** Stored event frames after `since`, in order, as the JSON text that was sent live. */
  *eventsAfter(since: number, admin: boolean): Generator<string> {
    let from = since;
    for (;;) {
      const page = this.eventPage(from, admin, 500);
      yield* page.texts;
      if (page.texts.length < 500) return;
      from = page.last;
    }
  }

  /**
   * At most `limit` stored event frames after `since`, in order, as the JSON text that was
   * sent live; `last` is the seq of the last one (`since` when there is none).
   */
  eventPage(since: number, admin: boolean, limit: number): { texts: string[]; last: number } {
    const channelId = this.channelId();
    const rows = this.sql
      .exec<{
        seq: number;
        frame: string;
        id: string | null;
        topic_id: string | null;
        kind: string | null;
        body: string | null;
      }>(
        `SELECT e.seq, e.frame, m.id, m.topic_id, m.kind, m.body FROM events AS e
         LEFT JOIN messages AS m ON m.rowid = e.message
         WHERE e.seq > ? AND (e.audience = 'all' OR ?) ORDER BY e.seq LIMIT ?`,
        since,
        admin ? 1 : 0,
        limit,
      )
      .toArray();
    // A message's event: its message row as it was then, with the event's seq (the row's too).
    const texts = rows.map((row) =>
      row.body === null ? row.frame : storedMessageFrame(row.seq, bodyOf(row as BodyRow, channelId)),
    );
    return { texts, last: rows.at(-1)?.seq ?? since };
  }

  /** Drops events older than the retention, keeping at least the newest `keep`. */
  pruneEvents(olderThan: number, keepAtMost: number): void {
    const seq = this.seq();
    this.sql.exec("DELETE FROM events WHERE seq <= ? OR (at < ? AND seq <= ?)", seq - keepAtMost, olderThan, seq - 1);
  }

  /** The first event still in the log: its `seq` and when it was stored. */
  oldestEvent(): { seq: number; at: number } | null {
    return (
      this.sql.exec<{ seq: number; at: number }>("SELECT seq, at FROM events ORDER BY seq LIMIT 1").toArray()[0] ?? null
    );
  }

  /**
   * Where the client `clientId` of the token `sub` stopped reading; a cursor stored before
   * cursors were kept per sub (the empty sub) serves until the client saves its own.
   */
  cursor(sub: string, clientId: string): number | null {
    return (
      this.sql
        .exec<{ seq: number }>(
          "SELECT seq FROM cursors WHERE client_id = ? AND sub IN (?, '') ORDER BY sub = '' LIMIT 1",
          clientId,
          sub,
        )
        .toArray()[0]?.seq ?? null
    );
  }

  /** Stores a client's cursor; it only moves forward and never past the room's seq. */
  saveCursor(sub: string, clientId: string, seq: number): number {
    const value = Math.min(seq, this.seq());
    this.sql.exec(
      `INSERT INTO cursors (sub, client_id, seq, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (sub, client_id) DO UPDATE SET seq = MAX(seq, excluded.seq), at = excluded.at`,
      sub,
      clientId,
      value,
      Date.now(),
    );
    return this.cursor(sub, clientId)!;
  }

  notificationSeq(notificationId: string): number | null {
    return (
      this.sql.exec<{ seq: number }>("SELECT seq FROM notifications WHERE id = ?", notificationId).toArray()[0]?.seq ??
      null
    );
  }

  /**
   * A client acknowledged a notification: the first acknowledgement is when it was sent (the
   * seed's `sent_at`); later ones keep it. Null when there is no such notification.
   */
  markNotificationSent(notificationId: string, now: number): number | null {
    const seq = this.notificationSeq(notificationId);
    if (seq !== null) {
      this.sql.exec("UPDATE notifications SET sent_at = ? WHERE id = ? AND sent_at IS NULL", now, notificationId);
    }
    return seq;
  }

  /** A page of the account's notifications, newest first, strictly before `before` (a seq). */
  notifications(before: number | undefined, limit: number): { notifications: StoredNotification[]; hasMore: boolean } {
    const rows = this.sql
      .exec<{ seq: number; sent_at: number | null; body: string }>(
        "SELECT seq, sent_at, body FROM notifications WHERE seq < ? ORDER BY seq DESC LIMIT ?",
        before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    const notifications = rows.slice(0, limit).map(function storedNotification(row): StoredNotification {
      return { ...(JSON.parse(row.body) as Notification), seq: row.seq, sentAt: row.sent_at };
    });
    return { notifications, hasMore: rows.length > limit };
  }
}
