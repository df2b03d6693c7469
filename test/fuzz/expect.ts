/**
 * Comparisons that survive any generated text, and the error shapes of PROTOCOL §3.
 */
import { expect } from "vitest";
import type { Frame } from "../helpers";

/** A JSON answer, read loosely. */
export type Json = any;
/** A JSON object as built or sent. */
export type Obj = Record<string, unknown>;

const STATUS_OF: Record<string, number> = {
  invalid_body: 400,
  invalid_query: 400,
  invalid_frame: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  misconfigured: 503,
};

/**
 * Canonical JSON (keys sorted). Comparisons of generated text go through it: it escapes lone
 * surrogates, and a failure message holding a raw one breaks the test runner's own channel
 * ("Invalid WebSocket frame: invalid UTF-8 sequence") instead of reporting the failure.
 */
function canon(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v as Obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
    ) ?? "undefined"
  );
}
/** Any value as text, safe to print. */
export const show = (value: unknown) => canon(value);
/** `toEqual`, safe for any text. */
export function eq(actual: unknown, expected: unknown, label?: string): void {
  expect(canon(actual), label).toBe(canon(expected));
}
/** `toMatchObject` on the top-level keys of `expected`, safe for any text; an undefined value means "absent". */
export function like(actual: Json, expected: Obj, label?: string): void {
  expect(actual !== null && typeof actual === "object", `${label ?? "value"} is an object`).toBe(true);
  eq(Object.fromEntries(Object.keys(expected).map((k) => [k, actual[k]])), expected, label);
}

/** §3: `{error: {code, message, issues?}}` and nothing else, the code matching the status. */
export function expectErrorShape(json: Json, status: number): void {
  expect(json !== null && typeof json === "object", `error body is an object: ${String(json).slice(0, 200)}`).toBe(
    true,
  );
  expect(Object.keys(json)).toEqual(["error"]);
  const error = json.error;
  expect(Object.keys(error).every((k) => k === "code" || k === "message" || k === "issues")).toBe(true);
  expect(typeof error.code).toBe("string");
  expect(STATUS_OF[error.code]).toBe(status);
  expect(typeof error.message).toBe("string");
  expect(error.message.length).toBeGreaterThan(0);
  if ("issues" in error) expectIssues(error.issues);
}

/** §3 issues: a non-empty list of `{path, message}`, nothing else. */
export function expectIssues(issues: Json): void {
  expect(Array.isArray(issues)).toBe(true);
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(Object.keys(issue).sort()).toEqual(["message", "path"]);
    expect(typeof issue.path).toBe("string");
    expect(typeof issue.message).toBe("string");
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

/** Seqs 1..N, each once, in order, N being the room's seq. */
export function expectNoGap(events: Frame[], seq: number): void {
  const seqs = events.map((f) => f.payload.seq);
  expect(seqs.length).toBe(seq);
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== i + 1) throw new Error(`replay has seq ${seqs[i]} at position ${i + 1} (want ${i + 1})`);
  }
}
