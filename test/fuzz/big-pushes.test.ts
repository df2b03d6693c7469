/**
 * One big push: nesting deeper than JSON.stringify reaches, and 25,000 comments at once (as many as the push limit holds).
 */
import { describe, expect, it } from "vitest";
import { uid } from "../helpers";
import { expectBaselineIntact, seedBaseline } from "./baseline";
import { get, messagesPath, openSocket, postSync, topicMessages } from "./client";
import { MAX_PUSH } from "./envelopes";
import { eq, expectIssues, show } from "./expect";
import type { Json } from "./expect";

describe("nesting deeper than JSON.stringify reaches", () => {
  it("in an unknown field of an item, of the envelope, or as the item itself: 200, each item stored exactly or rejected", async () => {
    const accountId = uid("fuzz-deep");
    const base = await seedBaseline(accountId);
    const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const deepObject = (depth: number) => `${'{"d":'.repeat(depth)}0${"}".repeat(depth)}`;
    const items = [
      `{"comment_id":"d1","work_id":"deep","content":"'); DROP TABLE messages;--","x_deep":${deep(100_000)}}`,
      `{"comment_id":"d2","work_id":"deep","content":"😀","x_deep":${deepObject(50_000)}}`,
      `{"comment_id":"d3","work_id":"deep","content":"too big","x_deep":${deep(1_000_000)}}`,
      deep(100_000),
    ];
    const body = `{"accountId":"${accountId}","x_envelope":${deepObject(100_000)},"snapshot":{"comments":[${items.join(",")}]}}`;
    const res = await postSync(accountId, body);
    expect(res.status, show(res.json).slice(0, 300)).toBe(200);
    expect(res.json.counts.comments.received).toBe(4);
    const rejected = new Map<number, Json>(res.json.rejected.map((r: Json) => [r.index, r]));
    for (const r of res.json.rejected) expectIssues(r.issues);
    // The item that is an array, and the one over the item limit, are rejected.
    expect(rejected.has(3)).toBe(true);
    expect(rejected.get(2)?.issues[0].path).toBe("");
    const stored = (await topicMessages(accountId, "deep")).map((m) => [m.id, m.content]);
    const expected = [
      ["d1", "'); DROP TABLE messages;--"],
      ["d2", "😀"],
    ].filter((_, i) => !rejected.has(i));
    eq(stored, expected, "the deep items stored");
    expect(res.json.counts.comments.new).toBe(expected.length);
    await expectBaselineIntact(base);
  }, 60_000);
});

describe("25,000 comments in one push", () => {
  it("is stored in one 200, pages still work, and the same push again makes no event", async () => {
    const accountId = uid("fuzz-50k");
    const start = 1_731_000_000;
    const comments = Array.from({ length: 25_000 }, (_, i) => ({
      comment_id: `c${i}`,
      work_id: "w50k",
      content: i % 1000 === 0 ? `'); DROP TABLE messages;-- 😀 ${i}` : `comment ${i}`,
      author_id: `u${i % 97}`,
      author_name: `Fan ${i % 97}`,
      create_time: start + i,
    }));
    const body = JSON.stringify({
      type: "worker:data:sync",
      accountId,
      platform: "douyin",
      timestamp: Date.now(),
      snapshot: { comments },
    });
    expect(new TextEncoder().encode(body).length).toBeLessThan(MAX_PUSH);
    const first = await postSync(accountId, body);
    expect(first.status, JSON.stringify(first.json).slice(0, 300)).toBe(200);
    expect(first.json.counts).toEqual({ comments: { received: 25_000, new: 25_000, updated: 0 } });
    expect(first.json.rejected).toEqual([]);
    expect(first.json.seq).toBe(25_001);

    const page = await get(messagesPath(accountId, "w50k", "limit=50"));
    expect(page.status).toBe(200);
    expect(page.json.hasMore).toBe(true);
    expect(page.json.messages.map((m: Json) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `c${24_950 + i}`));
    const older = await get(messagesPath(accountId, "w50k", `limit=50&before=${page.json.messages[0].seq}`));
    expect(older.json.messages.map((m: Json) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `c${24_900 + i}`));
    expect(older.json.hasMore).toBe(true);
    const oldest = await get(messagesPath(accountId, "w50k", "limit=50&before=51"));
    expect(oldest.json.messages.map((m: Json) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    expect(oldest.json.hasMore).toBe(false);
    const compat = await get(`/api/im/discussions?account_id=${accountId}&count=100&cursor=24900`);
    expect(compat.json.data.discussions.map((d: Json) => d.cid)).toEqual(
      Array.from({ length: 100 }, (_, i) => `c${99 - i}`),
    );
    expect(compat.json.data.has_more).toBe(false);
    const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
    expect(topics[0]).toMatchObject({
      id: "w50k",
      messageCount: 25_000,
      unreadCount: 25_000,
      lastMessage: "comment 24999",
    });

    const socket = await openSocket(accountId);
    const again = await postSync(accountId, body);
    expect(again.status).toBe(200);
    expect(again.json.seq).toBe(25_001);
    expect(again.json.counts).toEqual({ comments: { received: 25_000, new: 0, updated: 0 } });
    await socket.settle(200);
    expect(socket.events()).toEqual([]);
    socket.close();
  }, 90_000);
});
