import { describe, expect, it } from "vitest";
import { halve, mergeAnswers, splitPart, wholePart } from "./crawler-split";
import type { PushBody } from "./crawler-split";
import { createCrawlerClient } from "./crawler";

const body = (comments: number, messages: number): PushBody => ({
  accountId: "acc-1",
  platform: "douyin",
  timestamp: 1_730_000_000_000,
  crawler: { intervalMs: 60_000 },
  snapshot: {
    contents: [{ work_id: "w1", title: "a work" }],
    comments: Array.from({ length: comments }, (_, i) => ({
      comment_id: `c${i}`,
      work_id: "w1",
      content: "评".repeat(100),
    })),
    conversations: [{ conversation_id: "cv1" }],
    messages: Array.from({ length: messages }, (_, i) => ({
      msg_id: `m${i}`,
      conversation_id: "cv1",
      content: "x".repeat(300),
    })),
  },
});

const size = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

describe("splitting a snapshot", () => {
  it("cuts it into parts under the limit that carry every item once, each with the envelope", () => {
    const whole = body(50, 30);
    const parts = splitPart(wholePart(whole), 4_096);
    expect(parts.length).toBeGreaterThan(5);
    for (const part of parts) {
      expect(size(part.body)).toBeLessThanOrEqual(4_096);
      expect(part.body).toMatchObject({ accountId: "acc-1", platform: "douyin", crawler: { intervalMs: 60_000 } });
    }
    const ids = parts.flatMap((p) =>
      (p.body.snapshot.comments ?? []).map((c) => (c as { comment_id: string }).comment_id),
    );
    expect(ids).toEqual(whole.snapshot.comments!.map((c) => (c as { comment_id: string }).comment_id));
    // Works and conversations go first, before the comments and DMs that belong to them.
    expect(Object.keys(parts[0]!.body.snapshot).slice(0, 2)).toEqual(["contents", "conversations"]);
  });

  it("leaves a snapshot under the limit whole, and refuses an item that alone is over it", () => {
    expect(splitPart(wholePart(body(2, 2)), 1_000_000)).toHaveLength(1);
    const huge = body(1, 0);
    (huge.snapshot.comments![0] as { content: string }).content = "x".repeat(10_000);
    expect(() => splitPart(wholePart(huge), 4_096)).toThrow(/snapshot\.comments\[0\] alone is \d+ bytes/);
  });

  it("halves by item count, and merged answers give rejected items their index in the whole snapshot", () => {
    const [first, second] = halve(wholePart(body(10, 0)));
    // 12 items: the work and the conversation are two of the first six.
    expect(first.body.snapshot.comments).toHaveLength(4);
    expect(second.indices.comments).toEqual([4, 5, 6, 7, 8, 9]);
    const merged = mergeAnswers([
      {
        part: first,
        answer: {
          ok: true,
          seq: 7,
          counts: { comments: { received: 4, new: 4, updated: 0 } },
          rejected: [],
          warnings: [{ path: "snapshot.dms", message: "unknown key, ignored; did you mean messages?" }],
        },
      },
      {
        part: second,
        answer: {
          ok: true,
          seq: 9,
          counts: { comments: { received: 6, new: 5, updated: 1 } },
          rejected: [{ kind: "comments", index: 2, issues: [{ path: "work_id", message: "Required" }] }],
          warnings: [{ path: "snapshot.dms", message: "unknown key, ignored; did you mean messages?" }],
        },
      },
    ]);
    expect(merged).toEqual({
      ok: true,
      seq: 9,
      counts: { comments: { received: 10, new: 9, updated: 1 } },
      rejected: [{ kind: "comments", index: 6, issues: [{ path: "work_id", message: "Required" }] }],
      warnings: [{ path: "snapshot.dms", message: "unknown key, ignored; did you mean messages?" }],
    });
  });

  it("push refuses an item over maxPushBytes with payload_too_large, sending nothing", async () => {
    let sent = 0;
    const client = createCrawlerClient({
      url: "http://127.0.0.1:9",
      token: "t",
      maxPushBytes: 4_096,
      fetch: async () => {
        sent++;
        return new Response("{}");
      },
    });
    const huge = body(1, 0);
    (huge.snapshot.comments![0] as { content: string }).content = "x".repeat(10_000);
    await expect(client.push(huge)).rejects.toMatchObject({ code: "payload_too_large" });
    expect(sent).toBe(0);
  });
});
