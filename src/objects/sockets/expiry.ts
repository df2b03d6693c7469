/**
 * No frame goes to a socket whose token has expired (SECURITY.md, "Token expiry"). A client's
 * own frames are checked as they arrive (socket.ts, `readFrame`); this is the other half:
 * before anything fans out, the sockets whose token expired are closed with 4001, and an
 * alarm at the minute after the earliest expiry closes them when nothing fans out, even
 * when they only ping (the runtime answers those without waking the object).
 *
 * The earliest expiry is read from the sockets' attachments once per wake and kept since, so
 * a fan-out pays one comparison for it, not one attachment read per socket.
 */
import { CLOSE_CODES } from "../../contract/wire";
import { attachmentOf } from "./socket";

/** Expired sockets are closed at the latest this long after their token's `exp`. */
export const EXPIRY_GRANULARITY_MS = 60_000;

const EXPIRED_REASON = "token has expired; reconnect with a fresh token";

export class SocketExpiry {
  /** The earliest `exp` (ms) of an open socket not yet closed for it; null: none; undefined: not read since the wake. */
  #earliest: number | null | undefined;

  constructor(private readonly ctx: DurableObjectState) {}

  /** The earliest expiry of a socket still open, read once per wake. */
  private earliest(now: number): number | null {
    if (this.#earliest === undefined) this.sweep(now);
    return this.#earliest!;
  }

  /**
   * A socket was accepted with a token expiring at `expMs`. True when that is now the earliest
   * expiry: the caller moves its alarm to `alarmAt()`.
   */
  opened(expMs: number, now: number): boolean {
    const earliest = this.earliest(now);
    if (earliest !== null && earliest <= expMs) return false;
    this.#earliest = expMs;
    return true;
  }

  /** Closes the expired sockets if any token has expired by `now`; called before every fan-out. */
  due(now: number): void {
    const earliest = this.earliest(now);
    if (earliest !== null && earliest <= now) this.sweep(now);
  }

  /**
   * When the object's alarm must fire to close the next expired socket: the minute boundary
   * after the earliest expiry, so sockets expiring in the same minute share one alarm.
   */
  alarmAt(now: number): number | null {
    const earliest = this.earliest(now);
    return earliest === null ? null : Math.ceil((earliest + 1) / EXPIRY_GRANULARITY_MS) * EXPIRY_GRANULARITY_MS;
  }

  /**
   * Closes every open socket whose token expired by `now` with 4001 and keeps the earliest
   * expiry of the rest. The close handler the runtime calls afterwards cleans up as for any
   * close. A socket closed already but not yet gone (its client has not answered the close)
   * is not counted again, so the alarm never fires for it twice.
   */
  sweep(now: number): number {
    let earliest: number | null = null;
    let closed = 0;
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const expMs = attachmentOf(ws).exp * 1000;
      if (expMs > now) {
        if (earliest === null || expMs < earliest) earliest = expMs;
        continue;
      }
      try {
        ws.close(CLOSE_CODES.tokenExpired, EXPIRED_REASON);
        closed++;
      } catch {
        // Closed between the list and the close.
      }
    }
    this.#earliest = earliest;
    return closed;
  }
}
