/**
 * Generated socket frames (PROTOCOL §6.2): binary, text that is not JSON, JSON that is not an
 * object, nesting deeper than JSON.stringify reaches, unknown types, bad payloads, and valid
 * requests whose answers the room's baseline determines.
 */
import fc from "fast-check";
import { ROOM_FRAME_TYPES } from "../../src/contract/wire";
import { BASE_TOPICS } from "./baseline";
import type { Obj } from "./expect";
import { anyText, clip, Nested, notJson, resolve, Sized } from "./text";
import { extraValue } from "./values";

/** The frame types an account room accepts, from the contract the room validates with. */
const ROOM_TYPES: string[] = [...ROOM_FRAME_TYPES];
export const KNOWN_TYPES: ReadonlySet<string> = new Set(ROOM_TYPES);
/** A field left out of the frame. */
export const ABSENT = Symbol("absent");
/** Stands for the room's epoch, known only at run time. */
export const REAL_EPOCH = Symbol("the room's epoch");

const codePoints = (s: string) => [...s].length;
export const isString = (min: number, max: number) => (v: unknown) =>
  typeof v === "string" && codePoints(v) >= min && codePoints(v) <= max;
export const isSeq = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isLimit = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 1 && v <= 200;
const isReplyContent = (v: unknown) =>
  typeof v === "string" && v.trim().length > 0 && v.length <= 2_000 && v.isWellFormed();
/** A reply's clientMsgId: 1–128 characters of well-formed text (a lone surrogate would not come back as sent). */
const isClientMsgId = (v: unknown) => isString(1, 128)(v) && (v as string).isWellFormed();

/** A request that is valid, and whose answer the room's (unchanging) baseline determines. */
type Valid =
  | { k: "topics" }
  | { k: "messages"; topicId: string; limit: number | typeof ABSENT; before: number | typeof ABSENT }
  | { k: "missingTopic"; topicId: string }
  | { k: "sync"; since: number; epoch: string | typeof ABSENT | typeof REAL_EPOCH }
  | { k: "register"; clientId: string }
  | { k: "ack" }
  | { k: "notificationAck"; notificationId: string }
  | { k: "login" };

/** One generated frame, before it is built. */
export type FrameData =
  | { kind: "binary"; bytes: Uint8Array }
  | { kind: "text"; text: string }
  | { kind: "json"; value: unknown }
  | { kind: "deep"; type: string; depth: number }
  | {
      kind: "object";
      type: unknown;
      id: unknown;
      payload: unknown;
      extras: [string, unknown][];
      valid: Valid | null;
      badPath: string | null;
    };

const frameId = fc.oneof(
  { weight: 4, arbitrary: fc.constant<unknown>(ABSENT) },
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 24 }) },
  { weight: 2, arbitrary: anyText },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(5, null, true, {}, [], 1.5, "") },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(new Sized(129, "i"), new Sized(100_000, "漢")) },
);
const frameExtras = fc.array(
  fc.tuple(
    fc.string({ maxLength: 8 }).map((k) => `x_${k}`),
    extraValue,
  ),
  { maxLength: 2 },
);

const unknownType = fc.oneof(
  fc.string({ maxLength: 30 }).filter((t) => !KNOWN_TYPES.has(t)),
  anyText.filter((t) => !KNOWN_TYPES.has(t)),
  fc.constantFrom<unknown>(
    "ping",
    "pong",
    "batch",
    "error",
    "monitor:topics",
    "channel:update",
    "client:register",
    "monitor:request_channels",
    "MONITOR:REQUEST_TOPICS",
    "monitor:request_topics ",
    " monitor:request_topics",
    "monitor:reply\u0000",
    "__proto__",
    "constructor",
    "toString",
    "",
    "x".repeat(10_000),
  ),
  fc.constantFrom<unknown>(
    5,
    null,
    true,
    {},
    [],
    ["monitor:request_topics"],
    { type: "monitor:request_topics" },
    ABSENT,
  ),
);
/** Exactly `{"type":"ping"}` is the heartbeat, answered by the runtime out of order with the room's answers. */
const isHeartbeat = (f: FrameData) =>
  f.kind === "object" && f.type === "ping" && f.id === ABSENT && f.payload === ABSENT && f.extras.length === 0;

