/**
 * Ids shared across kinds inside one push: one name used as a comment id, a DM id, a work and a
 * conversation at once. Its own property instead of being mixed into the generated pushes, so
 * that it is reported by itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { uid } from "../helpers";
import { seedBaseline, thenBaselineIntact } from "./baseline";
import { get, nextNonce, postSync, pushSnapshot, topicMessages } from "./client";
import { expectIssues, like } from "./expect";
import type { Json } from "./expect";
import { RUNS } from "./runs";
import { cleanText } from "./text";

type SharedItem = { id: number; topic: number; content: string };
type SharedCase = { comments: SharedItem[]; messages: SharedItem[]; contents: number[]; conversations: number[] };
const sharedItem = fc.record({ id: fc.nat({ max: 2 }), topic: fc.nat({ max: 2 }), content: cleanText });
const sharedCase: fc.Arbitrary<SharedCase> = fc.record({
  comments: fc.array(sharedItem, { minLength: 1, maxLength: 4 }),
  messages: fc.array(sharedItem, { minLength: 1, maxLength: 4 }),
  contents: fc.array(fc.nat({ max: 2 }), { maxLength: 2 }),
  conversations: fc.array(fc.nat({ max: 2 }), { maxLength: 2 }),
});

const ID_PATHS = ["comment_id", "platform_comment_id", "msg_id", "work_id", "conversation_id"];

/**
 * One name used as a comment id, a DM id, a work and a conversation in the same push. What is
 * refused across two pushes ("already a comment of this account") must be refused, not
 * crash or mix kinds, inside one.
 */
async function checkSharedIds(accountId: string, c: SharedCase, nonce: number): Promise<void> {
  const name = (k: number) => `x${nonce}.${k}`;
  const snapshot = {
    contents: c.contents.map((k) => ({ work_id: name(k), title: `work ${k}` })),
    conversations: c.conversations.map((k) => ({ conversation_id: name(k), participant: { user_name: `buyer ${k}` } })),
    comments: c.comments.map((i) => ({ comment_id: name(i.id), work_id: name(i.topic), content: i.content })),
    messages: c.messages.map((i) => ({ msg_id: name(i.id), conversation_id: name(i.topic), content: i.content })),
  };
  const res = await pushSnapshot(accountId, snapshot);
  if (res.status !== 200)
    throw new Error(`push answered ${res.status}: ${JSON.stringify(res.json)} for ${JSON.stringify(snapshot)}`);
  const rejected = new Set<string>();
  for (const r of res.json.rejected) {
    expectIssues(r.issues);
    expect(ID_PATHS, JSON.stringify(r)).toContain(r.issues[0].path);
    rejected.add(`${r.kind}[${r.index}]`);
  }
  const topics: Json[] = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
  const kindOf = new Map(topics.map((t) => [t.id, t.kind]));
  const seen = new Map<string, Json>();
  for (let k = 0; k <= 2; k++) {
    const topicKind = kindOf.get(name(k));
    if (!topicKind) continue;
    for (const message of await topicMessages(accountId, name(k))) {
      // A work holds comments, a conversation DMs.
      expect([message.kind, topicKind], `message ${message.id} in topic ${name(k)}`).toEqual([
        topicKind === "work" ? "comment" : "dm",
        topicKind,
      ]);
      expect(seen.has(message.id), `message id ${message.id} stored once`).toBe(false);
      seen.set(message.id, message);
    }
  }
  for (const kind of ["comments", "messages"] as const) {
    const items = c[kind];
    const groups = new Map<number, number[]>();
    items.forEach((item, index) => groups.set(item.id, [...(groups.get(item.id) ?? []), index]));
    for (const [id, indices] of groups) {
      if (indices.some((i) => rejected.has(`${kind}[${i}]`))) continue;
      const last = items[indices[indices.length - 1]!]!;
      const message = seen.get(name(id));
      expect(message, `${kind} ${name(id)} is stored or rejected`).toBeDefined();
      like(
        message,
        { kind: kind === "comments" ? "comment" : "dm", topicId: name(last.topic), content: last.content },
        `${kind} ${name(id)}`,
      );
    }
  }
}

describe("ids shared across kinds in one push", () => {
  it("a name used as comment id, DM id, work and conversation at once is stored consistently or rejected naming the id, never a 5xx", async () => {
    const accountId = uid("fuzz-shared");
    const base = await seedBaseline(accountId);
    // One body per run: this property's share of the 1,000 in totals.test.ts.
    let sent = 0;
    await thenBaselineIntact(base, () =>
      fc.assert(
        fc.asyncProperty(sharedCase, async (c) => {
          await checkSharedIds(accountId, c, nextNonce());
          sent++;
        }),
        { numRuns: RUNS.sharedIds },
      ),
    );
    expect(sent).toBe(RUNS.sharedIds);
  }, 60_000);

  it("regression: a comment and a DM with the same id in one push", async () => {
    const accountId = uid("shared-id");
    const res = await postSync(
      accountId,
      JSON.stringify({
        accountId,
        snapshot: {
          comments: [{ comment_id: "X", work_id: "w1", content: "a comment" }],
          messages: [{ msg_id: "X", conversation_id: "cv1", content: "a DM" }],
        },
      }),
    );
    // The same two items in two pushes: the second is rejected "X is already a comment of this account".
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.rejected).toEqual([
      { kind: "messages", index: 0, issues: [{ path: "msg_id", message: expect.any(String) }] },
    ]);
  });

  it("regression: a DM never lands in a work that a comment of the same push created", async () => {
    const accountId = uid("shared-topic");
    const res = await postSync(
      accountId,
      JSON.stringify({
        accountId,
        snapshot: {
          comments: [{ comment_id: "c1", work_id: "T", content: "a comment" }],
          messages: [{ msg_id: "m1", conversation_id: "T", content: "a DM" }],
        },
      }),
    );
    expect(res.status).toBe(200);
    const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
    expect(topics.map((t: Json) => [t.id, t.kind])).toEqual([["T", "work"]]);
    const messages = await topicMessages(accountId, "T");
    // As across two pushes: the DM is rejected, naming conversation_id.
    expect(messages.map((m) => m.kind)).toEqual(["comment"]);
    expect(res.json.rejected).toEqual([
      { kind: "messages", index: 0, issues: [{ path: "conversation_id", message: expect.any(String) }] },
    ]);
  });
});
