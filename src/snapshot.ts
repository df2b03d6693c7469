/**
 * The crawler's snapshot push (PROTOCOL §4). The envelope is validated as a whole (a bad
 * envelope stores nothing); items one by one (a bad item is skipped and reported).
 */
import { z } from "zod";
import { contentHash } from "./hash";
import { accountIdSchema, toIssues } from "./protocol";
import type { Issue } from "./protocol";

/** Platform ids arrive as strings or as integers; both mean the same id. */
const platformId = z.union([z.string().min(1).max(256), z.number().int().transform(String)]);
const optionalId = platformId.nullish();
/** Seconds or milliseconds (below 10^12 is seconds); numeric strings are accepted too. */
const time = z.union([z.number().nonnegative(), z.string().regex(/^\d{1,16}$/).transform(Number)]).nullish();
const text = (max: number) => z.string().max(max).nullish();
const count = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,15}$/).transform(Number)]).nullish();

export const MAX_CONTENT_CHARS = 65_536;
const NAME = 1_024;
const URL = 4_096;

const user = z.looseObject({ user_id: optionalId, user_name: text(NAME), avatar: text(URL) });

export const contentItem = z.looseObject({
  work_id: platformId,
  title: text(NAME * 4),
  cover: text(URL),
  publish_time: time,
  stats: z.looseObject({ comment_count: count, like_count: count }).nullish(),
});

export const commentItem = z
  .looseObject({
    comment_id: optionalId,
    platform_comment_id: optionalId,
    work_id: platformId,
    content: z.string().max(MAX_CONTENT_CHARS),
    author_id: optionalId,
    author_name: text(NAME),
    author_avatar: text(URL),
    create_time: time,
    parent_comment_id: optionalId,
    like_count: count,
  })
  .refine((c) => c.comment_id != null || c.platform_comment_id != null, {
    message: "Required (comment_id or platform_comment_id)",
    path: ["comment_id"],
  });

export const conversationItem = z.looseObject({
  conversation_id: platformId,
  participant: user.nullish(),
  unread_count: count,
  update_time: time,
});

export const messageItem = z.looseObject({
  msg_id: platformId,
  conversation_id: platformId,
  content: z.string().max(MAX_CONTENT_CHARS),
  msg_type: text(32),
  sender: user.nullish(),
  direction: z.enum(["in", "out"]).nullish(),
  create_time: time,
  file_url: text(URL),
  file_name: text(NAME),
});

export const notificationItem = z.looseObject({
  notification_id: platformId,
  type: text(64),
  title: text(NAME * 4),
  content: text(MAX_CONTENT_CHARS),
  create_time: time,
  related_id: optionalId,
});

export type ContentItem = z.infer<typeof contentItem>;
export type CommentItem = z.infer<typeof commentItem>;
export type ConversationItem = z.infer<typeof conversationItem>;
export type MessageItem = z.infer<typeof messageItem>;
export type NotificationItem = z.infer<typeof notificationItem>;

export const ITEM_KINDS = ["contents", "comments", "conversations", "messages", "notifications"] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

const itemSchemas = {
  contents: contentItem,
  comments: commentItem,
  conversations: conversationItem,
  messages: messageItem,
  notifications: notificationItem,
} satisfies Record<ItemKind, z.ZodType>;

const itemList = z.array(z.unknown()).max(100_000).optional();

export const pushEnvelope = z.object({
  type: z.literal("worker:data:sync").optional(),
  accountId: accountIdSchema,
  platform: z.string().min(1).max(64).optional(),
  account: z
    .looseObject({ name: text(NAME), avatar: text(URL), platform_user_id: optionalId })
    .nullish(),
  timestamp: z.number().int().positive().optional(),
  snapshot: z.object({
    contents: itemList,
    comments: itemList,
    conversations: itemList,
    messages: itemList,
    notifications: itemList,
  }),
});
export type PushEnvelope = z.infer<typeof pushEnvelope>;

/**
 * An item that passed validation: its platform id, its JSON (the validated item, unknown
 * fields kept) and that JSON's hash. Only this crosses into the AccountRoom, which parses
 * the JSON again only for items whose hash it has not seen.
 */
export type ValidItem = { index: number; id: string; json: string; hash: string };
export type Rejected = { kind: ItemKind; index: number; issues: Issue[] };

export type ParsedPush = {
  accountId: string;
  platform: string | undefined;
  account: { name?: string; avatar?: string; platformUserId?: string };
  timestamp: number;
  items: Record<ItemKind, ValidItem[]>;
  received: Record<ItemKind, number>;
  rejected: Rejected[];
};

/** An item whose JSON is larger than this is rejected (a SQLite row holds at most 2 MB). */
export const MAX_ITEM_BYTES = 256 * 1024;

function itemId(kind: ItemKind, item: Record<string, unknown>): string {
  switch (kind) {
    case "contents":
      return item.work_id as string;
    case "comments":
      return (item.comment_id ?? item.platform_comment_id) as string;
    case "conversations":
      return item.conversation_id as string;
    case "messages":
      return item.msg_id as string;
    case "notifications":
      return item.notification_id as string;
  }
}

/**
 * Validates every item of an already valid envelope. Items that repeat an id inside one
 * push are merged in order (later fields win), so a push never makes two events for one item.
 */
export function parseItems(envelope: PushEnvelope, receivedAt: number): ParsedPush {
  const rejected: Rejected[] = [];
  const received = {} as Record<ItemKind, number>;
  const items = {} as Record<ItemKind, ValidItem[]>;
  for (const kind of ITEM_KINDS) {
    const raw = envelope.snapshot[kind] ?? [];
    received[kind] = raw.length;
    const byId = new Map<string, { index: number; id: string; item: Record<string, unknown>; json: string }>();
    raw.forEach((value, index) => {
      const parsed = itemSchemas[kind].safeParse(value);
      if (!parsed.success) {
        rejected.push({ kind, index, issues: toIssues(parsed.error) });
        return;
      }
      const item = parsed.data as Record<string, unknown>;
      const id = itemId(kind, item);
      const previous = byId.get(id);
      const merged = previous ? { ...previous.item, ...item } : item;
      let json: string;
      try {
        json = JSON.stringify(merged);
      } catch {
        rejected.push({ kind, index, issues: [{ path: "", message: "item cannot be serialised (too deeply nested)" }] });
        return;
      }
      if (json.length > MAX_ITEM_BYTES) {
        rejected.push({ kind, index, issues: [{ path: "", message: `item is larger than ${MAX_ITEM_BYTES / 1024} KiB` }] });
        return;
      }
      byId.set(id, { index, id, item: merged, json });
    });
    items[kind] = [...byId.values()].map(({ index, id, json }) => ({ index, id, json, hash: contentHash(json) }));
  }
  const account = envelope.account ?? {};
  return {
    accountId: envelope.accountId,
    platform: envelope.platform,
    account: {
      name: account.name ?? undefined,
      avatar: account.avatar ?? undefined,
      platformUserId: account.platform_user_id ?? undefined,
    },
    timestamp: envelope.timestamp ?? receivedAt,
    items,
    received,
    rejected,
  };
}
