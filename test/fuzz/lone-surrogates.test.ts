/**
 * Text that is not well-formed UTF-16 in the fields kept in SQL text columns: lone surrogates in
 * topic ids, titles, participant names and last-message previews. Its own property instead of
 * being mixed into the generated pushes, so that it is reported by itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextTime, uid } from "../helpers";
import { seedBaseline, thenBaselineIntact } from "./baseline";
import { get, nextNonce, pushSnapshot } from "./client";
import { eq, show } from "./expect";
import type { Json } from "./expect";
import type { Kind } from "./items";
import { RUNS } from "./runs";
import { clip, cleanText, hasLoneSurrogate, LONE } from "./text";

type LoneCase = { topicSuffix: string; title: string; participant: string; comment: string; dm: string };
const withLone = fc
  .tuple(cleanText, fc.constantFrom(...LONE), cleanText)
  .map(([a, lone, b]) => a + lone + b)
  .filter((s) => hasLoneSurrogate(s));
const loneCase: fc.Arbitrary<LoneCase> = fc.record({
  topicSuffix: fc.oneof(
    fc.constant(""),
    withLone.map((s) => clip(s, 100)),
  ),
  title: fc.oneof(cleanText, withLone),
  participant: fc.oneof(cleanText, withLone),
  comment: withLone,
  dm: withLone,
});

/** Each item is either stored exactly (ids, titles, last-message previews) or rejected naming the field. */
async function checkLone(accountId: string, c: LoneCase, nonce: number): Promise<void> {
  const workId = `lw${nonce}${c.topicSuffix}`;
  const conversationId = `lv${nonce}${c.topicSuffix}`;
  const t = nextTime();
  const snapshot = {
    contents: [{ work_id: workId, title: c.title }],
    conversations: [{ conversation_id: conversationId, participant: { user_id: "p", user_name: c.participant } }],
    comments: [{ comment_id: `lc${nonce}`, work_id: workId, content: c.comment, create_time: t }],
    messages: [{ msg_id: `lm${nonce}`, conversation_id: conversationId, content: c.dm, create_time: t }],
  };
  const res = await pushSnapshot(accountId, snapshot);
  expect(res.status).toBe(200);
  const rejected = new Map<string, string[]>(
    res.json.rejected.map((r: Json) => [r.kind, r.issues.map((i: Json) => i.path)]),
  );
  const refused = (kind: Kind, fields: string[]): boolean => {
    const paths = rejected.get(kind);
    if (paths)
      expect(
        paths.some((p) => fields.includes(p)),
        `${kind} rejected for ${show(paths)}`,
      ).toBe(true);
    return paths !== undefined;
  };
  const topics: Json[] = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
  const topic = (id: string): Json => {
    const found = topics.find((x) => x.id === id);
    expect(
      found,
      `topic ${show(id)} listed with its exact id; listed: ${show(topics.map((x) => x.id).slice(0, 6))}`,
    ).toBeDefined();
    return found;
  };
  // (An empty title shows the placeholder.)
  if (!refused("contents", ["work_id", "title"]))
    eq(topic(workId).title, c.title || "Untitled work", "work title round-trips");
  if (!refused("conversations", ["conversation_id", "participant.user_name"])) {
    eq(topic(conversationId).title, c.participant || "Unknown user", "participant name round-trips");
  }
  if (!refused("comments", ["work_id", "content"]))
    eq(topic(workId).lastMessage, c.comment, "the work's lastMessage round-trips");
  if (!refused("messages", ["conversation_id", "content"]))
    eq(topic(conversationId).lastMessage, c.dm, "the conversation's lastMessage round-trips");
}

describe("lone surrogates", () => {
  it("in topic ids, titles, participant names and last messages: stored exactly or rejected naming the field", async () => {
    const accountId = uid("fuzz-lone");
    const base = await seedBaseline(accountId);
    // One body per run: this property's share of the 1,000 in totals.test.ts.
    let sent = 0;
    await thenBaselineIntact(base, () =>
      fc.assert(
        fc.asyncProperty(loneCase, async (c) => {
          await checkLone(accountId, c, nextNonce());
          sent++;
        }),
        { numRuns: RUNS.loneSurrogates },
      ),
    );
    expect(sent).toBe(RUNS.loneSurrogates);
  }, 60_000);

  it("regression: a work id, a title and a last message with a lone surrogate", async () => {
    const accountId = uid("lone");
    const snapshot = {
      contents: [{ work_id: "w\uD800", title: "title \uDC00" }],
      comments: [{ comment_id: "c1", work_id: "w\uD800", content: "last \uD83D" }],
    };
    const res = await pushSnapshot(accountId, snapshot);
    expect(res.status).toBe(200);
    // Refusing such text (naming the field) would be as good as keeping it exactly; what is kept must be exact.
    if (res.json.rejected.length === 0) {
      const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics;
      eq(
        topics.map((t: Json) => [t.id, t.title, t.lastMessage]),
        [["w\uD800", "title \uDC00", "last \uD83D"]],
      );
    } else {
      for (const r of res.json.rejected) expect(["work_id", "title", "content"]).toContain(r.issues[0].path);
    }
  });
});
