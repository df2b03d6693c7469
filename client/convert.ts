/**
 * Pure converters between the backend's wire shapes, the legacy HisCRM Master message
 * and the crm-pc-im `Message` / `Conversation` (seeds/000, PROTOCOL §9). No I/O.
 */
import type { Message as WireMessage, Topic } from "../src/contract/wire";
import type {
  Conversation,
  CrmMessageType,
  MasterMessage,
  MasterMessageFields,
  Message,
  MessageContext,
} from "./types";

/** Below this a platform time is in seconds (PROTOCOL §4). */
const MILLIS_THRESHOLD = 1e12;

const UNKNOWN_SENDER_ID = "unknown";
const UNKNOWN_SENDER_NAME = "Unknown User";
const DEFAULT_TOPIC = "default";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === "string" && value !== "") return value;
  return undefined;
}

function randomSuffix(length: number): string {
  let text = "";
  while (text.length < length) text += Math.random().toString(36).slice(2);
  return text.slice(0, length);
}

/**
 * Maps any message type name to the three the crm UI knows: images stay images,
 * files, videos and audio become files, everything else (text, system, notification,
 * unknown) is text. Case does not matter.
 * @example
 * toCrmType("video") // "FILE"
 */
export function toCrmType(type: unknown): CrmMessageType {
  switch (typeof type === "string" ? type.toUpperCase() : "") {
    case "IMAGE":
      return "IMAGE";
    case "FILE":
    case "VIDEO":
    case "AUDIO":
      return "FILE";
    default:
      return "TEXT";
  }
}

/**
 * A time in seconds or milliseconds to milliseconds; a missing or invalid time is now.
 * @example
 * toMillis(1730000000) // 1730000000000
 */
export function toMillis(time: unknown, now: () => number = Date.now): number {
  const value = typeof time === "string" && time.trim() !== "" ? Number(time) : time;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return now();
  return value < MILLIS_THRESHOLD ? Math.round(value * 1000) : Math.round(value);
}

/**
 * Converts a legacy Master message (flat or wrapped in `payload`) to a crm `Message`.
 * Seconds become milliseconds; missing fields get the defaults of seeds/000.
 * @example
 * convertMasterToCrm({ payload: { id: "m1", account_id: "acc", sender_id: "u1", type: "IMAGE", content: "hi", created_at: 1730000000 } })
 * // { id: "m1", fromId: "u1", fromName: "Unknown User", toId: "", topic: "acc", content: "hi", type: "IMAGE", timestamp: 1730000000000 }
 */
export function convertMasterToCrm(master: MasterMessage): Message {
  const fields: MasterMessageFields = isRecord(master.payload) ? master.payload : master;
  const message: Message = {
    id: firstString(fields.id) ?? `master_${Date.now()}_${randomSuffix(9)}`,
    fromId: firstString(fields.sender_id, fields.from_id) ?? UNKNOWN_SENDER_ID,
    fromName: firstString(fields.sender_name, fields.from_name) ?? UNKNOWN_SENDER_NAME,
    // The Master has no recipient: the topic says where a message belongs.
    toId: "",
    topic: firstString(fields.account_id, fields.topic) ?? DEFAULT_TOPIC,
    content: typeof fields.content === "string" ? fields.content : "",
    type: toCrmType(fields.type),
    timestamp: toMillis(fields.created_at ?? fields.timestamp),
  };
  const fileUrl = firstString(fields.file_url, fields.fileUrl);
  const fileName = firstString(fields.file_name, fields.fileName);
  if (fileUrl !== undefined) message.fileUrl = fileUrl;
  if (fileName !== undefined) message.fileName = fileName;
  return message;
}

/**
 * Converts a crm `Message` to a Master message wrapped as `MASTER_NOTIFICATION_PUSH`.
 * Milliseconds become seconds; `topic` goes back to `account_id`.
 * @example
 * convertCrmToMaster(message).payload?.created_at // Math.floor(message.timestamp / 1000)
 */
