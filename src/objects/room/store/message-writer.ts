/**
 * The one way a new message is stored, for pushes and agents' replies alike: its row, and its
 * topic's and the account's figures (count, unread, last message) kept in step with it.
 */
import type { Message } from "../../../contract/schemas";
import { packBody } from "./message-body";
import { packRaw } from "./message-raw";
import { preview } from "./rows";
import { RowBuffer } from "../../../lib/row-buffer";

/** Where a message came from: the platform's id and the item as the crawler sent it, if any. */
export type MessageSource = { platformId: string | null; hash: string | null; ts: number; raw: string | null };

/** What new messages add to a topic's (or the account's) figures, kept to write once. */
class Tally {
  count = 0;
  unread = 0;
  /** The newest time among the messages, and the preview of the last one added with it… */
  time = -Infinity;
  text = "";
  /** …and that message's place in the order they were added. */
  position = -1;

  add(message: Message, inbound: number, position: number): void {
    this.count++;
    this.unread += inbound;
    // A message at least as new as the newest so far becomes the last message.
    if (message.timestamp >= this.time) {
      this.time = message.timestamp;
      this.text = preview(message);
      this.position = position;
    }
  }
}

/**
 * Buffers new messages and writes them, many rows per statement, with their figures once per
 * topic and once for the account. Use inside the caller's `transactionSync`; call `flush`
 * before reading a topic or the account back.
 * @example
 * const writer = new MessageWriter(sql, account.account_id);
 * writer.add(message, { platformId: null, hash: null, ts: now, raw: null });
 * writer.flush();
 */
export class MessageWriter {
  private readonly rows: RowBuffer;
  private topics = new Map<string, Tally>();
  private account = new Tally();
  private added = 0;

  /** @param channelId the room's account, which every message's body names (see message-body.ts) */
  constructor(
    private readonly sql: SqlStorage,
    private readonly channelId: string,
  ) {
    this.rows = new RowBuffer(
      sql,
      "INSERT INTO messages (rowid, id, platform_id, kind, topic_id, seq, timestamp, inbound, hash, ts, raw, body)",
      12,
    );
  }

  /**
   * Adds a message whose `seq` is already its event's; returns its stored JSON. Its rowid is
   * its `seq`, so its event can name it (see `eventsAfter`): seqs only grow, and every
   * message is written here, so no rowid is ever taken twice.
   */
  add(message: Message, source: MessageSource): string {
    const inbound = message.direction === "in" ? 1 : 0;
    const body = JSON.stringify(message);
    this.rows.add(
      message.seq,
      message.id,
      // Stored only where it differs from the message's id (see rowidByPlatformId).
      source.platformId === message.id && message.kind !== "reply" ? null : source.platformId,
      message.kind,
      message.topicId,
      message.seq,
      message.timestamp,
      inbound,
      source.hash,
      source.ts,
      source.raw === null ? null : packRaw(source.raw, message),
      packBody(body, message, this.channelId),
    );
    let tally = this.topics.get(message.topicId);
    if (!tally) this.topics.set(message.topicId, (tally = new Tally()));
    const position = this.added++;
    tally.add(message, inbound, position);
    this.account.add(message, inbound, position);
    return body;
  }

  /** Writes the buffered rows and the figures they change. */
  flush(): void {
    this.rows.flush();
    // In the order of each topic's last message: should two topic ids be one row to SQLite
    // (ids that differ only in a lone surrogate), the last message still wins.
    const byLast = [...this.topics.entries()].sort((a, b) => a[1].position - b[1].position);
    for (const [topicId, tally] of byLast) {
      this.sql.exec(
        `UPDATE topics SET message_count = message_count + ?,
           unread_count = unread_count + ?,
           last_message = CASE WHEN ? >= last_message_time THEN ? ELSE last_message END,
           last_message_time = MAX(last_message_time, ?),
           sort_time = MAX(sort_time, ?)
         WHERE id = ?`,
        tally.count,
        tally.unread,
        tally.time,
        tally.text,
        tally.time,
        tally.time,
        topicId,
      );
    }
    const account = this.account;
    if (account.count) {
      this.sql.exec(
        `UPDATE account SET message_count = message_count + ?, unread_count = unread_count + ?,
           last_message = CASE WHEN ? >= last_message_time THEN ? ELSE last_message END,
           last_message_time = MAX(last_message_time, ?)
         WHERE id = 1`,
        account.count,
        account.unread,
        account.time,
        account.text,
        account.time,
      );
    }
    this.topics = new Map();
    this.account = new Tally();
  }
}
