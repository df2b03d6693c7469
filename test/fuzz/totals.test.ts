/**
 * How much hostile input one run of the fuzz set sends. Each push property counts the bodies it
 * sent and checks one per run; frames.test.ts checks its own 1,000 frames. What is left to hold
 * is the sum over the push properties, which no single property sees.
 */
import { describe, expect, it } from "vitest";
import { PUSH_PROPERTIES, RUNS } from "./runs";

describe("totals", () => {
  it("the push properties send at least 1,000 generated pushes between them", () => {
    const pushes = PUSH_PROPERTIES.reduce((sum, property) => sum + RUNS[property], 0);
    expect(pushes).toBeGreaterThanOrEqual(1_000);
  });
});
