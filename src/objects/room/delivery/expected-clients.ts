/**
 * Presence across a restart (PROTOCOL §11). A deploy or crash drops every socket of a room at
 * once; when the clients come back, announcing each of them to every other reader would send
 * N² `status_change` frames for nobody's benefit: they were online before and are again. So
 * the room keeps who is online in its storage (written with the Directory summary, at most
 * every couple of seconds), and a room that starts with some of them not connected expects
 * them back for EXPECTED_BACK_MS: listed as online meanwhile, not announced when they register, and
 * announced `offline` only if they have not returned by then.
 */
import type { OnlineClient } from "../../../contract/schemas";

/**
 * How long a restarted room waits for its clients before it says they left: about a
 * heartbeat interval. A client's own backoff brings it back within seconds, but a machine
 * busy with a whole herd can take several times that (docs/BENCHMARKS.md, restart).
 */
export const EXPECTED_BACK_MS = 30_000;

const KEY = "presence:online";

export class ExpectedClients {
  /** clientId → userId of the clients expected back. */
  readonly #expected = new Map<string, string>();
  #saved = "";

  /**
   * @param registered the clients registered on the sockets the room holds as it starts
   * @param gone called once when the wait ends, with the clients that did not come back
   */
  constructor(
    private readonly storage: DurableObjectStorage,
    registered: Map<string, string>,
    gone: (clients: OnlineClient[]) => void,
  ) {
    const before = storage.kv.get<OnlineClient[]>(KEY) ?? [];
    this.#saved = keyOf(before);
    for (const { clientId, userId } of before) if (!registered.has(clientId)) this.#expected.set(clientId, userId);
    if (!this.#expected.size) return;
    setTimeout(() => {
      const missing = [...this.#expected].map(([clientId, userId]) => ({ clientId, userId }));
      this.#expected.clear();
      if (missing.length) gone(missing);
    }, EXPECTED_BACK_MS);
  }

  /** The clients expected back and not yet returned, clientId → userId. */
  get expected(): ReadonlyMap<string, string> {
    return this.#expected;
  }

  /** A client registered: true when it was expected back, so the others already list it. */
  returned(clientId: string): boolean {
    return this.#expected.delete(clientId);
  }

  /** A client's last socket closed: it is no longer expected, whatever happens next. */
  forget(clientId: string): void {
    this.#expected.delete(clientId);
  }

  /** Stores who is online now, when it changed since the last time. */
  save(online: OnlineClient[]): void {
    const key = keyOf(online);
    if (key === this.#saved) return;
    this.storage.kv.put(KEY, online);
    this.#saved = key;
  }
}

function keyOf(clients: OnlineClient[]): string {
  return clients.map((client) => `${client.clientId}\u0000${client.userId}`).join("\u0001");
}
