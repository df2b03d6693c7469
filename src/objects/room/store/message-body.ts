/**
 * A message's body (`messages.body`, the Message as JSON) stored without its head: id, channel,
 * topic, seq and kind open every body and are already the row's columns and the room's account,
 * so the row keeps the rest, which starts with `,`. A body whose head cannot be rebuilt exactly
 * (an id SQLite cannot hold as it was, a head in another order) is stored whole, starting with
 * `{`. Every read goes through `bodyOf`, which gives back the very text that was stored.
 */
import type { Message } from "../../../contract/schemas";

/** The columns a body's head is rebuilt from. */
export type BodyRow = { id: string; topic_id: string; seq: number; kind: string; body: string };

/** Whether SQLite gives `text` back from a column exactly: no lone surrogate, no NUL. */
function columnSafe(text: string): boolean {
  return text.isWellFormed() && !text.includes("\0");
}

function head(id: string, channelId: string, topicId: string, seq: number, kind: string): string {
  return `{"id":${JSON.stringify(id)},"channelId":${JSON.stringify(channelId)},"topicId":${JSON.stringify(topicId)},"seq":${seq},"kind":${JSON.stringify(kind)}`;
}

/** What to store for `body`, the JSON of `message`, in a room whose account is `channelId`. */
export function packBody(body: string, message: Message, channelId: string): string {
  const { id, topicId, seq, kind } = message;
  if (message.channelId !== channelId || !columnSafe(id) || !columnSafe(topicId)) return body;
  const start = head(id, channelId, topicId, seq, kind);
  return body.startsWith(start) && body[start.length] === "," ? body.slice(start.length) : body;
}

/** The body as it was written, from its row and the room's account. */
export function bodyOf(row: BodyRow, channelId: string): string {
  if (row.body.startsWith("{")) return row.body;
  return head(row.id, channelId, row.topic_id, row.seq, row.kind) + row.body;
}