const BAD_PAYLOADS: [string, unknown, string][] = [
  ["monitor:register", {}, "payload.clientId"],
  ["monitor:register", { clientId: "" }, "payload.clientId"],
  ["monitor:register", { clientId: 5 }, "payload.clientId"],
  ["monitor:register", { clientId: "c".repeat(129) }, "payload.clientId"],
  ["monitor:register", { clientId: "c", clientType: "robot" }, "payload.clientType"],
  ["monitor:register", { clientId: "c", deviceType: "d".repeat(65) }, "payload.deviceType"],
  ["monitor:register", { clientId: "c", appVersion: 5 }, "payload.appVersion"],
  ["monitor:request_messages", {}, "payload.topicId"],
  ["monitor:request_messages", { topicId: "" }, "payload.topicId"],
  ["monitor:request_messages", { topicId: "t".repeat(257) }, "payload.topicId"],
  ["monitor:request_messages", { topicId: "base-w1", before: -1 }, "payload.before"],
  ["monitor:request_messages", { topicId: "base-w1", before: "3" }, "payload.before"],
  ["monitor:request_messages", { topicId: "base-w1", limit: 0 }, "payload.limit"],
  ["monitor:request_messages", { topicId: "base-w1", limit: 201 }, "payload.limit"],
  ["monitor:request_messages", { topicId: "base-w1", limit: "10" }, "payload.limit"],
  ["monitor:mark_read", {}, "payload.topicId"],
  ["monitor:mark_read", { topicId: 7 }, "payload.topicId"],
  ["monitor:mark_read", { topicId: "base-w1", seq: -1 }, "payload.seq"],
  ["monitor:mark_read", { topicId: "base-w1", seq: "1" }, "payload.seq"],
  ["sync:start", {}, "payload.since"],
  ["sync:start", { since: -1 }, "payload.since"],
  ["sync:start", { since: "0" }, "payload.since"],
  ["sync:start", { since: null }, "payload.since"],
  ["sync:start", { since: 0, epoch: 5 }, "payload.epoch"],
  ["sync:start", { since: 0, epoch: "e".repeat(65) }, "payload.epoch"],
  ["ack", {}, "payload.seq"],
  ["ack", { seq: 2 ** 53 }, "payload.seq"],
  ["client:notification:ack", {}, "payload.notification_id"],
  ["client:notification:ack", { notification_id: "" }, "payload.notification_id"],
  ["client:notification:ack", { notification_id: "n".repeat(257) }, "payload.notification_id"],
  ["monitor:reply", {}, "payload.topicId"],
  ["monitor:reply", { topicId: "base-w1", content: "", clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: " \n\t\u3000", clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: "r".repeat(2_001), clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: 5, clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: "hi" }, "payload.clientMsgId"],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k".repeat(129) }, "payload.clientMsgId"],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k", replyToId: "" }, "payload.replyToId"],
  ["monitor:reply", { topicId: "", content: "hi", clientMsgId: "k" }, "payload.topicId"],
  ["monitor:reply", { topicId: "base-w1", content: "hi \uD800", clientMsgId: "k" }, "payload.content"],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k\uDC00" }, "payload.clientMsgId"],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k", replyToId: "\uD83D" }, "payload.replyToId"],
  ["monitor:request_topics", { limit: 0 }, "payload.limit"],
  ["monitor:request_topics", { limit: 201 }, "payload.limit"],
  ["monitor:request_topics", { limit: "10" }, "payload.limit"],
  ["monitor:request_topics", { cursor: "!" }, "payload.cursor"],
  ["monitor:request_topics", { cursor: 5 }, "payload.cursor"],
  ["monitor:request_topics", { cursor: "WzEsMl0" }, "payload.cursor"],
];
/** [type, a valid payload, the field to spoil, what the field accepts] */
const SPOILABLE: [string, Obj, string, (v: unknown) => boolean][] = [
  ["monitor:register", { clientId: "c" }, "clientId", isString(1, 128)],
  ["monitor:request_messages", { topicId: "base-w1" }, "topicId", isString(1, 256)],
  ["monitor:request_messages", { topicId: "base-w1" }, "before", isSeq],
  ["monitor:request_messages", { topicId: "base-w1" }, "limit", isLimit],
  ["monitor:mark_read", { topicId: "base-w1" }, "topicId", isString(1, 256)],
  ["monitor:mark_read", { topicId: "base-w1" }, "seq", isSeq],
  ["sync:start", { since: 0 }, "since", isSeq],
  ["sync:start", { since: 0 }, "epoch", isString(0, 64)],
  ["ack", { seq: 0 }, "seq", isSeq],
  ["client:notification:ack", { notification_id: "n" }, "notification_id", isString(1, 256)],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k" }, "content", isReplyContent],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k" }, "clientMsgId", isClientMsgId],
  ["monitor:reply", { topicId: "base-w1", content: "hi", clientMsgId: "k" }, "topicId", isString(1, 256)],
];
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  anyText,
  fc.double(),
  fc.integer(),
  fc.constantFrom<unknown>(null, -1, 2 ** 53, "", new Sized(300, "😀")),
);

const badPayloadFrame: fc.Arbitrary<FrameData> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...BAD_PAYLOADS), frameId, frameExtras)
    .map(([[type, payload, path], id, extras]): FrameData => ({
      kind: "object",
      type,
      id,
      payload,
      extras,
      valid: null,
      badPath: path,
    })),
  fc
    .tuple(fc.constantFrom(...SPOILABLE), junk, frameId)
    .filter(([[, , , accepts], value]) => !accepts(resolve(value)))
    .map(([[type, base, field], value, id]): FrameData => ({
      kind: "object",
      type,
      id,
      payload: { ...base, [field]: value },
      extras: [],
      valid: null,
      badPath: `payload.${field}`,
    })),
  fc
    .tuple(fc.constantFrom(...ROOM_TYPES), fc.constantFrom<unknown>("x", 5, null, true, [], [{}]), frameId)
    .map(([type, payload, id]): FrameData => ({
      kind: "object",
      type,
      id,
      payload,
      extras: [],
      valid: null,
      badPath: "payload",
    })),
);