export function convertCrmToMaster(message: Message): MasterMessage {
  const payload: MasterMessageFields = {
    id: message.id,
    account_id: message.topic,
    type: toCrmType(message.type),
    content: message.content,
    sender_id: message.fromId,
    sender_name: message.fromName,
    created_at: Math.floor(message.timestamp / 1000),
    is_new: 1,
    is_sent: 0,
  };
  if (message.fileUrl !== undefined) payload.file_url = message.fileUrl;
  if (message.fileName !== undefined) payload.file_name = message.fileName;
  return { type: "MASTER_NOTIFICATION_PUSH", payload };
}

/**
 * Maps a backend `Message` (PROTOCOL §5) to the crm `Message`: `topic` is the topic id,
 * images → IMAGE, files and videos → FILE, the rest → TEXT.
 * @example
 * toCrmMessage(frame.payload.message).topic === frame.payload.topicId
 */
export function toCrmMessage(wire: WireMessage): Message {
  const message: Message = {
    id: wire.id,
    fromId: wire.fromId,
    fromName: wire.fromName,
    toId: wire.toId ?? "",
    topic: wire.topicId,
    content: wire.content,
    type: toCrmType(wire.type),
    timestamp: wire.timestamp,
  };
  if (wire.fileUrl !== undefined) message.fileUrl = wire.fileUrl;
  if (wire.fileName !== undefined) message.fileName = wire.fileName;
  return message;
}

/**
 * Whether a value has what `toCrmMessage` needs (a frame from the server, checked lightly).
 * @example
 * isWireMessage(frame.payload.message) // true
 */
export function isWireMessage(value: unknown): value is WireMessage {
  return isRecord(value) && typeof value.id === "string" && typeof value.topicId === "string";
}

/**
 * What the crm `Message` leaves out (account, seq, kind, status…), kept beside it.
 * @example
 * toMessageContext(frame.payload.message, frame.payload.seq).channelId
 */
export function toMessageContext(wire: WireMessage, eventSeq = 0): MessageContext {
  const context: MessageContext = {
    channelId: wire.channelId,
    topicId: wire.topicId,
    seq: eventSeq,
    messageSeq: wire.seq,
    kind: wire.kind,
    direction: wire.direction,
    raw: wire,
  };
  if (wire.status !== undefined) context.status = wire.status;
  if (wire.fromAvatar !== undefined) context.fromAvatar = wire.fromAvatar;
  if (wire.replyToId !== undefined) context.replyToId = wire.replyToId;
  if (wire.clientMsgId !== undefined) context.clientMsgId = wire.clientMsgId;
  return context;
}

/**
 * Shows a backend `Topic` as a crm `Conversation`: the "friend" is the topic itself (a DM
 * thread's participant, or a work), and it flashes while it has unread messages.
 * @example
 * toConversation(topic).isFlashing === topic.unreadCount > 0
 */
export function toConversation(topic: Topic): Conversation {
  return {
    friendId: topic.id,
    friendName: topic.title,
    friendAvatar: topic.avatar ?? "",
    topic: topic.id,
    lastMessage: topic.lastMessage,
    unreadCount: topic.unreadCount,
    isFlashing: topic.unreadCount > 0,
  };
}

/**
 * Whether a value looks like a Master message (flat or wrapped in `payload`).
 * @example
 * isMasterMessage({ account_id: "a1", content: "hi" }) // true
 */
export function isMasterMessage(value: unknown): value is MasterMessage {
  if (!isRecord(value)) return false;
  const fields = isRecord(value.payload) ? value.payload : value;
  return fields.account_id !== undefined || fields.sender_id !== undefined;
}

/**
 * Whether a value looks like a crm `Message`.
 * @example
 * isCrmMessage({ fromId: "u1", topic: "t1" }) // true
 */
export function isCrmMessage(value: unknown): value is Message {
  return isRecord(value) && typeof value.fromId === "string" && typeof value.topic === "string";
}

/**
 * A new client id in the crm-pc-im format.
 * @example
 * generateClientId() // "crm-pc-im_1730000000000_k3j9x0a1b"
 */
export function generateClientId(): string {
  return `crm-pc-im_${Date.now()}_${randomSuffix(9)}`;
}
