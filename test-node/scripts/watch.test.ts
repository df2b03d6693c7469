import { describe, expect, it } from "vitest";
import type { Message } from "../../src/contract/schemas";
import { UsageError } from "../../scripts/cli";
import { formatFrame, parseWatchArgs, socketUrl } from "../../scripts/watch";

const message = (extra: Partial<Message> = {}): Message => ({
  id: "c1",
  channelId: "douyin-1001",
  topicId: "w1",
  seq: 42,
  kind: "comment",
  fromId: "u1",
  fromName: "小明",
  content: "好喜欢这个视频 😍",
  type: "text",
  timestamp: 1_730_000_000_000,
  direction: "in",
  ...extra,
});

describe("formatFrame", () => {
  it("prints a new comment as one line with its seq, topic, author and text", () => {
    const frame = {
      type: "channel:message",
      payload: { seq: 42, channelId: "douyin-1001", topicId: "w1", message: message() },
    } as const;
    expect(formatFrame(frame)).toEqual(["#42 channel:message comment [w1] 小明: 好喜欢这个视频 😍"]);
  });

  it("marks the account's own messages, replies and images", () => {
    const dm = message({
      kind: "dm",
      topicId: "cv1",
      fromName: "Brand A",
      direction: "out",
      content: "[图片]",
      type: "image",
      fileUrl: "https://x/y.jpg",
    });
    expect(formatFrame({ type: "message:updated", payload: { seq: 7, message: dm } })).toEqual([
      "#7 message:updated dm [cv1] Brand A (out): [图片] [image https://x/y.jpg]",
    ]);
    const reply = message({ replyToId: "c0", content: "line one\nline two" });
    expect(
      formatFrame({ type: "channel:message", payload: { seq: 8, channelId: "d", topicId: "w1", message: reply } }),
    ).toEqual(["#8 channel:message comment [w1] 小明 ↪ c0: line one ⏎ line two"]);
  });

  it("unpacks a batch into one line per frame, in order", () => {
    const topic = {
      id: "w1",
      channelId: "d",
      kind: "work" as const,
      title: "新品试色",
      lastMessage: "hi",
      lastMessageTime: 1,
      messageCount: 3,
      unreadCount: 2,
    };
    const lines = formatFrame({
      type: "batch",
      payload: {
        frames: [
          { type: "channel:message", payload: { seq: 1, channelId: "d", topicId: "w1", message: message({ seq: 1 }) } },
          { type: "topic:updated", payload: { seq: 2, topic } },
          {
            type: "notification:new",
            payload: {
              seq: 3,
              notification: {
                id: "n1",
                channelId: "d",
                type: "like",
                title: "Lily 赞了你的作品",
                content: "新品试色",
                timestamp: 1,
              },
            },
          },
        ],
      },
    });
    expect(lines).toEqual([
      "#1 channel:message comment [w1] 小明: 好喜欢这个视频 😍",
      "#2 topic:updated [w1] 新品试色 · 3 messages · 2 unread",
      "#3 notification:new like · Lily 赞了你的作品 · 新品试色",
    ]);
  });

  it("prints the channel list and its updates", () => {
    const channel = {
      id: "douyin-1001",
      name: "Brand A",
      avatar: "",
      platform: "douyin",
      description: "",
      lastMessage: "求链接",
      lastMessageTime: 1,
      unreadCount: 5,
      messageCount: 9,
      isPinned: true,
      enabled: true,
      lastSyncAt: 1,
      seq: 12,
      health: {
        crawler: "late" as const,
        lastSeenAt: 1,
        intervalMs: 30_000,
        login: "logged_in" as const,
        error: "captcha",
        storage: "ok" as const,
      },
    };
    expect(formatFrame({ type: "monitor:channels", payload: { channels: [channel] } })).toEqual([
      "channels (1):",
      "  douyin-1001 Brand A (pinned) · crawler late, logged_in (captcha) · seq 12 · 5 unread of 9 · last: 求链接",
    ]);
    expect(formatFrame({ type: "channel:updated", payload: { channel } })).toEqual([
      "channel:updated douyin-1001 Brand A (pinned) · crawler late, logged_in (captcha) · seq 12 · 5 unread of 9 · last: 求链接",
    ]);
  });

  it("prints nothing for a pong and a short line for errors and unknown frames", () => {
    expect(formatFrame({ type: "pong" })).toEqual([]);
    expect(
      formatFrame({ type: "error", payload: { code: "invalid_frame", message: 'type: unknown frame type "x"' } }),
    ).toEqual(['error invalid_frame: type: unknown frame type "x"']);
    expect(formatFrame({ type: "something:new", payload: { a: 1 } })).toEqual(['something:new {"a":1}']);
  });
});

describe("parseWatchArgs", () => {
  it("takes an account, or --directory", () => {
    expect(parseWatchArgs(["douyin-1001"])).toEqual({
      url: "http://127.0.0.1:8787",
      tenant: "demo",
      accountId: "douyin-1001",
      since: null,
    });
    expect(parseWatchArgs(["--directory", "--tenant", "acme", "--url", "https://edge.example"])).toEqual({
      url: "https://edge.example",
      tenant: "acme",
      accountId: null,
      since: null,
    });
    expect(parseWatchArgs(["douyin-1001", "--since", "0"]).since).toBe(0);
  });

  it.each([
    [[], "give the accountId to watch (e.g. douyin-1001), or --directory"],
    [["a", "--directory"], "give either an accountId or --directory, not both"],
    [["a", "b"], 'unexpected argument "b"'],
    [["bad id"], 'accountId must be 1–128 characters of A–Z a–z 0–9 : _ . - (got "bad id")'],
    [["a", "--since", "-1"], '--since must be a seq, a whole number ≥ 0 (got "-1")'],
    [["--directory", "--since", "3"], "--since is for an account, not --directory"],
  ])("refuses %j", (argv, text) => {
    expect(() => parseWatchArgs(argv)).toThrow(new UsageError(text));
  });

  it("builds the socket URLs of PROTOCOL §6", () => {
    const room = parseWatchArgs(["douyin-1001", "--url", "https://edge.example"]);
    expect(socketUrl(room, "T", { clientId: "w1", since: 5, epoch: "e" })).toBe(
      "wss://edge.example/api/v1/accounts/douyin-1001/ws?token=T&clientId=w1&since=5&epoch=e",
    );
    expect(socketUrl(parseWatchArgs(["--directory"]), "T")).toBe("ws://127.0.0.1:8787/api/v1/ws?token=T");
  });
});