const validFrame: fc.Arbitrary<FrameData> = fc
  .tuple(
    fc.oneof(
      fc
        .constantFrom<unknown>(ABSENT, {}, { x_junk: [1, "'); DROP TABLE topics;--"] })
        .map((payload) => ["monitor:request_topics", payload, { k: "topics" }] as const),
      fc
        .record({
          topicId: fc.constantFrom(...BASE_TOPICS),
          limit: fc.oneof(fc.constant<typeof ABSENT>(ABSENT), fc.integer({ min: 1, max: 200 })),
          before: fc.oneof(fc.constant<typeof ABSENT>(ABSENT), fc.nat({ max: 30 })),
        })
        .map((v) => {
          const payload: Obj = { topicId: v.topicId };
          if (v.limit !== ABSENT) payload.limit = v.limit;
          if (v.before !== ABSENT) payload.before = v.before;
          return ["monitor:request_messages", payload, { k: "messages", ...v }] as const;
        }),
      anyText
        .map((s) => `nope-${clip(s, 200)}`)
        .map((topicId) => ["monitor:request_messages", { topicId }, { k: "missingTopic", topicId }] as const),
      fc
        .record({
          since: fc.oneof(fc.nat({ max: 12 }), fc.integer({ min: 13, max: 1e9 })),
          epoch: fc.oneof(
            fc.constant<typeof ABSENT>(ABSENT),
            fc.constant<typeof REAL_EPOCH>(REAL_EPOCH),
            fc.string({ maxLength: 64 }),
          ),
        })
        .map((v) => ["sync:start", v, { k: "sync", ...v }] as const),
      fc
        .record({
          clientId: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), anyText.filter(isString(1, 128))),
          clientType: fc.constantFrom("monitor", "admin", ABSENT),
          deviceType: fc.oneof(fc.constant(ABSENT), fc.string({ maxLength: 64 })),
        })
        .map((v) => {
          const payload: Obj = { clientId: v.clientId };
          if (v.clientType !== ABSENT) payload.clientType = v.clientType;
          if (v.deviceType !== ABSENT) payload.deviceType = v.deviceType;
          return ["monitor:register", payload, { k: "register", clientId: v.clientId }] as const;
        }),
      fc
        .oneof(fc.nat({ max: 100 }), fc.constant(Number.MAX_SAFE_INTEGER))
        .map((seq) => ["ack", { seq }, { k: "ack" }] as const),
      fc
        .oneof(fc.constant("base-n1"), anyText.filter(isString(1, 256)))
        .map(
          (notificationId) =>
            [
              "client:notification:ack",
              { notification_id: notificationId },
              { k: "notificationAck", notificationId },
            ] as const,
        ),
      fc.constantFrom<unknown>(ABSENT, {}).map((payload) => ["account:login:start", payload, { k: "login" }] as const),
    ),
    frameId,
    frameExtras,
  )
  .map(([[type, payload, valid], id, extras]): FrameData => ({
    kind: "object",
    type,
    id,
    payload,
    extras,
    valid: valid as Valid,
    badPath: null,
  }));

/** Any frame a client could send, but the heartbeat. */
export const frameData: fc.Arbitrary<FrameData> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.uint8Array({ maxLength: 256 }),
        fc.constant(new TextEncoder().encode('{"type":"monitor:request_topics","id":"b"}')),
      )
      .map((bytes): FrameData => ({ kind: "binary", bytes })),
  },
  { weight: 2, arbitrary: notJson.map((text): FrameData => ({ kind: "text", text })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
        fc.constant(new Nested(1_000, false)),
      )
      .map((value): FrameData => ({ kind: "json", value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        type: fc.constantFrom("monitor:request_topics", "sync:start", "monitor:explode"),
        depth: fc.integer({ min: 1_000, max: 200_000 }),
      })
      .map((v): FrameData => ({ kind: "deep", ...v })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        unknownType,
        frameId,
        fc.oneof(fc.constant<unknown>(ABSENT), fc.jsonValue({ maxDepth: 2 }), fc.constant(new Nested(1_000, true))),
        frameExtras,
      )
      .map(([type, id, payload, extras]): FrameData => ({
        kind: "object",
        type,
        id,
        payload,
        extras,
        valid: null,
        badPath: null,
      }))
      .filter((f) => !isHeartbeat(f)),
  },
  { weight: 4, arbitrary: badPayloadFrame },
  { weight: 4, arbitrary: validFrame },
);
