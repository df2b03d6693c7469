/**
 * The frame oracle: what the room must answer to each generated frame, read from PROTOCOL §6
 * and §3, and the check of one run's answers in order.
 */
import { expect } from "vitest";
import type { Frame, TestSocket } from "../helpers";
import type { Baseline } from "./baseline";
import { eq, expectIssues, like, show } from "./expect";
import type { Json, Obj } from "./expect";
import { ABSENT, isSeq, isString, KNOWN_TYPES, REAL_EPOCH } from "./frame-cases";
import type { FrameData } from "./frame-cases";
import { define, resolve } from "./text";

/** What the room must answer to one frame. */
type Expect =
  | { t: "error"; code: string; id: string | undefined; path?: string; message?: RegExp }
  | { t: "topics"; id: string | undefined }
  | { t: "messages"; id: string | undefined; topicId: string; limit: number; before: number | undefined }
  | { t: "replay"; id: string | undefined; since: number }
  | { t: "reset"; id: string | undefined }
  | { t: "registered"; id: string | undefined; clientId: string }
  | { t: "ack"; id: string | undefined }
  | { t: "notificationAck"; id: string | undefined; known: boolean };

/** What the room's answers depend on. */
export type Room = { seq: number; epoch: string };

/** The frame as sent and what the room must answer, read from PROTOCOL §6 and §3. */
export function frameOf(f: FrameData, room: Room): { data: string | Uint8Array; expect: Expect } {
  const error = (id: string | undefined, path?: string, message?: RegExp): Expect => ({
    t: "error",
    code: "invalid_frame",
    id,
    path,
    message,
  });
  switch (f.kind) {
    case "binary":
      return { data: f.bytes, expect: error(undefined, undefined, /binary/) };
    case "text":
      return { data: f.text, expect: error(undefined, undefined, /not valid JSON/) };
    case "json":
      return { data: JSON.stringify(f.value), expect: error(undefined, undefined, /JSON object/) };
    case "deep": {
      // Nested deeper than JSON.stringify goes, so written out as text.
      const data = `{"type":${JSON.stringify(f.type)},"payload":${"[".repeat(f.depth)}${"]".repeat(f.depth)}}`;
      return {
        data,
        expect: KNOWN_TYPES.has(f.type) ? error(undefined, "payload") : error(undefined, "type", /unknown frame type/),
      };
    }
    case "object": {
      const obj: Obj = {};
      if (f.type !== ABSENT) obj.type = f.type;
      if (f.id !== ABSENT) obj.id = resolve(f.id);
      if (f.payload !== ABSENT) {
        const payload = resolve(f.payload) as Obj;
        if (f.valid?.k === "sync") {
          // The room's epoch is known only at run time.
          if (f.valid.epoch === REAL_EPOCH) payload.epoch = room.epoch;
          else if (f.valid.epoch === ABSENT) delete payload.epoch;
        }
        obj.payload = payload;
      }
      for (const [key, value] of f.extras) define(obj, key, resolve(value));
      const id = typeof obj.id === "string" ? obj.id : undefined;
      const data = JSON.stringify(obj);
      if (typeof f.type !== "string" || !KNOWN_TYPES.has(f.type))
        return { data, expect: error(id, "type", /unknown frame type/) };
      if (f.badPath) return { data, expect: error(id, f.badPath) };
      if (!(!("id" in obj) || isString(1, 128)(obj.id))) return { data, expect: error(id, "id") };
      const v = f.valid!;
      switch (v.k) {
        case "topics":
          return { data, expect: { t: "topics", id } };
        case "messages":
          return {
            data,
            expect: {
              t: "messages",
              id,
              topicId: v.topicId,
              limit: v.limit === ABSENT ? 50 : v.limit,
              before: v.before === ABSENT ? undefined : v.before,
            },
          };
        case "missingTopic":
          return { data, expect: { t: "error", code: "not_found", id, message: /does not exist/ } };
        case "sync": {
          const wrongEpoch = typeof v.epoch === "string" && v.epoch !== room.epoch;
          return {
            data,
            expect: wrongEpoch || v.since > room.seq ? { t: "reset", id } : { t: "replay", id, since: v.since },
          };
        }
        case "register":
          return { data, expect: { t: "registered", id, clientId: v.clientId } };
        case "ack":
          return { data, expect: { t: "ack", id } };
        case "notificationAck":
          return { data, expect: { t: "notificationAck", id, known: v.notificationId === "base-n1" } };
        case "login":
          return { data, expect: { t: "error", code: "forbidden", id } };
      }
    }
  }
}

