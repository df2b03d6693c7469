/**
 * A room under a reconnect herd: replays from the same `seq` share one read of the log, and
 * clients that come back after a restart are not announced again (src/objects/room/delivery/expected-clients.ts).
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ReplayCache } from "../src/objects/room/delivery/replay-cache";
import { UpgradeRate } from "../src/objects/sockets/upgrade-rate";
import { comment, connect, newAccount, push, registerMonitor, roomSocket, token } from "./helpers";
import type { TestSocket } from "./helpers";

async function agentSocket(id: string, sub: string, query = "") {
  const result = await connect(`/api/v1/accounts/${id}/ws?token=${await token("agent", { sub })}${query}`);
  if (!result.socket) throw new Error(`socket refused with ${result.status}`);
  return result.socket;
}

const statusChanges = (socket: TestSocket) =>
  socket.frames.filter((f) => f.type === "status_change").map((f) => `${f.payload.clientId} ${f.payload.status}`);

describe("replays from the same seq", () => {
  it("send every socket the same frames, and a replay after a new event includes it", async () => {
    const id = await newAccount();
    await push(id, { comments: Array.from({ length: 150 }, (_, i) => comment(`m${i}`, "w1")) });
    const sockets = await Promise.all([0, 1, 2].map(() => roomSocket(id, { query: "&since=0" })));
    for (const socket of sockets) await socket.next("sync:complete");
    expect(sockets[1]!.raw).toEqual(sockets[0]!.raw);
    expect(sockets[2]!.raw).toEqual(sockets[0]!.raw);
    expect(sockets[0]!.frames.filter((f) => f.type === "sync:progress").map((f) => f.payload)).toEqual([
      { sent: 100, total: sockets[0]!.events().length },
    ]);

    await push(id, { comments: [comment("late", "w1")] });
    const later = await roomSocket(id, { query: "&since=0" });
    await later.next("sync:complete");
    const ids = later.events("channel:message").map((f) => f.payload.message.id);
    expect(ids).toContain("late");
    expect(ids).toHaveLength(new Set(ids).size);
    for (const socket of [...sockets, later]) socket.close();
  });

  it("ReplayCache builds a replay once per log version, since and role", () => {
    const cache = new ReplayCache();
    let builds = 0;
    const build = () => ({ batches: [`frames ${++builds}`], total: 1 });
    expect(cache.frames("e:5", 2, false, build)).toEqual(cache.frames("e:5", 2, false, build));
    expect(builds).toBe(1);
    cache.frames("e:5", 2, true, build);
    cache.frames("e:5", 3, false, build);
    expect(builds).toBe(3);
    expect(cache.frames("e:6", 2, false, build).batches).toEqual(["frames 4"]);
  });
});

describe("UpgradeRate", () => {
  it("lets a second's worth through at once, then gives each refused upgrade its place in the backlog", () => {
    const now = 1_000_000;
    const gate = new UpgradeRate(4, now);
    const waits = Array.from({ length: 8 }, () => gate.take(now));
    expect(waits).toEqual([0, 0, 0, 0, 250, 500, 750, 1000]);
    // Two seconds later the backlog is served and a second's worth passes again.
    expect(gate.take(now + 3_000)).toBe(0);
  });
});

describe("presence after a restart", () => {
  it("clients that come back are not announced again; a new one is; one that stays away goes offline after the grace", async () => {
    const id = await newAccount();
    const before = await Promise.all(["a", "b", "c"].map((name) => agentSocket(id, `agent-${name}`)));
    await Promise.all(before.map((socket, i) => registerMonitor(socket, `desk-${"abc"[i]}`)));
    const stub = env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${id}`));
    // The summary (due within 2 s of a change) is what stores who is online.
    await runDurableObjectAlarm(stub);
    await evictDurableObject(stub, { webSockets: "close" });

    const a = await agentSocket(id, "agent-a");
    const first = await registerMonitor(a, "desk-a");
    expect(first.payload.online.map((c: { clientId: string }) => c.clientId)).toEqual(["desk-a", "desk-b", "desk-c"]);
    const b = await agentSocket(id, "agent-b");
    await registerMonitor(b, "desk-b");
    const d = await agentSocket(id, "agent-d");
    await registerMonitor(d, "desk-d");
    await a.until((f) => f.some((x) => x.type === "status_change"), "desk-d online");
    await b.settle();
    expect(statusChanges(a)).toEqual(["desk-d online"]);
    expect(statusChanges(b)).toEqual(["desk-d online"]);

    await a.until((f) => f.filter((x) => x.type === "status_change").length === 2, "desk-c offline", 40_000);
    expect(statusChanges(a)).toEqual(["desk-d online", "desk-c offline"]);
    const presence = await d.request("monitor:request_presence", {}, "monitor:presence");
    expect(presence.payload.online.map((c: { clientId: string }) => c.clientId)).toEqual([
      "desk-a",
      "desk-b",
      "desk-d",
    ]);
    for (const socket of [a, b, d]) socket.close();
  }, 60_000);
});
