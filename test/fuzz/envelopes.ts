/**
 * Generated push envelopes, broken and valid, and what each must get: 400/413 in the §3 shape
 * storing nothing, or 200 storing the snapshot. Each envelope carries a canary item, so that
 * "nothing stored" can be checked.
 */
import fc from "fast-check";
import { DEFAULT_MAX_PUSH_BYTES } from "../../src/config";
import { EARLIEST_TIME_MS } from "../../src/contract/snapshot";
import type { Obj } from "./expect";
import { ITEM_KINDS } from "./items";
import type { Kind } from "./items";
import { clip, cleanText, define, NAME, notJson, resolve, URL_MAX } from "./text";
import { badOptionalId, badText, extraKey, extraValue, optionalId, text } from "./values";

/** One generated envelope: valid, or broken in one way. */
type EnvelopeCase =
  | {
      op: "valid";
      withType: boolean;
      platform: string | null;
      account: unknown;
      timestamp: number | null;
      extras: [string, unknown][];
    }
  | { op: "notJson"; text: string }
  | { op: "truncated"; at: number }
  | { op: "notObject"; value: unknown }
  | {
      op: "set";
      field: "accountId" | "type" | "platform" | "timestamp" | "account" | "snapshot";
      value: unknown;
      path: string;
    }
  | { op: "drop"; field: "accountId" | "snapshot" }
  | { op: "otherAccount" }
  | { op: "list"; kind: Kind; value: unknown }
  | { op: "tooMany"; kind: Kind }
  | { op: "tooBig" };

export const envelopeCase: fc.Arbitrary<EnvelopeCase> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("valid" as const),
      withType: fc.boolean(),
      platform: fc.oneof(
        fc.constant(null),
        cleanText.map((s) => clip(s, 64)).filter((s) => s.length > 0),
      ),
      account: fc.oneof(
        fc.constant(undefined),
        fc.constant(null),
        fc.record({ name: text(NAME), avatar: text(URL_MAX), platform_user_id: optionalId }, { requiredKeys: [] }),
      ),
      timestamp: fc.oneof(fc.constant(null), fc.integer({ min: EARLIEST_TIME_MS, max: Date.now() })),
      extras: fc.array(fc.tuple(extraKey, extraValue), { maxLength: 3 }),
    }),
  },
  { weight: 3, arbitrary: notJson.map((text) => ({ op: "notJson" as const, text })) },
  {
    weight: 2,
    arbitrary: fc
      .double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
      .map((at) => ({ op: "truncated" as const, at })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
        fc.array(fc.jsonValue(), { maxLength: 3 }),
      )
      .map((value) => ({ op: "notObject" as const, value })),
  },
  {
    weight: 8,
    arbitrary: fc.oneof(
      fc
        .constantFrom<unknown>(5, "", "a b", "ü", "../x", "a/b", "acc?x", null, true, {}, [], "x".repeat(129))
        .map((value) => ({ op: "set" as const, field: "accountId" as const, value, path: "accountId" })),
      fc
        .constantFrom<unknown>("worker:data:push", "", 5, null)
        .map((value) => ({ op: "set" as const, field: "type" as const, value, path: "type" })),
      fc
        .constantFrom<unknown>("", "p".repeat(65), 5, null, {})
        .map((value) => ({ op: "set" as const, field: "platform" as const, value, path: "platform" })),
      fc
        .constantFrom<unknown>(
          0,
          -1,
          1.5,
          1_730_000_000_000.5,
          1_730_000_000,
          9e15,
          "1730000000000",
          2 ** 53,
          null,
          true,
        )
        .map((value) => ({ op: "set" as const, field: "timestamp" as const, value, path: "timestamp" })),
      fc
        .constantFrom<unknown>("x", [], 5, true)
        .map((value) => ({ op: "set" as const, field: "account" as const, value, path: "account" })),
      badText(NAME).map((v) => ({
        op: "set" as const,
        field: "account" as const,
        value: { name: v },
        path: "account.name",
      })),
      badText(URL_MAX).map((v) => ({
        op: "set" as const,
        field: "account" as const,
        value: { avatar: v },
        path: "account.avatar",
      })),
      badOptionalId.map((v) => ({
        op: "set" as const,
        field: "account" as const,
        value: { platform_user_id: v },
        path: "account.platform_user_id",
      })),
      fc
        .constantFrom<unknown>(null, "x", [], 5, true)
        .map((value) => ({ op: "set" as const, field: "snapshot" as const, value, path: "snapshot" })),
      fc.constantFrom("accountId" as const, "snapshot" as const).map((field) => ({ op: "drop" as const, field })),
      fc.constant({ op: "otherAccount" as const }),
      fc
        .tuple(fc.constantFrom(...ITEM_KINDS), fc.constantFrom<unknown>({}, "x", 5, null, true, { 0: {} }))
        .map(([kind, value]) => ({ op: "list" as const, kind, value })),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...ITEM_KINDS).map((kind) => ({ op: "tooMany" as const, kind })) },
  { weight: 1, arbitrary: fc.constant({ op: "tooBig" as const }) },
);

