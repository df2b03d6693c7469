/**
 * The validation fast path, held to zod on the items of generated pushes: what it returns must
 * be what zod returns, byte for byte, or it leaves the item to zod.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastItems, itemSchemas } from "../../src/contract/snapshot";
import { show } from "./expect";
import { ITEM_KINDS, materialize, pushCase } from "./items";
import type { Kind } from "./items";
import { RUNS } from "./runs";

describe("validation without zod", () => {
  it(`on the items of ${RUNS.validation} generated pushes, the fast path returns exactly what zod returns, or leaves the item to zod`, () => {
    const taken = Object.fromEntries(ITEM_KINDS.map((kind) => [kind, 0])) as Record<Kind, number>;
    fc.assert(
      fc.property(pushCase, fc.nat(), (c, nonce) => {
        for (const kind of ITEM_KINDS) {
          for (const r of c.items[kind] ?? []) {
            // As the Worker sees it: parsed from the body's text.
            const value: unknown = JSON.parse(JSON.stringify(materialize(kind, r, c.names, nonce)) ?? "null");
            const fast = fastItems[kind](value);
            if (fast === null) continue;
            taken[kind]++;
            const zod = itemSchemas[kind].safeParse(value);
            expect(zod.success, `zod refuses what the fast path took: ${show(value)}`).toBe(true);
            // Byte for byte, key order too: the content hash is taken over this JSON.
            expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
          }
        }
      }),
      { numRuns: RUNS.validation },
    );
    // Canonical items are most of what is generated: each kind's fast path was taken.
    for (const kind of ITEM_KINDS) expect(taken[kind], kind).toBeGreaterThan(RUNS.validation / 10);
  }, 60_000);
});
