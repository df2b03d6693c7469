/**
 * An AccountRoom's housekeeping: its summary for the tenant's Directory, and the one alarm
 * that prunes the event log, expires QR codes, marks commands nobody took as stale and
 * announces the crawler's health transitions (online → late → offline).
 */
import type { Config } from "../config";
import { OBJECT_STORAGE_BYTES } from "../health";
import type { ColdHistory } from "./cold-history";
import type { CommandStore } from "./command-store";
import type { Fanout } from "./fanout";
import type { RoomStore } from "./room-store";

/** Retry delay for a summary the Directory did not take. */
const DIRECTORY_RETRY_MS = 30_000;
/** How soon a change of who is online reaches the Directory's statistics. */
const PRESENCE_SUMMARY_MS = 2_000;

export class RoomUpkeep {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly config: Config,
    private readonly store: RoomStore,
    private readonly commands: CommandStore,
    private readonly fanout: Fanout,
    private readonly cold: ColdHistory,
  ) {}

  /** The database size past which the oldest messages move to R2 (ARCHIVE_PERCENT). */
  private archiveAtBytes(): number {
    return (OBJECT_STORAGE_BYTES * this.config.archivePercent) / 100;
  }

  /** Tells the tenant's Directory the account's summary; retried by the alarm if it fails. */
  async sendSummary(): Promise<void> {
    const account = this.store.account();
    const summary = this.store.summary();
    if (!account || !summary) return;
    this.fanout.rememberOnline();
    const clients = this.fanout.online().online.map((client) => client.clientId);
    try {
      const directory = this.env.DIRECTORY.get(this.env.DIRECTORY.idFromName(account.tenant));
      await directory.updateSummary({ ...summary, figures: { ...this.store.figures(), clients } });
      if (account.summary_retry_at !== null) this.store.summaryRetry(null);
    } catch (error) {
      console.error("directory update failed; retrying from the alarm", error);
      const at = Date.now() + DIRECTORY_RETRY_MS;
      this.store.summaryRetry(at);
      await this.alarmAtMost(at);
    }
  }

  /**
   * Who is online changed: the summary goes out within PRESENCE_SUMMARY_MS, from the alarm,
   * so a storm of reconnects costs the Directory one call per room, not one per socket.
   */
  async summarySoon(now: number): Promise<void> {
    const due = this.store.account()?.summary_retry_at ?? null;
    if (due !== null && due <= now + PRESENCE_SUMMARY_MS) return;
    const at = now + PRESENCE_SUMMARY_MS;
    this.store.summaryRetry(at);
    await this.alarmAtMost(at);
  }

  /**
   * Sets the alarm for the earliest thing that needs it: a command going stale, a QR code
   * expiring, a log outgrowing its retention, the crawler's next health transition, a summary
   * to send again, cold history to move. Every deadline is read from storage, so the alarm is set to exactly the
   * earliest (later too, when a push moved the health transition on): an idle room wakes
   * once per transition and never once its crawler is offline.
   */
  async scheduleAlarm(now: number): Promise<void> {
    const first = this.store.firstEventSeq();
    const oldest = this.store.oldestEventAt();
    const tooMany = first !== null && this.store.seq() - first + 1 > this.config.eventRetentionCount * 1.1;
    const tooOld = oldest !== null && oldest < now - this.config.eventRetentionMs;
    const deadlines = [
      this.commands.nextDeadline(),
      tooMany || tooOld ? now + 1_000 : null,
      this.store.healthDeadline(now),
      this.store.account()?.summary_retry_at ?? null,
      this.cold.due(this.archiveAtBytes()) ? this.cold.nextAttemptAt(now) : null,
    ].filter((t): t is number => t !== null);
    const current = await this.ctx.storage.getAlarm();
    if (!deadlines.length) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    const at = Math.min(...deadlines);
    if (current !== at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * Prunes, moves cold history to R2 past ARCHIVE_PERCENT, expires QR codes and stale
   * commands, re-sends the summary (the Directory derives
   * the crawler's new state from it and announces it); idempotent (alarms may run twice).
   */
  async alarm(now: number): Promise<void> {
    if (!this.store.account()) return;
    this.store.pruneEvents(now - this.config.eventRetentionMs, this.config.eventRetentionCount);
    // R2 failing must not stop the rest of the upkeep; a later alarm tries again, backing off.
    await this.cold.archive(this.archiveAtBytes()).catch((error: unknown) => {
      console.error("moving cold history to R2 failed; retrying from the alarm", error);
    });
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
