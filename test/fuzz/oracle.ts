/**
 * The oracle: what the backend must answer to one generated push, and what it must keep of it.
 */
import { expect } from "vitest";
import { expectIssues } from "./expect";
import type { Json, Obj } from "./expect";
import { ITEM_KINDS, materialize, SPECS } from "./items";
import type { Kind, PushCase } from "./items";

const ID_FIELDS = new Set([
  "comment_id",
  "platform_comment_id",
  "work_id",
  "author_id",
  "parent_comment_id",
  "msg_id",
  "conversation_id",
  "notification_id",
  "related_id",
]);
const TIME_FIELDS = new Set(["create_time", "publish_time", "update_time"]);
const COUNT_FIELDS = new Set(["like_count", "unread_count"]);

/** What the server keeps of a valid item's known fields: ids as strings, numeric strings as numbers. */
function normalize(kind: Kind, item: Obj): Obj {
  const spec = SPECS[kind];
  const known = new Set([
    spec.idField,
    "platform_comment_id",
    spec.topicField,
    ...Object.keys(spec.required),
    ...Object.keys(spec.optional),
  ]);
  const out: Obj = {};
  for (const [key, value] of Object.entries(item)) {
    if (!known.has(key)) continue;
    if (ID_FIELDS.has(key) && typeof value === "number") out[key] = String(value);
    else if ((TIME_FIELDS.has(key) || COUNT_FIELDS.has(key)) && typeof value === "string") out[key] = Number(value);
    else if ((key === "sender" || key === "participant") && value && typeof value === "object") {
      const u = { ...(value as Obj) };
      if (typeof u.user_id === "number") u.user_id = String(u.user_id);
      out[key] = u;
    } else if (key === "stats" && value && typeof value === "object") {
      const s = { ...(value as Obj) };
      for (const k of ["comment_count", "like_count"]) if (typeof s[k] === "string") s[k] = Number(s[k]);
      out[key] = s;
    } else out[key] = value;
  }
  return out;
}

/** The id a message or topic is stored under. */
export function itemId(kind: Kind, item: Obj): string {
  if (kind === "comments") return String(item.comment_id ?? item.platform_comment_id);
  return String(item[SPECS[kind].idField]);
}

/** A push as sent and its expected outcome. */
export type Planned = {
  body: Json;
  /** per kind: the items in order, valid (merged, normalized) by id, invalid by index with their path */
  valid: Record<Kind, Map<string, Obj>>;
  invalid: { kind: Kind; index: number; path: string }[];
  received: Partial<Record<Kind, number>>;
};

/** Builds the push of one generated case and works out its outcome. */
export function plan(accountId: string, c: PushCase, nonce: number): Planned {
  const snapshot: Obj = {};
  const valid = Object.fromEntries(ITEM_KINDS.map((k) => [k, new Map<string, Obj>()])) as Record<
    Kind,
    Map<string, Obj>
  >;
  const invalid: Planned["invalid"] = [];
  const received: Partial<Record<Kind, number>> = {};
  for (const kind of ITEM_KINDS) {
    const recipes = c.items[kind];
    if (!recipes) continue;
    const items = recipes.map((r) => materialize(kind, r, c.names, nonce));
    snapshot[kind] = items;
    received[kind] = items.length;
    recipes.forEach((r, index) => {
      if (r.mutation) {
        invalid.push({ kind, index, path: r.mutation.path });
        return;
      }
      const item = normalize(kind, items[index] as Obj);
      const id = itemId(kind, item);
      valid[kind].set(id, { ...valid[kind].get(id), ...item });
    });
  }
  return {
    body: { type: "worker:data:sync", accountId, platform: "douyin", timestamp: Date.now(), snapshot },
    valid,
    invalid,
    received,
  };
}

/** Events a push of fresh items makes: one per new message and notification, one topic:updated per touched topic. */
export function expectedEvents(p: Planned): number {
  const touched = new Set<string>([...p.valid.contents.keys(), ...p.valid.conversations.keys()]);
  for (const c of p.valid.comments.values()) touched.add(c.work_id as string);
  for (const m of p.valid.messages.values()) touched.add(m.conversation_id as string);
  return p.valid.comments.size + p.valid.messages.size + p.valid.notifications.size + touched.size;
}

/** The push's answer: 200, exact counts, exactly the invalid items rejected, each naming its field. */
export function expectPushAnswer(res: { status: number; json: Json }, p: Planned): void {
  if (res.status !== 200) throw new Error(`push answered ${res.status}: ${JSON.stringify(res.json).slice(0, 500)}`);
  const json = res.json;
  expect(json.ok).toBe(true);
  expect(Object.keys(json.counts).sort()).toEqual(Object.keys(p.received).sort());
  const rejectedBy = new Map<string, Json>();
  for (const r of json.rejected) {
    expect(ITEM_KINDS).toContain(r.kind);
    expect(
      Number.isInteger(r.index) && r.index >= 0 && r.index < (p.received[r.kind as Kind] ?? 0),
      `rejected index ${r.kind}[${r.index}] in range`,
    ).toBe(true);
    expectIssues(r.issues);
    rejectedBy.set(`${r.kind}[${r.index}]`, r);
  }
  for (const bad of p.invalid) {
    const r = rejectedBy.get(`${bad.kind}[${bad.index}]`);
    expect(r, `${bad.kind}[${bad.index}] should be rejected naming "${bad.path}"`).toBeDefined();
    const paths = r.issues.map((i: Json) => i.path);
    expect(paths, `${bad.kind}[${bad.index}] issue paths`).toContain(bad.path);
  }
  expect(
    json.rejected.length,
    `only the invalid items are rejected: ${JSON.stringify(json.rejected).slice(0, 500)}`,
  ).toBe(p.invalid.length);
  for (const kind of Object.keys(p.received) as Kind[]) {
    const counts = json.counts[kind];
    const rejected = p.invalid.filter((b) => b.kind === kind).length;
    expect(counts.received).toBe(p.received[kind]);
    expect(counts, `${kind} counts`).toEqual({ received: p.received[kind], new: p.valid[kind].size, updated: 0 });
    // received = stored (new/updated/unchanged, duplicates merged) + rejected
    expect(counts.new + counts.updated + rejected).toBeLessThanOrEqual(counts.received);
  }
}
