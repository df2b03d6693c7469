import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/contract/errors";
import {
  commentMessage,
  compact,
  conversationHead,
  dmMessage,
  imContent,
  imConversation,
  imDiscussion,
  imMessage,
  imUnified,
  messageType,
  notificationOf,
  placeholderHead,
  seconds,
  toMillis,
  topicOf,
  workHead,
} from "../src/mapping";
import type { MessageContext } from "../src/mapping";
import type { Message, Topic } from "../src/contract/schemas";
import { packPush, unpackPush } from "../src/contract/push-pack";
import { MAX_ITEM_BYTES, parseItems, pushEnvelope } from "../src/contract/snapshot";
import type {
  CommentItem,
  ContentItem,
  ConversationItem,
  MessageItem,
  NotificationItem,
} from "../src/contract/snapshot";

const FALLBACK = 1_740_000_000_000;
const ctx = (extra: Partial<MessageContext> = {}): MessageContext => ({
  channelId: "acc-1",
  seq: 7,
  fallbackTime: FALLBACK,
  ...extra,
});

const commentItem = (extra: Partial<CommentItem> = {}): CommentItem => ({
  comment_id: "c1",
  work_id: "w1",
  content: "nice video",
  author_id: "fan-1",
  author_name: "Fan One",
  author_avatar: "https://cdn.example/fan-1.png",
  create_time: 1_730_000_000,
  parent_comment_id: null,
  ...extra,
});

const dmItem = (extra: Partial<MessageItem> = {}): MessageItem => ({
  msg_id: "m1",
  conversation_id: "cv1",
  content: "hello",
  msg_type: "text",
  sender: { user_id: "buyer-1", user_name: "Buyer One", avatar: "https://cdn.example/buyer-1.png" },
  create_time: 1_730_000_100,
  ...extra,
});

const message = (extra: Partial<Message> = {}): Message => ({
  id: "c1",
  channelId: "acc-1",
  topicId: "w1",
  seq: 3,
  kind: "comment",
  fromId: "fan-1",
  fromName: "Fan One",
  content: "nice video",
  type: "text",
  timestamp: 1_730_000_000_999,
  direction: "in",
  ...extra,
});

const topic = (extra: Partial<Topic> = {}): Topic => ({
  id: "cv1",
  channelId: "acc-1",
  kind: "conversation",
  title: "Buyer One",
  avatar: "https://cdn.example/buyer-1.png",
  lastMessage: "hello",
  lastMessageTime: 1_730_000_100_500,
  messageCount: 2,
  unreadCount: 1,
  ...extra,
});

