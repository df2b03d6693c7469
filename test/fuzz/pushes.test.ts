/**
 * Generated snapshot pushes (PROTOCOL §3, §4): valid, mutated and duplicated items of every kind.
 *
 * Every push must answer 200, stored exactly as far as it is valid, the rest reported naming
 * the field, never 5xx. After the property the data pushed before it is intact and the event
 * log replays as 1..N without a gap; everything the property stored reads back the same through
 * the topic list, the compatibility API and the replay.
 *
 * Ids inside one property run carry a per-run nonce, so every run talks about items the
 * account has never seen and its expected outcome is exact.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { uid } from "../helpers";
import { expectBaselineIntact, seedBaseline } from "./baseline";
import { nextNonce, postSync } from "./client";
import { eq } from "./expect";
import { pushCase } from "./items";
import type { Kind } from "./items";
import { expectedEvents, expectPushAnswer, plan } from "./oracle";
import { RUNS } from "./runs";
import { checkModel, checkStored } from "./stored";
import type { Model } from "./stored";

describe("generated snapshot pushes", () => {
  it(`${RUNS.pushes} generated pushes of valid, mutated and duplicated items: each 200 with exact counts, valid items stored exactly, invalid ones rejected naming the field`, async () => {
    const accountId = uid("fuzz-items");
    const base = await seedBaseline(accountId);
    let seq = base.seq;
    const model: Model = {
      comments: new Map(),
      dms: new Map(),
      contents: new Map(),
      conversations: new Map(),
      notifications: new Map(),
    };
    // One body per run, a repeat not counted: this property's share of the 1,000 in totals.test.ts.
    const sent = { bodies: 0, items: 0 };
    await fc.assert(
      fc.asyncProperty(pushCase, async (c) => {
        const nonce = nextNonce();
        const p = plan(accountId, c, nonce);
        const body = JSON.stringify(p.body);
        const res = await postSync(accountId, body);
        sent.bodies++;
        sent.items += Object.values(p.received).reduce((a, b) => a + b, 0);
        const seqBefore = seq;
        // Kept up to date before any assertion, so a shrinking run starts from the room's real seq.
        if (res.status === 200) seq = res.json.seq;
        expectPushAnswer(res, p);
        expect(res.json.seq).toBe(seqBefore + expectedEvents(p));
        await checkStored(accountId, p, seqBefore, seq);
        if (c.repeat) {
          // The same body again: nothing new, nothing updated, no event.
          const again = await postSync(accountId, body);
          const seqFirst = seq;
          if (again.status === 200) seq = again.json.seq;
          expect(again.status).toBe(200);
          expect(again.json.seq).toBe(seqFirst);
          eq(again.json.rejected, res.json.rejected, "the same rejections");
          for (const kind of Object.keys(p.received)) {
            expect(again.json.counts[kind]).toEqual({ received: p.received[kind as Kind], new: 0, updated: 0 });
          }
        }
        for (const [id, item] of p.valid.comments) model.comments.set(id, item);
        for (const [id, item] of p.valid.messages) model.dms.set(id, item);
        for (const [id, item] of p.valid.contents) model.contents.set(id, item);
        for (const [id, item] of p.valid.conversations) model.conversations.set(id, item);
        for (const [id, item] of p.valid.notifications) model.notifications.set(id, item);
      }),
      { numRuns: RUNS.pushes },
    );
    console.log(`generated: ${sent.bodies} push bodies (${sent.items} items)`);
    expect(sent.bodies).toBe(RUNS.pushes);
    const { events, seq: replayed } = await expectBaselineIntact(base);
    expect(replayed).toBe(seq);
    await checkModel(accountId, model, events);
  }, 240_000);
});
