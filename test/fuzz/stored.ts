/**
 * What a push stored, read back: the messages of each topic, the topic list and its figures,
 * the compatibility API, and the events the replay sends.
 */
import { expect } from "vitest";
import type { Frame } from "../helpers";
import { get, topicMessages } from "./client";
import { eq, like, show } from "./expect";
import type { Json, Obj } from "./expect";
import { itemId } from "./oracle";
import type { Planned } from "./oracle";

/** Milliseconds the backend shows for a time field, or null when it falls back to "now". */
function millis(value: unknown): number | null {
  if (typeof value !== "number" || !(value > 0)) return null;
  return value < 1e12 ? Math.round(value * 1000) : Math.round(value);
}

/** The Message types of PROTOCOL §5. */
export const MESSAGE_TYPES = ["text", "image", "video", "file", "system"];
const CANONICAL_TYPES: Record<string, string> = {
  text: "text",
  image: "image",
  video: "video",
  file: "file",
  system: "system",
};

function expectComment(message: Json, c: Obj, accountId: string): void {
  const ms = millis(c.create_time);
  like(
    message,
    {
      id: itemId("comments", c),
      channelId: accountId,
      topicId: c.work_id,
      kind: "comment",
      type: "text",
      direction: "in",
      content: c.content,
      fromId: c.author_id ?? "unknown",
      fromName: (c.author_name as string) || "Unknown user",
      replyToId: c.parent_comment_id ?? undefined,
      fromAvatar: c.author_avatar ?? undefined,
      ...(ms === null ? {} : { timestamp: ms }),
    },
    `comment ${show(itemId("comments", c))}`,
  );
  expect(typeof message.timestamp).toBe("number");
}

function expectDm(message: Json, m: Obj, accountId: string): void {
  const sender = (m.sender ?? {}) as Obj;
  const ms = millis(m.create_time);
  like(
    message,
    {
      id: m.msg_id,
      channelId: accountId,
      topicId: m.conversation_id,
      kind: "dm",
      content: m.content,
      direction: m.direction ?? "in",
      fromId: sender.user_id ?? "unknown",
      fromName: (sender.user_name as string) || "Unknown user",
      fromAvatar: sender.avatar ?? undefined,
      fileUrl: m.file_url ?? undefined,
      fileName: m.file_name ?? undefined,
      ...(ms === null ? {} : { timestamp: ms }),
    },
    `dm ${show(m.msg_id)}`,
  );
  expect(MESSAGE_TYPES, `type of dm ${show(m.msg_id)} with msg_type ${show(m.msg_type)}`).toContain(message.type);
  const canonical = typeof m.msg_type === "string" ? CANONICAL_TYPES[m.msg_type.toLowerCase()] : "text";
  if (canonical) expect(message.type).toBe(canonical);
}

/** Everything a property stored, by kind and id. */
export type Model = {
  comments: Map<string, Obj>;
  dms: Map<string, Obj>;
  contents: Map<string, Obj>;
  conversations: Map<string, Obj>;
  notifications: Map<string, Obj>;
};

/** Each topic the push touched holds exactly its valid items, with seqs from this push. */
export async function checkStored(accountId: string, p: Planned, seqBefore: number, seqAfter: number): Promise<void> {
  const byTopic = new Map<string, { kind: "comments" | "messages"; items: Obj[] }>();
  for (const kind of ["comments", "messages"] as const) {
    for (const item of p.valid[kind].values()) {
      const topic = (kind === "comments" ? item.work_id : item.conversation_id) as string;
      const entry = byTopic.get(topic) ?? { kind, items: [] };
      entry.items.push(item);
      byTopic.set(topic, entry);
    }
  }
  for (const [topicId, { kind, items }] of byTopic) {
    const messages = await topicMessages(accountId, topicId);
    eq(
      messages.map((m) => m.id).sort(),
      items.map((i) => itemId(kind, i)).sort(),
      `message ids of topic ${show(topicId)}`,
    );
    const seqs = messages.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    for (const m of messages)
      expect(m.seq > seqBefore && m.seq <= seqAfter, `message seq ${m.seq} in (${seqBefore}, ${seqAfter}]`).toBe(true);
    for (const item of items) {
      const message = messages.find((m) => m.id === itemId(kind, item));
      if (kind === "comments") expectComment(message, item, accountId);
      else expectDm(message, item, accountId);
    }
    if (kind === "messages") {
      // The Douyin-style twin of the same list.
      const compat = await get(
        `/api/im/messages?account_id=${accountId}&conversation_id=${encodeURIComponent(topicId)}&count=100`,
      );
      expect(compat.status).toBe(200);
      expect(compat.json.status_code).toBe(0);
      const list = compat.json.data.messages;
      expect(list.length).toBe(items.length);
      for (const entry of list) {
        const message = messages.find((m) => m.id === entry.msg_id);
        expect(message, `compat msg_id ${show(entry.msg_id)}`).toBeDefined();
        eq(
          entry,
          {
            msg_id: message.id,
            conversation_id: topicId,
            sender: { uid: message.fromId, nickname: message.fromName },
            content: message.content,
            msg_type: message.type,
            create_time: Math.floor(message.timestamp / 1000),
          },
          "compat message",
        );
      }
    }
  }
}

/** Pages through a compatibility list to its end. */
async function compatAll(path: string, list: string): Promise<Json[]> {
  const all: Json[] = [];
  for (let cursor = 0; ;) {
    const res = await get(`${path}&count=100&cursor=${cursor}`);
    expect(res.status).toBe(200);
    all.push(...res.json.data[list]);
    cursor = res.json.data.cursor;
    if (!res.json.data.has_more) return all;
  }
}

