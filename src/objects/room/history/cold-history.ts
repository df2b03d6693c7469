/**
 * Cold history: once an account's storage passes ARCHIVE_PERCENT, its oldest messages move
 * from the room's SQLite to R2 in batches, and history pages read them back from there.
 * A moved message keeps a key row (`archived`: its platform id, topic, seq, direction, kind and
 * time) so a later snapshot that still holds it finds it, and pages, the compatibility lists
 * and unread counts still count it.
 */
import { ApiError } from "../../../contract/errors";
import type { EventFrame, Message } from "../../../contract/schemas";
import type { CommitPath } from "../../commit";
import { bodyOf } from "../store/message-body";
import type { BodyRow } from "../store/message-body";
import { unpackRaw } from "../store/message-raw";
import { PLATFORM_ID } from "../push/push-items";
import type { CompatQuery } from "../store/compat-lists";
import type { RoomStore } from "../store/room-store";
import type { PageEntry } from "../store/rows";

/** Messages per R2 object: a page that reaches into cold history reads whole objects. */
export const ARCHIVE_BATCH = 1_000;
/** Batches one alarm moves at most; the alarm comes back a second later for the rest. */
const BATCHES_PER_ALARM = 20;
/** Batches kept parsed in memory: a client paging back through a topic reads each object once. */
const CACHED_BATCHES = 2;
/** After a failed move the next waits 2 s, 4 s, … up to this: an R2 outage must not wake every full room each second. */
const MAX_RETRY_MS = 10 * 60 * 1000;

/**
 * The messages that may move, in seq order (a message's rowid is its seq, or for rows written
 * before that, grows with it): older than every event still in the log, so no replay names
 * them, and no reply a command still names (its status can still change).
 */
const MOVABLE = `rowid < :below AND seq < :below
  AND id NOT IN (SELECT message_id FROM commands WHERE message_id IS NOT NULL)`;

type ColdRow = BodyRow & {
  rowid: number;
  platform_id: string | null;
  timestamp: number;
  inbound: number;
  hash: string | null;
  ts: number;
  raw: string | null;
};

/** One archived message, a line of its batch's object: the whole row, body and raw item as they were sent. */
type ColdLine = {
  seq: number;
  id: string;
  platformId: string | null;
  kind: string;
  topicId: string;
  timestamp: number;
  inbound: number;
  hash: string | null;
  ts: number;
  raw: string | null;
  body: string;
};

