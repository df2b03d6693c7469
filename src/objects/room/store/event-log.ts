/**
 * An AccountRoom's event log as replays read it (PROTOCOL §6.2): pages of the stored frames
 * after a `seq`, byte for byte what went out live; pruning past the retention; and each
 * client's cursor in it. Events are appended by RoomStore.emit, inside a change's transaction.
 */
import { storedMessageFrame } from "../events";
import { bodyOf } from "./message-body";
import type { BodyRow } from "./message-body";

export class EventLog {
  constructor(
    private readonly sql: SqlStorage,
    private readonly store: { seq(): number; channelId(): string },
  ) {}

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
    const channelId = this.store.channelId();
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
    const seq = this.store.seq();
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
    const value = Math.min(seq, this.store.seq());
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
}
