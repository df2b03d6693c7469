/**
 * How an AccountRoom hands agents' replies and admins' logins to its crawler (PROTOCOL §7):
 * stored as commands in one transaction, announced to readers, offered on the crawler's
 * socket, and marked taken once delivered.
 */
import type { Command, EventFrame, Message } from "../../../contract/schemas";
import type { CommitPath } from "../../commit";
import type { ColdHistory } from "../history/cold-history";
import type { CommandStore, ReplyInput } from "./command-store";
import type { Fanout } from "../delivery/fanout";
import type { Housekeeping } from "../housekeeping";

export type ReplyAnswer = { message: Message; created: boolean };

export class CommandDelivery {
  constructor(
    private readonly commit: CommitPath<EventFrame>,
    private readonly commands: CommandStore,
    private readonly fanout: Fanout,
    private readonly housekeeping: Housekeeping,
    private readonly cold: ColdHistory,
  ) {}

  /**
   * Stores a reply and its command; a new one goes out to everyone and to the crawler. A reply
   * to a message moved to R2 reads that message first (the transaction cannot wait for R2).
   */
  async reply(input: ReplyInput, agent: string): Promise<ReplyAnswer> {
    const archived =
      input.replyToId === undefined ? null : await this.cold.archivedMessage(input.replyToId, input.topicId);
    const outcome = await this.commit.run(
      () => this.commands.reply(input, agent, Date.now(), archived),
      async ({ created, command }) => {
        if (!created) return;
        this.offer(command);
        await this.housekeeping.sendSummary();
        await this.housekeeping.scheduleAlarm(Date.now());
      },
    );
    return { message: outcome.message, created: outcome.created };
  }

  /** Starts a QR login, or gives back the one under way. */
  async login(): Promise<Command> {
    const outcome = await this.commit.run(
      () => this.commands.login(Date.now()),
      async ({ created, command }) => {
        if (!created) return;
        this.offer(command);
        await this.housekeeping.scheduleAlarm(Date.now());
      },
    );
    return outcome.command;
  }

  /** Sends a command to the crawler sockets, if any; delivered, it counts as taken. */
  offer(command: Command): void {
    if (this.fanout.toCrawlers([{ type: "command:new", payload: { command } }])) this.take([command]);
  }

  /** Records that the crawler has these commands; a stale reply taken now is pending again. */
  take(commands: Command[]): void {
    if (!commands.length) return;
    const ids = commands.map((c) => c.id);
    this.commit.apply(() => ({ events: this.commands.take(ids, Date.now()) }));
  }
}
