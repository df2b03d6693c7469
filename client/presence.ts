/**
 * Who is online in each account (PROTOCOL §11), kept live: the room's list arrives with
 * `monitor:registered` (after every (re)connect) and `monitor:presence`, and every
 * `status_change` after it moves one client in or out.
 */
import type { OnlineClient } from "../src/contract/wire";
import type { IncomingFrame } from "./requests";
import type { PresenceListEvent } from "./types";

type Room = { clients: Map<string, string>; total: number };

/**
 * @example
 * const lists = new PresenceLists();
 * const changed = lists.apply("douyin-1", frame); // a PresenceListEvent, or null
 */
export class PresenceLists {
  #rooms = new Map<string, Room>();

  /** The account's list as last known, or undefined before its room answered. */
  get(accountId: string): PresenceListEvent | undefined {
    const room = this.#rooms.get(accountId);
    return room ? toEvent(accountId, room) : undefined;
  }

  /** Every account's list as last known. */
  all(): PresenceListEvent[] {
    return [...this.#rooms].map(([accountId, room]) => toEvent(accountId, room));
  }

  /** Takes a frame of the account's socket; returns the new list when the frame changed it. */
  apply(accountId: string, frame: IncomingFrame): PresenceListEvent | null {
    const payload = (frame.payload ?? {}) as Record<string, unknown>;
    if (frame.type === "monitor:registered" || frame.type === "monitor:presence") {
      if (!Array.isArray(payload.online)) return null;
      const clients = new Map((payload.online as OnlineClient[]).map((c) => [c.clientId, c.userId]));
      const total = typeof payload.onlineTotal === "number" ? payload.onlineTotal : clients.size;
      const room = { clients, total: Math.max(total, clients.size) };
      this.#rooms.set(accountId, room);
      return toEvent(accountId, room);
    }
    const room = this.#rooms.get(accountId);
    if (frame.type !== "status_change" || !room || typeof payload.clientId !== "string") return null;
    const known = room.clients.has(payload.clientId);
    if (payload.status === "online" && !known) {
      room.clients.set(payload.clientId, String(payload.userId ?? ""));
      room.total++;
    } else if (payload.status === "offline" && (known || room.total > room.clients.size)) {
      // A client past the room's 1,000-entry list is not in `clients` but is in the total.
      room.clients.delete(payload.clientId);
      room.total--;
    } else {
      return null;
    }
    return toEvent(accountId, room);
  }

  /** The account's socket is gone for good (`closeAccount`, `disconnect`). */
  forget(accountId?: string): void {
    if (accountId === undefined) this.#rooms.clear();
    else this.#rooms.delete(accountId);
  }
}

function toEvent(accountId: string, room: Room): PresenceListEvent {
  const online = [...room.clients].map(([clientId, userId]) => ({ clientId, userId }));
  return { accountId, online, onlineTotal: room.total };
}