/** The push limit. */
export const MAX_PUSH = DEFAULT_MAX_PUSH_BYTES;

type EnvelopePlan = {
  body: string;
  status: 200 | 400 | 413;
  path?: string;
  message?: RegExp;
  canary?: { kind: "comments" | "messages"; topicId: string; id: string; content: string };
};

/** The body of one generated envelope and the answer it must get. */
export function planEnvelope(accountId: string, c: EnvelopeCase, nonce: number): EnvelopePlan {
  const content = `canary ${nonce} '); DROP TABLE events;-- 😀`;
  const comments = { kind: "comments" as const, topicId: `canary-w${nonce}`, id: `canary-c${nonce}`, content };
  const messages = { kind: "messages" as const, topicId: `canary-v${nonce}`, id: `canary-m${nonce}`, content };
  const canaryItem = (canary: typeof comments | typeof messages) =>
    canary.kind === "comments"
      ? { comment_id: canary.id, work_id: canary.topicId, content, author_id: "canary-author" }
      : { msg_id: canary.id, conversation_id: canary.topicId, content, sender: { user_id: "canary-author" } };
  const envelope: Obj = {
    type: "worker:data:sync",
    accountId,
    platform: "douyin",
    timestamp: Date.now(),
    snapshot: { comments: [canaryItem(comments)] },
  };
  const json = (): string => JSON.stringify(envelope);
  switch (c.op) {
    case "valid": {
      if (!c.withType) delete envelope.type;
      if (c.platform === null) delete envelope.platform;
      else envelope.platform = c.platform;
      if (c.account !== undefined) envelope.account = resolve(c.account);
      if (c.timestamp === null) delete envelope.timestamp;
      else envelope.timestamp = c.timestamp;
      for (const [key, value] of c.extras) if (!Object.hasOwn(envelope, key)) define(envelope, key, resolve(value));
      return { body: json(), status: 200, canary: comments };
    }
    case "notJson":
      return { body: c.text, status: 400, message: /not valid JSON/ };
    case "truncated": {
      const text = json();
      return { body: text.slice(0, Math.floor(c.at * text.length)), status: 400, message: /not valid JSON/ };
    }
    case "notObject":
      return { body: JSON.stringify(c.value), status: 400 };
    case "set":
      envelope[c.field] = resolve(c.value);
      return { body: json(), status: 400, path: c.path, canary: c.field === "snapshot" ? undefined : comments };
    case "drop":
      delete envelope[c.field];
      return { body: json(), status: 400, path: c.field, canary: c.field === "snapshot" ? undefined : comments };
    case "otherAccount":
      envelope.accountId = `${accountId}-other`;
      return { body: json(), status: 400, path: "accountId", message: /must equal/, canary: comments };
    case "list": {
      const canary = c.kind === "comments" ? messages : comments;
      envelope.snapshot = { [canary.kind]: [canaryItem(canary)], [c.kind]: c.value };
      return { body: json(), status: 400, path: `snapshot.${c.kind}`, canary };
    }
    case "tooMany": {
      const canary = c.kind === "comments" ? messages : comments;
      envelope.snapshot = { [canary.kind]: [canaryItem(canary)] };
      // 100,001 items, one over the limit of a list; spliced in as text to keep the body cheap.
      const list = `[${"0,".repeat(100_000)}0]`;
      return {
        body: json().replace(/}}$/, `,${JSON.stringify(c.kind)}:${list}}}`),
        status: 400,
        path: `snapshot.${c.kind}`,
        canary,
      };
    }
    case "tooBig":
      envelope.padding = "x".repeat(MAX_PUSH);
      return { body: json(), status: 413, canary: comments };
  }
}
