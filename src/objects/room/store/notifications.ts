/** An AccountRoom's notification history (PROTOCOL §11): pages of it, and when each was first acknowledged. */
import type { Notification, StoredNotification } from "../../../contract/schemas";

export class NotificationHistory {
  constructor(private readonly sql: SqlStorage) {}

  private seqOf(notificationId: string): number | null {
    return (
      this.sql.exec<{ seq: number }>("SELECT seq FROM notifications WHERE id = ?", notificationId).toArray()[0]?.seq ??
      null
    );
  }

  /**
   * A client acknowledged a notification: the first acknowledgement is when it was sent (the
   * seed's `sent_at`); later ones keep it. Null when there is no such notification.
   */
  markSent(notificationId: string, now: number): number | null {
    const seq = this.seqOf(notificationId);
    if (seq !== null) {
      this.sql.exec("UPDATE notifications SET sent_at = ? WHERE id = ? AND sent_at IS NULL", now, notificationId);
    }
    return seq;
  }

  /** A page of the account's notifications, newest first, strictly before `before` (a seq). */
  page(before: number | undefined, limit: number): { notifications: StoredNotification[]; hasMore: boolean } {
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
