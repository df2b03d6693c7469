import { describe, expect, it } from "vitest";
import { comment, connect, push, token, uid } from "../helpers";
import type { TestSocket } from "../helpers";

// This project runs with UPGRADES_PER_SECOND=2: a herd is a handful of upgrades at once.

async function herd(path: (token: string) => string, size: number): Promise<TestSocket[]> {
  const tokens = await Promise.all(Array.from({ length: size }, (_, i) => token("agent", { sub: uid(`herd-${i}`) })));
  const results = await Promise.all(tokens.map((t) => connect(path(t))));
  // Refused for load or not, every upgrade is a 101: a browser could not read anything else.
  expect(results.map((r) => r.status)).toEqual(tokens.map(() => 101));
  return results.map((r) => r.socket!);
}

async function settled(socket: TestSocket, ready: string): Promise<void> {
  await socket.until((frames) => socket.closed !== null || frames.some((f) => f.type === ready), ready, 10_000);
}

describe("a room asked for more upgrades at once than its rate", () => {
  it("takes its rate, and closes the rest at once with 1013 and a wait, replaying nothing on them", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1"), comment("c2", "w1")] });
    const sockets = await herd((t) => `/api/v1/accounts/${account}/ws?token=${t}&since=0`, 8);
    await Promise.all(sockets.map((s) => settled(s, "sync:complete")));
    const shed = sockets.filter((s) => s.closed?.code === 1013);
    const served = sockets.filter((s) => s.closed === null);
    expect(served.length).toBeGreaterThanOrEqual(2);
    expect(shed.length).toBeGreaterThanOrEqual(2);
    expect(shed.length + served.length).toBe(8);
    for (const socket of shed) {
      expect(socket.closed!.reason).toMatch(/^retry after [1-9]\d* s$/);
      expect(socket.frames).toEqual([]);
    }
    for (const socket of served) expect(socket.events("channel:message")).toHaveLength(2);
    // The later in the backlog, the longer the wait.
    const waits = shed.map((s) => Number(/\d+/.exec(s.closed!.reason)![0]));
    expect(Math.max(...waits)).toBeGreaterThan(1);
    for (const socket of served) socket.close();
  });

  it("the Directory sheds the same way", async () => {
    const tenant = uid("tn");
    const tokens = await Promise.all(
      Array.from({ length: 8 }, (_, i) => token("agent", { tenant, sub: uid(`dir-${i}`) })),
    );
    const results = await Promise.all(tokens.map((t) => connect(`/api/v1/ws?token=${t}`)));
    const sockets = results.map((r) => r.socket!);
    for (const socket of sockets) {
      try {
        socket.send({ type: "monitor:request_channels", id: "r1" });
      } catch {
        // Closed for load already.
      }
    }
    await Promise.all(sockets.map((s) => settled(s, "monitor:channels")));
    const shed = sockets.filter((s) => s.closed?.code === 1013);
    expect(shed.length).toBeGreaterThanOrEqual(2);
    expect(sockets.filter((s) => s.closed === null).length).toBeGreaterThanOrEqual(2);
    for (const socket of sockets) socket.close();
  });
});
