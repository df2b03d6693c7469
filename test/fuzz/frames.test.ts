/**
 * Generated socket frames (PROTOCOL §3, §6): every bad frame gets exactly one `error` frame and
 * the socket stays open; only a frame over 1 MiB closes it (1009). After the property the data
 * pushed before it is intact and the event log replays as 1..N without a gap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PING } from "../../src/contract/schemas";
import { uid } from "../helpers";
import { expectBaselineIntact, seedBaseline } from "./baseline";
import { get, nextNonce, openSocket } from "./client";
import { eq } from "./expect";
import { frameData } from "./frame-cases";
import { expectAnswers, expectErrorFrame, frameOf } from "./frame-oracle";
import type { PooledSocket, Room } from "./frame-oracle";
import { RUNS } from "./runs";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const FRAME_BUDGET = 18;

/** Waits until this socket may send `n` frames without passing 20 a second (kept at 18 for slack). */
async function pace(p: PooledSocket, n: number): Promise<void> {
  for (;;) {
    const now = Date.now();
    p.tokens = Math.min(FRAME_BUDGET, p.tokens + ((now - p.at) * FRAME_BUDGET) / 1000);
    p.at = now;
    if (p.tokens >= n) {
      p.tokens -= n;
      return;
    }
    await sleep(Math.ceil(((n - p.tokens) * 1000) / FRAME_BUDGET) + 5);
  }
}

describe("generated socket frames", () => {
  it(`${RUNS.frames} runs of random frames (garbage, unknown types, bad payloads, valid requests): one error frame per bad frame, the socket stays open, nothing stored changes`, async () => {
    const accountId = uid("fuzz-frames");
    const base = await seedBaseline(accountId);
    const room: Room = { seq: base.seq, epoch: base.epoch };
    const pool: PooledSocket[] = [];
    for (const sub of ["fuzz-frames-a", "fuzz-frames-b", "fuzz-frames-c"]) {
      for (let i = 0; i < 8; i++)
        pool.push({
          socket: await openSocket(accountId, sub),
          registered: false,
          tokens: FRAME_BUDGET,
          at: Date.now(),
        });
    }
    let turn = 0;
    let sent = 0;
    await fc.assert(
      // At least 4 frames a run, so the runs always add up to the 1,000 frames checked below (1 to 8 fell short by chance).
      fc.asyncProperty(fc.array(frameData, { minLength: 4, maxLength: 8 }), async (frames) => {
        const nonce = nextNonce();
        const pooled = pool[turn++ % pool.length]!;
        const { socket } = pooled;
        const built = frames.map((f) => frameOf(f, room));
        await pace(pooled, built.length + 1);
        const start = socket.frames.length;
        for (const { data } of built) {
          expect(data).not.toBe(PING);
          socket.ws.send(data);
        }
        sent += built.length;
        // A request after the frames: the room answers in order, so its answer closes this run's answers.
        const sentinel = `sentinel-${nonce}`;
        socket.send({ type: "monitor:request_topics", id: sentinel });
        await socket.until((all) => all.slice(start).some((f) => f.id === sentinel), `answer to ${sentinel}`, 10_000);
        const received = socket.frames.slice(start).filter((f) => f.type !== "status_change");
        const end = received.findIndex((f) => f.id === sentinel);
        expectAnswers(
          received.slice(0, end),
          built.map((b) => b.expect),
          pooled,
          base,
          room,
        );
        // Nothing stored changed, and the socket is still open.
        eq(received[end]!.payload.topics, base.topics, "topics after the frames");
        expect(socket.closed).toBeNull();
      }),
      { numRuns: RUNS.frames },
    );
    console.log(`generated: ${sent} frames`);
    expect(sent).toBeGreaterThanOrEqual(1_000);
    for (const p of pool) {
      expect(p.socket.closed).toBeNull();
      p.socket.close();
    }
    const { seq } = await expectBaselineIntact(base);
    expect(seq).toBe(base.seq);
    eq((await get(`/api/v1/accounts/${accountId}/topics`)).json.topics, base.topics, "topics after the property");
  }, 120_000);

  it("a frame over 1 MiB closes its socket with 1009, text or binary; a frame of exactly 1 MiB does not", async () => {
    const accountId = uid("fuzz-big");
    const base = await seedBaseline(accountId);
    const MiB = 1024 * 1024;
    const padded = (bytes: number) => {
      const head = '{"type":"monitor:request_topics","id":"big","payload":{"pad":"';
      return `${head}${"x".repeat(bytes - head.length - 3)}"}}`;
    };
    const over: [string, string | Uint8Array][] = [
      ["ASCII text of 1 MiB + 1 byte", padded(MiB + 1)],
      ["text of 349,526 three-byte characters (1 MiB + 2 bytes as UTF-8)", "漢".repeat(349_526)],
      ["binary of 1 MiB + 1 byte", new Uint8Array(MiB + 1)],
    ];
    for (const [what, data] of over) {
      const socket = await openSocket(accountId, "fuzz-big");
      socket.ws.send(data);
      await socket.until(() => socket.closed !== null, `close after ${what}`, 10_000);
      expect(socket.closed!.code, what).toBe(1009);
      for (const frame of socket.frames)
        expectErrorFrame(frame, { t: "error", code: "payload_too_large", id: undefined });
    }
    const exact = padded(MiB);
    expect(new TextEncoder().encode(exact).length).toBe(MiB);
    const socket = await openSocket(accountId, "fuzz-big");
    socket.ws.send(exact);
    const answer = await socket.next("monitor:topics", "big");
    eq(answer.payload.topics, base.topics, "topics");
    expect(socket.closed).toBeNull();
    socket.close();
    await expectBaselineIntact(base);
  }, 60_000);
});
