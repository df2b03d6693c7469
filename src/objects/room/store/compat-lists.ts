/**
 * The Douyin-style lists of the compatibility API (PROTOCOL §8), read from an AccountRoom's
 * SQLite: newest first by offset, messages still here and those moved to R2 in one order (the
 * moved ones are resolved by ../history/cold-history.ts).
 */
import type { Topic, TopicKind } from "../../../contract/schemas";
import { MAX_BOUND } from "../../../lib/row-buffer";
import { bodyOf } from "./message-body";
import type { BodyRow } from "./message-body";
import { rowToTopic } from "./rows";
import type { PageEntry, TopicRow } from "./rows";

/** A page of a compatibility list: topics with their item, or messages (see `messagesByKind`). */
export type CompatRows =
  | { items: { topic: Topic; raw: Record<string, unknown> | null }[]; hasMore: boolean }
  | { entries: PageEntry[]; hasMore: boolean };

/** Which compatibility list to read, and where (PROTOCOL §8). */
export type CompatQuery =
  | { list: "conversations" | "contents"; offset: number; count: number }
  | { list: "messages"; conversationId: string; offset: number; count: number }
  | { list: "discussions" | "unified"; kinds: ("comment" | "dm")[]; offset: number; count: number };

export class CompatLists {
  constructor(
    private readonly sql: SqlStorage,
    private readonly store: { channelId(): string },
  ) {}

  /**
   * One page of a Douyin-style list of the compatibility API (PROTOCOL §8), newest first by
   * offset: topics with their item, or messages (`entries`, resolved by cold-history.ts).
   */
  page(query: CompatQuery): CompatRows {
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
  private messagesByKind(
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
    const channelId = this.store.channelId();
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
  private topicsByKind(
    kind: TopicKind,
    offset: number,
    count: number,
  ): { topics: { topic: Topic; raw: Record<string, unknown> | null }[]; hasMore: boolean } {
    const channelId = this.store.channelId();
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
}
