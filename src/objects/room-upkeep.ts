/**
 * An AccountRoom's housekeeping: its summary for the tenant's Directory, and the one alarm
 * that prunes the event log, expires QR codes and marks commands nobody took as stale.
 */
import type { Config } from "../config";
import type { CommandStore } from "./command-store";
import type { Fanout } from "./fanout";
import type { RoomStore } from "./room-store";

/** Retry delay for a summary the Directory did not take. */
const DIRECTORY_RETRY_MS = 30_000;

export class RoomUpkeep {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly config: Config,
    private readonly store: RoomStore,
    private readonly commands: CommandStore,
    private readonly fanout: Fanout,
  ) {}

  /** Tells the tenant's Directory the account's summary; retried by the alarm if it fails. */
  async sendSummary(): Promise<void> {
    const account = this.store.account();
    const summary = this.store.summary();
    if (!account || !summary) return;
    try {
      const directory = this.env.DIRECTORY.get(this.env.DIRECTORY.idFromName(account.tenant));
      await directory.updateSummary(summary);
    } catch (error) {
      console.error("directory update failed; retrying from the alarm", error);
      await this.alarmAtMost(Date.now() + DIRECTORY_RETRY_MS);
    }
  }

  /**
   * Sets the alarm for the earliest thing that needs it: a command going stale, a QR code
   * expiring, a log outgrowing its retention. Nothing pending → no alarm: an idle room
   * never wakes.
   */
  async scheduleAlarm(now: number): Promise<void> {
    const first = this.store.firstEventSeq();
    const oldest = this.store.oldestEventAt();
    const tooMany = first !== null && this.store.seq() - first + 1 > this.config.eventRetentionCount * 1.1;
    const tooOld = oldest !== null && oldest < now - this.config.eventRetentionMs;
    const deadlines = [this.commands.nextDeadline(), tooMany || tooOld ? now + 1_000 : null].filter(
      (t): t is number => t !== null,
    );
    if (deadlines.length) await this.alarmAtMost(Math.min(...deadlines));
  }

  /** Prunes, expires QR codes and stale commands, re-sends the summary; idempotent (alarms may run twice). */
  async alarm(now: number): Promise<void> {
    if (!this.store.account()) return;
    this.store.pruneEvents(now - this.config.eventRetentionMs, this.config.eventRetentionCount);
    this.fanout.broadcast(this.ctx.storage.transactionSync(() => this.commands.expire(now)));
    await this.sendSummary();
    await this.scheduleAlarm(now);
  }

  /** Moves the alarm earlier, never later: one alarm serves every deadline. */
  private async alarmAtMost(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
