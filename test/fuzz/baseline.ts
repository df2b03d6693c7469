/**
 * Valid data pushed before a property, that the property must leave alone: after each
 * property the data pushed before it is intact and the event log replays as 1..N without a gap.
 */
import { expect } from "vitest";
import { comment, conversation, dm, work } from "../helpers";
import type { Frame } from "../helpers";
import { get, messagesPath, pushSnapshot, replayAll } from "./client";
import { eq, expectNoGap, like } from "./expect";
import type { Json } from "./expect";

/** What a room held before a property ran. */
export type Baseline = {
  accountId: string;
  topics: Json[];
  pages: Record<string, Json[]>;
  events: string[];
  epoch: string;
  seq: number;
};

/** The topics of the baseline: a work and a conversation. */
export const BASE_TOPICS = ["base-w1", "base-v1"];

/** Pushes the baseline into a fresh account and reads it back. */
export async function seedBaseline(accountId: string): Promise<Baseline> {
  const res = await pushSnapshot(accountId, {
    contents: [work("base-w1", { title: "Base work'); DROP TABLE topics;--" })],
    comments: [
      comment("base-c1", "base-w1", { content: "'); DROP TABLE messages;--" }),
      comment("base-c2", "base-w1", { content: "👨‍👩‍👧‍👦 مرحبا بالعالم \u200B\u200D x\uDBFF\uDFFFy \u202Eabc" }),
      comment("base-c3", "base-w1", { content: '" OR 1=1 -- ; SELECT * FROM account' }),
    ],
    conversations: [conversation("base-v1")],
    messages: [
      dm("base-m1", "base-v1", { content: "שלום 🇨🇳 漢字" }),
      dm("base-m2", "base-v1", { direction: "out", content: "\u0000nul\u0000" }),
    ],
    notifications: [
      {
        notification_id: "base-n1",
        type: "like",
        title: "t",
        content: "n 😀",
        create_time: 1_729_999_600,
        related_id: "base-w1",
      },
    ],
  });
  expect(res.status).toBe(200);
  expect(res.json.rejected).toEqual([]);
  const pages: Record<string, Json[]> = {};
  for (const topic of BASE_TOPICS) {
    const page = await get(messagesPath(accountId, topic));
    expect(page.status).toBe(200);
    pages[topic] = page.json.messages;
  }
  const topics = (await get(`/api/v1/accounts/${accountId}/topics`)).json.topics.filter((t: Json) =>
    BASE_TOPICS.includes(t.id),
  );
  const { events, complete } = await replayAll(accountId);
  expectNoGap(events, res.json.seq);
  return {
    accountId,
    topics,
    pages,
    events: events.map((e) => JSON.stringify(e)),
    epoch: complete.payload.epoch,
    seq: res.json.seq,
  };
}

/** The baseline still reads the same, and the whole log replays 1..N. Returns the replay. */
export async function expectBaselineIntact(base: Baseline): Promise<{ events: Frame[]; seq: number }> {
  for (const topic of BASE_TOPICS) {
    const page = await get(messagesPath(base.accountId, topic));
    expect(page.status).toBe(200);
    eq(page.json.messages, base.pages[topic], `baseline messages of ${topic}`);
  }
  const topics = (await get(`/api/v1/accounts/${base.accountId}/topics`)).json.topics;
  for (const before of base.topics) {
    const now = topics.find((t: Json) => t.id === before.id);
    like(
      now,
      { kind: before.kind, title: before.title, messageCount: before.messageCount },
      `baseline topic ${before.id}`,
    );
  }
  const { events, complete } = await replayAll(base.accountId);
  expect(complete.payload.epoch).toBe(base.epoch);
  expectNoGap(events, complete.payload.seq);
  eq(
    events.slice(0, base.events.length).map((e) => JSON.stringify(e)),
    base.events,
    "baseline events replayed unchanged",
  );
  // Queries still answer.
  expect((await get(`/api/im/discussions?account_id=${base.accountId}&count=5`)).status).toBe(200);
  expect((await get(`/api/im/conversations?account_id=${base.accountId}&count=5`)).status).toBe(200);
  return { events, seq: complete.payload.seq };
}

/**
 * Runs a property, then checks the baseline whether or not it failed (a failed push must not
 * have left half of itself behind either); the property's own failure is the one reported.
 */
export async function thenBaselineIntact(base: Baseline, property: () => Promise<void>): Promise<void> {
  let failure: unknown = null;
  try {
    await property();
  } catch (error) {
    failure = error;
  }
  await expectBaselineIntact(base);
  if (failure) throw failure;
}
