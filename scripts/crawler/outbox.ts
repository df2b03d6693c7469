/**
 * What the simulated crawler has posted on the platform for the agents: each reply it
 * carried out shows up in its next snapshots like any other comment or DM, under the
 * platform id it reported, so the backend finds the agent's reply instead of adding a copy.
 */
import type { Command } from "../../src/contract/schemas";
import type { SimAccount, SnapshotBody } from "./world";

/** Replies kept per account; the crawler's window only ever shows the newest. */
const KEPT = 30;

type Posted = { platformId: string; command: Command; at: number };

export class Outbox {
  readonly #posted = new Map<string, Posted[]>();

  /** Records a reply as posted on the platform under `platformId`. */
  post(accountId: string, command: Command, platformId: string, at: number): void {
    const list = this.#posted.get(accountId) ?? [];
    list.push({ platformId, command, at });
    this.#posted.set(accountId, list.slice(-KEPT));
  }

  /** The snapshot with the account's posted replies in it: comments on their work, DMs in their conversation. */
  addTo(account: SimAccount, body: SnapshotBody): SnapshotBody {
    const posted = this.#posted.get(account.id);
    if (!posted?.length) return body;
    const self = { user_id: account.platformUserId, user_name: account.name, avatar: account.avatar };
    const comments = [...body.snapshot.comments];
    const messages = [...body.snapshot.messages];
    for (const { platformId, command, at } of posted) {
      const createTime = Math.floor(at / 1000);
      if (command.topicKind === "conversation") {
        messages.push({
          msg_id: platformId,
          conversation_id: command.topicId,
          content: command.content,
          msg_type: "text",
          sender: self,
          direction: "out",
          create_time: createTime,
        });
      } else {
        comments.push({
          comment_id: platformId,
          work_id: command.topicId,
          content: command.content,
          author_id: self.user_id,
          author_name: self.user_name,
          author_avatar: self.avatar,
          parent_comment_id: command.replyToId,
          create_time: createTime,
        });
      }
    }
    return { ...body, snapshot: { ...body.snapshot, comments, messages } };
  }
}
