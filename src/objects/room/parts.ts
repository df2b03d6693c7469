/**
 * An AccountRoom's parts, built once per object and wired to each other: its storage, the
 * commit path every change takes, delivery to its sockets, cold history, housekeeping, the
 * commands for its crawler, and who may push.
 */
import type { Config } from "../../config";
import type { Result } from "../../contract/errors";
import type { EventFrame, RoomClientFrame } from "../../contract/schemas";
import { RateLimiter } from "../../lib/rate-limiter";
import { directoryStub } from "../../stubs";
import { CommitPath } from "../commit";
import type { SocketRuntime } from "../sockets/runtime";
import { CommandDelivery } from "./commands/command-delivery";
import { CommandStore } from "./commands/command-store";
import { Fanout } from "./delivery/fanout";
import { ColdHistory } from "./history/cold-history";
import { Housekeeping } from "./housekeeping";
import { RoomStore } from "./store/room-store";
import type { AccountRow } from "./store/rows";

export type RoomParts = {
  store: RoomStore;
  commands: CommandStore;
  commit: CommitPath<EventFrame>;
  fanout: Fanout;
  cold: ColdHistory;
  housekeeping: Housekeeping;
  commandDelivery: CommandDelivery;
  crawlers: CrawlerAdmission;
};

export function roomParts(
  ctx: DurableObjectState,
  env: Env,
  config: Readonly<Config>,
  sockets: SocketRuntime<RoomClientFrame>,
): RoomParts {
  const store = new RoomStore(ctx.storage.sql);
  const commands = new CommandStore(ctx.storage.sql, store, {
    maxAttempts: config.commandMaxAttempts,
    staleAfterMs: config.commandStaleMs,
  });
  const fanout = new Fanout(
    ctx,
    store,
    (tag) => sockets.sockets(tag),
    () => void housekeeping.summarySoon(Date.now()),
  );
  const commit = new CommitPath<EventFrame>(ctx.storage, fanout);
  const cold = new ColdHistory(ctx.storage, env.ARCHIVE, store, commit);
  const housekeeping = new Housekeeping(ctx, env, config, store, commands, fanout, commit, cold, sockets.expiry);
  const commandDelivery = new CommandDelivery(commit, commands, fanout, housekeeping, cold);
  const crawlers = new CrawlerAdmission(env, config, store);
  return { store, commands, commit, fanout, cold, housekeeping, commandDelivery, crawlers };
}

/**
 * What a push and a health report both pass: the per-token limit (one bucket for both), the
 * tenant when the account exists, and the tenant's Directory when it does not yet
 * (MAX_ACCOUNTS_PER_TENANT).
 */
export class CrawlerAdmission {
  private readonly pushes: RateLimiter;

  constructor(
    private readonly env: Env,
    private readonly config: Readonly<Config>,
    private readonly store: RoomStore,
  ) {
    this.pushes = new RateLimiter(config.pushesPerMinute, 60_000);
  }

  /** When admitted, the account's row as it is now (null: none yet). */
  async admit(tenant: string, crawler: string, accountId: string): Promise<Result<AccountRow | null>> {
    const allowed = this.pushes.take(crawler);
    if (!allowed.ok) {
      const seconds = Math.ceil(allowed.retryAfterMs / 1000);
      const message = `more than ${this.config.pushesPerMinute} pushes a minute for this token; retry in ${seconds} s`;
      return { ok: false, error: { code: "rate_limited", message }, retryAfterMs: allowed.retryAfterMs };
    }
    const account = this.store.account();
    if (account && account.tenant !== tenant) {
      return {
        ok: false,
        error: { code: "forbidden", message: `account ${accountId} is not an account of tenant ${tenant}` },
      };
    }
    if (account) return { ok: true, value: account };
    const admitted = await directoryStub(this.env, tenant).admitAccount(accountId);
    // Read again: another push may have created the account while the Directory answered.
    return admitted.ok ? { ok: true, value: this.store.account() } : admitted;
  }
}