describe("toMillis", () => {
  it("reads a value below 10^12 as seconds", () => {
    expect(toMillis(1_730_000_000, FALLBACK)).toBe(1_730_000_000_000);
  });

  it("keeps fractional seconds as whole milliseconds", () => {
    expect(toMillis(1_730_000_000.25, FALLBACK)).toBe(1_730_000_000_250);
  });

  it("reads a value of 10^12 or more as milliseconds, unchanged", () => {
    expect(toMillis(1_730_000_000_123, FALLBACK)).toBe(1_730_000_000_123);
    expect(toMillis(1e12, FALLBACK)).toBe(1e12);
  });

  it("the largest value read as seconds is just below 10^12", () => {
    expect(toMillis(999_999_999_999, FALLBACK)).toBe(999_999_999_999_000);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["zero", 0],
    ["a negative number", -5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("falls back when the time is %s", (_name, value) => {
    expect(toMillis(value, FALLBACK)).toBe(FALLBACK);
  });
});

describe("seconds", () => {
  it("turns milliseconds into whole seconds, rounding down", () => {
    expect(seconds(1_730_000_000_999)).toBe(1_730_000_000);
    expect(seconds(1_730_000_001_000)).toBe(1_730_000_001);
  });
});

describe("workHead", () => {
  it("takes the work's title, cover and publish time (seconds → ms)", () => {
    const item: ContentItem = {
      work_id: "w1",
      title: "Spring sale",
      cover: "https://cdn.example/w1.jpg",
      publish_time: 1_729_990_000,
    };
    expect(workHead(item, FALLBACK)).toEqual({
      kind: "work",
      title: "Spring sale",
      avatar: "https://cdn.example/w1.jpg",
      baseTime: 1_729_990_000_000,
    });
  });

  it.each([
    ["missing", {}],
    ["null", { title: null }],
    ["empty", { title: "" }],
  ])('titles a work whose title is %s "Untitled work"', (_name, extra) => {
    expect(workHead({ work_id: "w1", ...extra }, FALLBACK).title).toBe("Untitled work");
  });

  it("has no avatar without a cover and the fallback time without a publish time", () => {
    const head = workHead({ work_id: "w1", title: "T", cover: null }, FALLBACK);
    expect(head.avatar).toBeUndefined();
    expect(head.baseTime).toBe(FALLBACK);
  });

  it("accepts a publish time in milliseconds", () => {
    expect(workHead({ work_id: "w1", publish_time: 1_729_990_000_500 }, FALLBACK).baseTime).toBe(1_729_990_000_500);
  });
});

describe("conversationHead", () => {
  it("takes the participant's name and avatar and the update time", () => {
    const item: ConversationItem = {
      conversation_id: "cv1",
      participant: { user_id: "buyer-1", user_name: "Buyer One", avatar: "https://cdn.example/b.png" },
      update_time: 1_729_999_500,
    };
    expect(conversationHead(item, FALLBACK)).toEqual({
      kind: "conversation",
      title: "Buyer One",
      avatar: "https://cdn.example/b.png",
      baseTime: 1_729_999_500_000,
    });
  });

  it.each([
    ["no participant", { conversation_id: "cv1" }],
    ["a null participant", { conversation_id: "cv1", participant: null }],
    ["a participant without a name", { conversation_id: "cv1", participant: { user_id: "u1" } }],
    ["a participant with an empty name", { conversation_id: "cv1", participant: { user_id: "u1", user_name: "" } }],
  ])('titles a conversation with %s "Unknown user"', (_name, item) => {
    const head = conversationHead(item as ConversationItem, FALLBACK);
    expect(head.title).toBe("Unknown user");
    expect(head.baseTime).toBe(FALLBACK);
  });
});

describe("placeholderHead", () => {
  it('titles a work known only from a comment "Untitled work"', () => {
    expect(placeholderHead("work", message())).toEqual({
      kind: "work",
      title: "Untitled work",
      baseTime: 1_730_000_000_999,
    });
  });

  it("titles a conversation known only from an inbound DM after its sender", () => {
    const dm = message({ kind: "dm", fromName: "Buyer One", fromAvatar: "https://cdn.example/b.png" });
    expect(placeholderHead("conversation", dm)).toMatchObject({
      title: "Buyer One",
      avatar: "https://cdn.example/b.png",
    });
  });

  it('titles a conversation known only from the account\'s own DM "Unknown user", not after the account', () => {
    const own = message({
      kind: "dm",
      fromName: "Brand A",
      fromAvatar: "https://cdn.example/brand.png",
      direction: "out",
    });
    const head = placeholderHead("conversation", own);
    expect(head.title).toBe("Unknown user");
    expect(head.avatar).toBeUndefined();
  });
});

describe("topicOf", () => {
  it("assembles a topic whose time is the later of its messages and its own item", () => {
    const head = { kind: "work" as const, title: "Spring sale", baseTime: 2_000 };
    const figures = { lastMessage: "hi", lastMessageTime: 1_000, messageCount: 4, unreadCount: 2 };
    expect(topicOf("acc-1", "w1", head, figures)).toEqual({
      id: "w1",
      channelId: "acc-1",
      kind: "work",
      title: "Spring sale",
      lastMessage: "hi",
      lastMessageTime: 2_000,
      messageCount: 4,
      unreadCount: 2,
    });
    expect(topicOf("acc-1", "w1", head, { ...figures, lastMessageTime: 3_000 }).lastMessageTime).toBe(3_000);
  });
});

describe("commentMessage", () => {
  it("maps a comment to a Message of kind comment on its work's topic", () => {
    expect(commentMessage(commentItem({ parent_comment_id: "c0" }), ctx())).toEqual({
      id: "c1",
      channelId: "acc-1",
      topicId: "w1",
      seq: 7,
      kind: "comment",
      fromId: "fan-1",
      fromName: "Fan One",
      fromAvatar: "https://cdn.example/fan-1.png",
      content: "nice video",
      type: "text",
      timestamp: 1_730_000_000_000,
      replyToId: "c0",
      direction: "in",
    });
  });

  it("is outbound when the author is the monitored account (selfId)", () => {
    expect(commentMessage(commentItem({ author_id: "me" }), ctx({ selfId: "me" })).direction).toBe("out");
  });

  it("is inbound when the author is someone else or the account's own id is unknown", () => {
    expect(commentMessage(commentItem({ author_id: "fan-1" }), ctx({ selfId: "me" })).direction).toBe("in");
    expect(commentMessage(commentItem({ author_id: "me" }), ctx()).direction).toBe("in");
  });

  it("uses platform_comment_id when there is no comment_id", () => {
    expect(commentMessage(commentItem({ comment_id: null, platform_comment_id: "pc-9" }), ctx()).id).toBe("pc-9");
  });

  it('names an author without a name "Unknown user" and leaves absent fields out', () => {
    const m = commentMessage(
      commentItem({ author_id: null, author_name: null, author_avatar: null, create_time: null }),
      ctx(),
    );
    expect(m.fromName).toBe("Unknown user");
    expect(m.fromId).toBe("unknown");
    expect(m.timestamp).toBe(FALLBACK);
    expect(m).not.toHaveProperty("fromAvatar");
    expect(m).not.toHaveProperty("replyToId");
    expect(m).not.toHaveProperty("toId");
  });

  it("reads a create_time in milliseconds as milliseconds", () => {
    expect(commentMessage(commentItem({ create_time: 1_730_000_000_456 }), ctx()).timestamp).toBe(1_730_000_000_456);
  });
});

describe("dmMessage", () => {
  it("maps a DM to a Message of kind dm on its conversation's topic", () => {
    const item = dmItem({ msg_type: "file", file_url: "https://cdn.example/f.pdf", file_name: "f.pdf" });
    expect(dmMessage(item, ctx({ selfId: "me" }))).toEqual({
      id: "m1",
      channelId: "acc-1",
      topicId: "cv1",
      seq: 7,
      kind: "dm",
      fromId: "buyer-1",
      fromName: "Buyer One",
      fromAvatar: "https://cdn.example/buyer-1.png",
      toId: "me",
      content: "hello",
      type: "file",
      timestamp: 1_730_000_100_000,
      fileUrl: "https://cdn.example/f.pdf",
      fileName: "f.pdf",
      direction: "in",
    });
  });

  it("takes the direction the crawler gives over the one selfId implies", () => {
    expect(dmMessage(dmItem({ direction: "out" }), ctx({ selfId: "someone-else" })).direction).toBe("out");
    const mine = dmItem({ direction: "in", sender: { user_id: "me", user_name: "Brand" } });
    expect(dmMessage(mine, ctx({ selfId: "me" })).direction).toBe("in");
  });

  it("without a direction, is outbound when the sender is selfId and inbound otherwise", () => {
    const mine = dmItem({ sender: { user_id: "me", user_name: "Brand" } });
    expect(dmMessage(mine, ctx({ selfId: "me" })).direction).toBe("out");
    expect(dmMessage(dmItem(), ctx({ selfId: "me" })).direction).toBe("in");
    expect(dmMessage(mine, ctx()).direction).toBe("in");
  });

  it("addresses only inbound DMs to the account (toId)", () => {
    expect(dmMessage(dmItem({ direction: "out" }), ctx({ selfId: "me" }))).not.toHaveProperty("toId");
    expect(dmMessage(dmItem({ direction: "in" }), ctx({ selfId: "me" })).toId).toBe("me");
  });

  it('names a DM without a sender "Unknown user" from "unknown"', () => {
    const m = dmMessage(dmItem({ sender: null }), ctx());
    expect(m).toMatchObject({ fromId: "unknown", fromName: "Unknown user" });
    expect(m).not.toHaveProperty("fromAvatar");
    expect(m).not.toHaveProperty("fileUrl");
    expect(m).not.toHaveProperty("fileName");
  });

  it("maps the platform msg_type", () => {
    expect(dmMessage(dmItem({ msg_type: "picture" }), ctx()).type).toBe("image");
    expect(dmMessage(dmItem({ msg_type: null }), ctx()).type).toBe("text");
  });
});

describe("messageType", () => {
  it.each([
    ["text", "text"],
    ["image", "image"],
    ["picture", "image"],
    ["photo", "image"],
    ["emoji", "image"],
    ["sticker", "image"],
    ["video", "video"],
    ["file", "file"],
    ["audio", "file"],
    ["voice", "file"],
    ["system", "system"],
    ["notice", "system"],
  ] as const)("maps %s to %s", (platform, expected) => {
    expect(messageType(platform)).toBe(expected);
  });

  it("ignores case", () => {
    expect(messageType("IMAGE")).toBe("image");
    expect(messageType("Voice")).toBe("file");
  });

  it.each([
    ["an unknown type", "red_packet"],
    ["null", null],
    ["undefined", undefined],
    ["an empty string", ""],
  ])("shows %s as text", (_name, platform) => {
    expect(messageType(platform)).toBe("text");
  });
});

describe("notificationOf", () => {
  it("maps a notification with all its fields", () => {
    const item: NotificationItem = {
      notification_id: "n1",
      type: "like",
      title: "New like",
      content: "Fan liked your video",
      create_time: 1_729_999_600,
      related_id: "w1",
    };
    expect(notificationOf(item, "acc-1", FALLBACK)).toEqual({
      id: "n1",
      channelId: "acc-1",
      type: "like",
      title: "New like",
      content: "Fan liked your video",
      timestamp: 1_729_999_600_000,
      relatedId: "w1",
    });
  });

  it('defaults the type to "system", text to "" and the time to the fallback', () => {
    expect(notificationOf({ notification_id: "n2" }, "acc-1", FALLBACK)).toEqual({
      id: "n2",
      channelId: "acc-1",
      type: "system",
      title: "",
      content: "",
      timestamp: FALLBACK,
    });
    expect(notificationOf({ notification_id: "n3", type: "" }, "acc-1", FALLBACK).type).toBe("system");
  });
});

describe("compact", () => {
  it("drops undefined keys and keeps null, 0, false and empty strings", () => {
    const value = { a: undefined, b: null, c: 0, d: false, e: "" };
    expect(compact(value)).toEqual({ b: null, c: 0, d: false, e: "" });
    expect(Object.keys(compact({ ...value }))).toEqual(["b", "c", "d", "e"]);
  });

  it("returns the same object", () => {
    const value = { a: 1, b: undefined };
    expect(compact(value)).toBe(value);
    expect("b" in value).toBe(false);
  });
});

describe("imConversation", () => {
  it("gives the Douyin conversation shape with times in seconds", () => {
    expect(imConversation(topic(), { user_id: "buyer-1", user_name: "Buyer One" })).toEqual({
      conversation_id: "cv1",
      user: { uid: "buyer-1", nickname: "Buyer One", avatar_thumb: { url_list: ["https://cdn.example/buyer-1.png"] } },
      unread_count: 1,
      last_message: { content: "hello", create_time: 1_730_000_100 },
    });
  });

  it("has an empty uid without a participant and an empty url_list without an avatar", () => {
    const { avatar: _avatar, ...noAvatar } = topic();
    const shaped = imConversation(noAvatar, undefined);
    expect(shaped.user.uid).toBe("");
    expect(shaped.user.avatar_thumb.url_list).toEqual([]);
  });
});

describe("imMessage", () => {
  it("gives the Douyin message shape with the time in seconds", () => {
    const dm = message({
      id: "m1",
      topicId: "cv1",
      kind: "dm",
      fromId: "buyer-1",
      fromName: "Buyer One",
      content: "hello",
      type: "image",
    });
    expect(imMessage(dm)).toEqual({
      msg_id: "m1",
      conversation_id: "cv1",
      sender: { uid: "buyer-1", nickname: "Buyer One" },
      content: "hello",
      msg_type: "image",
      create_time: 1_730_000_000,
    });
  });
});

describe("imDiscussion", () => {
  it("gives the Douyin comment shape with the time in seconds", () => {
    expect(imDiscussion(message())).toEqual({
      cid: "c1",
      text: "nice video",
      user: { uid: "fan-1", nickname: "Fan One" },
      aweme_id: "w1",
      create_time: 1_730_000_000,
    });
  });
});

describe("imContent", () => {
  it("gives the Douyin work shape: title as desc, like_count as digg_count, publish time in seconds", () => {
    const item: ContentItem = {
      work_id: "w1",
      title: "Spring sale",
      publish_time: 1_729_990_000_750,
      stats: { comment_count: 3, like_count: 10 },
    };
    expect(imContent(item, FALLBACK)).toEqual({
      aweme_id: "w1",
      desc: "Spring sale",
      statistics: { comment_count: 3, digg_count: 10 },
      create_time: 1_729_990_000,
    });
  });

  it("defaults an empty desc, zero statistics and the fallback time", () => {
    expect(imContent({ work_id: "w1" }, FALLBACK)).toEqual({
      aweme_id: "w1",
      desc: "",
      statistics: { comment_count: 0, digg_count: 0 },
      create_time: FALLBACK / 1000,
    });
  });

  it("keeps a publish time given in seconds", () => {
    expect(imContent({ work_id: "w1", publish_time: 1_729_990_000 }, FALLBACK).create_time).toBe(1_729_990_000);
  });
});

describe("imUnified", () => {
  it('wraps a DM as type "message" with the message shape', () => {
    const dm = message({ id: "m1", topicId: "cv1", kind: "dm" });
    expect(imUnified(dm)).toEqual({ id: "m1", type: "message", data: imMessage(dm), create_time: 1_730_000_000 });
    expect(imUnified(dm).data).toHaveProperty("msg_id", "m1");
  });

  it('wraps a comment as type "comment" with the comment shape', () => {
    expect(imUnified(message())).toEqual({
      id: "c1",
      type: "comment",
      data: imDiscussion(message()),
      create_time: 1_730_000_000,
    });
    expect(imUnified(message()).data).toHaveProperty("cid", "c1");
  });
});

// ---------------------------------------------------------------------------

const envelope = (snapshot: Record<string, unknown[]>, extra: Record<string, unknown> = {}) =>
  pushEnvelope.parse({ accountId: "acc-1", snapshot, ...extra });

describe("parseItems", () => {
  it("turns numeric ids into strings", () => {
    const parsed = parseItems(
      envelope({
        contents: [{ work_id: 42 }],
        comments: [{ comment_id: 1001, work_id: 42, content: "hi", author_id: 7, parent_comment_id: 1000 }],
        messages: [{ msg_id: 5, conversation_id: 9, content: "hello", sender: { user_id: 3 } }],
      }),
      FALLBACK,
    );
    expect(parsed.rejected).toEqual([]);
    expect(parsed.items.contents.map((i) => i.id)).toEqual(["42"]);
    expect(parsed.items.comments.map((i) => i.id)).toEqual(["1001"]);
    expect(JSON.parse(parsed.items.comments[0]!.json)).toMatchObject({
      comment_id: "1001",
      work_id: "42",
      author_id: "7",
      parent_comment_id: "1000",
    });
    expect(JSON.parse(parsed.items.messages[0]!.json)).toMatchObject({
      msg_id: "5",
      conversation_id: "9",
      sender: { user_id: "3" },
    });
  });

  it("accepts times given as numeric strings, as numbers", () => {
    const parsed = parseItems(
      envelope({
        comments: [{ comment_id: "c1", work_id: "w1", content: "hi", create_time: "1730000000" }],
        contents: [{ work_id: "w1", publish_time: "1729990000000" }],
      }),
      FALLBACK,
    );
    expect(parsed.rejected).toEqual([]);
    expect(JSON.parse(parsed.items.comments[0]!.json).create_time).toBe(1_730_000_000);
    expect(JSON.parse(parsed.items.contents[0]!.json).publish_time).toBe(1_729_990_000_000);
  });

  it("rejects an item time before 2000 or more than a day ahead, naming the field and the year, and keeps 0 as unknown", () => {
    const DAY = 24 * 3600 * 1000;
    const parsed = parseItems(
      envelope({
        comments: [
          { comment_id: "c1", work_id: "w1", content: "1970", create_time: 1_000 },
          { comment_id: "c2", work_id: "w1", content: "µs", create_time: 1_730_000_000_000_000 },
          { comment_id: "c3", work_id: "w1", content: "no date", create_time: 9e15 },
          { comment_id: "c4", work_id: "w1", content: "unknown", create_time: 0 },
          { comment_id: "c5", work_id: "w1", content: "tomorrow", create_time: (FALLBACK + DAY - 1000) / 1000 },
          { comment_id: "c6", work_id: "w1", content: "in two days", create_time: (FALLBACK + 2 * DAY) / 1000 },
        ],
        contents: [{ work_id: "w2", publish_time: "946684799" }],
        notifications: [{ notification_id: "n1", type: "like", content: "x", create_time: 1_000_000_000_000 }],
      }),
      FALLBACK,
    );
    expect(parsed.items.comments.map((item) => item.id)).toEqual(["c4", "c5"]);
    expect(parsed.items.notifications.map((item) => item.id)).toEqual(["n1"]);
    const issue = (kind: string, index: number) =>
      parsed.rejected.find((r) => r.kind === kind && r.index === index)?.issues;
    expect(issue("comments", 0)).toEqual([
      {
        path: "create_time",
        message: expect.stringMatching(/from 2000-01-01 to a day from now.*got 1000 \(year 1970\)/),
      },
    ]);
    expect(issue("comments", 1)![0]!.message).toMatch(/got 1730000000000000 \(year 56\d{3}\)/);
    expect(issue("comments", 2)![0]!.message).toMatch(/got 9000000000000000 \(no date at all\)/);
    expect(issue("comments", 5)![0]!.path).toBe("create_time");
    expect(issue("contents", 0)).toEqual([{ path: "publish_time", message: expect.stringContaining("year 1999") }]);
  });

  it("refuses an envelope timestamp that is not integer milliseconds in range, saying what it got", () => {
    const refusal = (timestamp: unknown) => {
      const parsed = pushEnvelope.safeParse({ accountId: "a1", timestamp, snapshot: {} });
      if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
      try {
        parseItems(parsed.data, FALLBACK);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ApiError);
        return (error as ApiError).payload.issues!.map((i) => `${i.path}: ${i.message}`);
      }
    };
    expect(refusal(1_730_000_000_000.5)).toEqual([
      "timestamp: must be integer milliseconds since the epoch, got 1730000000000.5",
    ]);
    expect(refusal(1_730_000_000)).toEqual([
      expect.stringMatching(/^timestamp: .*milliseconds.*got 1730000000 \(year 1970\)/),
    ]);
    expect(refusal(FALLBACK + 2 * 24 * 3600 * 1000)).toEqual([
      expect.stringMatching(/^timestamp: must be a time from 2000-01-01 to a day from now/),
    ]);
    expect(refusal(0)).toHaveLength(1);
    expect(refusal(FALLBACK - 1)).toEqual([]);
  });

  it("rejects a time that is not a number", () => {
    const parsed = parseItems(
      envelope({ comments: [{ comment_id: "c1", work_id: "w1", content: "hi", create_time: "yesterday" }] }),
      FALLBACK,
    );
    expect(parsed.items.comments).toEqual([]);
    expect(parsed.rejected).toEqual([
      { kind: "comments", index: 0, issues: [expect.objectContaining({ path: "create_time" })] },
    ]);
  });

  it("merges items repeated inside one push: later fields win, earlier ones are kept", () => {
    const parsed = parseItems(
      envelope({
        comments: [
          { comment_id: "c1", work_id: "w1", content: "first", author_name: "Fan" },
          { comment_id: "c2", work_id: "w1", content: "other" },
          { comment_id: "c1", work_id: "w1", content: "second", like_count: 4 },
        ],
      }),
      FALLBACK,
    );
    expect(parsed.received.comments).toBe(3);
    expect(parsed.items.comments.map((i) => i.id)).toEqual(["c1", "c2"]);
    expect(JSON.parse(parsed.items.comments[0]!.json)).toMatchObject({
      content: "second",
      author_name: "Fan",
      like_count: 4,
    });
  });

  it("keeps unknown fields", () => {
    const parsed = parseItems(envelope({ contents: [{ work_id: "w1", extra_field: { a: 1 } }] }), FALLBACK);
    expect(JSON.parse(parsed.items.contents[0]!.json).extra_field).toEqual({ a: 1 });
  });

  it("rejects an oversized item with a message giving the limit, and keeps the others", () => {
    const big = { work_id: "w-big", blob: "x".repeat(MAX_ITEM_BYTES + 1) };
    const parsed = parseItems(envelope({ contents: [{ work_id: "w1" }, big, { work_id: "w2" }] }), FALLBACK);
    expect(parsed.items.contents.map((i) => i.id)).toEqual(["w1", "w2"]);
    expect(parsed.rejected).toEqual([
      { kind: "contents", index: 1, issues: [{ path: "", message: expect.stringMatching(/larger than 256 KiB/) }] },
    ]);
  });

  it("requires comment_id or platform_comment_id", () => {
    const parsed = parseItems(
      envelope({
        comments: [
          { work_id: "w1", content: "no id" },
          { platform_comment_id: "pc-1", work_id: "w1", content: "platform id only" },
          { comment_id: null, platform_comment_id: null, work_id: "w1", content: "null ids" },
        ],
      }),
      FALLBACK,
    );
    expect(parsed.items.comments.map((i) => i.id)).toEqual(["pc-1"]);
    expect(parsed.rejected).toEqual([
      {
        kind: "comments",
        index: 0,
        issues: [{ path: "comment_id", message: expect.stringMatching(/comment_id or platform_comment_id/) }],
      },
      {
        kind: "comments",
        index: 2,
        issues: [{ path: "comment_id", message: expect.stringMatching(/comment_id or platform_comment_id/) }],
      },
    ]);
  });

  it("reports each missing required field by its path", () => {
    const parsed = parseItems(
      envelope({
        contents: [{ title: "no id" }],
        conversations: [{ participant: { user_name: "x" } }],
        messages: [{ msg_id: "m1", content: "no conversation" }],
        notifications: [{ type: "like" }],
      }),
      FALLBACK,
    );
    const paths = parsed.rejected.map((r) => [r.kind, r.issues.map((i) => i.path)]);
    expect(paths).toEqual(
      expect.arrayContaining([
        ["contents", ["work_id"]],
        ["conversations", ["conversation_id"]],
        ["messages", ["conversation_id"]],
        ["notifications", ["notification_id"]],
      ]),
    );
    expect(paths).toHaveLength(4);
  });

  it("gives the same item the same hash and a changed item another", () => {
    const a = parseItems(envelope({ contents: [{ work_id: "w1", title: "A" }] }), FALLBACK).items.contents[0]!;
    const again = parseItems(envelope({ contents: [{ work_id: "w1", title: "A" }] }), FALLBACK).items.contents[0]!;
    const changed = parseItems(envelope({ contents: [{ work_id: "w1", title: "B" }] }), FALLBACK).items.contents[0]!;
    expect(again.hash).toBe(a.hash);
    expect(changed.hash).not.toBe(a.hash);
  });

  it("uses the crawler's timestamp, or the receive time when there is none", () => {
    expect(parseItems(envelope({}, { timestamp: 1_730_000_000_000 }), FALLBACK).timestamp).toBe(1_730_000_000_000);
    expect(parseItems(envelope({}), FALLBACK).timestamp).toBe(FALLBACK);
  });
});

describe("packPush and unpackPush", () => {
  it("hand the object exactly the items parsed, whatever the text", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" })), { maxLength: 20 }),
        (texts) => {
          const parsed = parseItems(
            envelope({
              contents: [{ work_id: "w1", title: texts[0]?.[1] ?? "" }],
              comments: texts.map(([content, name], i) => ({
                comment_id: `c${i}`,
                work_id: "w1",
                content,
                author_name: name,
              })),
            }),
            FALLBACK,
          );
          const packed = packPush(parsed);
          expect(packed.text).toBeInstanceOf(Uint8Array);
          const { rejected, ...rest } = parsed;
          expect(unpackPush(packed)).toEqual({ ...rest, rejectedCount: rejected.length });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("answers 413 when even packed the items cannot cross in one call", () => {
    const json = JSON.stringify({ work_id: "w", title: "x".repeat(1024 * 1024) });
    const items = Array.from({ length: 33 }, (_, i) => ({ index: i, id: `w${i}`, json, hash: "h" }));
    const parsed = parseItems(envelope({}), FALLBACK);
    let thrown: unknown;
    try {
      packPush({ ...parsed, items: { ...parsed.items, contents: items } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).status).toBe(413);
    expect((thrown as ApiError).message).toMatch(/split it into smaller pushes/);
    // 30 such items fit.
    const fits = packPush({ ...parsed, items: { ...parsed.items, contents: items.slice(0, 30) } });
    expect(unpackPush(fits).items.contents.map((item) => item.id)).toEqual(items.slice(0, 30).map((item) => item.id));
  });
});
