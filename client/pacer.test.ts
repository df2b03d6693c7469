import { afterEach, describe, expect, it, vi } from "vitest";
import { Pacer } from "./pacer";

afterEach(() => void vi.useRealTimers());

describe("Pacer", () => {
  it("sends a burst up to the rate at once and the rest as the budget refills, in order", () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const pacer = new Pacer(10, (text) => written.push(text));
    for (let i = 0; i < 25; i++) pacer.push(`f${i}`);
    expect(written).toHaveLength(10);
    vi.advanceTimersByTime(500);
    expect(written.length).toBeGreaterThanOrEqual(14);
    expect(written.length).toBeLessThanOrEqual(16);
    vi.advanceTimersByTime(1000);
    expect(written).toEqual(Array.from({ length: 25 }, (_, i) => `f${i}`));
    expect(pacer.waiting).toBe(0);
  });

  it("drops what waits when cleared", () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const pacer = new Pacer(2, (text) => written.push(text));
    for (let i = 0; i < 5; i++) pacer.push(`f${i}`);
    pacer.clear();
    vi.advanceTimersByTime(5000);
    expect(written).toEqual(["f0", "f1"]);
  });
});