/** One `error` frame in the §3 shape, with the expected code, id, and named field. */
export function expectErrorFrame(frame: Frame, e: Extract<Expect, { t: "error" }>): void {
  expect(frame.type, show(frame).slice(0, 300)).toBe("error");
  expect(Object.keys(frame).every((k) => k === "type" || k === "id" || k === "payload")).toBe(true);
  expect("id" in frame, `id of ${show(frame).slice(0, 200)}`).toBe(e.id !== undefined);
  eq(frame.id, e.id, "error frame id");
  expect(Object.keys(frame.payload).every((k) => k === "code" || k === "message" || k === "issues")).toBe(true);
  expect(frame.payload.code).toBe(e.code);
  expect(typeof frame.payload.message).toBe("string");
  expect(frame.payload.message.length).toBeGreaterThan(0);
  if (e.message) expect(frame.payload.message).toMatch(e.message);
  if ("issues" in frame.payload) expectIssues(frame.payload.issues);
  if (e.path) {
    expect(
      frame.payload.issues?.map((i: Json) => i.path),
      show(frame.payload),
    ).toContain(e.path);
    expect(frame.payload.message).toContain(e.path);
  }
}

function expectAnswerId(frame: Frame, id: string | undefined): void {
  expect("id" in frame, `id of ${show(frame).slice(0, 200)}`).toBe(id !== undefined);
  eq(frame.id, id, `id of ${frame.type}`);
}

/** A pooled socket of the frame property, with its frame budget. */
export type PooledSocket = { socket: TestSocket; registered: boolean; tokens: number; at: number };

/** Checks the answers to one run's frames, in order, against what each frame must get. */
export function expectAnswers(
  answers: Frame[],
  expects: Expect[],
  pooled: PooledSocket,
  base: Baseline,
  room: Room,
): void {
  let at = 0;
  const next = (what: string): Frame => {
    const frame = answers[at++];
    if (!frame) throw new Error(`missing answer (${what}); got ${JSON.stringify(answers.map((a) => a.type))}`);
    return frame;
  };
  for (const e of expects) {
    switch (e.t) {
      case "error":
        expectErrorFrame(next(`error ${e.code}`), e);
        break;
      case "topics": {
        const frame = next("monitor:topics");
        expect(frame.type).toBe("monitor:topics");
        expectAnswerId(frame, e.id);
        eq(frame.payload, { channelId: base.accountId, topics: base.topics }, "monitor:topics");
        break;
      }
      case "messages": {
        const frame = next("monitor:messages");
        expect(frame.type, JSON.stringify(frame).slice(0, 300)).toBe("monitor:messages");
        expectAnswerId(frame, e.id);
        const older = base.pages[e.topicId]!.filter((m) => e.before === undefined || m.seq < e.before);
        eq(
          frame.payload,
          {
            channelId: base.accountId,
            topicId: e.topicId,
            messages: older.slice(-e.limit),
            hasMore: older.length > e.limit,
          },
          "monitor:messages",
        );
        break;
      }
      case "replay": {
        for (let seq = e.since + 1; seq <= room.seq; seq++)
          expect(JSON.stringify(next(`event ${seq}`))).toBe(base.events[seq - 1]);
        const frame = next("sync:complete");
        expect(frame.type).toBe("sync:complete");
        expectAnswerId(frame, e.id);
        expect(frame.payload).toEqual({ seq: room.seq, epoch: room.epoch });
        break;
      }
      case "reset": {
        const frame = next("sync:reset");
        expect(frame.type).toBe("sync:reset");
        expectAnswerId(frame, e.id);
        expect(frame.payload).toEqual({ seq: room.seq, epoch: room.epoch });
        break;
      }
      case "registered": {
        const frame = next("monitor:registered");
        expect(frame.type).toBe("monitor:registered");
        expectAnswerId(frame, e.id);
        like(frame.payload, { clientId: e.clientId, seq: room.seq, epoch: room.epoch }, "monitor:registered");
        expect(typeof frame.payload.serverTime).toBe("number");
        pooled.registered = true;
        break;
      }
      case "ack":
      case "notificationAck": {
        if (!pooled.registered) {
          expectErrorFrame(next("error: not registered"), {
            t: "error",
            code: "invalid_frame",
            id: e.id,
            message: /monitor:register/,
          });
        } else if (e.t === "notificationAck" && !e.known) {
          expectErrorFrame(next("error: unknown notification"), { t: "error", code: "not_found", id: e.id });
        } else if (e.id !== undefined) {
          const frame = next("ack");
          expect(frame.type).toBe("ack");
          expectAnswerId(frame, e.id);
          expect(isSeq(frame.payload.seq) && frame.payload.seq <= room.seq).toBe(true);
        }
        break;
      }
    }
  }
  expect(
    answers.slice(at).map((a) => a.type),
    "no answer beyond one per frame",
  ).toEqual([]);
}
