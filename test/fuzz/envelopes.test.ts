/**
 * Generated push envelopes, broken and valid (PROTOCOL §3, §4): 400 or 413 in the §3 shape
 * storing nothing, or 200 storing the snapshot; never 5xx. After the property the data pushed
 * before it is intact and the event log replays as 1..N without a gap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { uid } from "../helpers";
import { expectBaselineIntact, seedBaseline } from "./baseline";
import { channelSeq, get, messagesPath, nextNonce, postSync, topicMessages } from "./client";
import { envelopeCase, planEnvelope } from "./envelopes";
import { expectErrorShape } from "./expect";
import type { Json } from "./expect";
import { RUNS } from "./runs";

describe("generated envelopes", () => {
  it(`${RUNS.envelopes} generated envelopes, broken and valid: 400/413 in the §3 shape storing nothing, or 200 storing the snapshot`, async () => {
    const accountId = uid("fuzz-envelope");
    const base = await seedBaseline(accountId);
    let seq = base.seq;
    // One body per run: this property's share of the 1,000 in totals.test.ts.
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(envelopeCase, async (c) => {
        const nonce = nextNonce();
        const p = planEnvelope(accountId, c, nonce);
        const res = await postSync(accountId, p.body);
        sent++;
        const seqBefore = seq;
        if (res.status === 200) seq = res.json.seq;
        expect(res.status, JSON.stringify(res.json).slice(0, 300)).toBe(p.status);
        if (p.status === 200) {
          expect(res.json.seq).toBe(seqBefore + 2);
          expect(res.json.counts).toEqual({ comments: { received: 1, new: 1, updated: 0 } });
          expect(res.json.rejected).toEqual([]);
          const messages = await topicMessages(accountId, p.canary!.topicId);
          expect(messages.map((m) => [m.id, m.content])).toEqual([[p.canary!.id, p.canary!.content]]);
          return;
        }
        expectErrorShape(res.json, p.status);
        const error = res.json.error;
        expect(error.code).toBe(p.status === 413 ? "payload_too_large" : "invalid_body");
        if (p.message) expect(error.message).toMatch(p.message);
        if (p.path !== undefined) {
          expect(
            error.issues?.map((i: Json) => i.path),
            error.message,
          ).toContain(p.path);
          // The message names the field.
          expect(error.message).toContain(p.path);
        }
        // Nothing stored: the canary item is not there, and the next 200 (and the final replay) finds the seq unmoved.
        if (p.canary) {
          const page = await get(messagesPath(accountId, p.canary.topicId));
          expect(page.status).toBe(404);
          expectErrorShape(page.json, 404);
        }
      }),
      { numRuns: RUNS.envelopes },
    );
    expect(sent).toBe(RUNS.envelopes);
    const { seq: replayed } = await expectBaselineIntact(base);
    expect(replayed).toBe(seq);
    expect(await channelSeq(accountId)).toBe(seq);
  }, 120_000);
});
