/**
 * Every event an AccountRoom appends to its log, each built in one place, and who may see
 * it. The key order here is the order on the wire and in the log: a replayed frame is the
 * stored text, so changing it changes nothing already stored, only what comes after.
 */
import { compact } from "../../mapping";
import type { EventFrame, LoginStatus, Message, MessageStatus, Notification, Topic } from "../../contract/schemas";

/** Events only admins may see (login control, QR codes); everything else goes to every agent. */
const ADMIN_ONLY: ReadonlySet<EventFrame["type"]> = new Set(["account:qrcode", "account:login:status"]);

/** Who may see an event; stored with it in the log, so a replay filters as the live send did. */
export type Audience = "admin" | "all";

export function audienceOf(frame: EventFrame): Audience {
  return ADMIN_ONLY.has(frame.type) ? "admin" : "all";
}

/** The texts of the events an agent may see, in order: `texts` itself when that is all of them. */
export function forAgents(events: readonly EventFrame[], texts: readonly string[]): readonly string[] {
  if (events.every((event) => audienceOf(event) === "all")) return texts;
  return texts.filter((_, i) => audienceOf(events[i]!) === "all");
}

export function channelMessage(seq: number, message: Message): EventFrame {
  return { type: "channel:message", payload: { seq, channelId: message.channelId, topicId: message.topicId, message } };
}

/** `JSON.stringify(channelMessage(seq, message))`, reusing the message's JSON (`body`) instead of serialising it again. */
export function channelMessageText(seq: number, message: Message, body: string): string {
  return `{"type":"channel:message","payload":{"seq":${seq},"channelId":${JSON.stringify(message.channelId)},"topicId":${JSON.stringify(message.topicId)},"message":${body}}}`;
}

/**
 * The stored text of a new message's event, from its message row's body as long as that is
 * the body the event carried: channel and topic come from the body itself, so even ids that
 * SQLite cannot hold as text (a lone surrogate) come back as they were sent.
 */
export function storedMessageFrame(seq: number, body: string): string {
  return channelMessageText(seq, JSON.parse(body) as Message, body);
}

/**
 * Writes out the event of the message at `seq` before its body changes (`body` is the body
 * it still has), so the log keeps replaying the frame that was sent. A no-op once written
 * out, for events stored whole, and for events already pruned.
 */
export function freezeMessageEvent(sql: SqlStorage, seq: number, body: string): void {
  sql.exec(
    "UPDATE events SET frame = ?, message = NULL WHERE seq = ? AND frame = ''",
    storedMessageFrame(seq, body),
    seq,
  );
}

export function messageUpdated(seq: number, message: Message): EventFrame {
  return { type: "message:updated", payload: { seq, message } };
}

export function messageStatus(
  seq: number,
  messageId: string,
  status: MessageStatus,
  error?: string,
  stale?: boolean,
): EventFrame {
  return { type: "message:status", payload: compact({ seq, messageId, status, error, stale }) };
}

export function topicUpdated(seq: number, topic: Topic): EventFrame {
  return { type: "topic:updated", payload: { seq, topic } };
}

export function notificationNew(seq: number, notification: Notification): EventFrame {
  return { type: "notification:new", payload: { seq, notification } };
}

export function qrcode(seq: number, image: string, expiresAt: number): EventFrame {
  return { type: "account:qrcode", payload: { seq, image, expiresAt } };
}

export function loginStatus(seq: number, status: LoginStatus, error?: string): EventFrame {
  return { type: "account:login:status", payload: compact({ seq, status, error }) };
}