/** Everything the property stored, read back through the topic list, the compat API and the replay. */
export async function checkModel(accountId: string, model: Model, events: Frame[]): Promise<void> {
  // Every page: a run can make more topics than one unpaged answer holds.
  const topics: Json[] = [];
  let cursor: string | undefined;
  do {
    const query = `?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await get(`/api/v1/accounts/${accountId}/topics${query}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const page = res.json;
    topics.push(...page.topics);
    cursor = page.nextCursor;
  } while (cursor);
  const topicById = new Map(topics.map((t) => [t.id, t]));
  for (const [id, item] of model.contents) {
    const topic = topicById.get(id);
    expect(topic, `work topic ${show(id)}`).toBeDefined();
    like(
      topic,
      { kind: "work", title: (item.title as string) || "Untitled work", avatar: item.cover ?? undefined },
      `work topic ${show(id)}`,
    );
  }
  for (const [id, item] of model.conversations) {
    const topic = topicById.get(id);
    const participant = (item.participant ?? {}) as Obj;
    expect(topic, `conversation topic ${show(id)}`).toBeDefined();
    like(
      topic,
      {
        kind: "conversation",
        title: (participant.user_name as string) || "Unknown user",
        avatar: participant.avatar ?? undefined,
      },
      `conversation topic ${show(id)}`,
    );
  }
  const perTopic = new Map<string, { count: number; unread: number }>();
  for (const c of model.comments.values()) {
    const entry = perTopic.get(c.work_id as string) ?? { count: 0, unread: 0 };
    perTopic.set(c.work_id as string, { count: entry.count + 1, unread: entry.unread + 1 });
  }
  for (const m of model.dms.values()) {
    const entry = perTopic.get(m.conversation_id as string) ?? { count: 0, unread: 0 };
    perTopic.set(m.conversation_id as string, {
      count: entry.count + 1,
      unread: entry.unread + ((m.direction ?? "in") === "in" ? 1 : 0),
    });
  }
  for (const [id, figures] of perTopic) {
    like(
      topicById.get(id),
      { messageCount: figures.count, unreadCount: figures.unread },
      `figures of topic ${show(id)}`,
    );
  }

  const contents = await compatAll(`/api/im/contents?account_id=${accountId}`, "contents");
  const contentById = new Map(contents.map((c) => [c.aweme_id, c]));
  for (const [id, item] of model.contents) {
    const stats = (item.stats ?? {}) as Obj;
    like(
      contentById.get(id),
      {
        desc: item.title ?? "",
        statistics: { comment_count: stats.comment_count ?? 0, digg_count: stats.like_count ?? 0 },
      },
      `compat content ${show(id)}`,
    );
  }
  const conversations = await compatAll(`/api/im/conversations?account_id=${accountId}`, "conversations");
  const conversationById = new Map(conversations.map((c) => [c.conversation_id, c]));
  for (const [id, item] of model.conversations) {
    const participant = (item.participant ?? {}) as Obj;
    like(
      conversationById.get(id)?.user,
      { uid: participant.user_id ?? "", nickname: (participant.user_name as string) || "Unknown user" },
      `compat conversation ${show(id)}`,
    );
  }
  const discussions = await compatAll(`/api/im/discussions?account_id=${accountId}`, "discussions");
  const discussionById = new Map(discussions.map((d) => [d.cid, d]));
  expect(discussionById.size).toBe(discussions.length);
  for (const [id, c] of model.comments) {
    like(
      discussionById.get(id),
      {
        text: c.content,
        aweme_id: c.work_id,
        user: { uid: c.author_id ?? "unknown", nickname: (c.author_name as string) || "Unknown user" },
      },
      `compat discussion ${show(id)}`,
    );
  }
  const unified = await compatAll(`/api/im/unified-messages?account_id=${accountId}`, "messages");
  const unifiedIds = new Set(unified.map((u) => `${u.type}:${u.id}`));
  for (const id of model.comments.keys())
    expect(unifiedIds.has(`comment:${id}`), `unified comment ${show(id)}`).toBe(true);
  for (const id of model.dms.keys()) expect(unifiedIds.has(`message:${id}`), `unified message ${show(id)}`).toBe(true);

  // Every new message and notification went out exactly once, with its exact content.
  const sent = new Map<string, Json>();
  for (const e of events) {
    if (e.type === "channel:message") {
      const key = `${e.payload.message.kind}:${e.payload.message.id}`;
      expect(sent.has(key), `one channel:message for ${show(key)}`).toBe(false);
      sent.set(key, e.payload.message);
    }
    if (e.type === "notification:new") {
      const key = `notification:${e.payload.notification.id}`;
      expect(sent.has(key), `one notification:new for ${show(key)}`).toBe(false);
      sent.set(key, e.payload.notification);
    }
  }
  for (const [id, c] of model.comments)
    eq(sent.get(`comment:${id}`)?.content, c.content, `event of comment ${show(id)}`);
  for (const [id, m] of model.dms) eq(sent.get(`dm:${id}`)?.content, m.content, `event of dm ${show(id)}`);
  for (const [id, n] of model.notifications) {
    const notification = sent.get(`notification:${id}`);
    expect(notification, `notification ${show(id)}`).toBeDefined();
    const ms = millis(n.create_time);
    like(
      notification,
      {
        id,
        channelId: accountId,
        type: (n.type as string) || "system",
        title: n.title ?? "",
        content: n.content ?? "",
        relatedId: n.related_id ?? undefined,
        ...(ms === null ? {} : { timestamp: ms }),
      },
      `notification ${show(id)}`,
    );
  }
}
