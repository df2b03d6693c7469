/**
 * Pure mapping: snapshot items → Topic / Message / Notification (PROTOCOL §5) and the
 * Douyin-style compatibility shapes (§8). No storage, no I/O; used by the AccountRoom,
 * the HTTP routes and the tests.
 */
import type { Message, MessageType, Notification, Topic, TopicKind } from "./contract/schemas";
import type { CommentItem, ContentItem, ConversationItem, MessageItem, NotificationItem } from "./contract/snapshot";

/** A platform time in seconds or milliseconds (below 10^12 is seconds) → milliseconds. */
export function toMillis(time: number | null | undefined, fallback: number): number {
  if (time == null || !Number.isFinite(time) || time <= 0) return fallback;
  return time < 1e12 ? Math.round(time * 1000) : Math.round(time);
}

export const UNTITLED_WORK = "Untitled work";
export const UNKNOWN_USER = "Unknown user";

/** The parts of a topic that come from its own item (the rest comes from its messages). */
export type TopicHead = { kind: TopicKind; title: string; avatar?: string; baseTime: number };

export function workHead(item: ContentItem, fallbackTime: number): TopicHead {
  return {
    kind: "work",
    title: item.title || UNTITLED_WORK,
    avatar: item.cover ?? undefined,
    baseTime: toMillis(item.publish_time, fallbackTime),
  };
}

export function conversationHead(item: ConversationItem, fallbackTime: number): TopicHead {
  return {
    kind: "conversation",
    title: item.participant?.user_name || UNKNOWN_USER,
    avatar: item.participant?.avatar ?? undefined,
    baseTime: toMillis(item.update_time, fallbackTime),
  };
}

/** A topic's title and avatar before its own item has been seen (a comment's work not scraped yet). */
export function placeholderHead(kind: TopicKind, message: Message): TopicHead {
  return kind === "work"
    ? { kind, title: UNTITLED_WORK, baseTime: message.timestamp }
    : {
        kind,
        title: message.direction === "in" ? message.fromName : UNKNOWN_USER,
        avatar: message.direction === "in" ? message.fromAvatar : undefined,
        baseTime: message.timestamp,
      };
}

/** Who the monitored account is on the platform, to tell its own comments and DMs from others'. */
export type MessageContext = { channelId: string; seq: number; selfId?: string; fallbackTime: number };

export function commentMessage(item: CommentItem, ctx: MessageContext): Message {
  const id = String(item.comment_id ?? item.platform_comment_id);
  const fromId = item.author_id ?? "unknown";
  return compact({
    id,
    channelId: ctx.channelId,
    topicId: item.work_id,
    seq: ctx.seq,
    kind: "comment",
    fromId,
    fromName: item.author_name || UNKNOWN_USER,
    fromAvatar: item.author_avatar ?? undefined,
    content: item.content,
    type: "text",
    timestamp: toMillis(item.create_time, ctx.fallbackTime),
    replyToId: item.parent_comment_id ?? undefined,
    direction: ctx.selfId !== undefined && fromId === ctx.selfId ? "out" : "in",
  });
}

export function dmMessage(item: MessageItem, ctx: MessageContext): Message {
  const fromId = item.sender?.user_id ?? "unknown";
  const direction = item.direction ?? (ctx.selfId !== undefined && fromId === ctx.selfId ? "out" : "in");
  return compact({
    id: item.msg_id,
    channelId: ctx.channelId,
    topicId: item.conversation_id,
    seq: ctx.seq,
    kind: "dm",
    fromId,
    fromName: item.sender?.user_name || UNKNOWN_USER,
    fromAvatar: item.sender?.avatar ?? undefined,
    toId: direction === "in" ? ctx.selfId : undefined,
    content: item.content,
    type: messageType(item.msg_type),
    timestamp: toMillis(item.create_time, ctx.fallbackTime),
    fileUrl: item.file_url ?? undefined,
    fileName: item.file_name ?? undefined,
    direction,
  });
}

const TYPES: ReadonlyMap<string, MessageType> = new Map(
  Object.entries({
    text: "text",
    image: "image",
    picture: "image",
    photo: "image",
    emoji: "image",
    sticker: "image",
    video: "video",
    file: "file",
    audio: "file",
    voice: "file",
    system: "system",
    notice: "system",
  }) as [string, MessageType][],
);

/** A platform `msg_type` → Message.type; anything unknown is shown as text. */
export function messageType(platformType: string | null | undefined): MessageType {
  // A Map, not an object: "constructor" or "__proto__" must not find Object.prototype.
  return TYPES.get((platformType ?? "text").toLowerCase()) ?? "text";
}

export function notificationOf(item: NotificationItem, channelId: string, fallbackTime: number): Notification {
  return compact({
    id: item.notification_id,
    channelId,
    type: item.type || "system",
    title: item.title ?? "",
    content: item.content ?? "",
    timestamp: toMillis(item.create_time, fallbackTime),
    relatedId: item.related_id ?? undefined,
  });
}

/** Assembles a Topic from its head and the figures kept from its messages. */
export function topicOf(
  channelId: string,
  id: string,
  head: TopicHead,
  figures: { lastMessage: string; lastMessageTime: number; messageCount: number; unreadCount: number },
): Topic {
  return compact({
    id,
    channelId,
    kind: head.kind,
    title: head.title,
    avatar: head.avatar,
    lastMessage: figures.lastMessage,
    lastMessageTime: Math.max(figures.lastMessageTime, head.baseTime),
    messageCount: figures.messageCount,
    unreadCount: figures.unreadCount,
  });
}

/** Drops keys whose value is undefined, so optional fields are absent rather than null on the wire. */
export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

// ---------------------------------------------------------------------------
// The Douyin-style compatibility API (PROTOCOL §8, seeds/003): seconds, snake_case.

export const seconds = (ms: number): number => Math.floor(ms / 1000);

export function imConversation(topic: Topic, participant: ConversationItem["participant"]) {
  return {
    conversation_id: topic.id,
    user: {
      uid: participant?.user_id ?? "",
      nickname: topic.title,
      avatar_thumb: { url_list: topic.avatar ? [topic.avatar] : [] },
    },
    unread_count: topic.unreadCount,
    last_message: { content: topic.lastMessage, create_time: seconds(topic.lastMessageTime) },
  };
}

export function imMessage(message: Message) {
  return {
    msg_id: message.id,
    conversation_id: message.topicId,
    sender: { uid: message.fromId, nickname: message.fromName },
    content: message.content,
    msg_type: message.type,
    create_time: seconds(message.timestamp),
  };
}

export function imDiscussion(message: Message) {
  return {
    cid: message.id,
    text: message.content,
    user: { uid: message.fromId, nickname: message.fromName },
    aweme_id: message.topicId,
    create_time: seconds(message.timestamp),
  };
}

export function imContent(item: ContentItem, fallbackTime: number) {
  return {
    aweme_id: item.work_id,
    desc: item.title ?? "",
    statistics: { comment_count: item.stats?.comment_count ?? 0, digg_count: item.stats?.like_count ?? 0 },
    create_time: seconds(toMillis(item.publish_time, fallbackTime)),
  };
}

export function imUnified(message: Message) {
  const type = message.kind === "dm" ? "message" : "comment";
  return {
    id: message.id,
    type,
    data: type === "message" ? imMessage(message) : imDiscussion(message),
    create_time: seconds(message.timestamp),
  };
}
