/** The reply the adapter queues for `monitor:reply`, built from what the app passes. */
import { MAX_CLIENT_MSG_ID_CHARS, MAX_REPLY_CHARS, MAX_TOPIC_ID_CHARS } from "../src/contract/wire";
import { isCrmMessage } from "./convert";
import { AdapterError } from "./requests";
import type { Message, ReplyInput, SendOptions } from "./types";

/** A reply waiting for `monitor:reply:accepted`; `clientMsgId` is always set. */
export type QueuedReply = ReplyInput & { clientMsgId: string };

/**
 * A fresh idempotency key.
 * @example
 * newClientMsgId() // "9b2c…" (a UUID where the runtime has one)
 */
export function newClientMsgId(): string {
  const uuid = (globalThis.crypto as Crypto | undefined)?.randomUUID?.();
  return uuid ?? `cm_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 12)}`;
}

/**
 * A crm `Message` (its `id` is the key) or a `ReplyInput` as a queued reply.
 * @example
 * toQueuedReply({ id: "local-1", topic: "w1", content: "thanks", … }, {}).clientMsgId // "local-1"
 */
export function toQueuedReply(message: Message | ReplyInput, options: SendOptions): QueuedReply {
  const input: ReplyInput = isCrmMessage(message)
    ? { topicId: message.topic, content: message.content, clientMsgId: message.id }
    : message;
  const refuse = (path: string, message: string): never => {
    throw new AdapterError("invalid_argument", `sendMessage: ${path} ${message}`, {
      issues: [{ path, message }],
      requestType: "monitor:reply",
    });
  };
  // Checked here as the room would, so a reply it must refuse is never queued.
  const topic = isCrmMessage(message) ? "topic" : "topicId";
  if (typeof input.topicId !== "string" || input.topicId === "") refuse(topic, "is required");
  if (input.topicId.length > MAX_TOPIC_ID_CHARS) refuse(topic, `must be at most ${MAX_TOPIC_ID_CHARS} characters`);
  if (typeof input.content !== "string" || input.content.trim() === "") refuse("content", "must not be empty");
  if (input.content.length > MAX_REPLY_CHARS) refuse("content", `must be at most ${MAX_REPLY_CHARS} characters`);
  const key = isCrmMessage(message) ? "id" : "clientMsgId";
  if (input.clientMsgId !== undefined && input.clientMsgId.length > MAX_CLIENT_MSG_ID_CHARS)
    refuse(key, `must be at most ${MAX_CLIENT_MSG_ID_CHARS} characters`);
  const reply: QueuedReply = {
    topicId: input.topicId,
    content: input.content,
    clientMsgId: input.clientMsgId || newClientMsgId(),
  };
  const replyToId = input.replyToId ?? options.replyToId;
  if (replyToId) reply.replyToId = replyToId;
  return reply;
}
