/**
 * Who is registered in an AccountRoom (PROTOCOL §11), kept in memory so a register or a close
 * costs the same with 10 sockets open as with 10,000. Reading it from every socket's attachment
 * on each of them made a reconnect herd of N clients cost N² attachment reads; now the
 * sockets are read once per wake (the object may have hibernated, its memory gone), and the
 * online list is rebuilt only when who is in it changed.
 */
import type { OnlineClient } from "../../../contract/schemas";
import { attachmentOf } from "../../sockets/socket";
import type { Attachment } from "../../sockets/socket";

/** `online` lists at most this many clients; `onlineTotal` counts them all (PROTOCOL §11). */
export const MAX_ONLINE_LISTED = 1_000;

export type OnlineList = { online: OnlineClient[]; onlineTotal: number };

type Client = { userId: string; sockets: Map<string, WebSocket> };

export class ClientRegistry {
  #clients: Map<string, Client> | null = null;
  #everyone: OnlineClient[] | null = null;
  #list: OnlineList | null = null;

  /**
   * @param readers the room's reader sockets, read once per wake
   * @param expected clients listed as online without a socket (expected-clients.ts), clientId → userId
   */
  constructor(
    private readonly readers: () => WebSocket[],
    private readonly expected: () => ReadonlyMap<string, string>,
  ) {}

  /**
   * A socket registered as `attachment.clientId` (after its attachment was updated); true when
   * it is the client's first open socket. `previous` is the id the socket was registered
   * under before, if it registers again under another.
   */
  add(ws: WebSocket, attachment: Attachment, previous?: string): boolean {
    const clients = this.clients();
    if (previous !== undefined && previous !== attachment.clientId) this.remove({ ...attachment, clientId: previous });
    const clientId = attachment.clientId!;
    const client = clients.get(clientId);
    if (client && this.prune(clientId, client)) {
      client.sockets.set(attachment.id, ws);
      return false;
    }
    clients.set(clientId, { userId: attachment.sub, sockets: new Map([[attachment.id, ws]]) });
    // A client expected back is listed already: its return changes nothing in the list.
    if (this.expected().get(clientId) !== attachment.sub) this.changed();
    return true;
  }

  /** A registered socket went away; true when it was its client's last open one. */
  remove(attachment: Attachment): boolean {
    if (!attachment.registered || !attachment.clientId) return false;
    const client = this.clients().get(attachment.clientId);
    if (!client?.sockets.delete(attachment.id)) return false;
    return !this.prune(attachment.clientId, client);
  }

  /** clientId → userId of the clients with an open registered socket. */
  registered(): Map<string, string> {
    const byClient = new Map<string, string>();
    for (const [clientId, client] of this.clients()) {
      if (this.prune(clientId, client)) byClient.set(clientId, client.userId);
    }
    return byClient;
  }

  /**
   * Every client online, ordered by `clientId`, the clients expected back included; computed
   * again only after a change. Call `changed()` when the expected clients changed otherwise
   * than by registering.
   */
  everyone(): OnlineClient[] {
    if (this.#everyone) return this.#everyone;
    const byClient = this.registered();
    for (const [clientId, userId] of this.expected()) if (!byClient.has(clientId)) byClient.set(clientId, userId);
    this.#everyone = [...byClient.keys()].sort().map((clientId) => ({ clientId, userId: byClient.get(clientId)! }));
    return this.#everyone;
  }

  /** The online list of PROTOCOL §11: `everyone()`, at most MAX_ONLINE_LISTED of them, and how many in all. */
  list(): OnlineList {
    const everyone = this.everyone();
    this.#list ??= { online: everyone.slice(0, MAX_ONLINE_LISTED), onlineTotal: everyone.length };
    return this.#list;
  }

  /** Something the list depends on besides the registrations changed. */
  changed(): void {
    this.#everyone = null;
    this.#list = null;
  }

  /**
   * Drops a client's sockets that are no longer open (a close the room was not told of) and
   * the client with the last of them; true when it still has one.
   */
  private prune(clientId: string, client: Client): boolean {
    for (const [id, ws] of client.sockets) if (ws.readyState !== WebSocket.OPEN) client.sockets.delete(id);
    if (client.sockets.size) return true;
    this.#clients!.delete(clientId);
    this.changed();
    return false;
  }

  private clients(): Map<string, Client> {
    if (this.#clients) return this.#clients;
    this.#clients = new Map();
    for (const ws of this.readers()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const { id, clientId, registered, sub } = attachmentOf(ws);
      if (!registered || !clientId) continue;
      const client = this.#clients.get(clientId) ?? { userId: sub, sockets: new Map<string, WebSocket>() };
      client.sockets.set(id, ws);
      this.#clients.set(clientId, client);
    }
    return this.#clients;
  }
}
