/**
 * Which accounts a Directory socket may see. A token without an `accounts` claim sees every
 * channel, and its sockets are found by tag without any lookup; a restricted token's accounts
 * can be 200 ids, more than a socket's attachment holds, so they are rows of `socket_accounts`
 * under the socket's id.
 */
import { attachmentOf } from "../sockets/socket";
import type { Attachment } from "../sockets/socket";

/** Socket tags: tokens without an `accounts` claim see every channel; the others are filtered. */
export const UNRESTRICTED = "all-accounts";
export const RESTRICTED = "some-accounts";

/** Sweep the rows of vanished sockets once they outnumber the live restricted sockets by this much. */
const SWEEP_SLACK = 16;
/** Accepts between two looks at whether to sweep: a look reads every restricted socket. */
const SWEEP_LOOK_EVERY = 64;

export class SocketScopes {
  /** Accepts of restricted sockets since the last look at the sweep; the first accept after a wake looks. */
  #acceptsSinceLook = SWEEP_LOOK_EVERY;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sql: SqlStorage,
  ) {}

  /** The tag of a socket of a token with (or without) an `accounts` claim. */
  static tag(accounts: string[] | undefined): string {
    return accounts ? RESTRICTED : UNRESTRICTED;
  }

  save(socketId: string, accounts: string[]): void {
    for (const account of new Set(accounts)) {
      this.sql.exec("INSERT INTO socket_accounts (account, socket) VALUES (?, ?)", account, socketId);
    }
    this.sweep();
  }

  /** The accounts a socket may see, or undefined when its token may see every account. */
  of(ws: WebSocket): ReadonlySet<string> | undefined {
    if (!this.ctx.getTags(ws).includes(RESTRICTED)) return undefined;
    const rows = this.sql
      .exec<{ account: string }>("SELECT account FROM socket_accounts WHERE socket = ?", attachmentOf(ws).id)
      .toArray();
    return new Set(rows.map((row) => row.account));
  }

  /** The ids of the restricted sockets that may see `account`. */
  allowed(account: string): ReadonlySet<string> {
    const rows = this.sql
      .exec<{ socket: string }>("SELECT socket FROM socket_accounts WHERE account = ?", account)
      .toArray();
    return new Set(rows.map((row) => row.socket));
  }

  forget(attachment: Attachment): void {
    this.sql.exec("DELETE FROM socket_accounts WHERE socket = ?", attachment.id);
  }

  /**
   * Removes the rows of sockets that went away without a close, once there are clearly more
   * of them than live restricted sockets. Looking reads every restricted socket, so it is done
   * once every SWEEP_LOOK_EVERY accepts, not on each: a herd of N restricted sockets would
   * otherwise cost N².
   */
  private sweep(): void {
    if (++this.#acceptsSinceLook < SWEEP_LOOK_EVERY) return;
    this.#acceptsSinceLook = 0;
    const live = this.ctx.getWebSockets(RESTRICTED).map((ws) => attachmentOf(ws).id);
    const stored = this.sql.exec<{ n: number }>("SELECT COUNT(DISTINCT socket) AS n FROM socket_accounts").one().n;
    if (stored <= 2 * live.length + SWEEP_SLACK) return;
    this.sql.exec(
      "DELETE FROM socket_accounts WHERE socket NOT IN (SELECT value FROM json_each(?))",
      JSON.stringify(live),
    );
  }
}
