/** The reply the adapter queues for `monitor:reply`, built from what the app passes. */
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
  if (typeof input.topicId !== "string" || input.topicId === "") {
    throw new AdapterError("invalid_argument", "sendMessage: the topic is required");
  }
  if (typeof input.content !== "string" || input.content.trim() === "") {
    throw new AdapterError("invalid_argument", "sendMessage: the content must not be empty");
  }
  const reply: QueuedReply = {
    topicId: input.topicId,
    content: input.content,
    clientMsgId: input.clientMsgId || newClientMsgId(),
  };
  const replyToId = input.replyToId ?? options.replyToId;
  if (replyToId) reply.replyToId = replyToId;
  return reply;
}