export class ColdHistory {
  /** Parsed batches, the most recently read last: first seq → message JSON by seq. */
  private readonly cache = new Map<number, Map<number, string>>();
  /** Moves that failed in a row (kept in memory: a restarted room simply tries again). */
  private failures = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly bucket: R2Bucket,
    private readonly store: RoomStore,
    private readonly commitPath: CommitPath<EventFrame>,
  ) {}

  /** Whether the account is past `atBytes` with a whole batch to move. */
  due(atBytes: number): boolean {
    if (this.storage.sql.databaseSize <= atBytes) return false;
    return (
      this.exec(`SELECT rowid FROM messages WHERE ${MOVABLE} ORDER BY rowid LIMIT 1 OFFSET :last`, {
        below: this.below(),
        last: ARCHIVE_BATCH - 1,
      }).length > 0
    );
  }

  /**
   * Moves the oldest messages to R2, batch by batch, while the database is past `atBytes`
   * (at most BATCHES_PER_ALARM). Returns the batches moved.
   */
  async archive(atBytes: number): Promise<number> {
    let moved = 0;
    try {
      while (moved < BATCHES_PER_ALARM && this.storage.sql.databaseSize > atBytes) {
        if (!(await this.moveBatch())) break;
        moved++;
      }
    } catch (error) {
      this.failures++;
      throw error;
    }
    this.failures = 0;
    return moved;
  }

  /** When the alarm should next try a move that is `due`: a second from now, later after failures. */
  nextAttemptAt(now: number): number {
    return now + Math.min(MAX_RETRY_MS, 1_000 * 2 ** this.failures);
  }

  /**
   * Moves the oldest ARCHIVE_BATCH movable messages, only ever that many (a page reaching back
   * reads whole objects, and a busy account would otherwise move a few messages per alarm):
   * the R2 object first (its key is its first and last seq, so writing it again replaces it
   * with the same text), then in one transaction the batch's row, the key rows and the
   * deletion. A crash anywhere leaves either the messages in SQLite (and at worst an object
   * nothing names, written again next time) or the whole move done. False when nothing moved.
   */
  async moveBatch(): Promise<boolean> {
    const below = this.below();
    const rows = this.exec<ColdRow>(`SELECT rowid, * FROM messages WHERE ${MOVABLE} ORDER BY rowid LIMIT :limit`, {
      below,
      limit: ARCHIVE_BATCH,
    });
    if (rows.length < ARCHIVE_BATCH) return false;
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    await this.bucket.put(this.objectKey(first.seq, last.seq), this.batchText(rows), {
      httpMetadata: { contentType: "application/x-ndjson" },
    });
    return this.commitPath.apply(() => ({ events: [], moved: this.commit(rows, below) })).moved;
  }

  /**
   * Records a written batch and deletes its rows, unless a row changed while the object was
   * written (a push edited a comment): then nothing is committed and the next run writes it again.
   */
  private commit(rows: ColdRow[], below: number): boolean {
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const range = `rowid BETWEEN :first AND :last AND ${MOVABLE}`;
    const bind = { first: first.rowid, last: last.rowid, below };
    const now = this.exec<ColdRow>(`SELECT rowid, * FROM messages WHERE ${range} ORDER BY rowid`, bind);
    if (JSON.stringify(now) !== JSON.stringify(rows)) return false;
    this.storage.sql.exec(
      "INSERT INTO archive_batches (first_seq, last_seq, count) VALUES (?, ?, ?)",
      first.seq,
      last.seq,
      rows.length,
    );
    this.exec(
      `INSERT INTO archived (seq, batch, platform_id, kind, topic_id, inbound, timestamp)
       SELECT seq, :batch, ${PLATFORM_ID}, kind, topic_id, inbound, timestamp FROM messages WHERE ${range}`,
      { ...bind, batch: first.seq },
    );
    this.exec(`DELETE FROM messages WHERE ${range}`, bind);
    return true;
  }

  /** A history page with its archived messages read from R2 (see `RoomStore.messagePage`). */
  async messages(topicId: string, before: number | undefined, limit: number) {
    const page = this.store.messagePage(topicId, before, limit);
    return { messages: await this.resolve(page.entries), hasMore: page.hasMore };
  }

  /** A page of the compatibility API (PROTOCOL §8), its archived messages read from R2. */
  async compatPage(query: CompatQuery): Promise<{ items: unknown[]; hasMore: boolean }> {
    const page = this.store.compat.page(query);
    if ("items" in page) return page;
    return { items: await this.resolve(page.entries), hasMore: page.hasMore };
  }

  /**
   * The archived comment or DM `id` of topic `topicId`, read from R2, or null when it is not
   * archived. A crawler's message's id is its platform id, which its key row holds.
   */
  async archivedMessage(id: string, topicId: string): Promise<Message | null> {
    const key = this.storage.sql
      .exec<{ seq: number; batch: number }>(
        "SELECT seq, batch FROM archived WHERE platform_id = ? AND topic_id = ? AND kind <> 'reply'",
        id,
        topicId,
      )
      .toArray()[0];
    return key ? (await this.resolve([key]))[0]! : null;
  }

  /** The messages of a page, in its order: archived ones from their batches, each batch read once. */
  private async resolve(entries: PageEntry[]): Promise<Message[]> {
    const batches = new Map<number, Map<number, string>>();
    for (const entry of entries) {
      if ("batch" in entry && !batches.has(entry.batch)) batches.set(entry.batch, new Map());
    }
    await Promise.all([...batches.keys()].map(async (batch) => batches.set(batch, await this.batch(batch))));
    return entries.map((entry) => {
      const body = "body" in entry ? entry.body : batches.get(entry.batch)!.get(entry.seq);
      if (body === undefined) throw new ApiError("internal", `archived message ${entry.seq} is missing from its batch`);
      return JSON.parse(body) as Message;
    });
  }

  /** The messages of the batch that starts at `first`, by seq. */
  private async batch(first: number): Promise<Map<number, string>> {
    const cached = this.cache.get(first);
    if (cached) {
      this.cache.delete(first);
      this.cache.set(first, cached);
      return cached;
    }
    const row = this.storage.sql
      .exec<{ last_seq: number }>("SELECT last_seq FROM archive_batches WHERE first_seq = ?", first)
      .toArray()[0];
    const object = row && (await this.bucket.get(this.objectKey(first, row.last_seq)));
    if (!object) throw new ApiError("internal", `archived history batch ${first} is missing from R2`);
    const bodies = new Map<number, string>();
    for (const line of (await object.text()).split("\n")) {
      const cold = JSON.parse(line) as ColdLine;
      bodies.set(cold.seq, cold.body);
    }
    this.cache.set(first, bodies);
    if (this.cache.size > CACHED_BATCHES) this.cache.delete(this.cache.keys().next().value!);
    return bodies;
  }

  /** `<tenant>/<accountId>/<firstSeq>-<lastSeq>`: one account's objects share a prefix. */
  private objectKey(first: number, last: number): string {
    const account = this.store.account()!;
    return `${account.tenant}/${account.account_id}/${first}-${last}`;
  }

  private batchText(rows: ColdRow[]): string {
    const channelId = this.store.channelId();
    return rows
      .map(function coldLine(row): string {
        const body = bodyOf(row, channelId);
        const line: ColdLine = {
          seq: row.seq,
          id: row.id,
          platformId: row.platform_id,
          kind: row.kind,
          topicId: row.topic_id,
          timestamp: row.timestamp,
          inbound: row.inbound,
          hash: row.hash,
          ts: row.ts,
          raw: unpackRaw(row.raw, JSON.parse(body) as Message),
          body,
        };
        return JSON.stringify(line);
      })
      .join("\n");
  }

  /** Messages below this seq are older than the event log (all of them when it is empty). */
  private below(): number {
    return this.store.log.firstEventSeq() ?? this.store.seq() + 1;
  }

  /** Runs a statement with named parameters (`:name`), which SQLite binds by position here. */
  private exec<T extends Record<string, SqlStorageValue>>(query: string, params: Record<string, number>): T[] {
    const names: string[] = [];
    const positional = query.replace(/:([a-z]+)/g, (_, name: string) => {
      names.push(name);
      return "?";
    });
    return this.storage.sql.exec<T>(positional, ...names.map((name) => params[name]!)).toArray();
  }
}
