/**
 * Splitting a snapshot that is over the backend's push limit into pushes that are each
 * valid and atomic by themselves (PROTOCOL §4), and merging their answers back into one.
 */
import type { z } from "zod";
import type { ItemKind, PushResponse, Rejected, pushEnvelope } from "../src/contract/snapshot";

/** A push as the crawler sends it (before the backend's defaults and transforms). */
export type PushBody = z.input<typeof pushEnvelope>;

/**
 * Works and conversations before the comments and messages that belong to them, so a part
 * that carries a comment has usually already stored its work's title (a comment alone still
 * stores fine: its work shows as "Untitled work" until the work arrives).
 */
const KINDS: readonly ItemKind[] = ["contents", "conversations", "comments", "messages", "notifications"];

/** One part of a split snapshot and, per kind, each of its items' index in the whole snapshot. */
export type Part = { body: PushBody; indices: Partial<Record<ItemKind, number[]>> };

const encoder = new TextEncoder();
const bytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).byteLength;

/** The whole snapshot as one part. */
export function wholePart(body: PushBody): Part {
  const indices: Part["indices"] = {};
  for (const kind of KINDS) {
    const list = body.snapshot[kind];
    if (list) indices[kind] = list.map((_, i) => i);
  }
  return { body, indices };
}

/** How many items a part carries. */
export function itemCount(part: Part): number {
  return KINDS.reduce((sum, kind) => sum + (part.body.snapshot[kind]?.length ?? 0), 0);
}

/**
 * Packs the items of `part`, in KINDS order, into parts whose JSON is at most `maxBytes`
 * each; every part keeps the envelope (account, platform, timestamp, crawler report).
 * An item that alone does not fit throws: no split can send it.
 */
export function splitPart(part: Part, maxBytes: number): Part[] {
  const { snapshot, ...envelope } = part.body;
  const empty = bytes({ ...envelope, snapshot: {} });
  const parts: Part[] = [];
  let current: Part | null = null;
  let size = 0;
  for (const kind of KINDS) {
    const list = snapshot[kind] ?? [];
    list.forEach((item, i) => {
      const itemBytes = bytes(item) + 1;
      const kindBytes = current?.body.snapshot[kind] ? 0 : kind.length + 5;
      if (empty + kindBytes + itemBytes > maxBytes) {
        throw new RangeError(`snapshot.${kind}[${i}] alone is ${itemBytes} bytes, over the push limit of ${maxBytes}`);
      }
      if (!current || size + kindBytes + itemBytes > maxBytes) {
        current = { body: { ...envelope, snapshot: {} }, indices: {} };
        parts.push(current);
        size = empty;
      }
      const items = (current.body.snapshot[kind] ??= []);
      const indices = (current.indices[kind] ??= []);
      size += (items.length ? 0 : kind.length + 5) + itemBytes;
      items.push(item);
      indices.push(part.indices[kind]?.[i] ?? i);
    });
  }
  return parts.length ? parts : [part];
}

/** `part` in two halves by item count, for a backend whose limit is lower than the client thought. */
export function halve(part: Part): [Part, Part] {
  const half = Math.ceil(itemCount(part) / 2);
  const { snapshot, ...envelope } = part.body;
  const first: Part = { body: { ...envelope, snapshot: {} }, indices: {} };
  const second: Part = { body: { ...envelope, snapshot: {} }, indices: {} };
  let n = 0;
  for (const kind of KINDS) {
    (snapshot[kind] ?? []).forEach((item, i) => {
      const target = n++ < half ? first : second;
      (target.body.snapshot[kind] ??= []).push(item);
      (target.indices[kind] ??= []).push(part.indices[kind]?.[i] ?? i);
    });
  }
  return [first, second];
}

/**
 * One answer for the whole snapshot: counts summed, rejected items at their index in the whole,
 * each unknown key once, the last seq.
 */
export function mergeAnswers(answers: { part: Part; answer: PushResponse }[]): PushResponse {
  const merged: PushResponse = { ok: true, seq: 0, counts: {}, rejected: [], warnings: [] };
  for (const { part, answer } of answers) {
    merged.seq = Math.max(merged.seq, answer.seq);
    for (const [kind, counts] of Object.entries(answer.counts) as [ItemKind, PushResponse["counts"][ItemKind]][]) {
      const sum = (merged.counts[kind] ??= { received: 0, new: 0, updated: 0 });
      sum.received += counts!.received;
      sum.new += counts!.new;
      sum.updated += counts!.updated;
    }
    for (const rejected of answer.rejected) {
      const index = part.indices[rejected.kind]?.[rejected.index] ?? rejected.index;
      merged.rejected.push({ ...rejected, index } satisfies Rejected);
    }
    // Each part carries the envelope, so each names the same unknown keys (none from an older backend).
    for (const warning of answer.warnings ?? []) {
      if (!merged.warnings.some((seen) => seen.path === warning.path)) merged.warnings.push(warning);
    }
  }
  merged.rejected.sort((a, b) => (a.kind === b.kind ? a.index - b.index : a.kind < b.kind ? -1 : 1));
  return merged;
}
