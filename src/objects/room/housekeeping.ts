/**
 * An AccountRoom's housekeeping: its summary for the tenant's Directory, and the one alarm
 * that prunes the event log, expires QR codes, marks commands nobody took as stale and
 * announces the crawler's health transitions (online → late → offline).
 */
import type { Config } from "../../config";
import type { EventFrame } from "../../contract/schemas";
import type { CommitPath } from "../commit";
import { OBJECT_STORAGE_BYTES, crawlerState, nextTransition } from "../../health";
import type { ColdHistory } from "./history/cold-history";
import type { CommandStore } from "./commands/command-store";
import type { Fanout } from "./delivery/fanout";
import type { RoomStore } from "./store/room-store";
import type { SocketExpiry } from "../sockets/expiry";

/** Retry delay for a summary the Directory did not take. */
const DIRECTORY_RETRY_MS = 30_000;
/** How soon a change of who is online reaches the Directory's statistics. */
const PRESENCE_SUMMARY_MS = 2_000;

export class Housekeeping {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly config: Config,
    private readonly store: RoomStore,
    private readonly commands: CommandStore,
    private readonly fanout: Fanout,
    private readonly commit: CommitPath<EventFrame>,
    private readonly cold: ColdHistory,
    private readonly expiry: SocketExpiry,
  ) {}

  /** The database size past which the oldest messages move to R2 (ARCHIVE_PERCENT). */
  private archiveAtBytes(): number {
    return (OBJECT_STORAGE_BYTES * this.config.archivePercent) / 100;
  }

  /** Tells the tenant's Directory the account's summary; retried by the alarm if it fails. */
  async sendSummary(): Promise<void> {
    const account = this.store.account();
    const summary = this.store.summary(account);
    if (!account || !summary) return;
    this.fanout.rememberOnline();
    const clients = this.fanout.online().online.map((client) => client.clientId);
    const figures = { ...this.store.figures(account.pushes_reported), clients };
    try {
      const directory = this.env.DIRECTORY.get(this.env.DIRECTORY.idFromName(account.tenant));
      await directory.updateSummary({ ...summary, figures });
      if (account.summary_retry_at !== null) this.store.summaryRetry(null);
      const newest = figures.pushMinutes.at(-1)?.[0];
      if (newest !== undefined && newest !== account.pushes_reported) this.store.pushesReported(newest);
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
   * Sets the alarm to exactly the earliest thing that needs it: a command going stale, a QR
   * code expiring, a log outgrowing its retention, the crawler's next health transition, a
   * summary to send again, cold history to move, a socket's token expiring. Every deadline but
   * the last is read from storage (that one from the sockets, once per wake); no deadline, no
   * alarm: an idle room wakes once per transition and never once its crawler is offline and
   * its sockets are gone.
   */
  async scheduleAlarm(now: number): Promise<void> {
    const at = this.nextDeadline(now);
    if (at === null) {
      if ((await this.ctx.storage.getAlarm()) !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    if ((await this.ctx.storage.getAlarm()) !== at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * `scheduleAlarm` after a push or a health report, which move the crawler's health deadline
   * later: the alarm is only ever moved earlier here. Setting it is a storage write of its own
   * that every push would pay; an alarm left early fires, finds nothing due and sets itself
   * to the later deadline (`alarm`), once per two intervals of a crawler that keeps pushing.
   */
  private async scheduleAlarmAfterSignOfLife(now: number): Promise<void> {
    const at = this.nextDeadline(now);
    if (at !== null) await this.alarmAtMost(at);
  }

  /** What follows a push or a health report: the summary to the Directory, then the alarm. */
  async afterSignOfLife(now: number): Promise<void> {
    await this.sendSummary();
    await this.scheduleAlarmAfterSignOfLife(now);
  }

  /** Runs after every push: the account row and the log's first event are each read once. */
  private nextDeadline(now: number): number | null {
    const account = this.store.account();
    const oldest = this.store.log.oldestEvent();
    const tooMany = oldest !== null && (account?.seq ?? 0) - oldest.seq + 1 > this.config.eventRetentionCount * 1.1;
    const tooOld = oldest !== null && oldest.at < now - this.config.eventRetentionMs;
    const deadlines = [
      this.commands.nextDeadline(),
      tooMany || tooOld ? now + 1_000 : null,
      account ? nextTransition(account.last_seen_at, account.interval_ms, now) : null,
      account?.summary_retry_at ?? null,
      this.cold.due(this.archiveAtBytes()) ? this.cold.nextAttemptAt(now) : null,
      this.expiry.alarmAt(now),
    ].filter((t): t is number => t !== null);
    return deadlines.length ? Math.min(...deadlines) : null;
  }

  /**
   * Closes the sockets whose token expired, prunes, moves cold history to R2 past
   * ARCHIVE_PERCENT, expires QR codes and stale commands, re-sends the summary when
   * something in it may have changed (the Directory derives the crawler's new state from it
   * and announces it), and sets the alarm for what
   * is next; idempotent (alarms may run twice). An alarm a push left early does only the last.
   */
  async alarm(now: number): Promise<void> {
    this.expiry.sweep(now);
    const account = this.store.account();
    if (!account) return;
    this.store.log.pruneEvents(now - this.config.eventRetentionMs, this.config.eventRetentionCount);
    // R2 failing must not stop the rest of the housekeeping; a later alarm tries again, backing off.
    const moved = await this.cold.archive(this.archiveAtBytes()).catch((error: unknown) => {
      console.error("moving cold history to R2 failed; retrying from the alarm", error);
      return 0;
    });
    const { events: expired } = this.commit.apply(() => ({ events: this.commands.expire(now) }));
    // A summary waiting (to be sent again, or who is online) goes now. An online crawler has had
    // no transition since the push or report that last sent it.
    const waiting = account.summary_retry_at !== null;
    const transition = crawlerState(account.last_seen_at, account.interval_ms, now) !== "online";
    if (waiting || transition || moved > 0 || expired.length > 0) await this.sendSummary();
    await this.scheduleAlarm(now);
  }

  /** Moves the alarm earlier, never later: one alarm serves every deadline. */
  async alarmAtMost(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
