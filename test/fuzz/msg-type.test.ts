/**
 * msg_type values that name Object.prototype members, in any case: each maps to one of the
 * Message types. Its own property instead of being mixed into the generated pushes, so that it
 * is reported by itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { uid } from "../helpers";
import { seedBaseline, thenBaselineIntact } from "./baseline";
import { get, nextNonce, pushSnapshot, topicMessages } from "./client";
import { RUNS } from "./runs";
import { MESSAGE_TYPES } from "./stored";

describe("msg_type", () => {
  it("any msg_type, whatever its case, maps to one of the Message types", async () => {
    const accountId = uid("fuzz-msgtype");
    const base = await seedBaseline(accountId);
    // One body per run: this property's share of the 1,000 in totals.test.ts.
    let sent = 0;
    await thenBaselineIntact(base, () =>
      fc.assert(
        fc.asyncProperty(
          fc.mixedCase(fc.constantFrom("constructor", "__proto__", "tostring", "valueof", "hasownproperty", "text")),
          async (msgType) => {
            const nonce = nextNonce();
            const conversationId = `mt${nonce}`;
            const res = await pushSnapshot(accountId, {
              messages: [{ msg_id: `m${nonce}`, conversation_id: conversationId, content: "x", msg_type: msgType }],
            });
            sent++;
            expect(res.status).toBe(200);
            const [message] = await topicMessages(accountId, conversationId);
            expect(MESSAGE_TYPES, `type of msg_type ${JSON.stringify(msgType)}`).toContain(message.type);
            const compat = await get(`/api/im/messages?account_id=${accountId}&conversation_id=${conversationId}`);
            expect(MESSAGE_TYPES).toContain(compat.json.data.messages[0].msg_type);
          },
        ),
        { numRuns: RUNS.msgType },
      ),
    );
    expect(sent).toBe(RUNS.msgType);
  }, 30_000);

  it.each(["constructor", "__proto__"])("regression: msg_type %j", async (msgType) => {
    const accountId = uid("msgtype");
    const res = await pushSnapshot(accountId, {
      messages: [{ msg_id: "m1", conversation_id: "cv1", content: "x", msg_type: msgType }],
    });
    expect(res.status).toBe(200);
    const [message] = await topicMessages(accountId, "cv1");
    expect(message.type).toBe("text");
  });
});
